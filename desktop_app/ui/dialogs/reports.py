"""The Reports window (Tools > Reports…, Ctrl+Shift+D): takings, aged receivables, credit held.

Non-modal. Each tab has its filters, a table sortable by any column (sorted here: the reports are
a few hundred rows at most for takings, one row per owing patient for receivables), the totals
that tie the table to the ledger, and Export to CSV (amounts as plain numbers, text made safe for
spreadsheets). Reports are read when a filter changes; Refresh (F5) reads them again.

Show (above the tabs) chooses whose takings and aged receivables are shown: everyone, patients,
all payers, or one payer (its aged receivables a row per patient, its takings each remittance);
with one payer chosen, Payer statement… prints that payer's statement.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BUCKET_NAMES, BillingError, safe_text
from desktop_app.ui.formatting import Formatter
from desktop_app.ui.forms import qdate, set_date_format
from desktop_app.ui.models.records import LEFT, RIGHT, Index
from desktop_app.ui.style import set_tone
from desktop_app.ui.widgets.bar_chart import BarChart
from desktop_app.ui.widgets.line_chart import LineChart

if TYPE_CHECKING:
    from desktop_app.core import (
        AgedReceivables,
        AgedRow,
        Clinic,
        CreditLiability,
        RevenueRow,
        Takings,
        TakingsLine,
    )
    from desktop_app.ui.printing.dialog import DocumentDialog

ALL_TYPES = "All payment types"
ROW_HEIGHT = 24


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a report table: its heading, the value of a row, how it is shown."""

    title: str
    value: Callable[[Any], Any]  # what sorts and what the CSV holds (Decimal, int, str, date)
    money: bool = False  # None (nothing to show) is an empty cell, sorted first


class ReportTableModel(QAbstractTableModel):
    """Read-only rows of a report, sorted by any column in memory."""

    def __init__(self, columns: Sequence[Column], formatter: Formatter, parent: Any = None) -> None:
        super().__init__(parent)
        self.columns = tuple(columns)
        self.formatter = formatter
        self._rows: list[Any] = []

    def set_rows(self, rows: Sequence[Any]) -> None:
        """Show these rows (in the order given)."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row(self, n: int) -> Any:
        """The report row shown on line ``n``."""
        return self._rows[n]

    def text(self, row: Any, column: int) -> str:
        """A cell as the table shows it."""
        col = self.columns[column]
        value = col.value(row)
        if value is None:
            return ""
        if col.money:
            return self.formatter.money(value)
        if isinstance(value, date):
            return self.formatter.day(value)
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    def set_title(self, column: int, title: str) -> None:
        """Head ``column`` with ``title`` (the aged receivables' first column names whose rows
        they are)."""
        columns = list(self.columns)
        columns[column] = Column(title, columns[column].value, columns[column].money)
        self.columns = tuple(columns)
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, column, column)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.AccessibleTextRole,
            Qt.ItemDataRole.ToolTipRole,  # the whole text where a column cuts it
        ):
            return self.text(self._rows[index.row()], index.column())
        if role == Qt.ItemDataRole.TextAlignmentRole:
            col = self.columns[index.column()]
            numeric = col.money or isinstance(col.value(self._rows[index.row()]), int)
            return int((RIGHT if numeric else LEFT).value)
        return None

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
        ):
            return self.columns[section].title
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole:
            return int((RIGHT if self.columns[section].money else LEFT).value)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort the rows by ``column`` (ties keep their order); -1 keeps the report's order."""
        if not 0 <= column < len(self.columns):
            return
        self.layoutAboutToBeChanged.emit()
        value = self.columns[column].value

        def key(row: Any) -> tuple[bool, Any]:
            found = value(row)
            return (found is not None, found)

        self._rows.sort(key=key, reverse=order == Qt.SortOrder.DescendingOrder)
        self.layoutChanged.emit()

    def write_csv(self, path: Path, footer: Sequence[Sequence[Any]] = ()) -> int:
        """Write the rows as shown (order included) to ``path``; returns the number of rows."""
        with path.open("w", newline="", encoding="utf-8-sig") as handle:
            out = csv.writer(handle)
            out.writerow([safe_text(c.title) for c in self.columns])
            for row in self._rows:
                out.writerow([_csv_cell(c.value(row)) for c in self.columns])
            for line in footer:
                out.writerow([_csv_cell(cell) for cell in line])
        return len(self._rows)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal | int):
        return str(value)  # a number, not text: never a formula
    if isinstance(value, date):
        return value.isoformat()
    return safe_text(str(value))


TAKINGS_COLUMNS = (
    Column("Payment type", lambda line: line.payment_type),
    Column("Received", lambda line: line.received, money=True),
    Column("Refunded", lambda line: line.refunded, money=True),
    Column("Net", lambda line: line.net, money=True),
    Column("Payments", lambda line: line.payments),
)
AGED_COLUMNS = (
    Column("Patient", lambda row: row.patient_name),
    Column("0-30 days", lambda row: row.buckets[0], money=True),
    Column("31-60 days", lambda row: row.buckets[1], money=True),
    Column("61-90 days", lambda row: row.buckets[2], money=True),
    Column("Over 90 days", lambda row: row.buckets[3], money=True),
    Column("Total owed", lambda row: row.total, money=True),
    Column("Invoices", lambda row: row.open_invoices),
    Column("Oldest invoice", lambda row: row.oldest_invoice),
)
REMITTANCE_COLUMNS = (
    Column("Date", lambda r: r.day),
    Column("Payer", lambda r: r.payer_name),
    Column("Reference", lambda r: r.reference or ""),
    Column("Payment", lambda r: r.payment_id),
    Column("Received", lambda r: r.received, money=True),
    Column("Applied to invoices", lambda r: r.applied, money=True),
    Column("Left as credit", lambda r: r.to_credit, money=True),
    Column("Invoices", lambda r: r.invoices),
)
#: Show: whose takings and aged receivables (the core's scope, and a payer's id or None).
EVERYONE, PATIENTS, ALL_PAYERS = "Everyone", "Patients", "All payers"
SCOPE_CHOICES = ((EVERYONE, "everyone"), (PATIENTS, "patients"), (ALL_PAYERS, "payers"))
SCOPE_TIP = (
    "Whose takings and aged receivables are shown: everyone, patients only (what they owe and "
    "paid themselves), every third-party payer, or one payer (what it owes for each patient, "
    "and each remittance it sent)."
)
#: The aged receivables' first column for each scope.
AGED_NAME_TITLES = {"everyone": "Patient or payer", "patients": "Patient", "payers": "Payer"}
#: The revenue report's first column names a practitioner or a billable item (By).
REVENUE_BY_CHOICES = (("Practitioner", "practitioner"), ("Billable item", "item"))
REVENUE_COLUMNS = (
    Column("Name", lambda row: row.name),
    Column("Invoices", lambda row: row.invoices),
    Column("Invoiced excl. tax", lambda row: row.invoiced_ex_tax, money=True),
    Column("Tax", lambda row: row.tax, money=True),
    Column("Invoiced incl. tax", lambda row: row.invoiced, money=True),
    Column("Credited", lambda row: row.credited, money=True),
    Column("Paid", lambda row: row.paid, money=True),
    Column("Outstanding", lambda row: row.outstanding, money=True),
)
#: The tab of each report (its index in the window's tabs).
TAKINGS_TAB, AGED_TAB, LIABILITY_TAB, REVENUE_TAB = range(4)

#: What the aged receivables count ages from (Age by), and the core's name for it.
AGE_BY_CHOICES = (("Invoice date", "issue_date"), ("Due date", "due_date"))
AGE_BY_TIP = (
    "Invoice date: each invoice ages from the day it was issued.\n"
    "Due date: each invoice ages from its due date (one not yet due counts as 0 days); "
    "an invoice without a due date ages from its invoice date."
)

LIABILITY_COLUMNS = (
    Column("Patient", lambda row: row.patient_name),
    Column("Account credit", lambda row: row.credit, money=True),
    Column("Last visit", lambda row: row.last_visit),
    Column("Last paid or refunded", lambda row: row.last_payment),
    Column("Days inactive", lambda row: row.days_inactive),
    Column("Dormant", lambda row: "Dormant" if row.dormant else ""),
)


def _aged_from(by: str) -> str:
    """What aged receivables counted ages from, in words (a line of the CSV export)."""
    if by == "due_date":
        return "due date (invoice date where an invoice has no due date)"
    return "invoice date"


def _day(edit: QDateEdit) -> date:
    value = edit.date()
    return date(value.year(), value.month(), value.day())


def _table(model: ReportTableModel, name: str) -> QTableView:
    table = QTableView()
    table.setAccessibleName(name)
    table.setModel(model)
    # Unsorted at first: the report's own order (payment types as set up; most owed first).
    table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    table.setSortingEnabled(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.setTabKeyNavigation(False)
    rows = table.verticalHeader()
    rows.setVisible(False)
    rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    rows.setDefaultSectionSize(ROW_HEIGHT)
    header = table.horizontalHeader()
    # Every column as wide as its header and contents, names at most 320 pixels (longer ones
    # elide, the whole name in the tooltip); the last column takes what is left.
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setMaximumSectionSize(320)
    header.setStretchLastSection(True)
    return table


def _filter_row(fields: Sequence[tuple[str, QWidget]]) -> QHBoxLayout:
    """A tab's filters: each field after its label (the label's mnemonic focuses the field)."""
    row = QHBoxLayout()
    for text, widget in fields:
        label = QLabel(text)
        label.setBuddy(widget)
        row.addWidget(label)
        row.addWidget(widget)
        row.addSpacing(8)
    row.addStretch(1)
    return row


def _summary(name: str) -> QLabel:
    """The line of totals under a report's table."""
    label = QLabel()
    label.setAccessibleName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class ReportsWindow(QDialog):
    """Takings by payment type, and aged receivables."""

    def __init__(self, clinic: Clinic, formatter: Formatter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self._formatter = formatter
        self.setWindowTitle("Reports")
        self.setModal(False)
        self.setSizeGripEnabled(True)
        self.resize(900, 560)
        self.takings_model = ReportTableModel(TAKINGS_COLUMNS, formatter, self)
        self.remittances_model = ReportTableModel(REMITTANCE_COLUMNS, formatter, self)
        self.aged_model = ReportTableModel(AGED_COLUMNS, formatter, self)
        self.liability_model = ReportTableModel(LIABILITY_COLUMNS, formatter, self)
        self.revenue_model = ReportTableModel(REVENUE_COLUMNS, formatter, self)
        self.revenue: tuple[RevenueRow, ...] = ()
        self.takings: Takings | None = None
        self.aged: AgedReceivables | None = None
        self.liability: CreditLiability | None = None
        #: The last payer statement opened (for tests and screenshots).
        self.last_dialog: DocumentDialog | None = None
        self._build()
        self.refresh()

    @property
    def clinic(self) -> Clinic:
        """The clinic reported on."""
        return self._clinic

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_scope())
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_takings(), "&Takings")
        self.tabs.addTab(self._build_aged(), "&Aged receivables")
        self.tabs.addTab(self._build_liability(), "Account &credit held")
        self.tabs.addTab(self._build_revenue(), "Re&venue")
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)
        layout.addWidget(self.tabs, 1)
        self._scope_changed()
        bottom = QHBoxLayout()
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        bottom.addWidget(self.message_label, 1)
        self.export_button = QPushButton("E&xport to CSV…")
        self.export_button.clicked.connect(self._on_export_button_clicked)
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.setToolTip("Read the report again (F5)")
        self.refresh_button.clicked.connect(self._on_refresh_button_clicked)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        for button in (self.export_button, self.refresh_button, close):
            button.setAutoDefault(False)
            bottom.addWidget(button)
        layout.addLayout(bottom)
        QShortcut(QKeySequence("F5"), self, self.refresh)

    def _build_scope(self) -> QHBoxLayout:
        """Show: everyone, patients, all payers or one payer; and the payer's statement."""
        self.scope_combo = QComboBox()
        self.scope_combo.setAccessibleName("Show")
        self.scope_combo.setToolTip(SCOPE_TIP)
        self.scope_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._fill_scopes()
        self.scope_combo.currentIndexChanged.connect(self._on_scope_combo_changed)
        self.payer_statement_button = QPushButton("Payer &statement…")
        self.payer_statement_button.setToolTip(
            "Print the chosen payer's statement: its invoices with each patient and claim, its "
            "remittances, and the balance it owes."
        )
        self.payer_statement_button.setAutoDefault(False)
        self.payer_statement_button.clicked.connect(self._on_payer_statement_button_clicked)
        row = _filter_row([("S&how:", self.scope_combo)])
        row.insertWidget(row.count() - 1, self.payer_statement_button)
        return row

    def _fill_scopes(self) -> None:
        """Everyone, Patients, All payers, then each payer by name (archived ones marked), the
        choice kept when it is still there."""
        chosen = self.scope_combo.currentData()
        self.scope_combo.blockSignals(True)
        self.scope_combo.clear()
        for text, scope in SCOPE_CHOICES:  # the scope's name; a payer's id below
            self.scope_combo.addItem(text, scope)
        payers = self._clinic.payers(include_archived=True)
        if payers:
            self.scope_combo.insertSeparator(self.scope_combo.count())
        for payer in payers:
            text = f"{payer.name} (archived)" if payer.archived else payer.name
            self.scope_combo.addItem(text, payer.id)
        self.scope_combo.setCurrentIndex(max(self.scope_combo.findData(chosen), 0))
        self.scope_combo.blockSignals(False)

    @property
    def scope(self) -> tuple[str, int | None]:
        """Whose takings and aged receivables are shown: the core's scope and a payer's id."""
        data = self.scope_combo.currentData()
        if isinstance(data, int):
            return "payers", data
        return (data if isinstance(data, str) else "everyone"), None

    def set_scope(self, scope: str, payer: int | None = None) -> None:
        """Show everyone's (``"everyone"``), patients' (``"patients"``), all payers'
        (``"payers"``) or one payer's (``payer``) takings and aged receivables."""
        wanted: str | int = payer if payer is not None else scope
        index = self.scope_combo.findData(wanted)
        if index < 0:
            self._fill_scopes()  # a payer added since the window opened
            index = self.scope_combo.findData(wanted)
        self.scope_combo.setCurrentIndex(max(index, 0))

    def _scope_changed(self) -> None:
        scope, payer = self.scope
        self.payer_statement_button.setEnabled(payer is not None and self._shows_scope())
        title = "Patient" if payer is not None else AGED_NAME_TITLES[scope]
        self.aged_model.set_title(0, title)

    def _shows_scope(self) -> bool:
        """Whether the tab shown follows Show (takings and aged receivables do)."""
        return self.tabs.currentIndex() in (TAKINGS_TAB, AGED_TAB)

    def open_payer_statement(self) -> DocumentDialog | None:
        """The print window of the chosen payer's statement (None: no one payer is chosen)."""
        from desktop_app.ui.printing.actions import payer_statement_dialog

        _scope, payer = self.scope
        if payer is None:
            return None
        self.last_dialog = payer_statement_dialog(self._clinic, self._formatter, payer, self)
        return self.last_dialog

    def _build_takings(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        today = qdate(date.today())
        self.start_edit = QDateEdit(today)
        self.end_edit = QDateEdit(today)
        for edit, name in ((self.start_edit, "From"), (self.end_edit, "To")):
            edit.setCalendarPopup(True)
            set_date_format(edit)
            edit.setAccessibleName(name)
            edit.setMaximumDate(today)
            edit.dateChanged.connect(self._on_takings_filter_changed)
        self.type_combo = QComboBox()
        self.type_combo.setAccessibleName("Payment type")
        self.type_combo.addItem(ALL_TYPES, None)
        for name in self._clinic.payment_types(include_inactive=True):
            self.type_combo.addItem(name, name)
        self.type_combo.currentIndexChanged.connect(self._on_takings_filter_changed)
        layout.addLayout(
            _filter_row(
                [
                    ("&From:", self.start_edit),
                    ("T&o:", self.end_edit),
                    ("&Payment type:", self.type_combo),
                ]
            )
        )
        self.takings_table = _table(self.takings_model, "Takings by payment type")
        layout.addWidget(self.takings_table, 1)
        self.remittances_label = QLabel("Remittances")
        self.remittances_table = _table(self.remittances_model, "Remittances")
        layout.addWidget(self.remittances_label)
        layout.addWidget(self.remittances_table, 1)
        self.takings_chart = BarChart(self._formatter.money)
        self.takings_chart.setAccessibleName("Net takings by payment type")
        layout.addWidget(self.takings_chart)
        self.takings_summary = _summary("Takings reconciliation")
        layout.addWidget(self.takings_summary)
        return page

    def _build_aged(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.as_of_edit = QDateEdit(qdate(date.today()))
        self.as_of_edit.setCalendarPopup(True)
        set_date_format(self.as_of_edit)
        self.as_of_edit.setAccessibleName("Ages counted to")
        self.as_of_edit.setMinimumDate(qdate(date.today()))  # today's balances: see the core
        self.as_of_edit.dateChanged.connect(self._on_aged_filter_changed)
        self.age_by_combo = QComboBox()
        self.age_by_combo.setAccessibleName("Age by")
        for text, by in AGE_BY_CHOICES:
            self.age_by_combo.addItem(text, by)
        self.age_by_combo.setToolTip(AGE_BY_TIP)
        self.age_by_combo.currentIndexChanged.connect(self._on_aged_filter_changed)
        layout.addLayout(
            _filter_row([("Ages &counted to:", self.as_of_edit), ("Age &by:", self.age_by_combo)])
        )
        self.aged_table = _table(self.aged_model, "Aged receivables")
        layout.addWidget(self.aged_table, 1)
        self.aged_chart = BarChart(self._formatter.money)
        self.aged_chart.setAccessibleName("Owed by age")
        layout.addWidget(self.aged_chart)
        self.aged_summary = _summary("Aged receivables totals")
        layout.addWidget(self.aged_summary)
        return page

    def _build_liability(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        today = qdate(date.today())
        self.held_on_edit = QDateEdit(today)
        self.held_on_edit.setCalendarPopup(True)
        set_date_format(self.held_on_edit)
        self.held_on_edit.setAccessibleName("Credit held at the end of")
        self.held_on_edit.setMaximumDate(today)
        self.held_on_edit.dateChanged.connect(self._on_liability_filter_changed)
        self.dormant_combo = QComboBox()
        self.dormant_combo.setAccessibleName("Dormant after")
        for months in (3, 6, 12, 18, 24, 36):
            self.dormant_combo.addItem(f"{months} months", months)
        self.dormant_combo.setCurrentIndex(self.dormant_combo.findData(12))
        self.dormant_combo.currentIndexChanged.connect(self._on_liability_filter_changed)
        layout.addLayout(
            _filter_row(
                [
                    ("Held at the &end of:", self.held_on_edit),
                    ("Dormant after no visit or payment for:", self.dormant_combo),
                ]
            )
        )
        self.liability_table = _table(self.liability_model, "Account credit held")
        layout.addWidget(self.liability_table, 1)
        self.liability_chart = LineChart(self._formatter.money)
        self.liability_chart.setAccessibleName("Total account credit held, month by month")
        layout.addWidget(self.liability_chart)
        self.liability_summary = _summary("Account credit totals")
        layout.addWidget(self.liability_summary)
        return page

    def _build_revenue(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        today = date.today()
        self.revenue_start_edit = QDateEdit(qdate(today.replace(day=1)))
        self.revenue_end_edit = QDateEdit(qdate(today))
        for edit, name in ((self.revenue_start_edit, "Issued from"), (self.revenue_end_edit, "To")):
            edit.setCalendarPopup(True)
            set_date_format(edit)
            edit.setAccessibleName(name)
            edit.dateChanged.connect(self._on_revenue_filter_changed)
        self.revenue_by_combo = QComboBox()
        self.revenue_by_combo.setAccessibleName("Revenue by")
        for text, by in REVENUE_BY_CHOICES:
            self.revenue_by_combo.addItem(text, by)
        self.revenue_by_combo.currentIndexChanged.connect(self._on_revenue_filter_changed)
        layout.addLayout(
            _filter_row(
                [
                    ("Invoices &issued from:", self.revenue_start_edit),
                    ("t&o:", self.revenue_end_edit),
                    ("B&y:", self.revenue_by_combo),
                ]
            )
        )
        self.revenue_table = _table(self.revenue_model, "Revenue")
        layout.addWidget(self.revenue_table, 1)
        self.revenue_chart = BarChart(self._formatter.money)
        self.revenue_chart.setAccessibleName("Invoiced including tax")
        layout.addWidget(self.revenue_chart)
        self.revenue_summary = _summary("Revenue totals")
        layout.addWidget(self.revenue_summary)
        return page

    # -- what the window does ---------------------------------------------------------------

    def refresh(self) -> None:
        """Read the reports again with the filters shown (today may have changed since)."""
        today = qdate(date.today())
        for edit in (self.start_edit, self.end_edit, self.held_on_edit):
            edit.setMaximumDate(today)
        self.as_of_edit.setMinimumDate(today)
        self._fill_scopes()
        self._scope_changed()
        self.show_takings()
        self.show_aged()
        self.show_liability()
        self.show_revenue()

    def set_revenue_period(self, start: date, end: date, by: str = "practitioner") -> None:
        """Show the revenue of the invoices issued from ``start`` to ``end``, by ``by``
        (``"practitioner"`` or ``"item"``)."""
        for edit in (self.revenue_start_edit, self.revenue_by_combo):
            edit.blockSignals(True)
        self.revenue_start_edit.setDate(qdate(start))
        self.revenue_by_combo.setCurrentIndex(max(self.revenue_by_combo.findData(by), 0))
        for edit in (self.revenue_start_edit, self.revenue_by_combo):
            edit.blockSignals(False)
        self.revenue_end_edit.setDate(qdate(end))
        self.show_revenue()

    def show_revenue(self) -> None:
        """Read and show the revenue for the period and grouping shown."""
        start, end = _day(self.revenue_start_edit), _day(self.revenue_end_edit)
        read = (
            self._clinic.revenue_by_item
            if self.revenue_by_combo.currentData() == "item"
            else self._clinic.revenue_by_practitioner
        )
        try:
            rows = read(start, end)
        except BillingError as exc:
            self.revenue = ()
            self.revenue_model.set_rows([])
            self.revenue_chart.set_bars([])
            self.revenue_summary.setText("")
            self._say(str(exc), "problem")
            return
        self.revenue = rows
        self.revenue_model.set_rows(rows)
        self.revenue_chart.set_bars([(row.name, row.invoiced) for row in rows])
        self._reapply_sort(self.revenue_table)
        m = self._formatter.money
        total = revenue_totals(rows)
        self.revenue_summary.setText(
            f"Invoices issued {self._formatter.day(start)} to {self._formatter.day(end)} "
            f"(drafts and voided invoices left out): {m(total[2])} invoiced excluding tax, "
            f"{m(total[4])} including it; {m(total[5])} credited, {m(total[6])} paid, "
            f"{m(total[7])} outstanding."
        )
        self._say("", None)

    def show_liability(self) -> None:
        """Read and show the account credit held on the day shown."""
        try:
            report = self._clinic.credit_liability(
                _day(self.held_on_edit), self.dormant_combo.currentData()
            )
        except BillingError as exc:
            self.liability = None
            self.liability_model.set_rows([])
            self.liability_chart.set_points([])
            self.liability_summary.setText("")
            self._say(str(exc), "problem")
            return
        self.liability = report
        self.liability_model.set_rows(report.rows)
        self._reapply_sort(self.liability_table)
        *months, (day, total) = report.series
        self.liability_chart.set_points(
            [(f"{end:%b %Y}", held) for end, held in months] + [(self._formatter.day(day), total)]
        )
        m = self._formatter.money
        dormant = sum(1 for row in report.rows if row.dormant)
        self.liability_summary.setText(
            f"{len(report.rows):,} patient{'' if len(report.rows) == 1 else 's'} held "
            f"{m(report.total)} of account credit at the end of "
            f"{self._formatter.day(report.as_of)}; {dormant:,} of them, {m(report.dormant_total)},"
            f" dormant (no visit or payment for {report.dormant_months} months)."
        )

    def set_period(self, start: date, end: date) -> None:
        """Show the takings from ``start`` to ``end``."""
        self.start_edit.blockSignals(True)
        self.start_edit.setDate(qdate(start))
        self.start_edit.blockSignals(False)
        self.end_edit.setDate(qdate(end))
        self.show_takings()

    def set_payment_type(self, name: str | None) -> None:
        """Show only one payment type's takings (None: all)."""
        self.type_combo.setCurrentIndex(max(self.type_combo.findData(name), 0))

    def show_takings(self) -> None:
        """Read and show the takings for the filters shown."""
        start, end = _day(self.start_edit), _day(self.end_edit)
        scope, payer = self.scope
        try:
            report = self._clinic.takings(
                start, end, self.type_combo.currentData(), scope=scope, payer=payer
            )
        except BillingError as exc:
            self.takings = None
            self.takings_model.set_rows([])
            self.remittances_model.set_rows([])
            self.takings_chart.set_bars([])
            self.takings_summary.setText("")
            self._say(str(exc), "problem")
            return
        self.takings = report
        self.takings_model.set_rows(report.lines)
        self.remittances_model.set_rows(report.remittances)
        for widget in (self.remittances_label, self.remittances_table):
            widget.setVisible(report.scope == "payers")
        self.takings_chart.set_bars([(line.payment_type, line.net) for line in report.lines])
        self._reapply_sort(self.takings_table)
        self._reapply_sort(self.remittances_table)
        m = self._formatter.money
        whose = (
            ("the remittances' money" if report.scope == "payers" else "the payments' money")
            if report.payment_type is None
            else f"the money of the payments that used {report.payment_type} (all their types)"
        )
        parts = [
            _takings_whose(report),
            f"Received {m(report.received)}, refunded {m(report.refunded)}: net {m(report.net)}.",
            f"Of {whose}, {m(report.applied_from_money)} was applied to invoices and "
            f"{m(report.to_credit)} left as account credit; {m(report.credit_applied)} of "
            "account credit was applied to invoices by the same payments.",
        ]
        if report.reversed_payments:
            parts.append(
                f"{report.reversed_payments:,} reversed payment"
                f"{'s are' if report.reversed_payments != 1 else ' is'} not counted."
            )
        self.takings_summary.setText(" ".join(part for part in parts if part))
        self._say("", None)

    def show_aged(self) -> None:
        """Read and show the aged receivables for the date shown."""
        scope, payer = self.scope
        try:
            report = self._clinic.aged_receivables(
                _day(self.as_of_edit), by=self.age_by_combo.currentData(), scope=scope, payer=payer
            )
        except BillingError as exc:
            self.aged = None
            self.aged_model.set_rows([])
            self.aged_chart.set_bars([])
            self.aged_summary.setText("")
            self._say(str(exc), "problem")
            return
        self.aged = report
        self.aged_model.set_rows(report.rows)
        self.aged_chart.set_bars(list(zip(BUCKET_NAMES, report.buckets, strict=True)))
        self._reapply_sort(self.aged_table)
        m = self._formatter.money
        buckets = ", ".join(
            f"{name} {m(amount)}"
            for name, amount in zip(
                ("0-30 days", "31-60", "61-90", "over 90"), report.buckets, strict=True
            )
        )
        by = f" Ages counted from the {_aged_from(report.by)}." if report.by == "due_date" else ""
        self.aged_summary.setText(f"{_who_owes(report)} {m(report.total)} in all ({buckets}).{by}")

    def export(self, path: Path) -> int:
        """Write the report on the current tab to ``path`` as CSV; returns the rows written."""
        if self.tabs.currentIndex() == 0:
            report = self.takings
            footer: list[list[Any]] = (
                []
                if report is None
                else [
                    ["Total", report.received, report.refunded, report.net],
                    ["Applied to invoices", report.applied_from_money],
                    ["Left as account credit", report.to_credit],
                    ["Account credit applied", report.credit_applied],
                ]
            )
            if report is not None and report.scope == "payers":
                footer.append(["Remittances", *(c.title for c in REMITTANCE_COLUMNS)])
                footer.extend(
                    ["", *(c.value(r) for c in REMITTANCE_COLUMNS)] for r in report.remittances
                )
            return self.takings_model.write_csv(path, footer)
        if self.tabs.currentIndex() == REVENUE_TAB:
            total = ["Total", *revenue_totals(self.revenue)[1:]]
            return self.revenue_model.write_csv(path, [total])
        if self.tabs.currentIndex() == 2:
            held = self.liability
            footer = [] if held is None else [["Total", held.total]]
            return self.liability_model.write_csv(path, footer)
        aged = self.aged
        footer = (
            []
            if aged is None
            else [["Total", *aged.buckets, aged.total], ["Ages counted from", _aged_from(aged.by)]]
        )
        return self.aged_model.write_csv(path, footer)

    def _reapply_sort(self, table: QTableView) -> None:
        header = table.horizontalHeader()
        if header.isSortIndicatorShown() and header.sortIndicatorSection() >= 0:
            table.model().sort(header.sortIndicatorSection(), header.sortIndicatorOrder())

    def _say(self, text: str, tone: str | None) -> None:
        self.message_label.setText(text)
        set_tone(self.message_label, tone)

    def _scope_name(self) -> str:
        """The chosen accounts in a file name ("-payers", "-bupa"; nothing for everyone)."""
        scope, payer = self.scope
        if payer is not None:
            words = re.findall(r"\w+", self.scope_combo.currentText().lower())
            return "-" + "-".join(words or ["payer"])
        return "" if scope == "everyone" else f"-{scope}"

    def _suggested_name(self) -> str:
        if self.tabs.currentIndex() == 0:
            start, end = _day(self.start_edit), _day(self.end_edit)
            return f"takings{self._scope_name()}-{start.isoformat()}-to-{end.isoformat()}.csv"
        if self.tabs.currentIndex() == REVENUE_TAB:
            start, end = _day(self.revenue_start_edit), _day(self.revenue_end_edit)
            by = self.revenue_by_combo.currentData()
            return f"revenue-by-{by}-{start.isoformat()}-to-{end.isoformat()}.csv"
        if self.tabs.currentIndex() == 2:
            return f"account-credit-held-{_day(self.held_on_edit).isoformat()}.csv"
        by = "-by-due-date" if self.age_by_combo.currentData() == "due_date" else ""
        return f"aged-receivables{self._scope_name()}{by}-{_day(self.as_of_edit).isoformat()}.csv"

    # -- slots ------------------------------------------------------------------------------

    def _on_scope_combo_changed(self, *_args: object) -> None:
        self._scope_changed()
        self.show_takings()
        self.show_aged()

    def _on_tabs_current_changed(self, *_args: object) -> None:
        shown = self._shows_scope()
        self.scope_combo.setEnabled(shown)
        self._scope_changed()

    def _on_payer_statement_button_clicked(self) -> None:
        self.open_payer_statement()

    def _on_takings_filter_changed(self, *_args: object) -> None:
        self.show_takings()

    def _on_aged_filter_changed(self, *_args: object) -> None:
        self.show_aged()

    def _on_liability_filter_changed(self, *_args: object) -> None:
        self.show_liability()

    def _on_revenue_filter_changed(self, *_args: object) -> None:
        self.show_revenue()

    def _on_refresh_button_clicked(self) -> None:
        self.refresh()

    def _on_export_button_clicked(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, "Export report", str(Path.home() / self._suggested_name()), "CSV files (*.csv)"
        )
        if not name:
            return
        try:
            rows = self.export(Path(name))
        except OSError as exc:
            self._say(f"The report could not be saved: {exc.strerror or exc}.", "problem")
            return
        self._say(f"Exported {rows:,} row{'' if rows == 1 else 's'} to {name}.", "done")


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _who_owes(report: AgedReceivables) -> str:
    """Who owes, in words: "2 patients and 1 payer owe", "Bupa owes … for 3 patients"."""
    if report.payer_id is not None:
        return f"{report.payer_name} owes, for {_plural(len(report.rows), 'patient')},"
    parts = []
    if report.scope != "payers" and (report.patients or report.scope == "patients"):
        parts.append(_plural(report.patients, "patient"))
    if report.scope != "patients" and (report.payers or report.scope == "payers"):
        parts.append(_plural(report.payers, "payer"))
    who = " and ".join(parts) or "0 patients"
    return f"{who} {'owes' if len(report.rows) == 1 else 'owe'}"


def _takings_whose(report: Takings) -> str:
    """Whose payments the takings are, in words (empty for everyone)."""
    if report.payer_id is not None:
        count = len(report.remittances)
        return f"{report.payer_name}: {_plural(count, 'remittance')}."
    if report.scope == "payers":
        return f"All payers: {_plural(len(report.remittances), 'remittance')}."
    if report.scope == "patients":
        return "Patients' own payments (payers' remittances left out)."
    return ""


def revenue_totals(rows: Sequence[RevenueRow]) -> list[Any]:
    """The revenue columns summed (the name column empty): the report's total line."""
    return [
        None,
        *(
            sum((column.value(row) for row in rows), Decimal(0) if column.money else 0)
            for column in REVENUE_COLUMNS[1:]
        ),
    ]


def aged_row_text(model: ReportTableModel, row: AgedRow | TakingsLine) -> list[str]:
    """Every cell of one row as the table shows it (for tests and screen readers)."""
    return [model.text(row, c) for c in range(len(model.columns))]
