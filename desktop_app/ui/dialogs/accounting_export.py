"""Tools > Accounting export…: the Xero files of everything new or changed since the last export,
the account each part of the ledger goes to, and the exports made so far.

The Export tab previews the next export (rows, control totals, what to do in Xero) before
anything is written; Export writes a new folder and remembers what it sent. Both run on a worker
thread: a clinic's first export reads every record it has, which takes a while on a big ledger,
and the window stays responsive meanwhile. The Accounts tab
holds the mapping (sales, account credit, a clearing account per payment type, Xero tax rates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QDate, QStandardPaths, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import DATE_FORMATS, AccountMapping, BillingError, ExportSummary
from desktop_app.ui.background import BackgroundRunner
from desktop_app.ui.forms import set_date_format
from desktop_app.ui.style import set_tone

if TYPE_CHECKING:
    from desktop_app.core import Clinic

TITLE = "Accounting export"


def _documents() -> Path:
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(documents) if documents and Path(documents).is_dir() else Path.home()


def _table(headers: list[str], name: str) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setAccessibleName(name)
    table.verticalHeader().hide()
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    return table


class AccountingExportDialog(QDialog):
    """Preview and write the next accounting export; edit the account mapping."""

    def __init__(self, clinic: Clinic, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.clinic = clinic
        self.setWindowTitle(TITLE)
        self.resize(820, 640)
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._export_tab(), "&Export")
        self.tabs.addTab(self._accounts_tab(), "&Accounts")
        layout.addWidget(self.tabs, 1)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        layout.addWidget(self.message_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._runner = BackgroundRunner(self)
        self._pending = False
        #: The last export written from this window.
        self.last_export: ExportSummary | None = None
        self.load_mapping()
        self.refresh()

    def done(self, result: int) -> None:
        """Closing waits for a running preview or export (an export is one transaction)."""
        self._runner.wait()
        super().done(result)

    # -- the Export tab ---------------------------------------------------------------------

    def _export_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        form = QFormLayout()
        self.through_edit = QDateEdit(QDate.currentDate())
        self.through_edit.setCalendarPopup(True)
        set_date_format(self.through_edit)
        self.through_edit.setMaximumDate(QDate.currentDate())
        self.through_edit.setAccessibleName("Records dated up to")
        self.through_edit.dateChanged.connect(self.refresh)
        form.addRow("Records dated &up to:", self.through_edit)
        folder_row = QHBoxLayout()
        self.folder_edit = QLineEdit(str(_documents()))
        self.folder_edit.setAccessibleName("Export into folder")
        browse = QPushButton("&Browse…")
        browse.clicked.connect(self._on_browse_clicked)
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        form.addRow("Into folder:", folder_row)
        layout.addLayout(form)
        self.preview_text = QPlainTextEdit()
        self.preview_text.setReadOnly(True)
        self.preview_text.setAccessibleName("What the export will send")
        layout.addWidget(self.preview_text, 1)
        self.export_button = QPushButton("E&xport")
        self.export_button.clicked.connect(self._on_export_clicked)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.export_button)
        layout.addLayout(row)
        layout.addWidget(QLabel("Exports so far:"))
        self.history_table = _table(["#", "When", "By", "Up to", "Records", "Folder"], "Exports")
        self.history_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        layout.addWidget(self.history_table, 1)
        return page

    def through(self) -> date:
        """The last day the export includes."""
        return self.through_edit.date().toPython()  # type: ignore[return-value]

    @property
    def busy(self) -> bool:
        """A preview or an export is running."""
        return self._runner.busy

    def _run(self, call: Callable[[], object], done: Callable[[object, str], None]) -> None:
        """Run ``call`` on a worker thread; ``done(result, "")`` or ``done(None, refusal)``."""
        if self._runner.busy:  # one at a time; a finished one starts the next refresh
            self._pending = True
            return
        self.export_button.setEnabled(False)

        def finished() -> None:
            if self._pending:
                self._pending = False
                self.refresh()

        self._runner.run(
            lambda _job: call(),
            on_done=lambda result: done(result, ""),
            on_refused=lambda exc: done(None, str(exc)),
            on_failed=lambda exc: done(None, f"The export stopped: {exc}"),
            on_finished=finished,
        )

    def refresh(self) -> None:
        """Preview the next export (on a worker thread) and list the past ones."""
        through = self.through()
        self.preview_text.setPlainText("Reading what the next export will send…")
        self._list_exports()

        def shown(summary: object, refusal: str) -> None:
            if refusal:
                self.preview_text.setPlainText(f"Cannot export yet: {refusal}")
                self.export_button.setEnabled(False)
                return
            assert isinstance(summary, ExportSummary)
            self.preview_text.setPlainText(summary.describe(self.clinic.currency))
            self.export_button.setEnabled(not summary.is_empty)

        self._run(lambda: self.clinic.preview_accounting_export(through), shown)

    def _list_exports(self) -> None:
        self.history_table.setRowCount(0)
        for record in self.clinic.accounting_exports():
            row = self.history_table.rowCount()
            self.history_table.insertRow(row)
            for column, text in enumerate(
                (
                    str(record.id),
                    record.at.strftime("%Y-%m-%d %H:%M"),
                    record.actor,
                    record.through.isoformat(),
                    f"{record.items:,}",
                    record.folder,
                )
            ):
                self.history_table.setItem(row, column, QTableWidgetItem(text))

    def export(self) -> None:
        """Write the export into the chosen folder (on a worker thread); the message line says
        where it went, or why not."""
        folder, through = self.folder_edit.text().strip(), self.through()
        self._say("Exporting…", "info")

        def written(summary: object, refusal: str) -> None:
            if refusal:
                self._say(refusal, "problem")
                self.export_button.setEnabled(True)
                return
            assert isinstance(summary, ExportSummary)
            self.last_export = summary
            self._list_exports()
            self.preview_text.setPlainText(summary.describe(self.clinic.currency))
            self._say(f"Exported to {summary.folder}.", "done")

        self._run(lambda: self.clinic.export_accounting(folder, through), written)

    # -- the Accounts tab -------------------------------------------------------------------

    def _accounts_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        form = QFormLayout()
        self.sales_edit = QLineEdit()
        self.sales_edit.setAccessibleName("Sales account")
        self.credit_edit = QLineEdit()
        self.credit_edit.setAccessibleName("Account credit (liability) account")
        self.date_format_combo = QComboBox()
        self.date_format_combo.addItems(list(DATE_FORMATS))
        self.date_format_combo.setAccessibleName("Date format")
        self.invoice_prefix_edit = QLineEdit()
        self.invoice_prefix_edit.setAccessibleName("Invoice number prefix")
        self.credit_note_prefix_edit = QLineEdit()
        self.credit_note_prefix_edit.setAccessibleName("Credit note number prefix")
        form.addRow("&Sales account:", self.sales_edit)
        form.addRow("Account &credit held (liability):", self.credit_edit)
        form.addRow("&Dates in Xero:", self.date_format_combo)
        form.addRow("&Invoice numbers:", self.invoice_prefix_edit)
        form.addRow("Credit &note numbers:", self.credit_note_prefix_edit)
        layout.addLayout(form)
        layout.addWidget(QLabel("Clearing account per payment type:"))
        self.clearing_table = _table(["Payment type", "Account code"], "Clearing accounts")
        layout.addWidget(self.clearing_table, 1)
        layout.addWidget(QLabel("Xero tax rate per tax rate on invoice lines:"))
        self.tax_table = _table(["Tax rate (%)", "Xero tax rate"], "Tax rates")
        layout.addWidget(self.tax_table, 1)
        row = QHBoxLayout()
        add = QPushButton("Add tax &rate")
        add.clicked.connect(self._on_add_tax_clicked)
        save = QPushButton("Sa&ve accounts")
        save.clicked.connect(self.save_mapping)
        row.addWidget(add)
        row.addStretch(1)
        row.addWidget(save)
        layout.addLayout(row)
        return page

    def load_mapping(self) -> None:
        """Show the saved mapping (defaults until one is saved)."""
        mapping = self.clinic.accounting_mapping()
        self.sales_edit.setText(mapping.sales_account)
        self.credit_edit.setText(mapping.credit_account)
        self.date_format_combo.setCurrentText(mapping.date_format)
        self.invoice_prefix_edit.setText(mapping.invoice_prefix)
        self.credit_note_prefix_edit.setText(mapping.credit_note_prefix)
        active = self.clinic.payment_types(include_inactive=True)
        self.clearing_table.setRowCount(0)
        for name in active:
            row = self.clearing_table.rowCount()
            self.clearing_table.insertRow(row)
            label = QTableWidgetItem(name)
            label.setFlags(label.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.clearing_table.setItem(row, 0, label)
            self.clearing_table.setItem(
                row, 1, QTableWidgetItem(mapping.clearing_accounts.get(name, ""))
            )
        self.tax_table.setRowCount(0)
        for rate, name in sorted(mapping.tax_types.items()):
            self._add_tax_row(f"{rate / 100:g}", name)

    def _add_tax_row(self, rate: str, name: str) -> None:
        row = self.tax_table.rowCount()
        self.tax_table.insertRow(row)
        self.tax_table.setItem(row, 0, QTableWidgetItem(rate))
        self.tax_table.setItem(row, 1, QTableWidgetItem(name))

    def mapping_shown(self) -> AccountMapping:
        """The mapping as the Accounts tab shows it (a BillingError names a bad tax rate)."""

        def cell(table: QTableWidget, row: int, column: int) -> str:
            item = table.item(row, column)
            return item.text().strip() if item is not None else ""

        taxes: dict[int, str] = {}
        for row in range(self.tax_table.rowCount()):
            rate_text, name = cell(self.tax_table, row, 0), cell(self.tax_table, row, 1)
            if not rate_text and not name:
                continue
            try:
                hundredths = Decimal(rate_text.rstrip("%").strip()) * 100
                if not hundredths.is_finite():
                    raise ArithmeticError
            except ArithmeticError:
                raise BillingError(f"The tax rate {rate_text!r} is not a number.") from None
            if hundredths != hundredths.to_integral_value():
                raise BillingError(f"The tax rate {rate_text!r} has more than two decimal places.")
            taxes[int(hundredths)] = name
        clearing = {
            cell(self.clearing_table, row, 0): cell(self.clearing_table, row, 1)
            for row in range(self.clearing_table.rowCount())
        }
        return replace(
            self.clinic.accounting_mapping(),
            sales_account=self.sales_edit.text(),
            credit_account=self.credit_edit.text(),
            date_format=self.date_format_combo.currentText(),
            invoice_prefix=self.invoice_prefix_edit.text().strip(),
            credit_note_prefix=self.credit_note_prefix_edit.text().strip(),
            clearing_accounts={k: v for k, v in clearing.items() if v},
            tax_types=taxes,
        )

    def save_mapping(self) -> bool:
        """Save the Accounts tab; False (reason shown, nothing saved) when something is wrong."""
        try:
            self.clinic.set_accounting_mapping(self.mapping_shown())
        except BillingError as exc:
            self._say(str(exc), "problem")
            return False
        self.load_mapping()
        self.refresh()
        self._say("Accounts saved.", "done")
        return True

    # -- slots ------------------------------------------------------------------------------

    def _say(self, text: str, tone: str) -> None:
        self.message_label.setText(text)
        set_tone(self.message_label, tone)

    def _on_browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Export into folder", self.folder_edit.text()
        )
        if folder:
            self.folder_edit.setText(folder)

    def _on_export_clicked(self) -> None:
        self.export()

    def _on_add_tax_clicked(self) -> None:
        self._add_tax_row("", "")
        self.tax_table.setCurrentCell(self.tax_table.rowCount() - 1, 0)
