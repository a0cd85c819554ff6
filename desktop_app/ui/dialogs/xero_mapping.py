"""Tools > Xero > Accounts and tax rates…: the account mapping chosen from the organisation's own
chart of accounts and tax rates, as Xero lists them (``clinic.xero_chart``).

Each use offers only the accounts that fit it: the sales account from revenue accounts, customer
credit from liability accounts, each payment type's clearing account from bank accounts, and
for each tax rate the clinic's invoices use, Xero's tax rates of that percentage. Save stores the
mapping (``clinic.set_accounting_mapping``) and checks it against the chart again, so the first
sync starts from a mapping that fits.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import AccountMapping, BillingError, XeroAccount, XeroChart
from desktop_app.ui.style import DONE_TONE, PROBLEM_TONE, set_tone

if TYPE_CHECKING:
    from desktop_app.core import Clinic


class XeroMappingDialog(QDialog):
    """Choose each account and tax rate from Xero's lists; ``chart`` and ``rates`` as
    ``clinic.xero_chart`` gives them."""

    def __init__(
        self,
        clinic: Clinic,
        chart: XeroChart,
        rates: list[int],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Xero accounts and tax rates")
        self.clinic = clinic
        self.chart = chart
        mapping = clinic.accounting_mapping()
        self.mapping = mapping
        form = QFormLayout()
        self.sales = self._accounts(chart.sales(), mapping.sales_account)
        form.addRow("Sales account:", self.sales)
        self.credit = self._accounts(chart.liabilities(), mapping.credit_account)
        form.addRow("Customer credit (liability):", self.credit)
        self.clearing: dict[str, QComboBox] = {}
        for name, code in sorted(mapping.clearing_accounts.items()):
            box = self._accounts(chart.banks(), code)
            self.clearing[name] = box
            form.addRow(f"{name} received into:", box)
        self.taxes: dict[int, QComboBox] = {}
        for rate_bp in rates:
            box = QComboBox()
            for rate in chart.rates_of(rate_bp):
                box.addItem(f"{rate.name} ({rate.code})", rate.name)
            current = mapping.tax_types.get(rate_bp)
            found = box.findData(current) if current else -1
            if found < 0 and current:
                box.insertItem(0, f"{current} (not in Xero at this rate)", current)
                found = 0
            box.setCurrentIndex(max(found, 0))
            self.taxes[rate_bp] = box
            form.addRow(f"Invoice lines at {Decimal(rate_bp) / 100:f}%:", box)
        self.message = QLabel()
        self.message.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel("Each is chosen from the organisation's chart of accounts and tax rates.")
        )
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

    @staticmethod
    def _accounts(accounts: list[XeroAccount], current: str) -> QComboBox:
        """A list of ``accounts``, the current one chosen (or shown as missing first)."""
        box = QComboBox()
        for account in accounts:
            box.addItem(account.label, account.code)
        found = box.findData(current)
        if found < 0:
            box.insertItem(0, f"{current} (not a fitting account in Xero)", current)
            found = 0
        box.setCurrentIndex(found)
        return box

    def chosen(self) -> AccountMapping:
        """The mapping as chosen (prefixes and date format kept)."""
        return replace(
            self.mapping,
            sales_account=str(self.sales.currentData()),
            credit_account=str(self.credit.currentData()),
            clearing_accounts={n: str(b.currentData()) for n, b in self.clearing.items()},
            tax_types={
                **self.mapping.tax_types,
                **{rate: str(b.currentData()) for rate, b in self.taxes.items() if b.count()},
            },
        )

    def save(self) -> None:
        """Save the mapping and check it against Xero's chart; stay open on any problem."""
        try:
            self.clinic.set_accounting_mapping(self.chosen())
            check = self.clinic.check_xero_chart(self.clinic.xero_client())
        except BillingError as exc:
            self.message.setText(str(exc))
            set_tone(self.message, PROBLEM_TONE)
            return
        if not check.ok:
            self.message.setText(
                "Saved, but it does not fit Xero yet:\n" + "\n".join(check.problems)
            )
            set_tone(self.message, PROBLEM_TONE)
            return
        self.message.setText("Saved: the mapping fits the organisation's chart.")
        set_tone(self.message, DONE_TONE)
        self.accept()
