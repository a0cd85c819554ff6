"""Tools > Verify ledger's answer: plain words for the front desk, the checks one click away.

A message box says whether the ledger is in order and, if not, what is wrong and what to do; its
"Show Details…" button shows the technical list: every check that ran and what each found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox, QWidget

if TYPE_CHECKING:
    from desktop_app.core import LedgerCheck

TITLE = "Verify ledger"


def ledger_check_box(parent: QWidget | None, check: LedgerCheck) -> QMessageBox:
    """The message box for ``check`` (not shown)."""
    box = QMessageBox(parent)
    box.setWindowTitle(TITLE)
    box.setIcon(QMessageBox.Icon.Information if check.ok else QMessageBox.Icon.Warning)
    box.setText(check.headline)
    if not check.ok:
        box.setInformativeText("\n".join(check.findings) + "\n\n" + check.advice)
    box.setDetailedText(check.details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    return box


def show_ledger_check(parent: QWidget | None, check: LedgerCheck) -> None:
    """Say what Verify ledger found (modal)."""
    ledger_check_box(parent, check).exec()
