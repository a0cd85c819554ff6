"""New invoice: billable lines (description, quantity, unit price, tax %), with live totals.

Line arithmetic comes from the core (:func:`desktop_app.core.parse_lines`), so the totals
shown are the totals saved.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateEdit,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BillingError, PermissionDenied, parse_lines, to_decimal
from desktop_app.ui.formatting import Formatter
from desktop_app.ui.forms import GuardedDialog, pydate, qdate, set_date_format
from desktop_app.ui.style import PROBLEM_TONE, set_tone

DESCRIPTION, QUANTITY, PRICE, TAX, AMOUNT = range(5)
HEADERS = ("Description", "Qty", "Unit price", "Tax %", "Amount")
PAYMENT_TERMS_DAYS = 14


if TYPE_CHECKING:
    from desktop_app.core import Clinic


class InvoiceDialog(GuardedDialog):
    """Issues an invoice to one patient. ``invoice_id`` holds the new id after saving;
    ``pay_now`` is True when staff chose "Save and enter payment"."""

    discard_question = "Discard this invoice?"

    def __init__(
        self,
        clinic: Clinic,
        formatter: Formatter,
        patient_id: int,
        patient_name: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self._formatter = formatter
        self._currency = clinic.currency
        self._patient_id = patient_id
        self.invoice_id: int | None = None
        self.pay_now = False
        self.setWindowTitle(f"New invoice: {patient_name}")
        self.setMinimumSize(640, 420)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        today = date.today()
        self.issue_edit = QDateEdit(qdate(today))
        self.issue_edit.setCalendarPopup(True)
        set_date_format(self.issue_edit)
        self.issue_edit.setAccessibleName("Issue date")
        self.due_edit = QDateEdit(qdate(today + timedelta(days=PAYMENT_TERMS_DAYS)))
        self.due_edit.setCalendarPopup(True)
        set_date_format(self.due_edit)
        self.due_edit.setAccessibleName("Due date")
        form.addRow("&Issue date:", self.issue_edit)
        form.addRow("D&ue date:", self.due_edit)
        layout.addLayout(form)

        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.setAccessibleName("Invoice lines")
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.horizontalHeader().setSectionResizeMode(
            DESCRIPTION, QHeaderView.ResizeMode.Stretch
        )
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.itemChanged.connect(self._on_table_item_changed)
        layout.addWidget(self.table, 1)

        row_buttons = QHBoxLayout()
        self.add_button = QPushButton("&Add line")
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.remove_button = QPushButton("&Remove line")
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        row_buttons.addWidget(self.add_button)
        row_buttons.addWidget(self.remove_button)
        row_buttons.addStretch(1)
        self.total_label = QLabel()
        self.total_label.setAccessibleName("Invoice total")
        self.total_label.setAlignment(Qt.AlignmentFlag.AlignRight)
        row_buttons.addWidget(self.total_label)
        layout.addLayout(row_buttons)

        self.message_label = QLabel()
        set_tone(self.message_label, PROBLEM_TONE)
        self.message_label.setWordWrap(True)
        layout.addWidget(self.message_label)
        buttons = QDialogButtonBox()
        self.save_button = buttons.addButton("&Save", QDialogButtonBox.ButtonRole.AcceptRole)
        self.pay_button = buttons.addButton(
            "Save and enter &payment", QDialogButtonBox.ButtonRole.ActionRole
        )
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.pay_button.clicked.connect(self._on_pay_button_clicked)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._touched = False  # no refusal is shown before the person has done something
        self.add_line()
        self.table.setFocus()

    def add_line(
        self, description: str = "", quantity: str = "1", price: str = "", tax: str = ""
    ) -> None:
        """Append a line (the window's Add line button; also used to prefill)."""
        self.table.blockSignals(True)
        row = self.table.rowCount()
        self.table.insertRow(row)
        for column, text in (
            (DESCRIPTION, description),
            (QUANTITY, quantity),
            (PRICE, price),
            (TAX, tax),
        ):
            item = QTableWidgetItem(text)
            if column != DESCRIPTION:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, column, item)
        amount = QTableWidgetItem("")
        amount.setFlags(amount.flags() & ~Qt.ItemFlag.ItemIsEditable)
        amount.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.table.setItem(row, AMOUNT, amount)
        self.table.blockSignals(False)
        self.table.setCurrentCell(row, DESCRIPTION)
        self._recalculate()

    def _cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text().strip() if item is not None else ""

    def _filled_rows(self) -> list[int]:
        """Rows with a description or a price (blank rows are ignored)."""
        return [
            row
            for row in range(self.table.rowCount())
            if self._cell(row, DESCRIPTION) or self._cell(row, PRICE)
        ]

    def _lines(self) -> list[tuple[str, str, str, str]]:
        return [
            (
                self._cell(r, DESCRIPTION),
                self._cell(r, PRICE),
                self._cell(r, QUANTITY),
                self._cell(r, TAX),
            )
            for r in self._filled_rows()
        ]

    def _set_amount(self, row: int, text: str) -> None:
        item = self.table.item(row, AMOUNT)
        if item is not None:
            item.setText(text)

    def _recalculate(self) -> bool:
        """Update line amounts and the total; returns whether the invoice can be saved."""
        self.table.blockSignals(True)
        try:
            parsed = parse_lines(self._lines(), self._currency)
        except BillingError as exc:
            self.message_label.setText(str(exc) if self._touched else "")
            self.total_label.setText("Total: —")
            for row in range(self.table.rowCount()):
                self._set_amount(row, "")
            self.table.blockSignals(False)
            self.save_button.setEnabled(False)
            self.pay_button.setEnabled(False)
            return False
        for row, line in zip(self._filled_rows(), parsed, strict=True):
            self._set_amount(
                row, self._formatter.money(to_decimal(line.amount_minor, self._currency))
            )
        total = sum(line.amount_minor for line in parsed)
        tax = sum(line.tax_minor for line in parsed)
        money = self._formatter.money
        self.total_label.setText(
            f"Tax: {money(to_decimal(tax, self._currency))}    "
            f"Total: {money(to_decimal(total, self._currency))}"
        )
        self.message_label.setText("")
        self.table.blockSignals(False)
        self.save_button.setEnabled(True)
        self.pay_button.setEnabled(True)
        return True

    def _on_table_item_changed(self, _item: QTableWidgetItem) -> None:
        self._touched = True
        self._recalculate()

    def _on_add_button_clicked(self) -> None:
        self._touched = True
        self.add_line()
        self.table.setFocus()

    def _on_remove_button_clicked(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self._touched = True
            self.table.removeRow(row)
            self._recalculate()

    def _save(self) -> bool:
        self._touched = True
        if not self._recalculate():
            return False
        issue = pydate(self.issue_edit.date())
        due = pydate(self.due_edit.date())
        try:
            self.invoice_id = self._clinic.create_invoice(
                self._patient_id, self._lines(), issue_date=issue, due_date=due
            )
        except (BillingError, PermissionDenied) as exc:
            self.message_label.setText(str(exc))
            return False
        return True

    def _on_save_button_clicked(self) -> None:
        if self._save():
            self.accept()

    def _on_pay_button_clicked(self) -> None:
        if self._save():
            self.pay_now = True
            self.accept()
