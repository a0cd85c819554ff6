"""Window speed: start-up to the first shown main window, and the payment dialog at 1,000 invoices.

* Start-up: a fresh process opens the clinic (10,000 patients), builds the main window, shows it
  and processes events until it is painted; the baseline is a fresh process showing an empty
  PySide6 window the same way. Both run alternately; medians of ``--runs`` each (target: the app
  within 2x of the baseline).
* Payment dialog: one patient with 1,000 open invoices and credit; time to build, show and paint
  the dialog (target: under 300 ms), and per keystroke in a payment source, the time to re-preview
  and repaint (target: within a 16 ms frame).

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_ui.py [--runs 7]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from sqlalchemy import insert

from desktop_app.core import Clinic
from desktop_app.core.db.models import Counter, Invoice, InvoiceLine, Patient
from desktop_app.core.ledger.audit import now

EMPTY_WINDOW = """
import sys
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv)
window = QMainWindow()
window.resize(1180, 720)
window.show()
app.processEvents()
window.grab()
print("shown", flush=True)
"""
APP_WINDOW = """
import sys
from desktop_app.app import start_window
app, window = start_window(sys.argv[1], demo=False)  # returns once the window is painted
window.grab()
print("shown", flush=True)
while not window.is_ready:
    app.processEvents()
window.grab()
print("ready", window.patient_model.rowCount(), flush=True)
window.clinic.close()
"""


def build_patients(path: Path, count: int) -> str:
    """A clinic file with ``count`` patients (cached figures consistent: no money yet)."""
    url = f"sqlite:///{path}"
    with Clinic.open(url) as clinic, clinic.engine.begin() as conn:
        stamp = now()
        conn.execute(
            insert(Patient),
            [
                {
                    "first_name": f"First{n:05d}",
                    "last_name": f"Last{n % 997:03d}",
                    "created_at": stamp,
                    "credit_minor": 0,
                    "outstanding_minor": 0,
                }
                for n in range(count)
            ],
        )
    return url


def build_open_invoices(path: Path, count: int) -> tuple[Clinic, int]:
    """One patient with ``count`` open invoices and $500 credit."""
    clinic = Clinic.open(f"sqlite:///{path}")
    pid = clinic.add_patient("Bench", "Patient")
    clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "500"}), "credit")
    start = date(2020, 1, 1)
    with clinic.engine.begin() as conn:
        conn.execute(
            insert(Invoice),
            [
                {
                    "number": n + 1,
                    "patient_id": pid,
                    "issue_date": start + timedelta(days=n % 2000),
                    "total_minor": 5000,
                    "paid_minor": 0,
                    "status": "open",
                    "created_at": now(),
                }
                for n in range(count)
            ],
        )
        conn.execute(
            insert(InvoiceLine),
            [
                {
                    "invoice_id": n + 1,
                    "position": 0,
                    "description": "Treatment",
                    "unit_price_minor": 5000,
                    "quantity": 1,
                    "tax_rate_bp": 0,
                    "tax_minor": 0,
                    "amount_minor": 5000,
                }
                for n in range(count)
            ],
        )
        conn.execute(Patient.__table__.update().values(outstanding_minor=5000 * count))
        conn.execute(Counter.__table__.update().values(value=count))
    assert clinic.verify() == []
    return clinic, pid


def time_process(code: str, *args: str) -> dict[str, float]:
    """Seconds from starting a fresh Python process until each line it prints."""
    start = time.perf_counter()
    marks: dict[str, float] = {}
    with subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            marks[line.split()[0]] = time.perf_counter() - start
            if line.startswith("ready"):
                assert line.split()[1] == "10000", line
    assert child.returncode == 0
    return marks


def startup(runs: int, folder: Path) -> None:
    url = build_patients(folder / "patients.db", 10_000)
    time_process(EMPTY_WINDOW)  # warm the file cache for both
    time_process(APP_WINDOW, url)
    empty, shown, ready = [], [], []
    for _ in range(runs):
        empty.append(time_process(EMPTY_WINDOW)["shown"])
        marks = time_process(APP_WINDOW, url)
        shown.append(marks["shown"])
        ready.append(marks["ready"])
    base = statistics.median(empty)
    for label, values in (
        ("empty PySide6 window (baseline)", empty),
        ("Clinic Ledger main window shown", shown),
        ("Clinic Ledger, 10,000 patients listed", ready),
    ):
        median = statistics.median(values)
        print(
            f"start-up, {label:38} median {median * 1000:6.0f} ms  ratio {median / base:4.2f}x"
            f"  runs {[round(x * 1000) for x in values]}"
        )


def payment_dialog(runs: int, folder: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from desktop_app.ui.dialogs.payment_dialog import PaymentDialog
    from desktop_app.ui.formatting import Formatter

    app = QApplication.instance() or QApplication([])
    clinic, pid = build_open_invoices(folder / "invoices.db", 1000)
    formatter = Formatter("AUD", "en_AU")
    opens, keys = [], []
    for _ in range(runs):
        start = time.perf_counter()
        dialog = PaymentDialog(clinic, formatter, pid, source_invoice=1000)
        dialog.show()
        app.processEvents()
        dialog.grab()
        opens.append(time.perf_counter() - start)
        edit = dialog.source_edits["Cash"]
        for key in "1234.5":
            start = time.perf_counter()
            QTest.keyClick(edit, key)
            app.processEvents()
            dialog.table.viewport().grab()
            keys.append(time.perf_counter() - start)
        QTest.keyClick(edit, Qt.Key.Key_Backspace)
        dialog.close()
        dialog.deleteLater()
        app.processEvents()
    keys.sort()
    print(
        f"payment dialog open, 1,000 open invoices    median {statistics.median(opens) * 1000:7.1f}"
        f" ms  max {max(opens) * 1000:.1f} ms  ({runs} opens)"
    )
    print(
        f"payment dialog keystroke (preview+repaint)  median {statistics.median(keys) * 1000:7.2f}"
        f" ms  p95 {keys[int(len(keys) * 0.95) - 1] * 1000:.2f} ms  ({len(keys)} keystrokes)"
    )
    clinic.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        startup(args.runs, Path(folder))
        payment_dialog(args.runs, Path(folder))


if __name__ == "__main__":
    main()
