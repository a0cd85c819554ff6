"""The invoices CSV import and export carry the lines clinics write: item codes, discounts,
decimal quantities, prices with tax included, the practitioner, the service date and drafts; a file
in the old format imports exactly as before."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from desktop_app.core import Clinic, Role
from desktop_app.core.interchange.export import export_csv
from desktop_app.core.interchange.importing import ImportProblem, ImportRefused, import_file
from tests.helpers import snapshot

D = Decimal
TODAY = date.today()
PATIENTS = (
    "external_id,first_name,last_name,concession\nP1,Ada,Lovelace,\nP2,Grace,Hopper,Pension\n"
)
HEADER = (
    "invoice_number,patient_external_id,issue_date,due_date,description,unit_price,quantity,"
    "tax_rate,item_code,discount,tax_inclusive,practitioner,service_date,status\n"
)
OLD_HEADER = (
    "invoice_number,patient_external_id,issue_date,due_date,description,unit_price,quantity,"
    "tax_rate\n"
)


def write(tmp_path: Path, body: str, name: str = "file.csv") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8", newline="")
    return path


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def refused(clinic: Clinic, tmp_path: Path, body: str) -> list[ImportProblem]:
    """Import ``body`` expecting a refusal that saves nothing; returns the problems."""
    before = snapshot(clinic)
    with pytest.raises(ImportRefused) as caught:
        import_file(clinic, "invoices", write(tmp_path, body, "bad.csv"))
    assert snapshot(clinic) == before
    return caught.value.problems


def named(clinic: Clinic, first_name: str) -> int:
    return next(p for p in clinic.patient_ids() if clinic.patient(p).first_name == first_name)


def all_invoices(clinic: Clinic):
    return [clinic.invoice(i.id) for pid in clinic.patient_ids() for i in clinic.invoices(pid)]


def set_up(clinic: Clinic, tmp_path: Path) -> Clinic:
    """A clinic with two patients (Grace on a pension), a catalogue and a practitioner."""
    clinic.add_staff("boss", "Boss", Role.ADMINISTRATOR, "correct horse battery")
    clinic.add_staff("drsmith", "Dr Jane Smith", Role.PRACTITIONER, "correct horse battery")
    clinic.add_staff("desk", "Front Desk", Role.RECEPTIONIST, "correct horse battery")
    clinic.add_billable_item(
        "IC", "Initial consultation", "95.00", tax_rate="10", concession_prices={"Pension": "80"}
    )
    old = clinic.add_billable_item("OLD", "Old service", "10.00")
    clinic.archive_billable_item(old)
    import_file(clinic, "patients", write(tmp_path, PATIENTS, "patients.csv"))
    return clinic


@pytest.fixture
def ready(clinic: Clinic, tmp_path: Path) -> Clinic:
    return set_up(clinic, tmp_path)


def test_an_old_format_file_imports_exactly_as_before(ready: Clinic, tmp_path: Path) -> None:
    body = OLD_HEADER + (
        "501,P1,2026-10-01,2026-10-31,Consult,90.00,1,\n"
        "501,P1,2026-10-01,2026-10-31,Band,12.50,2,10\n"
        "502,P2,2026-10-02,,Taping,33.33,3,12.5\n"
    )
    result = import_file(ready, "invoices", write(tmp_path, body))
    assert result.created == {"invoices": 2, "lines": 3}
    first, second = sorted(all_invoices(ready), key=lambda i: i.number)
    assert (first.number, first.status, first.total) == (501, "open", D("117.50"))
    assert [(ln.quantity, ln.tax, ln.total, ln.discount) for ln in first.lines] == [
        (D(1), D("0.00"), D("90.00"), D("0.00")),
        (D(2), D("2.50"), D("27.50"), D("0.00")),
    ]
    # 3 x 33.33 = 99.99, tax 12.5% rounded half up per line: 12.50.
    assert [(ln.net, ln.tax, ln.total) for ln in second.lines] == [
        (D("99.99"), D("12.50"), D("112.49"))
    ]
    for invoice in (first, second):
        assert not invoice.tax_inclusive
        assert invoice.practitioner_id is None and invoice.service_date is None
        assert all(ln.item_code is None for ln in invoice.lines)
    assert ready.patient(first.patient_id).outstanding == D("117.50")
    # The next invoice issued in the app continues after the imported numbers.
    assert ready.invoice(ready.create_invoice(first.patient_id, [("X", "1", 1)])).number == 503
    assert ready.verify() == []


def test_new_columns_import_items_discounts_half_quantities_and_the_basis(
    ready: Clinic, tmp_path: Path
) -> None:
    served = (TODAY - timedelta(days=3)).isoformat()
    body = HEADER + (
        f"601,P2,2026-10-01,,,,1,,ic,10%,yes,Dr Jane Smith,{served},\n"
        f"601,P2,2026-10-01,,Hydrotherapy,80.00,0.5,10,,,yes,Dr Jane Smith,{served},\n"
        "602,P1,2026-10-02,,Review,,1,0,IC,5.00,no,drsmith,,issued\n"
    )
    result = import_file(ready, "invoices", write(tmp_path, body))
    assert result.created == {"invoices": 2, "lines": 3}
    by_number = {i.number: i for i in all_invoices(ready)}
    grace = by_number[601]
    assert grace.tax_inclusive and grace.service_date == date.fromisoformat(served)
    smith = next(s.id for s in ready.practitioners())
    assert grace.practitioner_id == smith
    item, hydro = grace.lines
    # The item's name, its pension price ($80) and rate; 10% off, GST inside the price.
    assert (item.item_code, item.description, item.unit_price) == (
        "IC",
        "Initial consultation",
        D("80.00"),
    )
    assert (item.discount, item.discount_percent, item.total, item.tax) == (
        D("8.00"),
        D("10.00"),
        D("72.00"),
        D("6.55"),
    )
    assert (hydro.quantity, hydro.total, hydro.tax) == (D("0.5"), D("40.00"), D("3.64"))
    assert grace.total == D("112.00")
    ada = by_number[602]
    (review,) = ada.lines
    # The row's own description, and its tax rate of 0, win over the item's.
    assert (review.description, review.unit_price, review.tax_rate) == (
        "Review",
        D("95.00"),
        D("0.00"),
    )
    assert (review.discount, review.total) == (D("5.00"), D("90.00"))
    assert not ada.tax_inclusive and ada.practitioner_id == smith
    # The same invoices again (another file: CRLF line ends) change nothing.
    again = import_file(ready, "invoices", write(tmp_path, body.replace("\n", "\r\n"), "b.csv"))
    assert again.skipped == 3 and not again.created["invoices"]
    assert ready.verify() == []


def test_an_unknown_or_archived_item_code_is_refused_by_row_with_nothing_saved(
    ready: Clinic, tmp_path: Path
) -> None:
    body = HEADER + (
        "701,P1,2026-10-01,,Consult,90,1,,,,,,,\n"
        "702,P1,2026-10-01,,,,1,,NOPE,,,,,\n"
        "702,P1,2026-10-01,,,,1,,old,,,,,\n"
        "703,P1,2026-10-01,,Consult,90,1,,,120.00,,,,\n"
    )
    problems = refused(ready, tmp_path, body)
    assert [(p.row, p.column) for p in problems] == [
        (3, "item_code"),
        (4, "item_code"),
        (5, "discount"),
    ]
    assert "no billable item with the code 'NOPE'" in problems[0].reason
    assert "OLD (Old service) is archived" in problems[1].reason
    assert "more than the line's $90.00" in problems[2].reason
    # Without a code, an empty description or price is refused as before.
    problems = refused(ready, tmp_path, HEADER + "704,P1,2026-10-01,,,90,1,,,,,,,\n")
    assert [(p.row, p.column) for p in problems] == [(2, "description")]


@pytest.mark.parametrize(
    ("cells", "column", "reason"),
    [
        ("nobody,,", "practitioner", "no staff member"),
        ("Front Desk,,", "practitioner", "not a practitioner"),
        ("drsmith,,maybe", "status", "issued (or empty) or draft"),
        ("drsmith,2026-02-30,", "service_date", "not a date of the calendar"),
    ],
)
def test_bad_practitioner_status_and_service_date_are_refused(
    ready: Clinic, tmp_path: Path, cells: str, column: str, reason: str
) -> None:
    problems = refused(ready, tmp_path, HEADER + f"801,P1,2026-10-01,,A,10,1,,,,,{cells}\n")
    assert [(p.row, p.column) for p in problems] == [(2, column)]
    assert reason in problems[0].reason


def test_lines_of_one_invoice_must_agree_on_basis_and_status(ready: Clinic, tmp_path: Path) -> None:
    body = HEADER + "901,P1,2026-10-01,,A,10,1,,,,yes,,,\n901,P1,2026-10-01,,B,10,1,,,,no,,,\n"
    problems = refused(ready, tmp_path, body)
    assert [(p.row, p.column) for p in problems] == [(3, "tax_inclusive")]


def test_drafts_import_without_a_number_or_a_balance(ready: Clinic, tmp_path: Path) -> None:
    body = HEADER + (
        "1001,P1,2026-10-01,,Consult,90,1,,,,,,,issued\n"
        "5000,P1,2026-10-02,,Review,60,1,,,,,,,draft\n"
        "5000,P1,2026-10-02,,Band,12.50,2,10,,,,,,draft\n"
    )
    result = import_file(ready, "invoices", write(tmp_path, body))
    assert result.created == {"invoices": 2, "lines": 3, "drafts": 1}
    assert "(3 lines, 1 draft)" in result.describe()
    pid = named(ready, "Ada")
    draft = next(i for i in ready.invoices(pid) if i.is_draft)
    assert draft.number is None and draft.total == D("87.50") and draft.balance == 0
    assert ready.patient(pid).outstanding == D("90.00")
    again = import_file(ready, "invoices", write(tmp_path, body.replace("\n", "\r\n"), "b.csv"))
    assert again.skipped == 3
    assert sum(1 for i in ready.invoices(pid) if i.is_draft) == 1
    # The draft's number in the file only grouped its rows: the counter follows issued ones.
    assert ready.issue_invoice(draft.id) == 1002
    assert ready.verify() == []


def test_exported_invoices_and_lines_import_into_another_clinic_unchanged(
    ready: Clinic, tmp_path: Path, new_sqlite_url
) -> None:
    clinic = ready
    smith = next(s.id for s in clinic.practitioners())
    ada, grace = named(clinic, "Ada"), named(clinic, "Grace")
    item = clinic.billable_items()[0].id
    served = TODAY - timedelta(days=1)
    clinic.create_invoice(
        ada,
        [
            {"item": item, "discount": "12.5%", "quantity": "1.5"},
            {"description": "Band", "price": "12.50", "quantity": "2", "discount": "1.00"},
        ],
        practitioner_id=smith,
        service_date=served,
    )
    clinic.set_prices_include_tax(True)
    clinic.create_invoice(grace, [{"item": item}, ("Report", "33.33", "0.25", "10")])
    clinic.create_invoice(grace, [("Not yet", "10", 1)], draft=True)
    files = {kind: tmp_path / f"{kind}.csv" for kind in ("patients", "invoices", "invoice_lines")}
    for kind, path in files.items():
        export_csv(clinic, kind, path)
    invoices = {r["number"]: r for r in read(files["invoices"])}
    assert len(invoices) == 2  # the draft is in no export
    rows = [HEADER.rstrip("\n")]
    for line in read(files["invoice_lines"]):
        head = invoices[line["invoice_number"]]
        discount = f"{line['discount_percent']}%" if line["discount_percent"] else line["discount"]
        cells = [
            line["invoice_number"],
            head["patient_id"],
            head["issue_date"],
            head["due_date"],
            line["description"],
            line["unit_price"],
            line["quantity"],
            line["tax_rate_percent"],
            line["item_code"],
            discount,
            head["tax_inclusive"],
            head["practitioner"],
            head["service_date"],
            "",
        ]
        rows.append(",".join(cells))
    other = Clinic.open(new_sqlite_url())
    try:
        other.add_staff("boss", "Boss", Role.ADMINISTRATOR, "correct horse battery")
        other.add_staff("drsmith", "Dr Jane Smith", Role.PRACTITIONER, "correct horse battery")
        other.add_billable_item("IC", "Initial consultation", "95.00", tax_rate="10")
        import_file(other, "patients", files["patients"])
        import_file(other, "invoices", write(tmp_path, "\n".join(rows) + "\n", "again.csv"))

        def shown(of: Clinic) -> list[tuple]:
            return sorted(
                (
                    i.number,
                    i.total,
                    i.tax_inclusive,
                    i.service_date,
                    i.practitioner_id is not None,
                    tuple(
                        (
                            ln.item_code,
                            ln.description,
                            ln.unit_price,
                            ln.quantity,
                            ln.discount,
                            ln.discount_percent,
                            ln.net,
                            ln.tax,
                            ln.total,
                        )
                        for ln in i.lines
                    ),
                )
                for i in all_invoices(of)
                if not i.is_draft
            )

        assert shown(other) == shown(clinic)
        assert other.verify() == []
    finally:
        other.close()
