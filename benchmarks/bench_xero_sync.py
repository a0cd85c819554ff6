"""P9: the Xero sync's calls per record and its time, against the tests' fake Xero.

On the benchmark clinic of ``--size`` invoices (``generate.py``; a fresh copy each run):

* the first sync of everything: API calls per invoice and per payment (target: at most 0.1),
  the sync's own time (wall time less the time the fake spent answering), and the time it would
  take under Xero's real limits (60 calls a minute: the call limiter's waits counted on a
  simulated clock, added to the wall time);
* a day's work after it: ``--day`` new invoices, each paid at the desk, synced (target: a day of
  300 invoices and their payments in under 30 calls);
* a second sync with nothing new (no write calls).

The baseline, measured in the same run: the time to read the same ledger rows the sync reads
(``read_desired``), so the sync's own work is shown as a ratio to reading the ledger.

The fake answers without checking requests against Xero's OpenAPI description here (the tests
check every request the sync makes); it keeps Xero's rules on amounts and credit as in the tests.

Run: ``.venv/bin/python benchmarks/bench_xero_sync.py --size 10000 --day 300``
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import generate

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from desktop_app.core import Clinic  # noqa: E402
from desktop_app.core.ledger import settings as stored  # noqa: E402
from desktop_app.core.xero.client import CallLimiter, XeroClient  # noqa: E402
from desktop_app.core.xero.desired import read_desired  # noqa: E402
from tests.xero_fake import FakeXero  # noqa: E402


class SimulatedClock:
    """Xero's per-minute limit on a clock that sleeps by moving forward (no real waiting)."""

    def __init__(self) -> None:
        self.waited = 0.0
        self._start = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._start + self.waited

    def sleep(self, seconds: float) -> None:
        self.waited += max(seconds, 0.0)


def run(size: int, day: int) -> dict[str, float]:
    source = generate.cached(size, quiet=True)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clinic.db"
        shutil.copy(source, path)
        clinic = Clinic.open(f"sqlite:///{path}")
        fake = FakeXero(check=False).start()
        for name in stored_types(clinic):
            code = clinic.accounting_mapping().clearing_account(name)
            if code not in fake.accounts:
                fake.add_account(code, f"{name} clearing", "BANK", True)
        started = time.perf_counter()
        currency = clinic.store.fetch(stored.currency)
        clinic.store.fetch(lambda session: read_desired(session, currency))
        baseline = time.perf_counter() - started

        clock = SimulatedClock()
        client = XeroClient(
            fake.token,
            fake.tenant,
            base_url=fake.url,
            limiter=CallLimiter(clock=clock.now, sleep=clock.sleep),
            sleep=clock.sleep,
        )
        started = time.perf_counter()
        report = clinic.sync_xero(client)
        wall = time.perf_counter() - started
        assert report.tied_out, (report.refused[:3], report.waiting[:3], report.differences[:3])
        invoices, payments = report.steps["invoices"], report.steps["payments"]
        first = {
            "first sync: calls": client.calls,
            "first sync: invoices sent": invoices,
            "first sync: payments on invoices sent": payments,
            "first sync: documents sent": report.sent,
            "first sync: calls per invoice": client.calls / max(invoices, 1),
            "first sync: calls per invoice and payment": client.calls / max(invoices + payments, 1),
            "first sync: own time (s)": wall - fake.busy,
            "first sync: fake's answering time (s)": fake.busy,
            "first sync: time under Xero's limits (s)": wall + clock.waited,
            "baseline: reading the ledger's documents (s)": baseline,
        }
        pid = clinic.add_patient("Day", "Patient")
        for n in range(day):
            iid = clinic.create_invoice(pid, [(f"Visit {n}", "85.00", 1, "10")])
            clinic.record_payment(
                clinic.preview_payment(pid, {"EFTPOS": "93.50"}, source_invoice=iid), f"day-{n}"
            )
        before = client.calls
        daily = clinic.sync_xero(client)
        assert daily.tied_out
        first["a day's sync: calls"] = client.calls - before
        first["a day's sync: invoices and payments sent"] = (
            daily.steps["invoices"] + daily.steps["payments"]
        )
        before_writes = client.writes
        again = clinic.sync_xero(client)
        first["nothing new: write calls"] = client.writes - before_writes
        assert again.sent == 0
        fake.stop()
        clinic.close()
        return first


def stored_types(clinic: Clinic) -> list[str]:
    return clinic.store.fetch(stored.payment_type_names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--day", type=int, default=300)
    args = parser.parse_args()
    print(f"P9, {args.size:,} invoices, a day of {args.day}, {date.today()}")
    for name, value in run(args.size, args.day).items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"  {name}: {shown}")


if __name__ == "__main__":
    main()
