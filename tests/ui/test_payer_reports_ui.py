"""Third-party payers in the Reports window (Show: everyone, patients, all payers, one payer; the
payer's statement) and in print: an invoice addressed to the payer naming the patient, a
remittance's receipt, the payer's statement, and a patient's statement with "Billed to"."""

from __future__ import annotations

import csv
from datetime import date, timedelta

import pytest
from PySide6.QtCore import Qt

from desktop_app.ui.dialogs.reports import ReportsWindow, aged_row_text
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.printing.dialog import DocumentDialog
from tests.ui.test_printing import pdf_text

TODAY = date.today()


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


@pytest.fixture
def funds(clinic):
    """Bupa pays 80% of Ada's visits and $120.00 of an older one; NDIS pays Alan's; Grace pays
    herself. Bupa remitted $150.00 today (REM-2026-11)."""
    clinic.update_settings(clinic_name="Harbour Physio")
    ada = clinic.add_patient("Ada", "Lovelace", date_of_birth=date(1985, 12, 10))
    alan = clinic.add_patient("Alan", "Turing")
    grace = clinic.add_patient("Grace", "Hopper")
    bupa = clinic.add_payer(
        "Bupa",
        kind="health fund",
        email="claims@bupa.example",
        address="GPO Box 9999\nSydney NSW 2001",
    )
    ndis = clinic.add_payer("NDIS", kind="government scheme")
    old = clinic.add_payer("Old Fund", kind="health fund")
    clinic.archive_payer(old)
    clinic.add_membership(ada, bupa, member_number="123456")
    ids = {"ada": ada, "alan": alan, "grace": grace, "bupa": bupa, "ndis": ndis, "old": old}
    ids["a_old"] = clinic.create_invoice(
        ada,
        [("Consult", "120", 1)],
        bill_to=bupa,
        claim_reference="CLM-1001",
        issue_date=days_ago(45),
    )
    ids["a_payer"], ids["a_gap"] = clinic.create_split_invoice(
        ada,
        [("Long consult", "95.50", 1)],
        payer=bupa,
        payer_share="80%",
        claim_reference="CLM-1002",
        issue_date=days_ago(5),
    )
    ids["t_ndis"] = clinic.create_invoice(
        alan, [("Therapy", "210.35", 1)], bill_to=ndis, issue_date=days_ago(100)
    )
    clinic.create_invoice(grace, [("Consult", "60", 1)], issue_date=days_ago(70))
    ids["rem"] = clinic.record_payer_payment(
        clinic.preview_payer_payment(
            bupa, sources={"Bank transfer": "150.00"}, reference="REM-2026-11"
        ),
        request_id="rem-bupa",
    )
    clinic.record_payment(clinic.preview_payment(grace, {"Cash": "25"}), "grace-pays")
    return ids


@pytest.fixture
def reports(qtbot, clinic, formatter, funds):
    shown = ReportsWindow(clinic, formatter)
    qtbot.addWidget(shown)
    shown.show()
    qtbot.waitExposed(shown)
    yield shown
    shown.close()


def rows(model):
    return [aged_row_text(model, model.row(r)) for r in range(model.rowCount())]


def test_show_offers_everyone_patients_all_payers_and_each_payer(reports):
    combo = reports.scope_combo
    texts = [combo.itemText(i) for i in range(combo.count())]
    assert texts == [
        "Everyone",
        "Patients",
        "All payers",
        "",
        "Bupa",
        "NDIS",
        "Old Fund (archived)",
    ]
    assert reports.scope == ("everyone", None)
    assert not reports.payer_statement_button.isEnabled()
    header = reports.aged_model.headerData(0, Qt.Orientation.Horizontal)
    assert header == "Patient or payer"


def test_everyone_names_payers_by_name_and_adds_up_to_the_clinic(reports, clinic):
    reports.tabs.setCurrentIndex(1)
    assert [r[0] for r in rows(reports.aged_model)] == [
        "NDIS",
        "Bupa",
        "Hopper, Grace",
        "Lovelace, Ada",
    ]
    assert "2 patients and 2 payers owe $310.85 in all" in reports.aged_summary.text()
    assert reports.aged.total == clinic.summary().outstanding
    assert reports.remittances_table.isHidden()


def test_patients_and_all_payers(reports):
    reports.set_scope("patients")
    assert [r[0] for r in rows(reports.aged_model)] == ["Hopper, Grace", "Lovelace, Ada"]
    assert "2 patients owe $54.10 in all" in reports.aged_summary.text()
    assert rows(reports.takings_model) == [["Cash", "$25.00", "$0.00", "$25.00", "1"]]
    assert "Patients' own payments" in reports.takings_summary.text()
    reports.set_scope("payers")
    assert reports.aged_model.headerData(0, Qt.Orientation.Horizontal) == "Payer"
    assert [r[:2] for r in rows(reports.aged_model)] == [["NDIS", "$0.00"], ["Bupa", "$46.40"]]
    assert "2 payers owe $256.75 in all" in reports.aged_summary.text()
    assert rows(reports.takings_model) == [["Bank transfer", "$150.00", "$0.00", "$150.00", "1"]]
    assert not reports.remittances_table.isHidden()
    assert not reports.payer_statement_button.isEnabled()  # all payers: no one statement


def test_one_payer_rows_per_patient_its_remittances_and_its_statement(reports, funds, tmp_path):
    reports.set_scope("payers", funds["bupa"])
    assert reports.scope == ("payers", funds["bupa"])
    assert reports.aged_model.headerData(0, Qt.Orientation.Horizontal) == "Patient"
    assert rows(reports.aged_model) == [
        ["Lovelace, Ada", "$46.40", "$0.00", "$0.00", "$0.00", "$46.40", "1", reports_day(5)]
    ]
    assert "Bupa owes, for 1 patient, $46.40 in all" in reports.aged_summary.text()
    assert rows(reports.remittances_model) == [
        [
            reports_day(0),
            "Bupa",
            "REM-2026-11",
            str(funds["rem"]),
            "$150.00",
            "$150.00",
            "$0.00",
            "2",
        ]
    ]
    assert "Bupa: 1 remittance." in reports.takings_summary.text()
    path = tmp_path / "takings.csv"
    reports.export(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        written = list(csv.reader(handle))
    assert written[-1][:6] == [
        "",
        TODAY.isoformat(),
        "Bupa",
        "REM-2026-11",
        str(funds["rem"]),
        "150.00",
    ]
    assert reports._suggested_name().startswith("takings-bupa-")
    # The payer's statement, from the same choice.
    assert reports.payer_statement_button.isEnabled()
    reports.payer_statement_button.click()
    dialog = reports.last_dialog
    assert isinstance(dialog, DocumentDialog) and dialog.isVisible()
    assert dialog.windowTitle() == "Statement Bupa"
    dialog.whole_check.setChecked(True)
    target = tmp_path / "bupa.pdf"
    dialog.save_pdf(target)
    text = pdf_text(target)
    for expected in (
        "Statement",
        "Payer: Bupa",
        "GPO Box 9999",
        "claims@bupa.example",
        "Ada Lovelace CLM-1001 $120.00",
        "Ada Lovelace CLM-1002 $76.40",
        f"Remittance {funds['rem']} REM-2026-11 $150.00 $46.40",
        "Balance owing $46.40",
        "Invoices still open",
    ):
        assert expected in text, expected
    dialog.close()
    # Credit held and revenue are everyone's: Show is off there.
    reports.tabs.setCurrentIndex(2)
    assert not reports.scope_combo.isEnabled()
    assert not reports.payer_statement_button.isEnabled()
    reports.tabs.setCurrentIndex(1)
    assert reports.scope_combo.isEnabled() and reports.payer_statement_button.isEnabled()


def reports_day(n: int) -> str:
    from desktop_app.ui.formatting import Formatter

    return Formatter("AUD", "en_AU").day(days_ago(n))


@pytest.fixture
def main(qtbot, clinic, funds):
    window = MainWindow(clinic)
    qtbot.addWidget(window)
    window.show()
    window.formatter.locale = "en_AU"
    window.select_patient(funds["ada"])
    return window


def test_an_invoice_billed_to_a_payer_prints_addressed_to_it_naming_the_patient(
    main, funds, tmp_path
):
    dialog = main.printing.print_invoice(funds["a_old"])
    target = tmp_path / "invoice.pdf"
    dialog.save_pdf(target)
    text = pdf_text(target)
    for expected in (
        "Bupa GPO Box 9999 Sydney NSW 2001 claims@bupa.example",
        "Patient: Ada Lovelace",
        "Date of birth: 10 Dec 1985",
        "Member number: 123456",
        "Claim number: CLM-1001",
        "Balance due $0.00",
    ):
        assert expected in text, expected
    # The patient's own gap invoice is addressed as before: to the patient.
    gap = main.printing.print_invoice(funds["a_gap"])
    gap.save_pdf(target)
    text = pdf_text(target)
    assert "Bill to: Ada Lovelace" in text and "Member number" not in text


def test_a_remittance_receipt_names_the_payer_and_each_patient(main, funds, tmp_path):
    dialog = main.printing.print_receipt(funds["rem"])
    target = tmp_path / "receipt.pdf"
    dialog.save_pdf(target)
    text = pdf_text(target)
    for expected in (
        "Payment receipt",
        "Remittance: REM-2026-11",
        "Received from: Bupa",
        "Ada Lovelace CLM-1001 $120.00",
        "Ada Lovelace CLM-1002 $30.00",
    ):
        assert expected in text, expected


def test_a_patients_statement_shows_what_was_billed_to_the_payer_apart(main, tmp_path):
    dialog = main.printing.statement()
    dialog.whole_check.setChecked(True)
    target = tmp_path / "statement.pdf"
    dialog.save_pdf(target)
    text = pdf_text(target)
    assert "Balance owing $19.10" in text
    assert "Billed to Bupa" in text
    assert "not part of your balance" in text
    assert "CLM-1001 $120.00 Paid" in text
    assert "CLM-1002 $76.40 $46.40" in text
