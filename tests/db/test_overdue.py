"""Overdue invoices (open, due before today: derived, never stored) and aged receivables counted
from the due date."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from desktop_app.core import BillingError, Clinic, Refusal


@pytest.fixture
def due(clinic: Clinic) -> dict[str, int]:
    """One patient with invoices: no due date, due today, due yesterday (and paid one due
    yesterday, void one due long ago), each issued 100 days ago."""
    today = date.today()
    issued = today - timedelta(days=100)
    pid = clinic.add_patient("Ada", "Lovelace")
    other = clinic.add_patient("Grace", "Hopper")  # pays in full

    def invoice(price: str, due_date: date | None, patient: int = pid) -> int:
        return clinic.create_invoice(
            patient, [("Consult", price, 1)], issue_date=issued, due_date=due_date
        )

    ids = {
        "no due date": invoice("10", None),
        "due today": invoice("20", today),
        "due yesterday": invoice("40", today - timedelta(days=1)),
        "paid": invoice("80", today - timedelta(days=1), other),
        "void": invoice("160", issued),
    }
    paid = clinic.invoice(ids["paid"])
    clinic.record_payment(
        clinic.preview_payment(other, {"Cash": paid.total}, source_invoice=paid.id), "pay"
    )
    clinic.void_invoice(ids["void"], "entered twice")
    return ids


def test_only_an_open_invoice_past_its_due_date_is_overdue(clinic: Clinic, due: dict[str, int]):
    shown = {name: clinic.invoice(iid).shown_status for name, iid in due.items()}
    assert shown == {
        "no due date": "open",
        "due today": "open",
        "due yesterday": "overdue",
        "paid": "paid",
        "void": "void",
    }
    # The patient's list says the same; the stored status stays "open".
    by_id = {inv.id: inv for inv in clinic.invoices(clinic.invoice(due["due today"]).patient_id)}
    assert by_id[due["due yesterday"]].overdue and by_id[due["due yesterday"]].status == "open"
    assert not by_id[due["due today"]].overdue


def test_all_invoices_filters_overdue_in_every_sort(clinic: Clinic, due: dict[str, int]):
    for sort in ("number", "issue_date", "patient", "balance"):
        for descending in (False, True):
            page = clinic.invoice_page(sort=sort, descending=descending, status="overdue")
            assert [r.id for r in page.rows] == [due["due yesterday"]], (sort, descending)
            assert page.rows[0].shown_status == "overdue"
    assert clinic.invoice_count(status="overdue") == 1
    assert clinic.invoice_count("Lovelace", "overdue") == 1
    assert clinic.invoice_count(status="open") == 3
    everything = {r.id: r.shown_status for r in clinic.invoice_page(limit=50).rows}
    assert everything[due["due yesterday"]] == "overdue"
    assert everything[due["due today"]] == "open"
    assert everything[due["no due date"]] == "open"


def test_overdue_is_judged_on_the_day_it_is_read(clinic: Clinic, due: dict[str, int]):
    """Nothing is stored: a day later, the invoice due today is overdue too."""
    from desktop_app.core.ledger import invoice_list

    tomorrow = date.today() + timedelta(days=1)
    with clinic.store.read() as session:
        page = invoice_list.invoice_page(session, "AUD", status="overdue", today=tomorrow)
        count = invoice_list.invoice_count(session, status="overdue", today=tomorrow)
    assert sorted(r.id for r in page.rows) == sorted([due["due today"], due["due yesterday"]])
    assert count == 2


def test_aged_receivables_by_due_date(clinic: Clinic, due: dict[str, int]):
    by_issue = clinic.aged_receivables()
    by_due = clinic.aged_receivables(by="due_date")
    assert by_issue.by == "issue_date" and by_due.by == "due_date"
    # By invoice date everything open is 100 days old.
    assert by_issue.buckets == (Decimal(0), Decimal(0), Decimal(0), Decimal("70.00"))
    # By due date: due today and yesterday are 0-30 days; no due date ages by its invoice date.
    assert by_due.buckets == (Decimal("60.00"), Decimal(0), Decimal(0), Decimal("10.00"))
    assert by_due.total == by_issue.total == clinic.summary().outstanding
    (row,) = by_due.rows
    assert row.buckets == by_due.buckets
    with pytest.raises(BillingError) as refused:
        clinic.aged_receivables(by="payment_date")
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_CHOICE, "by")
