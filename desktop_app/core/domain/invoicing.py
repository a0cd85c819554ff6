"""Invoice lines: parsing what staff entered and the exact line arithmetic (standard library only).

A line is ``unit price x quantity`` plus tax at an optional percentage. Tax is the one amount the
ledger computes rather than receives, so it is rounded half up to the minor unit, per line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .errors import BillingError, Refusal
from .money import format_amount, max_major, parse_minor, scaled_exactly
from .text import check_line

MAX_QUANTITY = 10_000
MAX_DESCRIPTION = 500
#: Tax rates are held in hundredths of a percent (10% -> 1000).
BASIS = 10_000
#: The input a refusal of :func:`parse_lines` is about (``BillingError.field``): the invoice's
#: lines, as ``Clinic.create_invoice`` names them.
LINES_FIELD = "lines"

#: Typed numbers are ASCII digits only (Decimal and int also read other scripts' digits, and
#: ``1e2``, ``1_000`` and ``+5``).
_WHOLE = re.compile(r"[0-9]+")
_PERCENT = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")


@dataclass(frozen=True, slots=True)
class LineInput:
    """One validated invoice line, amounts in minor units."""

    description: str
    unit_price_minor: int
    quantity: int
    tax_rate_bp: int
    tax_minor: int

    @property
    def amount_minor(self) -> int:
        """Line total including tax."""
        return self.unit_price_minor * self.quantity + self.tax_minor


def _bad_number(message: str, field: str | None) -> BillingError:
    """A quantity or tax rate that is not a number the ledger takes (``bad_amount``)."""
    return BillingError(message, code=Refusal.BAD_AMOUNT, field=field)


def _quantity(value: object, where: str, field: str | None = None) -> int:
    """A whole quantity: typed digits (``"2"``), or an int or integral Decimal from code."""
    whole = f"{where}: the quantity must be a whole number such as 1 or 2."
    if isinstance(value, (bool, float)):
        raise _bad_number(whole, field)
    if isinstance(value, str):
        text = value.strip()
        if not _WHOLE.fullmatch(text):
            raise _bad_number(
                f"{where}: the quantity {value!r} is not a number; type a whole number such as "
                "1 or 2 (digits 0-9).",
                field,
            )
        number = Decimal(text.lstrip("0")[:7] or "0")  # anything longer is out of range anyway
    elif isinstance(value, (int, Decimal)):
        number = Decimal(value)
        if not number.is_finite() or number != number.to_integral_value():
            raise _bad_number(whole, field)
    else:
        raise _bad_number(f"{where}: the quantity {value!r} is not a number.", field)
    if not 1 <= number <= MAX_QUANTITY:
        raise _bad_number(f"{where}: the quantity must be between 1 and {MAX_QUANTITY:,}.", field)
    return int(number)


def parse_tax_rate(value: object, where: str = "Tax rate", *, field: str | None = None) -> int:
    """A percentage such as ``"10"`` or ``Decimal("12.5")`` as hundredths of a percent; a
    refusal (``bad_amount``) names ``field``, the input it is about."""
    if value is None or value == "":
        return 0
    if isinstance(value, (bool, float)):
        raise _bad_number(f"{where}: give the tax rate as text or a Decimal, such as 10.", field)
    if isinstance(value, str):
        text = value.strip().removesuffix("%").strip()
        if not _PERCENT.fullmatch(text):
            raise _bad_number(f"{where}: {value!r} is not a percentage.", field)
        value = text
    try:
        rate = Decimal(value)  # type: ignore[arg-type]
    except (InvalidOperation, TypeError, ValueError):
        raise _bad_number(f"{where}: {value!r} is not a percentage.", field) from None
    if not rate.is_finite() or not 0 <= rate <= 100:
        raise _bad_number(f"{where}: the tax rate must be between 0 and 100 percent.", field)
    hundredths = scaled_exactly(rate, 2)
    if hundredths is None:
        raise _bad_number(f"{where}: the tax rate can have at most two decimals.", field)
    return hundredths


def tax_on(amount_minor: int, rate_bp: int) -> int:
    """Tax on a non-negative amount, rounded half up to the minor unit."""
    return (amount_minor * rate_bp + BASIS // 2) // BASIS


def parse_lines(lines: Sequence[Sequence[object]], currency: str) -> list[LineInput]:
    """Validate invoice lines given as ``(description, unit price, quantity[, tax rate %])``.

    Raises:
        BillingError: no lines or an empty description (``missing``), a description too long
            (``too_long``) or with characters refused (``bad_text``), a bad price, quantity or tax
            rate or an invoice total of zero (``bad_amount``), or a total above the ceiling
            (``amount_too_large``); each names the ``"lines"`` field.
    """
    field = LINES_FIELD
    if isinstance(lines, (str, bytes)) or not lines:
        raise BillingError("An invoice needs at least one line.", code=Refusal.MISSING, field=field)
    parsed: list[LineInput] = []
    for number, raw in enumerate(lines, start=1):
        where = f"Line {number}"
        if isinstance(raw, (str, bytes)) or len(raw) not in (3, 4):
            raise BillingError(
                f"{where}: give a description, a unit price and a quantity.",
                code=Refusal.MISSING,
                field=field,
            )
        description, price, quantity = raw[0], raw[1], raw[2]
        if not isinstance(description, str) or not description.strip():
            raise BillingError(f"{where}: enter a description.", code=Refusal.MISSING, field=field)
        if len(description) > MAX_DESCRIPTION:
            raise BillingError(
                f"{where}: the description is longer than {MAX_DESCRIPTION} characters.",
                code=Refusal.TOO_LONG,
                field=field,
            )
        check_line(description, f"description on line {number}", MAX_DESCRIPTION, field=field)
        unit = parse_minor(
            price,  # type: ignore[arg-type]
            currency,
            what=f"{where} unit price",
            field=field,
        )
        qty = _quantity(quantity, where, field)
        rate = parse_tax_rate(raw[3] if len(raw) == 4 else None, f"{where} tax rate", field=field)
        parsed.append(LineInput(description, unit, qty, rate, tax_on(unit * qty, rate)))
    total = sum(line.amount_minor for line in parsed)
    if total <= 0:
        raise BillingError(
            "The invoice total is zero: there is nothing to bill.",
            code=Refusal.BAD_AMOUNT,
            field=field,
        )
    limit = parse_minor(max_major(currency), currency)
    if total > limit:
        raise BillingError(
            f"The invoice total of {format_amount(total, currency)} is above the limit of "
            f"{format_amount(limit, currency)}; check the prices and quantities.",
            code=Refusal.AMOUNT_TOO_LARGE,
            field=field,
        )
    return parsed
