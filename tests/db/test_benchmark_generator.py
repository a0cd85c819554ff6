"""The benchmarks' data generator (benchmarks/generate.py) stays reproducible and sound: the same
seed gives the same rows, and the ledger it builds passes Verify ledger, on SQLite and PostgreSQL;
its payers' invoices, split visits and remittances are what the ledger itself would have made.
(No timing here: the figures live in benchmarks/README.md.)"""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from desktop_app.core import Clinic

GENERATOR = Path(__file__).resolve().parents[2] / "benchmarks" / "generate.py"


@pytest.fixture(scope="module")
def generate():
    spec = importlib.util.spec_from_file_location("bench_generate", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_generate", module)
    spec.loader.exec_module(module)
    return module


def dump(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return list(db.iterdump())
    finally:
        db.close()


def figures(url: str) -> tuple[object, ...]:
    """Totals that any difference in the generated rows would change."""
    with Clinic.open(url) as clinic, clinic.engine.connect() as conn:
        return tuple(
            tuple(conn.exec_driver_sql(sql).one())
            for sql in (
                "SELECT count(*), sum(total_minor), sum(paid_minor), sum(number * total_minor), "
                "sum(coalesce(for_patient_id, 0)), sum(coalesce(split_with_id, 0)), "
                "count(claim_reference) FROM invoices",
                "SELECT count(*), sum(amount_minor), sum(invoice_id * amount_minor) "
                "FROM invoice_lines",
                "SELECT count(*), sum(total_minor), sum(id * total_minor), count(reference) "
                "FROM payments",
                "SELECT count(*), sum(amount_minor), sum(from_credit_minor) FROM applications",
                "SELECT count(*), sum(credit_minor), sum(outstanding_minor), "
                "sum(id * credit_minor) FROM patients",
                "SELECT value FROM counters WHERE name = 'invoice_number'",
                "SELECT count(*), sum(id), min(kind), max(kind) FROM payers",
                "SELECT count(*), sum(patient_id * payer_id), sum(CASE WHEN default_for_invoices "
                "THEN 1 ELSE 0 END) FROM memberships",
            )
        )


def test_same_seed_same_rows_and_a_sound_ledger(generate, tmp_path):
    first, second, other = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "c.db"
    meta = generate.build_sqlite(first, 200, 12, 3)
    generate.build_sqlite(second, 200, 12, 3)
    generate.build_sqlite(other, 200, 12, 4)
    assert dump(first) == dump(second)
    assert dump(first) != dump(other)
    assert meta.rows["invoices"] == 200 and meta.patients == 12
    assert meta.rows["patients"] == 12 + len(generate.PAYERS) == 12 + meta.rows["payers"]
    for path in (first, other):
        with Clinic.open(f"sqlite:///{path}") as clinic:
            assert clinic.verify() == []
            assert len(clinic.patient_ids(include_archived=True)) == 12  # payers are not listed
    statuses = dict(
        sqlite3.connect(first).execute("SELECT status, count(*) FROM invoices GROUP BY 1")
    )
    assert statuses["paid"] > statuses["open"] > 0  # a mix, not one kind of invoice


def test_busy_patient_has_1000_open_invoices(generate, tmp_path):
    path = tmp_path / "busy.db"
    meta = generate.build_sqlite(path, generate.BUSY_FROM, 100, 5)
    assert meta.busy_patient == 100
    with Clinic.open(f"sqlite:///{path}") as clinic:
        assert clinic.verify() == []
        assert len(clinic.invoices(100, open_only=True)) == generate.BUSY_INVOICES
        assert clinic.credit(100) == 500


def test_patients_have_details_searches_find_and_the_invoices_stay_the_same(generate, tmp_path):
    plain, searched = tmp_path / "plain.db", tmp_path / "pair.db"
    generate.build_sqlite(plain, 300, 40, 3)
    meta = generate.build_sqlite(searched, 300, 40, 3, archived=0.5)
    assert meta.archived > 0
    same = "SELECT id, patient_id, total_minor, paid_minor, status FROM invoices ORDER BY id"
    assert list(sqlite3.connect(plain).execute(same)) == list(
        sqlite3.connect(searched).execute(same)
    )
    with Clinic.open(f"sqlite:///{searched}") as clinic:
        assert clinic.verify() == []
        every = clinic.patients_by_ids(clinic.patient_ids(include_archived=True))
        archived = [p for p in every if p.archived]
        assert len(archived) == meta.archived and all(
            p.credit == p.outstanding == 0 for p in archived
        )
        assert len(clinic.patient_ids()) == 40 - meta.archived
        someone = next(p for p in every if p.mobile and p.email and p.date_of_birth)
        assert someone.mobile[:2] == "04" and someone.mobile.count(" ") == 2
        for search in (someone.mobile, someone.email, someone.date_of_birth.isoformat()):
            found = clinic.patient_ids(search=search, include_archived=True)
            assert someone.id in found, search


def test_the_pair_to_merge_has_1000_invoices_of_every_kind(generate, tmp_path):
    path = tmp_path / "pair.db"
    meta = generate.build_sqlite(path, generate.BUSY_FROM, 100, 5, pair=True)
    assert (meta.busy_patient, meta.pair_patient) == (100, 99)
    db = sqlite3.connect(path)
    kinds = dict(
        db.execute("SELECT status, count(*) FROM invoices WHERE patient_id = 99 GROUP BY 1")
    )
    assert sum(kinds.values()) == generate.BUSY_INVOICES and kinds["paid"] > kinds["open"] > 0
    with Clinic.open(f"sqlite:///{path}") as clinic:
        assert clinic.verify() == []
        assert len(clinic.invoices(100, open_only=True)) == generate.BUSY_INVOICES


def test_postgres_gets_the_same_rows(generate, pg_databases, tmp_path):
    path = tmp_path / "same.db"
    generate.build_sqlite(path, 300, 15, 8)
    url = pg_databases.new()
    try:
        generate.build_postgres(url, 300, 15, 8)
        assert figures(url) == figures(f"sqlite:///{path}")
        with Clinic.open(url) as clinic:
            assert clinic.verify() == []
            # The id sequences moved on, past the five payers' accounts after the patients.
            assert clinic.add_patient("After", "Load") == 15 + len(generate.PAYERS) + 1
        with pytest.raises(RuntimeError, match="already holds patients"):
            generate.build_postgres(url, 10, 2, 1)
    finally:
        pg_databases.drop(url)


def test_database_names_are_checked_before_use(generate):
    with pytest.raises(ValueError, match="bad database name"):
        generate.fresh_pg_database("postgresql+psycopg://nobody@127.0.0.1:1/x", "x; DROP")


def test_invoices_are_written_the_way_clinics_write_them(generate, tmp_path):
    path = tmp_path / "a.db"
    generate.build_sqlite(path, 2000, 40, 3)
    db = sqlite3.connect(path)
    try:
        half, discounted, from_items, free_text = db.execute(
            "SELECT sum(quantity_centi = 50), sum(discount_minor > 0), "
            "sum(item_id IS NOT NULL), sum(item_id IS NULL) FROM invoice_lines"
        ).fetchone()
        inclusive, exclusive = db.execute(
            "SELECT sum(tax_inclusive), sum(NOT tax_inclusive) FROM invoices"
        ).fetchone()
        codes = [row[0] for row in db.execute("SELECT code FROM billable_items ORDER BY id")]
        lines = db.execute(
            "SELECT l.unit_price_minor, l.quantity_centi, l.tax_rate_bp, l.discount_bp, "
            "i.tax_inclusive, l.discount_minor, l.net_minor, l.tax_minor, l.amount_minor "
            "FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id"
        ).fetchall()
    finally:
        db.close()
    assert codes == ["IC", "SC", "EC", "DN", "TAPE", "BAND"]
    assert min(half, discounted, free_text, inclusive) > 0 and from_items > free_text
    assert exclusive > inclusive

    # Each line as the rules price it, worked out here with Decimal: tax per line, half up.
    def half_up(value: Decimal) -> int:
        return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    for price, centi, rate, bp, inclusive_basis, discount, net, tax, amount in lines:
        gross = half_up(Decimal(price * centi) / 100)
        assert discount == (0 if bp is None else half_up(Decimal(gross * bp) / 10_000))
        after = gross - discount
        if inclusive_basis:
            assert (tax, amount) == (half_up(Decimal(after * rate) / (10_000 + rate)), after)
        else:
            assert (tax, amount) == (half_up(Decimal(after * rate) / 10_000), after + tax)
        assert net == amount - tax
    with Clinic.open(f"sqlite:///{path}") as clinic:
        assert clinic.verify() == []


def test_payers_bill_a_tenth_split_some_visits_and_pay_by_remittance(generate, tmp_path):
    path = tmp_path / "payers.db"
    meta = generate.build_sqlite(path, 20_000, 400, 5)
    fund = meta.payers[0]
    assert meta.remit_payer == fund and 0 < meta.remit_patients <= generate.REMIT_PATIENTS
    db = sqlite3.connect(path)
    try:
        billed, total = db.execute(
            "SELECT sum(for_patient_id IS NOT NULL), count(*) FROM invoices"
        ).fetchone()
        pairs = db.execute(
            "SELECT g.id, g.patient_id, g.total_minor, p.patient_id, p.for_patient_id, "
            "p.total_minor, p.issue_date = g.issue_date, g.tax_inclusive AND p.tax_inclusive "
            "FROM invoices g JOIN invoices p ON p.id = g.split_with_id"
        ).fetchall()
        lines = dict(
            db.execute("SELECT invoice_id, sum(amount_minor) FROM invoice_lines GROUP BY 1")
        )
        remitted = db.execute(
            "SELECT p.patient_id, i.patient_id FROM applications a "
            "JOIN payments p ON p.id = a.payment_id JOIN invoices i ON i.id = a.invoice_id "
            "WHERE p.reference IS NOT NULL"
        ).fetchall()
        scenario = db.execute(
            "SELECT count(*), count(DISTINCT for_patient_id), min(status), max(status), "
            "min(patient_id), max(patient_id) FROM invoices WHERE claim_reference LIKE 'RA-%'"
        ).fetchone()
        kinds = [kind for (kind,) in db.execute("SELECT kind FROM payers ORDER BY id")]
    finally:
        db.close()
    assert kinds == [kind.value for _, kind, _ in generate.PAYERS]
    assert 0.08 < (billed - generate.REMIT_OPEN) / total < 0.13  # about a tenth, and the scenario
    assert len(pairs) > 50
    for gap, patient, gap_total, account, for_patient, payer_total, same_day, inclusive in pairs:
        assert account in meta.payers and for_patient == patient and same_day and inclusive
        assert lines[gap] == gap_total > 0 and lines[gap - 1] == payer_total > 0
    assert remitted and all(payer == owed and payer in meta.payers for payer, owed in remitted)
    assert scenario == (generate.REMIT_OPEN, meta.remit_patients, "open", "open", fund, fund)
    with Clinic.open(f"sqlite:///{path}") as clinic:
        assert clinic.verify() == []
        payers = {p.id: p for p in clinic.payers()}
        assert sorted(payers) == meta.payers
        assert sum(p.credit for p in payers.values()) > 0  # some remittances paid over
        listed = clinic.payer_open_invoices(fund)
        assert sum((i.balance for i in listed), Decimal(0)) == payers[fund].outstanding
        assert len([i for i in listed if (i.claim_reference or "").startswith("RA-")]) == 500
        members = clinic.payer_members(fund)
        assert {i.patient_id for i in listed} <= {m.patient_id for m in members}
