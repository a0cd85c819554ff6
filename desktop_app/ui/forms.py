"""Small helpers the windows' forms share: dates between Python and Qt, one date display, the
mark on a field a refusal is about, and the dialog that asks before Escape, Cancel or its close
button throws away typed work.

Message tones (``PROBLEM_TONE`` and the rest) and their colours live in :mod:`desktop_app.ui.style`.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from PySide6.QtCore import QDate
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDateEdit,
    QDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QTableWidget,
    QTextEdit,
    QWidget,
)

from desktop_app.ui.style import PROBLEM_TONE, problem_style, set_tone
from desktop_app.ui.window_fit import grow_to_fit

if TYPE_CHECKING:
    from desktop_app.core import BillingError

DATE_DISPLAY_FORMAT = "d MMM yyyy"
"""How every date edit shows its day ("2 Dec 2026")."""


def qdate(day: date) -> QDate:
    """``day`` as a :class:`QDate` (for a date edit)."""
    return QDate(day.year, day.month, day.day)


def pydate(day: QDate) -> date:
    """A date edit's :class:`QDate` as a Python ``date``."""
    return date(day.year(), day.month(), day.day())


def set_date_format(edit: QDateEdit) -> QDateEdit:
    """Give ``edit`` the one date display every window uses ("2 Dec 2026"); returns it."""
    edit.setDisplayFormat(DATE_DISPLAY_FORMAT)
    return edit


#: The dynamic property a refused field carries (True) until it is cleared.
REFUSED = "refused"


def _qt_class(widget: QWidget) -> str:
    """The Qt class ``widget`` is built on (``QLineEdit`` for a subclass), for a stylesheet."""
    meta = widget.metaObject()
    while meta is not None and not meta.className().startswith("Q"):
        meta = meta.superClass()
    return "QWidget" if meta is None else meta.className()


def mark_field(widget: QWidget, reason: str | None) -> None:
    """Mark ``widget`` as refused (red border, ``reason`` as its tooltip and accessible
    description), or clear the mark with None."""
    if reason is None and not is_marked(widget):
        return
    widget.setProperty(REFUSED, reason is not None)
    sheet = "" if reason is None else problem_style(QApplication.palette(widget), _qt_class(widget))
    widget.setStyleSheet(sheet)
    widget.setToolTip(reason or "")
    widget.setAccessibleDescription(reason or "")


def is_marked(widget: QWidget) -> bool:
    """Whether ``widget`` carries a refusal's mark (see :func:`mark_field`)."""
    return bool(widget.property(REFUSED))


def confirm_discard(parent: QWidget, question: str) -> bool:
    """Ask ``question`` ("Discard this invoice?"); True only if the person chose Discard.

    "Keep editing" is the default button and what Escape answers.
    """
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Discard?")
    box.setText(question)
    box.setInformativeText("What you typed will be lost.")
    keep = box.addButton("&Keep editing", QMessageBox.ButtonRole.RejectRole)
    discard = box.addButton("&Discard", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    box.exec()
    return box.clickedButton() is discard


class GuardedDialog(QDialog):
    """A dialog that asks before Escape, Cancel or its close button discards typed work.

    What counts as typed work: any field whose value differs from when the dialog first showed
    (a dialog may override :meth:`has_typed_work`). A dialog with nothing typed closes at once.
    """

    discard_question = "Discard what you typed?"
    _initial_fields: list[object] | None = None

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        """Remember the fields' first values, to tell later whether anything was typed."""
        super().showEvent(event)
        if self._initial_fields is None:
            self._initial_fields = self._field_values()

    def _field_values(self) -> list[object]:
        values: list[object] = []
        for widget in self.findChildren(QWidget):
            if widget.window() is not self:
                continue
            if isinstance(widget, QLineEdit):
                values.append(widget.text())
            elif isinstance(widget, QPlainTextEdit):
                values.append(widget.toPlainText())
            elif isinstance(widget, QTextEdit):
                values.append(None if widget.isReadOnly() else widget.toPlainText())
            elif isinstance(widget, QComboBox):
                values.append((widget.currentIndex(), widget.currentText()))
            elif isinstance(widget, QAbstractSpinBox):
                values.append(widget.text())
            elif isinstance(widget, QAbstractButton) and widget.isCheckable():
                values.append(widget.isChecked())
            elif isinstance(widget, QTableWidget):
                cells = (
                    widget.item(row, column)
                    for row in range(widget.rowCount())
                    for column in range(widget.columnCount())
                )
                values.append([cell.text() if cell is not None else "" for cell in cells])
        return values

    def has_typed_work(self) -> bool:
        """True when any field differs from its value when the dialog first showed."""
        return self._initial_fields is not None and self._field_values() != self._initial_fields

    def reject(self) -> None:
        """Close without saving, asking first when there is typed work to lose."""
        asking = self.isModal() and QApplication.activeModalWidget() is self
        if asking and self.has_typed_work() and not confirm_discard(self, self.discard_question):
            return
        super().reject()


class FieldProblems:
    """A form whose refusals are shown next to the field they name: a dialog sets ``edits``
    and ``problems`` (field name -> its input and its hidden label, made by
    :meth:`problem_label`) and ``message_label`` (for a refusal of no field of its own)."""

    edits: dict[str, QWidget]
    problems: dict[str, QLabel]
    message_label: QLabel

    def problem_label(self, field: str) -> QLabel:
        """A hidden label for the refusals of ``field``, kept in ``problems``."""
        label = QLabel()
        label.setWordWrap(True)
        label.setVisible(False)
        set_tone(label, PROBLEM_TONE)
        self.problems[field] = label
        return label

    def show_problem(self, exc: BillingError) -> None:
        """The core's refusal, next to the field it names (or under the form)."""
        for field, shown in self.problems.items():
            shown.setVisible(False)
            mark_field(self.edits[field], None)
        self.message_label.clear()
        label = self.problems.get(exc.field or "")
        if label is None:
            self.message_label.setText(str(exc))
        else:
            label.setText(str(exc))
            label.setVisible(True)
            edit = self.edits[exc.field or ""]
            mark_field(edit, str(exc))
            edit.setFocus()
        if isinstance(self, QWidget) and self.isVisible():
            grow_to_fit(self)
