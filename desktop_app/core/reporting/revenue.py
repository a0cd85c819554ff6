"""Revenue by practitioner and by billable item: the figures clinics pay commission on.

What a period selects: the invoices issued in it (both days included), drafts and voided
invoices left out (a draft is not billed yet; a void bills nothing). Their figures are as they
stand now, like aged receivables: ``invoiced`` (with tax) and ``invoiced_ex_tax`` from the
lines, ``credited`` (what credit notes took off what was owed), ``paid`` (payments and account
credit applied) and ``outstanding``; for every row ``invoiced == credited + paid +
outstanding``. Over every issued invoice, the outstanding total is aged receivables' total.

By practitioner, an invoice counts whole for the practitioner it names (a row with
``practitioner_id`` None for invoices naming no one). By item, each line counts for the
catalogue item it was taken from (``item_id`` None for free-text lines), and what was credited,
paid and is outstanding on an invoice is shared among its lines in proportion to their totals,
by the largest remainder so the shares add up to the invoice's figure to the cent (an earlier
line wins a tie).

Amounts are integer minor units inside; rows carry ``Decimal`` amounts in the clinic's currency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from ..db.models import BillableItem, Invoice, InvoiceLine, Staff
from ..domain.errors import BillingError, Refusal
from ..domain.kinds import InvoiceStatus
from ..domain.money import to_decimal

#: The row name of invoices that name no practitioner, and of lines typed by hand.
NO_PRACTITIONER = "No practitioner"
FREE_TEXT = "Free-text lines"


@dataclass(frozen=True, slots=True)
class RevenueRow:
    """One practitioner's or one billable item's revenue over a period.

    ``practitioner_id`` is set in the report by practitioner and ``item_id`` in the report by
    item (None in the row of invoices without a practitioner, or of free-text lines).
    """

    practitioner_id: int | None
    item_id: int | None
    name: str
    invoices: int  # invoices counted in the row
    invoiced: Decimal  # with tax
    invoiced_ex_tax: Decimal
    tax: Decimal
    credited: Decimal
    paid: Decimal
    outstanding: Decimal


def _check_period(start: date, end: date) -> None:
    if end < start:
        raise BillingError(
            "The report's end date is before its start date.", code=Refusal.BAD_DATE, field="end"
        )


def _issued_in(start: date, end: date) -> ColumnElement[bool]:
    return and_(
        Invoice.issue_date >= start,
        Invoice.issue_date <= end,
        Invoice.status.in_((InvoiceStatus.OPEN, InvoiceStatus.PAID)),
    )


def _row(
    currency: str, key: tuple[int | None, int | None], name: str, sums: Sequence[int]
) -> RevenueRow:
    count, invoiced, ex_tax, credited, paid, outstanding = sums

    def d(minor: int) -> Decimal:
        return to_decimal(int(minor), currency)

    return RevenueRow(
        key[0],
        key[1],
        name,
        int(count),
        d(invoiced),
        d(ex_tax),
        d(invoiced - ex_tax),
        d(credited),
        d(paid),
        d(outstanding),
    )


def revenue_by_practitioner(
    session: Session, currency: str, start: date, end: date
) -> tuple[RevenueRow, ...]:
    """One row per practitioner billed in the period (see the module), by name, the row of
    invoices without a practitioner last."""
    _check_period(start, end)
    net = (
        select(InvoiceLine.invoice_id, func.sum(InvoiceLine.net_minor).label("net"))
        .group_by(InvoiceLine.invoice_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Invoice.practitioner_id,
            func.count(),
            func.sum(Invoice.total_minor),
            func.sum(net.c.net),
            func.sum(Invoice.credited_minor),
            func.sum(Invoice.paid_minor),
            func.sum(Invoice.owed_minor),
        )
        .join(net, net.c.invoice_id == Invoice.id)
        .where(_issued_in(start, end))
        .group_by(Invoice.practitioner_id)
    ).all()
    names: dict[int, str] = {
        staff_id: name
        for staff_id, name in session.execute(
            select(Staff.id, Staff.full_name).where(
                Staff.id.in_([row[0] for row in rows if row[0] is not None])
            )
        )
    }
    out = [
        _row(
            currency,
            (staff_id, None),
            NO_PRACTITIONER if staff_id is None else names[staff_id],
            [int(value or 0) for value in figures],
        )
        for staff_id, *figures in rows
    ]
    return tuple(sorted(out, key=lambda row: (row.practitioner_id is None, row.name.casefold())))


def share(amount: int, weights: Sequence[int]) -> list[int]:
    """``amount`` split in proportion to ``weights`` (all >= 0, sum > 0) into whole minor units
    that add up to it exactly: each share rounded down, the cents left over going to the largest
    remainders (the earlier weight on a tie)."""
    total = sum(weights)
    floors = [amount * weight // total for weight in weights]
    left = amount - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def revenue_by_item(
    session: Session, currency: str, start: date, end: date
) -> tuple[RevenueRow, ...]:
    """One row per billable item on the lines of the period's invoices (see the module), by
    code, the row of free-text lines last."""
    _check_period(start, end)
    invoices = {
        iid: (credited, paid, owed)
        for iid, credited, paid, owed in session.execute(
            select(
                Invoice.id, Invoice.credited_minor, Invoice.paid_minor, Invoice.owed_minor
            ).where(_issued_in(start, end))
        )
    }
    lines: dict[int, list[tuple[int | None, int, int]]] = defaultdict(list)
    for iid, item_id, amount, net in session.execute(
        select(
            InvoiceLine.invoice_id,
            InvoiceLine.item_id,
            InvoiceLine.amount_minor,
            InvoiceLine.net_minor,
        )
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(_issued_in(start, end))
        .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
    ):
        lines[iid].append((item_id, int(amount), int(net)))
    # item -> [invoices, invoiced, ex tax, credited, paid, outstanding]
    sums: dict[int | None, list[int]] = defaultdict(lambda: [0] * 6)
    for iid, its_lines in lines.items():
        weights = [amount for _, amount, _ in its_lines]
        shares = [share(int(figure), weights) for figure in invoices[iid]]
        for n, (item_id, amount, net) in enumerate(its_lines):
            row = sums[item_id]
            row[1] += amount
            row[2] += net
            for k in range(3):
                row[3 + k] += shares[k][n]
        for item_id in {item_id for item_id, _, _ in its_lines}:
            sums[item_id][0] += 1
    known = {
        item_id: (code, name)
        for item_id, code, name in session.execute(
            select(BillableItem.id, BillableItem.code, BillableItem.name).where(
                BillableItem.id.in_([key for key in sums if key is not None])
            )
        )
    }
    out = [
        _row(
            currency,
            (None, item_id),
            FREE_TEXT if item_id is None else f"{known[item_id][0]} {known[item_id][1]}",
            figures,
        )
        for item_id, figures in sums.items()
    ]
    return tuple(sorted(out, key=lambda row: (row.item_id is None, row.name.casefold())))
