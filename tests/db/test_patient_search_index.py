"""The patient search index (SQLite's FTS5 trigram table): a search whose words are rare reads the
few patients the index names instead of walking every patient in name order, and finds exactly
the patients the walk finds, in the same order; the index follows every change to a patient,
is made for the patients of an upgraded database, and Verify ledger and the schema check notice
when it has been tampered with."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from desktop_app.core import BillingError, Clinic, Refusal
from desktop_app.core.interchange.importing import import_file
from desktop_app.core.ledger import read_models
from tests.helpers import database_at

SURNAMES = ("Smith", "O'Brien", "Nguyen", "Papadopoulos", "Ó-Súilleabháin", "Kowalczyk", "Lee")
FIRST = ("Ada", "Zoë", "José", "Mia", "Hamish", "Grace", "Wiremu", "Aroha")
PROVIDERS = ("gmail.com", "outlook.com", "bigpond.net.au", "xtra.co.nz")


def _people(count: int, seed: int = 17) -> list[tuple[str, str, str, str, str]]:
    """first, last, mobile, email, date of birth: names shared, phones and emails nearly
    unique."""
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        first, last = rng.choice(FIRST), rng.choice(SURNAMES)
        mobile = f"04{rng.randrange(10**8):08d}"
        email = f"{first.lower()[:3]}{n}@{rng.choice(PROVIDERS)}" if n % 3 else ""
        born = f"{rng.randrange(1930, 2020)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        rows.append((first, last, f"{mobile[:4]} {mobile[4:7]} {mobile[7:]}", email, born))
    return rows


def _import_people(clinic: Clinic, folder: Path, count: int) -> None:
    csv = folder / "patients.csv"
    lines = ["external_id,first_name,last_name,mobile,email,date_of_birth"]
    lines += [
        f"P{n},{first},{last},{mobile},{email},{born}"
        for n, (first, last, mobile, email, born) in enumerate(_people(count))
    ]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_file(clinic, "patients", csv)


@pytest.fixture(scope="module")
def big_clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    """1,500 patients on SQLite, a few archived."""
    folder = tmp_path_factory.mktemp("search-index")
    with Clinic.open(f"sqlite:///{folder / 'clinic.db'}") as clinic:
        _import_people(clinic, folder, 1500)
        for pid in (3, 30, 300):
            clinic.archive_patient(pid, reason="Moved away")
        yield clinic


class Spy:
    """What ``few_matches`` answered for each search (None: the list was walked)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: list[list[int] | None] = []
        real = read_models.few_matches

        def spy(connection, search):  # type: ignore[no-untyped-def]
            answer = real(connection, search)
            self.answers.append(answer)
            return answer

        monkeypatch.setattr(read_models, "few_matches", spy)


def _walked(clinic: Clinic, search: str, **options: object) -> list[int]:
    """The search without the index: the patients in name order, each key tested."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(read_models, "few_matches", lambda _connection, _search: None)
        return clinic.patient_ids(search=search, **options)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def few_is_100(monkeypatch: pytest.MonkeyPatch) -> None:
    """At most 100 candidates read through the index (1,000 in the app), so that 1,500 patients
    exercise both ways."""
    monkeypatch.setattr(read_models, "FEW_MATCHES", 100)


@pytest.mark.parametrize(
    ("search", "through_index"),
    [
        # (the index's candidates, the patients found, with the walk's patients)
        ("papadopoulos", False),  # 228 of them: walked in name order
        ("gra", False),  # 183
        ("kowal 1", False),  # 203 candidates, 200 found
        ("mia0", True),  # none: no key holds it
        ("zoe1", True),  # 56
        ("hamish 0412", True),  # 1
        ("ada1@", True),  # 61
        ("osuill wir", True),  # 25
        ("smith jose", True),  # 27
        ("0412", True),  # 26 candidates hold 041 and 412, 24 of them 0412
        ("1985-07-09", False),  # a date of birth is tested in the list
        ("41", False),  # too short to look up
    ],
)
def test_the_index_finds_what_the_walk_finds_in_the_same_order(
    big_clinic: Clinic, monkeypatch: pytest.MonkeyPatch, search: str, through_index: bool
) -> None:
    walked = {
        (archived, limit): _walked(big_clinic, search, include_archived=archived, limit=limit)
        for archived in (False, True)
        for limit in (None, 5, 200)
    }
    spy = Spy(monkeypatch)
    for (archived, limit), expected in walked.items():
        assert big_clinic.patient_ids(search, include_archived=archived, limit=limit) == expected
    assert all((answer is not None) == through_index for answer in spy.answers), spy.answers


def test_a_rare_fragment_is_found_through_the_index(
    big_clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    _first, last, mobile, email, _born = _people(1500)[1234]
    spy = Spy(monkeypatch)
    for search in (mobile[-6:], mobile[:7], email.split("@")[0] + "@", f"{last[:4]} {mobile[-4:]}"):
        found = big_clinic.patient_ids(search, limit=200)
        assert 1235 in found, search
        assert found == _walked(big_clinic, search, limit=200)
    assert all(answer is not None and len(answer) < 20 for answer in spy.answers), spy.answers


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_search_finds_the_same_patients_with_or_without_the_index(
    big_clinic: Clinic, data: st.DataObject
) -> None:
    """Fragments of real keys (names, phones, emails, split and joined) and random text."""
    first, last, mobile, email, _born = data.draw(st.sampled_from(_people(1500)))
    pieces = [first, last, mobile.replace(" ", ""), email]
    piece = data.draw(st.sampled_from(pieces))
    start = data.draw(st.integers(0, max(0, len(piece) - 1)))
    length = data.draw(st.integers(1, 9))
    fragment = piece[start : start + length]
    other = data.draw(st.sampled_from(["", first[:3], last[1:4], "x", "ab1"]))
    noise = data.draw(st.text(alphabet="aeiouéölnrst0123@. '-", max_size=6))
    for search in (fragment, f"{fragment} {other}", noise, f"{other} {noise}"):
        for archived in (False, True):
            expected = _walked(big_clinic, search, include_archived=archived)
            got = big_clinic.patient_ids(search, include_archived=archived)
            assert got == expected, search
            assert big_clinic.patient_ids(search, include_archived=archived, limit=3) == got[:3]


def test_keys_that_hold_the_letters_apart_are_not_found(tmp_path: Path) -> None:
    """The index answers with patients holding every three-letter piece of the word anywhere
    in their key; only those holding the word itself are found."""
    with Clinic.open(f"sqlite:///{tmp_path / 'c.db'}") as clinic:
        apart = clinic.add_patient("Bcd", "Abcx")  # key "abcx bcd": abc and bcd, not abcd
        together = clinic.add_patient("Ada", "Abcd")
        assert clinic.patient_ids("abcd") == [together]
        assert clinic.patient_ids("bcd") == [together, apart]


def test_the_index_follows_every_change_to_a_patient(
    clinic_sqlite: Clinic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clinic = clinic_sqlite
    spy = Spy(monkeypatch)
    ada = clinic.add_patient("Ada", "Lovelace", mobile="0412 345 678")
    assert clinic.patient_ids("345678") == [ada]
    clinic.update_patient(ada, last_name="Byron", mobile="0499 111 222")
    assert clinic.patient_ids("lovelace") == []
    assert clinic.patient_ids("345678") == []
    assert clinic.patient_ids("byron") == [ada]
    assert clinic.patient_ids("111222") == [ada]
    twin = clinic.add_patient("Ada", "Byron", email="countess@engine.org")
    clinic.merge_patients(ada, twin, reason="Duplicate", preview=clinic.preview_merge(ada, twin))
    assert clinic.patient_ids("countess") == [ada]  # the kept patient took the email she lacked
    assert clinic.patient_ids("countess", include_archived=True) == [ada, twin]
    clinic.archive_patient(ada, reason="Moved away")
    assert clinic.patient_ids("byron") == []
    clinic.restore_patient(ada)
    assert clinic.patient_ids("byron") == [ada]
    csv = tmp_path / "patients.csv"
    csv.write_text("external_id,first_name,last_name,mobile\nX1,Grace,Hopper,0455 987 654\n")
    import_file(clinic, "patients", csv)
    grace = clinic.patient_ids("hopper")
    assert len(grace) == 1 and clinic.patient_ids("987654") == grace
    assert all(answer is not None for answer in spy.answers), spy.answers
    assert clinic.verify() == []


@pytest.fixture
def clinic_sqlite(new_sqlite_url: Callable[[], str]) -> Iterator[Clinic]:
    with Clinic.open(new_sqlite_url()) as clinic:
        yield clinic


def _sqlite(url: str) -> closing[sqlite3.Connection]:
    return closing(sqlite3.connect(url.removeprefix("sqlite:///")))


def test_verify_ledger_names_an_index_out_of_step(new_sqlite_url: Callable[[], str]) -> None:
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        pid = clinic.add_patient("Ada", "Lovelace")
        assert clinic.verify() == []
    with _sqlite(url) as conn:  # the index loses Ada: searches would miss her
        conn.execute(
            "INSERT INTO patients_search(patients_search, rowid, search_key) "
            "VALUES ('delete', ?, 'lovelace ada')",
            (pid,),
        )
        conn.commit()
    with Clinic.open(url) as clinic:
        problems = clinic.verify()
    assert len(problems) == 1 and "search index is out of step" in problems[0]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            ["DROP TRIGGER patients_search_update"],
            "the trigger patients_search_update on patients is missing",
        ),
        (
            [
                "DROP TABLE patients_search",
                "CREATE VIRTUAL TABLE patients_search USING fts5(search_key, content='patients', "
                "content_rowid='id', tokenize='trigram', detail=full, columnsize=0)",
            ],
            "the virtual table patients_search is not as Clinic Ledger made it",
        ),
        (["DROP TABLE patients_search"], "the table patients_search is missing"),
    ],
)
def test_a_tampered_search_index_is_refused(
    new_sqlite_url: Callable[[], str], change: list[str], named: str
) -> None:
    url = new_sqlite_url()
    with _sqlite(url) as conn:
        for statement in change:
            conn.execute(statement)
        conn.commit()
    with pytest.raises(BillingError, match=named) as refused:
        Clinic.open(url)
    assert refused.value.code == Refusal.FOREIGN_SCHEMA


def test_upgrading_indexes_the_patients_already_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with database_at(url, "0012_patient_search_index") as connection:
        for pid in range(1, 2001):
            connection.execute(
                text(
                    "INSERT INTO patients (id, first_name, last_name, created_at, credit_minor,"
                    " outstanding_minor, search_key) VALUES (:id, 'Ada', :last,"
                    " '2026-11-01 09:00:00', 0, 0, :key)"
                ),
                {"id": pid, "last": f"Lovelace{pid:04d}", "key": f"lovelace{pid:04d} ada"},
            )
    spy = Spy(monkeypatch)
    with Clinic.open(url) as clinic:
        assert clinic.patient_ids("lovelace1234") == [1234]
        assert clinic.patient_ids("ada", limit=2) == [1, 2]
        assert spy.answers[0] == [1234] and spy.answers[1] is None
        assert clinic.verify() == []
