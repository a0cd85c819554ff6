"""Hypothesis drives the Clinic API through long random sequences of operations.

After every step the ledger must verify clean (I1-I7), and each patient's credit and each invoice's
paid amount must equal a shadow model kept here from what the previews promised. The shadow is
deliberately simple arithmetic, separate from the code under test.

Profiles: CI runs the default (``HYPOTHESIS_PROFILE=ci``, derandomized); for a longer run by hand:
``HYPOTHESIS_PROFILE=long pytest tests/db/test_stateful.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from desktop_app.core import AllocationMode, BillingError, Clinic, ConcurrentChangeError

TYPES = ["Cash", "EFTPOS", "Credit card", "Bank transfer", "Health fund"]
cents = st.integers(min_value=0, max_value=30_000)


def dec(minor: int) -> str:
    return str(Decimal(minor).scaleb(-2))


class LedgerMachine(RuleBasedStateMachine):
    """The front desk doing random but valid (and some invalid) work."""

    open_url: Callable[[], str]
    drop_url: Callable[[str], None] = staticmethod(lambda url: None)

    def __init__(self) -> None:
        super().__init__()
        self.url = self.open_url()
        self.clinic = Clinic.open(self.url)
        self.patients: list[int] = []
        self.credit: dict[int, int] = {}  # shadow: patient -> credit in cents
        self.paid: dict[int, int] = {}  # shadow: invoice -> paid in cents
        self.total: dict[int, int] = {}
        self.owner: dict[int, int] = {}
        self.void: set[int] = set()
        self.payments: list[int] = []
        self.saved: list[tuple[object, str, int]] = []
        self.counter = 0

    def teardown(self) -> None:
        self.clinic.close()
        self.drop_url(self.url)

    def next_id(self) -> str:
        self.counter += 1
        return f"req-{self.counter}"

    def open_invoices(self, pid: int) -> list[int]:
        return [
            i
            for i, p in self.owner.items()
            if p == pid and i not in self.void and self.paid[i] < self.total[i]
        ]

    # -- rules -------------------------------------------------------------------------------

    @rule()
    def add_patient(self) -> None:
        pid = self.clinic.add_patient("Patient", f"No {len(self.patients) + 1}")
        self.patients.append(pid)
        self.credit[pid] = 0

    @precondition(lambda self: self.patients)
    @rule(
        data=st.data(),
        price=st.integers(1, 20_000),
        quantity=st.integers(1, 3),
        days=st.integers(0, 20),
    )
    def create_invoice(self, data, price, quantity, days) -> None:
        pid = data.draw(st.sampled_from(self.patients))
        iid = self.clinic.create_invoice(
            pid,
            [("Treatment", dec(price), quantity)],
            issue_date=date(2026, 10, 1) + timedelta(days=days),
        )
        self.owner[iid], self.total[iid], self.paid[iid] = pid, price * quantity, 0

    @rule(mode=st.sampled_from(list(AllocationMode)))
    def set_mode(self, mode) -> None:
        self.clinic.set_allocation_mode(mode)

    @precondition(lambda self: self.patients)
    @rule(data=st.data())
    def pay(self, data) -> None:
        pid = data.draw(st.sampled_from(self.patients))
        sources = data.draw(st.dictionaries(st.sampled_from(TYPES), cents, max_size=2))
        open_ids = self.open_invoices(pid)
        typed = {}
        for iid in open_ids:
            if data.draw(st.booleans()):
                typed[iid] = data.draw(st.integers(0, self.total[iid] - self.paid[iid]))
        source = data.draw(st.sampled_from([None, *open_ids]))
        pool = sum(sources.values()) + self.credit[pid]
        try:
            preview = self.clinic.preview_payment(
                pid,
                sources={k: dec(v) for k, v in sources.items()},
                applied={k: dec(v) for k, v in typed.items()},
                source_invoice=source,
            )
        except BillingError as exc:
            assert sum(typed.values()) > pool, exc
            return
        assert preview.credit_available == Decimal(dec(self.credit[pid]))
        request_id = self.next_id()
        if preview.is_empty:
            with pytest.raises(BillingError, match="nothing to save"):
                self.clinic.record_payment(preview, request_id)
            return
        pay_id = self.clinic.record_payment(preview, request_id)
        self.payments.append(pay_id)
        self.saved.append((preview, request_id, pay_id))
        self.credit[pid] = int(preview.credit_after.scaleb(2))
        for iid, amount in preview.applied.items():
            self.paid[iid] += int(amount.scaleb(2))

    @precondition(lambda self: self.saved)
    @rule(data=st.data())
    def press_save_again(self, data) -> None:
        preview, request_id, pay_id = data.draw(st.sampled_from(self.saved))
        assert self.clinic.record_payment(preview, request_id) == pay_id

    @precondition(lambda self: self.patients)
    @rule(data=st.data(), extra=st.integers(0, 2_000))
    def stale_preview_is_refused(self, data, extra) -> None:
        pid = data.draw(st.sampled_from(self.patients))
        preview = self.clinic.preview_payment(pid, sources={"Cash": dec(extra + 1)})
        if self.credit[pid] == 0:
            return
        self.refund(pid, 1)
        with pytest.raises(ConcurrentChangeError):
            self.clinic.record_payment(preview, self.next_id())

    @precondition(lambda self: self.patients)
    @rule(data=st.data(), share=st.integers(1, 120))
    def refund_credit(self, data, share) -> None:
        pid = data.draw(st.sampled_from(self.patients))
        self.refund(pid, max(1, self.credit[pid] * share // 100))

    def refund(self, pid: int, amount: int) -> None:
        request_id = self.next_id()
        if amount > self.credit[pid]:
            with pytest.raises(BillingError, match="Only"):
                self.clinic.refund_credit(pid, dec(amount), method="Cash", request_id=request_id)
            return
        refund_id = self.clinic.refund_credit(
            pid, dec(amount), method="Cash", request_id=request_id
        )
        self.payments.append(refund_id)
        self.credit[pid] -= amount

    @precondition(lambda self: self.payments)
    @rule(data=st.data())
    def reverse_payment(self, data) -> None:
        pay_id = data.draw(st.sampled_from(self.payments))
        record = self.clinic.payment(pay_id)
        live = [a for a in record.applications if not a.removed]
        pid = record.patient_id
        change = -int(record.total.scaleb(2)) + sum(int(a.amount.scaleb(2)) for a in live)
        if record.reversed:
            with pytest.raises(BillingError, match="already reversed"):
                self.clinic.reverse_payment(pay_id)
        elif self.credit[pid] + change < 0:
            with pytest.raises(BillingError, match="already used"):
                self.clinic.reverse_payment(pay_id)
        else:
            self.clinic.reverse_payment(pay_id)
            self.credit[pid] += change
            for app in live:
                self.paid[app.invoice_id] -= int(app.amount.scaleb(2))

    @precondition(lambda self: self.owner)
    @rule(data=st.data())
    def void_invoice(self, data) -> None:
        iid = data.draw(st.sampled_from(sorted(self.owner)))
        if iid in self.void:
            with pytest.raises(BillingError, match="already void"):
                self.clinic.void_invoice(iid)
            return
        self.clinic.void_invoice(iid)
        self.credit[self.owner[iid]] += self.paid[iid]
        self.paid[iid] = 0
        self.void.add(iid)

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def ledger_verifies(self) -> None:
        assert self.clinic.verify() == []

    @invariant()
    def matches_the_shadow_model(self) -> None:
        for pid in self.patients:
            record = self.clinic.patient(pid)
            assert record.credit == Decimal(dec(self.credit[pid]))
            owed = sum(self.total[i] - self.paid[i] for i in self.open_invoices(pid))
            assert record.outstanding == Decimal(dec(owed))
            history = self.clinic.credit_history(pid)
            assert (history[-1].balance if history else Decimal("0.00")) == record.credit
            for invoice in self.clinic.invoices(pid):
                iid = invoice.id
                assert invoice.paid == Decimal(dec(self.paid[iid]))
                expected = (
                    "void"
                    if iid in self.void
                    else "paid"
                    if self.paid[iid] == self.total[iid]
                    else "open"
                )
                assert invoice.status == expected


def test_random_operation_sequences_on_sqlite(new_sqlite_url):
    class OnSqlite(LedgerMachine):
        open_url = staticmethod(new_sqlite_url)

    run_state_machine_as_test(OnSqlite, settings=settings(settings(), stateful_step_count=60))


def test_random_operation_sequences_on_postgresql(pg_databases):
    class OnPostgres(LedgerMachine):
        open_url = staticmethod(pg_databases.new)
        drop_url = staticmethod(pg_databases.drop)

    run_state_machine_as_test(
        OnPostgres,
        settings=settings(
            settings(), max_examples=settings().max_examples * 3 // 10, stateful_step_count=60
        ),
    )
