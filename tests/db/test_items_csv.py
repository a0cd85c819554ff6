"""Billable items to and from a spreadsheet: the export reads back to the same catalogue, an
import adds, changes, archives and restores items by code, and a bad row refuses the whole file,
naming the row, with nothing saved. Issued invoices keep the prices they were made with."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from desktop_app.core import BillingError, Clinic
from tests.helpers import snapshot

HEADER = "code,name,kind,price,tax_rate,archived,concession_prices\n"


def _write(tmp_path: Path, body: str, name: str = "items.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_the_export_reads_back_to_the_same_catalogue(clinic: Clinic, tmp_path) -> None:
    clinic.add_billable_item(
        "IC",
        "Initial consultation",
        "95.00",
        tax_rate="10",
        concession_prices={"Pensioner": "75.00", "Student": "85.50"},
    )
    tape = clinic.add_billable_item("TAPE", "=Strapping tape", "12.50", kind="product")
    clinic.archive_billable_item(tape)
    path = tmp_path / "out.csv"
    assert clinic.export_billable_items(path) == 2
    text = path.read_text(encoding="utf-8-sig")
    assert "IC,Initial consultation,service,95.00,10,no,Pensioner=75.00; Student=85.50" in text
    assert "TAPE,'=Strapping tape,product,12.50,0,yes," in text  # no formula in a spreadsheet
    before = clinic.billable_items(include_archived=True)
    result = clinic.import_billable_items(path)
    assert (result.added, result.updated, result.unchanged) == (0, 0, 2)
    assert clinic.billable_items(include_archived=True) == before


def test_an_import_adds_changes_archives_and_leaves_issued_invoices_alone(
    clinic: Clinic, tmp_path
) -> None:
    consult = clinic.add_billable_item("IC", "Initial consultation", "95.00", tax_rate="10")
    old = clinic.add_billable_item("OLD", "Old service", "40.00")
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(pid, [{"item": consult}])
    path = _write(
        tmp_path,
        "ic,Initial consultation,service,100.00,10,no,Pensioner=80.00\n"
        "MS30,Remedial massage,service,60.00,10,,\n"
        "OLD,Old service,service,40.00,0,yes,\n",
    )
    result = clinic.import_billable_items(path)
    assert (result.added, result.updated, result.unchanged) == (1, 1, 1)
    assert clinic.billable_item(consult).price == Decimal("100.00")
    assert clinic.billable_item(consult).concession_prices == {"Pensioner": Decimal("80.00")}
    assert clinic.billable_item(old).archived
    assert [i.code for i in clinic.billable_items()] == ["IC", "MS30"]
    assert clinic.invoice(iid).total == Decimal("104.50")  # made at $95.00 + GST, kept
    actions = [e.action for e in clinic.audit_entries_by_ids(clinic.audit_entry_ids())]
    assert actions.count("add billable item") == 3  # IC and OLD by hand, MS30 imported
    assert "archive billable item" in actions and "update billable item" in actions


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("MS30,Massage,service,60.005,10,no,\n", r"Row 3 \(MS30\).*decimals"),
        ("MS30,Massage,service,60.00,10,no,Pensioner=70.00\n", r"Row 3 \(MS30\).*above"),
        ("MS30,Massage,service,60.00,10,maybe,\n", "Row 3: archived is yes or no"),
        ("MS30,Massage,service,60.00,10,no,Pensioner 50\n", "Row 3: write each concession"),
        ("ms30,Massage again,service,60.00,10,no,\n", "Row 3: the code ms30 is also on row 2"),
        ("MS 30,Massage,service,60.00,10,no,\n", "Row 3"),
        ("MS31,Massage,lesson,60.00,10,no,\n", r"Row 3 \(MS31\)"),
    ],
)
def test_a_bad_row_refuses_the_whole_file_and_saves_nothing(
    clinic: Clinic, tmp_path, body, message
) -> None:
    clinic.add_billable_item("IC", "Initial consultation", "95.00")
    path = _write(tmp_path, "MS30,Remedial massage,service,60.00,10,no,\n" + body)
    before = snapshot(clinic), clinic.billable_items(include_archived=True)
    with pytest.raises(BillingError, match=message):
        clinic.import_billable_items(path)
    assert (snapshot(clinic), clinic.billable_items(include_archived=True)) == before


def test_a_file_without_the_columns_or_the_items_is_refused(clinic: Clinic, tmp_path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("name,price\nMassage,60\n", encoding="utf-8")
    with pytest.raises(BillingError, match="no code column"):
        clinic.import_billable_items(path)
    with pytest.raises(BillingError, match="no items"):
        clinic.import_billable_items(_write(tmp_path, ""))
    assert clinic.billable_items(include_archived=True) == []
