"""Money movements after a payment: refunds, reversals, removed applications, voids, credit notes
and transfers of credit between patients.

Each function runs inside the caller's write transaction, after the caller has locked the clinic's
currency and every patient row it touches (always in that order, patients by id). Each one checks
everything first and raises :class:`BillingError` before changing anything, keeps the cached
balances in step with the records, and writes one audit entry. Nothing posted is edited: an undone
record is stamped (``reversed_at``, ``removed_at``) and keeps its figures.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db.models import (
    Application,
    Counter,
    CreditNote,
    CreditTransfer,
    Invoice,
    Patient,
    Payment,
    PaymentSource,
    PaymentType,
)
from ..domain.errors import BillingError, Refusal
from ..domain.kinds import AuditAction, AuditEntity, InvoiceStatus, PaymentKind
from ..domain.money import AMOUNT_FIELD, format_amount
from . import audit, credit_trace
from .transaction import Transaction

#: Reasons and notes staff type for a correction.
MAX_REASON = 1000


def _money(minor: int, currency: str) -> str:
    return format_amount(minor, currency)


def refuse_spent(
    session: Session,
    currency: str,
    patient: Patient,
    origin: credit_trace.Key,
    what: str,
    needed: int,
) -> None:
    """Refuse to take back ``needed`` of credit when the patient no longer has it, naming what used
    the credit that came from ``origin`` (so staff know what to undo first)."""
    if patient.credit_minor >= needed:
        return
    lots = credit_trace.trace(
        credit_trace.patient_events(session, patient.id, currency),
    )
    uses = credit_trace.uses_of(lots, origin)
    used_by = credit_trace.describe_uses(uses, currency) if uses else "other invoices or refunds"
    raise BillingError(
        f"{what} {_money(needed, currency)} of account credit, but the patient has only "
        f"{_money(patient.credit_minor, currency)}: that credit was already used by {used_by}. "
        "Remove or reverse that first; nothing was changed.",
        code=Refusal.CREDIT_SPENT,
    )


def remove_applications(session: Session, condition: Any, reason: str) -> int:
    """Remove the live applications matching ``condition`` and reopen their invoices.

    Returns the amount removed. Patient totals are the caller's to adjust.
    """
    stamp = audit.moment(session)
    removed = 0
    for app in session.scalars(
        select(Application).where(condition, Application.removed_at.is_(None))
    ).all():
        invoice = session.get_one(Invoice, app.invoice_id)
        invoice.paid_minor -= app.amount_minor
        if invoice.status == InvoiceStatus.PAID:
            invoice.status = InvoiceStatus.OPEN
        app.removed_at = stamp
        app.removed_reason = reason
        removed += app.amount_minor
    return removed


def refuse_if_credit_notes_need_it(
    session: Session, currency: str, condition: Any, what: str
) -> None:
    """Refuse to take payments off invoices whose credit notes already turned what was paid on them
    into account credit: that credit would then rest on money no longer paid. Reverse the credit
    note first."""
    removing: dict[int, int] = {}
    for invoice_id, amount in session.execute(
        select(Application.invoice_id, Application.amount_minor).where(
            condition, Application.removed_at.is_(None)
        )
    ):
        removing[invoice_id] = removing.get(invoice_id, 0) + amount
    if not removing:
        return
    returned: dict[int, list[tuple[int, int]]] = {}
    for invoice_id, number, to_credit in session.execute(
        select(CreditNote.invoice_id, CreditNote.number, CreditNote.to_credit_minor).where(
            CreditNote.invoice_id.in_(removing),
            CreditNote.reversed_at.is_(None),
            CreditNote.to_credit_minor > 0,
        )
    ):
        returned.setdefault(invoice_id, []).append((number, to_credit))
    for invoice_id, notes in sorted(returned.items()):
        invoice = session.get_one(Invoice, invoice_id)
        given = sum(minor for _, minor in notes)
        if invoice.paid_minor - removing[invoice_id] < given:
            names = ", ".join(f"CN-{number}" for number, _ in notes)
            raise BillingError(
                f"{what} would take {_money(removing[invoice_id], currency)} off invoice "
                f"#{invoice.number}, but its credit note {names} already returned "
                f"{_money(given, currency)} of what was paid on it as account credit. Reverse "
                "the credit note first; nothing was changed.",
                code=Refusal.HAS_CREDIT_NOTES,
            )


def settle_status(invoice: Invoice) -> None:
    """Open while something is owed, paid when nothing is (void stays void)."""
    if invoice.status != InvoiceStatus.VOID:
        owed = invoice.total_minor - invoice.paid_minor - invoice.credited_minor
        invoice.status = InvoiceStatus.OPEN if owed > 0 else InvoiceStatus.PAID


def refund(
    tx: Transaction,
    patient: Patient,
    minor: int,
    *,
    method: str,
    day: date,
    request_id: str,
    fingerprint: str | None = None,
    reason: str | None,
) -> int:
    """Return ``minor`` of the patient's credit to them by ``method``; returns the refund's id."""
    session, currency = tx.session, tx.currency()
    if minor <= 0:
        raise BillingError(
            "Enter the amount to refund.", code=Refusal.BAD_AMOUNT, field=AMOUNT_FIELD
        )
    type_id = session.scalar(
        select(PaymentType.id).where(PaymentType.name == method, PaymentType.active.is_(True))
    )
    if type_id is None:
        raise BillingError(
            f"{method!r} is not a payment type of this clinic.",
            code=Refusal.BAD_CHOICE,
            field="method",
        )
    if minor > patient.credit_minor:
        raise BillingError(
            f"Only {_money(patient.credit_minor, currency)} of account credit is available; "
            f"{_money(minor, currency)} cannot be refunded.",
            code=Refusal.OVER_CREDIT,
            field=AMOUNT_FIELD,
        )
    row = Payment(
        patient_id=patient.id,
        kind=PaymentKind.REFUND,
        payment_date=day,
        total_minor=-minor,
        request_id=request_id,
        request_fingerprint=fingerprint,
        note=reason,
        created_at=audit.moment(session),
    )
    session.add(row)
    session.flush()
    session.add(PaymentSource(payment_id=row.id, payment_type_id=type_id, amount_minor=-minor))
    before = patient.credit_minor
    patient.credit_minor -= minor
    tx.audit(
        action=AuditAction.REFUND_CREDIT,
        entity=AuditEntity.PAYMENT,
        entity_id=row.id,
        before={"credit": before},
        after={
            "patient_id": patient.id,
            "credit": patient.credit_minor,
            "refunded": minor,
            "method": method,
            "reason": reason,
            "request_id": request_id,
        },
    )
    return row.id


def reverse_payment(
    tx: Transaction,
    patient: Patient,
    payment: Payment,
    reason: str | None,
) -> None:
    """Archive a payment or refund: its applications go, its invoices reopen, and the credit it
    left (or took, for a refund) is undone."""
    session, currency = tx.session, tx.currency()
    if payment.reversed_at is not None:
        kind = PaymentKind.REFUND if payment.kind == PaymentKind.REFUND else "payment"
        raise BillingError(
            f"This {kind} ({payment.id}) is already reversed.", code=Refusal.ALREADY_DONE
        )
    live = int(
        session.scalar(
            select(func.coalesce(func.sum(Application.amount_minor), 0)).where(
                Application.payment_id == payment.id, Application.removed_at.is_(None)
            )
        )
        or 0
    )
    credit_after = patient.credit_minor - payment.total_minor + live
    refuse_if_credit_notes_need_it(
        session, currency, Application.payment_id == payment.id, f"Reversing payment {payment.id}"
    )
    if credit_after < 0:
        refuse_spent(
            session,
            currency,
            patient,
            ("payment", payment.id),
            f"Reversing payment {payment.id} takes back",
            payment.total_minor - live,
        )
    remove_applications(session, Application.payment_id == payment.id, "payment reversed")
    before = patient.credit_minor
    patient.outstanding_minor += live
    patient.credit_minor = credit_after
    payment.reversed_at = audit.moment(session)
    payment.reverse_reason = reason
    tx.audit(
        action=AuditAction.REVERSE_REFUND
        if payment.kind == PaymentKind.REFUND
        else AuditAction.REVERSE_PAYMENT,
        entity=AuditEntity.PAYMENT,
        entity_id=payment.id,
        before={"credit": before, "reversed": False},
        after={
            "patient_id": patient.id,
            "credit": credit_after,
            "reversed": True,
            "reopened": live,
            "reason": reason,
        },
    )


def remove_application(
    tx: Transaction,
    patient: Patient,
    app: Application,
    reason: str,
) -> None:
    """Take one application off its invoice: the invoice reopens and the amount becomes credit."""
    session, currency = tx.session, tx.currency()
    if app.removed_at is not None:
        raise BillingError(
            "That amount was already removed from the invoice.", code=Refusal.ALREADY_DONE
        )
    invoice = session.get_one(Invoice, app.invoice_id)
    refuse_if_credit_notes_need_it(
        session, currency, Application.id == app.id, "Removing this amount"
    )
    remove_applications(session, Application.id == app.id, reason)
    before = patient.credit_minor
    patient.credit_minor += app.amount_minor
    patient.outstanding_minor += app.amount_minor
    tx.audit(
        action=AuditAction.REMOVE_APPLICATION,
        entity=AuditEntity.APPLICATION,
        entity_id=app.id,
        before={"credit": before, "invoice_paid": invoice.paid_minor + app.amount_minor},
        after={
            "patient_id": patient.id,
            "payment_id": app.payment_id,
            "invoice_number": invoice.number,
            "returned_to_credit": app.amount_minor,
            "credit": patient.credit_minor,
            "invoice_paid": invoice.paid_minor,
            "reason": reason,
        },
    )


def void_invoice(
    tx: Transaction,
    patient: Patient,
    invoice: Invoice,
    reason: str | None,
) -> None:
    """Void an invoice; whatever payments applied to it returns to the patient's credit."""
    session, currency = tx.session, tx.currency()
    if invoice.status == InvoiceStatus.DRAFT:
        raise BillingError(
            "This invoice is a draft: delete the draft instead.", code=Refusal.BAD_CHOICE
        )
    if invoice.status == InvoiceStatus.VOID:
        raise BillingError(f"Invoice #{invoice.number} is already void.", code=Refusal.ALREADY_DONE)
    notes = session.scalars(
        select(CreditNote.number).where(
            CreditNote.invoice_id == invoice.id, CreditNote.reversed_at.is_(None)
        )
    ).all()
    if notes:
        owed = invoice.total_minor - sum(
            session.scalars(
                select(CreditNote.amount_minor).where(
                    CreditNote.invoice_id == invoice.id, CreditNote.reversed_at.is_(None)
                )
            )
        )
        listed = ", ".join(f"CN-{n}" for n in notes)
        hint = (
            f"issue a credit note for the rest of its total ({_money(owed, currency)}) instead"
            if owed
            else "it is already credited in full"
        )
        raise BillingError(
            f"Invoice #{invoice.number} has credit notes ({listed}), so it cannot be voided: "
            f"{hint}, or reverse the credit notes first.",
            code=Refusal.HAS_CREDIT_NOTES,
        )
    before = {"status": invoice.status, "paid": invoice.paid_minor}
    still_owed = invoice.total_minor - invoice.paid_minor - invoice.credited_minor
    returned = remove_applications(session, Application.invoice_id == invoice.id, "invoice voided")
    patient.outstanding_minor -= still_owed
    patient.credit_minor += returned
    invoice.paid_minor = 0
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = audit.moment(session)
    invoice.void_reason = reason
    tx.audit(
        action=AuditAction.VOID_INVOICE,
        entity=AuditEntity.INVOICE,
        entity_id=invoice.id,
        before=before,
        after={
            "patient_id": patient.id,
            "status": "void",
            "paid": 0,
            "returned_to_credit": returned,
            "reason": reason,
        },
    )


def creditable(session: Session, invoice: Invoice) -> int:
    """How much of the invoice can still be credited (its total less live credit notes)."""
    noted = session.scalar(
        select(func.coalesce(func.sum(CreditNote.amount_minor), 0)).where(
            CreditNote.invoice_id == invoice.id, CreditNote.reversed_at.is_(None)
        )
    )
    return invoice.total_minor - int(noted or 0)


def credit_note_split(owed: int, amount: int) -> tuple[int, int]:
    """How a credit note of ``amount`` divides (minor units): ``(applied, to_credit)``.

    What the invoice still owes (``owed``) is reduced first; the rest, which the patient had
    already paid, returns to their account credit. Pure, so a window can preview it.
    """
    applied = min(amount, owed)
    return applied, amount - applied


def issue_credit_note(
    tx: Transaction,
    patient: Patient,
    invoice: Invoice,
    minor: int | None,
    *,
    day: date,
    reason: str,
    request_id: str,
    fingerprint: str | None = None,
) -> CreditNote:
    """Credit all (``minor`` None) or part of an invoice.

    The part still owed is reduced first; the part the patient had already paid comes back as
    account credit.
    """
    session, currency = tx.session, tx.currency()
    if invoice.status == InvoiceStatus.DRAFT:
        raise BillingError(
            "This invoice is a draft: edit it instead, or delete it.", code=Refusal.NOT_OPEN
        )
    if invoice.status == InvoiceStatus.VOID:
        raise BillingError(
            f"Invoice #{invoice.number} is void: there is nothing to credit.",
            code=Refusal.NOT_OPEN,
        )
    left = creditable(session, invoice)
    amount = left if minor is None else minor
    if amount <= 0:
        raise BillingError(
            "Enter the amount to credit."
            if left
            else f"Invoice #{invoice.number} is already credited in full.",
            code=Refusal.BAD_AMOUNT if left else Refusal.ALREADY_DONE,
            field=AMOUNT_FIELD if left else None,
        )
    if amount > left:
        raise BillingError(
            f"Only {_money(left, currency)} of invoice #{invoice.number} can still be credited "
            f"(its total less earlier credit notes); {_money(amount, currency)} is too much.",
            code=Refusal.OVER_BALANCE,
            field=AMOUNT_FIELD,
        )
    if day < invoice.issue_date:
        raise BillingError(
            f"A credit note cannot be dated before its invoice ({invoice.issue_date.isoformat()}).",
            code=Refusal.BAD_DATE,
            field="note_date",
        )
    owed = invoice.total_minor - invoice.paid_minor - invoice.credited_minor
    applied, to_credit = credit_note_split(owed, amount)
    counter = session.scalars(
        select(Counter).where(Counter.name == "credit_note_number").with_for_update()
    ).one()
    counter.value += 1
    note = CreditNote(
        number=counter.value,
        invoice_id=invoice.id,
        patient_id=patient.id,
        note_date=day,
        amount_minor=amount,
        applied_minor=applied,
        to_credit_minor=to_credit,
        reason=reason,
        request_id=request_id,
        request_fingerprint=fingerprint,
        created_at=audit.moment(session),
    )
    session.add(note)
    before = {
        "credit": patient.credit_minor,
        "invoice_credited": invoice.credited_minor,
        "invoice_status": invoice.status,
    }
    invoice.credited_minor += applied
    settle_status(invoice)
    patient.outstanding_minor -= applied
    patient.credit_minor += to_credit
    session.flush()
    tx.audit(
        action=AuditAction.ISSUE_CREDIT_NOTE,
        entity=AuditEntity.CREDIT_NOTE,
        entity_id=note.id,
        before=before,
        after={
            "patient_id": patient.id,
            "number": note.number,
            "invoice_number": invoice.number,
            "amount": amount,
            "applied": applied,
            "to_credit": to_credit,
            "credit": patient.credit_minor,
            "invoice_status": invoice.status,
            "reason": reason,
            "request_id": request_id,
        },
    )
    return note


def reverse_credit_note(
    tx: Transaction,
    patient: Patient,
    note: CreditNote,
    reason: str | None,
) -> None:
    """Undo a credit note: the invoice owes that part again and the credit it gave is taken back
    (refused while that credit is spent)."""
    session, currency = tx.session, tx.currency()
    if note.reversed_at is not None:
        raise BillingError(
            f"Credit note CN-{note.number} is already reversed.", code=Refusal.ALREADY_DONE
        )
    refuse_spent(
        session,
        currency,
        patient,
        ("credit_note", note.id),
        f"Reversing credit note CN-{note.number} takes back",
        note.to_credit_minor,
    )
    invoice = session.get_one(Invoice, note.invoice_id)
    before = {"credit": patient.credit_minor, "invoice_credited": invoice.credited_minor}
    invoice.credited_minor -= note.applied_minor
    settle_status(invoice)
    patient.outstanding_minor += note.applied_minor
    patient.credit_minor -= note.to_credit_minor
    note.reversed_at = audit.moment(session)
    note.reverse_reason = reason
    tx.audit(
        action=AuditAction.REVERSE_CREDIT_NOTE,
        entity=AuditEntity.CREDIT_NOTE,
        entity_id=note.id,
        before=before,
        after={
            "patient_id": patient.id,
            "credit": patient.credit_minor,
            "invoice_credited": invoice.credited_minor,
            "invoice_status": invoice.status,
            "reason": reason,
        },
    )


def transfer(
    tx: Transaction,
    sender: Patient,
    receiver: Patient,
    minor: int,
    *,
    day: date,
    reason: str,
    request_id: str,
    fingerprint: str | None = None,
) -> int:
    """Move ``minor`` of account credit from ``sender`` to ``receiver``; returns the transfer id."""
    session, currency = tx.session, tx.currency()
    if sender.id == receiver.id:
        raise BillingError(
            "Choose another patient to transfer the credit to.",
            code=Refusal.BAD_CHOICE,
            field="to_patient_id",
        )
    if minor <= 0:
        raise BillingError(
            "Enter the amount to transfer.", code=Refusal.BAD_AMOUNT, field=AMOUNT_FIELD
        )
    if minor > sender.credit_minor:
        raise BillingError(
            f"{sender.first_name} {sender.last_name} has only "
            f"{_money(sender.credit_minor, currency)} of account credit; "
            f"{_money(minor, currency)} cannot be transferred.",
            code=Refusal.OVER_CREDIT,
            field=AMOUNT_FIELD,
        )
    row = CreditTransfer(
        from_patient_id=sender.id,
        to_patient_id=receiver.id,
        transfer_date=day,
        amount_minor=minor,
        reason=reason,
        request_id=request_id,
        request_fingerprint=fingerprint,
        created_at=audit.moment(session),
    )
    session.add(row)
    before = {"from_credit": sender.credit_minor, "to_credit": receiver.credit_minor}
    sender.credit_minor -= minor
    receiver.credit_minor += minor
    session.flush()
    tx.audit(
        action=AuditAction.TRANSFER_CREDIT,
        entity=AuditEntity.CREDIT_TRANSFER,
        entity_id=row.id,
        before=before,
        after={
            "from_patient_id": sender.id,
            "to_patient_id": receiver.id,
            "amount": minor,
            "from_credit": sender.credit_minor,
            "to_credit": receiver.credit_minor,
            "reason": reason,
            "request_id": request_id,
        },
    )
    return row.id


def reverse_transfer(
    tx: Transaction,
    sender: Patient,
    receiver: Patient,
    row: CreditTransfer,
    reason: str | None,
) -> None:
    """Send transferred credit back (refused while the receiver has spent it)."""
    session, currency = tx.session, tx.currency()
    if row.reversed_at is not None:
        raise BillingError(f"Transfer {row.id} is already reversed.", code=Refusal.ALREADY_DONE)
    refuse_spent(
        session,
        currency,
        receiver,
        ("transfer", row.id),
        f"Reversing transfer {row.id} takes back",
        row.amount_minor,
    )
    before = {"from_credit": sender.credit_minor, "to_credit": receiver.credit_minor}
    receiver.credit_minor -= row.amount_minor
    sender.credit_minor += row.amount_minor
    row.reversed_at = audit.moment(session)
    row.reverse_reason = reason
    tx.audit(
        action=AuditAction.REVERSE_TRANSFER,
        entity=AuditEntity.CREDIT_TRANSFER,
        entity_id=row.id,
        before=before,
        after={
            "from_patient_id": sender.id,
            "to_patient_id": receiver.id,
            "from_credit": sender.credit_minor,
            "to_credit": receiver.credit_minor,
            "reason": reason,
        },
    )
