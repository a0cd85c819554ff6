"""The screenshots of billing third-party payers, on a 1366x768 laptop screen.

``invoice-dialog-payer-1366x768.png``: a new invoice billed to the patient's health fund with a
claim number, split 80% with the fund (what each side pays shown before saving);
``remittance-dialog-1366x768.png``: a payment from the fund across its patients' invoices, one
short-paid by an amount typed, the others paid by automatic allocation, and what is left over
becoming the fund's credit. Run by ``make_screenshots.py payers`` (in a fresh Qt on a 1366x768
screen).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget

from desktop_app.core import Clinic
from desktop_app.core.demo import populate
from desktop_app.ui.main_window import MainWindow

#: The visits billed to the fund: (patient's first name, last name, service, fee, day).
VISITS = (
    ("Ada", "Lovelace", "Initial consultation", "120.00", 2),
    ("Ada", "Lovelace", "Standard consultation", "95.00", 9),
    ("Grace", "Hopper", "Standard consultation", "95.00", 3),
    ("Grace", "Hopper", "Hydrotherapy session", "80.00", 10),
    ("Alan", "Turing", "Long consultation", "140.00", 4),
    ("Alan", "Turing", "Standard consultation", "95.00", 11),
    ("Katherine", "Johnson", "Initial consultation", "120.00", 5),
    ("Katherine", "Johnson", "Dry needling", "65.00", 12),
    ("Edsger", "Dijkstra", "Standard consultation", "95.00", 6),
    ("Edsger", "Dijkstra", "Report to referrer", "60.00", 13),
)


def fund_clinic(clinic: Clinic) -> tuple[int, dict[str, int], list[int]]:
    """A demo clinic with a health fund paying for five patients: (the fund, the patients by
    first name, the fund's invoices)."""
    populate(clinic, today=date(2026, 11, 20))
    fund = clinic.add_payer("Bupa", kind="health fund", email="claims@example.org")
    clinic.add_payer("WorkCover NSW", kind="workers compensation")
    patients: dict[str, int] = {}
    invoices = []
    for n, (first, last, service, fee, day) in enumerate(VISITS):
        if first not in patients:
            patients[first] = clinic.add_patient(first, last)
            clinic.add_membership(
                patients[first], fund, member_number=f"7731{n:04d}", default_for_invoices=True
            )
        invoices.append(
            clinic.create_invoice(
                patients[first],
                [(service, fee, 1)],
                bill_to=fund,
                claim_reference=f"BUP-{48210 + n}",
                issue_date=date(2026, 11, day),
            )
        )
    return fund, patients, invoices


def render(grab: Callable[[QWidget, str], None]) -> None:
    """Render both screenshots with ``grab(widget, file name)``, in this process's Qt."""
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        clinic = Clinic.open(f"sqlite:///{Path(folder) / 'demo.db'}")
        fund, patients, invoices = fund_clinic(clinic)
        window = MainWindow(clinic)
        screen = app.primaryScreen()
        assert screen is not None
        window.setGeometry(screen.availableGeometry())
        window.select_patient(patients["Ada"])
        window.show()

        from desktop_app.ui.dialogs.invoice_dialog import InvoiceDialog

        dialog = InvoiceDialog(clinic, window.formatter, patients["Ada"], "Ada Lovelace", window)
        dialog.table.removeRow(0)  # the blank line a new invoice starts with
        dialog.add_line("Standard consultation", "1", "95.00")
        dialog.add_line("Exercise program", "1", "40.00")
        box = dialog.bill_to
        box.claim_edit.setText("BUP-48231")
        box.split_check.setChecked(True)
        box.share_edit.setText("80%")
        box.share_edit.textEdited.emit("80%")
        grab(dialog, "invoice-dialog-payer-1366x768.png")
        dialog.close()

        remittance = window.payer_actions.remittance_dialog(fund)
        remittance.reference_edit.setText("REM-2026-11-0042")
        remittance.reference_edit.textEdited.emit("REM-2026-11-0042")
        remittance.source_edits["Bank transfer"].setText("1000.00")
        remittance.source_edits["Bank transfer"].textEdited.emit("1000.00")
        remittance.type_amount(invoices[3], "75.00")  # the fund paid less on Grace's second visit
        remittance.select_invoice(invoices[3])
        grab(remittance, "remittance-dialog-1366x768.png")
        remittance.close()
        window.close()
        clinic.close()
    app.quit()
