"""An invoice billed to a payer is still the patient's visit: corrected, it is priced for the
patient (their concession), and merged, it follows the patient into the record kept.

The stateful machine (tests/db/test_stateful.py) holds the ledger to the same rules over long
random sequences.
"""

from __future__ import annotations

from decimal import Decimal

from desktop_app.core import Clinic


def _concession_patient(clinic: Clinic) -> tuple[int, int, int]:
    """A pensioner, a health fund, and an item at $100 ($60 for pensioners)."""
    fund = clinic.add_payer("Bupa", kind="health fund")
    item = clinic.add_billable_item(
        "SC", "Standard consultation", "100.00", concession_prices={"Pensioner": "60.00"}
    )
    pid = clinic.add_patient("Ada", "Lovelace", concession="pensioner")
    return pid, fund, item


def test_correcting_an_invoice_billed_to_a_payer_prices_it_for_the_patient(clinic):
    pid, fund, item = _concession_patient(clinic)
    iid = clinic.create_invoice(pid, [{"item": item, "quantity": "1"}], bill_to=fund)
    assert clinic.invoice(iid).total == Decimal("60.00")
    clinic.update_invoice(iid, lines=[{"item": item, "quantity": "2"}])
    assert clinic.invoice(iid).total == Decimal("120.00")
    assert clinic.payer(fund).outstanding == Decimal("120.00")
    assert clinic.verify() == []


def test_changing_a_draft_billed_to_a_payer_prices_it_for_the_patient(clinic):
    pid, fund, item = _concession_patient(clinic)
    draft = clinic.create_invoice(pid, [{"item": item, "quantity": "1"}], bill_to=fund, draft=True)
    clinic.update_invoice(draft, lines=[{"item": item, "quantity": "2"}])
    assert clinic.invoice(draft).total == Decimal("120.00")


def test_merging_brings_the_invoices_billed_to_payers_for_the_duplicate(clinic):
    fund = clinic.add_payer("Bupa", kind="health fund")
    keep = clinic.add_patient("Ada", "Lovelace")
    dupe = clinic.add_patient("Ada", "Lovelace")
    billed = clinic.create_invoice(dupe, [("Consult", "50.00", 1)], bill_to=fund)
    payer_part, gap = clinic.create_split_invoice(
        dupe, [("Consult", "100.00", 1)], payer=fund, payer_share="80%"
    )
    clinic.merge_patients(keep, dupe, reason="duplicate")
    assert {i.id for i in clinic.invoices(keep)} == {billed, payer_part, gap}
    assert {i.patient_id for i in clinic.invoices(keep)} == {keep}
    assert [i.patient_id for i in clinic.payer_open_invoices(fund)] == [keep, keep]
    assert clinic.verify() == []


def test_merging_brings_the_duplicates_memberships(clinic):
    fund = clinic.add_payer("Bupa", kind="health fund")
    keep = clinic.add_patient("Ada", "Lovelace")
    dupe = clinic.add_patient("Ada", "Lovelace")
    membership = clinic.add_membership(dupe, fund, member_number="123", default_for_invoices=True)
    clinic.merge_patients(keep, dupe, reason="duplicate")
    assert [m.id for m in clinic.memberships(keep)] == [membership]
