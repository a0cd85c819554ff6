"""Merging a duplicate patient into the one the clinic keeps.

Every invoice, payment, refund, credit note and credit transfer of the duplicate moves to the kept
patient in one transaction; the cached credit and outstanding balance add up to the cent; empty
details of the kept patient are filled from the duplicate; the duplicate is archived with
``merged_into`` set and one audit entry lists every moved record. A transfer of credit between the
two patients themselves cannot move (a transfer has two different patients): it is cancelled
(stamped reversed, audited), which changes neither patient's combined credit, because the transfer
took from one of them exactly what it gave the other. It is cancelled as of the moment it was
made: between two records of one person it never moved anything, and so every day's credit, the
credit history and where each credit came from read as if it had not been made (a reversal dated
today would leave the kept patient's history negative in between, where the duplicate spent what
the kept patient had sent it). The audit entry keeps when and why it was cancelled.

The duplicate's place in statement runs becomes the kept patient's (:func:`_merge_run_items`), so
a run resumed after the merge never emails the duplicate and sends the kept patient at most one
statement: in a run listing only the duplicate, its item moves; in a run listing both, one item
stays. That is the one already done (queued or posted; the kept patient's when both are), so no
one gets a second statement of the period; when neither is done, the kept patient's, pending,
with the two accounts' figures added, its statement then covering the merged history. A pending
item that stays goes to the kept patient's address as it stands after the merge (the
duplicate's when the kept patient had none).

The preview (:func:`merge_plan`) is what the merge window shows; :func:`merge` recomputes it under
the patients' locks and refuses when a preview it is given differs (a save on another computer
since), so what was shown is what is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.orm import Session

from ..db.models import (
    CreditNote,
    CreditTransfer,
    Invoice,
    Membership,
    OutboxMessage,
    Patient,
    Payment,
    StatementRunItem,
)
from ..domain.errors import BillingError, Refusal
from ..domain.kinds import AuditAction, AuditEntity, PaymentKind
from ..domain.mail_text import looks_like_address
from ..domain.patient_details import DETAILS
from . import audit
from .transaction import Transaction


@dataclass(frozen=True, slots=True)
class MergePlan:
    """What a merge moves, computed from the records (in minor units: the API's record is made
    from it)."""

    keep_id: int
    merge_id: int
    invoice_numbers: tuple[int, ...]
    payment_ids: tuple[int, ...]
    refund_ids: tuple[int, ...]
    credit_note_numbers: tuple[int, ...]
    transfer_ids: tuple[int, ...]
    cancelled_transfer_ids: tuple[int, ...]
    filled: tuple[tuple[str, Any], ...]
    credit_minor: int
    outstanding_minor: int


def not_cancelled_by_merge() -> ColumnElement[bool]:
    """Transfers that are not between two records of one patient: a merge cancels those as of
    their own moment (``reversed_at = created_at``), and every report, statement and credit
    story then reads as if they had not been made."""
    return or_(
        CreditTransfer.reversed_at.is_(None),
        CreditTransfer.reversed_at != CreditTransfer.created_at,
    )


def follow_merges(session: Session, patient_id: int) -> int:
    """The patient whose records are ``patient_id``'s now: itself, or the patient it was merged
    into (followed through later merges: A into B, then B into C, is C)."""
    seen = {patient_id}
    current = session.scalar(select(Patient.merged_into).where(Patient.id == patient_id))
    while current is not None and current not in seen:
        seen.add(current)
        patient_id = current
        current = session.scalar(select(Patient.merged_into).where(Patient.id == current))
    return patient_id


def kept_id(session: Session, patient: Patient) -> int:
    """:func:`follow_merges` from a patient's row (no query for one never merged)."""
    return patient.id if patient.merged_into is None else follow_merges(session, patient.id)


def refuse_pair(keep: Patient, merge: Patient) -> None:
    """Refuse merging a patient with itself, or when either is archived (or merged)."""
    if keep.id == merge.id:
        raise BillingError(
            "Choose two different patients: a patient cannot be merged with itself.",
            code=Refusal.BAD_CHOICE,
            field="merge",
        )
    for patient, side in ((keep, "keep"), (merge, "merge")):
        if patient.archived_at is not None:
            name = f"{patient.first_name} {patient.last_name}"
            raise BillingError(
                f"{name} is archived; restore the patient before merging.",
                code=Refusal.ARCHIVED,
                field=side,
            )


def _ids(session: Session, query: Any) -> tuple[int, ...]:
    return tuple(session.scalars(query))


def merge_plan(session: Session, keep: Patient, merge: Patient) -> MergePlan:
    """What merging ``merge`` into ``keep`` moves and the kept patient's figures after it."""
    refuse_pair(keep, merge)
    between = or_(
        (CreditTransfer.from_patient_id == merge.id) & (CreditTransfer.to_patient_id == keep.id),
        (CreditTransfer.from_patient_id == keep.id) & (CreditTransfer.to_patient_id == merge.id),
    )
    payments = session.execute(
        select(Payment.id, Payment.kind).where(Payment.patient_id == merge.id).order_by(Payment.id)
    ).all()
    filled = tuple(
        (name, getattr(merge, name))
        for name in DETAILS
        if getattr(keep, name) is None and getattr(merge, name) is not None
    )
    return MergePlan(
        keep_id=keep.id,
        merge_id=merge.id,
        invoice_numbers=_ids(
            session,
            # Drafts move too, but have no number to list.
            # Invoices billed to a payer for the patient move to the patient kept as well.
            select(Invoice.number)
            .where(
                or_(Invoice.patient_id == merge.id, Invoice.for_patient_id == merge.id),
                Invoice.number.is_not(None),
            )
            .order_by(Invoice.number),
        ),
        payment_ids=tuple(pid for pid, kind in payments if kind != PaymentKind.REFUND),
        refund_ids=tuple(pid for pid, kind in payments if kind == PaymentKind.REFUND),
        credit_note_numbers=_ids(
            session,
            select(CreditNote.number)
            .where(CreditNote.patient_id == merge.id)
            .order_by(CreditNote.number),
        ),
        transfer_ids=_ids(
            session,
            select(CreditTransfer.id)
            .where(
                or_(
                    CreditTransfer.from_patient_id == merge.id,
                    CreditTransfer.to_patient_id == merge.id,
                ),
                ~between,
            )
            .order_by(CreditTransfer.id),
        ),
        cancelled_transfer_ids=_ids(
            session,
            select(CreditTransfer.id)
            .where(between, not_cancelled_by_merge())
            .order_by(CreditTransfer.id),
        ),
        filled=filled,
        credit_minor=keep.credit_minor + merge.credit_minor,
        outstanding_minor=keep.outstanding_minor + merge.outstanding_minor,
    )


def merge(tx: Transaction, keep: Patient, merge_row: Patient, reason: str | None) -> MergePlan:
    """Move every record of ``merge_row`` to ``keep`` (both locked by the caller), archive it as
    merged, and audit it; returns the plan carried out."""
    plan = merge_plan(tx.session, keep, merge_row)
    session = tx.session
    now = audit.moment(session)
    keep_name = f"{keep.first_name} {keep.last_name}"
    merge_name = f"{merge_row.first_name} {merge_row.last_name}"
    for transfer_id in plan.cancelled_transfer_ids:
        from_id, to_id, reversed_at = session.execute(
            select(
                CreditTransfer.from_patient_id,
                CreditTransfer.to_patient_id,
                CreditTransfer.reversed_at,
            ).where(CreditTransfer.id == transfer_id)
        ).one()
        why = f"Cancelled by merging {merge_name} into {keep_name}: one patient now."
        session.execute(
            update(CreditTransfer)
            .where(CreditTransfer.id == transfer_id)
            .values(reversed_at=CreditTransfer.created_at, reverse_reason=why)
        )
        tx.audit(
            action=AuditAction.REVERSE_TRANSFER,
            entity=AuditEntity.CREDIT_TRANSFER,
            entity_id=transfer_id,
            after={
                "reason": why,
                "cancelled_at": now.isoformat(),
                # A transfer reversed before the merge: when that was (its own entry says why).
                "reversed_before_at": None if reversed_at is None else reversed_at.isoformat(),
                "from_patient_id": from_id,
                "to_patient_id": to_id,
            },
        )
    session.execute(
        update(Invoice).where(Invoice.patient_id == merge_row.id).values(patient_id=keep.id)
    )
    session.execute(
        update(Invoice).where(Invoice.for_patient_id == merge_row.id).values(for_patient_id=keep.id)
    )
    _move_memberships(session, keep, merge_row)
    # The emails sent to the duplicate are the kept patient's history now.
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.account_id == merge_row.id)
        .values(account_id=keep.id)
    )
    session.execute(
        update(Payment).where(Payment.patient_id == merge_row.id).values(patient_id=keep.id)
    )
    session.execute(
        update(CreditNote).where(CreditNote.patient_id == merge_row.id).values(patient_id=keep.id)
    )
    if plan.transfer_ids:
        moving = CreditTransfer.id.in_(plan.transfer_ids)
        session.execute(
            update(CreditTransfer)
            .where(moving, CreditTransfer.from_patient_id == merge_row.id)
            .values(from_patient_id=keep.id)
        )
        session.execute(
            update(CreditTransfer)
            .where(moving, CreditTransfer.to_patient_id == merge_row.id)
            .values(to_patient_id=keep.id)
        )
    for name, value in plan.filled:
        setattr(keep, name, value)
    if keep.practitioner_id is None:
        keep.practitioner_id = merge_row.practitioner_id
    if keep.external_id is None and merge_row.external_id is not None:
        external = merge_row.external_id
        merge_row.external_id = None
        session.flush()  # the id is unique: off the merged patient before the kept one takes it
        keep.external_id = external
    keep.credit_minor = plan.credit_minor
    keep.outstanding_minor = plan.outstanding_minor
    moved_items, removed_items = _merge_run_items(session, keep, merge_row)
    merge_row.credit_minor = 0
    merge_row.outstanding_minor = 0
    merge_row.merged_into = keep.id
    merge_row.archived_at = now
    merge_row.archive_reason = f"Merged into {keep_name} (patient {keep.id})" + (
        f": {reason}" if reason else ""
    )
    tx.audit(
        action=AuditAction.MERGE_PATIENTS,
        entity=AuditEntity.PATIENT,
        entity_id=keep.id,
        before={"merged_patient": merge_row.id, "reason": reason},
        after={
            "invoices": list(plan.invoice_numbers),
            "payments": list(plan.payment_ids),
            "refunds": list(plan.refund_ids),
            "credit_notes": list(plan.credit_note_numbers),
            "transfers": list(plan.transfer_ids),
            "cancelled_transfers": list(plan.cancelled_transfer_ids),
            "filled": {
                name: value.isoformat() if hasattr(value, "isoformat") else value
                for name, value in plan.filled
            },
            "practitioner_id": keep.practitioner_id,
            "external_id": keep.external_id,
            "credit_minor": plan.credit_minor,
            "outstanding_minor": plan.outstanding_minor,
            "statement_run_items": moved_items,
            "statement_run_items_removed": removed_items,
        },
    )
    return plan


def _merge_run_items(
    session: Session, keep: Patient, merge_row: Patient
) -> tuple[list[int], list[int]]:
    """Give the duplicate's statement run items to the kept patient, one item per run (see the
    module); the ids of the items that now stand for the kept patient, and of those removed."""
    pending = "pending"
    address = keep.email.strip() if keep.email and looks_like_address(keep.email) else None
    moved: list[int] = []
    removed: list[int] = []
    duplicates = session.execute(
        select(
            StatementRunItem.id,
            StatementRunItem.run_id,
            StatementRunItem.state,
            StatementRunItem.owed_minor,
            StatementRunItem.credit_minor,
        )
        .where(StatementRunItem.account_id == merge_row.id)
        .order_by(StatementRunItem.id)
    ).all()
    for item_id, run_id, state, dupe_owed, dupe_credit in duplicates:
        kept = session.execute(
            select(
                StatementRunItem.id,
                StatementRunItem.state,
                StatementRunItem.owed_minor,
                StatementRunItem.credit_minor,
            ).where(StatementRunItem.run_id == run_id, StatementRunItem.account_id == keep.id)
        ).one_or_none()
        values: dict[str, Any] = {"account_id": keep.id}
        stays, stays_state = item_id, state
        if kept is not None:
            kept_id, kept_state, owed, credit = kept
            if kept_state == pending and state != pending:
                gone = kept_id  # the duplicate's statement is done: the kept patient has it
            else:
                stays, stays_state, gone = kept_id, kept_state, item_id
            if kept_state == pending and state == pending:
                # Neither done: the kept patient's one statement covers both accounts.
                values |= {"owed_minor": owed + dupe_owed, "credit_minor": credit + dupe_credit}
            # Off the run first: an account has one item per run (a unique index).
            session.execute(delete(StatementRunItem).where(StatementRunItem.id == gone))
            removed.append(gone)
        if stays_state == pending:
            values["email"] = address
        session.execute(
            update(StatementRunItem).where(StatementRunItem.id == stays).values(**values)
        )
        moved.append(stays)
    return moved, removed


def _move_memberships(session: Session, keep: Patient, merge_row: Patient) -> None:
    """The merged patient's memberships become the kept patient's; the kept patient's own
    default payer for new invoices stays the default."""
    live = Membership.removed_at.is_(None)
    kept_default = session.scalar(
        select(Membership.id).where(
            Membership.patient_id == keep.id, Membership.default_for_invoices.is_(True), live
        )
    )
    if kept_default is not None:
        session.execute(
            update(Membership)
            .where(Membership.patient_id == merge_row.id, live)
            .values(default_for_invoices=False)
        )
    session.execute(
        update(Membership).where(Membership.patient_id == merge_row.id).values(patient_id=keep.id)
    )
