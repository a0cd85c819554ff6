"""Backup and restore of a clinic's SQLite file, and guidance for a PostgreSQL server.

A backup taken while another window is saving holds only committed saves; a restore gives back
exactly the backed-up ledger and keeps the replaced one as a copy; a bad backup file is refused
before anything is touched.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from desktop_app.core import BillingError, Clinic, DatabaseBusyError, Refusal
from desktop_app.core.db.engine import make_engine
from desktop_app.core.db.migrate import HEAD_REVISION, MIGRATIONS
from desktop_app.core.interchange import backup as backup_module
from desktop_app.core.interchange.backup import (
    ServerBackupError,
    backup_database,
    postgres_backup_guidance,
    restore_database,
    sqlite_database_path,
)
from tests.helpers import snapshot


def sqlite_file(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def names(clinic: Clinic) -> list[str]:
    return [clinic.patient(pid).full_name for pid in clinic.patient_ids()]


def some_ledger(clinic: Clinic) -> tuple[int, int]:
    """Ada with $100 of credit and an open $50 invoice; returns (patient, invoice)."""
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "100"}), "prepay")
    iid = clinic.create_invoice(pid, [("Consult", "50", 1)], issue_date=date(2026, 1, 5))
    return pid, iid


def test_backup_holds_committed_saves_only_while_another_connection_writes(
    new_sqlite_url, tmp_path
):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        some_ledger(clinic)
        writer = sqlite3.connect(sqlite_file(url), isolation_level=None)
        with closing(writer):
            writer.execute("BEGIN IMMEDIATE")  # holds the write lock, changes not committed
            writer.execute(
                "INSERT INTO patients (first_name, last_name, created_at, credit_minor, "
                "outstanding_minor) VALUES ('Grace', 'Hopper', '2026-01-01 00:00:00', 0, 0)"
            )
            writer.execute("UPDATE settings SET value = 'Uncommitted' WHERE key = 'clinic_name'")
            result = backup_database(clinic, tmp_path / "backup.db")
            writer.execute("COMMIT")
        assert names(clinic) == ["Grace Hopper", "Ada Lovelace"]

    assert result.ok and result.integrity == "ok" and result.problems == ()
    assert (result.patients, result.invoices) == (1, 1)
    assert "1 patient and 1 invoice" in result.describe()
    with Clinic.open(f"sqlite:///{result.path}") as copy:
        assert names(copy) == ["Ada Lovelace"]
        assert copy.clinic_name != "Uncommitted"
        assert copy.credit(copy.patient_ids()[0]) == 100
        assert copy.verify() == []
    # One self-contained file: nothing beside it, no temporary file left.
    assert sorted(p.name for p in tmp_path.iterdir() if "backup" in p.name) == ["backup.db"]


def test_backups_taken_during_a_stream_of_saves_all_verify(new_sqlite_url, tmp_path):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        pid, _ = some_ledger(clinic)
        stop = threading.Event()
        first_saved = threading.Event()  # set after the first save, or if the thread gives up
        saved: list[int] = []

        def keep_saving() -> None:
            try:
                with Clinic.open(url) as other:
                    while not stop.is_set():
                        preview = other.preview_payment(pid, sources={"EFTPOS": "1.25"})
                        saved.append(other.record_payment(preview, f"stream-{len(saved)}"))
                        first_saved.set()
            finally:
                first_saved.set()

        thread = threading.Thread(target=keep_saving)
        thread.start()
        try:
            assert first_saved.wait(60), "the other window never saved"
            assert saved, "the other window stopped before its first save"
            before = len(saved)
            results = [backup_database(url, tmp_path / f"b{n}.db") for n in range(5)]
            during = len(saved) - before
        finally:
            stop.set()
            thread.join(30)
    assert during > 0, "the other window saved nothing while the backups ran"
    for result in results:
        assert result.ok, result.describe()
        with Clinic.open(f"sqlite:///{result.path}") as copy:
            assert copy.verify() == []


def test_backup_change_restore_gives_back_the_backed_up_ledger(new_sqlite_url, tmp_path):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        pid, iid = some_ledger(clinic)
        backed_up = snapshot(clinic)
        backup = backup_database(clinic, tmp_path).path  # a folder: the file is named for today
        assert backup.name == f"{sqlite_file(url).stem}-backup-{date.today().isoformat()}.db"
        # Later work, which the restore takes away.
        clinic.record_payment(clinic.preview_payment(pid, sources={}, source_invoice=iid), "pay")
        clinic.add_patient("Grace", "Hopper")
        later = snapshot(clinic)

    result = restore_database(backup, url)

    assert result.database == sqlite_file(url).resolve() and result.restored_from == backup
    assert (result.patients, result.invoices) == (1, 1)
    with Clinic.open(url) as clinic:
        assert snapshot(clinic) == backed_up
        assert clinic.verify() == []
        assert clinic.credit(pid) == 100 and clinic.invoice(iid).status == "open"
        clinic.add_patient("Grace", "Hopper")  # the restored clinic takes new saves
    # The database as it was before the restore is kept, with the later work in it.
    previous = result.previous_copy
    assert previous is not None and previous.parent == sqlite_file(url).resolve().parent
    assert previous.name.startswith(f"{sqlite_file(url).stem}.before-restore-")
    assert previous.suffix == ".db"
    assert str(previous) in result.describe()
    with Clinic.open(f"sqlite:///{previous}") as kept:
        assert snapshot(kept) == later
        assert kept.verify() == []


def test_restore_into_a_new_file_and_twice_in_one_second(new_sqlite_url, tmp_path):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        some_ledger(clinic)
        backup = backup_database(clinic, tmp_path / "ada.db").path
    fresh = tmp_path / "new computer" / "clinic.db"
    first = restore_database(backup, f"sqlite:///{fresh}")
    assert first.previous_copy is None and "saved as" not in first.describe()
    with Clinic.open(f"sqlite:///{fresh}") as clinic:
        assert names(clinic) == ["Ada Lovelace"]
    copies = {restore_database(backup, url).previous_copy for _ in range(2)}
    assert len(copies) == 2 and all(c is not None and c.exists() for c in copies)


def _text_file(path: Path, _good: Path) -> None:
    path.write_text("Patient list\nAda Lovelace, $100\n", encoding="utf-8")


def _empty_file(path: Path, _good: Path) -> None:
    path.write_bytes(b"")


def _truncated(path: Path, good: Path) -> None:
    data = good.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _cut_header(path: Path, good: Path) -> None:
    path.write_bytes(good.read_bytes()[:60])


def _foreign(path: Path, _good: Path) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE recipes (name TEXT, minutes INTEGER)")
        conn.execute("INSERT INTO recipes VALUES ('Soup', 30)")
        conn.commit()


def _other_alembic_program(path: Path, _good: Path) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num TEXT)")
        conn.execute("INSERT INTO alembic_version VALUES ('abc123')")
        conn.execute("CREATE TABLE patients (id INTEGER)")
        conn.commit()


def _newer_schema(path: Path, good: Path) -> None:
    path.write_bytes(good.read_bytes())
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
        conn.commit()


def _ledger_that_fails_verify(path: Path, good: Path) -> None:
    path.write_bytes(good.read_bytes())
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE patients SET credit_minor = credit_minor + 1")
        conn.commit()


def _corrupt_page(path: Path, good: Path) -> None:
    data = bytearray(good.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    for page in range(1, len(data) // page_size):  # scribble over every page but the first
        start = page * page_size
        data[start : start + 64] = b"\xa5" * 64
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (_text_file, Refusal.BAD_FILE),
        (_empty_file, Refusal.BAD_FILE),
        (_truncated, Refusal.BAD_FILE),
        (_cut_header, Refusal.BAD_FILE),
        (_foreign, Refusal.FOREIGN_SCHEMA),
        (_other_alembic_program, Refusal.FOREIGN_SCHEMA),
        (_newer_schema, Refusal.FOREIGN_SCHEMA),
        (_ledger_that_fails_verify, Refusal.BAD_FILE),
        (_corrupt_page, Refusal.BAD_FILE),
    ],
)
def test_restore_refuses_a_bad_backup_and_changes_nothing(new_sqlite_url, tmp_path, make, code):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        some_ledger(clinic)
        good = backup_database(clinic, tmp_path / "good.db").path
        clinic.add_patient("Grace", "Hopper")
        before = snapshot(clinic)
    live = sqlite_file(url)
    bad = tmp_path / "bad.db"
    make(bad, good)
    bytes_before, files_before = digest(live), sorted(p.name for p in live.parent.iterdir())
    bad_before = digest(bad)

    with pytest.raises(BillingError) as refused:
        restore_database(bad, url)

    assert refused.value.code == code
    assert "Nothing was changed" in str(refused.value) or "not restored" in str(refused.value)
    assert digest(live) == bytes_before
    assert sorted(p.name for p in live.parent.iterdir()) == files_before  # no copy, no leftovers
    assert digest(bad) == bad_before  # the backup file itself is never touched
    with Clinic.open(url) as clinic:
        assert snapshot(clinic) == before


def test_restore_refuses_the_live_database_and_a_missing_file(new_sqlite_url, tmp_path):
    url = new_sqlite_url()
    with pytest.raises(BillingError) as refused:
        restore_database(sqlite_file(url), url)
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_FILE, "backup_path")
    with pytest.raises(BillingError) as refused:
        restore_database(tmp_path / "nowhere.db", url)
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_FILE, "backup_path")


def test_restore_waits_for_a_busy_database_then_changes_nothing(
    new_sqlite_url, tmp_path, monkeypatch
):
    monkeypatch.setattr(backup_module, "BUSY_TIMEOUT_SECONDS", 0.3)
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        some_ledger(clinic)
        backup = backup_database(clinic, tmp_path / "b.db").path
        clinic.add_patient("Grace", "Hopper")
        before = snapshot(clinic)
    live = sqlite_file(url)
    files_before = sorted(p.name for p in live.parent.iterdir())
    with closing(sqlite3.connect(live, isolation_level=None)) as other_desk:
        other_desk.execute("BEGIN IMMEDIATE")  # another window in the middle of a save
        with pytest.raises(DatabaseBusyError) as refused:
            restore_database(backup, url)
        assert refused.value.code == Refusal.DATABASE_BUSY
        other_desk.execute("ROLLBACK")
    assert sorted(p.name for p in live.parent.iterdir()) == files_before
    with Clinic.open(url) as clinic:
        assert snapshot(clinic) == before


def test_a_backup_from_an_older_schema_is_upgraded_on_restore(new_sqlite_url, tmp_path):
    old = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{old}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001_initial")
        connection.execute(
            text("UPDATE settings SET value = 'Old Clinic' WHERE key = 'clinic_name'")
        )
    engine.dispose()
    url = new_sqlite_url()
    restore_database(old, url)
    with Clinic.open(url) as clinic, clinic.engine.connect() as conn:
        assert clinic.clinic_name == "Old Clinic" and clinic.verify() == []
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            HEAD_REVISION
        )
    with closing(sqlite3.connect(old)) as conn:  # the backup file itself stays as it was
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (
            "0001_initial",
        )


def test_backup_refuses_to_overwrite_the_live_database(new_sqlite_url, tmp_path):
    url = new_sqlite_url()
    live = sqlite_file(url)
    with Clinic.open(url) as clinic:
        some_ledger(clinic)
        for target in (
            live,
            Path(f"{live}-wal"),
            live.parent / ".." / live.parent.name / live.name,
        ):
            with pytest.raises(BillingError) as refused:
                backup_database(clinic, target)
            assert (refused.value.code, refused.value.field) == (Refusal.BAD_FILE, "destination")
        assert names(clinic) == ["Ada Lovelace"] and clinic.verify() == []
        with pytest.raises(BillingError) as refused:
            backup_database(clinic, tmp_path / "no such folder" / "b.db")
        assert (refused.value.code, refused.value.field) == (Refusal.BAD_FILE, "destination")


def test_a_failed_backup_leaves_no_file_and_keeps_an_older_backup(new_sqlite_url, tmp_path):
    foreign = tmp_path / "recipes.db"
    _foreign(foreign, foreign)
    out = tmp_path / "out"
    out.mkdir()
    older = out / "backup.db"
    older.write_bytes(b"yesterday's backup")
    with pytest.raises(BillingError) as refused:
        backup_database(f"sqlite:///{foreign}", older)
    assert refused.value.code == Refusal.FOREIGN_SCHEMA
    assert older.read_bytes() == b"yesterday's backup"
    assert [p.name for p in out.iterdir()] == ["backup.db"]  # no partial file left behind
    with pytest.raises(BillingError) as refused:
        backup_database(f"sqlite:///{tmp_path / 'missing.db'}", out)
    assert refused.value.code == Refusal.BAD_FILE
    assert not (tmp_path / "missing.db").exists()  # looking did not create it


def test_backup_reports_a_ledger_that_fails_verify(new_sqlite_url, tmp_path):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        some_ledger(clinic)
        with clinic.engine.begin() as conn:
            conn.execute(text("UPDATE patients SET credit_minor = 1"))
        result = backup_database(clinic, tmp_path / "b.db")
    assert result.path.exists() and not result.ok  # kept: it may be the best copy there is
    assert any("stored account credit $0.01 differs" in problem for problem in result.problems)
    assert "problem(s)" in result.describe()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_gets_guidance_not_a_copy(clinic, tmp_path):
    some_ledger(clinic)
    with pytest.raises(ServerBackupError) as backup_refused:
        backup_database(clinic, tmp_path / "b.db")
    with pytest.raises(ServerBackupError) as restore_refused:
        restore_database(tmp_path / "b.db", clinic.url)
    guidance = postgres_backup_guidance(clinic.url)
    assert str(backup_refused.value) == str(restore_refused.value) == guidance
    server = clinic.engine.url.set(drivername="postgresql")
    plain = server.render_as_string(hide_password=False)
    assert f'pg_dump --format=custom --file=clinic.dump "{plain}"' in guidance
    assert f'pg_restore --clean --if-exists --dbname="{plain}" clinic.dump' in guidance
    assert "administrator" in guidance and "schedule" in guidance
    assert list(tmp_path.iterdir()) == []
    assert names(clinic) == ["Ada Lovelace"]


def test_guidance_never_shows_the_password():
    guidance = postgres_backup_guidance("postgresql+psycopg://clinic:s3cret@db.local:5433/clinic")
    assert "s3cret" not in guidance and "***" not in guidance
    assert '"postgresql://clinic@db.local:5433/clinic"' in guidance
    with pytest.raises(ServerBackupError) as refused:
        sqlite_database_path("postgresql+psycopg://clinic:s3cret@db.local/clinic")
    assert "s3cret" not in str(refused.value)
    with pytest.raises(BillingError) as refused:
        sqlite_database_path("mysql://nowhere/clinic")
    assert refused.value.code == Refusal.BAD_FILE


def test_a_backup_with_another_page_size_restores_into_the_wal_database(new_sqlite_url, tmp_path):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        some_ledger(clinic)
        backup = backup_database(clinic, tmp_path / "b.db").path
        clinic.add_patient("Grace", "Hopper")
    with closing(sqlite3.connect(backup, isolation_level=None)) as conn:
        conn.execute("PRAGMA page_size = 8192")
        conn.execute("VACUUM")
        assert conn.execute("PRAGMA page_size").fetchone() == (8192,)
    restore_database(backup, url)
    with Clinic.open(url) as clinic:
        assert names(clinic) == ["Ada Lovelace"] and clinic.verify() == []
    with closing(sqlite3.connect(sqlite_file(url))) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
