"""The service catalogue's rules (standard library only): an item's code, name, kind, price, tax
rate and concession prices, checked the same way from the Settings window, a script and a CSV
import."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import BillingError, Refusal
from .invoicing import parse_tax_rate
from .money import format_amount, parse_minor
from .text import check_line

MAX_CODE = 20
MAX_ITEM_NAME = 200
MAX_CONCESSION = 60
#: The kinds of billable item.
KINDS = ("service", "product")
#: A code is what staff type to pick an item: letters, digits and ``- _ . /``, no spaces.
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_./]*")


@dataclass(frozen=True, slots=True)
class ItemFields:
    """A billable item's checked fields, amounts in minor units."""

    code: str
    name: str
    kind: str
    price_minor: int
    tax_rate_bp: int
    concession_prices: dict[str, int]


def clean_code(value: object) -> str:
    """An item code: 1 to 20 letters, digits or ``- _ . /``, starting with a letter or digit."""
    if not isinstance(value, str) or not value.strip():
        raise BillingError("Enter the item's code.", code=Refusal.MISSING, field="code")
    code = value.strip()
    if len(code) > MAX_CODE:
        raise BillingError(
            f"An item code has at most {MAX_CODE} characters.", code=Refusal.TOO_LONG, field="code"
        )
    if not _CODE.fullmatch(code):
        raise BillingError(
            "An item code holds letters, digits and - _ . / only, with no spaces (IC, FU-30).",
            code=Refusal.BAD_TEXT,
            field="code",
        )
    return code


def clean_item_name(value: object) -> str:
    """An item's name: one line of up to 200 characters."""
    if not isinstance(value, str) or not value.strip():
        raise BillingError("Enter the item's name.", code=Refusal.MISSING, field="name")
    name = value.strip()
    check_line(name, "item name", MAX_ITEM_NAME, field="name")
    return name


def clean_kind(value: object) -> str:
    """``service`` or ``product``."""
    if value not in KINDS:
        raise BillingError(
            f"An item is a service or a product, not {value!r}.",
            code=Refusal.BAD_CHOICE,
            field="kind",
        )
    return str(value)


def clean_price(value: object, currency: str, field: str = "price") -> int:
    """A price in minor units (0 or more, the currency's decimals)."""
    return parse_minor(value, currency, what="the price", field=field)  # type: ignore[arg-type]


def clean_concession_prices(value: object, currency: str, price_minor: int) -> dict[str, int]:
    """Concession prices by concession type: each at most the item's own price (a concession
    lowers a price, never raises it)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise BillingError(
            "Give the concession prices as a mapping of concession type to price.",
            code=Refusal.BAD_CHOICE,
            field="concession_prices",
        )
    prices: dict[str, int] = {}
    for concession, price in value.items():
        if not isinstance(concession, str) or not concession.strip():
            raise BillingError(
                "A concession price needs its concession type (Pensioner, Student).",
                code=Refusal.MISSING,
                field="concession_prices",
            )
        name = concession.strip()
        check_line(name, "concession type", MAX_CONCESSION, field="concession_prices")
        minor = clean_price(price, currency, field="concession_prices")
        if minor > price_minor:
            raise BillingError(
                f"The {name} price of {format_amount(minor, currency)} is above the item's "
                f"price of {format_amount(price_minor, currency)}; a concession price can be no "
                "more than the price.",
                code=Refusal.BAD_AMOUNT,
                field="concession_prices",
            )
        if name.casefold() in (n.casefold() for n in prices):
            raise BillingError(
                f"The concession type {name} is given twice.",
                code=Refusal.BAD_CHOICE,
                field="concession_prices",
            )
        prices[name] = minor
    return prices


def clean_item(
    currency: str,
    *,
    code: object,
    name: object,
    price: object,
    tax_rate: object = None,
    kind: object = "service",
    concession_prices: object = None,
) -> ItemFields:
    """Every field of a billable item checked (the first problem refused, naming its field)."""
    price_minor = clean_price(price, currency)
    return ItemFields(
        code=clean_code(code),
        name=clean_item_name(name),
        kind=clean_kind(kind),
        price_minor=price_minor,
        tax_rate_bp=parse_tax_rate(tax_rate, "Tax rate", field="tax_rate"),
        concession_prices=clean_concession_prices(concession_prices, currency, price_minor),
    )
