"""Regenerate the screenshots in this folder, and the sample PDFs in ``docs/samples`` (with a PNG
of each first page), from a fresh demo clinic.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/make_screenshots.py``
(the PDFs are rendered to PNG with pypdfium2, a test dependency). It ends with the main window,
the payment dialog and a print preview on a 1366x768 laptop screen as they are
(``*-1366x768.png``), in dark mode (``*-dark.png``) and at 200% scale (``*-200.png``), each set
rendered by a fresh Qt; ``make_screenshots.py 1366x768`` (or ``dark``, or ``200``) renders only
that set, ``make_screenshots.py address`` only the addressed invoice (``invoice-address-a4.png``),
``make_screenshots.py items`` only the invoice with catalogue items and GST included
(``print-invoice-items.png``), ``make_screenshots.py patients`` the Edit patient and Merge
duplicate windows on the same laptop screen (``patient-details-1366x768.png``,
``merge-1366x768.png``) and ``make_screenshots.py payers`` Settings > Payers, a patient's
payers in their details, the invoice window billing a payer with a split and a payer's
remittance (``settings-payers-1366x768.png``, ``patient-payers-1366x768.png``,
``invoice-dialog-payer-1366x768.png``, ``remittance-dialog-1366x768.png``), the Reports
window showing one payer (``reports-payers-1366x768.png``) and its statement in the print
window (``payer-statement.png``). ``make_screenshots.py email`` renders Settings > Email's
three tabs (``settings-email-1366x768.png``, ``settings-email-templates-1366x768.png``,
``settings-email-reminders-1366x768.png``), the email window with an invoice
(``email-dialog-1366x768.png``), the main window's bar offering the receipt after a payment
(``receipt-bar-1366x768.png``) and a patient's Messages tab (``messages-tab-1366x768.png``: one
email sent, one refused by the server, one queued; the server is the tests' loopback SMTP
server, aiosmtpd). ``make_screenshots.py outbox`` renders the Outbox window with
sent and failed messages, the Overdue reminders window and the account credit alerts panel
(``outbox-1366x768.png``, ``overdue-reminders-1366x768.png``, ``credit-alerts-1366x768.png``;
``outbox.py``). ``make_screenshots.py statement-run`` renders Tools > Statement run…
before and after November's run (``statement-run-1366x768.png``,
``statement-run-done-1366x768.png``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication, QLabel, QWidget

from desktop_app.core import AllocationMode, Clinic
from desktop_app.core.demo import populate
from desktop_app.ui.dialogs.audit_log_dialog import AuditLogDialog
from desktop_app.ui.dialogs.money_actions import CreditNoteDialog, RefundDialog
from desktop_app.ui.dialogs.reports import ReportsWindow
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.settings.settings_dialog import PAGES, SettingsDialog
from desktop_app.ui.style import dark_palette

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent / "samples"
#: The extra sets, each on a 1366x768 laptop screen: as it is, in dark mode, and at 200% scale.
VARIANTS = ("1366x768", "dark", "200")
#: The patient windows' set (1366x768, as it is).
PATIENTS = "patients"
#: The catalogue's set: Settings > Billable items and the item window (1366x768, as it is).
CATALOGUE = "catalogue"
#: The payers' set: Settings > Payers, a patient's payers, the invoice window with a payer and a
#: split, a payer's remittance (``payer_billing.py``), the Reports window showing one payer and
#: its statement (1366x768, as it is).
PAYERS = "payers"
#: Tools > Statement run…: November's list, then the run done (1366x768, as it is).
STATEMENT_RUN = "statement-run"
#: The email set: Settings > Email, the email window, the receipt bar and the Messages tab.
EMAIL = "email"
#: The outbox's set: the Outbox window, Overdue reminders, the credit alerts (``outbox.py``).
OUTBOX = "outbox"


def pdf_to_png(pdf: Path) -> None:
    """Render the PDF's first page to a PNG beside it (150 dpi), as a reader would show it."""
    import pypdfium2 as pdfium
    from PySide6.QtGui import QImage

    document = pdfium.PdfDocument(str(pdf))
    try:
        bitmap = document[0].render(scale=150 / 72, rev_byteorder=True)
        formats = {3: QImage.Format.Format_RGB888, 4: QImage.Format.Format_RGBA8888}
        image = QImage(
            bytes(bitmap.buffer),
            bitmap.width,
            bitmap.height,
            bitmap.stride,
            formats[bitmap.n_channels],
        )
        image.save(str(pdf.with_suffix(".png")))
    finally:
        document.close()
    print(pdf, pdf.with_suffix(".png"))


def grab(widget: QWidget, name: str) -> None:
    widget.show()
    QApplication.processEvents()
    widget.grab().save(str(HERE / name))
    print(HERE / name)


def first_run_clinic(folder: Path) -> None:
    """The first run's "About your clinic" window on a new clinic, New Zealand chosen."""
    from desktop_app.ui.dialogs.first_run import ClinicSetupDialog

    with Clinic.open(f"sqlite:///{folder / 'new.db'}") as fresh:
        dialog = ClinicSetupDialog(fresh)
        dialog.name_edit.setText("Kowhai Physiotherapy")
        dialog.country_combo.setCurrentText("New Zealand")
        grab(dialog, "first-run-clinic.png")
        dialog.close()


def addressed_invoice(folder: Path) -> None:
    """An invoice's print window for a patient with a postal address and extra information, on
    A4: the address sits where a DL window envelope's window is."""
    with Clinic.open(f"sqlite:///{folder / 'addressed.db'}") as fresh:
        fresh.set_up_clinic(clinic_name="Harbour Physiotherapy", country="Australia")
        fresh.update_settings(
            letterhead={
                "clinic_address": "Level 2, 88 Harbour Street\nSydney NSW 2000",
                "clinic_contact": "02 9000 1234",
                "clinic_tax_number": "ABN 12 345 678 901",
            },
            logo=(
                HERE.parents[1] / "desktop_app/resources/icons/clinic-ledger-256.png"
            ).read_bytes(),
        )
        pid = fresh.add_patient(
            "Ada",
            "Lovelace",
            title="Ms",
            address="12 Bay Road\nUnit 3",
            city="Manly",
            region="NSW",
            postcode="2095",
            country="AU",
            invoice_extra="Claim number 4471-22\nReferred by Dr M. Chen",
        )
        invoice = fresh.create_invoice(
            pid, [("Initial consultation", "95", 1), ("Exercise band", "12.50", 2)]
        )
        window = MainWindow(fresh)
        window.select_patient(pid)
        dialog = window.printing.print_invoice(invoice)
        assert dialog is not None
        dialog.resize(760, 900)
        grab(dialog, "invoice-address-a4.png")
        dialog.close()
        window.close()


def items_invoice(folder: Path) -> None:
    """The print window of an invoice whose prices include GST: catalogue items with their codes,
    a discount, half an hour, GST per rate, the practitioner and the service date."""
    from desktop_app.core import Role

    with Clinic.open(f"sqlite:///{folder / 'items.db'}") as fresh:
        fresh.set_up_clinic(clinic_name="Harbour Physiotherapy", country="Australia")
        fresh.update_settings(
            letterhead={
                "clinic_address": "Level 2, 88 Harbour Street\nSydney NSW 2000",
                "clinic_tax_number": "ABN 12 345 678 901",
            },
            prices_include_tax=True,
        )
        fresh.add_staff("priya", "Priya Shah", Role.ADMINISTRATOR, "harbour-admin-1")
        fresh.add_staff("sam", "Dr Sam Patel", Role.PRACTITIONER, "harbour-staff-1")
        consult = fresh.add_billable_item("IC", "Initial consultation", "95.00", tax_rate="10")
        hydro = fresh.add_billable_item("HYD", "Hydrotherapy, per hour", "80.00", tax_rate="10")
        band = fresh.add_billable_item(
            "BAND", "Exercise band", "12.50", tax_rate="10", kind="product"
        )
        pid = fresh.add_patient("Ada", "Lovelace")
        invoice = fresh.create_invoice(
            pid,
            [
                {"item": consult, "discount": "10%"},
                {"item": hydro, "quantity": "0.5"},
                {"item": band, "quantity": "2"},
                {"description": "Report to referring doctor", "price": "30.00"},
            ],
            issue_date=date(2026, 11, 20),
            service_date=date(2026, 11, 18),
            practitioner_id=next(s.id for s in fresh.practitioners()),
        )
        window = MainWindow(fresh)
        window.formatter.locale = "en_AU"
        window.select_patient(pid)
        dialog = window.printing.print_invoice(invoice)
        assert dialog is not None
        dialog.resize(760, 900)
        grab(dialog, "print-invoice-items.png")
        dialog.close()
        window.close()


def seed_ada(clinic: Clinic) -> tuple[int, int, int]:
    """The seed's situation: a patient with credit and two open invoices; (patient, older and
    newer invoice)."""
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.record_payment(
        clinic.preview_payment(pid, sources={"EFTPOS": "100.00"}, payment_date=date(2026, 11, 1)),
        "shot-prepay",
    )
    older = clinic.create_invoice(
        pid,
        [("Initial consultation", "95.00", 1)],
        issue_date=date(2026, 11, 2),
        due_date=date(2026, 11, 16),
    )
    newer = clinic.create_invoice(
        pid,
        [("Standard consultation", "75.00", 1), ("Strapping tape", "12.50", 1, "10")],
        issue_date=date(2026, 11, 9),
        due_date=date(2026, 11, 23),
    )
    return pid, older, newer


def render_variant(kind: str) -> None:
    """The main window (filling the screen), the payment dialog and a receipt's print preview
    (at the size it opens) as they are (``1366x768``), in dark mode (``dark``: the preview's
    window dark, its paper white) or at 200% scale (``200``), in this process's Qt."""
    app = QApplication.instance() or QApplication([])
    if kind == "dark":
        app.setStyle("Fusion")
        app.setPalette(dark_palette())  # Qt's own dark palette, as on a dark desktop
    with tempfile.TemporaryDirectory() as folder:
        clinic = Clinic.open(f"sqlite:///{Path(folder) / 'demo.db'}")
        populate(clinic, today=date(2026, 11, 20))
        pid, _older, newer = seed_ada(clinic)
        window = MainWindow(clinic)
        screen = app.primaryScreen()
        assert screen is not None
        window.setGeometry(screen.availableGeometry())
        window.select_patient(pid)
        grab(window, f"main-window-{kind}.png")
        dialog = window.payment_dialog(newer)
        dialog.source_edits["Cash"].setText("40")
        dialog.source_edits["Cash"].textEdited.emit("40")
        grab(dialog, f"payment-dialog-{kind}.png")
        dialog.close()
        paid = clinic.record_payment(
            clinic.preview_payment(pid, sources={"Cash": "50.00"}, source_invoice=newer),
            "shot-ada-pays",
        )
        preview = window.printing.print_receipt(paid)
        assert preview is not None
        grab(preview, f"print-preview-{kind}.png")
        preview.close()
        window.close()
        clinic.close()
    app.quit()


def render_patients() -> None:
    """The Edit patient dialog of a patient with every kind of detail, and the Merge duplicate
    window previewing a duplicate with an invoice and a payment, in this process's Qt."""
    from desktop_app.ui.dialogs.patient_dialog import PatientDialog

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        clinic = Clinic.open(f"sqlite:///{Path(folder) / 'demo.db'}")
        populate(clinic, today=date(2026, 11, 20))
        pid, _older, _newer = seed_ada(clinic)
        clinic.update_patient(
            pid,
            title="Ms",
            preferred_name="Addie",
            date_of_birth=date(1985, 12, 10),
            mobile="0412 345 678",
            email="ada@example.org",
            address="12 Harbour Street\nUnit 4",
            city="Sydney",
            region="NSW",
            postcode="2000",
            country="AU",
            notes="Prefers afternoon appointments.",
            concession="Pensioner",
            invoice_extra="Referred by Dr Babbage",
        )
        duplicate = clinic.add_patient(
            "Ada", "Lovelace-King", date_of_birth=date(1985, 12, 10), phone="02 9876 5432"
        )
        clinic.create_invoice(
            duplicate, [("Standard consultation", "75.00", 1)], issue_date=date(2026, 11, 12)
        )
        clinic.record_payment(
            clinic.preview_payment(
                duplicate, sources={"Cash": "75.00"}, payment_date=date(2026, 11, 12)
            ),
            "shot-duplicate-pays",
        )
        window = MainWindow(clinic)
        screen = app.primaryScreen()
        assert screen is not None
        window.setGeometry(screen.availableGeometry())
        window.select_patient(pid)
        window.show()
        dialog = PatientDialog(clinic, window, patient=clinic.patient(pid))
        grab(dialog, "patient-details-1366x768.png")
        dialog.close()
        merge = window.patient_actions.merge_dialog()
        merge.show()
        merge.merge_picker.search("lovelace king")
        grab(merge, "merge-1366x768.png")
        merge.close()
        window.close()
        clinic.close()
    app.quit()


def render_catalogue() -> None:
    """Settings > Billable items with a small catalogue, and the item window editing an item
    with concession prices, in this process's Qt."""

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        clinic = Clinic.open(f"sqlite:///{Path(folder) / 'demo.db'}")
        populate(clinic, today=date(2026, 11, 20))
        for code, name, price, kind, tax, concessions in (
            ("C1", "Initial consultation", "120.00", "service", "0", {"Pensioner": "95.00"}),
            (
                "C2",
                "Standard consultation",
                "95.00",
                "service",
                "0",
                {"Pensioner": "75.00", "DVA": "80.00"},
            ),
            ("C3", "Long consultation", "140.00", "service", "0", {}),
            ("RPT", "Report to referrer", "60.00", "service", "10", {}),
            ("P-BAND", "Resistance band", "18.50", "product", "10", {}),
            ("P-TAPE", "Rigid sports tape", "12.00", "product", "10", {}),
        ):
            clinic.add_billable_item(
                code, name, price, kind=kind, tax_rate=tax, concession_prices=concessions
            )
        old = clinic.add_billable_item("HOT", "Hot pack (discontinued)", "10.00")
        clinic.archive_billable_item(old)
        settings = SettingsDialog(clinic, page=PAGES.index("Billable items"))
        settings.resize(1000, 600)
        page = settings.billable_items_page
        page.archived_check.setChecked(True)
        page.select_code("C2")
        grab(settings, "billable-items-1366x768.png")
        item = page.selected()
        assert item is not None
        dialog = page.item_dialog(item)
        grab(dialog, "billable-item-dialog-1366x768.png")
        dialog.close()
        settings.close()
        clinic.close()
    app.quit()


def render_payers() -> None:
    """Settings > Payers with a few payers (one owing, one holding credit, one archived), and
    the details of a patient with two payers, in this process's Qt."""
    from desktop_app.ui.dialogs.patient_dialog import PatientDialog

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        clinic = Clinic.open(f"sqlite:///{Path(folder) / 'demo.db'}")
        populate(clinic, today=date(2026, 11, 20))
        bupa = clinic.add_payer(
            "Bupa",
            kind="health fund",
            email="claims@bupa.example",
            phone="1300 555 111",
            address="PO Box 1\nMelbourne VIC 3001",
        )
        workcover = clinic.add_payer("WorkCover NSW", kind="workers compensation", phone="13 10 50")
        clinic.add_payer("NDIS", kind="government scheme", email="provider@ndis.example")
        clinic.add_payer("Acme Logistics", kind="employer", reference_label="PO number")
        old = clinic.add_payer("HCF (old contract)", kind="health fund")
        clinic.archive_payer(old)
        pid, _older, _newer = seed_ada(clinic)
        clinic.update_patient(
            pid,
            title="Ms",
            date_of_birth=date(1985, 12, 10),
            mobile="0412 345 678",
            email="ada@example.org",
            address="12 Harbour Street\nUnit 4",
            city="Sydney",
            region="NSW",
            postcode="2000",
            country="AU",
        )
        clinic.add_membership(
            pid,
            bupa,
            member_number="88123456",
            valid_from=date(2026, 1, 1),
            default_for_invoices=True,
        )
        clinic.add_membership(
            pid,
            workcover,
            member_number="WC-2026-0412",
            valid_from=date(2026, 9, 3),
            valid_to=date(2027, 3, 2),
        )
        for day, amount in ((date(2026, 11, 3), "95.00"), (date(2026, 11, 17), "120.00")):
            clinic.create_invoice(
                pid,
                [("Standard consultation", amount, 1)],
                issue_date=day,
                bill_to=bupa,
                claim_reference=f"CLM-{day:%m%d}",
            )
        claim = clinic.create_invoice(
            pid,
            [("Initial consultation", "150.00", 1)],
            issue_date=date(2026, 11, 5),
            bill_to=workcover,
            claim_reference="WC-2026-0412",
        )
        clinic.record_payer_payment(
            clinic.preview_payer_payment(
                workcover,
                sources={"Bank transfer": "190.00"},
                applied={claim: "150.00"},
                reference="REM-2026-11",
                payment_date=date(2026, 11, 19),
            ),
            request_id="shot-remittance",
        )
        settings = SettingsDialog(clinic, page=PAGES.index("Payers"))
        settings.resize(1100, 620)
        page = settings.payers_page
        page.archived_check.setChecked(True)
        page.select_name("Bupa")
        grab(settings, "settings-payers-1366x768.png")
        settings.close()
        window = MainWindow(clinic)
        screen = app.primaryScreen()
        assert screen is not None
        window.setGeometry(screen.availableGeometry())
        window.select_patient(pid)
        window.show()
        dialog = PatientDialog(clinic, window, patient=clinic.patient(pid))
        dialog.payers_box.select_payer("Bupa")
        grab(dialog, "patient-payers-1366x768.png")
        dialog.close()
        window.close()
        clinic.close()
    app.quit()


def render_email() -> None:
    """Settings > Email (the clinic's server, a test email sent), its templates and reminders
    tabs, the email window of an invoice, the receipt bar after a payment and the Messages tab
    of a patient with three emails, in this process's Qt."""
    import keyring
    from keyring.backend import KeyringBackend

    from desktop_app.ui.formatting import Formatter
    from desktop_app.ui.printing.pdf_bytes import document_pdf

    sys.path.insert(0, str(HERE.parents[1]))
    from tests.email.smtp_servers import SmtpServer

    class Keychain(KeyringBackend):
        """A keychain in memory (the screenshots never touch the computer's own)."""

        priority = 1  # type: ignore[assignment]

        def __init__(self) -> None:
            super().__init__()
            self.entries: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.entries.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.entries[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.entries.pop((service, username), None)

    keyring.set_keyring(Keychain())
    app = QApplication.instance() or QApplication([])
    screen = app.primaryScreen()
    assert screen is not None
    formatter = Formatter("AUD", "en_AU")
    with tempfile.TemporaryDirectory() as folder, SmtpServer() as server:
        clinic = Clinic.open(f"sqlite:///{Path(folder) / 'demo.db'}")
        populate(clinic, today=date(2026, 11, 20))
        clinic.update_settings(
            letterhead={"clinic_contact": "02 9000 1234 · desk@harbourphysio.example"}
        )
        clinic.set_email_settings(
            host="127.0.0.1",
            port=server.port,
            security="none",
            sender="Harbour Physiotherapy <desk@harbourphysio.example>",
            reply_to="accounts@harbourphysio.example",
        )
        pid, older, newer = seed_ada(clinic)
        clinic.update_patient(pid, email="ada@example.org")
        # Three emails: one sent, one the server refused, one waiting in the outbox.
        for invoice in (older, newer):
            draft = clinic.email_draft("invoice", invoice_id=invoice)
            clinic.queue_email(draft, document_pdf(clinic.invoice_document(invoice), formatter))
            if invoice == newer:
                server.refuse_rcpt = "550 5.1.1 Mailbox unavailable: ada@example.org"
            clinic.send_outbox()
        statement = clinic.statement(pid, None, date.today())
        clinic.queue_email(
            clinic.email_draft("statement", account_id=pid), document_pdf(statement, formatter)
        )

        # The clinic's own server, as the settings page shows it (the emails above went to
        # the loopback server).
        clinic.set_email_settings(
            host="smtp.harbourphysio.example",
            port=587,
            security="starttls",
            username="desk@harbourphysio.example",
            sender="Harbour Physiotherapy <desk@harbourphysio.example>",
            reply_to="accounts@harbourphysio.example",
            password="not a real one",
        )
        settings = SettingsDialog(clinic, page=PAGES.index("Email"))
        page = settings.email_page
        page.test_label.setText(
            "The test email was sent to desk@harbourphysio.example. Check that it arrived."
        )
        grab(settings, "settings-email-1366x768.png")
        page.tabs.setCurrentIndex(1)
        grab(settings, "settings-email-templates-1366x768.png")
        page.tabs.setCurrentIndex(2)
        grab(settings, "settings-email-reminders-1366x768.png")
        settings.close()

        window = MainWindow(clinic)
        window.formatter.locale = "en_AU"
        window.setGeometry(screen.availableGeometry())
        window.select_patient(pid)
        window.show()
        preview = window.printing.print_invoice(newer)
        assert preview is not None
        dialog = preview.email()
        assert dialog is not None
        grab(dialog, "email-dialog-1366x768.png")
        dialog.reject()
        preview.close()
        paid = clinic.record_payment(
            clinic.preview_payment(pid, sources={"Cash": "80.00"}), "shot-ada-pays-cash"
        )
        window.refresh_after_change()
        window.tabs.setCurrentWidget(window.payment_view)  # as after Enter payment…
        window.receipt_bar.offer(paid, "Ada Lovelace", pid)
        grab(window, "receipt-bar-1366x768.png")
        window.receipt_bar.dismiss()
        window.tabs.setCurrentWidget(window.messages_tab)
        window.messages_tab.view.selectRow(1)  # the message the server refused
        grab(window, "messages-tab-1366x768.png")
        window.close()
        clinic.close()
    app.quit()


def seed_payers(clinic: Clinic) -> dict[str, int]:
    """Two payers billed for four patients in October and November 2026 (one visit split with
    the patient), and the remittances that paid part of it; the payers' and patients' ids."""
    ids = {
        "bupa": clinic.add_payer(
            "Bupa",
            kind="health fund",
            email="provider.claims@bupa.example",
            address="GPO Box 9999\nSydney NSW 2001",
        ),
        "workcover": clinic.add_payer(
            "WorkCover NSW",
            kind="workers compensation",
            email="claims@workcover.example",
            address="Locked Bag 2906\nLisarow NSW 2252",
        ),
    }
    people = (
        ("ada", "Ada", "Lovelace", date(1985, 12, 10), "bupa", "48120917"),
        ("margaret", "Margaret", "Hamilton", date(1979, 8, 17), "bupa", "50311284"),
        ("katherine", "Katherine", "Johnson", None, "bupa", "50399012"),
        ("alan", "Alan", "Turing", date(1992, 6, 23), "workcover", "WC-2026-0412"),
    )
    for key, first, last, born, payer, number in people:
        ids[key] = clinic.add_patient(first, last, date_of_birth=born)
        clinic.add_membership(ids[key], ids[payer], member_number=number)
    for key, payer, item, price, day, claim in (
        ("ada", "bupa", "Initial consultation", "120.00", date(2026, 10, 6), "BUP-771204"),
        ("margaret", "bupa", "Standard consultation", "95.00", date(2026, 10, 14), "BUP-771950"),
        ("katherine", "bupa", "Standard consultation", "95.00", date(2026, 10, 28), "BUP-772633"),
        ("ada", "bupa", "Standard consultation", "95.00", date(2026, 11, 3), "BUP-773018"),
        ("alan", "workcover", "Initial consultation", "145.50", date(2026, 10, 20), "WC-88123"),
        ("alan", "workcover", "Standard consultation", "98.20", date(2026, 11, 10), "WC-88123"),
    ):
        clinic.create_invoice(
            ids[key],
            [(item, price, 1)],
            bill_to=ids[payer],
            claim_reference=claim,
            issue_date=day,
        )
    clinic.create_split_invoice(
        ids["margaret"],
        [("Long consultation", "140.00", 1)],
        payer=ids["bupa"],
        payer_share="75%",
        claim_reference="BUP-773402",
        issue_date=date(2026, 11, 12),
    )
    for payer, amount, reference, day in (
        ("bupa", "215.00", "REM-2026-10-31", date(2026, 10, 31)),
        ("bupa", "190.00", "REM-2026-11-14", date(2026, 11, 14)),
        ("workcover", "145.50", "WC-EFT-55018", date(2026, 11, 17)),
    ):
        clinic.record_payer_payment(
            clinic.preview_payer_payment(
                ids[payer],
                sources={"Bank transfer": amount},
                reference=reference,
                payment_date=day,
            ),
            request_id=f"shot-{reference}",
        )
    return ids


def render_payer_reports() -> None:
    """The Reports window filling a 1366x768 laptop screen with Show on one payer (its takings
    of October and November, each remittance listed), and that payer's statement in the print
    window (as it opens on that screen), in this process's Qt."""
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        clinic = Clinic.open(f"sqlite:///{Path(folder) / 'demo.db'}")
        populate(clinic, today=date(2026, 11, 20))
        clinic.update_settings(
            letterhead={
                "clinic_address": "Level 2, 88 Harbour Street\nSydney NSW 2000",
                "clinic_contact": "02 9000 1234 · frontdesk@harbourphysio.example",
                "clinic_tax_number": "ABN 12 345 678 901",
                "document_footer": "Remittance advice to accounts@harbourphysio.example. "
                "Pay by bank transfer: BSB 062-000, account 1234 5678.",
            }
        )
        ids = seed_payers(clinic)
        window = MainWindow(clinic)
        screen = app.primaryScreen()
        assert screen is not None
        reports = window.open_reports()
        assert isinstance(reports, ReportsWindow)
        reports.setGeometry(screen.availableGeometry())
        reports.set_period(date(2026, 10, 1), date(2026, 11, 20))
        reports.set_scope("payers", ids["bupa"])
        grab(reports, "reports-payers-1366x768.png")
        dialog = reports.open_payer_statement()
        assert dialog is not None
        dialog.whole_check.setChecked(True)
        grab(dialog, "payer-statement.png")
        dialog.close()
        reports.close()
        window.close()
        clinic.close()
    app.quit()


def render_statement_run() -> None:
    """Tools > Statement run… for November on the demo clinic (three patients without an email
    address, so their statements are posted): the list with its totals, then the run done,
    its emails taken by an SMTP server on loopback (``statement-run-1366x768.png``,
    ``statement-run-done-1366x768.png``), in this process's Qt."""
    from aiosmtpd.controller import Controller  # a test dependency, as pypdfium2

    from desktop_app.ui.dialogs.statement_run_dialog import StatementRunDialog

    class Accept:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            return "250 OK"

    app = QApplication.instance() or QApplication([])
    controller = Controller(Accept(), hostname="127.0.0.1", port=8025)
    controller.start()
    with tempfile.TemporaryDirectory() as folder:
        clinic = Clinic.open(f"sqlite:///{Path(folder) / 'demo.db'}")
        populate(clinic, today=date(2026, 11, 20))
        clinic.set_email_settings(
            host="127.0.0.1",
            port=8025,
            security="none",
            sender="Harbour Physiotherapy <frontdesk@harbourphysio.example>",
        )
        for pid in clinic.patient_ids()[:3]:
            clinic.update_patient(pid, email=None)
        window = MainWindow(clinic)
        dialog = window.open_statement_run()
        assert isinstance(dialog, StatementRunDialog)
        dialog.resize(1000, 640)
        dialog.set_period(date(2026, 11, 1), date(2026, 11, 30))
        while dialog.busy:
            QApplication.processEvents()
        grab(dialog, "statement-run-1366x768.png")
        dialog.send()
        while dialog.busy:
            QApplication.processEvents()
        grab(dialog, "statement-run-done-1366x768.png")
        dialog.close()
        window.close()
        clinic.close()
    controller.stop()
    app.quit()


def make_variant(kind: str) -> None:
    """Render one extra set in a fresh Qt (its scale is fixed when Qt starts) on a 1366x768
    screen (2732x1536 pixels at 200%)."""
    scale = 2 if kind == "200" else 1
    screen = {"name": "laptop", "x": 0, "y": 0, "width": 1366 * scale, "height": 768 * scale}
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "screen.json"
        config.write_text(json.dumps({"screens": [{**screen, "logicalDpi": 96, "dpr": 1}]}))
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
            "QT_SCALE_FACTOR": str(scale),
        }
        subprocess.run([sys.executable, __file__, "--render", kind], env=env, check=True)


def main() -> None:
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        first_run_clinic(Path(folder))
        addressed_invoice(Path(folder))
        items_invoice(Path(folder))
        clinic = Clinic.open(f"sqlite:///{Path(folder) / 'demo.db'}")
        populate(clinic, today=date(2026, 11, 20))
        pid, older, newer = seed_ada(clinic)
        window = MainWindow(clinic)
        window.resize(1180, 700)
        window.select_patient(pid)
        grab(window, "main-window.png")
        dialog = window.payment_dialog(newer)
        dialog.source_edits["Cash"].setText("40")
        dialog.source_edits["Cash"].textEdited.emit("40")
        grab(dialog, "payment-dialog-automatic.png")
        dialog.close()
        clinic.set_allocation_mode(AllocationMode.OFF)
        dialog = window.payment_dialog(newer)
        dialog.type_amount(newer, "50")
        grab(dialog, "payment-dialog-manual.png")
        dialog.close()
        clinic.set_allocation_mode(AllocationMode.OLDEST_FIRST)
        settings = SettingsDialog(clinic, window, page=1)
        grab(settings, "settings-finances-invoices.png")
        settings.close()
        # The audit log after $5 of credit is refunded and the rest pays the older invoice.
        clinic.refund_credit(
            pid, "5.00", method="Cash", request_id="shot-refund", reason="parking refund"
        )
        clinic.record_payment(
            clinic.preview_payment(pid, source_invoice=older, payment_date=date(2026, 11, 20)),
            "shot-from-credit",
        )
        log = window.open_audit_log()
        assert isinstance(log, AuditLogDialog)
        log.resize(1080, 680)
        shown = [log.model.entry(row) for row in range(3)]
        log.table.selectRow([e.action if e else "" for e in shown].index("record payment"))
        grab(log, "audit-log.png")
        log.close()
        # A credit note for $80 of a half-paid $100 invoice, then a refund of the credit it left.
        gid = clinic.add_patient("Grace", "Hopper")
        plan = clinic.create_invoice(
            gid, [("Treatment plan (4 sessions)", "100.00", 1)], issue_date=date(2026, 11, 12)
        )
        clinic.record_payment(
            clinic.preview_payment(
                gid,
                sources={"EFTPOS": "50.00"},
                source_invoice=plan,
                payment_date=date(2026, 11, 12),
            ),
            "shot-half-paid",
        )
        note = CreditNoteDialog(clinic, plan, window.formatter, window)
        note.part_radio.setChecked(True)
        note.amount_edit.setText("80")
        note.reason_edit.setText("Two sessions cancelled")
        note.date_edit.setDate(date(2026, 11, 13))
        grab(note, "credit-note-dialog.png")
        note.save_button.click()
        refund = RefundDialog(clinic, gid, window.formatter, window)
        refund.reason_edit.setText("Treatment finished early")
        grab(refund, "refund-dialog.png")
        refund.close()
        # Grace's account credit: its history, and where it came from (spent oldest first).
        clinic.record_payment(
            clinic.preview_payment(gid, sources={"Cash": "20.00"}, payment_date=date(2026, 11, 14)),
            "shot-grace-prepay",
        )
        follow_up = clinic.create_invoice(
            gid, [("Review consultation", "45.00", 1)], issue_date=date(2026, 11, 18)
        )
        clinic.record_payment(
            clinic.preview_payment(gid, source_invoice=follow_up, payment_date=date(2026, 11, 18)),
            "shot-grace-use",
        )
        window.select_patient(gid)
        window.tabs.setCurrentIndex(2)
        grab(window, "credit-tab.png")
        window.tabs.setCurrentIndex(3)
        grab(window, "credit-notes-and-transfers.png")
        # Reports: the month's takings by payment type, and what patients owe by age.
        reports = window.open_reports()
        assert isinstance(reports, ReportsWindow)
        reports.resize(960, 560)
        reports.set_period(date(2026, 11, 1), date(2026, 11, 20))
        grab(reports, "reports-takings.png")
        reports.tabs.setCurrentIndex(1)
        grab(reports, "reports-aged-receivables.png")
        reports.tabs.setCurrentIndex(2)
        grab(reports, "reports-credit-held.png")
        reports.close()
        # Printed documents: the letterhead settings, the print window, and sample PDFs.
        clinic.update_settings(
            letterhead={
                "clinic_address": "Level 2, 88 Harbour Street\nSydney NSW 2000",
                "clinic_contact": "02 9000 1234 · frontdesk@harbourphysio.example",
                "clinic_tax_number": "ABN 12 345 678 901",
                "document_footer": "Thank you. Questions about your account? Call the front "
                "desk on 02 9000 1234.\nPay by bank transfer: BSB 062-000, account 1234 5678.",
            },
            logo=(
                HERE.parents[1] / "desktop_app/resources/icons/clinic-ledger-256.png"
            ).read_bytes(),
        )
        settings = SettingsDialog(clinic, page=3)
        grab(settings, "settings-printed-documents.png")
        paid = clinic.record_payment(
            clinic.preview_payment(pid, sources={"Cash": "50.00"}, source_invoice=newer),
            "shot-ada-pays",
        )
        window.select_patient(pid)
        SAMPLES.mkdir(exist_ok=True)
        for name, dialog in (
            ("invoice", window.printing.print_invoice(newer)),
            ("receipt", window.printing.print_receipt(paid)),
            ("statement", window.printing.statement(date(2026, 11, 1))),
        ):
            assert dialog is not None
            dialog.save_pdf(SAMPLES / f"{name}.pdf")
            pdf_to_png(SAMPLES / f"{name}.pdf")
            if name == "receipt":
                dialog.resize(760, 860)
                grab(dialog, "print-receipt.png")
            dialog.close()
        accounting = window.open_accounting_export()
        accounting.resize(860, 640)
        while accounting.busy:  # the preview runs on a worker thread
            QApplication.processEvents()
        grab(accounting, "accounting-export.png")
        accounting.close()
        xero_sync_window(Path(folder))
        # Staff: the first run's administrator, signing in, and Settings > Staff.
        from desktop_app.core import Role
        from desktop_app.ui.dialogs.sign_in import FirstRunDialog, SignInDialog

        first = FirstRunDialog(clinic)
        first.full_name_edit.setText("Priya Shah")
        first.username_edit.setText("priya")
        grab(first, "first-run-administrator.png")
        clinic.add_staff("priya", "Priya Shah", Role.ADMINISTRATOR, "harbour-admin-1")
        admin = clinic.sign_in("priya", "harbour-admin-1")
        for name, full, role in (
            ("tom", "Tom Nguyen", Role.RECEPTIONIST),
            ("jess", "Jess Walker", Role.BOOKKEEPER),
            ("sam", "Dr Sam Patel", Role.PRACTITIONER),
        ):
            admin.add_staff(name, full, role, "harbour-staff-1")
        sign_in = SignInDialog(clinic, username="tom")
        sign_in.password_edit.setText("wrong password")
        sign_in.try_sign_in()
        grab(sign_in, "sign-in.png")
        staff_settings = SettingsDialog(admin, page=len(PAGES))  # Staff, after the others
        staff_settings.resize(760, 520)
        grab(staff_settings, "settings-staff.png")
        window.close()
        clinic.close()
    app.quit()
    for kind in VARIANTS:
        make_variant(kind)
    make_variant(PATIENTS)
    make_variant(CATALOGUE)
    make_variant(PAYERS)
    make_variant(EMAIL)
    make_variant(OUTBOX)
    make_variant(STATEMENT_RUN)


def fake_xero() -> Any:
    """The tests' fake Xero organisation (``tests/xero_fake.py``), started, with a clearing
    account for each of the demo clinic's payment types."""
    root = str(Path(__file__).resolve().parents[2])
    if root not in sys.path:
        sys.path.insert(0, root)
    from tests.xero_fake import FakeXero

    return FakeXero().start().with_clinic_clearing()


def credit_funded_invoice_in_xero(folder: Path) -> None:
    """One credit-funded invoice closing in Xero: a patient prepays $100 by EFTPOS, an $88
    invoice is paid from that credit, the sync runs; the picture is what the Xero API then
    answers for the invoice and the prepayment (read back from the fake organisation)."""
    from desktop_app.core.xero.client import XeroClient

    fake = fake_xero()
    clinic = Clinic.open(f"sqlite:///{folder / 'credit.db'}")
    ada = clinic.add_patient("Ada", "Lovelace")
    clinic.record_payment(clinic.preview_payment(ada, {"EFTPOS": "100.00"}), "prepay")
    clinic.create_invoice(ada, [("Initial consultation", "80.00", 1, "10")])
    clinic.apply_credit_to_open_invoices(ada, "apply")
    client = XeroClient(fake.token, fake.tenant, base_url=fake.url)
    report = clinic.sync_xero(client)
    assert report.tied_out
    invoice = next(i for i in client.get("/Invoices")["Invoices"] if i["InvoiceNumber"] == "INV-1")
    prepayment = next(
        p for p in client.get("/Prepayments")["Prepayments"] if p["Reference"] == "PAY-1"
    )
    rows = "".join(
        f"<tr><td>{a}</td><td>{b}</td><td align='right'>{c}</td></tr>"
        for a, b, c in (
            ("Prepayment PAY-1", "received into CLR-EFTPOS", f"{prepayment['Total']:.2f}"),
            ("", "allocated to INV-1", f"-{invoice['AmountCredited']:.2f}"),
            ("", "<b>remaining credit</b>", f"<b>{prepayment['RemainingCredit']:.2f}</b>"),
            ("Invoice INV-1", "total (incl. GST)", f"{invoice['Total']:.2f}"),
            ("", "credited from PAY-1", f"-{invoice['AmountCredited']:.2f}"),
            ("", "<b>amount due</b>", f"<b>{invoice['AmountDue']:.2f}</b>"),
            ("", "<b>status</b>", f"<b>{invoice['Status']}</b>"),
        )
    )
    here = clinic.credit(ada)
    label = QLabel(
        "<h3>Ada Lovelace in Xero after the sync</h3>"
        "<p>Paid here from account credit; as Xero's Accounting API answers after the sync "
        "(the tests' fake organisation, which keeps Xero's rules):</p>"
        f"<table cellspacing='0' cellpadding='6' border='1'>{rows}</table>"
        f"<p>Here: INV-1 paid, account credit {here:.2f}. In Xero: PAID, unallocated credit "
        f"{prepayment['RemainingCredit']:.2f}. Tied out.</p>"
    )
    label.setContentsMargins(16, 8, 16, 8)
    label.setAutoFillBackground(True)
    label.resize(label.sizeHint())
    grab(label, "xero-credit-funded-invoice.png")
    clinic.close()
    fake.stop()


def xero_sync_window(folder: Path) -> None:
    """Tools > Xero after a sync of the demo clinic to a fake Xero organisation (the tests' fake,
    which checks every request against Xero's OpenAPI description): the sync log says what was
    sent and that Xero ties out."""
    fake = fake_xero()
    os.environ.update(
        CLINIC_XERO_API_BASE=fake.url,
        CLINIC_XERO_ACCESS_TOKEN=fake.token,
        CLINIC_XERO_TENANT_ID=fake.tenant,
    )
    clinic = Clinic.open(f"sqlite:///{folder / 'xero.db'}")
    populate(clinic, today=date(2026, 11, 20))
    window = MainWindow(clinic)
    xero = window.open_xero()
    xero.sync_button.click()
    while xero.worker is not None:
        QApplication.processEvents()
    xero.resize(760, 520)
    grab(xero, "xero-window.png")
    mapping = xero.choose_mapping()
    assert mapping is not None
    mapping.resize(560, mapping.sizeHint().height())
    grab(mapping, "xero-accounts.png")
    mapping.reject()
    xero.reject()
    clinic.close()
    fake.stop()
    credit_funded_invoice_in_xero(folder)


if __name__ == "__main__":
    if sys.argv[1:] == ["xero"]:
        app = QApplication([])
        with tempfile.TemporaryDirectory() as scratch:
            xero_sync_window(Path(scratch))
    elif sys.argv[1:2] == ["--render"]:
        if sys.argv[2] == PATIENTS:
            render_patients()
        elif sys.argv[2] == CATALOGUE:
            render_catalogue()
        elif sys.argv[2] == STATEMENT_RUN:
            render_statement_run()
        elif sys.argv[2] == EMAIL:
            render_email()
        elif sys.argv[2] == PAYERS:
            render_payers()
            from payer_billing import render  # this folder's module (run as a script)

            render(grab)
            render_payer_reports()
        elif sys.argv[2] == OUTBOX:
            from outbox import render as render_outbox  # this folder's module (run as a script)

            render_outbox(grab)
        else:
            render_variant(sys.argv[2])
    elif sys.argv[1:] == ["address"]:
        app = QApplication([])
        with tempfile.TemporaryDirectory() as scratch:
            addressed_invoice(Path(scratch))
    elif sys.argv[1:] == ["items"]:
        app = QApplication([])
        with tempfile.TemporaryDirectory() as scratch:
            items_invoice(Path(scratch))
    elif sys.argv[1:] and sys.argv[1] in (
        *VARIANTS,
        PATIENTS,
        CATALOGUE,
        PAYERS,
        EMAIL,
        OUTBOX,
        STATEMENT_RUN,
    ):
        make_variant(sys.argv[1])
    else:
        main()
