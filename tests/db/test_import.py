"""CSV import on SQLite and PostgreSQL: each kind, idempotency, every kind of malformed file (each
refused by row and column with nothing saved), cancel, progress, and bulk writing."""

from __future__ import annotations

import contextlib
import os
import threading
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event, text

from desktop_app.core import BillingError, Refusal
from desktop_app.core.interchange.import_csv import MAX_PROBLEMS
from desktop_app.core.interchange.importing import (
    KINDS,
    OPENING_BALANCE_TYPE,
    ImportCancelled,
    ImportProblem,
    ImportRefused,
    import_file,
    template,
)
from tests.helpers import snapshot

PATIENTS = "external_id,first_name,last_name\nP1,Ada,Lovelace\nP2,Grace,Hopper\n"
INVOICES = (
    "invoice_number,patient_external_id,issue_date,due_date,description,unit_price,quantity,"
    "tax_rate\n"
    "501,P1,2026-10-01,2026-10-31,Consult,90.00,1,\n"
    "501,P1,2026-10-01,2026-10-31,Band,12.50,2,10\n"
    "502,P2,2026-10-02,,Consult,60,1,\n"
)


# Imports run on SQLite in the quick run (-m "not slow"); on PostgreSQL as well in the full run.
pytestmark = pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)], indirect=True
)


def write(tmp_path: Path, body: str | bytes, name: str = "file.csv") -> Path:
    path = tmp_path / name
    if isinstance(body, str):
        path.write_text(body, encoding="utf-8", newline="")
    else:
        path.write_bytes(body)
    return path


def refused(clinic, tmp_path, kind, body, name="bad.csv") -> list[ImportProblem]:
    """Import ``body`` expecting a refusal that changes nothing; returns the problems."""
    before = snapshot(clinic)
    with pytest.raises(ImportRefused) as caught:
        import_file(clinic, kind, write(tmp_path, body, name))
    assert snapshot(clinic) == before
    assert caught.value.problems
    assert "nothing was saved" in str(caught.value)
    return caught.value.problems


def where(problems: list[ImportProblem]) -> list[tuple[int | None, str | None]]:
    return [(p.row, p.column) for p in problems]


@pytest.fixture
def with_patients(clinic, tmp_path):
    import_file(clinic, "patients", write(tmp_path, PATIENTS, "patients.csv"))
    return clinic


@pytest.fixture
def with_invoices(with_patients, tmp_path):
    import_file(with_patients, "invoices", write(tmp_path, INVOICES, "invoices.csv"))
    return with_patients


# -- each kind --------------------------------------------------------------------------------


def test_the_templates_import_in_order_and_the_ledger_verifies(clinic):
    results = {kind: import_file(clinic, kind, Path(str(template(kind)))) for kind in KINDS}
    assert clinic.verify() == []
    assert results["patients"].created == {"patients": 3}
    assert results["invoices"].created == {"invoices": 3, "lines": 4}
    assert results["payments"].created == {"payments": 3, "applied to invoices": 2}
    assert results["credit"].created == {"opening balances": 1}
    assert results["credit"].ignored == 1  # a balance of zero
    assert results["invoices"].describe() == "Imported 3 invoices (4 lines) from invoices.csv."

    by_name = {clinic.patient(pid).full_name: pid for pid in clinic.patient_ids()}
    ada = by_name["Ada Lovelace"]
    assert (clinic.patient(ada).date_of_birth, clinic.patient(ada).mobile) == (
        date(1985, 12, 10),
        "0412 345 678",
    )
    assert by_name["Ka\u02bbiulani O'Brien-Núñez"]  # text verbatim
    # Invoice 1001: 90 + 2 x 12.50 + 10% tax on the bands = 117.50; $100 EFTPOS paid on it.
    (inv,) = clinic.invoices(ada)
    assert (inv.number, inv.total, inv.paid, inv.status) == (1001, Decimal("117.50"), 100, "open")
    assert clinic.patient(ada).outstanding == Decimal("17.50")
    assert clinic.credit(ada) == Decimal("40.00")
    (lot,) = clinic.credit_sources(ada)
    assert lot.description.endswith("(Opening balance) of $40.00: $40.00 left as credit")
    # Opening balances' payment type exists but is not offered for new payments.
    assert OPENING_BALANCE_TYPE not in clinic.payment_types()
    assert OPENING_BALANCE_TYPE in clinic.payment_types(include_inactive=True)
    # New invoices continue after the imported numbers.
    new = clinic.create_invoice(ada, [("Consult", "50", 1)])
    assert clinic.invoice(new).number == 1004
    # One audit entry per import.
    with clinic.engine.connect() as conn:
        actions = [r[0] for r in conn.execute(text("SELECT action FROM audit_log ORDER BY id"))]
    assert actions == [f"import {kind}" for kind in KINDS] + ["create invoice"]


def test_payments_apply_up_to_the_balance_and_the_rest_becomes_credit(with_invoices, tmp_path):
    clinic = with_invoices
    body = (
        "payment_ref,patient_external_id,payment_date,amount,method,invoice_number\n"
        "A,P1,2026-10-05,100,eftpos,501\n"  # payment types match in any case
        "B,P1,2026-10-06,20,Cash,501\n"  # 17.50 left on 501, 2.50 to credit
        "C,P2,2026-10-06,$1,000.00,Cash,\n"  # not quoted: the comma splits it
    )
    assert where(refused(clinic, tmp_path, "payments", body)) == [(4, None)]
    body = body.replace("$1,000.00", '"$1,000.00"')
    result = import_file(clinic, "payments", write(tmp_path, body))
    assert result.created == {"payments": 3, "applied to invoices": 2}
    grace, ada = clinic.patient_ids(sort="name")  # Hopper, Lovelace
    invoice = clinic.invoices(ada)[0]
    assert (invoice.paid, invoice.status, invoice.balance) == (Decimal("117.50"), "paid", 0)
    assert clinic.credit(ada) == Decimal("2.50") and clinic.patient(ada).outstanding == 0
    assert clinic.credit(grace) == Decimal("1000.00")
    assert clinic.patient(grace).outstanding == Decimal("60.00")
    assert {p.request_id for p in clinic.payments(ada)} == {"import:A", "import:B"}
    assert clinic.verify() == []
    # The credit spends like any other.
    pay = clinic.record_payment(clinic.preview_payment(grace, sources={}), "desk-1")
    assert clinic.payment(pay).credit_applied == Decimal("60.00")
    assert clinic.verify() == []


def test_opening_balances_once_per_patient(with_patients, tmp_path):
    clinic = with_patients
    body = "patient_external_id,amount,as_of\nP1,40.00,2026-09-30\n"
    import_file(clinic, "credit", write(tmp_path, body, "a.csv"))
    # Another file with the same balance: already there; with another amount: refused.
    again = import_file(clinic, "credit", write(tmp_path, body + "P2,5,2026-09-30\n", "b.csv"))
    assert (again.created, again.skipped) == ({"opening balances": 1}, 1)
    problems = refused(clinic, tmp_path, "credit", body.replace("40.00", "41"), "c.csv")
    assert where(problems) == [(2, "amount")]
    assert "already has an opening balance of $40.00 as of 2026-09-30" in problems[0].reason
    assert clinic.verify() == []


def test_a_reversed_opening_balance_can_be_imported_again(with_patients, tmp_path):
    clinic = with_patients
    body = "patient_external_id,amount,as_of\nP1,40.00,2026-09-30\n"
    import_file(clinic, "credit", write(tmp_path, body, "a.csv"))
    pid = clinic.patient_ids("Lovelace")[0]
    clinic.reverse_payment(clinic.payments(pid)[-1].id, "Wrong opening balance")
    corrected = body.replace("40.00", "50.00")
    result = import_file(clinic, "credit", write(tmp_path, corrected, "b.csv"))
    assert result.created == {"opening balances": 1}
    assert clinic.credit(pid) == Decimal("50.00")
    again = import_file(clinic, "credit", write(tmp_path, corrected + "\n", "c.csv"))
    assert (again.created, again.skipped) == ({"opening balances": 0}, 1)
    clinic.reverse_payment(clinic.payments(pid)[-1].id, "Wrong again")
    # (The very same file as a.csv would be recognised as already imported and change nothing.)
    import_file(clinic, "credit", write(tmp_path, body + "\n", "d.csv"))
    assert clinic.credit(pid) == Decimal("40.00") and clinic.verify() == []


def test_opening_balance_problems(with_patients, tmp_path):
    future = (date.today() + timedelta(days=1)).isoformat()
    body = (
        "Patient External ID, Amount ,AS OF\n"  # headers in any case and spacing
        "P1,-5,2026-09-30\n"
        f"P2,5,{future}\n"
        "P1,5,2026-09-30\n"
        "P9,5,2026-09-30\n"
    )
    problems = refused(with_patients, tmp_path, "credit", body)
    assert where(problems) == [
        (2, "amount"),
        (3, "as_of"),
        (4, "patient_external_id"),
        (5, "patient_external_id"),  # the ledger's checks are reported with the rows' own
    ]
    assert "what a patient owes is imported as an invoice" in problems[0].reason
    assert "in the future" in problems[1].reason
    assert "already has an opening balance on row 2" in problems[2].reason


# -- idempotency ------------------------------------------------------------------------------


def test_the_same_file_again_changes_nothing(clinic, tmp_path):
    for kind in KINDS:
        import_file(clinic, kind, Path(str(template(kind))))
    before = snapshot(clinic)
    for kind in KINDS:
        result = import_file(clinic, kind, Path(str(template(kind))))
        assert result.already_imported and result.created == {}
        assert "was already imported on" in result.describe()
        assert result.describe().endswith("nothing changed.")
    assert snapshot(clinic) == before


def test_a_new_file_repeating_imported_rows_skips_them(with_invoices, tmp_path):
    clinic = with_invoices
    before = snapshot(clinic)
    patients = import_file(clinic, "patients", write(tmp_path, PATIENTS + "\n", "p2.csv"))
    assert (patients.created, patients.skipped) == ({"patients": 0}, 2)
    assert patients.describe() == (
        "Nothing new to import from p2.csv. 2 rows were already in the clinic and left as they are."
    )
    invoices = import_file(clinic, "invoices", write(tmp_path, INVOICES + "\n", "i2.csv"))
    assert (invoices.created["invoices"], invoices.skipped) == (0, 3)
    assert snapshot(clinic) == before  # nothing new: not even an audit entry
    more = INVOICES + "503,P2,2026-10-09,,Consult,60,1,\n"
    result = import_file(clinic, "invoices", write(tmp_path, more, "i3.csv"))
    assert (result.created, result.skipped) == ({"invoices": 1, "lines": 1}, 3)
    assert clinic.verify() == []


def test_an_import_never_renames_a_patient(with_patients, tmp_path):
    body = PATIENTS.replace("Grace,Hopper", "Grace,Brewster") + "P3,Alan,Turing\n"
    problems = refused(with_patients, tmp_path, "patients", body)
    assert where(problems) == [(3, "last_name")]
    assert "already in the clinic with another last name" in problems[0].reason
    assert "Hopper" not in problems[0].reason  # no personal details in error output
    assert "Patient > Edit patient" in problems[0].reason


# -- malformed files --------------------------------------------------------------------------


@pytest.mark.parametrize(("sep", "what"), [(";", "semicolons"), ("\t", "tabs")])
@pytest.mark.parametrize("quoted", [False, True])
def test_another_separator_is_named(clinic, tmp_path, sep, what, quoted):
    rows = [line.split(",") for line in PATIENTS.splitlines()]
    body = "".join(sep.join(f'"{v}"' if quoted else v for v in row) + "\n" for row in rows)
    (problem,) = refused(clinic, tmp_path, "patients", body)
    assert problem.row is None
    assert f"This file uses {what} between values; save it as comma-separated" in problem.reason


def test_a_byte_order_mark_and_crlf_are_accepted(clinic, tmp_path):
    body = "\ufeff" + PATIENTS.replace("\n", "\r\n")
    result = import_file(clinic, "patients", write(tmp_path, body))
    assert result.created == {"patients": 2}
    assert sorted(clinic.patient(p).full_name for p in clinic.patient_ids()) == [
        "Ada Lovelace",
        "Grace Hopper",
    ]


def test_a_file_that_is_not_utf8_is_refused_where_it_goes_wrong(clinic, tmp_path):
    body = (PATIENTS + "P3,José,Núñez\n").encode("cp1252")
    (problem,) = refused(clinic, tmp_path, "patients", body)
    offset = body.index("é".encode("cp1252"))
    assert f"byte 0xE9 at byte offset {offset} (line 4) is not valid UTF-8" in problem.reason
    assert "CSV UTF-8" in problem.reason
    for encoding in ("utf-16", "utf-16-le", "utf-16-be"):  # with and without a byte order mark
        (utf16,) = refused(clinic, tmp_path, "patients", PATIENTS.encode(encoding))
        assert "saved as UTF-16" in utf16.reason


def test_cut_short_and_overlong_rows(clinic, tmp_path):
    body = PATIENTS + "P3,Alan\nP4,Alan,Turing,extra\nP5,Alan,Turing,,\n"
    problems = refused(clinic, tmp_path, "patients", body)
    assert where(problems) == [(4, "last_name"), (5, None), (6, None)]
    assert "has 2 of the 3 values" in problems[0].reason and "cut short" in problems[0].reason
    assert "double quotes" in problems[1].reason
    # A file cut off inside a quoted value.
    problems = refused(clinic, tmp_path, "patients", PATIENTS + 'P3,"Alan,Tur')
    assert where(problems) == [(4, None)]
    assert "cut short" in problems[0].reason


def test_header_problems_name_the_columns(clinic, tmp_path):
    problems = refused(clinic, tmp_path, "patients", "external_id,first_name,maiden\nP1,A,B\n")
    assert where(problems) == [(1, "last_name")]
    assert problems[0].reason == "The required column last_name is missing."
    # Only a patients file may carry columns the import does not know: an invoices file with a
    # misspelt column would lose what it holds.
    body = "invoice_number,patient_external_id,issue_date,description,unit_price,quantity,tax %\n"
    problems = refused(clinic, tmp_path, "invoices", body + "1,P1,2026-10-01,Consult,90,1,10\n")
    assert where(problems) == [(1, "tax_%")]
    assert "Unknown column 'tax %'" in problems[0].reason and "map it" in problems[0].reason
    (empty,) = refused(clinic, tmp_path, "patients", "")
    assert "empty" in empty.reason
    (header_only,) = refused(clinic, tmp_path, "patients", "external_id,first_name,last_name\n")
    assert "no data rows" in header_only.reason


def test_nul_and_empty_text_are_refused(clinic, tmp_path):
    body = "external_id,first_name,last_name\nP1,Ada\x00,Lovelace\nP2,,Hopper\n"
    problems = refused(clinic, tmp_path, "patients", body)
    assert where(problems) == [(2, "first_name"), (3, "first_name")]
    assert "NUL character" in problems[0].reason
    assert "Empty" in problems[1].reason


def test_duplicate_invoice_numbers(with_patients, tmp_path):
    clinic = with_patients
    apart = INVOICES + "501,P1,2026-10-01,2026-10-31,Late line,5,1,\n"
    problems = refused(clinic, tmp_path, "invoices", apart)
    assert where(problems) == [(5, "invoice_number")]
    assert "Invoice 501 already appeared on rows 2-3" in problems[0].reason
    # A number the clinic already used in the app.
    ada = clinic.patient_ids(sort="name")[1]
    clinic.create_invoice(ada, [("Consult", "50", 1)])  # number 1
    body = INVOICES.replace("502,", "1,")
    problems = refused(clinic, tmp_path, "invoices", body)
    assert where(problems) == [(4, "invoice_number")]
    assert "Invoice number 1 is already in the clinic: it was issued in the app" in (
        problems[0].reason
    )
    # An imported invoice with the same number but other lines.
    import_file(clinic, "invoices", write(tmp_path, INVOICES, "good.csv"))
    problems = refused(clinic, tmp_path, "invoices", INVOICES.replace("60,1", "61,1"))
    assert where(problems) == [(4, "invoice_number")]
    assert "imported earlier with other details" in problems[0].reason


def test_invoice_rows_must_agree_and_add_up(with_patients, tmp_path):
    body = (
        "invoice_number,patient_external_id,issue_date,due_date,description,unit_price,quantity\n"
        "7,P1,2026-10-01,,A,10,1\n"
        "7,P2,2026-10-01,2026-11-01,B,10,1\n"
        "8,P1,2026-10-05,2026-10-01,C,10,1\n"
        "9,P1,01/10/2026,,D,0,1\n"
        "10,P1,2026-02-30,,E,10,1.555\n"  # two decimals at most (0.5 is half an hour)
        "INV-11,P1,2026-10-01,,F,10,1\n"
    )
    problems = refused(with_patients, tmp_path, "invoices", body)
    assert where(problems) == [
        (3, "patient_external_id"),
        (3, "due_date"),
        (4, "due_date"),
        (5, "issue_date"),
        (6, "issue_date"),
        (6, "quantity"),
        (7, "invoice_number"),
    ]
    assert "Invoice 7 has patient_external_id P1 on row 2" in problems[0].reason
    assert "Invoice 7 has due_date (empty) on row 2" in problems[1].reason
    assert "YYYY-MM-DD" in problems[3].reason
    assert "not a date of the calendar" in problems[4].reason


def test_an_invoice_of_zero_is_refused(with_patients, tmp_path):
    body = "invoice_number,patient_external_id,issue_date,description,unit_price,quantity\n"
    problems = refused(with_patients, tmp_path, "invoices", body + "9,P1,2026-10-01,D,0,1\n")
    assert where(problems) == [(2, "unit_price")]
    assert "total is zero" in problems[0].reason


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("12.345", "has more than 2 decimals for AUD; amounts are never rounded"),
        ("abc", "'abc' is not an amount"),
        ("NaN", "is not a number"),
        ("20000000", "above the limit"),
        ("", "Empty: enter an amount"),
        ("1e3", "is not an amount"),
    ],
)
def test_bad_amounts_use_the_ledgers_messages(with_patients, tmp_path, amount, reason):
    body = "payment_ref,patient_external_id,payment_date,amount,method\n"
    body += f"A,P1,2026-10-01,{amount},Cash\n"
    (problem,) = refused(with_patients, tmp_path, "payments", body)
    assert (problem.row, problem.column) == (2, "amount")
    assert reason in problem.reason


def test_payment_problems_by_row_and_column(with_invoices, tmp_path):
    clinic = with_invoices
    future = (date.today() + timedelta(days=1)).isoformat()
    body = (
        "payment_ref,patient_external_id,payment_date,amount,method,invoice_number\n"
        "A,P1,2026-10-01,10,Bitcoin,\n"
        "B,P9,2026-10-01,10,Cash,\n"
        f"C,P1,{future},10,Cash,\n"
        "D,P1,2026-10-01,10,Cash,502\n"  # Grace's invoice
        "E,P1,2026-10-01,10,Cash,999\n"
        "A,P1,2026-10-01,10,Cash,\n"
        "F,P1,2026-10-01,0,Cash,\n"
        f"G,P1,2026-10-01,10,{OPENING_BALANCE_TYPE},\n"
    )
    problems = refused(clinic, tmp_path, "payments", body)
    assert where(problems) == [
        (2, "method"),
        (3, "patient_external_id"),
        (4, "payment_date"),
        (5, "invoice_number"),
        (6, "invoice_number"),
        (7, "payment_ref"),
        (8, "amount"),
        (9, "method"),  # the opening balances' type is not for payments
    ]
    assert "'Bitcoin' is not a payment type of this clinic" in problems[0].reason
    assert "belongs to another patient" in problems[3].reason
    assert "There is no invoice 999" in problems[4].reason


def test_a_payment_reference_imported_with_other_details_is_refused(with_invoices, tmp_path):
    body = "payment_ref,patient_external_id,payment_date,amount,method\nA,P1,2026-10-01,10,Cash\n"
    import_file(with_invoices, "payments", write(tmp_path, body, "one.csv"))
    problems = refused(with_invoices, tmp_path, "payments", body.replace(",10,", ",11,"))
    assert where(problems) == [(2, "payment_ref")]
    assert "already imported with other details ($10.00 on 2026-10-01)" in problems[0].reason
    # A corrected payment type or invoice is not a re-import either: it is refused, not skipped.
    problems = refused(with_invoices, tmp_path, "payments", body.replace(",Cash", ",EFTPOS"))
    assert where(problems) == [(2, "payment_ref")]
    header = "payment_ref,patient_external_id,payment_date,amount,method,invoice_number\n"
    import_file(
        with_invoices, "payments", write(tmp_path, header + "B,P1,2026-10-01,10,Cash,501\n")
    )
    problems = refused(
        with_invoices, tmp_path, "payments", header + "B,P1,2026-10-01,10,Cash,502\n"
    )
    assert where(problems) == [(2, "payment_ref")]


def test_all_problems_are_counted_and_the_first_ones_listed(clinic, tmp_path):
    body = "external_id,first_name,last_name\n" + "".join(f"P{i},,X\n" for i in range(250))
    with pytest.raises(ImportRefused) as caught:
        import_file(clinic, "patients", write(tmp_path, body))
    assert len(caught.value.problems) == MAX_PROBLEMS and caught.value.more == 50
    assert "250 problems found" in str(caught.value) and "and 240 more" in str(caught.value)


def test_unknown_kind_and_missing_file(clinic, tmp_path):
    with pytest.raises(BillingError) as refused:
        import_file(clinic, "doctors", tmp_path / "x.csv")
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_CHOICE, "kind")
    # This refusal has no code yet (import_csv.py): its message is checked instead.
    with pytest.raises(BillingError, match="There is no file"):
        import_file(clinic, "patients", tmp_path / "missing.csv")


# -- progress, cancel, bulk -------------------------------------------------------------------


def many_patients(count: int) -> str:
    return "external_id,first_name,last_name\n" + "".join(
        f"X{i},First{i},Last{i}\n" for i in range(count)
    )


def test_progress_is_reported_in_both_phases(clinic, tmp_path):
    seen: list[tuple[int, int]] = []
    import_file(
        clinic,
        "patients",
        write(tmp_path, many_patients(3000)),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen[-1] == (6000, 6000)
    done = [d for d, total in seen if total == 6000]
    assert done == sorted(done)  # never backwards
    assert any(d < 3000 for d in done[1:]) and any(3000 < d < 6000 for d in done)
    assert len(seen) >= 6


@pytest.mark.slow  # thousands of rows
@pytest.mark.parametrize("stop_after", [1500, 4500])  # checking rows, then writing them
def test_cancel_saves_nothing(clinic, tmp_path, stop_after):
    before = snapshot(clinic)
    reached: list[int] = []
    with pytest.raises(ImportCancelled) as cancelled:
        import_file(
            clinic,
            "patients",
            write(tmp_path, many_patients(3000)),
            progress=lambda done, _total: reached.append(done),
            cancel=lambda: bool(reached) and reached[-1] >= stop_after,
        )
    assert cancelled.value.code == Refusal.NOTHING_TO_SAVE
    assert snapshot(clinic) == before


@pytest.mark.slow  # 20,000 lines
def test_twenty_thousand_invoice_lines_are_written_in_bulk(with_patients, tmp_path):
    clinic = with_patients
    rows = ["invoice_number,patient_external_id,issue_date,description,unit_price,quantity"]
    rows += [
        f"{10_000 + i // 2},P{1 + i % 4 // 2},2026-10-01,Line {i},10.50,2" for i in range(20_000)
    ]
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(clinic.engine, "before_cursor_execute", count)
    try:
        result = import_file(clinic, "invoices", write(tmp_path, "\n".join(rows) + "\n"))
    finally:
        event.remove(clinic.engine, "before_cursor_execute", count)
    assert result.created == {"invoices": 10_000, "lines": 20_000}
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert len(inserts) < 100, len(inserts)  # chunks, not one statement per row
    assert len(statements) < 200
    summary = clinic.summary()
    assert summary.open_invoices == 10_000 and summary.outstanding == Decimal("420000.00")
    assert clinic.verify() == []


# -- the second pass: nothing in a file is trusted --------------------------------------------


INVOICE_HEADER = (
    "invoice_number,patient_external_id,issue_date,due_date,description,unit_price,quantity,"
    "tax_rate\n"
)


def test_digits_of_other_scripts_are_not_numbers(with_invoices, tmp_path):
    """Python's int and Decimal read Arabic-Indic, Devanagari and full-width digits: a file must
    not (only 0-9 are digits), nor 1e2, +5 or 1_0."""
    body = INVOICE_HEADER + (
        "\u0666\u0660\u0661,P1,2026-10-01,,Consult,90,1,\n"  # Arabic-Indic 601
        "\uff16\uff10\uff12,P1,2026-10-01,,Consult,90,1,\n"  # full-width 602
        "603,P1,2026-10-01,,Consult,\u0669\u0660,1,\n"  # Arabic-Indic 90
        "604,P1,2026-10-01,,Consult,\u096f\u0966.50,1,\n"  # Devanagari 90.50
        "605,P1,2026-10-01,,Consult,90,\u0662,\n"
        "606,P1,2026-10-01,,Consult,90,\u0968,\n"
        "607,P1,2026-10-01,,Consult,90,1e2,\n"
        "608,P1,2026-10-01,,Consult,90,+5,\n"
        "609,P1,2026-10-01,,Consult,90,1_0,\n"
        "610,P1,2026-10-01,,Consult,90,1,\u0661\u0660\n"
        "611,P1,2026-10-01,,Consult,90,1,1e1\n"
        "+612,P1,2026-10-01,,Consult,90,1,\n"
    )
    problems = refused(with_invoices, tmp_path, "invoices", body)
    assert where(problems) == [
        (2, "invoice_number"),
        (3, "invoice_number"),
        (4, "unit_price"),
        (5, "unit_price"),
        (6, "quantity"),
        (7, "quantity"),
        (8, "quantity"),
        (9, "quantity"),
        (10, "quantity"),
        (11, "tax_rate"),
        (12, "tax_rate"),
        (13, "invoice_number"),
    ]
    body = (
        "payment_ref,patient_external_id,payment_date,amount,method,invoice_number\n"
        "A,P1,2026-10-01,\u0661\u0660,Cash,\n"
        "B,P1,2026-10-01,$\uff11\uff10,Cash,\n"
        "C,P1,2026-10-01,10,Cash,\u0665\u0660\u0661\n"
    )
    problems = refused(with_invoices, tmp_path, "payments", body)
    assert where(problems) == [(2, "amount"), (3, "amount"), (4, "invoice_number")]
    body = "patient_external_id,amount,as_of\nP1,\u0967\u0966,2026-10-01\n"
    assert where(refused(with_invoices, tmp_path, "credit", body)) == [(2, "amount")]


def test_dates_outside_the_ledgers_window_are_refused(with_invoices, tmp_path):
    long_ago = date.today().replace(day=1) - timedelta(days=366 * 21)
    body = INVOICE_HEADER + (
        "601,P1,0001-01-01,,Consult,90,1,\n"
        f"602,P1,{long_ago},,Consult,90,1,\n"
        "603,P1,2200-01-01,,Consult,90,1,\n"
        "604,P1,9999-12-31,,Consult,90,1,\n"
        "605,P1,2026-10-01,9999-12-31,Consult,90,1,\n"
        "606,P1,2026-10-01,2200-01-01,Consult,90,1,\n"
    )
    problems = refused(with_invoices, tmp_path, "invoices", body)
    assert where(problems) == [
        (2, "issue_date"),
        (3, "issue_date"),
        (4, "issue_date"),
        (5, "issue_date"),
        (6, "due_date"),
        (7, "due_date"),
    ]
    assert "more than 20 years ago" in problems[0].reason
    assert "ahead" in problems[2].reason
    assert "more than 5 years after the issue date" in problems[4].reason
    body = (
        "payment_ref,patient_external_id,payment_date,amount,method\n"
        "A,P1,0001-01-01,10,Cash\n"
        f"B,P1,{long_ago},10,Cash\n"
        "C,P1,9999-12-31,10,Cash\n"
    )
    problems = refused(with_invoices, tmp_path, "payments", body)
    assert where(problems) == [(2, "payment_date"), (3, "payment_date"), (4, "payment_date")]
    assert "in the future" in problems[2].reason
    body = "patient_external_id,amount,as_of\nP1,10,1900-01-01\nP2,10,2200-01-01\n"
    assert where(refused(with_invoices, tmp_path, "credit", body)) == [
        (2, "as_of"),
        (3, "as_of"),
    ]


def test_names_that_display_as_something_else_are_refused(clinic, tmp_path):
    body = (
        "external_id,first_name,last_name\n"
        "P\u202e1,Ada,Lovelace\n"  # an id that reads backwards
        "P2,Gr\u2066ace,Hopper\n"
        'P3,Alan,"Tur\ning"\n'  # a quoted line break
        "P4,Alan\tM,Turing\n"
        "P5,Katherine,John\u2028son\n"
        "P6,\u200f\u05e9\u05e8\u05d4,\u05db\u05d4\u05df\n"  # a right-to-left mark is fine
    )
    problems = refused(clinic, tmp_path, "patients", body)
    assert where(problems) == [
        (2, "external_id"),
        (3, "first_name"),
        (4, "last_name"),  # row 4 is two lines of the file: a quoted value's line break
        (5, "first_name"),
        (6, "last_name"),
    ]
    assert "U+202E" in problems[0].reason and "line break" in problems[2].reason
    import_file(clinic, "patients", write(tmp_path, PATIENTS, "patients.csv"))
    body = INVOICE_HEADER + "601,P1,2026-10-01,,Con\u202esult,90,1,\n"
    assert where(refused(clinic, tmp_path, "invoices", body)) == [(2, "description")]
    body = (
        "payment_ref,patient_external_id,payment_date,amount,method\n"
        "A\u202e,P1,2026-10-01,10,Cash\n"
        "B,P1,2026-10-01,10,Ca\u202esh\n"
    )
    problems = refused(clinic, tmp_path, "payments", body)
    assert where(problems) == [(2, "payment_ref"), (3, "method")]
    assert "U+202E" in problems[1].reason


# -- limits: what is read is bounded -----------------------------------------------------------


def test_a_file_above_the_size_limit_is_refused_before_it_is_read(clinic, tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as out:  # sparse: no disk used
        out.write(PATIENTS.encode())
        out.truncate(50 * 1024 * 1024 + 1)  # docs/import-formats.md: at most 50 MB
    before = snapshot(clinic)
    with pytest.raises(ImportRefused) as caught:
        import_file(clinic, "patients", path)
    assert snapshot(clinic) == before
    (problem,) = caught.value.problems
    assert "larger than 50 MB" in problem.reason and "split it" in problem.reason


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_stream_is_read_only_up_to_the_size_limit(clinic, tmp_path, monkeypatch):
    """A pipe (or a device such as /dev/zero) has no size to check first: reading stops one byte
    past the limit."""
    from desktop_app.core.interchange import import_csv

    monkeypatch.setattr(import_csv, "MAX_FILE_BYTES", 100_000, raising=False)
    pipe = tmp_path / "endless.csv"
    os.mkfifo(pipe)
    written = [0]

    def endless() -> None:  # at most 50 MB, so a reader that never stops fails, not hangs
        with contextlib.suppress(BrokenPipeError), pipe.open("wb") as out:
            out.write(PATIENTS.encode())
            while written[0] < 50_000_000:
                out.write(b"P9,Ada,Lovelace\n" * 4096)
                written[0] += 16 * 4096

    writer = threading.Thread(target=endless, daemon=True)
    writer.start()
    before = snapshot(clinic)
    try:
        # ImportRefused has no code yet (import_csv.py): the message names the limit.
        with pytest.raises(ImportRefused, match="larger than 100,000 bytes"):
            import_file(clinic, "patients", pipe)
    finally:
        writer.join(timeout=30)
    assert not writer.is_alive() and written[0] < 50_000_000
    assert snapshot(clinic) == before
    body = many_patients(100)
    monkeypatch.setattr(import_csv, "MAX_FILE_BYTES", len(body.encode()), raising=False)
    assert import_file(clinic, "patients", write(tmp_path, body)).created == {"patients": 100}


def test_a_row_longer_than_the_limit_is_refused(clinic, tmp_path):
    MAX_ROW_CHARS = 10_000  # noqa: N806 - docs/import-formats.md: rows of at most 10,000
    for long_row in (
        f"P2,{'a' * (MAX_ROW_CHARS + 1)},Hopper\n",  # one long value
        "P2,Grace," + ",".join(["x"] * MAX_ROW_CHARS) + "\n",  # many short ones
        'P2,"' + ("a" * 100 + "\n") * (MAX_ROW_CHARS // 100 + 1) + '",Hopper\n',  # quoted lines
    ):
        body = "external_id,first_name,last_name\nP1,Ada,Lovelace\n" + long_row + "P3,A,B\n"
        (problem,) = refused(clinic, tmp_path, "patients", body)
        assert (problem.row, problem.column) == (3, None)
        assert "longer than 10,000 characters" in problem.reason
    # The longest row the formats can need is well inside the limit.
    long_names = "P3," + "é" * 200 + "," + "\u4e00" * 200 + "\n"
    assert import_file(clinic, "patients", write(tmp_path, PATIENTS + long_names)).created == {
        "patients": 3
    }


@pytest.mark.slow  # a big file
def test_a_file_of_mostly_empty_lines_is_refused_without_reading_it_all(clinic, tmp_path):
    body = "external_id,first_name,last_name\n1,Ada,Lovelace\n" + "\n" * 1_000_001
    before = snapshot(clinic)
    with pytest.raises(ImportRefused) as caught:
        import_file(clinic, "patients", write(tmp_path, body))
    assert snapshot(clinic) == before
    (problem,) = caught.value.problems
    assert "more than 1,000,000 lines, most of them empty" in problem.reason


def test_a_file_with_too_many_rows_is_refused(clinic, tmp_path, monkeypatch):
    from desktop_app.core.interchange import import_csv

    body = "external_id,first_name,last_name\n" + "".join(
        f"{i},A,B\n"
        for i in range(250_001)  # docs/import-formats.md: 250,000 rows at most
    )
    before = snapshot(clinic)
    with pytest.raises(ImportRefused) as caught:
        import_file(clinic, "patients", write(tmp_path, body))
    assert snapshot(clinic) == before
    (problem,) = caught.value.problems
    assert "more than 250,000 rows" in problem.reason and "split it" in problem.reason
    monkeypatch.setattr(import_csv, "MAX_ROWS", 50, raising=False)
    with pytest.raises(ImportRefused, match="more than 50 rows"):  # no code yet: the limit named
        import_file(clinic, "patients", write(tmp_path, many_patients(51)))
    assert import_file(clinic, "patients", write(tmp_path, many_patients(50))).rows == 50


def test_the_cycle_collector_runs_again_after_an_import_saved_or_refused(with_patients, tmp_path):
    """An import pauses Python's cycle collector for speed; it is back on afterwards, and
    stays off only if it was off before."""
    import gc

    from desktop_app.core.interchange import importing

    seen: list[bool] = []
    real = importing._Run.go

    def spy(self, text):
        seen.append(gc.isenabled())
        return real(self, text)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(importing._Run, "go", spy)
        import_file(with_patients, "invoices", write(tmp_path, INVOICES, "invoices.csv"))
        with pytest.raises(ImportRefused):
            import_file(with_patients, "invoices", write(tmp_path, "nonsense,header\n1,2\n"))
    assert seen == [False, False] and gc.isenabled()
    gc.disable()
    try:
        import_file(with_patients, "patients", write(tmp_path, PATIENTS, "patients2.csv"))
        assert not gc.isenabled()
    finally:
        gc.enable()
