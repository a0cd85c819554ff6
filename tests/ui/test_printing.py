"""Printing: invoice, receipt and statement previewed, saved as PDF and printed, with the
letterhead from Settings > Printed documents. The PDFs are read back as text (pypdfium2)."""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PySide6.QtCore import QDate, QRectF
from PySide6.QtPrintSupport import QPrinter

from desktop_app.core.domain.letterhead import MAX_LOGO_BYTES
from desktop_app.resources import icon_files
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.printing.dialog import DocumentDialog, safe_file_name
from desktop_app.ui.settings.settings_dialog import PAGES, SettingsDialog

TODAY = date.today()


def pdf_text(path: Path) -> str:
    """All the text of a PDF, pages joined, whitespace collapsed."""
    document = pdfium.PdfDocument(str(path))
    try:
        text = " ".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()
    return " ".join(text.split())


def select_row(view, row: int) -> None:
    view.setFocus()
    view.selectRow(row)


@pytest.fixture
def ledger(clinic):
    clinic.update_settings(
        clinic_name="Harbour Physio",
        letterhead={
            "clinic_address": "12 Harbour St\nSydney NSW 2000",
            "clinic_tax_number": "ABN 12 345 678 901",
            "document_footer": "Thank you for your payment.",
        },
        logo=icon_files()[-1].read_bytes(),
    )
    ada = clinic.add_patient("Ada <b>", "Lovelace")
    clinic.record_payment(clinic.preview_payment(ada, {"Cash": "100"}), "pre")
    invoice = clinic.create_invoice(
        ada, [("Initial consultation", "95", 1, "10"), ("Exercise band", "12.50", 2)]
    )
    payment = clinic.record_payment(
        clinic.preview_payment(ada, {"EFTPOS": "50"}, source_invoice=invoice), "main"
    )
    return {"ada": ada, "invoice": invoice, "payment": payment}


@pytest.fixture
def window(qtbot, clinic, ledger):
    main = MainWindow(clinic)
    qtbot.addWidget(main)
    main.show()
    main.formatter.locale = "en_AU"
    main.select_patient(ledger["ada"])
    return main


def test_print_actions_follow_the_selection(window):
    printing = window.printing
    assert printing.statement_action.isEnabled()
    assert not printing.invoice_action.isEnabled() and not printing.receipt_action.isEnabled()
    select_row(window.invoice_view, 0)
    assert printing.invoice_action.isEnabled()
    select_row(window.payment_view, 1)
    assert printing.receipt_action.isEnabled()
    assert printing.statement_action.shortcut().toString() == "Ctrl+Shift+S"


def test_invoice_pdf_carries_the_letterhead_lines_totals_and_payments(window, tmp_path):
    select_row(window.invoice_view, 0)
    window.printing.invoice_action.trigger()
    dialog = window.printing.last_dialog
    assert isinstance(dialog, DocumentDialog) and dialog.isVisible()
    assert dialog.preview.pageCount() == 1
    target = tmp_path / "invoice.pdf"
    dialog.choose_pdf_path = lambda: target  # type: ignore[method-assign]
    dialog.pdf_button.click()
    assert "Saved" in dialog.message_label.text()
    text = pdf_text(target)
    for expected in (
        "Harbour Physio",
        "12 Harbour St",
        "ABN 12 345 678 901",
        "Tax invoice",
        "Ada <b> Lovelace",  # patient text is escaped, not read as markup
        "Initial consultation",
        "$104.50",
        "Total $129.50",
        "Balance due $0.00",
        "$79.50",  # paid from account credit
        "Thank you for your payment.",
    ):
        assert expected in text, expected
    assert not list(tmp_path.glob("*.part"))


def test_receipt_pdf_shows_sources_money_credit_and_credit_remaining(window, tmp_path):
    select_row(window.payment_view, 1)
    dialog = window.printing.print_receipt()
    target = tmp_path / "receipt.pdf"
    dialog.save_pdf(target)
    text = pdf_text(target)
    for expected in (
        "Payment receipt",
        "EFTPOS $50.00",
        "#1 $50.00 $79.50 $129.50",
        "Money received $50.00",
        "Account credit applied $79.50",
        "Left as account credit $0.00",
        "Account credit before $100.00",
        "Account credit remaining $20.50",
    ):
        assert expected in text, expected


def test_statement_period_and_credit_shown_as_credit(window, tmp_path, clinic, ledger):
    dialog = window.printing.statement()
    assert dialog.period()[1] == TODAY
    dialog.whole_check.setChecked(True)
    target = tmp_path / "statement.pdf"
    dialog.save_pdf(target)
    text = pdf_text(target)
    assert "Statement" in text and "all history to" in text
    assert "Payment 1 $100.00 $100.00 credit" in text
    assert "Account credit $20.50" in text
    # A period after everything: opening balance carries it, no lines.
    dialog.whole_check.setChecked(False)
    dialog.from_edit.setDate(QDate.currentDate())
    assert dialog.period() == (TODAY, TODAY)
    # From after To: refused in the window, nothing to print.
    dialog.to_edit.setDate(QDate.currentDate().addDays(-1))
    assert "after it ends" in dialog.message_label.text()
    assert not dialog.pdf_button.isEnabled() and not dialog.print_button.isEnabled()
    dialog.to_edit.setDate(QDate.currentDate())
    assert dialog.pdf_button.isEnabled() and dialog.message_label.text() == ""


def test_print_sends_the_pages_to_the_chosen_printer(window, tmp_path):
    select_row(window.invoice_view, 0)
    dialog = window.printing.print_invoice()
    target = tmp_path / "printed.pdf"

    def choose() -> bool:  # the print dialog: a PDF "printer" stands in for a real one
        dialog.printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        dialog.printer.setOutputFileName(str(target))
        return True

    dialog.choose_printer = choose  # type: ignore[method-assign]
    dialog.print_button.click()
    assert "Sent to" in dialog.message_label.text()
    assert "Total $129.50" in pdf_text(target)


def test_saving_a_pdf_where_it_cannot_go_says_so_and_writes_nothing(window, tmp_path):
    select_row(window.invoice_view, 0)
    dialog = window.printing.print_invoice()
    missing = tmp_path / "no such folder" / "invoice.pdf"
    dialog.choose_pdf_path = lambda: missing  # type: ignore[method-assign]
    dialog.pdf_button.click()
    assert "does not exist" in dialog.message_label.text()
    assert not missing.parent.exists()
    dialog.choose_pdf_path = lambda: tmp_path  # type: ignore[method-assign]
    dialog.pdf_button.click()
    assert "is a folder" in dialog.message_label.text()


def test_safe_file_name():
    assert safe_file_name("Statement Ada/../Lovelace: *") == "Statement AdaLovelace.pdf"
    assert safe_file_name("***") == "document.pdf"


def test_settings_printed_documents_page_saves_the_letterhead_and_logo(qtbot, clinic, tmp_path):
    dialog = SettingsDialog(clinic, page=PAGES.index("Printed documents"))
    qtbot.addWidget(dialog)
    dialog.address_edit.setPlainText("1 Main Rd\nHobart TAS 7000")
    dialog.contact_edit.setText("03 6000 0000")
    dialog.tax_number_edit.setText("ABN 98 765 432 109")
    dialog.footer_edit.setPlainText("Pay within 14 days.")
    logo = icon_files()[0]
    dialog.choose_logo_path = lambda: logo  # type: ignore[method-assign]
    dialog._on_choose_logo_clicked()
    assert dialog.logo_label.pixmap() is not None and not dialog.logo_label.pixmap().isNull()
    dialog._on_buttons_accepted()
    head = clinic.letterhead()
    assert head.address == "1 Main Rd\nHobart TAS 7000" and head.contact == "03 6000 0000"
    assert head.tax_number == "ABN 98 765 432 109" and head.footer == "Pay within 14 days."
    assert head.logo == logo.read_bytes()


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not an image", "PNG or JPEG"), (b"\x89PNG\r\n\x1a\n" + bytes(MAX_LOGO_BYTES), "at most")],
)
def test_a_bad_logo_file_is_refused_and_nothing_is_saved(qtbot, clinic, tmp_path, content, message):
    bad = tmp_path / "logo.png"
    bad.write_bytes(content)
    dialog = SettingsDialog(clinic, page=PAGES.index("Printed documents"))
    qtbot.addWidget(dialog)
    dialog.address_edit.setPlainText("1 Main Rd")
    dialog.set_logo_file(bad)
    dialog._on_buttons_accepted()
    assert message in dialog.message_label.text()
    assert dialog.result() != dialog.DialogCode.Accepted
    assert clinic.letterhead().address == "" and clinic.letterhead().logo is None


def pdf_lines(path: Path) -> tuple[tuple[float, float], list[tuple[str, QRectF]]]:
    """The first page's size and its text, a box per character, in millimetres from the
    page's top-left corner."""
    document = pdfium.PdfDocument(str(path))
    try:
        page = document[0]
        width, height = page.get_size()
        textpage = page.get_textpage()
        chars = []
        for i in range(textpage.count_chars()):
            left, bottom, right, top = textpage.get_charbox(i)
            box = QRectF(left, height - top, right - left, top - bottom)
            chars.append((textpage.get_text_range(i, 1), scaled(box, 25.4 / 72)))
    finally:
        document.close()
    return (width * 25.4 / 72, height * 25.4 / 72), chars


def scaled(box: QRectF, factor: float) -> QRectF:
    return QRectF(box.x() * factor, box.y() * factor, box.width() * factor, box.height() * factor)


def box_of(chars: list[tuple[str, QRectF]], needle: str) -> QRectF:
    """Where ``needle`` is printed (its characters' boxes united)."""
    text = "".join(c for c, _ in chars)
    start = text.find(needle)
    assert start >= 0, needle
    united = QRectF()
    for c, box in chars[start : start + len(needle)]:
        if c.strip():
            united = united.united(box)
    return united


#: The envelope windows as the page sees them (mm): DIN 680 DL over DIN 5008 form B on A4, and
#: the #10 window (7/8 in from the left, 2 in to 3 1/8 in from the top, 4 1/2 in wide) on Letter.
DL_WINDOW = QRectF(20, 45, 90, 45)
NO10_WINDOW = QRectF(0.875 * 25.4, 2 * 25.4, 4.5 * 25.4, 1.125 * 25.4)
ADDRESS = ["Ms Ada <b> Lovelace", "12 <i>St</i> James's Square", "Level 2", "London SW1Y 4JH"]


@pytest.fixture
def addressed(clinic):
    """A patient with a postal address abroad and extra information for invoices."""

    def make(country: str) -> dict[str, int]:
        clinic.set_up_clinic(clinic_name="Harbour Physio", country=country)
        clinic.update_settings(
            letterhead={
                "clinic_address": "12 Harbour St\nSuite 4\nSydney NSW 2000",
                "clinic_contact": "02 9999 0000",
                "clinic_tax_number": "ABN 12 345 678 901",
            },
            logo=icon_files()[-1].read_bytes(),
        )
        ada = clinic.add_patient(
            "Ada <b>",
            "Lovelace",
            title="Ms",
            address="12 <i>St</i> James's Square\nLevel 2",
            city="London",
            postcode="SW1Y 4JH",
            country="GB",
            invoice_extra="Claim <u>12345</u>\nReferred by Dr Smith",
        )
        invoice = clinic.create_invoice(ada, [("Initial consultation", "95", 1)])
        return {"ada": ada, "invoice": invoice}

    return make


@pytest.mark.parametrize(
    ("country", "page_mm", "window"),
    [("Australia", (210, 297), DL_WINDOW), ("United States", (215.9, 279.4), NO10_WINDOW)],
    ids=["A4-DL", "Letter-#10"],
)
def test_invoice_address_prints_in_the_envelope_window(
    qtbot, clinic, addressed, tmp_path, country, page_mm, window
):
    made = addressed(country)
    main = MainWindow(clinic)
    qtbot.addWidget(main)
    main.select_patient(made["ada"])
    dialog = main.printing.print_invoice(made["invoice"])
    assert dialog.preview.pageCount() == 1
    target = tmp_path / "invoice.pdf"
    dialog.save_pdf(target)
    size, chars = pdf_lines(target)
    assert size == pytest.approx(page_mm, abs=0.5)  # the clinic's country chose the paper
    lines = [box_of(chars, line) for line in [*ADDRESS, "GB"]]
    for line, box in zip([*ADDRESS, "GB"], lines, strict=True):
        assert window.contains(box), (line, box)
        assert box.left() >= window.left() + 3  # clear of the window's edge
    assert all(a.bottom() <= b.top() for a, b in pairwise(lines))
    # Nothing else shows through the window: not the extra information, not the clinic's lines.
    inside = "".join(c for c, box in chars if window.contains(box.center()) and c.strip())
    assert inside == "".join("".join([*ADDRESS, "GB"]).split())
    # The extra information: labelled, escaped, its line breaks kept, beside the window.
    label = box_of(chars, "Extra information")
    claim = box_of(chars, "Claim <u>12345</u>")
    doctor = box_of(chars, "Referred by Dr Smith")
    assert label.bottom() <= claim.top() and claim.bottom() <= doctor.top()
    assert claim.left() > window.right()
    # The letterhead stays above the window, the invoice's lines start below it.
    assert box_of(chars, "Harbour Physio").bottom() < window.top()
    assert box_of(chars, "Initial consultation").top() > window.bottom()
    assert "Patient: Ada <b> Lovelace" in pdf_text(target)


def test_statement_address_prints_in_the_window_and_receipt_carries_it(
    qtbot, clinic, addressed, tmp_path
):
    made = addressed("Australia")
    payment = clinic.record_payment(
        clinic.preview_payment(made["ada"], {"Cash": "95"}, source_invoice=made["invoice"]), "p"
    )
    main = MainWindow(clinic)
    qtbot.addWidget(main)
    main.select_patient(made["ada"])
    statement = main.printing.statement()
    target = tmp_path / "statement.pdf"
    statement.save_pdf(target)
    _, chars = pdf_lines(target)
    for line in ADDRESS:
        assert DL_WINDOW.contains(box_of(chars, line)), line
    assert "Claim" not in pdf_text(target)  # extra information is for invoices only
    receipt = main.printing.print_receipt(payment)
    receipt.save_pdf(target)
    _, chars = pdf_lines(target)
    assert all(DL_WINDOW.contains(box_of(chars, line)) for line in ADDRESS)


def test_without_an_address_the_invoice_names_the_patient_only(window, tmp_path, clinic, ledger):
    clinic.update_patient(ledger["ada"], invoice_extra="Referred by Dr Smith")
    dialog = window.printing.print_invoice(ledger["invoice"])
    target = tmp_path / "invoice.pdf"
    dialog.save_pdf(target)
    text = pdf_text(target)
    assert "Bill to: Ada <b> Lovelace" in text
    assert "Extra information Referred by Dr Smith" in text
    assert "Patient:" not in text


def test_a_long_invoice_runs_over_numbered_pages_without_losing_a_line(qtbot, clinic, tmp_path):
    grace = clinic.add_patient("Grace", "Hopper", address="1 Main St", city="Perth", country="AU")
    invoice = clinic.create_invoice(grace, [(f"Visit {i:02}", "80", 1) for i in range(70)])
    main = MainWindow(clinic)
    qtbot.addWidget(main)
    main.select_patient(grace)
    dialog = main.printing.print_invoice(invoice)
    target = tmp_path / "long.pdf"
    dialog.save_pdf(target)
    document = pdfium.PdfDocument(str(target))
    try:  # pdfium reads later pages' glyphs apart: compare without whitespace
        pages = ["".join(page.get_textpage().get_text_range().split()) for page in document]
    finally:
        document.close()
    assert len(pages) == dialog.preview.pageCount() > 1
    for number, text in enumerate(pages, start=1):
        assert text.endswith(f"Page{number}of{len(pages)}"), text[-40:]
    text = "".join(pages)
    assert all(text.count(f"Visit{i:02}1$80.00$80.00") == 1 for i in range(70))
    assert "Total$5,600.00" in text
