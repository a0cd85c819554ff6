"""Connecting to Xero end to end against a fake authorisation server on 127.0.0.1: the browser
sent to Xero's sign-in with a PKCE challenge and a state, the code received on the loopback
address, the verifier checked by the token endpoint, a wrong state refused before any token is
asked for; refresh (a new refresh token each time), revocation, the organisations listed, and
the refresh token kept in the keychain only."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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

CLIENT_ID = "clinic-ledger-test-client"


class FakeIdentity:
    """Xero's identity service as far as connecting uses it."""

    def __init__(self) -> None:
        self.codes: dict[str, dict[str, str]] = {}
        self.refresh_tokens: set[str] = set()
        self.access_tokens: set[str] = set()
        self.revoked: list[str] = []
        self.token_calls: list[dict[str, str]] = []
        self.decline = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake.get(self)

            def do_POST(self) -> None:
                fake.post(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reply(self, http: BaseHTTPRequestHandler, status: int, body: Any, **headers: str) -> None:
        data = json.dumps(body).encode()
        http.send_response(status)
        for name, value in headers.items():
            http.send_header(name, value)
        http.send_header("Content-Type", "application/json")
        http.send_header("Content-Length", str(len(data)))
        http.end_headers()
        http.wfile.write(data)

    def get(self, http: BaseHTTPRequestHandler) -> None:
        parts = urllib.parse.urlsplit(http.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(parts.query).items()}
        if parts.path == "/identity/connect/authorize":
            assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
            assert query["code_challenge_method"] == "S256"
            assert query["redirect_uri"].startswith("http://127.0.0.1:")
            assert "offline_access" in query["scope"].split()
            back = {"state": query["state"]}
            if self.decline:
                back["error"] = "access_denied"
            else:
                code = secrets.token_urlsafe(8)
                self.codes[code] = query
                back["code"] = code
            location = f"{query['redirect_uri']}?{urllib.parse.urlencode(back)}"
            self.reply(http, 302, {}, Location=location)
        elif parts.path == "/connections":
            token = http.headers.get("Authorization", "").removeprefix("Bearer ")
            if token not in self.access_tokens:
                self.reply(http, 401, {"error": "invalid_token"})
                return
            self.reply(
                http,
                200,
                [
                    {
                        "tenantId": "t-1",
                        "tenantName": "Harbour Physio",
                        "tenantType": "ORGANISATION",
                    },
                    {"tenantId": "p-1", "tenantName": "Practice", "tenantType": "PRACTICE"},
                ],
            )
        else:
            self.reply(http, 404, {})

    def post(self, http: BaseHTTPRequestHandler) -> None:
        length = int(http.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in urllib.parse.parse_qs(http.rfile.read(length).decode()).items()}
        if http.path == "/connect/revocation":
            self.refresh_tokens.discard(form["token"])
            self.revoked.append(form["token"])
            self.reply(http, 200, {})
            return
        self.token_calls.append(form)
        assert "client_secret" not in form  # a desktop app holds no secret
        if form.get("client_id") != CLIENT_ID:
            self.reply(http, 400, {"error": "invalid_client"})
            return
        if form["grant_type"] == "authorization_code":
            asked = self.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if (
                asked is None
                or asked["redirect_uri"] != form.get("redirect_uri")
                or asked["code_challenge"] != challenge
            ):
                self.reply(http, 400, {"error": "invalid_grant"})
                return
        elif form["grant_type"] == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                self.reply(http, 400, {"error": "invalid_grant"})
                return
            self.refresh_tokens.discard(form["refresh_token"])  # Xero rotates them
        access, again = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
        self.access_tokens.add(access)
        self.refresh_tokens.add(again)
        self.reply(
            http,
            200,
            {"access_token": access, "refresh_token": again, "expires_in": 1800},
        )


@pytest.fixture
def identity():
    fake = FakeIdentity()
    yield fake
    fake.stop()


def browser(tamper: dict[str, str] | None = None):
    """The system browser: follows Xero's redirect back to the app's loopback address
    (``tamper`` changes the sign-in request's parameters on the way, as a forged page would)."""

    def open_url(url: str) -> None:
        if tamper:
            parts = urllib.parse.urlsplit(url)
            query = {k: v[0] for k, v in urllib.parse.parse_qs(parts.query).items()}
            url = parts._replace(query=urllib.parse.urlencode({**query, **tamper})).geturl()
        with urllib.request.urlopen(url, timeout=10) as page:
            page.read()

    return open_url


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
    assert gone == chosen and clinic.xero_organisation() is None
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
    assert main([*database, "xero", "status"]) == 0
    assert "Connected to Xero: Harbour Physio (t-1)." in capsys.readouterr().out
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
