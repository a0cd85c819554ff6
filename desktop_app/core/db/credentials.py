"""The PostgreSQL password, kept in the operating system's keychain (keyring), never in a file.

A clinic server's URL names the user and the server, and TLS through libpq's own parameters:
``postgresql+psycopg://clinic@server.local/clinic?sslmode=verify-full&sslrootcert=ca.pem``.
The password is not written in the URL: ``clinic-ledger --database URL remember-password`` asks
for it once and stores it in the keychain (Windows Credential Manager, macOS Keychain, the Secret
Service on Linux), and every later open looks it up there by user, server, port and database.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url

from ..domain.errors import BillingError, Refusal, bad_file

SERVICE = "Clinic Ledger"


def secret_key(url: URL) -> str:
    """What the keychain entry is named by: ``user@server:port/database``."""
    return f"{url.username}@{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


def with_stored_password(url_text: str) -> str:
    """The URL with the keychain's password for it, when it names a PostgreSQL user without a
    password and the keychain has one; otherwise the URL unchanged."""
    url = make_url(url_text)
    if url.get_backend_name() != "postgresql" or not url.username or url.password is not None:
        return url_text
    import keyring
    from keyring.errors import KeyringError

    try:
        password = keyring.get_password(SERVICE, secret_key(url))
    except KeyringError:
        return url_text  # no keychain here: the server may use another sign-in (trust, peer)
    if password is None:
        return url_text
    return url.set(password=password).render_as_string(hide_password=False)


def remember_password(url_text: str, password: str) -> str:
    """Store ``password`` in the keychain for the URL's user and server; returns the entry's name.

    Refused (BillingError) for a URL that is not PostgreSQL, has no user name or already holds a
    password, for an empty password, or when this computer has no keychain.
    """
    url = make_url(url_text)
    if url.get_backend_name() != "postgresql":
        raise BillingError(
            "Only a PostgreSQL server's password is kept in the keychain.",
            code=Refusal.BAD_CHOICE,
            field="url",
        )
    if not url.username:
        raise BillingError(
            "Put the PostgreSQL user name in the URL: postgresql+psycopg://user@…",
            code=Refusal.MISSING,
            field="url",
        )
    if url.password is not None:
        raise BillingError(
            "Leave the password out of the URL; it goes in the keychain.",
            code=Refusal.BAD_TEXT,
            field="url",
        )
    if not password:
        raise BillingError("Enter the password.", code=Refusal.MISSING, field="password")
    import keyring
    from keyring.errors import KeyringError

    key = secret_key(url)
    try:
        keyring.set_password(SERVICE, key, password)
    except KeyringError as exc:
        raise bad_file(
            f"This computer's keychain could not store the password: {exc}",
        ) from None
    return key
