"""Documents as PDF without a window: one document's PDF in memory (what an email attaches) and
many statements in one PDF to print and post. The PDFs are read back as text (pypdfium2)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from desktop_app.core import BillingError
from desktop_app.resources import icon_files
from desktop_app.ui.printing.pdf_bytes import (
    PostingPdf,
    document_html,
    document_pdf,
    document_title,
)

REPO = Path(__file__).resolve().parents[2]


def pages_text(data: bytes | Path) -> list[str]:
    """Each page's text, whitespace collapsed."""
    document = pdfium.PdfDocument(data if isinstance(data, bytes) else str(data))
    try:
        return [" ".join(page.get_textpage().get_text_range().split()) for page in document]
    finally:
        document.close()


def pdf_title(data: bytes) -> str:
    document = pdfium.PdfDocument(data)
    try:
        return str(document.get_metadata_dict()["Title"])
    finally:
        document.close()


@pytest.fixture
def ledger(qapp, clinic):
    """Harbour Physio with a logo; Ada owes on invoice 1 and paid part of it,
    Bea has a long history, Cy has credit; Bupa has an invoice."""
    clinic.update_settings(
        clinic_name="Harbour Physio",
        letterhead={"clinic_address": "12 Harbour St\nSydney NSW 2000"},
        logo=icon_files()[-1].read_bytes(),
    )
    ada = clinic.add_patient("Ada", "Lovelace", address="1 Analytical Way\nLondon")
    bea = clinic.add_patient("Bea", "Babbage", address="2 Engine Rd\nLondon")
    cy = clinic.add_patient("Cy", "Clarke", address="3 Orbit St\nMinehead")
    invoice = clinic.create_invoice(ada, [("Initial consultation", "95", 1, "10")])
    payment = clinic.record_payment(
        clinic.preview_payment(ada, {"EFTPOS": "50"}, source_invoice=invoice), "ada-pays"
    )
    start = date.today() - timedelta(days=60)
    for day in range(30):  # more than a page of statement lines
        last = clinic.create_invoice(
            bea, [(f"Session {day + 1}", "40", 1)], issue_date=start + timedelta(days=day)
        )
    clinic.record_payment(clinic.preview_payment(cy, {"Cash": "30"}), "cy-credit")
    bupa = clinic.add_payer("Bupa", kind="health fund", address="GPO Box 9999\nSydney NSW 2001")
    clinic.create_invoice(ada, [("Consult", "120", 1)], bill_to=bupa, claim_reference="CLM-1")
    return {
        "ada": ada,
        "bea": bea,
        "bea_last": last,
        "cy": cy,
        "invoice": invoice,
        "payment": payment,
        "bupa": bupa,
    }


def test_an_invoices_pdf_bytes_hold_its_number_and_total(clinic, ledger, formatter):
    document = clinic.invoice_document(ledger["invoice"])
    data = document_pdf(document, formatter)
    assert data.startswith(b"%PDF-")
    [page] = pages_text(data)
    assert "Harbour Physio" in page and f"Invoice: #{document.invoice.number}" in page
    assert "Total $104.50" in page and "Balance due $54.50" in page
    assert pdf_title(data) == f"Invoice {document.invoice.number}"


def test_each_kind_of_document_gets_its_layout_and_title(clinic, ledger, formatter):
    cases = [
        (clinic.receipt(ledger["payment"]), f"Receipt {ledger['payment']}", "Payment receipt"),
        (clinic.statement(ledger["cy"]), "Statement Cy Clarke", "Account credit $30.00"),
        (clinic.payer_statement(ledger["bupa"]), "Statement Bupa", "CLM-1"),
    ]
    for document, title, shown in cases:
        assert document_title(document) == title
        data = document_pdf(document, formatter)
        assert pdf_title(data) == title
        assert shown in " ".join(pages_text(data)), title
    with pytest.raises(TypeError):
        document_html("not a document", formatter)  # type: ignore[arg-type]


def test_statements_for_posting_each_start_on_a_page_of_their_own(
    clinic, ledger, formatter, tmp_path
):
    target = tmp_path / "post.pdf"
    with PostingPdf(target, "A4") as posting:
        for patient in ("ada", "bea", "cy"):
            statement = clinic.statement(ledger[patient], date.today() - timedelta(days=90))
            assert posting.add(document_html(statement, formatter), statement.letterhead)
        assert posting.count == 3
        assert not target.exists()  # written as .part until closed
    assert not list(tmp_path.glob("*.part"))
    pages = pages_text(target)
    ada, bea, cy = pages[0], pages[1:-1], pages[-1]
    assert len(bea) >= 2, [page[:80] for page in pages]
    assert "Patient: Ada Lovelace" in ada and "1 Analytical Way" in ada and "Page" not in ada
    assert "Patient: Bea Babbage" in bea[0] and "2 Engine Rd" in bea[0]
    for number, page in enumerate(bea, start=1):  # Bea's own page numbers
        assert f"Page {number} of {len(bea)}" in page and "Ada" not in page
    assert f"Invoice #{clinic.invoice(ledger['bea_last']).number}" in bea[-1]
    assert "Patient: Cy Clarke" in cy and "3 Orbit St" in cy and "Page" not in cy
    # The logo heads each statement but the file holds the image once, as one statement's does.
    alone = document_pdf(clinic.statement(ledger["cy"]), formatter)
    assert target.read_bytes().count(b"/Subtype /Image") == alone.count(b"/Subtype /Image") > 0


def test_posting_pdf_where_it_cannot_go_is_refused_and_nothing_is_written(
    clinic, ledger, formatter, tmp_path
):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    with pytest.raises(BillingError, match="is a folder"):
        PostingPdf(tmp_path, "A4")
    with pytest.raises(BillingError, match="does not exist"):
        PostingPdf(tmp_path / "gone" / "post.pdf", "A4")
    assert list(tmp_path.iterdir()) == []
    # Nothing added: no file. An error while adding: no file either.
    PostingPdf(tmp_path / "empty.pdf", "A4").close()
    statement = clinic.statement(ledger["ada"])
    with pytest.raises(KeyError), PostingPdf(tmp_path / "broken.pdf", "Letter") as posting:
        posting.add(document_html(statement, formatter), statement.letterhead)
        raise KeyError("stopped")
    assert list(tmp_path.iterdir()) == []


def test_the_command_line_makes_a_pdf_without_a_screen(tmp_path):
    script = (
        "from desktop_app.core import Letterhead\n"
        "from desktop_app.ui.printing.pdf_bytes import ensure_document_app, pdf_bytes\n"
        "from PySide6.QtGui import QGuiApplication\n"
        "try:\n"
        "    pdf_bytes('<p>x</p>', Letterhead('Harbour Physio'), 'x')\n"
        "except RuntimeError as exc:\n"
        "    print(exc)\n"
        "ensure_document_app(); ensure_document_app()\n"
        "print(QGuiApplication.platformName())\n"
        "data = pdf_bytes('<h1>Statement</h1>', Letterhead('Harbour Physio'), 'Statement')\n"
        "print(data[:5].decode())\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"QT_QPA_PLATFORM", "DISPLAY"}}
    env["QT_QPA_PLATFORM"] = "xcb"  # a display the command line does not have: ignored
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Documents need a QGuiApplication: call ensure_document_app() first.",
        "offscreen",
        "%PDF-",
    ]
