"""Backing up and restoring is an administrator's: a backup holds every patient's billing and the
staff password hashes. Other roles are refused by the engine itself (PermissionDenied), with no
file written and nothing replaced; the command line acts with full rights."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.core import Clinic, Permission, PermissionDenied, Refusal, Role
from desktop_app.core.access.staff import ROLE_PERMISSIONS
from desktop_app.core.interchange.backup import BackupResult, ServerBackupError, backup_database
from tests.helpers import snapshot, staff_team

# Argon2id with a small memory cost (tests/conftest.py; the app's own: tests/db/test_staff.py).
pytestmark = pytest.mark.usefixtures("quick_hashes")


def test_only_administrators_have_the_backup_permission():
    assert Permission.BACKUP.value == "back up or restore the clinic's database"
    assert [role for role in Role if Permission.BACKUP in ROLE_PERMISSIONS[role]] == [
        Role.ADMINISTRATOR
    ]


@pytest.mark.parametrize("role", ["bookkeeper", "receptionist", "practitioner"])
def test_other_roles_cannot_take_a_backup_and_no_file_is_written(new_sqlite_url, tmp_path, role):
    with Clinic.open(new_sqlite_url()) as clinic:
        clinic.add_patient("Ada", "Lovelace")
        team = staff_team(clinic)
        out = tmp_path / "out"
        out.mkdir()
        for destination in (out / "everything.db", out):
            with pytest.raises(
                PermissionDenied, match="not allowed to back up or restore the clinic's database"
            ) as refused:  # the refusal says what the role may not do
                team[role].backup(destination)
            assert refused.value.code == Refusal.PERMISSION_DENIED
        assert list(out.iterdir()) == []
        assert not team[role].may(Permission.BACKUP)


def test_an_administrators_backup_works(new_sqlite_url, tmp_path):
    with Clinic.open(new_sqlite_url()) as clinic:
        clinic.add_patient("Ada", "Lovelace")
        admin = staff_team(clinic)["administrator"]
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
        team = staff_team(clinic)
        backup = backup_database(clinic, tmp_path / "b.db").path
        clinic.add_patient("Grace", "Hopper")
        before = snapshot(clinic)
        files = sorted(p.name for p in live.parent.iterdir())
        with pytest.raises(PermissionDenied, match="not allowed to back up or restore") as refused:
            team[role].restore(backup)
        assert refused.value.code == Refusal.PERMISSION_DENIED
        assert sorted(p.name for p in live.parent.iterdir()) == files  # no before-restore copy
        assert snapshot(clinic) == before


def test_an_administrator_restores(new_sqlite_url, tmp_path):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        clinic.add_patient("Ada", "Lovelace")
        admin = staff_team(clinic)["administrator"]
        backup = admin.backup(tmp_path / "b.db").path
        clinic.add_patient("Grace", "Hopper")
        result = admin.restore(backup)
    assert result.previous_copy is not None and result.patients == 1
    with Clinic.open(url) as restored:
        assert [restored.patient(p).full_name for p in restored.patient_ids()] == ["Ada Lovelace"]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_on_a_server_other_roles_are_refused_before_the_guidance(clinic, tmp_path):
    team = staff_team(clinic)
    with pytest.raises(PermissionDenied):
        team["receptionist"].backup(tmp_path / "b.db")
    with pytest.raises(ServerBackupError, match="pg_dump") as refused:  # the guidance: pg_dump
        team["administrator"].backup(tmp_path / "b.db")
    assert refused.value.code == Refusal.BAD_FILE
    assert list(tmp_path.iterdir()) == []
