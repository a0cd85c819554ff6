"""A line edit for amounts: right-aligned, and marked with the reason when what was typed is wrong.

It holds the text exactly as typed; the core parses it (and refuses, never rounds, bad input).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

INVALID_STYLE = "QLineEdit { border: 2px solid #c0392b; background: #fdecea; }"


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
        self.setStyleSheet(INVALID_STYLE if reason else "")
        self.setToolTip(reason or "")
        self.setAccessibleDescription(reason or "")
