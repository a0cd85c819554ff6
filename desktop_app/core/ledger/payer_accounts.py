"""Payers' accounts among the patients' rows: telling them apart, and the invoices' default payer.

A payer's account is a row of ``patients`` whose id is the payer's (``db.models.Payer``): the
ledger keeps its invoices, remittances, credit and balance exactly as a patient's. What is a
patient's alone (details, archiving, merging, memberships, credit transfers, invoices for a
service) refuses a payer's account here, and lists of patients leave payers out.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from ..db.models import Membership, Patient, Payer
from ..domain.errors import BillingError, Refusal


def not_payer() -> ColumnElement[bool]:
    """The condition that keeps payers' accounts out of a query over ``patients``: a probe of
    the few payers' ids, so a list that reads an index of patients still reads only that."""
    return Patient.id.not_in(select(Payer.id))


def payer_of(session: Session, account_id: int) -> Payer | None:
    """The payer whose account this is (None for a patient)."""
    return session.get(Payer, account_id)


def refuse_payer(session: Session, account_id: int, doing: str) -> None:
    """Refuse (``bad_choice``) to do what only a patient can (``doing``: "be merged") on a
    payer's account."""
    payer = payer_of(session, account_id)
    if payer is not None:
        raise BillingError(
            f"{payer.name} is a payer, not a patient: a payer cannot {doing}. "
            "Payers are kept in Settings > Payers.",
            code=Refusal.BAD_CHOICE,
            field="patient",
        )


def default_payer(session: Session, patient_id: int, day: date) -> int | None:
    """The payer the patient's new invoices go to on ``day``: their membership marked for new
    invoices and valid that day, with an active payer (None: the patient pays)."""
    return session.scalar(
        select(Membership.payer_id)
        .join(Payer, Payer.id == Membership.payer_id)
        .where(
            Membership.patient_id == patient_id,
            Membership.default_for_invoices.is_(True),
            Membership.removed_at.is_(None),
            Payer.archived_at.is_(None),
            or_(Membership.valid_from.is_(None), Membership.valid_from <= day),
            or_(Membership.valid_to.is_(None), Membership.valid_to >= day),
        )
        .order_by(Membership.id.desc())
        .limit(1)
    )
