"""A line edit for amounts: right-aligned, and marked with the reason when what was typed is wrong.

It holds the text exactly as typed; the core parses it (and refuses, never rounds, bad input).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLineEdit

from desktop_app.ui.style import problem_style


def invalid_style(palette: QPalette) -> str:
    """The stylesheet of a refused amount (see :func:`~desktop_app.ui.style.problem_style`)."""
    return problem_style(palette, "QLineEdit")


class MoneyEdit(QLineEdit):
    """An amount field. ``set_error(reason)`` marks it invalid; ``set_error(None)`` clears it."""

    def __init__(self, accessible_name: str, parent: Any = None) -> None:
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setAccessibleName(accessible_name)
        self.setClearButtonEnabled(False)
        self.setMaxLength(32)
        self._error: str | None = None

    @property
    def error(self) -> str | None:
        """Why the current text is refused, or None when it is acceptable."""
        return self._error

    def set_error(self, reason: str | None) -> None:
        """Mark the field (red, with the reason as its tooltip) or clear the mark."""
        self._error = reason
        self._restyle()
        self.setToolTip(reason or "")
        self.setAccessibleDescription(reason or "")

    def _restyle(self) -> None:
        # From the application's palette: the widget's own one is the stylesheet's by now.
        wanted = invalid_style(QApplication.palette(self)) if self._error else ""
        if self.styleSheet() != wanted:
            self.setStyleSheet(wanted)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()  # the system switched between light and dark
