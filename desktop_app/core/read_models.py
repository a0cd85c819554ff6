"""Read models: the frozen rows the API hands out, built from the database in few queries.

Everything here only reads. The write paths live in :mod:`desktop_app.core.clinic`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .allocation import OpenInvoice
from .db.models import Application, Invoice, InvoiceLine, Payment, PaymentSource, PaymentType
from .money import format_amount, to_decimal
from .records import ApplicationRecord, InvoiceLineRecord, InvoiceRecord, PaymentRecord


def open_invoices(session: Session, patient_id: int) -> list[OpenInvoice]:
    rows = session.execute(
        select(
            Invoice.id, Invoice.number, Invoice.issue_date, Invoice.total_minor - Invoice.paid_minor
        )
        .where(Invoice.patient_id == patient_id, Invoice.status == "open")
        .order_by(Invoice.issue_date, Invoice.number)
    )
    return [OpenInvoice(i, n, d, b) for i, n, d, b in rows]


def lines_by_invoice(session: Session, invoice_ids: list[int]) -> dict[int, list[InvoiceLine]]:
    """The lines of several invoices in one query, in line order."""
    grouped: dict[int, list[InvoiceLine]] = {}
    if not invoice_ids:
        return grouped
    for line in session.scalars(
        select(InvoiceLine)
        .where(InvoiceLine.invoice_id.in_(invoice_ids))
        .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
    ):
        grouped.setdefault(line.invoice_id, []).append(line)
    return grouped


def invoice_record(row: Invoice, lines: Sequence[InvoiceLine], currency: str) -> InvoiceRecord:
    def d(minor: int) -> Decimal:
        return to_decimal(minor, currency)

    balance = 0 if row.status == "void" else row.total_minor - row.paid_minor
    return InvoiceRecord(
        id=row.id,
        number=row.number,
        patient_id=row.patient_id,
        issue_date=row.issue_date,
        due_date=row.due_date,
        total=d(row.total_minor),
        paid=d(row.paid_minor),
        balance=d(balance),
        status=row.status,
        lines=tuple(
            InvoiceLineRecord(
                ln.description,
                d(ln.unit_price_minor),
                ln.quantity,
                Decimal(ln.tax_rate_bp).scaleb(-2),
                d(ln.tax_minor),
                d(ln.amount_minor),
            )
            for ln in lines
        ),
    )


def payment_records(
    session: Session, rows: Sequence[Payment], currency: str
) -> list[PaymentRecord]:
    """Payments with their sources and applications, in two queries whatever their number."""

    def d(minor: int) -> Decimal:
        return to_decimal(minor, currency)

    ids = [row.id for row in rows]
    sources: dict[int, list[tuple[str, int]]] = {}
    apps: dict[int, list[tuple[Application, int]]] = {}
    if ids:
        for payment_id, name, minor in session.execute(
            select(PaymentSource.payment_id, PaymentType.name, PaymentSource.amount_minor)
            .join(PaymentType, PaymentType.id == PaymentSource.payment_type_id)
            .where(PaymentSource.payment_id.in_(ids))
            .order_by(PaymentSource.id)
        ):
            sources.setdefault(payment_id, []).append((name, minor))
        for app, number in session.execute(
            select(Application, Invoice.number)
            .join(Invoice, Invoice.id == Application.invoice_id)
            .where(Application.payment_id.in_(ids))
            .order_by(Application.id)
        ):
            apps.setdefault(app.payment_id, []).append((app, number))
    records = []
    for row in rows:
        own = apps.get(row.id, [])
        live = [app for app, _ in own if app.removed_at is None]
        records.append(
            PaymentRecord(
                id=row.id,
                patient_id=row.patient_id,
                kind=row.kind,
                payment_date=row.payment_date,
                total=d(row.total_minor),
                money_applied=d(sum(app.from_money_minor for app in live)),
                credit_applied=d(sum(app.from_credit_minor for app in live)),
                sources={name: d(minor) for name, minor in sources.get(row.id, [])},
                applications=tuple(
                    ApplicationRecord(
                        app.id,
                        app.invoice_id,
                        number,
                        d(app.amount_minor),
                        d(app.from_money_minor),
                        d(app.from_credit_minor),
                        app.removed_at is not None,
                    )
                    for app, number in own
                ),
                reversed=row.reversed_at is not None,
                request_id=row.request_id,
                note=row.note,
            )
        )
    return records


def credit_events(
    session: Session, patient_id: int, currency: str
) -> list[tuple[tuple[Any, int, int], date, str, int, int | None]]:
    """Credit changes as (sort key, day, description, change in minor units, payment id)."""
    payments = session.scalars(select(Payment).where(Payment.patient_id == patient_id)).all()
    apps = session.execute(
        select(Application, Invoice.number)
        .join(Invoice, Invoice.id == Application.invoice_id)
        .join(Payment, Payment.id == Application.payment_id)
        .where(Payment.patient_id == patient_id)
        .order_by(Application.id)
    ).all()
    by_payment: dict[int, list[tuple[Application, int]]] = {}
    for app, number in apps:
        by_payment.setdefault(app.payment_id, []).append((app, number))
    events: list[tuple[tuple[Any, int, int], date, str, int, int | None]] = []

    def money(minor: int) -> str:
        return format_amount(minor, currency)

    for pay in payments:
        own = by_payment.get(pay.id, [])
        change = pay.total_minor - sum(app.amount_minor for app, _ in own)
        from_credit = [(app, n) for app, n in own if app.from_credit_minor]
        if pay.kind == "refund":
            what = f"Refund of {money(-pay.total_minor)}"
        elif from_credit and pay.total_minor == 0:
            what = "Credit applied to " + ", ".join(f"invoice #{n}" for _, n in from_credit)
        elif change > 0:
            what = f"Payment of {money(pay.total_minor)}: {money(change)} left as credit"
        else:
            what = f"Payment of {money(pay.total_minor)}, with credit applied to " + ", ".join(
                f"invoice #{n}" for _, n in from_credit
            )
        if change:
            events.append(((pay.created_at, pay.id, 0), pay.payment_date, what, change, pay.id))
        if pay.reversed_at is not None:
            returned = sum(
                app.amount_minor for app, _ in own if app.removed_reason == "payment reversed"
            )
            undo = returned - pay.total_minor
            if undo:
                events.append(
                    (
                        (pay.reversed_at, pay.id, 1),
                        pay.reversed_at.date(),
                        f"{'Refund' if pay.kind == 'refund' else 'Payment'} {pay.id} reversed",
                        undo,
                        pay.id,
                    )
                )
    for app, number in apps:
        if app.removed_at is not None and app.removed_reason != "payment reversed":
            events.append(
                (
                    (app.removed_at, app.payment_id, 2),
                    app.removed_at.date(),
                    f"Returned from invoice #{number} ({app.removed_reason})",
                    app.amount_minor,
                    app.payment_id,
                )
            )
    return events


def escape_like(text: str) -> str:
    """Make ``%``, ``_`` and the escape character itself match literally in a LIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
