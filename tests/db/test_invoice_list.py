"""The clinic-wide invoice list: every sort and direction, status filters, number and name search,
keyset paging that returns each invoice once, invoices billed to payers listed with their
patients, and query plans that use the indexes (SQLite)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event

from desktop_app.core import BillingError, Clinic, Refusal
from desktop_app.core.domain.text import patient_search_key, search_words
from desktop_app.core.ledger import invoice_list as invoice_list_module
from desktop_app.core.ledger.invoice_list import InvoiceListRow

SORTS = ("number", "issue_date", "patient", "balance")
STATUSES = (None, "open", "paid", "void")


# SQLite in the quick run (-m "not slow"); PostgreSQL as well in the full run.
SQLITE_QUICK = pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)], indirect=True
)


@pytest.fixture
def ledger(clinic: Clinic) -> Clinic:
    """Seven patients (two both called Ada Lovelace) and 24 invoices: open, part-paid, paid,
    credited and void, issued on days that repeat."""
    names = [
        ("Ada", "Lovelace"),
        ("Grace", "Hopper"),
        ("Alan", "Turing"),
        ("Ada", "Lovelace"),
        ("Emmy", "Noether"),
        ("Per%cent", "Under_score"),
        ("Byron", "Lovelace"),
    ]
    pids = [clinic.add_patient(first, last) for first, last in names]
    prices = ["50", "80", "120.50", "35", "80", "64.25"]
    for n in range(24):
        pid = pids[(n * 5) % len(pids)]
        iid = clinic.create_invoice(
            pid, [("Consult", prices[n % len(prices)], 1)], issue_date=date(2026, 1, 1 + n % 5)
        )
        if n % 6 == 1:  # paid in full
            invoice = clinic.invoice(iid)
            clinic.record_payment(
                clinic.preview_payment(pid, {"Cash": invoice.total}, source_invoice=iid), f"p{n}"
            )
        elif n % 6 == 2:  # part-paid
            clinic.record_payment(
                clinic.preview_payment(pid, {"EFTPOS": "10"}, source_invoice=iid), f"p{n}"
            )
        elif n % 6 == 3:
            clinic.void_invoice(iid, "entered twice")
        elif n % 6 == 4:
            clinic.credit_note(iid, "5", reason="discount", request_id=f"cn{n}")
    return clinic


@pytest.fixture
def payer_ledger(ledger: Clinic) -> Clinic:
    """The ledger, and invoices billed to two payers for four of its patients (one split with
    its gap, one paid by a remittance, one void), numbered among the patients' own."""
    pids = ledger.patient_ids()
    bupa = ledger.add_payer("Bupa", kind="health fund")
    wc = ledger.add_payer("WorkSafe", kind="workers compensation")
    ids = []
    for n, pid in enumerate(pids[:4]):
        ids.append(
            ledger.create_invoice(
                pid,
                [("Physio", "90", 1)],
                bill_to=bupa if n % 2 else wc,
                claim_reference=f"CLM-{n}",
                issue_date=date(2026, 1, 2 + n),
            )
        )
    ledger.create_split_invoice(
        pids[1], [("Consult", "100", 1)], payer=bupa, payer_share="80%", issue_date=date(2026, 1, 3)
    )
    remittance = ledger.preview_payer_payment(bupa, {"Bank transfer": "90"}, {ids[1]: "90"})
    ledger.record_payer_payment(remittance, "rem-1")
    ledger.void_invoice(ids[2], "billed twice")
    return ledger


def everything(clinic: Clinic) -> list[tuple[InvoiceListRow, str, str]]:
    """Every invoice as the list shows it, with its patient's first and last name (invoices
    billed to a payer with the patient they are for)."""
    rows = []
    for pid in clinic.patient_ids():
        patient = clinic.patient(pid)
        for inv in clinic.invoices(pid):
            rows.append(
                (
                    InvoiceListRow(
                        id=inv.id,
                        number=inv.number,
                        patient_id=pid,
                        patient_name=f"{patient.last_name}, {patient.first_name}",
                        issue_date=inv.issue_date,
                        due_date=inv.due_date,
                        total=inv.total,
                        paid=inv.paid,
                        credited=inv.credited,
                        balance=inv.balance,
                        status=inv.status,
                        billed_to=None if inv.payer_id is None else clinic.payer(inv.payer_id).name,
                        claim_reference=inv.claim_reference,
                    ),
                    patient.first_name,
                    patient.last_name,
                )
            )
    return rows


def expected(clinic: Clinic, sort: str, descending: bool, status: str | None) -> list[int]:
    keys = {
        "number": lambda r, f, last: (r.number,),
        "issue_date": lambda r, f, last: (r.issue_date, r.number),
        "patient": lambda r, first, last: (last, first, r.patient_id, r.number),
        "balance": lambda r, f, last: (r.balance, r.number),
    }
    rows = [t for t in everything(clinic) if status is None or t[0].status == status]
    rows.sort(key=lambda t: keys[sort](*t), reverse=descending)
    return [t[0].id for t in rows]


def walk(clinic: Clinic, limit: int, **kwargs: object) -> list[InvoiceListRow]:
    """Every page, following next_key; checks that only the last page has no next key."""
    rows: list[InvoiceListRow] = []
    after = None
    for _ in range(1000):
        page = clinic.invoice_page(after=after, limit=limit, **kwargs)  # type: ignore[arg-type]
        rows.extend(page.rows)
        if page.next_key is None:
            assert len(page.rows) <= limit
            return rows
        assert len(page.rows) == limit
        after = page.next_key
    raise AssertionError("the pages never ended")


@SQLITE_QUICK
@pytest.mark.parametrize("sort", SORTS)
def test_every_order_and_status_pages_through_each_invoice_once(ledger, sort):
    for status in STATUSES:
        for descending in (False, True):
            want = expected(ledger, sort, descending, status)
            for limit in (1, 4, 200):
                got = walk(ledger, limit, sort=sort, descending=descending, status=status)
                assert [r.id for r in got] == want, (sort, descending, status, limit)
            assert ledger.invoice_count(status=status) == len(want)


@SQLITE_QUICK
@pytest.mark.parametrize("sort", SORTS)
def test_invoices_billed_to_payers_page_through_once_with_their_patients(payer_ledger, sort):
    for status in STATUSES:
        for descending in (False, True):
            want = expected(payer_ledger, sort, descending, status)
            for limit in (1, 3, 200):
                got = walk(payer_ledger, limit, sort=sort, descending=descending, status=status)
                assert [r.id for r in got] == want, (sort, descending, status, limit)
            assert payer_ledger.invoice_count(status=status) == len(want)


def test_an_invoice_billed_to_a_payer_shows_its_patient_payer_and_claim(payer_ledger):
    by_id = {row.id: row for row, _, _ in everything(payer_ledger)}
    rows = walk(payer_ledger, 200)
    assert len(rows) == 24 + 4 + 2
    for row in rows:
        assert row == by_id[row.id]
    billed = [r for r in rows if r.billed_to is not None]
    assert {(r.billed_to, r.claim_reference) for r in billed} >= {
        ("WorkSafe", "CLM-0"),
        ("Bupa", "CLM-1"),
        ("Bupa", None),  # the payer's part of the split visit
    }
    patients = {pid: payer_ledger.patient(pid) for pid in payer_ledger.patient_ids()}
    for row in billed:  # the patient's name, never the payer's account
        patient = patients[row.patient_id]
        assert row.patient_name == f"{patient.last_name}, {patient.first_name}"
    paid = next(r for r in billed if r.claim_reference == "CLM-1")
    assert (paid.status, paid.balance) == ("paid", Decimal("0.00"))
    payer_accounts = {p.id for p in payer_ledger.payers()}
    assert not payer_accounts & {r.patient_id for r in rows}


def test_a_name_search_finds_the_invoices_billed_to_payers_for_the_patient(
    payer_ledger, monkeypatch
):
    first = payer_ledger.patient_ids()[0]
    own_and_billed = {inv.id for inv in payer_ledger.invoices(first) if inv.number is not None}
    assert any(inv.payer_id for inv in payer_ledger.invoices(first))
    patient = payer_ledger.patient(first)
    search = f"{patient.first_name} {patient.last_name}"
    namesakes = {
        inv.id
        for pid in payer_ledger.patient_ids()
        if payer_ledger.patient(pid).full_name == patient.full_name
        for inv in payer_ledger.invoices(pid)
        if inv.number is not None
    }
    assert own_and_billed <= namesakes
    for many in (False, True):  # few matching patients, then read in display order
        if many:
            monkeypatch.setattr(invoice_list_module, "FEW_PATIENTS", 0)
        for sort in SORTS:
            assert {r.id for r in walk(payer_ledger, 2, sort=sort, search=search)} == namesakes
        assert payer_ledger.invoice_count(search) == len(namesakes)
    assert payer_ledger.invoice_page(search="Bupa").rows == []  # a payer is not a patient


def test_rows_carry_the_invoice_figures(ledger):
    by_id = {row.id: row for row, _, _ in everything(ledger)}
    page = ledger.invoice_page(limit=200)
    assert len(page.rows) == 24 and page.next_key is None
    for row in page.rows:
        assert row == by_id[row.id]
    void = next(r for r in page.rows if r.status == "void")
    assert void.balance == Decimal("0.00") and void.total > 0
    credited = next(r for r in page.rows if r.credited)
    assert credited.credited == Decimal("5.00")
    assert credited.balance == credited.total - credited.paid - credited.credited
    assert {r.status for r in page.rows} == {"open", "paid", "void"}


def test_balance_order_puts_what_is_owed_last_then_first(ledger):
    rows = ledger.invoice_page(sort="balance", limit=200).rows
    balances = [r.balance for r in rows]
    assert balances == sorted(balances) and balances[0] == 0 and balances[-1] > 0
    owing = ledger.invoice_page(sort="balance", descending=True, limit=3).rows
    assert [r.balance for r in owing] == sorted(balances, reverse=True)[:3]


def test_patient_order_keeps_namesakes_apart(ledger):
    rows = ledger.invoice_page(sort="patient", limit=200).rows
    names = [r.patient_name for r in rows]
    assert names == sorted(names)
    lovelaces = [r.patient_id for r in rows if r.patient_name == "Lovelace, Ada"]
    assert len(set(lovelaces)) == 2
    assert lovelaces == sorted(lovelaces)  # one patient's invoices together, then the other's


def test_search_by_number_or_name(ledger):
    rows = everything(ledger)
    fifth = next(r for r, _, _ in rows if r.number == 5)
    for search in ("5", "#5", " 5 ", "# 5"):
        assert [r.id for r in ledger.invoice_page(search=search).rows] == [fifth.id]
    assert ledger.invoice_count("5") == 1
    assert ledger.invoice_page(search="99999").rows == []
    assert ledger.invoice_page(search="1" * 40).rows == []  # not a number we could hold
    other = "paid" if fifth.status != "paid" else "open"
    assert ledger.invoice_page(search="5", status=other).rows == []

    def ids_for(search: str, status: str | None = None) -> set[int]:
        # Names are compared without case, accents or punctuation; punctuation alone is matched
        # literally.
        words = search_words(search)

        def found(first: str, last: str) -> bool:
            if words:
                return all(word in patient_search_key(first, last) for word in words)
            return all(
                w.lower() in first.lower() or w.lower() in last.lower() for w in search.split()
            )

        return {
            r.id
            for r, first, last in rows
            if found(first, last) and (status is None or r.status == status)
        }

    for search in ("love", "ADA love", "lovelace byron", "hop", "%", "_", "per%", "e", "zzz"):
        for status in (None, "open"):
            for sort in SORTS:
                got = walk(ledger, 2, sort=sort, search=search, status=status)
                assert {r.id for r in got} == ids_for(search, status), (search, status, sort)
                assert len(got) == len(ids_for(search, status))
            assert ledger.invoice_count(search, status) == len(ids_for(search, status))
    assert ids_for("_") == ids_for("Under_score") == ids_for("underscore") != set()
    assert ids_for("zzz") == set()


def test_a_name_search_matching_many_patients_reads_in_display_order(ledger, monkeypatch):
    """Above FEW_PATIENTS matches the list is scanned in order and filtered: same answers."""
    few = {
        (search, sort): [r.id for r in walk(ledger, 3, sort=sort, search=search)]
        for search in ("love", "a", "e")
        for sort in SORTS
    }
    counts = {search: ledger.invoice_count(search) for search in ("love", "a", "e")}
    monkeypatch.setattr(invoice_list_module, "FEW_PATIENTS", 1)
    for (search, sort), ids in few.items():
        assert [r.id for r in walk(ledger, 3, sort=sort, search=search)] == ids
    assert {s: ledger.invoice_count(s) for s in counts} == counts


def test_bad_requests_are_refused(ledger):
    with pytest.raises(BillingError) as refused:
        ledger.invoice_page(sort="amount")
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_CHOICE, "sort")
    with pytest.raises(BillingError) as refused:
        ledger.invoice_page(status="late")
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_CHOICE, "status")
    with pytest.raises(BillingError) as refused:
        ledger.invoice_count(status="late")
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_CHOICE, "status")
    for limit in (0, -1, 5001, True):
        with pytest.raises(BillingError) as refused:
            ledger.invoice_page(limit=limit)
        assert (refused.value.code, refused.value.field) == (Refusal.BAD_CHOICE, "limit")
    with pytest.raises(BillingError) as refused:
        ledger.invoice_page(sort="patient", after=(5,))
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_CHOICE, "after")
    with pytest.raises(BillingError) as refused:
        ledger.invoice_page(sort="number", after=[5])  # type: ignore[arg-type]
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_CHOICE, "after")
    assert ledger.invoice_page(status="").rows  # empty text means every status


def test_an_empty_clinic(clinic):
    page = clinic.invoice_page()
    assert page.rows == [] and page.next_key is None
    assert clinic.invoice_count() == 0 and clinic.invoice_count("ada") == 0


def test_sqlite_reads_every_order_through_an_index(new_sqlite_url):
    """EXPLAIN QUERY PLAN of every page query: no full scan of the invoices, no sort of them all.

    SQLite plans the same way for ten rows as for a million (no statistics), so this guards the
    indexes and the planner steering at any size.
    """
    clinic = Clinic.open(new_sqlite_url())
    try:
        pid = clinic.add_patient("Ada", "Lovelace")
        fund = clinic.add_payer("Bupa", kind="health fund")
        for day in range(1, 7):  # two open, two paid, two void
            iid = clinic.create_invoice(pid, [("Consult", "50", 1)], issue_date=date(2026, 1, day))
            clinic.create_invoice(  # and as many billed to a payer for her
                pid, [("Consult", "50", 1)], issue_date=date(2026, 1, day), bill_to=fund
            )
            if day % 3 == 1:
                clinic.void_invoice(iid)
            elif day % 3 == 2:
                preview = clinic.preview_payment(pid, {"Cash": "50"}, source_invoice=iid)
                clinic.record_payment(preview, f"pay-{day}")
        statements: list[tuple[str, object]] = []

        def capture(conn, cursor, statement, params, context, executemany):
            if "FROM invoices" in statement and "count(" not in statement:
                statements.append((statement, params))

        event.listen(clinic.engine, "before_cursor_execute", capture)
        for sort in SORTS:
            for descending in (False, True):
                for status in STATUSES:
                    for search in ("", "lovelace"):
                        page = clinic.invoice_page(
                            sort=sort, descending=descending, status=status, limit=1, search=search
                        )
                        if page.next_key is not None:
                            clinic.invoice_page(
                                sort=sort,
                                descending=descending,
                                status=status,
                                search=search,
                                after=page.next_key,
                                limit=1,
                            )
        event.remove(clinic.engine, "before_cursor_execute", capture)
        assert len(statements) >= 2 * (64 + 4)  # two pages each, and a second segment or two
        with clinic.engine.connect() as conn:
            for statement, params in statements:
                plan = [
                    row[3]
                    for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
                ]
                steps = " | ".join(plan)
                assert "SCAN invoices" not in steps.replace("SCAN invoices USING", ""), steps
                one_patient = "ix_invoices_patient_open (patient_id=?)" in steps
                if not one_patient:  # sorting one patient's invoices is fine; all of them is not
                    assert "USE TEMP B-TREE FOR ORDER BY" not in steps, (statement, steps)
                uses_index = any(
                    "invoices USING" in step or "patients USING" in step for step in plan
                )
                assert uses_index, steps
    finally:
        clinic.close()
