"""Text a spreadsheet shows literally: defusing would-be formulas (CSV injection, OWASP).

Also the reverse for the CSV import: :func:`excel_text` reads a value written as ``="text"``.

Pure standard library, shared by the CSV export (:mod:`desktop_app.core.interchange.export`),
the accounting export and the reports window's CSV, so none of them has to import another for it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

#: A text cell starting with one of these would be a formula in a spreadsheet.
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")

_FORMULA_FIRST: Final = frozenset(FORMULA_START)


#: A formula hidden after a field separator a spreadsheet may split on (``;`` in much of Europe,
#: tab, ``|``), after spaces or invisible characters, or written with full-width look-alikes.
_HIDDEN_FORMULA: Final = re.compile(r"(?:^|[,;\t|])[\s\u200b\u200c\u200d\u2060\ufeff]*[=+\-@]")


def safe_text(value: str) -> str:
    """``value`` as a spreadsheet shows it literally: ``'`` before a would-be formula.

    Besides a first character of ``= + - @``, tab or CR (OWASP's list), the cell is also defused
    when such a character follows a separator some spreadsheets split cells on, or leading spaces
    or invisible characters, including full-width look-alikes (compared after NFKC).
    """
    if value[:1] in _FORMULA_FIRST:
        return "'" + value
    if _HIDDEN_FORMULA.search(unicodedata.normalize("NFKC", value)):
        return "'" + value
    return value


def excel_text(value: str) -> str:
    """The text of a value a spreadsheet wrote as a formula to keep it as text: ``="0412 345"``
    is ``0412 345`` (a doubled quote inside is one quote); any other value is returned as it is.

    Exports of other systems write long ids and phone numbers so, lest Excel shows
    ``1.55835E+18`` or drops a leading zero."""
    if len(value) >= 3 and value.startswith('="') and value.endswith('"'):
        inner = value[2:-1]
        if '"' not in inner.replace('""', ""):
            return inner.replace('""', '"')
    return value
