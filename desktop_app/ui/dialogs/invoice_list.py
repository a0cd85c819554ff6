"""The "All invoices" window: every invoice of the clinic, searched, filtered and sorted.

A non-modal window (Tools > All invoices…, Ctrl+Shift+I). The list reads a page of 200 at a time
as it scrolls (:class:`~desktop_app.ui.models.invoices.InvoiceListModel`), so it opens as quickly on
a million invoices as on a thousand. The "N invoices" figure is counted on a worker thread after
the first page is shown: a count has to read every matching index entry. Enter or a double-click on
an invoice shows its patient in the main window (:attr:`InvoiceListWindow.patient_chosen`).

An invoice billed to a third-party payer is listed with the patient it is for; "Billed to" names
the payer (or says "Patient") and "Claim" gives the payer's claim reference. A clinic that has no
payers does not see those two columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.ui.background import BackgroundRunner
from desktop_app.ui.formatting import Formatter
from desktop_app.ui.models.invoices import (
    BILLED_TO,
    CLAIM,
    DUE,
    ISSUED,
    NUMBER,
    PATIENT,
    SORT_KEYS,
    STATUS,
    STATUS_FILTERS,
    InvoiceListModel,
)
from desktop_app.ui.style import HINT_TONE, set_tone

if TYPE_CHECKING:
    from desktop_app.core import Clinic, InvoiceListRow

SEARCH_DELAY_MS = 200
ROW_HEIGHT = 26
AMOUNT_WIDTH = 100
COLUMN_WIDTHS = {
    NUMBER: 90,
    PATIENT: 220,
    BILLED_TO: 130,
    CLAIM: 110,
    ISSUED: 105,
    DUE: 105,
    STATUS: 70,
}
COUNTING = "Counting…"


def invoices_text(count: int) -> str:
    """``1 invoice``, ``1,000,000 invoices``."""
    return f"{count:,} invoice{'' if count == 1 else 's'}"


class InvoiceListWindow(QDialog):
    """Every invoice of the clinic: search (number or patient name), status filter, sortable."""

    #: The patient whose invoice was chosen (Enter or double-click on a row).
    patient_chosen = Signal(int)
    #: Staff asked to correct an invoice: its patient's id, then its id.
    edit_requested = Signal(int, int)

    def __init__(self, clinic: Clinic, formatter: Formatter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self.setWindowTitle("All invoices")
        self.setModal(False)
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.setSizeGripEnabled(True)
        self.resize(1000, 640)
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._on_search_timer_timeout)
        self._counter = BackgroundRunner(self)  # one count at a time, the latest search next
        self._count_request = 0
        self.model = InvoiceListModel(clinic, formatter, self)
        self._build()
        self._count()

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        controls = QHBoxLayout()
        self.search_edit = QLineEdit()
        self.search_edit.setAccessibleName("Search invoices")
        self.search_edit.setPlaceholderText("Invoice number or patient name (Ctrl+F)")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self._on_search_edit_text_changed)
        self.search_edit.returnPressed.connect(self._on_search_edit_return_pressed)
        search_label = QLabel("&Search:")
        search_label.setBuddy(self.search_edit)
        self.status_combo = QComboBox()
        self.status_combo.setAccessibleName("Status")
        for text, status in STATUS_FILTERS:
            self.status_combo.addItem(text, status)
        self.status_combo.currentIndexChanged.connect(self._on_status_combo_current_index_changed)
        status_label = QLabel("S&tatus:")
        status_label.setBuddy(self.status_combo)
        self.count_label = QLabel()
        self.count_label.setAccessibleName("Number of invoices")
        self.count_label.setMinimumWidth(  # room for the largest figure: the box must not jump
            self.count_label.fontMetrics().horizontalAdvance("10,000,000 invoices") + 8
        )
        controls.addWidget(search_label)
        controls.addWidget(self.search_edit, 1)
        controls.addSpacing(12)
        controls.addWidget(status_label)
        controls.addWidget(self.status_combo)
        controls.addSpacing(12)
        controls.addWidget(self.count_label)
        layout.addLayout(controls)

        self.table = QTableView()
        self.table.setAccessibleName("Invoices")
        self.table.setModel(self.model)
        self.table.setTabKeyNavigation(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        rows = self.table.verticalHeader()
        rows.setVisible(False)
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # never sized to the contents
        rows.setDefaultSectionSize(ROW_HEIGHT)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setDefaultSectionSize(AMOUNT_WIDTH)
        header.setStretchLastSection(False)
        for column, width in COLUMN_WIDTHS.items():
            header.resizeSection(column, width)
        header.setSectionResizeMode(PATIENT, QHeaderView.ResizeMode.Stretch)
        self.show_payer_columns(bool(self._clinic.payers(include_archived=True)))
        header.setSortIndicator(NUMBER, Qt.SortOrder.AscendingOrder)
        header.setSortIndicatorShown(True)
        self.table.setSortingEnabled(True)  # clicks call model.sort(): the database re-sorts
        header.sortIndicatorChanged.connect(self._on_header_sort_indicator_changed)
        self.table.activated.connect(self._on_table_activated)  # Enter, or a double-click
        layout.addWidget(self.table, 1)

        bottom = QHBoxLayout()
        self.hint_label = QLabel()
        set_tone(self.hint_label, HINT_TONE)
        self.hint_label.setWordWrap(True)
        bottom.addWidget(self.hint_label, 1)
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.setToolTip("Show invoices saved since the window opened (F5)")
        self.refresh_button.clicked.connect(self._on_refresh_button_clicked)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        self.edit_button = QPushButton("&Edit invoice…")
        self.edit_button.setToolTip(
            "Change, issue or delete a draft, or correct an invoice nothing is paid on (Ctrl+E)"
        )
        self.edit_button.clicked.connect(self._on_edit_button_clicked)
        bottom.addWidget(self.edit_button)
        for button in (self.edit_button, self.refresh_button, self.close_button):
            button.setAutoDefault(False)  # Enter on a row chooses it; it must not close the window
            button.setDefault(False)
        bottom.addWidget(self.refresh_button)
        bottom.addWidget(self.close_button)
        layout.addLayout(bottom)
        self.model.rowsInserted.connect(self._on_model_rows_inserted)
        self.model.modelReset.connect(self._on_model_reset)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self, self._focus_search)
        QShortcut(QKeySequence("F5"), self, self._on_refresh_button_clicked)
        QShortcut(QKeySequence("Ctrl+E"), self, self._on_edit_button_clicked)
        self._show_hint()

    # -- what the window does ---------------------------------------------------------------

    @property
    def clinic(self) -> Clinic:
        """Where the invoices come from (the open clinic)."""
        return self._clinic

    def show_payer_columns(self, shown: bool) -> None:
        """Show or hide "Billed to" and "Claim" (hidden while the clinic has no payers)."""
        for column in (BILLED_TO, CLAIM):
            self.table.setColumnHidden(column, not shown)

    def apply_search(self) -> None:
        """Search now for what the search box holds (typing waits for a pause first)."""
        self._search_timer.stop()
        self.model.set_search(self.search_edit.text())

    def set_status(self, status: str | None) -> None:
        """Show only ``open``, ``overdue``, ``paid`` or ``void`` invoices (None: all)."""
        found = self.status_combo.findData(status)
        self.status_combo.setCurrentIndex(max(found, 0))

    def reload(self) -> None:
        """Read the list again: invoices saved since it was read appear."""
        self.show_payer_columns(bool(self._clinic.payers(include_archived=True)))
        self.model.reload()

    def selected_invoice(self) -> InvoiceListRow | None:
        """The invoice on the current row, if any."""
        index = self.table.currentIndex()
        return self.model.invoice(index.row()) if index.isValid() else None

    def choose(self, row: int) -> None:
        """Show the patient of the invoice on ``row`` in the main window."""
        if 0 <= row < self.model.rowCount():
            self.patient_chosen.emit(self.model.invoice(row).patient_id)

    def edit_selected(self) -> bool:
        """Ask the main window to correct the invoice on the current row; False if none."""
        invoice = self.selected_invoice()
        if invoice is None:
            return False
        self.edit_requested.emit(invoice.patient_id, invoice.id)
        return True

    def wait_for_count(self) -> None:
        """Block until the invoices are counted (for tests and benchmarks)."""
        self._counter.wait()

    def _count(self) -> None:
        self._count_request += 1
        self.count_label.setText(COUNTING)
        clinic, search, status = self._clinic, self.model.search, self.model.status
        request = self._count_request
        self._counter.run(
            lambda _job: clinic.invoice_count(search, status),
            on_done=lambda count: self._on_counted(request, count),
            on_failed=lambda _exc: self._on_counted(request, -1),
            queue=True,
        )

    def _show_hint(self) -> None:
        if self.model.at_limit:
            self.hint_label.setText(
                f"The first {self.model.rowCount():,} are shown. Search for a patient or an "
                "invoice number, filter by status, or click a column heading again to start "
                "from the other end."
            )
        else:
            self.hint_label.setText(
                "Enter or double-click shows the invoice's patient. Click a column heading to "
                "sort by it (Invoice, Patient, Issued, Balance)."
            )

    def _focus_search(self) -> None:
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    # -- slots ------------------------------------------------------------------------------

    def _on_search_edit_text_changed(self, _text: str) -> None:
        self._search_timer.start()

    def _on_search_timer_timeout(self) -> None:
        self.apply_search()

    def _on_search_edit_return_pressed(self) -> None:
        self.apply_search()
        if self.model.rowCount():
            self.table.setFocus()
            self.table.selectRow(0)

    def _on_status_combo_current_index_changed(self, _index: int) -> None:
        self.model.set_status(self.status_combo.currentData())

    def _on_edit_button_clicked(self) -> None:
        self.edit_selected()

    def _on_refresh_button_clicked(self) -> None:
        self.reload()

    def _on_header_sort_indicator_changed(self, column: int, order: Qt.SortOrder) -> None:
        if column not in SORT_KEYS:  # not an order of its own: keep showing the one in use
            header = self.table.horizontalHeader()
            header.blockSignals(True)
            current = (
                Qt.SortOrder.DescendingOrder
                if self.model.descending
                else Qt.SortOrder.AscendingOrder
            )
            header.setSortIndicator(self.model.sort_column(), current)
            header.blockSignals(False)

    def _on_table_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.choose(index.row())

    def _on_model_reset(self) -> None:
        self._show_hint()
        self._count()
        if self.model.rowCount():
            self.table.scrollToTop()

    def _on_model_rows_inserted(self, *_args: object) -> None:
        if self.model.at_limit:
            self._show_hint()

    def _on_counted(self, request: int, count: int) -> None:
        if request != self._count_request:
            return  # an older search's count
        self.count_label.setText("" if count < 0 else invoices_text(count))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self._search_timer.stop()
        self.model.cancel_read_ahead()
        self._counter.stop()
        super().closeEvent(event)

    def done(self, result: int) -> None:  # Escape closes the window the same way
        self._search_timer.stop()
        self.model.cancel_read_ahead()
        self._counter.stop()
        super().done(result)
