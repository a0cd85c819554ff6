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

This module runs an import (:func:`import_file`, the formats' :data:`COLUMNS`, the templates, the
result). The file is read by :mod:`.import_csv` and its cells by :mod:`.import_rows`; each kind's
checks and writes are :mod:`.import_patients`, :mod:`.import_invoices` and
:mod:`.import_payments` (on :mod:`.import_base`), written in bulk by :mod:`.import_bulk`.
"""

from __future__ import annotations

import gc
import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..access.staff import Permission
from ..db.models import ImportBatch
from ..domain.errors import BillingError, Refusal
from ..domain.invoicing import MAX_QUANTITY
from ..domain.kinds import AuditAction, AuditEntity
from ..domain.patient_details import DETAILS, LABELS, LIMITS
from ..ledger import audit
from .door import LedgerDoor
from .import_base import Importer
from .import_bulk import BulkWriter, table_of
from .import_csv import (
    AmountReader,
    Column,
    ImportProblem,
    ImportRefused,
    decode,
    read_file,
    read_table,
)
from .import_invoices import InvoiceImporter
from .import_mapping import IGNORE, check_mapping, match_header
from .import_patients import PatientImporter
from .import_payments import OPENING_BALANCE_TYPE, OpeningBalanceImporter, PaymentImporter
from .import_rows import Cancel, Cells, ImportCancelled, ImportRun, Progress

__all__ = [
    "COLUMNS",
    "IGNORE",
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

COLUMNS: dict[str, tuple[Column, ...]] = {
    "patients": (
        Column("external_id", True, "the patient's id in the previous system (unique)"),
        Column("first_name", True, "first name, up to 200 characters"),
        Column("last_name", True, "last name, up to 200 characters"),
        *(
            Column(
                name,
                False,
                "YYYY-MM-DD or D/M/YYYY (day first), 1900 to today"
                if name == "date_of_birth"
                else f"{LABELS[name]}, up to {LIMITS[name]:,} characters"
                + (" (a two-letter code such as AU)" if name == "country" else ""),
            )
            for name in DETAILS
        ),
        Column("address_line_2", False, "a second address line, added under the address"),
        Column("opening_credit", False, "account credit the patient holds (an opening balance)"),
        Column("credit_as_of", False, "YYYY-MM-DD, the opening credit's date (empty: today)"),
    ),
    "invoices": (
        Column("invoice_number", True, "a whole number; rows with the same number are one invoice"),
        Column("patient_external_id", True, "the external_id of an imported patient"),
        Column("issue_date", True, "YYYY-MM-DD, from 20 years ago to a year ahead"),
        Column("due_date", False, "YYYY-MM-DD, from the issue date to 5 years after it"),
        Column(
            "description", True, "the line's description, up to 500 characters (empty: the item's)"
        ),
        Column(
            "unit_price",
            True,
            "an amount such as 90.00, on the invoice's basis (empty: the item's price)",
        ),
        Column("quantity", True, f"a number above 0 up to {MAX_QUANTITY:,}, such as 1 or 0.5"),
        Column("tax_rate", False, "a percentage such as 10 (empty: the item's, or no tax)"),
        Column("item_code", False, "a billable item's code: it fills the cells left empty"),
        Column("discount", False, "an amount such as 5.00, or a percentage such as 10%"),
        Column("tax_inclusive", False, "yes when the prices include the tax (empty: no)"),
        Column("practitioner", False, "the practitioner's username or full name"),
        Column("service_date", False, "YYYY-MM-DD, when the service was provided"),
        Column("status", False, "issued (empty) or draft"),
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
        ignored_columns: the file's columns that were left out (unknown, or mapped to ignore).
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
    ignored_columns: tuple[str, ...] = ()

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
        if self.ignored_columns:
            text += f" Ignored columns: {', '.join(self.ignored_columns)}."
        return text


_SINGULAR = {
    "patients": "patient",
    "invoices": "invoice",
    "lines": "line",
    "drafts": "draft",
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
    clinic: LedgerDoor,
    kind: str,
    path: Path | str,
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    mapping: Mapping[str, str] | None = None,
) -> ImportResult:
    """Import one CSV file of ``kind`` into ``clinic``: all of it, or nothing.

    Args:
        clinic: the open clinic.
        kind: ``"patients"``, ``"invoices"``, ``"payments"`` or ``"credit"`` (opening balances).
        path: the CSV file.
        progress: called as ``progress(done, total)`` about every 1,000 rows: each row counts
            once when it is checked and once when it is written (``total`` is twice the rows).
        cancel: polled as often; returning True stops the import and saves nothing.
        mapping: the file's columns that are not named as their fields (nor by a name other
            systems use, :mod:`.import_mapping`): ``{"Client No": "external_id", "Fax":
            "ignore"}``; a saved one is ``clinic.import_mappings(kind)[name]``.

    Returns:
        What was created and skipped, or ``already_imported`` for a file imported before.

    Raises:
        ImportRefused: anything wrong with the file or a row (the problems, by row and column).
        ImportCancelled: ``cancel()`` returned True.
        BillingError: the file cannot be read, the mapping names a field the kind does not have
            or two columns for one field, or the database refused the save.
        PermissionDenied: the signed-in staff member may not import.
    """
    clinic.require(Permission.IMPORTS)
    kind = _check_kind(kind)
    path = Path(path)
    mapping = dict(mapping or {})
    check_mapping(kind, COLUMNS[kind], mapping)  # a wrong mapping is refused before any reading
    data = read_file(path)  # at most import_csv.MAX_FILE_BYTES
    digest = hashlib.sha256(data).hexdigest()
    run = _Run(clinic, kind, path.name, digest, progress, cancel, mapping)
    with clinic.reading() as session:
        first = _batch_for(session, kind, digest)
    if first is not None:
        return run.already(first)
    text = decode(data, path.name)
    del data  # the text alone from here on
    try:
        with _collector_paused():
            return run.go(text)
    except IntegrityError as exc:
        # Another computer imported the same file (or the same records) at the same moment.
        with clinic.reading() as session:
            first = _batch_for(session, kind, digest)
        if first is not None:
            return run.already(first)
        raise BillingError(
            "Another computer saved some of the same records while this file was being "
            f"imported; nothing was saved. Import {path.name} again. ({exc.orig})",
            code=Refusal.CONCURRENT_CHANGE,
        ) from exc


# -- the run ------------------------------------------------------------------------------------


class _CollectorPause:
    """Python's cycle collector paused while a file is read and written: an import builds
    hundreds of thousands of rows, lines and invoices that hold no reference cycles, and the
    collector's passes over them were a third of a 100,000-invoice parse. Reference counting
    still frees everything; the collector runs again when the last import running ends (one
    lock and a count, for imports on several threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._resume = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._resume:
                    gc.enable()


_collector_paused = _CollectorPause()


def _check_kind(kind: object) -> str:
    if kind not in KINDS:
        raise BillingError(
            f"Unknown import kind {kind!r}; choose one of {', '.join(KINDS)}.",
            code=Refusal.BAD_CHOICE,
            field="kind",
        )
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


class _Run(ImportRun):
    """One import: reads and checks the rows, then writes them in one transaction."""

    def __init__(
        self,
        clinic: LedgerDoor,
        kind: str,
        file_name: str,
        digest: str,
        progress: Progress | None,
        cancel: Cancel | None,
        mapping: dict[str, str],
    ) -> None:
        super().__init__(file_name, [c.name for c in COLUMNS[kind]], progress, cancel)
        self.mapping = mapping
        self.ignored_columns: tuple[str, ...] = ()
        self.clinic = clinic
        self.kind = kind
        self.digest = digest
        self.today = date.today()

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
        columns = COLUMNS[self.kind]
        table = read_table(
            text,
            columns,
            self.file_name,
            self.problems,
            lambda row: self.tick(row // 2),
            lambda header: match_header(self.kind, columns, header, self.mapping, self.file_name),
        )
        self.shown = table.shown
        self.ignored_columns = table.ignored
        rows = self.rows = len(table.rows)
        self.total = 2 * rows
        clinic = self.clinic
        currency = clinic.currency
        importer = _IMPORTERS[self.kind](self, Cells(AmountReader(currency), self.today))
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
                    "The clinic's currency changed during the import; nothing was saved.",
                    code=Refusal.CONCURRENT_CHANGE,
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
                    ignored_columns=self.ignored_columns,
                )
            stamp = audit.moment(session)
            batches = table_of(ImportBatch)
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
                        "actor": tx.actor,
                    },
                )
                .scalar_one()
            )
            bulk = BulkWriter(session, self, batch_id, stamp)
            importer.write(bulk, start=rows + importer.skipped + importer.ignored)
            created = importer.created()
            tx.audit(
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
                    **(
                        {"ignored_columns": list(self.ignored_columns)}
                        if self.ignored_columns
                        else {}
                    ),
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
            ignored_columns=self.ignored_columns,
        )


_IMPORTERS: dict[str, Callable[[_Run, Cells], Importer]] = {
    "patients": PatientImporter,
    "invoices": InvoiceImporter,
    "payments": PaymentImporter,
    "credit": OpeningBalanceImporter,
}
