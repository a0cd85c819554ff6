"""Turning a document's HTML into pages: a PDF file or a printer, through Qt's print support.

The same ``QTextDocument`` feeds the on-screen preview, the PDF and the printer, so what staff
see is what is printed. Pages are A4, or US Letter where the computer measures in inches.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QLocale, QMarginsF, QUrl
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument
from PySide6.QtPrintSupport import QPrinter

from desktop_app.core import BillingError, Letterhead

from .html import LOGO_URL

MARGIN_MM = 15.0


def page_size() -> QPageSize:
    """A4, or Letter where the computer's locale measures in US units."""
    imperial = QLocale.system().measurementSystem() == QLocale.MeasurementSystem.ImperialUSSystem
    return QPageSize(QPageSize.PageSizeId.Letter if imperial else QPageSize.PageSizeId.A4)


def page_layout() -> QPageLayout:
    """Portrait pages with 15 mm margins."""
    return QPageLayout(
        page_size(),
        QPageLayout.Orientation.Portrait,
        QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM),
        QPageLayout.Unit.Millimeter,
    )


def text_document(html: str, letterhead: Letterhead) -> QTextDocument:
    """The document, with the clinic's logo available to its ``<img>``."""
    document = QTextDocument()
    if letterhead.logo is not None:
        image = QImage.fromData(letterhead.logo)
        if not image.isNull():
            document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(LOGO_URL), image)
    document.setHtml(html)
    return document


def save_pdf(document: QTextDocument, path: Path, title: str) -> None:
    """Write the document to a PDF file; a clear error if the file cannot be written."""
    target = Path(path)
    if target.is_dir():
        raise BillingError(f"{target} is a folder; choose a file name for the PDF.")
    if not target.parent.is_dir():
        raise BillingError(f"The folder {target.parent} does not exist.")
    partial = target.with_name(target.name + ".part")
    writer = QPdfWriter(str(partial))
    writer.setTitle(title)
    writer.setCreator("Clinic Ledger")
    writer.setPageLayout(page_layout())
    writer.setResolution(300)
    document.print_(writer)
    del writer  # finishes the file
    if not partial.is_file() or partial.stat().st_size == 0:
        partial.unlink(missing_ok=True)
        raise BillingError(f"The PDF could not be written to {target.parent}.")
    try:
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BillingError(f"The PDF could not be saved as {target}: {exc.strerror}.") from None


def make_printer() -> QPrinter:
    """A printer set up with this module's page layout (the print dialog may change it)."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setPageLayout(page_layout())
    return printer


def print_to(document: QTextDocument, printer: QPrinter) -> None:
    """Send the document to a printer chosen in the print dialog."""
    document.print_(printer)
