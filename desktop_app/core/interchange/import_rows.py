"""Checking an import file's rows, cell by cell: :class:`ImportRun` (one import's progress, cancel
and problems, and the reading of a row's cells, each problem noted by row and column),
:class:`Cells` (the readers of every kind of cell, remembering what repeated texts read as), and
the limits of the imported values. No database here: :mod:`.import_base` checks the rows against
the ledger and :mod:`.importing` runs the whole import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar

from ..access.staff import MAX_FULL_NAME
from ..domain import dates
from ..domain.catalogue import MAX_CODE
from ..domain.errors import BillingError, Refusal
from ..domain.invoicing import (
    CENTI,
    MAX_DESCRIPTION,
    MAX_QUANTITY,
    parse_discount,
    parse_quantity,
    parse_tax_rate,
)
from ..domain.limits import MAX_PAYMENT_TYPE
from ..domain.money import format_amount
from .import_csv import (
    AmountReader,
    ImportProblem,
    ImportRefused,
    Problems,
    date_value,
    text_value,
    whole_number,
)

MAX_EXTERNAL_ID = 100
MAX_PAYMENT_REF = 100
#: Rows between two progress reports and cancel checks.
TICK = 1000

T = TypeVar("T")

#: ``progress(done, total)``.
Progress = Callable[[int, int], None]
#: ``cancel()`` returns True to stop.
Cancel = Callable[[], bool]

_NO_PROBLEM: frozenset[str] = frozenset()


class ImportCancelled(BillingError):  # noqa: N818 - the name the API promises
    """The import was cancelled; nothing was saved."""

    #: No kind of refusal says "cancelled"; the closest: the import saved nothing.
    default_code = Refusal.NOTHING_TO_SAVE


class ImportRun:
    """One import's progress, cancel checks and problems, and the reading of its rows' cells."""

    def __init__(
        self,
        file_name: str,
        columns: Sequence[str],
        progress: Progress | None,
        cancel: Cancel | None,
    ) -> None:
        self.file_name = file_name
        self.columns = list(columns)
        self._progress = progress
        self._cancel = cancel
        self.problems = Problems()
        #: Each field's column as the file names it, for the problems (default: the field).
        self.shown: dict[str, str] = {}
        self.total = 0
        self.rows = 0

    # -- progress and cancel ---------------------------------------------------------------

    def tick(self, done: int) -> None:
        """Report ``done`` of ``total`` and stop if cancelled."""
        if self._cancel is not None and self._cancel():
            raise ImportCancelled(
                f"The import of {self.file_name} was cancelled; nothing was saved."
            )
        if self._progress is not None:
            self._progress(min(done, self.total), self.total)

    def parsed(self, n: int) -> None:
        """Progress while checking values: the second half of the checking phase."""
        self.tick(self.rows // 2 + n // 2)

    # -- problems --------------------------------------------------------------------------

    def refuse(self) -> ImportRefused:
        """The refusal listing the problems in the order of the file's rows."""
        shown = self.shown
        listed = [
            p if p.column not in shown else ImportProblem(p.row, shown[p.column], p.reason)
            for p in sorted(self.problems.items, key=lambda p: p.row or 0)
        ]
        return ImportRefused(self.file_name, listed, self.problems.more)

    def cells(
        self,
        row: int,
        values: tuple[str, ...],
        readers: Sequence[Callable[[str], Any]],
        columns: Sequence[str] | None = None,
    ) -> tuple[list[Any], frozenset[str]]:
        """The row's values read by ``readers`` (one per column of ``columns``, by default the
        format's), and the columns that could not be read (each noted as a problem; its value
        is None)."""
        try:
            return [read(v) for read, v in zip(readers, values, strict=True)], _NO_PROBLEM
        except BillingError:
            pass
        out: list[Any] = []
        bad: set[str] = set()
        for column, read, value in zip(columns or self.columns, readers, values, strict=True):
            try:
                out.append(read(value))
            except BillingError as exc:
                self.problems.add(row, column, str(exc))
                out.append(None)
                bad.add(column)
        return out, frozenset(bad)


# -- reading cells ------------------------------------------------------------------------------


class _Memo(dict[str, Any]):
    """What each text read as; a text not seen yet is read by ``read`` (a refusal is not kept,
    so it is raised again for every row that has it)."""

    def __init__(self, read: Callable[[str], Any]) -> None:
        super().__init__()
        self.read = read

    def __missing__(self, text: str) -> Any:
        value = self[text] = self.read(text)
        return value


def remembered(read: Callable[[str], T]) -> Callable[[str], T]:
    """``read``, remembering what each text read as: files repeat their dates, prices and
    patients, and a repeated text then costs one dictionary lookup."""
    return _Memo(read).__getitem__


def _fast_number(what: str, *, required: bool = True) -> Callable[[str], int | None]:
    def read(text: str) -> int | None:
        if 0 < len(text) <= 15 and text.isascii() and text.isdigit() and text.strip("0"):
            return int(text)
        return whole_number(text, what, required=required)

    return read


def _quantity(text: str) -> int:
    """A quantity in hundredths: ``1`` -> 100, ``0.5`` -> 50 (at most two decimals)."""
    if 0 < len(text) <= 5 and text.isascii() and text.isdigit() and text.strip("0"):
        number = int(text)
        if number <= MAX_QUANTITY:
            return number * CENTI
    if not text:
        raise BillingError("Empty: enter the quantity, such as 1 or 0.5.")
    return parse_quantity(text, "Quantity")


#: How a file says an invoice's prices include tax, or not (any case).
_YES = frozenset({"yes", "y", "true", "1"})
_NO = frozenset({"", "no", "n", "false", "0"})


def yes_no(text: str) -> bool:
    """``tax_inclusive``: yes (``yes``, ``true``, ``1``) or no (``no``, ``false``, ``0``, empty)."""
    key = text.strip().lower()
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise BillingError(f"{text!r} is not yes or no (empty: no).")


def is_draft(text: str) -> bool:
    """``status``: ``issued`` (or empty) or ``draft``, any case."""
    key = text.strip().lower()
    if key in ("", "issued"):
        return False
    if key == "draft":
        return True
    raise BillingError(f"{text!r} is not a status an import takes: issued (or empty) or draft.")


def _optional_rate(text: str) -> int | None:
    """A tax rate, or None when the cell is empty (a catalogue item's rate then applies)."""
    return None if not text else parse_tax_rate(text, "Tax rate")


class Cells:
    """The readers of every kind of cell, in the clinic's currency, with what they remember."""

    def __init__(self, amounts: AmountReader, today: date) -> None:
        self.amounts = amounts
        self.today = today
        self.currency = amounts.currency
        self.external_id = remembered(
            lambda t: text_value(t, "patient's external id", MAX_EXTERNAL_ID)
        )
        # The ledger's window (dates.py): an invoice from 20 years ago to a year ahead, due within
        # 5 years of it (checked with its issue date); payments and balances not in the future.
        self.date = remembered(
            lambda t: date_value(t, check=lambda d: dates.issue_day(d, "issue date", today))
        )
        self.optional_date = remembered(lambda t: date_value(t, required=False))
        self.past_date = remembered(
            lambda t: date_value(t, check=lambda d: dates.past_day(d, "date", today))
        )
        self.description = remembered(lambda t: text_value(t, "description", MAX_DESCRIPTION))
        self.unit_price = remembered(lambda t: amounts(t, "unit price"))
        self.quantity = remembered(_quantity)
        self.tax_rate = remembered(lambda t: parse_tax_rate(t, "Tax rate"))
        # The columns of invoices made the way clinics write them (all optional).
        self.optional_tax_rate = remembered(_optional_rate)
        self.optional_description = remembered(
            lambda t: text_value(t, "description", MAX_DESCRIPTION, required=False) or None
        )
        self.optional_unit_price = remembered(lambda t: amounts(t, "unit price") if t else None)
        self.item_code = remembered(
            lambda t: text_value(t, "item code", MAX_CODE, required=False) or None
        )
        self.discount = remembered(lambda t: parse_discount(t, self.currency, "Discount"))
        self.yes_no = remembered(yes_no)
        self.practitioner = remembered(
            lambda t: text_value(t, "practitioner", MAX_FULL_NAME, required=False)
        )
        self.service_date = remembered(
            lambda t: date_value(
                t, required=False, check=lambda d: dates.issue_day(d, "service date", today)
            )
        )
        self.status = remembered(is_draft)
        self.invoice_number = remembered(_fast_number("invoice number"))
        self.optional_invoice_number = remembered(_fast_number("invoice number", required=False))
        self.method = remembered(lambda t: text_value(t, "payment method", MAX_PAYMENT_TYPE))

    def money(self, minor: int) -> str:
        """An amount in the clinic's currency, such as ``$1,234.50``."""
        return format_amount(minor, self.currency)
