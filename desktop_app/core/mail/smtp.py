"""Handing messages to the clinic's SMTP server (the standard library's ``smtplib``).

Every failure becomes a :class:`SendError` that says, in words staff can act on, what went
wrong (with the server's own reply where it gave one), and whether trying again later can help:

- **temporary**: the server could not be reached, did not answer in time, or answered 4xx
  ("try again later"): the outbox tries again with backoff;
- **permanent**: 5xx replies (a refused recipient, a message over the server's size limit), a
  refused sign-in, an untrusted certificate: not tried again until staff fix it and press Retry;
- **unconfirmed**: the whole message went to the server, which then never confirmed it. It may
  have been delivered, so it is never sent again by itself (the same Message-ID must not reach
  a patient twice); staff decide.

One :class:`SmtpSession` keeps one connection open for many messages (a statement run).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from .settings import EmailSettings, Security

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

#: The client's name in EHLO (the server's logs show it).
_LOCAL_NAME = "clinic-ledger"


@dataclass
class SendError(Exception):
    """A message (or the connection) failed; ``reason`` says why in plain words."""

    reason: str
    permanent: bool = False
    unconfirmed: bool = False

    def __str__(self) -> str:
        return self.reason


class _Tracking:
    """Remembers whether a message's data went to the server whole (its closing ``.`` line was
    sent): a failure after that may follow a delivery; one before cannot."""

    data_complete = False

    def send(self, s: ReadableBuffer | str) -> None:
        super().send(s)  # type: ignore[misc]
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.data_complete = True


class _SMTP(_Tracking, smtplib.SMTP):
    pass


class _SMTPSSL(_Tracking, smtplib.SMTP_SSL):
    pass


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(words.split())}"


def _where(settings: EmailSettings) -> str:
    return f"{settings.host}:{settings.port}"


def _context(settings: EmailSettings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings.certificate:
        context.load_verify_locations(cadata=settings.certificate)
    return context


def _connection_failure(settings: EmailSettings, exc: BaseException) -> SendError:
    """Why a connection could not be made or kept, in words."""
    where = _where(settings)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SendError(
            f"The mail server {where} has a certificate this computer does not trust "
            f"({exc.verify_message}). Add the server's certificate under Settings > Email if it "
            "is the clinic's own server.",
            permanent=True,
        )
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        # The connection ended in the middle of the secure exchange: a network hiccup or a
        # busy server, worth another try.
        return SendError(f"The secure connection to {where} closed before it was set up.")
    if isinstance(exc, ssl.SSLError):
        return SendError(
            f"A secure connection to {where} failed ({exc.reason or exc}). Check the port "
            "and the security setting (STARTTLS is usually port 587, SSL/TLS port 465).",
            permanent=True,
        )
    if isinstance(exc, socket.gaierror):
        return SendError(f"The mail server {settings.host} could not be found ({exc.strerror}).")
    if isinstance(exc, TimeoutError):
        return SendError(f"The mail server {where} did not answer within {settings.timeout} s.")
    if isinstance(exc, ConnectionRefusedError):
        return SendError(f"The mail server {where} refused the connection.")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        if "timed out" in str(exc):
            return SendError(f"The mail server {where} did not answer within {settings.timeout} s.")
        return SendError(f"The mail server {where} closed the connection.")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return SendError(
            "The mail server refused the user name or password "
            f"({_reply(exc.smtp_code, exc.smtp_error)}).",
            permanent=True,
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return SendError(
            f"The mail server answered {_reply(exc.smtp_code, exc.smtp_error)}.",
            permanent=exc.smtp_code >= 500,
        )
    if isinstance(exc, smtplib.SMTPException):
        return SendError(f"The mail server {where}: {exc}.", permanent=True)
    if isinstance(exc, OSError):
        return SendError(f"The mail server {where} could not be reached ({exc.strerror or exc}).")
    raise exc


def size_words(size: int) -> str:
    """A size in bytes as staff read it: ``2.4 MB``, ``350 KB``."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB".replace(".0 MB", " MB")
    return f"{max(1, round(size / 1000))} KB"


class SmtpSession:
    """One connection to the clinic's server: connected, secured and signed in on entry."""

    def __init__(self, settings: EmailSettings, password: str | None) -> None:
        self.settings = settings
        self._password = password
        self._smtp: _SMTP | _SMTPSSL | None = None
        #: The largest message the server takes (bytes; 0 if it named no limit).
        self.size_limit = 0

    def __enter__(self) -> SmtpSession:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        """Connect (securely as set), say EHLO, sign in if a user name is set; SendError
        if any step fails."""
        settings = self.settings
        try:
            if settings.security is Security.SSL:
                smtp: _SMTP | _SMTPSSL = _SMTPSSL(
                    settings.host,
                    settings.port,
                    local_hostname=_LOCAL_NAME,
                    timeout=settings.timeout,
                    context=_context(settings),
                )
            else:
                smtp = _SMTP(
                    settings.host,
                    settings.port,
                    local_hostname=_LOCAL_NAME,
                    timeout=settings.timeout,
                )
            self._smtp = smtp
            smtp.ehlo()
            if settings.security is Security.STARTTLS:
                if not smtp.has_extn("starttls"):
                    raise SendError(
                        f"The mail server {_where(settings)} does not offer STARTTLS; choose "
                        "SSL/TLS (usually port 465), or ask the provider for the right port.",
                        permanent=True,
                    )
                smtp.starttls(context=_context(settings))
                smtp.ehlo()
            if settings.username:
                if not self._password:
                    raise SendError(
                        "The mail server's password is not set: enter it under Settings > Email.",
                        permanent=True,
                    )
                try:
                    smtp.login(settings.username, self._password)
                except UnicodeError:
                    raise SendError(
                        "The mail server's user name or password has characters (such as "
                        "accented letters) that signing in to a mail server cannot carry; "
                        "check them under Settings > Email.",
                        permanent=True,
                    ) from None
            size = smtp.esmtp_features.get("size", "")
            self.size_limit = int(size) if size.isdigit() else 0
        except SendError:
            self.close()
            raise
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise _connection_failure(settings, exc) from None
        except UnicodeError:
            self.close()
            raise SendError(
                f"{settings.host!r} is not a server name this computer can look up; correct it "
                "under Settings > Email.",
                permanent=True,
            ) from None
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Say QUIT (or drop the connection if the server is gone)."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()

    @property
    def connected(self) -> bool:
        """Whether the connection is open (a failure may have closed it)."""
        return self._smtp is not None

    def send(self, sender: str, recipients: list[str], data: bytes) -> None:
        """Hand one message to the server; SendError if it is not taken. After a failure of
        the connection itself (a timeout, a disconnect) the session is closed."""
        smtp = self._smtp
        if smtp is None:
            self.open()
            smtp = self._smtp
            assert smtp is not None
        if self.size_limit and len(data) > self.size_limit:
            raise SendError(
                f"The message is {size_words(len(data))} with its attachment; the mail server "
                f"takes at most {size_words(self.size_limit)}.",
                permanent=True,
            )
        options: list[str] = [f"SIZE={len(data)}"] if self.size_limit else []
        smtp.data_complete = False
        try:
            code, text = smtp.mail(sender, options)
            if code != 250:
                self._reset(smtp, code)
                raise smtplib.SMTPSenderRefused(code, text, sender)
            for recipient in recipients:
                code, text = smtp.rcpt(recipient)
                if code not in (250, 251):
                    self._reset(smtp, code)
                    raise SendError(
                        f"The mail server refused the recipient {recipient} "
                        f"({_reply(code, text)}).",
                        permanent=code >= 500,
                    )
            code, text = smtp.data(data)
            if code != 250:
                raise smtplib.SMTPDataError(code, text)
        except SendError:
            raise
        except UnicodeError:
            self._reset(smtp, 0)
            raise SendError(
                f"The message's addresses ({sender} to {', '.join(recipients)}) have letters "
                "outside plain ASCII that a mail server cannot take.",
                permanent=True,
            ) from None
        except smtplib.SMTPDataError as exc:
            self._reset(smtp, exc.smtp_code)
            raise SendError(
                "The mail server did not take the message "
                f"({_reply(exc.smtp_code, exc.smtp_error)}).",
                permanent=exc.smtp_code >= 500,
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            data_sent = smtp.data_complete
            self._drop()
            if data_sent:
                raise SendError(
                    f"The mail server took the message but never confirmed it ({_words(exc)}). "
                    "It may have been delivered, so it is not sent again by itself.",
                    unconfirmed=True,
                ) from None
            raise _connection_failure(self.settings, exc) from None

    def _reset(self, smtp: _SMTP | _SMTPSSL, code: int) -> None:
        """Say RSET after a refusal (``code``), so the connection can take the next message.
        A 421 says the server is closing the connection, and a server that has gone cannot
        be reset: the session is closed instead (the next message waits for the next pass)."""
        if code == 421:
            self._drop()
            return
        try:
            smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()


def _words(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError) or "timed out" in str(exc):
        return "no answer in time"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the connection closed"
    return str(exc) or type(exc).__name__


def check_server(settings: EmailSettings, password: str | None) -> int:
    """Connect, secure and sign in, then leave; the server's size limit (0: none named).
    SendError says what failed."""
    with SmtpSession(settings, password) as session:
        return session.size_limit
