"""Small helpers the windows' forms share: converting dates between Python and Qt.

Message tones (``PROBLEM_TONE`` and the rest) and their colours live in :mod:`desktop_app.ui.style`.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate


def qdate(day: date) -> QDate:
    """``day`` as a :class:`QDate` (for a date edit)."""
    return QDate(day.year, day.month, day.day)


def pydate(day: QDate) -> date:
    """A date edit's :class:`QDate` as a Python ``date``."""
    return date(day.year(), day.month(), day.day())
