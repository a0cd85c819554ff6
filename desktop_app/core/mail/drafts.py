"""An email about one document, ready to edit and send: who it goes to, and the subject and body
filled from the clinic's templates with the document's own figures.

The recipient is the account that owes the document: the patient, or the payer an invoice is
billed to (a remittance's receipt and a payer's statement go to the payer). Amounts and dates
are written for the clinic's locale (Babel), as on screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Invoice, Patient, Payer, Payment
from ..domain.errors import BillingError, NotFoundError, Refusal
from ..domain.mail_templates import MailKind, fill_body, fill_subject
from ..domain.money import to_decimal
from ..domain.regions import REGIONS
from ..ledger import settings as stored
from ..reporting import documents
from .settings import read_template


@dataclass(frozen=True, slots=True)
class EmailDraft:
    """An email before it is queued: staff may change the address, subject and body.

    ``to_address`` is empty when the account has no email address kept. ``attachment_name``
    is the PDF's file name (None: nothing is attached). ``invoice_id``, ``payment_id`` and
    ``start``/``end`` name the document; ``account_id`` is the patient's or payer's account.
    """

    kind: MailKind
    account_id: int | None
    to_name: str
    to_address: str
    subject: str
    body: str
    attachment_name: str | None = None
    invoice_id: int | None = None
    payment_id: int | None = None
    start: date | None = None
    end: date | None = None
    #: The placeholders' values the subject and body were filled from.
    values: dict[str, str] = field(default_factory=dict)


class Writer:
    """Writes amounts and dates for the clinic's locale and currency."""

    def __init__(self, session: Session) -> None:
        profile = stored.profile(session)
        self.currency = profile.currency
        # A clinic that kept no locale writes as its currency's home country does.
        home = next((r.locale for r in REGIONS if r.currency == profile.currency), "en")
        self.locale = profile.locale or home
        letterhead = stored.letterhead(session)
        self.clinic = letterhead.name
        self.contact = letterhead.contact

    def money(self, amount: Decimal) -> str:
        """``$1,234.50`` as the clinic writes it."""
        return str(format_currency(amount, self.currency, locale=self.locale))

    def day(self, day: date | None) -> str:
        """``4 Dec 2026`` as the clinic writes it (empty for no date)."""
        return "" if day is None else str(format_date(day, "medium", locale=self.locale))


@dataclass(frozen=True, slots=True)
class Account:
    """Who an email goes to: a patient's or payer's account, its name and address."""

    id: int
    name: str
    first_name: str
    email: str


def account(session: Session, account_id: int) -> Account:
    """The patient or payer whose account is ``account_id``."""
    payer = session.get(Payer, account_id)
    if payer is not None:
        return Account(payer.id, payer.name, payer.name, payer.email or "")
    patient = session.get(Patient, account_id)
    if patient is None:
        raise NotFoundError(f"There is no patient {account_id!r}.")
    first = patient.preferred_name or patient.first_name
    name = documents.patient_name(patient.first_name, patient.last_name)
    return Account(patient.id, name, first, patient.email or "")


def _common(writer: Writer, who: Account) -> dict[str, str]:
    return {
        "name": who.name,
        "first_name": who.first_name,
        "clinic": writer.clinic,
        "clinic_contact": writer.contact,
    }


def _draft(
    session: Session,
    kind: MailKind,
    who: Account,
    values: dict[str, str],
    attachment: str | None,
    **document: object,
) -> EmailDraft:
    template = read_template(session, kind)
    return EmailDraft(
        kind=kind,
        account_id=who.id,
        to_name=who.name,
        to_address=who.email,
        subject=fill_subject(template.subject, kind, values),
        body=fill_body(template.body, kind, values),
        attachment_name=attachment,
        values=values,
        **document,  # type: ignore[arg-type]
    )


def invoice_values(
    writer: Writer, session: Session, invoice_id: int
) -> tuple[Account, dict[str, str]]:
    """The invoice's account and its placeholders' values (for invoice and reminder emails)."""
    row = session.get(Invoice, invoice_id) if isinstance(invoice_id, int) else None
    if row is None:
        raise NotFoundError(f"There is no invoice {invoice_id!r}.")
    if row.number is None:
        raise BillingError(
            "A draft invoice cannot be emailed; issue it first.", code=Refusal.NOT_OPEN
        )
    document = documents.invoice_document(
        session, stored.letterhead(session), writer.currency, invoice_id
    )
    invoice = document.invoice
    who = account(session, invoice.account_id)
    values = {
        **_common(writer, who),
        "invoice_number": str(invoice.number),
        "invoice_date": writer.day(invoice.issue_date),
        "due_date": writer.day(invoice.due_date or invoice.issue_date),
        "total": writer.money(invoice.total),
        "balance": writer.money(invoice.balance),
        "patient": documents.patient_name(document.patient.first_name, document.patient.last_name),
    }
    return who, values


def invoice_draft(session: Session, invoice_id: int) -> EmailDraft:
    """An invoice's email, to whoever it is billed to, with the invoice's PDF."""
    writer = Writer(session)
    who, values = invoice_values(writer, session, invoice_id)
    name = f"Invoice {values['invoice_number']}.pdf"
    return _draft(session, MailKind.INVOICE, who, values, name, invoice_id=invoice_id)


def receipt_draft(session: Session, payment_id: int) -> EmailDraft:
    """A payment's receipt email, to the patient or payer who paid, with the receipt's PDF."""
    writer = Writer(session)
    row = session.get(Payment, payment_id) if isinstance(payment_id, int) else None
    if row is None:
        raise NotFoundError(f"There is no payment {payment_id!r}.")
    document = documents.receipt_document(
        session, stored.letterhead(session), writer.currency, payment_id
    )
    who = account(session, row.patient_id)
    payment = document.payment
    values = {
        **_common(writer, who),
        "receipt_number": str(payment.id),
        "payment_date": writer.day(payment.payment_date),
        "amount": writer.money(payment.total),
    }
    return _draft(
        session, MailKind.RECEIPT, who, values, f"Receipt {payment.id}.pdf", payment_id=payment_id
    )


def statement_values(
    writer: Writer, who: Account, start: date | None, end: date, owed: Decimal, credit: Decimal
) -> dict[str, str]:
    """A statement email's placeholders' values."""
    period = f"{writer.day(start)} to {writer.day(end)}" if start else f"up to {writer.day(end)}"
    return {
        **_common(writer, who),
        "period": period,
        "period_end": writer.day(end),
        "balance": writer.money(owed),
        "credit": writer.money(credit),
    }


def closing_values(
    writer: Writer, who: Account, start: date | None, end: date, closing: Decimal
) -> dict[str, str]:
    """A statement email's placeholders' values from the statement's closing balance: what is
    owed when positive, the account credit held when negative (the figures the attached
    statement itself shows)."""
    return statement_values(
        writer, who, start, end, max(closing, Decimal(0)), max(-closing, Decimal(0))
    )


def statement_draft(session: Session, account_id: int, start: date | None, end: date) -> EmailDraft:
    """A statement's email, to the patient or payer, with the statement's PDF."""
    writer = Writer(session)
    who = account(session, account_id)
    is_payer = session.scalar(select(Payer.id).where(Payer.id == account_id)) is not None
    letterhead = stored.letterhead(session)
    document: documents.StatementDocument | documents.PayerStatementDocument = (
        documents.payer_statement_document(
            session, letterhead, writer.currency, account_id, start, end
        )
        if is_payer
        else documents.statement_document(
            session, letterhead, writer.currency, account_id, start, end
        )
    )
    values = closing_values(writer, who, start, end, document.closing_balance)
    name = f"Statement {end.isoformat()}.pdf"
    return _draft(session, MailKind.STATEMENT, who, values, name, start=start, end=end)


def credit_draft(session: Session, account_id: int) -> EmailDraft:
    """An email about a patient's account credit (the desk's alerts' Contact), nothing attached."""
    writer = Writer(session)
    who = account(session, account_id)
    patient = session.get(Patient, account_id)
    assert patient is not None
    values = {
        **_common(writer, who),
        "credit": writer.money(to_decimal(patient.credit_minor, writer.currency)),
        "owed": writer.money(to_decimal(patient.outstanding_minor, writer.currency)),
    }
    return _draft(session, MailKind.CREDIT, who, values, None)


def test_draft(session: Session, address: str) -> EmailDraft:
    """The test email of Settings > Email and ``clinic-ledger email test``."""
    writer = Writer(session)
    who = Account(0, "", "", address)
    values = _common(writer, who)
    template = read_template(session, MailKind.TEST)
    return EmailDraft(
        kind=MailKind.TEST,
        account_id=None,
        to_name="",
        to_address=address,
        subject=fill_subject(template.subject, MailKind.TEST, values),
        body=fill_body(template.body, MailKind.TEST, values),
        values=values,
    )
