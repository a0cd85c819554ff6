"""Names and descriptions come back exactly as typed, on SQLite and PostgreSQL."""

import pytest

from desktop_app.core import BillingError

TEXTS = [
    "Zoë Ångström-Łukasiewicz",
    "שרה כהן",  # right to left
    "محمد بن علي",
    "Ada 👩‍⚕️ Lovelace 🏥",
    "Robert'); DROP TABLE patients;--",
    "%_\\' OR '1'='1",
    "e\u0301 (combining accent)",
    "tab\tand\nnew line",
    "x" * 200,
]


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_text_round_trips_verbatim(clinic, text):
    pid = clinic.add_patient(text, text)
    record = clinic.patient(pid)
    assert (record.first_name, record.last_name) == (text.strip(), text.strip())
    iid = clinic.create_invoice(pid, [(text, "10", 1)])
    assert clinic.invoice(iid).lines[0].description == text
    assert pid in clinic.patient_ids(text.split()[0])
    assert clinic.verify() == []


def test_text_too_long_is_refused_not_cut(clinic):
    with pytest.raises(BillingError, match="longer than 200"):
        clinic.add_patient("x" * 201, "Smith")
    pid = clinic.add_patient("Ada", "Lovelace")
    with pytest.raises(BillingError, match="longer than 500"):
        clinic.create_invoice(pid, [("x" * 501, "10", 1)])
    assert clinic.invoices(pid) == []
