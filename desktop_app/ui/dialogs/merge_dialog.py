"""Merge duplicate: pick the patient to keep and the duplicate, see exactly what moves, merge.

Each side is a searchable list of patients (the same list as the main window's, read in windows
from the database). Once both are picked, the core's preview says which invoices, payments,
refunds, credit notes and credit transfers move to the kept patient, which transfers between the
two are cancelled, which details the kept patient gains from the duplicate, and the kept
patient's account credit and balance afterwards. Merge saves exactly that preview (the core
refuses if anything changed since, and the preview is read again); the duplicate is then archived
as merged into the kept patient.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import DETAIL_LABELS, BillingError, PermissionDenied, Refusal
from desktop_app.ui.forms import GuardedDialog
from desktop_app.ui.models.patients import NAME, NOTE, PatientTableModel, size_columns
from desktop_app.ui.style import PROBLEM_TONE, set_tone
from desktop_app.ui.window_fit import grow_to_fit

if TYPE_CHECKING:
    from desktop_app.core import Clinic, MergePreview
    from desktop_app.ui.formatting import Formatter

SEARCH_DELAY_MS = 120
#: The rows a picker shows without scrolling, and their height (pixels).
PICKER_ROWS = 7
ROW_HEIGHT = 26
#: A picker's name column: at least and at most this wide (pixels) before it stretches.
NAME_WIDTH = (120, 200)


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
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        rows_header = self.view.verticalHeader()
        rows_header.setVisible(False)
        rows_header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows_header.setDefaultSectionSize(ROW_HEIGHT)
        self.view.setColumnHidden(NOTE, True)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)  # the rest of the width
        self._formatter = formatter
        self.model.modelReset.connect(self._on_model_reset)
        self._on_model_reset()
        rows = rows_header.defaultSectionSize() * PICKER_ROWS
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

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        """Bring the patient picked into view (picked before the list had its size)."""
        super().showEvent(event)
        current = self.view.currentIndex()
        if current.isValid():
            self.view.scrollTo(current, QAbstractItemView.ScrollHint.PositionAtCenter)

    def search(self, text: str) -> None:
        """Show the patients matching ``text`` at once (and pick the first)."""
        self.search_edit.setText(text)
        self._on_timer_timeout()

    def _on_model_reset(self) -> None:
        size_columns(self.view, self._formatter, NAME_WIDTH)

    def _on_search_edit_text_changed(self, _text: str) -> None:
        # Nobody is picked while the list catches up with what is typed: the preview and Merge
        # never show a patient the search no longer names.
        self.view.clearSelection()
        self._set_chosen(None)
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
        self.preview: MergePreview | None = None
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
        self.message_label.hide()  # until there is something to say
        layout.addWidget(self.message_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.merge_button = buttons.addButton("&Merge", QDialogButtonBox.ButtonRole.AcceptRole)
        self.merge_button.setEnabled(False)
        for button in buttons.buttons():
            # Enter in a search box searches; it never merges (nor closes the window).
            if isinstance(button, QPushButton):
                button.setAutoDefault(False)
                button.setDefault(False)
        buttons.accepted.connect(self._on_merge_clicked)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.keep_picker.picked.connect(self._on_picked)
        self.merge_picker.picked.connect(self._on_picked)
        self.resize(1140, 660)  # both lists whole on a 1366-pixel screen
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
        self._say("")
        if keep is None or merge is None:
            self.preview_label.setText(
                "Pick the patient to keep on the left and their duplicate on the right."
            )
            return
        try:
            preview = self._clinic.preview_merge(keep, merge)
        except (BillingError, PermissionDenied) as exc:
            self.preview_label.setText("")
            self._say(str(exc))
            return
        self.preview = preview
        self.preview_label.setText(self.describe(preview))
        self.merge_button.setEnabled(True)

    def describe(self, preview: MergePreview) -> str:
        """The preview in words (rich text): each kind of record that moves, the transfers
        cancelled, the details the kept patient gains, and their credit and balance after."""
        keep, merge = preview.keep, preview.merge
        money = self._formatter.money

        def listed(prefix: str, items: tuple[int, ...]) -> str:
            return ", ".join(f"{prefix}{item}" for item in items) if items else "none"

        def shown(value: object) -> str:
            return self._formatter.day(value) if isinstance(value, date) else str(value)

        filled = "; ".join(
            f"{DETAIL_LABELS.get(name, name)}: {shown(value)}"
            for name, value in preview.filled.items()
        )
        rows = [
            ("Invoices", listed("#", preview.invoice_numbers)),
            ("Payments", listed("#", preview.payment_ids)),
            ("Refunds", listed("#", preview.refund_ids)),
            ("Credit notes", listed("CN-", preview.credit_note_numbers)),
            ("Credit transfers", listed("#", preview.transfer_ids)),
        ]
        if preview.cancelled_transfer_ids:
            rows.append(
                (
                    "Transfers between the two, cancelled",
                    listed("#", preview.cancelled_transfer_ids),
                )
            )
        rows.append((f"Details {keep.full_name} gains", filled or "none"))
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
        except (BillingError, PermissionDenied) as exc:
            if exc.code == Refusal.CONCURRENT_CHANGE:
                self.refresh_preview()  # what would move now
                self._say(f"{exc} It has been read again above.")
            else:
                self._say(str(exc))
            grow_to_fit(self)
            return False
        self.kept_id = keep
        return True

    def _say(self, text: str) -> None:
        """Show ``text`` in the message line (hidden when empty)."""
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        """Enter in a text box (a search, the reason) never merges: a dialog's Enter would
        press its Merge button. In a search box it runs the search at once."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and isinstance(
            self.focusWidget(), QLineEdit
        ):
            for picker in (self.keep_picker, self.merge_picker):
                if self.focusWidget() is picker.search_edit:
                    picker.search(picker.search_edit.text())
            event.accept()
            return
        super().keyPressEvent(event)

    def confirm(self) -> bool:
        """Ask once more, naming both patients: a merge cannot be undone."""
        preview = self.preview
        if preview is None:
            return False
        answer = QMessageBox.question(
            self,
            "Merge duplicate",
            f"Merge {preview.merge.full_name} (#{preview.merge.id}) into "
            f"{preview.keep.full_name} (#{preview.keep.id})? This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _on_merge_clicked(self) -> None:
        if self.confirm() and self.merge():
            self.accept()

    def _on_picked(self, _patient_id: object = None) -> None:
        self.refresh_preview()
