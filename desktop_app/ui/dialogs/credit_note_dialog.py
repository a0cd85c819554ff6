"""Credit note: credit all or part of an invoice, with a live explanation of where it goes."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import credit_note_split, parse_minor, to_decimal
from desktop_app.ui.dialogs.money_action_base import (
    MoneyActionDialog,
    date_edit,
    figure,
    heading,
    plain_amount,
    reason_edit,
    tab_chain,
)
from desktop_app.ui.forms import pydate
from desktop_app.ui.style import INFO_TONE, set_tone
from desktop_app.ui.widgets.money_edit import MoneyEdit

if TYPE_CHECKING:
    from desktop_app.core import Clinic, InvoiceRecord, PatientRecord
    from desktop_app.ui.formatting import Formatter


class CreditNoteDialog(MoneyActionDialog):
    """Credit all or part of an invoice, with a live explanation of where the credit goes.

    What the invoice still owes is reduced first; the rest (what the patient had already paid)
    returns to their account credit, or is refunded at once. ``saved_id`` holds the credit note's
    id once it is issued.
    """

    discard_question = "Discard this credit note?"

    REQUEST_PREFIX = "credit-note"
    AMOUNT_WHAT = "the credit"

    def __init__(
        self,
        clinic: Clinic,
        invoice_id: int,
        formatter: Formatter,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(clinic, formatter, parent)
        self._invoice_id = invoice_id
        self._invoice = clinic.invoice(invoice_id)
        self._creditable = 0
        patient = clinic.patient(self._invoice.patient_id)
        self.setWindowTitle(f"Credit note for invoice #{self._invoice.number}")
        self._build(patient, clinic.payment_types())
        self._load()
        self._refresh()
        self.reason_edit.setFocus()

    def _build(self, patient: PatientRecord, methods: list[str]) -> None:
        invoice = self._invoice
        layout = QVBoxLayout(self)
        self.name_label = heading(
            f"Invoice #{invoice.number}: {patient.full_name}", "Invoice and patient"
        )
        layout.addWidget(self.name_label)
        issued = QLabel(f"Issued {self._formatter.day(invoice.issue_date)}")
        set_tone(issued, INFO_TONE)
        layout.addWidget(issued)

        figures_box = QGroupBox("The invoice now")
        figures = QGridLayout(figures_box)
        figures.setHorizontalSpacing(24)
        figures.setColumnStretch(2, 1)  # amounts line up next to their names, not far right
        self.figure_labels: dict[str, QLabel] = {}
        for row, (key, text) in enumerate(
            (
                ("total", "Total"),
                ("paid", "Paid"),
                ("credited", "Already credited"),
                ("balance", "Balance"),
                ("creditable", "Can still be credited"),
            )
        ):
            label = figure(text, bold=key == "creditable")
            self.figure_labels[key] = label
            figures.addWidget(QLabel(f"{text}:"), row, 0)
            figures.addWidget(label, row, 1)
        layout.addWidget(figures_box)

        note_box = QGroupBox("Credit note")
        note = QVBoxLayout(note_box)
        self.whole_radio = QRadioButton("Credit the &whole remaining amount")
        self.whole_radio.setAccessibleName("Credit the whole remaining amount")
        self.part_radio = QRadioButton("Credit &part:")
        self.part_radio.setAccessibleName("Credit part of the invoice")
        self._scope = QButtonGroup(self)
        self._scope.addButton(self.whole_radio)
        self._scope.addButton(self.part_radio)
        self.whole_radio.setChecked(True)
        self.whole_radio.toggled.connect(self._on_whole_radio_toggled)
        note.addWidget(self.whole_radio)
        part_row = QHBoxLayout()
        part_row.addWidget(self.part_radio)
        self.amount_edit = MoneyEdit("Amount to credit")
        self.amount_edit.setEnabled(False)
        self.amount_edit.textChanged.connect(self._on_amount_edit_text_changed)
        part_row.addWidget(self.amount_edit, 1)
        note.addLayout(part_row)
        form = QFormLayout()
        self.reason_edit = reason_edit("Reason for the credit note", required=True)
        self.reason_edit.textChanged.connect(self._on_reason_edit_text_changed)
        form.addRow("&Reason:", self.reason_edit)
        self.date_edit = date_edit("Credit note date", earliest=invoice.issue_date)
        form.addRow("&Date:", self.date_edit)
        note.addLayout(form)
        refund_row = QHBoxLayout()
        self.refund_check = QCheckBox("Refund the credit at once &by")
        self.refund_check.setAccessibleName("Refund the credit at once")
        self.refund_check.setEnabled(bool(methods))
        self.refund_check.toggled.connect(self._on_refund_check_toggled)
        refund_row.addWidget(self.refund_check)
        self.refund_method_combo = QComboBox()
        self.refund_method_combo.setAccessibleName("Refund method")
        self.refund_method_combo.addItems(methods)
        self.refund_method_combo.setEnabled(False)
        self.refund_method_combo.currentTextChanged.connect(self._on_refund_method_changed)
        refund_row.addWidget(self.refund_method_combo, 1)
        note.addLayout(refund_row)
        layout.addWidget(note_box)

        what_box = QGroupBox("What will happen")
        what = QVBoxLayout(what_box)
        self.explanation_label = QLabel()
        self.explanation_label.setWordWrap(True)
        self.explanation_label.setAccessibleName("What will happen")
        self.explanation_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        what.addWidget(self.explanation_label)
        layout.addWidget(what_box)

        self._add_message_and_buttons(layout, "&Issue credit note", stretch=True)
        tab_chain(
            [
                self.whole_radio,
                self.part_radio,
                self.amount_edit,
                self.reason_edit,
                self.date_edit,
                self.refund_check,
                self.refund_method_combo,
                self.save_button,
                self.cancel_button,
            ]
        )

    # -- figures ----------------------------------------------------------------------------

    def _minor(self, amount: Decimal) -> int:
        return parse_minor(amount, self._currency, allow_negative=True)

    def _money(self, minor: int) -> str:
        return self._formatter.money(to_decimal(minor, self._currency))

    def _load(self) -> None:
        """Read the invoice and its live credit notes; show the figures."""
        invoice = self._invoice
        noted = sum(
            (
                note.amount
                for note in self._clinic.credit_notes(invoice.account_id)  # a payer's, if billed
                if note.invoice_id == invoice.id and not note.reversed
            ),
            Decimal(0),
        )
        self._creditable = max(self._minor(invoice.total - noted), 0)
        money = self._formatter.money
        self.figure_labels["total"].setText(money(invoice.total))
        self.figure_labels["paid"].setText(money(invoice.paid))
        self.figure_labels["credited"].setText(money(invoice.credited))
        self.figure_labels["balance"].setText(money(invoice.balance))
        self.figure_labels["creditable"].setText(self._money(self._creditable))

    def _reload(self) -> None:
        # Another computer may have paid or credited the invoice: show it as it is now
        self._invoice = self._clinic.invoice(self._invoice_id)
        self._load()

    @property
    def creditable(self) -> Decimal:
        """How much of the invoice can still be credited (its total less live credit notes)."""
        return to_decimal(self._creditable, self._currency)

    @property
    def invoice(self) -> InvoiceRecord:
        """The invoice as last read."""
        return self._invoice

    # -- preview ----------------------------------------------------------------------------

    def _amount(self) -> tuple[int | None, str | None]:
        if self.whole_radio.isChecked():
            return self._creditable, None
        return super()._amount()

    def _explain(self, minor: int | None) -> str:
        invoice = self._invoice
        number = invoice.number
        if invoice.status == "void":
            return f"Invoice #{number} is void: there is nothing to credit."
        if self._creditable <= 0:
            return f"Invoice #{number} is already credited in full."
        if minor is None or minor <= 0:
            return "Enter the amount to credit."
        if minor > self._creditable:
            return f"That is more than the {self._money(self._creditable)} that can be credited."
        balance = self._minor(invoice.balance)
        owed, rest = credit_note_split(balance, minor)
        lines: list[str] = []
        if owed:
            left = balance - owed
            after = "nothing is left to pay" if left == 0 else f"{self._money(left)} still to pay"
            lines.append(f"Invoice #{number} will owe {self._money(owed)} less ({after}).")
        refund_method = self._refund_method()
        if rest:
            goes = f"{self._money(rest)} returns to {self._credit_holder()}"
            if refund_method:
                goes += f" and is refunded by {refund_method} at once"
            lines.append(goes + ".")
        elif refund_method:
            lines.append("Nothing becomes account credit, so there is nothing to refund.")
        return "\n".join(lines)

    def _credit_holder(self) -> str:
        """Whose credit what the invoice no longer owes becomes: the patient's, or the payer's
        the invoice is billed to."""
        payer = self._invoice.payer_id
        if payer is None:
            return "the patient's account credit"
        return f"{self._clinic.payer(payer).name}'s credit"

    def _refund_method(self) -> str | None:
        if not self.refund_check.isChecked():
            return None
        return self.refund_method_combo.currentText() or None

    def _preview(self, minor: int | None, error: str | None) -> None:
        self.explanation_label.setText(self._explain(minor) if error is None else "")

    def _can_save(self) -> bool:
        return (
            self._invoice.status != "void"
            and self._creditable > 0
            and bool(self.reason_edit.text().strip())
            and (not self.refund_check.isChecked() or self._refund_method() is not None)
        )

    def _save(self) -> int:
        whole = self.whole_radio.isChecked()
        return self._clinic.credit_note(
            self._invoice_id,
            None if whole else self.amount_edit.text().strip(),
            reason=self.reason_edit.text().strip(),
            request_id=self.request_id,
            note_date=pydate(self.date_edit.date()),
            refund_method=self._refund_method(),
        )

    # -- slots ------------------------------------------------------------------------------

    def _on_whole_radio_toggled(self, whole: bool) -> None:
        self.amount_edit.setEnabled(not whole)
        if not whole:
            if not self.amount_edit.text():
                self.amount_edit.setText(plain_amount(self.creditable))
            self.amount_edit.setFocus()
            self.amount_edit.selectAll()
        self._refresh()

    def _on_refund_check_toggled(self, checked: bool) -> None:
        self.refund_method_combo.setEnabled(checked)
        self._refresh()

    def _on_refund_method_changed(self, _text: str) -> None:
        self._refresh()
