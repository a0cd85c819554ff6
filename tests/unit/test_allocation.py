"""The allocation engine: every mode, typed amounts, money before credit, and the worked examples
of docs/ledger-rules.md, "Allocation"."""

from datetime import date

import pytest

from desktop_app.core import AllocationMode, BillingError, OpenInvoice, Refusal, allocate

OLDEST, NEWEST, SOURCE, OFF = (
    AllocationMode.OLDEST_FIRST,
    AllocationMode.NEWEST_FIRST,
    AllocationMode.SOURCE_INVOICE,
    AllocationMode.OFF,
)
A = OpenInvoice(id=1, number=101, issue_date=date(2026, 11, 1), balance=4000)
B = OpenInvoice(id=2, number=102, issue_date=date(2026, 11, 5), balance=4000)


def applied(plan):
    return {ln.invoice_id: ln.applied for ln in plan.lines if ln.applied}


# docs/ledger-rules.md, "Allocation", "Worked examples", row by row.
def test_credit_pays_whole_invoice_with_zero_payment():
    inv = OpenInvoice(1, 1, date(2026, 11, 2), 5000)
    plan = allocate([inv], payment_total=0, credit_available=10000, mode=OLDEST, source_invoice=1)
    assert applied(plan) == {1: 5000}
    assert plan.line(1).from_credit == 5000 and plan.money_applied == 0
    assert plan.credit_used == 5000 and plan.credit_after == 5000 and plan.closes == {1}


def test_cash_then_credit():
    inv = OpenInvoice(1, 1, date(2026, 11, 2), 5000)
    plan = allocate([inv], payment_total=2000, credit_available=3000, mode=OLDEST)
    line = plan.line(1)
    assert (line.applied, line.from_money, line.from_credit) == (5000, 2000, 3000)
    assert plan.credit_after == 0 and plan.to_credit == 0


def test_overpayment_goes_to_credit():
    inv = OpenInvoice(1, 1, date(2026, 11, 2), 5000)
    plan = allocate([inv], payment_total=7000, credit_available=0, mode=OLDEST)
    assert applied(plan) == {1: 5000} and plan.to_credit == 2000 and plan.credit_after == 2000


@pytest.mark.parametrize(
    ("mode", "typed", "expected", "credit_after"),
    [
        (OLDEST, None, {1: 4000, 2: 2000}, 0),
        (NEWEST, None, {2: 4000, 1: 2000}, 0),
        (SOURCE, None, {2: 4000}, 2000),
        (OFF, None, {}, 6000),
        (OFF, {2: 2500}, {2: 2500}, 3500),
    ],
)
def test_modes_from_the_newer_invoice(mode, typed, expected, credit_after):
    plan = allocate(
        [A, B], payment_total=0, credit_available=6000, mode=mode, typed=typed, source_invoice=2
    )
    assert applied(plan) == expected
    assert plan.credit_after == credit_after
    assert plan.is_empty == (expected == {})


def test_typed_more_than_money_and_credit_is_refused():
    inv = OpenInvoice(1, 1, date(2026, 11, 2), 5000)
    with pytest.raises(BillingError) as refused:
        allocate([inv], payment_total=1000, credit_available=0, mode=OLDEST, typed={1: 2000})
    assert (refused.value.code, refused.value.field) == (Refusal.OVER_AVAILABLE, "amount")


def test_typed_more_than_available_says_how_much_is_available():
    """The message gives the figures to correct the amounts by."""
    inv = OpenInvoice(1, 1, date(2026, 11, 2), 5000)
    with pytest.raises(BillingError, match=r"\$20.00 applied but only \$10.00 available"):
        allocate([inv], payment_total=1000, credit_available=0, mode=OLDEST, typed={1: 2000})


# Beyond the table.
def test_typed_amounts_win_and_the_rest_fills_the_others():
    plan = allocate([A, B], payment_total=5000, credit_available=0, mode=OLDEST, typed={2: 3000})
    assert applied(plan) == {2: 3000, 1: 2000}
    assert plan.line(2).typed and not plan.line(1).typed


def test_typed_zero_excludes_an_invoice():
    plan = allocate([A, B], payment_total=5000, credit_available=0, mode=OLDEST, typed={1: 0})
    assert applied(plan) == {2: 4000} and plan.to_credit == 1000


def test_money_funds_invoices_in_mode_order_before_credit():
    plan = allocate([A, B], payment_total=5000, credit_available=3000, mode=OLDEST)
    assert (plan.line(1).from_money, plan.line(1).from_credit) == (4000, 0)
    assert (plan.line(2).from_money, plan.line(2).from_credit) == (1000, 3000)
    newest = allocate([A, B], payment_total=5000, credit_available=3000, mode=NEWEST)
    assert (newest.line(2).from_money, newest.line(1).from_money) == (4000, 1000)


def test_source_mode_funds_the_source_invoice_first():
    plan = allocate(
        [A, B],
        payment_total=4000,
        credit_available=4000,
        mode=SOURCE,
        typed={1: 4000},
        source_invoice=2,
    )
    assert plan.line(2).from_money == 4000 and plan.line(1).from_credit == 4000


def test_off_mode_funds_oldest_first():
    plan = allocate(
        [A, B], payment_total=1000, credit_available=8000, mode=OFF, typed={1: 4000, 2: 4000}
    )
    assert plan.line(1).from_money == 1000 and plan.line(2).from_money == 0


def test_same_issue_date_is_ordered_by_number():
    first = OpenInvoice(7, 5, date(2026, 11, 1), 1000)
    second = OpenInvoice(3, 6, date(2026, 11, 1), 1000)
    plan = allocate([second, first], payment_total=1000, credit_available=0, mode=OLDEST)
    assert applied(plan) == {7: 1000}
    assert [ln.invoice_id for ln in plan.lines] == [7, 3]


def test_payment_from_patient_in_source_mode_applies_nothing():
    plan = allocate([A, B], payment_total=5000, credit_available=0, mode=SOURCE)
    assert applied(plan) == {} and plan.to_credit == 5000 and not plan.is_empty


def test_prepayment_with_no_invoices():
    plan = allocate([], payment_total=10000, credit_available=500, mode=OLDEST)
    assert plan.lines == () and plan.to_credit == 10000 and plan.credit_after == 10500


@pytest.mark.parametrize(
    ("typed", "code", "field"),
    [
        ({1: 4001}, Refusal.OVER_BALANCE, "amount"),
        ({1: -1}, Refusal.BAD_AMOUNT, "amount"),
        ({9: 100}, Refusal.NOT_OPEN, None),
    ],
)
def test_bad_typed_amounts(typed, code, field):
    with pytest.raises(BillingError) as refused:
        allocate([A, B], payment_total=10000, credit_available=0, mode=OFF, typed=typed)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_more_than_a_balance_names_the_invoice_and_its_balance():
    """The message says which invoice and how much it still owes."""
    with pytest.raises(BillingError, match=r"Invoice #101: \$40.01 is more than its balance"):
        allocate([A, B], payment_total=10000, credit_available=0, mode=OFF, typed={1: 4001})


def test_source_invoice_must_be_open():
    with pytest.raises(BillingError) as refused:
        allocate([A], payment_total=0, credit_available=100, mode=SOURCE, source_invoice=9)
    assert (refused.value.code, refused.value.field) == (Refusal.NOT_OPEN, None)


def test_engine_rejects_impossible_inputs():
    with pytest.raises(ValueError):
        allocate([A, A], payment_total=0, credit_available=0, mode=OFF)
    with pytest.raises(ValueError):
        allocate([A], payment_total=-1, credit_available=0, mode=OFF)
    with pytest.raises(ValueError):
        allocate(
            [OpenInvoice(1, 1, date(2026, 1, 1), 0)], payment_total=0, credit_available=0, mode=OFF
        )


def test_mode_labels():
    assert AllocationMode("oldest_first").label == "Oldest invoice first"
    assert {m.label for m in AllocationMode} >= {"Off (allocate by hand)"}
