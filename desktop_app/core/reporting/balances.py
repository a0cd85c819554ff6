"""What every account owed and held at the end of a past day, in a few set-based reads.

An account's *balance* on a statement is what it owes less its credit
(:mod:`.documents`); over all time it equals today's cached ``outstanding - credit``. So the
balance at the end of day D is today's less every statement change dated after D: invoices
issued after D (and voids made after D), payments and refunds dated after D (and reversals made
after D), credit notes and credit transfers likewise. The credit held at the end of D comes from
the credit liability report (:func:`.liability.changes_after`), and what was owed then is the
balance plus that credit. An account is listed when either is nonzero; a figure worked back
below zero is stated as the other (:func:`stated`). Working back from today reads only what
happened after D, a small part of the records for last month's end, and agrees with each
account's statement closing balance to the cent, and with the liability report's credit wherever
nothing is stated over (the tests compare them).

Stamps (voids, reversals) are dated by the front desk's day (``local_day``), as the statements
date them: loosely filtered in SQL, exactly here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..db.models import CreditNote, Invoice, Patient, Payment
from ..domain.kinds import InvoiceStatus
from ..ledger.audit import local_day
from .liability import changes_after, stamps_from, transfer_moves_after


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """One account at the end of a day: what it owed on invoices and the credit it held (minor
    units, neither negative: see :func:`stated`); what it owed less its credit is its
    statement's closing balance."""

    account_id: int
    owed_minor: int
    credit_minor: int


def _stamp_after(stamp: datetime | None, day: date) -> bool:
    return stamp is not None and local_day(stamp) > day


def stated(owed_minor: int, credit_minor: int) -> tuple[int, int]:
    """What was owed and the credit held as a statement states them: neither negative, what is
    owed less the credit (the balance) unchanged.

    Worked back from today, what was owed on invoices can come out below zero where the dated
    records paid an invoice twice over by the day: a payment reversed after the day and entered
    again dated on or before it. That money was the account's, so it is credit; a credit below
    zero is, likewise, owed."""
    if owed_minor < 0:
        owed_minor, credit_minor = 0, credit_minor - owed_minor
    if credit_minor < 0:
        owed_minor, credit_minor = owed_minor - credit_minor, 0
    return owed_minor, credit_minor


def balance_changes_after(session: Session, day: date) -> dict[int, int]:
    """Every account's statement balance change (owed less credit) dated after ``day``."""
    changes: dict[int, int] = defaultdict(int)
    since = stamps_from(day)
    for account, total in session.execute(
        select(Invoice.patient_id, Invoice.total_minor).where(
            Invoice.issue_date > day, Invoice.status != InvoiceStatus.DRAFT
        )
    ):
        changes[account] += total
    for account, total, voided_at in session.execute(
        select(Invoice.patient_id, Invoice.total_minor, Invoice.voided_at).where(
            Invoice.status == InvoiceStatus.VOID, Invoice.voided_at >= since
        )
    ):
        if _stamp_after(voided_at, day):
            changes[account] -= total
    for account, total in session.execute(
        select(Payment.patient_id, Payment.total_minor).where(Payment.payment_date > day)
    ):
        changes[account] -= total
    for account, total, reversed_at in session.execute(
        select(Payment.patient_id, Payment.total_minor, Payment.reversed_at).where(
            Payment.reversed_at.is_not(None), Payment.reversed_at >= since
        )
    ):
        if _stamp_after(reversed_at, day):
            changes[account] += total
    for account, amount, note_date, reversed_at in session.execute(
        select(
            CreditNote.patient_id,
            CreditNote.amount_minor,
            CreditNote.note_date,
            CreditNote.reversed_at,
        ).where(or_(CreditNote.note_date > day, CreditNote.reversed_at >= since))
    ):
        if note_date > day:
            changes[account] -= amount
        if _stamp_after(reversed_at, day):
            changes[account] += amount
    for _, source, target, amount in transfer_moves_after(session, day):
        changes[source] += amount  # credit leaving an account raises its balance
        changes[target] -= amount
    return changes


def balances_on(session: Session, day: date) -> list[AccountBalance]:
    """Every account (patients' and payers', merged ones left out) that at the end of ``day``
    owed something or held credit, by id (see the module)."""
    now = {
        account: (outstanding, credit)
        for account, outstanding, credit in session.execute(
            select(Patient.id, Patient.outstanding_minor, Patient.credit_minor).where(
                or_(Patient.outstanding_minor != 0, Patient.credit_minor != 0)
            )
        )
    }
    balance_later = balance_changes_after(session, day)
    credit_later = {
        account: sum(change for _, change in moves)
        for account, moves in changes_after(session, day).items()
    }
    found: list[AccountBalance] = []
    for account in sorted(now.keys() | balance_later.keys() | credit_later.keys()):
        outstanding, credit = now.get(account, (0, 0))
        credit_then = credit - credit_later.get(account, 0)
        balance_then = outstanding - credit - balance_later.get(account, 0)
        owed_then, credit_then = stated(balance_then + credit_then, credit_then)
        if owed_then or credit_then:
            found.append(AccountBalance(account, owed_then, credit_then))
    if found:
        merged = set(session.scalars(select(Patient.id).where(Patient.merged_into.is_not(None))))
        found = [row for row in found if row.account_id not in merged]
    return found
