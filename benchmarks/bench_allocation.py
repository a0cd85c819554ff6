"""Allocation preview for a patient with 1,000 open invoices (target: well under one 16 ms frame).

Two figures, each next to a baseline measured in the same run:

* the pure engine (``allocate``) in each mode, against a bare Python loop over the same invoices
  that only adds up their balances;
* the whole ``Clinic.preview_payment`` on a SQLite file (read the patient, their open invoices,
  the settings, then allocate), against raw ``sqlite3`` fetching the same open invoices.

Run: ``.venv/bin/python benchmarks/bench_allocation.py [--invoices 1000] [--runs 300]``
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from desktop_app.core import AllocationMode, Clinic, OpenInvoice, allocate
from desktop_app.core.db.engine import SQLITE_CACHE_KIB
from desktop_app.core.db.models import Counter, Invoice, InvoiceLine, Patient
from desktop_app.core.ledger.audit import now


def measure(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median and 95th percentile in milliseconds over ``runs`` calls (after a warm-up)."""
    for _ in range(max(5, runs // 20)):
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def build_clinic(path: Path, count: int) -> tuple[Clinic, int]:
    """A clinic whose one patient has ``count`` open invoices and $500 of credit."""
    clinic = Clinic.open(f"sqlite:///{path}")
    pid = clinic.add_patient("Bench", "Patient")
    clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "500"}), "credit")
    start = date(2020, 1, 1)
    rows = [
        {
            "number": n + 1,
            "patient_id": pid,
            "issue_date": start + timedelta(days=n % 2000),
            "total_minor": 5000 + n,
            "paid_minor": 0,
            "status": "open",
            "created_at": now(),
        }
        for n in range(count)
    ]
    with clinic.engine.begin() as conn:
        conn.execute(insert(Invoice), rows)
        ids = conn.execute(select(Invoice.id, Invoice.total_minor)).all()
        conn.execute(
            insert(InvoiceLine),
            [
                {
                    "invoice_id": i,
                    "position": 0,
                    "description": "Treatment",
                    "unit_price_minor": t,
                    "quantity": 1,
                    "tax_rate_bp": 0,
                    "tax_minor": 0,
                    "amount_minor": t,
                }
                for i, t in ids
            ],
        )
        conn.execute(
            Patient.__table__.update().values(outstanding_minor=sum(r["total_minor"] for r in rows))
        )
        conn.execute(Counter.__table__.update().values(value=count))
    assert clinic.verify() == []
    return clinic, pid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    start = date(2020, 1, 1)
    invoices = [
        OpenInvoice(i + 1, i + 1, start + timedelta(days=i % 2000), 5000 + i)
        for i in range(args.invoices)
    ]

    def bare_loop() -> int:
        total = 0
        for inv in invoices:
            total += inv.balance
        return total

    print(
        f"# {args.invoices} open invoices, {args.runs} runs, Python {platform.python_version()},"
        f" {platform.machine()}, {platform.system()}"
    )
    print(f"{'scenario':48} {'median ms':>10} {'p95 ms':>8} {'x baseline':>10}")
    base, base95 = measure(bare_loop, args.runs)
    print(f"{'baseline: bare loop over the invoices':48} {base:10.3f} {base95:8.3f} {1:10.1f}")
    typed = {invoices[10].id: 1000, invoices[500].id: 2500}
    for mode in AllocationMode:
        med, p95 = measure(
            lambda mode=mode: allocate(
                invoices,
                payment_total=120_000,
                credit_available=50_000,
                mode=mode,
                typed=typed,
                source_invoice=invoices[-1].id,
            ),
            args.runs,
        )
        print(f"{'engine: allocate, ' + mode.value:48} {med:10.3f} {p95:8.3f} {med / base:10.1f}")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        clinic, pid = build_clinic(path, args.invoices)
        raw = sqlite3.connect(path)
        raw.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")  # the app's page cache
        query = (
            "SELECT id, number, issue_date, total_minor - paid_minor FROM invoices "
            "WHERE patient_id = ? AND status = 'open' ORDER BY issue_date, number"
        )
        raw_med, raw95 = measure(lambda: raw.execute(query, (pid,)).fetchall(), args.runs)
        print(
            f"{'baseline: raw sqlite3, the open invoices':48} {raw_med:10.3f} {raw95:8.3f} "
            f"{1:10.1f}"
        )
        source = invoices[-1].id
        med, p95 = measure(
            lambda: clinic.preview_payment(
                pid, sources={"Cash": "1200"}, applied={source: "10"}, source_invoice=source
            ),
            args.runs,
        )
        print(
            f"{'Clinic.preview_payment (SQLite, all of it)':48} {med:10.3f} {p95:8.3f} "
            f"{med / raw_med:10.1f}"
        )
        raw.close()
        clinic.close()


if __name__ == "__main__":
    main()
