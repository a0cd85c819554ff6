"""The clinic's database and who is acting on it: transactions, and the checks on every call.

One :class:`Store` per open clinic (and per signed-in staff member): every manager of
``Clinic`` holds it as ``self.store`` and reaches the database only through it.

* :meth:`Store.read` is one read-only transaction (a consistent snapshot);
  :meth:`Store.read_one` one hot single-row read on a plain pooled connection.
* :meth:`Store.write` is one all-or-nothing write transaction, as a
  :class:`~.transaction.Transaction` (the seam every write goes through). A clinic signed in as a
  staff member writes only while that account exists, is active and its role allows what the
  call needs: checked as the transaction begins, with the account's row share-locked on
  PostgreSQL until it ends, so an administrator's change to the account either came first (and
  this save is refused) or waits until this save is done.
* :meth:`Store.require`, :meth:`Store.check_patient_read` and :meth:`Store.own_patients` are the
  permission checks (:mod:`.guard` applies them to the managers' methods).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Engine, Select, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from ..access.staff import ROLE_PERMISSIONS, Permission, PermissionDenied, Role, StaffMember
from ..db import raw as raw_sql
from ..db.engine import WRITE_OPTION, is_sqlite
from ..db.models import Patient, Staff
from ..domain.errors import BillingError, DatabaseBusyError, Refusal
from . import idempotency
from .guard import REQUIRED
from .transaction import Transaction

_T = TypeVar("_T")

#: Who the audit log names for a clinic opened without signing in (scripts, maintenance).
OWNER = "database owner"
#: How long a PostgreSQL save waits for another computer's lock before it is refused as busy.
PG_LOCK_TIMEOUT = "5s"


class Store:
    """One clinic's database, acting for one staff member (None: the database's owner)."""

    def __init__(
        self, engine: Engine, staff: StaffMember | None = None, *, actor: str = OWNER
    ) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self.staff = staff
        #: Who the audit log names for this store's changes.
        self.actor = actor if staff is None else staff.username

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[Session]:
        """One read-only transaction (a consistent snapshot)."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def fetch(self, read: Callable[[Session], _T]) -> _T:
        """``read(session)`` in one read-only transaction: ``store.fetch(settings.letterhead)``."""
        with self.read() as session:
            return read(session)

    @contextmanager
    def write(
        self,
        permission: Permission | None = None,
        *,
        signing_in: bool = False,
        managing_staff: bool = False,
    ) -> Iterator[Transaction]:
        """One all-or-nothing write transaction; database trouble becomes a clear BillingError.

        The staff member's account is checked as it begins (see the module's docstring) for
        ``permission``, or the one the call's ``@requires`` names. Signing in (which writes the
        count of wrong passwords) and managing staff (which locks the staff rows in its own
        order, and may change the acting account itself) are checked by their callers.
        """
        try:
            with Session(self._writer, expire_on_commit=False) as session, session.begin():
                if not is_sqlite(self.engine):
                    session.connection().exec_driver_sql(
                        f"SET LOCAL lock_timeout = '{PG_LOCK_TIMEOUT}'"
                    )
                if self.staff is not None and not (signing_in or managing_staff):
                    _refuse_disabled(session, self.staff, permission or REQUIRED.get())
                yield Transaction(session, self.actor, self.staff)
        except OperationalError as exc:
            raise _operational_error(exc) from exc

    def replayed(
        self,
        kind: idempotency.RequestKind,
        request_id: str,
        fingerprint: str,
        error: IntegrityError,
    ) -> int:
        """After a save lost a race on its request id (``error``): the record the other save
        made for this same request. Refused (``request_reused``) when it was another request;
        ``error`` again when nothing has the id (the conflict was something else)."""
        with self.read() as session:
            found = idempotency.saved_record(session, kind, request_id, fingerprint)
        if found is None:
            raise error
        return found

    def read_one(self, statement: Select[Any], params: dict[str, Any]) -> Any:
        """The first row of one read-only statement, straight on a pooled driver connection.

        For the hottest reads (a patient's figures on every selection): a single SELECT is
        consistent on its own, so it skips the session, the explicit transaction and the result
        processing, and costs little more than the driver's own query.
        """
        sql, args = raw_sql.driver_sql(statement, self.engine.dialect, params)
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(sql, args)
                return cursor.fetchone()
            finally:
                cursor.close()
        finally:
            raw.close()  # back to the pool

    # -- who may do what ---------------------------------------------------------------------

    def current_staff(self) -> StaffMember | None:
        """The signed-in staff member as the database has them now: a role changed or an account
        disabled by an administrator applies to a clinic already signed in, at its next call."""
        staff = self.staff
        if staff is None:
            return None
        with self.read() as session:
            row = session.get(Staff, staff.id)
            current = None if row is None else staff_record(row)
        if current is not None and current.username != staff.username:
            current = None  # the account was deleted and its id reused: not the same person
        if current is None or not current.active:  # a disabled account: refused everything
            raise PermissionDenied(
                f"{staff.full_name}'s staff account is disabled; an administrator can enable it."
            )
        self.staff = current
        return current

    def permissions(self) -> frozenset[Permission]:
        """Everything this store may do now, read once."""
        if self.staff is None:
            return frozenset(Permission)
        try:
            staff = self.current_staff()
        except PermissionDenied:
            return frozenset()
        return frozenset() if staff is None else ROLE_PERMISSIONS[staff.role]

    def may(self, permission: Permission) -> bool:
        """Whether this store may do what ``permission`` names."""
        return permission in self.permissions()

    def require(self, permission: Permission) -> None:
        """Refuse (PermissionDenied) unless the signed-in role, as the database has it now,
        allows ``permission``."""
        staff = self.current_staff()
        if staff is not None and not staff.may(permission):
            raise PermissionDenied(
                f"{staff.full_name} ({staff.role.label.lower()}) is not allowed to "
                f"{permission.value}."
            )

    def check_patient_read(self, patient_of: Callable[[], Any]) -> None:
        """Refuse (PermissionDenied) a read of one patient's billing unless the role may read
        every patient, or is the practitioner of the patient ``patient_of()`` names."""
        staff = self.current_staff()
        if staff is None or staff.may(Permission.READ_ALL):
            return
        if staff.role is Role.PRACTITIONER and (patient_id := patient_of()) is not None:
            with self.read() as session:
                assigned = session.scalar(
                    select(Patient.practitioner_id).where(Patient.id == patient_id)
                )
            if assigned == staff.id:
                return
        raise PermissionDenied(
            f"{staff.full_name} ({staff.role.label.lower()}) may see only the billing of their "
            "own patients."
        )

    def patient_of(self, model: Any, record_id: int) -> int | None:
        """The patient of one record (an invoice, a payment), or None if there is none."""
        # An invoice billed to a payer is its patient's to read (its account is the payer's).
        column = (
            func.coalesce(model.for_patient_id, model.patient_id)
            if hasattr(model, "for_patient_id")
            else model.patient_id
        )
        with self.read() as session:
            patient_id: int | None = session.scalar(select(column).where(model.id == record_id))
            return patient_id

    def own_patients(self) -> list[ColumnElement[bool]]:
        """Conditions limiting patient lists to those this store may see (a practitioner's own)."""
        staff = self.current_staff()
        if staff is None or staff.may(Permission.READ_ALL):
            return []
        return [Patient.practitioner_id == staff.id]


def staff_record(row: Staff) -> StaffMember:
    """A staff account's row as the record the API hands out."""
    return StaffMember(row.id, row.username, row.full_name, Role(row.role), bool(row.active))


def _refuse_disabled(session: Session, staff: StaffMember, permission: Permission | None) -> None:
    """Refuse (PermissionDenied) unless ``staff``'s account still exists under its name, is
    active, and its role still allows ``permission`` (when the call needs one). The row is
    share-locked: a change committed meanwhile is seen, and one not yet begun waits."""
    row = session.execute(
        select(Staff.username, Staff.active, Staff.role)
        .where(Staff.id == staff.id)
        .with_for_update(read=True)
    ).one_or_none()
    if row is None or row.username != staff.username:
        raise PermissionDenied(
            f"{staff.full_name}'s staff account no longer exists. Nothing was saved; sign in again."
        )
    if not row.active:
        raise PermissionDenied(
            f"{staff.full_name}'s staff account is disabled; an administrator can enable "
            "it. Nothing was saved."
        )
    if permission is not None and permission not in ROLE_PERMISSIONS[Role(row.role)]:
        raise PermissionDenied(
            f"{staff.full_name} ({Role(row.role).label.lower()}) is not allowed to "
            f"{permission.value}. Nothing was saved."
        )


def _operational_error(exc: OperationalError) -> BillingError:
    text = str(exc.orig).lower()
    if "locked" in text or "busy" in text or "lock timeout" in text:
        return DatabaseBusyError(
            "The clinic database is busy: another computer is saving. Nothing was saved; "
            "try again in a moment."
        )
    if "full" in text or "no space" in text:
        return BillingError(
            "The database is full (no disk space). Nothing was saved.",
            code=Refusal.DATABASE_ERROR,
        )
    return BillingError(
        f"The database could not complete the save ({exc.orig}). Nothing was saved.",
        code=Refusal.DATABASE_ERROR,
    )
