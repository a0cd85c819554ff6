"""Reports at scale: each report against the same aggregate written as raw SQL, side by side.

    .venv/bin/python benchmarks/bench_reports.py [--size 1000000] [--runs 5]

On the benchmark clinic of ``--size`` invoices (``generate.py``; cached), each run times, in turn:

* ``Clinic.aged_receivables()`` and raw ``sqlite3`` running the same per-patient CASE aggregate;
* ``Clinic.takings(first day, last day)`` over every payment of the clinic, and the same
  statements as raw SQL (by payment type; the types' names; the payments' total and reversed
  count; their applications);
* ``Clinic.takings`` of the busiest month, and the same raw SQL for that month;
* ``Clinic.credit_liability`` (credit held on a day and at 12 month ends) and its raw SQL;
* ``Clinic.statement`` of the patient with the most invoices, over their whole history, and raw
  SQL reading the same records (invoices, payments, applications, credit notes, transfers).

With ``--export``, on a copy of the clinic, it also times the accounting export:

* the first export ever, of every record dated before the busiest month (written once, untimed
  against raw SQL: it is a one-off);
* then, each run, the preview of the next export, the busiest month (the monthly close), against
  raw SQL reading that month's rows.

The target (issue 7): each report under 2 s at 1M invoices, and within 5x of its raw SQL.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
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


LIABILITY_SQL = (  # the statements of Clinic.credit_liability, for month ends back to :since
    """
SELECT id, patient_id, kind, payment_date, total_minor FROM payments WHERE payment_date > :since
""",
    """
SELECT a.payment_id, p.patient_id, p.payment_date, a.from_money_minor, a.from_credit_minor
FROM applications a JOIN payments p ON p.id = a.payment_id WHERE p.payment_date > :since
""",
    """
SELECT p.patient_id, a.removed_at, a.removed_reason, a.from_money_minor, a.from_credit_minor
FROM applications a JOIN payments p ON p.id = a.payment_id
WHERE a.removed_at IS NOT NULL AND a.removed_at >= :since
""",
    """
SELECT id, patient_id, kind, total_minor, reversed_at FROM payments
WHERE reversed_at IS NOT NULL AND reversed_at >= :since
""",
    """
SELECT patient_id, note_date, to_credit_minor, reversed_at FROM credit_notes
WHERE to_credit_minor > 0 AND (note_date > :since OR reversed_at >= :since)
""",
    """
SELECT from_patient_id, to_patient_id, transfer_date, amount_minor, reversed_at
FROM credit_transfers WHERE transfer_date > :since OR reversed_at >= :since
""",
    "SELECT id, credit_minor FROM patients WHERE credit_minor != 0",
    """
SELECT patient_id, MAX(issue_date) FROM invoices
WHERE issue_date <= :day AND status != 'void' GROUP BY patient_id
""",
    """
SELECT patient_id, MAX(payment_date) FROM payments
WHERE payment_date <= :day GROUP BY patient_id
""",
    "SELECT id, first_name, last_name FROM patients",
)


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--export", action="store_true", help="also time a first accounting export's preview"
    )
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

    held_on = m_end if m_end < today else today
    since = _twelve_month_ends_back(held_on)

    def raw_liability() -> None:
        for sql in LIABILITY_SQL:
            raw.execute(sql, {"since": since.isoformat(), "day": held_on.isoformat()}).fetchall()

    def raw_takings(a: date, b: date) -> None:
        for sql in TAKINGS_SQL:
            raw.execute(sql, {"a": a.isoformat(), "b": b.isoformat()}).fetchall()

    busiest = raw.execute(
        "SELECT patient_id FROM invoices GROUP BY patient_id ORDER BY COUNT(*) DESC LIMIT 1"
    ).fetchone()[0]

    def raw_statement() -> None:
        for sql in STATEMENT_SQL:
            raw.execute(sql, {"p": busiest}).fetchall()

    def raw_export() -> None:
        for sql in EXPORT_SQL:
            raw.execute(sql, {"a": m_start.isoformat(), "b": m_end.isoformat()}).fetchall()

    work = Path(tempfile.mkdtemp(prefix="bench-export-"))
    export_clinic = None
    if args.export:  # a copy: exporting saves what it sent
        shutil.copy(path, work / "clinic.db")
        export_clinic = Clinic.open(f"sqlite:///{work / 'clinic.db'}")
        start = time.perf_counter()
        first_export = export_clinic.export_accounting(work, m_start - timedelta(days=1))
        took = time.perf_counter() - start
        print(
            f"first accounting export (every record dated before {m_start}): "
            f"{took:.1f} s, {sum(first_export.rows.values()):,} rows"
        )

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
            f"account credit held at the end of {held_on} (and 12 month ends)": (
                lambda: clinic.credit_liability(held_on),
                raw_liability,
            ),
            f"statement of the busiest patient ({busiest}), whole history": (
                lambda: clinic.statement(busiest),
                raw_statement,
            ),
        }
        if args.export:
            scenarios[f"accounting export preview, the busiest month ({month})"] = (
                lambda: export_clinic.preview_accounting_export(m_end),
                raw_export,
            )
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
    if export_clinic is not None:
        export_clinic.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


#: The records a statement reads for one patient (:p).
STATEMENT_SQL = (
    "SELECT id, number, issue_date, total_minor, created_at, voided_at FROM invoices "
    "WHERE patient_id = :p",
    "SELECT id, kind, payment_date, total_minor, created_at, reversed_at FROM payments "
    "WHERE patient_id = :p",
    "SELECT a.from_credit_minor, i.number, p.payment_date, p.created_at FROM applications a "
    "JOIN invoices i ON i.id = a.invoice_id JOIN payments p ON p.id = a.payment_id "
    "WHERE p.patient_id = :p AND a.removed_at IS NULL AND a.from_credit_minor > 0",
    "SELECT c.*, i.number FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id "
    "WHERE c.patient_id = :p",
    "SELECT * FROM credit_transfers WHERE from_patient_id = :p OR to_patient_id = :p",
    "SELECT status, owed_minor FROM invoices WHERE patient_id = :p AND status = 'open'",
)

#: The rows an accounting export of one month (:a to :b) reads.
EXPORT_SQL = (
    "SELECT * FROM invoices WHERE issue_date BETWEEN :a AND :b ORDER BY number",
    "SELECT l.* FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id "
    "WHERE i.issue_date BETWEEN :a AND :b AND i.status <> 'void' "
    "ORDER BY l.invoice_id, l.position",
    "SELECT * FROM payments WHERE payment_date BETWEEN :a AND :b AND total_minor <> 0 ORDER BY id",
    "SELECT s.payment_id, t.name, s.amount_minor FROM payment_sources s "
    "JOIN payment_types t ON t.id = s.payment_type_id JOIN payments p ON p.id = s.payment_id "
    "WHERE p.payment_date BETWEEN :a AND :b ORDER BY s.id",
    "SELECT a.*, i.number, p.patient_id, p.payment_date FROM applications a "
    "JOIN invoices i ON i.id = a.invoice_id JOIN payments p ON p.id = a.payment_id "
    "WHERE p.payment_date BETWEEN :a AND :b ORDER BY a.id",
    "SELECT id, first_name, last_name FROM patients",
)


def _twelve_month_ends_back(day: date) -> date:
    """The earliest month end the liability's chart needs (12 month ends before ``day``)."""
    first = day.replace(day=1)
    for _ in range(11):
        first = (first - timedelta(days=1)).replace(day=1)
    return first - timedelta(days=1)


if __name__ == "__main__":
    raise SystemExit(main())
