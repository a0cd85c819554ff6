"""Exact money in integer minor units, and parsing what a person typed.

Money never passes through ``float``. Amounts live as integers of the currency's minor unit
(cents for AUD, yen for JPY, fils for KWD); :class:`decimal.Decimal` appears only at the edges,
when parsing input and when handing amounts back to callers. Input that would need rounding is
refused, never rounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from .currencies import MINOR_UNITS, SYMBOLS, normalize_currency
from .errors import BillingError, Refusal

DEFAULT_CURRENCY: Final = "AUD"
#: The input a refusal of a typed amount is about (``BillingError.field``), unless a caller
#: names another.
AMOUNT_FIELD: Final = "amount"

#: Largest amount, in major units, a person can enter: anything above is a typing mistake.
MAX_MAJOR: Final = 10_000_000
#: Currencies whose unit is worth so little that the ceiling is raised (10 billion units).
_HIGH_DENOMINATION: Final = frozenset(
    """
        JPY KRW IDR VND IRR LAK UZS PYG UGX COP CLP MMK KHR GNF SLE LBP MGA TZS KPW SYP
    """.split()
)

#: Digits are ASCII 0-9 only: Decimal (and int) would also read Arabic-Indic, Devanagari and
#: full-width digits, which no one types as an amount on purpose.
_NUMBER = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?$|^\.\d+$", re.ASCII)
_NOT_FINITE = re.compile(r"^[+-]?(?:nan|snan|inf|infinity)$", re.IGNORECASE)
_SPACES = re.compile(r"[\s\u00a0\u202f]+")

AmountInput = str | Decimal | int


def _cap(text: str) -> str:
    """Upper-case the first letter only (``EFTPOS`` stays ``EFTPOS``)."""
    return text[:1].upper() + text[1:]


def max_major(currency: str) -> int:
    """The ceiling for one typed amount, in major units of ``currency``."""
    return MAX_MAJOR * 1000 if currency in _HIGH_DENOMINATION else MAX_MAJOR


def _strip_currency(text: str, currency: str) -> str:
    """Remove one currency symbol or code in front of (or, for a code, after) the number."""
    marks = sorted((*SYMBOLS.get(currency, ()), currency), key=len, reverse=True)
    for mark in marks:
        if text.upper().startswith(mark.upper()):
            return text[len(mark) :].strip()
    if text.upper().endswith(currency):
        return text[: -len(currency)].strip()
    return text


def _decimal_from_text(text: str, currency: str, what: str, field: str | None) -> Decimal:
    """Read a typed amount such as ``$1,234.50`` or ``-12`` into a Decimal, or refuse it."""
    cleaned = _SPACES.sub(" ", text).strip()
    if not cleaned:
        raise BillingError(f"Enter an amount for {what}.", code=Refusal.MISSING, field=field)
    if _NOT_FINITE.match(cleaned.replace(" ", "")):
        raise BillingError(
            f"{_cap(what)}: {text!r} is not a number.", code=Refusal.BAD_AMOUNT, field=field
        )
    negative = False
    body = cleaned
    if body.startswith("-"):
        negative, body = True, body[1:].strip()
    body = _strip_currency(body, currency)
    if body.startswith("-") and not negative:
        negative, body = True, body[1:].strip()
    if not _NUMBER.match(body):
        raise BillingError(
            f"{_cap(what)}: {text!r} is not an amount. Type digits such as 12.50 or 1,234.50.",
            code=Refusal.BAD_AMOUNT,
            field=field,
        )
    value = Decimal(body.replace(",", ""))
    return -value if negative else value


def parse_minor(
    value: AmountInput,
    currency: str = DEFAULT_CURRENCY,
    *,
    allow_negative: bool = False,
    what: str = "the amount",
    field: str | None = AMOUNT_FIELD,
) -> int:
    """Parse an amount into integer minor units of ``currency``.

    Accepts ``12``, ``12.5``, ``12.50``, ``$12.50``, ``1,234.50`` (text), ``Decimal`` and ``int``.
    ``10.5``, ``10.50`` and ``10.500`` are the same amount.

    Args:
        value: what a person typed, or an exact ``Decimal``/``int`` from code (never a float).
        currency: ISO 4217 code whose minor unit applies.
        allow_negative: accept amounts below zero (only internal operations such as refunds do).
        what: how to name the field in an error message, e.g. ``"Cash"``.
        field: the input a refusal is about (``BillingError.field``): ``"amount"`` unless the
            caller names another.

    Raises:
        BillingError: ``missing`` (nothing typed), ``bad_amount`` (not a number, NaN/Infinity,
            negative, more decimals than the currency has, or a float) or ``amount_too_large``
            (above the ceiling).
    """
    currency = normalize_currency(currency)
    if isinstance(value, (bool, float)):
        raise BillingError(
            f"{_cap(what)}: amounts must be exact; pass text or a Decimal, not {value!r}.",
            code=Refusal.BAD_AMOUNT,
            field=field,
        )
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        amount = _decimal_from_text(value, currency, what, field)
    else:
        raise BillingError(
            f"{_cap(what)}: {value!r} is not an amount.", code=Refusal.BAD_AMOUNT, field=field
        )
    if not amount.is_finite():
        raise BillingError(
            f"{_cap(what)}: {value!r} is not a number.", code=Refusal.BAD_AMOUNT, field=field
        )
    if amount < 0 and not allow_negative:
        raise BillingError(
            f"{_cap(what)} cannot be negative ({value}).", code=Refusal.BAD_AMOUNT, field=field
        )
    ceiling = max_major(currency)
    if abs(amount) > ceiling:
        raise BillingError(
            f"{_cap(what)} of {value} is above the limit of {ceiling:,} {currency}; "
            "check for a typing mistake.",
            code=Refusal.AMOUNT_TOO_LARGE,
            field=field,
        )
    exponent = MINOR_UNITS[currency]
    minor = scaled_exactly(amount, exponent)
    if minor is None:
        raise BillingError(
            f"{_cap(what)}: {value} has more than {exponent} decimal"
            f"{'' if exponent == 1 else 's'} for {currency}; amounts are never rounded.",
            code=Refusal.BAD_AMOUNT,
            field=field,
        )
    return minor


def scaled_exactly(amount: Decimal, places: int) -> int | None:
    """``amount x 10**places`` as an int, or None when that is not a whole number.

    Works on the digits themselves: Decimal arithmetic would round past 28 significant digits
    (``1.00000000000000000000000000001`` must be refused, not read as 1.00).
    """
    sign, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int):  # NaN or Infinity
        return None
    number = int("".join(map(str, digits)) or "0")
    if number == 0:
        return 0
    shift = exponent + places
    if shift >= 0:
        value = number * int(10**shift)
    elif -shift > len(digits):  # more places than digits: a non-zero fraction remains
        return None
    else:
        divisor = int(10 ** (-shift))  # shift < 0 here: an exact integer power
        value, rest = divmod(number, divisor)
        if rest:
            return None
    return -value if sign else value


def to_decimal(minor: int, currency: str = DEFAULT_CURRENCY) -> Decimal:
    """Integer minor units as a Decimal quantized to the currency's minor unit (5000 -> 50.00)."""
    return Decimal(minor).scaleb(-MINOR_UNITS[currency])


def format_amount(minor: int, currency: str = DEFAULT_CURRENCY) -> str:
    """Locale-free rendering for messages: ``$1,234.50``, ``-$5.00``, ``¥500``, ``KWD 1.250``.

    Windows format amounts for the clinic's locale; this is for error messages and logs.
    """
    exponent = MINOR_UNITS[currency]
    magnitude = to_decimal(abs(minor), currency)
    number = f"{magnitude:,.{exponent}f}"
    symbols = SYMBOLS.get(currency)
    text = f"{symbols[0]}{number}" if symbols else f"{currency} {number}"
    return f"-{text}" if minor < 0 else text


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount of one currency, held as integer minor units.

    Same-currency addition and subtraction only; no multiplication of money by money, no float.
    """

    minor: int
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError("Money holds an integer number of minor units.")
        object.__setattr__(self, "currency", normalize_currency(self.currency))

    @classmethod
    def zero(cls, currency: str = DEFAULT_CURRENCY) -> Money:
        """Nothing, in ``currency``."""
        return cls(0, currency)

    @classmethod
    def parse(
        cls,
        value: AmountInput,
        currency: str = DEFAULT_CURRENCY,
        *,
        allow_negative: bool = False,
        what: str = "the amount",
        field: str | None = AMOUNT_FIELD,
    ) -> Money:
        """Parse typed input; see :func:`parse_minor` for what is accepted and refused."""
        minor = parse_minor(value, currency, allow_negative=allow_negative, what=what, field=field)
        return cls(minor, currency)

    def to_decimal(self) -> Decimal:
        """The amount as a Decimal with the currency's decimals (``Decimal('50.00')``)."""
        return to_decimal(self.minor, self.currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError("Money can only be combined with Money.")
        if other.currency != self.currency:
            raise ValueError(f"Cannot combine {self.currency} with {other.currency}.")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def __bool__(self) -> bool:
        return self.minor != 0

    def __str__(self) -> str:
        return format_amount(self.minor, self.currency)
