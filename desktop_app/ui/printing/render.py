"""Turning a document's HTML into pages: a PDF file or a printer, through Qt's print support.

The same painting (:func:`paint_pages`) feeds the on-screen preview, the PDF and the printer, so
what staff see is what is printed. Pages are US Letter for a clinic in the United States or
Canada, A4 for one in another listed country, and otherwise A4, or Letter where the computer
measures in inches. The address block is moved into the window of the envelope the paper goes
in (DL for A4, #10 for Letter; see :mod:`.envelope`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QIODevice, QLocale, QMarginsF, QPointF, QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import (
    QImage,
    QPagedPaintDevice,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextBlock,
    QTextCursor,
    QTextDocument,
    QTextLength,
)
from PySide6.QtPrintSupport import QPrinter

from desktop_app.core import BillingError, Letterhead

from .envelope import DL_ON_A4, MM_PER_INCH, NO10_ON_LETTER, EnvelopeWindow
from .html import LOGO_URL, RECIPIENT_ANCHOR

MARGIN_MM = 15.0
#: Dots per inch of every PDF written (saved, emailed, or printed for posting).
PDF_RESOLUTION = 300
#: The PDF's creator, as its properties show it.
PDF_CREATOR = "Clinic Ledger"
#: Space kept clear beside and below an envelope's window.
_GAP_MM = 3.0
#: Papers that go in a #10 envelope (the others in a DL one).
_NORTH_AMERICAN = (QPageSize.PageSizeId.Letter, QPageSize.PageSizeId.Legal)


def page_size(paper: str = "") -> QPageSize:
    """``paper`` ("A4" or "Letter", the clinic's country's), or when empty A4, or Letter where
    the computer's locale measures in US units."""
    if paper == "Letter":
        return QPageSize(QPageSize.PageSizeId.Letter)
    if paper == "A4":
        return QPageSize(QPageSize.PageSizeId.A4)
    imperial = QLocale.system().measurementSystem() == QLocale.MeasurementSystem.ImperialUSSystem
    return QPageSize(QPageSize.PageSizeId.Letter if imperial else QPageSize.PageSizeId.A4)


def page_layout(paper: str = "") -> QPageLayout:
    """Portrait pages of ``paper`` (see :func:`page_size`) with 15 mm margins."""
    return QPageLayout(
        page_size(paper),
        QPageLayout.Orientation.Portrait,
        QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM),
        QPageLayout.Unit.Millimeter,
    )


def text_document(
    html: str, letterhead: Letterhead, *, logo: QImage | None = None
) -> QTextDocument:
    """The document, with the clinic's logo available to its ``<img>``. ``logo``: the
    letterhead's logo already decoded (many documents in one PDF share one image, so the PDF
    holds it once); by default it is decoded from the letterhead."""
    document = QTextDocument()
    image = logo_image(letterhead) if logo is None else logo
    if image is not None and not image.isNull():
        document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(LOGO_URL), image)
    document.setHtml(html)
    return document


def logo_image(letterhead: Letterhead) -> QImage | None:
    """The letterhead's logo as an image (None without one, or when it cannot be read)."""
    if letterhead.logo is None:
        return None
    image = QImage.fromData(letterhead.logo)
    return None if image.isNull() else image


def envelope_window(layout: QPageLayout) -> EnvelopeWindow:
    """The envelope window of the paper: #10 for Letter and Legal, DL otherwise."""
    if layout.pageSize().id() in _NORTH_AMERICAN:
        return NO10_ON_LETTER
    return DL_ON_A4


def _recipient_block(document: QTextDocument) -> QTextBlock | None:
    """The address block's first line (the block carrying :data:`RECIPIENT_ANCHOR`)."""
    block = document.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            if RECIPIENT_ANCHOR in it.fragment().charFormat().anchorNames():
                return block
            it += 1
        block = block.next()
    return None


def recipient_position(document: QTextDocument) -> QPointF | None:
    """Where the address block's first line starts, in the laid-out document's units."""
    block = _recipient_block(document)
    if block is None:
        return None
    return document.documentLayout().blockBoundingRect(block).topLeft()


def place_recipient(
    document: QTextDocument, window: EnvelopeWindow, origin_mm: QPointF, px_per_mm: float
) -> bool:
    """Move the laid-out document's address block so its text starts where ``window`` says.

    ``origin_mm`` is where the document's top-left corner is on the page. The block's table is
    given the margins that put it there, its first column reaches past the window's right edge
    (what prints beside the address is not seen through the window) and what follows starts
    below the window. False (the block left below the letterhead) when the letterhead reaches
    further down than the window's text, or there is no address block.
    """
    block = _recipient_block(document)
    table = QTextCursor(block).currentTable() if block is not None else None
    if block is None or table is None:
        return False
    layout = document.documentLayout()
    here = layout.blockBoundingRect(block).topLeft()

    def units(mm_x: float, mm_y: float) -> QPointF:
        return QPointF((mm_x - origin_mm.x()) * px_per_mm, (mm_y - origin_mm.y()) * px_per_mm)

    want = units(window.text_left, window.text_top)
    if here.y() > want.y() + 0.5:
        return False
    fmt = table.format()
    # Frame margins are in the document's own units: measure what a known margin does rather
    # than assume how the paint device scales them.
    probe = 100.0
    top, left = fmt.topMargin(), fmt.leftMargin()
    fmt.setTopMargin(top + probe)
    fmt.setLeftMargin(left + probe)
    table.setFormat(fmt)
    moved = layout.blockBoundingRect(block).topLeft()
    scale_x = (moved.x() - here.x()) / probe or 1.0
    scale_y = (moved.y() - here.y()) / probe or 1.0
    fmt.setTopMargin(top + (want.y() - here.y()) / scale_y)
    fmt.setLeftMargin(max(0.0, left + (want.x() - here.x()) / scale_x))
    beside = units(window.right + _GAP_MM, 0).x() - want.x()
    fmt.setColumnWidthConstraints(
        [QTextLength(QTextLength.Type.FixedLength, beside / scale_x), QTextLength()]
    )
    table.setFormat(fmt)
    after = document.findBlock(table.lastPosition() + 1)
    if after.isValid():
        below = units(0, window.bottom + _GAP_MM).y() - layout.blockBoundingRect(after).top()
        if below > 0:
            fmt.setBottomMargin(fmt.bottomMargin() + below / scale_y)
            table.setFormat(fmt)
    return True


def paint_pages(
    document: QTextDocument,
    device: QPagedPaintDevice,
    *,
    painter: QPainter | None = None,
    new_page: bool = False,
) -> bool:
    """Lay the document out on the device's pages (inside its margins), move the address block
    into the envelope window of the device's paper, and paint every page. Pages after the first
    are numbered at the foot ("Page 2 of 3"). Returns whether the address is in the window.

    By default the document is the device's only one: a painter is begun on it and ended (which
    finishes a PDF). To put several documents on one device, pass the caller's ``painter``
    (already painting on ``device``, left painting) and ``new_page=True`` for every document but
    the first, so each starts on a page of its own; the page numbers are each document's own.
    """
    layout = device.pageLayout()
    paint_mm = layout.paintRect(QPageLayout.Unit.Millimeter)
    px_per_mm = device.logicalDpiY() / MM_PER_INCH
    body = QSizeF(paint_mm.width() * px_per_mm, paint_mm.height() * px_per_mm)
    document.documentLayout().setPaintDevice(device)
    document.setDocumentMargin(0)
    document.setPageSize(body)
    placed = place_recipient(document, envelope_window(layout), paint_mm.topLeft(), px_per_mm)
    pages = document.pageCount()
    own = painter is None
    active = QPainter(device) if painter is None else painter
    try:
        for page in range(pages):
            if page or new_page:
                device.newPage()
            active.save()
            active.translate(0, -page * body.height())
            document.drawContents(
                active, QRectF(0, page * body.height(), body.width(), body.height())
            )
            active.restore()
            if pages > 1:
                foot = QRectF(0, body.height(), body.width(), MARGIN_MM * px_per_mm / 2)
                active.save()
                active.setFont(document.defaultFont())
                active.drawText(
                    foot,
                    int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                    f"Page {page + 1} of {pages}",
                )
                active.restore()
    finally:
        if own:
            active.end()
    return placed


def pdf_writer(output: str | QIODevice, title: str, paper: str = "") -> QPdfWriter:
    """A PDF writer on a file name or an open device: the document's title, the app as its
    creator, :func:`page_layout` of ``paper`` and :data:`PDF_RESOLUTION`. Painting on it starts
    the PDF; ending the painter finishes it."""
    writer = QPdfWriter(output)
    writer.setTitle(title)
    writer.setCreator(PDF_CREATOR)
    writer.setPageLayout(page_layout(paper))
    writer.setResolution(PDF_RESOLUTION)
    return writer


def partial_pdf_path(path: Path) -> Path:
    """Where a PDF for ``path`` is written before it is complete (``<name>.part``, renamed by
    :func:`finish_pdf`); refuses a folder or a file in a folder that does not exist."""
    target = Path(path)
    if target.is_dir():
        raise BillingError(f"{target} is a folder; choose a file name for the PDF.")
    if not target.parent.is_dir():
        raise BillingError(f"The folder {target.parent} does not exist.")
    return target.with_name(target.name + ".part")


def finish_pdf(partial: Path, path: Path) -> None:
    """Put the finished ``partial`` PDF in place as ``path`` (a clear error, and no partial file
    left, when it was not written or cannot be renamed)."""
    target = Path(path)
    if not partial.is_file() or partial.stat().st_size == 0:
        partial.unlink(missing_ok=True)
        raise BillingError(f"The PDF could not be written to {target.parent}.")
    try:
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BillingError(f"The PDF could not be saved as {target}: {exc.strerror}.") from None


def save_pdf(document: QTextDocument, path: Path, title: str, paper: str = "") -> None:
    """Write the document to a PDF file; a clear error if the file cannot be written."""
    partial = partial_pdf_path(path)
    writer = pdf_writer(str(partial), title, paper)
    paint_pages(document, writer)
    del writer  # finishes the file
    finish_pdf(partial, path)


def make_printer(paper: str = "") -> QPrinter:
    """A printer set up with this module's page layout (the print dialog may change it)."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setPageLayout(page_layout(paper))
    return printer


def print_to(document: QTextDocument, printer: QPrinter) -> None:
    """Send the document to a printer chosen in the print dialog."""
    paint_pages(document, printer)
