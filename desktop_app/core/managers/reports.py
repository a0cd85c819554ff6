"""``clinic.reports``: the clinic's figures, printed documents, and the ledger's own check.

All read only. The figures are computed by :mod:`desktop_app.core.reporting` (aged receivables
and takings in ``figures``, for everyone, patients, payers or one payer as ``accounts`` says; the
credit held in ``liability``; documents, a payer's statement too, in ``documents``) and the
invariants by :mod:`desktop_app.core.ledger.verify` (docs/ledger-rules.md).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from ..access.staff import Permission
from ..db.models import Invoice, Patient, Payment
from ..domain import dates
from ..domain.kinds import InvoiceStatus
from ..domain.money import to_decimal
from ..domain.records import ClinicSummary
from ..ledger import settings as stored
from ..ledger.guard import check_id, reads_patient, reads_record, requires
from ..ledger.payer_accounts import not_payer
from ..ledger.verify import search_index_problems, verify_ledger
from ..reporting import accounts, documents, liability, revenue
from ..reporting import figures as reports
from .base import Manager, until_today


class Reports(Manager):
    """Read-only figures and documents."""

    @requires(Permission.READ_ALL)
    def summary(self) -> ClinicSummary:
        """Patients, open invoices, what is owed and how much account credit the clinic holds."""
        with self.store.read() as session:
            currency = stored.currency(session)
            # Owed and held across every account (patients' and payers'); patients counted.
            patients, outstanding, credit = session.execute(
                select(
                    func.count().filter(not_payer()),
                    func.coalesce(func.sum(Patient.outstanding_minor), 0),
                    func.coalesce(func.sum(Patient.credit_minor), 0),
                )
            ).one()
            open_invoices = (
                session.scalar(
                    select(func.count())
                    .select_from(Invoice)
                    .where(Invoice.status == InvoiceStatus.OPEN)
                )
                or 0
            )
            return ClinicSummary(
                stored.setting(session, "clinic_name"),
                currency,
                patients,
                open_invoices,
                to_decimal(outstanding, currency),
                to_decimal(credit, currency),
            )

    @requires(Permission.REPORTS)
    def aged_receivables(
        self,
        as_of: date | None = None,
        by: str = "issue_date",
        *,
        scope: str = "everyone",
        payer: int | None = None,
    ) -> reports.AgedReceivables:
        """What every patient and payer owes, aged by invoice date (0-30, 31-60, 61-90, over
        90 days); a payer's row is named by the payer.

        Args:
            as_of: the day the ages are counted to (default today).
            by: ``"issue_date"``, or ``"due_date"`` (an invoice without a due date ages by its
                invoice date; one not yet due counts as 0 days).
            scope: ``"everyone"``, ``"patients"`` (what patients owe themselves) or
                ``"payers"`` (every payer).
            payer: one payer's id: what that payer owes, a row per patient its invoices are for.
        """
        with self.store.read() as session:
            currency = stored.currency(session)
            day = date.today() if as_of is None else dates.check_day(as_of, "aged-to date")
            chosen = accounts.report_scope(session, scope, payer)
            return reports.aged_receivables(session, currency, day, by, chosen)

    @requires(Permission.REPORTS)
    def credit_liability(
        self, as_of: date | None = None, dormant_months: int = 12
    ) -> liability.CreditLiability:
        """The account credit held for each patient at the end of a day (the clinic's liability),
        with last visit and payment, dormant credit, and the total at the last 12 month ends.

        Args:
            as_of: the day (default today; not after today).
            dormant_months: credit is dormant after this many months without a visit or payment.
        """
        day = date.today() if as_of is None else dates.check_day(as_of, "credit held date")
        with self.store.read() as session:
            currency = stored.currency(session)
            return liability.credit_liability(session, currency, day, dormant_months)

    @requires(Permission.REPORTS)
    def takings(
        self,
        start: date,
        end: date | None = None,
        payment_type: str | None = None,
        *,
        scope: str = "everyone",
        payer: int | None = None,
    ) -> reports.Takings:
        """Money received and refunded per payment type from ``start`` to ``end`` (inclusive),
        and where the received money went (applied to invoices or left as credit).

        Args:
            start: the first day.
            end: the last day (default: ``start``, one day's takings).
            payment_type: only this payment type's money.
            scope: ``"everyone"``, ``"patients"`` (patients' payments) or ``"payers"`` (payers'
                remittances, each listed in ``remittances``).
            payer: one payer's id: its remittances (and refunds to it) only.
        """
        first = dates.check_day(start, "takings' first date")
        last = first if end is None else dates.check_day(end, "takings' last date")
        with self.store.read() as session:
            currency = stored.currency(session)
            chosen = accounts.report_scope(session, scope, payer)
            return reports.takings(session, currency, first, last, payment_type, chosen)

    @requires(Permission.REPORTS)
    def revenue_by_practitioner(self, start: date, end: date) -> tuple[revenue.RevenueRow, ...]:
        """Invoiced (with and without tax), credited, paid and outstanding per practitioner,
        over the invoices issued from ``start`` to ``end`` (inclusive; see
        :mod:`desktop_app.core.reporting.revenue`)."""
        first = dates.check_day(start, "report's first date")
        last = dates.check_day(end, "report's last date")
        with self.store.read() as session:
            currency = stored.currency(session)
            return revenue.revenue_by_practitioner(session, currency, first, last)

    @requires(Permission.REPORTS)
    def revenue_by_item(self, start: date, end: date) -> tuple[revenue.RevenueRow, ...]:
        """The same figures per billable item (free-text lines in one row), each invoice's
        credited, paid and outstanding shared among its lines in proportion to their totals."""
        first = dates.check_day(start, "report's first date")
        last = dates.check_day(end, "report's last date")
        with self.store.read() as session:
            currency = stored.currency(session)
            return revenue.revenue_by_item(session, currency, first, last)

    @reads_record(Invoice)
    def invoice_document(self, invoice_id: int) -> documents.InvoiceDocument:
        """Invoice ``invoice_id`` as printed: letterhead, patient, lines, totals, what paid it."""
        with self.store.read() as session:
            currency = stored.currency(session)
            return documents.invoice_document(
                session, stored.letterhead(session), currency, invoice_id
            )

    @reads_record(Payment)
    def receipt(self, payment_id: int) -> documents.ReceiptDocument:
        """The receipt of payment (or refund) ``payment_id``: sources, money and credit applied,
        credit left over, and the patient's credit just before and after it was saved."""
        with self.store.read() as session:
            currency = stored.currency(session)
            return documents.receipt_document(
                session, stored.letterhead(session), currency, payment_id
            )

    @reads_patient
    def statement(
        self, patient_id: int, start: date | None = None, end: date | None = None
    ) -> documents.StatementDocument:
        """The patient's statement from ``start`` (None: from the first record) to ``end``
        (None: today; a later day is refused): every charge, payment and credit with a running
        balance of owed less credit."""
        end = until_today(end, "statement's end")
        if start is not None:
            start = dates.check_day(start, "statement's start")
        with self.store.read() as session:
            currency = stored.currency(session)
            return documents.statement_document(
                session, stored.letterhead(session), currency, patient_id, start, end
            )

    @requires(Permission.READ_ALL)
    def payer_statement(
        self, payer_id: int, start: date | None = None, end: date | None = None
    ) -> documents.PayerStatementDocument:
        """The payer's statement from ``start`` (None: from its first record) to ``end`` (None:
        today; a later day is refused): its invoices (each with the patient and claim
        reference), remittances, refunds and credit notes, with a running balance of what it
        owes less its credit, and (to today) its open invoices. It names many patients, so it
        needs the right to see every patient's billing."""
        pid = check_id(payer_id, "payer")
        end = until_today(end, "statement's end")
        if start is not None:
            start = dates.check_day(start, "statement's start")
        with self.store.read() as session:
            currency = stored.currency(session)
            return documents.payer_statement_document(
                session, stored.letterhead(session), currency, pid, start, end
            )

    @requires(Permission.REPORTS)
    def verify(self) -> list[str]:
        """Recompute every ledger invariant (I1-I9) from the records, and check the patient
        search index on SQLite; [] when all is sound."""
        with self.store.read() as session:
            problems = verify_ledger(session, stored.currency(session))
        return problems + search_index_problems(self.store.engine)
