"""Revenue by practitioner and by billable item: the figures commission is paid on, tied to the
invoices, to takings and to aged receivables, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_app.core import BillingError, Clinic, Role
from desktop_app.core.reporting.revenue import share

TODAY = date.today()
START = TODAY - timedelta(days=10)
PASSWORD = "correct horse battery"


def _figures(row) -> tuple[Decimal, ...]:
    return (row.invoiced, row.invoiced_ex_tax, row.tax, row.credited, row.paid, row.outstanding)


def _totals(rows) -> tuple[Decimal, ...]:
    return tuple(sum(column, Decimal(0)) for column in zip(*map(_figures, rows), strict=True))


@pytest.fixture
def practice(clinic: Clinic) -> dict[str, int]:
    """Two practitioners, a catalogue, and a week of invoices paid every way."""
    clinic.add_staff("boss", "Boss", Role.ADMINISTRATOR, PASSWORD)
    clinic.add_staff("jones", "Dr Jones", Role.PRACTITIONER, PASSWORD)
    clinic.add_staff("smith", "Dr Smith", Role.PRACTITIONER, PASSWORD)
    staff = {s.full_name: s.id for s in clinic.practitioners()}
    consult = clinic.add_billable_item("IC", "Initial consultation", "95.00", tax_rate="10")
    massage = clinic.add_billable_item("MS", "Massage", "60.00", tax_rate="0")
    ada = clinic.add_patient("Ada", "Lovelace")
    bob = clinic.add_patient("Bob", "Brown")
    day = START + timedelta(days=1)
    # Dr Smith: a consult and a discounted half-hour of massage, paid in part by cash.
    a = clinic.create_invoice(
        ada,
        [{"item": consult}, {"item": massage, "quantity": "0.5", "discount": "10%"}],
        practitioner_id=staff["Dr Smith"],
        issue_date=day,
    )
    clinic.record_payment(clinic.preview_payment(ada, sources={"Cash": "50.00"}), "p-a")
    # Dr Jones, prices including GST: a consult, then a credit note of $10.
    clinic.set_prices_include_tax(True)
    b = clinic.create_invoice(
        bob, [{"item": consult}], practitioner_id=staff["Dr Jones"], issue_date=day
    )
    clinic.issue_credit_note(b, "10.00", reason="Goodwill", request_id="cn-b")
    # No practitioner: a free-text line, paid from account credit Bob prepaid.
    clinic.record_payment(clinic.preview_payment(bob, sources={"EFTPOS": "200.00"}), "p-b")
    c = clinic.create_invoice(
        bob, [("Report", "30.00", 1)], practitioner_id=None, issue_date=day + timedelta(days=1)
    )
    clinic.payments.apply_credit(bob, "credit-c")
    # Neither a draft nor an invoice of another period counts; a void bills nothing.
    clinic.create_invoice(ada, [{"item": consult}], draft=True, issue_date=day)
    clinic.create_invoice(ada, [{"item": consult}], issue_date=START - timedelta(days=1))
    void = clinic.create_invoice(ada, [{"item": massage}], issue_date=day)
    clinic.void_invoice(void, "entered twice")
    return {"a": a, "b": b, "c": c, "consult": consult, "massage": massage, **staff}


def test_revenue_by_practitioner_counts_each_invoice_for_who_provided_it(
    clinic: Clinic, practice
) -> None:
    rows = clinic.revenue_by_practitioner(START, TODAY)
    assert [(r.name, r.practitioner_id, r.invoices) for r in rows] == [
        ("Dr Jones", practice["Dr Jones"], 1),
        ("Dr Smith", practice["Dr Smith"], 1),
        ("No practitioner", None, 1),
    ]
    jones, smith, nobody = rows
    # $95.00 including GST: $8.64 of it is tax; $10 credited, the rest paid from Bob's payment.
    assert _figures(jones) == tuple(
        Decimal(v) for v in ("95.00", "86.36", "8.64", "10.00", "85.00", "0.00")
    )
    # $95 + $9.50 GST, and 0.5 x $60 less 10% = $27.00: $131.50, $50 paid in cash.
    assert _figures(smith) == tuple(
        Decimal(v) for v in ("131.50", "122.00", "9.50", "0.00", "50.00", "81.50")
    )
    assert _figures(nobody) == tuple(
        Decimal(v) for v in ("30.00", "30.00", "0.00", "0.00", "30.00", "0.00")
    )
    for row in rows:
        assert row.invoiced == row.credited + row.paid + row.outstanding
        assert row.invoiced == row.invoiced_ex_tax + row.tax


def test_revenue_by_item_shares_each_invoice_among_its_lines_to_the_cent(
    clinic: Clinic, practice
) -> None:
    rows = clinic.revenue_by_item(START, TODAY)
    assert [(r.name, r.item_id, r.invoices) for r in rows] == [
        ("IC Initial consultation", practice["consult"], 2),
        ("MS Massage", practice["massage"], 1),
        ("Free-text lines", None, 1),
    ]
    consult, massage, free = rows
    # Invoice a: $50 paid over lines of $104.50 and $27.00 -> $39.73 and $10.27 (largest
    # remainder); the $81.50 owed -> $64.77 and $16.73.
    assert (massage.invoiced, massage.paid, massage.outstanding) == (
        Decimal("27.00"),
        Decimal("10.27"),
        Decimal("16.73"),
    )
    assert (consult.invoiced, consult.credited, consult.paid, consult.outstanding) == (
        Decimal("199.50"),
        Decimal("10.00"),
        Decimal("124.73"),
        Decimal("64.77"),
    )
    assert free.invoiced == free.paid == Decimal("30.00")
    for row in rows:
        assert row.invoiced == row.credited + row.paid + row.outstanding
    assert _totals(rows) == _totals(clinic.revenue_by_practitioner(START, TODAY))


def test_revenue_ties_to_takings_and_aged_receivables(clinic: Clinic, practice) -> None:
    # Over every invoice issued, what is outstanding is what aged receivables say is owed.
    everything = clinic.revenue_by_practitioner(date(2000, 1, 1), TODAY)
    assert sum((r.outstanding for r in everything), Decimal(0)) == (clinic.aged_receivables().total)
    # Every payment of the scenario paid invoices of the period: the paid column is the money
    # takings applied to invoices plus the account credit applied.
    takings = clinic.takings(START, TODAY)
    period = clinic.revenue_by_item(START, TODAY)
    assert sum((r.paid for r in period), Decimal(0)) == (
        takings.applied_from_money + takings.credit_applied
    )


def test_a_paid_invoice_keeps_its_practitioner(clinic: Clinic, practice) -> None:
    # Paid from credit, invoice c cannot move to another practitioner: undo the payment first.
    with pytest.raises(BillingError):
        clinic.update_invoice(practice["c"], practitioner_id=practice["Dr Jones"])
    assert [r.name for r in clinic.revenue_by_practitioner(START, TODAY)][-1] == "No practitioner"


def test_a_practitioner_change_before_payment_moves_the_revenue(clinic: Clinic, practice) -> None:
    pid = clinic.add_patient("Cy", "Young")
    iid = clinic.create_invoice(pid, [("Consult", "80.00", 1)], practitioner_id=None)
    before = {r.name: r.invoiced for r in clinic.revenue_by_practitioner(START, TODAY)}
    clinic.update_invoice(iid, practitioner_id=practice["Dr Smith"])
    after = {r.name: r.invoiced for r in clinic.revenue_by_practitioner(START, TODAY)}
    assert after["Dr Smith"] == before["Dr Smith"] + Decimal("80.00")
    assert after["No practitioner"] == before["No practitioner"] - Decimal("80.00")


def test_a_period_ending_before_it_starts_is_refused(clinic: Clinic) -> None:
    with pytest.raises(BillingError, match="end date is before"):
        clinic.revenue_by_practitioner(TODAY, TODAY - timedelta(days=1))
    with pytest.raises(BillingError, match="end date is before"):
        clinic.revenue_by_item(TODAY, TODAY - timedelta(days=1))


@given(
    amount=st.integers(0, 10**9),
    weights=st.lists(st.integers(0, 10**7), min_size=1, max_size=12).filter(any),
)
def test_shares_add_up_and_stay_within_a_cent_of_the_proportion(amount, weights) -> None:
    parts = share(amount, weights)
    assert sum(parts) == amount
    total = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        assert abs(part * total - amount * weight) < total
