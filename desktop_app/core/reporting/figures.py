"""Reports for the front desk and the bookkeeper, computed by the database in a few aggregates.

* :func:`aged_receivables`: what patients and payers owe now, per account, aged by invoice date
  (or by due date: :data:`AGE_BY`) into 0-30 days, 31-60, 61-90 and over 90 days, counted to
  today or a later day. By due date, an invoice without one ages by its invoice date, and one not
  yet due counts as 0 days. Over everyone its total is the clinic's outstanding balance
  (``Clinic.summary().outstanding``) to the cent, whichever the ages are counted from.
* :func:`takings`: money received and refunded between two dates per payment type, and where the
  received money went: applied to invoices or left as account credit, plus account credit applied
  to invoices by payments of those days. Reversed payments are left out (they are listed in
  number only): reversing undoes a payment entered by mistake, so the days' takings are what
  stands now.

Both cover everyone, patients only, every payer or one payer (:mod:`.accounts`, ``scope`` and
``payer``). A payer's row is named by the payer ("Bupa"). One payer's aged receivables have a row
per patient the payer's open invoices are for (what the payer owes for each), and one payer's or
all payers' takings also list each remittance (:class:`RemittanceLine`).

Amounts are integer minor units inside; the report rows carry ``Decimal`` amounts in the clinic's
currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from ..db import raw
from ..db.models import Application, Invoice, Patient, Payment, PaymentSource, PaymentType
from ..domain.errors import BillingError, Refusal
from ..domain.kinds import InvoiceStatus, PaymentKind
from ..domain.money import to_decimal
from .accounts import Scope, account_name, payer_names

#: Upper bounds (days since the invoice date, inclusive) of the ageing buckets but the last.
AGE_BUCKETS = (30, 60, 90)
BUCKET_NAMES = ("0-30 days", "31-60 days", "61-90 days", "Over 90 days")
#: What the ages are counted from: the invoice (issue) date, or the due date.
AGE_BY = ("issue_date", "due_date")


@dataclass(frozen=True, slots=True)
class AgedRow:
    """What one account owes, by age of the invoices: a patient's ("Lovelace, Ada"), a payer's
    ("Bupa", ``payer_id`` its id), or, in one payer's report, what the payer owes for one
    patient (``patient_id`` and the name the patient's, ``payer_id`` the payer's)."""

    patient_id: int
    patient_name: str
    buckets: tuple[Decimal, Decimal, Decimal, Decimal]
    total: Decimal
    open_invoices: int
    oldest_invoice: date
    #: The payer that owes the row (None: the patient owes it).
    payer_id: int | None = None


@dataclass(frozen=True, slots=True)
class AgedReceivables:
    """Every account of the scope that owes something, most owed first, and the bucket
    totals."""

    as_of: date
    rows: tuple[AgedRow, ...]
    buckets: tuple[Decimal, Decimal, Decimal, Decimal]
    total: Decimal
    #: ``issue_date`` or ``due_date`` (:data:`AGE_BY`): what the ages are counted from.
    by: str = "issue_date"
    #: Whose accounts (``accounts.SCOPES``); one payer's id and name when it is about one.
    scope: str = "everyone"
    payer_id: int | None = None
    payer_name: str | None = None

    @property
    def payers(self) -> int:
        """How many rows are payers' accounts (in one payer's report: none, its rows are
        patients)."""
        return sum(1 for row in self.rows if row.payer_id is not None and self.payer_id is None)

    @property
    def patients(self) -> int:
        """How many rows are patients."""
        return len(self.rows) - self.payers


@dataclass(frozen=True, slots=True)
class TakingsLine:
    """Money in and out by one payment type."""

    payment_type: str
    received: Decimal
    refunded: Decimal  # a positive amount: what went back to patients
    net: Decimal
    payments: int  # payments and refunds that used this type


@dataclass(frozen=True, slots=True)
class Takings:
    """The takings of a period (both dates included).

    ``net == received - refunded``, and without a payment-type filter
    ``received == applied_from_money + to_credit``. With a filter, the lines are that type's
    money, and the split into applied and to-credit is of the whole payments that used it (a
    payment split across types counts whole there).
    """

    start: date
    end: date
    payment_type: str | None
    lines: tuple[TakingsLine, ...]
    received: Decimal
    refunded: Decimal
    net: Decimal
    applied_from_money: Decimal
    to_credit: Decimal
    credit_applied: Decimal
    reversed_payments: int  # payments (not refunds) of the period reversed, of the type if chosen
    #: Whose accounts (``accounts.SCOPES``); one payer's id and name when it is about one.
    scope: str = "everyone"
    payer_id: int | None = None
    payer_name: str | None = None
    #: For payers (all, or one): each remittance of the period still standing, by date.
    remittances: tuple[RemittanceLine, ...] = ()


@dataclass(frozen=True, slots=True)
class RemittanceLine:
    """One payer's payment (a remittance) in the takings: what it brought and where it went."""

    payment_id: int
    day: date
    payer_id: int
    payer_name: str
    reference: str | None
    received: Decimal
    applied: Decimal  # its money applied to invoices (standing applications)
    to_credit: Decimal  # its money left as the payer's credit
    invoices: int  # invoices it pays (standing applications)


def aged_receivables(
    session: Session,
    currency: str,
    as_of: date,
    by: str = "issue_date",
    scope: Scope | None = None,
) -> AgedReceivables:
    """What every account of ``scope`` (default everyone) owes, aged by invoice date
    (``by="due_date"``: by due date, or by invoice date for an invoice without one) as of
    ``as_of`` (see the module). One payer's report has a row per patient its invoices are for.

    The balances are today's, so the ages are counted to today or a later day (to see what
    will be overdue by then); an earlier day is refused rather than shown with today's figures.
    """
    scope = scope or Scope()
    if as_of < date.today():
        raise BillingError(
            "Aged receivables show what is owed today: count the ages to today or a later day.",
            code=Refusal.BAD_DATE,
            field="as_of",
        )
    if by not in AGE_BY:
        raise BillingError(
            f"Aged receivables count ages by {' or '.join(AGE_BY)}, not {by!r}.",
            code=Refusal.BAD_CHOICE,
            field="by",
        )
    bounds = [as_of - timedelta(days=days) for days in AGE_BUCKETS]
    owed = Invoice.owed_minor
    aged_from = (
        Invoice.issue_date
        if by == "issue_date"
        else func.coalesce(Invoice.due_date, Invoice.issue_date)
    )
    bucket_sums = [
        func.sum(case((aged_from >= bounds[0], owed), else_=0)),
        func.sum(
            case(
                (and_(aged_from < bounds[0], aged_from >= bounds[1]), owed),
                else_=0,
            )
        ),
        func.sum(
            case(
                (and_(aged_from < bounds[1], aged_from >= bounds[2]), owed),
                else_=0,
            )
        ),
        func.sum(case((aged_from < bounds[2], owed), else_=0)),
    ]
    # One payer's rows are the patients its invoices are for; otherwise, the accounts that owe.
    row_of = Invoice.for_patient_id if scope.one_payer else Invoice.patient_id
    per_account = (
        select(
            row_of.label("account_id"),
            *(s.label(f"b{n}") for n, s in enumerate(bucket_sums)),
            func.sum(owed).label("total"),
            func.count().label("n"),
            func.min(Invoice.issue_date).label("oldest"),
        )
        .where(Invoice.status == InvoiceStatus.OPEN, owed > 0)
        .group_by(row_of)
    )
    accounts = scope.condition(Invoice.patient_id)
    if accounts is not None:
        per_account = per_account.where(accounts)
    per_patient = per_account.subquery()
    rows = session.execute(
        select(per_patient, Patient.first_name, Patient.last_name)
        .join(Patient, Patient.id == per_patient.c.account_id)
        .order_by(per_patient.c.total.desc(), Patient.last_name, Patient.first_name, Patient.id)
    ).all()
    # The payers are few: their names are read apart, leaving the aggregate as it was.
    payers = {} if scope.name == "patients" or scope.one_payer else payer_names(session)

    def d(minor: int) -> Decimal:
        return to_decimal(int(minor), currency)

    out: list[AgedRow] = []
    sums = [0, 0, 0, 0]
    for pid, b0, b1, b2, b3, total, count, oldest, first, last in rows:
        minors = (int(b0), int(b1), int(b2), int(b3))
        sums = [a + b for a, b in zip(sums, minors, strict=True)]
        payer = scope.payer_id if scope.one_payer else (pid if pid in payers else None)
        out.append(
            AgedRow(
                pid,
                account_name(first, last, payers.get(pid)),
                (d(minors[0]), d(minors[1]), d(minors[2]), d(minors[3])),
                d(total),
                int(count),
                raw.as_date(oldest),
                payer,
            )
        )
    return AgedReceivables(
        as_of,
        tuple(out),
        (d(sums[0]), d(sums[1]), d(sums[2]), d(sums[3])),
        d(sum(sums)),
        by,
        scope.name,
        scope.payer_id,
        scope.payer_name,
    )


def takings(
    session: Session,
    currency: str,
    start: date,
    end: date,
    payment_type: str | None = None,
    scope: Scope | None = None,
) -> Takings:
    """The takings from ``start`` to ``end`` (inclusive), optionally of one payment type, of
    the accounts of ``scope`` (default everyone; a payer's takings are its remittances, less
    what was refunded to it)."""
    scope = scope or Scope()
    if end < start:
        raise BillingError(
            "The report's end date is before its start date.", code=Refusal.BAD_DATE, field="end"
        )
    type_id: int | None = None
    if payment_type is not None:
        type_id = session.scalar(select(PaymentType.id).where(PaymentType.name == payment_type))
        if type_id is None:
            raise BillingError(
                f"{payment_type!r} is not a payment type of this clinic.",
                code=Refusal.BAD_CHOICE,
                field="payment_type",
            )
    in_period = and_(Payment.payment_date >= start, Payment.payment_date <= end)
    accounts = scope.condition(Payment.patient_id)
    if accounts is not None:  # every aggregate below reads the scope's payments only
        in_period = and_(in_period, accounts)
    standing = and_(in_period, Payment.reversed_at.is_(None))
    # Each aggregate reads the period's payments once, driven from the payments table (a
    # source's type is looked up afterwards): a year of a busy clinic is a few hundred thousand.
    by_type = (
        select(
            PaymentSource.payment_type_id,
            func.sum(
                case((Payment.kind == PaymentKind.PAYMENT, PaymentSource.amount_minor), else_=0)
            ),
            func.sum(
                case((Payment.kind == PaymentKind.REFUND, -PaymentSource.amount_minor), else_=0)
            ),
            func.count(func.distinct(Payment.id)),
        )
        .select_from(Payment)
        .join(PaymentSource, PaymentSource.payment_id == Payment.id)
        .where(standing)
        .group_by(PaymentSource.payment_type_id)
    )
    if type_id is not None:
        by_type = by_type.where(PaymentSource.payment_type_id == type_id)
    types = {
        tid: (position, name)
        for tid, name, position in session.execute(
            select(PaymentType.id, PaymentType.name, PaymentType.position)
        )
    }

    def d(minor: int) -> Decimal:
        return to_decimal(int(minor), currency)

    lines = tuple(
        TakingsLine(types[tid][1], d(received), d(refunded), d(received - refunded), int(count))
        for tid, received, refunded, count in sorted(
            session.execute(by_type), key=lambda row: types[row[0]]
        )
    )
    # Where the received money went: applications still standing, of the period's payments.
    chosen = and_(standing, Payment.kind == PaymentKind.PAYMENT)
    reversed_ones = and_(Payment.reversed_at.is_not(None), Payment.kind == PaymentKind.PAYMENT)
    if type_id is not None:  # the payments that used this type (a split payment counts whole)
        used_type = Payment.id.in_(
            select(PaymentSource.payment_id).where(PaymentSource.payment_type_id == type_id)
        )
        chosen = and_(chosen, used_type)
        reversed_ones = and_(reversed_ones, used_type)
    money_in, reversed_count = session.execute(
        select(
            func.coalesce(func.sum(case((chosen, Payment.total_minor), else_=0)), 0),
            func.coalesce(func.sum(case((reversed_ones, 1), else_=0)), 0),
        ).where(in_period)
    ).one()
    from_money, from_credit = session.execute(
        select(
            func.coalesce(func.sum(Application.from_money_minor), 0),
            func.coalesce(func.sum(Application.from_credit_minor), 0),
        )
        .join(Payment, Payment.id == Application.payment_id)
        .where(chosen, Application.removed_at.is_(None))
    ).one()
    received = sum((line.received for line in lines), d(0))
    refunded = sum((line.refunded for line in lines), d(0))
    remittances = () if scope.name != "payers" else _remittances(session, currency, chosen)
    return Takings(
        start,
        end,
        payment_type,
        lines,
        received,
        refunded,
        received - refunded,
        d(from_money),
        d(int(money_in) - int(from_money)),
        d(from_credit),
        int(reversed_count or 0),
        scope.name,
        scope.payer_id,
        scope.payer_name,
        remittances,
    )


def _remittances(
    session: Session, currency: str, chosen: ColumnElement[bool]
) -> tuple[RemittanceLine, ...]:
    """The payers' payments ``chosen`` (standing, of the period, type and scope), by date."""
    standing = and_(Application.payment_id == Payment.id, Application.removed_at.is_(None))
    names = payer_names(session)
    rows = session.execute(
        select(
            Payment.id,
            Payment.payment_date,
            Payment.patient_id,
            Payment.reference,
            Payment.total_minor,
            func.coalesce(func.sum(Application.from_money_minor), 0),
            func.count(Application.id),
        )
        .outerjoin(Application, standing)
        .where(chosen)
        .group_by(
            Payment.id,
            Payment.payment_date,
            Payment.patient_id,
            Payment.reference,
            Payment.total_minor,
        )
        .order_by(Payment.payment_date, Payment.id)
    )

    def d(minor: int) -> Decimal:
        return to_decimal(int(minor), currency)

    return tuple(
        RemittanceLine(
            pay_id,
            raw.as_date(day),
            payer_id,
            names.get(payer_id, ""),
            reference,
            d(total),
            d(applied),
            d(int(total) - int(applied)),
            int(count),
        )
        for pay_id, day, payer_id, reference, total, applied, count in rows
    )
