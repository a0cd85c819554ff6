"""Patients holding account credit while they owe: listed from the cached figures, and their
credit applied to their open invoices as one $0 payment each, idempotent, audited once."""

from decimal import Decimal

from desktop_app.core.db.models import AuditEntry
from tests.helpers import snapshot


def _pay(clinic, pid, cash, rid):
    clinic.record_payment(clinic.preview_payment(pid, {"Cash": cash}), rid)


def _audit_count(clinic):
    return len(snapshot(clinic)[AuditEntry.__tablename__])


def test_patients_with_credit_and_open_invoices_are_listed(clinic):
    only_credit = clinic.add_patient("Ada", "Credit")
    _pay(clinic, only_credit, "50", "ada-prepay")
    only_owing = clinic.add_patient("Bob", "Owing")
    clinic.create_invoice(only_owing, [("Consult", "70", 1)])
    assert clinic.credit_beside_open_invoices() == []
    both = clinic.add_patient("Zoe", "Kelly")
    clinic.create_invoice(both, [("Consult", "140", 1)])
    clinic.transfer_credit(only_credit, both, "20", reason="family", request_id="tr-1")
    also = clinic.add_patient("Al", "Aardvark")
    clinic.create_invoice(also, [("Consult", "10", 1)])
    clinic.transfer_credit(only_credit, also, "5", reason="family", request_id="tr-2")
    assert clinic.credit_beside_open_invoices() == [also, both]  # by name
    clinic.transfer_credit(only_credit, only_owing, "25", reason="family", request_id="tr-3")
    assert clinic.credit_beside_open_invoices() == [also, both, only_owing]


def test_applying_credit_saves_one_zero_payment_and_adds_up(clinic):
    owner = clinic.add_patient("Zoe", "Kelly")
    invoices = [
        clinic.create_invoice(owner, [("Consult", "80", 1)]),
        clinic.create_invoice(owner, [("Review", "60", 1)]),
    ]
    donor = clinic.add_patient("Ann", "Donor")
    _pay(clinic, donor, "205", "donor-prepay")
    clinic.transfer_credit(donor, owner, "205", reason="family", request_id="tr-1")
    assert clinic.credit_beside_open_invoices() == [owner]
    preview = clinic.preview_credit_application(owner)
    assert preview.plan.payment_total == 0 and preview.plan.credit_used == 14000
    audited = _audit_count(clinic)
    payment_id = clinic.apply_credit_to_open_invoices(owner, "apply-1")
    assert payment_id is not None
    saved = clinic.payment(payment_id)
    assert saved.total == 0 and saved.credit_applied == Decimal("140.00") and saved.sources == {}
    assert clinic.patient(owner).credit == Decimal("65.00")
    assert clinic.patient(owner).outstanding == 0
    assert [clinic.invoice(i).status for i in invoices] == ["paid", "paid"]
    assert _audit_count(clinic) == audited + 1
    assert clinic.credit_beside_open_invoices() == []
    before = snapshot(clinic)
    assert clinic.apply_credit_to_open_invoices(owner, "apply-1") == payment_id
    assert clinic.apply_credit_to_open_invoices(owner, "apply-2") is None  # nothing left to do
    assert snapshot(clinic) == before
    assert clinic.verify() == []


def test_applying_credit_for_everyone_at_once(clinic):
    people = []
    for n, (credit, owed) in enumerate([("205", "140"), ("20", "110"), ("50", "50")]):
        pid = clinic.add_patient(f"P{n}", "Holder")
        clinic.create_invoice(pid, [("Consult", owed, 1)])
        donor = clinic.add_patient(f"D{n}", "Donor")
        _pay(clinic, donor, credit, f"donor-{n}")
        clinic.transfer_credit(donor, pid, credit, reason="family", request_id=f"tr-{n}")
        people.append(pid)
    untouched = clinic.add_patient("No", "Credit")
    clinic.create_invoice(untouched, [("Consult", "30", 1)])
    total_before = sum(clinic.patient(p).credit + clinic.patient(p).outstanding for p in people)
    audited = _audit_count(clinic)
    done = clinic.apply_credit_to_all_open_invoices("everyone-1")
    assert set(done) == set(people)
    assert _audit_count(clinic) == audited + 3
    figures = [(clinic.patient(p).credit, clinic.patient(p).outstanding) for p in people]
    assert figures == [
        (Decimal("65.00"), 0),
        (0, Decimal("90.00")),
        (0, 0),
    ]
    # Credit used equals debt paid, to the cent, for each patient.
    used = sum(clinic.payment(done[p]).credit_applied for p in people)
    assert used == Decimal("205.00") + Decimal("20.00") + Decimal("50.00") - Decimal("65.00")
    assert sum(c + o for c, o in figures) == total_before - 2 * used
    assert clinic.patient(untouched).outstanding == Decimal("30.00")
    before = snapshot(clinic)
    assert clinic.apply_credit_to_all_open_invoices("everyone-1") == done
    assert snapshot(clinic) == before
    assert clinic.verify() == []


def test_with_allocation_off_the_credit_still_pays_the_oldest_invoice_first(clinic):
    from datetime import date

    from desktop_app.core import AllocationMode

    clinic.set_allocation_mode(AllocationMode.OFF)
    pid = clinic.add_patient("Zoe", "Kelly")
    older = clinic.create_invoice(pid, [("Consult", "80", 1)], issue_date=date(2026, 10, 1))
    newer = clinic.create_invoice(pid, [("Review", "60", 1)], issue_date=date(2026, 10, 8))
    _pay(clinic, pid, "100", "prepay")  # nothing is applied with allocation off: all credit
    assert clinic.patient(pid).credit == Decimal("100.00")
    payment_id = clinic.apply_credit_to_open_invoices(pid, "apply-off")
    assert payment_id is not None
    assert clinic.invoice(older).status == "paid"
    assert clinic.invoice(newer).balance == Decimal("40.00")
    assert clinic.patient(pid).credit == 0


def test_the_note_column_sorts_those_with_credit_to_apply_first(clinic):
    plain = clinic.add_patient("Ann", "Aaron")
    flagged = clinic.add_patient("Zoe", "Kelly")
    clinic.create_invoice(flagged, [("Consult", "140", 1)])
    donor = clinic.add_patient("Bob", "Brown")
    _pay(clinic, donor, "50", "donor-prepay")
    clinic.transfer_credit(donor, flagged, "20", reason="family", request_id="tr-1")
    assert clinic.patient_ids(sort="note") == [flagged, plain, donor]
    assert clinic.patient_ids(sort="note", descending=True)[-1] == flagged
