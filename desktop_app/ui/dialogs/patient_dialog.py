"""New patient: first and last name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QWidget

from desktop_app.core import BillingError, PermissionDenied
from desktop_app.ui.forms import GuardedDialog
from desktop_app.ui.style import PROBLEM_TONE, set_tone
from desktop_app.ui.window_fit import grow_to_fit

if TYPE_CHECKING:
    from desktop_app.core import Clinic


class PatientDialog(GuardedDialog):
    """Adds a patient; ``patient_id`` holds the new id after Save."""

    discard_question = "Discard this new patient?"

    def __init__(self, clinic: Clinic, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self.patient_id: int | None = None
        self.setWindowTitle("New patient")
        form = QFormLayout(self)
        self.first_edit = QLineEdit()
        self.first_edit.setAccessibleName("First name")
        self.last_edit = QLineEdit()
        self.last_edit.setAccessibleName("Last name")
        form.addRow("&First name:", self.first_edit)
        form.addRow("&Last name:", self.last_edit)
        self.message_label = QLabel()
        set_tone(self.message_label, PROBLEM_TONE)
        self.message_label.setWordWrap(True)
        form.addRow(self.message_label)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._on_buttons_accepted)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _on_buttons_accepted(self) -> None:
        try:
            self.patient_id = self._clinic.add_patient(
                self.first_edit.text(), self.last_edit.text()
            )
        except (BillingError, PermissionDenied) as exc:
            self.message_label.setText(str(exc))
            grow_to_fit(self)  # the whole message, however long
            return
        self.accept()
