"""Single-line text: what reads as something else is refused, what people really type is kept."""

import pytest

from desktop_app.core import BillingError, Refusal
from desktop_app.core.domain.text import (
    check_line,
    check_text,
    optional_text,
    required_line,
    required_text,
)


@pytest.mark.parametrize(
    "text",
    [
        "\u3164",  # a Hangul filler alone: a name that looks blank
        "Ada\u00adLovelace",  # soft hyphen
        "Ad\u200ba",  # zero-width space
        "Ada\u2062",  # invisible times
        "A\U000e0041da",  # a tag character
        "\ufeffAda",  # byte order mark
        "Ada\u034f",  # combining grapheme joiner
    ],
)
def test_invisible_characters_are_refused_with_their_code_point(text):
    # The message names the character to remove: what this test is about.
    with pytest.raises(BillingError, match=r"invisible character U\+") as refused:
        check_line(text, "first name", 200)
    assert refused.value.code == Refusal.BAD_TEXT


@pytest.mark.parametrize(
    ("refuse", "code"),
    [
        (lambda f: required_text("  ", "reason", 10, field=f), Refusal.MISSING),
        (lambda f: required_text(None, "reason", 10, field=f), Refusal.MISSING),
        (lambda f: required_text("x" * 11, "reason", 10, field=f), Refusal.TOO_LONG),
        (lambda f: required_text("a\u202eb", "reason", 10, field=f), Refusal.BAD_TEXT),
        (lambda f: required_line("", "name", 10, field=f), Refusal.MISSING),
        (lambda f: required_line("a\nb", "name", 10, field=f), Refusal.BAD_TEXT),
        (lambda f: required_line("a\tb", "name", 10, field=f), Refusal.BAD_TEXT),
        (lambda f: optional_text(5, "reason", 10, field=f), Refusal.BAD_TEXT),
        (lambda f: optional_text("x" * 11, "reason", 10, field=f), Refusal.TOO_LONG),
        (lambda f: check_text("a\x00b", "reason", 10, field=f), Refusal.BAD_TEXT),
        (lambda f: check_line("x" * 11, "name", 10, field=f), Refusal.TOO_LONG),
    ],
)
def test_each_refusal_has_its_code_and_names_the_field_given(refuse, code):
    with pytest.raises(BillingError) as refused:
        refuse("reason")
    assert (refused.value.code, refused.value.field) == (code, "reason")
    with pytest.raises(BillingError) as refused:
        refuse(None)  # no field given: about no one input
    assert (refused.value.code, refused.value.field) == (code, None)


def test_text_within_the_rules_comes_back_stripped_or_as_typed():
    assert required_text("  Overpaid\tby mistake \n", "reason", 100) == "Overpaid\tby mistake"
    assert optional_text("   ", "reason", 100) is None
    assert check_text("two\nlines", "address", 100) == "two\nlines"


@pytest.mark.parametrize(
    "text",
    [
        "José",
        "\u0645\u062d\u0645\u062f\u200f",  # Arabic with a right-to-left mark
        "\u05e9\u05e8\u05d4\u200e",  # Hebrew with a left-to-right mark
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian with a zero-width non-joiner
        "Dr \U0001f469\u200d\u2695\ufe0f",  # an emoji sequence with a zero-width joiner
        "O'Brien-Smith",
    ],
)
def test_what_people_really_type_is_kept(text):
    assert check_line(text, "first name", 200) == text
