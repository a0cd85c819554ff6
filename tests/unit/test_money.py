"""Money: exact parsing of what a receptionist types, and refusals that say what to fix."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_app.core import (
    BillingError,
    Money,
    Refusal,
    format_amount,
    parse_minor,
    to_decimal,
)


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("12", 1200),
        ("12.5", 1250),
        ("12.50", 1250),
        ("$12.50", 1250),
        ("1,234.50", 123450),
        ("$1,234.50", 123450),
        ("  7.05 ", 705),
        ("A$3", 300),
        ("AUD 3.10", 310),
        ("3.10 AUD", 310),
        ("10.500", 1050),
        (".5", 50),
        ("0", 0),
        ("12.", 1200),
        (Decimal("10.50"), 1050),
        (Decimal("1E+1"), 1000),
        ("1.000000000000000000000000000000", 100),
        (Decimal("0E+1000000"), 0),
        (5, 500),
        ("10,000,000", 1_000_000_000),
    ],
)
def test_accepts_what_people_type(typed, cents):
    assert parse_minor(typed) == cents


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", Refusal.MISSING),
        ("   ", Refusal.MISSING),
        ("abc", Refusal.BAD_AMOUNT),
        ("12.3.4", Refusal.BAD_AMOUNT),
        ("1,23.45", Refusal.BAD_AMOUNT),
        ("12,34", Refusal.BAD_AMOUNT),
        ("1e3", Refusal.BAD_AMOUNT),
        ("NaN", Refusal.BAD_AMOUNT),
        ("-inf", Refusal.BAD_AMOUNT),
        ("Infinity", Refusal.BAD_AMOUNT),
        (Decimal("NaN"), Refusal.BAD_AMOUNT),
        (Decimal("Infinity"), Refusal.BAD_AMOUNT),
        ("10.005", Refusal.BAD_AMOUNT),
        ("1.00000000000000000000000000001", Refusal.BAD_AMOUNT),
        ("0.0099999999999999999999999999999", Refusal.BAD_AMOUNT),
        ("9999999.9999999999999999999999", Refusal.BAD_AMOUNT),
        (Decimal("1E-1000000"), Refusal.BAD_AMOUNT),
        (Decimal("0.001"), Refusal.BAD_AMOUNT),
        ("-5", Refusal.BAD_AMOUNT),
        ("-$5.00", Refusal.BAD_AMOUNT),
        ("$-5.00", Refusal.BAD_AMOUNT),
        ("10000000.01", Refusal.AMOUNT_TOO_LARGE),
        ("99999999999999999999999", Refusal.AMOUNT_TOO_LARGE),
        (10.5, Refusal.BAD_AMOUNT),
        (True, Refusal.BAD_AMOUNT),
        (None, Refusal.BAD_AMOUNT),
        ("£5", Refusal.BAD_AMOUNT),
        # Only ASCII digits are numbers: Python's Decimal reads any script's digits.
        ("\u0661\u0662\u0663", Refusal.BAD_AMOUNT),  # Arabic-Indic 123
        ("$\u0661\u0660.50", Refusal.BAD_AMOUNT),
        ("1\u0662.50", Refusal.BAD_AMOUNT),
        ("\u0967\u0968\u0969", Refusal.BAD_AMOUNT),  # Devanagari 123
        ("\uff11\uff12\uff13", Refusal.BAD_AMOUNT),  # full-width 123
        ("12.\u0665\u0660", Refusal.BAD_AMOUNT),
        ("\u06f1\u06f2", Refusal.BAD_AMOUNT),  # Persian 12
        ("1_000", Refusal.BAD_AMOUNT),
        ("+5", Refusal.BAD_AMOUNT),
    ],
)
def test_refuses_bad_amounts_with_their_code(typed, code):
    with pytest.raises(BillingError) as refused:
        parse_minor(typed)
    assert refused.value.code == code
    assert refused.value.field == "amount"  # a window marks the amount typed
    assert str(refused.value)  # with a message that says what to fix


def test_a_refusal_names_the_field_its_caller_gives():
    with pytest.raises(BillingError) as refused:
        parse_minor("12.345", what="Line 1 unit price", field="lines")
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_AMOUNT, "lines")
    with pytest.raises(BillingError) as refused:
        Money.parse("", field=None)
    assert (refused.value.code, refused.value.field) == (Refusal.MISSING, None)


def test_negative_allowed_only_when_asked():
    assert parse_minor("-5.25", allow_negative=True) == -525


def test_field_name_in_message_keeps_its_case():
    with pytest.raises(BillingError, match=r"^EFTPOS: ") as refused:  # what the message says
        parse_minor("x", what="EFTPOS")
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_AMOUNT, "amount")


@pytest.mark.parametrize(
    ("currency", "typed", "minor"),
    [
        ("JPY", "500", 500),
        ("KWD", "1.250", 1250),
        ("CLF", "1.2345", 12345),
        ("GBP", "£2.50", 250),
        ("EUR", "€1,000", 100000),
        ("jpy", "¥1,200", 1200),
        ("JPY", "5,000,000,000", 5_000_000_000),
    ],
)
def test_currency_minor_units(currency, typed, minor):
    assert parse_minor(typed, currency) == minor


def test_currency_precision_is_enforced():
    with pytest.raises(BillingError) as refused:
        parse_minor("500.5", "JPY")
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_AMOUNT, "amount")
    assert parse_minor("500", "JPY") == 500
    with pytest.raises(ValueError, match="not an ISO 4217"):
        parse_minor("5", "XYZ")


def test_decimals_out_are_quantized():
    assert str(to_decimal(5000)) == "50.00"
    assert str(to_decimal(0)) == "0.00"
    assert str(to_decimal(1250, "KWD")) == "1.250"
    assert str(to_decimal(500, "JPY")) == "500"


def test_formatting_for_messages():
    assert format_amount(123450) == "$1,234.50"
    assert format_amount(-500) == "-$5.00"
    assert format_amount(500, "JPY") == "¥500"
    assert format_amount(1250, "KWD") == "KWD 1.250"


def test_money_value_type():
    a = Money.parse("10.50")
    b = Money(250)
    assert (a + b).minor == 1300
    assert (a - b) == Money(800)
    assert -b == Money(-250)
    assert a > b and b < a and a >= a and b <= b
    assert not Money.zero() and bool(b)
    assert str(a) == "$10.50"
    assert a.to_decimal() == Decimal("10.50")
    with pytest.raises(ValueError, match="Cannot combine"):
        a + Money(1, "NZD")
    with pytest.raises(TypeError):
        Money(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        a + 1  # type: ignore[operator]


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=None),
    st.integers(min_value=0, max_value=4),
)
def test_scaling_is_exact_at_any_length(amount, places):
    from decimal import localcontext

    from desktop_app.core.domain.money import scaled_exactly

    with localcontext() as ctx:
        ctx.prec = 10_000  # enough digits that nothing here is rounded
        scaled = amount.scaleb(places)
        whole = scaled == scaled.to_integral_value()
        result = scaled_exactly(amount, places)
        assert (result is not None) == whole
        if whole:
            assert Decimal(result) == scaled
