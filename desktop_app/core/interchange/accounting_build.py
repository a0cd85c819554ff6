"""Building an accounting export: :func:`build_export` reads, kind by kind (invoices, credit
notes, payments, allocations, credit transfers), the records dated up to the export's last day not
exported yet and the changes to records exported before, into an :class:`.ExportBatch` of rows
for the Xero files and items to save. Nothing is written here (:mod:`.accounting_export`).

A draft invoice is in no export: it is deferred, like a record dated after the export's last
day, so the first export after it is issued sends it. Invoices whose prices include tax go to
their own file (Xero imports one basis per file); each line is written as
:mod:`.accounting_lines` works out, so Xero computes our amounts to the cent.

An invoice billed to a payer is the payer's (its contact, with the payer's email address), its
``Reference`` the patient it is for and the claim; a patient's gap invoice names the payer's
invoice it was split from; a payer's remittance keeps the payer's reference after ``PAY-n``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ..db.models import (
    Application,
    CreditNote,
    CreditTransfer,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentSource,
    PaymentType,
)
from ..domain.currencies import MINOR_UNITS
from ..domain.kinds import InvoiceStatus, PaymentKind
from ..ledger import credit_trace
from ..ledger.audit import local_day
from .accounting_batch import (
    INVOICE_COLUMNS,
    ExportBatch,
    NameCache,
    defer,
    new_and_changed,
    payment_reference,
    split_reference,
)
from .accounting_lines import XeroLine, xero_line
from .accounting_mapping import AccountMapping
from .spreadsheet_text import safe_text


def build_export(
    session: Session, mapping: AccountMapping, currency: str, through: date
) -> ExportBatch:
    """Every row of the next export: records dated up to ``through`` not yet exported, and
    changes to records exported before."""
    batch = ExportBatch(mapping, currency)
    names = NameCache(session)
    _invoices(session, batch, names, through)
    _credit_notes(session, batch, names, through)
    _payments(session, batch, names, through)
    _applications(session, batch, names, through)
    _transfers(session, batch, names, through)
    return batch


def _invoices(session: Session, batch: ExportBatch, names: NameCache, through: date) -> None:
    m = batch.mapping
    new, changed = new_and_changed(
        session, "invoice", Invoice.id, Invoice.status == InvoiceStatus.VOID
    )
    # A draft is sent when it is issued: until then it waits like a record dated after the
    # last day (its id is older than the invoices issued before it).
    draft = Invoice.status == InvoiceStatus.DRAFT
    defer(
        session,
        batch,
        "invoice",
        select(Invoice.id, Invoice.total_minor).where(
            new, or_(Invoice.issue_date > through, draft)
        ),
    )
    # Rows of columns, not ORM objects: a first export reads every invoice of the clinic.
    rows = session.execute(
        select(Invoice.__table__)
        .where(Invoice.issue_date <= through, new, ~draft)
        .order_by(Invoice.number)
    ).all()
    lines: dict[int, list[Any]] = defaultdict(list)
    for line in session.execute(
        select(InvoiceLine.__table__)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(
            Invoice.issue_date <= through,
            Invoice.status.in_((InvoiceStatus.OPEN, InvoiceStatus.PAID)),
            new,
        )
        .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
    ):
        lines[line.invoice_id].append(line)
    split = {inv.split_with_id for inv in rows if inv.split_with_id is not None}
    numbers = select(Invoice.id, Invoice.number).where(Invoice.id.in_(sorted(split)))
    split_numbers: dict[int, int | None] = {iid: n for iid, n in session.execute(numbers)}
    for inv in rows:
        number = f"{m.invoice_prefix}{inv.number}"
        contact = names(inv.patient_id)
        if inv.for_patient_id is not None:
            reference = names.reference(inv.for_patient_id, inv.claim_reference)
        elif inv.split_with_id is not None:
            reference = split_reference(f"{m.invoice_prefix}{split_numbers[inv.split_with_id]}")
        else:
            reference = ""
        if inv.status == InvoiceStatus.VOID:
            batch.sent("invoice", inv.id, inv.total_minor, "skipped")
            batch.reconcile(
                "voided before export: left out", number, inv.issue_date, contact, inv.total_minor
            )
            continue
        for line in lines[inv.id]:
            amount = line.amount_minor if inv.tax_inclusive else line.net_minor
            batch.files[_file(inv.tax_inclusive)].append(
                _invoice_row(
                    batch,
                    (contact, names.email(inv.patient_id)),
                    number,
                    safe_text(reference),
                    inv.issue_date,
                    inv.due_date or inv.issue_date,
                    line.description,
                    xero_line(
                        line.unit_price_minor,
                        line.quantity_centi,
                        line.discount_minor,
                        line.discount_bp,
                        amount,
                        MINOR_UNITS[batch.currency],
                    ),
                    line.tax_rate_bp,
                    line.tax_minor,
                    line.item_code,
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
            f"In Xero, remove every allocation on invoice {number} (this export's negative "
            "allocation rows list them), then void it (Invoice Options > Void).",
        )


def _file(tax_inclusive: bool) -> str:
    """The invoices file of a basis: Xero's import takes one basis per file."""
    return "invoices_inclusive" if tax_inclusive else "invoices"


def _invoice_row(
    batch: ExportBatch,
    contact: tuple[str, str],
    number: str,
    reference: str,
    issued: date,
    due: date,
    description: str,
    line: XeroLine,
    rate_bp: int,
    tax_minor: int,
    item_code: str | None = None,
) -> list[str]:
    """One line of an invoice (or credit note) in Xero's template; ``contact`` is its name and
    email address ("" for none: the contact's, made or matched by the name)."""
    m = batch.mapping
    text = " ".join(description.split())
    if line.note:
        text = f"{text} {line.note}"
    row = dict.fromkeys(INVOICE_COLUMNS, "")
    row.update(
        {
            "*ContactName": contact[0],
            "EmailAddress": safe_text(contact[1]),
            "*InvoiceNumber": number,
            "Reference": reference,
            "*InvoiceDate": batch.day(issued),
            "*DueDate": batch.day(due),
            "InventoryItemCode": safe_text(item_code or ""),
            "*Description": safe_text(text),
            "*Quantity": line.quantity,
            "*UnitAmount": batch.money(line.unit_minor),
            "Discount": line.discount,
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


def _credit_notes(session: Session, batch: ExportBatch, names: NameCache, through: date) -> None:
    m = batch.mapping
    new, changed = new_and_changed(
        session, "credit_note", CreditNote.id, CreditNote.reversed_at.is_not(None)
    )
    defer(
        session,
        batch,
        "credit_note",
        select(CreditNote.id, CreditNote.amount_minor).where(new, CreditNote.note_date > through),
    )
    for note, number, inclusive in session.execute(
        select(CreditNote, Invoice.number, Invoice.tax_inclusive)
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
            # One of each share, in its invoice's file: its amount with the tax on the
            # invoice's basis (including it, or added on top).
            share = ex_tax + tax if inclusive else ex_tax
            batch.files[_file(inclusive)].append(
                _invoice_row(
                    batch,
                    (contact, names.email(note.patient_id)),
                    label,
                    invoice_label,
                    note.note_date,
                    note.note_date,
                    f"Credit: {line.description}",
                    XeroLine("1", -share, "", ""),
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
            f"In Xero, remove credit note {label}'s allocations (this export's negative "
            "allocation rows list them), then void it (Credit Note Options > Void).",
        )


def _credit_note_allocation(
    batch: ExportBatch, note: CreditNote, contact: str, invoice_label: str, day: date, sign: int
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


def _payments(session: Session, batch: ExportBatch, names: NameCache, through: date) -> None:
    m = batch.mapping
    new, changed = new_and_changed(session, "payment", Payment.id, Payment.reversed_at.is_not(None))
    defer(
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
        reference = safe_text(_reference(pay))
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
        reference = _reference(pay)
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
        reference = _reference(pay)
        batch.reconcile(
            "reversed since exported",
            reference,
            day,
            names(pay.patient_id),
            pay.total_minor,
            f"In Xero, delete refund {reference} from the prepayment it was paid from."
            if pay.kind == PaymentKind.REFUND
            else f"In Xero, remove every allocation of prepayment {reference} (this export's "
            "negative allocation rows list them), then void the prepayment (Options > Void).",
        )


def _reference(pay: Any) -> str:
    """``REF-n`` for a refund; ``PAY-n`` for a payment, with a remittance's reference."""
    if pay.kind == PaymentKind.REFUND:
        return f"REF-{pay.id}"
    return payment_reference(pay.id, pay.reference)


def _applications(session: Session, batch: ExportBatch, names: NameCache, through: date) -> None:
    m = batch.mapping
    new, changed = new_and_changed(
        session, "application", Application.id, Application.removed_at.is_not(None)
    )
    defer(
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
            Payment.reference.label("remittance"),
        )
        .join(Invoice, Invoice.id == Application.invoice_id)
        .join(Payment, Payment.id == Application.payment_id)
        .order_by(Application.id)
    )
    added = [
        app
        for app in session.execute(
            query.where(Payment.payment_date <= through, Invoice.issue_date <= through, new)
        )
    ]
    removed = list(session.execute(query.where(changed)))
    sources = _CreditSources(
        session,
        batch,
        {app.patient_id for app in (*added, *removed) if app.from_credit_minor},
    )

    def rows(app: Any, day: date, sign: int) -> list[tuple[str, int]]:
        """The allocation rows of an application (or their reversal); returns each source's
        label and amount."""
        invoice_label = f"{m.invoice_prefix}{app.number}"
        contact = names(app.patient_id)
        suffix = " removed" if sign < 0 else ""
        drawn = []
        if app.from_money_minor:
            label = f"Prepayment {payment_reference(app.payment_id, app.remittance)}"
            drawn.append((safe_text(label), m.credit_account, app.from_money_minor))
        if app.from_credit_minor:
            drawn.extend(sources.of(app.id, app.from_credit_minor))
        for label, account, minor in drawn:
            batch.files["allocations"].append(
                [
                    batch.day(day),
                    contact,
                    invoice_label,
                    batch.money(sign * minor),
                    label,
                    account,
                    f"APP-{app.id}{suffix}",
                ]
            )
        batch.allocated += sign * app.amount_minor
        return [(label, minor) for label, _, minor in drawn]

    for app in added:
        if app.removed_at is not None:
            batch.sent("application", app.id, app.amount_minor, "skipped")
            continue
        rows(app, max(app.payment_date, app.issue_date), 1)
        batch.sent("application", app.id, app.amount_minor, "new")
    for app in removed:
        day = local_day(app.removed_at)
        drawn = rows(app, day, -1)
        batch.sent("application", app.id, app.amount_minor, "changed")
        invoice_label = f"{m.invoice_prefix}{app.number}"
        what = "; ".join(f"{batch.money(minor)} from {label}" for label, minor in drawn)
        batch.reconcile(
            "removed since exported",
            f"APP-{app.id} on {invoice_label}",
            day,
            names(app.patient_id),
            app.amount_minor,
            f"On invoice {invoice_label} in Xero, remove the allocation of {what}.",
        )


class _CreditSources:
    """Which document each application's account credit came from, as Xero names it: the
    prepayment, credit note or credit transfer whose credit the ledger's credit trace says it
    drew (oldest first), read for every patient concerned at once."""

    def __init__(self, session: Session, batch: ExportBatch, patient_ids: set[int]) -> None:
        self._batch = batch
        self._drawn: dict[tuple[str, int], list[tuple[tuple[str, int], int]]] = {}
        events = credit_trace.patients_events(session, patient_ids, batch.currency)
        for pid in sorted(events):
            self._drawn.update(credit_trace.drawn_from(events[pid]))
        notes = {
            key[1] for uses in self._drawn.values() for key, _ in uses if key[0] == "credit_note"
        }
        self._notes = dict(
            session.execute(
                select(CreditNote.id, CreditNote.number).where(CreditNote.id.in_(sorted(notes)))
            ).all()
        )
        paid = {key[1] for uses in self._drawn.values() for key, _ in uses if key[0] == "payment"}
        self._remittances = dict(
            session.execute(
                select(Payment.id, Payment.reference).where(
                    Payment.id.in_(sorted(paid)), Payment.reference.is_not(None)
                )
            ).all()
        )

    def of(self, app_id: int, minor: int) -> list[tuple[str, str, int]]:
        """``(source label, its account, amount)`` for the credit of one application."""
        m = self._batch.mapping
        found = []
        for (kind, record_id), part in self._drawn.get(("app", app_id), []):
            if kind == "payment":
                label = (
                    f"Prepayment {payment_reference(record_id, self._remittances.get(record_id))}"
                )
                found.append((safe_text(label), m.credit_account, part))
            elif kind == "credit_note":
                label = f"{m.credit_note_prefix}{self._notes[record_id]}"
                found.append((f"Credit note {label}", "", part))
            elif kind == "transfer":
                found.append((f"Credit transfer TRF-{record_id}", m.credit_account, part))
            else:
                found.append(("Account credit (source not traced)", m.credit_account, part))
        short = minor - sum(part for _, _, part in found)
        if short:  # the trace and the application disagree: say so rather than guess
            found.append(("Account credit (source not traced)", m.credit_account, short))
        return found


def _transfers(session: Session, batch: ExportBatch, names: NameCache, through: date) -> None:
    m = batch.mapping
    new, changed = new_and_changed(
        session, "transfer", CreditTransfer.id, CreditTransfer.reversed_at.is_not(None)
    )
    defer(
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
            f"In Xero, remove any allocation of the prepayment entered for TRF-{tr.id} and "
            "void it, then delete the refund entered for it.",
        )
