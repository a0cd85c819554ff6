"""What the first window needs from a SQLite clinic, read with the standard library alone.

Loading the database layer (SQLAlchemy, the models, the managers) takes several times longer than
showing a window, so start-up reads the little the first screen shows straight from the file,
read-only, before any of it is imported: whether the clinic has staff accounts (then the sign-in
window comes first and no patient is read), the clinic's name and currency, and the patients in
the patient list's default order (by last name, then first name, then id, as
``Clinic.patient_ids`` sorts them). The window shows that, then hands over to the real clinic.

Only a database already at the newest schema revision is trusted; anything else (a file that does
not exist yet, an older or newer schema, a read error, a server database) gives None, and start-up
takes the normal path, which upgrades or refuses as it always has. This module imports only the
standard library (a test checks that SQLAlchemy stays unloaded).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

#: The migration scripts, whose newest name is the schema revision the code expects.
_VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"

#: The patient list's default order (``Clinic.patient_ids(sort="name")``), in SQLite's terms.
_PATIENTS_SQL = (
    "SELECT id, first_name, last_name, credit_minor, outstanding_minor, date_of_birth, mobile "
    "FROM patients WHERE archived_at IS NULL AND id NOT IN (SELECT id FROM payers) "
    "ORDER BY lower(last_name), lower(first_name), id"
)


@dataclass(frozen=True)
class FirstPatient:
    """One row of the patient list as first shown (amounts in minor units)."""

    id: int
    first_name: str
    last_name: str
    credit_minor: int
    outstanding_minor: int
    #: As stored (SQLite keeps a date as ISO text), None when not given.
    date_of_birth: str | None = None
    mobile: str | None = None


@dataclass(frozen=True)
class FirstScreen:
    """What the first window shows.

    ``patients`` is empty when the clinic has staff: nobody has signed in yet.
    """

    has_staff: bool
    clinic_name: str
    currency: str
    patients: tuple[FirstPatient, ...]


def head_revision() -> str | None:
    """The newest migration's revision (the migration scripts are named after it)."""
    names = sorted(path.stem for path in _VERSIONS.glob("[0-9]*.py"))
    return names[-1] if names else None


def sqlite_file(url: str) -> Path | None:
    """The file a ``sqlite:///...`` URL names; None for anything else (a server, memory, a URL
    with options)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    path = unquote(url[len(prefix) :])
    if path in ("", ":memory:"):
        return None
    return Path(path)


def read_first_screen(url: str) -> FirstScreen | None:
    """The first screen of the SQLite clinic at ``url``, read-only; None if it cannot be trusted
    or read (start-up then opens the clinic the normal way)."""
    path = sqlite_file(url)
    expected = head_revision()
    if path is None or expected is None or not path.is_file():
        return None
    try:
        connection = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        connection.execute("BEGIN")  # one snapshot for every read below
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        if revision != [(expected,)]:
            return None
        settings = dict(
            connection.execute(
                "SELECT key, value FROM settings WHERE key IN ('clinic_name', 'currency')"
            ).fetchall()
        )
        has_staff = connection.execute("SELECT EXISTS (SELECT 1 FROM staff)").fetchone()[0] == 1
        patients: tuple[FirstPatient, ...] = ()
        if not has_staff:
            patients = tuple(
                FirstPatient(*row) for row in connection.execute(_PATIENTS_SQL).fetchall()
            )
        return FirstScreen(
            has_staff=has_staff,
            clinic_name=str(settings["clinic_name"]),
            currency=str(settings["currency"]),
            patients=patients,
        )
    except (sqlite3.Error, KeyError, TypeError, ValueError):
        return None
    finally:
        connection.close()
