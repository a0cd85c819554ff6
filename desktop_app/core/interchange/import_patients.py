"""Importing patients: :class:`PatientImporter`, one patient per row, keyed by the external id
of the previous system (a patient already imported with the same names is skipped; with other
names, a problem: an import never renames a patient).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Patient
from ..domain.limits import MAX_NAME
from ..domain.text import patient_search_key
from .import_base import LOOKUP_CHUNK, Importer, many
from .import_bulk import BulkWriter
from .import_csv import Table as CsvTable
from .import_csv import chunks, text_value
from .import_rows import MAX_EXTERNAL_ID, TICK, Cells, ImportRun


@dataclass(slots=True)
class _PatientRow:
    row: int
    external_id: str
    first_name: str
    last_name: str


class PatientImporter(Importer):
    """Patients, one a row, by their external id."""

    def __init__(self, run: ImportRun, cells: Cells) -> None:
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
        if many(wanted):
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

    def write(self, bulk: BulkWriter, *, start: int) -> None:
        columns = (
            "first_name",
            "last_name",
            "external_id",
            "created_at",
            "credit_minor",
            "outstanding_minor",
            "import_batch_id",
            "search_key",
        )
        stamp, batch = bulk.stamp, bulk.batch_id
        rows = [
            (
                r.first_name,
                r.last_name,
                r.external_id,
                stamp,
                0,
                0,
                batch,
                patient_search_key(r.first_name, r.last_name),
            )
            for r in self.new
        ]
        bulk.insert(Patient, columns, rows, (start, len(rows)))

    def created(self) -> dict[str, int]:
        return {"patients": len(self.new)}
