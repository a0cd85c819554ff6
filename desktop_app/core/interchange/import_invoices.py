"""Importing invoices: :class:`InvoiceImporter`, one row per invoice line, the rows of one invoice
together (same number, patient, dates, basis, practitioner and status); each invoice checked
whole (its total, its dates, its number unused or imported before with the same details), then
written with its lines, the patients' outstanding figures and the invoice number counter in bulk.

A line may name a catalogue item by its code: the item fills the description, price (the
patient's concession price) and tax rate the row leaves empty. Lines are priced as the app prices
them (``domain.invoicing``: decimal quantities, discounts, prices with or without tax). A draft's
number only groups its rows: it is saved without one, in no balance, until issued in the app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Counter, Invoice, InvoiceLine
from ..domain import dates
from ..domain.errors import BillingError
from ..domain.invoicing import CENTI, issued, line_amounts, round_half_up
from ..domain.kinds import InvoiceStatus
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
from .import_invoice_refs import Item, Practitioners, concessions, items_by_code
from .import_rows import TICK, Cells, ImportRun


@dataclass(slots=True)
class _Line:
    """One row's line: what the file gives (None: left to the catalogue item), then priced."""

    row: int
    description: str | None
    unit_price: int | None
    quantity: int  # hundredths
    tax_rate_bp: int | None
    discount: tuple[int, int | None]  # as typed: (amount, None) or (0, percentage)
    item_code: str | None
    item_id: int | None = None
    discount_minor: int = 0
    net: int = 0
    tax: int = 0

    @property
    def amount(self) -> int:
        """The line with its tax."""
        return self.net + self.tax

    @property
    def discount_bp(self) -> int | None:
        """The percentage the discount was typed as (None: an amount)."""
        return self.discount[1]

    def key(self) -> tuple[Any, ...]:
        """What makes two imports of the line the same."""
        return (
            self.description,
            self.unit_price,
            self.quantity,
            self.tax_rate_bp,
            self.discount_minor,
            self.item_code,
        )


#: The columns every line of one invoice repeats, with their place in the format's row.
_GROUP_COLUMNS = (
    ("patient_external_id", 1),
    ("issue_date", 2),
    ("due_date", 3),
    ("tax_inclusive", 10),
    ("practitioner", 11),
    ("service_date", 12),
    ("status", 13),
)
_ITEM_CODE = 8
#: The columns written, the first release's first (all a file of its format fills).
_INVOICE_COLUMNS = (
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
    "tax_inclusive",
    "practitioner_id",
    "service_date",
)
_FIRST_INVOICE_COLUMNS = 10
_LINE_COLUMNS = (
    "invoice_id",
    "position",
    "description",
    "unit_price_minor",
    "quantity_centi",
    "tax_rate_bp",
    "tax_minor",
    "net_minor",
    "amount_minor",
    "discount_minor",
    "discount_bp",
    "item_id",
    "item_code",
)
_FIRST_LINE_COLUMNS = 9
_GROUP_VALUES = itemgetter(*(index for _, index in _GROUP_COLUMNS))


@dataclass(slots=True)
class _InvoiceGroup:
    number: int
    first_row: int
    raw: tuple[str, ...]
    patient: str | None
    issue_date: date | None
    due_date: date | None
    tax_inclusive: bool = False
    practitioner: str = ""
    service_date: date | None = None
    draft: bool = False
    last_row: int = 0
    lines: list[_Line] = field(default_factory=list)
    rows: int = 0
    sound: bool = True
    total: int = 0
    patient_id: int = 0
    practitioner_id: int | None = None
    #: Every line priced (a line naming a catalogue item is priced once the items are read).
    priced: bool = False
    #: A line names a catalogue item (priced once the items are read).
    itemised: bool = False
    #: Its id, once written.
    invoice_id: int = 0


class InvoiceImporter(Importer):
    """Invoices, one line a row, the rows of one invoice together (sorted by invoice number)."""

    def __init__(self, run: ImportRun, cells: Cells) -> None:
        super().__init__(run, cells)
        self.groups: list[_InvoiceGroup] = []
        self.new: list[_InvoiceGroup] = []
        self.lines_created = 0
        #: A row fills a column newer than the first release's eight (item code, discount,
        #: basis, practitioner, service date, status); without one, only those are written.
        self.newer_columns = False

    def parse(self, table: CsvTable) -> None:
        c = self.cells
        head = (c.invoice_number, c.external_id, c.date, c.optional_date)
        tail = (
            c.quantity,
            c.optional_tax_rate,
            c.item_code,
            c.discount,
            c.yes_no,
            c.practitioner,
            c.service_date,
            c.status,
        )
        # A row naming a catalogue item may leave its description and price to the item.
        plain = (*head, c.description, c.unit_price, *tail)
        itemised = (*head, c.optional_description, c.optional_unit_price, *tail)
        # A row that leaves every newer column empty (any row of an older file) reads only the
        # first eight; the rest are their defaults.
        first = plain[:_ITEM_CODE]
        first_columns = self.run.columns[:_ITEM_CODE]
        defaults = (None, (0, None), False, "", None, False)
        by_number: dict[int, _InvoiceGroup] = {}
        group: _InvoiceGroup | None = None
        for n, (row, values) in enumerate(table.rows, 1):
            if n % TICK == 0:
                self.run.parsed(n)
            if not any(values[_ITEM_CODE:]):
                cells, bad = self.run.cells(row, values[:_ITEM_CODE], first, first_columns)
                cells.extend(defaults)
            else:
                self.newer_columns = True
                readers = itemised if values[_ITEM_CODE] else plain
                cells, bad = self.run.cells(row, values, readers)
            (
                number,
                patient,
                issue_date,
                due_date,
                description,
                unit,
                quantity,
                rate,
                code,
                discount,
                inclusive,
                practitioner,
                service_date,
                draft,
            ) = cells
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
                raw = _GROUP_VALUES(values)
                group = _InvoiceGroup(
                    number,
                    row,
                    raw,
                    patient,
                    issue_date,
                    due_date,
                    tax_inclusive=bool(inclusive),
                    practitioner=practitioner or "",
                    service_date=service_date,
                    draft=bool(draft),
                )
                by_number[number] = group
                self.groups.append(group)
                self._check_dates(group, row, values, bad)
            else:
                self._agree(group, row, values, bad)
            group.last_row = row
            group.rows += 1
            if bad:
                group.sound = False
            else:
                group.lines.append(
                    _Line(row, description, unit, quantity, rate, discount, code or None)
                )
                if code:
                    group.itemised = True
        for g in self.groups:
            if g.sound and not g.itemised:
                self._price(g, {}, None)

    def _check_dates(
        self, group: _InvoiceGroup, row: int, values: tuple[str, ...], bad: frozenset[str]
    ) -> None:
        """The due date within its window from the issue date."""
        issue_date, due_date = group.issue_date, group.due_date
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

    def _agree(
        self, group: _InvoiceGroup, row: int, values: tuple[str, ...], bad: frozenset[str]
    ) -> None:
        """Each line of an invoice names the same patient, dates, basis, practitioner and status
        as its first."""
        for (column, index), theirs in zip(_GROUP_COLUMNS, group.raw, strict=True):
            mine = values[index]
            if column not in bad and mine != theirs:
                self.problems.add(
                    row,
                    column,
                    f"Invoice {group.number} has {column} {theirs or '(empty)'} on row "
                    f"{group.first_row}; every line of one invoice must have the same patient, "
                    "dates, basis, practitioner and status.",
                )
                group.sound = False

    def _price(self, g: _InvoiceGroup, items: dict[str, Item], concession: str | None) -> None:
        """Work out each line's amounts as the app does (its item filling what the row left
        empty), then check the invoice's total."""
        total, inclusive = 0, g.tax_inclusive
        for line in g.lines:
            if line.item_code is not None:
                item = items.get(line.item_code.lower())
                if item is None or item.archived:
                    g.sound = False
                    continue  # the problem is noted where the items are read
                line.item_id, line.item_code = item.id, item.code
                if line.description is None or not line.description:
                    line.description = item.name
                if line.unit_price is None:
                    line.unit_price = item.price_for(concession)
                if line.tax_rate_bp is None:
                    line.tax_rate_bp = item.tax_rate_bp
            unit, rate = line.unit_price or 0, line.tax_rate_bp or 0
            money_off, percent = line.discount
            gross = round_half_up(unit * line.quantity, CENTI) if money_off else 0
            if money_off > gross:
                self.problems.add(
                    line.row,
                    "discount",
                    f"The discount of {self.money(money_off)} is more than the line's "
                    f"{self.money(gross)}.",
                )
                g.sound = False
                continue
            line.unit_price, line.tax_rate_bp = unit, rate
            line.discount_minor, net, tax = line_amounts(
                unit,
                line.quantity,
                rate,
                tax_inclusive=inclusive,
                discount_minor=money_off,
                discount_bp=percent,
            )
            line.net, line.tax = net, tax
            total += net + tax
        g.total = total
        g.priced = g.sound
        if not g.sound:
            return
        limit = self.cells.amounts.ceiling
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

    def _resolve(self, session: Session) -> None:
        """Read the catalogue items and practitioners the file names, price the lines that
        name items, and find each invoice's practitioner."""
        codes = {
            line.item_code for g in self.groups if g.sound for line in g.lines if line.item_code
        }
        items = items_by_code(session, codes) if codes else {}
        for g in self.groups:
            for line in g.lines:
                if line.item_code is None or not g.sound:
                    continue
                item = items.get(line.item_code.lower())
                if item is None:
                    self.problems.add(
                        line.row,
                        "item_code",
                        f"There is no billable item with the code {line.item_code!r}; add it "
                        "in Settings > Billable items first.",
                    )
                elif item.archived:
                    self.problems.add(
                        line.row,
                        "item_code",
                        f"The billable item {item.code} ({item.name}) is archived; restore it "
                        "in Settings > Billable items, or give the line without its code.",
                    )
        pending = [g for g in self.groups if g.sound and not g.priced and g.patient_id]
        if pending:
            found = concessions(session, (g.patient_id for g in pending))
            for g in pending:
                self._price(g, items, found.get(g.patient_id))
        named = [g for g in self.groups if g.practitioner]
        if named:
            staff = Practitioners(session)
            for g in named:
                try:
                    g.practitioner_id = staff.find(g.practitioner)
                except BillingError as exc:
                    self.problems.add(g.first_row, "practitioner", str(exc))
                    g.sound = False

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
        self._resolve(session)
        numbered = [g for g in self.groups if not g.draft]
        numbers = {g.number for g in numbered}
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
                Invoice.tax_inclusive,
                Invoice.practitioner_id,
                Invoice.service_date,
            )
        }
        lines = self._lines_of(session, [row.id for row in existing.values()])
        for g in numbered:
            saved = existing.get(g.number)
            if saved is None:
                self.new.append(g)
                continue
            same = (
                saved.import_batch_id is not None
                and _details(saved) == _details(g)
                and lines.get(saved.id, []) == [x.key() for x in g.lines]
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
        self._check_drafts(session, [g for g in self.groups if g.draft])

    def _check_drafts(self, session: Session, drafts: list[_InvoiceGroup]) -> None:
        """A draft has no number: one imported before is the same patient's imported draft with
        the same details and lines (skipped); any other is new."""
        patients = sorted({g.patient_id for g in drafts if g.patient_id})
        saved: dict[int, list[Any]] = {}
        for part in chunks(patients, LOOKUP_CHUNK):
            for row in session.execute(
                select(
                    Invoice.id,
                    Invoice.patient_id,
                    Invoice.issue_date,
                    Invoice.due_date,
                    Invoice.tax_inclusive,
                    Invoice.practitioner_id,
                    Invoice.service_date,
                ).where(
                    Invoice.patient_id.in_(part),
                    Invoice.status == InvoiceStatus.DRAFT,
                    Invoice.import_batch_id.is_not(None),
                )
            ):
                saved.setdefault(row.patient_id, []).append(row)
        lines = self._lines_of(session, [row.id for rows in saved.values() for row in rows])
        for g in drafts:
            wanted = [x.key() for x in g.lines]
            if any(
                _details(row) == _details(g) and lines.get(row.id, []) == wanted
                for row in saved.get(g.patient_id, [])
            ):
                self.skipped += g.rows
            else:
                self.new.append(g)

    @staticmethod
    def _lines_of(session: Session, invoice_ids: list[int]) -> dict[int, list[tuple[Any, ...]]]:
        found: dict[int, list[tuple[Any, ...]]] = {}
        for part in chunks(invoice_ids, LOOKUP_CHUNK):
            for iid, *key in session.execute(
                select(
                    InvoiceLine.invoice_id,
                    InvoiceLine.description,
                    InvoiceLine.unit_price_minor,
                    InvoiceLine.quantity_centi,
                    InvoiceLine.tax_rate_bp,
                    InvoiceLine.discount_minor,
                    InvoiceLine.item_code,
                )
                .where(InvoiceLine.invoice_id.in_(part))
                .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
            ):
                found.setdefault(iid, []).append(tuple(key))
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
        # Issued invoices first, then drafts (their ids are found in the order written).
        if any(g.draft for g in self.new):
            self.new.sort(key=lambda g: g.draft)
        draft_status, open_status = InvoiceStatus.DRAFT.value, InvoiceStatus.OPEN.value
        # A file of the first release's columns leaves the newer ones to the database's
        # defaults (exclusive basis, no practitioner, service date, discount or item): as fast
        # to write as before they existed.
        newer = self.newer_columns
        invoice_columns = _INVOICE_COLUMNS if newer else _INVOICE_COLUMNS[:_FIRST_INVOICE_COLUMNS]
        bulk.insert(
            Invoice,
            invoice_columns,
            [
                (
                    None if g.draft else g.number,
                    g.patient_id,
                    day(g.issue_date),
                    day(g.due_date),
                    g.total,
                    0,
                    0,
                    draft_status if g.draft else open_status,
                    stamp,
                    batch,
                    *((g.tax_inclusive, g.practitioner_id, day(g.service_date)) if newer else ()),
                )
                for g in self.new
            ],
            (start, span // 3),
        )
        issued_groups = [g for g in self.new if not g.draft]
        draft_groups = [g for g in self.new if g.draft]
        if issued_groups:
            numbers = [g.number for g in issued_groups]
            new_ids = select(Invoice.number, Invoice.id).where(
                Invoice.import_batch_id == bulk.batch_id,
                Invoice.number.between(min(numbers), max(numbers)),
            )
            by_number = {issued(number): int(iid) for number, iid in session.execute(new_ids)}
            for g in issued_groups:
                g.invoice_id = by_number[g.number]
        if draft_groups:
            draft_ids = session.scalars(
                select(Invoice.id)
                .where(Invoice.import_batch_id == bulk.batch_id, Invoice.number.is_(None))
                .order_by(Invoice.id)
            ).all()
            assert len(draft_ids) == len(draft_groups)
            for g, iid in zip(draft_groups, draft_ids, strict=True):
                g.invoice_id = int(iid)
        lines = [
            (
                g.invoice_id,
                position,
                line.description,
                line.unit_price,
                line.quantity,
                line.tax_rate_bp,
                line.tax,
                line.net,
                line.net + line.tax,
                *(
                    (line.discount_minor, line.discount[1], line.item_id, line.item_code)
                    if newer
                    else ()
                ),
            )
            for g in self.new
            for position, line in enumerate(g.lines)
        ]
        self.lines_created = len(lines)
        bulk.insert(
            InvoiceLine,
            _LINE_COLUMNS if newer else _LINE_COLUMNS[:_FIRST_LINE_COLUMNS],
            lines,
            (start + span // 3, span - span // 3),
        )
        owed: dict[int, tuple[int, int]] = {}
        for g in issued_groups:  # a draft is in no balance
            owed[g.patient_id] = (0, owed.get(g.patient_id, (0, 0))[1] + g.total)
        if owed:
            bulk.add_to_patients(owed)
        if issued_groups:
            highest = max(g.number for g in issued_groups)
            if highest > counter.value:
                counter.value = highest  # new invoices continue after the imported numbers

    def created(self) -> dict[str, int]:
        made = {"invoices": len(self.new), "lines": self.lines_created}
        drafts = sum(1 for g in self.new if g.draft)
        if drafts:
            made["drafts"] = drafts
        return made

    def audit_extra(self) -> dict[str, Any]:
        return {"total": sum(g.total for g in self.new if not g.draft)}


def _details(invoice: Any) -> tuple[Any, ...]:
    """What makes an imported invoice (or draft) the same as one saved, besides its lines."""
    return (
        invoice.patient_id,
        invoice.issue_date,
        invoice.due_date,
        bool(invoice.tax_inclusive),
        invoice.practitioner_id,
        invoice.service_date,
    )
