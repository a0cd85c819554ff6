"""The patient list: ids in display order plus a bounded cache of rows fetched in windows.

Searching and sorting are done by the database (``Clinic.patient_ids``); the model only ever holds
the ids and the rows near what is on screen, so it stays quick with many thousands of patients.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from desktop_app.ui.formatting import Formatter
from desktop_app.ui.models.records import LEFT, RIGHT, Index, header_data

if TYPE_CHECKING:
    from desktop_app.core import Clinic, PatientRecord


WINDOW = 200
CACHE_LIMIT = 2000
SORT_KEYS = ("name", "credit", "outstanding", "note")
HEADERS = ("Patient", "Account credit", "Outstanding", "Note")
NAME, CREDIT, OUTSTANDING, NOTE = range(4)
#: The note on a patient who holds account credit while they have open invoices.
CREDIT_TO_APPLY = "Credit to apply"


class PatientSource(Protocol):
    """Where the list reads its patients: the open clinic, or :class:`FirstPatients` at start."""

    def patient_ids(
        self, search: str = "", *, sort: str = "name", descending: bool = False
    ) -> list[int]: ...

    def patients_by_ids(self, patient_ids: Sequence[int]) -> list[PatientRecord]: ...


class FirstPatients:
    """The patients read at start-up, before the clinic is open, in the list's default order
    (by name, no search). The window allows neither search nor sorting until the clinic opens."""

    def __init__(self, records: Sequence[PatientRecord]) -> None:
        self._records = {record.id: record for record in records}
        self._ids = [record.id for record in records]

    def patient_ids(
        self, search: str = "", *, sort: str = "name", descending: bool = False
    ) -> list[int]:
        """Every id read at start, in order; only the default search and order are known."""
        if search or sort != "name" or descending:
            raise RuntimeError("The clinic's database is not open yet.")
        return list(self._ids)

    def patients_by_ids(self, patient_ids: Sequence[int]) -> list[PatientRecord]:
        """The records read at start for these ids, in the same order."""
        return [self._records[pid] for pid in patient_ids if pid in self._records]


class PatientTableModel(QAbstractTableModel):
    """Patients matching the current search, sorted by name, credit or outstanding balance."""

    def __init__(
        self, clinic: Clinic | PatientSource, formatter: Formatter, parent: Any = None
    ) -> None:
        super().__init__(parent)
        self._clinic: Clinic | PatientSource = clinic
        self._formatter = formatter
        self._search = ""
        self._sort = "name"
        self._descending = False
        self._ids: list[int] = []
        self._rows: OrderedDict[int, PatientRecord] = OrderedDict()
        self._loaded = False
        self.reload()

    # -- what the window asks for -----------------------------------------------------------

    def set_search(self, text: str) -> None:
        """Show only patients whose names match every word of ``text``."""
        if text != self._search:
            self._search = text
            self.reload()

    def set_formatter(self, formatter: Formatter) -> None:
        """Show amounts with another formatter (after the currency changed)."""
        self._formatter = formatter
        self.reload()

    def reload(self) -> None:
        """Fetch the ids again (after a save) and forget cached rows."""
        self.beginResetModel()
        self._ids = self._clinic.patient_ids(
            self._search, sort=self._sort, descending=self._descending
        )
        self._rows.clear()
        self._loaded = True
        self.endResetModel()

    def patient_id(self, row: int) -> int:
        """The id of the patient on ``row``."""
        return self._ids[row]

    def row_of(self, patient_id: int) -> int:
        """The row showing ``patient_id``, or -1 if the search hides it."""
        try:
            return self._ids.index(patient_id)
        except ValueError:
            return -1

    def patient(self, row: int) -> PatientRecord:
        """The patient on ``row`` (fetched with its neighbours if not cached)."""
        pid = self._ids[row]
        cached = self._rows.get(pid)
        if cached is not None:
            self._rows.move_to_end(pid)
            return cached
        start = max(0, row - WINDOW // 2)
        for record in self._clinic.patients_by_ids(self._ids[start : start + WINDOW]):
            self._rows[record.id] = record
        while len(self._rows) > CACHE_LIMIT:
            self._rows.popitem(last=False)
        return self._rows[pid]

    # -- Qt ---------------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(HEADERS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._ids):
            return None
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            record = self.patient(index.row())
            if column == NAME:
                return f"{record.last_name}, {record.first_name}"
            if column == NOTE:
                return CREDIT_TO_APPLY if _credit_beside_open(record) else ""
            amount = record.credit if column == CREDIT else record.outstanding
            return self._formatter.money(amount)
        if role == Qt.ItemDataRole.ToolTipRole:  # the whole text where a narrow column cuts it
            record = self.patient(index.row())
            if column == NAME:
                return f"{record.last_name}, {record.first_name}"
            if column == NOTE and _credit_beside_open(record):
                money = self._formatter.money
                return (
                    f"Holds {money(record.credit)} of account credit while owing "
                    f"{money(record.outstanding)}: Patient > Apply credit to open invoices."
                )
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(LEFT if column in (NAME, NOTE) else RIGHT)
        return None

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return header_data(HEADERS, (1, 2), section, orientation, role)

    def name_width_sample(self, rows: int = WINDOW) -> list[str]:
        """The names on the first ``rows`` rows (to size the name column without reading all)."""
        return [self.data(self.index(row, NAME)) for row in range(min(rows, len(self._ids)))]

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort in the database by the column's key."""
        if not 0 <= column < len(SORT_KEYS):
            return
        key, descending = SORT_KEYS[column], order == Qt.SortOrder.DescendingOrder
        if self._loaded and (key, descending) == (self._sort, self._descending):
            return  # the view re-applies its sort when set up: nothing changed
        self._sort, self._descending = key, descending
        self.reload()


def _credit_beside_open(record: PatientRecord) -> bool:
    """Whether the patient holds account credit while they have open invoices."""
    return record.credit > 0 and record.outstanding > 0
