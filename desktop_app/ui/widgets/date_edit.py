"""A date edit that can be empty (a date of birth not known yet).

Empty is shown as "Not given" (Qt's special value text, kept at the earliest date the edit
allows). Typing a digit into an empty edit starts a date; Delete or Backspace with the whole text
selected, or the Clear button beside it, empties it again. The calendar opens on a sensible year
rather than on the hidden earliest one.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDateEdit, QHBoxLayout, QToolButton, QWidget

from desktop_app.ui.forms import pydate, qdate, set_date_format

#: What an empty edit shows.
EMPTY_TEXT = "Not given"


class OptionalDateEdit(QDateEdit):
    """A date edit whose value may be None (see :meth:`day` and :meth:`set_day`)."""

    def __init__(self, earliest: date, latest: date, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        set_date_format(self)
        self._empty = QDate(earliest.year, earliest.month, earliest.day).addDays(-1)
        self.setDateRange(self._empty, qdate(latest))
        self.setSpecialValueText(EMPTY_TEXT)
        self.setCalendarPopup(True)
        #: Where the calendar opens when the edit is empty (a year, January).
        self.empty_calendar_year = latest.year - 40
        self.calendarWidget().installEventFilter(self)
        self.setDate(self._empty)

    def day(self) -> date | None:
        """The date shown, or None when the edit is empty."""
        return None if self.is_empty() else pydate(self.date())

    def set_day(self, value: date | None) -> None:
        """Show ``value`` (None: empty)."""
        self.setDate(self._empty if value is None else qdate(value))

    def is_empty(self) -> bool:
        """Whether no date is given."""
        return self.date() == self._empty

    def clear_day(self) -> None:
        """Empty the edit."""
        self.setDate(self._empty)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        """A digit typed into an empty edit starts a date; Delete or Backspace over the whole
        text empties it."""
        key = event.key()
        whole = self.lineEdit().selectedText() == self.text()
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and (whole or self.is_empty()):
            self.clear_day()
            return
        if self.is_empty() and event.text().isdigit():
            self.setDate(QDate(self.empty_calendar_year, 1, 1))
            self.setCurrentSection(QDateEdit.Section.DaySection)
            self.lineEdit().setSelection(0, len(self.sectionText(QDateEdit.Section.DaySection)))
        super().keyPressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        """Open the calendar on :attr:`empty_calendar_year` when no date is given yet."""
        calendar = self.calendarWidget()
        if event.type() == QEvent.Type.Show and watched is calendar and self.is_empty():
            calendar.setCurrentPage(self.empty_calendar_year, 1)
        return super().eventFilter(watched, event)


def with_clear_button(edit: OptionalDateEdit) -> QWidget:
    """``edit`` with a "Clear" button beside it (the button empties the edit)."""
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    clear = QToolButton()
    clear.setText("Clear")
    clear.setAccessibleName(f"Clear {edit.accessibleName().lower()}".strip())
    clear.setFocusPolicy(Qt.FocusPolicy.TabFocus)
    clear.clicked.connect(edit.clear_day)
    layout.addWidget(clear)
    return box
