"""File > Import…: bring in a CSV file from the clinic's previous system (patients, invoices with
their lines, payments, opening account credit balances), all of it or nothing.

The import runs in a worker thread (:class:`~desktop_app.ui.background.BackgroundRunner`) so the
window stays responsive while a large file is checked and saved; a progress bar follows it, and
Cancel really cancels: the import polls for it about every 1,000 rows and then rolls back, saving
nothing. A refused file shows its problems in a table (row as the spreadsheet numbers it, column,
what is wrong). The work itself is :func:`desktop_app.core.import_file`; the formats are
in ``docs/import-formats.md``.
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

from desktop_app.core import IMPORT_COLUMNS as COLUMNS
from desktop_app.core import BillingError, ImportProblem, ImportRefused, ImportResult, import_file
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


def _documents() -> str:
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return folder if folder and Path(folder).is_dir() else str(Path.home())


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
        self.setWindowTitle(TITLE)
        self.resize(760, 460)
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
        file_row = QHBoxLayout()
        self.path_edit = QLineEdit()
        self.path_edit.setAccessibleName("CSV file")
        self.path_edit.setPlaceholderText("A CSV file saved as UTF-8, separated by commas")
        self.path_edit.textChanged.connect(self._on_path_edit_text_changed)
        self.browse_button = QPushButton("&Browse…")
        self.browse_button.clicked.connect(self._on_browse_button_clicked)
        file_row.addWidget(self.path_edit, 1)
        file_row.addWidget(self.browse_button)
        file_label = QLabel("&File:")
        file_label.setBuddy(self.path_edit)
        form.addRow(file_label, file_row)
        layout.addLayout(form)

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
        clinic, kind = self._clinic, self.kind
        self._runner.run(
            lambda job: import_file(
                clinic, kind, path, progress=job.progress, cancel=job.cancelled
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
        for widget in (self.kind_combo, self.path_edit, self.browse_button, self.template_button):
            widget.setEnabled(not running)
        self.import_button.setEnabled(not running and self.path is not None)
        self.cancel_button.setEnabled(running)

    # -- slots ------------------------------------------------------------------------------

    def _on_kind_combo_current_index_changed(self, _index: int) -> None:
        self._show_columns()

    def _on_path_edit_text_changed(self, _text: str) -> None:
        self._update_buttons()

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
