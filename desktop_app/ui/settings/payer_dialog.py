"""The payer window: a third-party payer's name, kind, reference label and contact details.

The reference label is what the payer calls a claim ("Claim number", "Purchase order"); left
empty, it is the kind's usual one, shown in the field until something is typed. OK asks the core
to save; a refusal is shown next to the field it names and nothing is saved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import DEFAULT_REFERENCE_LABEL, BillingError, PayerKind, PayerRecord
from desktop_app.ui.forms import FieldProblems
from desktop_app.ui.style import PROBLEM_TONE, set_tone

if TYPE_CHECKING:
    from desktop_app.core import Clinic

#: The fields the window edits, by the core's name, in order.
FIELDS = ("name", "kind", "reference_label", "email", "phone", "address", "notes")


def kind_label(kind: PayerKind) -> str:
    """How a kind reads on screen: "Workers compensation"."""
    return kind.value.capitalize()


def _text_box(lines: int, placeholder: str) -> QPlainTextEdit:
    box = QPlainTextEdit()
    box.setTabChangesFocus(True)
    box.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    box.setPlaceholderText(placeholder)
    box.setFixedHeight(box.fontMetrics().lineSpacing() * lines + 16)
    return box


class PayerDialog(FieldProblems, QDialog):
    """Adds a payer (``payer`` None) or edits ``payer``."""

    def __init__(
        self,
        clinic: Clinic,
        payer: PayerRecord | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self.payer = payer
        #: The id saved by OK (the new payer's, or the edited one's).
        self.saved_id: int | None = None
        self.setWindowTitle(f"Edit payer: {payer.name}" if payer else "New payer")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.name_edit = QLineEdit(payer.name if payer else "")
        self.name_edit.setAccessibleName("Payer name")
        self.name_edit.setPlaceholderText("e.g. Bupa, WorkCover NSW, NDIS")
        self.kind_combo = QComboBox()
        self.kind_combo.setAccessibleName("Kind of payer")
        for kind in PayerKind:
            self.kind_combo.addItem(kind_label(kind), kind)
        if payer:
            self.kind_combo.setCurrentIndex(self.kind_combo.findData(payer.kind))
        self.reference_edit = QLineEdit()
        self.reference_edit.setAccessibleName("Reference label")
        if payer and payer.reference_label != DEFAULT_REFERENCE_LABEL[payer.kind]:
            self.reference_edit.setText(payer.reference_label)
        self.kind_combo.currentIndexChanged.connect(self._show_usual_label)
        self._show_usual_label()
        self.email_edit = QLineEdit((payer.email or "") if payer else "")
        self.email_edit.setAccessibleName("Email")
        self.email_edit.setPlaceholderText("claims@example.org")
        self.phone_edit = QLineEdit((payer.phone or "") if payer else "")
        self.phone_edit.setAccessibleName("Phone")
        self.address_edit = _text_box(3, "Where claims and letters go")
        self.address_edit.setAccessibleName("Address")
        self.address_edit.setPlainText((payer.address or "") if payer else "")
        self.notes_edit = _text_box(3, "e.g. how claims are lodged, when remittances arrive")
        self.notes_edit.setAccessibleName("Notes")
        self.notes_edit.setPlainText((payer.notes or "") if payer else "")
        #: The edit of each field, by the core's field name.
        self.edits: dict[str, QWidget] = dict(
            zip(
                FIELDS,
                (
                    self.name_edit,
                    self.kind_combo,
                    self.reference_edit,
                    self.email_edit,
                    self.phone_edit,
                    self.address_edit,
                    self.notes_edit,
                ),
                strict=True,
            )
        )
        #: The problem label under each field, by the core's field name.
        self.problems: dict[str, QLabel] = {}
        for field, label in zip(
            FIELDS,
            (
                "&Name:",
                "&Kind:",
                "&Reference label:",
                "&Email:",
                "&Phone:",
                "&Address:",
                "N&otes:",
            ),
            strict=True,
        ):
            form.addRow(label, self.edits[field])
            form.addRow("", self.problem_label(field))
        layout.addLayout(form)
        note = QLabel(
            "The reference label is what this payer calls a claim; invoices billed to it ask "
            "for one under that name."
        )
        note.setWordWrap(True)
        layout.addWidget(note)
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
        self.name_edit.setFocus()

    def kind(self) -> PayerKind:
        """The kind chosen."""
        return PayerKind(self.kind_combo.currentData())

    def reference_label(self) -> str:
        """The reference label typed, or the kind's usual one when the field is empty."""
        return self.reference_edit.text().strip() or DEFAULT_REFERENCE_LABEL[self.kind()]

    def _show_usual_label(self) -> None:
        self.reference_edit.setPlaceholderText(
            f"{DEFAULT_REFERENCE_LABEL[self.kind()]} (the usual for this kind)"
        )

    def details(self) -> dict[str, str | None]:
        """The optional details as typed (None where empty)."""
        return {
            "email": self.email_edit.text().strip() or None,
            "phone": self.phone_edit.text().strip() or None,
            "address": self.address_edit.toPlainText().strip() or None,
            "notes": self.notes_edit.toPlainText().strip() or None,
        }

    def save(self) -> bool:
        """Ask the core to save what is typed; False (and the refusal shown) when refused."""
        name = self.name_edit.text()
        try:
            if self.payer is None:
                self.saved_id = self._clinic.add_payer(
                    name,
                    kind=self.kind(),
                    reference_label=self.reference_label(),
                    **self.details(),
                )
            else:
                self._clinic.update_payer(
                    self.payer.id,
                    name=name,
                    kind=self.kind(),
                    reference_label=self.reference_label(),
                    **self.details(),
                )
                self.saved_id = self.payer.id
        except BillingError as exc:
            self.show_problem(exc)
            return False
        return True

    def _on_accepted(self) -> None:
        if self.save():
            self.accept()
