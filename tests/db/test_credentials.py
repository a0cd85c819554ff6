"""The PostgreSQL password from the keychain, and TLS settings passed through to libpq."""

from __future__ import annotations

import gc

import pytest
from sqlalchemy.engine import make_url

from desktop_app.app import main
from desktop_app.core import BillingError, Clinic, Refusal
from desktop_app.core.db.credentials import SERVICE, remember_password, with_stored_password


def test_the_password_is_kept_in_the_keychain_and_used_on_open(keychain, pg_databases):
    url = pg_databases.new()
    key = remember_password(url, "s3cret pass")
    assert keychain.entries[(SERVICE, key)] == "s3cret pass"
    assert make_url(with_stored_password(url)).password == "s3cret pass"
    with Clinic.open(url) as clinic:  # the test server trusts its users; the password is sent
        assert clinic.add_patient("Ada", "Lovelace")
    assert "s3cret" not in Clinic.open(url).url  # never shown


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("sqlite:///clinic.db", Refusal.BAD_CHOICE),  # only a PostgreSQL server's password
        ("postgresql+psycopg://server/clinic", Refusal.MISSING),  # no user name
        ("postgresql+psycopg://clinic:inline@server/clinic", Refusal.BAD_TEXT),  # a password in it
    ],
)
def test_remember_password_refuses_what_it_cannot_keep(keychain, url, code):
    with pytest.raises(BillingError) as refused:
        remember_password(url, "pw")
    assert (refused.value.code, refused.value.field) == (code, "url")
    assert keychain.entries == {}


def test_a_url_with_nothing_stored_is_left_alone(keychain):
    url = "postgresql+psycopg://clinic@server/clinic?sslmode=verify-full"
    assert with_stored_password(url) == url


# psycopg's half-made connection, refused during the TLS request, complains as it is collected:
# the test collects it itself, and the module ignores that complaint wherever it is heard.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def test_tls_settings_reach_the_server(pg_databases):
    # The test server has no TLS: requiring it must fail, clearly, instead of connecting in plain.
    url = pg_databases.new() + "?sslmode=require"
    with pytest.raises(BillingError, match=r"(?i)ssl") as refused:  # says it is about TLS
        Clinic.open(url)
    assert refused.value.code == Refusal.DATABASE_ERROR
    del refused  # its traceback holds the half-made connection
    gc.collect()  # that connection's complaint is heard here, not in the next test


def test_remember_password_command(keychain, monkeypatch, capsys):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "from the prompt")
    url = "postgresql+psycopg://clinic@server.local/clinic"
    assert main(["--database", url, "remember-password"]) == 0
    assert "clinic@server.local:5432/clinic" in capsys.readouterr().out
    assert keychain.entries[(SERVICE, "clinic@server.local:5432/clinic")] == "from the prompt"
    assert main(["remember-password"]) == 1
