"""Hypothesis drives the Clinic API through long random sequences of operations.

Every money movement is in play: payments (typed, automatic, from credit), pressing Save again,
stale previews, previews a caller edited before saving (always refused, nothing saved), refunds,
reversals of payments and refunds, removing one application, voids,
credit notes (some refunded at once) and their reversals, transfers between patients and their
reversals, and changes of the allocation mode. Invoices are written the way clinics write them:
catalogue items (added, repriced, archived) at a concession patient's price, free-text lines with
decimal quantities and discounts (percent or amount), tax added on top or included in the price
(the clinic's setting changes between steps; each invoice keeps its basis), drafts (saved,
changed, issued, deleted) and corrections of issued invoices (allowed only while nothing touches
them). Refusals are expected exactly where the rules say, and a refusal changes nothing.

After every step the ledger must verify clean (I1-I7), every patient's credit and outstanding
balance must equal a shadow model kept here with plain arithmetic (separate from the code under
test), and for the patients the step touched: each invoice's paid, credited and status, the credit
history's running balance, and the credit lots (where the credit came from) adding up to the credit;
each invoice's lines as the shadow prices them (tax per line rounded half up), its total their sum,
its number the one the shadow handed out in order (no gap, no duplicate; a draft has none), and a
draft in no balance.

Profiles: CI runs the default (``HYPOTHESIS_PROFILE=ci``, derandomized): 200 sequences of 50 steps
on SQLite, 40 on PostgreSQL. For a longer run by hand (4,000 sequences of 100 steps on SQLite, 800
on PostgreSQL):
``HYPOTHESIS_PROFILE=long STATEFUL_STEPS=100 .venv/bin/python -m pytest tests/db/test_stateful.py``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

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

from desktop_app.core import AllocationMode, BillingError, Clinic, ConcurrentChangeError, Refusal

TYPES = ["Cash", "EFTPOS", "Credit card", "Bank transfer", "Health fund"]
cents = st.integers(min_value=0, max_value=30_000)
RATES = [0, 1000, 1250, 1500]  # tax rates in hundredths of a percent
CONCESSION = "Pensioner"


def dec(minor: int) -> str:
    return str(Decimal(minor).scaleb(-2))


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclasses.dataclass(frozen=True)
class ShadowLine:
    """A line as the rules price it, worked out here with Decimal (not the code under test)."""

    discount: int
    net: int
    tax: int
    total: int


def shadow_line(
    unit: int, centi: int, rate: int, inclusive: bool, off: int, off_bp: int | None
) -> ShadowLine | None:
    """The line's amounts in cents, or None when its discount is above the line (refused)."""
    gross = half_up(Decimal(unit) * centi / 100)
    discount = off if off_bp is None else half_up(Decimal(gross) * off_bp / 10_000)
    if discount > gross:
        return None
    amount = gross - discount
    if inclusive:
        tax = half_up(Decimal(amount) * rate / (10_000 + rate))
        return ShadowLine(discount, amount - tax, tax, amount)
    tax = half_up(Decimal(amount) * rate / 10_000)
    return ShadowLine(discount, amount, tax, amount + tax)


@dataclasses.dataclass
class Written:
    """Lines drawn for an invoice: what is sent, what the shadow expects, or why it is refused."""

    sent: list[object]
    lines: list[ShadowLine]
    items: set[int]
    refusals: set[str]

    @property
    def total(self) -> int:
        return sum(line.total for line in self.lines)


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
        self.credited: dict[int, int] = {}  # shadow: invoice -> credited (reduced owed) in cents
        self.total: dict[int, int] = {}
        self.owner: dict[int, int] = {}
        self.void: set[int] = set()
        self.payments: list[int] = []
        self.saved: list[tuple[object, str, int]] = []
        # credit note id -> [invoice, amount, applied, to_credit, reversed]
        self.notes: dict[int, list[int]] = {}
        # transfer id -> [from, to, amount, reversed]
        self.transfers: dict[int, list[int]] = {}
        self.touched: set[int] = set()
        self.counter = 0
        self.report_checks = 0
        self.concession: dict[int, bool] = {}  # patient -> has the concession
        # item id -> [price, concession price or None, tax rate bp, archived]
        self.items: dict[int, list] = {}
        self.inclusive = False  # the clinic's setting for new invoices
        self.basis: dict[int, bool] = {}  # invoice (draft or issued) -> prices include tax
        self.lines: dict[int, list[ShadowLine]] = {}  # invoice -> its lines as priced here
        self.items_on: dict[int, set[int]] = {}  # invoice -> catalogue items on its lines
        self.drafts: dict[int, int] = {}  # draft -> patient
        self.draft_day: dict[int, date] = {}  # draft -> the issue date it was written with
        self.number: dict[int, int] = {}  # issued invoice -> its number

    def teardown(self) -> None:
        self.clinic.close()
        self.drop_url(self.url)

    def next_id(self) -> str:
        self.counter += 1
        return f"req-{self.counter}"

    def owed(self, iid: int) -> int:
        return 0 if iid in self.void else self.total[iid] - self.paid[iid] - self.credited[iid]

    def open_invoices(self, pid: int) -> list[int]:
        return [i for i, p in self.owner.items() if p == pid and self.owed(i) > 0]

    def live_notes_amount(self, iid: int) -> int:
        return sum(n[1] for n in self.notes.values() if n[0] == iid and not n[4])

    def credit_notes_hold(self, apps) -> bool:
        """Whether taking these applications off would leave an invoice paid less than its
        credit notes already returned as credit (refused: reverse the note first)."""
        removing: dict[int, int] = {}
        for app in apps:
            removing[app.invoice_id] = removing.get(app.invoice_id, 0) + int(app.amount.scaleb(2))
        for iid, amount in removing.items():
            returned = sum(n[3] for n in self.notes.values() if n[0] == iid and not n[4])
            if returned and self.paid[iid] - amount < returned:
                return True
        return False

    # -- rules -------------------------------------------------------------------------------

    @rule(concession=st.booleans())
    def add_patient(self, concession) -> None:
        details = {"concession": CONCESSION.lower()} if concession else {}
        pid = self.clinic.add_patient("Patient", f"No {len(self.patients) + 1}", **details)
        self.patients.append(pid)
        self.credit[pid] = 0
        self.concession[pid] = concession
        self.touched.add(pid)

    # -- catalogue, lines, drafts and corrections --------------------------------------------

    @rule(
        price=st.integers(0, 20_000),
        off=st.one_of(st.none(), st.integers(0, 20_000)),
        rate=st.sampled_from(RATES),
    )
    def add_item(self, price, off, rate) -> None:
        concession = None if off is None else max(0, price - off)
        code = f"S{len(self.items) + 1}"
        item = self.clinic.add_billable_item(
            code,
            f"Service {code}",
            dec(price),
            tax_rate=dec(rate),
            concession_prices={} if concession is None else {CONCESSION: dec(concession)},
        )
        self.items[item] = [price, concession, rate, False]

    @precondition(lambda self: self.items)
    @rule(data=st.data(), price=st.integers(0, 20_000))
    def change_item_price(self, data, price) -> None:
        item = data.draw(st.sampled_from(sorted(self.items)))
        concession = self.items[item][1]
        if concession is not None and concession > price:
            with pytest.raises(BillingError) as refused:
                self.clinic.update_billable_item(item, price=dec(price))
            assert refused.value.field == "concession_prices"
            assert self.clinic.billable_item(item).price == Decimal(dec(self.items[item][0]))
            return
        self.clinic.update_billable_item(item, price=dec(price))
        self.items[item][0] = price

    @precondition(lambda self: self.items)
    @rule(data=st.data())
    def archive_or_restore_item(self, data) -> None:
        item = data.draw(st.sampled_from(sorted(self.items)))
        if self.items[item][3]:
            self.clinic.restore_billable_item(item)
        else:
            self.clinic.archive_billable_item(item)
        self.items[item][3] = not self.items[item][3]

    @rule(include=st.booleans())
    def set_prices_include_tax(self, include) -> None:
        self.clinic.set_prices_include_tax(include)
        self.inclusive = include

    def write_lines(self, data, pid: int, inclusive: bool, kept: set[int]) -> Written:
        """Draw one to three lines: catalogue items, free text with a decimal quantity and a
        discount, or the old tuple form; some of them refused (an archived item the invoice
        did not already have, a discount above its line, a total of zero)."""
        written = Written([], [], set(), set())
        for _ in range(data.draw(st.integers(1, 3), label="lines")):
            kinds = ["text", "tuple", *(["item"] * 2 if self.items else [])]
            kind = data.draw(st.sampled_from(kinds), label="kind")
            if kind == "tuple":
                price, quantity = data.draw(st.integers(0, 20_000)), data.draw(st.integers(1, 3))
                written.sent.append(("Treatment", dec(price), quantity))
                line = shadow_line(price, quantity * 100, 0, inclusive, 0, None)
                assert line is not None
                written.lines.append(line)
                continue
            centi = data.draw(st.integers(1, 300), label="quantity in hundredths")
            off, off_bp = 0, None
            given: dict[str, object] = {"quantity": dec(centi)}
            how = data.draw(st.sampled_from(["none", "percent", "amount"]), label="discount")
            if how == "percent":
                off_bp = data.draw(st.integers(0, 10_000))
                given["discount"] = f"{dec(off_bp)}%"
            elif how == "amount":
                off = data.draw(st.integers(0, 5_000))
                given["discount"] = dec(off)
            if kind == "item":
                item = data.draw(st.sampled_from(sorted(self.items)))
                price, concession, rate, archived = self.items[item]
                if concession is not None and self.concession[pid]:
                    price = concession
                given["item"] = item
                written.items.add(item)
                if archived and item not in kept:
                    written.refusals.add(Refusal.ARCHIVED)
            else:
                price = data.draw(st.integers(0, 20_000))
                rate = data.draw(st.sampled_from(RATES))
                given |= {"description": "Treatment", "price": dec(price), "tax_rate": dec(rate)}
            written.sent.append(given)
            line = shadow_line(price, centi, rate, inclusive, off, off_bp)
            if line is None:
                written.refusals.add(Refusal.BAD_AMOUNT)
            else:
                written.lines.append(line)
        if not written.refusals and written.total == 0:
            written.refusals.add(Refusal.BAD_AMOUNT)
        return written

    def check_refused(self, call: Callable[[], object], written: Written, pid: int) -> None:
        """The call is refused for one of the written lines' reasons and changes nothing."""
        before = self.clinic.invoices(pid), self.clinic.patient(pid)
        with pytest.raises(BillingError) as refused:
            call()
        assert refused.value.code in written.refusals, refused.value
        assert (self.clinic.invoices(pid), self.clinic.patient(pid)) == before

    def issued(self, iid: int, pid: int, written: Written) -> None:
        """The shadow of an invoice just issued: the next number, nothing paid on it."""
        self.number[iid] = len(self.number) + 1
        self.owner[iid], self.total[iid] = pid, written.total
        self.paid[iid] = self.credited[iid] = 0
        self.touched.add(pid)

    @precondition(lambda self: self.patients)
    @rule(data=st.data(), draft=st.booleans(), days=st.integers(0, 20))
    def write_invoice(self, data, draft, days) -> None:
        """An invoice (or a draft) from the catalogue and free-text lines."""
        pid = data.draw(st.sampled_from(self.patients))
        written = self.write_lines(data, pid, self.inclusive, set())
        day = date(2026, 10, 1) + timedelta(days=days)

        def create() -> int:
            return self.clinic.create_invoice(
                pid,
                written.sent,
                issue_date=day,
                draft=draft,
            )

        if written.refusals:
            self.check_refused(create, written, pid)
            return
        iid = create()
        self.basis[iid], self.lines[iid], self.items_on[iid] = (
            self.inclusive,
            written.lines,
            written.items,
        )
        if draft:
            self.drafts[iid] = pid
            self.draft_day[iid] = day
            self.touched.add(pid)
        else:
            self.issued(iid, pid, written)

    @precondition(lambda self: self.drafts)
    @rule(data=st.data())
    def change_draft(self, data) -> None:
        iid = data.draw(st.sampled_from(sorted(self.drafts)))
        pid = self.drafts[iid]
        written = self.write_lines(data, pid, self.basis[iid], self.items_on[iid])
        if written.refusals:
            self.check_refused(
                lambda: self.clinic.update_invoice(iid, lines=written.sent), written, pid
            )
            return
        self.clinic.update_invoice(iid, lines=written.sent)
        self.lines[iid], self.items_on[iid] = written.lines, written.items
        self.touched.add(pid)

    @precondition(lambda self: self.drafts)
    @rule(data=st.data())
    def issue_draft(self, data) -> None:
        iid = data.draw(st.sampled_from(sorted(self.drafts)))
        pid = self.drafts.pop(iid)
        # Issued on the day it was written (not today, so the fixed-date credit notes below
        # stay after it whatever day the suite runs).
        number = self.clinic.issue_invoice(iid, self.draft_day.pop(iid))
        self.issued(iid, pid, Written([], self.lines[iid], set(), set()))
        assert number == self.number[iid]
        with pytest.raises(BillingError) as refused:
            self.clinic.issue_invoice(iid)
        assert refused.value.code == Refusal.BAD_CHOICE

    @precondition(lambda self: self.drafts)
    @rule(data=st.data())
    def delete_draft(self, data) -> None:
        iid = data.draw(st.sampled_from(sorted(self.drafts)))
        pid = self.drafts[iid]
        with pytest.raises(BillingError) as refused:
            self.clinic.void_invoice(iid, "not wanted")
        assert refused.value.code == Refusal.BAD_CHOICE
        self.clinic.delete_draft(iid)
        del self.drafts[iid], self.draft_day[iid]
        self.touched.add(pid)

    @precondition(lambda self: self.owner)
    @rule(data=st.data())
    def correct_issued_invoice(self, data) -> None:
        """Allowed only while nothing is paid, credited or void on it; refused (changing
        nothing) otherwise, naming what to undo."""
        iid = data.draw(st.sampled_from(sorted(self.owner)))
        pid = self.owner[iid]
        written = self.write_lines(data, pid, self.basis[iid], self.items_on[iid])
        if iid in self.void or self.paid[iid] or self.live_notes_amount(iid):
            written.refusals = {Refusal.BAD_CHOICE}
        if written.refusals:
            self.check_refused(
                lambda: self.clinic.update_invoice(iid, lines=written.sent), written, pid
            )
            return
        self.clinic.update_invoice(iid, lines=written.sent)
        self.lines[iid], self.items_on[iid] = written.lines, written.items
        self.total[iid] = written.total
        self.touched.add(pid)

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
        line = shadow_line(price, quantity * 100, 0, False, 0, None)
        assert line is not None
        self.basis[iid], self.lines[iid], self.items_on[iid] = self.inclusive, [line], set()
        self.issued(iid, pid, Written([], [line], set(), set()))

    @rule(mode=st.sampled_from(list(AllocationMode)))
    def set_mode(self, mode) -> None:
        self.clinic.set_allocation_mode(mode)

    @precondition(lambda self: self.patients)
    @rule(data=st.data())
    def pay(self, data) -> None:
        pid = data.draw(st.sampled_from(self.patients))
        self.touched.add(pid)
        sources = data.draw(st.dictionaries(st.sampled_from(TYPES), cents, max_size=2))
        open_ids = self.open_invoices(pid)
        typed = {}
        for iid in open_ids:
            if data.draw(st.booleans()):
                typed[iid] = data.draw(st.integers(0, self.owed(iid)))
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
            with pytest.raises(BillingError) as refused:
                self.clinic.record_payment(preview, request_id)
            assert refused.value.code == Refusal.NOTHING_TO_SAVE
            return
        pay_id = self.clinic.record_payment(preview, request_id)
        self.payments.append(pay_id)
        self.saved.append((preview, request_id, pay_id))
        self.credit[pid] = int(preview.credit_after.scaleb(2))
        for iid, amount in preview.applied.items():
            self.paid[iid] += int(amount.scaleb(2))

    def credit_beside_open(self) -> set[int]:
        return {p for p in self.patients if self.credit[p] > 0 and self.open_invoices(p)}

    def applied_from_credit(self, preview, pay_id: int | None) -> None:
        """The shadow after the patient's credit was applied by ``preview``'s allocation."""
        if pay_id is None:
            return
        self.payments.append(pay_id)
        self.credit[preview.patient_id] = int(preview.credit_after.scaleb(2))
        for iid, amount in preview.applied.items():
            self.paid[iid] += int(amount.scaleb(2))
        self.touched.add(preview.patient_id)

    @precondition(lambda self: self.patients)
    @rule(data=st.data())
    def apply_credit_to_open_invoices(self, data) -> None:
        pid = data.draw(st.sampled_from(self.patients))
        preview = self.clinic.preview_credit_application(pid)
        assert preview.credit_available == Decimal(dec(self.credit[pid]))
        request_id = self.next_id()
        pay_id = self.clinic.apply_credit_to_open_invoices(pid, request_id, preview)
        assert (pay_id is None) == (pid not in self.credit_beside_open()), pid
        self.applied_from_credit(preview, pay_id)
        # The same request again saves nothing new.
        assert self.clinic.apply_credit_to_open_invoices(pid, request_id) == pay_id

    @precondition(lambda self: self.patients)
    @rule()
    def apply_credit_for_everyone(self) -> None:
        flagged = self.credit_beside_open()
        assert set(self.clinic.credit_beside_open_invoices()) == flagged
        previews = {pid: self.clinic.preview_credit_application(pid) for pid in flagged}
        request_id = self.next_id()
        saved = self.clinic.apply_credit_to_all_open_invoices(request_id)
        assert set(saved) == flagged
        for pid, pay_id in saved.items():
            self.applied_from_credit(previews[pid], pay_id)
        assert self.clinic.apply_credit_to_all_open_invoices(request_id) == saved
        assert not self.credit_beside_open()

    @precondition(lambda self: self.saved)
    @rule(data=st.data())
    def press_save_again(self, data) -> None:
        preview, request_id, pay_id = data.draw(st.sampled_from(self.saved))
        assert self.clinic.record_payment(preview, request_id) == pay_id

    @precondition(lambda self: self.patients)
    @rule(data=st.data(), delta=st.integers(1, 50_000), sign=st.sampled_from([1, -1]))
    def tampered_preview_is_refused(self, data, delta, sign) -> None:
        """A caller edits a prepared preview before saving it: always refused, nothing saved."""
        pid = data.draw(st.sampled_from(self.patients))
        sources = data.draw(st.dictionaries(st.sampled_from(TYPES), cents, max_size=2))
        preview = self.clinic.preview_payment(pid, sources={k: dec(v) for k, v in sources.items()})
        change = sign * delta
        plan = preview.plan
        ways = ["payment_total", "credit_available", "source", "credit_after"]
        if plan.lines:
            ways += ["applied", "from_money", "from_credit"]
        way = data.draw(st.sampled_from(ways))
        if way in ("applied", "from_money", "from_credit"):
            target = data.draw(st.sampled_from(plan.lines))
            lines = tuple(
                ln._replace(**{way: getattr(ln, way) + change}) if ln is target else ln
                for ln in plan.lines
            )
            forged = dataclasses.replace(preview, plan=dataclasses.replace(plan, lines=lines))
        elif way == "source":
            name = data.draw(st.sampled_from(TYPES))
            amounts = dict(preview.sources_minor)
            amounts[name] = amounts.get(name, 0) + change
            forged = dataclasses.replace(preview, sources_minor=tuple(amounts.items()))
        elif way == "credit_after":
            forged = dataclasses.replace(preview, plan=dataclasses.replace(plan))
            object.__setattr__(forged.plan, "credit_after", plan.credit_after + change)
        else:
            changed = {way: getattr(plan, way) + change}
            forged = dataclasses.replace(preview, plan=dataclasses.replace(plan, **changed))
        payments_before = len(self.clinic.payments(pid))
        with pytest.raises(BillingError):
            self.clinic.record_payment(forged, self.next_id())
        assert len(self.clinic.payments(pid)) == payments_before

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
        self.touched.add(pid)
        request_id = self.next_id()
        if amount > self.credit[pid]:
            with pytest.raises(BillingError) as refused:
                self.clinic.refund_credit(pid, dec(amount), method="Cash", request_id=request_id)
            assert refused.value.code == Refusal.OVER_CREDIT
            return
        refund_id = self.clinic.refund_credit(
            pid, dec(amount), method="Cash", request_id=request_id, reason="Moving away"
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
        self.touched.add(pid)
        change = -int(record.total.scaleb(2)) + sum(int(a.amount.scaleb(2)) for a in live)
        if record.reversed:
            with pytest.raises(BillingError) as refused:
                self.clinic.reverse_payment(pay_id)
            assert refused.value.code == Refusal.ALREADY_DONE
        elif self.credit_notes_hold(live):
            with pytest.raises(BillingError) as refused:
                self.clinic.reverse_payment(pay_id)
            assert refused.value.code == Refusal.HAS_CREDIT_NOTES
        elif self.credit[pid] + change < 0:
            with pytest.raises(BillingError) as refused:
                self.clinic.reverse_payment(pay_id)
            assert refused.value.code == Refusal.CREDIT_SPENT
        else:
            self.clinic.reverse_payment(pay_id, "entered twice")
            self.credit[pid] += change
            for app in live:
                self.paid[app.invoice_id] -= int(app.amount.scaleb(2))

    @precondition(lambda self: self.payments)
    @rule(data=st.data())
    def remove_one_application(self, data) -> None:
        pay_id = data.draw(st.sampled_from(self.payments))
        record = self.clinic.payment(pay_id)
        if not record.applications:
            return
        app = data.draw(st.sampled_from(record.applications))
        self.touched.add(record.patient_id)
        if app.removed:
            with pytest.raises(BillingError) as refused:
                self.clinic.remove_application(app.id, "wrong invoice")
            assert refused.value.code == Refusal.ALREADY_DONE
            return
        if self.credit_notes_hold([app]):
            with pytest.raises(BillingError) as refused:
                self.clinic.remove_application(app.id, "wrong invoice")
            assert refused.value.code == Refusal.HAS_CREDIT_NOTES
            return
        self.clinic.remove_application(app.id, "wrong invoice")
        amount = int(app.amount.scaleb(2))
        self.credit[record.patient_id] += amount
        self.paid[app.invoice_id] -= amount

    @precondition(lambda self: self.owner)
    @rule(data=st.data())
    def void_invoice(self, data) -> None:
        iid = data.draw(st.sampled_from(sorted(self.owner)))
        self.touched.add(self.owner[iid])
        if iid in self.void:
            with pytest.raises(BillingError) as refused:
                self.clinic.void_invoice(iid)
            assert refused.value.code == Refusal.ALREADY_DONE
            return
        if self.live_notes_amount(iid):
            with pytest.raises(BillingError) as refused:
                self.clinic.void_invoice(iid)
            assert refused.value.code == Refusal.HAS_CREDIT_NOTES
            return
        self.clinic.void_invoice(iid, "billed in error")
        self.credit[self.owner[iid]] += self.paid[iid]
        self.paid[iid] = 0
        self.void.add(iid)

    @precondition(lambda self: self.owner)
    @rule(data=st.data(), refund_at_once=st.booleans())
    def credit_note(self, data, refund_at_once) -> None:
        iid = data.draw(st.sampled_from(sorted(self.owner)))
        pid = self.owner[iid]
        self.touched.add(pid)
        method = "Cash" if refund_at_once else None
        left = self.total[iid] - self.live_notes_amount(iid)
        if iid in self.void or left == 0:
            with pytest.raises(BillingError) as refused:
                self.clinic.credit_note(
                    iid, reason="goodwill", request_id=self.next_id(), refund_method=method
                )
            assert refused.value.code == (
                Refusal.NOT_OPEN if iid in self.void else Refusal.ALREADY_DONE
            )
            return
        amount = data.draw(st.one_of(st.none(), st.integers(1, left + 5)))
        minor = left if amount is None else amount
        if minor > left:
            with pytest.raises(BillingError) as refused:
                self.clinic.credit_note(
                    iid, dec(minor), reason="goodwill", request_id=self.next_id()
                )
            assert refused.value.code == Refusal.OVER_BALANCE
            return
        applied = min(minor, self.owed(iid))
        to_credit = minor - applied
        request_id = self.next_id()
        call = {
            "reason": "goodwill",
            "request_id": request_id,
            "refund_method": method,
            "note_date": date(2026, 11, 1),
        }
        if refund_at_once and to_credit == 0:
            with pytest.raises(BillingError) as refused:
                self.clinic.credit_note(iid, None if amount is None else dec(minor), **call)
            assert refused.value.code == Refusal.NOTHING_TO_SAVE
            return
        asked = None if amount is None else dec(minor)
        note_id = self.clinic.credit_note(iid, asked, **call)
        assert self.clinic.credit_note(iid, asked, **call) == note_id  # Save pressed twice
        self.notes[note_id] = [iid, minor, applied, to_credit, 0]
        self.credited[iid] += applied
        if not refund_at_once:
            self.credit[pid] += to_credit

    @precondition(lambda self: self.notes)
    @rule(data=st.data())
    def reverse_credit_note(self, data) -> None:
        note_id = data.draw(st.sampled_from(sorted(self.notes)))
        iid, _, applied, to_credit, reversed_ = self.notes[note_id]
        pid = self.owner[iid]
        self.touched.add(pid)
        if reversed_:
            with pytest.raises(BillingError) as refused:
                self.clinic.reverse_credit_note(note_id)
            assert refused.value.code == Refusal.ALREADY_DONE
        elif self.credit[pid] < to_credit:
            with pytest.raises(BillingError) as refused:
                self.clinic.reverse_credit_note(note_id)
            assert refused.value.code == Refusal.CREDIT_SPENT
        else:
            self.clinic.reverse_credit_note(note_id, "issued by mistake")
            self.notes[note_id][4] = 1
            self.credited[iid] -= applied
            self.credit[pid] -= to_credit

    @precondition(lambda self: len(self.patients) >= 2)
    @rule(data=st.data(), share=st.integers(0, 120))
    def transfer_credit(self, data, share) -> None:
        sender = data.draw(st.sampled_from(self.patients))
        receiver = data.draw(st.sampled_from(self.patients))
        self.touched |= {sender, receiver}
        amount = max(1, self.credit[sender] * share // 100)
        if sender == receiver:
            with pytest.raises(BillingError) as refused:
                self.clinic.transfer_credit(
                    sender, receiver, dec(amount), reason="family", request_id=self.next_id()
                )
            assert refused.value.code == Refusal.BAD_CHOICE
            return
        if amount > self.credit[sender]:
            with pytest.raises(BillingError) as refused:
                self.clinic.transfer_credit(
                    sender, receiver, dec(amount), reason="family", request_id=self.next_id()
                )
            assert refused.value.code == Refusal.OVER_CREDIT
            return
        transfer_id = self.clinic.transfer_credit(
            sender, receiver, dec(amount), reason="family", request_id=self.next_id()
        )
        self.transfers[transfer_id] = [sender, receiver, amount, 0]
        self.credit[sender] -= amount
        self.credit[receiver] += amount

    @precondition(lambda self: self.transfers)
    @rule(data=st.data())
    def reverse_transfer(self, data) -> None:
        transfer_id = data.draw(st.sampled_from(sorted(self.transfers)))
        sender, receiver, amount, reversed_ = self.transfers[transfer_id]
        self.touched |= {sender, receiver}
        if reversed_:
            with pytest.raises(BillingError) as refused:
                self.clinic.reverse_transfer(transfer_id)
            assert refused.value.code == Refusal.ALREADY_DONE
        elif self.credit[receiver] < amount:
            with pytest.raises(BillingError) as refused:
                self.clinic.reverse_transfer(transfer_id)
            assert refused.value.code == Refusal.CREDIT_SPENT
        else:
            self.clinic.reverse_transfer(transfer_id, "wrong family member")
            self.transfers[transfer_id][3] = 1
            self.credit[sender] += amount
            self.credit[receiver] -= amount

    @precondition(lambda self: len(self.patients) >= 2)
    @rule(data=st.data())
    def merge_duplicates(self, data) -> None:
        keep = data.draw(st.sampled_from(self.patients))
        dupe = data.draw(st.sampled_from(self.patients))
        if keep == dupe:
            with pytest.raises(BillingError) as refused:
                self.clinic.merge_patients(keep, dupe, reason="duplicate")
            assert refused.value.code == Refusal.BAD_CHOICE
            return
        preview = self.clinic.preview_merge(keep, dupe)
        credit = self.credit[keep] + self.credit[dupe]
        owed = sum(self.owed(i) for i in self.open_invoices(keep) + self.open_invoices(dupe))
        assert (preview.credit, preview.outstanding) == (Decimal(dec(credit)), Decimal(dec(owed)))
        assert self.clinic.merge_patients(keep, dupe, reason="duplicate", preview=preview) == dupe
        for iid, owner in self.owner.items():
            if owner == dupe:
                self.owner[iid] = keep
        for iid, owner in self.drafts.items():
            if owner == dupe:
                self.drafts[iid] = keep
        self.credit[keep] = credit
        self.credit[dupe] = 0
        # The kept patient's empty details are filled from the duplicate's: their concession too.
        self.concession[keep] = self.concession[keep] or self.concession[dupe]
        for transfer in self.transfers.values():
            if {transfer[0], transfer[1]} == {keep, dupe}:
                transfer[3] = 1  # cancelled: one patient now
            else:
                transfer[0:2] = [keep if p == dupe else p for p in transfer[0:2]]
        self.patients.remove(dupe)
        self.touched.discard(dupe)
        self.touched.add(keep)
        with pytest.raises(BillingError) as refused:
            self.clinic.create_invoice(dupe, [("Treatment", "1.00", 1)])
        assert refused.value.code == Refusal.ARCHIVED

    @precondition(lambda self: self.patients)
    @rule(data=st.data())
    def archive_and_restore(self, data) -> None:
        pid = data.draw(st.sampled_from(self.patients))
        owed = sum(self.owed(i) for i in self.open_invoices(pid))
        if self.credit[pid] or owed:
            with pytest.raises(BillingError) as refused:
                self.clinic.archive_patient(pid, reason="moved away")
            assert refused.value.code == Refusal.HAS_BALANCE
            return
        self.clinic.archive_patient(pid, reason="moved away")
        assert pid not in self.clinic.patient_ids()
        assert self.clinic.verify() == []
        self.clinic.restore_patient(pid)

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def ledger_verifies(self) -> None:
        assert self.clinic.verify() == []

    @invariant()
    def reports_tie_out(self) -> None:
        aged = self.clinic.aged_receivables()
        owed = {pid: sum(self.owed(i) for i in self.open_invoices(pid)) for pid in self.patients}
        assert aged.total == Decimal(dec(sum(owed.values())))
        assert {row.patient_id: row.total for row in aged.rows} == {
            pid: Decimal(dec(amount)) for pid, amount in owed.items() if amount
        }
        assert sum(aged.buckets, Decimal("0.00")) == aged.total
        self.report_checks += 1
        if self.report_checks % 8:  # the takings cross-check reads every payment: every 8th step
            return
        takings = self.clinic.takings(date(2000, 1, 1), date.today())
        records = [p for pid in self.patients for p in self.clinic.payments(pid) if not p.reversed]
        assert takings.net == sum((p.total for p in records), Decimal("0.00"))
        assert takings.received == takings.applied_from_money + takings.to_credit
        assert takings.applied_from_money == sum((p.money_applied for p in records), Decimal(0))
        assert takings.credit_applied == sum((p.credit_applied for p in records), Decimal(0))
        # The liability on any day equals each patient's credit history summed to that day.
        histories = {pid: self.clinic.credit_history(pid) for pid in self.patients}
        for day in (date(2026, 10, 31), date(2026, 11, 1), date.today()):
            held = {row.patient_id: row.credit for row in self.clinic.credit_liability(day).rows}
            for pid, history in histories.items():
                expected = sum((m.change for m in history if m.day <= day), Decimal("0.00"))
                assert held.get(pid, Decimal("0.00")) == expected, (day, pid)
        today = self.clinic.credit_liability()
        assert today.total == Decimal(dec(sum(self.credit.values())))
        # Each patient's statement over all time closes at what they owe less their credit.
        for pid in self.patients:
            owed = sum(self.owed(i) for i in self.open_invoices(pid))
            statement = self.clinic.statement(pid)
            assert statement.closing_balance == Decimal(dec(owed - self.credit[pid])), pid
            assert statement.opening_balance == 0

    @invariant()
    def matches_the_shadow_model(self) -> None:
        for record in self.clinic.patients_by_ids(self.patients):
            pid = record.id
            assert record.credit == Decimal(dec(self.credit[pid]))
            owed = sum(self.owed(i) for i in self.open_invoices(pid))
            assert record.outstanding == Decimal(dec(owed))
        for pid in self.touched:
            credit = Decimal(dec(self.credit[pid]))
            history = self.clinic.credit_history(pid)
            assert (history[-1].balance if history else Decimal("0.00")) == credit
            lots = self.clinic.credit_sources(pid)
            assert sum((lot.remaining for lot in lots), Decimal("0.00")) == credit
            assert all(Decimal(0) <= lot.remaining <= lot.amount for lot in lots)
            for invoice in self.clinic.invoices(pid):
                iid = invoice.id
                assert invoice.tax_inclusive == self.basis[iid]
                assert [(ln.discount, ln.net, ln.tax, ln.total) for ln in invoice.lines] == [
                    tuple(Decimal(dec(cents)) for cents in dataclasses.astuple(line))
                    for line in self.lines[iid]
                ]
                assert invoice.total == sum((ln.total for ln in invoice.lines), Decimal(0))
                if iid in self.drafts:
                    assert (invoice.status, invoice.number, invoice.balance) == ("draft", None, 0)
                    assert self.drafts[iid] == pid
                    continue
                assert invoice.number == self.number[iid]
                assert invoice.total == Decimal(dec(self.total[iid]))
                assert (invoice.paid, invoice.credited) == (
                    Decimal(dec(self.paid[iid])),
                    Decimal(dec(self.credited[iid])),
                )
                expected = "void" if iid in self.void else "paid" if self.owed(iid) == 0 else "open"
                assert invoice.status == expected
        self.touched.clear()


STEPS = int(os.environ.get("STATEFUL_STEPS", "50"))


@pytest.mark.slow  # Hypothesis stateful: minutes
@pytest.mark.timeout(1200)
def test_random_operation_sequences_on_sqlite(new_sqlite_url):
    class OnSqlite(LedgerMachine):
        open_url = staticmethod(new_sqlite_url)

    run_state_machine_as_test(
        OnSqlite,
        settings=settings(
            settings(), max_examples=settings().max_examples * 2, stateful_step_count=STEPS
        ),
    )


@pytest.mark.slow  # Hypothesis stateful: minutes
@pytest.mark.timeout(1200)
def test_random_operation_sequences_on_postgresql(pg_databases):
    class OnPostgres(LedgerMachine):
        open_url = staticmethod(pg_databases.new)
        drop_url = staticmethod(pg_databases.drop)

    run_state_machine_as_test(
        OnPostgres,
        settings=settings(
            settings(), max_examples=settings().max_examples * 4 // 10, stateful_step_count=STEPS
        ),
    )
