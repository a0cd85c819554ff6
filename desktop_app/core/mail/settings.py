"""The clinic's SMTP server, its sender and its templates, kept as rows of ``settings``; the
server's password in the operating system's keychain (keyring), never in the database.

``CLINIC_SMTP_PASSWORD``, when set, is the password for headless runs (the command line on a
server, tests); the keychain is not read then.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import ssl
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from ..domain.errors import BillingError, Refusal
from ..domain.kinds import choose
from ..domain.mail_templates import DEFAULT_TEMPLATES, MailKind, MailTemplate
from ..domain.mail_text import mailbox, parse_mailbox
from ..domain.text import check_line
from ..ledger import settings as stored
from ..ledger.transaction import Transaction
from .addresses import ascii_domain, check_sendable

#: The keychain's service name for the SMTP password (its entry is ``user@host``).
KEYRING_SERVICE = "Clinic Ledger SMTP"
#: The environment variable that gives the password for headless runs.
PASSWORD_VARIABLE = "CLINIC_SMTP_PASSWORD"
#: Seconds to wait for the server at each step before giving up (tried again later).
DEFAULT_TIMEOUT = 30
#: Reminders: days overdue before the first (0: reminders off) and days between two.
DEFAULT_REMINDER_INTERVAL = 14
#: Desk alerts: months without a visit or payment after which credit is dormant.
DEFAULT_DORMANT_MONTHS = 12


class Security(StrEnum):
    """How the connection to the server is protected."""

    STARTTLS = "starttls"  # plain connection upgraded to TLS (port 587)
    SSL = "ssl"  # TLS from the start (port 465)
    NONE = "none"  # no encryption: only for a relay on this computer or the clinic's network


_KEYS = {
    "host": "email_host",
    "port": "email_port",
    "security": "email_security",
    "username": "email_username",
    "sender": "email_sender",
    "reply_to": "email_reply_to",
    "timeout": "email_timeout",
    "certificate": "email_certificate",
    "size_limit": "email_size_limit",
    "reminder_days": "reminder_after_days",
    "reminder_interval": "reminder_interval_days",
    "dormant_months": "alert_dormant_months",
}


@dataclass(frozen=True, slots=True)
class EmailSettings:
    """The clinic's SMTP server and sender, as ``clinic.email_settings`` hands them out.

    ``sender`` is the From header (``Clinic <desk@example.org>``); ``sender_name`` and
    ``sender_address`` its parts. ``certificate`` is a PEM certificate the clinic trusts for its
    own server (a relay with a self-signed certificate), empty to trust the computer's usual
    authorities. ``size_limit`` is the largest message the server last said it takes (bytes;
    0: not known yet). ``configured`` is False until a server and sender are saved.
    """

    host: str = ""
    port: int = 587
    security: Security = Security.STARTTLS
    username: str = ""
    sender_name: str = ""
    sender_address: str = ""
    reply_to: str = ""
    timeout: int = DEFAULT_TIMEOUT
    certificate: str = ""
    size_limit: int = 0

    @property
    def configured(self) -> bool:
        """Whether a server and a sender are set (email can be sent)."""
        return bool(self.host and self.sender_address)

    @property
    def sender(self) -> str:
        """The From header: ``Clinic <desk@example.org>``."""
        return mailbox(self.sender_name, self.sender_address) if self.sender_address else ""

    def __call__(self) -> EmailSettings:
        """The settings themselves: ``clinic.email_settings`` reads the same as a property or
        a call (``clinic.email_settings()``)."""
        return self

    @property
    def password_key(self) -> str:
        """The keychain entry of this server's password: ``user@host``."""
        return f"{self.username}@{self.host}"


@dataclass(frozen=True, slots=True)
class ReminderSettings:
    """Overdue reminders (0 days: off) and the desk's dormant-credit alert."""

    after_days: int = 0
    interval_days: int = DEFAULT_REMINDER_INTERVAL
    dormant_months: int = DEFAULT_DORMANT_MONTHS


def _number(session: Session, name: str, default: int) -> int:
    text = stored.optional_setting(session, _KEYS[name])
    return int(text) if text.isdigit() else default


def read_settings(session: Session) -> EmailSettings:
    """The saved SMTP settings (defaults where none were saved)."""
    sender = stored.optional_setting(session, _KEYS["sender"])
    name, address = parse_mailbox(sender, "sender") if sender else ("", "")
    security = stored.optional_setting(session, _KEYS["security"]) or Security.STARTTLS
    return EmailSettings(
        host=stored.optional_setting(session, _KEYS["host"]),
        port=_number(session, "port", 587),
        security=Security(security),
        username=stored.optional_setting(session, _KEYS["username"]),
        sender_name=name,
        sender_address=address,
        reply_to=stored.optional_setting(session, _KEYS["reply_to"]),
        timeout=_number(session, "timeout", DEFAULT_TIMEOUT),
        certificate=stored.optional_setting(session, _KEYS["certificate"]),
        size_limit=_number(session, "size_limit", 0),
    )


def read_reminder_settings(session: Session) -> ReminderSettings:
    """The reminder and alert settings (defaults where none were saved)."""
    return ReminderSettings(
        after_days=_number(session, "reminder_days", 0),
        interval_days=_number(session, "reminder_interval", DEFAULT_REMINDER_INTERVAL),
        dormant_months=_number(session, "dormant_months", DEFAULT_DORMANT_MONTHS),
    )


def _local_host(host: str) -> bool:
    """Whether ``host`` is on this computer or the clinic's own network (a local relay)."""
    if host.lower() in ("localhost", "localhost.localdomain") or "." not in host.strip("[]"):
        return True
    if host.lower().endswith((".local", ".lan", ".internal", ".home.arpa")):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def _whole_number(value: object, what: str, field: str, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise BillingError(
            f"The {what} is a whole number from {low:,} to {high:,}.",
            code=Refusal.BAD_AMOUNT,
            field=field,
        )
    return value


def _host_name(host: str) -> str | None:
    """``host`` as the computer looks it up: an address as it is, a name with every label
    between its dots present and at most 63 characters, an international name in its ASCII
    form (:func:`~.addresses.ascii_domain`); None when it is not a server name."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return host
    if not host.isascii():
        try:
            return ascii_domain(host)
        except ValueError:
            return None
    labels = host.removesuffix(".").split(".")
    return host if all(0 < len(label) <= 63 for label in labels) else None


def clean_settings(
    *,
    host: object,
    port: object,
    security: object,
    username: object,
    sender: object,
    reply_to: object,
    timeout: object,
    certificate: object,
) -> EmailSettings:
    """Checked SMTP settings, or a refusal naming the field to fix."""
    if not isinstance(host, str) or not host.strip():
        raise BillingError("Enter the mail server's name.", code=Refusal.MISSING, field="host")
    host_text = check_line(host.strip(), "mail server", 253, field="host")
    if any(char.isspace() or char in "/@:" for char in host_text.strip("[]")) or not (
        _host_name(host_text)
    ):
        raise BillingError(
            f"{host_text!r} is not a server name (such as smtp.example.org).",
            code=Refusal.BAD_TEXT,
            field="host",
        )
    host_text = _host_name(host_text) or host_text
    chosen = choose(Security, security, "security", field="security")
    if not isinstance(username, str):
        raise BillingError("The user name must be text.", code=Refusal.BAD_TEXT, field="username")
    user = check_line(username.strip(), "user name", 254, field="username")
    if chosen is Security.NONE and not _local_host(host_text):
        raise BillingError(
            "Without encryption, email may go only to a relay on this computer or the clinic's "
            "own network; choose STARTTLS or SSL/TLS for another server.",
            code=Refusal.BAD_CHOICE,
            field="security",
        )
    if chosen is Security.NONE and user:
        raise BillingError(
            "A password must never travel unencrypted: choose STARTTLS or SSL/TLS to sign in, "
            "or clear the user name for a relay that needs none.",
            code=Refusal.BAD_CHOICE,
            field="security",
        )
    name, address = parse_mailbox(sender, "sender", field="sender")
    reply = (
        check_sendable(reply_to, "reply-to address", field="reply_to")
        if isinstance(reply_to, str) and reply_to.strip()
        else ""
    )
    pem = certificate.strip() if isinstance(certificate, str) else ""
    if pem:
        try:
            ssl.create_default_context(cadata=pem)
        except (ssl.SSLError, ValueError):
            raise BillingError(
                "The trusted certificate is not a PEM certificate (it starts with "
                "-----BEGIN CERTIFICATE-----).",
                code=Refusal.BAD_FILE,
                field="certificate",
            ) from None
    return EmailSettings(
        host=host_text,
        port=_whole_number(port, "port", "port", 1, 65535),
        security=chosen,
        username=user,
        sender_name=name,
        sender_address=address,
        reply_to=reply,
        timeout=_whole_number(timeout, "timeout", "timeout", 1, 600),
        certificate=pem,
    )


def save_settings(tx: Transaction, settings: EmailSettings) -> None:
    """Save checked settings as one audited change."""
    stored.change_settings(
        tx,
        {
            _KEYS["host"]: settings.host,
            _KEYS["port"]: str(settings.port),
            _KEYS["security"]: settings.security.value,
            _KEYS["username"]: settings.username,
            _KEYS["sender"]: settings.sender,
            _KEYS["reply_to"]: settings.reply_to,
            _KEYS["timeout"]: str(settings.timeout),
            _KEYS["certificate"]: settings.certificate,
        },
    )


def save_size_limit(tx: Transaction, size: int) -> None:
    """Remember the largest message the server says it takes (0: it named none)."""
    stored.change_setting(tx, _KEYS["size_limit"], str(size) if size else "")


def save_reminder_settings(tx: Transaction, settings: ReminderSettings) -> None:
    """Save the reminder and alert settings, checked, as one audited change."""
    after = _whole_number(settings.after_days, "days overdue", "after_days", 0, 365)
    interval = _whole_number(settings.interval_days, "days between", "interval_days", 1, 365)
    months = _whole_number(settings.dormant_months, "months", "dormant_months", 1, 120)
    stored.change_settings(
        tx,
        {
            _KEYS["reminder_days"]: str(after),
            _KEYS["reminder_interval"]: str(interval),
            _KEYS["dormant_months"]: str(months),
        },
    )


def _template_key(kind: MailKind, part: str) -> str:
    return f"email_template_{kind.value}_{part}"


def read_template(session: Session, kind: MailKind) -> MailTemplate:
    """``kind``'s templates as saved, or the defaults."""
    default = DEFAULT_TEMPLATES[kind]
    subject = stored.optional_setting(session, _template_key(kind, "subject"))
    body = stored.optional_setting(session, _template_key(kind, "body"))
    return MailTemplate(kind, subject or default.subject, body or default.body)


def save_template(tx: Transaction, template: MailTemplate) -> None:
    """Save a checked template (the default's text is saved as empty: it follows the default)."""
    default = DEFAULT_TEMPLATES[template.kind]
    stored.change_settings(
        tx,
        {
            _template_key(template.kind, "subject"): (
                "" if template.subject == default.subject else template.subject
            ),
            _template_key(template.kind, "body"): (
                "" if template.body == default.body else template.body
            ),
        },
    )


def smtp_password(settings: EmailSettings) -> str | None:
    """The server's password: ``CLINIC_SMTP_PASSWORD`` when set, else the keychain's entry for
    the settings' user and server (None when there is none, or no user name is set)."""
    from_environment = os.environ.get(PASSWORD_VARIABLE)
    if from_environment is not None:
        return from_environment
    if not settings.username:
        return None
    import keyring
    from keyring.errors import KeyringError

    try:
        return keyring.get_password(KEYRING_SERVICE, settings.password_key)
    except KeyringError:
        return None


def store_smtp_password(settings: EmailSettings, password: str) -> None:
    """Keep the password in the keychain (an empty one removes the entry); a clear error when
    this computer has no keychain to keep it in."""
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        if password:
            keyring.set_password(KEYRING_SERVICE, settings.password_key, password)
        else:
            with contextlib.suppress(PasswordDeleteError):
                keyring.delete_password(KEYRING_SERVICE, settings.password_key)
    except KeyringError as exc:
        raise BillingError(
            f"The password could not be kept in this computer's keychain ({exc}). Set "
            f"{PASSWORD_VARIABLE} for the app instead.",
            code=Refusal.BAD_FILE,
            field="password",
        ) from None
