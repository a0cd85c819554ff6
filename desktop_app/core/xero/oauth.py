"""Connecting to Xero: OAuth 2.0's authorization code flow with PKCE, as Xero documents it for
desktop apps (no client secret in the app).

:func:`authorize` opens the system browser at Xero's sign-in page and listens on a loopback
address (``http://127.0.0.1:PORT/callback``) for the code Xero sends back; it checks the
``state`` it sent (a code with any other state is refused: another page tried to connect) and
exchanges the code, with the PKCE verifier, for tokens; then :func:`organisations` lists the
Xero organisations the person allowed (the caller asks which one when there are several).

:class:`TokenStore` keeps the refresh token in the operating system's keychain (keyring), never in
the database or a file; :func:`refresh` trades it for a new access token (Xero gives a new
refresh token each time, stored at once) and :func:`revoke` ends it on Xero's side.

Xero's identity service is at ``identity.xero.com`` and ``login.xero.com``;
``CLINIC_XERO_IDENTITY_BASE`` replaces both (the tests' fake authorisation server). The app's
Xero client id comes from ``CLINIC_XERO_CLIENT_ID`` (a clinic registers the app once in Xero's
developer portal, with the redirect address above).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from ..domain.errors import BillingError, Refusal

AUTHORIZE_URL = "https://login.xero.com/identity/connect/authorize"
TOKEN_URL = "https://identity.xero.com/connect/token"
REVOKE_URL = "https://identity.xero.com/connect/revocation"
CONNECTIONS_URL = "https://api.xero.com/connections"
#: What the sync needs: contacts, invoices, payments and allocations, the chart of accounts
#: and tax rates; ``offline_access`` for a refresh token.
SCOPES = (
    "openid profile email offline_access accounting.transactions accounting.contacts "
    "accounting.settings.read"
)
#: The loopback port registered with the app's redirect address in Xero.
DEFAULT_PORT = 8749
#: How long the sign-in page may take, in seconds.
SIGN_IN_TIMEOUT = 300
#: The keychain's service name for the refresh token (one entry per Xero organisation).
KEYCHAIN_SERVICE = "Clinic Ledger Xero"


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where Xero's identity service answers (the tests point these at a fake)."""

    authorize: str = AUTHORIZE_URL
    token: str = TOKEN_URL
    revoke: str = REVOKE_URL
    connections: str = CONNECTIONS_URL

    @classmethod
    def under(cls, base: str) -> Endpoints:
        """Every endpoint below one base URL (``CLINIC_XERO_IDENTITY_BASE``)."""
        base = base.rstrip("/")
        return cls(
            f"{base}/identity/connect/authorize",
            f"{base}/connect/token",
            f"{base}/connect/revocation",
            f"{base}/connections",
        )


@dataclass(frozen=True, slots=True)
class Setup:
    """What connecting needs from the environment: the app's client id, Xero's identity
    endpoints and the loopback port."""

    client_id: str
    endpoints: Endpoints
    port: int

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Setup:
        """``CLINIC_XERO_CLIENT_ID``, ``CLINIC_XERO_IDENTITY_BASE`` (Xero's own when unset) and
        ``CLINIC_XERO_REDIRECT_PORT`` (:data:`DEFAULT_PORT` when unset); a port that is not a
        number is refused."""
        env = os.environ if environ is None else environ
        base = env.get("CLINIC_XERO_IDENTITY_BASE")
        port = env.get("CLINIC_XERO_REDIRECT_PORT", str(DEFAULT_PORT))
        if not port.isdigit() or int(port) > 65535:
            raise _refused(f"CLINIC_XERO_REDIRECT_PORT {port!r} is not a port number.")
        return cls(
            env.get("CLINIC_XERO_CLIENT_ID", ""),
            Endpoints.under(base) if base else Endpoints(),
            int(port),
        )


@dataclass(frozen=True, slots=True)
class Tokens:
    """An access token (good until ``expires_at``, seconds since the epoch) and the refresh
    token that renews it."""

    access_token: str
    refresh_token: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class XeroOrganisation:
    """A Xero organisation the person allowed the app into. After a disconnect, ``revoked``
    says whether this computer held the sign-in and revoked it at Xero (another computer's
    sign-in stays in Xero's connected apps until it is removed there)."""

    tenant_id: str
    name: str
    revoked: bool = field(default=False, compare=False)


def _refused(message: str, code: Refusal = Refusal.BAD_CHOICE) -> BillingError:
    return BillingError(message, code=code)


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier (RFC 7636: 43-128 unreserved characters) and its S256 challenge."""
    verifier = secrets.token_urlsafe(64)[:96]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge


def authorize(
    client_id: str,
    open_browser: Callable[[str], object],
    *,
    endpoints: Endpoints | None = None,
    port: int = DEFAULT_PORT,
    timeout: float = SIGN_IN_TIMEOUT,
) -> Tokens:
    """Sign in to Xero in the browser and return the tokens. Refused (BillingError, nothing
    kept) when the person declines, the state does not match, the sign-in takes longer than
    ``timeout`` seconds, or Xero refuses the code."""
    if not client_id:
        raise _refused(
            "Set the app's Xero client id (CLINIC_XERO_CLIENT_ID) before connecting: register "
            f"the app in Xero's developer portal with the redirect address "
            f"http://127.0.0.1:{port}/callback.",
            Refusal.MISSING,
        )
    ends = endpoints or Endpoints()
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    answer: dict[str, str] = {}
    arrived = threading.Event()

    class Callback(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            if parts.path != "/callback":
                self.send_error(404)
                return
            query = {k: v[0] for k, v in urllib.parse.parse_qs(parts.query).items()}
            answer.update(query)
            good = query.get("state") == state and "code" in query
            text = (
                "Clinic Ledger is connected to Xero. You can close this window."
                if good
                else "Clinic Ledger was not connected to Xero. Close this window and try again."
            )
            body = f"<html><body><p>{text}</p></body></html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            arrived.set()

    try:
        server = HTTPServer(("127.0.0.1", port), Callback)
    except OSError as exc:
        raise _refused(
            f"Port {port} on this computer is in use, so Xero's answer cannot be received "
            f"({exc.strerror}); close the program using it and connect again."
        ) from None
    redirect = f"http://127.0.0.1:{server.server_address[1]}/callback"
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect,
            "scope": SCOPES,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        open_browser(f"{ends.authorize}?{query}")
        if not arrived.wait(timeout):
            raise _refused("Xero's sign-in was not finished in time; nothing was connected.")
    finally:
        server.shutdown()
        server.server_close()
    if answer.get("error"):
        raise _refused(f"Xero did not connect: {answer['error']}; nothing was connected.")
    if answer.get("state") != state or not answer.get("code"):
        raise _refused(
            "Xero's answer did not carry this sign-in's state, so it was refused (another page "
            "may have tried to connect); nothing was connected."
        )
    return _token_call(
        ends.token,
        {
            "grant_type": "authorization_code",
            "client_id": client_id,
            "code": answer["code"],
            "redirect_uri": redirect,
            "code_verifier": verifier,
        },
    )


def refresh(client_id: str, refresh_token: str, endpoints: Endpoints | None = None) -> Tokens:
    """A new access token (and the new refresh token Xero rotates to) for a refresh token."""
    return _token_call(
        (endpoints or Endpoints()).token,
        {"grant_type": "refresh_token", "client_id": client_id, "refresh_token": refresh_token},
    )


def revoke(client_id: str, refresh_token: str, endpoints: Endpoints | None = None) -> None:
    """End the refresh token (and the connection's access) on Xero's side."""
    _post_form((endpoints or Endpoints()).revoke, {"token": refresh_token, "client_id": client_id})


def organisations(access_token: str, endpoints: Endpoints | None = None) -> list[XeroOrganisation]:
    """The organisations this sign-in may use (Xero's ``/connections``)."""
    request = urllib.request.Request(
        (endpoints or Endpoints()).connections,
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
    )
    rows = json.loads(_open(request))
    return [
        XeroOrganisation(row["tenantId"], row.get("tenantName") or row["tenantId"])
        for row in rows
        if row.get("tenantType", "ORGANISATION") == "ORGANISATION"
    ]


def _token_call(url: str, form: dict[str, str]) -> Tokens:
    reply = json.loads(_post_form(url, form))
    try:
        return Tokens(
            reply["access_token"],
            reply["refresh_token"],
            time.time() + int(reply.get("expires_in", 1800)),
        )
    except KeyError:
        raise _refused(f"Xero's token answer lacked {', '.join(reply)}.") from None


def _post_form(url: str, form: dict[str, str]) -> bytes:
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(form).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
        method="POST",
    )
    return _open(request)


def _open(request: urllib.request.Request) -> bytes:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:300]
        raise _refused(f"Xero refused the sign-in (HTTP {exc.code}: {detail}).") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise _refused(
            f"Xero's sign-in service could not be reached ({getattr(exc, 'reason', exc)}).",
            Refusal.UNREACHABLE,
        ) from None


class TokenStore:
    """The refresh token of each connected organisation, in the keychain only."""

    def __init__(self, service: str = KEYCHAIN_SERVICE) -> None:
        self.service = service

    def save(self, tenant_id: str, refresh_token: str) -> None:
        """Keep (or replace) the organisation's refresh token."""
        import keyring
        from keyring.errors import KeyringError

        try:
            keyring.set_password(self.service, tenant_id, refresh_token)
        except KeyringError as exc:
            raise _refused(
                f"This computer has no keychain to keep Xero's sign-in in ({exc}); nothing was "
                "connected.",
                Refusal.MISSING,
            ) from None

    def load(self, tenant_id: str) -> str | None:
        """The organisation's refresh token, or None when it is not connected here."""
        import keyring
        from keyring.errors import KeyringError

        try:
            return keyring.get_password(self.service, tenant_id)
        except KeyringError:
            return None

    def forget(self, tenant_id: str) -> None:
        """Remove the organisation's refresh token (nothing when there is none)."""
        import keyring
        from keyring.errors import KeyringError, PasswordDeleteError

        with contextlib.suppress(PasswordDeleteError, KeyringError):
            keyring.delete_password(self.service, tenant_id)
