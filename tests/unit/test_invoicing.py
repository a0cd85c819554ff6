"""Invoice lines: validation and exact arithmetic, tax rounded half up per line."""

import pytest

from desktop_app.core import BillingError, Refusal
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
    ("lines", "code"),
    [
        ([], Refusal.MISSING),
        ("Consult", Refusal.MISSING),
        ([("", "50", 1)], Refusal.MISSING),
        ([("x" * 501, "50", 1)], Refusal.TOO_LONG),
        ([("Consult", "-50", 1)], Refusal.BAD_AMOUNT),
        ([("Consult", "50.001", 1)], Refusal.BAD_AMOUNT),
        ([("Consult", "50", 0)], Refusal.BAD_AMOUNT),
        ([("Consult", "50", 1.5)], Refusal.BAD_AMOUNT),
        ([("Consult", "50", "1.255")], Refusal.BAD_AMOUNT),  # hundredths at most
        ([("Consult", "50", "-1")], Refusal.BAD_AMOUNT),
        ([("Consult", "50", "two")], Refusal.BAD_AMOUNT),
        ([("Consult", "50", 1, "110")], Refusal.BAD_AMOUNT),
        ([("Consult", "50", 1, "10.125")], Refusal.BAD_AMOUNT),
        ([("Consult", "50", 1, "10.000000000000000000000000000001")], Refusal.BAD_AMOUNT),
        ([("Consult", "50", "1.00000000000000000000000000001")], Refusal.BAD_AMOUNT),
        ([("Consult", "50", 1, 10.0)], Refusal.BAD_AMOUNT),
        ([("Consult", "0", 1)], Refusal.BAD_AMOUNT),
        ([("Consult", "10000000", 2)], Refusal.AMOUNT_TOO_LARGE),
        ([("Consult", "50")], Refusal.MISSING),
        # Quantities are plain ASCII digits: nothing Python's Decimal would also read.
        ([("Consult", "50", "\u0662")], Refusal.BAD_AMOUNT),  # Arabic-Indic 2
        ([("Consult", "50", "\u0968")], Refusal.BAD_AMOUNT),  # Devanagari 2
        ([("Consult", "50", "\uff12")], Refusal.BAD_AMOUNT),  # full-width 2
        ([("Consult", "50", "1e2")], Refusal.BAD_AMOUNT),
        ([("Consult", "50", "1_000")], Refusal.BAD_AMOUNT),
        ([("Consult", "50", "+5")], Refusal.BAD_AMOUNT),
        ([("Consult", "50", "1.")], Refusal.BAD_AMOUNT),
        ([("Consult", "50", ".")], Refusal.BAD_AMOUNT),
        ([("Consult", "50", "0x10")], Refusal.BAD_AMOUNT),
        ([("Consult", "\u0665\u0660", 1)], Refusal.BAD_AMOUNT),  # Arabic-Indic 50
        ([("Consult", "\uff15\uff10", 1)], Refusal.BAD_AMOUNT),
        ([("Consult", "50", 1, "\u0661\u0660")], Refusal.BAD_AMOUNT),  # Arabic-Indic 10
        ([("Consult", "50", 1, "1e1")], Refusal.BAD_AMOUNT),
        ([("Consult", "50", 1, "1_0")], Refusal.BAD_AMOUNT),
        ([("Consult", "50", 1, "+10")], Refusal.BAD_AMOUNT),
        ([("Con\u202esult", "50", 1)], Refusal.BAD_TEXT),  # right-to-left override
        ([("Consult\nand more", "50", 1)], Refusal.BAD_TEXT),
        ([("Consult\tx", "50", 1)], Refusal.BAD_TEXT),
    ],
)
def test_bad_lines_are_refused(lines, code):
    with pytest.raises(BillingError) as refused:
        parse_lines(lines, "AUD")
    assert (refused.value.code, refused.value.field) == (code, "lines")


def test_a_refused_line_is_named_by_its_number():
    """Staff are told which line to correct."""
    with pytest.raises(BillingError, match=r"^Line 2: "):
        parse_lines([("Consult", "50", 1), ("Taping", "12.50", "two")], "AUD")


def test_a_tax_rate_refusal_names_the_field_its_caller_gives():
    with pytest.raises(BillingError) as refused:
        parse_tax_rate("ten", field="tax_rate")
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_AMOUNT, "tax_rate")


def test_quantity_forms():
    lines = parse_lines(
        [
            ("A", "1", 2),
            ("B", "1", " 3 "),
            ("C", "1", "0004"),
            ("D", "1", "0.5"),
            ("E", "1", "2.0"),
        ],
        "AUD",
    )
    assert [ln.quantity_centi for ln in lines] == [200, 300, 400, 50, 200]


def test_tax_rate_forms():
    assert parse_tax_rate("10") == 1000
    assert parse_tax_rate(" 12.5 % ".strip()) == 1250
    assert parse_tax_rate(".5") == 50
    assert parse_tax_rate("12.5%") == 1250
    assert parse_tax_rate(None) == 0
    assert parse_tax_rate("") == 0
