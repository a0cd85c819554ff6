"""Free text staff type (names, descriptions, reasons): kept verbatim, with two exceptions.

Any Unicode is stored exactly as typed: accents, right-to-left scripts, emoji, combining marks,
text that looks like SQL. Refused, with a reason, are text longer than its field and control
characters other than tab and line breaks. NUL in particular cannot be stored by PostgreSQL and is
never typed on purpose (it arrives by pasting from broken files), so both databases refuse it the
same way rather than one of them cutting the text.
"""

from __future__ import annotations

import re

from .errors import BillingError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text(value: str, what: str, max_length: int) -> str:
    """Return ``value`` unchanged, or refuse control characters and over-long text."""
    if len(value) > max_length:
        raise BillingError(f"The {what} is longer than {max_length:,} characters.")
    found = _CONTROL.search(value)
    if found is not None:
        code = ord(found.group())
        name = "a NUL character" if code == 0 else f"the control character U+{code:04X}"
        raise BillingError(
            f"The {what} contains {name} (usually from pasted text); remove it and save again."
        )
    return value


def required_text(value: object, what: str, max_length: int) -> str:
    """Stripped text that must not be empty (a reason, a name)."""
    if not isinstance(value, str) or not value.strip():
        raise BillingError(f"Enter the {what}.")
    return check_text(value.strip(), what, max_length)


def optional_text(value: object, what: str, max_length: int) -> str | None:
    """Stripped text, or None when nothing was given."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BillingError(f"The {what} must be text.")
    stripped = value.strip()
    return check_text(stripped, what, max_length) if stripped else None
