"""Reports: aged receivables and takings, on SQLite and PostgreSQL, tied out to the ledger."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from desktop_app.core import BillingError, Clinic, Refusal

TODAY = date.today()


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


def pay(clinic: Clinic, pid: int, sources: dict[str, str], rid: str, **kw) -> int:
    return clinic.record_payment(clinic.preview_payment(pid, sources, **kw), rid)


@pytest.fixture
def ledger(clinic: Clinic) -> dict[str, int]:
    """Two patients with invoices of several ages, payments by several types, a refund and a
    reversed payment."""
    ada = clinic.add_patient("Ada", "Lovelace")
    alan = clinic.add_patient("Alan", "Turing")
    ids = {"ada": ada, "alan": alan}
    ids["a_new"] = clinic.create_invoice(ada, [("Consult", "80", 1)], issue_date=days_ago(5))
    ids["a_45"] = clinic.create_invoice(ada, [("Consult", "60", 1)], issue_date=days_ago(45))
    ids["a_100"] = clinic.create_invoice(ada, [("Consult", "50", 1)], issue_date=days_ago(100))
    ids["t_70"] = clinic.create_invoice(alan, [("Consult", "90", 1)], issue_date=days_ago(70))
    ids["t_30"] = clinic.create_invoice(alan, [("Consult", "40", 1)], issue_date=days_ago(30))
    # Yesterday: Ada pays $20 cash + $30 EFTPOS on the oldest invoice ($50, now paid).
    pay(
        clinic,
        ada,
        {"Cash": "20", "EFTPOS": "30"},
        "p1",
        source_invoice=ids["a_100"],
        payment_date=days_ago(1),
    )
    # Yesterday: Alan prepays $150 by card: $130 to his invoices, $20 left as credit.
    pay(clinic, alan, {"Credit card": "150"}, "p2", payment_date=days_ago(1))
    # Yesterday: a $25 cash payment entered by mistake, then reversed.
    ids["mistake"] = pay(clinic, ada, {"Cash": "25"}, "p3", payment_date=days_ago(1))
    clinic.reverse_payment(ids["mistake"], "entered twice")
    # Today: Alan gets $5 of his credit back in cash.
    clinic.refund_credit(alan, "5", method="Cash", request_id="r1", reason="change")
    return ids


def test_aged_receivables_buckets_by_invoice_date_and_ties_to_the_outstanding_total(clinic, ledger):
    report = clinic.aged_receivables()
    assert [row.patient_name for row in report.rows] == ["Lovelace, Ada"]  # Alan owes nothing
    (ada,) = report.rows
    d = Decimal
    assert ada.buckets == (d("80.00"), d("60.00"), d("0.00"), d("0.00"))
    assert ada.total == d("140.00") and ada.open_invoices == 2
    assert ada.oldest_invoice == days_ago(45)
    assert report.total == clinic.summary().outstanding == clinic.patient(ledger["ada"]).outstanding
    # As of 40 days on, the same invoices are older: 45 days becomes 85, 5 becomes 45.
    later = clinic.aged_receivables(TODAY + timedelta(days=40))
    assert later.buckets == (d("0.00"), d("80.00"), d("60.00"), d("0.00"))
    assert later.total == report.total
    with pytest.raises(BillingError) as refused:
        clinic.aged_receivables(days_ago(1))  # today's balances are not yesterday's
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_DATE, "as_of")


def test_an_invoice_exactly_30_days_old_is_current_and_31_days_is_not(clinic):
    pid = clinic.add_patient("Grace", "Hopper")
    clinic.create_invoice(pid, [("Consult", "10", 1)], issue_date=days_ago(30))
    clinic.create_invoice(pid, [("Consult", "20", 1)], issue_date=days_ago(31))
    clinic.create_invoice(pid, [("Consult", "40", 1)], issue_date=days_ago(91))
    buckets = clinic.aged_receivables().buckets
    assert buckets == (Decimal("10.00"), Decimal("20.00"), Decimal("0.00"), Decimal("40.00"))


def test_takings_by_payment_type_reconcile_and_leave_out_reversed_payments(clinic, ledger):
    yesterday = clinic.takings(days_ago(1))
    lines = {line.payment_type: line for line in yesterday.lines}
    d = Decimal
    assert set(lines) == {"Cash", "EFTPOS", "Credit card"}
    assert lines["Cash"].received == d("20.00")  # the reversed $25 is not takings
    assert lines["EFTPOS"].received == d("30.00")
    assert lines["Credit card"].received == d("150.00")
    assert yesterday.received == d("200.00") and yesterday.refunded == d("0.00")
    assert yesterday.applied_from_money == d("180.00")  # $50 (Ada) + $130 (Alan)
    assert yesterday.to_credit == d("20.00")
    assert yesterday.received == yesterday.applied_from_money + yesterday.to_credit
    assert yesterday.reversed_payments == 1
    today = clinic.takings(TODAY)
    assert [(x.payment_type, x.received, x.refunded, x.net) for x in today.lines] == [
        ("Cash", d("0.00"), d("5.00"), d("-5.00"))
    ]
    both = clinic.takings(days_ago(1), TODAY)
    assert both.net == d("195.00") and both.refunded == d("5.00")


def test_takings_of_one_payment_type(clinic, ledger):
    cash = clinic.takings(days_ago(1), TODAY, payment_type="Cash")
    assert [line.payment_type for line in cash.lines] == ["Cash"]
    assert (cash.received, cash.refunded, cash.net) == (
        Decimal("20.00"),
        Decimal("5.00"),
        Decimal("15.00"),
    )
    assert cash.reversed_payments == 1  # the mistaken $25 was cash
    card = clinic.takings(days_ago(1), TODAY, payment_type="Credit card")
    assert card.reversed_payments == 0 and card.received == Decimal("150.00")
    with pytest.raises(BillingError) as refused:
        clinic.takings(TODAY, payment_type="Cheque")
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_CHOICE, "payment_type")
    with pytest.raises(BillingError) as refused:
        clinic.takings(TODAY, days_ago(1))
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_DATE, "end")


def test_credit_applied_by_a_payment_from_credit_is_reported(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    pay(clinic, pid, {"Cash": "100"}, "pre", payment_date=days_ago(2))
    invoice = clinic.create_invoice(pid, [("Consult", "60", 1)])
    clinic.record_payment(clinic.preview_payment(pid, {}, source_invoice=invoice), "from-credit")
    today = clinic.takings(TODAY)
    assert today.received == Decimal("0.00") and today.credit_applied == Decimal("60.00")
    assert clinic.takings(days_ago(2)).to_credit == Decimal("100.00")


def credit_on(clinic: Clinic, pid: int, day: date) -> Decimal:
    """The oracle: the patient's credit history summed up to the end of ``day``."""
    return sum((m.change for m in clinic.credit_history(pid) if m.day <= day), Decimal("0.00"))


def test_credit_liability_on_any_day_matches_each_credit_history(clinic):
    ada = clinic.add_patient("Ada", "Lovelace")
    alan = clinic.add_patient("Alan", "Turing")
    pay(clinic, ada, {"Cash": "100"}, "a1", payment_date=days_ago(40))
    invoice = clinic.create_invoice(ada, [("Consult", "30", 1)], issue_date=days_ago(20))
    pay(clinic, ada, {}, "a2", source_invoice=invoice, payment_date=days_ago(20))
    clinic.transfer_credit(
        ada, alan, "25", reason="family", request_id="t1", transfer_date=days_ago(10)
    )
    mistake = pay(clinic, alan, {"EFTPOS": "15"}, "t2", payment_date=days_ago(5))
    clinic.refund_credit(ada, "5", method="Cash", request_id="r1", refund_date=days_ago(2))
    clinic.reverse_payment(mistake, "entered twice")  # today
    for back in (0, 1, 3, 6, 15, 25, 45):
        day = days_ago(back)
        report = clinic.credit_liability(day)
        held = {row.patient_id: row.credit for row in report.rows}
        for pid in (ada, alan):
            expected = credit_on(clinic, pid, day)
            assert held.get(pid, Decimal("0.00")) == expected, (back, pid)
        assert report.total == sum(held.values(), Decimal("0.00"))
    today = clinic.credit_liability()
    assert today.total == clinic.summary().credit_held == Decimal("65.00")
    assert today.series[-1] == (TODAY, today.total) and len(today.series) == 13


def test_dormant_credit_and_last_visit(clinic):
    ada = clinic.add_patient("Ada", "Lovelace")
    alan = clinic.add_patient("Alan", "Turing")
    pay(clinic, ada, {"Cash": "40"}, "a1", payment_date=days_ago(400))
    pay(clinic, alan, {"Cash": "10"}, "b1", payment_date=days_ago(400))
    clinic.create_invoice(alan, [("Consult", "5", 1)], issue_date=days_ago(30))
    report = clinic.credit_liability(dormant_months=12)
    rows = {row.patient_name: row for row in report.rows}
    assert rows["Lovelace, Ada"].dormant and rows["Lovelace, Ada"].days_inactive == 400
    assert rows["Lovelace, Ada"].last_visit is None
    assert not rows["Turing, Alan"].dormant and rows["Turing, Alan"].last_visit == days_ago(30)
    assert report.dormant_total == Decimal("40.00")
    with pytest.raises(BillingError) as refused:
        clinic.credit_liability(TODAY + timedelta(days=1))
    assert (refused.value.code, refused.value.field) == (Refusal.FUTURE_DATE, "as_of")
    with pytest.raises(BillingError) as refused:
        clinic.credit_liability(dormant_months=0)
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_CHOICE, "dormant_months")


@pytest.fixture(params=["Etc/GMT+12", "Australia/Sydney"])
def desk_time_zone(request, monkeypatch):
    """The front desk's time zone far from UTC, either way (Etc/GMT+12 is UTC-12)."""
    import time

    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def test_removals_and_reversals_are_dated_on_the_desks_day(desk_time_zone, clinic):
    today = date.today()  # in the desk's zone
    ada = clinic.add_patient("Ada", "Lovelace")
    pay(clinic, ada, {"Cash": "100"}, "a1")
    mistake = pay(clinic, ada, {"EFTPOS": "15"}, "a2")
    clinic.reverse_payment(mistake, "entered twice")
    assert [m.day for m in clinic.credit_history(ada)] == [today, today, today]
    report = clinic.credit_liability(today)
    assert report.total == clinic.summary().credit_held == Decimal("100.00")
    assert clinic.credit_liability(today - timedelta(days=1)).total == Decimal("0.00")
