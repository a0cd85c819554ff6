"""A patient's payers in their details: the memberships (health fund, insurer, scheme, ...) with
member number, the dates they are valid, and which payer the patient's new invoices go to.

:class:`PayersBox` is the "Payers" section of the patient details dialog; each Add, Change and
Remove saves at once (OK and Cancel of the details do not undo it). :class:`MembershipDialog`
adds or changes one membership; a refusal is shown next to the field it names and nothing is
saved. Only active payers are offered.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BillingError, MembershipRecord, PayerRecord, Permission
from desktop_app.ui.forms import FieldProblems
from desktop_app.ui.style import DONE_TONE, PROBLEM_TONE, set_tone
from desktop_app.ui.widgets.date_edit import SHOWN, OptionalDateEdit, with_clear_button
from desktop_app.ui.window_fit import grow_to_fit

if TYPE_CHECKING:
    from desktop_app.core import Clinic

COLUMNS = ("Payer", "Member number", "Valid from", "Valid to", "Default for new invoices")
#: The fields of a membership, by the core's name.
FIELDS = ("payer", "member_number", "valid_from", "valid_to", "default_for_invoices")
#: Rows of the section's table visible without scrolling.
VISIBLE_ROWS = 3


def day_text(day: date | None) -> str:
    """``1 Jul 2026`` (as the date edits show a date), or a dash."""
    return "—" if day is None else day.strftime(SHOWN).lstrip("0")


class MembershipDialog(FieldProblems, QDialog):
    """Adds a membership of ``patient_id`` (``membership`` None) or changes ``membership``;
    ``payers`` are the active payers offered for a new one."""

    def __init__(
        self,
        clinic: Clinic,
        patient_id: int,
        payers: list[PayerRecord],
        membership: MembershipRecord | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self.patient_id = patient_id
        self.membership = membership
        #: The id saved by OK (the new membership's, or the changed one's).
        self.saved_id: int | None = None
        self.setWindowTitle(
            f"Membership of {membership.payer_name}" if membership else "Add a payer"
        )
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.payer_combo = QComboBox()
        self.payer_combo.setAccessibleName("Payer")
        if membership is None:
            for payer in payers:
                self.payer_combo.addItem(payer.name, payer.id)
        else:  # the payer of a membership stays: remove it and add another instead
            self.payer_combo.addItem(membership.payer_name, membership.payer_id)
            self.payer_combo.setEnabled(False)
        self.number_edit = QLineEdit((membership.member_number or "") if membership else "")
        self.number_edit.setAccessibleName("Member number")
        self.number_edit.setPlaceholderText("As on the patient's card")
        self.from_edit = OptionalDateEdit()
        self.to_edit = OptionalDateEdit()
        for edit, name, day in (
            (self.from_edit, "Valid from", membership.valid_from if membership else None),
            (self.to_edit, "Valid to", membership.valid_to if membership else None),
        ):
            edit.setAccessibleName(name)
            example = "12/31/2026" if edit.month_before_day else "31/12/2026"
            edit.setPlaceholderText(f"Open-ended (or a date such as {example})")
            edit.set_day(day)
        self.default_check = QCheckBox("New &invoices go to this payer")
        self.default_check.setChecked(membership.default_for_invoices if membership else False)
        self.default_check.setToolTip(
            "While the membership is valid, the patient's new invoices are billed to this payer "
            "(it replaces another payer's default)."
        )
        #: The edit of each field, by the core's field name.
        self.edits: dict[str, QWidget] = dict(
            zip(
                FIELDS,
                (
                    self.payer_combo,
                    self.number_edit,
                    self.from_edit,
                    self.to_edit,
                    self.default_check,
                ),
                strict=True,
            )
        )
        self.problems: dict[str, QLabel] = {}
        for field, label, shown in (
            ("payer", "&Payer:", self.payer_combo),
            ("member_number", "&Member number:", self.number_edit),
            ("valid_from", "Valid &from:", with_clear_button(self.from_edit)),
            ("valid_to", "Valid &to:", with_clear_button(self.to_edit)),
            ("default_for_invoices", "", self.default_check),
        ):
            form.addRow(label, shown)
            form.addRow("", self.problem_label(field))
        layout.addLayout(form)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        set_tone(self.message_label, PROBLEM_TONE)
        layout.addWidget(self.message_label)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._on_accepted)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def save(self) -> bool:
        """Ask the core to save what is typed; False (and the refusal shown) when refused."""
        # A date typed that is not one goes to the core as typed, for it to refuse on its field.
        values: dict[str, Any] = {
            "member_number": self.number_edit.text().strip() or None,
            "valid_from": self.from_edit.value(),
            "valid_to": self.to_edit.value(),
            "default_for_invoices": self.default_check.isChecked(),
        }
        try:
            if self.membership is None:
                payer = self.payer_combo.currentData()
                if payer is None:
                    raise BillingError(
                        "Choose the payer (add payers in Settings > Payers).", field="payer"
                    )
                self.saved_id = self._clinic.add_membership(self.patient_id, payer, **values)
            else:
                self._clinic.update_membership(self.membership.id, **values)
                self.saved_id = self.membership.id
        except BillingError as exc:
            self.show_problem(exc)
            return False
        return True

    def _on_accepted(self) -> None:
        if self.save():
            self.accept()


class PayersBox(QGroupBox):
    """The "Payers" section of a patient's details: their memberships, added, changed and
    removed at once. ``patient_id`` None (a patient not saved yet) shows how to add them."""

    def __init__(
        self, clinic: Clinic, patient_id: int | None, parent: QWidget | None = None
    ) -> None:
        super().__init__("Payers", parent)
        self._clinic = clinic
        self.patient_id = patient_id
        #: Whether this role may change the patient's payers.
        self.may_edit = patient_id is not None and clinic.may(Permission.PATIENTS)
        self.memberships: list[MembershipRecord] = []
        #: Every payer (archived too) by id, to mark an archived payer's membership.
        self.payers: dict[int, PayerRecord] = {}
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("The patient's payers")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        row_height = self.table.verticalHeader().defaultSectionSize()
        self.table.setFixedHeight(
            header.sizeHint().height() + VISIBLE_ROWS * row_height + 2 * self.table.frameWidth()
        )
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.table.doubleClicked.connect(lambda _index: self.change_selected())
        left.addWidget(self.table)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setAccessibleName("Payers message")
        left.addWidget(self.message_label)
        layout.addLayout(left, 1)
        buttons = QVBoxLayout()
        self.add_button = QPushButton("Add payer…")
        self.add_button.setToolTip("Record a health fund, insurer or scheme that pays for them")
        self.add_button.clicked.connect(lambda: self.add_membership())
        self.change_button = QPushButton("C&hange…")
        self.change_button.clicked.connect(lambda: self.change_selected())
        self.remove_button = QPushButton("&Remove")
        self.remove_button.clicked.connect(lambda: self.remove_selected())
        for button in (self.add_button, self.change_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.reload()

    def active_payers(self) -> list[PayerRecord]:
        """The payers a new membership may name (archived ones are not offered)."""
        return [payer for payer in self.payers.values() if not payer.archived]

    def reload(self) -> None:
        """Read the patient's memberships (and the payers) again."""
        keep = self.selected()
        self.payers = {p.id: p for p in self._clinic.payers(include_archived=True)}
        self.memberships = (
            [] if self.patient_id is None else self._clinic.memberships(self.patient_id)
        )
        self.table.setRowCount(0)
        for membership in self.memberships:
            row = self.table.rowCount()
            self.table.insertRow(row)
            payer = self.payers.get(membership.payer_id)
            name = membership.payer_name
            if payer is not None and payer.archived:
                name += " (archived)"
            for column, text in enumerate(
                (
                    name,
                    membership.member_number or "—",
                    day_text(membership.valid_from),
                    day_text(membership.valid_to),
                    "Yes" if membership.default_for_invoices else "—",
                )
            ):
                self.table.setItem(row, column, QTableWidgetItem(text))
            if keep is not None and membership.id == keep.id:
                self.table.selectRow(row)
        self._explain()
        self._on_selection_changed()

    def _explain(self) -> None:
        """Say what the section is for when there is nothing to list or nothing to offer."""
        if self.patient_id is None:
            text = "Save the new patient first; then add their payers here."
        elif not self.active_payers():
            text = "No payers yet: add health funds, insurers and schemes in Settings > Payers."
        elif not self.memberships:
            text = "No payers: the patient pays their own invoices."
        else:
            text = "A payer added, changed or removed here is saved at once."
        self._say(text, None)

    def _say(self, text: str, tone: str | None) -> None:
        self.message_label.setText(text)
        set_tone(self.message_label, tone)

    def selected(self) -> MembershipRecord | None:
        """The membership selected in the table."""
        rows = self.table.selectionModel().selectedRows() if self.memberships else []
        return self.memberships[rows[0].row()] if rows else None

    def select_payer(self, name: str) -> bool:
        """Select the membership of the payer ``name``; False if there is none."""
        for row, membership in enumerate(self.memberships):
            if membership.payer_name.casefold() == name.casefold():
                self.table.selectRow(row)
                return True
        return False

    def membership_dialog(self, membership: MembershipRecord | None = None) -> MembershipDialog:
        """The membership window (a new membership when ``membership`` is None); tests answer
        it."""
        assert self.patient_id is not None
        return MembershipDialog(
            self._clinic, self.patient_id, self.active_payers(), membership, self
        )

    def _saved(self, text: str) -> None:
        self.reload()
        self._say(text, DONE_TONE)
        window = self.window()
        if isinstance(window, QDialog) and window.isVisible():
            grow_to_fit(window)

    def add_membership(self) -> bool:
        """Open the membership window for a new payer of the patient; True if one was saved."""
        if not self.may_edit or not self.active_payers():
            return False
        dialog = self.membership_dialog()
        if not dialog.exec():
            return False
        name = dialog.payer_combo.currentText()
        self._saved(f"Added {name}.")
        self.select_payer(name)
        return True

    def change_selected(self) -> bool:
        """Open the membership window for the selected membership; True if it was saved."""
        membership = self.selected()
        if membership is None or not self.may_edit:
            return False
        dialog = self.membership_dialog(membership)
        if not dialog.exec():
            return False
        self._saved(f"Saved {membership.payer_name}.")
        return True

    def confirm_remove(self, membership: MembershipRecord) -> bool:
        """Ask before removing ``membership``; tests replace this."""
        answer = QMessageBox.question(
            self,
            "Remove payer",
            f"Remove {membership.payer_name} from this patient's payers? Invoices already billed "
            "to it stay billed to it.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def remove_selected(self) -> bool:
        """Remove the selected membership after asking; True if it was removed."""
        membership = self.selected()
        if membership is None or not self.may_edit or not self.confirm_remove(membership):
            return False
        try:
            self._clinic.remove_membership(membership.id)
        except BillingError as exc:
            self._say(str(exc), PROBLEM_TONE)
            return False
        self._saved(f"Removed {membership.payer_name}; invoices billed to it are unchanged.")
        return True

    def _on_selection_changed(self) -> None:
        chosen = self.may_edit and self.selected() is not None
        self.add_button.setEnabled(self.may_edit and bool(self.active_payers()))
        self.change_button.setEnabled(chosen)
        self.remove_button.setEnabled(chosen)
