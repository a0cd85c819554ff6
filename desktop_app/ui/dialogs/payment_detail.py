"""Payment detail: total, money applied, credit applied, its sources and the invoices it paid.

A payment made wholly from account credit reads "Total $0.00, money applied $0.00": the money
changed hands when the credit was created; this payment only allocated it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.ui.formatting import Formatter
from desktop_app.ui.models.records import Column, RecordTableModel

if TYPE_CHECKING:
    from desktop_app.core import PaymentRecord


class PaymentDetailDialog(QDialog):
    """Read-only view of one saved payment or refund."""

    def __init__(
        self, payment: PaymentRecord, formatter: Formatter, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        money = formatter.money
        kind = "Refund" if payment.kind == "refund" else "Payment"
        self.setWindowTitle(f"{kind} {payment.id}")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.fields: dict[str, QLabel] = {}
        sources = ", ".join(f"{name} {money(amount)}" for name, amount in payment.sources.items())
        for label, value in (
            ("Date", formatter.day(payment.payment_date)),
            ("Total payment", money(payment.total)),
            ("Money applied to invoices", money(payment.money_applied)),
            ("Account credit applied", money(payment.credit_applied)),
            ("Payment sources", sources or "none (paid from account credit)"),
            ("Status", "Reversed" if payment.reversed else "Recorded"),
        ):
            field = QLabel(value)
            field.setAccessibleName(label)
            self.fields[label] = field
            form.addRow(f"{label}:", field)
        layout.addLayout(form)
        layout.addWidget(QLabel("Applied to invoices:"))
        self.model = RecordTableModel(
            [
                Column("Invoice", lambda a: f"#{a.invoice_number}"),
                Column("Applied", lambda a: money(a.amount), money=True),
                Column("From money", lambda a: money(a.from_money), money=True),
                Column("From credit", lambda a: money(a.from_credit), money=True),
                Column("", lambda a: "removed" if a.removed else ""),
            ],
            self,
        )
        self.model.set_records(list(payment.applications))
        table = QTableView()
        table.setModel(self.model)
        table.setAccessibleName("Invoices paid")
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        layout.addWidget(table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
