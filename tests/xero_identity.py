"""A fake of Xero's identity service for the tests (sign-in with PKCE, tokens, refresh,
revocation, connections) on 127.0.0.1, and a stand-in for the system browser that follows its
redirect back to the app's loopback address."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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
        #: What /connections lists: one organisation, and an adviser's practice.
        self.organisations: list[dict[str, str]] = [
            {"tenantId": "t-1", "tenantName": "Harbour Physio", "tenantType": "ORGANISATION"},
            {"tenantId": "p-1", "tenantName": "Practice", "tenantType": "PRACTICE"},
        ]
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
            self.reply(http, 200, self.organisations)
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
