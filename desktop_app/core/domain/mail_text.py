"""What an email's headers may hold: addresses, names and subjects, safe from header injection.

A header is one line. A line break in a value would end the header and start another, so text
that reaches a header is handled in one of two ways:

- **what staff type for the message** (a subject, a template's subject, an address, the sender):
  refused with a reason if it holds a line break or a control character (:func:`check_subject`,
  :func:`check_address`, :func:`parse_mailbox`);
- **names the ledger already holds** (a patient's or payer's name, the clinic's name): made one
  line (:func:`header_name`): every run of line breaks, tabs and control characters becomes one
  space. A name can never add a header, whatever was stored or imported.

Addresses are checked as the patient details are (``name@example.org``), and again by the
standard library's own parser, which is what builds the message. An address with letters
outside ASCII before the @ is refused; one with an international domain is sent with the domain
in its ASCII form (:mod:`..mail.addresses`).
"""

from __future__ import annotations

import re
from email.errors import HeaderParseError
from email.headerregistry import Address

from .errors import BillingError, Refusal
from .text import check_line

#: The longest address a mail server must accept (RFC 5321's path limit, less its brackets).
MAX_ADDRESS = 254
#: A subject longer than this is cut by most mail programs anyway.
MAX_SUBJECT = 200
#: A display name in From or To.
MAX_NAME = 200

_ADDRESS = re.compile(r"[^@\s<>\"(),;:\[\]\\]+@[^@\s.<>\"(),;:\[\]\\]+(\.[^@\s.<>\"(),;:\[\]\\]+)+")
_MAILBOX = re.compile(r"([^<>]*)<([^<>]+)>")
_UNSAFE_IN_NAME = re.compile(r"\s*[\x00-\x1f\x7f-\x9f\u2028\u2029]+\s*")


def check_address(value: object, what: str = "email address", *, field: str | None = None) -> str:
    """``value`` as one email address (``name@example.org``, surrounding spaces dropped), or a
    refusal (``bad_text``) saying it is not one: line breaks, two addresses, a display name or
    anything the mail system's own parser reads differently are all refused."""
    if not isinstance(value, str) or not value.strip():
        raise BillingError(f"Enter the {what}.", code=Refusal.MISSING, field=field)
    text = check_line(value.strip(), what, MAX_ADDRESS, field=field)
    if not _ADDRESS.fullmatch(text):
        raise BillingError(
            f"{text!r} is not an email address (the {what} should look like name@example.org).",
            code=Refusal.BAD_TEXT,
            field=field,
        )
    if not text.rpartition("@")[0].isascii():
        raise BillingError(
            f"The {what} {text!r} has letters outside plain ASCII before the @, which most "
            "mail servers cannot deliver to; ask for another address.",
            code=Refusal.BAD_TEXT,
            field=field,
        )
    try:
        parsed = Address(addr_spec=text)
    except (HeaderParseError, ValueError, IndexError):
        parsed = None
    if parsed is None or parsed.addr_spec != text:
        raise BillingError(
            f"{text!r} is not an email address (the {what}).", code=Refusal.BAD_TEXT, field=field
        )
    return text


def looks_like_address(value: str) -> bool:
    """Whether ``value`` has the shape :func:`check_address` takes (one ``name@example.org``,
    no line break), without the standard library's parse: a quick test for a list of thousands
    (a statement run's), where the message built later checks each address in full."""
    return _ADDRESS.fullmatch(value.strip()) is not None


def header_name(name: str) -> str:
    """A stored name made safe for a header: line breaks, tabs and control characters become
    single spaces, surrounding spaces go, and it is cut to :data:`MAX_NAME` characters."""
    return _UNSAFE_IN_NAME.sub(" ", name).strip()[:MAX_NAME].strip()


def mailbox(name: str, address: str) -> str:
    """``"Ada Lovelace" <ada@example.org>`` as a header writes it (quoted where needed), the name
    made one line by :func:`header_name`; the bare address when there is no name."""
    return str(Address(display_name=header_name(name), addr_spec=address))


def parse_mailbox(value: object, what: str, *, field: str | None = None) -> tuple[str, str]:
    """``Clinic <desk@example.org>`` or a bare address as (name, address); refused when it is
    not exactly one mailbox, or holds a line break."""
    if not isinstance(value, str) or not value.strip():
        raise BillingError(f"Enter the {what}.", code=Refusal.MISSING, field=field)
    text = check_line(value.strip(), what, MAX_NAME + MAX_ADDRESS + 3, field=field)
    found = _MAILBOX.fullmatch(text)
    if found is None:
        if "<" in text or ">" in text:
            raise BillingError(
                f"The {what} {text!r} is not one email address (write it as "
                "Clinic name <desk@example.org>, or the address alone).",
                code=Refusal.BAD_TEXT,
                field=field,
            )
        return "", check_address(text, what, field=field)
    name = found.group(1).strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1].replace('\\"', '"')
    return header_name(name), check_address(found.group(2), what, field=field)


def check_subject(value: object, what: str = "subject", *, field: str | None = "subject") -> str:
    """A subject: one line of at most :data:`MAX_SUBJECT` characters, not empty; a line break
    (which would start another header) is refused, never folded away."""
    if not isinstance(value, str) or not value.strip():
        raise BillingError(f"Enter the {what}.", code=Refusal.MISSING, field=field)
    return check_line(value.strip(), what, MAX_SUBJECT, field=field)
