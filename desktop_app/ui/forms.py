"""Small helpers the windows' forms share: dates between Python and Qt, one date display.

Message tones (``PROBLEM_TONE`` and the rest) live with the stylesheet in
:mod:`desktop_app.ui.style`.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QDateEdit

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
