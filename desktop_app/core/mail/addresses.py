"""Addresses and server names as the internet takes them: plain ASCII.

An international domain (``müller.de``) is looked up, and written in an email's envelope and
headers, in its ASCII form (``xn--mller-kva.de``), by IDNA 2008 with Unicode's UTS 46 mapping as
browsers and mail programs use it: ``straße.de`` stays its own domain, never ``strasse.de`` (the
standard library's codec is IDNA 2003, which makes it so). Addresses are checked first as staff
type them (:func:`~..domain.mail_text.check_address`).
"""

from __future__ import annotations

import idna

from ..domain.errors import BillingError, Refusal
from ..domain.mail_text import check_address


def ascii_domain(domain: str) -> str:
    """A domain name in the ASCII form it is looked up by; ValueError when it is not a valid
    domain name."""
    return idna.encode(domain, uts46=True, transitional=False).decode("ascii")


def sendable_address(address: str, what: str = "email address", *, field: str | None = None) -> str:
    """``address`` as a mail server takes it, in plain ASCII; refused (``bad_text``) when its
    part before the @ has letters outside ASCII (few mail servers deliver to one) or its domain
    is not a valid one."""
    local, _, domain = address.strip().rpartition("@")
    if not local.isascii():
        raise BillingError(
            f"The {what} {address!r} has letters outside plain ASCII before the @, which most "
            "mail servers cannot deliver to; ask for another address.",
            code=Refusal.BAD_TEXT,
            field=field,
        )
    if domain.isascii():
        return f"{local}@{domain}"
    try:
        return f"{local}@{ascii_domain(domain)}"
    except ValueError:
        raise BillingError(
            f"The {what} {address!r} does not have a valid domain after the @.",
            code=Refusal.BAD_TEXT,
            field=field,
        ) from None


def check_sendable(value: object, what: str = "email address", *, field: str | None = None) -> str:
    """``value`` checked as one email address (:func:`~..domain.mail_text.check_address`) and
    made sendable (:func:`sendable_address`)."""
    return sendable_address(check_address(value, what, field=field), what, field=field)
