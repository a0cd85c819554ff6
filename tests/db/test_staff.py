"""Staff accounts, sign-in and roles: every role against every protected action, wrong and empty
passwords, unknown and disabled accounts, slowed guessing, harmless SQL-looking names, and the
audit log naming who did what."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from desktop_app.core import (
    BillingError,
    Clinic,
    Permission,
    PermissionDenied,
    Refusal,
    Role,
    SignInError,
)
from desktop_app.core.access import staff as staff_rules
from desktop_app.core.access.staff import ROLE_PERMISSIONS, wait_after
from desktop_app.core.db.models import Staff
from desktop_app.core.reporting.audit_log import AuditFilter
from tests.helpers import STAFF_PASSWORD

REFUSED = staff_rules.REFUSED


#: The hasher the app uses (taken before the quick_hashes fixture swaps it).
APP_HASHER = staff_rules._argon2()

# The many accounts and sign-ins here take milliseconds with quick hashes (tests/conftest.py); the
# app's own settings are checked in test_the_app_hashes_with_argon2_defaults. The ``team`` fixture
# (tests/conftest.py): the clinic as "owner" and one signed-in member of each role.
pytestmark = pytest.mark.usefixtures("quick_hashes")


def test_the_app_hashes_with_argon2_defaults():
    assert APP_HASHER.memory_cost >= 65536 and APP_HASHER.time_cost >= 3
    assert APP_HASHER.hash(STAFF_PASSWORD).startswith("$argon2id$v=19$m=65536,t=3")


@pytest.fixture
def ledger(team: dict[str, Clinic]) -> dict[str, int]:
    owner = team["owner"]
    own = owner.add_patient("Ada", "Lovelace")
    other = owner.add_patient("Alan", "Turing")
    owner.assign_practitioner(own, "physio")
    invoice = owner.create_invoice(own, [("Consult", "80", 1)])
    payment = owner.record_payment(owner.preview_payment(own, {"Cash": "100"}), "p")
    return {"own": own, "other": other, "invoice": invoice, "payment": payment}


def test_first_account_must_be_an_administrator_and_names_are_unique(clinic):
    assert not clinic.has_staff()
    with pytest.raises(BillingError) as refused:
        clinic.add_staff("desk", "Desk", Role.RECEPTIONIST, STAFF_PASSWORD)
    assert (refused.value.code, refused.value.field) == (Refusal.LAST_ADMINISTRATOR, "role")
    member = clinic.add_staff("  Admin ", "Alex Admin", "administrator", STAFF_PASSWORD)
    assert member.username == "admin" and member.role is Role.ADMINISTRATOR
    assert clinic.has_staff()
    with pytest.raises(BillingError) as refused:
        clinic.add_staff("ADMIN", "Someone", Role.BOOKKEEPER, STAFF_PASSWORD)
    assert (refused.value.code, refused.value.field) == (Refusal.DUPLICATE, "username")


def test_passwords_are_stored_only_as_argon2_hashes(clinic):
    clinic.add_staff("admin", "Alex Admin", Role.ADMINISTRATOR, STAFF_PASSWORD)
    with clinic.engine.connect() as conn:
        stored = conn.execute(select(Staff.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and STAFF_PASSWORD not in stored


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short", Refusal.WEAK_PASSWORD),
        ("", Refusal.MISSING),
        ("        ", Refusal.MISSING),
        (None, Refusal.MISSING),
    ],
)
def test_weak_or_missing_passwords_are_refused(clinic, password, code):
    with pytest.raises(BillingError) as refused:
        clinic.add_staff("admin", "Alex Admin", Role.ADMINISTRATOR, password)
    assert refused.value.code == code
    assert not clinic.has_staff()


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("admin", "wrong password"),
        ("admin", ""),
        ("nobody", STAFF_PASSWORD),
        ("", STAFF_PASSWORD),
        ("admin' OR '1'='1", STAFF_PASSWORD),
        ("admin'; DROP TABLE staff; --", "x' OR '1'='1"),
    ],
)
def test_wrong_empty_unknown_and_sql_looking_sign_ins_get_one_answer(clinic, username, password):
    clinic.add_staff("admin", "Alex Admin", Role.ADMINISTRATOR, STAFF_PASSWORD)
    with pytest.raises(SignInError) as refused:
        clinic.sign_in(username, password)
    assert str(refused.value) == REFUSED
    assert clinic.sign_in("admin", STAFF_PASSWORD).staff_member.username == "admin"  # tables intact


def test_sql_looking_names_cannot_be_created(clinic):
    with pytest.raises(BillingError) as refused:
        clinic.add_staff("x'; DROP TABLE staff; --", "X", Role.ADMINISTRATOR, STAFF_PASSWORD)
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_TEXT, "username")
    assert not clinic.has_staff()


def test_a_disabled_account_cannot_sign_in_until_enabled(team):
    admin = team["administrator"]
    admin.update_staff("desk", active=False)
    # The right password of a disabled account gets the answer a wrong one gets: it is not
    # confirmed to whoever typed it (the audit log says why it was refused).
    with pytest.raises(SignInError) as refused:
        team["owner"].sign_in("desk", STAFF_PASSWORD)
    assert str(refused.value) == REFUSED
    newest = team["owner"].audit_entry_ids(AuditFilter(actions={"sign-in refused"}))[:1]
    assert [entry.after for entry in team["owner"].audit_entries_by_ids(newest)] == [
        {"disabled": True}
    ]
    admin.update_staff("desk", active=True)
    assert team["owner"].sign_in("desk", STAFF_PASSWORD).staff_member.role is Role.RECEPTIONIST


def test_guessing_is_slowed_and_an_administrator_reset_ends_the_wait(team):
    owner = team["owner"]
    for _ in range(3):
        with pytest.raises(SignInError) as refused:
            owner.sign_in("desk", "guess guess")
        assert refused.value.code == Refusal.SIGN_IN_REFUSED
    with pytest.raises(SignInError) as waiting:
        owner.sign_in("desk", STAFF_PASSWORD)  # even the right password waits
    assert str(waiting.value) == REFUSED  # the same answer as for a name that does not exist
    assert wait_after(2) == timedelta(0) < wait_after(3) < wait_after(4) <= wait_after(40)
    assert wait_after(40) == timedelta(minutes=15)
    team["administrator"].reset_password("desk", "a new password")
    assert owner.sign_in("desk", "a new password").staff_member.username == "desk"


def test_change_own_password_needs_the_current_one(team):
    desk = team["receptionist"]
    with pytest.raises(SignInError) as refused:
        desk.change_password("wrong one", "another password")
    assert refused.value.code == Refusal.SIGN_IN_REFUSED
    desk.change_password(STAFF_PASSWORD, "another password")
    with pytest.raises(SignInError):
        team["owner"].sign_in("desk", STAFF_PASSWORD)
    assert team["owner"].sign_in("desk", "another password")


def test_the_clinic_keeps_an_active_administrator(team):
    admin = team["administrator"]
    for change in ({"active": False}, {"role": Role.BOOKKEEPER}):
        with pytest.raises(BillingError) as refused:
            admin.update_staff("admin", **change)
        assert refused.value.code == Refusal.LAST_ADMINISTRATOR, change
    admin.update_staff("books", role=Role.ADMINISTRATOR)
    admin.update_staff("admin", role=Role.BOOKKEEPER)  # another administrator exists now
    assert {m.username: m.role for m in team["owner"].staff_members()}["admin"] is Role.BOOKKEEPER


def test_the_audit_log_names_the_signed_in_staff_member(team, ledger):
    desk = team["receptionist"]
    desk.record_payment(desk.preview_payment(ledger["own"], {"EFTPOS": "5"}), "desk-1")
    entries = team["owner"].audit_entries_by_ids(team["owner"].audit_entry_ids())
    payment = [e for e in entries if e.action == "record payment"]
    assert sorted(e.actor for e in payment) == ["database owner", "desk"]
    assert any(e.action == "sign in" and e.actor == "physio" for e in entries)


def _actions(ledger: dict[str, int]) -> dict[Permission, Callable[[Clinic], Any]]:
    """One call per permission, each harmless to repeat with a fresh request id."""
    counter = iter(range(10_000))

    def rid() -> str:
        return f"r{next(counter)}"

    own = ledger["own"]
    today = date.today()
    return {
        Permission.SETTINGS: lambda c: c.set_clinic_name("Renamed Clinic"),
        Permission.STAFF: lambda c: c.staff_members(),
        Permission.READ_ALL: lambda c: c.patient(ledger["other"]),
        Permission.PATIENTS: lambda c: c.add_patient("New", "Patient"),
        Permission.INVOICES: lambda c: c.create_invoice(own, [("Consult", "10", 1)]),
        Permission.PAYMENTS: lambda c: c.record_payment(
            c.preview_payment(own, {"Cash": "1"}), rid()
        ),
        Permission.CORRECTIONS: lambda c: c.transfer_credit(
            own, ledger["other"], "1", reason="family", request_id=rid()
        ),
        Permission.REFUNDS: lambda c: c.refund_credit(
            own, "1", method="Cash", request_id=rid(), reason="asked"
        ),
        Permission.REPORTS: lambda c: c.takings(today, today),
        Permission.EXPORTS: lambda c: c.preview_accounting_export(),
        Permission.IMPORTS: lambda c: _import(c),
        Permission.AUDIT: lambda c: c.audit_count(),
        Permission.BACKUP: _backup,
    }


def _backup(clinic: Clinic) -> None:
    """A backup into a throwaway folder (on PostgreSQL, allowed means the pg_dump guidance)."""
    import tempfile
    from contextlib import suppress

    from desktop_app.core.interchange.backup import ServerBackupError

    with tempfile.TemporaryDirectory() as folder, suppress(ServerBackupError):
        assert clinic.backup(folder).ok


def _import(clinic: Clinic) -> None:
    import tempfile
    from pathlib import Path

    from desktop_app.core.interchange.importing import import_file

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "patients.csv"
        path.write_text("external_id,first_name,last_name\nX1,Imported,Patient\n", encoding="utf-8")
        import_file(clinic, "patients", path)


@pytest.mark.parametrize("role", ["owner", *[r.value for r in Role]])
def test_each_role_against_each_protected_action(team, ledger, role):
    clinic = team[role]
    allowed = set(Permission) if role == "owner" else ROLE_PERMISSIONS[Role(role)]
    for permission, act in _actions(ledger).items():
        assert clinic.may(permission) == (permission in allowed), permission
        if permission in allowed:
            act(clinic)
        else:
            # The refusal names what the role may not do.
            said = "own patients" if permission is Permission.READ_ALL else permission.value
            with pytest.raises(PermissionDenied, match=said) as refused:
                act(clinic)
            assert refused.value.code == Refusal.PERMISSION_DENIED
    assert team["owner"].verify() == []


def test_refusals_save_nothing(team, ledger):
    owner, desk = team["owner"], team["receptionist"]
    before = owner.audit_count()
    with pytest.raises(PermissionDenied):
        desk.refund_credit(ledger["own"], "1", method="Cash", request_id="no", reason="asked")
    with pytest.raises(PermissionDenied):
        desk.void_invoice(ledger["invoice"], "no")
    assert owner.audit_count() == before
    assert owner.credit(ledger["own"]) == Decimal("20.00")


def test_a_practitioner_reads_only_their_own_patients(team, ledger):
    physio = team["practitioner"]
    assert physio.patient(ledger["own"]).first_name == "Ada"
    assert physio.invoice(ledger["invoice"]).total == Decimal("80.00")
    assert physio.receipt(ledger["payment"]).payment.total == Decimal("100.00")
    assert physio.statement(ledger["own"]).closing_balance == Decimal("-20.00")
    assert physio.patient_ids() == [ledger["own"]]
    assert [p.id for p in physio.patients_by_ids([ledger["own"], ledger["other"]])] == [
        ledger["own"]
    ]
    for read in (
        lambda: physio.patient(ledger["other"]),
        lambda: physio.invoices(ledger["other"]),
        lambda: physio.credit_history(ledger["other"]),
        lambda: physio.statement(ledger["other"]),
        lambda: physio.summary(),
        lambda: physio.invoice_page(),
    ):
        with pytest.raises(PermissionDenied):
            read()
    with pytest.raises(PermissionDenied):
        physio.record_payment(physio.preview_payment(ledger["own"], {"Cash": "1"}), "no")


def test_only_practitioners_are_assigned_to_patients(team, ledger):
    with pytest.raises(BillingError) as refused:
        team["receptionist"].assign_practitioner(ledger["other"], "books")
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_CHOICE, "practitioner")
    team["receptionist"].assign_practitioner(ledger["other"], "physio")
    assert team["practitioner"].patient(ledger["other"]).last_name == "Turing"
    team["receptionist"].assign_practitioner(ledger["other"], None)
    with pytest.raises(PermissionDenied):
        team["practitioner"].patient(ledger["other"])


@pytest.mark.skipif(
    __import__("os").name != "posix", reason="file modes are POSIX; Windows uses the data folder"
)
def test_a_new_sqlite_file_is_readable_by_its_user_only(tmp_path):
    path = tmp_path / "new" / "clinic.db"
    with Clinic.open(f"sqlite:///{path}") as clinic:
        clinic.add_patient("Ada", "Lovelace")
    assert path.stat().st_mode & 0o777 == 0o600
    wal = path.with_name("clinic.db-wal")
    assert not wal.exists() or wal.stat().st_mode & 0o077 == 0


def test_a_changed_role_or_a_disabled_account_applies_to_a_clinic_already_signed_in(team):
    admin, books = team["administrator"], team["bookkeeper"]
    books.takings(date.today(), date.today())  # allowed now
    admin.update_staff("books", role=Role.RECEPTIONIST)
    with pytest.raises(PermissionDenied):
        books.takings(date.today(), date.today())
    assert not books.may(Permission.REPORTS) and books.may(Permission.PAYMENTS)
    admin.update_staff("books", active=False)
    with pytest.raises(PermissionDenied, match="disabled") as refused:  # says why, and who can help
        books.patient_ids()
    assert refused.value.code == Refusal.PERMISSION_DENIED
    assert not books.may(Permission.PAYMENTS)
