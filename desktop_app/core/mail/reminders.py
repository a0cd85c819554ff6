"""Overdue reminders: which invoices are due one, and queuing each with its invoice's PDF.

With reminders on (``ReminderSettings.after_days`` N > 0), an invoice is due a reminder when it
is open (issued, not void, something still owed: a patient's or a payer's), its due date is at
least N days before today, and it has had no reminder in the last ``interval_days`` days (a
reminder queued on day D counts until day D + interval - 1, the desk's own days; one whose email
was cancelled, or failed and is not tried again by itself, does not count). An invoice without a
due date is never overdue, so never reminded.

Staff approve the list; each approved invoice is then checked again, its PDF rendered outside
any transaction, and in ONE transaction its account locked, checked a last time, the reminder
queued in the outbox and recorded (``reminders``). Two desks approving the same list therefore
never send one invoice two reminders: the second finds the first's record under the lock and
skips it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import ScalarSelect

from ..db import raw
from ..db.models import Invoice, OutboxMessage, Patient, Payer, ReminderSent
from ..domain.errors import BillingError
from ..domain.kinds import InvoiceStatus
from ..domain.mail_templates import MailKind, fill_body, fill_subject
from ..domain.money import to_decimal
from ..ledger import audit
from ..ledger import settings as stored
from ..ledger.transaction import Transaction
from ..reporting import documents
from .addresses import check_sendable
from .drafts import Writer, invoice_values
from .message import Attachment, BuiltMessage, build_message
from .outbox import OutboxStatus, enqueue
from .settings import EmailSettings, ReminderSettings, read_template
from .smtp import size_words


@dataclass(frozen=True, slots=True)
class ReminderCandidate:
    """An open invoice due an overdue reminder, as the reminders window lists it."""

    invoice_id: int
    invoice_number: int
    #: The account that owes it: the patient's, or the payer's it is billed to.
    account_id: int
    #: The patient's name ("Ada Lovelace"), or the payer's.
    name: str
    #: The address the reminder goes to (None: none is kept).
    email: str | None
    due_date: date
    days_overdue: int
    balance: Decimal
    #: When its last reminder was queued (UTC; None: never).
    last_reminded: datetime | None


@dataclass(frozen=True, slots=True)
class ReminderQueued:
    """A reminder put in the outbox."""

    invoice_id: int
    invoice_number: int
    name: str
    outbox_id: int


@dataclass(frozen=True, slots=True)
class ReminderSkipped:
    """An approved invoice that got no reminder, and why (in words for the desk)."""

    invoice_id: int
    invoice_number: int | None
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class ReminderResult:
    """What :meth:`~desktop_app.core.managers.reminders.Reminders.send` did: the reminders
    queued and the invoices skipped, each in the order asked."""

    queued: tuple[ReminderQueued, ...] = ()
    skipped: tuple[ReminderSkipped, ...] = ()

    @property
    def outbox_ids(self) -> list[int]:
        """The queued reminders' outbox ids."""
        return [item.outbox_id for item in self.queued]


def reminded_since(today: date, interval_days: int) -> datetime:
    """The moment from which a reminder still counts on ``today``: the desk's midnight starting
    day ``today - interval + 1``, in UTC (a reminder before it is an interval old)."""
    first = today - timedelta(days=interval_days - 1)
    return datetime.combine(first, time.min).astimezone().astimezone(UTC)


def _still_counts() -> ColumnElement[bool]:
    """Whether a reminder (joined to its outbox message) still counts: not when staff cancelled
    its email, nor when the email failed and will not be tried again by itself (the patient
    never got it, so the invoice is due a reminder again)."""
    return and_(
        OutboxMessage.status != OutboxStatus.CANCELLED.value,
        or_(
            OutboxMessage.status != OutboxStatus.FAILED.value,
            OutboxMessage.next_attempt_at.is_not(None),
        ),
    )


def _reminders() -> Select[Any]:
    """The reminders that still count, with their outbox messages joined."""
    return (
        select(ReminderSent.id)
        .join(OutboxMessage, OutboxMessage.id == ReminderSent.outbox_id)
        .where(_still_counts())
    )


def _last_reminder() -> ScalarSelect[Any]:
    return (
        select(func.max(ReminderSent.sent_at))
        .join(OutboxMessage, OutboxMessage.id == ReminderSent.outbox_id)
        .where(ReminderSent.invoice_id == Invoice.id, _still_counts())
        .correlate(Invoice)
        .scalar_subquery()
    )


def overdue(
    session: Session, settings: ReminderSettings, today: date, currency: str
) -> list[ReminderCandidate]:
    """Every open invoice due a reminder on ``today``, most overdue first (none while
    reminders are off).

    The due dates come from ``ix_invoices_status_due`` (open, due on or before the cutoff);
    each invoice's reminders from ``ix_reminders_invoice``; its account's name and address by
    primary key: the work grows with the overdue invoices, not with the clinic."""
    if settings.after_days <= 0:
        return []
    cutoff = today - timedelta(days=settings.after_days)
    since = reminded_since(today, settings.interval_days)
    last = _last_reminder()
    query = (
        select(
            Invoice.id,
            Invoice.number,
            Invoice.patient_id,
            Invoice.due_date,
            Invoice.owed_minor,
            Patient.first_name,
            Patient.last_name,
            Patient.email,
            Payer.name,
            Payer.email,
            last,
        )
        .join(Patient, Patient.id == Invoice.patient_id)
        .outerjoin(Payer, Payer.id == Invoice.patient_id)
        .where(
            Invoice.status == InvoiceStatus.OPEN,
            Invoice.due_date.is_not(None),
            Invoice.due_date <= cutoff,
            Invoice.owed_minor > 0,
            ~_reminders()
            .where(ReminderSent.invoice_id == Invoice.id, ReminderSent.sent_at >= since)
            .correlate(Invoice)
            .exists(),
        )
        .order_by(Invoice.due_date, Invoice.number)
    )
    found: list[ReminderCandidate] = []
    for row in session.execute(query):
        (inv_id, number, account, due, owed, first, last_name, email, payer, payer_email, at) = row
        assert due is not None and number is not None  # open, due on or before the cutoff
        due_day = raw.as_date(due)
        address = (payer_email if payer is not None else email) or None
        found.append(
            ReminderCandidate(
                invoice_id=inv_id,
                invoice_number=number,
                account_id=account,
                name=payer if payer is not None else documents.patient_name(first, last_name),
                email=address,
                due_date=due_day,
                days_overdue=(today - due_day).days,
                balance=to_decimal(owed, currency),
                last_reminded=None if at is None else audit.as_utc(_moment(at)),
            )
        )
    return found


def _moment(value: datetime | str) -> datetime:
    """A timestamp as the driver returned it (a subquery's value on SQLite is text)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def why_not_due(
    session: Session, invoice: Invoice, settings: ReminderSettings, today: date
) -> str | None:
    """Why ``invoice`` is not due a reminder on ``today`` (None: it is), in words for the desk
    (the window names the invoice before them)."""
    if settings.after_days <= 0:
        return "overdue reminders are off"
    if invoice.status == InvoiceStatus.PAID or (
        invoice.status == InvoiceStatus.OPEN and invoice.owed_minor <= 0
    ):
        return "it has been paid"
    if invoice.status == InvoiceStatus.VOID:
        return "it has been voided"
    if invoice.status != InvoiceStatus.OPEN:
        return "it is a draft, not issued"
    if invoice.due_date is None:
        return "it has no due date, so it is never overdue"
    late = (today - invoice.due_date).days
    if late < settings.after_days:
        return f"it is {max(late, 0)} days overdue; reminders start at {settings.after_days} days"
    since = reminded_since(today, settings.interval_days)
    last = session.execute(
        select(ReminderSent.sent_at, ReminderSent.created_by)
        .join(OutboxMessage, OutboxMessage.id == ReminderSent.outbox_id)
        .where(
            ReminderSent.invoice_id == invoice.id, ReminderSent.sent_at >= since, _still_counts()
        )
        .order_by(ReminderSent.sent_at.desc())
        .limit(1)
    ).one_or_none()
    if last is not None:
        day = audit.local_day(last[0])
        return f"it was reminded on {day.isoformat()} by {last[1]}"
    return None


@dataclass(frozen=True, slots=True)
class Drafted:
    """What one approved invoice's reminder is made of, read in one transaction."""

    invoice_id: int
    invoice_number: int
    name: str
    to_name: str
    #: The address as kept on the account, and as checked.
    kept: str
    address: str
    owed_minor: int
    subject: str
    body: str
    document: documents.InvoiceDocument


@dataclass(frozen=True, slots=True)
class Prepared:
    """One approved invoice's reminder, rendered and built, waiting for its transaction."""

    drafted: Drafted
    built: BuiltMessage
    attachment_name: str


def account_of(session: Session, invoice: Invoice) -> tuple[str, str]:
    """The name and kept address (empty: none) of the account that owes ``invoice``."""
    payer = session.get(Payer, invoice.patient_id)
    if payer is not None:
        return payer.name, payer.email or ""
    patient = session.get(Patient, invoice.patient_id)
    assert patient is not None
    return documents.patient_name(patient.first_name, patient.last_name), patient.email or ""


def draft(session: Session, invoice: Invoice, today: date) -> Drafted | str:
    """The reminder of ``invoice`` (already checked to be due) filled from its template, with
    the invoice as printed; a reason instead when it cannot go (no address kept)."""
    name, kept = account_of(session, invoice)
    if not kept.strip():
        return f"no email address kept for {name}"
    try:
        address = check_sendable(kept)
    except BillingError:
        return f"the email address kept for {name} ({kept}) is not an address"
    assert invoice.number is not None and invoice.due_date is not None
    writer = Writer(session)
    who, values = invoice_values(writer, session, invoice.id)
    values["days_overdue"] = str((today - invoice.due_date).days)
    template = read_template(session, MailKind.REMINDER)
    document = documents.invoice_document(
        session, stored.letterhead(session), writer.currency, invoice.id
    )
    return Drafted(
        invoice_id=invoice.id,
        invoice_number=invoice.number,
        name=name,
        to_name=who.name,
        kept=kept,
        address=address,
        owed_minor=invoice.owed_minor,
        subject=fill_subject(template.subject, MailKind.REMINDER, values),
        body=fill_body(template.body, MailKind.REMINDER, values),
        document=document,
    )


def prepare(
    settings: EmailSettings,
    drafted: Drafted,
    render: Callable[[documents.InvoiceDocument], bytes],
) -> Prepared | str:
    """Render the invoice's PDF (outside any transaction: Qt, in the windows) and build the
    message; a reason instead when the PDF is not one or the message is over the server's
    size limit."""
    pdf = render(drafted.document)
    if not isinstance(pdf, bytes | bytearray) or not bytes(pdf).startswith(b"%PDF-"):
        return "its PDF could not be made"
    attachment_name = f"Invoice {drafted.invoice_number}.pdf"
    built = build_message(
        settings,
        to_name=drafted.to_name,
        to_address=drafted.address,
        subject=drafted.subject,
        body=drafted.body,
        attachment=Attachment(attachment_name, bytes(pdf)),
    )
    if settings.size_limit and len(built.data) > settings.size_limit:
        return (
            f"the reminder is {size_words(len(built.data))} with its PDF; the mail server takes "
            f"at most {size_words(settings.size_limit)}"
        )
    return Prepared(drafted, built, attachment_name)


def record(tx: Transaction, invoice: Invoice, prepared: Prepared) -> int:
    """Queue the prepared reminder and record it against its invoice (the caller holds the
    invoice's account locked and has checked it is still due); the outbox id."""
    outbox_id = enqueue(
        tx,
        kind=MailKind.REMINDER,
        account_id=invoice.patient_id,
        recipient=prepared.drafted.address,
        recipient_name=prepared.drafted.to_name,
        subject=prepared.drafted.subject,
        built=prepared.built,
        attachment_name=prepared.attachment_name,
        invoice_id=invoice.id,
    )
    tx.session.add(
        ReminderSent(
            invoice_id=invoice.id,
            outbox_id=outbox_id,
            sent_at=audit.moment(tx.session),
            created_by=tx.actor,
        )
    )
    tx.session.flush()
    return outbox_id
