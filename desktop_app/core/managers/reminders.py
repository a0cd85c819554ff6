"""Overdue reminders and the desk's credit alerts (``clinic.reminders``).

:meth:`Reminders.overdue` lists the open invoices due an overdue reminder (the clinic's
reminder settings: days overdue, days between two); staff approve them and
:meth:`Reminders.send` queues one reminder per approved invoice, its PDF attached, never two
for one invoice within the interval, however many desks approve the same list
(:mod:`..mail.reminders`). :meth:`Reminders.desk_alerts` lists the patients whose account
credit needs a look: dormant, or held beside open invoices (:mod:`..reporting.desk_alerts`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from sqlalchemy import select

from ..access.staff import Permission
from ..db.models import Invoice
from ..domain import dates
from ..domain.errors import BillingError, NotFoundError, Refusal
from ..ledger import settings as stored
from ..ledger.guard import check_id, requires
from ..mail import reminders as rules
from ..mail import settings as mail_settings
from ..mail.reminders import ReminderCandidate, ReminderQueued, ReminderResult, ReminderSkipped
from ..reporting import desk_alerts as alerts
from ..reporting.documents import InvoiceDocument
from .base import Manager
from .payments import Payments

#: Times an approved invoice's reminder is made again when the invoice changed while it was
#: being made (a part payment meanwhile), before it is skipped.
ATTEMPTS = 3


def _day(today: date | None, what: str) -> date:
    return date.today() if today is None else dates.check_day(today, what, field="today")


class Reminders(Manager):
    """Overdue reminders (listed for approval, then queued) and the desk's credit alerts."""

    @requires(Permission.EMAIL)
    def overdue(self, today: date | None = None) -> list[ReminderCandidate]:
        """The open invoices (patients' and payers') due an overdue reminder on ``today``
        (default today), most overdue first; empty while reminders are off (0 days).

        An invoice is due one when its due date is at least the setting's days before
        ``today`` and it had no reminder in the last interval (a reminder queued on day D
        counts until D + interval - 1)."""
        day = _day(today, "day")
        with self.store.read() as session:
            settings = mail_settings.read_reminder_settings(session)
            return rules.overdue(session, settings, day, stored.currency(session))

    @requires(Permission.EMAIL)
    def send(
        self,
        invoice_ids: Iterable[int],
        render: Callable[[InvoiceDocument], bytes],
    ) -> ReminderResult:
        """Queue an overdue reminder for each approved invoice, its PDF (``render(document)``,
        called outside any transaction) attached; the outbox's next pass sends them.

        Each invoice is checked again first, and once more in the transaction that queues
        its reminder, with its account locked: one paid, voided or reminded meanwhile (by
        another desk approving the same list) is skipped, never reminded twice. An account
        with no email address kept is skipped too, without stopping the others. The result
        says which were queued and why each other one was skipped.

        Refused, nothing queued: email not set up, reminders off, an id that is no invoice.
        """
        if not callable(render):
            raise BillingError(
                "Reminders need a way to make each invoice's PDF.", code=Refusal.MISSING
            )
        wanted = list(dict.fromkeys(check_id(value, "invoice") for value in invoice_ids))
        with self.store.read() as session:
            settings = mail_settings.read_settings(session)
            if not settings.configured:
                raise BillingError(
                    "Email is not set up: enter the clinic's mail server and sender under "
                    "Settings > Email.",
                    code=Refusal.MISSING,
                    field="host",
                )
            if mail_settings.read_reminder_settings(session).after_days <= 0:
                raise BillingError(
                    "Overdue reminders are off: choose after how many days overdue under "
                    "Settings > Email.",
                    code=Refusal.BAD_CHOICE,
                    field="after_days",
                )
            known = set(session.scalars(select(Invoice.id).where(Invoice.id.in_(wanted))))
        missing = [value for value in wanted if value not in known]
        if missing:
            raise NotFoundError(f"There is no invoice {missing[0]}.")
        queued: list[ReminderQueued] = []
        skipped: list[ReminderSkipped] = []
        for invoice_id in wanted:
            outcome = self._send_one(invoice_id, settings, render)
            (queued if isinstance(outcome, ReminderQueued) else skipped).append(outcome)  # type: ignore[arg-type]
        return ReminderResult(tuple(queued), tuple(skipped))

    def _send_one(
        self,
        invoice_id: int,
        settings: mail_settings.EmailSettings,
        render: Callable[[InvoiceDocument], bytes],
    ) -> ReminderQueued | ReminderSkipped:
        today = date.today()
        number: int | None = None
        name = ""
        for _attempt in range(ATTEMPTS):
            with self.store.read() as session:
                invoice = session.get(Invoice, invoice_id)
                assert invoice is not None
                number = invoice.number
                name = rules.account_of(session, invoice)[0]
                reminder = mail_settings.read_reminder_settings(session)
                reason = rules.why_not_due(session, invoice, reminder, today)
                drafted = rules.draft(session, invoice, today) if reason is None else reason
            if isinstance(drafted, str):
                return ReminderSkipped(invoice_id, number, name, drafted)
            try:
                prepared = rules.prepare(settings, drafted, render)
            except BillingError as refusal:
                prepared = str(refusal)
            if isinstance(prepared, str):
                return ReminderSkipped(invoice_id, number, name, prepared)
            with self.store.write(Permission.EMAIL) as tx:
                invoice = tx.locked_invoice(invoice_id, archived_ok=True)
                reminder = mail_settings.read_reminder_settings(tx.session)
                reason = rules.why_not_due(tx.session, invoice, reminder, today)
                if reason is not None:
                    return ReminderSkipped(invoice_id, number, name, reason)
                if invoice.owed_minor != drafted.owed_minor or rules.account_of(
                    tx.session, invoice
                ) != (drafted.name, drafted.kept):
                    continue  # changed while the reminder was made: make it again
                outbox_id = rules.record(tx, invoice, prepared)
            return ReminderQueued(invoice_id, drafted.invoice_number, drafted.name, outbox_id)
        return ReminderSkipped(
            invoice_id, number, name, "it kept changing while its reminder was made; try again"
        )

    @requires(Permission.REPORTS)
    def desk_alerts(self, today: date | None = None) -> alerts.DeskAlerts:
        """The patients whose account credit needs a look on ``today`` (default today): credit
        dormant for the reminder settings' ``dormant_months`` (no visit or payment since), and
        credit held beside open invoices. For the practice manager (bookkeeper,
        administrator)."""
        day = _day(today, "day")
        beside = Payments(self.store).credit_beside_open()
        with self.store.read() as session:
            months = mail_settings.read_reminder_settings(session).dormant_months
            return alerts.desk_alerts(session, stored.currency(session), day, months, beside)
