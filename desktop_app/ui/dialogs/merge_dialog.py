"""Merge duplicate: pick the patient to keep and the duplicate, see exactly what moves, merge.

Each side is a searchable list of patients (the same list as the main window's, read in windows
from the database). Once both are picked, the core's preview says which invoices, payments and
refunds, credit notes and credit transfers move to the kept patient, which details the kept patient
gains from the duplicate, and the kept patient's account credit and balance afterwards. Merge
saves exactly that preview (the core refuses if anything changed since, and the preview is read
again); the duplicate is then archived as merged into the kept patient.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BillingError, ConcurrentChangeError, PermissionDenied
from desktop_app.ui.dialogs.patient_dialog import FIELDS
from desktop_app.ui.forms import GuardedDialog
from desktop_app.ui.models.patients import BIRTH, MOBILE, NAME, NOTE, PatientTableModel
from desktop_app.ui.style import PROBLEM_TONE, set_tone
from desktop_app.ui.window_fit import grow_to_fit

if TYPE_CHECKING:
    from desktop_app.core import Clinic
    from desktop_app.ui.formatting import Formatter

SEARCH_DELAY_MS = 120
#: The rows a picker shows without scrolling.
PICKER_ROWS = 7


def detail_label(name: str) -> str:
    """What the patient window calls the detail ``name`` ("email", "date of birth")."""
    field = FIELDS.get(name)
    if field is None:
        return name.replace("_", " ")
    return field.label.replace("&", "").rstrip(":").lower()


class PatientPicker(QGroupBox):
    """A titled search box over a list of patients; :attr:`chosen` is the one selected."""

    #: The patient picked (None: nobody, the search found no one).
    picked = Signal(object)

    def __init__(self, title: str, clinic: Clinic, formatter: Formatter, mnemonic: str) -> None:
        super().__init__(title)
        layout = QVBoxLayout(self)
        self.search_edit = QLineEdit()
        self.search_edit.setAccessibleName(f"Find: {title}")
        self.search_edit.setPlaceholderText("Name, phone, email or date of birth")
        self.search_edit.setClearButtonEnabled(True)
        label = QLabel(mnemonic)
        label.setBuddy(self.search_edit)
        layout.addWidget(label)
        layout.addWidget(self.search_edit)
        self.model = PatientTableModel(clinic, formatter, self)
        self.view = QTableView()
        self.view.setAccessibleName(title)
        self.view.setModel(self.model)
        self.view.setTabKeyNavigation(False)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        self.view.setColumnHidden(NOTE, True)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        for column in (BIRTH, MOBILE):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        rows = self.view.verticalHeader().defaultSectionSize() * PICKER_ROWS
        self.view.setMinimumHeight(rows + header.sizeHint().height() + 4)
        layout.addWidget(self.view, 1)
        self._timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self.search_edit.textChanged.connect(self._on_search_edit_text_changed)
        self.view.selectionModel().currentRowChanged.connect(self._on_current_row_changed)
        self.chosen: int | None = None

    def choose(self, patient_id: int) -> bool:
        """Select ``patient_id`` (clearing the search if it hides them); False if not listed."""
        if self.model.row_of(patient_id) < 0 and self.search_edit.text():
            self.search_edit.clear()
            self._on_timer_timeout()
        row = self.model.row_of(patient_id)
        if row < 0:
            return False
        self.view.selectRow(row)
        self.view.scrollTo(self.model.index(row, NAME))
        return True

    def search(self, text: str) -> None:
        """Show the patients matching ``text`` at once (and pick the first)."""
        self.search_edit.setText(text)
        self._on_timer_timeout()

    def _on_search_edit_text_changed(self, _text: str) -> None:
        self._timer.start()

    def _on_timer_timeout(self) -> None:
        self._timer.stop()
        self.model.set_search(self.search_edit.text())
        if self.model.rowCount():
            self.view.selectRow(0)
        self._set_chosen(self.model.patient_id(0) if self.model.rowCount() else None)

    def _on_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._set_chosen(self.model.patient_id(current.row()) if current.isValid() else None)

    def _set_chosen(self, patient_id: int | None) -> None:
        if patient_id != self.chosen:
            self.chosen = patient_id
            self.picked.emit(patient_id)


class MergeDialog(GuardedDialog):
    """Merges a duplicate patient into the one kept; after Merge, :attr:`kept_id` and
    :attr:`merged_id` say who."""

    discard_question = "Discard this merge?"

    def __init__(
        self,
        clinic: Clinic,
        formatter: Formatter,
        keep_id: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self._formatter = formatter
        self.preview: Any = None
        self.kept_id: int | None = None
        self.merged_id: int | None = None
        self.setWindowTitle("Merge duplicate patients")
        layout = QVBoxLayout(self)
        pickers = QGridLayout()
        self.keep_picker = PatientPicker("Keep this patient", clinic, formatter, "Find the &kept:")
        self.merge_picker = PatientPicker(
            "Merge this duplicate into them", clinic, formatter, "Find the &duplicate:"
        )
        pickers.addWidget(self.keep_picker, 0, 0)
        pickers.addWidget(self.merge_picker, 0, 1)
        layout.addLayout(pickers, 1)
        moves = QGroupBox("What the merge moves")
        moves_layout = QVBoxLayout(moves)
        self.preview_label = QLabel()
        self.preview_label.setAccessibleName("What the merge moves")
        self.preview_label.setWordWrap(True)
        self.preview_label.setTextFormat(Qt.TextFormat.RichText)
        self.preview_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.preview_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.preview_label.setMinimumHeight(self.fontMetrics().lineSpacing() * 8)
        moves_layout.addWidget(self.preview_label)
        layout.addWidget(moves)
        reason_row = QGridLayout()
        self.reason_edit = QLineEdit("Duplicate record")
        self.reason_edit.setAccessibleName("Reason for the merge")
        reason_label = QLabel("&Reason:")
        reason_label.setBuddy(self.reason_edit)
        reason_row.addWidget(reason_label, 0, 0)
        reason_row.addWidget(self.reason_edit, 0, 1)
        layout.addLayout(reason_row)
        self.message_label = QLabel()
        self.message_label.setAccessibleName("Message")
        self.message_label.setWordWrap(True)
        set_tone(self.message_label, PROBLEM_TONE)
        layout.addWidget(self.message_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.merge_button = buttons.addButton("&Merge", QDialogButtonBox.ButtonRole.AcceptRole)
        self.merge_button.setEnabled(False)
        buttons.accepted.connect(self._on_merge_clicked)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.keep_picker.picked.connect(self._on_picked)
        self.merge_picker.picked.connect(self._on_picked)
        self.resize(980, 660)
        if keep_id is not None:
            self.keep_picker.choose(keep_id)
        self.merge_picker.view.clearSelection()
        self.merge_picker.chosen = None
        self._on_picked()
        self.merge_picker.search_edit.setFocus()

    # -- the preview --------------------------------------------------------------------------

    def refresh_preview(self) -> None:
        """Read the merge's preview again for the two patients picked (or say what is missing)."""
        keep, merge = self.keep_picker.chosen, self.merge_picker.chosen
        self.preview = None
        self.merge_button.setEnabled(False)
        self.message_label.setText("")
        if keep is None or merge is None:
            self.preview_label.setText(
                "Pick the patient to keep on the left and their duplicate on the right."
            )
            return
        try:
            preview = self._clinic.preview_merge(keep, merge)
        except (BillingError, PermissionDenied) as exc:
            self.preview_label.setText("")
            self.message_label.setText(str(exc))
            return
        self.preview = preview
        self.preview_label.setText(self.describe(preview))
        self.merge_button.setEnabled(True)

    def describe(self, preview: Any) -> str:
        """The preview in words (rich text): each kind of record that moves, the details the
        kept patient gains, and their credit and balance afterwards."""
        keep, merge = preview.keep, preview.merge
        money = self._formatter.money

        def listed(prefix: str, items: tuple[int, ...] | list[int]) -> str:
            return ", ".join(f"{prefix}{item}" for item in items) if items else "none"

        def shown(value: object) -> str:
            return self._formatter.day(value) if isinstance(value, date) else str(value)

        filled = "; ".join(
            f"{detail_label(name)}: {shown(value)}" for name, value in preview.filled.items()
        )
        rows = [
            ("Invoices", listed("#", preview.invoice_numbers)),
            ("Payments and refunds", listed("#", preview.payment_ids)),
            ("Credit notes", listed("CN-", preview.credit_note_numbers)),
            ("Credit transfers", listed("#", preview.transfer_ids)),
            (f"Details {keep.full_name} gains", filled or "none"),
        ]
        items = "".join(f"<li><b>{escape(k)}:</b> {escape(v)}</li>" for k, v in rows)
        after = (
            f"After the merge {keep.full_name} (#{keep.id}) holds {money(preview.credit)} of "
            f"account credit and owes {money(preview.outstanding)}. {merge.full_name} "
            f"(#{merge.id}) is archived as merged into them."
        )
        moving = f"From {merge.full_name} (#{merge.id}) to {keep.full_name} (#{keep.id}):"
        return f"<p>{escape(moving)}</p><ul>{items}</ul><p>{escape(after)}</p>"

    # -- merging ------------------------------------------------------------------------------

    def merge(self) -> bool:
        """Merge the previewed duplicate into the kept patient; False (with the reason shown)
        when the core refuses."""
        preview = self.preview
        if preview is None:
            return False
        keep, merge = preview.keep.id, preview.merge.id
        try:
            self.merged_id = self._clinic.merge_patients(
                keep, merge, reason=self.reason_edit.text(), preview=preview
            )
        except ConcurrentChangeError as exc:
            self.refresh_preview()  # what would move now
            self.message_label.setText(f"{exc} The preview above is read again: check it.")
            grow_to_fit(self)
            return False
        except (BillingError, PermissionDenied) as exc:
            self.message_label.setText(str(exc))
            grow_to_fit(self)
            return False
        self.kept_id = keep
        return True

    def _on_merge_clicked(self) -> None:
        if self.merge():
            self.accept()

    def _on_picked(self, _patient_id: object = None) -> None:
        self.refresh_preview()
