"""File > Export…: patients, invoices, invoice lines or payments to a CSV file for a spreadsheet.

The export runs on a worker thread (:func:`desktop_app.core.export_csv`) with a progress bar
and a Cancel button, so a million invoices never freeze the window. A cancelled or failed export
leaves no file behind. The file is UTF-8 with a byte order mark (Excel shows names correctly) and
text that a spreadsheet would run as a formula is written with a leading apostrophe.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QStandardPaths
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BillingError, ExportCancelled, export_csv, rows_text
from desktop_app.ui.background import BackgroundRunner
from desktop_app.ui.style import HINT_TONE, set_tone

if TYPE_CHECKING:
    from desktop_app.core import Clinic

TITLE = "Export"
#: (what the receptionist picks, the export kind).
KINDS = (
    ("Patients (details, account credit and outstanding)", "patients"),
    ("Invoices (one row per invoice)", "invoices"),
    ("Invoice lines (one row per item)", "invoice_lines"),
    ("Payments and refunds", "payments"),
)
NAME_FILTERS = ["CSV files (*.csv)", "All files (*)"]


def suggested_name(kind: str, day: date | None = None) -> str:
    """``clinic-invoices-2026-11-25.csv``."""
    return f"clinic-{kind.replace('_', '-')}-{(day or date.today()).isoformat()}.csv"


def _documents() -> Path:
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(documents) if documents and Path(documents).is_dir() else Path.home()


class ExportDialog(QDialog):
    """Choose what to export and where; export with a progress bar; cancel at any time."""

    def __init__(self, clinic: Clinic, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self._runner = BackgroundRunner(self)
        self._confirmed: Path | None = None  # chosen in the file dialog, which asked already
        self._path, self._kind = Path(), "invoices"  # of the export under way or last made
        #: Rows written by the last export that completed (None: none completed).
        self.rows_written: int | None = None
        #: Where that export was written.
        self.exported_path: Path | None = None
        self.setWindowTitle(TITLE)
        self.setMinimumWidth(560)
        self._build()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.kind_combo = QComboBox()
        self.kind_combo.setAccessibleName("What to export")
        for text, kind in KINDS:
            self.kind_combo.addItem(text, kind)
        self.kind_combo.setCurrentIndex(1)
        self.kind_combo.currentIndexChanged.connect(self._on_kind_combo_current_index_changed)
        form.addRow("&Export:", self.kind_combo)
        self.path_edit = QLineEdit(str(_documents() / suggested_name(self.kind)))
        self.path_edit.setAccessibleName("File")
        self.path_edit.textEdited.connect(self._on_path_edit_text_edited)
        self.choose_button = QPushButton("&Choose…")
        self.choose_button.clicked.connect(self._on_choose_button_clicked)
        where = QHBoxLayout()
        where.addWidget(self.path_edit, 1)
        where.addWidget(self.choose_button)
        file_label = QLabel("&File:")
        file_label.setBuddy(self.path_edit)  # a layout cannot be a buddy: the line edit is
        form.addRow(file_label, where)
        layout.addLayout(form)
        note = QLabel(
            "A CSV file for a spreadsheet: UTF-8, amounts as plain numbers (1234.50), dates as "
            "2026-11-25. Text that a spreadsheet would run as a formula starts with an "
            "apostrophe."
        )
        note.setWordWrap(True)
        set_tone(note, HINT_TONE)
        layout.addWidget(note)
        self.progress_bar = QProgressBar()
        self.progress_bar.setAccessibleName("Export progress")
        self.progress_bar.setVisible(False)
        layout.addWidget(self.progress_bar)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setAccessibleName("Export result")
        layout.addWidget(self.status_label)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.export_button = QPushButton("E&xport")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self._on_export_button_clicked)
        self.close_button = QPushButton("Close")
        self.close_button.setAutoDefault(False)
        self.close_button.clicked.connect(self._on_close_button_clicked)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)

    # -- what the dialog does ---------------------------------------------------------------

    @property
    def kind(self) -> str:
        """The export kind chosen (``patients``, ``invoices``, ``invoice_lines``, ``payments``)."""
        return str(self.kind_combo.currentData())

    @property
    def running(self) -> bool:
        """Whether an export is under way."""
        return self._runner.busy

    def set_kind(self, kind: str) -> None:
        """Choose what to export."""
        self.kind_combo.setCurrentIndex(max(self.kind_combo.findData(kind), 0))

    def choose_path(self, suggested: Path) -> Path | None:
        """Ask where to save (None: cancelled). Tests replace this."""
        dialog = QFileDialog(self, TITLE, str(suggested.parent))
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setNameFilters(NAME_FILTERS)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setDefaultSuffix("csv")
        dialog.selectFile(suggested.name)
        if not dialog.exec() or not dialog.selectedFiles():
            return None
        return Path(dialog.selectedFiles()[0])

    def confirm_replace(self, path: Path) -> bool:
        """Ask before replacing an existing file typed into the box (Yes/No, No by default)."""
        answer = QMessageBox.question(
            self,
            TITLE,
            f"{path.name} already exists in {path.parent}. Replace it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def start_export(self) -> bool:
        """Start exporting to the file named in the box; False when it did not start."""
        if self.running:
            return False
        text = self.path_edit.text().strip()
        if not text:
            self._say("Choose a file to export to.")
            return False
        path = Path(text).expanduser()
        if path.suffix == "":
            path = path.with_suffix(".csv")
            self.path_edit.setText(str(path))
        if path.exists() and path != self._confirmed and not self.confirm_replace(path):
            return False
        self.rows_written = self.exported_path = None
        clinic, kind = self._clinic, self.kind
        self._path, self._kind = path, kind
        self._runner.run(
            lambda job: export_csv(clinic, kind, path, progress=job.progress, cancel=job.cancelled),
            on_done=self._on_export_done,
            on_refused=self._on_export_refused,
            on_failed=self._on_export_failed,
            on_progress=self._on_export_progressed,
            on_finished=self._on_export_finished,
        )
        self._set_running(True)
        self._say(f"Exporting to {path}…")
        return True

    def cancel_export(self) -> None:
        """Stop the export under way (nothing is written)."""
        if self.running:
            self._runner.cancel()
            self._say("Cancelling…")

    def wait(self) -> None:
        """Block until the export under way has stopped (for tests)."""
        self._runner.wait()

    def _set_running(self, running: bool) -> None:
        for widget in (self.kind_combo, self.path_edit, self.choose_button, self.export_button):
            widget.setEnabled(not running)
        self.close_button.setText("Cancel" if running else "Close")
        self.progress_bar.setVisible(running or self.progress_bar.isVisible())
        if running:
            self.progress_bar.setRange(0, 0)  # busy until the first figure arrives

    def _say(self, text: str) -> None:
        self.status_label.setText(text)

    # -- slots ------------------------------------------------------------------------------

    def _on_kind_combo_current_index_changed(self, _index: int) -> None:
        current = Path(self.path_edit.text().strip())
        if current.name.startswith("clinic-"):  # still a suggested name: follow the choice
            self.path_edit.setText(str(current.with_name(suggested_name(self.kind))))
            self._confirmed = None

    def _on_path_edit_text_edited(self, _text: str) -> None:
        self._confirmed = None

    def _on_choose_button_clicked(self) -> None:
        current = Path(self.path_edit.text().strip() or suggested_name(self.kind))
        if not current.is_absolute():
            current = _documents() / current
        chosen = self.choose_path(current)
        if chosen is not None:
            if chosen.suffix == "":
                chosen = chosen.with_suffix(".csv")
            self.path_edit.setText(str(chosen))
            self._confirmed = chosen

    def _on_export_button_clicked(self) -> None:
        self.start_export()

    def _on_close_button_clicked(self) -> None:
        if self.running:
            self.cancel_export()
        else:
            self.accept() if self.rows_written is not None else self.reject()

    def _on_export_progressed(self, done: int, total: int) -> None:
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(done)
        self._say(f"Exporting to {self._path}: {done:,} of {total:,}…")

    def _on_export_done(self, rows: int) -> None:
        self.rows_written, self.exported_path = rows, self._path
        self.progress_bar.setRange(0, max(rows, 1))
        self.progress_bar.setValue(max(rows, 1))
        self._say(f"Exported {rows_text(self._kind, rows)} to {self._path}.")

    def _on_export_refused(self, exc: BillingError) -> None:
        self.progress_bar.setVisible(False)
        if isinstance(exc, ExportCancelled):
            self._say("The export was cancelled; no file was written.")
        else:
            self._say(str(exc))

    def _on_export_failed(self, exc: Exception) -> None:
        self.progress_bar.setVisible(False)
        self._say(f"The export failed: {exc}")

    def _on_export_finished(self) -> None:
        self._set_running(False)

    def reject(self) -> None:  # Escape or the window's close button: stop a running export first
        if self.running:
            self.cancel_export()
            self.wait()
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.running:
            self.cancel_export()
            self.wait()
        super().closeEvent(event)
