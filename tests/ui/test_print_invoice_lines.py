"""Printed invoices follow their lines: item codes, decimal quantities, discounts, tax per rate,
prices that include the tax, the practitioner and the service date; a draft prints as a draft."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape

import pytest

from desktop_app.core import Clinic, Role
from desktop_app.ui.formatting import Formatter
from desktop_app.ui.printing.html import invoice_html, statement_html

TODAY = date.today()


def plain(html: str) -> str:
    """The words of the HTML as a reader sees them: tags dropped, entities read, spaces joined."""
    text = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", text)).split())


def header(html: str) -> list[str]:
    """The column titles of the lines table (the first table of class "items")."""
    table = html[html.index('<table class="items"') :]
    table = table[: table.index("</tr>")]
    return [unescape(t) for t in re.findall(r"<th[^>]*>(.*?)</th>", table)]


@pytest.fixture
def gst_clinic(clinic: Clinic) -> Clinic:
    clinic.update_settings(
        clinic_name="Harbour Physio",
        letterhead={"clinic_tax_number": "ABN 12 345 678 901"},
        tax_name="GST",
        tax_rate="10",
    )
    clinic.add_staff("boss", "Boss", Role.ADMINISTRATOR, "correct horse battery")
    clinic.add_staff("drsmith", "Dr Jane Smith", Role.PRACTITIONER, "correct horse battery")
    return clinic


def test_a_tax_inclusive_invoice_prints_codes_discounts_half_hours_and_gst_per_rate(
    gst_clinic: Clinic, formatter: Formatter
) -> None:
    clinic = gst_clinic
    clinic.set_prices_include_tax(True)
    item = clinic.add_billable_item("IC", "Initial consultation", "95.00", tax_rate="10")
    smith = next(s.id for s in clinic.practitioners())
    pid = clinic.add_patient("Ada", "Lovelace")
    served = TODAY - timedelta(days=2)
    iid = clinic.create_invoice(
        pid,
        [
            {"item": item, "discount": "10%"},
            {"description": "Hydrotherapy", "price": "80.00", "quantity": "0.5", "tax_rate": "10"},
            {"description": "Exercise band", "price": "12.00", "quantity": "1"},
        ],
        practitioner_id=smith,
        service_date=served,
    )
    html = invoice_html(clinic.invoice_document(iid), formatter)
    text = plain(html)
    columns = ["Code", "Description", "Qty", "Unit price", "Discount", "GST included", "Total"]
    assert header(html) == columns
    # $95.00 less 10% is $85.50, with $7.77 of GST inside; half of $80.00 is $40.00 with $3.64.
    assert "IC Initial consultation 1 $95.00 $9.50 10% $7.77 10% $85.50" in text
    assert "Hydrotherapy 0.5 $80.00 $3.64 10% $40.00" in text
    assert "Exercise band 1 $12.00 $12.00" in text
    assert "Prices include GST" in text
    assert "Subtotal (excluding GST) $126.09" in text
    assert "GST 10% $11.41" in text
    assert "Total $137.50" in text and "Balance due $137.50" in text
    assert f"Service date: {formatter.day(served)}" in text
    assert "Practitioner: Dr Jane Smith" in text
    assert "Tax invoice" in text and "DRAFT" not in text


def test_tax_on_top_prints_net_and_tax_per_rate_and_no_empty_columns(
    gst_clinic: Clinic, formatter: Formatter
) -> None:
    clinic = gst_clinic
    pid = clinic.add_patient("Ada", "Lovelace")
    plain_lines = clinic.create_invoice(pid, [("Consult", "95", 1, "10"), ("Band", "12.50", 2)])
    html = invoice_html(clinic.invoice_document(plain_lines), formatter)
    assert header(html) == ["Description", "Qty", "Unit price", "GST", "Total"]
    text = plain(html)
    assert "Consult 1 $95.00 $9.50 10% $104.50" in text
    assert "Subtotal $120.00 GST 10% $9.50 Total $129.50" in text
    assert "Prices include" not in text and "Practitioner" not in text

    two_rates = clinic.create_invoice(
        pid,
        [
            {"description": "Consult", "price": "100", "tax_rate": "10", "discount": "5.00"},
            {"description": "Import duty", "price": "40", "tax_rate": "12.5"},
        ],
    )
    html = invoice_html(clinic.invoice_document(two_rates), formatter)
    assert header(html) == ["Description", "Qty", "Unit price", "Discount", "Net", "GST", "Total"]
    text = plain(html)
    assert "Consult 1 $100.00 $5.00 $95.00 $9.50 10% $104.50" in text
    assert "Subtotal $135.00 GST 10% $9.50 GST 12.5% $5.00 Total $149.50" in text


def test_without_a_tax_name_the_invoice_says_tax(clinic: Clinic, formatter: Formatter) -> None:
    clinic.set_prices_include_tax(True)
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(pid, [("Consult", "110", 1, "10")])
    text = plain(invoice_html(clinic.invoice_document(iid), formatter))
    assert "Prices include tax" in text
    assert "Tax 10% $10.00" in text


def test_a_draft_prints_as_a_draft_without_a_number_or_balance(
    gst_clinic: Clinic, formatter: Formatter
) -> None:
    clinic = gst_clinic
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.create_invoice(pid, [("Earlier", "10", 1)])
    draft = clinic.create_invoice(pid, [("Consult", "95", 1, "10")], draft=True)
    text = plain(invoice_html(clinic.invoice_document(draft), formatter))
    assert "Invoice DRAFT" in text and "not issued yet" in text
    assert "#" not in text and "None" not in text
    assert "Tax invoice" not in text and "Balance due" not in text
    assert "Total $104.50" in text
    # Nor is it on the patient's statement.
    statement = plain(statement_html(clinic.statement(pid, None, TODAY), formatter))
    assert "Invoice #1" in statement and "$104.50" not in statement


def test_printing_a_draft_from_the_window_titles_it_a_draft(qtbot, gst_clinic: Clinic) -> None:
    from desktop_app.ui.main_window import MainWindow

    clinic = gst_clinic
    pid = clinic.add_patient("Ada", "Lovelace")
    draft = clinic.create_invoice(pid, [("Consult", "95", 1, "10")], draft=True)
    main = MainWindow(clinic)
    qtbot.addWidget(main)
    dialog = main.printing.print_invoice(draft)
    assert dialog is not None
    assert dialog.windowTitle().startswith("Draft invoice")
    dialog.close()
