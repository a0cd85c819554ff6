"""New patient and Edit patient: one dialog with every detail the front desk keeps.

The details sit in four sections side by side (Person, Contact, Address, Billing) so the whole
patient fits a 1366x768 screen without tabs. Saving adds the patient, or changes only the fields
that were changed; a refusal is shown in the message line and marks the field it names (the
core's ``BillingError.field``), and nothing is saved. Under them, the Payers section lists the
patient's memberships (health fund, insurer, scheme), each added, changed or removed at once
(:mod:`desktop_app.ui.dialogs.memberships`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BillingError, PermissionDenied
from desktop_app.ui.dialogs.memberships import PayersBox
from desktop_app.ui.forms import GuardedDialog, mark_field
from desktop_app.ui.style import PROBLEM_TONE, set_tone
from desktop_app.ui.widgets.date_edit import OptionalDateEdit, with_clear_button
from desktop_app.ui.window_fit import grow_to_fit

if TYPE_CHECKING:
    from desktop_app.core import Clinic, PatientRecord


@dataclass(frozen=True)
class Field:
    """One field of the dialog: the patient detail it edits and how it is shown."""

    name: str
    label: str
    lines: int = 0  # 0: one line; else a multi-line box this many lines tall
    placeholder: str = ""
    max_length: int = 0  # 0: no limit in the window (the core checks every length anyway)


#: The sections and their fields, in order (the names are the core's detail names).
SECTIONS: tuple[tuple[str, tuple[Field, ...]], ...] = (
    (
        "Person",
        (
            Field("first_name", "&First name:"),
            Field("last_name", "&Last name:"),
            Field("title", "T&itle:", placeholder="Ms, Mr, Dr…"),
            Field("preferred_name", "&Preferred name:"),
            Field("date_of_birth", "Date of &birth:"),
            Field("notes", "&Notes:", lines=3),
        ),
    ),
    (
        "Contact",
        (
            Field("mobile", "&Mobile:", placeholder="0412 345 678"),
            Field("phone", "&Other phone:"),
            Field("email", "&Email:", placeholder="name@example.org"),
        ),
    ),
    (
        "Address",
        (
            Field("address", "&Address:", lines=3),
            Field("city", "Cit&y:"),
            Field("region", "State or re&gion:"),
            Field("postcode", "Postco&de:"),
            Field("country", "Co&untry:", placeholder="AU", max_length=2),
        ),
    ),
    (
        "Billing",
        (
            Field("concession", "Concession &type:", placeholder="Pensioner, student…"),
            Field("invoice_to", "In&voice to:", lines=3, placeholder="When someone else pays"),
            Field(
                "invoice_extra",
                "E&xtra information:",
                lines=3,
                placeholder="Printed on invoices: claim number, referring doctor…",
            ),
        ),
    ),
)
#: Where each section sits: (row, column) in a two-column grid.
_PLACES = {"Person": (0, 0), "Contact": (1, 0), "Address": (0, 1), "Billing": (1, 1)}
#: Every field by detail name.
FIELDS: dict[str, Field] = {field.name: field for _, fields in SECTIONS for field in fields}

Value = str | date | None
#: The least width of a text field (pixels), so the two columns read as a form.
FIELD_WIDTH = 240


def _multi_line(field: Field) -> QPlainTextEdit:
    edit = QPlainTextEdit()
    edit.setTabChangesFocus(True)  # Tab moves on; a box never swallows it
    edit.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    edit.setPlaceholderText(field.placeholder)
    margins = edit.contentsMargins()
    height = (
        edit.fontMetrics().lineSpacing() * field.lines
        + 2 * int(edit.document().documentMargin())
        + margins.top()
        + margins.bottom()
        + 4
    )
    edit.setFixedHeight(height)
    edit.setMinimumWidth(FIELD_WIDTH)
    return edit


class PatientDialog(GuardedDialog):
    """Adds a patient, or edits ``patient``'s names and details.

    After Save, ``patient_id`` holds the patient's id and ``changed`` the names of the fields
    saved (every field given, for a new patient).
    """

    def __init__(
        self, clinic: Clinic, parent: QWidget | None = None, patient: PatientRecord | None = None
    ) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self._patient = patient
        self.patient_id: int | None = None
        self.changed: tuple[str, ...] = ()
        if patient is None:
            self.setWindowTitle("New patient")
            self.discard_question = "Discard this new patient?"
        else:
            self.setWindowTitle(f"Edit patient: {patient.full_name}")
            self.discard_question = f"Discard your changes to {patient.full_name}?"
        #: The edit of each detail (and of the two names), by the core's detail name.
        self.fields: dict[str, QWidget] = {}
        grid = QGridLayout()
        for title, fields in SECTIONS:
            box = QGroupBox(title)
            form = QFormLayout(box)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            for field in fields:
                edit, shown = self._make(field)
                self.fields[field.name] = edit
                label = QLabel(field.label)
                label.setBuddy(edit)
                form.addRow(label, shown)
            grid.addWidget(box, *_PLACES[title])
        #: The patient's payers (memberships), saved as they are changed.
        self.payers_box = PayersBox(clinic, None if patient is None else patient.id)
        grid.addWidget(self.payers_box, 2, 0, 1, 2)
        grid.setRowStretch(3, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        self.first_edit: QLineEdit = self._line("first_name")
        self.last_edit: QLineEdit = self._line("last_name")
        self.birth_edit = self.fields["date_of_birth"]
        assert isinstance(self.birth_edit, OptionalDateEdit)
        self._initial: dict[str, Value] = {}
        if patient is not None:
            for name in self.fields:
                self.set_value(name, getattr(patient, name))
        self._initial = {name: self.value(name) for name in self.fields}
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        self.message_label = QLabel()
        self.message_label.setAccessibleName("Message")
        set_tone(self.message_label, PROBLEM_TONE)
        self.message_label.setWordWrap(True)
        self.message_label.hide()  # until there is something to say
        layout.addWidget(self.message_label)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._on_buttons_accepted)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.first_edit.setFocus()

    # -- the fields ---------------------------------------------------------------------------

    def _make(self, field: Field) -> tuple[QWidget, QWidget]:
        """The edit for ``field`` and what the form shows (the edit, or the edit in a box)."""
        accessible = field.label.replace("&", "").rstrip(":")
        if field.name == "date_of_birth":
            edit = OptionalDateEdit()
            edit.setAccessibleName(accessible)
            edit.textChanged.connect(lambda _text, e=edit: mark_field(e, None))
            return edit, with_clear_button(edit)
        if field.lines:
            box = _multi_line(field)
            box.setAccessibleName(accessible)
            box.textChanged.connect(lambda b=box: mark_field(b, None))
            return box, box
        line = QLineEdit()
        line.setAccessibleName(accessible)
        line.setPlaceholderText(field.placeholder)
        if field.max_length:
            line.setMaxLength(field.max_length)
            line.setMaximumWidth(line.fontMetrics().horizontalAdvance("MMMM") + 16)
        else:
            line.setMinimumWidth(FIELD_WIDTH)
        line.textChanged.connect(lambda _text, e=line: mark_field(e, None))
        return line, line

    def _line(self, name: str) -> QLineEdit:
        edit = self.fields[name]
        assert isinstance(edit, QLineEdit)
        return edit

    def value(self, name: str) -> Value:
        """What the field ``name`` holds now: its text, or a date (None: no date given)."""
        edit = self.fields[name]
        if isinstance(edit, OptionalDateEdit):
            return edit.value()
        if isinstance(edit, QPlainTextEdit):
            return edit.toPlainText()
        assert isinstance(edit, QLineEdit)
        return edit.text()

    def set_value(self, name: str, value: Value) -> None:
        """Put ``value`` in the field ``name`` (text, or a date for the date of birth)."""
        edit = self.fields[name]
        if isinstance(edit, OptionalDateEdit):
            edit.set_day(value if isinstance(value, date) else None)
        elif isinstance(edit, QPlainTextEdit):
            edit.setPlainText(str(value or ""))
        elif isinstance(edit, QLineEdit):
            edit.setText(str(value or ""))

    def has_typed_work(self) -> bool:
        """Whether a detail was changed: the Payers section saves as it goes, so its list
        changing is no work to lose."""
        return bool(self.changes())

    def changes(self) -> dict[str, Value]:
        """The fields whose value differs from when the dialog opened."""
        return {
            name: value
            for name in self.fields
            if (value := self.value(name)) != self._initial.get(name)
        }

    # -- saving -------------------------------------------------------------------------------

    def _save(self) -> None:
        if self._patient is None:
            given = {
                name: value
                for name in self.fields
                if (value := self.value(name)) not in ("", None)
                and name not in ("first_name", "last_name")
            }
            self.patient_id = self._clinic.add_patient(
                self.first_edit.text(), self.last_edit.text(), **given
            )
            self.changed = ("first_name", "last_name", *given)
            return
        changes = self.changes()
        if changes:
            self._clinic.update_patient(self._patient.id, **changes)
        self.patient_id = self._patient.id
        self.changed = tuple(changes)

    def _on_buttons_accepted(self) -> None:
        for edit in self.fields.values():
            mark_field(edit, None)
        try:
            self._save()
        except (BillingError, PermissionDenied) as exc:
            self.patient_id = None
            self.message_label.setText(str(exc))
            self.message_label.show()
            refused = self.fields.get(exc.field or "")
            if refused is not None:
                mark_field(refused, str(exc))
                refused.setFocus()
            grow_to_fit(self)  # the whole message, however long
            return
        self.accept()
