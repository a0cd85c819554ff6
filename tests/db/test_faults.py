"""Faults: a saving process killed at random moments, and a full disk.

After every kill the database is reopened: each payment must be wholly there or wholly absent
(verify checks every payment's sources add up to its total, that it records money or pays
something, how it split money and credit, and every cached figure), and the ledger must verify.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import event, text

from desktop_app.core import BillingError, Clinic
from tests.helpers import snapshot

ROOT = Path(__file__).resolve().parents[2]
KILLS = 100


def _request_ids(clinic: Clinic) -> set[str]:
    with clinic.engine.connect() as conn:
        return set(conn.execute(text("SELECT request_id FROM payments")).scalars())


@pytest.mark.slow  # 100 child processes killed: ~50 s
def test_sigkill_at_random_moments_never_leaves_half_a_payment(new_sqlite_url):
    url = new_sqlite_url()
    rng = random.Random(20261125)  # the kill moments are the same on every run
    acknowledged: set[str] = set()
    before: set[str] = set()
    for attempt in range(KILLS):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.db.crash_writer", url, str(attempt)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert child.stdout is not None and child.stdout.readline().startswith("ready")
        # Kill only once the writer is in its stride (a few saves committed, whatever the speed
        # of the machine), then at a random moment within the next save or two.
        for _ in range(rng.randint(1, 6)):
            line = child.stdout.readline()
            assert line.startswith("saved "), line
            acknowledged.add(line.split()[1])
        time.sleep(rng.uniform(0.0, 0.03))  # a deliberately random moment, not a wait for one
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
        assert child.returncode == -signal.SIGKILL  # killed, not finished or failed
        with Clinic.open(url) as clinic:
            assert clinic.verify() == [], f"after kill {attempt}"
            now = _request_ids(clinic)
        assert acknowledged <= now, f"a committed save was lost at kill {attempt}"
        assert before <= now  # nothing recorded earlier was lost
        before = now
    assert len(acknowledged) >= KILLS  # every kill came after saves had committed


@pytest.mark.slow  # fills a disk hundreds of saves deep: seconds
def test_a_full_disk_rolls_back_cleanly_with_a_clear_error(new_sqlite_url):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        pid = clinic.add_patient("Ada", "Lovelace")
        clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "500"}), "prepay")
        with clinic.engine.connect() as conn:
            pages = int(conn.execute(text("PRAGMA page_count")).scalar_one())

        @event.listens_for(clinic.engine, "connect")
        def _small_disk(dbapi_connection, _record):  # a disk with a few pages left
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 8}")

        clinic.engine.dispose()
        saves = [
            lambda n: clinic.create_invoice(pid, [(f"Treatment {n} " + "x" * 400, "10", 1)] * 10),
            lambda n: clinic.record_payment(
                clinic.preview_payment(pid, sources={"Cash": "1"}), f"p{n}"
            ),
        ]
        refused = 0
        for n in range(400):
            for save in saves:
                before = snapshot(clinic)
                try:
                    save(n)
                except BillingError as exc:
                    assert "database is full" in str(exc) and "Nothing was saved" in str(exc)
                    assert snapshot(clinic) == before  # the refused save left nothing behind
                    refused += 1
        assert refused > 0, "the small disk never filled up"
        assert clinic.verify() == []
