"""Drafts and corrections before payment, where they meet the rest of the ledger: the
accounting export, numbering, the audit log, merging, the catalogue and staff who have left.

Each refusal is a clear BillingError that saves nothing."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from desktop_app.core import BillingError, Clinic, Role
from desktop_app.core.interchange.accounting_batch import FILES
from tests.helpers import snapshot

TODAY = date.today()


def _rows(folder: Path, key: str) -> list[dict[str, str]]:
    with (folder / FILES[key]).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _refused_and_nothing_saved(clinic: Clinic, call, match: str) -> BillingError:
    before = snapshot(clinic)
    with pytest.raises(BillingError, match=match) as refused:
        call()
    assert snapshot(clinic) == before
    return refused.value


def _edits(clinic: Clinic, invoice_id: int) -> list:
    entries = clinic.audit_entries_by_ids(clinic.audit_entry_ids())
    return [e for e in entries if e.action == "edit invoice" and e.entity_id == invoice_id]


def test_a_draft_goes_to_the_accounting_package_only_once_issued(clinic, tmp_path) -> None:
    pid = clinic.add_patient("Ada", "Lovelace")
    draft = clinic.create_invoice(pid, [("Consult", "80.00", 1)], draft=True)
    clinic.create_invoice(pid, [("Report", "30.00", 1)])
    first = clinic.export_accounting(tmp_path)
    assert {r["*InvoiceNumber"] for r in _rows(first.folder, "invoices")} == {"INV-1"}
    exported = [r for r in _rows(first.folder, "reconciliation") if r["Section"] == "Records"]
    assert [r["Record"] for r in exported] == ["INV-1"]
    assert first.new_records == 1
    # Issued after the export (its id is older than INV-1's), the next export sends it.
    assert clinic.issue_invoice(draft) == 2
    assert not clinic.preview_accounting_export().is_empty
    second = clinic.export_accounting(tmp_path)
    sent = _rows(second.folder, "invoices")
    assert [(r["*InvoiceNumber"], r["*UnitAmount"]) for r in sent] == [("INV-2", "80.00")]
    assert clinic.verify() == []


def test_a_draft_deleted_after_an_export_is_never_sent(clinic, tmp_path) -> None:
    pid = clinic.add_patient("Ada", "Lovelace")
    draft = clinic.create_invoice(pid, [("Consult", "80.00", 1)], draft=True)
    clinic.create_invoice(pid, [("Report", "30.00", 1)])
    clinic.export_accounting(tmp_path)
    clinic.delete_draft(draft)
    clinic.create_invoice(pid, [("Taping", "12.50", 1)])
    second = clinic.export_accounting(tmp_path)
    assert [r["*InvoiceNumber"] for r in _rows(second.folder, "invoices")] == ["INV-2"]
    assert clinic.verify() == []


def test_an_invoice_sent_to_the_accounting_package_cannot_be_edited(clinic, tmp_path) -> None:
    pid = clinic.add_patient("Ada", "Lovelace")
    sent = clinic.create_invoice(pid, [("Consult", "80.00", 1)])
    later = clinic.create_invoice(pid, [("Consult", "80.00", 1)], issue_date=TODAY + timedelta(3))
    clinic.export_accounting(tmp_path)
    refusal = _refused_and_nothing_saved(
        clinic,
        lambda: clinic.update_invoice(sent, lines=[("Consult", "85.00", 1)]),
        "sent to the accounting package",
    )
    assert "credit note" in str(refusal)
    # Dated after the export's last day, the other one waits for a later export: not sent yet,
    # so it can still be corrected.
    clinic.update_invoice(later, lines=[("Consult", "85.00", 1)])
    assert clinic.invoice(later).total == Decimal("85.00")
    assert clinic.patient(pid).outstanding == Decimal("165.00")
    assert clinic.verify() == []


@pytest.mark.parametrize("touch", ["payment", "credit note", "void"])
def test_an_edit_of_a_touched_invoice_is_refused_and_saves_nothing(clinic, touch) -> None:
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(pid, [("Consult", "80.00", 1)])
    if touch == "payment":
        clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "80"}), "p1")
        match = "paid on it"
    elif touch == "credit note":
        clinic.issue_credit_note(iid, "5.00", reason="Goodwill", request_id="cn1")
        match = "credit note CN-1"
    else:
        clinic.void_invoice(iid, "Mistake")
        match = "void"
    for change in (
        {"lines": [("Consult", "1.00", 1)]},
        {"issue_date": TODAY - timedelta(days=1)},
        {"practitioner_id": None},
    ):
        _refused_and_nothing_saved(
            clinic, lambda change=change: clinic.update_invoice(iid, **change), match
        )


def test_drafts_issued_and_deleted_leave_no_gap_in_the_numbers(clinic) -> None:
    pid = clinic.add_patient("Ada", "Lovelace")
    first = clinic.create_invoice(pid, [("A", "10", 1)], draft=True)
    dropped = clinic.create_invoice(pid, [("B", "10", 1)], draft=True)
    clinic.create_invoice(pid, [("C", "10", 1)])
    clinic.delete_draft(dropped)
    assert clinic.issue_invoice(first) == 2
    clinic.create_invoice(pid, [("D", "10", 1)])
    late = clinic.create_invoice(pid, [("E", "10", 1)], draft=True)
    assert clinic.issue_invoice(late) == 4
    numbers = sorted(inv.number for inv in clinic.invoices(pid))
    assert numbers == [1, 2, 3, 4]
    _refused_and_nothing_saved(clinic, lambda: clinic.issue_invoice(late), "already issued")
    assert clinic.verify() == []


def test_a_draft_cannot_be_emptied_nor_saved_empty(clinic) -> None:
    pid = clinic.add_patient("Ada", "Lovelace")
    _refused_and_nothing_saved(
        clinic, lambda: clinic.create_invoice(pid, [], draft=True), "at least one line"
    )
    draft = clinic.create_invoice(pid, [("A", "10", 1)], draft=True)
    _refused_and_nothing_saved(
        clinic, lambda: clinic.update_invoice(draft, lines=[]), "at least one line"
    )
    _refused_and_nothing_saved(
        clinic,
        lambda: clinic.update_invoice(
            draft, lines=[{"description": "A", "price": "10", "discount": "100%"}]
        ),
        "zero",
    )


def test_every_correction_is_audited_with_the_lines_before_and_after(clinic) -> None:
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(pid, [("Consult", "80.00", 1, "10")])
    clinic.update_invoice(
        iid, lines=[{"description": "Consult", "price": "80.00", "quantity": "0.5"}]
    )
    (entry,) = _edits(clinic, iid)
    assert entry.before is not None and entry.after is not None
    assert [ln["total"] for ln in entry.before["lines"]] == [8800]
    assert [ln["total"] for ln in entry.after["lines"]] == [4000]
    assert (entry.before["total"], entry.after["total"]) == (8800, 4000)
    assert clinic.patient(pid).outstanding == Decimal("40.00")
    # The same lines again change nothing and write no entry.
    clinic.update_invoice(
        iid, lines=[{"description": "Consult", "price": "80.00", "quantity": "0.5"}]
    )
    assert len(_edits(clinic, iid)) == 1
    assert clinic.verify() == []


def test_an_item_archived_since_stays_on_the_invoice_it_is_on(clinic) -> None:
    massage = clinic.add_billable_item("MS", "Massage", "60.00")
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(pid, [{"item": massage}])
    clinic.archive_billable_item(massage)
    # Correcting the invoice keeps its massage line and adds another.
    clinic.update_invoice(iid, lines=[{"item": massage}, ("Report", "30.00", 1)])
    first, _ = clinic.invoice(iid).lines
    assert (first.item_code, first.total) == ("MS", Decimal("60.00"))
    assert clinic.invoice(iid).total == Decimal("90.00")
    # A new invoice, or an invoice that did not have it, cannot take it.
    other = clinic.create_invoice(pid, [("Report", "30.00", 1)])
    _refused_and_nothing_saved(
        clinic, lambda: clinic.update_invoice(other, lines=[{"item": massage}]), "archived"
    )
    _refused_and_nothing_saved(
        clinic, lambda: clinic.create_invoice(pid, [{"item": massage}]), "archived"
    )


def test_a_practitioner_who_has_left_is_not_billed_by_default(clinic) -> None:
    clinic.add_staff("boss", "Boss", Role.ADMINISTRATOR, "correct horse battery")
    clinic.add_staff("drsmith", "Dr Smith", Role.PRACTITIONER, "correct horse battery")
    smith = next(s.id for s in clinic.practitioners())
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.assign_practitioner(pid, "drsmith")
    clinic.update_staff("drsmith", active=False)
    iid = clinic.create_invoice(pid, [("Consult", "80", 1)])
    assert clinic.invoice(iid).practitioner_id is None
    _refused_and_nothing_saved(
        clinic,
        lambda: clinic.create_invoice(pid, [("Consult", "80", 1)], practitioner_id=smith),
        "Dr Smith is not",
    )
    _refused_and_nothing_saved(
        clinic, lambda: clinic.update_invoice(iid, practitioner_id=smith), "Dr Smith is not"
    )


def test_a_merge_lists_only_issued_invoices_and_moves_drafts_too(clinic) -> None:
    keep = clinic.add_patient("Ada", "Lovelace")
    dupe = clinic.add_patient("Ada", "Lovelace")
    draft = clinic.create_invoice(dupe, [("Consult", "80", 1)], draft=True)
    clinic.create_invoice(dupe, [("Report", "30", 1)])
    preview = clinic.preview_merge(keep, dupe)
    assert preview.invoice_numbers == (1,)
    assert preview.outstanding == Decimal("30.00")
    clinic.merge_patients(keep, dupe, reason="duplicate", preview=preview)
    assert clinic.invoice(draft).patient_id == keep
    clinic.issue_invoice(draft)
    assert clinic.patient(keep).outstanding == Decimal("110.00")
    assert clinic.verify() == []


def test_why_an_invoice_cannot_be_corrected_is_told_before_anything_is_typed(clinic) -> None:
    pid = clinic.add_patient("Ada", "Lovelace")
    draft = clinic.create_invoice(pid, [("Consult", "80.00", 1)], draft=True)
    unpaid = clinic.create_invoice(pid, [("Consult", "80.00", 1)])
    paid = clinic.create_invoice(pid, [("Report", "30.00", 1)])
    clinic.record_payment(
        clinic.preview_payment(pid, sources={"Cash": "30.00"}, applied={paid: "30.00"}), "p1"
    )
    credited = clinic.create_invoice(pid, [("Taping", "20.00", 1)])
    clinic.issue_credit_note(credited, "5.00", reason="Goodwill", request_id="cn1")
    before = snapshot(clinic)
    assert clinic.invoice_edit_refusal(draft) is None
    assert clinic.invoice_edit_refusal(unpaid) is None
    assert "paid on it" in clinic.invoice_edit_refusal(paid)
    assert "credit note CN-1" in clinic.invoice_edit_refusal(credited)
    assert snapshot(clinic) == before  # asking saves nothing


def test_a_draft_is_neither_credited_nor_voided_but_changed_or_deleted(clinic) -> None:
    pid = clinic.add_patient("Ada", "Lovelace")
    draft = clinic.create_invoice(pid, [("Consult", "80.00", 1)], draft=True)
    _refused_and_nothing_saved(
        clinic,
        lambda: clinic.issue_credit_note(draft, "1.00", reason="x", request_id="cn-d"),
        "is a draft: edit it instead, or delete it",
    )
    _refused_and_nothing_saved(clinic, lambda: clinic.void_invoice(draft, "x"), "draft")
