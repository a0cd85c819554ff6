"""A patient's details beyond the two names: what each one may hold, and how searches see them.

The front desk keeps title, preferred name, date of birth, phones, email, postal address, notes,
concession type and the two billing texts printed on invoices ("Invoice to", for when someone
else is billed, and "Extra information": claim numbers, the referring doctor). Each detail is
optional; :func:`clean_details` checks what a caller gives (the same rules whether it comes from
the patient window, a script or a CSV import) and refuses with the field it is about.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from .errors import BillingError, Refusal
from .limits import MAX_NAME
from .text import check_line, check_text, search_form

#: The details, in the order the patient window and the CSV export show them.
DETAILS: tuple[str, ...] = (
    "title",
    "preferred_name",
    "date_of_birth",
    "mobile",
    "phone",
    "email",
    "address",
    "city",
    "region",
    "postcode",
    "country",
    "notes",
    "concession",
    "invoice_to",
    "invoice_extra",
)

#: What people call each detail (refusals, the patient window, the CSV import's mapping).
LABELS: dict[str, str] = {
    "first_name": "first name",
    "last_name": "last name",
    "title": "title",
    "preferred_name": "preferred name",
    "date_of_birth": "date of birth",
    "mobile": "mobile",
    "phone": "other phone",
    "email": "email",
    "address": "address",
    "city": "city",
    "region": "state or region",
    "postcode": "postcode",
    "country": "country",
    "notes": "notes",
    "concession": "concession type",
    "invoice_to": "invoice to",
    "invoice_extra": "extra information for invoices",
}

#: The public names of :data:`DETAILS` and :data:`LABELS` (``desktop_app.core`` exports them).
PATIENT_DETAILS = DETAILS
DETAIL_LABELS = LABELS

#: The longest text each detail holds (characters); the date of birth is a date.
LIMITS: dict[str, int] = {
    "title": 40,
    "preferred_name": MAX_NAME,
    "mobile": 40,
    "phone": 40,
    "email": 254,
    "address": 400,
    "city": 100,
    "region": 100,
    "postcode": 20,
    "country": 60,  # checked as text first, then as a two-letter code
    "notes": 4000,
    "concession": 60,
    "invoice_to": 400,
    "invoice_extra": 1000,
}

#: Details that may hold several lines (the rest are one line).
MULTI_LINE = frozenset({"address", "notes", "invoice_to", "invoice_extra"})

#: The earliest date of birth the ledger takes.
EARLIEST_BIRTH = date(1900, 1, 1)

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_PHONE = re.compile(r"[0-9 +()\-.]+")
_COUNTRY = re.compile(r"[A-Za-z]{2}")


def unknown_detail(name: str) -> BillingError:
    """The refusal of a detail the ledger does not keep."""
    return BillingError(
        f"A patient has no detail called {name!r}; the details are {', '.join(DETAILS)}.",
        code=Refusal.BAD_CHOICE,
        field=name,
    )


def clean_birth_date(value: object, today: date) -> date:
    """A date of birth: a ``date`` (or ISO text) from 1900 to ``today``."""
    if isinstance(value, str):
        try:
            if not _ISO_DAY.fullmatch(value.strip()):
                raise ValueError(value)  # fromisoformat also reads "19851210" and week dates
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise BillingError(
                "The date of birth is not a date: check the day, month and year.",
                code=Refusal.BAD_DATE,
                field="date_of_birth",
            ) from None
    if type(value) is not date:
        raise BillingError(
            "The date of birth must be a date.",
            code=Refusal.BAD_DATE,
            field="date_of_birth",
        )
    if value > today:
        raise BillingError(
            "The date of birth is in the future.",
            code=Refusal.FUTURE_DATE,
            field="date_of_birth",
        )
    if value < EARLIEST_BIRTH:
        raise BillingError(
            "The date of birth is before 1900; check the year.",
            code=Refusal.BAD_DATE,
            field="date_of_birth",
        )
    return value


def _clean_text(name: str, value: object) -> str | None:
    what = LABELS[name]
    if not isinstance(value, str):
        raise BillingError(f"The {what} must be text.", code=Refusal.BAD_TEXT, field=name)
    stripped = value.strip()
    if not stripped:
        return None
    check = check_text if name in MULTI_LINE else check_line
    if name in MULTI_LINE:
        # Each line trimmed; a pasted address keeps its lines, not its stray spaces.
        lines = stripped.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        stripped = "\n".join(line.strip() for line in lines)
    return check(stripped, what, LIMITS[name], field=name)


def _clean_email(text: str) -> str:
    if not _EMAIL.fullmatch(text):
        raise BillingError(
            "The email is not an address (it should look like name@example.org).",
            code=Refusal.BAD_TEXT,
            field="email",
        )
    return text


def _clean_phone(name: str, text: str) -> str:
    if not _PHONE.fullmatch(text) or sum(c.isdigit() for c in text) < 3:
        raise BillingError(
            f"The {LABELS[name]} is not a phone number: use digits, spaces, +, - and brackets.",
            code=Refusal.BAD_TEXT,
            field=name,
        )
    return text


def _clean_country(text: str) -> str:
    if not _COUNTRY.fullmatch(text):
        raise BillingError(
            "Give the country as its two-letter code (AU, NZ, GB, US, ...).",
            code=Refusal.BAD_CHOICE,
            field="country",
        )
    return text.upper()


def clean_detail(name: str, value: object, today: date) -> Any:
    """One detail as the ledger keeps it (None: cleared), or a refusal naming its field."""
    if name not in DETAILS:
        raise unknown_detail(name)
    if value is None:
        return None
    if name == "date_of_birth":
        if isinstance(value, str) and not value.strip():
            return None
        return clean_birth_date(value, today)
    text = _clean_text(name, value)
    if text is None:
        return None
    if name == "email":
        return _clean_email(text)
    if name in ("mobile", "phone"):
        return _clean_phone(name, text)
    if name == "country":
        return _clean_country(text)
    return text


def clean_details(details: Mapping[str, object], today: date) -> dict[str, Any]:
    """Every given detail checked (see :func:`clean_detail`); an unknown name is refused."""
    return {name: clean_detail(name, value, today) for name, value in details.items()}


def digits(text: str | None) -> str:
    """The digits of a phone number (``"0412 345 678"`` is ``"0412345678"``)."""
    return "".join(c for c in text or "" if c.isdigit())


def patient_search_key(
    first_name: str,
    last_name: str,
    *,
    preferred_name: str | None = None,
    email: str | None = None,
    mobile: str | None = None,
    phone: str | None = None,
    date_of_birth: date | None = None,
) -> str:
    """The stored key a patient search matches (:func:`~.text.search_form` of each part): the
    names (last first, then the preferred name), the email, the phones' digits and the date of
    birth as ``YYYYMMDD``, so one indexed text holds everything a search can find."""
    parts = [search_form(last_name), search_form(first_name)]
    if preferred_name:
        parts.append(search_form(preferred_name))
    if email:
        parts.append(search_form(email))
    parts.extend(d for d in (digits(mobile), digits(phone)) if d)
    if date_of_birth is not None:
        parts.append(date_of_birth.strftime("%Y%m%d"))
    return " ".join(p for p in parts if p)
