"""Importing invoices: :class:`InvoiceImporter`, one row per invoice line, the rows of one invoice
together (same number, patient and dates); each invoice checked whole (its total, its dates, its
number unused or imported before with the same details), then written with its lines, the
patients' outstanding figures and the invoice number counter in bulk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Counter, Invoice, InvoiceLine
from ..domain import dates
from ..domain.errors import BillingError
from ..domain.invoicing import issued, tax_on
from ..ledger.transaction import lock_patient_rows
from .import_base import (
    LOOKUP_CHUNK,
    Importer,
    invoices_numbered,
    patient_ids,
    unknown_patient,
)
from .import_bulk import BulkWriter
from .import_csv import Table as CsvTable
from .import_csv import chunks
from .import_rows import TICK, Cells, ImportRun


@dataclass(slots=True)
class _Line:
    description: str
    unit_price: int
    quantity: int
    tax_rate_bp: int
    tax: int
    amount: int


_GROUP_COLUMNS = ("patient_external_id", "issue_date", "due_date")


@dataclass(slots=True)
class _InvoiceGroup:
    number: int
    first_row: int
    raw: tuple[str, str, str]
    patient: str | None
    issue_date: date | None
    due_date: date | None
    last_row: int = 0
    lines: list[_Line] = field(default_factory=list)
    rows: int = 0
    sound: bool = True
    total: int = 0
    patient_id: int = 0


class InvoiceImporter(Importer):
    """Invoices, one line a row, the rows of one invoice together (sorted by invoice number)."""

    def __init__(self, run: ImportRun, cells: Cells) -> None:
        super().__init__(run, cells)
        self.groups: list[_InvoiceGroup] = []
        self.new: list[_InvoiceGroup] = []
        self.lines_created = 0

    def parse(self, table: CsvTable) -> None:
        c = self.cells
        readers = (
            c.invoice_number,
            c.external_id,
            c.date,
            c.optional_date,
            c.description,
            c.unit_price,
            c.quantity,
            c.tax_rate,
        )
        by_number: dict[int, _InvoiceGroup] = {}
        group: _InvoiceGroup | None = None
        for n, (row, values) in enumerate(table.rows, 1):
            if n % TICK == 0:
                self.run.parsed(n)
            cells, bad = self.run.cells(row, values, readers)
            number, patient, issue_date, due_date, description, unit, quantity, rate = cells
            if number is None:
                continue
            if group is None or group.number != number:
                earlier = by_number.get(number)
                if earlier is not None:
                    self.problems.add(
                        row,
                        "invoice_number",
                        f"Invoice {number} already appeared on rows {earlier.first_row}-"
                        f"{earlier.last_row}; keep all the lines of one invoice together (sort "
                        "the file by invoice_number).",
                    )
                    earlier.sound = False
                    group = None
                    continue
                raw = (values[1], values[2], values[3])
                group = _InvoiceGroup(number, row, raw, patient, issue_date, due_date)
                by_number[number] = group
                self.groups.append(group)
                if issue_date is not None and due_date is not None and due_date < issue_date:
                    self.problems.add(
                        row,
                        "due_date",
                        f"The due date {values[3]} is before the issue date {values[2]}.",
                    )
                    group.sound = False
                elif issue_date is not None and due_date is not None:
                    try:
                        dates.due_day(due_date, issue_date)
                    except BillingError as exc:
                        self.problems.add(row, "due_date", str(exc))
                        group.sound = False
            else:
                self._agree(group, row, values, bad)
            group.last_row = row
            group.rows += 1
            if bad:
                group.sound = False
            else:
                tax = tax_on(unit * quantity, rate)
                amount = unit * quantity + tax
                group.lines.append(_Line(description, unit, quantity, rate, tax, amount))
                group.total += amount
        self._totals()

    def _agree(
        self, group: _InvoiceGroup, row: int, values: tuple[str, ...], bad: frozenset[str]
    ) -> None:
        """Each line of an invoice names the same patient and dates as its first."""
        for column, mine, theirs in zip(_GROUP_COLUMNS, values[1:4], group.raw, strict=True):
            if column not in bad and mine != theirs:
                self.problems.add(
                    row,
                    column,
                    f"Invoice {group.number} has {column} {theirs or '(empty)'} on row "
                    f"{group.first_row}; every line of one invoice must have the same patient "
                    "and dates.",
                )
                group.sound = False

    def _totals(self) -> None:
        limit = self.cells.amounts.ceiling
        for g in self.groups:
            if not g.sound:
                continue
            if g.total <= 0:
                self.problems.add(
                    g.first_row,
                    "unit_price",
                    f"Invoice {g.number}'s total is zero: there is nothing to bill.",
                )
            elif g.total > limit:
                self.problems.add(
                    g.first_row,
                    "unit_price",
                    f"Invoice {g.number}'s total of {self.money(g.total)} is above the limit of "
                    f"{self.money(limit)}; check the prices and quantities.",
                )

    def check(self, session: Session, *, final: bool) -> None:
        ids = patient_ids(session, (g.patient for g in self.groups if g.patient is not None))
        for g in self.groups:
            if g.patient is None:
                continue
            pid = ids.get(g.patient)
            if pid is None:
                self.problems.add(g.first_row, "patient_external_id", unknown_patient(g.patient))
            else:
                g.patient_id = pid
        numbers = {g.number for g in self.groups}
        existing = {
            row[0]: row
            for row in invoices_numbered(
                session,
                numbers,
                Invoice.id,
                Invoice.patient_id,
                Invoice.issue_date,
                Invoice.due_date,
                Invoice.import_batch_id,
            )
        }
        lines = self._lines_of(session, [row.id for row in existing.values()])
        for g in self.groups:
            saved = existing.get(g.number)
            if saved is None:
                self.new.append(g)
                continue
            same = (
                saved.import_batch_id is not None
                and (saved.patient_id, saved.issue_date, saved.due_date)
                == (g.patient_id, g.issue_date, g.due_date)
                and lines.get(saved.id, [])
                == [(x.description, x.unit_price, x.quantity, x.tax_rate_bp) for x in g.lines]
            )
            if same:
                self.skipped += g.rows
                continue
            origin = (
                "was issued in the app"
                if saved.import_batch_id is None
                else "was imported earlier with other details"
            )
            self.problems.add(
                g.first_row,
                "invoice_number",
                f"Invoice number {g.number} is already in the clinic: it {origin}. Each invoice "
                "number can be used once.",
            )

    @staticmethod
    def _lines_of(
        session: Session, invoice_ids: list[int]
    ) -> dict[int, list[tuple[str, int, int, int]]]:
        found: dict[int, list[tuple[str, int, int, int]]] = {}
        for part in chunks(invoice_ids, LOOKUP_CHUNK):
            for iid, desc, unit, qty, bp in session.execute(
                select(
                    InvoiceLine.invoice_id,
                    InvoiceLine.description,
                    InvoiceLine.unit_price_minor,
                    InvoiceLine.quantity_centi,
                    InvoiceLine.tax_rate_bp,
                )
                .where(InvoiceLine.invoice_id.in_(part))
                .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
            ):
                found.setdefault(iid, []).append((desc, unit, qty // 100, bp))
        return found

    def has_work(self) -> bool:
        return bool(self.new)

    def write(self, bulk: BulkWriter, *, start: int) -> None:
        session = bulk.session
        lock_patient_rows(session, (g.patient_id for g in self.new))
        counter = session.scalars(
            select(Counter).where(Counter.name == "invoice_number").with_for_update()
        ).one()
        span = sum(g.rows for g in self.new)
        stamp, batch, day = bulk.stamp, bulk.batch_id, bulk.day
        bulk.insert(
            Invoice,
            (
                "number",
                "patient_id",
                "issue_date",
                "due_date",
                "total_minor",
                "paid_minor",
                "credited_minor",
                "status",
                "created_at",
                "import_batch_id",
            ),
            [
                (
                    g.number,
                    g.patient_id,
                    day(g.issue_date),
                    day(g.due_date),
                    g.total,
                    0,
                    0,
                    "open",
                    stamp,
                    batch,
                )
                for g in self.new
            ],
            (start, span // 3),
        )
        numbers = [g.number for g in self.new]
        new_ids = select(Invoice.number, Invoice.id).where(
            Invoice.import_batch_id == bulk.batch_id,
            Invoice.number.between(min(numbers), max(numbers)),
        )
        ids = {issued(number): int(iid) for number, iid in session.execute(new_ids)}
        lines = [
            (
                ids[g.number],
                position,
                line.description,
                line.unit_price,
                line.quantity * 100,  # hundredths
                line.tax_rate_bp,
                line.tax,
                line.amount - line.tax,
                line.amount,
            )
            for g in self.new
            for position, line in enumerate(g.lines)
        ]
        self.lines_created = len(lines)
        bulk.insert(
            InvoiceLine,
            (
                "invoice_id",
                "position",
                "description",
                "unit_price_minor",
                "quantity_centi",
                "tax_rate_bp",
                "tax_minor",
                "net_minor",
                "amount_minor",
            ),
            lines,
            (start + span // 3, span - span // 3),
        )
        owed: dict[int, tuple[int, int]] = {}
        for g in self.new:
            owed[g.patient_id] = (0, owed.get(g.patient_id, (0, 0))[1] + g.total)
        bulk.add_to_patients(owed)
        highest = max(numbers)
        if highest > counter.value:
            counter.value = highest  # new invoices continue after the imported numbers

    def created(self) -> dict[str, int]:
        return {"invoices": len(self.new), "lines": self.lines_created}

    def audit_extra(self) -> dict[str, Any]:
        return {"total": sum(g.total for g in self.new)}
