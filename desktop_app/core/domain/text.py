"""Free text staff type (names, descriptions, reasons): kept verbatim, with a few exceptions.

Any Unicode is stored exactly as typed: accents, right-to-left scripts, emoji, combining marks,
text that looks like SQL. Refused, with a reason, are text longer than its field and characters
that are never typed on purpose and change how the text reads:

- control characters: C0 (NUL to U+001F), DEL and C1 (U+0080 to U+009F). NUL in particular cannot
  be stored by PostgreSQL and arrives only by pasting from broken files, so both databases refuse
  it the same way rather than one of them cutting the text;
- the line and paragraph separators U+2028 and U+2029;
- the invisible direction controls that reorder what follows them: the embeddings and overrides
  U+202A to U+202E and the isolates U+2066 to U+2069 (a name with U+202E displays backwards: a
  different name on screen and on paper than the one stored). The right-to-left and left-to-right
  marks (U+200F, U+200E) and the Arabic letter mark (U+061C) stay allowed: people typing Arabic
  and Hebrew use them, and they reorder nothing beyond themselves.

Single-line text (names, descriptions, the clinic's and payment types' names, ids) refuses tabs
and line breaks too (:func:`check_line`); multi-line text (reasons, an address, a footer) keeps
them (:func:`check_text`).
"""

from __future__ import annotations

import re
import unicodedata

from .errors import BillingError, Refusal

_DIRECTION = "\u202a-\u202e\u2066-\u2069"
#: Invisible characters that make two names look the same but differ, or a name look blank:
#: soft hyphen, combining grapheme joiner, the Hangul fillers, zero-width space, word joiner and
#: invisible operators, deprecated format controls, byte order mark, interlinear annotation and
#: tag characters. Kept: the zero-width (non-)joiners, which emoji and Indic and Persian text
#: need, and the direction marks. Also unpaired surrogates (broken text no database can store).
_INVISIBLE = (
    "\u00ad\u034f\u115f\u1160\u200b\u2060-\u2064\u206a-\u206f\u3164\ufeff\uffa0"
    "\ufff9-\ufffb\U000e0000-\U000e007f\ud800-\udfff"
)
_INVISIBLE_CHAR = re.compile(f"[{_INVISIBLE}]")
_CONTROL = re.compile(
    f"[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\u2028\u2029{_DIRECTION}{_INVISIBLE}]"
)
#: What :func:`search_form` drops from ASCII text (``\s``: every character ``str.isspace`` takes).
_ASCII_DROPPED = re.compile(r"[^a-z0-9\s]")
_LINE_CONTROL = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f\u2028\u2029{_DIRECTION}{_INVISIBLE}]")


def _refuse(char: str, what: str, field: str | None) -> BillingError:
    code = ord(char)
    if char in "\n\r":
        return BillingError(
            f"The {what} contains a line break; keep it on one line.",
            code=Refusal.BAD_TEXT,
            field=field,
        )
    if char == "\t":
        return BillingError(
            f"The {what} contains a tab; keep it on one line, without tabs.",
            code=Refusal.BAD_TEXT,
            field=field,
        )
    effect = ""
    if code == 0:
        name = "a NUL character"
    elif char in "\u2028\u2029":
        name = f"the {'line' if char == chr(0x2028) else 'paragraph'} separator U+{code:04X}"
    elif 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
        name = f"the invisible direction control U+{code:04X}"
        effect = ", which makes it display in another order than it is stored"
    elif 0xD800 <= code <= 0xDFFF:
        name = f"a broken character (unpaired surrogate U+{code:04X})"
    elif _INVISIBLE_CHAR.match(char):
        name = f"the invisible character U+{code:04X}"
        effect = ", which makes it look like text it is not"
    else:
        name = f"the control character U+{code:04X}"
    return BillingError(
        f"The {what} contains {name} (usually from pasted text){effect}; remove it and save again.",
        code=Refusal.BAD_TEXT,
        field=field,
    )


def _checked(
    value: str, what: str, max_length: int, pattern: re.Pattern[str], field: str | None
) -> str:
    if len(value) > max_length:
        raise BillingError(
            f"The {what} is longer than {max_length:,} characters.",
            code=Refusal.TOO_LONG,
            field=field,
        )
    found = pattern.search(value)
    if found is not None:
        raise _refuse(found.group(), what, field)
    return value


def check_text(value: str, what: str, max_length: int, *, field: str | None = None) -> str:
    """Return multi-line ``value`` unchanged (tabs and line breaks allowed), or refuse control
    characters, direction overrides (``bad_text``) and over-long text (``too_long``); a refusal
    names ``field``, the input it is about."""
    return _checked(value, what, max_length, _CONTROL, field)


def check_line(value: str, what: str, max_length: int, *, field: str | None = None) -> str:
    """Return single-line ``value`` unchanged, or refuse what :func:`check_text` refuses and
    tabs and line breaks too; a refusal names ``field``."""
    return _checked(value, what, max_length, _LINE_CONTROL, field)


def _missing(what: str, field: str | None) -> BillingError:
    return BillingError(f"Enter the {what}.", code=Refusal.MISSING, field=field)


def required_text(value: object, what: str, max_length: int, *, field: str | None = None) -> str:
    """Stripped multi-line text that must not be empty (a reason); a refusal names ``field``,
    the input it is about."""
    if not isinstance(value, str) or not value.strip():
        raise _missing(what, field)
    return check_text(value.strip(), what, max_length, field=field)


def required_line(value: object, what: str, max_length: int, *, field: str | None = None) -> str:
    """Stripped single-line text that must not be empty (a name); a refusal names ``field``."""
    if not isinstance(value, str) or not value.strip():
        raise _missing(what, field)
    return check_line(value.strip(), what, max_length, field=field)


def optional_text(
    value: object, what: str, max_length: int, *, field: str | None = None
) -> str | None:
    """Stripped multi-line text, or None when nothing was given; a refusal names ``field``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BillingError(f"The {what} must be text.", code=Refusal.BAD_TEXT, field=field)
    stripped = value.strip()
    return check_text(stripped, what, max_length, field=field) if stripped else None


def search_form(text: str) -> str:
    r"""``text`` as searches compare it: accents, case, apostrophes, hyphens and other punctuation
    ignored ("O'Brien", "O\u2019Brien" and "O-Brien" are all ``"obrien"``; "Zoë" is ``"zoe"``).

    Unicode compatibility decomposition (NFKD) splits accented letters into letter and mark; the
    marks are dropped, the rest case-folded, and only letters, digits and single spaces kept.
    ASCII text (most names, every email) takes a shortcut to the same result.
    """
    if text.isascii():  # nothing to decompose; case-folding is lower()
        return " ".join(_ASCII_DROPPED.sub("", text.lower()).split())
    folded = "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).casefold()
    kept = "".join(c if c.isalnum() else " " if c.isspace() else "" for c in folded)
    return " ".join(kept.split())


def patient_search_key(first_name: str, last_name: str) -> str:
    """The stored key a patient search matches: both names in :func:`search_form`, last first."""
    return f"{search_form(last_name)} {search_form(first_name)}".strip()


def search_words(search: str) -> list[str]:
    """The words of a search as :func:`search_form` compares them (punctuation-only words drop)."""
    return [w for w in (search_form(word) for word in search.split()) if w]
