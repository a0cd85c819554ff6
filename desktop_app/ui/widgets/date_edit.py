"""A date typed as text that can be empty (a date of birth not known yet).

A date of birth is typed, not picked: the receptionist reads it off a form. The edit takes the
date as numbers in the clinic's order (10/12/1985 day first; month first where the locale writes
dates so), as ISO (1985-12-10) or as the app shows dates (10 Dec 1985), and shows it back in the
app's own form once the field is left, so what was understood is on screen before Save. Nothing
is filled in for the person: an empty edit is "Not given", and text that is not a date stays as
typed, for the save to refuse on this field.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from PySide6.QtCore import QLocale, Qt
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QToolButton, QWidget

#: What an empty edit shows.
EMPTY_TEXT = "Not given"
#: How the edit shows a date it understood (the app's day, month abbreviation, year).
SHOWN = "%d %b %Y"
_NUMERIC = re.compile(r"(\d{1,2})[/.\- ](\d{1,2})[/.\- ](\d{4})")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def month_first(locale: QLocale | None = None) -> bool:
    """Whether ``locale`` (the app's) writes a numeric date month first (10/12 is 12 October)."""
    pattern = (locale or QLocale()).dateFormat(QLocale.FormatType.ShortFormat)
    return pattern.lstrip("'").upper().startswith("M")


def parse_day(text: str, *, month_before_day: bool = False) -> date | None:
    """The date ``text`` names (see the module), or None when it names none."""
    text = " ".join(text.split())
    if _ISO.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    if match := _NUMERIC.fullmatch(text):
        first, second, year = (int(g) for g in match.groups())
        month, day = (first, second) if month_before_day else (second, first)
        try:
            return date(year, month, day)
        except ValueError:
            return None
    for shape in (SHOWN, "%d %B %Y"):
        try:
            return datetime.strptime(text.replace("Sept", "Sep"), shape).date()
        except ValueError:
            continue
    return None


class OptionalDateEdit(QLineEdit):
    """A typed date whose value may be None (see :meth:`day` and :meth:`set_day`)."""

    def __init__(
        self, parent: QWidget | None = None, *, month_before_day: bool | None = None
    ) -> None:
        super().__init__(parent)
        self.month_before_day = month_first() if month_before_day is None else month_before_day
        example = "12/10/1985" if self.month_before_day else "10/12/1985"
        self.setPlaceholderText(f"{EMPTY_TEXT} (type it as {example})")
        self.setMaxLength(40)
        self.editingFinished.connect(self._show_understood)

    def day(self) -> date | None:
        """The date typed, or None when the edit is empty or what it holds is not a date."""
        return parse_day(self.text(), month_before_day=self.month_before_day)

    def value(self) -> date | str | None:
        """The date typed; the text itself when it is not a date (a save refuses it); None when
        the edit is empty."""
        if not self.text().strip():
            return None
        return self.day() or self.text().strip()

    def set_day(self, value: date | None) -> None:
        """Show ``value`` (None: empty)."""
        self.setText("" if value is None else value.strftime(SHOWN).lstrip("0"))

    def is_empty(self) -> bool:
        """Whether no date is given."""
        return not self.text().strip()

    def clear_day(self) -> None:
        """Empty the edit."""
        self.clear()

    def _show_understood(self) -> None:
        """Once the field is left, show a date understood in the app's own form."""
        day = self.day()
        if day is not None:
            self.set_day(day)


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
