"""Documents as PDF without a window: one document's PDF in memory (to attach to an email), and
many documents in one PDF file (the statements to print and post).

The pages are those the print window previews, prints and saves (:func:`.render.paint_pages`:
the clinic's paper, the address in the envelope window, "Page x of y" at the foot of each
document's pages). Qt lays documents out, so a :class:`~PySide6.QtGui.QGuiApplication` must
exist: the desktop app has one; the command line calls :func:`ensure_document_app` first.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Self

from PySide6.QtCore import QBuffer, QCoreApplication, QIODevice
from PySide6.QtGui import QGuiApplication, QImage, QPainter, QPdfWriter

from desktop_app.core import (
    BillingError,
    InvoiceDocument,
    Letterhead,
    PayerStatementDocument,
    ReceiptDocument,
    StatementDocument,
)
from desktop_app.ui.formatting import Formatter

from .html import invoice_html, payer_statement_html, receipt_html, statement_html
from .render import (
    finish_pdf,
    logo_image,
    paint_pages,
    partial_pdf_path,
    pdf_writer,
    text_document,
)

#: A document record of the core that prints: invoice, receipt, statement, payer's statement.
Document = InvoiceDocument | ReceiptDocument | StatementDocument | PayerStatementDocument

#: The application :func:`ensure_document_app` made (kept so it lives as long as the process).
_document_app: QGuiApplication | None = None


def ensure_document_app() -> None:
    """Make sure Qt can lay out documents: for the command line (no window), start a
    :class:`QGuiApplication` on Qt's "offscreen" platform, which needs no screen, unless the
    process already has an application. Call it before making PDFs from the command line; the
    desktop app's own application does for its windows."""
    global _document_app
    existing = QCoreApplication.instance()
    if existing is not None:
        if not isinstance(existing, QGuiApplication):
            raise RuntimeError("Documents need a QGuiApplication, not a QCoreApplication.")
        return
    # The command line never shows a window: offscreen, whatever QT_QPA_PLATFORM says.
    _document_app = QGuiApplication(["clinic-ledger", "-platform", "offscreen"])


def _require_document_app() -> None:
    """A clear error instead of Qt aborting the process when there is no QGuiApplication."""
    if not isinstance(QCoreApplication.instance(), QGuiApplication):
        raise RuntimeError("Documents need a QGuiApplication: call ensure_document_app() first.")


def pdf_bytes(html: str, letterhead: Letterhead, title: str, paper: str = "") -> bytes:
    """The document's PDF, as :func:`.render.save_pdf` writes it, in memory. ``paper``: "A4"
    or "Letter"; empty, the clinic's country's (as the print window does)."""
    _require_document_app()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = pdf_writer(buffer, title, paper or letterhead.paper)
    paint_pages(text_document(html, letterhead), writer)
    del writer  # finishes the PDF
    buffer.close()
    data = bytes(buffer.data().data())
    if not data:
        raise BillingError(f"The PDF of {title} could not be made.")
    return data


def document_html(document: Document, formatter: Formatter) -> str:
    """The document's printed HTML (invoice, receipt, patient's or payer's statement)."""
    if isinstance(document, InvoiceDocument):
        return invoice_html(document, formatter)
    if isinstance(document, ReceiptDocument):
        return receipt_html(document, formatter)
    if isinstance(document, StatementDocument):
        return statement_html(document, formatter)
    if isinstance(document, PayerStatementDocument):
        return payer_statement_html(document, formatter)
    raise TypeError(f"Not a printed document: {type(document).__name__}")


def document_title(document: Document) -> str:
    """The document's title, as its print window is named: "Invoice 12" ("Draft invoice"),
    "Receipt 5", "Statement Ada Lovelace", "Statement Bupa"."""
    if isinstance(document, InvoiceDocument):
        number = document.invoice.number
        return "Draft invoice" if number is None else f"Invoice {number}"
    if isinstance(document, ReceiptDocument):
        return f"Receipt {document.payment.id}"
    if isinstance(document, StatementDocument):
        return f"Statement {document.patient.first_name} {document.patient.last_name}"
    if isinstance(document, PayerStatementDocument):
        return f"Statement {document.payer.name}"
    raise TypeError(f"Not a printed document: {type(document).__name__}")


def document_pdf(document: Document, formatter: Formatter) -> bytes:
    """The document's PDF in memory, titled :func:`document_title`, on the clinic's paper."""
    return pdf_bytes(
        document_html(document, formatter), document.letterhead, document_title(document)
    )


class PostingPdf:
    """Many documents in one PDF file, to print and post: each starts on a page of its own,
    with its address in the envelope window and its own page numbers.

    Each document is painted as it is added and not kept, so the memory used stays the same
    however many there are. The file is written as ``<name>.part`` and takes its name on
    :meth:`close`; with nothing added, no file is made. As a context manager it closes at the
    end of the block, or (on an error) removes the partial file.
    """

    def __init__(self, path: Path, paper: str, title: str = "Statements to post") -> None:
        self.path = Path(path)
        self._partial = partial_pdf_path(self.path)
        self._writer: QPdfWriter | None = pdf_writer(str(self._partial), title, paper)
        self._painter: QPainter | None = None
        #: The last letterhead's logo and its image (an empty image: no logo).
        self._logo: tuple[bytes | None, QImage] | None = None
        #: How many documents were added.
        self.count = 0

    def add(self, html: str, letterhead: Letterhead) -> bool:
        """Paint one document (its HTML, as :func:`document_html` makes it) after the others.
        Returns whether its address is in the envelope window."""
        if self._writer is None:
            raise RuntimeError("The PDF is closed.")
        _require_document_app()
        if self._painter is None:
            painter = QPainter()
            if not painter.begin(self._writer):
                self._discard()
                raise BillingError(f"The PDF could not be written to {self.path.parent}.")
            self._painter = painter
        document = text_document(html, letterhead, logo=self._logo_for(letterhead))
        placed = paint_pages(document, self._writer, painter=self._painter, new_page=self.count > 0)
        self.count += 1
        return placed

    def _logo_for(self, letterhead: Letterhead) -> QImage:
        """The letterhead's logo, decoded once while it stays the same: the PDF then holds one
        copy of the image however many pages show it."""
        if self._logo is None or self._logo[0] != letterhead.logo:
            self._logo = (letterhead.logo, logo_image(letterhead) or QImage())
        return self._logo[1]

    def close(self) -> None:
        """Finish the PDF and give it its name (nothing is written when nothing was added)."""
        if self._writer is None:
            return
        if self._painter is None:
            self._discard()
            return
        self._painter.end()  # finishes the PDF
        self._painter = None
        self._writer = None
        finish_pdf(self._partial, self.path)

    def abort(self) -> None:
        """Stop without a PDF: the partial file is removed."""
        if self._painter is not None:
            self._painter.end()
            self._painter = None
        self._discard()

    def _discard(self) -> None:
        self._writer = None
        self._partial.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()
