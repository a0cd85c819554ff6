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
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..db.models import (
    Application,
    CreditNote,
    CreditTransfer,
    Invoice,
    Patient,
    Payment,
    Staff,
)
from ..domain.addressing import recipient_lines
from ..domain.errors import BillingError, NotFoundError, Refusal
from ..domain.kinds import InvoiceStatus, PaymentKind
from ..domain.letterhead import Letterhead
from ..domain.money import to_decimal
from ..domain.patient_details import DETAILS
from ..domain.records import CreditNoteRecord, InvoiceRecord, PatientRecord, PaymentRecord
from ..ledger import credit_trace, read_models
from ..ledger import settings as stored
from ..ledger.audit import as_utc, local_day
from ..ledger.merge import not_cancelled_by_merge


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
    patient = patient_record(session, row.patient_id, currency)
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
        recipient=recipient_lines(patient, letterhead.country_code),
        practitioner="" if practitioner is None else practitioner.full_name,
        tax_name=stored.optional_setting(session, "tax_name"),
    )


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
        recipient=recipient_lines(patient, letterhead.country_code),
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


def statement_document(
    session: Session,
    letterhead: Letterhead,
    currency: str,
    patient_id: int,
    start: date | None,
    end: date,
) -> StatementDocument:
    """The patient's statement from ``start`` (None: the beginning) to ``end`` inclusive."""
    if start is not None and start > end:
        raise BillingError(
            f"The statement starts on {start.isoformat()}, after it ends ({end.isoformat()}).",
            code=Refusal.BAD_DATE,
            field="start",
        )
    patient = patient_record(session, patient_id, currency)
    changes = sorted(
        _changes(session, patient_id, currency), key=lambda c: (c.day, as_utc(c.at), c.order)
    )
    opening = sum(c.change for c in changes if start is not None and c.day < start)
    balance = opening
    lines: list[StatementLine] = []
    for item in changes:
        if (start is not None and item.day < start) or item.day > end:
            continue
        balance += item.change
        lines.append(
            StatementLine(item.day, item.description, item.change, balance, item.note, currency)
        )
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
        opening_balance=to_decimal(opening, currency),
        lines=tuple(lines),
        closing_balance=to_decimal(balance, currency),
        charges=to_decimal(sum(ln.change_minor for ln in lines if ln.change_minor > 0), currency),
        payments_and_credits=to_decimal(
            -sum(ln.change_minor for ln in lines if ln.change_minor < 0), currency
        ),
        credit_applied=to_decimal(sum(ln.note_minor for ln in lines), currency),
        open_invoices=open_invoices,
        recipient=recipient_lines(patient, letterhead.country_code),
    )


def _changes(session: Session, patient_id: int, currency: str) -> Iterable[_Change]:
    """Every record of the patient that changed what they owe less their credit."""
    # Column rows, not ORM objects: a busy patient has a thousand invoices and payments.
    for inv in session.execute(
        select(
            Invoice.number,
            Invoice.issue_date,
            Invoice.created_at,
            Invoice.voided_at,
            Invoice.total_minor,
        ).where(Invoice.patient_id == patient_id, Invoice.status != InvoiceStatus.DRAFT)
    ):
        yield _Change(inv.issue_date, inv.created_at, 0, f"Invoice #{inv.number}", inv.total_minor)
        if inv.voided_at is not None:
            yield _Change(
                local_day(inv.voided_at),
                inv.voided_at,
                0,
                f"Invoice #{inv.number} voided",
                -inv.total_minor,
            )
    for pay in session.execute(
        select(
            Payment.id,
            Payment.kind,
            Payment.payment_date,
            Payment.created_at,
            Payment.reversed_at,
            Payment.total_minor,
        ).where(Payment.patient_id == patient_id)
    ):
        what = "Refund" if pay.kind == PaymentKind.REFUND else "Payment"
        if pay.total_minor:
            yield _Change(pay.payment_date, pay.created_at, 1, f"{what} {pay.id}", -pay.total_minor)
        if pay.reversed_at is not None and pay.total_minor:
            yield _Change(
                local_day(pay.reversed_at),
                pay.reversed_at,
                1,
                f"{what} {pay.id} reversed",
                pay.total_minor,
            )
    for credit, number, day, at in session.execute(
        select(
            Application.from_credit_minor, Invoice.number, Payment.payment_date, Payment.created_at
        )
        .join(Invoice, Invoice.id == Application.invoice_id)
        .join(Payment, Payment.id == Application.payment_id)
        .where(
            Payment.patient_id == patient_id,
            Application.removed_at.is_(None),
            Application.from_credit_minor > 0,
        )
    ):
        yield _Change(day, at, 2, f"Account credit applied to invoice #{number}", 0, credit)
    for note, number in session.execute(
        select(CreditNote, Invoice.number)
        .join(Invoice, Invoice.id == CreditNote.invoice_id)
        .where(CreditNote.patient_id == patient_id)
    ):
        label = f"Credit note {note.number} for invoice #{number}"
        yield _Change(note.note_date, note.created_at, 3, label, -note.amount_minor)
        if note.reversed_at is not None:
            yield _Change(
                local_day(note.reversed_at),
                note.reversed_at,
                3,
                f"{label} reversed",
                note.amount_minor,
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
