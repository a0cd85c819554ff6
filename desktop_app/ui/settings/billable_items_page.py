"""Settings > Billable items: the clinic's catalogue of services and products, searched, added,
edited, archived and restored, and the "Prices include tax" setting.

Every role sees the catalogue; only a role with the settings permission changes it. Each button
saves at once; the core's refusal is shown on the page.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
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

from desktop_app.core import BillableItemRecord, BillingError, Permission
from desktop_app.ui.settings.billable_item_dialog import BillableItemDialog
from desktop_app.ui.style import DONE_TONE, PROBLEM_TONE, set_tone

if TYPE_CHECKING:
    from desktop_app.core import Clinic

COLUMNS = ("Code", "Name", "Kind", "Price", "Tax rate", "Concession prices", "Status")


def concession_summary(item: BillableItemRecord) -> str:
    """``Pensioner 75.00, DVA 80.00`` (or a dash)."""
    return ", ".join(f"{name} {price:f}" for name, price in item.concession_prices.items()) or "—"


class BillableItemsPage(QWidget):
    """The catalogue table and its buttons."""

    def __init__(self, clinic: Clinic, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._clinic = clinic
        #: Whether this role may change the catalogue (and the tax setting).
        self.may_edit = clinic.may(Permission.SETTINGS)
        self.items: list[BillableItemRecord] = []
        layout = QVBoxLayout(self)
        filters = QHBoxLayout()
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search code or name…")
        self.search_edit.setAccessibleName("Search billable items")
        self.search_edit.textChanged.connect(self.reload)
        self.archived_check = QCheckBox("Show &archived")
        self.archived_check.toggled.connect(self.reload)
        filters.addWidget(self.search_edit, 1)
        filters.addWidget(self.archived_check)
        layout.addLayout(filters)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Billable items")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.table.doubleClicked.connect(lambda _index: self.edit_selected())
        layout.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("A&dd…")
        self.add_button.clicked.connect(lambda: self.add_item())
        self.edit_button = QPushButton("&Edit…")
        self.edit_button.clicked.connect(lambda: self.edit_selected())
        self.archive_button = QPushButton("Arc&hive")
        self.archive_button.clicked.connect(self.archive_selected)
        self.restore_button = QPushButton("Res&tore")
        self.restore_button.clicked.connect(self.restore_selected)
        for button in (self.add_button, self.edit_button, self.archive_button, self.restore_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.import_button = QPushButton("&Import CSV…")
        self.import_button.setToolTip(
            "Add and change items from a spreadsheet (columns: code, name, kind, price, tax_rate,"
            " archived, concession_prices as Pensioner=75.00; Student=85.00)"
        )
        self.import_button.clicked.connect(lambda: self.import_items())
        self.import_button.setEnabled(self.may_edit)
        self.export_button = QPushButton("E&xport CSV…")
        self.export_button.clicked.connect(lambda: self.export_items())
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.export_button)
        layout.addLayout(buttons)
        #: Where the prices' tax stands (it is set in Settings > Finances > Invoices).
        self.tax_note = QLabel(
            ("Prices include tax" if clinic.prices_include_tax else "Tax is added to these prices")
            + " (Settings > Finances > Invoices). A change of price or of that setting applies "
            "to new invoices only: issued invoices keep their amounts."
        )
        self.tax_note.setWordWrap(True)
        layout.addWidget(self.tax_note)
        if not self.may_edit:
            layout.addWidget(QLabel("Only a role that may change settings changes the catalogue."))
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        layout.addWidget(self.message_label)
        self.reload()

    def reload(self) -> None:
        """Read the catalogue again, with the search and "Show archived" applied."""
        keep = self.selected()
        self.items = self._clinic.billable_items(
            self.search_edit.text(), include_archived=self.archived_check.isChecked()
        )
        self.table.setRowCount(0)
        for item in self.items:
            row = self.table.rowCount()
            self.table.insertRow(row)
            for column, text in enumerate(
                (
                    item.code,
                    item.name,
                    item.kind.capitalize(),
                    f"{item.price:f}",
                    f"{item.tax_rate.normalize():f}%",
                    concession_summary(item),
                    "Archived" if item.archived else "Active",
                )
            ):
                self.table.setItem(row, column, QTableWidgetItem(text))
            if keep is not None and item.id == keep.id:
                self.table.selectRow(row)
        self._on_selection_changed()

    def selected(self) -> BillableItemRecord | None:
        """The item selected in the table."""
        rows = self.table.selectionModel().selectedRows() if self.items else []
        return self.items[rows[0].row()] if rows else None

    def select_code(self, code: str) -> bool:
        """Select the item ``code`` in the table; False if it is not shown."""
        for row, item in enumerate(self.items):
            if item.code.casefold() == code.casefold():
                self.table.selectRow(row)
                return True
        return False

    def _say(self, text: str, tone: str) -> None:
        self.message_label.setText(text)
        set_tone(self.message_label, tone)

    def item_dialog(self, item: BillableItemRecord | None = None) -> BillableItemDialog:
        """The item window for ``item`` (a new item when None); tests answer it."""
        return BillableItemDialog(self._clinic, item, self)

    def add_item(self) -> bool:
        """Open the item window for a new item; True if one was saved."""
        if not self.may_edit:
            return False
        dialog = self.item_dialog()
        if not dialog.exec():
            return False
        self.reload()
        self.select_code(dialog.code_edit.text().strip())
        self._say(f"Added {dialog.code_edit.text().strip()}.", DONE_TONE)
        return True

    def edit_selected(self) -> bool:
        """Open the item window for the selected item; True if it was saved."""
        item = self.selected()
        if item is None or not self.may_edit:
            return False
        dialog = self.item_dialog(item)
        if not dialog.exec():
            return False
        self.reload()
        self._say(f"Saved {dialog.code_edit.text().strip()}.", DONE_TONE)
        return True

    def _set_archived(self, archived: bool) -> None:
        item = self.selected()
        if item is None or not self.may_edit:
            return
        try:
            if archived:
                self._clinic.archive_billable_item(item.id)
            else:
                self._clinic.restore_billable_item(item.id)
        except BillingError as exc:
            self._say(str(exc), PROBLEM_TONE)
            return
        self.reload()
        done = "archived: new invoices no longer offer it" if archived else "restored"
        self._say(f"{item.code} {done}.", DONE_TONE)

    def import_items(self, path: Path | None = None) -> bool:
        """Import an items CSV (asking for the file when ``path`` is None); True when saved.
        A bad row refuses the whole file: the message names the row, nothing is saved."""
        if not self.may_edit:
            return False
        if path is None:
            name, _ = QFileDialog.getOpenFileName(
                self, "Import billable items", str(Path.home()), "CSV files (*.csv)"
            )
            if not name:
                return False
            path = Path(name)
        try:
            result = self._clinic.import_billable_items(path)
        except BillingError as exc:
            self._say(str(exc), PROBLEM_TONE)
            return False
        self.reload()
        self._say(
            f"Imported {path.name}: {result.added:,} added, {result.updated:,} changed, "
            f"{result.unchanged:,} unchanged. Issued invoices keep their prices.",
            DONE_TONE,
        )
        return True

    def export_items(self, path: Path | None = None) -> bool:
        """Write the whole catalogue (archived items too) to an items CSV; True when written."""
        if path is None:
            name, _ = QFileDialog.getSaveFileName(
                self,
                "Export billable items",
                str(Path.home() / "billable-items.csv"),
                "CSV files (*.csv)",
            )
            if not name:
                return False
            path = Path(name)
        try:
            count = self._clinic.export_billable_items(path)
        except OSError as exc:
            self._say(f"The file could not be saved: {exc.strerror or exc}.", PROBLEM_TONE)
            return False
        self._say(f"Exported {count:,} item{'' if count == 1 else 's'} to {path}.", DONE_TONE)
        return True

    def archive_selected(self) -> None:
        """Archive the selected item (issued invoices keep their lines)."""
        self._set_archived(True)

    def restore_selected(self) -> None:
        """Bring the selected archived item back to the catalogue."""
        self._set_archived(False)

    # -- slots ------------------------------------------------------------------------------

    def _on_selection_changed(self) -> None:
        item = self.selected()
        self.add_button.setEnabled(self.may_edit)
        self.edit_button.setEnabled(self.may_edit and item is not None)
        self.archive_button.setEnabled(self.may_edit and item is not None and not item.archived)
        self.restore_button.setEnabled(self.may_edit and item is not None and item.archived)
