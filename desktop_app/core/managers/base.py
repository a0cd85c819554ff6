"""What every manager is: one area of the clinic, holding the clinic's store."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

from ..domain import dates
from ..domain.errors import BillingError, Refusal
from ..domain.limits import MAX_REQUEST_ID
from ..domain.text import check_line
from ..ledger.store import Store


class Manager:
    """One area of a clinic's work (``clinic.payments``, ``clinic.reports``, ...)."""

    def __init__(self, store: Store) -> None:
        self.store = store


def not_future(day: date | None, what: str, *, field: str | None = None) -> date:
    """The date of a money movement (default today): a day within the ledger's window, never
    after today (``domain/dates.py``); a refusal names ``field``."""
    today = date.today()
    return today if day is None else dates.past_day(day, f"{what} date", today, field=field)


#: Request ids the ledger makes for its own records (imports, a credit note's refund): a caller
#: sending one could otherwise take it first and block the import or the refund for good.
_RESERVED_REQUEST_ID = re.compile(r"^(import:|opening-balance:|credit-note-\d+-refund$)")


def check_request_id(request_id: object) -> str:
    """A caller's request id: one line of text, at most :data:`MAX_REQUEST_ID` characters, not
    one of the ids the ledger makes for its own records."""
    if type(request_id) is not str or not request_id.strip():
        raise BillingError(
            "Each save needs a request id (any unique text).",
            code=Refusal.MISSING,
            field="request_id",
        )
    if len(request_id) > MAX_REQUEST_ID:
        raise BillingError(
            f"A request id is at most {MAX_REQUEST_ID} characters.",
            code=Refusal.TOO_LONG,
            field="request_id",
        )
    check_line(request_id, "request id", MAX_REQUEST_ID)
    if _RESERVED_REQUEST_ID.match(request_id):
        raise BillingError(
            f"The request id {request_id!r} is one Clinic Ledger makes for its own records; "
            "choose another.",
            code=Refusal.REQUEST_REUSED,
            field="request_id",
        )
    return request_id


def until_today(day: date | None, what: str) -> date:
    """The last day a read covers (default today): a day, not after today, as old as need be."""
    today = date.today()
    if day is None:
        return today
    day = dates.check_day(day, f"{what} date")
    if day > today:
        raise BillingError(
            f"The {what} date {day.isoformat()} is in the future.", code=Refusal.FUTURE_DATE
        )
    return day


_P = ParamSpec("_P")
_R = TypeVar("_R")


class delegate(Generic[_P, _R]):  # noqa: N801 (used like a decorator, as ``property`` is)
    """A facade method that is a manager's: ``record_payment = delegate("payments",
    Payments.record)`` makes ``clinic.record_payment(...)`` call ``clinic.payments.record(...)``,
    with the manager method's signature (for type checkers) and docstring (for ``help``)."""

    def __init__(self, manager: str, method: Callable[Concatenate[Any, _P], _R]) -> None:
        self.manager = manager
        self.method = method.__name__
        self.__doc__ = method.__doc__
        self.__wrapped__ = method

    def __call__(self, obj: object, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        """Called on the class (``Clinic.credit(clinic, pid)``), as a plain method would be."""
        bound: Callable[_P, _R] = self.__get__(obj)
        return bound(*args, **kwargs)

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> Callable[_P, _R]: ...

    def __get__(self, obj: object, owner: type | None = None) -> Self | Callable[_P, _R]:
        if obj is None:
            return self
        bound: Callable[_P, _R] = getattr(getattr(obj, self.manager), self.method)
        return bound


class relay(Generic[_R]):  # noqa: N801 (used like ``property``)
    """A facade property that is a manager's: ``currency: relay[str] = relay("settings",
    "currency")`` makes ``clinic.currency`` read ``clinic.settings.currency``."""

    def __init__(self, manager: str, name: str) -> None:
        self.manager = manager
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> _R: ...

    def __get__(self, obj: object, owner: type | None = None) -> Self | _R:
        if obj is None:
            return self
        value: _R = getattr(getattr(obj, self.manager), self.name)
        return value
