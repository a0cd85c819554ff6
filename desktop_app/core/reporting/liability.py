"""The account-credit liability report: what the clinic held for each patient on any day.

A patient's credit on day D is today's cached credit less every change dated after D. The changes
are the ones the credit history is built from (:mod:`.credit_trace`), dated the same way: a
payment's or refund's credit on its payment date, a credit note's on its date, a transfer's on
its date, and a removal or reversal on the day it was made. Working back from today reads only
what happened after D, which for a month end or a year end is a small part of the records, and it
agrees with each patient's credit history to the cent (the tests compare the two).

Each row also says when the patient last visited (their latest invoice on or before D) and last
paid or was refunded, and whether the credit is *dormant*: no visit or payment in the
``dormant_months`` before D.
The series gives the total liability at each of the last twelve month ends, and on D.
A payer's credit (money it paid that no invoice took) is held the same way, on a row named by the
payer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..db import raw
from ..db.models import Application, CreditNote, CreditTransfer, Invoice, Patient, Payment
from ..domain.errors import BillingError, Refusal
from ..domain.kinds import InvoiceStatus, PaymentKind
from ..domain.money import to_decimal
from ..ledger.audit import local_day
from ..ledger.merge import not_cancelled_by_merge
from .accounts import account_name, payer_names

REVERSED = "payment reversed"  # the removal reason a payment's reversal gives its applications
SERIES_MONTHS = 12


@dataclass(frozen=True, slots=True)
class LiabilityRow:
    """One patient's account credit on the report's day."""

    patient_id: int
    patient_name: str
    credit: Decimal
    last_visit: date | None  # the latest invoice, not void, on or before the day
    last_payment: date | None  # the latest payment or refund on or before the day
    days_inactive: int | None  # days from the later of the two to the report's day
    dormant: bool


@dataclass(frozen=True, slots=True)
class CreditLiability:
    """Every patient holding credit on ``as_of``, most credit first, and the totals."""

    as_of: date
    dormant_months: int
    rows: tuple[LiabilityRow, ...]
    total: Decimal
    dormant_total: Decimal
    series: tuple[tuple[date, Decimal], ...]  # (month end, total liability), oldest first


def _day(value: Any) -> date:
    return local_day(value) if isinstance(value, datetime) else value


def stamps_from(day: date) -> datetime:
    """A moment no stamp (a void, removal or reversal) made after the desk's ``day`` comes
    before, whatever the desk's time zone: the loose filter in SQL, exact by
    :func:`.audit.local_day` after."""
    return datetime.combine(day - timedelta(days=2), datetime.min.time())


def changes_after(session: Session, day: date) -> dict[int, list[tuple[date, int]]]:
    """Every change to any patient's credit dated after ``day``: patient -> [(day, change)]."""
    changes: dict[int, list[tuple[date, int]]] = defaultdict(list)
    # Stamps (removals, reversals) are filtered loosely in SQL, exactly here by their date.
    since = stamps_from(day)

    # Payments and refunds dated after the day, and the credit their applications used.
    dated = session.execute(
        select(
            Payment.id, Payment.patient_id, Payment.kind, Payment.payment_date, Payment.total_minor
        ).where(Payment.payment_date > day)
    ).all()
    money_applied: dict[int, int] = defaultdict(int)
    for pay_id, pid, paid_on, from_money, from_credit in session.execute(
        select(
            Application.payment_id,
            Payment.patient_id,
            Payment.payment_date,
            Application.from_money_minor,
            Application.from_credit_minor,
        )
        .join(Payment, Payment.id == Application.payment_id)
        .where(Payment.payment_date > day)
    ):
        money_applied[pay_id] += from_money
        if from_credit:
            changes[pid].append((paid_on, -from_credit))
    for pay_id, pid, kind, paid_on, total in dated:
        if kind == PaymentKind.REFUND:
            changes[pid].append((paid_on, total))  # negative: credit went back to the patient
        elif total - money_applied[pay_id] > 0:
            changes[pid].append((paid_on, total - money_applied[pay_id]))

    # Applications removed after the day: their credit (and, unless the payment itself was
    # reversed, their money) came back as credit.
    for pid, removed_at, reason, from_money, from_credit in session.execute(
        select(
            Payment.patient_id,
            Application.removed_at,
            Application.removed_reason,
            Application.from_money_minor,
            Application.from_credit_minor,
        )
        .join(Payment, Payment.id == Application.payment_id)
        .where(Application.removed_at.is_not(None), Application.removed_at >= since)
    ):
        on = _day(removed_at)
        back = from_credit + (from_money if reason != REVERSED else 0)
        if on > day and back:
            changes[pid].append((on, back))

    # Payments and refunds reversed after the day.
    reversed_rows = session.execute(
        select(
            Payment.id, Payment.patient_id, Payment.kind, Payment.total_minor, Payment.reversed_at
        ).where(Payment.reversed_at.is_not(None), Payment.reversed_at >= since)
    ).all()
    late = [row for row in reversed_rows if _day(row[4]) > day]
    held: dict[int, int] = defaultdict(int)  # money still on invoices or taken back with them
    if late:
        for pay_id, removed_at, reason, from_money in session.execute(
            select(
                Application.payment_id,
                Application.removed_at,
                Application.removed_reason,
                Application.from_money_minor,
            ).where(Application.payment_id.in_([row[0] for row in late]))
        ):
            if removed_at is None or reason == REVERSED:
                held[pay_id] += from_money
    for pay_id, pid, kind, total, reversed_at in late:
        taken = -total if kind == PaymentKind.REFUND else -(total - held[pay_id])
        if taken:
            changes[pid].append((_day(reversed_at), taken))

    # Credit notes and transfers.
    for pid, note_date, to_credit, reversed_at in session.execute(
        select(
            CreditNote.patient_id,
            CreditNote.note_date,
            CreditNote.to_credit_minor,
            CreditNote.reversed_at,
        ).where(
            CreditNote.to_credit_minor > 0,
            or_(CreditNote.note_date > day, CreditNote.reversed_at >= since),
        )
    ):
        if note_date > day:
            changes[pid].append((note_date, to_credit))
        if reversed_at is not None and _day(reversed_at) > day:
            changes[pid].append((_day(reversed_at), -to_credit))
    for on, source, target, amount in transfer_moves_after(session, day):
        changes[source].append((on, -amount))
        changes[target].append((on, amount))
    return changes


def transfer_moves_after(session: Session, day: date) -> list[tuple[date, int, int, int]]:
    """Every move of credit between accounts by a transfer dated after ``day`` or reversed
    after it (the reversal moves it back, on the day it was made): ``(day, from, to, amount)``.
    Transfers a merge cancelled are left out."""
    since = stamps_from(day)
    moves: list[tuple[date, int, int, int]] = []
    for source, target, on, amount, reversed_at in session.execute(
        select(
            CreditTransfer.from_patient_id,
            CreditTransfer.to_patient_id,
            CreditTransfer.transfer_date,
            CreditTransfer.amount_minor,
            CreditTransfer.reversed_at,
        ).where(
            or_(CreditTransfer.transfer_date > day, CreditTransfer.reversed_at >= since),
            not_cancelled_by_merge(),
        )
    ):
        if on > day:
            moves.append((on, source, target, amount))
        if reversed_at is not None and _day(reversed_at) > day:
            moves.append((_day(reversed_at), target, source, amount))
    return moves


def _month_ends(as_of: date, months: int) -> list[date]:
    ends: list[date] = []
    first = as_of.replace(day=1)
    for _ in range(months):
        first_of_last = (first - timedelta(days=1)).replace(day=1)
        ends.append(first - timedelta(days=1))
        first = first_of_last
    return sorted(ends)


def credit_liability(
    session: Session, currency: str, as_of: date, dormant_months: int = 12
) -> CreditLiability:
    """The account credit held for each patient at the end of ``as_of`` (see the module)."""
    if as_of > date.today():
        raise BillingError(
            "The credit held on a day to come is not known yet: choose today or earlier.",
            code=Refusal.FUTURE_DATE,
            field="as_of",
        )
    if not 1 <= dormant_months <= 120:
        raise BillingError(
            "Dormant means no visit or payment for 1 to 120 months.",
            code=Refusal.BAD_CHOICE,
            field="dormant_months",
        )
    ends = _month_ends(as_of, SERIES_MONTHS)
    changes = changes_after(session, ends[0])
    now = {
        pid: credit
        for pid, credit in session.execute(
            select(Patient.id, Patient.credit_minor).where(Patient.credit_minor != 0)
        )
    }
    total_now = sum(now.values())

    def held_on(day: date) -> dict[int, int]:
        credit = dict(now)
        for pid, moves in changes.items():
            later = sum(change for on, change in moves if on > day)
            if later:
                credit[pid] = credit.get(pid, 0) - later
        return {pid: amount for pid, amount in credit.items() if amount}

    def d(minor: int) -> Decimal:
        return to_decimal(minor, currency)

    series = tuple(
        (end, d(total_now - sum(c for moves in changes.values() for on, c in moves if on > end)))
        for end in [*ends, as_of]
    )
    holding = held_on(as_of)
    visits, payments = last_activity(session, as_of, holding)
    payers = payer_names(session)  # a payer's credit is named by the payer
    names = {
        pid: account_name(first, last_name, payers.get(pid))
        for pid, first, last_name in session.execute(
            select(Patient.id, Patient.first_name, Patient.last_name)
        )
        if pid in holding
    }
    rows: list[LiabilityRow] = []
    dormant_minor = 0
    for pid, minor in holding.items():
        latest = latest_activity(visits.get(pid), payments.get(pid))
        dormant = is_dormant(minor, latest, as_of, dormant_months)
        dormant_minor += minor if dormant else 0
        rows.append(
            LiabilityRow(
                pid,
                names[pid],
                d(minor),
                visits.get(pid),
                payments.get(pid),
                None if latest is None else (as_of - latest).days,
                dormant,
            )
        )
    rows.sort(key=lambda r: (-r.credit, r.patient_name, r.patient_id))
    return CreditLiability(
        as_of,
        dormant_months,
        tuple(rows),
        d(sum(holding.values())),
        d(dormant_minor),
        series,
    )


#: Accounts per probing statement of :func:`last_activity` (under SQLite's 999 parameters).
_CHUNK = 900


def last_activity(
    session: Session, as_of: date, accounts: Collection[int], *, probe: bool = False
) -> tuple[dict[int, date], dict[int, date]]:
    """Each of ``accounts``' last visit (its latest invoice, not void, on or before ``as_of``)
    and last payment or refund on or before ``as_of``: ``(visits, payments)`` by account id,
    an account with none left out.

    By default one grouped scan of each patient index, whatever the number of accounts (the
    report's many holders); ``probe`` reads each account's own entries instead (a few among
    many patients)."""
    visit = select(Invoice.patient_id, func.max(Invoice.issue_date)).where(
        Invoice.issue_date <= as_of,
        Invoice.status.in_((InvoiceStatus.OPEN, InvoiceStatus.PAID)),
    )
    # Payments and refunds alike (both are the patient's money moving): read from the patient
    # index alone, where filtering on the kind would read every payment's row as well (3x slower
    # at 900,000 payments on SQLite).
    paid = select(Payment.patient_id, func.max(Payment.payment_date)).where(
        Payment.payment_date <= as_of
    )
    visits: dict[int, date] = {}
    payments: dict[int, date] = {}
    if not probe:
        # One grouped scan each (a bounded list of ids would cost more than reading every
        # patient).
        reads = [(visits, visit, Invoice.patient_id), (payments, paid, Payment.patient_id)]
    else:
        ordered = sorted(accounts)
        reads = []
        for at in range(0, len(ordered), _CHUNK):
            chunk = ordered[at : at + _CHUNK]
            reads.append((visits, visit.where(Invoice.patient_id.in_(chunk)), Invoice.patient_id))
            reads.append((payments, paid.where(Payment.patient_id.in_(chunk)), Payment.patient_id))
    for found, query, column in reads:
        for pid, last in session.execute(query.group_by(column)):
            if pid in accounts and last is not None:
                found[pid] = raw.as_date(last)
    return visits, payments


def latest_activity(last_visit: date | None, last_payment: date | None) -> date | None:
    """The later of an account's last visit and last payment (None: neither)."""
    return max((day for day in (last_visit, last_payment) if day), default=None)


def is_dormant(credit_minor: int, latest: date | None, as_of: date, dormant_months: int) -> bool:
    """Whether credit is dormant on ``as_of``: held, with no visit or payment (``latest``, see
    :func:`latest_activity`) in the ``dormant_months`` before it."""
    return credit_minor > 0 and (latest is None or latest < months_before(as_of, dormant_months))


def months_before(day: date, months: int) -> date:
    """The same day ``months`` months earlier (the month's last day where it has fewer)."""
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))
