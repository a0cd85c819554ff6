"""Import CSV files from a clinic's previous system: patients, invoices with their lines, payments,
and opening account credit balances (the formats: ``docs/import-formats.md``; a template per kind
in ``desktop_app/resources/import-templates/``).

Each file is all or nothing. Every row is checked first, in Python (the file's shape, then each
value, then against the ledger inside the write transaction); any problem refuses the whole file
with the list of problems, by row and column, and nothing is saved. A clean file is then written in
the same transaction with set-based bulk inserts (SQLAlchemy Core ``insert()`` with lists of rows,
in chunks), and the cached figures (patient credit and outstanding, invoice paid and status) are
updated in bulk, so every ledger invariant holds when it commits.

Importing is idempotent. The same file again (same bytes, by SHA-256) is recognised and changes
nothing. A different file may repeat rows already imported: a patient with the same external id
and name, an invoice with the same number and details, a payment with the same reference, an
opening balance already recorded are skipped; the same key with different details is a problem
(an import never edits what is saved).

Usage::

    result = import_file(clinic, "patients", "patients.csv")
    print(result.describe())
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Sequence, Sized
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import resources
from importlib.abc import Traversable
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..access.staff import Permission
from ..clinic import MAX_NAME, MAX_PAYMENT_TYPE, Clinic
from ..db.models import (
    Application,
    Counter,
    ImportBatch,
    Invoice,
    InvoiceLine,
    Patient,
    Payment,
    PaymentSource,
    PaymentType,
)
from ..domain import dates
from ..domain.errors import BillingError
from ..domain.invoicing import MAX_DESCRIPTION, MAX_QUANTITY, parse_tax_rate, tax_on
from ..domain.kinds import AuditAction, AuditEntity, InvoiceStatus
from ..domain.money import format_amount
from ..ledger import audit
from .import_csv import (
    AmountReader,
    Column,
    ImportProblem,
    ImportRefused,
    Problems,
    chunks,
    date_value,
    decode,
    read_file,
    read_table,
    text_value,
    whole_number,
)
from .import_csv import (
    Table as CsvTable,
)

__all__ = [
    "COLUMNS",
    "KINDS",
    "OPENING_BALANCE_TYPE",
    "ImportCancelled",
    "ImportProblem",
    "ImportRefused",
    "ImportResult",
    "import_file",
    "template",
]

#: What can be imported, in the order a clinic imports them.
KINDS = ("patients", "invoices", "payments", "credit")
#: The payment type opening credit balances are recorded with (created inactive, so front-desk
#: payments cannot choose it).
OPENING_BALANCE_TYPE = "Opening balance"
MAX_EXTERNAL_ID = 100
MAX_PAYMENT_REF = 100
#: Rows per bulk insert, and between two progress reports and cancel checks.
WRITE_CHUNK = 1000
TICK = 1000
#: Bound parameters per ``IN (...)`` lookup; above ``MANY`` keys, read the whole set instead.
LOOKUP_CHUNK = 900
MANY = 2000

T = TypeVar("T")

COLUMNS: dict[str, tuple[Column, ...]] = {
    "patients": (
        Column("external_id", True, "the patient's id in the previous system (unique)"),
        Column("first_name", True, "first name, up to 200 characters"),
        Column("last_name", True, "last name, up to 200 characters"),
    ),
    "invoices": (
        Column("invoice_number", True, "a whole number; rows with the same number are one invoice"),
        Column("patient_external_id", True, "the external_id of an imported patient"),
        Column("issue_date", True, "YYYY-MM-DD, from 20 years ago to a year ahead"),
        Column("due_date", False, "YYYY-MM-DD, from the issue date to 5 years after it"),
        Column("description", True, "the line's description, up to 500 characters"),
        Column("unit_price", True, "an amount such as 90.00 (tax excluded)"),
        Column("quantity", True, f"a whole number from 1 to {MAX_QUANTITY:,}"),
        Column("tax_rate", False, "a percentage such as 10 (empty: no tax)"),
    ),
    "payments": (
        Column("payment_ref", True, "the payment's reference in the previous system (unique)"),
        Column("patient_external_id", True, "the external_id of an imported patient"),
        Column("payment_date", True, "YYYY-MM-DD, not in the future"),
        Column("amount", True, "an amount above zero"),
        Column("method", True, "one of the clinic's payment types, such as Cash"),
        Column("invoice_number", False, "the invoice it paid (the rest becomes account credit)"),
    ),
    "credit": (
        Column("patient_external_id", True, "the external_id of an imported patient"),
        Column("amount", True, "the account credit the patient holds"),
        Column("as_of", True, "YYYY-MM-DD, not in the future"),
    ),
}

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]


class ImportCancelled(BillingError):  # noqa: N818 - the name the API promises
    """The import was cancelled; nothing was saved."""


@dataclass(frozen=True)
class ImportResult:
    """What an import did.

    Attributes:
        kind: patients, invoices, payments or credit.
        file_name: the file's name (without its folder).
        rows: data rows read (empty rows not counted).
        created: what was added, by what it is (``{"invoices": 3, "lines": 7}``).
        skipped: rows already in the clinic, left as they are.
        ignored: rows with nothing to record (opening balances of zero).
        errors: always empty for a completed import (a refused one raises :class:`ImportRefused`).
        already_imported: the same file was imported before; nothing changed.
        imported_at: when this file was imported (now, or the first time).
        batch_id: the import batch that the records it created carry (None if nothing was).
    """

    kind: str
    file_name: str
    rows: int
    created: dict[str, int]
    skipped: int = 0
    ignored: int = 0
    errors: list[ImportProblem] = field(default_factory=list)
    already_imported: bool = False
    imported_at: datetime | None = None
    batch_id: int | None = None

    def describe(self) -> str:
        """One or two sentences for the person who imported it."""
        if self.already_imported:
            when = _local(self.imported_at)
            return f"{self.file_name} was already imported on {when}; nothing changed."
        made = [_count(count, what) for what, count in self.created.items()]
        if made and self.created[next(iter(self.created))]:
            extra = f" ({', '.join(made[1:])})" if len(made) > 1 else ""
            text = f"Imported {made[0]}{extra} from {self.file_name}."
        else:
            text = f"Nothing new to import from {self.file_name}."
        if self.skipped:
            rows = "row was" if self.skipped == 1 else "rows were"
            text += f" {self.skipped:,} {rows} already in the clinic and left as they are."
        if self.ignored:
            rows = "row has" if self.ignored == 1 else "rows have"
            text += f" {self.ignored:,} {rows} nothing to record (a balance of zero)."
        return text


_SINGULAR = {
    "patients": "patient",
    "invoices": "invoice",
    "lines": "line",
    "payments": "payment",
    "applied to invoices": "applied to an invoice",
    "opening balances": "opening balance",
}


def _count(count: int, what: str) -> str:
    return f"{count:,} {_SINGULAR.get(what, what) if count == 1 else what}"


def template(kind: str) -> Traversable:
    """The template CSV for ``kind`` (a header and example rows), inside the installed package."""
    _check_kind(kind)
    return resources.files("desktop_app") / "resources" / "import-templates" / f"{kind}.csv"


def import_file(
    clinic: Clinic,
    kind: str,
    path: Path | str,
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> ImportResult:
    """Import one CSV file of ``kind`` into ``clinic``: all of it, or nothing.

    Args:
        clinic: the open clinic.
        kind: ``"patients"``, ``"invoices"``, ``"payments"`` or ``"credit"`` (opening balances).
        path: the CSV file.
        progress: called as ``progress(done, total)`` about every 1,000 rows: each row counts
            once when it is checked and once when it is written (``total`` is twice the rows).
        cancel: polled as often; returning True stops the import and saves nothing.

    Returns:
        What was created and skipped, or ``already_imported`` for a file imported before.

    Raises:
        ImportRefused: anything wrong with the file or a row (the problems, by row and column).
        ImportCancelled: ``cancel()`` returned True.
        BillingError: the file cannot be read, or the database refused the save.
        PermissionDenied: the signed-in staff member may not import.
    """
    clinic.require(Permission.IMPORTS)
    kind = _check_kind(kind)
    path = Path(path)
    data = read_file(path)  # at most import_csv.MAX_FILE_BYTES
    digest = hashlib.sha256(data).hexdigest()
    run = _Run(clinic, kind, path.name, digest, progress, cancel)
    with clinic.reading() as session:
        first = _batch_for(session, kind, digest)
    if first is not None:
        return run.already(first)
    text = decode(data, path.name)
    del data  # the text alone from here on
    try:
        return run.go(text)
    except IntegrityError as exc:
        # Another computer imported the same file (or the same records) at the same moment.
        with clinic.reading() as session:
            first = _batch_for(session, kind, digest)
        if first is not None:
            return run.already(first)
        raise BillingError(
            "Another computer saved some of the same records while this file was being "
            f"imported; nothing was saved. Import {path.name} again. ({exc.orig})"
        ) from exc


# -- the run ------------------------------------------------------------------------------------


def _check_kind(kind: object) -> str:
    if kind not in KINDS:
        raise BillingError(f"Unknown import kind {kind!r}; choose one of {', '.join(KINDS)}.")
    return str(kind)


def _batch_for(session: Session, kind: str, digest: str) -> ImportBatch | None:
    return session.scalars(
        select(ImportBatch).where(ImportBatch.kind == kind, ImportBatch.sha256 == digest)
    ).one_or_none()


def _local(moment: datetime | None) -> str:
    if moment is None:
        return "an earlier day"
    if moment.tzinfo is None:  # SQLite hands back UTC without its zone
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


_NO_PROBLEM: frozenset[str] = frozenset()


class _Run:
    """One import: reads and checks the rows, then writes them in one transaction."""

    def __init__(
        self,
        clinic: Clinic,
        kind: str,
        file_name: str,
        digest: str,
        progress: Progress | None,
        cancel: Cancel | None,
    ) -> None:
        self.clinic = clinic
        self.kind = kind
        self.file_name = file_name
        self.digest = digest
        self._progress = progress
        self._cancel = cancel
        self.problems = Problems()
        self.total = 0
        self.rows = 0
        self.today = date.today()
        self.columns = [c.name for c in COLUMNS[kind]]

    # -- progress and cancel ---------------------------------------------------------------

    def tick(self, done: int) -> None:
        """Report ``done`` of ``total`` and stop if cancelled."""
        if self._cancel is not None and self._cancel():
            raise ImportCancelled(
                f"The import of {self.file_name} was cancelled; nothing was saved."
            )
        if self._progress is not None:
            self._progress(min(done, self.total), self.total)

    def parsed(self, n: int) -> None:
        """Progress while checking values: the second half of the checking phase."""
        self.tick(self.rows // 2 + n // 2)

    # -- problems --------------------------------------------------------------------------

    def refuse(self) -> ImportRefused:
        """The refusal listing the problems in the order of the file's rows."""
        listed = sorted(self.problems.items, key=lambda p: p.row or 0)
        return ImportRefused(self.file_name, listed, self.problems.more)

    def cells(
        self, row: int, values: tuple[str, ...], readers: Sequence[Callable[[str], Any]]
    ) -> tuple[list[Any], frozenset[str]]:
        """The row's values read by ``readers`` (one per column), and the columns that could
        not be read (each noted as a problem; its value is None)."""
        try:
            return [read(v) for read, v in zip(readers, values, strict=True)], _NO_PROBLEM
        except BillingError:
            pass
        out: list[Any] = []
        bad: set[str] = set()
        for column, read, value in zip(self.columns, readers, values, strict=True):
            try:
                out.append(read(value))
            except BillingError as exc:
                self.problems.add(row, column, str(exc))
                out.append(None)
                bad.add(column)
        return out, frozenset(bad)

    def already(self, first: ImportBatch) -> ImportResult:
        return ImportResult(
            self.kind,
            self.file_name,
            first.rows,
            {},
            already_imported=True,
            imported_at=first.imported_at,
            batch_id=first.id,
        )

    # -- the steps -------------------------------------------------------------------------

    def go(self, text: str) -> ImportResult:
        self.total = 2 * max(text.count("\n") - 1, 1)  # until the rows are counted
        self.tick(0)
        table = read_table(
            text, COLUMNS[self.kind], self.file_name, self.problems, lambda row: self.tick(row // 2)
        )
        rows = self.rows = len(table.rows)
        self.total = 2 * rows
        clinic = self.clinic
        currency = clinic.currency
        importer = _IMPORTERS[self.kind](self, _Cells(AmountReader(currency), self.today))
        importer.parse(table)
        self.tick(rows)
        if self.problems:
            # Check the sound rows against the ledger too, so one refusal lists everything.
            with clinic.reading() as session:
                importer.check(session, final=False)
            raise self.refuse()
        with clinic.writing(Permission.IMPORTS) as tx:
            session = tx.session
            if tx.currency() != currency:
                raise BillingError(
                    "The clinic's currency changed during the import; nothing was saved."
                )
            first = _batch_for(session, self.kind, self.digest)
            if first is not None:
                return self.already(first)
            importer.check(session, final=True)
            if self.problems:
                raise self.refuse()
            self.tick(rows)
            if not importer.has_work():
                return ImportResult(
                    self.kind,
                    self.file_name,
                    rows,
                    importer.created(),
                    importer.skipped,
                    importer.ignored,
                )
            stamp = audit.moment(session)
            batches = _table(ImportBatch)
            batch_id = int(
                session.connection()
                .execute(
                    insert(batches).returning(batches.c.id),
                    {
                        "kind": self.kind,
                        "file_name": self.file_name,
                        "sha256": self.digest,
                        "rows": rows,
                        "imported_at": stamp,
                        "actor": clinic.actor,
                    },
                )
                .scalar_one()
            )
            bulk = _Bulk(session, self, batch_id, stamp)
            importer.write(bulk, start=rows + importer.skipped + importer.ignored)
            created = importer.created()
            audit.record(
                session,
                actor=clinic.actor,
                action=AuditAction.of_import(self.kind),
                entity=AuditEntity.IMPORT_BATCH,
                entity_id=batch_id,
                after={
                    "file": self.file_name,
                    "sha256": self.digest,
                    "rows": rows,
                    "created": created,
                    "skipped": importer.skipped,
                    "ignored": importer.ignored,
                    **importer.audit_extra(),
                },
            )
            self.tick(self.total)
        return ImportResult(
            self.kind,
            self.file_name,
            rows,
            created,
            importer.skipped,
            importer.ignored,
            imported_at=stamp,
            batch_id=batch_id,
        )


# -- reading cells ------------------------------------------------------------------------------


class _Memo(dict[str, Any]):
    """What each text read as; a text not seen yet is read by ``read`` (a refusal is not kept,
    so it is raised again for every row that has it)."""

    def __init__(self, read: Callable[[str], Any]) -> None:
        super().__init__()
        self.read = read

    def __missing__(self, text: str) -> Any:
        value = self[text] = self.read(text)
        return value


def _remembered(read: Callable[[str], T]) -> Callable[[str], T]:
    """``read``, remembering what each text read as: files repeat their dates, prices and
    patients, and a repeated text then costs one dictionary lookup."""
    return _Memo(read).__getitem__


def _fast_number(what: str, *, required: bool = True) -> Callable[[str], int | None]:
    def read(text: str) -> int | None:
        if 0 < len(text) <= 15 and text.isascii() and text.isdigit() and text.strip("0"):
            return int(text)
        return whole_number(text, what, required=required)

    return read


def _quantity(text: str) -> int:
    number = whole_number(text, "quantity")
    assert number is not None
    if number > MAX_QUANTITY:
        raise BillingError(f"The quantity must be between 1 and {MAX_QUANTITY:,}.")
    return number


class _Cells:
    """The readers of every kind of cell, in the clinic's currency, with what they remember."""

    def __init__(self, amounts: AmountReader, today: date) -> None:
        self.amounts = amounts
        self.currency = amounts.currency
        self.external_id = _remembered(
            lambda t: text_value(t, "patient's external id", MAX_EXTERNAL_ID)
        )
        # The ledger's window (dates.py): an invoice from 20 years ago to a year ahead, due within
        # 5 years of it (checked with its issue date); payments and balances not in the future.
        self.date = _remembered(
            lambda t: date_value(t, check=lambda d: dates.issue_day(d, "issue date", today))
        )
        self.optional_date = _remembered(lambda t: date_value(t, required=False))
        self.past_date = _remembered(
            lambda t: date_value(t, check=lambda d: dates.past_day(d, "date", today))
        )
        self.description = _remembered(lambda t: text_value(t, "description", MAX_DESCRIPTION))
        self.unit_price = _remembered(lambda t: amounts(t, "unit price"))
        self.quantity = _remembered(_quantity)
        self.tax_rate = _remembered(lambda t: parse_tax_rate(t, "Tax rate"))
        self.invoice_number = _remembered(_fast_number("invoice number"))
        self.optional_invoice_number = _remembered(_fast_number("invoice number", required=False))
        self.method = _remembered(lambda t: text_value(t, "payment method", MAX_PAYMENT_TYPE))

    def money(self, minor: int) -> str:
        return format_amount(minor, self.currency)


# -- writing in bulk ----------------------------------------------------------------------------


class _Bulk:
    """Set-based writes for one import, in the import's transaction.

    On SQLite each table's rows are one SQLAlchemy Core ``insert()``, compiled once and executed
    through the session's connection as one executemany per chunk of 1,000 rows (the DBAPI's
    ``executemany``: no per-row statement or parameter processing). On PostgreSQL they are one
    ``COPY`` per table. Values are bound by the real column types once per distinct value (a
    date, the import's timestamp), not once per row.
    """

    def __init__(self, session: Session, run: _Run, batch_id: int, stamp: datetime) -> None:
        self.session = session
        self.conn = session.connection()
        self.run = run
        self.batch_id = batch_id
        dialect = self.conn.dialect
        self.postgres = dialect.name == "postgresql"
        self._day = Date().dialect_impl(dialect).bind_processor(dialect)
        stamp_type = DateTime(timezone=True).dialect_impl(dialect)
        bind_stamp = stamp_type.bind_processor(dialect)
        self.stamp = stamp if bind_stamp is None else bind_stamp(stamp)
        self._days: dict[date, Any] = {}

    def day(self, value: date | None) -> Any:
        """A date as the database's driver takes it."""
        if value is None or self._day is None:
            return value
        try:
            return self._days[value]
        except KeyError:
            bound = self._days[value] = self._day(value)
            return bound

    def insert(
        self,
        model: type[Any],
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        progress: tuple[int, int] | None = None,
    ) -> None:
        """Insert ``rows`` (values in the order of ``columns``).

        ``progress`` ``(start, span)`` moves the steps from ``start`` to ``start + span`` as the
        rows are written, about every 1,000 rows (a cancel is honoured as often).
        """
        if not rows:
            return
        real = _table(model)
        for name in columns:
            assert name in real.c, name
        if self.postgres:
            self._copy(real, columns, rows, progress)
            return
        light = sql_table(real.name, *(sql_column(name) for name in columns))
        compiled = insert(light).compile(dialect=self.conn.dialect, column_keys=list(columns))
        statement, order = str(compiled), compiled.positiontup
        if order is not None and list(order) != list(columns):
            pick = itemgetter(*(list(columns).index(name) for name in order))
            rows = [tuple(pick(r)) for r in rows]
        written = 0
        for part in chunks(rows, WRITE_CHUNK):
            batch: list[Any] = list(part)
            if order is None:  # a driver taking named parameters
                batch = [dict(zip(columns, r, strict=True)) for r in part]
            self.conn.exec_driver_sql(statement, batch)
            written += len(part)
            if progress is not None:
                start, span = progress
                self.run.tick(start + span * written // len(rows))

    def _copy(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        progress: tuple[int, int] | None,
    ) -> None:
        """PostgreSQL's ``COPY ... FROM STDIN`` on the transaction's own connection: several
        times faster there than multi-row INSERTs. A cancel aborts it, and the transaction rolls
        back."""
        quote = self.conn.dialect.identifier_preparer.quote
        names = ", ".join(quote(name) for name in columns)
        dbapi: Any = self.conn.connection.dbapi_connection
        with (
            dbapi.cursor() as cursor,
            cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy,
        ):
            for written, row in enumerate(rows, 1):
                copy.write_row(row)
                if progress is not None and (written % TICK == 0 or written == len(rows)):
                    start, span = progress
                    self.run.tick(start + span * written // len(rows))

    def add_to_patients(self, changes: dict[int, tuple[int, int]]) -> None:
        """Add ``(credit, outstanding)`` changes to each patient's cached figures, in id order
        (on PostgreSQL the patients' rows are locked in that order)."""
        patients = _table(Patient)
        statement = (
            update(patients)
            .where(patients.c.id == bindparam("pid"))
            .values(
                credit_minor=patients.c.credit_minor + bindparam("credit", type_=BigInteger),
                outstanding_minor=patients.c.outstanding_minor
                + bindparam("owed", type_=BigInteger),
            )
        )
        params = [
            {"pid": pid, "credit": credit, "owed": owed}
            for pid, (credit, owed) in sorted(changes.items())
            if credit or owed
        ]
        for part in chunks(params, WRITE_CHUNK):
            self.conn.execute(statement, list(part))


# -- looking up what the clinic already has ------------------------------------------------------


def _many(keys: Sized) -> bool:
    """Whether to read a whole set of rows at once rather than by lists of keys."""
    return len(keys) > MANY


def _patient_ids(session: Session, external_ids: Iterable[str]) -> dict[str, int]:
    """``{external id: patient id}`` for the patients with these external ids."""
    wanted = sorted(set(external_ids))
    query = select(Patient.external_id, Patient.id)
    found: dict[str, int] = {}
    if _many(wanted):
        rows: Iterable[Any] = session.execute(query.where(Patient.external_id.is_not(None)))
        found.update((str(ext), int(pid)) for ext, pid in rows)
    else:
        for part in chunks(wanted, LOOKUP_CHUNK):
            rows = session.execute(query.where(Patient.external_id.in_(part)))
            found.update((str(ext), int(pid)) for ext, pid in rows)
    return found


def _lock_patients(session: Session, patient_ids: Iterable[int]) -> None:
    """Lock the patients' rows in id order (PostgreSQL; SQLite's write lock already holds)."""
    if session.get_bind().dialect.name == "sqlite":
        return
    for part in chunks(sorted(set(patient_ids)), LOOKUP_CHUNK):
        session.execute(
            select(Patient.id).where(Patient.id.in_(part)).order_by(Patient.id).with_for_update()
        ).all()


def _invoices_numbered(session: Session, numbers: Collection[int], *columns: Any) -> list[Any]:
    """``columns`` of the clinic's invoices with these numbers."""
    query = select(Invoice.number, *columns)
    if _many(numbers):
        rows = session.execute(query.where(Invoice.number.between(min(numbers), max(numbers))))
        return [row for row in rows if row[0] in numbers]
    found: list[Any] = []
    for part in chunks(sorted(numbers), LOOKUP_CHUNK):
        found.extend(session.execute(query.where(Invoice.number.in_(part))))
    return found


def _unknown_patient(ext: str) -> str:
    return f"There is no patient with external id {ext!r}: import the patients file first."


class _Importer:
    """The checks and writes of one kind of file."""

    def __init__(self, run: _Run, cells: _Cells) -> None:
        self.run = run
        self.cells = cells
        self.problems = run.problems
        self.skipped = 0
        self.ignored = 0

    def money(self, minor: int) -> str:
        return self.cells.money(minor)

    def parse(self, table: CsvTable) -> None:  # pragma: no cover - abstract
        """Read every row's cells (no database)."""
        raise NotImplementedError

    def check(self, session: Session, *, final: bool) -> None:  # pragma: no cover - abstract
        """Check the parsed rows against the ledger; ``final``: in the write transaction, about
        to write (lock what will change)."""
        raise NotImplementedError

    def has_work(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def write(self, bulk: _Bulk, *, start: int) -> None:  # pragma: no cover - abstract
        """Write what is new; the progress steps go from ``start`` to twice the rows."""
        raise NotImplementedError

    def created(self) -> dict[str, int]:  # pragma: no cover - abstract
        raise NotImplementedError

    def audit_extra(self) -> dict[str, Any]:
        return {}


# -- patients -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _PatientRow:
    row: int
    external_id: str
    first_name: str
    last_name: str


class _Patients(_Importer):
    def __init__(self, run: _Run, cells: _Cells) -> None:
        super().__init__(run, cells)
        self.rows: list[_PatientRow] = []
        self.new: list[_PatientRow] = []

    def parse(self, table: CsvTable) -> None:
        readers = (
            lambda t: text_value(t, "external id", MAX_EXTERNAL_ID),
            lambda t: text_value(t, "first name", MAX_NAME),
            lambda t: text_value(t, "last name", MAX_NAME),
        )
        seen: dict[str, int] = {}
        for n, (row, values) in enumerate(table.rows, 1):
            if n % TICK == 0:
                self.run.parsed(n)
            (ext, first, last), bad = self.run.cells(row, values, readers)
            if "external_id" not in bad:
                if ext in seen:
                    self.problems.add(
                        row, "external_id", f"The external id {ext!r} is also on row {seen[ext]}."
                    )
                    continue
                seen[ext] = row
            if not bad:
                self.rows.append(_PatientRow(row, ext, first, last))

    def check(self, session: Session, *, final: bool) -> None:
        wanted = [r.external_id for r in self.rows]
        query = select(Patient.external_id, Patient.first_name, Patient.last_name)
        existing: dict[str, tuple[str, str]] = {}
        if _many(wanted):
            for ext, first, last in session.execute(query.where(Patient.external_id.is_not(None))):
                existing[str(ext)] = (first, last)
        else:
            for part in chunks(wanted, LOOKUP_CHUNK):
                for ext, first, last in session.execute(query.where(Patient.external_id.in_(part))):
                    existing[str(ext)] = (first, last)
        for r in self.rows:
            saved = existing.get(r.external_id)
            if saved is None:
                self.new.append(r)
            elif saved == (r.first_name, r.last_name):
                self.skipped += 1
            else:
                column = "first_name" if saved[0] != r.first_name else "last_name"
                self.problems.add(
                    r.row,
                    column,
                    f"The patient with external id {r.external_id!r} is already in the clinic as "
                    f"{saved[0]} {saved[1]}; an import never changes a name (correct the file, "
                    "or rename the patient in the app).",
                )

    def has_work(self) -> bool:
        return bool(self.new)

    def write(self, bulk: _Bulk, *, start: int) -> None:
        columns = (
            "first_name",
            "last_name",
            "external_id",
            "created_at",
            "credit_minor",
            "outstanding_minor",
            "import_batch_id",
        )
        stamp, batch = bulk.stamp, bulk.batch_id
        rows = [(r.first_name, r.last_name, r.external_id, stamp, 0, 0, batch) for r in self.new]
        bulk.insert(Patient, columns, rows, (start, len(rows)))

    def created(self) -> dict[str, int]:
        return {"patients": len(self.new)}


# -- invoices -----------------------------------------------------------------------------------


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


class _Invoices(_Importer):
    def __init__(self, run: _Run, cells: _Cells) -> None:
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
        ids = _patient_ids(session, (g.patient for g in self.groups if g.patient is not None))
        for g in self.groups:
            if g.patient is None:
                continue
            pid = ids.get(g.patient)
            if pid is None:
                self.problems.add(g.first_row, "patient_external_id", _unknown_patient(g.patient))
            else:
                g.patient_id = pid
        numbers = {g.number for g in self.groups}
        existing = {
            row[0]: row
            for row in _invoices_numbered(
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
                    InvoiceLine.quantity,
                    InvoiceLine.tax_rate_bp,
                )
                .where(InvoiceLine.invoice_id.in_(part))
                .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
            ):
                found.setdefault(iid, []).append((desc, unit, qty, bp))
        return found

    def has_work(self) -> bool:
        return bool(self.new)

    def write(self, bulk: _Bulk, *, start: int) -> None:
        session = bulk.session
        _lock_patients(session, (g.patient_id for g in self.new))
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
        ids = {int(number): int(iid) for number, iid in session.execute(new_ids)}
        lines = [
            (
                ids[g.number],
                position,
                line.description,
                line.unit_price,
                line.quantity,
                line.tax_rate_bp,
                line.tax,
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
                "quantity",
                "tax_rate_bp",
                "tax_minor",
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


# -- payments and opening balances ---------------------------------------------------------------


@dataclass(slots=True)
class _PaymentRow:
    row: int
    request_id: str
    patient: str
    day: date
    amount: int
    method: str
    invoice_number: int | None = None
    patient_id: int = 0
    type_id: int = 0
    invoice_id: int | None = None
    applied: int = 0


@dataclass(slots=True)
class _PayableInvoice:
    id: int
    patient_id: int
    status: str
    total: int
    paid: int
    credited: int
    touched: bool = False

    @property
    def balance(self) -> int:
        return self.total - self.paid - self.credited


class _Payments(_Importer):
    """Payments, each from one payment type; applied to its invoice up to the balance, the rest
    becomes account credit. Also the base of opening balances (``credit``)."""

    request_prefix = "import:"

    def __init__(self, run: _Run, cells: _Cells) -> None:
        super().__init__(run, cells)
        self.rows: list[_PaymentRow] = []
        self.new: list[_PaymentRow] = []
        self.invoices: dict[int, _PayableInvoice] = {}
        self.applications = 0

    def parse(self, table: CsvTable) -> None:
        c = self.cells
        readers = (
            lambda t: text_value(t, "payment reference", MAX_PAYMENT_REF),
            c.external_id,
            c.past_date,
            _remembered(self._positive),
            c.method,
            c.optional_invoice_number,
        )
        seen: dict[str, int] = {}
        for n, (row, values) in enumerate(table.rows, 1):
            if n % TICK == 0:
                self.run.parsed(n)
            (ref, patient, day, amount, method, number), bad = self.run.cells(row, values, readers)
            if "payment_ref" not in bad:
                if ref in seen:
                    self.problems.add(
                        row,
                        "payment_ref",
                        f"The payment reference {ref!r} is also on row {seen[ref]}.",
                    )
                    continue
                seen[ref] = row
            if not bad:
                request_id = self.request_prefix + ref
                self.rows.append(_PaymentRow(row, request_id, patient, day, amount, method, number))

    def _positive(self, text: str) -> int:
        minor = self.cells.amounts(text, "amount")
        if minor == 0:
            raise BillingError("A payment of zero: leave the row out.")
        return minor

    def check(self, session: Session, *, final: bool) -> None:
        ids = _patient_ids(session, (r.patient for r in self.rows))
        sound: list[_PaymentRow] = []
        for r in self.rows:
            pid = ids.get(r.patient)
            if pid is None:
                self.problems.add(r.row, "patient_external_id", _unknown_patient(r.patient))
                continue
            r.patient_id = pid
            sound.append(r)
        self._methods(session, sound)
        previous = self._previous(session, [r.request_id for r in sound])
        for r in sound:
            saved = previous.get(r.request_id)
            if saved is None:
                self.new.append(r)
            elif saved == (
                r.patient_id,
                "payment",
                r.amount,
                r.day,
                r.method.lower(),
                r.invoice_number if saved[5] is not None or r.invoice_number is None else None,
            ):
                self.skipped += 1
            else:
                self._conflict(r, saved)
        if final:
            _lock_patients(session, (r.patient_id for r in self.new))
        self._apply(session)

    def _methods(self, session: Session, rows: list[_PaymentRow]) -> None:
        active = session.execute(
            select(PaymentType.id, PaymentType.name)
            .where(PaymentType.active.is_(True))
            .order_by(PaymentType.position, PaymentType.id)
        ).all()
        types = {name.lower(): int(tid) for tid, name in active}
        names = ", ".join(name for _, name in active)
        for r in rows:
            tid = types.get(r.method.lower())
            if tid is None:
                self.problems.add(
                    r.row,
                    "method",
                    f"{r.method!r} is not a payment type of this clinic (in use: {names}); add it "
                    "in Settings > Finances first, or use one of these.",
                )
            else:
                r.type_id = tid

    @staticmethod
    def _previous(
        session: Session, request_ids: list[str]
    ) -> dict[str, tuple[int, str, int, date, str, int | None]]:
        """What was saved before under these request ids: patient, kind, amount, date, payment
        type (lower case) and the invoice it was applied to, if any."""
        query = (
            select(
                Payment.request_id,
                Payment.patient_id,
                Payment.kind,
                Payment.total_minor,
                Payment.payment_date,
                func.lower(PaymentType.name),
                Invoice.number,
            )
            .outerjoin(PaymentSource, PaymentSource.payment_id == Payment.id)
            .outerjoin(PaymentType, PaymentType.id == PaymentSource.payment_type_id)
            .outerjoin(Application, Application.payment_id == Payment.id)
            .outerjoin(Invoice, Invoice.id == Application.invoice_id)
        )
        if _many(request_ids):
            parts: Iterable[Any] = [query.where(Payment.import_batch_id.is_not(None))]
        else:
            parts = (query.where(Payment.request_id.in_(p)) for p in chunks(request_ids, 900))
        found: dict[str, tuple[int, str, int, date, str, int | None]] = {}
        for statement in parts:
            for rid, pid, kind, total, day, method, number in session.execute(statement):
                found[str(rid)] = (
                    int(pid),
                    str(kind),
                    int(total),
                    day,
                    str(method or ""),
                    None if number is None else int(number),
                )
        return found

    def _conflict(self, r: _PaymentRow, saved: tuple[int, str, int, date, str, int | None]) -> None:
        ref = r.request_id.removeprefix(self.request_prefix)
        self.problems.add(
            r.row,
            "payment_ref",
            f"The payment {ref!r} was already imported with other details "
            f"({self.money(saved[2])} on {saved[3].isoformat()}); an import never changes a "
            "saved payment.",
        )

    def _apply(self, session: Session) -> None:
        """Work out what each new payment applies to its invoice, in the file's order."""
        numbers = {r.invoice_number for r in self.new if r.invoice_number is not None}
        for number, *rest in _invoices_numbered(
            session,
            numbers,
            Invoice.id,
            Invoice.patient_id,
            Invoice.status,
            Invoice.total_minor,
            Invoice.paid_minor,
            Invoice.credited_minor,
        ):
            self.invoices[int(number)] = _PayableInvoice(*rest)
        for r in self.new:
            if r.invoice_number is None:
                continue
            invoice = self.invoices.get(r.invoice_number)
            if invoice is None:
                problem = f"There is no invoice {r.invoice_number} in the clinic."
            elif invoice.patient_id != r.patient_id:
                problem = f"Invoice {r.invoice_number} belongs to another patient."
            elif invoice.status == InvoiceStatus.VOID:
                problem = f"Invoice {r.invoice_number} is void."
            else:
                r.invoice_id = invoice.id
                r.applied = min(r.amount, invoice.balance)
                invoice.paid += r.applied
                invoice.touched = True
                continue
            self.problems.add(r.row, "invoice_number", problem)

    def has_work(self) -> bool:
        return bool(self.new)

    def write(self, bulk: _Bulk, *, start: int) -> None:
        session, span = bulk.session, len(self.new)
        stamp, batch = bulk.stamp, bulk.batch_id
        bulk.insert(
            Payment,
            (
                "patient_id",
                "kind",
                "payment_date",
                "total_minor",
                "request_id",
                "note",
                "created_at",
                "import_batch_id",
            ),
            [
                (
                    r.patient_id,
                    "payment",
                    bulk.day(r.day),
                    r.amount,
                    r.request_id,
                    self.note(r),
                    stamp,
                    batch,
                )
                for r in self.new
            ],
            (start, span // 2),
        )
        new_ids = select(Payment.request_id, Payment.id).where(
            Payment.import_batch_id == bulk.batch_id
        )
        ids = {str(rid): int(pid) for rid, pid in session.execute(new_ids)}
        bulk.insert(
            PaymentSource,
            ("payment_id", "payment_type_id", "amount_minor"),
            [(ids[r.request_id], r.type_id, r.amount) for r in self.new],
            (start + span // 2, span - span // 2),
        )
        apps = [
            (ids[r.request_id], r.invoice_id, r.applied, r.applied, 0, stamp)
            for r in self.new
            if r.applied
        ]
        bulk.insert(
            Application,
            (
                "payment_id",
                "invoice_id",
                "amount_minor",
                "from_money_minor",
                "from_credit_minor",
                "created_at",
            ),
            apps,
        )
        self.applications = len(apps)
        invoices = _table(Invoice)
        settle = (
            update(invoices)
            .where(invoices.c.id == bindparam("iid"))
            .values(paid_minor=bindparam("paid"), status=bindparam("new_status"))
        )
        settled = [
            {"iid": inv.id, "paid": inv.paid, "new_status": "paid" if inv.balance == 0 else "open"}
            for inv in self.invoices.values()
            if inv.touched
        ]
        for part in chunks(settled, WRITE_CHUNK):
            bulk.conn.execute(settle, list(part))
        changes: dict[int, tuple[int, int]] = {}
        for r in self.new:
            credit, owed = changes.get(r.patient_id, (0, 0))
            changes[r.patient_id] = (credit + r.amount - r.applied, owed - r.applied)
        bulk.add_to_patients(changes)

    def note(self, r: _PaymentRow) -> str | None:
        """The note kept on the payment (none for an imported payment)."""
        return None

    def created(self) -> dict[str, int]:
        return {"payments": len(self.new), "applied to invoices": self.applications}

    def audit_extra(self) -> dict[str, Any]:
        return {"total": sum(r.amount for r in self.new)}


class _OpeningBalances(_Payments):
    """Opening account credit: a payment of the inactive "Opening balance" type, all to credit,
    one per patient (request id ``opening-balance:<external id>``)."""

    request_prefix = "opening-balance:"

    def __init__(self, run: _Run, cells: _Cells) -> None:
        super().__init__(run, cells)
        self.new_type = False
        self.type_id: int | None = None

    def parse(self, table: CsvTable) -> None:
        c = self.cells
        readers = (c.external_id, _remembered(self._balance), c.past_date)
        seen: dict[str, int] = {}
        for n, (row, values) in enumerate(table.rows, 1):
            if n % TICK == 0:
                self.run.parsed(n)
            (patient, amount, day), bad = self.run.cells(row, values, readers)
            if "patient_external_id" not in bad:
                if patient in seen:
                    self.problems.add(
                        row,
                        "patient_external_id",
                        f"The patient {patient!r} already has an opening balance on row "
                        f"{seen[patient]}.",
                    )
                    continue
                seen[patient] = row
            if bad:
                continue
            if amount == 0:
                self.ignored += 1
                continue
            request_id = self.request_prefix + patient
            self.rows.append(
                _PaymentRow(row, request_id, patient, day, amount, OPENING_BALANCE_TYPE)
            )

    def check(self, session: Session, *, final: bool) -> None:
        self._after_reversals(session)
        super().check(session, final=final)

    def _after_reversals(self, session: Session) -> None:
        """A reversed opening balance can be replaced: the replacement takes the next request id
        (``opening-balance:<external id>#2``, ...), the live one keeps its own."""
        families: dict[str, list[tuple[str, bool]]] = {}
        for rid, reversed_at in session.execute(
            select(Payment.request_id, Payment.reversed_at).where(
                Payment.request_id.startswith(self.request_prefix, autoescape=True)
            )
        ):
            base, _, number = str(rid).rpartition("#")
            if not (base and number.isdigit()):
                base = str(rid)
            families.setdefault(base, []).append((str(rid), reversed_at is None))
        for r in self.rows:
            base = self.request_prefix + r.patient
            family = families.get(base, [])
            live = [rid for rid, is_live in family if is_live]
            r.request_id = live[0] if live else (f"{base}#{len(family) + 1}" if family else base)

    def _balance(self, text: str) -> int:
        if text.startswith("-"):
            raise BillingError(
                f"{text} is negative: an opening balance is account credit the patient holds; "
                "what a patient owes is imported as an invoice."
            )
        return self.cells.amounts(text, "amount")

    def _methods(self, session: Session, rows: list[_PaymentRow]) -> None:
        tid = session.scalar(
            select(PaymentType.id).where(
                func.lower(PaymentType.name) == OPENING_BALANCE_TYPE.lower()
            )
        )
        self.type_id = None if tid is None else int(tid)
        for r in rows:
            r.type_id = self.type_id or 0

    def _conflict(self, r: _PaymentRow, saved: tuple[int, str, int, date, str, int | None]) -> None:
        self.problems.add(
            r.row,
            "amount",
            f"The patient {r.patient!r} already has an opening balance of {self.money(saved[2])} "
            f"as of {saved[3].isoformat()}; reverse that payment first to import another.",
        )

    def write(self, bulk: _Bulk, *, start: int) -> None:
        if self.type_id is None:
            # Inactive: front-desk payments cannot choose it; the import alone records with it.
            types = _table(PaymentType)
            position = bulk.session.scalar(select(func.max(PaymentType.position))) or 0
            self.type_id = int(
                bulk.conn.execute(
                    insert(types).returning(types.c.id),
                    {"name": OPENING_BALANCE_TYPE, "active": False, "position": position + 1},
                ).scalar_one()
            )
            self.new_type = True
            for r in self.new:
                r.type_id = self.type_id
        super().write(bulk, start=start)

    def note(self, r: _PaymentRow) -> str | None:
        return f"Opening balance as of {r.day.isoformat()}"

    def created(self) -> dict[str, int]:
        return {"opening balances": len(self.new)}

    def audit_extra(self) -> dict[str, Any]:
        extra = super().audit_extra()
        if self.new_type:
            extra["payment_type_added"] = f"{OPENING_BALANCE_TYPE} (not offered for new payments)"
        return extra


_IMPORTERS: dict[str, Callable[[_Run, _Cells], _Importer]] = {
    "patients": _Patients,
    "invoices": _Invoices,
    "payments": _Payments,
    "credit": _OpeningBalances,
}
