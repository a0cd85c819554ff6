"""Reports at scale: each report against the same aggregate written as raw SQL, side by side.

    .venv/bin/python benchmarks/bench_reports.py [--size 1000000] [--runs 5]

On the benchmark clinic of ``--size`` invoices (``generate.py``; cached), each run times, in turn:

* ``Clinic.aged_receivables()`` and raw ``sqlite3`` running the same per-patient CASE aggregate;
* ``Clinic.takings(first day, last day)`` over every payment of the clinic, and the same
  statements as raw SQL (by payment type; the types' names; the payments' total and reversed
  count; their applications);
* ``Clinic.takings`` of the busiest month, and the same raw SQL for that month.

The target (issue 7): each report under 2 s at 1M invoices, and within 5x of its raw SQL.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import generate
from run_all import raw_sqlite

from desktop_app.core import Clinic

AGED_SQL = """
SELECT i.patient_id,
  SUM(CASE WHEN i.issue_date >= :d30 THEN i.owed_minor ELSE 0 END),
  SUM(CASE WHEN i.issue_date < :d30 AND i.issue_date >= :d60 THEN i.owed_minor ELSE 0 END),
  SUM(CASE WHEN i.issue_date < :d60 AND i.issue_date >= :d90 THEN i.owed_minor ELSE 0 END),
  SUM(CASE WHEN i.issue_date < :d90 THEN i.owed_minor ELSE 0 END),
  SUM(i.owed_minor), COUNT(*), MIN(i.issue_date), p.first_name, p.last_name
FROM invoices i JOIN patients p ON p.id = i.patient_id
WHERE i.status = 'open' AND i.owed_minor > 0
GROUP BY i.patient_id ORDER BY 6 DESC, p.last_name, p.first_name, p.id
"""
TAKINGS_SQL = (
    """
SELECT s.payment_type_id, SUM(CASE WHEN p.kind = 'payment' THEN s.amount_minor ELSE 0 END),
  SUM(CASE WHEN p.kind = 'refund' THEN -s.amount_minor ELSE 0 END), COUNT(DISTINCT p.id)
FROM payments p JOIN payment_sources s ON s.payment_id = p.id
WHERE p.payment_date >= :a AND p.payment_date <= :b AND p.reversed_at IS NULL
GROUP BY s.payment_type_id
""",
    "SELECT id, name, position FROM payment_types",
    """
SELECT COALESCE(SUM(CASE WHEN reversed_at IS NULL AND kind = 'payment' THEN total_minor
  ELSE 0 END), 0), COALESCE(SUM(CASE WHEN reversed_at IS NOT NULL THEN 1 ELSE 0 END), 0)
FROM payments WHERE payment_date >= :a AND payment_date <= :b
""",
    """
SELECT COALESCE(SUM(a.from_money_minor), 0), COALESCE(SUM(a.from_credit_minor), 0)
FROM applications a JOIN payments p ON p.id = a.payment_id
WHERE a.removed_at IS NULL AND p.kind = 'payment' AND p.reversed_at IS NULL
  AND p.payment_date >= :a AND p.payment_date <= :b
""",
)


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    path: Path = generate.cached(args.size)
    raw = raw_sqlite(path)
    first, last = (
        date.fromisoformat(v)
        for v in raw.execute("SELECT MIN(payment_date), MAX(payment_date) FROM payments").fetchone()
    )
    month = raw.execute(
        "SELECT substr(payment_date, 1, 7) AS m FROM payments GROUP BY m ORDER BY COUNT(*) DESC"
    ).fetchone()[0]
    m_start = date.fromisoformat(month + "-01")
    m_end = (m_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    today = date.today()
    bounds = {
        "d30": (today - timedelta(days=30)).isoformat(),
        "d60": (today - timedelta(days=60)).isoformat(),
        "d90": (today - timedelta(days=90)).isoformat(),
    }

    def raw_takings(a: date, b: date) -> None:
        for sql in TAKINGS_SQL:
            raw.execute(sql, {"a": a.isoformat(), "b": b.isoformat()}).fetchall()

    with Clinic.open(f"sqlite:///{path}") as clinic:
        scenarios = {
            "aged receivables": (
                lambda: clinic.aged_receivables(),
                lambda: raw.execute(AGED_SQL, bounds).fetchall(),
            ),
            f"takings, all ({first} to {last})": (
                lambda: clinic.takings(first, last),
                lambda: raw_takings(first, last),
            ),
            f"takings, busiest month ({month})": (
                lambda: clinic.takings(m_start, m_end),
                lambda: raw_takings(m_start, m_end),
            ),
        }
        for ours, base in scenarios.values():  # warm the caches
            ours()
            base()
        times: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in scenarios}
        for _ in range(args.runs):
            for name, (ours, base) in scenarios.items():
                times[name][0].append(timed(ours))
                times[name][1].append(timed(base))
        check = clinic.aged_receivables()
        assert len(check.rows) == len(raw.execute(AGED_SQL, bounds).fetchall())
    print(f"{args.size:,} invoices ({path.name}), {args.runs} runs, medians:")
    print("| report | ours | raw SQL | ratio | under 2 s | within 5x |")
    print("|---|---|---|---|---|---|")
    for name, (ours_t, base_t) in times.items():
        o, b = statistics.median(ours_t), statistics.median(base_t)
        print(
            f"| {name} | **{o * 1000:.0f} ms** | {b * 1000:.0f} ms | {o / b:.2f}x | "
            f"{'yes' if o < 2 else 'NO'} | {'yes' if o <= 5 * b else 'NO'} |"
        )
    raw.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
