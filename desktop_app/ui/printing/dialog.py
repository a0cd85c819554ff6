"""The print window: a page preview of an invoice, receipt or statement, with Print…, Save PDF…
and Email….

The preview draws the very pages the printer and the PDF get. A statement also has its period
(From / To, or its whole history); changing it redraws the preview. Email… (for a role that may
email, when the window is given the document's draft) opens the email window with the PDF of
exactly what is previewed attached.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QDate, QStandardPaths
from PySide6.QtPrintSupport import QPrintDialog, QPrinter, QPrintPreviewWidget
from PySide6.QtWidgets import (
    QCheckBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BillingError, Letterhead
from desktop_app.ui.forms import qdate, set_date_format
from desktop_app.ui.style import DONE_TONE, follow_palette_behind_paper, set_tone

from .html import RECIPIENT_ANCHOR
from .pdf_bytes import pdf_bytes
from .render import make_printer, page_layout, paint_pages, print_to, save_pdf, text_document

if TYPE_CHECKING:
    from desktop_app.core import Clinic, EmailDraft
    from desktop_app.ui.dialogs.email_dialog import EmailDialog

#: Builds the document's HTML and letterhead; a statement's builder takes its period.
Builder = Callable[[], tuple[str, Letterhead]]
PeriodBuilder = Callable[[date | None, date], tuple[str, Letterhead]]
#: Makes the email of the document the window shows (a statement's, of the period chosen).
DraftMaker = Callable[["DocumentDialog"], "EmailDraft"]


def safe_file_name(title: str) -> str:
    """A file name from a document title: letters, digits, spaces and dashes only."""
    cleaned = re.sub(r"[^\w\- ]+", "", title, flags=re.UNICODE).strip()
    return (cleaned or "document") + ".pdf"


class DocumentDialog(QDialog):
    """Preview one document; print it or save it as a PDF."""

    def __init__(
        self,
        title: str,
        build: Builder | None = None,
        parent: QWidget | None = None,
        *,
        period_build: PeriodBuilder | None = None,
        period_start: date | None = None,
        clinic: Clinic | None = None,
        email_draft: DraftMaker | None = None,
    ) -> None:
        """``clinic`` and ``email_draft`` together add Email… (leave them out for a role that
        may not email, or a document that cannot be emailed)."""
        super().__init__(parent)
        if (build is None) == (period_build is None):
            raise ValueError("Give either build or period_build.")
        self.setWindowTitle(title)
        self.resize(760, 900)
        self._title = title
        self._build = build
        self._period_build = period_build
        self.printer: QPrinter = make_printer()
        self._paper = ""
        layout = QVBoxLayout(self)
        if period_build is not None:
            layout.addLayout(self._period_row(period_start))
        self.preview = QPrintPreviewWidget(self.printer, self)
        self.preview.setAccessibleName("Print preview")
        follow_palette_behind_paper(self.preview)
        self.preview.paintRequested.connect(self._on_preview_paint_requested)
        layout.addWidget(self.preview, 1)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        layout.addWidget(self.message_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.print_button = QPushButton("&Print…")
        self.print_button.clicked.connect(self._on_print_button_clicked)
        self.pdf_button = QPushButton("Save P&DF…")
        self.pdf_button.clicked.connect(self._on_pdf_button_clicked)
        buttons.addButton(self.print_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.pdf_button, QDialogButtonBox.ButtonRole.ActionRole)
        self._clinic = clinic
        self._email_draft = email_draft if clinic is not None else None
        #: Email… (None when the window offers no email).
        self.email_button: QPushButton | None = None
        #: The email window Email… opened last (for tests and screenshots).
        self.email_dialog: EmailDialog | None = None
        if self._email_draft is not None:
            self.email_button = QPushButton("&Email…")
            self.email_button.setToolTip("Email this document, its PDF attached")
            self.email_button.clicked.connect(self._on_email_button_clicked)
            buttons.addButton(self.email_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.html = ""
        self._letterhead = Letterhead("")
        self.refresh()

    def _period_row(self, start: date | None) -> QHBoxLayout:
        row = QHBoxLayout()
        today = QDate.currentDate()
        self.from_edit = QDateEdit(today.addMonths(-3) if start is None else qdate(start))
        self.to_edit = QDateEdit(today)
        for edit, name in ((self.from_edit, "Statement from"), (self.to_edit, "Statement to")):
            edit.setCalendarPopup(True)
            set_date_format(edit)
            edit.setMaximumDate(today)
            edit.setAccessibleName(name)
            edit.dateChanged.connect(self.refresh)
        self.whole_check = QCheckBox("&Whole history")
        self.whole_check.toggled.connect(self._on_whole_check_toggled)
        from_label = QLabel("&From:")
        from_label.setBuddy(self.from_edit)
        row.addWidget(from_label)
        row.addWidget(self.from_edit)
        row.addWidget(QLabel("To:"))
        row.addWidget(self.to_edit)
        row.addWidget(self.whole_check)
        row.addStretch(1)
        return row

    def period(self) -> tuple[date | None, date]:
        """The statement's period as chosen (start None: the whole history)."""
        start = None if self.whole_check.isChecked() else self.from_edit.date().toPython()
        return start, self.to_edit.date().toPython()  # type: ignore[return-value]

    def refresh(self) -> None:
        """Rebuild the document from the ledger and redraw the preview."""
        try:
            if self._period_build is not None:
                start, end = self.period()
                self.html, self._letterhead = self._period_build(start, end)
            else:
                assert self._build is not None
                self.html, self._letterhead = self._build()
        except BillingError as exc:
            self._say(str(exc), "problem")
            self.html = ""
        else:
            self._say("", "")
            self._set_paper(self._letterhead.paper)
        enabled = bool(self.html)
        self.print_button.setEnabled(enabled)
        self.pdf_button.setEnabled(enabled)
        if self.email_button is not None:
            self.email_button.setEnabled(enabled)
        self.preview.updatePreview()

    def _set_paper(self, paper: str) -> None:
        """Print on the clinic's paper (A4 or Letter) until the print dialog chooses another."""
        if paper and paper != self._paper:
            self._paper = paper
            self.printer.setPageLayout(page_layout(paper))

    def _say(self, text: str, tone: str) -> None:
        self.message_label.setText(text)
        set_tone(self.message_label, tone or None)

    def save_pdf(self, path: Path) -> None:
        """Write the document to ``path`` as a PDF (shown in the window's message line)."""
        document = text_document(self.html, self._letterhead)
        save_pdf(document, path, self._title, self._letterhead.paper)

    def pdf_bytes(self) -> bytes:
        """The PDF of exactly what the window previews (as Save PDF… writes it), in memory."""
        return pdf_bytes(self.html, self._letterhead, self._title, self._letterhead.paper)

    def email(self) -> EmailDialog | None:
        """Open the email window for the document shown (None, and the reason in the message
        line, when it cannot be emailed)."""
        if self._email_draft is None or self._clinic is None or not self.html:
            return None
        from desktop_app.ui.dialogs.email_dialog import EmailDialog

        try:
            draft = self._email_draft(self)
        except BillingError as exc:
            self._say(str(exc), "problem")
            return None
        dialog = EmailDialog(self._clinic, draft, self.pdf_bytes, self)
        dialog.queued.connect(lambda _id: self._say(dialog.sent_text(), DONE_TONE))
        self.email_dialog = dialog
        dialog.open()
        return dialog

    def choose_pdf_path(self) -> Path | None:
        """Ask where to save the PDF (tests replace this)."""
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        name, _ = QFileDialog.getSaveFileName(
            self,
            "Save PDF",
            str(Path(folder) / safe_file_name(self._title)),
            "PDF files (*.pdf)",
        )
        if not name:
            return None
        path = Path(name)
        return path if path.suffix.lower() == ".pdf" else path.with_name(path.name + ".pdf")

    def choose_printer(self) -> bool:
        """Show the print dialog; True to print (tests replace this)."""
        dialog = QPrintDialog(self.printer, self)
        return dialog.exec() == QDialog.DialogCode.Accepted

    # -- slots ------------------------------------------------------------------------------

    def _on_preview_paint_requested(self, printer: QPrinter) -> None:
        if not self.html:
            return
        placed = paint_pages(text_document(self.html, self._letterhead), printer)
        if not placed and RECIPIENT_ANCHOR in self.html:
            self._say(
                "The letterhead reaches below where an envelope's window is: the address "
                "prints under it. Shorten the clinic's name in Settings > Printed documents.",
                "problem",
            )

    def _on_whole_check_toggled(self, checked: bool) -> None:
        self.from_edit.setEnabled(not checked)
        self.refresh()

    def _on_pdf_button_clicked(self) -> None:
        path = self.choose_pdf_path()
        if path is None:
            return
        try:
            self.save_pdf(path)
        except BillingError as exc:
            self._say(str(exc), "problem")
            return
        self._say(f"Saved {path}.", "done")

    def _on_email_button_clicked(self) -> None:
        self.email()

    def _on_print_button_clicked(self) -> None:
        if not self.choose_printer():
            return
        print_to(text_document(self.html, self._letterhead), self.printer)
        self._say(f"Sent to {self.printer.printerName() or 'the printer'}.", "done")
