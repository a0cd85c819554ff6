"""The command line's backup and restore, as a person or a scheduled job (no keyboard) runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.app import main
from desktop_app.core import Clinic


def names(url: str) -> list[str]:
    with Clinic.open(url) as clinic:
        return [clinic.patient(pid).full_name for pid in clinic.patient_ids()]


def test_backup_then_restore(new_sqlite_url, tmp_path, capsys):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        clinic.add_patient("Ada", "Lovelace")
    backup = tmp_path / "friday.db"

    assert main(["--database", url, "backup", str(backup)]) == 0
    out = capsys.readouterr().out
    assert f"Backed up 1 patient and 0 invoices to {backup}" in out
    assert "every balance, credit and payment adds up" in out

    with Clinic.open(url) as clinic:
        clinic.add_patient("Grace", "Hopper")
    assert main(["--database", url, "restore", str(backup)]) == 0
    out = capsys.readouterr().out
    assert f"Restored 1 patient and 0 invoices from {backup}" in out
    kept = next(Path(url.removeprefix("sqlite:///")).parent.glob("*.before-restore-*.db"))
    assert f"before the restore is saved as {kept}" in out
    assert names(url) == ["Ada Lovelace"]
    assert names(f"sqlite:///{kept}") == ["Grace Hopper", "Ada Lovelace"]


def test_a_refused_restore_exits_1_with_the_reason_on_stderr(new_sqlite_url, tmp_path, capsys):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        clinic.add_patient("Ada", "Lovelace")
    notes = tmp_path / "notes.txt"
    notes.write_text("not a backup", encoding="utf-8")
    assert main(["--database", url, "restore", str(notes)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("clinic-ledger: ") and "is not a database file" in captured.err
    assert names(url) == ["Ada Lovelace"]
    assert main(["--database", url, "backup", url.removeprefix("sqlite:///")]) == 1
    assert "the clinic's own database" in capsys.readouterr().err
    assert names(url) == ["Ada Lovelace"]


def test_postgresql_prints_guidance_without_connecting(capsys):
    unreachable = "postgresql+psycopg://clinic:s3cret@127.0.0.1:9/clinic"
    for command in ("backup", "restore"):
        assert main(["--database", unreachable, command, "clinic.dump"]) == 1
        err = capsys.readouterr().err
        assert "pg_dump --format=custom --file=clinic.dump" in err
        assert "pg_restore --clean --if-exists" in err and "s3cret" not in err


def test_backup_and_restore_need_a_path_and_other_commands_refuse_one(new_sqlite_url, capsys):
    url = new_sqlite_url()
    for argv in (["backup"], ["restore"], ["info", "extra.db"]):
        with pytest.raises(SystemExit) as usage:
            main(["--database", url, *argv])
        assert usage.value.code == 2
    err = capsys.readouterr().err
    assert "backup needs a PATH" in err and "restore needs a PATH" in err
    assert "unrecognized arguments: extra.db" in err
    assert main(["--database", url, "info"]) == 0  # the existing commands still work


def test_restore_asks_nothing_when_run_with_no_keyboard(new_sqlite_url, tmp_path):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        clinic.add_patient("Ada", "Lovelace")
    backup = tmp_path / "b.db"

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "desktop_app", "--database", url, *argv],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )

    made = run("backup", str(backup))
    assert made.returncode == 0, made.stderr
    with Clinic.open(url) as clinic:
        clinic.add_patient("Grace", "Hopper")
    restored = run("restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert "before the restore is saved as" in restored.stdout
    assert names(url) == ["Ada Lovelace"]


def test_backup_refuses_a_missing_or_foreign_database_and_creates_nothing(tmp_path, capsys):
    import sqlite3
    from contextlib import closing

    missing = tmp_path / "missing.db"
    assert main(["--database", f"sqlite:///{missing}", "backup", str(tmp_path)]) == 1
    assert "There is no clinic database" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # looking did not create it
    recipes = tmp_path / "recipes.db"
    with closing(sqlite3.connect(recipes)) as conn:
        conn.execute("CREATE TABLE recipes (name TEXT)")
        conn.commit()
    out = tmp_path / "out"
    out.mkdir()
    assert main(["--database", f"sqlite:///{recipes}", "backup", str(out)]) == 1
    assert "database of another program" in capsys.readouterr().err
    assert list(out.iterdir()) == []
    with closing(sqlite3.connect(recipes)) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["recipes"]


def test_a_backup_copies_the_file_as_it_is_without_upgrading_it(tmp_path, capsys):
    import sqlite3

    from desktop_app.self_test import make_first_release_database

    live = tmp_path / "clinic.db"
    make_first_release_database(f"sqlite:///{live}")

    def revision(path: Path) -> str:
        with sqlite3.connect(path) as conn:
            return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]

    before = revision(live)
    assert main(["--database", f"sqlite:///{live}", "backup", str(tmp_path / "b.db")]) == 0
    assert revision(live) == before  # the live file is not upgraded by taking a copy
    # A database changed by hand is still copied (it may be the best copy there is); the
    # result names what differs and the exit status says something is wrong.
    with sqlite3.connect(live) as conn:
        conn.execute("CREATE VIEW owing AS SELECT 1")
    assert main(["--database", f"sqlite:///{live}", "backup", str(tmp_path / "c.db")]) == 1
    assert (tmp_path / "c.db").exists()
    assert "owing" in capsys.readouterr().err
