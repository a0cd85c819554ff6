"""Reading an import file: bytes to checked rows of text, with every problem named by row and column
(standard library only; :mod:`desktop_app.core.importing` does the checks against the ledger).

A file must be UTF-8 (a byte order mark is accepted and dropped), separated by commas, with a
header row naming its columns in any order, any case, spaces or underscores alike. Rows are
numbered as a spreadsheet shows them: the header is row 1. Completely empty rows are ignored.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from typing import TypeVar

from .currencies import MINOR_UNITS
from .errors import BillingError
from .money import max_major, parse_minor
from .text import check_text

T = TypeVar("T")

#: At most this many problems are listed; the rest are counted ("and 40 more").
MAX_PROBLEMS = 200

_HEADER_SPACES = re.compile(r"[\s\-]+")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PLAIN_AMOUNT = re.compile(r"(\d{1,15})(?:\.(\d*))?")
_WHOLE = re.compile(r"\d{1,15}")
_SAVE_AS = (
    "save it as \u201cCSV UTF-8 (Comma delimited)\u201d (Excel: File > Save As) and import it again"
)


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """What is wrong with an import file, and where.

    Attributes:
        row: the row as a spreadsheet numbers it (the header is row 1); None for the whole file.
        column: the column's name as the import format spells it; None for the whole row.
        reason: what is wrong and how to fix it.
    """

    row: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        if self.row is None:
            return (
                f"file: {self.reason}"
                if self.column is None
                else f"column {self.column}: {self.reason}"
            )
        where = (
            f"row {self.row}" if self.column is None else f"row {self.row}, column {self.column}"
        )
        return f"{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of an import format."""

    name: str
    required: bool
    meaning: str


class Problems:
    """Collects problems: the first :data:`MAX_PROBLEMS` are kept, the rest only counted."""

    def __init__(self) -> None:
        self.items: list[ImportProblem] = []
        self.count = 0

    def add(self, row: int | None, column: str | None, reason: str) -> None:
        """Note one problem."""
        self.count += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(ImportProblem(row, column, reason))

    @property
    def more(self) -> int:
        """How many problems were found beyond those listed."""
        return self.count - len(self.items)

    def __bool__(self) -> bool:
        return self.count > 0


class ImportRefused(BillingError):  # noqa: N818 - the name the API promises
    """The file was not imported: ``problems`` lists what is wrong, by row and column (the
    first :data:`MAX_PROBLEMS`; ``more`` counts the rest). Nothing was saved."""

    def __init__(self, file_name: str, problems: Sequence[ImportProblem], more: int = 0) -> None:
        self.file_name = file_name
        self.problems = list(problems)
        self.more = more
        total = len(self.problems) + more
        lines = [str(p) for p in self.problems[:10]]
        if total > len(lines):
            lines.append(f"and {total - len(lines):,} more")
        plural = "" if total == 1 else "s"
        super().__init__(
            f"{file_name} was not imported: {total:,} problem{plural} found, nothing was saved.\n"
            + "\n".join(lines)
        )


def refuse_file(file_name: str, reason: str) -> ImportRefused:
    """A refusal for a problem with the whole file."""
    return ImportRefused(file_name, [ImportProblem(None, None, reason)])


# -- the file -----------------------------------------------------------------------------------


def decode(data: bytes, file_name: str) -> str:
    """The file's text: UTF-8, with or without a byte order mark; anything else is refused."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise refuse_file(
            file_name,
            "The file is saved as UTF-16 (\u201cUnicode text\u201d), not UTF-8; " + _SAVE_AS + ".",
        )
    skipped = 0
    if data.startswith(codecs.BOM_UTF8):
        data, skipped = data[len(codecs.BOM_UTF8) :], len(codecs.BOM_UTF8)
    first_line = data.split(b"\n", 1)[0]
    if first_line.count(b"\x00") * 3 > len(first_line) > 0:
        raise refuse_file(
            file_name,
            "The file is saved as UTF-16 (\u201cUnicode text\u201d), not UTF-8; " + _SAVE_AS + ".",
        )
    for sep, what in ((b";", "semicolons"), (b"\t", "tabs"), (b"|", "vertical bars")):
        if sep in first_line and b"," not in first_line:
            raise refuse_file(
                file_name,
                f"This file uses {what} between values; save it as comma-separated "
                "(\u201cCSV UTF-8 (Comma delimited)\u201d) and import it again.",
            )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise refuse_file(
            file_name,
            f"The file is not UTF-8 text: byte 0x{data[exc.start]:02X} at byte offset "
            f"{exc.start + skipped:,} (line {line:,}) is not valid UTF-8 (the file was probably "
            "saved in an older encoding such as Windows-1252); " + _SAVE_AS + ".",
        ) from None


def normalize_header(name: str) -> str:
    """``" Patient External-ID "`` -> ``"patient_external_id"``."""
    return _HEADER_SPACES.sub("_", name.strip().lstrip("\ufeff").strip().lower())


@dataclass(frozen=True, slots=True)
class Table:
    """A file's data rows: ``(row number, values in the format's column order)``; a column the
    file leaves out (an optional one) reads as empty text."""

    rows: list[tuple[int, tuple[str, ...]]]
    columns: tuple[str, ...]


def read_table(
    text: str,
    columns: Sequence[Column],
    file_name: str,
    problems: Problems,
    tick: Callable[[int], None],
) -> Table:
    """Split ``text`` into rows and check their shape against the header.

    Header problems (a wrong separator, missing, unknown or repeated columns) refuse the file at
    once. Rows with too few or too many values are added to ``problems`` and left out.
    ``tick(n)`` is called as rows are read.
    """
    names = tuple(c.name for c in columns)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise refuse_file(file_name, f"The header row cannot be read: {exc}.") from None
    if header is None or not any(h.strip() for h in header):
        raise refuse_file(file_name, "The file is empty: it needs a header row and data rows.")
    # Spreadsheets may write empty header cells after the last column: those columns must stay
    # empty, but they are not refused.
    width = max(i for i, h in enumerate(header) if h.strip()) + 1
    header, spare = header[:width], len(header) - width
    positions = _header_positions(header, columns, file_name, text)
    # One C-level pick per row: a column the file leaves out reads the "" appended to the row.
    padded = None in positions
    pick = itemgetter(*(width if p is None else p for p in positions))
    rows: list[tuple[int, tuple[str, ...]]] = []
    row = 1
    try:
        for fields in reader:
            row += 1
            if row % 1000 == 0:
                tick(row)
            if not "".join(fields).strip():
                continue
            if len(fields) < width:
                missing = [header[i].strip() for i in range(len(fields), width)]
                problems.add(
                    row,
                    normalize_header(missing[0]),
                    f"The row has {len(fields)} of the {width} values the header names (cut "
                    f"short?): nothing for {', '.join(missing)}.",
                )
                continue
            if len(fields) > width and (
                len(fields) > width + spare or "".join(fields[width:]).strip()
            ):
                problems.add(
                    row,
                    None,
                    f"The row has {len(fields)} values but the header names {width} columns (a "
                    "value containing a comma must be in double quotes).",
                )
                continue
            if padded:
                del fields[width:]
                fields.append("")
            rows.append((row, tuple(map(str.strip, pick(fields)))))
    except csv.Error as exc:
        problems.add(
            row + 1,
            None,
            f"The file cannot be read from this row on ({exc}): a double quote is probably "
            "missing, or the file is cut short.",
        )
    if not rows and not problems:
        raise refuse_file(file_name, "The file has a header row but no data rows.")
    return Table(rows, names)


def _header_positions(
    header: list[str], columns: Sequence[Column], file_name: str, text: str
) -> list[int | None]:
    found = [normalize_header(h) for h in header]
    names = [c.name for c in columns]
    required = [c.name for c in columns if c.required]
    if len(found) == 1:
        first_line = text.split("\n", 1)[0]
        for sep, what in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
            if sep in first_line:
                raise refuse_file(
                    file_name,
                    f"This file uses {what} between values; save it as comma-separated "
                    f"(\u201cCSV UTF-8 (Comma delimited)\u201d) and import it again.",
                )
    problems: list[ImportProblem] = []
    seen: dict[str, int] = {}
    for index, name in enumerate(found):
        if not name:
            problems.append(
                ImportProblem(1, None, f"Column {index + 1} of the header has no name.")
            )
        elif name in seen:
            problems.append(ImportProblem(1, name, f"The column {name} appears twice."))
        elif name not in names:
            problems.append(
                ImportProblem(
                    1,
                    name,
                    f"Unknown column {header[index].strip()!r}; the columns are "
                    f"{', '.join(names)}.",
                )
            )
        seen.setdefault(name, index)
    for name in required:
        if name not in seen:
            problems.append(ImportProblem(1, name, f"The required column {name} is missing."))
    if problems:
        raise ImportRefused(file_name, problems)
    return [seen.get(name) for name in names]


# -- values -------------------------------------------------------------------------------------


def text_value(value: str, what: str, max_length: int, *, required: bool = True) -> str:
    """Text under the product's text rules (no NUL or control characters, not too long)."""
    if not value:
        if required:
            raise BillingError(f"Empty: enter the {what}.")
        return ""
    return check_text(value, what, max_length)


def date_value(value: str, *, required: bool = True, not_after: date | None = None) -> date | None:
    """An ISO date (YYYY-MM-DD), optionally no later than ``not_after``."""
    if not value:
        if required:
            raise BillingError("Empty: enter a date as YYYY-MM-DD, such as 2026-11-02.")
        return None
    if not _ISO_DATE.fullmatch(value):
        raise BillingError(
            f"{value!r} is not a date written YYYY-MM-DD, such as 2026-11-02 (a spreadsheet "
            "may have changed how the dates are written)."
        )
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BillingError(f"{value} is not a date of the calendar.") from None
    if not_after is not None and day > not_after:
        raise BillingError(f"The date {value} is in the future.")
    return day


def whole_number(value: str, what: str, *, required: bool = True) -> int | None:
    """A positive whole number such as an invoice number."""
    if not value:
        if required:
            raise BillingError(f"Empty: enter the {what}.")
        return None
    if not _WHOLE.fullmatch(value) or int(value) == 0:
        raise BillingError(
            f"{value!r} is not a {what}: use a whole number above 0 (digits only, no prefix)."
        )
    return int(value)


class AmountReader:
    """Reads amounts in the clinic's currency exactly (see :func:`~.money.parse_minor`).

    Plain amounts (``12``, ``12.50``) take a fast path; anything else (``$1,234.50``) and every
    refusal go through ``parse_minor``, so the messages are the ledger's own.
    """

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.exponent = MINOR_UNITS[currency]
        self.scale = int(10**self.exponent)
        self.ceiling = max_major(currency) * self.scale

    def __call__(self, value: str, what: str) -> int:
        """The amount in minor units (never negative)."""
        if not value:
            raise BillingError("Empty: enter an amount such as 12.50.")
        plain = _PLAIN_AMOUNT.fullmatch(value)
        if plain is not None:
            fraction = (plain.group(2) or "").rstrip("0")
            if len(fraction) <= self.exponent:
                minor = int(plain.group(1)) * self.scale + int(
                    fraction.ljust(self.exponent, "0") or 0
                )
                if minor <= self.ceiling:
                    return minor
        return parse_minor(value, self.currency, what=what)


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in slices of ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
