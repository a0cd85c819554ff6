"""Saving a payment for a patient with many open invoices, against previewing it.

Since the save re-plans the preview's inputs under the patient's lock (it reads the patient's open
invoices again and runs the allocation engine, instead of trusting the preview's figures), a save
costs about what a preview costs plus the writes. This measures both in the same process on the
same database: the baseline is ``preview_payment`` (read the patient and their open invoices,
allocate); the scenario is ``record_payment`` of such a preview (the same reads and allocation
inside the write transaction, then the payment, its sources and one application written and
committed). Each save pays 1 cent onto the oldest invoice, so every run sees the same invoices.

    .venv/bin/python benchmarks/bench_save.py --open 1000 --runs 200
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from desktop_app.core import Clinic


def _build(path: Path, open_invoices: int) -> tuple[Clinic, int]:
    clinic = Clinic.open(f"sqlite:///{path}")
    pid = clinic.add_patient("Busy", "Patient")
    first = date.today() - timedelta(days=open_invoices)
    for n in range(open_invoices):
        clinic.create_invoice(pid, [("Treatment", "80.00", 1)], issue_date=first + timedelta(n))
    return clinic, pid


def main() -> None:
    """Print the medians of previewing and saving, and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=1000, help="open invoices of the patient")
    parser.add_argument("--runs", type=int, default=200, help="timed calls of each")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clinic, pid = _build(Path(folder) / "clinic.db", args.open)
        previews, saves = [], []
        for n in range(args.runs + 10):  # the first 10 warm up
            start = time.perf_counter()
            preview = clinic.preview_payment(pid, sources={"Cash": "0.01"})
            middle = time.perf_counter()
            clinic.record_payment(preview, f"bench-{n}")
            end = time.perf_counter()
            if n >= 10:
                previews.append(middle - start)
                saves.append(end - middle)
        clinic.close()
    preview_ms = statistics.median(previews) * 1000
    save_ms = statistics.median(saves) * 1000
    print(f"open invoices: {args.open}, runs: {args.runs}")
    print(f"baseline preview_payment: median {preview_ms:.2f} ms")
    print(f"record_payment:           median {save_ms:.2f} ms ({save_ms / preview_ms:.2f}x)")


if __name__ == "__main__":
    main()
