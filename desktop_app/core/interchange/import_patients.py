"""Importing patients: :class:`PatientImporter`, one patient per row with their details, keyed by
the external id of the previous system (a patient already imported with the same names is
skipped; with other names, a problem: an import never renames a patient), and, from an
``opening_credit`` column, each patient's opening account credit, recorded in the same
transaction as an opening balance (:class:`~.import_payments.OpeningBalanceImporter`).

The details are checked by the ledger's own rules (:func:`~..domain.patient_details.clean_detail`),
so a value the patient window refuses is refused here too, by row and column.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Patient
from ..domain.errors import BillingError, Refusal
from ..domain.limits import MAX_NAME
from ..domain.patient_details import DETAILS, clean_detail, patient_search_key
from .import_base import LOOKUP_CHUNK, Importer, many
from .import_bulk import BulkWriter
from .import_csv import Table as CsvTable
from .import_csv import chunks, text_value
from .import_payments import OPENING_BALANCE_TYPE, OpeningBalanceImporter, PaymentRow
from .import_rows import MAX_EXTERNAL_ID, TICK, Cells, ImportRun, remembered
from .spreadsheet_text import FORMULA_START

#: A date of birth written day first, as many systems export it: ``7/3/1984``, ``07/03/1984``.
_DAY_FIRST = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
#: The columns of a patients file that are not details.
_NAMES = ("external_id", "first_name", "last_name")
#: Details many patients share.
_REPEATED = frozenset({"title", "city", "region", "country", "concession"})

#: A date of birth written as ISO (the only ISO form a patients file may use).
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _undefused(text: str) -> str:
    """A cell as typed before a CSV export defused it (``'+61 412 345 678``, see
    :func:`~.spreadsheet_text.safe_text`), so an exported file imports as it was."""
    return text[1:] if text[:1] == "'" and text[1:2] in FORMULA_START else text


def birth_date(text: str, today: date) -> date | None:
    """A date of birth written ``YYYY-MM-DD`` or day first ``D/M/YYYY`` (empty: None), checked
    by the ledger's rules (1900 to today); a refusal does not repeat the date (the problem list
    may be shown or printed away from the patient's record)."""
    if not text:
        return None
    found = _DAY_FIRST.fullmatch(text)
    if found is not None:
        day, month, year = (int(g) for g in found.groups())
        try:
            value: object = date(year, month, day)
        except ValueError:
            raise BillingError(
                "The date of birth is not a date of the calendar (day first: D/M/YYYY).",
                code=Refusal.BAD_DATE,
                field="date_of_birth",
            ) from None
    else:
        try:
            # Exactly YYYY-MM-DD: fromisoformat also reads week dates ("1981-W01-1").
            value = date.fromisoformat(text) if _ISO_DAY.fullmatch(text) else text
        except ValueError:
            value = text
        if isinstance(value, str):
            raise BillingError(
                "The date of birth is not a date: write it as YYYY-MM-DD or D/M/YYYY (day first).",
                code=Refusal.BAD_DATE,
                field="date_of_birth",
            )
    return clean_detail("date_of_birth", value, today)  # type: ignore[no-any-return]


@dataclass(slots=True)
class _PatientRow:
    row: int
    external_id: str
    first_name: str
    last_name: str
    details: dict[str, Any] = field(default_factory=dict)
    credit: int | None = None
    as_of: date | None = None


class _OpeningCredit(OpeningBalanceImporter):
    """The opening credit of a patients file: its problems name the file's credit column, and a
    balance without its own date (``credit_as_of``) is the one already imported if the amount
    is the same, whatever day that was."""

    def __init__(self, run: ImportRun, cells: Cells) -> None:
        super().__init__(run, cells)
        #: The file's rows whose opening credit has no date of its own (dated the import's day).
        self.undated: set[int] = set()

    def _conflict(self, r: PaymentRow, saved: tuple[int, str, int, date, str, int | None]) -> None:
        if r.row in self.undated and (saved[0], saved[1], saved[2]) == (
            r.patient_id,
            "payment",
            r.amount,
        ):
            self.skipped += 1
            return
        self.problems.add(
            r.row,
            "opening_credit",
            f"The patient {r.patient!r} already has an opening balance of {self.money(saved[2])} "
            f"as of {saved[3].isoformat()}; reverse that payment first to import another.",
        )


class PatientImporter(Importer):
    """Patients, one a row, by their external id, with their details and opening credit."""

    def __init__(self, run: ImportRun, cells: Cells) -> None:
        super().__init__(run, cells)
        self.rows: list[_PatientRow] = []
        self.new: list[_PatientRow] = []
        self.details: list[str] = []
        self.credit = _OpeningCredit(run, cells)
        self.has_credit = False

    def _readers(self, names: list[str]) -> list[Callable[[str], Any]]:
        today = self.cells.today
        readers: dict[str, Callable[[str], Any]] = {
            "external_id": lambda t: text_value(t, "external id", MAX_EXTERNAL_ID),
            "first_name": lambda t: text_value(t, "first name", MAX_NAME),
            "last_name": lambda t: text_value(t, "last name", MAX_NAME),
            "date_of_birth": remembered(lambda t: birth_date(t, today)),
            "address_line_2": lambda t: clean_detail("address", t, today),
            "opening_credit": remembered(lambda t: self.credit.balance(t) if t else None),
            "credit_as_of": remembered(lambda t: self.cells.past_date(t) if t else None),
        }

        def detail(name: str) -> Callable[[str], Any]:
            def read(text: str) -> Any:
                return clean_detail(name, _undefused(text), today)

            # Cities, regions, titles repeat: each text is checked once.
            return remembered(read) if name in _REPEATED else read

        return [readers.get(name) or detail(name) for name in names]

    def parse(self, table: CsvTable) -> None:
        # Only the columns the file has are read (a file of names alone stays as fast as ever).
        names = [n for n in table.columns if n in _NAMES or n in table.shown]
        pick = itemgetter(*(table.columns.index(n) for n in names))
        readers = self._readers(names)
        self.details = [n for n in DETAILS if n in names]
        line_2 = "address_line_2" in names
        self.has_credit = "opening_credit" in names
        today = self.cells.today
        seen: dict[str, int] = {}
        for n, (row, values) in enumerate(table.rows, 1):
            if n % TICK == 0:
                self.run.parsed(n)
            out, bad = self.run.cells(row, pick(values), readers, names)
            cells = dict(zip(names, out, strict=True))
            ext = cells["external_id"]
            if "external_id" not in bad:
                if ext in seen:
                    self.problems.add(
                        row, "external_id", f"The external id {ext!r} is also on row {seen[ext]}."
                    )
                    continue
                seen[ext] = row
            if bad:
                continue
            details = {k: cells[k] for k in self.details if cells[k] is not None}
            if line_2 and cells["address_line_2"]:
                lines = "\n".join(filter(None, (details.get("address"), cells["address_line_2"])))
                try:
                    details["address"] = clean_detail("address", lines, today)
                except BillingError as exc:
                    self.problems.add(row, "address_line_2", str(exc))
                    continue
            self.rows.append(
                _PatientRow(
                    row,
                    ext,
                    cells["first_name"],
                    cells["last_name"],
                    details,
                    cells.get("opening_credit") or None,  # zero: nothing to record
                    cells.get("credit_as_of") or today,
                )
            )
            if not cells.get("credit_as_of"):
                self.credit.undated.add(row)

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
        credit_of_existing: list[PaymentRow] = []
        for r in self.rows:
            saved = existing.get(r.external_id)
            if saved is None:
                self.new.append(r)
                continue
            if saved == (r.first_name, r.last_name):
                self.skipped += 1
                if r.credit is not None and r.as_of is not None:
                    credit_of_existing.append(self._credit_row(r))
                continue
            column = "first_name" if saved[0] != r.first_name else "last_name"
            self.problems.add(
                r.row,
                column,
                f"The patient with external id {r.external_id!r} is already in the clinic with "
                f"another {column.replace('_', ' ')}; an import never changes a name (correct "
                "the file, or change the name in the app: Patient > Edit patient details…).",
            )
        if self.has_credit and any(r.credit for r in self.rows):
            # Patients already in the clinic: their opening credit is checked as a credit file's
            # would be (the same balance again is skipped, another one refused).
            self.credit.rows = credit_of_existing
            self.credit.check(session, final=final)

    @staticmethod
    def _credit_row(r: _PatientRow) -> PaymentRow:
        assert r.credit is not None and r.as_of is not None
        return PaymentRow(
            r.row,
            OpeningBalanceImporter.request_prefix + r.external_id,
            r.external_id,
            r.as_of,
            r.credit,
            OPENING_BALANCE_TYPE,
        )

    def has_work(self) -> bool:
        return bool(self.new or self.credit.new)

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
            *self.details,
        )
        stamp, batch = bulk.stamp, bulk.batch_id
        details = self.details
        born = "date_of_birth" in details
        rows = []
        for r in self.new:
            d = r.details
            birth = d.get("date_of_birth")
            key = patient_search_key(
                r.first_name,
                r.last_name,
                preferred_name=d.get("preferred_name"),
                email=d.get("email"),
                mobile=d.get("mobile"),
                phone=d.get("phone"),
                date_of_birth=birth,
            )
            values = [d.get(name) for name in details]
            if born:
                values[details.index("date_of_birth")] = bulk.day(birth)
            rows.append(
                (r.first_name, r.last_name, r.external_id, stamp, 0, 0, batch, key, *values)
            )
        bulk.insert(Patient, columns, rows, (start, len(rows)))
        with_credit = [r for r in self.new if r.credit]
        if with_credit:
            ids = {
                str(ext): int(pid)
                for ext, pid in bulk.session.execute(
                    select(Patient.external_id, Patient.id).where(Patient.import_batch_id == batch)
                )
            }
            for r in with_credit:
                payment = self._credit_row(r)
                payment.patient_id = ids[r.external_id]
                payment.type_id = self.credit.type_id or 0
                self.credit.new.append(payment)
        if self.credit.new:
            self.credit.write(bulk, start=start + len(rows))

    def created(self) -> dict[str, int]:
        made = {"patients": len(self.new)}
        if self.has_credit:
            made["opening balances"] = len(self.credit.new)
        return made

    def audit_extra(self) -> dict[str, Any]:
        return self.credit.audit_extra() if self.credit.new else {}
