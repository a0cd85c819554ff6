"""Single-line text: what reads as something else is refused, what people really type is kept."""

import pytest

from desktop_app.core import BillingError
from desktop_app.core.domain.text import check_line


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
    with pytest.raises(BillingError, match=r"invisible character U\+"):
        check_line(text, "first name", 200)


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
