"""The accounting export: the ledger as Xero import files, so every invoice closed here can be
closed there too, including the ones paid from account credit.

Each export writes, into a new folder, only what is new or changed since the last export:

``xero-invoices.csv``
    Invoices and credit notes in Xero's sales invoice import template (credit notes as negative
    amounts, which Xero imports as credit notes). Unit amounts exclude tax; each line's tax is
    given in ``TaxAmount`` so Xero's cents match ours.
``xero-payments.csv``
    Money received and refunded, one row per payment type: into that type's clearing account,
    against the patient's account credit (a prepayment, in Xero's words).
``xero-allocations.csv``
    What closed each invoice: a payment's money, account credit, or a credit note, allocated to
    the invoice. Credit applied to an invoice is an allocation of the prepayment.
``xero-credit-transfers.csv``
    Account credit moved between patients.
``reconciliation.csv``
    Every record this export sent, every record changed since an earlier export (with what to do
    in Xero: a voided invoice, a reversed credit note), control totals per file and per payment
    type.

Reversals, removals and voids of records already exported are exported as reversing rows dated
the day they happened; records undone before they were ever exported are left out (and listed).
Each export and the state of every record it sent are saved, so exporting again sends nothing
twice. See ``docs/accounting-export.md`` for the mapping to accounts.
"""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, exists, func, insert, select, union_all
from sqlalchemy.orm import Session, aliased

from ..db.models import (
    AccountingExport,
    AccountingExportItem,
    Application,
    CreditNote,
    CreditTransfer,
    Invoice,
    InvoiceLine,
    Patient,
    Payment,
    PaymentSource,
    PaymentType,
)
from ..domain.currencies import MINOR_UNITS
from ..domain.kinds import AuditAction, AuditEntity, InvoiceStatus, PaymentKind
from ..domain.money import format_amount
from ..ledger import audit
from ..ledger.audit import local_day
from .accounting_mapping import DATE_FORMATS, AccountMapping
from .spreadsheet_text import safe_text

TARGET = "xero"

#: Xero's sales invoice import template, column for column.
INVOICE_COLUMNS = (
    "*ContactName",
    "EmailAddress",
    "POAddressLine1",
    "POAddressLine2",
    "POAddressLine3",
    "POAddressLine4",
    "POCity",
    "PORegion",
    "POPostalCode",
    "POCountry",
    "*InvoiceNumber",
    "Reference",
    "*InvoiceDate",
    "*DueDate",
    "InventoryItemCode",
    "*Description",
    "*Quantity",
    "*UnitAmount",
    "Discount",
    "*AccountCode",
    "*TaxType",
    "TaxAmount",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
    "Currency",
    "BrandingTheme",
)
PAYMENT_COLUMNS = (
    "Date",
    "ContactName",
    "Reference",
    "PaymentType",
    "AccountCode",
    "CreditAccountCode",
    "Amount",
    "Description",
)
ALLOCATION_COLUMNS = (
    "Date",
    "ContactName",
    "InvoiceNumber",
    "Amount",
    "Source",
    "SourceAccountCode",
    "Reference",
)
TRANSFER_COLUMNS = ("Date", "FromContact", "ToContact", "Amount", "AccountCode", "Reference")
RECONCILIATION_COLUMNS = ("Section", "Status", "Record", "Date", "Contact", "Amount", "Xero action")
FILES = {
    "invoices": "xero-invoices.csv",
    "payments": "xero-payments.csv",
    "allocations": "xero-allocations.csv",
    "transfers": "xero-credit-transfers.csv",
    "reconciliation": "reconciliation.csv",
}

#: Per kind: the live state, the undone state.
#: The state of a record an export saw but left for a later one (dated after its last day).
DEFERRED = "deferred"

STATES = {
    "invoice": ("issued", "void"),
    "credit_note": ("issued", "reversed"),
    "payment": ("received", "reversed"),
    "application": ("applied", "removed"),
    "transfer": ("moved", "reversed"),
}

# -- what an export contains ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What an export sent (or, for a preview, would send). Amounts are minor units."""

    export_id: int | None
    folder: Path | None
    through: date
    rows: dict[str, int]
    new_records: int
    changed_records: int
    skipped_records: int
    invoiced_minor: int
    credit_notes_minor: int
    received_by_type_minor: dict[str, int]
    allocated_minor: int
    transferred_minor: int
    actions: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        """Nothing new or changed since the last export."""
        return not (self.new_records or self.changed_records or self.skipped_records)

    def describe(self, currency: str) -> str:
        """A few lines for people: where, how many rows, the control totals, what to do in Xero."""

        def amount(minor: int) -> str:
            return format_amount(minor, currency)

        if self.is_empty:
            return "Nothing new or changed since the last accounting export."
        head = (
            f"Accounting export {self.export_id} written to {self.folder}"
            if self.folder is not None
            else "Accounting export preview (nothing written)"
        )
        lines = [
            f"{head}: records dated up to {self.through.isoformat()}.",
            f"  {self.new_records:,} new, {self.changed_records:,} changed since exported, "
            f"{self.skipped_records:,} undone before export (left out).",
            "  Rows: " + ", ".join(f"{key} {count:,}" for key, count in self.rows.items()) + ".",
            f"  Invoices {amount(self.invoiced_minor)}; credit notes "
            f"{amount(self.credit_notes_minor)}; allocated to invoices "
            f"{amount(self.allocated_minor)}; credit transferred {amount(self.transferred_minor)}.",
        ]
        for name, minor in sorted(self.received_by_type_minor.items()):
            lines.append(f"  Money received (net), {name}: {amount(minor)}")
        for action in self.actions:
            lines.append(f"  To do in Xero: {action}")
        return "\n".join(lines)


@dataclass
class _Batch:
    """The rows of one export being built, and the items it will save."""

    mapping: AccountMapping
    currency: str
    files: dict[str, list[list[str]]] = field(default_factory=lambda: defaultdict(list))
    items: list[tuple[str, int, str, int]] = field(default_factory=list)
    new: int = 0
    changed: int = 0
    skipped: int = 0
    invoiced: int = 0
    credited: int = 0
    received: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    allocated: int = 0
    transferred: int = 0
    actions: list[str] = field(default_factory=list)

    _days: dict[date, str] = field(default_factory=dict)

    def money(self, minor: int) -> str:
        """A plain amount, ``-12.50``: integer arithmetic on the minor units."""
        places = MINOR_UNITS[self.currency]
        sign = "-" if minor < 0 else ""
        whole, part = divmod(abs(minor), 10**places)
        return f"{sign}{whole}.{part:0{places}d}" if places else f"{sign}{whole}"

    def day(self, value: date) -> str:
        """A date as the mapping writes dates (each distinct day formatted once)."""
        text = self._days.get(value)
        if text is None:
            text = self._days[value] = value.strftime(DATE_FORMATS[self.mapping.date_format])
        return text

    def sent(self, kind: str, record_id: int, minor: int, how: str) -> None:
        """Remember a record this export handles: ``new`` (sent as it is), ``skipped`` (undone
        before it was ever sent) or ``changed`` (undone since it was sent)."""
        live, undone = STATES[kind]
        self.items.append((kind, record_id, live if how == "new" else undone, minor))
        if how == "new":
            self.new += 1
        elif how == "skipped":
            self.skipped += 1
        else:
            self.changed += 1

    def reconcile(
        self, status: str, record: str, day: date, contact: str, minor: int, action: str = ""
    ) -> None:
        self.files["reconciliation"].append(
            ["Records", status, record, self.day(day), contact, self.money(minor), action]
        )
        if action:
            self.actions.append(f"{record}: {action}")


def _contact(first: str, last: str, patient_id: int) -> str:
    """A patient as a contact: the id keeps two patients of the same name apart."""
    return safe_text(f"{first} {last} ({patient_id})")


def _exported(kind: str, record_id: Any, state: str) -> Any:
    return exists().where(
        AccountingExportItem.kind == kind,
        AccountingExportItem.record_id == record_id,
        AccountingExportItem.state == state,
    )


def _new_and_changed(session: Session, kind: str, id_column: Any, dead: Any) -> tuple[Any, Any]:
    """Conditions on a kind's records: not handled by any export yet; exported live and undone
    since, the undoing not exported.

    Every export handles every record of a kind up to the highest id it saw: it sends it, leaves
    it out (undone before it was sent) or defers it (dated after the export's last day: a
    ``deferred`` item). So the records not handled yet are those above that id, and the deferred
    ones not sent since: found by the primary key and the items' index, without reading the
    records every earlier export sent. (An export holds the currency lock, which every save takes
    first, so no record with a lower id can still be on its way.)
    """
    live, undone = STATES[kind]
    seen = session.scalar(
        select(func.max(AccountingExportItem.record_id)).where(AccountingExportItem.kind == kind)
    )
    later = aliased(AccountingExportItem)
    pending = select(AccountingExportItem.record_id).where(
        AccountingExportItem.kind == kind,
        AccountingExportItem.state == DEFERRED,
        ~exists().where(
            later.kind == kind,
            later.record_id == AccountingExportItem.record_id,
            later.state != DEFERRED,
        ),
    )
    # One IN over the ids (not "id > seen OR id IN pending"): the database then looks records up
    # by id instead of scanning a date index over every record.
    table = id_column.class_.__table__
    above = select(table.c.id).where(table.c.id > (seen or 0))
    new = id_column.in_(union_all(above, pending))
    changed = and_(dead, _exported(kind, id_column, live), ~_exported(kind, id_column, undone))
    return new, changed


def _defer(session: Session, batch: _Batch, kind: str, query: Any) -> None:
    """Remember the records ``query`` finds (``id, amount``: not handled yet, dated after the
    export's last day) as deferred, so the next export looks at them again."""
    for record_id, minor in session.execute(query):
        batch.items.append((kind, record_id, DEFERRED, minor))


def build_export(session: Session, mapping: AccountMapping, currency: str, through: date) -> _Batch:
    """Every row of the next export: records dated up to ``through`` not yet exported, and
    changes to records exported before."""
    batch = _Batch(mapping, currency)
    names = _NameCache(session)
    _invoices(session, batch, names, through)
    _credit_notes(session, batch, names, through)
    _payments(session, batch, names, through)
    _applications(session, batch, names, through)
    _transfers(session, batch, names, through)
    return batch


class _NameCache:
    """Patients' contact names, read in one query the first time one is needed (a month's export
    names about as many patients as it has invoices: one query each was most of its time)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._rows: dict[int, tuple[str, str]] | None = None
        self._names: dict[int, str] = {}

    def __call__(self, patient_id: int) -> str:
        name = self._names.get(patient_id)
        if name is None:
            if self._rows is None:
                self._rows = {
                    pid: (first, last)
                    for pid, first, last in self._session.execute(
                        select(Patient.id, Patient.first_name, Patient.last_name)
                    )
                }
            first, last = self._rows[patient_id]
            name = self._names[patient_id] = _contact(first, last, patient_id)
        return name


def _invoices(session: Session, batch: _Batch, names: _NameCache, through: date) -> None:
    m = batch.mapping
    new, changed = _new_and_changed(
        session, "invoice", Invoice.id, Invoice.status == InvoiceStatus.VOID
    )
    _defer(
        session,
        batch,
        "invoice",
        select(Invoice.id, Invoice.total_minor).where(new, Invoice.issue_date > through),
    )
    # Rows of columns, not ORM objects: a first export reads every invoice of the clinic.
    rows = session.execute(
        select(Invoice.__table__).where(Invoice.issue_date <= through, new).order_by(Invoice.number)
    ).all()
    lines: dict[int, list[Any]] = defaultdict(list)
    for line in session.execute(
        select(InvoiceLine.__table__)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.issue_date <= through, Invoice.status != InvoiceStatus.VOID, new)
        .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
    ):
        lines[line.invoice_id].append(line)
    for inv in rows:
        number = f"{m.invoice_prefix}{inv.number}"
        contact = names(inv.patient_id)
        if inv.status == InvoiceStatus.VOID:
            batch.sent("invoice", inv.id, inv.total_minor, "skipped")
            batch.reconcile(
                "voided before export: left out", number, inv.issue_date, contact, inv.total_minor
            )
            continue
        for line in lines[inv.id]:
            batch.files["invoices"].append(
                _invoice_row(
                    batch,
                    contact,
                    number,
                    "",
                    inv.issue_date,
                    inv.due_date or inv.issue_date,
                    line.description,
                    line.quantity,
                    line.unit_price_minor,
                    line.tax_rate_bp,
                    line.tax_minor,
                )
            )
        batch.sent("invoice", inv.id, inv.total_minor, "new")
        batch.invoiced += inv.total_minor
        batch.reconcile("exported", number, inv.issue_date, contact, inv.total_minor)
    for inv in session.execute(select(Invoice.__table__).where(changed).order_by(Invoice.number)):
        number = f"{m.invoice_prefix}{inv.number}"
        day = local_day(inv.voided_at) if inv.voided_at else inv.issue_date
        batch.sent("invoice", inv.id, inv.total_minor, "changed")
        batch.reconcile(
            "voided since exported",
            number,
            day,
            names(inv.patient_id),
            inv.total_minor,
            f"Void invoice {number} in Xero (its payments come back as reversing allocations).",
        )


def _invoice_row(
    batch: _Batch,
    contact: str,
    number: str,
    reference: str,
    issued: date,
    due: date,
    description: str,
    quantity: int,
    unit_minor: int,
    rate_bp: int,
    tax_minor: int,
) -> list[str]:
    m = batch.mapping
    row = dict.fromkeys(INVOICE_COLUMNS, "")
    row.update(
        {
            "*ContactName": contact,
            "*InvoiceNumber": number,
            "Reference": reference,
            "*InvoiceDate": batch.day(issued),
            "*DueDate": batch.day(due),
            "*Description": safe_text(" ".join(description.split())),
            "*Quantity": str(quantity),
            "*UnitAmount": batch.money(unit_minor),
            "*AccountCode": m.sales_account,
            "*TaxType": m.tax_type(rate_bp),
            "TaxAmount": batch.money(tax_minor),
            "Currency": batch.currency,
        }
    )
    return [row[c] for c in INVOICE_COLUMNS]


def split_credit(amount: int, lines: Sequence[InvoiceLine]) -> list[tuple[InvoiceLine, int, int]]:
    """Share a credit note's amount over its invoice's lines in proportion to each line's amount
    (largest remainders get the odd cents), each share split into ex-tax amount and tax.

    Returns ``(line, ex_tax, tax)`` for lines with a share; the shares add up to ``amount``.
    """
    total = sum(line.amount_minor for line in lines)
    if total <= 0:
        return []
    raw = [(amount * line.amount_minor) // total for line in lines]
    remainders = sorted(
        range(len(lines)),
        key=lambda i: ((amount * lines[i].amount_minor) % total, -i),
        reverse=True,
    )
    for i in remainders[: amount - sum(raw)]:
        raw[i] += 1
    shares = []
    for line, share in zip(lines, raw, strict=True):
        if share:
            tax = (
                (share * line.tax_minor + line.amount_minor // 2) // line.amount_minor
                if line.amount_minor
                else 0
            )
            shares.append((line, share - tax, tax))
    return shares


def _credit_notes(session: Session, batch: _Batch, names: _NameCache, through: date) -> None:
    m = batch.mapping
    new, changed = _new_and_changed(
        session, "credit_note", CreditNote.id, CreditNote.reversed_at.is_not(None)
    )
    _defer(
        session,
        batch,
        "credit_note",
        select(CreditNote.id, CreditNote.amount_minor).where(new, CreditNote.note_date > through),
    )
    for note, number in session.execute(
        select(CreditNote, Invoice.number)
        .join(Invoice, Invoice.id == CreditNote.invoice_id)
        .where(CreditNote.note_date <= through, new)
        .order_by(CreditNote.number)
    ):
        label = f"{m.credit_note_prefix}{note.number}"
        invoice_label = f"{m.invoice_prefix}{number}"
        contact = names(note.patient_id)
        if note.reversed_at is not None:
            batch.sent("credit_note", note.id, note.amount_minor, "skipped")
            batch.reconcile(
                "reversed before export: left out",
                label,
                note.note_date,
                contact,
                note.amount_minor,
            )
            continue
        lines = session.scalars(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id == note.invoice_id)
            .order_by(InvoiceLine.position)
        ).all()
        for line, ex_tax, tax in split_credit(note.amount_minor, lines):
            batch.files["invoices"].append(
                _invoice_row(
                    batch,
                    contact,
                    label,
                    invoice_label,
                    note.note_date,
                    note.note_date,
                    f"Credit: {line.description}",
                    1,
                    -ex_tax,
                    line.tax_rate_bp,
                    -tax,
                )
            )
        _credit_note_allocation(batch, note, contact, invoice_label, note.note_date, 1)
        batch.sent("credit_note", note.id, note.amount_minor, "new")
        batch.credited += note.amount_minor
        batch.reconcile("exported", label, note.note_date, contact, note.amount_minor)
    for note, number in session.execute(
        select(CreditNote, Invoice.number)
        .join(Invoice, Invoice.id == CreditNote.invoice_id)
        .where(changed)
        .order_by(CreditNote.number)
    ):
        label = f"{m.credit_note_prefix}{note.number}"
        assert note.reversed_at is not None
        _credit_note_allocation(
            batch,
            note,
            names(note.patient_id),
            f"{m.invoice_prefix}{number}",
            local_day(note.reversed_at),
            -1,
        )
        batch.sent("credit_note", note.id, note.amount_minor, "changed")
        batch.reconcile(
            "reversed since exported",
            label,
            local_day(note.reversed_at),
            names(note.patient_id),
            note.amount_minor,
            f"Void credit note {label} in Xero (its allocation comes back as a reversing row).",
        )


def _credit_note_allocation(
    batch: _Batch, note: CreditNote, contact: str, invoice_label: str, day: date, sign: int
) -> None:
    """The part of a credit note that reduced its invoice, as an allocation (or its reversal)."""
    if not note.applied_minor:
        return
    label = f"{batch.mapping.credit_note_prefix}{note.number}"
    batch.files["allocations"].append(
        [
            batch.day(day),
            contact,
            invoice_label,
            batch.money(sign * note.applied_minor),
            f"Credit note {label}",
            "",
            label + (" reversed" if sign < 0 else ""),
        ]
    )
    batch.allocated += sign * note.applied_minor


def _payments(session: Session, batch: _Batch, names: _NameCache, through: date) -> None:
    m = batch.mapping
    new, changed = _new_and_changed(
        session, "payment", Payment.id, Payment.reversed_at.is_not(None)
    )
    _defer(
        session,
        batch,
        "payment",
        select(Payment.id, Payment.total_minor).where(
            new, Payment.payment_date > through, Payment.total_minor != 0
        ),
    )
    sources: dict[int, list[tuple[str, int]]] = defaultdict(list)

    def rows(condition: Any) -> list[Any]:
        where = (condition, Payment.total_minor != 0)
        found = session.execute(select(Payment.__table__).where(*where).order_by(Payment.id)).all()
        for pid, name, minor in session.execute(
            select(PaymentSource.payment_id, PaymentType.name, PaymentSource.amount_minor)
            .join(PaymentType, PaymentType.id == PaymentSource.payment_type_id)
            .join(Payment, Payment.id == PaymentSource.payment_id)
            .where(*where)
            .order_by(PaymentSource.id)
        ):
            sources[pid].append((name, minor))
        return list(found)

    def money_rows(pay: Any, day: date, sign: int, what: str) -> None:
        reference = f"{'REF' if pay.kind == 'refund' else 'PAY'}-{pay.id}"
        for name, minor in sources[pay.id]:
            batch.files["payments"].append(
                [
                    batch.day(day),
                    names(pay.patient_id),
                    reference + (" reversed" if sign < 0 else ""),
                    safe_text(name),
                    m.clearing_account(name),
                    m.credit_account,
                    batch.money(sign * minor),
                    what,
                ]
            )
            batch.received[name] += sign * minor

    for pay in rows(and_(Payment.payment_date <= through, new)):
        reference = f"{'REF' if pay.kind == 'refund' else 'PAY'}-{pay.id}"
        contact = names(pay.patient_id)
        if pay.reversed_at is not None:
            batch.sent("payment", pay.id, pay.total_minor, "skipped")
            batch.reconcile(
                "reversed before export: left out",
                reference,
                pay.payment_date,
                contact,
                pay.total_minor,
            )
            continue
        what = (
            "Refund of account credit"
            if pay.kind == PaymentKind.REFUND
            else "Received into account credit"
        )
        money_rows(pay, pay.payment_date, 1, what)
        batch.sent("payment", pay.id, pay.total_minor, "new")
        batch.reconcile("exported", reference, pay.payment_date, contact, pay.total_minor)
    for pay in rows(changed):
        assert pay.reversed_at is not None
        day = local_day(pay.reversed_at)
        money_rows(pay, day, -1, "Reversal (entered by mistake)")
        batch.sent("payment", pay.id, pay.total_minor, "changed")
        reference = f"{'REF' if pay.kind == 'refund' else 'PAY'}-{pay.id}"
        batch.reconcile(
            "reversed since exported",
            reference,
            day,
            names(pay.patient_id),
            pay.total_minor,
            "Import the reversing payment row.",
        )


def _applications(session: Session, batch: _Batch, names: _NameCache, through: date) -> None:
    m = batch.mapping
    new, changed = _new_and_changed(
        session, "application", Application.id, Application.removed_at.is_not(None)
    )
    _defer(
        session,
        batch,
        "application",
        select(Application.id, Application.amount_minor)
        .join(Payment, Payment.id == Application.payment_id)
        .join(Invoice, Invoice.id == Application.invoice_id)
        .where(new, (Payment.payment_date > through) | (Invoice.issue_date > through)),
    )
    # An allocation goes with its invoice: a prepayment applied to a later invoice is dated (and
    # exported) with that invoice, never before Xero has the invoice to allocate to.
    query = (
        select(
            Application.__table__,
            Invoice.number,
            Invoice.issue_date,
            Payment.patient_id,
            Payment.payment_date,
        )
        .join(Invoice, Invoice.id == Application.invoice_id)
        .join(Payment, Payment.id == Application.payment_id)
        .order_by(Application.id)
    )

    def rows(app: Any, number: int, patient_id: int, day: date, sign: int) -> None:
        invoice_label = f"{m.invoice_prefix}{number}"
        contact = names(patient_id)
        suffix = " removed" if sign < 0 else ""
        if app.from_money_minor:
            batch.files["allocations"].append(
                [
                    batch.day(day),
                    contact,
                    invoice_label,
                    batch.money(sign * app.from_money_minor),
                    f"Payment PAY-{app.payment_id}",
                    m.credit_account,
                    f"APP-{app.id}{suffix}",
                ]
            )
        if app.from_credit_minor:
            batch.files["allocations"].append(
                [
                    batch.day(day),
                    contact,
                    invoice_label,
                    batch.money(sign * app.from_credit_minor),
                    "Account credit",
                    m.credit_account,
                    f"APP-{app.id}{suffix}",
                ]
            )
        batch.allocated += sign * app.amount_minor

    for app in session.execute(
        query.where(Payment.payment_date <= through, Invoice.issue_date <= through, new)
    ):
        if app.removed_at is not None:
            batch.sent("application", app.id, app.amount_minor, "skipped")
            continue
        rows(app, app.number, app.patient_id, max(app.payment_date, app.issue_date), 1)
        batch.sent("application", app.id, app.amount_minor, "new")
    for app in session.execute(query.where(changed)):
        number, patient_id = app.number, app.patient_id
        removed = local_day(app.removed_at)
        rows(app, number, patient_id, removed, -1)
        batch.sent("application", app.id, app.amount_minor, "changed")
        batch.reconcile(
            "removed since exported",
            f"APP-{app.id} on {m.invoice_prefix}{number}",
            removed,
            names(patient_id),
            app.amount_minor,
            "Import the reversing allocation row.",
        )


def _transfers(session: Session, batch: _Batch, names: _NameCache, through: date) -> None:
    m = batch.mapping
    new, changed = _new_and_changed(
        session, "transfer", CreditTransfer.id, CreditTransfer.reversed_at.is_not(None)
    )
    _defer(
        session,
        batch,
        "transfer",
        select(CreditTransfer.id, CreditTransfer.amount_minor).where(
            new, CreditTransfer.transfer_date > through
        ),
    )

    def row(tr: CreditTransfer, day: date, sign: int) -> None:
        batch.files["transfers"].append(
            [
                batch.day(day),
                names(tr.from_patient_id if sign > 0 else tr.to_patient_id),
                names(tr.to_patient_id if sign > 0 else tr.from_patient_id),
                batch.money(tr.amount_minor),
                m.credit_account,
                f"TRF-{tr.id}" + (" reversed" if sign < 0 else ""),
            ]
        )
        batch.transferred += sign * tr.amount_minor

    for tr in session.scalars(
        select(CreditTransfer)
        .where(CreditTransfer.transfer_date <= through, new)
        .order_by(CreditTransfer.id)
    ):
        if tr.reversed_at is not None:
            batch.sent("transfer", tr.id, tr.amount_minor, "skipped")
            continue
        row(tr, tr.transfer_date, 1)
        batch.sent("transfer", tr.id, tr.amount_minor, "new")
        batch.reconcile(
            "exported", f"TRF-{tr.id}", tr.transfer_date, names(tr.from_patient_id), tr.amount_minor
        )
    for tr in session.scalars(select(CreditTransfer).where(changed).order_by(CreditTransfer.id)):
        assert tr.reversed_at is not None
        day = local_day(tr.reversed_at)
        row(tr, day, -1)
        batch.sent("transfer", tr.id, tr.amount_minor, "changed")
        batch.reconcile(
            "reversed since exported",
            f"TRF-{tr.id}",
            day,
            names(tr.from_patient_id),
            tr.amount_minor,
            "Import the reversing transfer row.",
        )


# -- writing ---------------------------------------------------------------------------------


def summary_of(
    batch: _Batch, through: date, export_id: int | None, folder: Path | None
) -> ExportSummary:
    """The figures of a built export."""
    return ExportSummary(
        export_id=export_id,
        folder=folder,
        through=through,
        rows={key: len(batch.files.get(key, [])) for key in FILES if key != "reconciliation"},
        new_records=batch.new,
        changed_records=batch.changed,
        skipped_records=batch.skipped,
        invoiced_minor=batch.invoiced,
        credit_notes_minor=batch.credited,
        received_by_type_minor=dict(batch.received),
        allocated_minor=batch.allocated,
        transferred_minor=batch.transferred,
        actions=tuple(batch.actions),
    )


def _control_rows(batch: _Batch) -> Iterator[list[str]]:
    def total(label: str, minor: int) -> list[str]:
        return ["Totals", "", label, "", "", batch.money(minor), ""]

    yield total("Invoices", batch.invoiced)
    yield total("Credit notes", batch.credited)
    for name, minor in sorted(batch.received.items()):
        yield total(f"Money received (net): {name}", minor)
    yield total("Allocated to invoices", batch.allocated)
    yield total("Credit transferred", batch.transferred)


def write_files(batch: _Batch, folder: Path) -> None:
    """Write the export's files into ``folder`` (which must not exist yet)."""
    folder.mkdir(parents=False, exist_ok=False)
    headers = {
        "invoices": INVOICE_COLUMNS,
        "payments": PAYMENT_COLUMNS,
        "allocations": ALLOCATION_COLUMNS,
        "transfers": TRANSFER_COLUMNS,
        "reconciliation": RECONCILIATION_COLUMNS,
    }
    for key, name in FILES.items():
        rows: Iterable[list[str]] = batch.files.get(key, [])
        if key == "reconciliation":
            rows = [*rows, *_control_rows(batch)]
        with (folder / name).open("w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.writer(handle)
            writer.writerow(headers[key])
            writer.writerows(rows)


def save_export(
    session: Session, actor: str, batch: _Batch, through: date, parent: Path
) -> tuple[int, Path]:
    """Record the export and every item it sent (in the caller's transaction); returns its id
    and its folder inside ``parent``, named by that id (PostgreSQL's ids can skip numbers a
    refused export used, so the name is made from the saved id, not guessed before)."""
    moment = audit.moment(session)
    export = AccountingExport(
        at=moment, actor=actor, target=TARGET, through_date=through, folder=""
    )
    session.add(export)
    session.flush()
    folder = parent / export_folder_name(export.id, through)
    export.folder = str(folder)
    if batch.items:
        session.execute(
            insert(AccountingExportItem),
            [
                {
                    "export_id": export.id,
                    "kind": kind,
                    "record_id": rid,
                    "state": state,
                    "amount_minor": amount,
                }
                for kind, rid, state, amount in batch.items
            ],
        )
    audit.record(
        session,
        actor=actor,
        action=AuditAction.ACCOUNTING_EXPORT,
        entity=AuditEntity.ACCOUNTING_EXPORT,
        entity_id=export.id,
        after={
            "target": TARGET,
            "through": through.isoformat(),
            "folder": str(folder),
            "new": batch.new,
            "changed": batch.changed,
            "skipped": batch.skipped,
        },
    )
    return export.id, folder


def export_folder_name(export_id: int, through: date) -> str:
    """``xero-export-0003-2026-11-25``."""
    return f"xero-export-{export_id:04d}-{through.isoformat()}"


def remove_partial(folder: Path) -> None:
    """Delete a half-written export folder."""
    shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class ExportRecord:
    """A past export, as Settings and the export window list them."""

    id: int
    at: datetime
    actor: str
    through: date
    folder: str
    items: int


def past_exports(session: Session) -> list[ExportRecord]:
    """Every export, newest first, with the number of records it sent."""
    counts = dict(
        session.execute(
            select(AccountingExportItem.export_id, func.count())
            .where(AccountingExportItem.state != DEFERRED)
            .group_by(AccountingExportItem.export_id)
        ).all()
    )
    return [
        ExportRecord(e.id, e.at, e.actor, e.through_date, e.folder, counts.get(e.id, 0))
        for e in session.scalars(select(AccountingExport).order_by(AccountingExport.id.desc()))
    ]
