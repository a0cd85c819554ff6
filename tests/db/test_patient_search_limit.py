"""A search with a limit (the search box asks for the first 200 patients) gives the first of the
same patients the search gives without one, in the list's name order, and leaves archived
patients out unless asked for them; archiving and restoring move a patient out of and back into
searches at once."""

from datetime import date

import pytest

from desktop_app.core import Clinic

SEARCHES = ("", "sm", "smi", "smith", "an", "0412", "0412 3", "5678", "gmail", "ada@", "1985")


def _fill(clinic: Clinic) -> dict[str, int]:
    """Patients sharing names (ties broken by id), names differing only in case, phones, emails
    and dates of birth; one archived Smith and one archived Ada."""
    ids: dict[str, int] = {}
    people = [
        ("Ada", "Smith", "0412 345 678", "ada.smith@gmail.com", date(1985, 12, 10)),
        ("ada", "smith", "0412 300 001", None, None),
        ("Ada", "Smith", None, "ada@outlook.com", date(1985, 1, 2)),
        ("Zoë", "Smithers", "0412 399 999", "zoe@gmail.com", None),
        ("Ann", "Anderson", "0398 765 678", "ann.anderson@gmail.com", date(1970, 5, 6)),
        ("Brian", "smith", None, "brian@bigpond.com", None),
        ("Mia", "Nguyen", "0412 356 780", "mia.smith@gmail.com", date(2001, 3, 4)),
        ("Sam", "Osmith", None, None, date(1985, 7, 8)),
    ]
    for n, (first, last, mobile, email, born) in enumerate(people):
        ids[f"{first} {last} {n}"] = clinic.add_patient(
            first, last, mobile=mobile, email=email, date_of_birth=born
        )
    ids["archived smith"] = clinic.add_patient("Abe", "Smith", mobile="0412 311 111")
    ids["archived ada"] = clinic.add_patient("Ada", "Aaronson", email="ada@gmail.com")
    clinic.archive_patient(ids["archived smith"], reason="Moved away")
    clinic.archive_patient(ids["archived ada"], reason="Moved away")
    return ids


def _name_order(clinic: Clinic, pids: list[int]) -> list[int]:
    records = clinic.patients_by_ids(pids)
    return [
        r.id
        for r in sorted(records, key=lambda r: (r.last_name.lower(), r.first_name.lower(), r.id))
    ]


@pytest.mark.parametrize("include_archived", [False, True])
def test_a_limited_search_gives_the_first_of_the_unlimited_one(clinic, include_archived):
    _fill(clinic)
    for search in SEARCHES:
        every = clinic.patient_ids(search=search, include_archived=include_archived)
        assert every == _name_order(clinic, every), search
        for limit in (0, 1, 2, 3, 5, 200):
            got = clinic.patient_ids(search=search, include_archived=include_archived, limit=limit)
            assert got == every[:limit], (search, limit)
        backwards = clinic.patient_ids(
            search=search, include_archived=include_archived, descending=True, limit=3
        )
        assert backwards == every[::-1][:3], search
    assert len(clinic.patient_ids(search="smith", include_archived=include_archived)) == (
        8 if include_archived else 7
    )


def test_archived_patients_are_left_out_of_searches_unless_asked_for(clinic):
    ids = _fill(clinic)
    archived = {ids["archived smith"], ids["archived ada"]}
    for search in ("smith", "abe", "0412 311", "ada", "gmail"):
        assert not archived & set(clinic.patient_ids(search=search, limit=200)), search
    assert ids["archived smith"] in clinic.patient_ids(search="0412 311", include_archived=True)
    assert clinic.patient_ids(search="abe smith", include_archived=True, limit=200) == [
        ids["archived smith"]
    ]
    assert clinic.patient_ids(search="aaronson", include_archived=True, limit=1) == [
        ids["archived ada"]
    ]
    # Restored: found again at once, in its place among the Smiths.
    clinic.restore_patient(ids["archived smith"])
    smiths = clinic.patient_ids(search="smith", limit=200)
    assert ids["archived smith"] in smiths and smiths == _name_order(clinic, smiths)
    # Nguyen (mia.smith@...), Osmith, then Abe first of the Smiths.
    assert clinic.patient_ids(search="smith", limit=3) == [
        ids["Mia Nguyen 6"],
        ids["Sam Osmith 7"],
        ids["archived smith"],
    ]
    clinic.archive_patient(ids["archived smith"], reason="Moved away again")
    assert ids["archived smith"] not in clinic.patient_ids(search="smith", limit=200)
