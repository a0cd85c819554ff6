"""Frozen rows the API hands out. They hold no database objects, so they survive any commit.

Amounts are ``Decimal`` quantized to the currency's minor unit; ``*_minor`` twins keep the exact
integers for code that computes with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .allocation import AllocationMode, AllocationPlan, PlanLine
from .kinds import InvoiceStatus
from .money import to_decimal


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """A patient with their account credit and what they owe on open invoices, and their
    details (``domain.patient_details``; None where not given)."""

    id: int
    first_name: str
    last_name: str
    credit: Decimal
    outstanding: Decimal
    title: str | None = None
    preferred_name: str | None = None
    date_of_birth: date | None = None
    mobile: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    city: str | None = None
    region: str | None = None
    postcode: str | None = None
    country: str | None = None
    notes: str | None = None
    concession: str | None = None
    invoice_to: str | None = None
    invoice_extra: str | None = None
    #: Archived: out of lists and searches; no new invoice or payment (history kept).
    archived: bool = False
    archive_reason: str | None = None
    #: The patient this one was merged into (it is archived since), or None.
    merged_into: int | None = None

    @property
    def full_name(self) -> str:
        """First and last name (a payer's account: the payer's name)."""
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def postal_lines(self) -> list[str]:
        """The postal address as printed on an envelope: name, address lines, then city, region
        and postcode on one line, then the country code (empty when no address is kept)."""
        if not (self.address or self.city or self.postcode):
            return []
        name = " ".join(p for p in (self.title, self.first_name, self.last_name) if p)
        lines = [name, *(self.address or "").splitlines()]
        town = " ".join(p for p in (self.city, self.region, self.postcode) if p)
        if town:
            lines.append(town)
        if self.country:
            lines.append(self.country)
        return [line for line in lines if line.strip()]


@dataclass(frozen=True, slots=True)
class MergePreview:
    """What merging a duplicate patient (``merge``) into the one kept (``keep``) will do: the
    records that move, the transfers between the two that are cancelled, the details the kept
    patient gains, and the kept patient's credit and outstanding balance after it. Passed back
    to ``merge_patients``, it is refused if anything changed since."""

    keep: PatientRecord
    merge: PatientRecord
    invoice_numbers: tuple[int, ...]
    payment_ids: tuple[int, ...]
    refund_ids: tuple[int, ...]
    credit_note_numbers: tuple[int, ...]
    transfer_ids: tuple[int, ...]
    cancelled_transfer_ids: tuple[int, ...]
    filled: dict[str, object]
    credit: Decimal
    outstanding: Decimal


@dataclass(frozen=True, slots=True)
class ClinicSummary:
    """Headline figures of the whole clinic."""

    clinic_name: str
    currency: str
    patients: int
    open_invoices: int
    outstanding: Decimal
    credit_held: Decimal


@dataclass(frozen=True, slots=True)
class CreditMovement:
    """One change to a patient's account credit, with the balance after it."""

    day: date
    description: str
    change: Decimal
    balance: Decimal
    payment_id: int | None


@dataclass(frozen=True, slots=True)
class CreditUse:
    """Something that used part of a lot of credit: an invoice, a refund, a transfer."""

    day: date
    description: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class CreditLot:
    """Credit from one origin and what became of it.

    ``origin`` is ``"payment"``, ``"credit_note"`` or ``"transfer"`` (``origin_id`` its id).
    Credit is spent oldest lot first; ``remaining`` of all lots adds up to the patient's credit.
    """

    origin: str
    origin_id: int
    day: date
    description: str
    amount: Decimal
    remaining: Decimal
    uses: tuple[CreditUse, ...]

    @property
    def used(self) -> Decimal:
        """How much of the lot has been used."""
        return self.amount - self.remaining


@dataclass(frozen=True, slots=True)
class CreditNoteRecord:
    """A credit note: ``applied`` reduced what the invoice owed, ``to_credit`` became credit."""

    id: int
    number: int
    invoice_id: int
    invoice_number: int
    patient_id: int
    note_date: date
    amount: Decimal
    applied: Decimal
    to_credit: Decimal
    reason: str
    reversed: bool


@dataclass(frozen=True, slots=True)
class TransferRecord:
    """Account credit moved from one patient to another."""

    id: int
    from_patient_id: int
    from_name: str
    to_patient_id: int
    to_name: str
    transfer_date: date
    amount: Decimal
    reason: str
    reversed: bool


@dataclass(frozen=True, slots=True)
class InvoiceLineRecord:
    """One line as saved: ``amount`` (also ``total``) includes tax, ``net`` excludes it; the
    discount is in money (``discount_percent`` is the percentage it was typed as, if one)."""

    description: str
    unit_price: Decimal
    quantity: Decimal
    tax_rate: Decimal
    tax: Decimal
    amount: Decimal
    net: Decimal = Decimal(0)
    discount: Decimal = Decimal(0)
    discount_percent: Decimal | None = None
    item_id: int | None = None
    item_code: str | None = None

    @property
    def total(self) -> Decimal:
        """The line's total, tax included (the same as ``amount``)."""
        return self.amount


@dataclass(frozen=True, slots=True)
class InvoiceRecord:
    """An invoice. ``balance`` is ``total - paid - credited`` (0 for a void invoice).

    ``overdue``: open, and its due date was before the day it was read.

    ``credited`` is the part of its credit notes that reduced what it owed.
    """

    id: int
    #: None while a draft.
    number: int | None
    patient_id: int
    issue_date: date
    due_date: date | None
    total: Decimal
    paid: Decimal
    balance: Decimal
    status: str
    lines: tuple[InvoiceLineRecord, ...]
    credited: Decimal = Decimal(0)
    #: Open and past its due date on the day it was read (derived, never stored).
    overdue: bool = False
    #: Whether its prices include tax (the basis it was made with).
    tax_inclusive: bool = False
    practitioner_id: int | None = None
    service_date: date | None = None
    #: The payer it is billed to (None: the patient ``patient_id`` owes it).
    payer_id: int | None = None
    claim_reference: str | None = None
    #: The invoice it was split with (split billing: the payer's and the patient's gap).
    split_with_id: int | None = None

    @property
    def account_id(self) -> int:
        """The account that owes it: the payer's when billed to one, else the patient's."""
        return self.patient_id if self.payer_id is None else self.payer_id

    @property
    def tax_total(self) -> Decimal:
        """The tax of all its lines."""
        return sum((line.tax for line in self.lines), Decimal(0))

    @property
    def is_draft(self) -> bool:
        """Whether it is a draft (no number, in no balance)."""
        return self.status == InvoiceStatus.DRAFT

    @property
    def is_open(self) -> bool:
        """Whether something is still owed."""
        return self.status == InvoiceStatus.OPEN

    @property
    def shown_status(self) -> str:
        """``overdue`` for an overdue invoice, else its status (``open``, ``paid``, ``void``)."""
        return "overdue" if self.overdue else self.status


@dataclass(frozen=True, slots=True)
class ApplicationRecord:
    """An amount a payment applied to an invoice, split into money and credit."""

    id: int
    invoice_id: int
    invoice_number: int
    amount: Decimal
    from_money: Decimal
    from_credit: Decimal
    removed: bool


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """A saved payment or refund.

    ``total`` is the money received (negative for a refund); ``money_applied`` and
    ``credit_applied`` split what its live applications paid into new money and account credit.
    A payment made wholly from credit shows ``total == money_applied == 0``.
    """

    id: int
    patient_id: int
    kind: str
    payment_date: date
    total: Decimal
    money_applied: Decimal
    credit_applied: Decimal
    sources: dict[str, Decimal]
    applications: tuple[ApplicationRecord, ...]
    reversed: bool
    request_id: str
    note: str | None
    #: A payer's remittance reference (None for a patient's payment).
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentPreview:
    """Exactly what saving a payment will do; pass it to ``Clinic.record_payment`` to save it.

    The amounts are views of the allocation ``plan`` (integer minor units) as Decimals.
    ``applied`` and ``from_credit`` list the invoices that receive something; ``balance_after``
    lists every open invoice of the patient.
    """

    patient_id: int
    currency: str
    payment_date: date
    sources_minor: tuple[tuple[str, int], ...]
    typed_minor: tuple[tuple[int, int], ...]
    plan: AllocationPlan
    #: A payer's remittance reference (None for a patient's payment).
    reference: str | None = None

    def _d(self, minor: int) -> Decimal:
        return to_decimal(minor, self.currency)

    @property
    def mode(self) -> AllocationMode:
        """The automatic allocation mode the preview used."""
        return self.plan.mode

    @property
    def source_invoice(self) -> int | None:
        """The invoice the payment was entered from, if any."""
        return self.plan.source_invoice

    @property
    def sources(self) -> dict[str, Decimal]:
        """Amount per payment type (only the ones with an amount)."""
        return {name: self._d(minor) for name, minor in self.sources_minor}

    @property
    def payment_total(self) -> Decimal:
        """The new money: the sum of the sources (may be 0)."""
        return self._d(self.plan.payment_total)

    @property
    def credit_available(self) -> Decimal:
        """The patient's account credit before saving."""
        return self._d(self.plan.credit_available)

    @property
    def credit_used(self) -> Decimal:
        """Account credit this payment applies to invoices."""
        return self._d(self.plan.credit_used)

    @property
    def money_applied(self) -> Decimal:
        """The part of the new money applied to invoices."""
        return self._d(self.plan.money_applied)

    @property
    def to_credit(self) -> Decimal:
        """New money not applied to any invoice: it becomes account credit."""
        return self._d(self.plan.to_credit)

    @property
    def credit_after(self) -> Decimal:
        """The patient's account credit after saving."""
        return self._d(self.plan.credit_after)

    @property
    def applied(self) -> dict[int, Decimal]:
        """Invoice id -> amount applied (typed plus filled in), for invoices that get something."""
        return {ln.invoice_id: self._d(ln.applied) for ln in self.plan.lines if ln.applied}

    @property
    def from_credit(self) -> dict[int, Decimal]:
        """Invoice id -> the part of its amount paid from account credit."""
        return {ln.invoice_id: self._d(ln.from_credit) for ln in self.plan.lines if ln.from_credit}

    @property
    def balance_after(self) -> dict[int, Decimal]:
        """Invoice id -> balance after saving, for every open invoice of the patient."""
        return {ln.invoice_id: self._d(ln.balance_after) for ln in self.plan.lines}

    @property
    def closes(self) -> set[int]:
        """Ids of the invoices that become paid."""
        return set(self.plan.closes)

    @property
    def lines(self) -> tuple[PlanLine, ...]:
        """Per open invoice: balance, applied, from money, from credit (minor units)."""
        return self.plan.lines

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to save (no money and nothing applied)."""
        return self.plan.is_empty

    @property
    def leaves_credit_with_open_invoices(self) -> bool:
        """Money would go to credit while an invoice of the patient stays open."""
        return self.plan.to_credit > 0 and any(ln.balance_after > 0 for ln in self.plan.lines)


@dataclass(frozen=True, slots=True)
class BillableItemRecord:
    """A catalogue item: ``price`` is its usual price, ``concession_prices`` its price by
    concession type; ``tax_rate`` is a percentage."""

    id: int
    code: str
    name: str
    kind: str
    price: Decimal
    tax_rate: Decimal
    concession_prices: dict[str, Decimal]
    archived: bool = False

    def price_for(self, concession: str | None) -> Decimal:
        """The price for a patient of ``concession`` (their type, matched regardless of case),
        or the usual price."""
        if concession:
            for name, price in self.concession_prices.items():
                if name.casefold() == concession.strip().casefold():
                    return price
        return self.price


@dataclass(frozen=True, slots=True)
class RevenueRow:
    """One practitioner's or billable item's figures over invoices issued in a period.

    ``invoiced`` includes tax, ``invoiced_ex_tax`` excludes it; ``credited``, ``paid`` and
    ``outstanding`` share each invoice's credit notes, payments and balance among its lines in
    proportion to their totals (an invoice's own practitioner takes all of it). ``practitioner_id``
    or ``item_id`` is None for invoices or lines without one."""

    practitioner_id: int | None
    item_id: int | None
    name: str
    invoiced: Decimal
    invoiced_ex_tax: Decimal
    credited: Decimal
    paid: Decimal
    outstanding: Decimal
    invoices: int
