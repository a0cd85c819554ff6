"""A read-only table model over a list of frozen rows from the core, described by columns."""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

Index = QModelIndex | QPersistentModelIndex
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


def header_data(
    titles: Sequence[str],
    amount_columns: Container[int],
    section: int,
    orientation: Qt.Orientation,
    role: int,
) -> Any:
    """Horizontal header text and alignment for a table model (amount columns right-aligned)."""
    if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(titles):
        return None
    if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
        return titles[section]
    if role == Qt.ItemDataRole.TextAlignmentRole:
        return int(RIGHT if section in amount_columns else LEFT)
    return None


@dataclass(frozen=True)
class Column:
    """One column: its header, how a row shows in it, and whether it is an amount."""

    title: str
    text: Callable[[Any], str]
    money: bool = False
    #: The text's colour for a row (None: the ordinary colour); never the only cue.
    colour: Callable[[Any], QColor | None] | None = None


class RecordTableModel(QAbstractTableModel):
    """Rows are frozen records (they never hold database objects); ``record(row)`` returns one."""

    def __init__(self, columns: Sequence[Column], parent: Any = None) -> None:
        super().__init__(parent)
        self._columns = list(columns)
        self._records: list[Any] = []

    def set_records(self, records: Sequence[Any]) -> None:
        """Replace every row."""
        self.beginResetModel()
        self._records = list(records)
        self.endResetModel()

    def record(self, row: int) -> Any:
        """The record shown on ``row``."""
        return self._records[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._records):
            return None
        column = self._columns[index.column()]
        if role in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.AccessibleTextRole,
            Qt.ItemDataRole.ToolTipRole,  # the whole text where a narrow column cuts it
        ):
            return column.text(self._records[index.row()])
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(RIGHT if column.money else LEFT)
        if role == Qt.ItemDataRole.ForegroundRole and column.colour is not None:
            return column.colour(self._records[index.row()])
        return None

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        titles = [column.title for column in self._columns]
        amounts = {n for n, column in enumerate(self._columns) if column.money}
        return header_data(titles, amounts, section, orientation, role)
