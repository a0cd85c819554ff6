"""P7 (second half): correcting an invoice of a patient with 1,000 invoices, against making one.

The scenario is ``update_invoice`` of an unpaid invoice of a busy patient (1,000 invoices, half
of them paid): two catalogue lines replaced by two others, so the lines are rewritten, the total
and the patient's outstanding balance change and the edit is audited with the lines before and
after, in one transaction. The baseline, measured in the same run on the same database, is
``create_invoice`` of the same two lines for the same patient, saved as a draft and deleted
after each timing so every run sees the same patient. Target: the edit saves in under 50 ms.

    .venv/bin/python benchmarks/bench_invoice_edit.py --invoices 1000 --runs 200
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from desktop_app.core import Clinic


def _build(path: Path, invoices: int) -> tuple[Clinic, int, list[int]]:
    clinic = Clinic.open(f"sqlite:///{path}")
    pid = clinic.add_patient("Busy", "Patient")
    items = [
        clinic.add_billable_item(f"S{n}", f"Service {n}", f"{60 + n}.00", tax_rate="10")
        for n in range(4)
    ]
    first = date.today() - timedelta(days=invoices)
    for n in range(invoices):
        clinic.create_invoice(pid, [{"item": items[n % 4]}], issue_date=first + timedelta(n))
        if n % 2 == 0:
            clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "70.00"}), f"p{n}")
    return clinic, pid, items


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def main() -> None:
    """Print the median and p95 of creating and of correcting an invoice, and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1000, help="invoices of the patient")
    parser.add_argument("--runs", type=int, default=200, help="timed calls of each")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clinic, pid, items = _build(Path(folder) / "clinic.db", args.invoices)
        target = clinic.create_invoice(pid, [{"item": items[0]}, {"item": items[1]}])
        creates, edits = [], []
        for n in range(args.runs + 10):  # the first 10 warm up
            lines = [{"item": items[n % 4]}, {"item": items[(n + 1) % 4], "quantity": "0.5"}]
            start = time.perf_counter()
            made = clinic.create_invoice(pid, lines, draft=True)
            middle = time.perf_counter()
            clinic.update_invoice(target, lines=lines)
            end = time.perf_counter()
            clinic.delete_draft(made)
            if n >= 10:
                creates.append(middle - start)
                edits.append(end - middle)
        problems = clinic.verify()
        clinic.close()
    base, edit = statistics.median(creates) * 1000, statistics.median(edits) * 1000
    checked = problems or "clean"
    print(f"invoices of the patient: {args.invoices}, runs: {args.runs}, verify: {checked}")
    print(f"baseline create_invoice: median {base:.2f} ms, p95 {_p95(creates) * 1000:.2f} ms")
    print(
        f"update_invoice:          median {edit:.2f} ms, p95 {_p95(edits) * 1000:.2f} ms "
        f"({edit / base:.2f}x; target under 50 ms)"
    )


if __name__ == "__main__":
    main()
