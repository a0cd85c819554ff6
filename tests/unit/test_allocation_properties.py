"""Properties of the allocation engine over random invoices, payments, credit and typed amounts."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from desktop_app.core import AllocationMode, BillingError, OpenInvoice, allocate

amounts = st.integers(min_value=0, max_value=500_000)


@st.composite
def scenarios(draw):
    count = draw(st.integers(min_value=0, max_value=12))
    invoices = [
        OpenInvoice(
            id=i + 1,
            number=100 + draw(st.integers(0, 1000)) * 20 + i,
            issue_date=date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 30))),
            balance=draw(st.integers(min_value=1, max_value=200_000)),
        )
        for i in range(count)
    ]
    mode = draw(st.sampled_from(list(AllocationMode)))
    source = draw(st.sampled_from([None, *(inv.id for inv in invoices)]))
    typed = {}
    for inv in invoices:
        if draw(st.booleans()) and draw(st.booleans()):
            typed[inv.id] = draw(st.integers(min_value=0, max_value=inv.balance))
    return invoices, draw(amounts), draw(amounts), mode, source, typed


def plan_or_none(invoices, total, credit, mode, source, typed):
    try:
        return allocate(
            invoices,
            payment_total=total,
            credit_available=credit,
            mode=mode,
            typed=typed,
            source_invoice=source,
        )
    except BillingError:
        assert sum(typed.values()) > total + credit  # the only refusal for valid typed amounts
        return None


@given(scenarios())
def test_conservation_and_limits(scenario):
    invoices, total, credit, mode, source, typed = scenario
    plan = plan_or_none(invoices, total, credit, mode, source, typed)
    if plan is None:
        return
    balances = {inv.id: inv.balance for inv in invoices}
    for line in plan.lines:
        assert 0 <= line.applied <= balances[line.invoice_id]  # no over-allocation
        assert line.from_money + line.from_credit == line.applied
        assert line.from_money >= 0 and line.from_credit >= 0
        if line.typed:
            assert line.applied == typed[line.invoice_id]  # typed amounts win
    # Conservation: new money + credit before = applied + credit after.
    assert total + credit == plan.applied_total + plan.credit_after
    assert plan.credit_used <= credit  # no overdraft
    assert plan.credit_after >= 0
    assert plan.money_applied <= total
    # Money funds invoices before credit: credit is only used once the money is all applied.
    assert plan.credit_used == max(0, plan.applied_total - total)
    assert plan.to_credit == max(0, total - plan.applied_total)


@given(scenarios())
def test_automatic_modes_use_the_pool_fully(scenario):
    invoices, total, credit, mode, source, typed = scenario
    plan = plan_or_none(invoices, total, credit, mode, source, typed)
    if plan is None or mode is AllocationMode.OFF:
        return
    eligible = [
        ln
        for ln in plan.lines
        if not ln.typed and (mode is not AllocationMode.SOURCE_INVOICE or ln.invoice_id == source)
    ]
    pool_left = total + credit - plan.applied_total
    # Either the pool is used up or every invoice the mode may fill is fully paid.
    assert pool_left == 0 or all(ln.balance_after == 0 for ln in eligible)


@given(scenarios())
def test_deterministic_and_order_independent(scenario):
    invoices, total, credit, mode, source, typed = scenario
    first = plan_or_none(invoices, total, credit, mode, source, typed)
    again = plan_or_none(list(reversed(invoices)), total, credit, mode, source, typed)
    assert first == again


@given(scenarios())
def test_off_mode_applies_exactly_the_typed_amounts(scenario):
    invoices, total, credit, _, source, typed = scenario
    plan = plan_or_none(invoices, total, credit, AllocationMode.OFF, source, typed)
    if plan is not None:
        assert {ln.invoice_id: ln.applied for ln in plan.lines if ln.applied} == {
            k: v for k, v in typed.items() if v
        }
