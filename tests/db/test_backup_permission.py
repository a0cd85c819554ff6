"""Backing up and restoring is an administrator's: a backup holds every patient's billing and the
staff password hashes. Other roles are refused by the engine itself (PermissionDenied), with no
file written and nothing replaced; the command line acts with full rights."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher

from desktop_app.core import Clinic, Permission, PermissionDenied, Role
from desktop_app.core.access import staff as staff_rules
from desktop_app.core.access.staff import ROLE_PERMISSIONS
from desktop_app.core.interchange.backup import BackupResult, ServerBackupError, backup_database
from tests.helpers import snapshot

PASSWORD = "correct horse 1"


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch):
    """Argon2id with a small memory cost (the app's own settings: tests/db/test_staff.py)."""
    monkeypatch.setattr(staff_rules, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


def signed_in(clinic: Clinic) -> dict[str, Clinic]:
    """An administrator, a bookkeeper, a receptionist and a practitioner, each signed in."""
    clinic.add_staff("admin", "Alex Admin", Role.ADMINISTRATOR, PASSWORD)
    admin = clinic.sign_in("admin", PASSWORD)
    for name, role in (
        ("books", Role.BOOKKEEPER),
        ("desk", Role.RECEPTIONIST),
        ("physio", Role.PRACTITIONER),
    ):
        admin.add_staff(name, f"{name.title()} Person", role, PASSWORD)
    return {
        "administrator": admin,
        "bookkeeper": clinic.sign_in("books", PASSWORD),
        "receptionist": clinic.sign_in("desk", PASSWORD),
        "practitioner": clinic.sign_in("physio", PASSWORD),
    }


def test_only_administrators_have_the_backup_permission():
    assert Permission.BACKUP.value == "back up or restore the clinic's database"
    assert [role for role in Role if Permission.BACKUP in ROLE_PERMISSIONS[role]] == [
        Role.ADMINISTRATOR
    ]


@pytest.mark.parametrize("role", ["bookkeeper", "receptionist", "practitioner"])
def test_other_roles_cannot_take_a_backup_and_no_file_is_written(new_sqlite_url, tmp_path, role):
    with Clinic.open(new_sqlite_url()) as clinic:
        clinic.add_patient("Ada", "Lovelace")
        team = signed_in(clinic)
        out = tmp_path / "out"
        out.mkdir()
        for destination in (out / "everything.db", out):
            with pytest.raises(
                PermissionDenied, match="not allowed to back up or restore the clinic's database"
            ):
                team[role].backup(destination)
        assert list(out.iterdir()) == []
        assert not team[role].may(Permission.BACKUP)


def test_an_administrators_backup_works(new_sqlite_url, tmp_path):
    with Clinic.open(new_sqlite_url()) as clinic:
        clinic.add_patient("Ada", "Lovelace")
        admin = signed_in(clinic)["administrator"]
        result = admin.backup(tmp_path / "friday.db")
        assert isinstance(result, BackupResult) and result.ok
        assert result.path == (tmp_path / "friday.db").resolve() and result.patients == 1
        owner = clinic.backup(tmp_path)  # Clinic.open(url) itself acts with every right
        assert owner.ok and owner.path.parent == tmp_path.resolve()


@pytest.mark.parametrize("role", ["bookkeeper", "receptionist", "practitioner"])
def test_other_roles_cannot_restore_and_nothing_is_replaced(new_sqlite_url, tmp_path, role):
    url = new_sqlite_url()
    live = Path(url.removeprefix("sqlite:///"))
    with Clinic.open(url) as clinic:
        clinic.add_patient("Ada", "Lovelace")
        team = signed_in(clinic)
        backup = backup_database(clinic, tmp_path / "b.db").path
        clinic.add_patient("Grace", "Hopper")
        before = snapshot(clinic)
        files = sorted(p.name for p in live.parent.iterdir())
        with pytest.raises(PermissionDenied, match="not allowed to back up or restore"):
            team[role].restore(backup)
        assert sorted(p.name for p in live.parent.iterdir()) == files  # no before-restore copy
        assert snapshot(clinic) == before


def test_an_administrator_restores(new_sqlite_url, tmp_path):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        clinic.add_patient("Ada", "Lovelace")
        admin = signed_in(clinic)["administrator"]
        backup = admin.backup(tmp_path / "b.db").path
        clinic.add_patient("Grace", "Hopper")
        result = admin.restore(backup)
    assert result.previous_copy is not None and result.patients == 1
    with Clinic.open(url) as restored:
        assert [restored.patient(p).full_name for p in restored.patient_ids()] == ["Ada Lovelace"]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_on_a_server_other_roles_are_refused_before_the_guidance(clinic, tmp_path):
    team = signed_in(clinic)
    with pytest.raises(PermissionDenied):
        team["receptionist"].backup(tmp_path / "b.db")
    with pytest.raises(ServerBackupError, match="pg_dump"):
        team["administrator"].backup(tmp_path / "b.db")
    assert list(tmp_path.iterdir()) == []
