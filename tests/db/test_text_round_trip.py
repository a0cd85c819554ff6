"""Names and descriptions come back exactly as typed, on SQLite and PostgreSQL."""

import pytest

from desktop_app.core import BillingError, Refusal

TEXTS = [
    "Zoë Ångström-Łukasiewicz",
    "שרה כהן",  # right to left
    "محمد بن علي",
    "Ada 👩‍⚕️ Lovelace 🏥",
    "Robert'); DROP TABLE patients;--",
    "%_\\' OR '1'='1",
    "e\u0301 (combining accent)",
    '\u200f\u05e9\u05e8\u05d4 \u200e(\u05ea"\u05d0)',  # right-to-left and left-to-right marks
    "x" * 200,
]


# SQLite in the quick run (-m "not slow"); PostgreSQL as well in the full run.
SQLITE_QUICK = pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)], indirect=True
)


@SQLITE_QUICK
@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_text_round_trips_verbatim(clinic, text):
    pid = clinic.add_patient(text, text)
    record = clinic.patient(pid)
    assert (record.first_name, record.last_name) == (text.strip(), text.strip())
    iid = clinic.create_invoice(pid, [(text, "10", 1)])
    assert clinic.invoice(iid).lines[0].description == text
    assert pid in clinic.patient_ids(text.split()[0])
    assert clinic.verify() == []


def test_reasons_keep_their_lines_and_tabs(clinic):
    """Names and descriptions are one line (a tab or a line break is refused); a reason may have
    several."""
    pid = clinic.add_patient("Ada", "Lovelace")
    with pytest.raises(BillingError) as refused:
        clinic.add_patient("tab\tand\nnew line", "Smith")
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_TEXT, "first_name")
    with pytest.raises(BillingError) as refused:
        clinic.add_patient("new\nline", "Smith")
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_TEXT, "first_name")
    with pytest.raises(BillingError) as refused:
        clinic.create_invoice(pid, [("tab\tand", "10", 1)])
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_TEXT, "lines")
    iid = clinic.create_invoice(pid, [("Consult", "10", 1)])
    clinic.credit_note(iid, "1", reason="tab\tand\nnew line", request_id="cn")
    assert clinic.credit_notes(pid)[0].reason == "tab\tand\nnew line"


def test_text_too_long_is_refused_not_cut(clinic):
    with pytest.raises(BillingError) as refused:
        clinic.add_patient("x" * 201, "Smith")
    assert (refused.value.code, refused.value.field) == (Refusal.TOO_LONG, "first_name")
    pid = clinic.add_patient("Ada", "Lovelace")
    with pytest.raises(BillingError) as refused:
        clinic.create_invoice(pid, [("x" * 501, "10", 1)])
    assert (refused.value.code, refused.value.field) == (Refusal.TOO_LONG, "lines")
    assert clinic.invoices(pid) == []
