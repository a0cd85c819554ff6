"""One payment per request id; a concurrent change on another computer refuses the save."""

import sqlite3
from decimal import Decimal

import pytest
from sqlalchemy.engine import make_url

from desktop_app.core import (
    BillingError,
    Clinic,
    ConcurrentChangeError,
    DatabaseBusyError,
    Refusal,
)
from tests.helpers import snapshot


def test_same_request_id_returns_the_first_payment_and_records_nothing(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(pid, [("Consult", "50", 1)])
    preview = clinic.preview_payment(pid, sources={"Cash": "80"}, source_invoice=iid)
    first = clinic.record_payment(preview, "save-1")
    before = snapshot(clinic)
    # Pressed again, and retried after the ledger has moved on: still the first payment.
    assert clinic.record_payment(preview, "save-1") == first
    # The same id with another request is a mistake, never a silent success (issue 14).
    other = clinic.preview_payment(pid, sources={"EFTPOS": "5"})
    with pytest.raises(BillingError) as refused:
        clinic.record_payment(other, "save-1")
    assert refused.value.code == Refusal.REQUEST_REUSED
    assert snapshot(clinic) == before
    assert clinic.credit(pid) == Decimal("30.00")
    assert clinic.refund_credit(
        pid, "5", method="Cash", request_id="refund-1"
    ) == clinic.refund_credit(pid, "5", method="Cash", request_id="refund-1")
    assert clinic.credit(pid) == Decimal("25.00")


def test_a_refused_save_leaves_its_request_id_free_for_the_retry(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "50"}), "prepay")
    iid = clinic.create_invoice(pid, [("Consult", "50", 1)])
    stale = clinic.preview_payment(pid, source_invoice=iid)
    clinic.refund_credit(pid, "10", method="Cash", request_id="refund")
    with pytest.raises(ConcurrentChangeError):
        clinic.record_payment(stale, "retry-me")
    fresh = clinic.preview_payment(pid, source_invoice=iid)
    pay = clinic.record_payment(fresh, "retry-me")
    assert clinic.payment(pay).credit_applied == Decimal("40.00")


def test_change_from_a_second_workstation_refuses_the_save(clinic, db_url):
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "100"}), "prepay")
    a = clinic.create_invoice(pid, [("Consult", "60", 1)])
    b = clinic.create_invoice(pid, [("Consult", "60", 1)])
    mine = clinic.preview_payment(pid, source_invoice=a)
    with Clinic.open(db_url) as front_desk_2:
        theirs = front_desk_2.preview_payment(pid, source_invoice=b, applied={b: "60", a: "0"})
        front_desk_2.record_payment(theirs, "desk-2")
    before = snapshot(clinic)
    # The refusal tells the new figure to check before saving again.
    with pytest.raises(
        ConcurrentChangeError, match=r"credit changed from \$100.00 to \$40.00"
    ) as refused:
        clinic.record_payment(mine, "desk-1")
    assert refused.value.code == Refusal.CONCURRENT_CHANGE
    assert snapshot(clinic) == before
    assert clinic.credit(pid) == Decimal("40.00")
    assert clinic.verify() == []


def test_touched_invoice_changed_elsewhere(clinic, db_url):
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(pid, [("Consult", "60", 1)])
    mine = clinic.preview_payment(pid, sources={"Cash": "60"}, source_invoice=iid)
    with Clinic.open(db_url) as other:
        other.record_payment(
            other.preview_payment(pid, sources={"EFTPOS": "10"}, applied={iid: "10"}), "desk-2"
        )
    with pytest.raises(ConcurrentChangeError) as refused:
        clinic.record_payment(mine, "desk-1")
    assert refused.value.code == Refusal.CONCURRENT_CHANGE
    with Clinic.open(db_url) as other:
        other.void_invoice(iid)
    with pytest.raises(ConcurrentChangeError):
        clinic.record_payment(mine, "desk-1")
    assert clinic.verify() == []


def test_hand_made_preview_is_refused(clinic):
    import dataclasses

    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(pid, [("Consult", "60", 1)])
    preview = clinic.preview_payment(pid, sources={"Cash": "60"}, source_invoice=iid)
    more_money = dataclasses.replace(preview, sources_minor=(("Cash", 10000),))
    with pytest.raises(BillingError) as refused:
        clinic.record_payment(more_money, "forged")
    assert refused.value.code == Refusal.PREVIEW_ALTERED
    less_money = dataclasses.replace(preview, sources_minor=(("Cash", 100),))
    with pytest.raises(BillingError) as refused:
        clinic.record_payment(less_money, "forged")
    assert refused.value.code == Refusal.PREVIEW_ALTERED
    with pytest.raises(BillingError) as refused:
        clinic.record_payment({"Cash": "60"}, "forged")  # type: ignore[arg-type]
    assert refused.value.code == Refusal.PREVIEW_ALTERED
    assert clinic.invoice(iid).status == "open"


def test_forged_or_stale_sources_are_refused_at_save_and_change_nothing(clinic):
    import dataclasses

    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "50"}), "prepay")
    iid = clinic.create_invoice(pid, [("Consult", "50", 1)])
    from_credit = clinic.preview_payment(pid, source_invoice=iid)
    before = snapshot(clinic)
    forged = [
        (("Cash", 100000), ("EFTPOS", -100000)),  # adds up to $0 with a negative source
        (("Cash", 0),),
        (("Cash", 1000), ("Cash", 1000)),
        (("Cash", 10**15),),
    ]
    for sources in forged:
        total = sum(minor for _, minor in sources)
        if total != 0:
            continue  # a changed total is refused by the re-derived plan (tested above)
        with pytest.raises(BillingError) as refused:
            clinic.record_payment(dataclasses.replace(from_credit, sources_minor=sources), "f")
        assert refused.value.code == Refusal.PREVIEW_ALTERED
    duplicate = clinic.preview_payment(pid, sources={"Cash": "20"}, source_invoice=iid)
    with pytest.raises(BillingError) as refused:
        clinic.record_payment(
            dataclasses.replace(duplicate, sources_minor=(("Cash", 1000), ("Cash", 1000))), "d"
        )
    assert refused.value.code == Refusal.PREVIEW_ALTERED
    stale = clinic.preview_payment(pid, sources={"Cash": "20"}, source_invoice=iid)
    clinic.deactivate_payment_type("Cash")
    before = snapshot(clinic)
    with pytest.raises(ConcurrentChangeError) as refused:
        clinic.record_payment(stale, "stale")
    assert refused.value.code == Refusal.CONCURRENT_CHANGE
    assert snapshot(clinic) == before


def test_request_id_of_one_kind_is_not_taken_for_another(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "20"}), "shared")
    before = snapshot(clinic)
    with pytest.raises(BillingError) as refused:
        clinic.refund_credit(pid, "5", method="Cash", request_id="shared")
    assert refused.value.code == Refusal.REQUEST_REUSED
    refund = clinic.refund_credit(pid, "5", method="Cash", request_id="refund-1")
    with pytest.raises(BillingError) as refused:
        clinic.refund_credit(pid, "6", method="Cash", request_id="refund-1")
    assert refused.value.code == Refusal.REQUEST_REUSED
    with pytest.raises(BillingError) as refused:
        clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "5"}), "refund-1")
    assert refused.value.code == Refusal.REQUEST_REUSED
    assert clinic.refund_credit(pid, "5", method="Cash", request_id="refund-1") == refund
    assert clinic.credit(pid) == Decimal("15.00")
    assert len(clinic.payments(pid)) == 2 and snapshot(clinic)["payments"] != before["payments"]


def test_writes_hold_the_sqlite_write_lock_from_their_first_statement(new_sqlite_url):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        pid = clinic.add_patient("Ada", "Lovelace")
        with clinic.writing() as tx:
            tx.lock_patient(pid)  # only a read so far
            other_computer = sqlite3.connect(make_url(url).database, timeout=0)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other_computer.execute("BEGIN IMMEDIATE")
            finally:
                other_computer.close()


def test_sqlite_busy_database_gives_a_retryable_error(new_sqlite_url, monkeypatch):
    import desktop_app.core.db.engine as engine_module

    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 200)  # keep the test quick
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        pid = clinic.add_patient("Ada", "Lovelace")
        iid = clinic.create_invoice(pid, [("Consult", "50", 1)])
        preview = clinic.preview_payment(pid, sources={"Cash": "80"}, source_invoice=iid)
        before = snapshot(clinic)
        other_computer = sqlite3.connect(make_url(url).database, timeout=0)
        other_computer.execute("BEGIN IMMEDIATE")  # holds the write lock
        try:
            # Retryable: the refusal says nothing was saved and to try again.
            with pytest.raises(DatabaseBusyError, match="Nothing was saved; try again") as refused:
                clinic.record_payment(preview, "busy")
            assert refused.value.code == Refusal.DATABASE_BUSY
        finally:
            other_computer.rollback()
            other_computer.close()
        assert snapshot(clinic) == before
        assert clinic.record_payment(preview, "busy") > 0  # the retry goes through
        assert clinic.invoice(iid).status == "paid"
