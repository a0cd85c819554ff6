"""What printed documents say: an invoice, a payment receipt and a patient statement.

The core works out every figure (headless and tested); the printing layer only lays them out.

* A **receipt** shows where the money came from (each payment type), what it paid (money applied
  and account credit applied, invoice by invoice), what was left as credit, and the patient's
  account credit just before and just after the payment was saved.
* A **statement** lists, for a period, everything that changed what the patient owes the clinic:
  invoices (and voids), payments, refunds, credit notes and credit transfers (and their reversals),
  with a running balance. The balance is what the patient owes *less* their account credit, so a
  negative balance is credit held (printed as "credit"). Account credit applied to an invoice
  moves money within the account and leaves the balance unchanged; the statement lists it anyway,
  so the patient sees which invoices their credit paid. Over all time up to today the closing
  balance equals ``outstanding - credit`` of the patient, the figures verify checks. A draft
  invoice is on no statement: it is in no balance until it is issued.
* An **invoice** document carries its lines as saved (item code, quantity, discount, net, tax and
  total), the tax per rate, the practitioner's name and the tax's name from the settings; a draft
  has no number (the printing layer marks it as a draft).

Third-party payers (:mod:`desktop_app.core.managers.payers`):

* An invoice billed to a payer is addressed to the payer (its name, postal address and email)
  and names the patient it is for: name, date of birth when known, member number (from the
  patient's membership of that payer) and the claim reference under the payer's own label.
* A remittance's receipt is the payer's: received from the payer, with its reference, and each
  invoice it paid with the patient the invoice is for.
* A patient's statement leaves invoices billed to a payer out of the patient's balance and lists
  them apart, payer by payer ("Billed to Bupa"): those issued in the period, and under a
  statement to today those still open.
* A **payer statement** is a statement of the payer's account: its invoices (each with the
  patient and claim reference), remittances, refunds and credit notes, with the opening and
  closing balance (what the payer owes less its credit) and its open invoices.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ..db.models import (
    Application,
    CreditNote,
    CreditTransfer,
    Invoice,
    Membership,
    Patient,
    Payer,
    Payment,
    Staff,
)
from ..domain.addressing import recipient_lines
from ..domain.errors import BillingError, NotFoundError, Refusal
from ..domain.invoicing import issued
from ..domain.kinds import InvoiceStatus, PaymentKind
from ..domain.letterhead import Letterhead
from ..domain.money import to_decimal
from ..domain.patient_details import DETAILS
from ..domain.payers import PayerRecord
from ..domain.records import CreditNoteRecord, InvoiceRecord, PatientRecord, PaymentRecord
from ..ledger import credit_trace, read_models
from ..ledger import settings as stored
from ..ledger.audit import as_utc, local_day
from ..ledger.merge import not_cancelled_by_merge
from .accounts import payer_record


@dataclass(frozen=True, slots=True)
class InvoicePaymentLine:
    """A payment's live application to an invoice, as the invoice document lists it."""

    payment_id: int
    day: date
    amount: Decimal
    from_money: Decimal
    from_credit: Decimal


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """An invoice as printed: its lines and totals, what paid it and what it still owes."""

    letterhead: Letterhead
    currency: str
    patient: PatientRecord
    invoice: InvoiceRecord
    subtotal: Decimal
    tax: Decimal
    payments: tuple[InvoicePaymentLine, ...]
    credit_notes: tuple[CreditNoteRecord, ...]
    #: The address block (``domain.addressing``): "Invoice to" or the postal address; empty:
    #: the patient has neither.
    recipient: tuple[str, ...] = ()
    #: The name of the practitioner who provided the service (empty: none recorded).
    practitioner: str = ""
    #: The tax's name from the clinic's settings ("GST"; empty when none is set).
    tax_name: str = ""
    #: The payer it is billed to (None: the patient owes it); ``patient`` is then the patient
    #: it is for, and the address block the payer's.
    payer: PayerRecord | None = None
    #: The patient's member number with the payer (from their membership; None: none kept).
    member_number: str | None = None

    @property
    def claim_label(self) -> str:
        """What the payer calls the claim reference ("Claim number"; "Claim" without a
        payer)."""
        return self.payer.reference_label if self.payer is not None else "Claim"

    @property
    def extra(self) -> str:
        """The patient's "Extra information" for invoices (claim numbers, referring doctor)."""
        return self.patient.invoice_extra or ""

    @property
    def tax_label(self) -> str:
        """What the tax is called on the invoice: its name from settings, else "Tax"."""
        return self.tax_name or "Tax"

    @property
    def tax_by_rate(self) -> tuple[tuple[Decimal, Decimal], ...]:
        """``(rate %, tax)`` for each tax rate above zero on the invoice's lines, lowest rate
        first: the lines' own rounded taxes added up, so they total :attr:`tax`."""
        by_rate: dict[Decimal, Decimal] = {}
        for line in self.invoice.lines:
            if line.tax_rate > 0:
                rate = line.tax_rate.normalize()
                by_rate[rate] = by_rate.get(rate, Decimal(0)) + line.tax
        return tuple(sorted(by_rate.items()))


@dataclass(frozen=True, slots=True)
class ReceiptDocument:
    """A payment receipt: sources, money and credit applied per invoice, credit left over.

    ``credit_before``/``credit_after`` are the patient's account credit just before and just after
    the payment was saved (a later removal or reversal does not rewrite them).
    """

    letterhead: Letterhead
    currency: str
    patient: PatientRecord
    payment: PaymentRecord
    to_credit: Decimal
    credit_before: Decimal
    credit_after: Decimal
    #: What the payment applied when it was saved (its applications removed since included, so
    #: a reprint says what the first print said; ``payment`` has today's figures).
    money_applied: Decimal = Decimal(0)
    credit_applied: Decimal = Decimal(0)
    #: The address block, as on the invoice.
    recipient: tuple[str, ...] = ()
    #: A remittance's payer (None: a patient's payment), and the payer's reference for it.
    payer: PayerRecord | None = None
    reference: str | None = None
    #: The patient each invoice the payment applied to is for (a remittance pays invoices of
    #: many patients), in the order of ``payment.applications``.
    billed_for: tuple[BilledFor, ...] = ()

    def patient_of(self, invoice_id: int) -> BilledFor | None:
        """Who invoice ``invoice_id`` (one the payment applied to) is for, when billed to a
        payer."""
        return next((b for b in self.billed_for if b.invoice_id == invoice_id), None)


@dataclass(frozen=True, slots=True)
class BilledFor:
    """An invoice billed to a payer: the patient it is for and the claim reference."""

    invoice_id: int
    patient_id: int
    patient_name: str
    claim_reference: str | None


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One line of a statement: a charge (positive ``change``), a payment or credit (negative),
    or a note that changes nothing (credit applied to an invoice, ``change == 0``).

    Kept in minor units; the Decimal amounts are made when read (a busy patient's statement has
    thousands of lines).
    """

    day: date
    description: str
    change_minor: int
    balance_minor: int
    note_minor: int
    currency: str
    #: On a payer statement: the patient the line's invoice is for, and its claim reference
    #: (or the remittance's reference).
    patient: str = ""
    reference: str = ""

    @property
    def change(self) -> Decimal:
        """What the line adds to the balance (negative: lowers it)."""
        return to_decimal(self.change_minor, self.currency)

    @property
    def balance(self) -> Decimal:
        """The balance after the line: owed less credit (negative: credit held)."""
        return to_decimal(self.balance_minor, self.currency)

    @property
    def note(self) -> Decimal:
        """Account credit applied to an invoice (a line that leaves the balance as it was)."""
        return to_decimal(self.note_minor, self.currency)


@dataclass(frozen=True, slots=True)
class OpenInvoiceLine:
    """An invoice still open, as a statement lists it (what it still owes today)."""

    id: int
    number: int
    issue_date: date
    total_minor: int
    owed_minor: int
    currency: str

    @property
    def total(self) -> Decimal:
        """The invoice's total."""
        return to_decimal(self.total_minor, self.currency)

    @property
    def balance(self) -> Decimal:
        """What it still owes."""
        return to_decimal(self.owed_minor, self.currency)


@dataclass(frozen=True, slots=True)
class StatementDocument:
    """A patient's statement for ``start`` to ``end`` (``start`` None: from the first record).

    Balances are owed less credit: negative means the clinic holds the patient's credit.
    ``open_invoices`` is filled in only for a statement to today (it lists today's balances).
    """

    letterhead: Letterhead
    currency: str
    patient: PatientRecord
    start: date | None
    end: date
    opening_balance: Decimal
    lines: tuple[StatementLine, ...]
    closing_balance: Decimal
    charges: Decimal
    payments_and_credits: Decimal
    credit_applied: Decimal
    open_invoices: tuple[OpenInvoiceLine, ...]
    #: The address block, as on the invoice.
    recipient: tuple[str, ...] = ()
    #: Invoices for the patient billed to payers (issued in the period, and under a statement
    #: to today those still open), by payer then date: in none of the balances above.
    billed_to_payers: tuple[PayerBilledInvoice, ...] = ()

    @property
    def payers_billed(self) -> tuple[tuple[str, tuple[PayerBilledInvoice, ...]], ...]:
        """:attr:`billed_to_payers` grouped by payer: ``(payer's name, its invoices)``."""
        groups: dict[str, list[PayerBilledInvoice]] = {}
        for invoice in self.billed_to_payers:
            groups.setdefault(invoice.payer_name, []).append(invoice)
        return tuple((name, tuple(rows)) for name, rows in groups.items())


@dataclass(frozen=True, slots=True)
class PayerBilledInvoice:
    """An invoice for the patient billed to a payer, as the patient's statement lists it."""

    id: int
    number: int
    issue_date: date
    payer_id: int
    payer_name: str
    reference_label: str
    claim_reference: str | None
    status: str
    total_minor: int
    owed_minor: int
    currency: str

    @property
    def total(self) -> Decimal:
        """The invoice's total."""
        return to_decimal(self.total_minor, self.currency)

    @property
    def balance(self) -> Decimal:
        """What the payer still owes on it (0 once paid or void)."""
        return to_decimal(
            self.owed_minor if self.status == InvoiceStatus.OPEN else 0, self.currency
        )


@dataclass(frozen=True, slots=True)
class PayerOpenInvoice(OpenInvoiceLine):
    """An open invoice of a payer, as its statement lists it: the patient and claim too."""

    patient_name: str = ""
    claim_reference: str | None = None


@dataclass(frozen=True, slots=True)
class PayerStatementDocument:
    """A payer's statement for ``start`` to ``end`` (``start`` None: from the first record).

    As a patient's: balances are what the payer owes less its credit (negative: the clinic holds
    the payer's credit); each line names the patient its invoice is for and the claim reference
    (a remittance its reference). ``open_invoices`` is filled in only for a statement to today.
    """

    letterhead: Letterhead
    currency: str
    payer: PayerRecord
    start: date | None
    end: date
    opening_balance: Decimal
    lines: tuple[StatementLine, ...]
    closing_balance: Decimal
    charges: Decimal
    payments_and_credits: Decimal
    credit_applied: Decimal
    open_invoices: tuple[PayerOpenInvoice, ...]
    #: The payer's name, postal address and email.
    recipient: tuple[str, ...] = ()


def payer_recipient(payer: PayerRecord) -> tuple[str, ...]:
    """The address block of a document sent to a payer: its name, its postal address line by
    line, then its email."""
    lines = [payer.name, *(payer.address or "").splitlines(), payer.email or ""]
    return tuple(line.strip() for line in lines if line.strip())


def patient_name(first: str, last: str) -> str:
    """A patient as documents name them: "Ada Lovelace"."""
    return f"{first} {last}".strip()


def patient_record(session: Session, patient_id: int, currency: str) -> PatientRecord:
    """One patient as the API hands it out, details included, or NotFoundError."""
    row = session.get(Patient, patient_id) if isinstance(patient_id, int) else None
    if row is None:
        raise NotFoundError(f"There is no patient {patient_id!r}.")
    return PatientRecord(
        row.id,
        row.first_name,
        row.last_name,
        to_decimal(row.credit_minor, currency),
        to_decimal(row.outstanding_minor, currency),
        **{name: getattr(row, name) for name in DETAILS},
        archived=row.archived_at is not None,
        archive_reason=row.archive_reason,
        merged_into=row.merged_into,
    )


def invoice_document(
    session: Session, letterhead: Letterhead, currency: str, invoice_id: int
) -> InvoiceDocument:
    """The invoice ``invoice_id`` as printed."""
    row = session.get(Invoice, invoice_id) if isinstance(invoice_id, int) else None
    if row is None:
        raise NotFoundError(f"There is no invoice {invoice_id!r}.")
    lines = read_models.lines_by_invoice(session, [row.id]).get(row.id, [])
    record = read_models.invoice_record(row, lines, currency)
    payments = tuple(
        InvoicePaymentLine(
            app.payment_id,
            day,
            to_decimal(app.amount_minor, currency),
            to_decimal(app.from_money_minor, currency),
            to_decimal(app.from_credit_minor, currency),
        )
        for app, day in session.execute(
            select(Application, Payment.payment_date)
            .join(Payment, Payment.id == Application.payment_id)
            .where(Application.invoice_id == row.id, Application.removed_at.is_(None))
            .order_by(Payment.payment_date, Application.id)
        )
    )
    notes = tuple(
        note
        for note in read_models.credit_note_records(
            session, CreditNote.invoice_id == row.id, currency
        )
        if not note.reversed
    )
    # Billed to a payer: addressed to the payer, naming the patient it is for.
    payer = None if row.for_patient_id is None else payer_record(session, row.patient_id, currency)
    patient = patient_record(session, record.patient_id, currency)
    practitioner = None if row.practitioner_id is None else session.get(Staff, row.practitioner_id)
    return InvoiceDocument(
        letterhead=letterhead,
        currency=currency,
        patient=patient,
        invoice=record,
        subtotal=sum((ln.amount - ln.tax for ln in record.lines), Decimal(0)),
        tax=sum((ln.tax for ln in record.lines), Decimal(0)),
        payments=payments,
        credit_notes=notes,
        recipient=(
            recipient_lines(patient, letterhead.country_code)
            if payer is None
            else payer_recipient(payer)
        ),
        practitioner="" if practitioner is None else practitioner.full_name,
        tax_name=stored.optional_setting(session, "tax_name"),
        payer=payer,
        member_number=None
        if payer is None
        else member_number(session, patient.id, payer.id, row.service_date or row.issue_date),
    )


def member_number(session: Session, patient_id: int, payer_id: int, day: date) -> str | None:
    """The patient's member number with the payer: of their membership valid on ``day``, else of
    their latest membership of that payer (None: no membership, or none with a number)."""
    numbers = [
        (number, (start is None or start <= day) and (end is None or day <= end))
        for number, start, end in session.execute(
            select(Membership.member_number, Membership.valid_from, Membership.valid_to)
            .where(
                Membership.patient_id == patient_id,
                Membership.payer_id == payer_id,
                Membership.removed_at.is_(None),
                Membership.member_number.is_not(None),
            )
            .order_by(Membership.id.desc())
        )
    ]
    valid = [number for number, on_day in numbers if on_day]
    return (valid or [number for number, _ in numbers] or [None])[0]


def receipt_document(
    session: Session, letterhead: Letterhead, currency: str, payment_id: int
) -> ReceiptDocument:
    """The receipt of payment (or refund) ``payment_id``."""
    row = session.get(Payment, payment_id) if isinstance(payment_id, int) else None
    if row is None:
        raise NotFoundError(f"There is no payment {payment_id!r}.")
    record = read_models.payment_records(session, [row], currency)[0]
    events = credit_trace.patient_events(session, row.patient_id, currency)
    saved = as_utc(row.created_at)
    before = sum(e.change for e in events if as_utc(e.at) < saved)
    # The payment's own save: credit left over (order 1), credit applied (2), a refund (0).
    # Later removals and its reversal (orders 3 and up) happened after the receipt's moment.
    after = before + sum(
        e.change for e in events if e.payment_id == row.id and e.order[1] <= _SAVED_WITH_PAYMENT
    )
    money_applied = sum((a.from_money for a in record.applications), Decimal(0))
    credit_applied = sum((a.from_credit for a in record.applications), Decimal(0))
    patient = patient_record(session, row.patient_id, currency)
    payer = payer_record(session, row.patient_id, currency)
    billed_for: tuple[BilledFor, ...] = ()
    if payer is not None and record.applications:
        found = {
            iid: BilledFor(iid, pid, patient_name(first, last), claim)
            for iid, pid, first, last, claim in session.execute(
                select(
                    Invoice.id,
                    Patient.id,
                    Patient.first_name,
                    Patient.last_name,
                    Invoice.claim_reference,
                )
                .join(Patient, Patient.id == Invoice.for_patient_id)
                .where(Invoice.id.in_({a.invoice_id for a in record.applications}))
            )
        }
        billed_for = tuple(
            found[a.invoice_id] for a in record.applications if a.invoice_id in found
        )
    return ReceiptDocument(
        letterhead=letterhead,
        currency=currency,
        patient=patient,
        payment=record,
        to_credit=record.total - money_applied
        if record.kind == PaymentKind.PAYMENT
        else Decimal(0),
        credit_before=to_decimal(before, currency),
        credit_after=to_decimal(after, currency),
        money_applied=money_applied,
        credit_applied=credit_applied,
        recipient=(
            recipient_lines(patient, letterhead.country_code)
            if payer is None
            else payer_recipient(payer)
        ),
        payer=payer,
        reference=row.reference,
        billed_for=billed_for,
    )


#: Credit events a payment's own save makes have an ``order`` of at most 2 (see credit_trace).
_SAVED_WITH_PAYMENT = 2


class _Change(NamedTuple):
    """One record's effect on the balance (a named tuple: a busy patient has thousands)."""

    day: date
    at: datetime
    order: int
    description: str
    change: int
    note: int = 0
    patient: str = ""
    reference: str = ""


class _Running(NamedTuple):
    """A period's lines with their running balance, and the balances around them."""

    opening: int
    lines: tuple[StatementLine, ...]
    closing: int


def _running(changes: Iterable[_Change], start: date | None, end: date, currency: str) -> _Running:
    """The lines from ``start`` (None: the beginning) to ``end``, each with the balance after
    it (owed less credit), the changes before ``start`` making the opening balance."""
    ordered = sorted(changes, key=lambda c: (c.day, as_utc(c.at), c.order))
    opening = sum(c.change for c in ordered if start is not None and c.day < start)
    balance = opening
    lines: list[StatementLine] = []
    for item in ordered:
        if (start is not None and item.day < start) or item.day > end:
            continue
        balance += item.change
        lines.append(
            StatementLine(
                item.day,
                item.description,
                item.change,
                balance,
                item.note,
                currency,
                item.patient,
                item.reference,
            )
        )
    return _Running(opening, tuple(lines), balance)


def _check_period(start: date | None, end: date) -> None:
    if start is not None and start > end:
        raise BillingError(
            f"The statement starts on {start.isoformat()}, after it ends ({end.isoformat()}).",
            code=Refusal.BAD_DATE,
            field="start",
        )


def _totals(running: _Running, currency: str) -> dict[str, Decimal]:
    """A statement's figures: opening and closing balance, charges, payments and credits, and
    the account credit applied to invoices (a note: it leaves the balance as it was)."""
    lines = running.lines
    return {
        "opening_balance": to_decimal(running.opening, currency),
        "closing_balance": to_decimal(running.closing, currency),
        "charges": to_decimal(
            sum(ln.change_minor for ln in lines if ln.change_minor > 0), currency
        ),
        "payments_and_credits": to_decimal(
            -sum(ln.change_minor for ln in lines if ln.change_minor < 0), currency
        ),
        "credit_applied": to_decimal(sum(ln.note_minor for ln in lines), currency),
    }


def statement_document(
    session: Session,
    letterhead: Letterhead,
    currency: str,
    patient_id: int,
    start: date | None,
    end: date,
) -> StatementDocument:
    """The patient's statement from ``start`` (None: the beginning) to ``end`` inclusive."""
    _check_period(start, end)
    patient = patient_record(session, patient_id, currency)
    running = _running(_changes(session, patient_id, currency), start, end, currency)
    open_invoices: tuple[OpenInvoiceLine, ...] = ()
    if end >= date.today():
        open_invoices = tuple(
            OpenInvoiceLine(r.id, r.number, r.issue_date, r.total_minor, r.owed_minor, currency)
            for r in session.execute(
                select(
                    Invoice.id,
                    Invoice.number,
                    Invoice.issue_date,
                    Invoice.total_minor,
                    Invoice.owed_minor,
                )
                .where(Invoice.patient_id == patient_id, Invoice.status == InvoiceStatus.OPEN)
                .order_by(Invoice.issue_date, Invoice.number)
            )
        )
    return StatementDocument(
        letterhead=letterhead,
        currency=currency,
        patient=patient,
        start=start,
        end=end,
        lines=running.lines,
        open_invoices=open_invoices,
        recipient=recipient_lines(patient, letterhead.country_code),
        billed_to_payers=_billed_to_payers(session, patient_id, currency, start, end),
        **_totals(running, currency),
    )


def _billed_to_payers(
    session: Session, patient_id: int, currency: str, start: date | None, end: date
) -> tuple[PayerBilledInvoice, ...]:
    """The patient's invoices billed to payers that a statement of the period lists: issued in
    it, and (to today) still open."""
    in_period = Invoice.issue_date <= end
    if start is not None:
        in_period = and_(in_period, Invoice.issue_date >= start)
    shown = (
        or_(in_period, Invoice.status == InvoiceStatus.OPEN) if end >= date.today() else in_period
    )
    return tuple(
        PayerBilledInvoice(
            iid,
            issued(number),
            day,
            payer_id,
            name,
            label,
            claim,
            status,
            total,
            owed,
            currency,
        )
        for iid, number, day, payer_id, name, label, claim, status, total, owed in (
            session.execute(
                select(
                    Invoice.id,
                    Invoice.number,
                    Invoice.issue_date,
                    Payer.id,
                    Payer.name,
                    Payer.reference_label,
                    Invoice.claim_reference,
                    Invoice.status,
                    Invoice.total_minor,
                    Invoice.owed_minor,
                )
                .join(Payer, Payer.id == Invoice.patient_id)
                .where(
                    Invoice.for_patient_id == patient_id,
                    Invoice.status != InvoiceStatus.DRAFT,
                    shown,
                )
                .order_by(func.lower(Payer.name), Payer.id, Invoice.issue_date, Invoice.number)
            )
        )
    )


def payer_statement_document(
    session: Session,
    letterhead: Letterhead,
    currency: str,
    payer_id: int,
    start: date | None,
    end: date,
) -> PayerStatementDocument:
    """The payer's statement from ``start`` (None: the beginning) to ``end`` inclusive."""
    _check_period(start, end)
    payer = payer_record(session, payer_id, currency)
    if payer is None:
        raise NotFoundError(f"There is no payer {payer_id!r}.", field="payer")
    names = {
        pid: patient_name(first, last)
        for pid, first, last in session.execute(
            select(Patient.id, Patient.first_name, Patient.last_name).where(
                Patient.id.in_(select(Invoice.for_patient_id).where(Invoice.patient_id == payer_id))
            )
        )
    }
    running = _running(
        _changes(session, payer_id, currency, names, remittances=True), start, end, currency
    )
    open_invoices: tuple[PayerOpenInvoice, ...] = ()
    if end >= date.today():
        open_invoices = tuple(
            PayerOpenInvoice(
                r.id,
                issued(r.number),
                r.issue_date,
                r.total_minor,
                r.owed_minor,
                currency,
                patient_name=names.get(r.for_patient_id or 0, ""),
                claim_reference=r.claim_reference,
            )
            for r in session.execute(
                select(
                    Invoice.id,
                    Invoice.number,
                    Invoice.issue_date,
                    Invoice.for_patient_id,
                    Invoice.claim_reference,
                    Invoice.total_minor,
                    Invoice.owed_minor,
                )
                .where(Invoice.patient_id == payer_id, Invoice.status == InvoiceStatus.OPEN)
                .order_by(Invoice.issue_date, Invoice.number)
            )
        )
    return PayerStatementDocument(
        letterhead=letterhead,
        currency=currency,
        payer=payer,
        start=start,
        end=end,
        lines=running.lines,
        open_invoices=open_invoices,
        recipient=payer_recipient(payer),
        **_totals(running, currency),
    )


def _changes(
    session: Session,
    patient_id: int,
    currency: str,
    names: Mapping[int, str] | None = None,
    remittances: bool = False,
) -> Iterable[_Change]:
    """Every record of the account that changed what it owes less its credit. ``names``: the
    patients a payer's invoices are for (by id), named on their lines with the claim reference;
    ``remittances``: the account is a payer's, so its payments are remittances."""
    known: Mapping[int, str] = names or {}

    def billed(for_patient: int | None) -> str:
        return "" if for_patient is None else known.get(for_patient, "")

    # Column rows, not ORM objects: a busy patient has a thousand invoices and payments.
    # A patient's statement reads what it read before payers (plus the split a gap comes from);
    # a payer's also reads who each invoice is for and its claim.
    columns: list[Any] = [
        Invoice.number,
        Invoice.issue_date,
        Invoice.created_at,
        Invoice.voided_at,
        Invoice.total_minor,
        Invoice.split_with_id,
    ]
    if remittances:
        columns += [Invoice.for_patient_id, Invoice.claim_reference]
    invoices = session.execute(
        select(*columns).where(
            Invoice.patient_id == patient_id, Invoice.status != InvoiceStatus.DRAFT
        )
    ).all()
    splits = _split_from(session, {inv[5] for inv in invoices if inv[5] is not None})
    for inv in invoices:
        number, day, at, voided, total, split = inv[:6]
        who, claim = (billed(inv[6]), inv[7] or "") if remittances else ("", "")
        description = f"Invoice #{number}"
        if split in splits:  # split billing: the patient's gap
            description += f" ({splits[split]})"
        yield _Change(day, at, 0, description, total, 0, who, claim)
        if voided is not None:
            yield _Change(
                local_day(voided),
                voided,
                0,
                f"Invoice #{number} voided",
                -total,
                0,
                who,
                claim,
            )
    for pay in session.execute(
        select(
            Payment.id,
            Payment.kind,
            Payment.payment_date,
            Payment.created_at,
            Payment.reversed_at,
            Payment.total_minor,
            Payment.reference,
        ).where(Payment.patient_id == patient_id)
    ):
        if pay.kind == PaymentKind.REFUND:
            what = "Refund"
        else:
            what = "Remittance" if remittances else "Payment"
        reference = pay.reference or ""
        if pay.total_minor:
            yield _Change(
                pay.payment_date,
                pay.created_at,
                1,
                f"{what} {pay.id}",
                -pay.total_minor,
                reference=reference,
            )
        if pay.reversed_at is not None and pay.total_minor:
            yield _Change(
                local_day(pay.reversed_at),
                pay.reversed_at,
                1,
                f"{what} {pay.id} reversed",
                pay.total_minor,
                reference=reference,
            )
    for credit, number, day, at, for_patient, claim in session.execute(
        select(
            Application.from_credit_minor,
            Invoice.number,
            Payment.payment_date,
            Payment.created_at,
            Invoice.for_patient_id,
            Invoice.claim_reference,
        )
        .join(Invoice, Invoice.id == Application.invoice_id)
        .join(Payment, Payment.id == Application.payment_id)
        .where(
            Payment.patient_id == patient_id,
            Application.removed_at.is_(None),
            Application.from_credit_minor > 0,
        )
    ):
        yield _Change(
            day,
            at,
            2,
            f"Account credit applied to invoice #{number}",
            0,
            credit,
            billed(for_patient),
            claim or "",
        )
    for note, number, for_patient, claim in session.execute(
        select(CreditNote, Invoice.number, Invoice.for_patient_id, Invoice.claim_reference)
        .join(Invoice, Invoice.id == CreditNote.invoice_id)
        .where(CreditNote.patient_id == patient_id)
    ):
        label = f"Credit note {note.number} for invoice #{number}"
        who, ref = billed(for_patient), claim or ""
        yield _Change(note.note_date, note.created_at, 3, label, -note.amount_minor, 0, who, ref)
        if note.reversed_at is not None:
            yield _Change(
                local_day(note.reversed_at),
                note.reversed_at,
                3,
                f"{label} reversed",
                note.amount_minor,
                0,
                who,
                ref,
            )
    names = _transfer_names(session, patient_id)
    for tr in session.scalars(
        select(CreditTransfer).where(
            or_(
                CreditTransfer.from_patient_id == patient_id,
                CreditTransfer.to_patient_id == patient_id,
            ),
            not_cancelled_by_merge(),
        )
    ):
        outgoing = tr.from_patient_id == patient_id
        other = names.get(tr.to_patient_id if outgoing else tr.from_patient_id, "another patient")
        label = f"Credit transferred {'to' if outgoing else 'from'} {other}"
        sign = 1 if outgoing else -1
        yield _Change(tr.transfer_date, tr.created_at, 4, label, sign * tr.amount_minor)
        if tr.reversed_at is not None:
            yield _Change(
                local_day(tr.reversed_at),
                tr.reversed_at,
                4,
                f"{label} reversed",
                -sign * tr.amount_minor,
            )


def _split_from(session: Session, invoice_ids: set[int]) -> dict[int, str]:
    """For the payers' invoices a patient's gap invoices were split from: "the gap of #127,
    billed to Bupa", by the payer's invoice's id."""
    if not invoice_ids:
        return {}
    return {
        iid: f"the gap of #{number}, billed to {name}"
        for iid, number, name in session.execute(
            select(Invoice.id, Invoice.number, Payer.name)
            .join(Payer, Payer.id == Invoice.patient_id)
            .where(Invoice.id.in_(invoice_ids))
        )
    }


def _transfer_names(session: Session, patient_id: int) -> dict[int, str]:
    ids = (
        select(CreditTransfer.from_patient_id)
        .where(CreditTransfer.to_patient_id == patient_id)
        .union(
            select(CreditTransfer.to_patient_id).where(CreditTransfer.from_patient_id == patient_id)
        )
    )
    return {
        pid: f"{first} {last}"
        for pid, first, last in session.execute(
            select(Patient.id, Patient.first_name, Patient.last_name).where(Patient.id.in_(ids))
        )
    }
