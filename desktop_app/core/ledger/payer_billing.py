"""Who an invoice is billed to: the patient, or one of the patient's payers.

An invoice billed to a payer is owed by the payer's account (``invoices.patient_id`` is the
payer's id) and names the patient it is for (``for_patient_id``). Left to itself, a patient's
new invoice goes to the payer of their membership marked for new invoices, while it is valid.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import select

from ..db.models import Invoice, Patient, Payer
from ..domain.errors import BillingError, NotFoundError, Refusal
from ..domain.invoicing import Unchanged
from ..domain.kinds import InvoiceStatus
from ..domain.text import optional_text
from .guard import check_id
from .payer_accounts import default_payer, refuse_payer
from .transaction import Transaction

#: The longest claim reference.
MAX_CLAIM = 60


def claim_text(value: object) -> str | None:
    """A claim reference: optional, one line, at most :data:`MAX_CLAIM` characters."""
    text = optional_text(value, "claim reference", MAX_CLAIM, field="claim_reference")
    if text is not None and "\n" in text:
        raise BillingError(
            "The claim reference must be one line.",
            code=Refusal.BAD_TEXT,
            field="claim_reference",
        )
    return text


def payer_to_bill(
    tx: Transaction, patient_id: int, bill_to: int | Unchanged | None, day: date
) -> int | None:
    """The payer to bill (None: the patient): ``bill_to`` as given (an active payer), or, left
    out, the patient's default payer on ``day``. A payer's account is not a patient."""
    refuse_payer(tx.session, patient_id, "be invoiced for a service (bill it with bill_to)")
    if isinstance(bill_to, Unchanged):
        return default_payer(tx.session, patient_id, day)
    if bill_to is None:
        return None
    payer = tx.session.get(Payer, check_id(bill_to, "payer"))
    if payer is None:
        raise NotFoundError(f"There is no payer {bill_to!r}.", field="bill_to")
    if payer.archived_at is not None:
        raise BillingError(
            f"{payer.name} is archived; restore it in Settings > Payers to bill it.",
            code=Refusal.ARCHIVED,
            field="bill_to",
        )
    return payer.id


def lock_accounts(
    tx: Transaction,
    patient_id: int,
    bill_to: int | Unchanged | None,
    day: date,
    claim: str | None,
) -> tuple[Patient, Patient]:
    """The patient and the account billed (the patient's own, or the payer's), both locked in
    the ledger's order. A claim reference without a payer is refused."""
    payer_id = payer_to_bill(tx, patient_id, bill_to, day)
    if payer_id is None and claim is not None:
        raise BillingError(
            "A claim reference goes with an invoice billed to a payer; choose the payer.",
            code=Refusal.BAD_CHOICE,
            field="claim_reference",
        )
    locked = tx.lock_patients([patient_id] if payer_id is None else [patient_id, payer_id])
    patient = locked[patient_id]
    return patient, patient if payer_id is None else locked[payer_id]


def lock_for_edit(
    tx: Transaction, invoice_id: object, bill_to: int | Unchanged | None
) -> tuple[Invoice, Patient, Patient]:
    """An invoice to edit, its patient and the account that owes it, with the payer it may move
    to: every account involved locked in one call (the ledger's order)."""
    tx.currency()
    row = tx.session.get(Invoice, check_id(invoice_id, "invoice"))
    if row is None:
        raise NotFoundError(f"There is no invoice {invoice_id!r}.")
    patient_id = row.for_patient_id or row.patient_id
    wanted = {row.patient_id, patient_id}
    if not isinstance(bill_to, Unchanged):
        moving_to = payer_to_bill(tx, patient_id, bill_to, row.service_date or row.issue_date)
        wanted.add(patient_id if moving_to is None else moving_to)
    locked = tx.lock_patients(wanted)
    tx.session.refresh(row)
    return row, locked[patient_id], locked[row.patient_id]


def move_to(
    tx: Transaction,
    invoice: Invoice,
    patient: Patient,
    bill_to: int | Unchanged | None,
    claim: str | Unchanged | None,
    change: Callable[[str, Any], None],
) -> None:
    """Bill an edited invoice to ``bill_to`` (None: the patient) and set its claim reference,
    moving what it owes between the accounts (``change`` records each field for the audit)."""
    old_account = invoice.patient_id
    new_account = old_account
    if not isinstance(bill_to, Unchanged):
        new_account = patient.id if bill_to is None else check_id(bill_to, "payer")
    if new_account != old_account:
        partner = invoice.split_with_id is not None or tx.session.scalar(
            select(Invoice.id).where(Invoice.split_with_id == invoice.id).limit(1)
        )
        if partner:
            raise BillingError(
                f"Invoice #{invoice.number} is one of a split pair: void or credit the pair "
                "and bill the visit again instead.",
                code=Refusal.BAD_CHOICE,
                field="bill_to",
            )
        if invoice.status == InvoiceStatus.OPEN:  # nothing is applied: it owes its total
            tx.session.get_one(Patient, old_account).outstanding_minor -= invoice.total_minor
            tx.session.get_one(Patient, new_account).outstanding_minor += invoice.total_minor
        change("patient_id", new_account)
        change("for_patient_id", None if new_account == patient.id else patient.id)
        if new_account == patient.id and isinstance(claim, Unchanged):
            claim = None  # a claim goes with a payer
    if not isinstance(claim, Unchanged):
        if claim is not None and new_account == patient.id:
            raise BillingError(
                "A claim reference goes with an invoice billed to a payer; choose the payer.",
                code=Refusal.BAD_CHOICE,
                field="claim_reference",
            )
        change("claim_reference", claim)
