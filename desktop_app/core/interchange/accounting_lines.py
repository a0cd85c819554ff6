"""How an invoice line is written for Xero so that Xero works out our line amount to the cent.

Xero's sales invoice import computes a line as ``Quantity x UnitAmount x (100 - Discount) / 100``
and rounds it to the cent. The ledger rounds a line's gross (``unit price x quantity``) and its
percentage discount separately (``domain.invoicing``), so writing our quantity, price and
discount as they are could leave Xero a cent apart. :func:`xero_line` picks, for each line, the
first of these representations that Xero computes *without any rounding* to exactly our amount
(the discounted line, before tax with prices excluding tax, including it otherwise):

1. our quantity and unit price, no discount (a line without a discount whose
   ``quantity x price`` is whole cents: nearly every line);
2. our quantity, unit price and percentage discount (``Discount`` column), when that product is
   whole cents and equals our amount;
3. our quantity at a lower unit price: the amount divided by the quantity, when that is whole
   cents (a discount in money on one item, or half an hour of an odd price);
4. a quantity of 1 at the line's amount (always exact).

In 3 and 4 the description gains what the line said (``"(0.5 x 95.25 less 9.53)"``), so the
bookkeeper can match the Xero line with the invoice.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..domain.invoicing import BASIS, CENTI, quantity_text


@dataclass(frozen=True, slots=True)
class XeroLine:
    """A line as Xero's columns take it: ``*Quantity``, ``*UnitAmount`` (minor units),
    ``Discount`` (a percentage, empty for none), and text to add to the description."""

    quantity: str
    unit_minor: int
    discount: str
    note: str


def _money(minor: int, places: int) -> str:
    """Minor units as plain decimal text (``9525`` -> ``95.25``)."""
    return f"{Decimal(minor).scaleb(-places):f}"


def xero_line(
    unit_minor: int,
    quantity_centi: int,
    discount_minor: int,
    discount_bp: int | None,
    amount_minor: int,
    places: int = 2,
) -> XeroLine:
    """The representation of one line (see the module) that Xero computes to ``amount_minor``,
    our line amount after its discount (tax excluded or included as the invoice's basis).

    Args:
        unit_minor: the line's unit price; ``quantity_centi`` its quantity in hundredths.
        discount_minor: its discount in money; ``discount_bp`` the percentage typed, if one.
        amount_minor: the line amount Xero must arrive at.
        places: the currency's decimals (for the description's note).
    """
    quantity = quantity_text(quantity_centi)
    product = unit_minor * quantity_centi  # hundredths of a minor unit
    if not discount_minor and product % CENTI == 0 and product // CENTI == amount_minor:
        return XeroLine(quantity, unit_minor, "", "")
    if discount_bp is not None:
        scale = CENTI * BASIS
        discounted = product * (BASIS - discount_bp)
        if discounted % scale == 0 and discounted // scale == amount_minor:
            percent = f"{Decimal(discount_bp).scaleb(-2).normalize():f}"
            return XeroLine(quantity, unit_minor, percent, "")
    said = f"{quantity} x {_money(unit_minor, places)}"
    if discount_minor:
        said += f" less {_money(discount_minor, places)}"
    if (amount_minor * CENTI) % quantity_centi == 0:
        return XeroLine(quantity, amount_minor * CENTI // quantity_centi, "", f"({said})")
    return XeroLine("1", amount_minor, "", f"({said})")
