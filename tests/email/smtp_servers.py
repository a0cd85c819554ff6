"""Real SMTP servers on loopback for the email tests (aiosmtpd), and two that do not answer.

:class:`SmtpServer` runs aiosmtpd in its own thread on 127.0.0.1 and keeps every message it
accepts (:attr:`SmtpServer.messages`, parsed; :attr:`SmtpServer.raw`, as received). It can offer
STARTTLS or speak TLS from the first byte (as on port 465) with a self-signed certificate for
``localhost`` and 127.0.0.1 that a client trusts through :attr:`SmtpServer.certificate_pem`; ask
for a password (AUTH PLAIN and LOGIN); advertise a size limit; refuse recipients or the message;
and answer the message late (so a client with a short timeout gives up on a message that was
delivered). The refusals and the delay are read on every command, so a test changes them while
the server runs (``server.refuse_data = None`` after a refusal: the retry goes through).

:class:`SilentServer` accepts connections and never sends a greeting; :class:`ClosedPort` is a
loopback port where nothing listens (the connection is refused).
"""

from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import functools
import ipaddress
import shutil
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Awaitable
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOST = "127.0.0.1"
#: The size limit a server advertises unless told otherwise (aiosmtpd's own, 32 MiB).
DEFAULT_SIZE_LIMIT = 2**25


class Delivery(NamedTuple):
    """One message the server accepted: who sent it, to whom, and the message parsed."""

    sender: str
    recipients: list[str]
    message: EmailMessage


@functools.cache
def self_signed_certificate() -> tuple[bytes, bytes]:
    """A certificate for ``localhost`` and 127.0.0.1, signed by its own key: (certificate PEM,
    key PEM). Made once per test process."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        # Its own authority, so a client can trust it as the only certificate authority.
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def _bound_socket() -> socket.socket:
    """A TCP socket bound to a free loopback port chosen by the system."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((HOST, 0))
    return sock


class _Smtp(SMTP):
    """aiosmtpd's server, taking AUTH on a connection that is not upgraded by STARTTLS when
    told to: one encrypted from the start (implicit TLS), or a plain-text test server.

    aiosmtpd allows that only through ``auth_require_tls=False``, which also warns that
    passwords may cross the network in clear; on a loopback test server, or one that speaks TLS
    from the first byte, the warning does not apply (and the suite turns warnings into errors).
    """

    def __init__(self, handler: Any, *, auth_without_starttls: bool, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        if auth_without_starttls:
            self._auth_require_tls = False


class _Controller(Controller):
    """aiosmtpd's threaded controller on an already bound socket (no race for the port, and
    no reliance on port 0, which some aiosmtpd versions cannot start on)."""

    def __init__(
        self,
        handler: Any,
        sock: socket.socket,
        *,
        auth_without_starttls: bool,
        **kwargs: Any,
    ) -> None:
        self._sock = sock
        self._auth_without_starttls = auth_without_starttls
        super().__init__(
            handler,
            hostname=HOST,
            port=sock.getsockname()[1],
            server_hostname="localhost",
            **kwargs,
        )

    def factory(self) -> SMTP:
        return _Smtp(
            self.handler, auth_without_starttls=self._auth_without_starttls, **self.SMTP_kwargs
        )

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


class SmtpServer:
    """An SMTP server on 127.0.0.1 that keeps what it accepts (see the module's docstring).

    Use it as a context manager, or :meth:`start` and :meth:`stop`. ``folder`` receives the
    certificate and key files (a temporary folder, removed on stop, when not given).
    """

    def __init__(
        self,
        *,
        starttls: bool = False,
        require_starttls: bool = False,
        implicit_tls: bool = False,
        auth: dict[str, str] | None = None,
        data_size_limit: int | None = DEFAULT_SIZE_LIMIT,
        refuse_rcpt: str | None = None,
        refuse_data: str | None = None,
        data_reply_delay: float = 0.0,
        folder: Path | None = None,
    ) -> None:
        if starttls and implicit_tls:
            raise ValueError("A server offers STARTTLS or speaks TLS from the start, not both.")
        if require_starttls and not starttls:
            raise ValueError("require_starttls needs starttls=True.")
        self.host = HOST
        self.starttls = starttls
        self.implicit_tls = implicit_tls
        self.require_starttls = require_starttls
        #: User name -> password; None: no AUTH offered nor asked for.
        self.auth = auth
        self.data_size_limit = data_size_limit
        #: The answer to every RCPT TO (None: recipients accepted).
        self.refuse_rcpt = refuse_rcpt
        #: The answer at the end of DATA instead of accepting the message (None: accepted).
        self.refuse_data = refuse_data
        #: Seconds between keeping a message and answering 250 for it.
        self.data_reply_delay = data_reply_delay
        self.messages: list[Delivery] = []
        #: Each accepted message as it came over the wire (in the order of :attr:`messages`).
        self.raw: list[bytes] = []
        #: User names that signed in, and those refused (wrong or unknown password).
        self.logins: list[str] = []
        self.failed_logins: list[str] = []
        self.certificate_pem: str | None = None
        self.certificate_path: Path | None = None
        self._folder = folder
        self._own_folder: Path | None = None
        self._lock = threading.Lock()
        self._controller: _Controller | None = None
        self._sock: socket.socket | None = None
        self.port = 0

    # -- running ----------------------------------------------------------------------------

    def start(self) -> Self:
        """Start listening (returns the server, so ``server = SmtpServer(...).start()``)."""
        if self._controller is not None:
            raise RuntimeError("The server is already running.")
        tls = self._server_context() if self.starttls or self.implicit_tls else None
        kwargs: dict[str, Any] = {"data_size_limit": self.data_size_limit}
        if self.starttls:
            kwargs.update(tls_context=tls, require_starttls=self.require_starttls)
        if self.auth is not None:
            kwargs.update(auth_required=True, authenticator=self._authenticate)
        self._sock = _bound_socket()
        self.port = self._sock.getsockname()[1]
        self._controller = _Controller(
            self,
            self._sock,
            auth_without_starttls=self.auth is not None and not self.starttls,
            ssl_context=tls if self.implicit_tls else None,
            **kwargs,
        )
        try:
            self._controller.start()
        except BaseException:
            self._controller = None
            self._close_socket()
            raise
        return self

    def stop(self) -> None:
        """Stop the server and its thread (open connections are dropped)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        self._close_socket()
        if self._own_folder is not None:
            shutil.rmtree(self._own_folder, ignore_errors=True)
            self._own_folder = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _close_socket(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _server_context(self) -> ssl.SSLContext:
        """The server's TLS context, its certificate and key written to the folder."""
        folder = self._folder
        if folder is None:
            folder = self._own_folder = Path(tempfile.mkdtemp(prefix="smtp-tls-"))
        certificate, key = self_signed_certificate()
        self.certificate_path = folder / f"smtp-{id(self):x}.crt"
        key_path = folder / f"smtp-{id(self):x}.key"
        self.certificate_path.write_bytes(certificate)
        key_path.write_bytes(key)
        self.certificate_pem = certificate.decode("ascii")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certificate_path, key_path)
        return context

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        """The messages once there are at least ``count`` (TimeoutError after ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.messages)} messages arrived, not {count}.")
            time.sleep(0.01)

    # -- aiosmtpd's handler hooks (run in the server's thread) --------------------------------

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = data.login.decode("utf-8", "replace")
        password = data.password.decode("utf-8", "replace")
        accounts = self.auth or {}
        with self._lock:
            if user in accounts and accounts[user] == password:
                self.logins.append(user)
                return AuthResult(success=True, auth_data=data)
            self.failed_logins.append(user)
        return AuthResult(success=False, handled=False)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        refusal = self.refuse_rcpt
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        refusal = self.refuse_data
        if refusal:
            return refusal
        raw = envelope.original_content or b""
        # Parsed with the line ends a program sees (the wire's CRLF stays in :attr:`raw`).
        message = email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(
                Delivery(envelope.mail_from or "", list(envelope.rcpt_tos), message)
            )
            self.raw.append(raw)
        delay = self.data_reply_delay
        if delay > 0:
            await asyncio.sleep(delay)
        return "250 2.0.0 Message accepted for delivery"


class SilentServer:
    """A loopback port that takes connections and never says a word: a client waiting for the
    server's greeting times out. The system completes each connection (the socket listens);
    nothing ever reads or writes on it."""

    def __init__(self) -> None:
        self.host = HOST
        self._sock: socket.socket | None = None
        self.port = 0

    def start(self) -> Self:
        """Start listening."""
        self._sock = _bound_socket()
        self._sock.listen(32)
        self.port = self._sock.getsockname()[1]
        return self

    def stop(self) -> None:
        """Stop listening (waiting clients see the connection reset)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class HangUpServer:
    """A loopback port that takes each connection and ends it at once, before a word: a
    server restarting, or a network dropping connections."""

    def __init__(self) -> None:
        self.host = HOST
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._hung_up: list[socket.socket] = []
        self.port = 0

    def start(self) -> Self:
        """Start listening; every connection is ended as soon as it is taken."""
        sock = self._sock = _bound_socket()
        sock.listen(32)
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(target=self._hang_up, args=(sock,), daemon=True)
        self._thread.start()
        return self

    def _hang_up(self, sock: socket.socket) -> None:
        sock.settimeout(0.1)
        while self._sock is sock:
            try:
                connection, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:  # the server stopped
                return
            # Ends its side at once (the client reads the end of the stream, whatever it has
            # sent meanwhile); the socket itself is closed when the server stops.
            connection.shutdown(socket.SHUT_WR)
            self._hung_up.append(connection)

    def stop(self) -> None:
        """Stop listening."""
        sock, self._sock = self._sock, None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if sock is not None:
            sock.close()
        for connection in self._hung_up:
            connection.close()
        self._hung_up.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class ClosedPort:
    """A loopback port where nothing listens: connecting is refused. The port is held (bound,
    not listening) while the context is open, so no other program takes it meanwhile."""

    def __init__(self) -> None:
        self.host = HOST
        self._sock: socket.socket | None = None
        self.port = 0

    def __enter__(self) -> Self:
        self._sock = _bound_socket()
        self.port = self._sock.getsockname()[1]
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
