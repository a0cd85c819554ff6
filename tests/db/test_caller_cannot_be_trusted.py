"""The ledger never trusts its caller: a prepared object edited after the engine made it, a
request id replayed with another request, and a disabled account's open window are all refused,
with nothing saved."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from desktop_app.core import (
    BillingError,
    Clinic,
    ConcurrentChangeError,
    PermissionDenied,
    Refusal,
    Role,
)
from desktop_app.core.domain.allocation import AllocationMode
from tests.helpers import STAFF_PASSWORD, snapshot, staff_team

#: The two accounts these tests need: the administrator (a clinic's first) and a receptionist.
ADMIN_AND_DESK = (Role.ADMINISTRATOR, Role.RECEPTIONIST)


@pytest.fixture
def desk(clinic: Clinic) -> Clinic:
    """A receptionist, signed in (the role that takes payments)."""
    return staff_team(clinic, ADMIN_AND_DESK)["receptionist"]


def _with_plan(preview, **changes):
    """The preview with its plan's fields replaced (the plan recomputes its totals)."""
    return dataclasses.replace(preview, plan=dataclasses.replace(preview.plan, **changes))


def _with_line(preview, invoice_id, **changes):
    lines = tuple(
        line._replace(**changes) if line.invoice_id == invoice_id else line
        for line in preview.plan.lines
    )
    return _with_plan(preview, lines=lines)


# -- a preview edited before saving -----------------------------------------------------------


def test_an_edited_untouched_line_cannot_mint_credit(clinic, desk):
    pid = desk.add_patient("Ada", "Lovelace")
    a = desk.create_invoice(pid, [("Consult", "50", 1)], issue_date=date(2026, 11, 2))
    b = desk.create_invoice(pid, [("Consult", "80", 1)], issue_date=date(2026, 11, 3))
    preview = desk.preview_payment(pid, sources={"Cash": "50"}, source_invoice=a)
    assert preview.plan.line(b).applied == 0
    forged = _with_line(preview, b, from_credit=-500_000)
    assert forged.credit_after == Decimal("5000.00")  # what the caller's figures claim
    before = snapshot(clinic)
    with pytest.raises(BillingError) as refused:
        desk.record_payment(forged, "mint")
    assert refused.value.code == "preview_altered"
    assert snapshot(clinic) == before
    assert desk.credit(pid) == Decimal("0.00")
    # The untouched preview still saves exactly what it shows.
    desk.record_payment(preview, "honest")
    assert desk.invoice(a).status == "paid" and desk.credit(pid) == Decimal("0.00")
    assert clinic.verify() == []


def test_an_edited_applied_line_is_refused_not_a_database_error(clinic, desk):
    pid = desk.add_patient("Ada", "Lovelace")
    desk.record_payment(desk.preview_payment(pid, sources={"Cash": "30"}), "prepay")
    iid = desk.create_invoice(pid, [("Consult", "50", 1)])
    preview = desk.preview_payment(pid, sources={"Cash": "20"}, source_invoice=iid)
    before = snapshot(clinic)
    forgeries = [
        _with_line(preview, iid, from_money=0),  # parts no longer add up to the amount
        _with_line(preview, iid, from_credit=0, applied=20_00),  # keeps the credit
        _with_line(preview, iid, applied=40_00, from_credit=20_00),  # more than shown
        _with_line(preview, iid, typed=True),
        _with_plan(preview, mode=AllocationMode.OFF),
        dataclasses.replace(preview, typed_minor=((iid, 10_00),)),
        dataclasses.replace(preview, payment_date=datetime(2026, 11, 2, 9, 0)),
        dataclasses.replace(preview, patient_id=True),
        dataclasses.replace(preview, sources_minor=(("Cash", 20.0),)),
        dataclasses.replace(preview, sources_minor=(("Cash", True),)),
    ]
    for forged in forgeries:
        with pytest.raises(BillingError) as refused:
            desk.record_payment(forged, "forged")
        assert refused.value.code == "preview_altered", forged
    derived = _with_plan(preview)  # a copy of the plan
    object.__setattr__(derived.plan, "credit_after", 999_999)  # a derived total, forced
    with pytest.raises(BillingError) as refused:
        desk.record_payment(derived, "forged")
    assert refused.value.code == "preview_altered"
    assert snapshot(clinic) == before
    assert desk.record_payment(preview, "honest") > 0
    assert desk.invoice(iid).status == "paid" and desk.credit(pid) == Decimal("0.00")


def test_an_invoice_issued_since_the_preview_refuses_the_save(clinic, db_url):
    pid = clinic.add_patient("Ada", "Lovelace")
    preview = clinic.preview_payment(pid, sources={"Cash": "50"})  # all of it to credit
    with Clinic.open(db_url) as other_desk:
        other_desk.create_invoice(pid, [("Consult", "50", 1)])
    before = snapshot(clinic)
    with pytest.raises(
        ConcurrentChangeError, match=r"Invoice #1 was issued or reopened"
    ) as refused:
        clinic.record_payment(preview, "stale")  # the refusal names the invoice
    assert refused.value.code == Refusal.CONCURRENT_CHANGE
    assert snapshot(clinic) == before


# -- a request id replayed with another request -------------------------------------------------


def test_a_payment_request_id_replayed_with_other_contents_is_refused(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(pid, [("Consult", "50", 1)])
    kept = {iid: "0"}  # to credit, leaving the invoice open
    first = clinic.record_payment(
        clinic.preview_payment(pid, sources={"Cash": "100"}, applied=kept), "X"
    )
    yesterday = date.today() - timedelta(days=1)
    others = [
        clinic.preview_payment(pid, sources={"EFTPOS": "35"}, applied=kept),
        clinic.preview_payment(pid, sources={"Cash": "100"}),
        clinic.preview_payment(pid, sources={"Cash": "100"}, applied={iid: "10"}),
        clinic.preview_payment(pid, sources={"Cash": "100"}, applied=kept, source_invoice=iid),
        clinic.preview_payment(pid, sources={"Cash": "100"}, applied=kept, payment_date=yesterday),
        clinic.preview_payment(clinic.add_patient("Alan", "Turing"), sources={"Cash": "100"}),
    ]
    before = snapshot(clinic)
    for other in others:
        with pytest.raises(BillingError) as refused:
            clinic.record_payment(other, "X")
        assert refused.value.code == "request_reused"
    assert snapshot(clinic) == before
    assert len(clinic.payments(pid)) == 1 and clinic.payment(first).total == Decimal("100.00")


def test_a_refund_request_id_replayed_with_another_method_or_date_is_refused(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "100"}), "prepay")
    refund = clinic.refund_credit(pid, "20", method="Cash", request_id="r")
    assert clinic.refund_credit(pid, "20", method="Cash", request_id="r") == refund
    before = snapshot(clinic)
    for changed in (
        {"amount": "20", "method": "EFTPOS"},
        {"amount": "21", "method": "Cash"},
        {"amount": "20", "method": "Cash", "refund_date": date.today() - timedelta(days=3)},
        {"amount": "20", "method": "Cash", "reason": "moving away"},
    ):
        with pytest.raises(BillingError) as refused:
            clinic.refund_credit(pid, request_id="r", **changed)
        assert refused.value.code == "request_reused"
    assert snapshot(clinic) == before and clinic.credit(pid) == Decimal("80.00")


def test_credit_note_and_transfer_request_ids_compare_the_whole_request(clinic):
    ada = clinic.add_patient("Ada", "Lovelace")
    alan = clinic.add_patient("Alan", "Turing")
    iid = clinic.create_invoice(ada, [("Consult", "50", 1)])
    clinic.record_payment(clinic.preview_payment(ada, sources={"Cash": "100"}), "prepay")
    note = clinic.credit_note(iid, "10", reason="discount", request_id="cn")
    assert clinic.credit_note(iid, "10", reason="discount", request_id="cn") == note
    moved = clinic.transfer_credit(ada, alan, "5", reason="family", request_id="t")
    assert clinic.transfer_credit(ada, alan, "5", reason="family", request_id="t") == moved
    before = snapshot(clinic)
    yesterday = date.today() - timedelta(days=1)
    refusals = [
        lambda: clinic.credit_note(iid, "10", reason="a different reason", request_id="cn"),
        lambda: clinic.credit_note(
            iid, "10", reason="discount", request_id="cn", note_date=yesterday
        ),
        lambda: clinic.credit_note(
            iid, "10", reason="discount", request_id="cn", refund_method="Cash"
        ),
        lambda: clinic.transfer_credit(ada, alan, "5", reason="gift", request_id="t"),
        lambda: clinic.transfer_credit(
            ada, alan, "5", reason="family", request_id="t", transfer_date=yesterday
        ),
        lambda: clinic.transfer_credit(alan, ada, "5", reason="family", request_id="t"),
    ]
    for attempt in refusals:
        with pytest.raises(BillingError) as refused:
            attempt()
        assert refused.value.code == "request_reused"
    assert snapshot(clinic) == before


# -- a disabled account -----------------------------------------------------------------------


def test_a_disabled_accounts_open_window_writes_nothing(clinic, desk):
    admin = clinic.sign_in("admin", STAFF_PASSWORD)
    pid = admin.add_patient("Ada", "Lovelace")
    preview = desk.preview_payment(pid, sources={"Cash": "10"})  # started before the change
    admin.update_staff("desk", active=False)
    before = snapshot(clinic)
    with pytest.raises(PermissionDenied):
        desk.change_password(STAFF_PASSWORD, "a brand new passphrase")
    with pytest.raises(PermissionDenied):
        desk.record_payment(preview, "p")
    assert snapshot(clinic) == before
    admin.update_staff("desk", active=True)
    # Enabled again, the old password still works (the disabled window changed nothing).
    assert clinic.sign_in("desk", STAFF_PASSWORD).staff_member.username == "desk"


def test_a_hand_made_account_mapping_is_refused(clinic):
    mapping = clinic.accounting_mapping()
    before = snapshot(clinic)
    forged = [
        {"sales_account": "200"},  # not a mapping made by the clinic
        dataclasses.replace(mapping, tax_types={True: "GST on Income"}),
        dataclasses.replace(mapping, clearing_accounts={1: "CLR-1"}),
        dataclasses.replace(mapping, clearing_accounts=[("Cash", "CLR-CASH")]),
        dataclasses.replace(mapping, invoice_prefix="INV\n"),
        dataclasses.replace(mapping, tax_types={0: "GST\u202eFREE"}),
        dataclasses.replace(mapping, tax_types={1000: "GST\tX"}),
    ]
    for bad in forged:
        with pytest.raises(BillingError):
            clinic.set_accounting_mapping(bad)
    assert snapshot(clinic) == before


def test_an_invoice_issued_since_that_saving_would_not_touch_does_not_refuse(clinic, db_url):
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(pid, [("Consult", "50", 1)])
    preview = clinic.preview_payment(pid, sources={"Cash": "50"}, source_invoice=iid)
    with Clinic.open(db_url) as other_desk:
        other_desk.create_invoice(pid, [("Consult", "80", 1)])
    clinic.record_payment(preview, "still-exact")  # it pays #1 exactly as shown
    assert clinic.invoice(iid).status == "paid" and clinic.credit(pid) == Decimal("0.00")
    assert clinic.verify() == []


def test_the_backup_module_function_checks_the_role_of_a_signed_in_clinic(new_sqlite_url, tmp_path):
    from desktop_app.core.interchange.backup import backup_database

    with Clinic.open(new_sqlite_url()) as owner:  # backups are of SQLite files
        team = staff_team(owner, ADMIN_AND_DESK)
        admin = team["administrator"]
        with pytest.raises(PermissionDenied):
            backup_database(team["receptionist"], tmp_path / "leak.db")
        assert not (tmp_path / "leak.db").exists()
        assert backup_database(admin, tmp_path / "kept.db").ok


class _Sneaky(int):
    """An int that adds its own way: the engine must never compute with the caller's objects."""

    def __radd__(self, other):
        return other + 1_000_000


class _Timeless(date):
    """A date that is never before or after anything: it must not slip past the date window."""

    def __lt__(self, other):
        return False

    __gt__ = __le__ = __ge__ = __lt__


def test_subclasses_of_int_and_date_in_a_preview_are_refused(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(pid, [("Consult", "50", 1)])
    preview = clinic.preview_payment(pid, sources={"Cash": "10000.00"})
    typed = clinic.preview_payment(pid, sources={"Cash": "0.02"}, applied={iid: "0.02"})
    before = snapshot(clinic)
    forgeries = [
        dataclasses.replace(preview, sources_minor=(("Cash", _Sneaky(1)),)),
        dataclasses.replace(typed, typed_minor=((iid, _Sneaky(2)),)),
        dataclasses.replace(preview, payment_date=_Timeless(9999, 12, 31)),
        _with_line(typed, iid, balance=Decimal(5000)),
    ]
    for forged in forgeries:
        with pytest.raises(BillingError) as refused:
            clinic.record_payment(forged, "sneaky")
        assert refused.value.code == "preview_altered"
    with pytest.raises(BillingError):
        clinic.create_invoice(pid, [("Consult", "1", 1)], issue_date=_Timeless(1, 1, 1))
    with pytest.raises(BillingError):
        clinic.refund_credit(
            pid, "1", method="Cash", request_id="r", refund_date=_Timeless(9999, 12, 31)
        )
    assert snapshot(clinic) == before and clinic.verify() == []


def test_one_request_id_names_one_record_of_one_kind(clinic):
    ada = clinic.add_patient("Ada", "Lovelace")
    alan = clinic.add_patient("Alan", "Turing")
    iid = clinic.create_invoice(ada, [("Consult", "50", 1)])
    clinic.record_payment(clinic.preview_payment(ada, sources={"Cash": "100"}), "shared")
    before = snapshot(clinic)
    for attempt in (
        lambda: clinic.credit_note(iid, "10", reason="discount", request_id="shared"),
        lambda: clinic.transfer_credit(ada, alan, "5", reason="family", request_id="shared"),
    ):
        with pytest.raises(BillingError) as refused:
            attempt()
        assert refused.value.code == "request_reused"
    assert snapshot(clinic) == before


def test_the_ledgers_own_request_ids_cannot_be_taken_by_a_caller(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    before = snapshot(clinic)
    for reserved in ("import:R1", "opening-balance:X1", "credit-note-1-refund"):
        with pytest.raises(BillingError) as refused:
            clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "5"}), reserved)
        assert refused.value.code == "request_reused"
    for broken in ("a\x00b", "line\nbreak", "\ud800"):
        with pytest.raises(BillingError):
            clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "5"}), broken)
    assert snapshot(clinic) == before
    # A credit note refunded at once still gets its own refund, whatever callers sent before.
    iid = clinic.create_invoice(pid, [("Consult", "50", 1)])
    clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "50"}), "paid")
    note = clinic.credit_note(iid, "10", reason="r", request_id="cn-x", refund_method="Cash")
    assert clinic.credit_notes(pid)[0].id == note


def test_reads_refuse_ids_and_dates_that_are_not_what_they_claim(clinic):
    clinic.add_patient("Ada", "Lovelace")
    assert clinic.audit_entry_ids()
    for bad in ("1", 1.0, True, [1], 2**70):
        with pytest.raises(BillingError):
            clinic.audit_entries_by_ids([bad])
    noon = datetime(2026, 11, 2, 12, 0)
    for read in (
        lambda: clinic.takings(noon),
        lambda: clinic.takings("2026-11-02"),
        lambda: clinic.aged_receivables(noon),
        lambda: clinic.credit_liability(noon),
    ):
        with pytest.raises(BillingError):
            read()


def test_a_role_lowered_while_a_save_runs_waits_for_it_then_refuses_the_next(pg_databases):
    """PostgreSQL, where two desks write at once: a save holds its staff row share-locked from
    the start, so a role change waits for the save in progress, and the next save (whose role
    check passed before the change) is refused as its transaction begins."""
    import threading

    from desktop_app.core import Permission

    with Clinic.open(pg_databases.new()) as owner:
        team = staff_team(owner, ADMIN_AND_DESK)
        admin, desk = team["administrator"], team["receptionist"]
        pid = admin.add_patient("Ada", "Lovelace")
        demote = threading.Thread(
            target=admin.update_staff, args=("desk",), kwargs={"role": "practitioner"}
        )
        with desk.writing(Permission.PAYMENTS) as tx:
            tx.lock_patients([pid])
            demote.start()
            demote.join(0.5)
            assert demote.is_alive()  # the change waits for the save in progress
        demote.join(10)
        assert not demote.is_alive()
        before = snapshot(owner)
        # Refused for the role it has now (not a disabled account): the refusal says what for.
        with (
            pytest.raises(PermissionDenied, match="not allowed to take payments") as refused,
            desk.writing(Permission.PAYMENTS) as tx,
        ):
            tx.lock_patients([pid])[pid].credit_minor += 5000  # never reached
        assert refused.value.code == Refusal.PERMISSION_DENIED
        assert snapshot(owner) == before


def test_an_account_deleted_and_its_id_reused_is_not_the_same_person(new_sqlite_url):
    from sqlalchemy import text

    with Clinic.open(new_sqlite_url()) as owner:
        team = staff_team(owner, ADMIN_AND_DESK)
        admin, desk = team["administrator"], team["receptionist"]
        pid = admin.add_patient("Ada", "Lovelace")
        with owner.engine.begin() as conn:  # deleted by hand; the next account takes its id
            conn.execute(text("DELETE FROM staff WHERE username = 'desk'"))
        admin.add_staff("books", "Bo Books", Role.BOOKKEEPER, STAFF_PASSWORD)
        with pytest.raises(PermissionDenied):
            desk.add_patient("Alan", "Turing")
        with pytest.raises(PermissionDenied):
            desk.refund_credit(pid, "1", method="Cash", request_id="r")


class _AlwaysEqual:
    """Compares equal to anything: it must not pass for a plan's figure."""

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


def test_a_plans_own_figures_must_be_plain_numbers(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    preview = clinic.preview_payment(pid, sources={"Cash": "10"})
    before = snapshot(clinic)
    for figure in ("credit_available", "payment_total", "credit_after", "to_credit"):
        forged = _with_plan(preview)
        object.__setattr__(forged.plan, figure, _AlwaysEqual())
        with pytest.raises(BillingError) as refused:
            clinic.record_payment(forged, "forged")
        assert refused.value.code == "preview_altered"
    assert snapshot(clinic) == before
