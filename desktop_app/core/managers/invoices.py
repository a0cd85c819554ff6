"""``clinic.invoices``: issuing, reading, listing and voiding invoices.

``clinic.invoices(patient_id)`` lists one patient's invoices (the flat API's
``clinic.invoices(...)``); ``clinic.invoices.page(...)`` pages through every patient's.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import delete, or_, select

from ..access.staff import Permission, Role
from ..db.models import (
    AccountingExport,
    AccountingExportItem,
    Counter,
    CreditNote,
    Invoice,
    InvoiceLine,
    Patient,
    Staff,
)
from ..domain import dates
from ..domain.errors import BillingError, Refusal
from ..domain.invoicing import UNCHANGED, LineInput, Unchanged, parse_lines
from ..domain.kinds import AuditAction, AuditEntity, InvoiceStatus
from ..domain.money import format_amount
from ..domain.payers import payer_share as payer_share_minor
from ..domain.payers import split_lines
from ..domain.records import InvoiceRecord
from ..domain.text import optional_text
from ..interchange.accounting_batch import STATES
from ..ledger import audit, corrections, invoice_list, payer_billing, read_models
from ..ledger import settings as stored
from ..ledger.corrections import MAX_REASON
from ..ledger.guard import check_id, is_id, reads_patient, reads_record, requires
from ..ledger.invoice_list import InvoiceKey, InvoicePage
from ..ledger.transaction import Transaction
from .base import Manager
from .catalogue import catalogue_line

#: The state of an accounting export's item that sent an invoice to the accounting package.
SENT = STATES["invoice"][0]


def _line_rows(invoice_id: int, parsed: Sequence[LineInput]) -> list[InvoiceLine]:
    return [
        InvoiceLine(
            invoice_id=invoice_id,
            position=i,
            description=ln.description,
            unit_price_minor=ln.unit_price_minor,
            quantity_centi=ln.quantity_centi,
            tax_rate_bp=ln.tax_rate_bp,
            tax_minor=ln.tax_minor,
            net_minor=ln.net_minor,
            discount_minor=ln.discount_minor,
            discount_bp=ln.discount_bp,
            amount_minor=ln.amount_minor,
            item_id=ln.item_id,
            item_code=ln.item_code,
        )
        for i, ln in enumerate(parsed)
    ]


def _lines_audited(lines: Sequence[InvoiceLine | LineInput]) -> list[dict[str, Any]]:
    """Lines as the audit log keeps them (before and after an edit)."""
    return [
        {
            "description": ln.description,
            "item": ln.item_code,
            "unit_price": ln.unit_price_minor,
            "quantity": ln.quantity_centi / 100,
            "discount": ln.discount_minor,
            "tax_rate_bp": ln.tax_rate_bp,
            "tax": ln.tax_minor,
            "total": ln.amount_minor,
        }
        for ln in lines
    ]


def _practitioner(tx: Transaction, staff_id: object) -> int:
    """An active practitioner's staff id, or a refusal naming the field."""
    row = tx.session.get(Staff, staff_id) if is_id(staff_id) else None
    if row is None or not row.active or row.role != Role.PRACTITIONER.value:
        raise BillingError(
            "The practitioner must be an active practitioner on the clinic's staff"
            + ("" if row is None else f"; {row.full_name} is not")
            + ".",
            code=Refusal.BAD_CHOICE,
            field="practitioner",
        )
    return row.id


def _default_practitioner(tx: Transaction, patient: Patient) -> int | None:
    """The patient's practitioner while they are an active practitioner, else no one (an
    invoice never names someone who has left unless staff choose them)."""
    staff_id = patient.practitioner_id
    row = None if staff_id is None else tx.session.get(Staff, staff_id)
    if row is None or not row.active or row.role != Role.PRACTITIONER.value:
        return None
    return row.id


def _parse(
    tx: Transaction,
    patient: Patient,
    lines: Sequence[Any],
    tax_inclusive: bool,
    kept_items: Collection[int | None] = (),
) -> list[LineInput]:
    """The lines checked and priced: items at the patient's concession price. An archived
    item is refused on a new line but not when the invoice already had it (``kept_items``):
    correcting another line keeps it."""
    return parse_lines(
        lines,
        tx.currency(),
        tax_inclusive=tax_inclusive,
        item=lambda item_id: catalogue_line(
            tx.session, item_id, patient.concession, archived_ok=item_id in kept_items
        ),
    )


def _days(
    issue_date: date | None, due_date: date | None, service_date: date | None
) -> tuple[date, date | None, date | None]:
    """A new invoice's issue date (default today), due date and service date, checked."""
    today = date.today()
    issue = today if issue_date is None else dates.issue_day(issue_date, "issue date", today)
    due = None if due_date is None else dates.due_day(due_date, issue)
    service = None if service_date is None else dates.issue_day(service_date, "service date", today)
    return issue, due, service


def _chosen_practitioner(
    tx: Transaction, patient: Patient, practitioner_id: int | Unchanged | None
) -> int | None:
    """The practitioner named on a new invoice: as given, or the patient's own."""
    if isinstance(practitioner_id, Unchanged):
        return _default_practitioner(tx, patient)
    return None if practitioner_id is None else _practitioner(tx, practitioner_id)


class _Heading(NamedTuple):
    """What a new invoice says besides its lines."""

    issue_date: date
    due_date: date | None
    service_date: date | None
    practitioner: int | None
    claim: str | None


def _save(
    tx: Transaction,
    patient: Patient,
    account: Patient,
    parsed: Sequence[LineInput],
    inclusive: bool,
    heading: _Heading,
    *,
    draft: bool = False,
    split_with: Invoice | None = None,
) -> Invoice:
    """Save a new invoice for ``patient`` owed by ``account`` (the patient's own, or a
    payer's), audited; an issued one counts in the account's outstanding at once."""
    total = sum(line.amount_minor for line in parsed)
    billed_to_payer = account is not patient
    invoice = Invoice(
        number=None if draft else _next_number(tx),
        patient_id=account.id,
        for_patient_id=patient.id if billed_to_payer else None,
        claim_reference=heading.claim,
        split_with_id=None if split_with is None else split_with.id,
        issue_date=heading.issue_date,
        due_date=heading.due_date,
        total_minor=total,
        paid_minor=0,
        status=InvoiceStatus.DRAFT if draft else InvoiceStatus.OPEN,
        created_at=audit.moment(tx.session),
        tax_inclusive=inclusive,
        practitioner_id=heading.practitioner,
        service_date=heading.service_date,
    )
    tx.session.add(invoice)
    tx.session.flush()
    tx.session.add_all(_line_rows(invoice.id, parsed))
    after: dict[str, Any] = {
        "number": invoice.number,
        "patient_id": account.id,
        "total": total,
        "issue_date": heading.issue_date,
    }
    if heading.practitioner is not None:
        after["practitioner_id"] = heading.practitioner
    if billed_to_payer:
        after.update(for_patient_id=patient.id, claim=heading.claim)
    if split_with is not None:
        after["split_with"] = split_with.number
    if draft:
        after["lines"] = _lines_audited(parsed)
    else:
        account.outstanding_minor += total
    tx.audit(
        action=AuditAction.SAVE_DRAFT if draft else AuditAction.CREATE_INVOICE,
        entity=AuditEntity.INVOICE,
        entity_id=invoice.id,
        after=after,
    )
    return invoice


class Invoices(Manager):
    """The clinic's invoices."""

    @requires(Permission.INVOICES)
    def create(
        self,
        patient_id: int,
        lines: Sequence[Any],
        *,
        issue_date: date | None = None,
        due_date: date | None = None,
        practitioner_id: int | Unchanged | None = UNCHANGED,
        service_date: date | None = None,
        draft: bool = False,
        bill_to: int | Unchanged | None = UNCHANGED,
        claim_reference: str | None = None,
    ) -> int:
        """Issue an invoice (or save a draft); returns its id. Numbers are sequential across the
        clinic, given when an invoice is issued.

        Args:
            patient_id: who is billed.
            lines: per line ``(description, unit price, quantity[, tax rate %])`` or a mapping
                (``domain.invoicing.parse_lines``): a catalogue ``item`` (priced at the
                patient's concession price), a ``discount``, a quantity such as ``"0.5"``.
            issue_date: defaults to today; from 20 years ago to a year ahead (dates.py).
            due_date: optional; from the issue date to 5 years after it.
            practitioner_id: who provided the service (an active practitioner); None for no
                one; left out, the patient's practitioner.
            service_date: when the service was provided (optional).
            draft: save a draft: no number, in no balance, until :meth:`issue`.
            bill_to: a payer of the patient's who owes the invoice (it counts in the payer's
                outstanding, never the patient's); None: the patient; left out, the payer of
                the patient's membership marked for new invoices, if one is valid that day.
            claim_reference: the payer's claim (or approval, or order) reference.
        """
        check_id(patient_id, "patient")
        if not isinstance(draft, bool):
            raise BillingError("draft must be True or False.", code=Refusal.BAD_CHOICE)
        issue_date, due_date, service_date = _days(issue_date, due_date, service_date)
        claim = payer_billing.claim_text(claim_reference)
        with self.store.write() as tx:
            patient, account = payer_billing.lock_accounts(
                tx, patient_id, bill_to, service_date or issue_date, claim
            )
            inclusive = stored.prices_include_tax(tx.session)
            parsed = _parse(tx, patient, lines, inclusive)
            heading = _Heading(
                issue_date,
                due_date,
                service_date,
                _chosen_practitioner(tx, patient, practitioner_id),
                claim,
            )
            return _save(tx, patient, account, parsed, inclusive, heading, draft=draft).id

    @requires(Permission.INVOICES)
    def create_split(
        self,
        patient_id: int,
        lines: Sequence[Any],
        *,
        payer: int,
        payer_share: str | Decimal | int,
        claim_reference: str | None = None,
        issue_date: date | None = None,
        due_date: date | None = None,
        practitioner_id: int | Unchanged | None = UNCHANGED,
        service_date: date | None = None,
    ) -> tuple[int | None, int | None]:
        """Split billing in one step: the payer pays ``payer_share`` of the visit (an amount,
        ``"60.00"``, or a share, ``"80%"``) and the patient the gap. Returns the ids of the
        payer's invoice and the patient's, linked to each other (None for a side that owes
        nothing: a share of all or nothing). Each line's part is priced tax included
        (``domain.payers.split_lines``); the two totals add up to the visit's.

        Refused: a share that is negative or more than the total, a payer that is not active.
        """
        issue_date, due_date, service_date = _days(issue_date, due_date, service_date)
        claim = payer_billing.claim_text(claim_reference)
        with self.store.write() as tx:
            patient, account = payer_billing.lock_accounts(
                tx, patient_id, payer, service_date or issue_date, claim
            )
            inclusive = stored.prices_include_tax(tx.session)
            parsed = _parse(tx, patient, lines, inclusive)
            total = sum(line.amount_minor for line in parsed)
            share = payer_share_minor(payer_share, total, tx.currency())
            payer_lines, patient_lines = split_lines(parsed, share)
            heading = _Heading(
                issue_date,
                due_date,
                service_date,
                _chosen_practitioner(tx, patient, practitioner_id),
                claim,
            )
            payer_invoice = (
                _save(tx, patient, account, payer_lines, True, heading) if payer_lines else None
            )
            gap = (
                _save(
                    tx,
                    patient,
                    patient,
                    patient_lines,
                    True,
                    heading._replace(claim=None),
                    split_with=payer_invoice,
                )
                if patient_lines
                else None
            )
            return (
                None if payer_invoice is None else payer_invoice.id,
                None if gap is None else gap.id,
            )

    @requires(Permission.INVOICES)
    def update(
        self,
        invoice_id: int,
        *,
        lines: Sequence[Any] | None = None,
        issue_date: date | None = None,
        due_date: date | None = None,
        practitioner_id: int | Unchanged | None = UNCHANGED,
        service_date: date | Unchanged | None = UNCHANGED,
        bill_to: int | Unchanged | None = UNCHANGED,
        claim_reference: str | Unchanged | None = UNCHANGED,
    ) -> None:
        """Change a draft, or an issued invoice while nothing is applied to it, it has no
        credit note and no accounting export has included it (refused otherwise, naming what
        to undo). Lines and dates left at None are unchanged; the practitioner and the service
        date change when given, None clearing them. The patient's balance follows the new
        total in the same transaction; the audit entry keeps the lines before and after.

        ``bill_to`` moves the invoice to another of the patient's payers, or (None) to the
        patient when a payer declines the claim; the balance moves with it. An invoice of a
        split pair keeps its payer. ``claim_reference`` changes the claim (None clears it)."""
        today = date.today()
        claim = (
            claim_reference
            if isinstance(claim_reference, Unchanged)
            else payer_billing.claim_text(claim_reference)
        )
        with self.store.write() as tx:
            invoice, patient, account = payer_billing.lock_for_edit(tx, invoice_id, bill_to)
            _refuse_edit(tx, invoice)
            old_lines = read_models.lines_by_invoice(tx.session, [invoice.id]).get(invoice.id, [])
            before: dict[str, Any] = {}
            after: dict[str, Any] = {}

            def change(name: str, value: Any) -> None:
                if getattr(invoice, name) != value:
                    before[name], after[name] = getattr(invoice, name), value
                    setattr(invoice, name, value)

            if issue_date is not None:
                change("issue_date", dates.issue_day(issue_date, "issue date", today))
            if due_date is not None:
                change("due_date", dates.due_day(due_date, invoice.issue_date))
            elif invoice.due_date is not None and invoice.due_date < invoice.issue_date:
                raise BillingError(
                    "The due date is before the new issue date; change the due date too.",
                    code=Refusal.BAD_DATE,
                    field="due_date",
                )
            if service_date is None:
                change("service_date", None)
            elif not isinstance(service_date, Unchanged):
                change("service_date", dates.issue_day(service_date, "service date", today))
            if practitioner_id is None:
                change("practitioner_id", None)
            elif not isinstance(practitioner_id, Unchanged):
                change("practitioner_id", _practitioner(tx, practitioner_id))
            if lines is not None:
                kept = {ln.item_id for ln in old_lines}
                parsed = _parse(tx, patient, lines, invoice.tax_inclusive, kept)
                if _lines_audited(parsed) != _lines_audited(old_lines):
                    total = sum(line.amount_minor for line in parsed)
                    before["lines"], after["lines"] = (
                        _lines_audited(old_lines),
                        _lines_audited(parsed),
                    )
                    before["total"], after["total"] = invoice.total_minor, total
                    if invoice.status == InvoiceStatus.OPEN:
                        account.outstanding_minor += total - invoice.total_minor
                    invoice.total_minor = total
                    tx.session.execute(
                        delete(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
                    )
                    tx.session.add_all(_line_rows(invoice.id, parsed))
            payer_billing.move_to(tx, invoice, patient, bill_to, claim, change)
            if after:
                after["number"] = invoice.number
                tx.audit(
                    action=AuditAction.EDIT_INVOICE,
                    entity=AuditEntity.INVOICE,
                    entity_id=invoice.id,
                    before=before,
                    after=after,
                )

    @requires(Permission.INVOICES)
    def edit_refusal(self, invoice_id: int) -> str | None:
        """Why invoice ``invoice_id`` cannot be corrected now (what to undo first, or that a
        credit note is the way), or None when :meth:`update` would take a change. Saves
        nothing."""
        with self.store.write() as tx:
            invoice = tx.locked_invoice(invoice_id)
            if invoice.status == InvoiceStatus.DRAFT:
                return None
            try:
                _refuse_edit(tx, invoice)
            except BillingError as refused:
                return str(refused)
            return None

    @requires(Permission.INVOICES)
    def issue(self, invoice_id: int, issue_date: date | None = None) -> int:
        """Issue a draft: it gets the next number and counts in the patient's balance from now;
        its issue date is today unless given. Returns its number."""
        today = date.today()
        day = today if issue_date is None else dates.issue_day(issue_date, "issue date", today)
        with self.store.write() as tx:
            invoice = tx.locked_invoice(invoice_id)
            if invoice.status != InvoiceStatus.DRAFT:
                raise BillingError(
                    f"Invoice #{invoice.number} is already issued.", code=Refusal.BAD_CHOICE
                )
            if invoice.due_date is not None and invoice.due_date < day:
                raise BillingError(
                    f"The draft's due date {invoice.due_date.isoformat()} is before the issue "
                    f"date {day.isoformat()}; change the due date first.",
                    code=Refusal.BAD_DATE,
                    field="due_date",
                )
            patient = tx.session.get_one(Patient, invoice.patient_id)
            invoice.number = _next_number(tx)
            invoice.status = InvoiceStatus.OPEN
            invoice.issue_date = day
            patient.outstanding_minor += invoice.total_minor
            tx.audit(
                action=AuditAction.ISSUE_INVOICE,
                entity=AuditEntity.INVOICE,
                entity_id=invoice.id,
                after={"number": invoice.number, "total": invoice.total_minor, "issue_date": day},
            )
            return invoice.number

    @requires(Permission.INVOICES)
    def delete_draft(self, invoice_id: int) -> None:
        """Delete a draft (an issued invoice is voided instead, never deleted)."""
        with self.store.write() as tx:
            invoice = tx.locked_invoice(invoice_id, archived_ok=True)
            if invoice.status != InvoiceStatus.DRAFT:
                raise BillingError(
                    f"Invoice #{invoice.number} is issued: void it instead (an issued invoice "
                    "is never deleted).",
                    code=Refusal.BAD_CHOICE,
                )
            old_lines = read_models.lines_by_invoice(tx.session, [invoice.id]).get(invoice.id, [])
            tx.audit(
                action=AuditAction.DELETE_DRAFT,
                entity=AuditEntity.INVOICE,
                entity_id=invoice.id,
                before={
                    "patient_id": invoice.patient_id,
                    "total": invoice.total_minor,
                    "lines": _lines_audited(old_lines),
                },
            )
            tx.session.execute(delete(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id))
            tx.session.delete(invoice)

    @reads_record(Invoice)
    def get(self, invoice_id: int) -> InvoiceRecord:
        """One invoice with its lines, total, paid, balance and status."""
        with self.store.read() as session:
            row = read_models.one(session, Invoice, invoice_id, "invoice")
            lines = read_models.lines_by_invoice(session, [row.id]).get(row.id, [])
            return read_models.invoice_record(row, lines, stored.currency(session))

    @reads_patient
    def __call__(self, patient_id: int, *, open_only: bool = False) -> list[InvoiceRecord]:
        """The patient's invoices by issue date, then number: those they owe and those billed
        to a payer for them (``payer_id`` set; the patient does not owe those). For a payer,
        the invoices billed to it."""
        query = select(Invoice).where(
            or_(Invoice.patient_id == patient_id, Invoice.for_patient_id == patient_id)
        )
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


def _next_number(tx: Transaction) -> int:
    counter = tx.session.scalars(
        select(Counter).where(Counter.name == "invoice_number").with_for_update()
    ).one()
    counter.value += 1
    return counter.value


def _refuse_edit(tx: Transaction, invoice: Invoice) -> None:
    """Refuse to edit an invoice that money, a credit note or an accounting export has
    touched, naming what to undo."""
    what = f"Invoice #{invoice.number}"
    if invoice.status == InvoiceStatus.VOID:
        raise BillingError(f"{what} is void: it cannot be edited.", code=Refusal.BAD_CHOICE)
    if invoice.status == InvoiceStatus.DRAFT:
        return
    currency = tx.currency()
    if invoice.paid_minor:
        raise BillingError(
            f"{what} has {format_amount(invoice.paid_minor, currency)} paid on it: remove the "
            "payment from it (or reverse the payment) before editing, or issue a credit note.",
            code=Refusal.BAD_CHOICE,
        )
    notes = tx.session.scalars(
        select(CreditNote.number).where(
            CreditNote.invoice_id == invoice.id, CreditNote.reversed_at.is_(None)
        )
    ).all()
    if notes:
        names = ", ".join(f"CN-{n}" for n in notes)
        raise BillingError(
            f"{what} has credit note {names}: reverse it before editing, or issue another "
            "credit note for the change.",
            code=Refusal.BAD_CHOICE,
        )
    exported = tx.session.scalars(
        select(AccountingExport.at)
        .join(AccountingExportItem, AccountingExportItem.export_id == AccountingExport.id)
        .where(
            AccountingExportItem.kind == "invoice",
            AccountingExportItem.record_id == invoice.id,
            AccountingExportItem.state == SENT,  # not one deferred to a later export
        )
        .limit(1)
    ).first()
    if exported is not None:
        raise BillingError(
            f"{what} was sent to the accounting package (the export of "
            f"{exported.date().isoformat()}): issue a credit note for the change instead.",
            code=Refusal.BAD_CHOICE,
        )
