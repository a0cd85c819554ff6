"""The table the email windows list their records in (the outbox, the reminders, the credit
alerts, a statement run): whole rows selected, no row numbers, text on one line, columns the
staff can widen, the last one taking the rest of the window's width."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QAbstractItemModel
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView


def record_table(
    model: QAbstractItemModel, name: str, widths: Iterable[int] = (), *, single: bool = True
) -> QTableView:
    """A read-only table of ``model``'s records, named ``name`` for screen readers; ``widths``
    are the first columns' widths, and ``single`` selects one row at a time (else several)."""
    view = QTableView()
    view.setAccessibleName(name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    if single:
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    for column, width in enumerate(widths):
        view.setColumnWidth(column, width)
    return view
