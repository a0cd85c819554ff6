"""Importing patients with their details and opening credit, from another system's export: the
columns matched by name, by the names other systems use and by a saved mapping; Excel-escaped
values; day-first dates of birth; bad values refused by row and column with nothing saved; on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from desktop_app.core import BillingError, Refusal
from desktop_app.core.interchange.export import export_csv
from desktop_app.core.interchange.importing import ImportRefused, import_file
from tests.helpers import snapshot

SAMPLE = Path(__file__).parents[2] / "docs" / "samples" / "previous-system-patients.csv"
#: What the sample's columns without a known name feed (the rest are matched by name).
PREVIOUS_SYSTEM = {
    "Alert Notes": "notes",
    "Pension/Concession": "concession",
    "Referral Source": "ignore",
}

pytestmark = pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)], indirect=True
)


def write(tmp_path: Path, body: str, name: str = "file.csv") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8", newline="")
    return path


def refused(clinic, path, mapping=None) -> ImportRefused:
    before = snapshot(clinic)
    with pytest.raises(ImportRefused) as caught:
        import_file(clinic, "patients", path, mapping=mapping)
    assert snapshot(clinic) == before
    assert "nothing was saved" in str(caught.value)
    return caught.value


def by_external_id(clinic) -> dict[str, int]:
    with clinic.engine.connect() as conn:
        rows = conn.execute(text("SELECT external_id, id FROM patients"))
        return {str(ext): int(pid) for ext, pid in rows}


def test_another_systems_export_imports_in_one_pass_with_a_saved_mapping(clinic, tmp_path):
    clinic.save_import_mapping("patients", "Previous system", PREVIOUS_SYSTEM)
    saved = clinic.import_mappings("patients")
    assert saved == {"Previous system": PREVIOUS_SYSTEM}

    result = import_file(clinic, "patients", SAMPLE, mapping=saved["Previous system"])

    assert result.created == {"patients": 14, "opening balances": 7}
    assert result.ignored_columns == ("Referral Source",)
    assert result.describe() == (
        "Imported 14 patients (7 opening balances) from previous-system-patients.csv. "
        "Ignored columns: Referral Source."
    )
    ids = by_external_id(clinic)
    margaret = clinic.patient(ids["1558354464010667075"])  # ="..." read as the text inside
    assert (margaret.title, margaret.full_name) == ("Mrs", "Margaret O'Brien")
    assert margaret.date_of_birth == date(1954, 3, 7)  # 7/3/1954: day first
    assert margaret.mobile == "0412 345 678" and margaret.phone == "(02) 9555 0101"
    assert margaret.email == "margaret.obrien@example.com"
    assert (margaret.city, margaret.region, margaret.postcode, margaret.country) == (
        "Ashfield",
        "NSW",
        "2131",
        "AU",
    )
    assert margaret.notes == "Hard of hearing: speak clearly"
    assert margaret.concession == "Pensioner"
    assert margaret.credit == Decimal("25.00")
    tomas = clinic.patient(ids["1558354464010667076"])
    assert tomas.date_of_birth == date(1988, 11, 23)  # ISO
    assert tomas.address == "Unit 4\n88 Parramatta Road, rear entrance"  # the two lines joined
    assert tomas.credit == 0  # 0.00: no opening balance
    aisha = clinic.patient(ids["1558354464010667077"])
    assert aisha.credit == Decimal("1120.50")  # "$1,234.50" as amounts are read everywhere
    (lot,) = clinic.credit_sources(aisha.id)
    assert lot.description.endswith("(Opening balance) of $1,120.50: $1,120.50 left as credit")
    assert clinic.patient(ids["1558354464010667088"]).country == "NZ"
    # Searches find the imported details (the search key is built with them).
    assert clinic.patient_ids("0412345678") == [margaret.id]
    assert clinic.patient_ids("7/3/1954") == [margaret.id]
    assert clinic.patient_ids("aisha.r@example") == [aisha.id]
    assert clinic.verify() == []
    # The same rows in another file: the patients and balances are there already.
    copy = write(tmp_path, SAMPLE.read_text(encoding="utf-8") + "\n", "again.csv")
    again = import_file(clinic, "patients", copy, mapping=saved["Previous system"])
    assert again.created == {"patients": 0, "opening balances": 0} and again.skipped == 14
    assert clinic.verify() == []


def test_unknown_columns_of_a_patients_file_are_ignored_and_named(clinic, tmp_path):
    body = "ID,Given Name,Family Name,Favourite colour,Fax\nA1,Ada,Lovelace,green,\n"
    result = import_file(clinic, "patients", write(tmp_path, body))
    assert result.created == {"patients": 1}
    assert result.ignored_columns == ("Favourite colour", "Fax")
    assert "Ignored columns: Favourite colour, Fax." in result.describe()


def test_a_bad_detail_is_a_row_problem_naming_the_files_column(clinic, tmp_path):
    tomorrow = (date.today() + timedelta(days=1)).strftime("%d/%m/%Y")
    body = (
        "Patient ID,First Name,Surname,E-mail,DOB,Cell\n"
        "A1,Ada,Lovelace,ada@example.org,10/12/1985,0412 345 678\n"
        "A2,Grace,Hopper,grace-at-navy,1906-12-09,\n"
        f"A3,Alan,Turing,,{tomorrow},\n"
        "A4,Mary,Somerville,,31/2/1990,call me\n"
    )
    exc = refused(clinic, write(tmp_path, body))
    assert [(p.row, p.column) for p in exc.problems] == [
        (3, "E-mail"),
        (4, "DOB"),
        (5, "DOB"),
        (5, "Cell"),
    ]
    reasons = [p.reason for p in exc.problems]
    assert "email" in reasons[0] and "name@example.org" in reasons[0]
    assert "is in the future" in reasons[1]
    assert "not a date of the calendar (day first: D/M/YYYY)" in reasons[2]
    assert "31/2/1990" not in str(exc)  # a date of birth is not repeated in a refusal
    assert "is not a phone number" in reasons[3]
    assert str(exc).splitlines()[1].startswith("row 3, column E-mail: ")


def test_a_negative_opening_credit_is_refused_and_nothing_is_saved(clinic, tmp_path):
    body = "id,first name,last name,account credit\nA1,Ada,Lovelace,10\nA2,Grace,Hopper,-5\n"
    exc = refused(clinic, write(tmp_path, body))
    assert [(p.row, p.column) for p in exc.problems] == [(3, "account credit")]
    assert "what a patient owes is imported as an invoice" in exc.problems[0].reason


def test_an_opening_credit_differing_from_the_one_imported_is_refused(clinic, tmp_path):
    body = "id,first name,last name,account credit\nA1,Ada,Lovelace,10\n"
    import_file(clinic, "patients", write(tmp_path, body, "a.csv"))
    exc = refused(clinic, write(tmp_path, body.replace(",10", ",12"), "b.csv"))
    assert [(p.row, p.column) for p in exc.problems] == [(2, "account credit")]
    assert "already has an opening balance of $10.00" in exc.problems[0].reason


def test_mapping_problems_are_refused_before_anything_is_read(clinic, tmp_path):
    path = write(tmp_path, "Client,First,Last\nA1,Ada,Lovelace\n")
    with pytest.raises(BillingError) as unknown:
        import_file(clinic, "patients", path, mapping={"Client": "patient_number_two"})
    assert unknown.value.code == Refusal.BAD_CHOICE
    assert "'patient_number_two', which is not a field of the patients import" in str(unknown.value)
    with pytest.raises(BillingError) as twice:
        import_file(clinic, "patients", path, mapping={"First": "first_name", "Last": "first name"})
    assert "sends both 'First' and 'Last' to first_name" in str(twice.value)
    with pytest.raises(BillingError):
        clinic.save_import_mapping("patients", "Broken", {"Client": "shoe size"})
    assert clinic.import_mappings("patients") == {}
    # A file whose two columns would feed one field by their names is refused too.
    both = write(tmp_path, "id,first name,given name,last name\nA1,Ada,Ada,Lovelace\n", "b.csv")
    exc = refused(clinic, both)
    assert "Both 'first name' and 'given name' would feed first_name" in exc.problems[0].reason
    # Mapped, it imports.
    mapping = {"Client": "external_id", "First": "first_name", "Last": "last_name"}
    assert import_file(clinic, "patients", path, mapping=mapping).created == {"patients": 1}


def test_the_patients_export_carries_every_detail_and_imports_again(clinic, tmp_path):
    pid = clinic.add_patient(
        "Ada",
        "Lovelace",
        title="Ms",
        date_of_birth=date(1985, 12, 10),
        email="ada@example.org",
        mobile="+61 412 345 678",
        address="12 St James's Square\nLevel 2",
        city="London",
        postcode="SW1Y 4JH",
        country="GB",
        notes="Prefers email",
    )
    clinic.update_patient(pid, concession="Pensioner")
    path = tmp_path / "patients.csv"
    export_csv(clinic, "patients", path)
    text = path.read_bytes().decode("utf-8-sig")
    assert text.split("\r\n")[0] == (
        "id,first_name,last_name,account_credit,outstanding,title,preferred_name,date_of_birth,"
        "mobile,phone,email,address,city,region,postcode,country,notes,concession,invoice_to,"
        "invoice_extra"
    )
    assert ",1985-12-10," in text and '"12 St James\'s Square\nLevel 2"' in text
    assert "'+61 412 345 678" in text  # defused for a spreadsheet, as every typed text
    # The exported file imports again (its id as the external id) with the same details.
    result = import_file(clinic, "patients", path)
    assert result.created == {"patients": 1, "opening balances": 0}
    assert result.ignored_columns == ("outstanding",)
    copy = clinic.patient(by_external_id(clinic)[str(pid)])
    original = clinic.patient(pid)
    assert copy.id != pid
    for name in ("title", "date_of_birth", "email", "mobile", "address", "country", "concession"):
        assert getattr(copy, name) == getattr(original, name), name
    assert clinic.verify() == []


def test_an_undated_opening_credit_imported_again_another_day_is_skipped(
    clinic, tmp_path, monkeypatch
):
    from desktop_app.core.interchange import importing

    class ThreeDaysAgo(date):
        @classmethod
        def today(cls):
            return date.today() - timedelta(days=3)

    body = "id,first name,last name,account credit\nA1,Ada,Lovelace,10\n"
    monkeypatch.setattr(importing, "date", ThreeDaysAgo)
    import_file(clinic, "patients", write(tmp_path, body, "a.csv"))
    monkeypatch.undo()
    (pid,) = clinic.patient_ids("Lovelace")
    assert clinic.payments(pid)[0].payment_date == date.today() - timedelta(days=3)
    # Today, the same rows in another file: the balance is the one imported, not a new one.
    again = import_file(clinic, "patients", write(tmp_path, body + "\n", "b.csv"))
    assert again.created == {"patients": 0, "opening balances": 0} and again.skipped == 1
    # With its own date, a balance on another day is another balance: refused.
    dated = "id,first name,last name,account credit,credit as of\nA1,Ada,Lovelace,10,2026-01-05\n"
    exc = refused(clinic, write(tmp_path, dated, "c.csv"))
    assert [(p.row, p.column) for p in exc.problems] == [(2, "account credit")]
    assert clinic.credit(pid) == Decimal("10.00") and clinic.verify() == []
