"""P7 (first half): one keystroke in the invoice window's item picker over a 2,000-item catalogue.

The invoice window offers the whole catalogue in "Add item" (a completer matching anywhere in
"code  name", ignoring case). A keystroke is timed from the picker's text changing (the
completer filters its 2,000 entries, the events it posts are handled) to its list of matches
painted (``grab()`` of the list, which paints it whole). The baseline, in the same run and
window, paints the same list again without any new filtering. Offscreen Qt, so the repaint
is Qt's own painting without a compositor. Target: under 16 ms at the p95.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_item_picker.py --items 2000
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from desktop_app.core import Clinic
from desktop_app.ui.dialogs.invoice_dialog import InvoiceDialog
from desktop_app.ui.formatting import Formatter

WORDS = ("consult", "massage", "review", "tape", "report", "dry needling", "hydro", "class")
#: What a receptionist types, one keystroke at a time (a code, then part of a name).
TYPED = ("M", "MS", "MS1", "MS12", "", "m", "ma", "mas", "mass", "massa", "", "re", "rev")


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def main() -> None:
    """Print the median and p95 of a keystroke and of the bare repaint, and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000, help="billable items")
    parser.add_argument("--rounds", type=int, default=30, help="times the typing is replayed")
    args = parser.parse_args()
    app = QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        clinic = Clinic.open(f"sqlite:///{Path(folder) / 'clinic.db'}")
        for n in range(args.items):
            word = WORDS[n % len(WORDS)]
            code = ("MS" if word == "massage" else word[:2].upper()) + str(n)
            clinic.add_billable_item(code, f"{word.capitalize()} {n}", f"{50 + n % 90}.00")
        pid = clinic.add_patient("Ada", "Lovelace")
        dialog = InvoiceDialog(clinic, Formatter("AUD", "en_AU"), pid, "Ada Lovelace")
        dialog.resize(900, 520)
        dialog.show()
        app.processEvents()
        popup = dialog.completer.popup()
        dialog.activateWindow()
        dialog.picker.setFocus()
        keys, repaints = [], []
        shown = 0
        for _ in range(args.rounds):
            for text in TYPED:
                start = time.perf_counter()
                dialog.picker.setText(text)
                dialog.completer.setCompletionPrefix(text)
                dialog.completer.complete()
                count = dialog.completer.completionCount()
                app.processEvents()
                popup.viewport().grab()
                middle = time.perf_counter()
                shown += popup.isVisible() and count
                popup.viewport().grab()
                end = time.perf_counter()
                keys.append(middle - start)
                repaints.append(end - middle)
        dialog.close()
        clinic.close()
    base, key = statistics.median(repaints) * 1000, statistics.median(keys) * 1000
    print(f"items: {args.items}, keystrokes: {len(keys)}, matches shown in all: {shown:,}")
    print(f"baseline repaint: median {base:.2f} ms, p95 {_p95(repaints) * 1000:.2f} ms")
    print(
        f"keystroke:        median {key:.2f} ms, p95 {_p95(keys) * 1000:.2f} ms "
        f"({key / base:.2f}x; target under 16 ms at the p95)"
    )
    del app


if __name__ == "__main__":
    main()
