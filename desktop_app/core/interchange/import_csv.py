"""Reading an import file: bytes to checked rows of text, with every problem named by row and column
(standard library only; :mod:`desktop_app.core.interchange.importing` does the checks
against the ledger).

A file must be UTF-8 (a byte order mark is accepted and dropped), separated by commas, with a
header row naming its columns in any order, any case, spaces or underscores alike. Rows are
numbered as a spreadsheet shows them: the header is row 1. Completely empty rows are ignored.

What is read is bounded, so a wrong file (a database, a video, ``/dev/zero``) is refused with a
message rather than filling the memory: at most :data:`MAX_FILE_BYTES` are read, a row is at most
:data:`MAX_ROW_CHARS` characters, and a file has at most :data:`MAX_ROWS` rows.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import BinaryIO, TypeVar

from ..domain.currencies import MINOR_UNITS
from ..domain.errors import BillingError, Refusal, bad_file
from ..domain.money import max_major, parse_minor
from ..domain.text import check_line
from .spreadsheet_text import excel_text

T = TypeVar("T")

#: At most this many problems are listed; the rest are counted ("and 40 more").
MAX_PROBLEMS = 200
#: The largest file an import reads (50 MB): five times the 100,000-invoice file of the
#: benchmarks (about 9 MB), and room for MAX_ROWS rows of about 200 bytes. Reading stops one byte
#: past it, so an endless stream is refused as soon as it passes the limit.
MAX_FILE_BYTES = 50 * 1024 * 1024
#: The longest row, in characters, with its quotes and separators (a quoted value's line breaks
#: included): the longest row any format needs is under 1,500 (a 500-character description with
#: every character a doubled quote, and the other columns).
MAX_ROW_CHARS = 10_000
#: The most data rows one file may have: an import holds its rows in memory (about 2 KB a row at
#: its peak), and the front desk waits for it; larger imports are split into several files.
MAX_ROWS = 250_000
#: Lines read in all, empty ones included (a file of 50 MB of empty lines is refused quickly).
MAX_LINES = 4 * MAX_ROWS
_READ_CHUNK = 1024 * 1024

_HEADER_SPACES = re.compile(r"[\s\-]+")
# Digits are ASCII 0-9 only (\d would also match Arabic-Indic, Devanagari and full-width digits,
# which int() and Decimal() then read as numbers).
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PLAIN_AMOUNT = re.compile(r"([0-9]{1,15})(?:\.([0-9]*))?")
_WHOLE = re.compile(r"[0-9]{1,15}")
_LINE_END = re.compile(r"\r\n?|\n")
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


@dataclass(frozen=True, slots=True)
class HeaderMatch:
    """What a file's header row feeds: per field of the format (in its order), the position of
    its column in the row (None: not in the file), the column as the file names it, and the
    file's columns left out."""

    positions: list[int | None]
    shown: dict[str, str]
    ignored: tuple[str, ...]


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

    default_code = Refusal.BAD_FILE

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


def _size_text(count: int) -> str:
    """``52428800`` -> ``"50 MB"``; other sizes in bytes."""
    mb = 1024 * 1024
    return f"{count // mb:,} MB" if count % mb == 0 else f"{count:,} bytes"


def _too_big(file_name: str) -> ImportRefused:
    return refuse_file(
        file_name,
        f"The file is larger than {_size_text(MAX_FILE_BYTES)}, the most one import reads (is it "
        f"the right file?). An import file has at most {MAX_ROWS:,} rows: split it into several "
        "files and import them one after another.",
    )


def _size_on_disk(handle: BinaryIO) -> int:
    """The size a regular file says it has; 0 for a pipe or a device (read to find out)."""
    try:
        return os.fstat(handle.fileno()).st_size
    except OSError:
        return 0


def read_file(path: Path) -> bytes:
    """The file's bytes: at most :data:`MAX_FILE_BYTES`, read in chunks, so a file that never ends
    (a device, a pipe) stops one byte past the limit; a larger file is refused.

    Raises:
        ImportRefused: the file is larger than :data:`MAX_FILE_BYTES`.
        BillingError: there is no such file, it is a folder, or it cannot be read.
    """
    limit = MAX_FILE_BYTES
    try:
        with path.open("rb") as handle:
            if _size_on_disk(handle) > limit:
                raise _too_big(path.name)  # a regular file too big is not read at all
            data = bytearray()
            while len(data) <= limit:
                chunk = handle.read(min(_READ_CHUNK, limit + 1 - len(data)))
                if not chunk:
                    break
                data += chunk
    except FileNotFoundError:
        raise bad_file(f"There is no file {path}.", field="path") from None
    except IsADirectoryError:
        raise bad_file(f"{path} is a folder; choose a CSV file.", field="path") from None
    except OSError as exc:
        raise bad_file(f"{path} cannot be read: {exc.strerror or exc}.", field="path") from None
    if len(data) > limit:
        raise _too_big(path.name)
    return bytes(data)


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
    head = data[: 4 * MAX_ROW_CHARS]  # enough to tell the encoding and the separator
    first_line = head.split(b"\n", 1)[0]
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


class _RowTooLong(Exception):  # noqa: N818 - internal signal, never leaves this module
    """A row passed :data:`MAX_ROW_CHARS` characters."""


class _Lines:
    """The text's lines, ends kept, split as ``open(newline="")`` splits them (CRLF, CR, LF) for
    the csv reader, with a limit on one row: the characters read since the last complete row
    (:meth:`row_done`) may not pass :data:`MAX_ROW_CHARS`. A line is measured before it is cut
    out of the text, so an over-long one costs no copy."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0
        self.in_row = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        start = self.position
        if start >= len(self.text):
            raise StopIteration
        found = _LINE_END.search(self.text, start)
        end = len(self.text) if found is None else found.end()
        self.in_row += end - start - (0 if found is None else len(found.group()))
        if self.in_row > MAX_ROW_CHARS:
            raise _RowTooLong
        self.position = end
        return self.text[start:end]

    def row_done(self) -> None:
        """The csv reader finished a row: the next row's count starts."""
        self.in_row = 0


def _too_long(what: str) -> str:
    return (
        f"{what} is longer than {MAX_ROW_CHARS:,} characters, more than any row of an import "
        "needs (a missing double quote makes the rest of the file one value); the file is not "
        "read from this row on."
    )


@dataclass(frozen=True, slots=True)
class Table:
    """A file's data rows: ``(row number, values in the format's column order)``; a column the
    file leaves out (an optional one) reads as empty text."""

    rows: list[tuple[int, tuple[str, ...]]]
    columns: tuple[str, ...]
    #: Each field's column as the file names it (the field's own name when the file uses it).
    shown: dict[str, str]
    #: The file's columns left out (unknown to a patients file, or mapped to "ignore").
    ignored: tuple[str, ...] = ()


def read_table(
    text: str,
    columns: Sequence[Column],
    file_name: str,
    problems: Problems,
    tick: Callable[[int], None],
    match: Callable[[list[str]], HeaderMatch],
) -> Table:
    """Split ``text`` into rows and check their shape against the header.

    Header problems (a wrong separator, missing, unknown or repeated columns: ``match``, see
    :func:`~.import_mapping.match_header`) refuse the file at once. Rows with too few or too many
    values are added to ``problems`` and left out. A value a spreadsheet wrote as a formula
    keeping its text (``="0412 345 678"``) reads as that text. ``tick(n)`` is called as rows are
    read.
    """
    names = tuple(c.name for c in columns)
    lines = _Lines(text)
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise refuse_file(file_name, f"The header row cannot be read: {exc}.") from None
    except _RowTooLong:
        raise refuse_file(file_name, _too_long("The header row")) from None
    lines.row_done()
    if header is None or not any(h.strip() for h in header):
        raise refuse_file(file_name, "The file is empty: it needs a header row and data rows.")
    # Spreadsheets may write empty header cells after the last column: those columns must stay
    # empty, but they are not refused.
    width = max(i for i, h in enumerate(header) if h.strip()) + 1
    header, spare = header[:width], len(header) - width
    if len(header) == 1:
        _refuse_other_separator(file_name, text)
    matched = match(header)
    positions = matched.positions
    # One C-level pick per row: a column the file leaves out reads the "" appended to the row.
    padded = None in positions
    pick = itemgetter(*(width if p is None else p for p in positions))
    rows: list[tuple[int, tuple[str, ...]]] = []
    row = 1
    data_rows = 0
    try:
        for fields in reader:
            lines.row_done()
            row += 1
            if row % 1000 == 0:
                tick(row)
            joined = "".join(fields)
            if not joined.strip():
                if row > MAX_LINES:  # a file of mostly empty lines: stop reading it
                    raise refuse_file(
                        file_name,
                        f"The file has more than {MAX_LINES:,} lines, most of them empty; it is "
                        "not an import file as exported (is it the right file?).",
                    )
                continue
            data_rows += 1
            if data_rows > MAX_ROWS:
                raise refuse_file(
                    file_name,
                    f"The file has more than {MAX_ROWS:,} rows, the most one import takes; split "
                    "it into several files and import them one after another.",
                )
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
            if padded:  # strip the file's own values, then pick ("" for the others)
                del fields[width:]
                stripped = list(map(str.strip, fields))
                stripped.append("")
                values = pick(stripped)
            else:
                values = tuple(map(str.strip, pick(fields)))
            if '="' in joined:  # rare: one C-level test per row otherwise
                values = tuple(map(excel_text, values))
            rows.append((row, values))
    except csv.Error as exc:
        problems.add(
            row + 1,
            None,
            f"The file cannot be read from this row on ({exc}): a double quote is probably "
            "missing, or the file is cut short.",
        )
    except _RowTooLong:
        problems.add(row + 1, None, _too_long("The row"))
    if not rows and not problems:
        raise refuse_file(file_name, "The file has a header row but no data rows.")
    return Table(rows, names, matched.shown, matched.ignored)


def _refuse_other_separator(file_name: str, text: str) -> None:
    """Refuse a file whose one-column header is separated by something else than commas."""
    first_line = text[:MAX_ROW_CHARS].split("\n", 1)[0]
    for sep, what in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
        if sep in first_line:
            raise refuse_file(
                file_name,
                f"This file uses {what} between values; save it as comma-separated "
                f"(\u201cCSV UTF-8 (Comma delimited)\u201d) and import it again.",
            )


# -- values -------------------------------------------------------------------------------------


def text_value(value: str, what: str, max_length: int, *, required: bool = True) -> str:
    """Single-line text under the ledger's text rules (no control characters, tabs, line breaks
    or direction overrides; not too long): every text column of an import is one line."""
    if not value:
        if required:
            raise BillingError(f"Empty: enter the {what}.")
        return ""
    return check_line(value, what, max_length)


def date_value(
    value: str, *, required: bool = True, check: Callable[[date], date] | None = None
) -> date | None:
    """An ISO date (YYYY-MM-DD), then checked by ``check`` (the ledger's window, dates.py)."""
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
    return day if check is None else check(day)


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
