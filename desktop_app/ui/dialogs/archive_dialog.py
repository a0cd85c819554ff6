"""Archive patient: says what archiving does and asks for an optional reason."""

from __future__ import annotations

from PySide6.QtWidgets import QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QWidget

from desktop_app.ui.forms import GuardedDialog


class ArchiveDialog(GuardedDialog):
    """Asks whether to archive ``name``, with an optional reason (:attr:`reason` after OK)."""

    discard_question = "Discard the reason you typed?"

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Archive patient")
        form = QFormLayout(self)
        text = QLabel(
            f"Archive {name}? They leave the patient list and searches (Show archived lists "
            "them again) and take no new invoices or payments. Their history is kept, and "
            "Restore patient brings them back."
        )
        text.setWordWrap(True)
        text.setMinimumWidth(380)
        form.addRow(text)
        self.reason_edit = QLineEdit()
        self.reason_edit.setAccessibleName("Reason for archiving")
        self.reason_edit.setPlaceholderText("Optional: moved away, deceased, duplicate…")
        label = QLabel("&Reason:")
        label.setBuddy(self.reason_edit)
        form.addRow(label, self.reason_edit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.archive_button = buttons.addButton("&Archive", QDialogButtonBox.ButtonRole.AcceptRole)
        self.archive_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    @property
    def reason(self) -> str:
        """The reason typed (empty when none)."""
        return self.reason_edit.text().strip()
