"""Back up and restore a clinic's database.

SQLite (one computer): :func:`backup_database` copies the live file with SQLite's online backup
API, which reads one consistent snapshot while other windows keep saving (WAL mode), into a
temporary file next to the destination. The copy is checked (``PRAGMA integrity_check``, the ledger
tables, ``verify()``) and only then renamed to its final name, so a failed backup never leaves a
half-written file under the name the receptionist chose.

:func:`restore_database` checks a backup on a private copy first (a SQLite file, complete, the
ledger's tables, a schema this version knows, integrity and ``verify()`` sound), keeps the current
database as ``<name>.before-restore-<timestamp>.db``, then writes the backup into the live file with
the same backup API: one SQLite transaction, so the file holds either the old ledger or the
restored one. Any refusal changes nothing.

PostgreSQL (a clinic server): both refuse with :class:`ServerBackupError`, whose message is the
``pg_dump`` / ``pg_restore`` commands to give the server's administrator.

This module imports only the standard library at load time (the window imports it before the
database layer is loaded); SQLAlchemy and Alembic are imported when a backup or restore runs. It
never imports the :class:`~desktop_app.core.clinic.Clinic` facade, which imports it: a clinic is
taken as :class:`OpenClinic` (what a backup needs of one), and a restore checks its copy with the
database layer directly.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..domain.errors import BillingError, DatabaseBusyError, Refusal, bad_file

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ..access.staff import Permission


class OpenClinic(Protocol):
    """What a backup needs of an open clinic (a :class:`~desktop_app.core.clinic.Clinic`)."""

    @property
    def engine(self) -> Engine:
        """The clinic's database engine."""

    def may(self, permission: Permission) -> bool:
        """Whether the clinic's signed-in staff member (if any) has ``permission``."""


#: How long a backup or restore waits for another window's save before giving up (seconds).
BUSY_TIMEOUT_SECONDS = 5.0
#: Tables every Clinic Ledger database has had since its first schema.
LEDGER_TABLES = frozenset(
    {
        "alembic_version",
        "settings",
        "counters",
        "patients",
        "invoices",
        "invoice_lines",
        "payment_types",
        "payments",
        "payment_sources",
        "applications",
        "audit_log",
    }
)
_SQLITE_HEADER = b"SQLite format 3\x00"
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SIDE_FILES = ("-journal", "-wal", "-shm")


class ServerBackupError(BillingError):
    """The clinic is on a PostgreSQL server: its administrator backs it up. The message says how."""

    #: Not a database file this window can copy (the closest kind of refusal there is).
    default_code = Refusal.BAD_FILE


@dataclass(frozen=True, slots=True)
class BackupResult:
    """A finished backup and what checking the copy found."""

    #: The backup file.
    path: Path
    size_bytes: int
    patients: int
    invoices: int
    #: ``"ok"``, or what SQLite's integrity check reported about the copy.
    integrity: str
    #: What ``verify()`` found wrong in the copied ledger (empty when it is sound).
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether the copy is intact and its ledger verifies."""
        return self.integrity == "ok" and not self.problems

    def describe(self) -> str:
        """The outcome in plain words, for a message box or the command line."""
        counts = f"{_count(self.patients, 'patient')} and {_count(self.invoices, 'invoice')}"
        text = f"Backed up {counts} to {self.path} ({_size(self.size_bytes)})."
        if self.integrity != "ok":
            return (
                f"{text}\n\nThe copy is damaged ({self.integrity}): so is the clinic's database. "
                "Keep this file and your earlier backups, and get help before saving anything more."
            )
        if self.problems:
            listed = "\n".join(f"  - {problem}" for problem in self.problems)
            return (
                f"{text}\n\nThe copy was made, but its ledger check found "
                f"{len(self.problems)} problem(s), which the clinic's database has too:\n{listed}"
            )
        return (
            f"{text}\nThe copy was checked: it opens, and every balance, credit and payment "
            "adds up."
        )


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """A finished restore."""

    #: The clinic's database file, now holding the backup's ledger.
    database: Path
    restored_from: Path
    #: Where the database as it was before the restore was saved (None if there was none).
    previous_copy: Path | None
    patients: int
    invoices: int

    def describe(self) -> str:
        """The outcome in plain words, for a message box or the command line."""
        counts = f"{_count(self.patients, 'patient')} and {_count(self.invoices, 'invoice')}"
        text = f"Restored {counts} from {self.restored_from} into {self.database}."
        if self.previous_copy is None:
            return text
        return (
            f"{text}\nThe database as it was before the restore is saved as {self.previous_copy}."
        )


# -- where the clinic lives ------------------------------------------------------------------


def _url_text(clinic_or_url: OpenClinic | str) -> str:
    if isinstance(clinic_or_url, str):
        return clinic_or_url
    return clinic_or_url.engine.url.render_as_string(hide_password=False)


def postgres_backup_guidance(url: str) -> str:
    """How a clinic's PostgreSQL server is backed up and restored (the commands to run).

    Args:
        url: the clinic's database URL; its password is left out of the commands.
    """
    from sqlalchemy.engine import make_url

    # URL.set() leaves a field alone when given None; the named tuple's _replace clears it.
    server = make_url(url).set(drivername="postgresql")._replace(password=None)
    plain = server.render_as_string(hide_password=False)
    host = server.host or "this computer"
    return (
        f"This clinic's ledger is on a PostgreSQL server ({host}, database "
        f"{server.database}). Clinic Ledger does not copy a server itself: the clinic server "
        "should be backed up by its administrator, on a schedule (every night at least), with "
        "copies kept away from the server.\n\n"
        "Back up (on a computer with the PostgreSQL client tools):\n"
        f'  pg_dump --format=custom --file=clinic.dump "{plain}"\n\n'
        "Restore (close Clinic Ledger on every computer first; this replaces the clinic's data "
        "with the dump):\n"
        f'  pg_restore --clean --if-exists --dbname="{plain}" clinic.dump\n\n'
        "Both ask for the database password (or read it from PGPASSWORD or a .pgpass file)."
    )


def sqlite_database_path(clinic_or_url: OpenClinic | str) -> Path:
    """The clinic's SQLite file (absolute).

    Raises:
        ServerBackupError: the clinic is on PostgreSQL; the message is the guidance.
        BillingError: the URL is not a clinic database at all.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = _url_text(clinic_or_url)
    try:
        url = make_url(text)
    except ArgumentError:
        raise bad_file(
            f"{text!r} is not a database address: use sqlite:///path/to/clinic.db.",
        ) from None
    backend = url.get_backend_name()
    if backend == "postgresql":
        raise ServerBackupError(postgres_backup_guidance(text))
    if backend != "sqlite":
        raise bad_file(
            f"Unsupported database {backend!r}: use a SQLite file or a postgresql+psycopg:// URL.",
        )
    if url.database in (None, "", ":memory:"):
        raise bad_file(
            "Clinic Ledger needs a database file, not an in-memory database.",
        )
    return Path(url.database).expanduser().resolve()


def suggested_backup_name(database: Path, day: date | None = None) -> str:
    """A file name for a backup of ``database`` made on ``day``: ``clinic-backup-2026-11-02.db``."""
    return f"{database.stem}-backup-{(day or date.today()).isoformat()}.db"


# -- backup ----------------------------------------------------------------------------------


def backup_database(clinic_or_url: OpenClinic | str, destination: Path | str) -> BackupResult:
    """Copy the clinic's SQLite database to ``destination`` and check the copy.

    Safe while other windows are saving: the copy is one consistent snapshot and holds only
    committed saves. ``destination`` may be an existing folder (the file is then named by
    :func:`suggested_backup_name`); an existing file of that name is replaced only once the new
    copy is complete.

    Raises:
        ServerBackupError: the clinic is on PostgreSQL.
        BillingError: the destination is the live database or cannot be written, or the source is
            not a Clinic Ledger database; no file is left under the destination's name.
    """
    from ..access.staff import Permission, PermissionDenied
    from ..db.schema_check import ForeignSchemaError

    if not isinstance(clinic_or_url, str) and not clinic_or_url.may(Permission.BACKUP):
        # A clinic bound to a staff member: the same role check as Clinic.backup.
        raise PermissionDenied(f"This staff member is not allowed to {Permission.BACKUP.value}.")
    source = sqlite_database_path(clinic_or_url)
    if not source.is_file():
        raise BillingError(
            f"There is no clinic database at {source} to back up.", code=Refusal.BAD_FILE
        )
    target = Path(destination).expanduser()
    if target.is_dir():
        target = target / suggested_backup_name(source)
    target = target.resolve()
    if _is_live_file(target, source):
        raise bad_file(
            f"{target} is the clinic's own database: choose another name or folder for the backup.",
            field="destination",
        )
    if not target.parent.is_dir():
        raise bad_file(
            f"The folder {target.parent} does not exist: choose another place for the backup.",
            field="destination",
        )
    try:
        with _partial_next_to(target) as partial:
            try:
                _copy_with_backup_api(source, partial)
            except (sqlite3.Error, OSError) as exc:
                raise bad_file(
                    f"The backup to {target} failed ({exc}); nothing was saved under that name.",
                    field="destination",
                ) from exc
            integrity, patients, invoices = _check_copy(partial, what=f"The database {source}")
            try:
                problems = (
                    _verify(partial, what=f"The copy of {source}") if integrity == "ok" else []
                )
            except ForeignSchemaError as exc:  # kept all the same: it may be the best copy
                problems = [f"The copy {exc.differences()}."]
            _publish(partial, target)
    except OSError as exc:
        raise bad_file(
            f"The backup could not be written to {target} ({exc.strerror or exc}): "
            "choose another place. Nothing was saved under that name.",
            field="destination",
        ) from exc
    return BackupResult(
        target, target.stat().st_size, patients, invoices, integrity, tuple(problems)
    )


# -- restore ---------------------------------------------------------------------------------


def restore_database(backup_path: Path | str, target_url: str) -> RestoreResult:
    """Replace the clinic's SQLite database with a checked backup, keeping the current one.

    Close the clinic (every window using it) first. The backup is checked on a private copy, which
    is also brought to this version's schema; the current database is saved as
    ``<name>.before-restore-<timestamp>.db`` next to it; then the backup is written in.

    Raises:
        ServerBackupError: the clinic is on PostgreSQL.
        DatabaseBusyError: another window kept the database busy; nothing changed.
        BillingError: the file is not a sound Clinic Ledger backup, or the current database could
            not be copied; nothing changed.
    """
    from ..db.schema_check import ForeignSchemaError

    database = sqlite_database_path(target_url)
    backup = Path(backup_path).expanduser().resolve()
    if not backup.is_file():
        raise BillingError(
            f"There is no backup file at {backup}.", code=Refusal.BAD_FILE, field="backup_path"
        )
    if _is_live_file(backup, database):
        raise bad_file(
            f"{backup} is the clinic's current database, not a backup of it.",
            field="backup_path",
        )
    # The private copy lives next to the database (same disk), or in the temporary folder when
    # the database's folder does not exist yet.
    near = database.parent if database.parent.is_dir() else None
    with tempfile.TemporaryDirectory(prefix=".clinic-restore-", dir=near) as work:
        checked = Path(work) / "restore.db"
        try:
            shutil.copyfile(backup, checked)
        except OSError as exc:
            raise bad_file(
                f"The backup {backup} could not be read ({exc}).",
                field="backup_path",
            ) from exc
        _check_header(checked, backup)
        integrity, _, _ = _check_copy(checked, what=f"The file {backup}")
        if integrity != "ok":
            raise bad_file(
                f"The backup {backup} is damaged ({integrity}), so it was not restored. "
                "Nothing was changed; choose an earlier backup.",
                field="backup_path",
            )
        # Opening the copy as a clinic also brings an older backup to this version's schema, and
        # refuses one holding triggers, views or tables Clinic Ledger did not make.
        try:
            problems = _verify(checked, what=f"The backup {backup}")
        except ForeignSchemaError as exc:
            raise BillingError(
                f"The backup {backup} {exc.differences()}, so it was not restored. Nothing was "
                "changed; choose a backup made before it was changed.",
                code=Refusal.FOREIGN_SCHEMA,
                field="backup_path",
            ) from None
        if problems:
            listed = "\n".join(f"  - {problem}" for problem in problems)
            raise bad_file(
                f"The backup {backup} fails the ledger check, so it was not restored. Nothing was "
                f"changed; choose another backup.\n{listed}",
                field="backup_path",
            )
        _, patients, invoices = _check_copy(checked, what=f"The file {backup}")
        database.parent.mkdir(parents=True, exist_ok=True)
        previous = _keep_current(database) if database.exists() else None
        try:
            _write_into(checked, database)
        except BaseException:
            # One SQLite transaction: the old ledger is still in place, so its copy is not needed.
            if previous is not None:
                _remove(previous)
            raise
    return RestoreResult(database, backup, previous, patients, invoices)


# -- helpers ---------------------------------------------------------------------------------


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def _size(size: int) -> str:
    if size < 1024:
        return f"{size:,} bytes"
    value = size / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{value:,.1f} {unit}"
        value /= 1024
    return f"{value:,.1f} GB"


def _is_live_file(path: Path, database: Path) -> bool:
    names = {database.name, *(database.name + side for side in _SIDE_FILES)}
    if path.parent == database.parent and path.name in names:
        return True
    try:
        return path.exists() and database.exists() and os.path.samefile(path, database)
    except OSError:
        return False


def _connect(path: Path) -> sqlite3.Connection:
    """A connection to an existing SQLite file (never creates one)."""
    return sqlite3.connect(
        f"{path.as_uri()}?mode=rw", uri=True, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None
    )


class _StillBusyError(Exception):
    pass


def _backup(source: sqlite3.Connection, destination: sqlite3.Connection) -> None:
    """Copy every page in one step (one consistent snapshot); give up after the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS

    def progress(status: int, _remaining: int, _total: int) -> None:
        if status in (_SQLITE_BUSY, _SQLITE_LOCKED) and time.monotonic() > deadline:
            raise _StillBusyError

    try:
        source.backup(destination, progress=progress, sleep=0.05)
    except _StillBusyError:
        raise DatabaseBusyError(
            "The clinic database is busy (another window or computer is saving). Nothing was "
            "changed; close Clinic Ledger elsewhere and try again."
        ) from None


def _copy_with_backup_api(source: Path, destination: Path) -> None:
    with closing(_connect(source)) as src, closing(sqlite3.connect(destination)) as dst:
        _backup(src, dst)


def _use_rollback_journal(path: Path) -> None:
    """Make a copy one self-contained file (no -wal beside it)."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = DELETE").fetchall()


def _check_header(path: Path, shown: Path) -> None:
    """Refuse a file that is not a whole SQLite database (only a restore's backup is checked)."""
    with path.open("rb") as file:
        header = file.read(100)
    if len(header) == 0:
        raise bad_file(
            f"The file {shown} is empty: it is not a Clinic Ledger backup. Nothing was changed.",
            field="backup_path",
        )
    if not header.startswith(_SQLITE_HEADER):
        raise bad_file(
            f"The file {shown} is not a database file, so it is not a Clinic Ledger backup. "
            "Nothing was changed.",
            field="backup_path",
        )
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The page count in the header is reliable when its change counter and version match.
    counted = header[24:28] == header[92:96] and pages > 0
    if len(header) < 100 or (counted and path.stat().st_size < page_size * pages):
        raise bad_file(
            f"The file {shown} is incomplete (it was cut short), so it was not restored. "
            "Nothing was changed; choose another backup.",
            field="backup_path",
        )


def _check_copy(path: Path, *, what: str) -> tuple[str, int, int]:
    """Integrity, patients and invoices of a copy; refuses a file that is not a ledger."""
    try:
        with closing(sqlite3.connect(path, isolation_level=None)) as conn:
            tables = {
                row[0]
                for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if not LEDGER_TABLES.issubset(tables):
                raise BillingError(
                    f"{what} is a database of another program, not a Clinic Ledger database. "
                    "Nothing was changed.",
                    code=Refusal.FOREIGN_SCHEMA,
                )
            _check_revision(conn, what)
            found = [row[0] for row in conn.execute("PRAGMA integrity_check(20)")]
            integrity = "ok" if found == ["ok"] else "; ".join(str(item) for item in found)
            if integrity != "ok":
                return integrity, 0, 0
            patients = int(conn.execute("SELECT count(*) FROM patients").fetchone()[0])
            invoices = int(conn.execute("SELECT count(*) FROM invoices").fetchone()[0])
            return integrity, patients, invoices
    except sqlite3.DatabaseError as exc:
        raise bad_file(
            f"{what} is damaged or not a complete database ({exc}), so it cannot be used. "
            "Nothing was changed.",
        ) from exc


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    from ..db.migrate import MIGRATIONS

    return {script.revision for script in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}


def _check_revision(conn: sqlite3.Connection, what: str) -> None:
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    if row is None:
        raise BillingError(
            f"{what} has no schema version, so it is not a usable Clinic Ledger database. "
            "Nothing was changed.",
            code=Refusal.FOREIGN_SCHEMA,
        )
    if str(row[0]) not in _known_revisions():
        raise BillingError(
            f"{what} was made by a newer version of Clinic Ledger (schema {row[0]}) than this one. "
            "Nothing was changed; update Clinic Ledger on this computer, then try again.",
            code=Refusal.FOREIGN_SCHEMA,
        )


def _verify(path: Path, *, what: str) -> list[str]:
    """Open a copy as a clinic (bringing it to this version's schema) and verify its ledger."""
    from sqlalchemy.orm import Session

    from ..db.migrate import open_database
    from ..db.models import Setting
    from ..ledger.verify import search_index_problems, verify_ledger

    try:
        engine = open_database(f"sqlite:///{path}")
        try:
            with Session(engine) as session, session.begin():
                currency = session.get(Setting, "currency")
                if currency is None:
                    raise RuntimeError("The clinic database has no 'currency' setting.")
                problems = verify_ledger(session, currency.value)
            return problems + search_index_problems(engine)
        finally:
            engine.dispose()
    except BillingError:
        raise
    except Exception as exc:  # a schema this version cannot read: never restore it
        raise BillingError(
            f"{what} could not be opened as a clinic ({exc}). Nothing was changed.",
            code=Refusal.FOREIGN_SCHEMA,
        ) from exc


@contextmanager
def _partial_next_to(target: Path) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    partial = Path(name)
    try:
        yield partial
    finally:
        _remove(partial)


def _keep_current(database: Path) -> Path:
    """Save the current database next to it, as ``<name>.before-restore-<timestamp>.db``."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    keep = database.with_name(f"{database.stem}.before-restore-{stamp}.db")
    number = 1
    while keep.exists():
        number += 1
        keep = database.with_name(f"{database.stem}.before-restore-{stamp}-{number}.db")
    try:
        with _partial_next_to(keep) as partial:
            _copy_with_backup_api(database, partial)
            _publish(partial, keep)
    except DatabaseBusyError:
        raise
    except (sqlite3.Error, OSError) as exc:
        raise BillingError(
            f"The current database {database} could not be copied before the restore ({exc}), "
            "so nothing was changed. If it is damaged, move it out of its folder and restore "
            "again.",
            code=Refusal.DATABASE_ERROR,
        ) from exc
    return keep


def _write_into(checked: Path, database: Path) -> None:
    """Write the checked copy into the live database in one SQLite transaction."""
    try:
        with closing(_connect(checked)) as src:
            _match_page_size(src, database)
            with closing(
                sqlite3.connect(database, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
            ) as dst:
                _backup(src, dst)
    except DatabaseBusyError:
        raise
    except sqlite3.Error as exc:
        raise BillingError(
            f"The backup could not be written into {database} ({exc}). The clinic's data is as "
            "it was; close Clinic Ledger in every window and try again.",
            code=Refusal.DATABASE_ERROR,
        ) from exc


def _match_page_size(src: sqlite3.Connection, database: Path) -> None:
    """A WAL database cannot change its page size: give the copy the live file's page size."""
    if not database.exists():
        return
    with closing(_connect(database)) as live:
        wanted = int(live.execute("PRAGMA page_size").fetchone()[0])
    if int(src.execute("PRAGMA page_size").fetchone()[0]) != wanted:
        src.execute("PRAGMA journal_mode = DELETE").fetchall()
        src.execute(f"PRAGMA page_size = {wanted}")
        src.execute("VACUUM")


def _publish(partial: Path, final: Path) -> None:
    """Make a finished copy one self-contained file, flush it to disk and give it its name."""
    _use_rollback_journal(partial)
    _fsync(partial)
    os.replace(partial, final)
    _fsync_folder(final.parent)


def _fsync(path: Path) -> None:
    with path.open("rb+") as file:
        os.fsync(file.fileno())


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open a folder; its rename is durable enough
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    for name in (path, *(Path(f"{path}{side}") for side in _SIDE_FILES)):
        with suppress(FileNotFoundError):
            name.unlink()
