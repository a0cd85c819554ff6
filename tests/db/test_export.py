"""CSV export: every kind round-trips through the csv module, text that a spreadsheet would run as a
formula is defused (amounts are not), the file is UTF-8 with a BOM and CRLF line ends, keyset
paging returns each row once, and a cancelled or failed export leaves no file behind."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from desktop_app.core import BillingError, Clinic, Refusal, to_decimal
from desktop_app.core.domain.patient_details import DETAILS
from desktop_app.core.interchange.export import (
    KINDS,
    ExportCancelled,
    amount_text,
    export_csv,
    header,
    safe_text,
)

BOM = b"\xef\xbb\xbf"


def read(path: Path) -> list[dict[str, str]]:
    """The rows of an exported file, as a spreadsheet program reading it with the csv module."""
    data = path.read_bytes()
    assert data.startswith(BOM)
    body = data[len(BOM) :].decode("utf-8")
    assert body.endswith("\r\n")
    assert "\n" not in body.replace("\r\n", "")  # every line ends CRLF (no bare LF)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def ledger(clinic: Clinic) -> dict[str, int]:
    """Patients with names a spreadsheet would run, an invoice per patient (one paid, one credited,
    one void), a payment from two sources, a prepayment and a refund."""
    clinic.add_payment_type("=HYPERLINK(evil)")
    pids = {
        name: clinic.add_patient(first, last)
        for name, (first, last) in {
            "ada": ("Ada", "Lovelace"),
            "sum": ("=SUM(A1)", "+1"),
            "at": ("@cmd", "-2"),
            "comma": ('Zoë "Z", Jr', "O'Brien"),
        }.items()
    }
    ada, other = pids["ada"], pids["sum"]
    first = clinic.create_invoice(
        ada, [("=1+2 consult", "50", 1), ("Tape", "12.50", 2, "10")], issue_date=date(2026, 1, 5)
    )
    second = clinic.create_invoice(
        ada, [("Follow-up", "80", 1)], issue_date=date(2026, 1, 9), due_date=date(2026, 2, 9)
    )
    void = clinic.create_invoice(other, [("Consult", "40", 1)], issue_date=date(2026, 1, 7))
    clinic.void_invoice(void, "entered twice")
    clinic.create_invoice(pids["at"], [("Consult", "35", 1)], issue_date=date(2026, 1, 8))
    clinic.credit_note(second, "10", reason="discount", request_id="cn-1")
    paid = clinic.record_payment(
        clinic.preview_payment(
            ada, {"Cash": "20", "EFTPOS": "57.50", "=HYPERLINK(evil)": "1"}, source_invoice=first
        ),
        "pay-1",
    )
    prepay = clinic.record_payment(clinic.preview_payment(other, {"Cash": "100"}), "prepay")
    refund = clinic.refund_credit(other, "20", method="Cash", request_id="refund-1")
    return {
        "ada": ada,
        "sum": other,
        "first": first,
        "second": second,
        "void": void,
        "paid": paid,
        "prepay": prepay,
        "refund": refund,
    }


def test_patients(clinic, ledger, tmp_path):
    path = tmp_path / "patients.csv"
    assert export_csv(clinic, "patients", path) == 4
    rows = read(path)
    assert list(rows[0]) == list(header("patients"))
    by_id = {int(r["id"]): r for r in rows}
    ada = clinic.patient(ledger["ada"])
    assert by_id[ada.id] == {
        "id": str(ada.id),
        "first_name": "Ada",
        "last_name": "Lovelace",
        "account_credit": str(ada.credit),
        "outstanding": str(ada.outstanding),
        **dict.fromkeys(DETAILS, ""),  # none given
    }
    assert ada.outstanding > 0
    formula = by_id[ledger["sum"]]
    assert (formula["first_name"], formula["last_name"]) == ("'=SUM(A1)", "'+1")
    assert formula["account_credit"] == "80.00"
    at = next(r for r in rows if r["first_name"].endswith("cmd"))
    assert (at["first_name"], at["last_name"]) == ("'@cmd", "'-2")
    comma = next(r for r in rows if r["last_name"] == "O'Brien")
    assert comma["first_name"] == 'Zoë "Z", Jr'  # quoted by the csv module, not mangled
    assert b'"Zo\xc3\xab ""Z"", Jr"' in path.read_bytes()


def test_invoices_and_their_lines(clinic, ledger, tmp_path):
    path = tmp_path / "invoices.csv"
    assert export_csv(clinic, "invoices", path) == 4
    rows = {int(r["number"]): r for r in read(path)}
    for number, row in rows.items():
        record = next(
            clinic.invoice(i.id)
            for pid in clinic.patient_ids()
            for i in clinic.invoices(pid)
            if i.number == number
        )
        patient = clinic.patient(record.patient_id)
        assert row == {
            "number": str(record.number),
            "patient_id": str(record.patient_id),
            "patient_name": safe_text(patient.full_name),
            "issue_date": record.issue_date.isoformat(),
            "due_date": record.due_date.isoformat() if record.due_date else "",
            "status": record.status,
            "total": str(record.total),
            "paid": str(record.paid),
            "credited": str(record.credited),
            "balance": str(record.balance),
            "tax_inclusive": "no",
            "practitioner": "",
            "service_date": "",
            "billed_to": "",
            "claim_reference": "",
        }
    void = clinic.invoice(ledger["void"])
    assert rows[void.number]["status"] == "void" and rows[void.number]["balance"] == "0.00"
    assert rows[void.number]["patient_name"] == "'=SUM(A1) +1"
    second = clinic.invoice(ledger["second"])
    assert rows[second.number]["credited"] == "10.00"
    assert rows[second.number]["due_date"] == "2026-02-09"

    lines_path = tmp_path / "lines.csv"
    assert export_csv(clinic, "invoice_lines", lines_path) == 5
    lines = read(lines_path)
    first = clinic.invoice(ledger["first"])
    mine = [r for r in lines if r["invoice_number"] == str(first.number)]
    assert mine == [
        {
            "invoice_number": str(first.number),
            "line": "1",
            "description": "'=1+2 consult",
            "unit_price": "50.00",
            "quantity": "1",
            "tax_rate_percent": "0.00",
            "tax": "0.00",
            "amount": "50.00",
            "item_code": "",
            "discount": "0.00",
            "discount_percent": "",
            "net": "50.00",
        },
        {
            "invoice_number": str(first.number),
            "line": "2",
            "description": "Tape",
            "unit_price": "12.50",
            "quantity": "2",
            "tax_rate_percent": "10.00",
            "tax": "2.50",
            "amount": "27.50",
            "item_code": "",
            "discount": "0.00",
            "discount_percent": "",
            "net": "25.00",
        },
    ]


def test_payments_and_refunds(clinic, ledger, tmp_path):
    path = tmp_path / "payments.csv"
    assert export_csv(clinic, "payments", path) == 3
    rows = {int(r["id"]): r for r in read(path)}
    first = clinic.invoice(ledger["first"])
    paid = rows[ledger["paid"]]
    assert paid["kind"] == "payment" and paid["patient_name"] == "Ada Lovelace"
    assert paid["total"] == "78.50"
    # A payment type named like a formula defuses the whole cell; the amounts stay numbers.
    assert (
        paid["sources"] == "'Cash 20.00; EFTPOS 57.50; =HYPERLINK(evil) 1.00"
    )  # split on ";" it hides a formula
    assert paid["money_applied"] == str(clinic.payment(ledger["paid"]).money_applied)
    assert paid["credit_applied"] == "0.00" and paid["reversed"] == "no"
    assert paid["invoices"].split("; ")[0] == f"#{first.number}"
    assert rows[ledger["prepay"]]["invoices"] == ""
    refund = rows[ledger["refund"]]
    assert refund["kind"] == "refund"
    assert refund["total"] == "-20.00"  # a number we wrote: never escaped
    assert refund["sources"] == "Cash -20.00"
    assert refund["patient_name"] == "'=SUM(A1) +1"
    clinic.reverse_payment(ledger["refund"])
    export_csv(clinic, "payments", path)
    assert {int(r["id"]): r for r in read(path)}[ledger["refund"]]["reversed"] == "yes"


def test_a_source_list_starting_like_a_formula_is_defused(clinic, tmp_path):
    clinic.update_settings(payment_types=["-Cash", "EFTPOS"])
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.record_payment(clinic.preview_payment(pid, {"-Cash": "5"}), "p")
    path = tmp_path / "payments.csv"
    export_csv(clinic, "payments", path)
    assert read(path)[0]["sources"] == "'-Cash 5.00"


@pytest.mark.parametrize("kind", KINDS)
def test_small_pages_give_every_row_exactly_once(clinic, tmp_path, kind):
    pids = [clinic.add_patient(f"P{n}", "Patient") for n in range(7)]
    for n, pid in enumerate(pids):
        clinic.create_invoice(pid, [("Consult", "10", 1), ("Extra", "1", n + 1)])
        clinic.record_payment(clinic.preview_payment(pid, {"Cash": str(5 + n)}), f"p{n}")
    seen: list[tuple[int, int]] = []
    path = tmp_path / f"{kind}.csv"
    written = export_csv(clinic, kind, path, page_size=2, progress=lambda d, t: seen.append((d, t)))
    rows = read(path)
    expected = {"patients": 7, "invoices": 7, "invoice_lines": 14, "payments": 7}[kind]
    assert written == len(rows) == expected
    assert len({tuple(r.values()) for r in rows}) == expected  # no row twice
    assert seen[0] == (0, expected) and seen[-1] == (expected, expected)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    if kind == "payments":
        assert sorted(int(r["id"]) for r in rows) == sorted(
            p.id for pid in pids for p in clinic.payments(pid)
        )
    if kind == "invoice_lines":
        assert [r["line"] for r in rows] == ["1", "2"] * 7


def test_an_empty_clinic_exports_just_the_header(clinic, tmp_path):
    for kind in KINDS:
        path = tmp_path / f"{kind}.csv"
        assert export_csv(clinic, kind, path) == 0
        assert path.read_bytes() == BOM + (",".join(header(kind)) + "\r\n").encode()


def test_cancel_leaves_no_file_and_keeps_an_existing_one(clinic, tmp_path):
    for n in range(5):
        clinic.add_patient(f"P{n}", "Patient")
    folder = tmp_path / "exports"  # apart from the SQLite file and its companions
    folder.mkdir()
    path = folder / "patients.csv"
    path.write_text("yesterday's export", encoding="utf-8")
    pages = []

    def cancel() -> bool:
        pages.append(1)
        return len(pages) > 2

    with pytest.raises(ExportCancelled) as cancelled:
        export_csv(clinic, "patients", path, page_size=1, cancel=cancel)
    assert cancelled.value.code == Refusal.NOTHING_TO_SAVE
    assert path.read_text(encoding="utf-8") == "yesterday's export"
    assert sorted(p.name for p in folder.iterdir()) == ["patients.csv"]


def test_a_failure_leaves_no_file(clinic, tmp_path):
    clinic.add_patient("Ada", "Lovelace")
    tmp_path = tmp_path / "exports"  # apart from the SQLite file and its companions
    tmp_path.mkdir()
    with pytest.raises(BillingError) as refused:
        export_csv(clinic, "appointments", tmp_path / "x.csv")
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_CHOICE, "kind")
    with pytest.raises(BillingError) as refused:
        export_csv(clinic, "patients", tmp_path / "missing" / "x.csv")
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_FILE, "destination")
    with pytest.raises(BillingError) as refused:
        export_csv(clinic, "patients", tmp_path)
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_FILE, "destination")
    with pytest.raises(BillingError) as refused:
        export_csv(clinic, "patients", tmp_path / "x.csv", page_size=0)
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_CHOICE, "page_size")

    def broken(done: int, total: int) -> None:
        if done:
            raise OSError(28, "No space left on device")

    # The refusal passes on why the file could not be written.
    with pytest.raises(BillingError, match="No space left on device") as refused:
        export_csv(clinic, "patients", tmp_path / "x.csv", progress=broken)
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_FILE, "destination")
    assert list(tmp_path.iterdir()) == []


def test_the_export_is_one_snapshot(clinic, tmp_path):
    """Rows saved while an export runs are not half in it: it reads one transaction."""
    for n in range(4):
        clinic.add_patient(f"P{n}", "Patient")
    added = []

    def add_during(done: int, total: int) -> None:
        if done and not added:
            added.append(clinic.add_patient("Late", "Comer"))

    path = tmp_path / "patients.csv"
    assert export_csv(clinic, "patients", path, page_size=2, progress=add_during) == 4
    assert added and all(r["first_name"] != "Late" for r in read(path))


@pytest.mark.parametrize("currency", ["AUD", "JPY", "KWD"])
def test_amount_text_is_the_decimal_without_a_symbol(currency):
    for minor in (0, 1, -1, 5, 99, 100, -2000, 123456, -(10**12) - 7, 10**15):
        assert amount_text(minor, currency) == format(to_decimal(minor, currency), "f")
    assert amount_text(-2000, "AUD") == "-20.00"


def test_safe_text():
    for text in ("=SUM(A1)", "+1", "-2", "@cmd", "\tx", "\rx"):
        assert safe_text(text) == "'" + text
    # Formulas hidden after a separator a spreadsheet may split on (";" in much of Europe, tab,
    # "|"), after spaces or invisible characters, or in full-width look-alikes.
    for text in ("Bob;=cmd|' /C calc'!A0;", "a\t=1", " =x", "\u200b=1", "\uff1dSUM(A1)", "x|@y"):
        assert safe_text(text) == "'" + text
    for text in ("", "Ada", "'quoted", "1+1", "#12", "Smith-Jones", "Dr Who (A-1)", "x | y"):
        assert safe_text(text) == text


def test_excel_reads_the_bom_and_text(clinic, tmp_path):
    clinic.add_patient("Zoë", "Ngā")
    path = tmp_path / "p.csv"
    export_csv(clinic, "patients", path)
    raw = path.read_bytes()
    assert raw.startswith(BOM) and raw.count(BOM) == 1
    text = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8-sig", newline="").read()
    assert text.startswith("id,first_name,") and "Zoë,Ngā,0.00,0.00," in text
    assert Decimal(read(path)[0]["account_credit"]) == 0
