"""Patient search ignores case, accents, apostrophes, hyphens and other punctuation, in every list
(patients and All invoices), and older databases get the same search once upgraded."""

from sqlalchemy import text

from desktop_app.core import Clinic
from desktop_app.core.domain.text import patient_search_key, search_form
from desktop_app.core.interchange.importing import import_file
from tests.helpers import database_at


def _names(clinic, pids):
    return sorted(r.full_name for r in clinic.patients_by_ids(pids))


def test_the_normal_form_drops_case_accents_and_punctuation():
    assert search_form("O'Brien") == search_form("O\u2019Brien") == "obrien"
    assert search_form("O-Brien") == search_form("OBRIEN") == "obrien"
    assert search_form("Zoë") == search_form("Zoe\u0308") == "zoe"
    assert search_form("  Mary-Ann   Smith. ") == "maryann smith"
    assert search_form("Straße") == "strasse"
    assert patient_search_key("Zoë", "O'Brien") == "obrien zoe"


def test_ascii_text_takes_a_shortcut_to_the_same_normal_form():
    """Every ASCII character, alone and between letters, reads as the general rule reads it (the
    rule spelt out here: letters and digits kept, spaces collapsed, the rest dropped)."""

    def general(text: str) -> str:
        kept = "".join(c if c.isalnum() else " " if c.isspace() else "" for c in text.casefold())
        return " ".join(kept.split())

    for code in range(128):
        for sample in (chr(code), f"Ab{chr(code)}Cd 9", f" x{chr(code)}{chr(code)}Y "):
            assert search_form(sample) == general(sample), repr(sample)
    assert search_form("p.12-3@Example.ORG") == "p123exampleorg"


def test_search_ignores_case_accents_apostrophes_and_hyphens(clinic):
    obriens = {
        clinic.add_patient("Sean", "O'Brien"),
        clinic.add_patient("Siobhan", "O\u2019Brien"),
        clinic.add_patient("Liam", "O-Brien"),
    }
    zoe = clinic.add_patient("Zoë", "Papadopoulos")
    smith_jones = clinic.add_patient("Mary-Ann", "Smith-Jones")
    clinic.add_patient("Brian", "Oates")
    assert set(clinic.patient_ids("obrien")) == obriens
    assert set(clinic.patient_ids("O'BRIEN")) == obriens
    assert set(clinic.patient_ids("o\u2019brien")) == obriens
    assert set(clinic.patient_ids("sean o'brien")) == {clinic.patient_ids("sean")[0]}
    assert clinic.patient_ids("zoe") == [zoe] and clinic.patient_ids("ZOË") == [zoe]
    assert clinic.patient_ids("smith jones") == [smith_jones]
    assert clinic.patient_ids("smithjones maryann") == [smith_jones]
    assert clinic.patient_ids("mary-ann") == [smith_jones]
    assert clinic.patient_ids("nobody") == []
    # Punctuation alone is matched literally (a name of punctuation is still findable).
    assert _names(clinic, clinic.patient_ids("'")) == ["Sean O'Brien"]
    assert clinic.patient_ids("%") == []
    assert clinic.patient_ids("smith - jones") == [smith_jones]  # a lone hyphen is no word


def test_all_invoices_search_matches_names_the_same_way(clinic):
    obrien = clinic.add_patient("Sean", "O\u2019Brien")
    zoe = clinic.add_patient("Zoë", "Papadopoulos")
    clinic.add_patient("Brian", "Oates")
    first = clinic.create_invoice(obrien, [("Consult", "80", 1)])
    second = clinic.create_invoice(zoe, [("Consult", "60", 1)])
    page = clinic.invoice_page(search="obrien")
    assert [row.id for row in page.rows] == [first]
    assert [row.id for row in clinic.invoice_page(search="zoe").rows] == [second]
    assert clinic.invoice_page(search="o-brien sean").rows[0].id == first
    assert clinic.invoice_page(search="-").rows == []


def test_imported_patients_are_found_the_same_way(clinic, tmp_path):
    csv = tmp_path / "patients.csv"
    csv.write_text("external_id,first_name,last_name\nX1,Zoë,D'Arcy\n", encoding="utf-8")
    import_file(clinic, "patients", csv)
    found = clinic.patient_ids("darcy zoe")
    assert _names(clinic, found) == ["Zoë D'Arcy"]


def test_upgrading_fills_the_search_key_of_existing_patients(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with database_at(url, "0008_request_fingerprints") as connection:
        for pid, (first, last) in enumerate(
            [("Sean", "O'Brien"), ("Zoë", "Ó-Brien"), ("Ada", "Lovelace")] * 700, start=1
        ):
            connection.execute(
                text(
                    "INSERT INTO patients (id, first_name, last_name, created_at, credit_minor,"
                    " outstanding_minor) VALUES (:id, :f, :l, '2026-11-01 09:00:00', 0, 0)"
                ),
                {"id": pid, "f": first, "l": last},
            )
    with Clinic.open(url) as clinic:
        assert len(clinic.patient_ids("obrien")) == 1400  # across more than one batch
        assert len(clinic.patient_ids("zoe obrien")) == 700
        assert len(clinic.patient_ids("LOVELACE")) == 700
        with clinic.engine.connect() as conn:
            keys = conn.execute(text("SELECT DISTINCT search_key FROM patients ORDER BY 1"))
            assert keys.scalars().all() == ["lovelace ada", "obrien sean", "obrien zoe"]
        assert clinic.verify() == []
