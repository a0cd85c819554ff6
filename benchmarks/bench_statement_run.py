"""P10: a statement run of N patients, rendered and handed to a local SMTP server, memory flat.

Each size runs in a fresh process (its peak resident set its own): a new SQLite clinic of N
patients, each owing one invoice of last month and with an email address, and one in fifty
more without an address (their statements go into the PDF to post). Then, timed, the whole run
as ``clinic-ledger statements send`` does it: the run started (the list as of last month's
end), every statement built, rendered to PDF by Qt offscreen and its email queued (steps of
25), the run's emails sent over one connection to an aiosmtpd server on loopback (in the parent
process, counting what it receives), and the statements to post printed into one PDF.

Figures: total seconds, statements per second, each phase's seconds, and the peak resident set
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) before and after the run. Targets: 2,000
patients in under 120 s; peak RSS within 1.5x of the 100-patient run's (the baseline).

Run: ``.venv/bin/python benchmarks/bench_statement_run.py [--sizes 100,2000] [--runs 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TARGET_SECONDS = 120.0
TARGET_RSS_RATIO = 1.5
#: One patient in this many more has no email address (posted).
POSTED_EVERY = 50


class _Counter:
    """aiosmtpd's handler: counts the messages and their bytes, keeps nothing."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.messages += 1
            self.bytes += len(envelope.content)
        return "250 OK"


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _build(clinic: Any, patients: int) -> tuple[date, date]:
    """N patients owing last month, with an address; one in POSTED_EVERY more without."""
    end = date.today().replace(day=1) - timedelta(days=1)
    start = end.replace(day=1)
    clinic.set_clinic_name("Harbour Physiotherapy")
    posted = max(patients // POSTED_EVERY, 1)
    for n in range(patients + posted):
        email = f"patient{n}@example.org" if n < patients else None
        pid = clinic.add_patient(f"Pat{n:05}", "Owing", email=email, address="1 Harbour St")
        clinic.create_invoice(
            pid,
            [("Consultation", "85", 1), ("Exercise program", "25", 1)],
            issue_date=end - timedelta(days=n % 28),
        )
    return start, end


def one(patients: int, port: int) -> dict[str, Any]:
    """The run at one size, in this (fresh) process: its figures."""
    from desktop_app.core import Clinic
    from desktop_app.ui.formatting import Formatter
    from desktop_app.ui.printing.pdf_bytes import (
        PostingPdf,
        document_html,
        document_pdf,
        ensure_document_app,
    )

    folder = Path(tempfile.mkdtemp(prefix="bench-statements-"))
    clinic = Clinic.open(f"sqlite:///{folder / 'clinic.db'}")
    built = time.perf_counter()
    start, end = _build(clinic, patients)
    clinic.set_email_settings(
        host="127.0.0.1", port=port, security="none", sender="Clinic <desk@clinic.example>"
    )
    figures: dict[str, Any] = {"build s": time.perf_counter() - built, "rss before MiB": _rss_mib()}
    formatter = Formatter(clinic.currency, "en_AU")
    t0 = time.perf_counter()
    ensure_document_app()
    run = clinic.start_statement_run(start, end)
    t1 = time.perf_counter()
    progress = clinic.statement_run_step(run, lambda d: document_pdf(d, formatter))
    while not progress.finished:
        progress = clinic.statement_run_step(run, lambda d: document_pdf(d, formatter))
    t2 = time.perf_counter()
    rss_rendered = _rss_mib()
    summary = clinic.send_outbox()
    t3 = time.perf_counter()
    rss_sent = _rss_mib()
    path = folder / "post.pdf"
    with PostingPdf(path, clinic.letterhead().paper) as pdf:
        for account in clinic.posted_statements(run):
            document = clinic.statement_run_document(run, account)
            pdf.add(document_html(document, formatter), document.letterhead)
    t4 = time.perf_counter()
    record = clinic.statement_run(run)
    figures.update(
        {
            "patients": patients,
            "statements": record.total,
            "emailed": record.emailed,
            "sent": summary.sent,
            "posted": record.posted,
            "start s": t1 - t0,
            "render and queue s": t2 - t1,
            "send s": t3 - t2,
            "posting pdf s": t4 - t3,
            "total s": t4 - t0,
            "statements per s": record.total / (t4 - t0),
            "rss rendered MiB": rss_rendered,
            "rss sent MiB": rss_sent,
            "peak rss MiB": _rss_mib(),
        }
    )
    clinic.close()
    return figures


def _child(patients: int, port: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--one", str(patients), "--port", str(port)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="100,2000", help="patients per run (the first: baseline)"
    )
    parser.add_argument("--runs", type=int, default=1, help="runs of every size")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one, args.port)))
        return
    from aiosmtpd.controller import Controller

    counter = _Counter()
    with socket.socket() as probe:  # a free loopback port for the server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(counter, hostname="127.0.0.1", port=port, data_size_limit=2**25)
    controller.start()
    sizes = [int(size) for size in args.sizes.split(",")]
    results: dict[int, list[dict[str, Any]]] = {size: [] for size in sizes}
    try:
        for run in range(1, args.runs + 1):
            for size in sizes:
                before = counter.messages
                figures = _child(size, port)
                figures["received"] = counter.messages - before
                results[size].append(figures)
                print(
                    f"run {run}, {size:,} patients: {figures['total s']:.1f} s "
                    f"({figures['statements per s']:.1f}/s; render and queue "
                    f"{figures['render and queue s']:.1f} s, send {figures['send s']:.1f} s, "
                    f"posting {figures['posting pdf s']:.1f} s), peak RSS "
                    f"{figures['peak rss MiB']:.0f} MiB (before the run "
                    f"{figures['rss before MiB']:.0f}, rendered {figures['rss rendered MiB']:.0f}, "
                    f"sent {figures['rss sent MiB']:.0f}), received {figures['received']:,}",
                    flush=True,
                )
    finally:
        controller.stop()
        asyncio.set_event_loop(None)
    report(sizes, results)


def report(sizes: list[int], results: dict[int, list[dict[str, Any]]]) -> None:
    """Medians per size, the RSS ratio to the baseline size, and the verdicts."""
    import sqlite3

    print(
        f"# P10 statement run; Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}, {platform.machine()}, {platform.system()}, "
        f"{os.cpu_count()} cores"
    )
    base_rss = statistics.median(r["peak rss MiB"] for r in results[sizes[0]])
    keys = ("total s", "statements per s", "render and queue s", "send s", "posting pdf s")
    print(f"{'patients':>9} " + " ".join(f"{k:>19}" for k in keys) + f" {'peak RSS MiB':>13} ratio")
    for size in sizes:
        rows = results[size]
        medians = [statistics.median(r[k] for r in rows) for k in keys]
        rss = statistics.median(r["peak rss MiB"] for r in rows)
        print(
            f"{size:>9,} "
            + " ".join(f"{m:>19.2f}" for m in medians)
            + f" {rss:>13.0f} {rss / base_rss:5.2f}"
        )
    top = sizes[-1]
    total = statistics.median(r["total s"] for r in results[top])
    ratio = statistics.median(r["peak rss MiB"] for r in results[top]) / base_rss
    print(
        f"{top:,} patients in {total:.1f} s: "
        f"{'met' if total < TARGET_SECONDS else 'NOT MET'} (under {TARGET_SECONDS:.0f} s); "
        f"peak RSS {ratio:.2f}x the {sizes[0]:,}-patient run: "
        f"{'met' if ratio <= TARGET_RSS_RATIO else 'NOT MET'} (within {TARGET_RSS_RATIO}x)"
    )


if __name__ == "__main__":
    main()
