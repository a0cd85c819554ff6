"""Email (``clinic.email``): the SMTP settings and templates, emailing a document, the outbox.

Emailing a document is two steps, so staff can read and change the message first:
:meth:`Email.draft` fills the document's template (to the patient, or the payer it is billed
to), and :meth:`Email.queue` checks what staff made of it (the address, a one-line subject,
the attachment within the server's size limit), builds the message and puts it in the outbox.
:meth:`Email.send_outbox` sends what is due; the windows run it in the background, so a slow or
failed server never holds up the desk. Every queued message is on the account's history
(:meth:`Email.account_messages`) and in the audit log, as is each attempt's outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, defer

from ..access.staff import Permission
from ..db.models import Invoice, OutboxMessage, Payment
from ..domain import dates
from ..domain.errors import BillingError, Refusal
from ..domain.kinds import choose
from ..domain.mail_templates import MailKind, MailTemplate, check_template
from ..domain.mail_text import check_subject
from ..domain.text import check_text
from ..ledger.guard import check_id, reads_patient, requires
from ..mail import drafts, outbox
from ..mail import settings as mail_settings
from ..mail.addresses import check_sendable
from ..mail.drafts import EmailDraft
from ..mail.message import Attachment, build_message
from ..mail.outbox import OutboxRecord, OutboxStatus, OutboxTally, SendSummary
from ..mail.settings import EmailSettings, ReminderSettings
from ..mail.smtp import SendError, SmtpSession, size_words
from .base import Manager

#: The longest body staff may send.
MAX_BODY = 20_000


def _not_configured() -> BillingError:
    return BillingError(
        "Email is not set up: enter the clinic's mail server and sender under Settings > Email.",
        code=Refusal.MISSING,
        field="host",
    )


class Email(Manager):
    """The clinic's email: settings, templates, drafts, the outbox and its sending."""

    # -- settings ----------------------------------------------------------------------------

    @property
    def settings(self) -> EmailSettings:
        """The SMTP server and sender (never the password)."""
        with self.store.read() as session:
            return mail_settings.read_settings(session)

    @requires(Permission.SETTINGS)
    def set_settings(
        self,
        *,
        host: str,
        sender: str,
        port: int = 587,
        security: str = "starttls",
        username: str = "",
        reply_to: str = "",
        timeout: int = mail_settings.DEFAULT_TIMEOUT,
        certificate: str = "",
        password: str | None = None,
    ) -> EmailSettings:
        """Save the SMTP server and sender, checked (a refusal names the field to fix).

        Args:
            security: ``"starttls"``, ``"ssl"`` or ``"none"`` (only for a relay on this
                computer or the clinic's network, and never with a user name).
            sender: the From header, ``Clinic <desk@example.org>`` or the address alone.
            certificate: a PEM certificate to trust for the clinic's own server (empty: the
                computer's usual authorities).
            password: kept in the keychain (never the database); None leaves it as it is,
                ``""`` removes it.
        """
        cleaned = mail_settings.clean_settings(
            host=host,
            port=port,
            security=security,
            username=username,
            sender=sender,
            reply_to=reply_to,
            timeout=timeout,
            certificate=certificate,
        )
        if password is not None:
            if not isinstance(password, str):
                raise BillingError(
                    "The password must be text.", code=Refusal.BAD_TEXT, field="password"
                )
            mail_settings.store_smtp_password(cleaned, password)
        with self.store.write() as tx:
            mail_settings.save_settings(tx, cleaned)
        return self.settings

    @requires(Permission.SETTINGS)
    def set_password(self, password: str) -> None:
        """Keep the server's password in the keychain (``""`` removes it)."""
        mail_settings.store_smtp_password(self.settings, password)

    @property
    def password_set(self) -> bool:
        """Whether a password is kept for the server's user (or given by the environment)."""
        return bool(mail_settings.smtp_password(self.settings))

    @property
    def reminder_settings(self) -> ReminderSettings:
        """Overdue reminders (days overdue, days between) and the dormant-credit alert."""
        with self.store.read() as session:
            return mail_settings.read_reminder_settings(session)

    @requires(Permission.SETTINGS)
    def set_reminder_settings(
        self,
        *,
        after_days: int | None = None,
        interval_days: int | None = None,
        dormant_months: int | None = None,
    ) -> ReminderSettings:
        """Change the reminder and alert settings (None keeps one as it is).

        Args:
            after_days: days past its due date before an invoice gets a reminder (0: off).
            interval_days: days between two reminders of one invoice.
            dormant_months: months without a visit or payment before credit is dormant.
        """
        now = self.reminder_settings
        wanted = ReminderSettings(
            after_days=now.after_days if after_days is None else after_days,
            interval_days=now.interval_days if interval_days is None else interval_days,
            dormant_months=now.dormant_months if dormant_months is None else dormant_months,
        )
        with self.store.write() as tx:
            mail_settings.save_reminder_settings(tx, wanted)
        return self.reminder_settings

    # -- templates ---------------------------------------------------------------------------

    def template(self, kind: MailKind | str) -> MailTemplate:
        """The subject and body templates of one kind of email (the defaults until changed)."""
        chosen = choose(MailKind, kind, "kind of email", field="kind")
        with self.store.read() as session:
            return mail_settings.read_template(session, chosen)

    def templates(self) -> dict[MailKind, MailTemplate]:
        """Every kind's templates."""
        with self.store.read() as session:
            return {kind: mail_settings.read_template(session, kind) for kind in MailKind}

    @requires(Permission.SETTINGS)
    def set_template(self, kind: MailKind | str, subject: str, body: str) -> MailTemplate:
        """Save one kind's templates: refused for a line break in the subject, or a placeholder
        the kind does not have (the message names it and lists those there are)."""
        chosen = choose(MailKind, kind, "kind of email", field="kind")
        template = check_template(chosen, subject, body)
        with self.store.write() as tx:
            mail_settings.save_template(tx, template)
        return self.template(chosen)

    # -- drafts and the outbox ---------------------------------------------------------------

    @requires(Permission.EMAIL)
    def draft(
        self,
        kind: MailKind | str,
        *,
        invoice_id: int | None = None,
        payment_id: int | None = None,
        account_id: int | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> EmailDraft:
        """The email of one document, filled from its template: an invoice (``invoice_id``),
        a receipt (``payment_id``), a statement (``account_id``, a patient's or payer's, for
        ``start`` to ``end``: None from the first record, to today) or a note about account
        credit (``account_id``)."""
        chosen = choose(MailKind, kind, "kind of email", field="kind")
        with self.store.read() as session:
            if chosen in (MailKind.INVOICE, MailKind.REMINDER) and invoice_id is not None:
                self._check_reader(Invoice, check_id(invoice_id, "invoice"))
                found = drafts.invoice_draft(session, invoice_id)
                if chosen is MailKind.REMINDER:
                    raise BillingError(
                        "Reminders are made by clinic.overdue_reminders().",
                        code=Refusal.BAD_CHOICE,
                        field="kind",
                    )
                return found
            if chosen is MailKind.RECEIPT and payment_id is not None:
                self._check_reader(Payment, check_id(payment_id, "payment"))
                return drafts.receipt_draft(session, payment_id)
            if chosen is MailKind.STATEMENT and account_id is not None:
                self.store.check_patient_read(lambda: account_id)
                last = date.today() if end is None else dates.check_day(end, "statement's end")
                first = None if start is None else dates.check_day(start, "statement's start")
                return drafts.statement_draft(session, check_id(account_id, "patient"), first, last)
            if chosen is MailKind.CREDIT and account_id is not None:
                self.store.check_patient_read(lambda: account_id)
                return drafts.credit_draft(session, check_id(account_id, "patient"))
        raise BillingError(
            f"An {chosen} email needs its document: "
            + {
                MailKind.INVOICE: "invoice_id",
                MailKind.RECEIPT: "payment_id",
                MailKind.STATEMENT: "account_id",
                MailKind.CREDIT: "account_id",
            }.get(chosen, "a document")
            + ".",
            code=Refusal.MISSING,
            field="kind",
        )

    def _check_reader(self, model: type, record_id: int) -> None:
        self.store.check_patient_read(lambda: self.store.patient_of(model, record_id))

    @requires(Permission.EMAIL)
    def queue(
        self,
        draft: EmailDraft,
        attachment: bytes | None = None,
        *,
        to: str | None = None,
        subject: str | None = None,
        body: str | None = None,
    ) -> int:
        """Put one email in the outbox (sent by the next pass); its id.

        The draft names the document; its address, subject and body are what staff send
        unless ``to``, ``subject`` or ``body`` replace them. Nothing is queued (a clear refusal)
        for an address that is not one, a subject with a line break, a draft whose document
        needs its PDF without one, or a message larger than the server takes.
        """
        settings = self.settings
        if not settings.configured:
            raise _not_configured()
        if not isinstance(draft, EmailDraft):
            raise BillingError(
                "Queue a draft made by clinic.email.draft().", code=Refusal.BAD_CHOICE
            )
        address = check_sendable(draft.to_address if to is None else to, field="to")
        subject_text = check_subject(draft.subject if subject is None else subject)
        body_text = draft.body if body is None else body
        if not isinstance(body_text, str) or not body_text.strip():
            raise BillingError("Enter the message.", code=Refusal.MISSING, field="body")
        body_text = check_text(body_text, "message", MAX_BODY, field="body")
        # The document and its account are read again: the draft says which, not whose.
        with self.store.read() as session:
            fresh = self._redraft(session, draft)
        file: Attachment | None = None
        if fresh.attachment_name is not None:
            if not isinstance(attachment, bytes | bytearray) or not bytes(attachment).startswith(
                b"%PDF-"
            ):
                raise BillingError(
                    f"The {fresh.kind} email needs its PDF attached.",
                    code=Refusal.MISSING,
                    field="attachment",
                )
            file = Attachment(fresh.attachment_name, bytes(attachment))
        built = build_message(
            settings,
            to_name=fresh.to_name,
            to_address=address,
            subject=subject_text,
            body=body_text,
            attachment=file,
        )
        self._check_size(settings, len(built.data))
        with self.store.write() as tx:
            return outbox.enqueue(
                tx,
                kind=fresh.kind,
                account_id=fresh.account_id,
                recipient=address,
                recipient_name=fresh.to_name,
                subject=subject_text,
                built=built,
                attachment_name=fresh.attachment_name,
                invoice_id=fresh.invoice_id,
                payment_id=fresh.payment_id,
            )

    def _redraft(self, session: Session, draft: EmailDraft) -> EmailDraft:
        kind = draft.kind
        if kind is MailKind.INVOICE and draft.invoice_id is not None:
            self._check_reader(Invoice, check_id(draft.invoice_id, "invoice"))
            return drafts.invoice_draft(session, draft.invoice_id)
        if kind is MailKind.RECEIPT and draft.payment_id is not None:
            self._check_reader(Payment, check_id(draft.payment_id, "payment"))
            return drafts.receipt_draft(session, draft.payment_id)
        if kind in (MailKind.STATEMENT, MailKind.CREDIT) and draft.account_id is not None:
            account_id = check_id(draft.account_id, "patient")
            self.store.check_patient_read(lambda: account_id)
            if kind is MailKind.CREDIT:
                return drafts.credit_draft(session, account_id)
            return drafts.statement_draft(
                session, account_id, draft.start, draft.end or date.today()
            )
        raise BillingError(
            "The draft names no document to email.", code=Refusal.MISSING, field="kind"
        )

    @staticmethod
    def _check_size(settings: EmailSettings, size: int) -> None:
        if settings.size_limit and size > settings.size_limit:
            raise BillingError(
                f"The message is {size_words(size)} with its attachment; the mail server takes "
                f"at most {size_words(settings.size_limit)}. Nothing was sent.",
                code=Refusal.AMOUNT_TOO_LARGE,
                field="attachment",
            )

    @requires(Permission.EMAIL)
    def send_test(self, address: str) -> None:
        """Send the test email to ``address`` now (not through the outbox). Refused
        (``unreachable``) with the server's own reason when it fails."""
        settings = self.settings
        if not settings.configured:
            raise _not_configured()
        to = check_sendable(address, field="to")
        with self.store.read() as session:
            draft = drafts.test_draft(session, to)
        built = build_message(
            settings, to_name="", to_address=to, subject=draft.subject, body=draft.body
        )
        try:
            with SmtpSession(settings, mail_settings.smtp_password(settings)) as session_:
                session_.send(settings.sender_address, [to], built.data)
        except SendError as failure:
            raise BillingError(failure.reason, code=Refusal.UNREACHABLE) from None

    @requires(Permission.EMAIL)
    def send_outbox(
        self,
        *,
        limit: int | None = None,
        only: Sequence[int] | None = None,
        stop: Callable[[], bool] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> SendSummary:
        """Send the outbox's due messages (queued, or failed and due again) over one
        connection; each outcome is recorded as it comes. Does nothing while email is not set
        up. See :func:`~.mail.outbox.send_due` for ``stop`` and ``progress``."""
        settings = self.settings
        if not settings.configured:
            return SendSummary()
        return outbox.send_due(
            self.store,
            settings,
            mail_settings.smtp_password(settings),
            limit=limit,
            only=only,
            stop=stop,
            progress=progress,
        )

    @requires(Permission.EMAIL)
    def outbox(
        self,
        statuses: Sequence[OutboxStatus | str] | None = None,
        *,
        limit: int = 500,
        offset: int = 0,
    ) -> list[OutboxRecord]:
        """The outbox's messages, newest first (of ``statuses`` when given)."""
        self.store.require(Permission.READ_ALL)
        chosen = (
            None
            if statuses is None
            else [choose(OutboxStatus, status, "status", field="status") for status in statuses]
        )
        with self.store.read() as session:
            return outbox.messages(session, statuses=chosen, limit=limit, offset=offset)

    def outbox_counts(self) -> dict[OutboxStatus, int]:
        """How many messages are in each status (the status bar's outbox summary)."""
        with self.store.read() as session:
            return outbox.counts(session)

    def tally(self) -> OutboxTally:
        """The messages not done: waiting (to be sent or tried again by itself), failed and
        left for staff, unconfirmed (the status bar's "Outbox: 3 waiting · 1 failed")."""
        with self.store.read() as session:
            return outbox.tally(session)

    @requires(Permission.EMAIL)
    def message_bytes(self, message_id: int) -> bytes:
        """One message exactly as it is sent (its headers, body and attachment)."""
        self.store.require(Permission.READ_ALL)
        with self.store.read() as session:
            return outbox.message_bytes(session, check_id(message_id, "email"))

    @requires(Permission.EMAIL)
    def retry(self, message_id: int) -> None:
        """Queue a failed, unconfirmed or cancelled message again, under its same Message-ID
        (an unconfirmed one may already have been delivered: ask before retrying it)."""
        with self.store.write() as tx:
            outbox.retry(tx, check_id(message_id, "email"))

    @requires(Permission.EMAIL)
    def cancel(self, message_id: int) -> None:
        """Take a queued or failed message out of the outbox (it stays listed, cancelled)."""
        with self.store.write() as tx:
            outbox.cancel(tx, check_id(message_id, "email"))

    @reads_patient
    def account_messages(self, account_id: int, limit: int = 200) -> list[OutboxRecord]:
        """Emails to a patient or payer (and about a patient's invoices billed to payers),
        newest first: the account's history of messages."""
        with self.store.read() as session:
            ids = select(Invoice.id).where(Invoice.for_patient_id == account_id)
            rows = session.scalars(
                select(OutboxMessage)
                .where(
                    or_(
                        OutboxMessage.account_id == account_id,
                        OutboxMessage.invoice_id.in_(ids),
                    )
                )
                .order_by(OutboxMessage.id.desc())
                .limit(limit)
                .options(defer(OutboxMessage.message))
            )
            return [outbox.record_of(row) for row in rows]
