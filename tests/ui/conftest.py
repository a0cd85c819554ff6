"""Fixtures for the window tests (offscreen Qt, a fresh SQLite clinic each)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog

from desktop_app.core import Clinic
from desktop_app.ui.formatting import Formatter


@pytest.fixture
def clinic(new_sqlite_url) -> Iterator[Clinic]:
    """A fresh clinic on SQLite (the window tests exercise the windows, not the database)."""
    opened = Clinic.open(new_sqlite_url())
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def formatter() -> Formatter:
    """Australian formatting, whatever the test machine's locale."""
    return Formatter("AUD", "en_AU")


@pytest.fixture
def with_modal(qtbot) -> Callable[[Callable[[QDialog], None]], None]:
    """Run ``act(dialog)`` on the next modal dialog once it is open (for ``exec()`` flows)."""

    def schedule(act: Callable[[QDialog], None]) -> None:
        def attempt() -> None:
            dialog = QApplication.activeModalWidget()
            if dialog is None:
                QTimer.singleShot(10, attempt)
                return
            act(dialog)  # type: ignore[arg-type]

        QTimer.singleShot(0, attempt)

    return schedule
