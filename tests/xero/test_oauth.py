"""Connecting to Xero end to end against a fake authorisation server on 127.0.0.1: the browser
sent to Xero's sign-in with a PKCE challenge and a state, the code received on the loopback
address, the verifier checked by the token endpoint, a wrong state refused before any token is
asked for; refresh (a new refresh token each time), revocation, the organisations listed, and
the refresh token kept in the keychain only."""

from __future__ import annotations

import base64
import hashlib
import urllib.error
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import select

from desktop_app.core import BillingError, Refusal
from desktop_app.core.db.models import Setting
from desktop_app.core.xero.oauth import (
    Endpoints,
    Setup,
    TokenStore,
    XeroOrganisation,
    authorize,
    organisations,
    pkce_pair,
    refresh,
    revoke,
)
from tests.xero_fake import FakeXero
from tests.xero_identity import CLIENT_ID, FakeIdentity, browser


@pytest.fixture
def identity():
    fake = FakeIdentity()
    yield fake
    fake.stop()


def test_connect_with_pkce_lists_organisations_and_keeps_the_refresh_token(identity):
    ends = Endpoints.under(identity.base)
    tokens = authorize(CLIENT_ID, browser(), endpoints=ends, port=0, timeout=10)
    assert tokens.refresh_token in identity.refresh_tokens
    (exchange,) = identity.token_calls
    assert exchange["grant_type"] == "authorization_code" and exchange["code_verifier"]
    # The organisations, not the practice (an adviser's practice is not a ledger to sync).
    assert organisations(tokens.access_token, ends) == [XeroOrganisation("t-1", "Harbour Physio")]
    renewed = refresh(CLIENT_ID, tokens.refresh_token, ends)
    assert renewed.refresh_token != tokens.refresh_token
    with pytest.raises(BillingError, match="invalid_grant"):
        refresh(CLIENT_ID, tokens.refresh_token, ends)  # the old one was rotated away
    revoke(CLIENT_ID, renewed.refresh_token, ends)
    assert identity.revoked == [renewed.refresh_token]
    with pytest.raises(BillingError, match="invalid_grant"):
        refresh(CLIENT_ID, renewed.refresh_token, ends)


def test_a_wrong_state_is_refused_before_any_token_is_asked_for(identity):
    ends = Endpoints.under(identity.base)
    with pytest.raises(BillingError, match="did not carry this sign-in's state") as refused:
        authorize(CLIENT_ID, browser({"state": "forged"}), endpoints=ends, port=0, timeout=10)
    assert refused.value.code == Refusal.BAD_CHOICE
    assert identity.token_calls == []


def test_a_wrong_verifier_is_refused_by_xero(identity):
    """The PKCE check itself: a code exchanged with another verifier gets no token."""
    ends = Endpoints.under(identity.base)
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    identity.codes["c"] = {
        "redirect_uri": "http://127.0.0.1:1/callback",
        "code_challenge": challenge,
    }
    other, _ = pkce_pair()
    form = {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "code": "c",
        "redirect_uri": "http://127.0.0.1:1/callback",
        "code_verifier": other,
    }
    request = urllib.request.Request(
        ends.token, data=urllib.parse.urlencode(form).encode(), method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    refused.value.close()
    assert refused.value.code == 400


def test_declining_or_not_finishing_connects_nothing(identity):
    ends = Endpoints.under(identity.base)
    identity.decline = True
    with pytest.raises(BillingError, match="access_denied"):
        authorize(CLIENT_ID, browser(), endpoints=ends, port=0, timeout=10)
    with pytest.raises(BillingError, match="not finished in time"):
        authorize(CLIENT_ID, lambda url: None, endpoints=ends, port=0, timeout=0.2)
    with pytest.raises(BillingError, match="CLINIC_XERO_CLIENT_ID") as missing:
        authorize("", browser(), endpoints=ends, port=0)
    assert missing.value.code == Refusal.MISSING
    assert identity.token_calls == []


def test_the_refresh_token_lives_in_the_keychain_only(keychain):
    store = TokenStore()
    assert store.load("t-1") is None
    store.save("t-1", "refresh-1")
    store.save("t-1", "refresh-2")  # rotated
    assert store.load("t-1") == "refresh-2"
    assert keychain.entries == {("Clinic Ledger Xero", "t-1"): "refresh-2"}
    store.forget("t-1")
    store.forget("t-1")  # nothing left: no error
    assert store.load("t-1") is None


def test_a_clinic_connects_to_one_organisation_and_disconnects(clinic, identity, keychain):
    """The organisation is a clinic setting (audited); the refresh token is in the keychain
    only; disconnecting revokes it at Xero and forgets both."""
    setup = Setup(CLIENT_ID, Endpoints.under(identity.base), 0)
    assert clinic.xero_organisation() is None
    chosen = clinic.connect_xero(
        browser(), lambda found: pytest.fail("one organisation: nothing to ask"), setup=setup
    )
    assert chosen == XeroOrganisation("t-1", "Harbour Physio") == clinic.xero_organisation()
    (token,) = keychain.entries.values()
    assert token in identity.refresh_tokens
    settings = clinic.store.fetch(lambda s: [r.value for r in s.scalars(select(Setting))])
    assert "t-1" in settings and not [v for v in settings if token in v]  # not in the database
    entry = clinic.audit_entries_by_ids(clinic.audit_entry_ids()[:1])[0]
    assert "xero tenant name" in entry.summary and "Harbour Physio" in entry.summary

    gone = clinic.disconnect_xero(setup=setup)
    assert gone == chosen and gone.revoked and clinic.xero_organisation() is None
    assert identity.revoked == [token] and keychain.entries == {}
    with pytest.raises(BillingError) as again:
        clinic.disconnect_xero(setup=setup)
    assert again.value.code == Refusal.ALREADY_DONE


def test_only_a_role_with_the_settings_permission_connects(clinic, identity, keychain):
    from desktop_app.core import PermissionDenied, Role

    clinic.add_staff("admin", "Alex Admin", Role.ADMINISTRATOR, "correct horse 7")
    clinic.add_staff("desk", "Dee Desk", Role.RECEPTIONIST, "correct horse 7")
    desk = clinic.sign_in("desk", "correct horse 7")
    opened: list[str] = []
    with pytest.raises(PermissionDenied):
        desk.connect_xero(
            opened.append,
            lambda found: found[0],
            setup=Setup(CLIENT_ID, Endpoints.under(identity.base), 0),
        )
    assert opened == [] and keychain.entries == {} and clinic.xero_organisation() is None


def test_the_command_line_connects_says_which_and_disconnects(
    identity, keychain, tmp_path, monkeypatch, capsys
):
    import webbrowser

    from desktop_app.app import main

    database = ["--database", f"sqlite:///{tmp_path / 'clinic.db'}"]
    monkeypatch.setenv("CLINIC_XERO_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("CLINIC_XERO_IDENTITY_BASE", identity.base)
    monkeypatch.setenv("CLINIC_XERO_REDIRECT_PORT", "0")
    monkeypatch.setattr(webbrowser, "open", browser())
    assert main([*database, "xero", "status"]) == 0
    assert "Not connected to Xero" in capsys.readouterr().out
    assert main([*database, "xero", "connect"]) == 0
    assert "Connected to Xero: Harbour Physio." in capsys.readouterr().out
    # Status renews this computer's access and checks the mapping against the chart; this
    # organisation's chart has no clearing account for the clinic's payment types yet.
    xero = FakeXero(tenant="t-1", accept=lambda token: token in identity.access_tokens).start()
    monkeypatch.setenv("CLINIC_XERO_API_BASE", xero.url)
    try:
        assert main([*database, "xero", "status"]) == 1
    finally:
        xero.stop()
    out = capsys.readouterr().out
    assert "Connected to Xero: Harbour Physio (t-1)." in out
    assert "- The Credit card clearing account CLR-CREDIT is not in Xero's chart" in out
    assert xero.invalid == [] and ("GET", "/TaxRates") in xero.requests
    assert main([*database, "xero", "disconnect"]) == 0
    assert "its sign-in is revoked" in capsys.readouterr().out
    assert main([*database, "xero", "disconnect"]) == 1
    assert "not connected to Xero" in capsys.readouterr().err
    monkeypatch.setenv("CLINIC_XERO_CLIENT_ID", "")
    assert main([*database, "xero", "connect"]) == 1
    assert "CLINIC_XERO_CLIENT_ID" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*database, "xero", "sideways"])


def test_the_setup_comes_from_the_environment():
    setup = Setup.from_environment({})
    assert (setup.client_id, setup.endpoints, setup.port) == ("", Endpoints(), 8749)
    assert setup.endpoints.authorize == "https://login.xero.com/identity/connect/authorize"
    mine = Setup.from_environment(
        {
            "CLINIC_XERO_CLIENT_ID": "abc",
            "CLINIC_XERO_IDENTITY_BASE": "http://127.0.0.1:9/",
            "CLINIC_XERO_REDIRECT_PORT": "9000",
        }
    )
    assert mine == Setup("abc", Endpoints.under("http://127.0.0.1:9"), 9000)
    assert mine.endpoints.token == "http://127.0.0.1:9/connect/token"
    with pytest.raises(BillingError, match="'90000' is not a port number"):
        Setup.from_environment({"CLINIC_XERO_REDIRECT_PORT": "90000"})


def test_a_connected_computer_renews_its_access_for_each_client(clinic, identity, keychain):
    setup = Setup(CLIENT_ID, Endpoints.under(identity.base), 0)
    with pytest.raises(BillingError, match="not connected to Xero"):
        clinic.xero_client(setup=setup, environ={})
    clinic.connect_xero(browser(), lambda found: found[0], setup=setup)
    (first,) = keychain.entries.values()
    client = clinic.xero_client(setup=setup, environ={"CLINIC_XERO_API_BASE": "http://x/api"})
    (second,) = keychain.entries.values()
    assert second != first and second in identity.refresh_tokens  # rotated, kept
    assert (client.tenant_id, client.base_url) == ("t-1", "http://x/api")
    assert client.access_token in identity.access_tokens
    keychain.entries.clear()  # another computer: no sign-in of its own
    with pytest.raises(BillingError, match="This computer holds no Xero sign-in"):
        clinic.xero_client(setup=setup, environ={})
    gone = clinic.disconnect_xero(setup=setup)  # forgets it, but had nothing to revoke
    assert not gone.revoked and identity.revoked == [] and clinic.xero_organisation() is None
