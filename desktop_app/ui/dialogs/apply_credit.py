"""Apply credit to open invoices: for patients who hold account credit while they owe, preview
what their credit would pay (the payment dialog's allocation table, the clinic's automatic mode,
credit as the only source) and save one $0 payment per patient, funded from credit.

Each patient's payment is its own save, with the request id ``"<this dialog's id>/<patient>"``:
pressing Apply again after a failure saves only what is still missing.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QListWidget,
    QTableView,
    QVBoxLayout,
)

from desktop_app.core import BillingError
from desktop_app.ui.formatting import Formatter
from desktop_app.ui.models.allocation import AllocationModel
from desktop_app.ui.style import INFO_TONE, PROBLEM_TONE, set_tone
from desktop_app.ui.window_fit import grow_to_fit

if TYPE_CHECKING:
    from desktop_app.core import Clinic, PaymentDraft, PaymentPreview


class ApplyCreditDialog(QDialog):
    """Preview and apply account credit to open invoices for one or more patients."""

    def __init__(
        self, clinic: Clinic, formatter: Formatter, patient_ids: list[int], parent: Any = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Apply credit to open invoices")
        self._clinic = clinic
        self._formatter = formatter
        self._request_id = f"apply-credit-{uuid.uuid4().hex}"
        self._patients: list[tuple[int, str, PaymentPreview]] = []
        self._drafts: dict[int, PaymentDraft] = {}
        for pid in patient_ids:
            draft = clinic.payment_draft(pid)
            preview = draft.preview({}, {})
            if preview.plan.credit_used > 0:
                self._patients.append((pid, draft.patient_name, preview))
                self._drafts[pid] = draft
        #: Patient id -> payment id, for the patients saved.
        self.saved: dict[int, int] = {}

        layout = QVBoxLayout(self)
        mode = clinic.allocation_mode
        self.mode_label = QLabel(
            f"Each patient's account credit pays their open invoices ({mode.label.lower()}): "
            f"one payment of {formatter.money(Decimal(0))} in money per patient, paid from "
            "account credit."
        )
        self.mode_label.setWordWrap(True)
        set_tone(self.mode_label, INFO_TONE)
        layout.addWidget(self.mode_label)
        self.patient_list = QListWidget()
        self.patient_list.setAccessibleName("Patients")
        money = formatter.money
        for _pid, name, preview in self._patients:
            self.patient_list.addItem(
                f"{name}: {money(preview.credit_used)} of {money(preview.credit_available)} "
                "credit applied"
            )
        count = len(self._patients)
        layout.addWidget(QLabel(f"{count} patient{'' if count == 1 else 's'}:"))
        layout.addWidget(self.patient_list)
        self.table = QTableView()
        self.table.setAccessibleName("Apply to invoices")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        currency = self._patients[0][2].currency if self._patients else clinic.currency
        self.allocation_model = AllocationModel(formatter, currency, self)
        self.table.setModel(self.allocation_model)
        layout.addWidget(self.table, 1)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        set_tone(self.error_label, PROBLEM_TONE)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.apply_button = buttons.addButton(
            "&Apply credit", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.apply_button.setEnabled(bool(self._patients))
        buttons.accepted.connect(self._on_buttons_accepted)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.patient_list.currentRowChanged.connect(self._on_patient_list_current_row_changed)
        if self._patients:
            self.patient_list.setCurrentRow(0)
        else:
            self.mode_label.setText("No patient holds account credit while owing.")
        self.resize(620, 460)

    @property
    def patient_names(self) -> list[str]:
        """The patients whose credit would be applied, in the order shown."""
        return [name for _, name, _ in self._patients]

    def _on_patient_list_current_row_changed(self, row: int) -> None:
        if not 0 <= row < len(self._patients):
            return
        pid, _name, preview = self._patients[row]
        self.allocation_model.set_invoices(self._drafts[pid].open_invoices)
        self.allocation_model.set_preview(preview)

    def _on_buttons_accepted(self) -> None:
        """Save each patient's payment in turn; stop at the first refusal and say why."""
        for pid, name, preview in self._patients:
            if pid in self.saved:
                continue
            try:
                payment_id = self._clinic.apply_credit_to_open_invoices(
                    pid, f"{self._request_id}/{pid}", preview
                )
            except BillingError as exc:
                self.error_label.setText(f"{name}: {exc}")
                self.error_label.show()
                grow_to_fit(self)
                return
            if payment_id is not None:
                self.saved[pid] = payment_id
        self.accept()
