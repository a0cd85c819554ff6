"""Settings > Payers: the clinic's third-party payers (health funds, insurers, workers'
compensation, government schemes, employers), searched, added, edited, archived, restored,
deleted, and taken to and from a spreadsheet.

Every role sees the payers; only a role that may change payers (administrators and
bookkeepers) changes them. Each button saves at once; the core's refusal is shown on the page.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BillingError, PayerRecord, Permission, Refusal
from desktop_app.ui.formatting import Formatter
from desktop_app.ui.settings.payer_dialog import PayerDialog, kind_label
from desktop_app.ui.style import DONE_TONE, PROBLEM_TONE, set_tone

if TYPE_CHECKING:
    from desktop_app.core import Clinic

COLUMNS = ("Name", "Kind", "Reference label", "Email / phone", "Outstanding", "Credit", "Status")
#: The columns of amounts (right-aligned).
AMOUNT_COLUMNS = (4, 5)
#: The column that takes the table's spare width.
CONTACT_COLUMN = 3


def contact_summary(payer: PayerRecord) -> str:
    """``claims@example.org · 1300 555 111`` (or a dash)."""
    return " · ".join(part for part in (payer.email, payer.phone) if part) or "—"


class PayersPage(QWidget):
    """The payers table and its buttons."""

    def __init__(
        self, clinic: Clinic, formatter: Formatter | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self.formatter = formatter or Formatter(clinic.currency)
        #: Whether this role may change payers.
        self.may_edit = clinic.may(Permission.PAYERS)
        self.payers: list[PayerRecord] = []
        layout = QVBoxLayout(self)
        filters = QHBoxLayout()
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search payers by name…")
        self.search_edit.setAccessibleName("Search payers")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self.reload)
        self.archived_check = QCheckBox("Show &archived")
        self.archived_check.toggled.connect(self.reload)
        filters.addWidget(self.search_edit, 1)
        filters.addWidget(self.archived_check)
        layout.addLayout(filters)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Payers")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(CONTACT_COLUMN, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.table.doubleClicked.connect(lambda _index: self.edit_selected())
        layout.addWidget(self.table, 1)
        self.empty_label = QLabel()
        self.empty_label.setWordWrap(True)
        layout.addWidget(self.empty_label)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("A&dd…")
        self.add_button.clicked.connect(lambda: self.add_payer())
        self.edit_button = QPushButton("&Edit…")
        self.edit_button.clicked.connect(lambda: self.edit_selected())
        self.archive_button = QPushButton("Arc&hive")
        self.archive_button.clicked.connect(self.archive_selected)
        self.restore_button = QPushButton("Res&tore")
        self.restore_button.clicked.connect(self.restore_selected)
        self.delete_button = QPushButton("De&lete…")
        self.delete_button.setToolTip(
            "Delete a payer added by mistake (one with invoices or payments is archived instead)"
        )
        self.delete_button.clicked.connect(lambda: self.delete_selected())
        for button in (
            self.add_button,
            self.edit_button,
            self.archive_button,
            self.restore_button,
            self.delete_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.import_button = QPushButton("&Import CSV…")
        self.import_button.setToolTip(
            "Add and change payers from a spreadsheet (columns: name, kind, reference_label, "
            "email, phone, address, notes); a payer is matched by its name"
        )
        self.import_button.clicked.connect(lambda: self.import_payers())
        self.export_button = QPushButton("E&xport CSV…")
        self.export_button.setToolTip("Write the active payers to a spreadsheet")
        self.export_button.clicked.connect(lambda: self.export_payers())
        for button in (self.import_button, self.export_button):
            button.setEnabled(self.may_edit)
            buttons.addWidget(button)
        layout.addLayout(buttons)
        note = QLabel(
            "Each button saves at once (OK and Cancel do not undo it). A payer's outstanding is "
            "what its invoices still owe; its credit, what it paid that no invoice took."
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        #: Said to a role that may not change payers (None for those who may).
        self.read_only_label: QLabel | None = None
        if not self.may_edit:
            self.read_only_label = QLabel(
                "Your role may see the payers but not change them (administrators and "
                "bookkeepers change them)."
            )
            self.read_only_label.setWordWrap(True)
            layout.addWidget(self.read_only_label)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setAccessibleName("Message")
        layout.addWidget(self.message_label)
        self.reload()

    # -- the list ---------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the payers again, with the search and "Show archived" applied."""
        keep = self.selected()
        self.payers = self._clinic.payers(
            include_archived=self.archived_check.isChecked(), search=self.search_edit.text()
        )
        money = self.formatter.money
        self.table.setRowCount(0)
        for payer in self.payers:
            row = self.table.rowCount()
            self.table.insertRow(row)
            texts = (
                payer.name,
                kind_label(payer.kind),
                payer.reference_label,
                contact_summary(payer),
                money(payer.outstanding),
                money(payer.credit),
                "Archived" if payer.archived else "Active",
            )
            for column, text in enumerate(texts):
                cell = QTableWidgetItem(text)
                if column in AMOUNT_COLUMNS:
                    cell.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if column == 0 and (payer.address or payer.notes):
                    cell.setToolTip("\n\n".join(t for t in (payer.address, payer.notes) if t))
                self.table.setItem(row, column, cell)
            if keep is not None and payer.id == keep.id:
                self.table.selectRow(row)
        if self.payers:
            self.empty_label.setText("")
        elif self.search_edit.text().strip():
            self.empty_label.setText("No payers match.")
        else:
            self.empty_label.setText(
                "No payers yet. Add the health funds, insurers and schemes that pay for your "
                "patients" + (", or import them from a spreadsheet." if self.may_edit else ".")
            )
        self.empty_label.setVisible(not self.payers)
        self._on_selection_changed()

    def selected(self) -> PayerRecord | None:
        """The payer selected in the table."""
        rows = self.table.selectionModel().selectedRows() if self.payers else []
        return self.payers[rows[0].row()] if rows else None

    def select_name(self, name: str) -> bool:
        """Select the payer ``name`` (ignoring case) in the table; False if it is not shown."""
        for row, payer in enumerate(self.payers):
            if payer.name.casefold() == name.casefold():
                self.table.selectRow(row)
                return True
        return False

    def _say(self, text: str, tone: str) -> None:
        self.message_label.setText(text)
        set_tone(self.message_label, tone)

    # -- add, edit, archive, restore, delete --------------------------------------------------

    def payer_dialog(self, payer: PayerRecord | None = None) -> PayerDialog:
        """The payer window for ``payer`` (a new payer when None); tests answer it."""
        return PayerDialog(self._clinic, payer, self)

    def add_payer(self) -> bool:
        """Open the payer window for a new payer; True if one was saved."""
        if not self.may_edit:
            return False
        dialog = self.payer_dialog()
        if not dialog.exec():
            return False
        self.reload()
        name = dialog.name_edit.text().strip()
        self.select_name(name)
        self._say(f"Added {name}.", DONE_TONE)
        return True

    def edit_selected(self) -> bool:
        """Open the payer window for the selected payer; True if it was saved."""
        payer = self.selected()
        if payer is None or not self.may_edit:
            return False
        dialog = self.payer_dialog(payer)
        if not dialog.exec():
            return False
        self.reload()
        self._say(f"Saved {dialog.name_edit.text().strip()}.", DONE_TONE)
        return True

    def _set_archived(self, archived: bool) -> None:
        payer = self.selected()
        if payer is None or not self.may_edit:
            return
        try:
            if archived:
                self._clinic.archive_payer(payer.id)
            else:
                self._clinic.restore_payer(payer.id)
        except BillingError as exc:
            self._say(str(exc), PROBLEM_TONE)
            return
        self.reload()
        done = (
            "archived: new invoices and memberships no longer offer it; its history is kept"
            if archived
            else "restored"
        )
        self._say(f"{payer.name} {done}.", DONE_TONE)

    def archive_selected(self) -> None:
        """Archive the selected payer (refused while it owes money or holds credit)."""
        self._set_archived(True)

    def restore_selected(self) -> None:
        """Bring the selected archived payer back."""
        self._set_archived(False)

    def confirm_delete(self, payer: PayerRecord) -> bool:
        """Ask before deleting ``payer``; tests replace this."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Delete payer")
        box.setText(f"Delete {payer.name}?")
        box.setInformativeText(
            "Only a payer added by mistake is deleted, with its patients' memberships. "
            "A payer with invoices or payments is kept: archive it instead."
        )
        delete = box.addButton("&Delete", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("&Keep", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.exec()
        return box.clickedButton() is delete

    def delete_selected(self) -> bool:
        """Delete the selected payer after asking; True if it was deleted. The core refuses a
        payer with history: its message is shown and Archive offered instead."""
        payer = self.selected()
        if payer is None or not self.may_edit or not self.confirm_delete(payer):
            return False
        try:
            self._clinic.delete_payer(payer.id)
        except BillingError as exc:
            self._say(str(exc), PROBLEM_TONE)
            if exc.code is Refusal.HAS_BALANCE and not payer.archived:
                self.archive_button.setFocus()
            return False
        self.reload()
        self._say(f"Deleted {payer.name}.", DONE_TONE)
        return True

    # -- spreadsheets -------------------------------------------------------------------------

    def import_payers(self, path: Path | None = None) -> bool:
        """Import a payers CSV (asking for the file when ``path`` is None); True when saved.
        A bad row refuses the whole file: the message names the row, nothing is saved."""
        if not self.may_edit:
            return False
        if path is None:
            name, _ = QFileDialog.getOpenFileName(
                self, "Import payers", str(Path.home()), "CSV files (*.csv)"
            )
            if not name:
                return False
            path = Path(name)
        try:
            result = self._clinic.import_payers(path)
        except BillingError as exc:
            self._say(str(exc), PROBLEM_TONE)
            return False
        self.reload()
        self._say(
            f"Imported {path.name}: {result.added:,} added, {result.updated:,} changed, "
            f"{result.unchanged:,} unchanged.",
            DONE_TONE,
        )
        return True

    def export_payers(self, path: Path | None = None) -> bool:
        """Write the active payers to a payers CSV (asking where when ``path`` is None); True
        when written."""
        if not self.may_edit:
            return False
        if path is None:
            name, _ = QFileDialog.getSaveFileName(
                self, "Export payers", str(Path.home() / "payers.csv"), "CSV files (*.csv)"
            )
            if not name:
                return False
            path = Path(name)
        try:
            count = self._clinic.export_payers(path)
        except OSError as exc:
            self._say(f"The file could not be saved: {exc.strerror or exc}.", PROBLEM_TONE)
            return False
        self._say(f"Exported {count:,} payer{'' if count == 1 else 's'} to {path}.", DONE_TONE)
        return True

    # -- slots ------------------------------------------------------------------------------

    def _on_selection_changed(self) -> None:
        payer = self.selected()
        chosen = self.may_edit and payer is not None
        self.add_button.setEnabled(self.may_edit)
        self.edit_button.setEnabled(chosen)
        self.archive_button.setEnabled(chosen and payer is not None and not payer.archived)
        self.restore_button.setEnabled(chosen and payer is not None and payer.archived)
        self.delete_button.setEnabled(chosen)
