"""Payers to and from a spreadsheet: the export reads back to the same payers, an import adds
payers and changes existing ones matched by name (ignoring case), and a bad row (an unknown
kind above all) refuses the whole file, naming the row, with nothing saved."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.core import BillingError, Clinic, PayerKind, PermissionDenied
from tests.helpers import snapshot

HEADER = "name,kind,reference_label,email,phone,address,notes\n"


def _write(tmp_path: Path, body: str, header: str = HEADER, name: str = "payers.csv") -> Path:
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


def _shown(clinic: Clinic) -> list[tuple[object, ...]]:
    """What the payers list shows of each payer, archived ones too."""
    return [
        (p.name, p.kind, p.reference_label, p.email, p.phone, p.address, p.notes, p.archived)
        for p in clinic.payers(include_archived=True)
    ]


def test_the_export_reads_back_to_the_same_payers(clinic: Clinic, tmp_path) -> None:
    clinic.add_payer(
        "Bupa",
        kind="health fund",
        email="claims@bupa.example",
        phone="1300 555 111",
        address="PO Box 1\nMelbourne VIC 3001",
        notes="Claims by portal; remittance on Fridays.",
    )
    clinic.add_payer("=Acme Employer", kind="employer", reference_label="PO number")
    clinic.add_payer("NDIS", kind=PayerKind.GOVERNMENT_SCHEME)
    path = tmp_path / "out.csv"
    assert clinic.export_payers(path) == 3
    text = path.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == HEADER.strip()
    assert "'=Acme Employer,employer,PO number,,,," in text  # no formula in a spreadsheet
    assert "NDIS,government scheme,Plan or approval number,,,," in text
    assert '"PO Box 1\nMelbourne VIC 3001"' in text.replace("\r\n", "\n")
    before = _shown(clinic)
    result = clinic.import_payers(path)
    assert (result.added, result.updated, result.unchanged) == (0, 0, 3)
    assert _shown(clinic) == before  # the apostrophe is dropped again on the way in


def test_an_import_adds_new_payers_and_changes_existing_ones_by_name(
    clinic: Clinic, tmp_path
) -> None:
    bupa = clinic.add_payer("Bupa", kind="health fund", email="old@bupa.example")
    old = clinic.add_payer("Old Insurer", kind="insurer", phone="02 9000 0000")
    clinic.archive_payer(old)
    path = _write(
        tmp_path,
        "BUPA,health fund,Membership claim,claims@bupa.example,,,\n"
        "old insurer,insurer,,,,,Closed in 2025\n"
        "WorkCover NSW,Workers compensation,,,13 10 50,,\n",
    )
    result = clinic.import_payers(path)
    assert (result.added, result.updated, result.unchanged) == (1, 2, 0)
    record = clinic.payer(bupa)
    assert record.name == "Bupa"  # matched ignoring case: the clinic's spelling is kept
    assert (record.reference_label, record.email) == ("Membership claim", "claims@bupa.example")
    closed = clinic.payer(old)
    assert closed.archived and closed.notes == "Closed in 2025"
    assert closed.phone is None  # an empty cell clears the detail
    assert closed.reference_label == "Claim number"  # empty: the kind's usual label
    [new] = [p for p in clinic.payers() if p.name == "WorkCover NSW"]
    assert (new.kind, new.phone) == (PayerKind.WORKERS_COMPENSATION, "13 10 50")
    actions = [e.action for e in clinic.audit_entries_by_ids(clinic.audit_entry_ids())]
    assert actions.count("import payers") == 1
    assert actions.count("add payer") == 3 and actions.count("update payer") == 2


def test_a_column_left_out_of_the_file_changes_nothing(clinic: Clinic, tmp_path) -> None:
    fund = clinic.add_payer("Bupa", kind="health fund", email="claims@bupa.example")
    result = clinic.import_payers(_write(tmp_path, "bupa,insurer\n", header="Name,Kind\n"))
    assert (result.added, result.updated) == (0, 1)
    record = clinic.payer(fund)
    assert (record.kind, record.email) == (PayerKind.INSURER, "claims@bupa.example")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Medibank,health fun,,,,,\n", r"Row 3 \(Medibank\): Unknown payer kind 'health fun'"),
        ("Medibank,,,,,,\n", r"Row 3 \(Medibank\): Unknown payer kind ''"),
        ("Medibank,health fund,,not an email,,,\n", r"Row 3 \(Medibank\).*email"),
        (",health fund,,,,,\n", r"Row 3 \(no name\)"),
        ("bupa,insurer,,,,,\n", "Row 3: the payer bupa is also on row 2"),
    ],
)
def test_a_bad_row_refuses_the_whole_file_and_saves_nothing(
    clinic: Clinic, tmp_path, body, message
) -> None:
    clinic.add_payer("NDIS", kind="government scheme", email="ndis@example.org")
    path = _write(tmp_path, "Bupa,health fund,,claims@bupa.example,,,\n" + body)
    before = snapshot(clinic)
    with pytest.raises(BillingError, match=message) as refused:
        clinic.import_payers(path)
    assert "Nothing was imported" in str(refused.value)
    assert snapshot(clinic) == before
    assert [p.name for p in clinic.payers()] == ["NDIS"]


def test_a_file_without_the_columns_or_the_payers_is_refused(clinic: Clinic, tmp_path) -> None:
    with pytest.raises(BillingError, match="no kind column"):
        clinic.import_payers(_write(tmp_path, "Bupa\n", header="name\n"))
    with pytest.raises(BillingError, match="no payers"):
        clinic.import_payers(_write(tmp_path, ""))
    with pytest.raises(BillingError, match="UTF-8"):
        clinic.import_payers(tmp_path / "missing.csv")
    assert clinic.payers(include_archived=True) == []


def test_only_a_role_that_may_change_payers_imports_or_exports(
    clinic: Clinic, team: dict[str, Clinic], tmp_path
) -> None:
    path = _write(tmp_path, "Bupa,health fund,,,,,\n")
    with pytest.raises(PermissionDenied):
        team["receptionist"].import_payers(path)
    with pytest.raises(PermissionDenied):
        team["receptionist"].export_payers(tmp_path / "out.csv")
    assert clinic.payers() == []
    assert team["bookkeeper"].import_payers(path).added == 1
    assert team["bookkeeper"].export_payers(tmp_path / "out.csv") == 1
