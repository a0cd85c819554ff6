"""The allocation engine: how a payment and account credit are spread over open invoices.

Pure and deterministic: no I/O, no clock, standard library (and :mod:`.money`) only. Amounts are
integer minor units of the clinic's one currency.

Rules (docs/ledger-rules.md, "Allocation"):

* the pool is ``payment total + available credit``;
* amounts staff typed always win; the automatic mode distributes the rest of the pool over the
  invoices they did not touch, in the mode's order; ``OFF`` distributes nothing;
* no invoice gets more than its balance; typing more than the pool is refused;
* each invoice's amount is funded by the payment's money first (invoices taken in the mode's order,
  oldest first when the mode has none), then by credit; money not applied becomes credit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import NamedTuple

from .errors import BillingError, Refusal
from .money import AMOUNT_FIELD, DEFAULT_CURRENCY, format_amount


class AllocationMode(StrEnum):
    """The clinic-wide automatic allocation setting (Settings > Finances > Invoices)."""

    OLDEST_FIRST = "oldest_first"
    NEWEST_FIRST = "newest_first"
    SOURCE_INVOICE = "source_invoice"
    OFF = "off"

    @property
    def label(self) -> str:
        """How the setting reads in the settings pane."""
        return _MODE_LABELS[self]


_MODE_LABELS = {
    AllocationMode.OLDEST_FIRST: "Oldest invoice first",
    AllocationMode.NEWEST_FIRST: "Newest invoice first",
    AllocationMode.SOURCE_INVOICE: "Only the invoice being paid",
    AllocationMode.OFF: "Off (allocate by hand)",
}


class OpenInvoice(NamedTuple):
    """What the engine needs to know of one open invoice.

    Named tuples rather than frozen dataclasses here and in :class:`PlanLine`: both are built a
    thousand at a time on every preview of a busy patient, and a tuple builds several times faster.
    """

    id: int
    number: int
    issue_date: date
    balance: int


class PlanLine(NamedTuple):
    """The outcome for one open invoice (immutable, like every plan)."""

    invoice_id: int
    number: int
    issue_date: date
    balance: int
    applied: int
    from_money: int
    from_credit: int
    typed: bool

    @property
    def balance_after(self) -> int:
        """What the invoice will still owe after saving."""
        return self.balance - self.applied

    @property
    def closes(self) -> bool:
        """Whether saving makes the invoice paid."""
        return self.applied > 0 and self.applied == self.balance


@dataclass(frozen=True, slots=True)
class AllocationPlan:
    """Exactly what saving a payment will do. Lines are in the patient's invoice order."""

    mode: AllocationMode
    source_invoice: int | None
    payment_total: int
    credit_available: int
    lines: tuple[PlanLine, ...]
    applied_total: int = field(init=False)
    money_applied: int = field(init=False)
    credit_used: int = field(init=False)
    to_credit: int = field(init=False)
    credit_after: int = field(init=False)

    def __post_init__(self) -> None:
        applied = sum(line.applied for line in self.lines)
        money = sum(line.from_money for line in self.lines)
        credit = sum(line.from_credit for line in self.lines)
        object.__setattr__(self, "applied_total", applied)
        object.__setattr__(self, "money_applied", money)
        object.__setattr__(self, "credit_used", credit)
        object.__setattr__(self, "to_credit", self.payment_total - money)
        object.__setattr__(self, "credit_after", self.credit_available - credit + self.to_credit)

    @property
    def closes(self) -> frozenset[int]:
        """Ids of the invoices that become paid."""
        return frozenset(line.invoice_id for line in self.lines if line.closes)

    @property
    def is_empty(self) -> bool:
        """True when saving would change nothing: no money and nothing applied."""
        return self.payment_total == 0 and self.applied_total == 0

    def line(self, invoice_id: int) -> PlanLine:
        """The line of one invoice (``KeyError`` if it is not an open invoice of the patient)."""
        for candidate in self.lines:
            if candidate.invoice_id == invoice_id:
                return candidate
        raise KeyError(invoice_id)


def _oldest_key(invoice: OpenInvoice) -> tuple[date, int]:
    return (invoice.issue_date, invoice.number)


def fill_order(
    oldest: Sequence[OpenInvoice], mode: AllocationMode, source_invoice: int | None
) -> list[OpenInvoice]:
    """The invoices the automatic mode fills, in the order it fills them.

    Args:
        oldest: the open invoices sorted oldest first (issue date, then number).
    """
    if mode is AllocationMode.OLDEST_FIRST:
        return list(oldest)
    if mode is AllocationMode.NEWEST_FIRST:
        return list(reversed(oldest))
    if mode is AllocationMode.SOURCE_INVOICE:
        return [inv for inv in oldest if inv.id == source_invoice]
    return []


def funding_order(
    oldest: Sequence[OpenInvoice], mode: AllocationMode, source_invoice: int | None
) -> list[OpenInvoice]:
    """The order in which the payment's money reaches invoices (credit covers the rest).

    Args:
        oldest: the open invoices sorted oldest first (issue date, then number).
    """
    if mode is AllocationMode.NEWEST_FIRST:
        return list(reversed(oldest))
    if mode is AllocationMode.SOURCE_INVOICE and source_invoice is not None:
        return [inv for inv in oldest if inv.id == source_invoice] + [
            inv for inv in oldest if inv.id != source_invoice
        ]
    return list(oldest)


def allocate(
    invoices: Sequence[OpenInvoice],
    *,
    payment_total: int,
    credit_available: int,
    mode: AllocationMode,
    typed: Mapping[int, int] | None = None,
    source_invoice: int | None = None,
    currency: str = DEFAULT_CURRENCY,
) -> AllocationPlan:
    """Plan how a payment and the patient's credit go to their open invoices.

    Args:
        invoices: the patient's open invoices (balance > 0), any order.
        payment_total: the new payment's money (sum of its sources), >= 0.
        credit_available: the patient's account credit before this payment, >= 0.
        mode: the automatic allocation mode.
        typed: amounts staff typed per invoice id; they win over the mode (0 excludes an invoice).
        source_invoice: the invoice the payment was entered from, if any.
        currency: for amounts in error messages.

    Returns:
        The plan; with an automatic mode, typed amounts plus what the mode filled in.

    Raises:
        BillingError: a typed amount is negative (``bad_amount``), above its invoice's balance
            (``over_balance``), for an invoice that is not open (``not_open``), or the typed total
            is more than the payment plus the available credit (``over_available``). A refusal of
            a typed amount names the ``"amount"`` field.
    """
    typed = dict(typed or {})
    by_id = {inv.id: inv for inv in invoices}
    if len(by_id) != len(invoices):
        raise ValueError("Each open invoice must appear once.")
    if any(inv.balance <= 0 for inv in invoices):
        raise ValueError("Open invoices have a positive balance.")
    if payment_total < 0 or credit_available < 0:
        raise ValueError("Payment total and available credit cannot be negative.")
    if source_invoice is not None and source_invoice not in by_id:
        raise BillingError(
            "The invoice this payment was entered from is not open any more.",
            code=Refusal.NOT_OPEN,
        )

    def money(minor: int) -> str:
        return format_amount(minor, currency)

    for invoice_id, amount in typed.items():
        invoice = by_id.get(invoice_id)
        if invoice is None:
            raise BillingError(
                f"Invoice {invoice_id} is not one of this patient's open invoices; "
                "nothing can be applied to it.",
                code=Refusal.NOT_OPEN,
            )
        if amount < 0:
            raise BillingError(
                f"Invoice #{invoice.number}: an applied amount cannot be negative.",
                code=Refusal.BAD_AMOUNT,
                field=AMOUNT_FIELD,
            )
        if amount > invoice.balance:
            raise BillingError(
                f"Invoice #{invoice.number}: {money(amount)} is more than its balance of "
                f"{money(invoice.balance)}.",
                code=Refusal.OVER_BALANCE,
                field=AMOUNT_FIELD,
            )
    pool = payment_total + credit_available
    typed_total = sum(typed.values())
    if typed_total > pool:
        raise BillingError(
            f"{money(typed_total)} applied but only {money(pool)} available "
            f"({money(payment_total)} payment + {money(credit_available)} account credit). "
            "Lower the amounts or add to the payment.",
            code=Refusal.OVER_AVAILABLE,
            field=AMOUNT_FIELD,
        )

    oldest = sorted(invoices, key=_oldest_key)
    applied = dict(typed)
    remaining = pool - typed_total
    for invoice in fill_order(oldest, mode, source_invoice):
        if remaining == 0:
            break
        if invoice.id in applied:
            continue
        amount = min(invoice.balance, remaining)
        applied[invoice.id] = amount
        remaining -= amount

    money_left = payment_total
    funded: dict[int, int] = {}
    for invoice in funding_order(oldest, mode, source_invoice):
        from_money = min(applied.get(invoice.id, 0), money_left)
        funded[invoice.id] = from_money
        money_left -= from_money

    lines = tuple(
        PlanLine(
            inv.id,
            inv.number,
            inv.issue_date,
            inv.balance,
            applied.get(inv.id, 0),
            funded[inv.id],
            applied.get(inv.id, 0) - funded[inv.id],
            inv.id in typed,
        )
        for inv in oldest
    )
    return AllocationPlan(
        mode=mode,
        source_invoice=source_invoice,
        payment_total=payment_total,
        credit_available=credit_available,
        lines=lines,
    )
