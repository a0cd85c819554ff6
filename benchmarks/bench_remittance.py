"""P8: a payer's remittance paying 500 claims of up to 300 patients, on a clinic of N invoices.

The clinic is ``generate.py``'s of ``--size`` invoices (a copy of the cached file each run): from
5,000 invoices up its health fund has 500 open claims (``RA-0001`` to ``RA-0500``) for up to 300
of its members, besides its other open invoices. The remittance advice pays every one of them
in full, by "Health fund". Three figures, each against a baseline measured in the same run:

* **the remittance window opens**: ``clinic.payer_open_invoices(fund)`` (the list the window
  shows) and ``clinic.payer_payment_draft(fund)`` (the draft it previews on), each and both
  together; target under 100 ms. Baseline: raw ``sqlite3`` running the list's query (the fund's
  open invoices with their patients' names, oldest first) on the same file.
* **a keystroke**: ``draft.preview(sources, applied)`` as the advice is keyed: the remittance's
  total first, then each claim's amount a key at a time (``4``, ``45``, ``45.5``, ``45.50``),
  claim after claim until all 500 are typed, then a few corrected; target: p95 under one 16 ms
  frame. Baseline: a bare Python loop adding up the draft's open invoices' balances (as
  bench_allocation.py's engine baseline). The same keystrokes are timed again after
  ``gc.freeze()`` (the objects alive then, the clinic's and the draft's, left out of the cyclic
  garbage collector's passes), to show how much of the tail is the collector's.
* **the save**: ``clinic.record_payer_payment`` of that remittance (500 applications written,
  the fund's account and the 500 invoices updated, audited); target under 1 s. Baseline:
  ``clinic.preview_payer_payment`` of the same remittance (the reads and the allocation the save
  repeats under the lock), as bench_save.py. Each save is reversed afterwards (not timed), so
  every run pays the same open claims.

Run: ``.venv/bin/python benchmarks/bench_remittance.py --size 1000000 [--saves 5]``
"""

from __future__ import annotations

import argparse
import gc
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import generate

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from desktop_app.core import Clinic  # noqa: E402
from desktop_app.core.db.engine import SQLITE_CACHE_KIB  # noqa: E402

FRAME_MS, OPEN_MS, SAVE_MS = 16.0, 100.0, 1000.0
#: The list's query as raw SQL: the fund's open invoices, their patients, oldest first.
OPEN_SQL = (
    "SELECT i.id, i.number, i.for_patient_id, p.first_name, p.last_name, i.claim_reference, "
    "i.issue_date, i.total_minor, i.owed_minor FROM invoices i "
    "JOIN patients p ON p.id = i.for_patient_id "
    "WHERE i.patient_id = ? AND i.status = 'open' ORDER BY i.issue_date, i.number"
)


def ms(seconds: float) -> float:
    return seconds * 1000.0


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.95 + 0.5) - 1)]


def timed(fn: Callable[[], object], runs: int, warm: int = 3) -> list[float]:
    """Milliseconds of ``runs`` calls of ``fn`` after ``warm`` untimed ones."""
    for _ in range(warm):
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(ms(time.perf_counter() - start))
    return samples


def keystrokes(claims: list[tuple[int, Decimal]]) -> list[tuple[dict[str, str], dict[int, str]]]:
    """What the window previews, a key at a time: with the remittance's total typed, each
    claim's amount typed ("4", "45", "45.5", "45.50": a number each time) claim after claim,
    then every 25th claim's amount typed again over the 500."""
    sources = {"Health fund": str(sum((amount for _, amount in claims), Decimal(0)))}
    typed: list[tuple[dict[str, str], dict[int, str]]] = []
    applied: dict[int, str] = {}

    def key_in(iid: int, amount: Decimal) -> None:
        text = str(amount)
        for end in range(1, len(text) + 1):
            if not text[:end].endswith("."):
                typed.append((sources, applied | {iid: text[:end]}))
        applied[iid] = text

    for iid, amount in claims:
        key_in(iid, amount)
    for iid, amount in claims[::25]:
        key_in(iid, amount)
    return typed


def run(size: int, saves: int) -> dict[str, Any]:
    source = generate.cached(size, quiet=True)
    meta = generate.read_meta(source)
    fund = meta.remit_payer
    if fund is None:
        raise SystemExit(f"P8 needs the remittance scenario: sizes from {generate.BUSY_FROM}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clinic.db"
        shutil.copy(source, path)
        raw = sqlite3.connect(path)
        raw.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")  # the app's page cache
        clinic = Clinic.open(f"sqlite:///{path}")
        try:
            return _measure(clinic, raw, fund, saves)
        finally:
            clinic.close()
            raw.close()


def _measure(clinic: Clinic, raw: sqlite3.Connection, fund: int, saves: int) -> dict[str, Any]:
    listed = clinic.payer_open_invoices(fund)
    advice = [i for i in listed if (i.claim_reference or "").startswith("RA-")]
    claims = [(i.id, i.balance) for i in advice]
    assert len(claims) == generate.REMIT_OPEN, len(claims)
    figures: dict[str, Any] = {
        "fund open invoices": len(listed),
        "claims paid": len(claims),
        "their patients": len({i.patient_id for i in advice}),
        "fund credit": str(clinic.payer(fund).credit),
    }
    # The window opens: its list, its draft, and both.
    calls = 30
    figures["baseline: raw list query"] = timed(
        lambda: raw.execute(OPEN_SQL, (fund,)).fetchall(), calls
    )
    figures["payer_open_invoices"] = timed(lambda: clinic.payer_open_invoices(fund), calls)
    figures["payer_payment_draft"] = timed(
        lambda: clinic.payer_payment_draft(fund, reference="RA-2026-09"), calls
    )
    figures["window reads (both)"] = timed(
        lambda: (
            clinic.payer_open_invoices(fund),
            clinic.payer_payment_draft(fund, reference="RA-2026-09"),
        ),
        calls,
    )
    # Keystrokes on the draft.
    draft = clinic.payer_payment_draft(fund, reference="RA-2026-09")
    sequence = keystrokes(claims)

    def bare_loop() -> int:
        total = 0
        for invoice in draft.open_invoices:
            total += invoice.balance
        return total

    figures["baseline: bare loop over the open invoices"] = timed(bare_loop, len(sequence))
    samples = []
    for sources, applied in sequence:
        start = time.perf_counter()
        draft.preview(sources, applied)
        samples.append(ms(time.perf_counter() - start))
    figures["keystroke: draft.preview"] = samples
    gc.collect()
    gc.freeze()
    try:
        frozen = []
        for sources, applied in sequence:
            start = time.perf_counter()
            draft.preview(sources, applied)
            frozen.append(ms(time.perf_counter() - start))
    finally:
        gc.unfreeze()
    figures["keystroke, after gc.freeze()"] = frozen
    whole = dict(sequence[-1][0]), dict(sequence[-1][1])
    preview = draft.preview(*whole)
    assert len(preview.applied) >= generate.REMIT_OPEN and not preview.is_empty
    # Saving it (reversed after each timing), against previewing it.
    previews, saved = [], []
    for n in range(saves + 1):  # the first warms up
        start = time.perf_counter()
        fresh = clinic.preview_payer_payment(
            fund, sources=whole[0], applied=whole[1], reference="RA-2026-09"
        )
        middle = time.perf_counter()
        pay_id = clinic.record_payer_payment(fresh, f"bench-remittance-{n}")
        end = time.perf_counter()
        clinic.reverse_payment(pay_id, "benchmark: taken back")
        if n:
            previews.append(ms(middle - start))
            saved.append(ms(end - middle))
    figures["baseline: preview_payer_payment"] = previews
    figures["record_payer_payment"] = saved
    assert clinic.payer(fund).outstanding == sum((i.balance for i in listed), Decimal(0))
    return figures


def report(size: int, figures: dict[str, Any]) -> None:
    print(
        f"# P8 remittance, {size:,} invoices; Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.machine()}, {platform.system()}"
    )
    for key in ("fund open invoices", "claims paid", "their patients", "fund credit"):
        print(f"{key}: {figures[key]}")
    print(f"{'figure':48} {'median ms':>10} {'p95 ms':>9} {'x baseline':>10}  target")
    rows = (
        ("baseline: raw list query", None, ""),
        ("payer_open_invoices", "baseline: raw list query", f"under {OPEN_MS:.0f} ms"),
        ("payer_payment_draft", "baseline: raw list query", f"under {OPEN_MS:.0f} ms"),
        ("window reads (both)", "baseline: raw list query", f"under {OPEN_MS:.0f} ms"),
        ("baseline: bare loop over the open invoices", None, ""),
        (
            "keystroke: draft.preview",
            "baseline: bare loop over the open invoices",
            f"p95 under {FRAME_MS:.0f} ms",
        ),
        (
            "keystroke, after gc.freeze()",
            "baseline: bare loop over the open invoices",
            f"p95 under {FRAME_MS:.0f} ms",
        ),
        ("baseline: preview_payer_payment", None, ""),
        ("record_payer_payment", "baseline: preview_payer_payment", f"under {SAVE_MS:.0f} ms"),
    )
    for key, base, target in rows:
        values = figures[key]
        median = statistics.median(values)
        ratio = median / statistics.median(figures[base]) if base else 1.0
        verdict = ""
        if target:
            worst = p95(values) if target.startswith("p95") else median
            limit = (
                FRAME_MS
                if target.startswith("p95")
                else (SAVE_MS if key == "record_payer_payment" else OPEN_MS)
            )
            verdict = "met" if worst < limit else "NOT MET"
        print(
            f"{key:48} {median:10.3f} {p95(values):9.3f} {ratio:10.1f}  {target} {verdict}".rstrip()
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="invoices in the clinic")
    parser.add_argument("--saves", type=int, default=5, help="timed saves")
    args = parser.parse_args()
    report(args.size, run(args.size, args.saves))


if __name__ == "__main__":
    main()
