"""PostgreSQL row locks that keep the currency and credit consistent across computers."""

import psycopg
import pytest
from sqlalchemy.engine import make_url

import desktop_app.core.ledger.store as store_module
from desktop_app.core import Clinic, DatabaseBusyError, Refusal


def _raw(url: str) -> psycopg.Connection:
    return psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))


@pytest.fixture
def pg_clinic(pg_databases, monkeypatch):
    monkeypatch.setattr(store_module, "PG_LOCK_TIMEOUT", "300ms")  # keep the waits short
    url = pg_databases.new()
    with Clinic.open(url) as opened:
        yield opened, url


def test_currency_change_waits_for_an_invoice_being_saved(pg_clinic):
    clinic, url = pg_clinic
    with _raw(url) as other:  # another computer in the middle of saving an invoice
        other.execute("SELECT value FROM settings WHERE key = 'currency' FOR SHARE")
        with pytest.raises(DatabaseBusyError):
            clinic.set_currency("NZD")
    assert clinic.currency == "AUD"


def test_invoice_waits_for_a_currency_change_being_saved(pg_clinic):
    clinic, url = pg_clinic
    pid = clinic.add_patient("Ada", "Lovelace")
    with _raw(url) as other:  # another computer in the middle of changing the currency
        other.execute("SELECT value FROM settings WHERE key = 'currency' FOR UPDATE")
        with pytest.raises(DatabaseBusyError):
            clinic.create_invoice(pid, [("Consult", "50", 1)])
        with pytest.raises(DatabaseBusyError):
            clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "5"}), "p")
    assert clinic.invoices(pid) == [] and clinic.payments(pid) == []


def test_two_saves_for_one_patient_take_turns(pg_clinic):
    clinic, url = pg_clinic
    pid = clinic.add_patient("Ada", "Lovelace")
    with _raw(url) as other:
        other.execute("SELECT id FROM patients WHERE id = %s FOR UPDATE", (pid,))
        with pytest.raises(DatabaseBusyError, match="try again") as refused:  # what to do next
            clinic.refund_credit(pid, "1", method="Cash", request_id="r")
        assert refused.value.code == Refusal.DATABASE_BUSY
    assert clinic.payments(pid) == []
