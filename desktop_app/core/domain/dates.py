"""The dates the ledger takes: a window a clinic could mean (standard library only).

Python's ``date`` runs from 0001-01-01 to 9999-12-31, and a mistyped year (``0206``, ``2206``) is
a valid date. The ledger takes only dates a clinic could mean; the bounds are here, in one place,
and in docs/ledger-rules.md:

- nothing is dated more than :data:`HISTORY_YEARS` years before today (old history can still be
  imported; a typed ``1926`` for ``2026`` is refused);
- payments, refunds, credit notes, transfers and opening balances are never dated after today;
- an invoice may be dated up to :data:`ISSUE_AHEAD_YEARS` year ahead (a treatment plan invoiced
  in advance), and falls due within :data:`DUE_WITHIN_YEARS` years of its issue date, never
  before it.

A ``datetime`` is refused where a date is asked for (it is a ``date`` to Python, but it carries a
time of day, compares unequal to the date and is stored differently by the two databases).
"""

from __future__ import annotations

from datetime import date
from typing import Final

from .errors import BillingError, Refusal

#: The earliest date taken is this many years before today.
HISTORY_YEARS: Final = 20
#: An invoice's issue date may be at most this many years after today.
ISSUE_AHEAD_YEARS: Final = 1
#: An invoice's due date is at most this many years after its issue date.
DUE_WITHIN_YEARS: Final = 5


def years_after(day: date, years: int) -> date:
    """The same day ``years`` later (earlier when negative); 29 February becomes the 28th, and
    the result stays within Python's calendar."""
    year = min(max(day.year + years, date.min.year), date.max.year)
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=year, day=28)


def earliest(today: date) -> date:
    """The earliest date the ledger takes."""
    return years_after(today, -HISTORY_YEARS)


def _years(count: int) -> str:
    return "a year" if count == 1 else f"{count} years"


def check_day(value: object, what: str, *, field: str | None = None) -> date:
    """``value`` if it is a date (a day, not a ``datetime``); ``what`` names it (``"due date"``)
    and a refusal (``bad_date``) names ``field``, the input it is about.

    Exactly a ``date``: a subclass could compare its own way and slip past the window.
    """
    if type(value) is not date:
        raise BillingError(
            f"The {what} must be a date (a day, without a time): not {value!r}.",
            code=Refusal.BAD_DATE,
            field=field,
        )
    return value


def _not_too_old(day: date, what: str, today: date, field: str | None) -> date:
    first = earliest(today)
    if day < first:
        raise BillingError(
            f"The {what} {day.isoformat()} is more than {HISTORY_YEARS} years ago (the earliest "
            f"date the ledger takes is {first.isoformat()}); check the year.",
            code=Refusal.BAD_DATE,
            field=field,
        )
    return day


def past_day(value: object, what: str, today: date, *, field: str | None = None) -> date:
    """A date from :data:`HISTORY_YEARS` years ago to ``today`` (a payment, a refund, ...); a
    refusal (``future_date``, ``bad_date``) names ``field``, the input it is about."""
    day = check_day(value, what, field=field)
    if day > today:
        raise BillingError(
            f"The {what} {day.isoformat()} is in the future.",
            code=Refusal.FUTURE_DATE,
            field=field,
        )
    return _not_too_old(day, what, today, field)


def issue_day(value: object, what: str, today: date, *, field: str | None = None) -> date:
    """An invoice's issue date: from :data:`HISTORY_YEARS` years ago to
    :data:`ISSUE_AHEAD_YEARS` year after ``today``; a refusal (``bad_date``) names ``field``."""
    day = check_day(value, what, field=field)
    latest = years_after(today, ISSUE_AHEAD_YEARS)
    if day > latest:
        raise BillingError(
            f"The {what} {day.isoformat()} is more than {_years(ISSUE_AHEAD_YEARS)} ahead (the "
            f"latest date an invoice takes is {latest.isoformat()}); check the year.",
            code=Refusal.BAD_DATE,
            field=field,
        )
    return _not_too_old(day, what, today, field)


def due_day(
    value: object, issued: date, what: str = "due date", *, field: str | None = None
) -> date:
    """An invoice's due date: from its issue date to :data:`DUE_WITHIN_YEARS` years after it; a
    refusal (``bad_date``) names ``field``."""
    day = check_day(value, what, field=field)
    if day < issued:
        raise BillingError(
            f"The {what} is before the issue date.", code=Refusal.BAD_DATE, field=field
        )
    latest = years_after(issued, DUE_WITHIN_YEARS)
    if day > latest:
        raise BillingError(
            f"The {what} {day.isoformat()} is more than {_years(DUE_WITHIN_YEARS)} after the "
            f"issue date ({issued.isoformat()}); check the year.",
            code=Refusal.BAD_DATE,
            field=field,
        )
    return day


#: The status an open invoice shows once its due date has passed (derived, never stored).
OVERDUE: Final = "overdue"


def is_overdue(status: str, due: date | None, today: date) -> bool:
    """Whether an invoice is overdue: still open, and its due date is before ``today``.

    An invoice due today is not overdue yet; one without a due date never is.
    """
    return status == "open" and due is not None and due < today


def shown_status(status: str, due: date | None, today: date) -> str:
    """The status to show: ``overdue`` for an overdue invoice, else the stored status."""
    return OVERDUE if is_overdue(status, due, today) else status
