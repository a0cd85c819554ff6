"""Transfer account credit from one patient to another (a family account)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
)

from desktop_app.core import BillingError
from desktop_app.ui.dialogs.money_action_base import (
    PatientCreditDialog,
    reason_edit,
    show_message,
    tab_chain,
)
from desktop_app.ui.style import INFO_TONE, set_tone
from desktop_app.ui.widgets.money_edit import MoneyEdit

#: How many patients the transfer dialog lists for one search.
MAX_MATCHES = 20


class TransferDialog(PatientCreditDialog):
    """Move account credit from one patient to another (a family account).

    ``saved_id`` holds the transfer's id once it is saved.
    """

    discard_question = "Discard this transfer?"

    TITLE = "Transfer account credit"
    REQUEST_PREFIX = "transfer"
    AMOUNT_WHAT = "the transfer"
    NOTHING_TO = "transfer"

    def _fill(self) -> None:
        self._search()

    def _focus_first(self) -> None:
        self.search_edit.setFocus()

    def _build(self) -> None:
        layout, form = self._patient_form("Patient giving the credit")
        self.search_edit = QLineEdit()
        self.search_edit.setAccessibleName("Find patient to receive the credit")
        self.search_edit.setPlaceholderText("Type part of a name")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self._on_search_edit_text_changed)
        self.search_edit.installEventFilter(self)
        form.addRow("To &patient:", self.search_edit)
        self.matches_list = QListWidget()
        self.matches_list.setAccessibleName("Patients found")
        self.matches_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.matches_list.setMinimumHeight(120)
        self.matches_list.itemSelectionChanged.connect(self._on_matches_selection_changed)
        form.addRow(self.matches_list)
        self.matches_hint = QLabel()
        set_tone(self.matches_hint, INFO_TONE)
        self.matches_hint.setWordWrap(True)
        form.addRow(self.matches_hint)
        self.amount_edit = MoneyEdit("Amount to transfer")
        self.amount_edit.textChanged.connect(self._on_amount_edit_text_changed)
        form.addRow("&Amount:", self.amount_edit)
        self.reason_edit = reason_edit("Reason for the transfer", required=True)
        self.reason_edit.textChanged.connect(self._on_reason_edit_text_changed)
        form.addRow("&Reason:", self.reason_edit)
        layout.addLayout(form)
        self._add_message_and_buttons(layout, "&Transfer", stretch=False)
        tab_chain(
            [
                self.search_edit,
                self.matches_list,
                self.amount_edit,
                self.reason_edit,
                self.save_button,
                self.cancel_button,
            ]
        )

    @property
    def receiving_patient_id(self) -> int | None:
        """The id of the patient chosen to receive the credit, if one is selected."""
        items = self.matches_list.selectedItems()
        if not items:
            return None
        value = items[0].data(Qt.ItemDataRole.UserRole)
        return value if isinstance(value, int) else None

    def _search(self) -> None:
        """List up to MAX_MATCHES patients matching the search, keeping the chosen one chosen."""
        chosen = self.receiving_patient_id
        ids = [
            pid
            for pid in self._clinic.patient_ids(self.search_edit.text())
            if pid != self._patient_id
        ]
        shown = self._clinic.patients_by_ids(ids[:MAX_MATCHES])
        self.matches_list.blockSignals(True)
        self.matches_list.clear()
        for patient in shown:
            item = QListWidgetItem(
                f"{patient.last_name}, {patient.first_name} "
                f"(credit {self._formatter.money(patient.credit)})"
            )
            item.setData(Qt.ItemDataRole.UserRole, patient.id)
            self.matches_list.addItem(item)
            if patient.id == chosen:
                item.setSelected(True)
                self.matches_list.setCurrentItem(item)
        self.matches_list.blockSignals(False)
        if not ids:
            hint = "No other patient matches."
        elif len(ids) > len(shown):
            hint = f"Showing the first {len(shown)} of {len(ids)}: type more of the name."
        else:
            hint = f"{len(ids)} patient{'' if len(ids) == 1 else 's'} found."
        self.matches_hint.setText(hint)

    def _reload(self) -> None:
        super()._reload()
        self._search()

    def _can_save(self) -> bool:
        return (
            super()._can_save()
            and self.receiving_patient_id is not None
            and bool(self.reason_edit.text().strip())
        )

    def _ready(self) -> bool:
        return self.receiving_patient_id is not None

    def _save(self) -> int:
        to_id = self.receiving_patient_id
        assert to_id is not None  # _ready()
        return self._clinic.transfer_credit(
            self._patient_id,
            to_id,
            self.amount_edit.text().strip(),
            reason=self.reason_edit.text().strip(),
            request_id=self.request_id,
        )

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        """Down arrow in the search field moves to the list of patients found."""
        if (
            watched is self.search_edit
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Down
            and self.matches_list.count()
        ):
            self.matches_list.setFocus()
            if self.receiving_patient_id is None:
                self.matches_list.setCurrentRow(0)
            return True
        return super().eventFilter(watched, event)

    def _on_search_edit_text_changed(self, _text: str) -> None:
        try:
            self._search()
        except BillingError as exc:
            self._refresh()
            show_message(self.message_label, str(exc))
            return
        self._refresh()

    def _on_matches_selection_changed(self) -> None:
        self._refresh()
