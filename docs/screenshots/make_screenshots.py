"""Regenerate the screenshots in this folder from a fresh demo clinic.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/make_screenshots.py``
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication, QWidget

from desktop_app.core import AllocationMode, Clinic
from desktop_app.core.demo import populate
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.settings.settings_dialog import SettingsDialog

HERE = Path(__file__).resolve().parent


def grab(widget: QWidget, name: str) -> None:
    widget.show()
    QApplication.processEvents()
    widget.grab().save(str(HERE / name))
    print(HERE / name)


def main() -> None:
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        clinic = Clinic.open(f"sqlite:///{Path(folder) / 'demo.db'}")
        populate(clinic, today=date(2026, 11, 20))
        # The seed's situation: a patient with credit and two open invoices.
        pid = clinic.add_patient("Ada", "Lovelace")
        clinic.record_payment(
            clinic.preview_payment(
                pid, sources={"EFTPOS": "100.00"}, payment_date=date(2026, 11, 1)
            ),
            "shot-prepay",
        )
        clinic.create_invoice(
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
        window.close()
        clinic.close()
    app.quit()


if __name__ == "__main__":
    main()
