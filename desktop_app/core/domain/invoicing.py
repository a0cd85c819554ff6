"""Invoice lines: parsing what staff entered and the exact line arithmetic (standard library only).

A line is ``unit price x quantity`` less a discount, with tax at an optional percentage. Every
amount the ledger computes rather than receives is rounded half up to the minor unit, per line,
as Xero does:

* ``gross = round(unit price x quantity)`` (quantities have up to two decimals: 0.5 hours);
* ``discount`` is an amount, or a percentage of the gross rounded the same way; it can be no
  more than the gross;
* ``amount = gross - discount``;
* with prices including tax, ``tax = round(amount x rate / (100 + rate))``, the line's net is
  ``amount - tax`` and its total is the amount ($95.00 at 10% carries $8.64 of GST); without,
  ``tax = round(amount x rate / 100)`` is added on top (net = amount, total = amount + tax).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .errors import BillingError, Refusal
from .money import format_amount, max_major, parse_minor, scaled_exactly
from .text import check_line


class Unchanged(enum.Enum):
    """The default of an invoice's optional fields in ``update_invoice`` (and the practitioner
    in ``create_invoice``): left out, the field keeps its value (or takes the patient's
    practitioner), so None can mean "no one" or "no date"."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED

MAX_QUANTITY = 10_000
MAX_DESCRIPTION = 500
#: Tax rates are held in hundredths of a percent (10% -> 1000).
BASIS = 10_000
#: Quantities are held in hundredths (0.5 -> 50).
CENTI = 100
#: The input a refusal of :func:`parse_lines` is about (``BillingError.field``): the invoice's
#: lines, as ``Clinic.create_invoice`` names them.
LINES_FIELD = "lines"
#: The keys a line given as a mapping may have.
LINE_KEYS = frozenset({"item", "description", "price", "quantity", "tax_rate", "discount"})

#: Typed numbers are ASCII digits only (Decimal and int also read other scripts' digits, and
#: ``1e2``, ``1_000`` and ``+5``).
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+")
_PERCENT = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")


@dataclass(frozen=True, slots=True)
class CatalogueLine:
    """What a line takes from a catalogue item: its code, name, price for this patient (the
    concession price when one applies) and tax rate."""

    item_id: int
    code: str
    name: str
    price_minor: int
    tax_rate_bp: int


@dataclass(frozen=True, slots=True)
class LineInput:
    """One validated invoice line, amounts in minor units (see the module's arithmetic)."""

    description: str
    unit_price_minor: int
    quantity_centi: int
    tax_rate_bp: int
    discount_minor: int
    discount_bp: int | None
    net_minor: int
    tax_minor: int
    item_id: int | None = None
    item_code: str | None = None

    @property
    def amount_minor(self) -> int:
        """Line total including tax."""
        return self.net_minor + self.tax_minor


def quantity_text(centi: int) -> str:
    """A quantity in hundredths as people write it: ``"2"``, ``"0.5"``, ``"1.25"``."""
    whole, part = divmod(centi, CENTI)
    return str(whole) if not part else f"{whole}.{part:02d}".rstrip("0")


def issued(number: int | None) -> int:
    """The number of an invoice that money, a credit note or an export refers to: such an
    invoice is issued (a draft has no number and nothing refers to it)."""
    if number is None:
        raise RuntimeError("A payment, credit note or export refers to a draft invoice.")
    return number


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, for non-negative whole numbers."""
    return (2 * numerator + denominator) // (2 * denominator)


def line_amounts(
    unit_minor: int,
    quantity_centi: int,
    rate_bp: int,
    *,
    tax_inclusive: bool,
    discount_minor: int = 0,
    discount_bp: int | None = None,
) -> tuple[int, int, int]:
    """``(discount, net, tax)`` of a line, in minor units (the module's arithmetic). A
    percentage discount (``discount_bp``) is worked out from the gross; otherwise
    ``discount_minor`` is taken as it is. The caller checks the discount is within the gross."""
    gross = round_half_up(unit_minor * quantity_centi, CENTI)
    if discount_bp is not None:
        discount_minor = round_half_up(gross * discount_bp, BASIS)
    amount = gross - discount_minor
    if tax_inclusive:
        tax = round_half_up(amount * rate_bp, BASIS + rate_bp)
        return discount_minor, amount - tax, tax
    return discount_minor, amount, round_half_up(amount * rate_bp, BASIS)


def _bad_number(message: str, field: str | None) -> BillingError:
    """A quantity or tax rate that is not a number the ledger takes (``bad_amount``)."""
    return BillingError(message, code=Refusal.BAD_AMOUNT, field=field)


def parse_quantity(value: object, where: str = "Quantity", field: str | None = None) -> int:
    """A quantity in hundredths: typed digits with up to two decimals (``"2"``, ``"0.5"``), or
    an int or Decimal from code; more than 0 and at most :data:`MAX_QUANTITY`."""
    if value is None or value == "":
        return CENTI
    if isinstance(value, (bool, float)):
        raise _bad_number(
            f"{where}: give the quantity as text or a Decimal, such as 1 or 0.5.", field
        )
    if isinstance(value, str):
        text = value.strip()
        if not _DECIMAL.fullmatch(text):
            raise _bad_number(
                f"{where}: the quantity {value!r} is not a number; type a number such as 1, 2 "
                "or 0.5 (digits 0-9).",
                field,
            )
        number = Decimal(text)
    elif isinstance(value, (int, Decimal)):
        number = Decimal(value)
        if not number.is_finite():
            raise _bad_number(f"{where}: the quantity {value!r} is not a number.", field)
    else:
        raise _bad_number(f"{where}: the quantity {value!r} is not a number.", field)
    if not 0 < number <= MAX_QUANTITY:
        raise _bad_number(
            f"{where}: the quantity must be more than 0 and at most {MAX_QUANTITY:,}.", field
        )
    centi = scaled_exactly(number, 2)
    if centi is None:
        raise _bad_number(f"{where}: the quantity can have at most two decimals (0.25).", field)
    return centi


def parse_discount(
    value: object, currency: str, where: str = "Discount", field: str | None = None
) -> tuple[int, int | None]:
    """A discount as ``(amount in minor units, None)`` or, for a percentage such as ``"10%"``,
    ``(0, hundredths of a percent)``. Nothing typed is no discount."""
    if value is None or value == "":
        return 0, None
    if isinstance(value, str) and value.strip().endswith("%"):
        text = value.strip().removesuffix("%").strip()
        if text.startswith("-"):
            raise _bad_number(f"{where}: a discount cannot be below zero.", field)
        if not _PERCENT.fullmatch(text):
            raise _bad_number(f"{where}: {value!r} is not a percentage.", field)
        percent = Decimal(text)
        if percent > 100:
            raise _bad_number(f"{where}: a discount cannot be more than 100%.", field)
        hundredths = scaled_exactly(percent, 2)
        if hundredths is None:
            raise _bad_number(f"{where}: a percentage can have at most two decimals.", field)
        return 0, hundredths
    if isinstance(value, (str, Decimal, int)) and not isinstance(value, bool):
        text = str(value).strip()
        if text.startswith("-"):
            raise _bad_number(f"{where}: a discount cannot be below zero.", field)
    return parse_minor(value, currency, what=where, field=field), None  # type: ignore[arg-type]


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


ItemLookup = Callable[[int], CatalogueLine]


def parse_lines(
    lines: Sequence[object],
    currency: str,
    *,
    tax_inclusive: bool = False,
    item: ItemLookup | None = None,
    allow_empty: bool = False,
) -> list[LineInput]:
    """Validate invoice lines and work out their amounts.

    Each line is ``(description, unit price, quantity[, tax rate %])``, or a mapping with
    ``item`` (a catalogue item's id: its name, price for the patient and tax rate are the
    defaults), ``description``, ``price``, ``quantity`` (up to two decimals; 1 when left out),
    ``tax_rate`` and ``discount`` (an amount, or a percentage such as ``"10%"``).

    Args:
        tax_inclusive: whether prices include the tax (the invoice's basis).
        item: looks up a catalogue item by id (refusing an unknown or archived one); None when
            lines may not name items.
        allow_empty: accept no lines at all (a draft being started).

    Raises:
        BillingError: no lines or an empty description (``missing``), a description too long
            (``too_long``) or with characters refused (``bad_text``), a bad price, quantity,
            discount or tax rate, a discount above its line, or an invoice total of zero
            (``bad_amount``), or a total above the ceiling (``amount_too_large``); each names
            the ``"lines"`` field.
    """
    field = LINES_FIELD
    if isinstance(lines, (str, bytes)) or not isinstance(lines, Sequence):
        raise BillingError("Give the invoice's lines as a list.", code=Refusal.MISSING, field=field)
    if not lines:
        if allow_empty:
            return []
        raise BillingError("An invoice needs at least one line.", code=Refusal.MISSING, field=field)
    parsed = [
        _parse_line(raw, number, currency, tax_inclusive, item)
        for number, raw in enumerate(lines, start=1)
    ]
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


def _as_mapping(raw: object, where: str) -> Mapping[str, object]:
    """A line in either form as a mapping of :data:`LINE_KEYS`."""
    field = LINES_FIELD
    if isinstance(raw, Mapping):
        unknown = sorted(str(k) for k in raw if k not in LINE_KEYS)
        if unknown:
            raise BillingError(
                f"{where}: {', '.join(unknown)} is not part of a line (a line has "
                f"{', '.join(sorted(LINE_KEYS))}).",
                code=Refusal.BAD_CHOICE,
                field=field,
            )
        return raw
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence) or len(raw) not in (3, 4):
        raise BillingError(
            f"{where}: give a description, a unit price and a quantity.",
            code=Refusal.MISSING,
            field=field,
        )
    keys = ("description", "price", "quantity", "tax_rate")
    return dict(zip(keys, raw, strict=False))


def _parse_line(
    raw: object, number: int, currency: str, tax_inclusive: bool, item: ItemLookup | None
) -> LineInput:
    field = LINES_FIELD
    where = f"Line {number}"
    given = _as_mapping(raw, where)
    taken: CatalogueLine | None = None
    if given.get("item") is not None:
        if item is None:
            raise BillingError(
                f"{where}: this invoice cannot take catalogue items.",
                code=Refusal.BAD_CHOICE,
                field=field,
            )
        item_id = given["item"]
        if isinstance(item_id, bool) or not isinstance(item_id, int):
            raise BillingError(
                f"{where}: the item must be a billable item's id.",
                code=Refusal.BAD_CHOICE,
                field=field,
            )
        taken = item(item_id)
    description = given.get("description")
    if description is None and taken is not None:
        description = taken.name
    if not isinstance(description, str) or not description.strip():
        raise BillingError(f"{where}: enter a description.", code=Refusal.MISSING, field=field)
    if len(description) > MAX_DESCRIPTION:
        raise BillingError(
            f"{where}: the description is longer than {MAX_DESCRIPTION} characters.",
            code=Refusal.TOO_LONG,
            field=field,
        )
    check_line(description, f"description on line {number}", MAX_DESCRIPTION, field=field)
    price = given.get("price")
    if price is None and taken is not None:
        unit = taken.price_minor
    else:
        unit = parse_minor(
            price,  # type: ignore[arg-type]
            currency,
            what=f"{where} unit price",
            field=field,
        )
    quantity = parse_quantity(given.get("quantity"), where, field)
    rate_given = given.get("tax_rate")
    if rate_given is None and taken is not None:
        rate = taken.tax_rate_bp
    else:
        rate = parse_tax_rate(rate_given, f"{where} tax rate", field=field)
    discount_minor, discount_bp = parse_discount(
        given.get("discount"), currency, f"{where} discount", field
    )
    gross = round_half_up(unit * quantity, CENTI)
    if discount_minor > gross:
        raise _bad_number(
            f"{where}: the discount of {format_amount(discount_minor, currency)} is more than the "
            f"line's {format_amount(gross, currency)}.",
            field,
        )
    discount, net, tax = line_amounts(
        unit,
        quantity,
        rate,
        tax_inclusive=tax_inclusive,
        discount_minor=discount_minor,
        discount_bp=discount_bp,
    )
    return LineInput(
        description=description,
        unit_price_minor=unit,
        quantity_centi=quantity,
        tax_rate_bp=rate,
        discount_minor=discount,
        discount_bp=discount_bp,
        net_minor=net,
        tax_minor=tax,
        item_id=None if taken is None else taken.item_id,
        item_code=None if taken is None else taken.code,
    )
