"""The clinic's letterhead: what printed invoices, receipts and statements carry at top and foot.

It lives in the clinic's settings (the database), so every front-desk computer prints the same
name, address and logo. The logo is kept as base64 text of the image file's own bytes (PNG or
JPEG, at most :data:`MAX_LOGO_BYTES`); the core checks only its signature and size, and the
printing layer draws it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from .errors import BillingError, Refusal, bad_file
from .regions import listed_region
from .text import check_line, check_text

MAX_ADDRESS = 500
MAX_CONTACT = 200
MAX_TAX_NUMBER = 60
MAX_FOOTER = 1000
MAX_LOGO_BYTES = 512 * 1024

#: Setting keys of the letterhead's text fields (the clinic's name has its own setting).
TEXT_SETTINGS = {
    "clinic_address": ("clinic's address", MAX_ADDRESS),
    "clinic_contact": ("clinic's phone and email", MAX_CONTACT),
    "clinic_tax_number": ("clinic's tax or business number", MAX_TAX_NUMBER),
    "document_footer": ("footer for printed documents", MAX_FOOTER),
}
#: The text fields that may have several lines (the others are single lines).
MULTI_LINE = frozenset({"clinic_address", "document_footer"})
LOGO_SETTING = "clinic_logo"

_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"))


@dataclass(frozen=True, slots=True)
class Letterhead:
    """The clinic as printed documents show it."""

    name: str
    address: str = ""
    contact: str = ""
    tax_number: str = ""
    footer: str = ""
    logo: bytes | None = None
    #: The clinic's country as the first run saved it ("Australia"; empty before it).
    country: str = ""

    @property
    def country_code(self) -> str:
        """The clinic's country as a postal address writes it ("AU"; empty when not listed)."""
        region = listed_region(self.country)
        return region.code if region else ""

    @property
    def paper(self) -> str:
        """ "Letter" or "A4" for a clinic in a listed country; empty otherwise (the printing
        layer then goes by the computer's measurement system)."""
        region = listed_region(self.country)
        return region.paper if region else ""

    @property
    def logo_format(self) -> str | None:
        """``"png"`` or ``"jpeg"`` (None without a logo)."""
        return None if self.logo is None else image_format(self.logo)


def image_format(data: bytes) -> str:
    """The image format from the file's signature; refuses anything but PNG and JPEG."""
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name
    raise BillingError(
        "The logo must be a PNG or JPEG image.", code=Refusal.BAD_FILE, field=LOGO_SETTING
    )


def clean_text_setting(key: str, value: object) -> str:
    """A letterhead text field, stripped and checked (empty text clears it); a refusal names
    ``key`` as its field."""
    what, limit = TEXT_SETTINGS[key]
    if not isinstance(value, str):
        raise BillingError(f"The {what} must be text.", code=Refusal.BAD_TEXT, field=key)
    if key not in MULTI_LINE:
        return check_line(value.strip(), what, limit, field=key)
    lines = [line.rstrip() for line in value.strip().replace("\r\n", "\n").split("\n")]
    return check_text("\n".join(lines), what, limit, field=key)


def clean_logo(data: object) -> bytes:
    """The logo's bytes, checked: PNG or JPEG, at most :data:`MAX_LOGO_BYTES` (empty clears it)."""
    if not isinstance(data, bytes | bytearray):
        raise bad_file(
            "The logo must be the bytes of an image file.",
            field=LOGO_SETTING,
        )
    data = bytes(data)
    if not data:
        return b""
    if len(data) > MAX_LOGO_BYTES:
        raise BillingError(
            f"The logo is {len(data) // 1024:,} KB; use an image of at most "
            f"{MAX_LOGO_BYTES // 1024} KB (a few hundred pixels wide is plenty for print).",
            code=Refusal.TOO_LONG,
            field=LOGO_SETTING,
        )
    image_format(data)
    return data


def encode_logo(data: bytes) -> str:
    """The logo as it is stored in the settings table."""
    return base64.b64encode(data).decode("ascii")


def decode_logo(stored: str) -> bytes | None:
    """The logo's bytes from the settings table (None when there is none or it is unreadable)."""
    if not stored:
        return None
    try:
        data = base64.b64decode(stored.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None
    return data or None


def logo_summary(data: bytes) -> str:
    """What the audit log records of a logo: its size and fingerprint, not the image."""
    if not data:
        return "none"
    return (
        f"{image_format(data)}, {len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}"
    )
