"""Invoice lines: validation and exact arithmetic, tax rounded half up per line."""

import pytest

from desktop_app.core import BillingError
from desktop_app.core.domain.invoicing import parse_lines, parse_tax_rate, tax_on


def test_line_totals_with_tax():
    lines = parse_lines([("Consult", "50.00", 1), ("Taping", "12.50", 2, "10")], "AUD")
    assert [ln.amount_minor for ln in lines] == [5000, 2750]
    assert lines[1].tax_minor == 250


def test_tax_rounds_half_up():
    assert tax_on(5, 1000) == 1  # 0.5 cent -> 1 cent
    assert tax_on(4, 1000) == 0
    assert tax_on(1999, 1250) == 250  # 249.875 -> 250


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        ([], "at least one line"),
        ("Consult", "at least one line"),
        ([("", "50", 1)], "enter a description"),
        ([("x" * 501, "50", 1)], "longer than 500"),
        ([("Consult", "-50", 1)], "cannot be negative"),
        ([("Consult", "50.001", 1)], "more than 2 decimals"),
        ([("Consult", "50", 0)], "between 1 and"),
        ([("Consult", "50", 1.5)], "whole number"),
        ([("Consult", "50", "1.5")], "whole number"),
        ([("Consult", "50", "two")], "not a number"),
        ([("Consult", "50", 1, "110")], "between 0 and 100"),
        ([("Consult", "50", 1, "10.125")], "two decimals"),
        ([("Consult", "50", 1, "10.000000000000000000000000000001")], "two decimals"),
        ([("Consult", "50", "1.00000000000000000000000000001")], "whole number"),
        ([("Consult", "50", 1, 10.0)], "tax rate"),
        ([("Consult", "0", 1)], "nothing to bill"),
        ([("Consult", "10000000", 2)], "above the limit"),
        ([("Consult", "50")], "description, a unit price and a quantity"),
        # Quantities are plain ASCII digits: nothing Python's Decimal would also read.
        ([("Consult", "50", "\u0662")], "whole number"),  # Arabic-Indic 2
        ([("Consult", "50", "\u0968")], "whole number"),  # Devanagari 2
        ([("Consult", "50", "\uff12")], "whole number"),  # full-width 2
        ([("Consult", "50", "1e2")], "whole number"),
        ([("Consult", "50", "1_000")], "whole number"),
        ([("Consult", "50", "+5")], "whole number"),
        ([("Consult", "50", "1.")], "whole number"),
        ([("Consult", "50", "2.0")], "whole number"),
        ([("Consult", "50", "0x10")], "whole number"),
        ([("Consult", "\u0665\u0660", 1)], "not an amount"),  # Arabic-Indic 50
        ([("Consult", "\uff15\uff10", 1)], "not an amount"),
        ([("Consult", "50", 1, "\u0661\u0660")], "not a percentage"),  # Arabic-Indic 10
        ([("Consult", "50", 1, "1e1")], "not a percentage"),
        ([("Consult", "50", 1, "1_0")], "not a percentage"),
        ([("Consult", "50", 1, "+10")], "not a percentage"),
        ([("Con\u202esult", "50", 1)], "U\\+202E"),  # right-to-left override
        ([("Consult\nand more", "50", 1)], "line break"),
        ([("Consult\tx", "50", 1)], "tab"),
    ],
)
def test_bad_lines_are_refused(lines, reason):
    with pytest.raises(BillingError, match=reason):
        parse_lines(lines, "AUD")


def test_quantity_forms():
    lines = parse_lines([("A", "1", 2), ("B", "1", " 3 "), ("C", "1", "0004")], "AUD")
    assert [ln.quantity for ln in lines] == [2, 3, 4]


def test_tax_rate_forms():
    assert parse_tax_rate("10") == 1000
    assert parse_tax_rate(" 12.5 % ".strip()) == 1250
    assert parse_tax_rate(".5") == 50
    assert parse_tax_rate("12.5%") == 1250
    assert parse_tax_rate(None) == 0
    assert parse_tax_rate("") == 0
