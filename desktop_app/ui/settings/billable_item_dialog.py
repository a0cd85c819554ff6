"""The billable item window: code, name, kind, price, tax rate and the concession prices.

OK asks the core to save; a refusal is shown next to the field it names and nothing is saved.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BillableItemRecord, BillingError
from desktop_app.ui.style import PROBLEM_TONE, set_tone

if TYPE_CHECKING:
    from desktop_app.core import Clinic

KINDS = (("Service", "service"), ("Product", "product"))
#: Concession types offered in a new row when the clinic's patients name none yet.
USUAL_CONCESSIONS = ("Pensioner", "Student", "DVA", "Health care card")
FIELDS = ("code", "name", "kind", "price", "tax_rate", "concession_prices")


def _amount_text(value: Decimal) -> str:
    return f"{value:f}"


class BillableItemDialog(QDialog):
    """Adds an item (``item`` None) or edits ``item``."""

    def __init__(
        self,
        clinic: Clinic,
        item: BillableItemRecord | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self.item = item
        #: The id saved by OK (the new item's, or the edited one's).
        self.saved_id: int | None = None
        self.setWindowTitle("Edit billable item" if item else "New billable item")
        self.setMinimumWidth(480)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.code_edit = QLineEdit(item.code if item else "")
        self.code_edit.setAccessibleName("Item code")
        self.name_edit = QLineEdit(item.name if item else "")
        self.name_edit.setAccessibleName("Item name")
        self.kind_combo = QComboBox()
        for label, value in KINDS:
            self.kind_combo.addItem(label, value)
        if item:
            self.kind_combo.setCurrentIndex(self.kind_combo.findData(item.kind))
        self.kind_combo.setAccessibleName("Kind of item")
        self.price_edit = QLineEdit(_amount_text(item.price) if item else "")
        self.price_edit.setAccessibleName("Price")
        self.price_edit.setPlaceholderText("0.00")
        self.tax_edit = QLineEdit(_amount_text(item.tax_rate.normalize()) if item else "")
        self.tax_edit.setAccessibleName("Tax rate in percent")
        self.tax_edit.setPlaceholderText("0 (percent)")
        #: The problem label under each field, by the core's field name.
        self.problems: dict[str, QLabel] = {}
        for field, label, widget in (
            ("code", "&Code:", self.code_edit),
            ("name", "&Name:", self.name_edit),
            ("kind", "&Kind:", self.kind_combo),
            ("price", "&Price:", self.price_edit),
            ("tax_rate", "&Tax rate (%):", self.tax_edit),
        ):
            form.addRow(label, widget)
            form.addRow("", self._problem_label(field))
        layout.addLayout(form)
        layout.addWidget(QLabel("Concession prices (a patient of that concession type pays this):"))
        self.concession_table = QTableWidget(0, 2)
        self.concession_table.setHorizontalHeaderLabels(("Concession type", "Price"))
        self.concession_table.setAccessibleName("Concession prices")
        header = self.concession_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        self.concession_table.setColumnWidth(1, 120)
        self.concession_table.verticalHeader().setVisible(False)
        self.concession_table.setMinimumHeight(120)
        for name, price in (item.concession_prices if item else {}).items():
            self.add_concession(name, _amount_text(price))
        layout.addWidget(self.concession_table)
        row_buttons = QHBoxLayout()
        self.add_row_button = QPushButton("&Add concession price")
        self.add_row_button.clicked.connect(lambda: self.add_concession())
        self.remove_row_button = QPushButton("&Remove selected")
        self.remove_row_button.clicked.connect(self._on_remove_clicked)
        row_buttons.addWidget(self.add_row_button)
        row_buttons.addWidget(self.remove_row_button)
        row_buttons.addStretch(1)
        layout.addLayout(row_buttons)
        layout.addWidget(self._problem_label("concession_prices"))
        note = QLabel("A new price applies to new invoices only; issued invoices keep theirs.")
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

    def _problem_label(self, field: str) -> QLabel:
        label = QLabel()
        label.setWordWrap(True)
        label.setVisible(False)
        set_tone(label, PROBLEM_TONE)
        self.problems[field] = label
        return label

    def add_concession(self, name: str = "", price: str = "") -> None:
        """A row of the concession prices table."""
        row = self.concession_table.rowCount()
        self.concession_table.insertRow(row)
        self.concession_table.setItem(row, 0, QTableWidgetItem(name))
        self.concession_table.setItem(row, 1, QTableWidgetItem(price))

    def concession_prices(self) -> dict[str, str]:
        """The concession prices typed, blank rows left out."""
        found: dict[str, str] = {}
        for row in range(self.concession_table.rowCount()):
            cells = [self.concession_table.item(row, column) for column in (0, 1)]
            name, price = (cell.text().strip() if cell else "" for cell in cells)
            if name or price:
                found[name] = price
        return found

    def _on_remove_clicked(self) -> None:
        for index in sorted(
            {i.row() for i in self.concession_table.selectedIndexes()}, reverse=True
        ):
            self.concession_table.removeRow(index)

    def show_problem(self, exc: BillingError) -> None:
        """The core's refusal, next to the field it names (or under the form)."""
        for shown in self.problems.values():
            shown.setVisible(False)
        self.message_label.clear()
        label = self.problems.get(exc.field or "")
        if label is None:
            self.message_label.setText(str(exc))
        else:
            label.setText(str(exc))
            label.setVisible(True)

    def save(self) -> bool:
        """Ask the core to save what is typed; False (and the refusal shown) when refused."""
        code, name = self.code_edit.text(), self.name_edit.text()
        price = self.price_edit.text().strip()
        tax_rate = self.tax_edit.text().strip() or "0"
        kind = str(self.kind_combo.currentData())
        concessions: dict[str, Decimal | str | int] = dict(self.concession_prices())
        try:
            if self.item is None:
                self.saved_id = self._clinic.add_billable_item(
                    code,
                    name,
                    price,
                    tax_rate=tax_rate,
                    kind=kind,
                    concession_prices=concessions,
                )
            else:
                self._clinic.update_billable_item(
                    self.item.id,
                    code=code,
                    name=name,
                    price=price,
                    tax_rate=tax_rate,
                    kind=kind,
                    concession_prices=concessions,
                )
                self.saved_id = self.item.id
        except BillingError as exc:
            self.show_problem(exc)
            return False
        return True

    def _on_accepted(self) -> None:
        if self.save():
            self.accept()
