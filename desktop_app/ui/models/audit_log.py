"""The audit log list: the ids of the matching entries plus a bounded cache of rows, in pages.

Filtering and ordering are done by the database (``audit_entry_ids``); the model only ever holds the
ids and the rows near what is on screen, so a log of many thousands of entries stays quick. It is
read-only: no cell is editable, and nothing here can change the log.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from desktop_app.core import AuditFilter
from desktop_app.ui.models.records import LEFT, Index, header_data

if TYPE_CHECKING:
    from desktop_app.core import AuditLogReader, AuditRecord

WINDOW = 200
CACHE_LIMIT = 2000
WHEN, WHO, ACTION, RECORD, SUMMARY = range(5)
HEADERS = ("When", "Who", "Action", "Record", "Summary")


def action_text(action: str) -> str:
    """An action name as shown: ``record payment`` -> ``Record payment``."""
    return action[:1].upper() + action[1:]


class AuditLogModel(QAbstractTableModel):
    """Audit entries matching the current filter, newest first."""

    def __init__(
        self, log: AuditLogReader, when: Callable[[datetime], str], parent: Any = None
    ) -> None:
        """``when`` turns an entry's UTC time into the text shown in the When column."""
        super().__init__(parent)
        self._log = log
        self._when = when
        self._filter = AuditFilter()
        self._ids: list[int] = []
        self._rows: OrderedDict[int, AuditRecord] = OrderedDict()
        self.reload()

    # -- what the window asks for -----------------------------------------------------------

    @property
    def filter(self) -> AuditFilter:
        """The filter in use."""
        return self._filter

    def set_filter(self, filt: AuditFilter) -> None:
        """Show only the entries matching ``filt``."""
        if filt != self._filter:
            self._filter = filt
            self.reload()

    def reload(self) -> None:
        """Fetch the ids again (new entries appear) and forget cached rows."""
        self.beginResetModel()
        self._ids = self._log.audit_entry_ids(self._filter)
        self._rows.clear()
        self.endResetModel()

    def entry_id(self, row: int) -> int:
        """The id of the entry on ``row``."""
        return self._ids[row]

    def row_of(self, entry_id: int) -> int:
        """The row showing ``entry_id``, or -1 if the filter hides it."""
        try:
            return self._ids.index(entry_id)
        except ValueError:
            return -1

    def entry(self, row: int) -> AuditRecord | None:
        """The entry on ``row`` (fetched with its neighbours if not cached)."""
        entry_id = self._ids[row]
        cached = self._rows.get(entry_id)
        if cached is not None:
            self._rows.move_to_end(entry_id)
            return cached
        start = max(0, row - WINDOW // 2)
        for record in self._log.audit_entries_by_ids(self._ids[start : start + WINDOW]):
            self._rows[record.id] = record
        while len(self._rows) > CACHE_LIMIT:
            self._rows.popitem(last=False)
        return self._rows.get(entry_id)

    @property
    def cached_rows(self) -> int:
        """How many rows are held in memory (never more than the cache limit)."""
        return len(self._rows)

    # -- Qt ---------------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(HEADERS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._ids):
            return None
        if role in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.AccessibleTextRole,
            Qt.ItemDataRole.ToolTipRole,
        ):
            if role == Qt.ItemDataRole.ToolTipRole and index.column() != SUMMARY:
                return None
            record = self.entry(index.row())
            if record is None:
                return None
            column = index.column()
            if column == WHEN:
                return self._when(record.at)
            if column == WHO:
                return record.actor
            if column == ACTION:
                return action_text(record.action)
            if column == RECORD:
                return record.record
            return record.summary
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(LEFT)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return header_data(HEADERS, (), section, orientation, role)
