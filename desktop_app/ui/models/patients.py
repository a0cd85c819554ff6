"""The patient list: ids in display order plus a bounded cache of rows fetched in windows.

Searching and sorting are done by the database (``Clinic.patient_ids``); the model only ever holds
the ids and the rows near what is on screen, so it stays quick with many thousands of patients.
Archived patients are left out unless asked for; they show greyed and in italics, their name
followed by "(archived)" or "(merged into …)".
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QApplication, QStyle, QTableView

from desktop_app.ui.formatting import Formatter
from desktop_app.ui.models.records import LEFT, RIGHT, Index, header_data

if TYPE_CHECKING:
    from desktop_app.core import Clinic, PatientRecord


WINDOW = 200
CACHE_LIMIT = 2000
#: What the database sorts each column by (None: the column cannot be sorted).
SORT_KEYS = ("name", None, None, "credit", "outstanding", "note")
HEADERS = ("Patient", "Date of birth", "Mobile", "Account credit", "Outstanding", "Note")
NAME, BIRTH, MOBILE, CREDIT, OUTSTANDING, NOTE = range(6)
#: The amount columns (right-aligned).
AMOUNTS = (CREDIT, OUTSTANDING)
#: The note on a patient who holds account credit while they have open invoices.
CREDIT_TO_APPLY = "Credit to apply"


class PatientSource(Protocol):
    """Where the list reads its patients: the open clinic, or :class:`FirstPatients` at start."""

    def patient_ids(
        self,
        search: str = "",
        *,
        sort: str = "name",
        descending: bool = False,
        include_archived: bool = False,
    ) -> list[int]: ...

    def patients_by_ids(self, patient_ids: Sequence[int]) -> list[PatientRecord]: ...


class FirstPatients:
    """The patients read at start-up, before the clinic is open, in the list's default order
    (by name, no search). The window allows neither search nor sorting until the clinic opens."""

    def __init__(self, records: Sequence[PatientRecord]) -> None:
        self._records = {record.id: record for record in records}
        self._ids = [record.id for record in records]

    def patient_ids(
        self,
        search: str = "",
        *,
        sort: str = "name",
        descending: bool = False,
        include_archived: bool = False,
    ) -> list[int]:
        """Every id read at start, in order; only the default search and order are known."""
        if search or sort != "name" or descending or include_archived:
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
        self._include_archived = False
        self._ids: list[int] = []
        #: The names of the patients merged ones went into, by id (read with their rows).
        self._merged_names: dict[int, str] = {}
        self._rows: OrderedDict[int, PatientRecord] = OrderedDict()
        self._loaded = False
        self.reload()

    # -- what the window asks for -----------------------------------------------------------

    def set_search(self, text: str) -> None:
        """Show only patients whose names match every word of ``text``."""
        if text != self._search:
            self._search = text
            self.reload()

    def set_include_archived(self, include: bool) -> None:
        """List archived and merged patients too (or leave them out again)."""
        if include != self._include_archived:
            self._include_archived = include
            self.reload()

    @property
    def include_archived(self) -> bool:
        """Whether archived and merged patients are listed."""
        return self._include_archived

    def set_formatter(self, formatter: Formatter) -> None:
        """Show amounts with another formatter (after the currency changed)."""
        self._formatter = formatter
        self.reload()

    def reload(self) -> None:
        """Fetch the ids again (after a save) and forget cached rows."""
        self.beginResetModel()
        self._ids = self._clinic.patient_ids(
            self._search,
            sort=self._sort,
            descending=self._descending,
            include_archived=self._include_archived,
        )
        self._rows.clear()
        self._merged_names.clear()
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
        records = self._clinic.patients_by_ids(self._ids[start : start + WINDOW])
        for record in records:
            self._rows[record.id] = record
        kept = {r.merged_into for r in records if r.merged_into is not None}
        kept -= set(self._merged_names)
        if kept:  # who the merged patients on these rows went into: one read for the window
            for into in self._clinic.patients_by_ids(sorted(kept)):
                self._merged_names[into.id] = f"{into.last_name}, {into.first_name}"
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
                return self._name(record)
            if column == BIRTH:
                return self._formatter.day(record.date_of_birth)
            if column == MOBILE:
                return record.mobile or ""
            if column == NOTE:
                return CREDIT_TO_APPLY if _credit_beside_open(record) else ""
            amount = record.credit if column == CREDIT else record.outstanding
            return self._formatter.money(amount)
        if role == Qt.ItemDataRole.ToolTipRole:  # the whole text where a narrow column cuts it
            record = self.patient(index.row())
            if column == NAME:
                name = self._name(record)
                return f"{name}: {record.archive_reason}" if record.archive_reason else name
            if column == NOTE and _credit_beside_open(record):
                money = self._formatter.money
                return (
                    f"Holds {money(record.credit)} of account credit while owing "
                    f"{money(record.outstanding)}: Patient > Apply credit to open invoices."
                )
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(RIGHT if column in AMOUNTS else LEFT)
        if role == Qt.ItemDataRole.FontRole and self.patient(index.row()).archived:
            font = QFont()
            font.setItalic(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and self.patient(index.row()).archived:
            return QApplication.palette().color(
                QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text
            )
        return None

    def _name(self, record: PatientRecord) -> str:
        """The name as listed ("Last, First"), then "(archived)" or "(merged into Last, First)"."""
        name = f"{record.last_name}, {record.first_name}"
        if record.merged_into is not None:
            into = self._merged_names.get(record.merged_into, f"patient {record.merged_into}")
            return f"{name} (merged into {into})"
        return f"{name} (archived)" if record.archived else name

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return header_data(HEADERS, AMOUNTS, section, orientation, role)

    def name_width_sample(self, rows: int = WINDOW) -> list[str]:
        """The names on the first ``rows`` rows (to size the name column without reading all),
        without "(archived)" or "(merged into …)": a long one of those elides first."""
        records = (self.patient(row) for row in range(min(rows, len(self._ids))))
        return [f"{record.last_name}, {record.first_name}" for record in records]

    def sorted_column(self) -> tuple[int, bool]:
        """The column the list is sorted by, and whether descending."""
        return SORT_KEYS.index(self._sort), self._descending

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort in the database by the column's key (a column without one keeps the order)."""
        key = SORT_KEYS[column] if 0 <= column < len(SORT_KEYS) else None
        if key is None:
            return
        descending = order == Qt.SortOrder.DescendingOrder
        if self._loaded and (key, descending) == (self._sort, self._descending):
            return  # the view re-applies its sort when set up: nothing changed
        self._sort, self._descending = key, descending
        self.reload()


def _credit_beside_open(record: PatientRecord) -> bool:
    """Whether the patient holds account credit while they have open invoices."""
    return record.credit > 0 and record.outstanding > 0


def size_columns(view: QTableView, formatter: Formatter, name_width: tuple[int, int]) -> None:
    """Size a patient list's columns to what they show, reading only the first rows: the name
    as wide as the longest of them within ``name_width`` (longer ones elide, with the whole name
    as the tooltip), every other column as wide as its header or its widest possible value."""
    model = view.model()
    assert isinstance(model, PatientTableModel)
    header = view.horizontalHeader()
    text = view.fontMetrics()
    bold = header.fontMetrics()
    margin = view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view)
    pad = 2 * margin + 10
    titles = [str(model.headerData(c, Qt.Orientation.Horizontal)) for c in range(len(HEADERS))]
    longest = max((text.horizontalAdvance(n) for n in model.name_width_sample()), default=0)
    name = max(name_width[0], bold.horizontalAdvance(titles[NAME]) + pad)
    header.resizeSection(NAME, min(max(name, longest + pad), name_width[1]))
    widest = {
        BIRTH: formatter.day(date(2000, 12, 28)),
        MOBILE: "0412 345 678",
        NOTE: CREDIT_TO_APPLY,
        **{column: formatter.money(Decimal("99999.99")) for column in AMOUNTS},
    }
    for column, sample in widest.items():
        width = max(text.horizontalAdvance(sample), bold.horizontalAdvance(titles[column]))
        header.resizeSection(column, width + pad)
