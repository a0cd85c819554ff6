"""Who may call what: the permission checks on the managers' methods, and record ids.

A manager's method is decorated with what it needs: :func:`requires` a permission of the signed-in
role (checked as the call begins, and again, with the staff row locked, as its write begins),
:func:`reads_patient` for one patient's billing (everyone who may read all patients, or the
patient's own practitioner), :func:`reads_record` for one invoice or payment (the same, for the
record's patient). The checks themselves are the store's (:mod:`.store`); a manager holds one as
``self.store``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar, cast

from ..access.staff import Permission
from ..domain.errors import NotFoundError

#: Ids are plain ints in the database's integer range: '1', 1.0 and True all look like record 1
#: to a database (and [1] breaks the driver), so anything else is refused before it gets there.
#: Record ids are 32-bit integer columns on PostgreSQL: a larger number names no record.
MAX_ID = 2**31 - 1

_F = TypeVar("_F", bound=Callable[..., Any])

#: The permission the call in progress needs (set by :func:`requires`): a write re-checks it as
#: it begins, with the staff row share-locked until it ends, so a role lowered meanwhile either
#: refuses the save or waits for it.
REQUIRED: ContextVar[Permission | None] = ContextVar("required_permission", default=None)


def is_id(value: object) -> bool:
    """Whether ``value`` can be a record id (an int, not a bool, in the database's range)."""
    return type(value) is int and -MAX_ID <= value <= MAX_ID


def check_id(value: object, what: str) -> int:
    """``value`` as a record id, or NotFoundError naming ``what``: "There is no patient '1'."."""
    if not is_id(value):
        raise NotFoundError(f"There is no {what} {value!r}.")
    return cast(int, value)


def requires(permission: Permission) -> Callable[[_F], _F]:
    """Refuse the call (PermissionDenied) unless the signed-in role allows ``permission``."""

    def wrap(method: _F) -> _F:
        @functools.wraps(method)
        def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
            self.store.require(permission)
            token = REQUIRED.set(permission)  # checked again, locked, as the write begins
            try:
                return method(self, *args, **kwargs)
            finally:
                REQUIRED.reset(token)

        return cast(_F, checked)

    return wrap


def reads_patient(method: _F) -> _F:
    """A read of one patient's billing (the patient id comes first): everyone who may read all
    patients, or the practitioner the patient is assigned to."""

    @functools.wraps(method)
    def checked(self: Any, patient_id: Any, *args: Any, **kwargs: Any) -> Any:
        check_id(patient_id, "patient")
        self.store.check_patient_read(lambda: patient_id)
        return method(self, patient_id, *args, **kwargs)

    return cast(_F, checked)


def reads_record(model: Any) -> Callable[[_F], _F]:
    """A read of one invoice or payment: as :func:`reads_patient`, for the record's patient."""

    def wrap(method: _F) -> _F:
        @functools.wraps(method)
        def checked(self: Any, record_id: Any, *args: Any, **kwargs: Any) -> Any:
            check_id(record_id, model.__tablename__.removesuffix("s"))
            self.store.check_patient_read(lambda: self.store.patient_of(model, record_id))
            return method(self, record_id, *args, **kwargs)

        return cast(_F, checked)

    return wrap
