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

Third-party payers are in play too: a few payers (a health fund, an insurer, ...), patients'
memberships (some the default for new invoices, valid for some dates), invoices billed to a payer
(by the membership or chosen, with a claim reference), split visits (the payer's share an amount
or a percentage, nothing and all of it included), remittances over a payer's open invoices (typed
amounts or not, what is left over kept as the payer's credit, each previewed keystroke by
keystroke on the remittance draft, Save pressed twice, a stale remittance refused), refunds of a
payer's credit, payment types with their own allocation mode, and the corrections above on
payer-billed invoices and remittances (reversal, one application removed, void, credit notes).

After every step the ledger must verify clean (I1-I7), every account's (patient's and payer's)
credit and outstanding balance must equal a shadow model kept here with plain arithmetic (separate
from the code under test), and for the accounts the step touched: each invoice's paid, credited
and status, the credit history's running balance, and the credit lots (where the credit came
from) adding up to the credit; each invoice's lines as the shadow prices them (tax per line
rounded half up), its total their sum, its number the one the shadow handed out in order (no
gap, no duplicate; a draft has none), and a draft in no balance; each invoice's patient, payer,
claim and split partner as written; what the account owes is the balance of its own open
invoices only (a patient's never includes an invoice billed to a payer; a payer's is the sum of
its open-invoice list); each of its payments applies only to invoices of the same account (a
patient's money never lands on a payer's invoice, a payer's never on another account's); its
money adds up (what its payments applied is what its invoices were paid, and its credit is what
its payments did not apply plus its credit notes' and transfers' credit); and each split visit
of its adds up (the payer's and the patient's invoices, linked, total the visit's lines).

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
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from desktop_app.core import (
    AllocationMode,
    BillingError,
    Clinic,
    ConcurrentChangeError,
    NotFoundError,
    Refusal,
)

TYPES = ["Cash", "EFTPOS", "Credit card", "Bank transfer", "Health fund"]
cents = st.integers(min_value=0, max_value=30_000)
RATES = [0, 1000, 1250, 1500]  # tax rates in hundredths of a percent
CONCESSION = "Pensioner"
PAYER_KINDS = ["health fund", "insurer", "workers compensation", "government scheme", "employer"]
MAX_PAYERS = 3
#: Remittance references: a payer prints the same one on several remittances now and then.
REFERENCES = [None, "REM-1", "rem-1", "REM-2"]
FIRST_DAY = date(2026, 10, 1)  # invoices are issued on this day or up to 20 days after
#: What the machine holds the ledger to for payer-billed invoices (each also pinned in
#: tests/db/test_payer_invoices_follow_the_patient.py): a correction of one (or a change to such a
#: draft) prices catalogue items at the patient's concession, not the payer account's (none);
CORRECTION_PRICES_FOR_THE_PATIENT = True
#: merging a patient brings the invoices billed to payers for them, and their memberships, to the
#: patient kept.
MERGE_MOVES_PAYER_INVOICES = True


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
    #: Each priced line's tax rate and catalogue item (split billing keeps both on each part).
    rates: list[int] = dataclasses.field(default_factory=list)
    line_items: list[int | None] = dataclasses.field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(line.total for line in self.lines)


def split_shadow(
    written: Written, payer_minor: int
) -> tuple[list[tuple[ShadowLine, int | None]], list[tuple[ShadowLine, int | None]]]:
    """The payer's lines and the patient's of a split visit, each with its catalogue item, as
    the rules price them: the payer's part spread over the lines in proportion to each line's
    total (the cents the floors leave to the largest remainders), each part a line of its own,
    tax included and worked out from the part; a part of nothing is left off."""
    totals = [line.total for line in written.lines]
    total = sum(totals)
    parts = [t * payer_minor // total for t in totals]
    order = sorted(range(len(totals)), key=lambda i: (-(totals[i] * payer_minor % total), i))
    for i in order[: payer_minor - sum(parts)]:
        parts[i] += 1

    def priced(amount: int, rate: int) -> ShadowLine:
        tax = half_up(Decimal(amount) * rate / (10_000 + rate))
        return ShadowLine(0, amount - tax, tax, amount)

    each = list(zip(totals, parts, written.rates, written.line_items, strict=True))
    return (
        [(priced(part, rate), item) for _, part, rate, item in each if part],
        [(priced(t - part, rate), item) for t, part, rate, item in each if t - part],
    )


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
        # Payers. ``owner`` above is the account that owes an issued invoice (a payer's for an
        # invoice billed to one); ``credit`` holds payers' accounts too.
        self.payers: list[int] = []
        self.mode = AllocationMode(self.clinic.allocation_mode)
        self.type_modes: dict[str, AllocationMode] = {}  # payment type -> its own mode
        # membership -> [patient, payer, default for new invoices, valid from, valid to]
        self.memberships: dict[int, list] = {}
        self.for_patient: dict[int, int] = {}  # issued invoice billed to a payer -> patient
        self.draft_account: dict[int, int] = {}  # draft -> the account it is billed to
        self.claim: dict[int, str | None] = {}  # invoice or draft -> its claim reference
        # split visits: [payer's invoice or None, gap invoice or None, payer, visit total, patient]
        self.splits: list[list] = []
        self.split_with: dict[int, int] = {}  # gap invoice -> the payer's invoice of its visit
        self.reference: dict[int, tuple[int, str | None]] = {}  # remittance -> payer, reference
        self.reversed: set[int] = set()  # payments and refunds reversed
        self.remitted: list[tuple[object, str, int]] = []  # remittances saved: preview, id

    def teardown(self) -> None:
        self.clinic.close()
        self.drop_url(self.url)

    def next_id(self) -> str:
        self.counter += 1
        return f"req-{self.counter}"

    def accounts(self) -> list[int]:
        """Every account: the patients' and the payers'."""
        return self.patients + self.payers

    def default_payer(self, pid: int, day: date) -> int | None:
        """The payer a patient's new invoice goes to on ``day`` when none is chosen: the one of
        their membership marked for new invoices, while it is valid."""
        for patient, payer, default, start, end in self.memberships.values():
            valid = (start is None or start <= day) and (end is None or day <= end)
            if patient == pid and default and valid:
                return int(payer)
        return None

    def expected_mode(self, sources: dict[str, int]) -> AllocationMode:
        """The allocation mode of money from these sources: the payment types' own mode when
        every type given carries one (off, then the source invoice only, before the others),
        else the clinic's."""
        own = [self.type_modes.get(name) for name, amount in sources.items() if amount]
        if not own or None in own:
            return self.mode
        for careful in (AllocationMode.OFF, AllocationMode.SOURCE_INVOICE):
            if careful in own:
                return careful
        first = own[0]
        assert first is not None
        return first

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
                written.rates.append(0)
                written.line_items.append(None)
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
            item = None
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
                written.rates.append(rate)
                written.line_items.append(item)
        if not written.refusals and written.total == 0:
            written.refusals.add(Refusal.BAD_AMOUNT)
        return written

    def view(self, account: int) -> tuple[object, ...]:
        """An account as the desk sees it: its invoices and its figures."""
        figures = (
            self.clinic.payer(account) if account in self.payers else self.clinic.patient(account)
        )
        return self.clinic.invoices(account), figures

    def check_refused(self, call: Callable[[], object], written: Written, *accounts: int) -> None:
        """The call is refused for one of the written lines' reasons and changes nothing."""
        before = [self.view(account) for account in accounts]
        with pytest.raises(BillingError) as refused:
            call()
        assert refused.value.code in written.refusals, refused.value
        assert [self.view(account) for account in accounts] == before

    def prices_for_the_patient(self, iid: int) -> bool:
        """Whether correcting this invoice prices its items as for its patient (see
        CORRECTION_PRICES_FOR_THE_PATIENT: not yet for a payer's invoice of a concession
        patient)."""
        account = self.owner.get(iid) or self.draft_account[iid]
        pid = self.for_patient.get(iid) or self.drafts.get(iid) or account
        return CORRECTION_PRICES_FOR_THE_PATIENT or account == pid or not self.concession[pid]

    def issued(self, iid: int, pid: int, written: Written, account: int | None = None) -> None:
        """The shadow of an invoice just issued: the next number, nothing paid on it, owed by
        ``account`` (a payer's) or else by the patient."""
        self.number[iid] = len(self.number) + 1
        self.owner[iid], self.total[iid] = account or pid, written.total
        self.paid[iid] = self.credited[iid] = 0
        if account not in (None, pid):
            self.for_patient[iid] = pid
        self.claim.setdefault(iid, None)
        self.touched |= {pid, self.owner[iid]}

    @precondition(lambda self: self.patients)
    @rule(data=st.data(), draft=st.booleans(), days=st.integers(0, 20))
    def write_invoice(self, data, draft, days) -> None:
        """An invoice (or a draft) from the catalogue and free-text lines, billed to the
        patient's default payer (left out), to the patient, or to a payer chosen, with a claim
        reference or none (refused without a payer)."""
        pid = data.draw(st.sampled_from(self.patients))
        written = self.write_lines(data, pid, self.inclusive, set())
        day = FIRST_DAY + timedelta(days=days)
        bill_to = data.draw(st.sampled_from(["left out", "left out", None, "payer"]), label="bill")
        if bill_to == "payer":
            bill_to = data.draw(st.sampled_from(self.payers)) if self.payers else None
        claim = data.draw(st.sampled_from([None, f"CLM-{self.counter}"]), label="claim")
        account = self.default_payer(pid, day) if bill_to == "left out" else bill_to
        given = {} if bill_to == "left out" else {"bill_to": bill_to}

        def create() -> int:
            return self.clinic.create_invoice(
                pid, written.sent, issue_date=day, draft=draft, claim_reference=claim, **given
            )

        if claim is not None and account is None:
            written.refusals = {Refusal.BAD_CHOICE}  # a claim goes with a payer
        if written.refusals:
            self.check_refused(create, written, pid, *([account] if account else []))
            return
        iid = create()
        self.basis[iid], self.lines[iid], self.items_on[iid] = (
            self.inclusive,
            written.lines,
            written.items,
        )
        self.claim[iid] = claim
        if draft:
            self.drafts[iid] = pid
            self.draft_day[iid] = day
            self.draft_account[iid] = account or pid
            self.touched |= {pid, account or pid}
        else:
            self.issued(iid, pid, written, account)

    @precondition(lambda self: self.drafts)
    @rule(data=st.data())
    def change_draft(self, data) -> None:
        iid = data.draw(st.sampled_from(sorted(self.drafts)))
        pid, account = self.drafts[iid], self.draft_account[iid]
        if not self.prices_for_the_patient(iid):
            return
        written = self.write_lines(data, pid, self.basis[iid], self.items_on[iid])
        if written.refusals:
            self.check_refused(
                lambda: self.clinic.update_invoice(iid, lines=written.sent), written, pid, account
            )
            return
        self.clinic.update_invoice(iid, lines=written.sent)
        self.lines[iid], self.items_on[iid] = written.lines, written.items
        self.touched |= {pid, account}

    @precondition(lambda self: self.drafts)
    @rule(data=st.data())
    def issue_draft(self, data) -> None:
        iid = data.draw(st.sampled_from(sorted(self.drafts)))
        pid = self.drafts.pop(iid)
        # Issued on the day it was written (not today, so the fixed-date credit notes below
        # stay after it whatever day the suite runs).
        number = self.clinic.issue_invoice(iid, self.draft_day.pop(iid))
        account = self.draft_account.pop(iid)
        self.issued(iid, pid, Written([], self.lines[iid], set(), set()), account)
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
        self.touched |= {pid, self.draft_account.pop(iid)}
        del self.drafts[iid], self.draft_day[iid], self.claim[iid]

    @precondition(lambda self: self.owner)
    @rule(data=st.data())
    def correct_issued_invoice(self, data) -> None:
        """Allowed only while nothing is paid, credited or void on it; refused (changing
        nothing) otherwise, naming what to undo."""
        iid = data.draw(st.sampled_from(sorted(self.owner)))
        account = self.owner[iid]
        pid = self.for_patient.get(iid, account)
        if not self.prices_for_the_patient(iid):
            return
        written = self.write_lines(data, pid, self.basis[iid], self.items_on[iid])
        if iid in self.void or self.paid[iid] or self.live_notes_amount(iid):
            written.refusals = {Refusal.BAD_CHOICE}
        if written.refusals:
            self.check_refused(
                lambda: self.clinic.update_invoice(iid, lines=written.sent), written, pid, account
            )
            return
        self.clinic.update_invoice(iid, lines=written.sent)
        for visit in self.splits:  # one side of a split visit corrected: the visit changed
            if iid in visit[:2]:
                visit[3] += written.total - self.total[iid]
        self.lines[iid], self.items_on[iid] = written.lines, written.items
        self.total[iid] = written.total
        self.touched |= {pid, account}

    @precondition(lambda self: self.patients)
    @rule(
        data=st.data(),
        price=st.integers(1, 20_000),
        quantity=st.integers(1, 3),
        days=st.integers(0, 20),
    )
    def create_invoice(self, data, price, quantity, days) -> None:
        pid = data.draw(st.sampled_from(self.patients))
        day = FIRST_DAY + timedelta(days=days)
        iid = self.clinic.create_invoice(pid, [("Treatment", dec(price), quantity)], issue_date=day)
        line = shadow_line(price, quantity * 100, 0, False, 0, None)
        assert line is not None
        self.basis[iid], self.lines[iid], self.items_on[iid] = self.inclusive, [line], set()
        self.issued(iid, pid, Written([], [line], set(), set()), self.default_payer(pid, day))

    @rule(mode=st.sampled_from(list(AllocationMode)))
    def set_mode(self, mode) -> None:
        self.clinic.set_allocation_mode(mode)
        self.mode = mode

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
        # The patient's own open invoices, and never one billed to a payer for them.
        assert {line.invoice_id for line in preview.plan.lines} == set(open_ids)
        assert preview.plan.mode == self.expected_mode(sources)
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
            self.reversed.add(pay_id)
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
        # A transfer cancelled by a merge still names the merged patient, who is gone.
        self.touched |= {sender, receiver} & set(self.patients)
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
        with_payers = (
            dupe in self.for_patient.values()
            or any(self.drafts[i] == dupe != a for i, a in self.draft_account.items())
            or any(m[0] == dupe for m in self.memberships.values())
        )
        if with_payers and not MERGE_MOVES_PAYER_INVOICES:
            return  # see MERGE_MOVES_PAYER_INVOICES
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
        for iid, account in self.draft_account.items():
            if account == dupe:
                self.draft_account[iid] = keep
        for iid, pid in self.for_patient.items():
            if pid == dupe:
                self.for_patient[iid] = keep
        # The kept patient's default payer stays the default: the duplicate's default yields.
        keep_has_default = any(m[0] == keep and m[2] for m in self.memberships.values())
        for membership in self.memberships.values():
            if membership[0] == dupe:
                membership[0] = keep
                if keep_has_default:
                    membership[2] = False
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

    # -- third-party payers ------------------------------------------------------------------

    @initialize(kinds=st.lists(st.sampled_from(PAYER_KINDS), max_size=2))
    def payers_from_the_start(self, kinds) -> None:
        """Most clinics have their payers set up before the day starts (and a sequence with
        payers from its first step reaches remittances more often)."""
        for kind in kinds:
            self.add_payer(kind)

    @precondition(lambda self: len(self.payers) < MAX_PAYERS)
    @rule(kind=st.sampled_from(PAYER_KINDS))
    def add_payer(self, kind) -> None:
        name = f"Payer {len(self.payers) + 1}"
        payer = self.clinic.add_payer(name, kind=kind, email="claims@example.org")
        self.payers.append(payer)
        self.credit[payer] = 0
        self.touched.add(payer)
        assert [record.id for record in self.clinic.payers()] == self.payers
        assert payer not in self.clinic.patient_ids()  # a payer's account is not a patient
        with pytest.raises(BillingError) as refused:
            self.clinic.add_payer(name.upper(), kind=kind)
        assert refused.value.code == Refusal.DUPLICATE

    @precondition(lambda self: self.patients and self.payers)
    @rule(
        data=st.data(),
        default=st.booleans(),
        start=st.one_of(st.none(), st.integers(0, 20)),
        length=st.one_of(st.none(), st.integers(-2, 20)),
    )
    def add_membership(self, data, default, start, length) -> None:
        pid = data.draw(st.sampled_from(self.patients))
        payer = data.draw(st.sampled_from(self.payers))
        valid_from = None if start is None else FIRST_DAY + timedelta(days=start)
        valid_to = None if length is None else (valid_from or FIRST_DAY) + timedelta(days=length)
        call = {
            "member_number": f"M{self.counter}",
            "valid_from": valid_from,
            "valid_to": valid_to,
            "default_for_invoices": default,
        }
        self.touched.add(pid)
        if valid_from and valid_to and valid_to < valid_from:
            with pytest.raises(BillingError) as refused:
                self.clinic.add_membership(pid, payer, **call)
            assert refused.value.code == Refusal.BAD_DATE
            return
        with pytest.raises(BillingError) as refused:
            self.clinic.add_membership(payer, payer, **call)  # a payer has no membership
        assert refused.value.code == Refusal.BAD_CHOICE
        membership = self.clinic.add_membership(pid, payer, **call)
        if default:  # one default per patient: the new one replaces the old
            for other in self.memberships.values():
                if other[0] == pid:
                    other[2] = False
        self.memberships[membership] = [pid, payer, default, valid_from, valid_to]

    @precondition(lambda self: self.memberships)
    @rule(data=st.data(), default=st.booleans(), length=st.one_of(st.none(), st.integers(-2, 20)))
    def change_membership(self, data, default, length) -> None:
        membership = data.draw(st.sampled_from(sorted(self.memberships)))
        pid, _, _, valid_from, _ = self.memberships[membership]
        valid_to = None if length is None else (valid_from or FIRST_DAY) + timedelta(days=length)
        self.touched.add(pid)
        if valid_from and valid_to and valid_to < valid_from:
            with pytest.raises(BillingError) as refused:
                self.clinic.update_membership(membership, valid_to=valid_to)
            assert refused.value.code == Refusal.BAD_DATE
            return
        self.clinic.update_membership(membership, valid_to=valid_to, default_for_invoices=default)
        if default and not self.memberships[membership][2]:
            for other in self.memberships.values():
                if other[0] == pid:
                    other[2] = False
        self.memberships[membership][2] = default
        self.memberships[membership][4] = valid_to

    @precondition(lambda self: self.memberships)
    @rule(data=st.data())
    def remove_membership(self, data) -> None:
        membership = data.draw(st.sampled_from(sorted(self.memberships)))
        self.clinic.remove_membership(membership)
        self.touched.add(self.memberships.pop(membership)[0])
        with pytest.raises(NotFoundError):
            self.clinic.remove_membership(membership)

    @precondition(lambda self: self.patients and self.payers)
    @rule(data=st.data(), days=st.integers(0, 20), claim=st.booleans())
    def split_visit(self, data, days, claim) -> None:
        """One visit billed in two: the payer's share (an amount or a percentage, from nothing
        to all of it, or above the total: refused) and the patient's gap."""
        pid = data.draw(st.sampled_from(self.patients))
        payer = data.draw(st.sampled_from(self.payers))
        written = self.write_lines(data, pid, self.inclusive, set())
        total = written.total
        if data.draw(st.booleans(), label="share as a percentage"):
            bp = data.draw(
                st.one_of(st.sampled_from([0, 10_000]), st.integers(0, 10_000), st.integers(1, 9))
            )
            bp = 10_000 + bp if bp < 10 else bp  # a few shares above 100%: refused
            share = f"{dec(bp)}%"
            payer_minor = half_up(Decimal(total) * bp / 10_000)
            over = bp > 10_000
        else:
            payer_minor = data.draw(
                st.one_of(st.sampled_from([0, total, total + 1]), st.integers(0, total))
            )
            share = dec(payer_minor)
            over = payer_minor > total
        reference = f"CLM-{self.counter}" if claim else None

        def split() -> tuple[int | None, int | None]:
            return self.clinic.create_split_invoice(
                pid,
                written.sent,
                payer=payer,
                payer_share=share,
                claim_reference=reference,
                issue_date=FIRST_DAY + timedelta(days=days),
            )

        if over and not written.refusals:
            written.refusals = {Refusal.BAD_AMOUNT}
        if written.refusals:
            self.check_refused(split, written, pid, payer)
            return
        payer_iid, gap_iid = split()
        payer_side, patient_side = split_shadow(written, payer_minor)
        assert (payer_iid is None) == (not payer_side) and (gap_iid is None) == (not patient_side)
        for iid, side, account in ((payer_iid, payer_side, payer), (gap_iid, patient_side, pid)):
            if iid is None:
                continue
            lines = [line for line, _ in side]
            self.basis[iid], self.lines[iid] = True, lines  # each part priced tax included
            self.items_on[iid] = {item for _, item in side if item is not None}
            self.claim[iid] = reference if account == payer else None
            self.issued(iid, pid, Written([], lines, set(), set()), account)
        if gap_iid is not None and payer_iid is not None:
            self.split_with[gap_iid] = payer_iid
        self.splits.append([payer_iid, gap_iid, payer, total, pid])
        assert sum(self.total[i] for i in (payer_iid, gap_iid) if i) == total
        assert self.total.get(payer_iid, 0) == payer_minor

    def send_claims(self, data, payer: int) -> None:
        """One to three invoices billed to the payer, for patients drawn, with a claim each."""
        for _ in range(data.draw(st.integers(1, 3), label="claims")):
            pid = data.draw(st.sampled_from(self.patients))
            price = data.draw(st.integers(1, 20_000), label="claim price")
            claim = f"CLM-{self.next_id()}"
            day = FIRST_DAY + timedelta(days=data.draw(st.integers(0, 20)))
            iid = self.clinic.create_invoice(
                pid,
                [("Treatment", dec(price), 1)],
                issue_date=day,
                bill_to=payer,
                claim_reference=claim,
            )
            line = shadow_line(price, 100, 0, False, 0, None)
            assert line is not None
            self.basis[iid], self.lines[iid], self.items_on[iid] = self.inclusive, [line], set()
            self.claim[iid] = claim
            self.issued(iid, pid, Written([], [line], set(), set()), payer)

    def remittance_request(self, data, payer: int) -> tuple[dict[str, int], dict[int, int]]:
        """A remittance as keyed: its sources and the amounts typed against the payer's open
        invoices (some of them)."""
        sources = data.draw(st.dictionaries(st.sampled_from(TYPES), cents, max_size=2))
        typed = {}
        for iid in self.open_invoices(payer):
            if data.draw(st.booleans()):
                typed[iid] = data.draw(st.integers(0, self.owed(iid)))
        return sources, typed

    def earlier_remittances(self, payer: int, reference: str) -> list[int]:
        return sorted(
            pay_id
            for pay_id, (by, ref) in self.reference.items()
            if by == payer
            and ref is not None
            and ref.lower() == reference.lower()
            and pay_id not in self.reversed
        )

    @precondition(lambda self: self.payers)
    @rule(data=st.data(), reference=st.sampled_from(REFERENCES))
    def remittance(self, data, reference) -> None:
        """A payer's remittance over its open invoices across patients: previewed on the
        remittance draft as it is keyed, saved, and saved again (the same payment)."""
        payer = data.draw(st.sampled_from(self.payers))
        self.touched.add(payer)
        if not self.open_invoices(payer) and self.patients and data.draw(st.integers(0, 3)):
            self.send_claims(data, payer)  # what the remittance pays: claims sent earlier
        sources, typed = self.remittance_request(data, payer)
        asked = {
            "sources": {k: dec(v) for k, v in sources.items()},
            "applied": {k: dec(v) for k, v in typed.items()},
        }
        draft = self.clinic.payer_payment_draft(payer, reference=reference)
        try:
            preview = self.clinic.preview_payer_payment(payer, **asked, reference=reference)
        except BillingError as exc:
            assert sum(typed.values()) > sum(sources.values()) + self.credit[payer], exc
            with pytest.raises(BillingError):
                draft.preview(**asked)
            return
        assert draft.preview(**asked) == preview  # each keystroke previews the same
        assert preview.credit_available == Decimal(dec(self.credit[payer]))
        assert {line.invoice_id for line in preview.plan.lines} == set(self.open_invoices(payer))
        assert preview.plan.mode == self.expected_mode(sources)
        if reference is not None:
            found = self.clinic.earlier_remittances(payer, reference)
            assert found == self.earlier_remittances(payer, reference)
        request_id = self.next_id()
        if preview.is_empty:
            with pytest.raises(BillingError) as refused:
                self.clinic.record_payer_payment(preview, request_id)
            assert refused.value.code == Refusal.NOTHING_TO_SAVE
            return
        pay_id = self.clinic.record_payer_payment(preview, request_id)
        assert self.clinic.record_payer_payment(preview, request_id) == pay_id  # Save again
        self.payments.append(pay_id)
        self.remitted.append((preview, request_id, pay_id))
        self.reference[pay_id] = (payer, reference)
        self.credit[payer] = int(preview.credit_after.scaleb(2))
        for iid, amount in preview.applied.items():  # the payer's invoices: its list checks them
            self.paid[iid] += int(amount.scaleb(2))

    @precondition(lambda self: self.remitted)
    @rule(data=st.data())
    def remittance_saved_again(self, data) -> None:
        preview, request_id, pay_id = data.draw(st.sampled_from(self.remitted))
        assert self.clinic.record_payer_payment(preview, request_id) == pay_id

    @precondition(lambda self: self.payers)
    @rule(data=st.data())
    def stale_remittance_is_refused(self, data) -> None:
        """A remittance previewed, then the payer's credit or an open invoice changes (another
        desk refunds a cent, or keys a cent against its oldest open invoice): saving the first
        preview is refused and saves nothing."""
        payer = data.draw(st.sampled_from(self.payers))
        preview = self.clinic.preview_payer_payment(payer, sources={"Bank transfer": "1.00"})
        open_ids = self.open_invoices(payer)
        if self.credit[payer]:
            self.refund_payer(payer, 1)
        elif open_ids:
            iid = min(open_ids, key=lambda i: self.number[i])
            other = self.clinic.preview_payer_payment(
                payer, sources={"Cash": "0.01"}, applied={iid: "0.01"}
            )
            request_id = self.next_id()
            pay_id = self.clinic.record_payer_payment(other, request_id)
            self.payments.append(pay_id)
            self.remitted.append((other, request_id, pay_id))
            self.reference[pay_id] = (payer, None)
            self.paid[iid] += 1
            self.touched.add(payer)
        else:
            return
        payments = len(self.clinic.payments(payer))
        with pytest.raises(ConcurrentChangeError):
            self.clinic.record_payer_payment(preview, self.next_id())
        assert len(self.clinic.payments(payer)) == payments

    @precondition(lambda self: self.payers)
    @rule(data=st.data(), share=st.integers(1, 120))
    def refund_payer_credit(self, data, share) -> None:
        payer = data.draw(st.sampled_from(self.payers))
        self.refund_payer(payer, max(1, self.credit[payer] * share // 100))

    def refund_payer(self, payer: int, amount: int) -> None:
        self.touched.add(payer)
        request_id = self.next_id()
        if amount > self.credit[payer]:
            with pytest.raises(BillingError) as refused:
                self.clinic.refund_payer_credit(
                    payer, dec(amount), method="Bank transfer", request_id=request_id
                )
            assert refused.value.code == Refusal.OVER_CREDIT
            return
        refund_id = self.clinic.refund_payer_credit(
            payer, dec(amount), method="Bank transfer", request_id=request_id, reason="Overpaid"
        )
        assert (
            self.clinic.refund_payer_credit(
                payer, dec(amount), method="Bank transfer", request_id=request_id, reason="Overpaid"
            )
            == refund_id
        )
        self.payments.append(refund_id)
        self.credit[payer] -= amount

    @precondition(lambda self: self.payers)
    @rule(data=st.data())
    def apply_payer_credit(self, data) -> None:
        """A payer's credit applied to its open invoices (as a patient's is)."""
        payer = data.draw(st.sampled_from(self.payers))
        preview = self.clinic.preview_credit_application(payer)
        assert preview.credit_available == Decimal(dec(self.credit[payer]))
        assert {line.invoice_id for line in preview.plan.lines} == set(self.open_invoices(payer))
        pay_id = self.clinic.apply_credit_to_open_invoices(payer, self.next_id(), preview)
        owed = sum(self.owed(i) for i in self.open_invoices(payer))
        assert (pay_id is None) == (not (self.credit[payer] and owed))
        self.applied_from_credit(preview, pay_id)

    @precondition(lambda self: self.payers and self.patients)
    @rule(data=st.data(), as_source=st.booleans())
    def paying_another_accounts_invoice_is_refused(self, data, as_source) -> None:
        """A patient's payment (or credit) on an invoice billed to a payer, a payer's on a
        patient's invoice or another payer's: refused, naming who the invoice is billed to."""
        account = data.draw(st.sampled_from(self.accounts()))
        others = sorted(i for i, owner in self.owner.items() if owner != account)
        if not others:
            return
        iid = data.draw(st.sampled_from(others))
        with pytest.raises(BillingError) as refused:
            if account in self.payers:
                self.clinic.preview_payer_payment(
                    account, sources={"Cash": "1.00"}, applied={iid: "0.01"}
                )
            elif as_source:
                self.clinic.preview_payment(account, sources={"Cash": "1.00"}, source_invoice=iid)
            else:
                self.clinic.preview_payment(
                    account, sources={"Cash": "1.00"}, applied={iid: "0.01"}
                )
        assert refused.value.code == Refusal.OTHER_PATIENT, refused.value

    @precondition(lambda self: self.payers and self.patients)
    @rule(data=st.data())
    def payers_take_no_credit_transfer(self, data) -> None:
        pid = data.draw(st.sampled_from(self.patients))
        payer = data.draw(st.sampled_from(self.payers))
        sender, receiver = data.draw(st.permutations([pid, payer]))
        with pytest.raises(BillingError) as refused:
            self.clinic.transfer_credit(
                sender, receiver, "0.01", reason="family", request_id=self.next_id()
            )
        assert refused.value.code == Refusal.BAD_CHOICE

    @rule(name=st.sampled_from(TYPES), mode=st.one_of(st.none(), st.sampled_from(AllocationMode)))
    def set_payment_type_mode(self, name, mode) -> None:
        """A payment type with its own allocation mode (None: the clinic's)."""
        self.clinic.set_payment_type_mode(name, mode)
        if mode is None:
            self.type_modes.pop(name, None)
        else:
            self.type_modes[name] = mode
        assert self.clinic.payment_type_modes() == self.type_modes

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def ledger_verifies(self) -> None:
        assert self.clinic.verify() == []

    @invariant()
    def reports_tie_out(self) -> None:
        aged = self.clinic.aged_receivables()
        owed = {a: sum(self.owed(i) for i in self.open_invoices(a)) for a in self.accounts()}
        assert aged.total == Decimal(dec(sum(owed.values())))
        assert {row.patient_id: row.total for row in aged.rows} == {
            account: Decimal(dec(amount)) for account, amount in owed.items() if amount
        }
        assert sum(aged.buckets, Decimal("0.00")) == aged.total
        self.report_checks += 1
        if self.report_checks % 8:  # the takings cross-check reads every payment: every 8th step
            return
        takings = self.clinic.takings(date(2000, 1, 1), date.today())
        records = [p for a in self.accounts() for p in self.clinic.payments(a) if not p.reversed]
        assert takings.net == sum((p.total for p in records), Decimal("0.00"))
        assert takings.received == takings.applied_from_money + takings.to_credit
        assert takings.applied_from_money == sum((p.money_applied for p in records), Decimal(0))
        assert takings.credit_applied == sum((p.credit_applied for p in records), Decimal(0))
        # The liability on any day equals each account's credit history summed to that day.
        histories = {a: self.clinic.credit_history(a) for a in self.accounts()}
        for day in (date(2026, 10, 31), date(2026, 11, 1), date.today()):
            held = {row.patient_id: row.credit for row in self.clinic.credit_liability(day).rows}
            for account, history in histories.items():
                expected = sum((m.change for m in history if m.day <= day), Decimal("0.00"))
                assert held.get(account, Decimal("0.00")) == expected, (day, account)
        today = self.clinic.credit_liability()
        assert today.total == Decimal(dec(sum(self.credit.values())))
        # Each account's statement over all time closes at what it owes less its credit.
        for account in self.accounts():
            statement = self.clinic.statement(account)
            closing = Decimal(dec(owed[account] - self.credit[account]))
            assert statement.closing_balance == closing, account
            assert statement.opening_balance == 0

    @invariant()
    def matches_the_shadow_model(self) -> None:
        figures = {}  # every account's record, as the desk reads it
        for record in self.clinic.patients_by_ids(self.patients):
            pid = record.id
            figures[pid] = record
            assert record.credit == Decimal(dec(self.credit[pid]))
            owed = sum(self.owed(i) for i in self.open_invoices(pid))
            assert record.outstanding == Decimal(dec(owed))
        for payer in self.touched & set(self.payers):  # a payer's figures change only so
            record = figures[payer] = self.clinic.payer(payer)
            assert record.credit == Decimal(dec(self.credit[payer]))
            owed = sum(self.owed(i) for i in self.open_invoices(payer))
            assert record.outstanding == Decimal(dec(owed))
        for account in self.touched:
            credit = Decimal(dec(self.credit[account]))
            history = self.clinic.credit_history(account)
            assert (history[-1].balance if history else Decimal("0.00")) == credit
            lots = self.clinic.credit_sources(account)
            assert sum((lot.remaining for lot in lots), Decimal("0.00")) == credit
            assert all(Decimal(0) <= lot.remaining <= lot.amount for lot in lots)
            invoices = self.clinic.invoices(account)
            # A patient's list: what they owe and what payers owe for them; a payer's: its own.
            assert {invoice.id for invoice in invoices} == {
                i
                for i, owner in [*self.owner.items(), *self.draft_account.items()]
                if account in (owner, self.for_patient.get(i), self.drafts.get(i))
            }, account
            for invoice in invoices:
                self.check_invoice(invoice)
            self.owes_and_pays_only_its_own(account, invoices, figures[account])
            if account in self.patients:
                assert [
                    (m.id, m.payer_id, m.default_for_invoices, m.valid_from, m.valid_to)
                    for m in self.clinic.memberships(account)
                ] == [
                    (mid, m[1], m[2], m[3], m[4])
                    for mid, m in sorted(self.memberships.items())
                    if m[0] == account
                ]
            else:
                assert [m.id for m in self.clinic.payer_members(account)] == sorted(
                    mid for mid, m in self.memberships.items() if m[1] == account
                )
        for payer_iid, gap_iid, payer, total, pid in self.splits:
            if self.touched & {payer, pid}:
                self.split_adds_up(payer_iid, gap_iid, payer, total)
        self.touched.clear()

    def check_invoice(self, invoice) -> None:
        """One invoice (or draft) as the shadow has it."""
        iid = invoice.id
        assert invoice.tax_inclusive == self.basis[iid]
        assert [(ln.discount, ln.net, ln.tax, ln.total) for ln in invoice.lines] == [
            tuple(Decimal(dec(cents)) for cents in dataclasses.astuple(line))
            for line in self.lines[iid]
        ]
        assert invoice.total == sum((ln.total for ln in invoice.lines), Decimal(0))
        assert invoice.claim_reference == self.claim[iid]
        assert invoice.split_with_id == self.split_with.get(iid)
        if iid in self.drafts:
            assert (invoice.status, invoice.number, invoice.balance) == ("draft", None, 0)
            assert (invoice.patient_id, invoice.account_id) == (
                self.drafts[iid],
                self.draft_account[iid],
            )
            return
        account = self.owner[iid]
        assert (invoice.patient_id, invoice.account_id) == (
            self.for_patient.get(iid, account),
            account,
        )
        assert invoice.payer_id == (account if account in self.payers else None)
        assert invoice.number == self.number[iid]
        assert invoice.total == Decimal(dec(self.total[iid]))
        assert (invoice.paid, invoice.credited) == (
            Decimal(dec(self.paid[iid])),
            Decimal(dec(self.credited[iid])),
        )
        expected = "void" if iid in self.void else "paid" if self.owed(iid) == 0 else "open"
        assert invoice.status == expected

    def owes_and_pays_only_its_own(self, account: int, invoices: list, figures) -> None:
        """Read from the clinic (the shadow only for credit notes and transfers): what the
        account owes is the balance of its own open invoices (a patient's never includes one
        billed to a payer; a payer's is its open-invoice list); each of its payments applies
        only to its own invoices (a patient's money never lands on a payer's invoice, a payer's
        never on another account's); what its payments applied is what its invoices were paid;
        and its credit is what its payments did not apply plus what its credit notes and
        transfers gave it."""
        own = {invoice.id: invoice for invoice in invoices if invoice.account_id == account}
        open_balance = sum((i.balance for i in own.values() if i.status == "open"), Decimal("0.00"))
        if account in self.payers:
            listed = self.clinic.payer_open_invoices(account)
            assert {i.id: i.balance for i in listed} == {
                i.id: i.balance for i in own.values() if i.status == "open"
            }
            assert all(i.patient_id == self.for_patient[i.id] for i in listed)
        assert figures.outstanding == open_balance, account
        applied = kept = Decimal("0.00")
        for payment in self.clinic.payments(account):
            assert payment.patient_id == account
            assert all(app.invoice_id in own for app in payment.applications), payment
            if not payment.reversed:
                applied += payment.money_applied + payment.credit_applied
                kept += payment.total - payment.money_applied - payment.credit_applied
        assert applied == sum((i.paid for i in own.values()), Decimal(0)), account
        notes = sum(n[3] for n in self.notes.values() if self.owner[n[0]] == account and not n[4])
        moved = sum(
            (t[2] if account == t[1] else -t[2])
            for t in self.transfers.values()
            if not t[3] and account in t[:2]
        )
        assert figures.credit == kept + Decimal(dec(notes + moved)), account

    def split_adds_up(
        self, payer_iid: int | None, gap_iid: int | None, payer: int, total: int
    ) -> None:
        """A split visit: the payer's invoice and the patient's gap invoice, linked, add up to
        the visit's lines (as corrected since)."""
        pair = [self.clinic.invoice(i) for i in (payer_iid, gap_iid) if i is not None]
        assert sum((i.total for i in pair), Decimal(0)) == Decimal(dec(total))
        if payer_iid is not None:
            assert pair[0].payer_id == payer
        if gap_iid is not None:
            assert (pair[-1].payer_id, pair[-1].split_with_id) == (None, payer_iid)


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
