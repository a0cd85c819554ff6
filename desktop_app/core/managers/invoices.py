"""``clinic.invoices``: issuing, reading, listing and voiding invoices.

``clinic.invoices(patient_id)`` lists one patient's invoices (the flat API's
``clinic.invoices(...)``); ``clinic.invoices.page(...)`` pages through every patient's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select

from ..access.staff import Permission
from ..db.models import Counter, Invoice, InvoiceLine, Patient
from ..domain import dates
from ..domain.invoicing import parse_lines
from ..domain.kinds import AuditAction, AuditEntity, InvoiceStatus
from ..domain.records import InvoiceRecord
from ..domain.text import optional_text
from ..ledger import audit, corrections, invoice_list, read_models
from ..ledger import settings as stored
from ..ledger.corrections import MAX_REASON
from ..ledger.guard import check_id, reads_patient, reads_record, requires
from ..ledger.invoice_list import InvoiceKey, InvoicePage
from .base import Manager


class Invoices(Manager):
    """The clinic's invoices."""

    @requires(Permission.INVOICES)
    def create(
        self,
        patient_id: int,
        lines: Sequence[Sequence[Any]],
        *,
        issue_date: date | None = None,
        due_date: date | None = None,
    ) -> int:
        """Issue an invoice; returns its id. Numbers are sequential across the clinic.

        Args:
            patient_id: who is billed.
            lines: ``(description, unit price, quantity[, tax rate %])`` per billable item.
            issue_date: defaults to today; from 20 years ago to a year ahead (dates.py).
            due_date: optional; from the issue date to 5 years after it.
        """
        check_id(patient_id, "patient")
        today = date.today()
        issue_date = (
            today if issue_date is None else dates.issue_day(issue_date, "issue date", today)
        )
        if due_date is not None:
            due_date = dates.due_day(due_date, issue_date)
        with self.store.write() as tx:
            currency = tx.currency()
            parsed = parse_lines(lines, currency)
            patient = tx.lock_patient(patient_id)
            counter = tx.session.scalars(
                select(Counter).where(Counter.name == "invoice_number").with_for_update()
            ).one()
            counter.value += 1
            total = sum(line.amount_minor for line in parsed)
            invoice = Invoice(
                number=counter.value,
                patient_id=patient_id,
                issue_date=issue_date,
                due_date=due_date,
                total_minor=total,
                paid_minor=0,
                status=InvoiceStatus.OPEN,
                created_at=audit.moment(tx.session),
            )
            tx.session.add(invoice)
            tx.session.flush()
            tx.session.add_all(
                InvoiceLine(
                    invoice_id=invoice.id,
                    position=i,
                    description=ln.description,
                    unit_price_minor=ln.unit_price_minor,
                    quantity=ln.quantity,
                    tax_rate_bp=ln.tax_rate_bp,
                    tax_minor=ln.tax_minor,
                    amount_minor=ln.amount_minor,
                )
                for i, ln in enumerate(parsed)
            )
            patient.outstanding_minor += total
            tx.audit(
                action=AuditAction.CREATE_INVOICE,
                entity=AuditEntity.INVOICE,
                entity_id=invoice.id,
                after={
                    "number": invoice.number,
                    "patient_id": patient_id,
                    "total": total,
                    "issue_date": issue_date,
                },
            )
            return invoice.id

    @reads_record(Invoice)
    def get(self, invoice_id: int) -> InvoiceRecord:
        """One invoice with its lines, total, paid, balance and status."""
        with self.store.read() as session:
            row = read_models.one(session, Invoice, invoice_id, "invoice")
            lines = read_models.lines_by_invoice(session, [row.id]).get(row.id, [])
            return read_models.invoice_record(row, lines, stored.currency(session))

    @reads_patient
    def __call__(self, patient_id: int, *, open_only: bool = False) -> list[InvoiceRecord]:
        """The patient's invoices by issue date, then number."""
        query = select(Invoice).where(Invoice.patient_id == patient_id)
        if open_only:
            query = query.where(Invoice.status == InvoiceStatus.OPEN)
        with self.store.read() as session:
            currency = stored.currency(session)
            rows = session.scalars(query.order_by(Invoice.issue_date, Invoice.number)).all()
            lines = read_models.lines_by_invoice(session, [row.id for row in rows])
            return [
                read_models.invoice_record(row, lines.get(row.id, []), currency) for row in rows
            ]

    @requires(Permission.CORRECTIONS)
    def void(self, invoice_id: int, reason: str | None = None) -> None:
        """Void an invoice; whatever was applied to it returns to the patient's credit.

        Refused for an invoice with credit notes (credit the rest instead, or reverse them).
        """
        reason = optional_text(reason, "reason", MAX_REASON)
        with self.store.write() as tx:
            invoice = tx.locked_invoice(invoice_id)
            patient = tx.session.get_one(Patient, invoice.patient_id)
            corrections.void_invoice(
                tx,
                patient,
                invoice,
                reason,
            )

    @requires(Permission.READ_ALL)
    def page(
        self,
        *,
        sort: str = "number",
        descending: bool = False,
        search: str = "",
        status: str | None = None,
        after: InvoiceKey | None = None,
        limit: int = 200,
    ) -> InvoicePage:
        """One page of every patient's invoices, sorted and searched by the database.

        Keyset paging: pass the page's ``next_key`` as ``after`` for the next page (None on the
        last page), so any page costs what the first does. See :mod:`.invoice_list`.

        Args:
            sort: ``"number"``, ``"issue_date"`` (then number), ``"patient"`` (last name, first
                name, then number) or ``"balance"`` (then number).
            descending: reverse the order.
            search: an invoice number (``1042`` or ``#1042``), or words of the patient's name.
            status: ``"open"``, ``"paid"``, ``"void"`` or ``"overdue"`` (open, due before
                today: derived, not stored); None for all.
            after: the previous page's ``next_key``; None for the first page.
            limit: rows per page (at most 5,000).
        """
        with self.store.read() as session:
            return invoice_list.invoice_page(
                session,
                stored.currency(session),
                sort=sort,
                descending=descending,
                search=search,
                status=status,
                after=after,
                limit=limit,
            )

    @requires(Permission.READ_ALL)
    def count(self, search: str = "", status: str | None = None) -> int:
        """How many invoices :meth:`page` lists for ``search`` and ``status``.

        About 15 ms per million invoices on SQLite, up to a few hundred ms for a name search that
        matches many patients: windows show the first page before asking.
        """
        with self.store.read() as session:
            return invoice_list.invoice_count(session, search, status)
