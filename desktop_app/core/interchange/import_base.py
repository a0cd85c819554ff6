"""What every kind of import builds on: :class:`Importer`, the base class of the per-kind
importers (parse the rows, check them against the ledger, write what is new), and the lookups of
what the clinic already has that they share (patients by external id, invoices by number, read
by lists of keys or, for many keys, as a whole set).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sized
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Invoice, Patient
from ..ledger.merge import follow_merges
from .import_bulk import BulkWriter
from .import_csv import Table as CsvTable
from .import_csv import chunks
from .import_rows import Cells, ImportRun

#: Bound parameters per ``IN (...)`` lookup; above ``MANY`` keys, read the whole set instead.
LOOKUP_CHUNK = 900
MANY = 2000


def many(keys: Sized) -> bool:
    """Whether to read a whole set of rows at once rather than by lists of keys."""
    return len(keys) > MANY


def patient_ids(session: Session, external_ids: Iterable[str]) -> dict[str, int]:
    """``{external id: patient id}`` for the patients with these external ids that can take
    money: a patient merged into another stands for the patient kept (their records are there),
    and an archived patient is left out (:func:`unknown_patient` names both cases)."""
    wanted = sorted(set(external_ids))
    query = select(Patient.external_id, Patient.id, Patient.archived_at, Patient.merged_into)
    rows: list[Any] = []
    if many(wanted):
        rows.extend(session.execute(query.where(Patient.external_id.is_not(None))))
    else:
        for part in chunks(wanted, LOOKUP_CHUNK):
            rows.extend(session.execute(query.where(Patient.external_id.in_(part))))
    found: dict[str, int] = {}
    for ext, pid, archived_at, merged_into in rows:
        if merged_into is not None:
            kept = follow_merges(session, int(merged_into))
            if session.scalar(select(Patient.archived_at).where(Patient.id == kept)) is None:
                found[str(ext)] = kept  # (a kept patient archived since takes no money either)
        elif archived_at is None:
            found[str(ext)] = int(pid)
    return found


def invoices_numbered(session: Session, numbers: Collection[int], *columns: Any) -> list[Any]:
    """``columns`` of the clinic's invoices with these numbers."""
    query = select(Invoice.number, *columns)
    if many(numbers):
        rows = session.execute(query.where(Invoice.number.between(min(numbers), max(numbers))))
        return [row for row in rows if row[0] in numbers]
    found: list[Any] = []
    for part in chunks(sorted(numbers), LOOKUP_CHUNK):
        found.extend(session.execute(query.where(Invoice.number.in_(part))))
    return found


def unknown_patient(ext: str) -> str:
    """The problem of a row naming a patient the clinic does not have."""
    return (
        f"There is no active patient with external id {ext!r}: import the patients file first "
        "(or restore the patient, if archived)."
    )


class Importer:
    """The checks and writes of one kind of file."""

    def __init__(self, run: ImportRun, cells: Cells) -> None:
        self.run = run
        self.cells = cells
        self.problems = run.problems
        self.skipped = 0
        self.ignored = 0

    def money(self, minor: int) -> str:
        """An amount in the clinic's currency, for a problem's message."""
        return self.cells.money(minor)

    def parse(self, table: CsvTable) -> None:  # pragma: no cover - abstract
        """Read every row's cells (no database)."""
        raise NotImplementedError

    def check(self, session: Session, *, final: bool) -> None:  # pragma: no cover - abstract
        """Check the parsed rows against the ledger; ``final``: in the write transaction, about
        to write (lock what will change)."""
        raise NotImplementedError

    def has_work(self) -> bool:  # pragma: no cover - abstract
        """Whether anything is new (else nothing is written, and no batch is recorded)."""
        raise NotImplementedError

    def write(self, bulk: BulkWriter, *, start: int) -> None:  # pragma: no cover - abstract
        """Write what is new; the progress steps go from ``start`` to twice the rows."""
        raise NotImplementedError

    def created(self) -> dict[str, int]:  # pragma: no cover - abstract
        """What was added, by what it is (``{"invoices": 3, "lines": 7}``)."""
        raise NotImplementedError

    def audit_extra(self) -> dict[str, Any]:
        """More for the import's audit entry (a total, a payment type added)."""
        return {}
