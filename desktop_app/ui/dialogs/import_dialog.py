"""File > Import…: bring in a CSV file from the clinic's previous system (patients, invoices with
their lines, payments, opening account credit balances), all of it or nothing.

The import runs in a worker thread (:class:`~desktop_app.ui.background.BackgroundRunner`) so the
window stays responsive while a large file is checked and saved; a progress bar follows it, and
Cancel really cancels: the import polls for it about every 1,000 rows and then rolls back, saving
nothing. A refused file shows its problems in a table (row as the spreadsheet numbers it, column,
what is wrong). The work itself is :func:`desktop_app.core.import_file`; the formats are
in ``docs/import-formats.md``.

Once a file is chosen, its columns are listed with the field each one imports as: matched by name
(or a name other systems use), chosen by hand in the table ("Ignore" leaves a column out), or
taken from a mapping saved earlier under a name (kept in the clinic's settings, so every computer
offers it; a saved mapping whose columns the file has is chosen by itself).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QStandardPaths, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import DETAIL_LABELS as FIELD_LABELS
from desktop_app.core import IMPORT_COLUMNS as COLUMNS
from desktop_app.core import IMPORT_IGNORE as IGNORE
from desktop_app.core import (
    BillingError,
    ImportProblem,
    ImportRefused,
    ImportResult,
    import_file,
    import_header,
    suggest_import_mapping,
)
from desktop_app.core import import_template as template
from desktop_app.ui.background import BackgroundRunner
from desktop_app.ui.style import DONE_TONE, PROBLEM_TONE, set_tone

if TYPE_CHECKING:
    from desktop_app.core import Clinic

TITLE = "Import"
#: What can be imported, as the kind list shows it (in the order a clinic imports them).
KIND_LABELS = [
    ("patients", "Patients"),
    ("invoices", "Invoices with their lines"),
    ("payments", "Payments"),
    ("credit", "Opening account credit balances"),
]
NAME_FILTERS = ["CSV files (*.csv)", "All files (*)"]
#: How the mapping table names the fields that are not patient details.
OTHER_LABELS = {
    "external_id": "id in the previous system",
    "address_line_2": "address line 2",
    "opening_credit": "opening account credit",
    "credit_as_of": "opening credit as of",
}
#: The saved-mapping choice that matches the columns by their names alone.
BY_NAME = "Match the columns by name"
IGNORE_LABEL = "Ignore"


def field_label(field: str) -> str:
    """``"date of birth (date_of_birth)"``: what people call a field, and its name."""
    label = OTHER_LABELS.get(field) or FIELD_LABELS.get(field) or field.replace("_", " ")
    return f"{label} ({field})"


def _documents() -> str:
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return folder if folder and Path(folder).is_dir() else str(Path.home())


def _add_row(form: QFormLayout, label: str, field: QWidget, button: QPushButton) -> None:
    """A form row: ``label`` (its mnemonic goes to ``field``), ``field`` and a button after it."""
    row = QHBoxLayout()
    row.addWidget(field, 1)
    row.addWidget(button)
    buddy = QLabel(label)
    buddy.setBuddy(field)
    form.addRow(buddy, row)


class ImportDialog(QDialog):
    """Choose what to import and the CSV file, then Import; shows progress and the outcome.

    Signals:
        imported(object): an import saved something (its :class:`ImportResult`); the main window
            re-reads its lists.
        import_finished(): an import ended, whatever the outcome (the dialog shows it).
    """

    imported = Signal(object)
    import_finished = Signal()

    def __init__(self, clinic: Clinic, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self._runner = BackgroundRunner(self)
        #: The last completed import, if any.
        self.outcome: ImportResult | None = None
        #: The problems of the last refused file.
        self.problems: list[ImportProblem] = []
        self._saved: dict[str, dict[str, str]] = {}
        self.setWindowTitle(TITLE)
        self.resize(760, 600)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.kind_combo = QComboBox()
        self.kind_combo.setAccessibleName("What to import")
        for kind, label in KIND_LABELS:
            self.kind_combo.addItem(label, kind)
        self.kind_combo.currentIndexChanged.connect(self._on_kind_combo_current_index_changed)
        form.addRow("&What:", self.kind_combo)
        self.columns_label = QLabel()
        self.columns_label.setWordWrap(True)
        form.addRow("Columns:", self.columns_label)
        self.path_edit = QLineEdit()
        self.path_edit.setAccessibleName("CSV file")
        self.path_edit.setPlaceholderText("A CSV file saved as UTF-8, separated by commas")
        self.path_edit.textChanged.connect(self._on_path_edit_text_changed)
        self.browse_button = QPushButton("&Browse…")
        self.browse_button.clicked.connect(self._on_browse_button_clicked)
        _add_row(form, "&File:", self.path_edit, self.browse_button)
        self.mapping_combo = QComboBox()
        self.mapping_combo.setAccessibleName("Saved column mapping")
        self.mapping_combo.currentIndexChanged.connect(self._on_mapping_combo_current_index_changed)
        self.save_mapping_button = QPushButton("Save &mapping…")
        self.save_mapping_button.setToolTip(
            "Keep these columns' fields under a name, for the next file from the same system"
        )
        self.save_mapping_button.clicked.connect(self._on_save_mapping_button_clicked)
        _add_row(form, "Ma&pping:", self.mapping_combo, self.save_mapping_button)
        layout.addLayout(form)

        self.mapping_view = QTableWidget(0, 2)
        self.mapping_view.setAccessibleName("The file's columns and what each imports as")
        self.mapping_view.setHorizontalHeaderLabels(["Column in the file", "Imports as"])
        self.mapping_view.verticalHeader().setVisible(False)
        self.mapping_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        mapping_header = self.mapping_view.horizontalHeader()
        mapping_header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        mapping_header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.mapping_view.hide()
        layout.addWidget(self.mapping_view, 1)
        self.ignored_label = QLabel()
        self.ignored_label.setWordWrap(True)
        self.ignored_label.setAccessibleName("Columns left out")
        layout.addWidget(self.ignored_label)
        #: The file's header row as last read (empty: no file, or it could not be read).
        self.header: list[str] = []
        self._filling = False

        self.progress_bar = QProgressBar()
        self.progress_bar.setAccessibleName("Import progress")
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        layout.addWidget(self.progress_bar)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setAccessibleName("Import outcome")
        layout.addWidget(self.status_label)
        self.problems_view = QTableWidget(0, 3)
        self.problems_view.setAccessibleName("Problems found in the file")
        self.problems_view.setHorizontalHeaderLabels(["Row", "Column", "Problem"])
        self.problems_view.verticalHeader().setVisible(False)
        self.problems_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.problems_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.problems_view.setWordWrap(True)
        header = self.problems_view.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.problems_view.setColumnWidth(0, 60)
        self.problems_view.setColumnWidth(1, 150)
        self.problems_view.hide()
        layout.addWidget(self.problems_view, 1)
        layout.addStretch(0)

        buttons = QHBoxLayout()
        self.template_button = QPushButton("Save a &template…")
        self.template_button.setToolTip("A CSV file with the columns and example rows")
        self.template_button.clicked.connect(self._on_template_button_clicked)
        self.import_button = QPushButton("&Import")
        self.import_button.setDefault(True)
        self.import_button.clicked.connect(self._on_import_button_clicked)
        self.cancel_button = QPushButton("&Cancel import")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        buttons.addWidget(self.template_button)
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)
        self._show_columns()
        self._load_saved()
        self._update_buttons()

    # -- what is chosen ---------------------------------------------------------------------

    @property
    def kind(self) -> str:
        """The kind of file chosen: patients, invoices, payments or credit."""
        return str(self.kind_combo.currentData())

    def set_kind(self, kind: str) -> None:
        """Choose what to import."""
        index = self.kind_combo.findData(kind)
        if index < 0:
            raise ValueError(f"Unknown import kind {kind!r}")
        self.kind_combo.setCurrentIndex(index)

    @property
    def path(self) -> Path | None:
        """The file chosen, if any."""
        text = self.path_edit.text().strip()
        return Path(text) if text else None

    @property
    def is_running(self) -> bool:
        """Whether an import is under way."""
        return self._runner.busy

    @property
    def mapping(self) -> dict[str, str]:
        """What each of the file's columns imports as, as the table shows it (``ignore``: left
        out). A column nobody matched and nobody chose for is not sent: a patients file ignores
        it with a note, and the other kinds refuse it, so a misspelt ``tax_rate`` cannot quietly
        import invoices without tax. Choosing Ignore for it by hand sends ``ignore``."""
        out: dict[str, str] = {}
        for row, source in enumerate(self.header):
            combo = self.mapping_view.cellWidget(row, 1)
            if isinstance(combo, QComboBox):
                field = str(combo.currentData() or IGNORE)
                if field != IGNORE or combo.property("chosen") or self.kind == "patients":
                    out[source] = field
        return out

    def set_field(self, column: str, field: str | None) -> None:
        """Make the file's ``column`` import as ``field`` (None: ignore it), as a person would
        in the table."""
        combo = self.mapping_view.cellWidget(self.header.index(column), 1)
        assert isinstance(combo, QComboBox)
        combo.setCurrentIndex(max(combo.findData(field or IGNORE), 0))
        combo.setProperty("chosen", True)

    def ask_mapping_name(self) -> str | None:
        """The name to save the mapping under (None: cancelled). Tests replace this."""
        current = self.mapping_combo.currentData()
        name, ok = QInputDialog.getText(
            self,
            f"{TITLE}: save the mapping",
            "Name (such as the previous system's):",
            text=str(current or ""),
        )
        return name.strip() if ok and name.strip() else None

    def save_mapping(self) -> str | None:
        """Save the fields chosen by hand (those that differ from matching by name) under a
        name; returns the name (None: cancelled or refused)."""
        if not self.header:
            return None
        name = self.ask_mapping_name()
        if name is None:
            return None
        automatic = dict(suggest_import_mapping(self.kind, COLUMNS[self.kind], self.header))
        chosen = {
            source: field
            for source, field in self.mapping.items()
            if (automatic.get(source) or IGNORE) != field
        }
        try:
            self._clinic.save_import_mapping(self.kind, name, chosen)
        except BillingError as exc:
            self._set_status(str(exc), PROBLEM_TONE)
            return None
        self._load_saved(select=name)
        self._set_status(f"Mapping saved as \u201c{name}\u201d.", DONE_TONE)
        return name

    def choose_file(self) -> Path | None:
        """Ask which CSV file to import (None: cancelled). Tests replace this."""
        dialog = QFileDialog(self, f"{TITLE}: choose the CSV file", _documents())
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setNameFilters(NAME_FILTERS)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        if not dialog.exec() or not dialog.selectedFiles():
            return None
        return Path(dialog.selectedFiles()[0])

    def choose_template_path(self, kind: str) -> Path | None:
        """Where to save the template for ``kind`` (None: cancelled). Tests replace this."""
        dialog = QFileDialog(self, f"{TITLE}: save a template", _documents())
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setNameFilters(NAME_FILTERS)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setDefaultSuffix("csv")
        dialog.selectFile(f"{kind}.csv")
        if not dialog.exec() or not dialog.selectedFiles():
            return None
        return Path(dialog.selectedFiles()[0])

    # -- doing it ---------------------------------------------------------------------------

    def start_import(self) -> None:
        """Import the chosen file in the background (nothing happens without a file)."""
        path = self.path
        if path is None or self.is_running:
            return
        self.outcome, self.problems = None, []
        self._show_problems([])
        self._set_status(f"Checking {path.name}…")
        self.progress_bar.setRange(0, 0)  # busy until the first report
        clinic, kind, mapping = self._clinic, self.kind, self.mapping
        self._runner.run(
            lambda job: import_file(
                clinic, kind, path, progress=job.progress, cancel=job.cancelled, mapping=mapping
            ),
            on_done=self._on_import_done,
            on_refused=self._on_import_refused,
            on_failed=self._on_import_failed,
            on_progress=self._on_import_progressed,
            on_finished=self._on_import_finished,
        )
        self._update_buttons()

    def cancel_import(self) -> None:
        """Stop the import under way; it saves nothing."""
        if self.is_running:
            self._runner.cancel()
            self.cancel_button.setEnabled(False)
            self._set_status("Cancelling… nothing will be saved.")

    def save_template(self) -> Path | None:
        """Save the template of the chosen kind where the receptionist says; returns where."""
        target = self.choose_template_path(self.kind)
        if target is None:
            return None
        try:
            target.write_bytes(template(self.kind).read_bytes())
        except OSError as exc:
            QMessageBox.warning(self, TITLE, f"The template could not be saved: {exc}")
            return None
        self._set_status(f"Template saved as {target}.")
        return target

    def wait(self) -> None:
        """Block until the import under way (if any) has ended."""
        self._runner.wait()

    # -- showing ----------------------------------------------------------------------------

    def _show_columns(self) -> None:
        columns = COLUMNS[self.kind]
        required = ", ".join(c.name for c in columns if c.required)
        optional = ", ".join(c.name for c in columns if not c.required)
        self.columns_label.setText(required + (f" (optional: {optional})" if optional else ""))

    def _load_saved(self, select: str | None = None) -> None:
        """List the mappings saved for the chosen kind; ``select`` one, or else the first whose
        columns the file has."""
        try:
            self._saved = self._clinic.import_mappings(self.kind)
        except BillingError:  # not allowed to import: the window shows no saved mapping
            self._saved = {}
        if select is None and self.header:
            keys = {h.casefold() for h in self.header}
            fits = [n for n, m in sorted(self._saved.items()) if {s.casefold() for s in m} <= keys]
            select = fits[0] if fits else None
        self._filling = True
        self.mapping_combo.clear()
        self.mapping_combo.addItem(BY_NAME, None)
        for name in sorted(self._saved):
            self.mapping_combo.addItem(name, name)
        self.mapping_combo.setCurrentIndex(max(self.mapping_combo.findData(select), 0))
        self._filling = False
        self._show_mapping()

    def _read_header(self) -> None:
        """Read the chosen file's header row (quietly nothing when there is no such file)."""
        path = self.path
        self.header = []
        if path is not None and path.is_file():
            try:
                self.header = import_header(path)
            except BillingError as exc:
                self._set_status(str(exc).splitlines()[-1], PROBLEM_TONE)
        self._load_saved()

    def _show_mapping(self) -> None:
        """Fill the table: each of the file's columns and what it imports as."""
        header = self.header
        self.mapping_view.setRowCount(len(header))
        self.mapping_view.setVisible(bool(header))
        if not header:
            self.ignored_label.clear()
            return
        name = self.mapping_combo.currentData()
        saved = self._saved.get(str(name), {}) if name else {}
        keys = {h.casefold() for h in header}
        saved = {s: f for s, f in saved.items() if s.casefold() in keys}
        try:
            suggested = suggest_import_mapping(self.kind, COLUMNS[self.kind], header, saved)
        except BillingError as exc:
            self._set_status(str(exc), PROBLEM_TONE)
            suggested = suggest_import_mapping(self.kind, COLUMNS[self.kind], header)
        fields = [c.name for c in COLUMNS[self.kind]]
        for row, (source, field) in enumerate(suggested):
            self.mapping_view.setItem(row, 0, QTableWidgetItem(source))
            combo = QComboBox()
            combo.setAccessibleName(f"What {source} imports as")
            combo.addItem(IGNORE_LABEL, IGNORE)
            for name in fields:
                combo.addItem(field_label(name), name)
            combo.setCurrentIndex(max(combo.findData(field or IGNORE), 0))
            combo.setProperty("chosen", source in saved)  # by a person: now or when saved
            combo.currentIndexChanged.connect(self._on_field_changed)
            self.mapping_view.setCellWidget(row, 1, combo)
        self._show_ignored()

    def _show_ignored(self) -> None:
        ignored = [s for s, f in self.mapping.items() if f == IGNORE]
        self.ignored_label.setText(f"Ignored columns: {', '.join(ignored)}" if ignored else "")

    def _set_status(self, text: str, tone: str | None = None) -> None:
        set_tone(self.status_label, tone)
        self.status_label.setText(text)

    def _show_problems(self, problems: list[ImportProblem], more: int = 0) -> None:
        rows = [*problems]
        self.problems_view.setRowCount(len(rows) + (1 if more else 0))
        for index, problem in enumerate(rows):
            cells = [
                "" if problem.row is None else str(problem.row),
                problem.column or "",
                problem.reason,
            ]
            for column, text in enumerate(cells):
                self.problems_view.setItem(index, column, QTableWidgetItem(text))
        if more:
            self.problems_view.setItem(len(rows), 2, QTableWidgetItem(f"and {more:,} more"))
        self.problems_view.resizeRowsToContents()  # at most 200 rows
        self.problems_view.setVisible(bool(rows))

    def _update_buttons(self) -> None:
        running = self.is_running
        for widget in (
            self.kind_combo,
            self.path_edit,
            self.browse_button,
            self.template_button,
            self.mapping_combo,
            self.mapping_view,
        ):
            widget.setEnabled(not running)
        self.save_mapping_button.setEnabled(not running and bool(self.header))
        self.import_button.setEnabled(not running and self.path is not None)
        self.cancel_button.setEnabled(running)

    # -- slots ------------------------------------------------------------------------------

    def _on_kind_combo_current_index_changed(self, _index: int) -> None:
        self._show_columns()
        self._load_saved()

    def _on_path_edit_text_changed(self, _text: str) -> None:
        self._read_header()
        self._update_buttons()

    def _on_mapping_combo_current_index_changed(self, _index: int) -> None:
        if not self._filling:
            self._show_mapping()

    def _on_field_changed(self, _index: int) -> None:
        combo = self.sender()
        if isinstance(combo, QComboBox):
            combo.setProperty("chosen", True)
        self._show_ignored()

    def _on_save_mapping_button_clicked(self) -> None:
        self.save_mapping()

    def _on_browse_button_clicked(self) -> None:
        chosen = self.choose_file()
        if chosen is not None:
            self.path_edit.setText(str(chosen))

    def _on_template_button_clicked(self) -> None:
        self.save_template()

    def _on_import_button_clicked(self) -> None:
        self.start_import()

    def _on_cancel_button_clicked(self) -> None:
        self.cancel_import()

    def _on_import_progressed(self, done: int, total: int) -> None:
        if not total:
            return
        if self.progress_bar.maximum() != total:
            self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)
        if self.cancel_button.isEnabled():
            rows = total // 2
            step = "Checking" if done < rows else "Saving"
            self._set_status(f"{step} {rows:,} rows…")

    def _on_import_done(self, result: ImportResult) -> None:
        self.outcome = result
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(1)
        self._set_status(result.describe(), DONE_TONE)
        if result.batch_id is not None and not result.already_imported:
            self.imported.emit(result)

    def _on_import_refused(self, exc: BillingError) -> None:
        if isinstance(exc, ImportRefused):
            self.problems = exc.problems
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(0)
            self._set_status(str(exc).splitlines()[0], PROBLEM_TONE)
            self._show_problems(exc.problems, exc.more)
        else:
            self._show_failure(str(exc))

    def _on_import_failed(self, exc: Exception) -> None:
        self._show_failure(f"The import stopped, nothing was saved: {exc}")

    def _show_failure(self, reason: str) -> None:
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self._set_status(reason, PROBLEM_TONE)

    def _on_import_finished(self) -> None:
        self._update_buttons()
        self.import_finished.emit()

    # -- closing ----------------------------------------------------------------------------

    def _stop(self) -> None:
        """Cancel an import under way and wait for it (it rolls back)."""
        self._runner.stop()

    def reject(self) -> None:
        self._stop()
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self._stop()
        super().closeEvent(event)
