"""The headless API: one Qt-free door to the ledger for the windows, scripts and tests.

Every write runs in one transaction that first locks the patient's account row (``FOR UPDATE`` on
PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` takes the database write lock), re-reads what it depends
on, and either saves everything or nothing. A refused call raises :class:`BillingError` and leaves
the database unchanged.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Engine, Select, bindparam, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import InstrumentedAttribute, Session

from .access import staff as staff_rules
from .access.staff import (
    ROLE_PERMISSIONS,
    Permission,
    PermissionDenied,
    Role,
    SignInError,
    StaffMember,
)
from .db import raw as raw_sql
from .db.credentials import with_stored_password
from .db.engine import WRITE_OPTION, default_database_url, is_sqlite
from .db.migrate import open_database
from .db.models import (
    Application,
    Counter,
    CreditNote,
    CreditTransfer,
    Invoice,
    InvoiceLine,
    Patient,
    Payment,
    PaymentType,
    Setting,
    Staff,
)
from .domain import dates
from .domain import letterhead as letterhead_rules
from .domain.allocation import AllocationMode
from .domain.currencies import normalize_currency
from .domain.errors import (
    REQUEST_REUSED,
    BillingError,
    ConcurrentChangeError,
    DatabaseBusyError,
    NotFoundError,
)
from .domain.invoicing import parse_lines
from .domain.kinds import AuditAction, AuditEntity, InvoiceStatus
from .domain.letterhead import Letterhead
from .domain.money import AmountInput, parse_minor, to_decimal
from .domain.payment_draft import PaymentDraft
from .domain.records import (
    ClinicSummary,
    CreditLot,
    CreditMovement,
    CreditNoteRecord,
    InvoiceRecord,
    PatientRecord,
    PaymentPreview,
    PaymentRecord,
    TransferRecord,
)
from .domain.text import check_line, optional_text, required_line, required_text
from .interchange import accounting_export
from .interchange import accounting_mapping as mapping_rules
from .interchange.backup import BackupResult, RestoreResult, backup_database, restore_database
from .ledger import (
    audit,
    corrections,
    credit_trace,
    idempotency,
    invoice_list,
    payment_save,
    read_models,
)
from .ledger.corrections import MAX_REASON
from .ledger.invoice_list import InvoiceKey, InvoicePage
from .ledger.payment_save import RefundRequest
from .ledger.transaction import Transaction
from .ledger.verify import verify_ledger
from .reporting import audit_log, documents, liability
from .reporting import figures as reports
from .reporting.audit_log import AuditFilter, AuditRecord

#: One patient's cached figures and the clinic's currency, in one statement.
_PATIENT_WITH_CURRENCY = select(
    Patient.id,
    Patient.first_name,
    Patient.last_name,
    Patient.credit_minor,
    Patient.outstanding_minor,
    select(Setting.value).where(Setting.key == "currency").scalar_subquery(),
).where(Patient.id == bindparam("pid"))

_DRAFT_SETTINGS = select(Setting.key, Setting.value).where(
    Setting.key.in_(["currency", "allocation_mode"])
)
_DRAFT_PATIENT = select(Patient.first_name, Patient.last_name, Patient.credit_minor).where(
    Patient.id == bindparam("pid")
)
_ACTIVE_TYPES = (
    select(PaymentType.name)
    .where(PaymentType.active.is_(True))
    .order_by(PaymentType.position, PaymentType.id)
)

OWNER = "database owner"
MAX_NAME = 200
MAX_REQUEST_ID = 200
MAX_PAYMENT_TYPE = 60
PG_LOCK_TIMEOUT = "5s"


def _clean_name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BillingError(f"Enter the patient's {what}.")
    if len(value) > MAX_NAME:
        raise BillingError(f"The {what} is longer than {MAX_NAME} characters.")
    return check_line(value.strip(), what, MAX_NAME)


def _clean_clinic_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise BillingError("Enter the clinic's name.")
    if len(name) > MAX_NAME:
        raise BillingError(f"The clinic's name is longer than {MAX_NAME} characters.")
    return check_line(name.strip(), "clinic's name", MAX_NAME)


def _allocation_mode(mode: AllocationMode | str) -> AllocationMode:
    try:
        return AllocationMode(mode)
    except ValueError:
        choices = ", ".join(m.value for m in AllocationMode)
        raise BillingError(f"Unknown allocation mode {mode!r}; choose one of {choices}.") from None


def _currency_code(code: str) -> str:
    try:
        return normalize_currency(code)
    except ValueError as exc:
        raise BillingError(str(exc)) from None


def _clean_payment_type(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_PAYMENT_TYPE:
        raise BillingError(f"A payment type needs a name of 1 to {MAX_PAYMENT_TYPE} characters.")
    return check_line(name.strip(), "payment type's name", MAX_PAYMENT_TYPE)


def _clean_payment_types(names: Sequence[str]) -> list[str]:
    if isinstance(names, (str, bytes)) or not isinstance(names, Sequence):
        raise BillingError("Give the payment types as a list of names.")
    cleaned = [_clean_payment_type(name) for name in names]
    if not cleaned:
        raise BillingError("Keep at least one payment type.")
    seen: set[str] = set()
    for name in cleaned:
        if name.lower() in seen:
            raise BillingError(f"The payment type {name} is listed twice.")
        seen.add(name.lower())
    return cleaned


#: Request ids the ledger makes for its own records (imports, a credit note's refund): a caller
#: sending one could otherwise take it first and block the import or the refund for good.
_RESERVED_REQUEST_ID = re.compile(r"^(import:|opening-balance:|credit-note-\d+-refund$)")


def _check_request_id(request_id: object) -> str:
    if type(request_id) is not str or not request_id.strip():
        raise BillingError("Each save needs a request id (any unique text).")
    if len(request_id) > MAX_REQUEST_ID:
        raise BillingError(f"A request id is at most {MAX_REQUEST_ID} characters.")
    check_line(request_id, "request id", MAX_REQUEST_ID)
    if _RESERVED_REQUEST_ID.match(request_id):
        raise BillingError(
            f"The request id {request_id!r} is one Clinic Ledger makes for its own records; "
            "choose another.",
            code=REQUEST_REUSED,
        )
    return request_id


def _not_future(day: date | None, what: str, *, field: str | None = None) -> date:
    """The date of a money movement (default today): a day within the ledger's window, never
    after today (dates.py); a refusal names ``field``."""
    today = date.today()
    return today if day is None else dates.past_day(day, f"{what} date", today, field=field)


def _until_today(day: date | None, what: str) -> date:
    """The last day a read covers (default today): a day, not after today, as old as need be."""
    today = date.today()
    if day is None:
        return today
    day = dates.check_day(day, f"{what} date")
    if day > today:
        raise BillingError(f"The {what} date {day.isoformat()} is in the future.")
    return day


#: Ids are plain ints in the database's integer range: '1', 1.0 and True all look like record 1
#: to a database (and [1] breaks the driver), so anything else is refused before it gets there.
#: Record ids are 32-bit integer columns on PostgreSQL: a larger number names no record.
_MAX_ID = 2**31 - 1


def _is_id(value: object) -> bool:
    return type(value) is int and -_MAX_ID <= value <= _MAX_ID


def _check_id(value: object, what: str) -> int:
    """``value`` as a record id, or NotFoundError naming ``what``: "There is no patient '1'."."""
    if not _is_id(value):
        raise NotFoundError(f"There is no {what} {value!r}.")
    return cast(int, value)


_F = TypeVar("_F", bound=Callable[..., Any])


def _requires(permission: Permission) -> Callable[[_F], _F]:
    """Refuse the call (PermissionDenied) unless the signed-in role allows ``permission``."""

    def wrap(method: _F) -> _F:
        @functools.wraps(method)
        def checked(self: Clinic, *args: Any, **kwargs: Any) -> Any:
            self._check(permission)
            token = _REQUIRED.set(permission)  # checked again, locked, as the write begins
            try:
                return method(self, *args, **kwargs)
            finally:
                _REQUIRED.reset(token)

        return cast(_F, checked)

    return wrap


#: The permission the call in progress needs (set by :func:`_requires`): a write re-checks it
#: as it begins, with the staff row share-locked until it ends, so a role lowered meanwhile
#: either refuses the save or waits for it.
_REQUIRED: ContextVar[Permission | None] = ContextVar("required_permission", default=None)


def _reads_patient(method: _F) -> _F:
    """A read of one patient's billing (the patient id comes first): everyone who may read all
    patients, or the practitioner the patient is assigned to."""

    @functools.wraps(method)
    def checked(self: Clinic, patient_id: Any, *args: Any, **kwargs: Any) -> Any:
        _check_id(patient_id, "patient")
        self._check_patient_read(lambda: patient_id)
        return method(self, patient_id, *args, **kwargs)

    return cast(_F, checked)


def _reads_record(model: Any) -> Callable[[_F], _F]:
    """A read of one invoice or payment: as :func:`_reads_patient`, for the record's patient."""

    def wrap(method: _F) -> _F:
        @functools.wraps(method)
        def checked(self: Clinic, record_id: Any, *args: Any, **kwargs: Any) -> Any:
            _check_id(record_id, model.__tablename__.removesuffix("s"))

            def patient_of() -> Any:
                with self._read() as session:
                    return session.scalar(select(model.patient_id).where(model.id == record_id))

            self._check_patient_read(patient_of)
            return method(self, record_id, *args, **kwargs)

        return cast(_F, checked)

    return wrap


class Clinic:
    """One clinic's ledger, on a SQLite file or a PostgreSQL server.

    Open with :meth:`open`; close with :meth:`close` (or use it as a context manager).
    """

    def __init__(
        self, engine: Engine, *, actor: str = OWNER, staff: StaffMember | None = None
    ) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._actor = actor if staff is None else staff.username
        self._staff = staff

    # -- staff and permissions -----------------------------------------------------------------

    @property
    def staff_member(self) -> StaffMember | None:
        """Who this clinic acts for (None: the database's owner, with every right)."""
        return self._staff

    def permissions(self) -> frozenset[Permission]:
        """Everything this clinic may do now, read once (a window enabling a dozen actions asks
        this, not :meth:`may` a dozen times)."""
        if self._staff is None:
            return frozenset(Permission)
        try:
            staff = self._current_staff()
        except PermissionDenied:
            return frozenset()
        return frozenset() if staff is None else ROLE_PERMISSIONS[staff.role]

    def may(self, permission: Permission) -> bool:
        """Whether this clinic may do what ``permission`` names (windows hide what it may not)."""
        return permission in self.permissions()

    def _current_staff(self) -> StaffMember | None:
        """The signed-in staff member as the database has them now: a role changed or an account
        disabled by an administrator applies to a clinic already signed in, at its next call."""
        staff = self._staff
        if staff is None:
            return None
        with self._read() as session:
            row = session.get(Staff, staff.id)
            current = None if row is None else _staff_record(row)
        if current is not None and current.username != staff.username:
            current = None  # the account was deleted and its id reused: not the same person
        if current is None or not current.active:  # a disabled account: refused everything
            raise PermissionDenied(
                f"{staff.full_name}'s staff account is disabled; an administrator can enable it."
            )
        self._staff = current
        return current

    def _check(self, permission: Permission) -> None:
        staff = self._current_staff()
        if staff is not None and not staff.may(permission):
            raise PermissionDenied(
                f"{staff.full_name} ({staff.role.label.lower()}) is not allowed to "
                f"{permission.value}."
            )

    def _check_patient_read(self, patient_of: Callable[[], Any]) -> None:
        staff = self._current_staff()
        if staff is None or staff.may(Permission.READ_ALL):
            return
        if staff.role is Role.PRACTITIONER and patient_of() is not None:
            with self._read() as session:
                assigned = session.scalar(
                    select(Patient.practitioner_id).where(Patient.id == patient_of())
                )
            if assigned == staff.id:
                return
        raise PermissionDenied(
            f"{staff.full_name} ({staff.role.label.lower()}) may see only the billing of their "
            "own patients."
        )

    def _own_patients(self) -> list[ColumnElement[bool]]:
        """Conditions limiting patient lists to those this clinic may see (a practitioner's own)."""
        staff = self._current_staff()
        if staff is None or staff.may(Permission.READ_ALL):
            return []
        return [Patient.practitioner_id == staff.id]

    def has_staff(self) -> bool:
        """Whether any staff account exists (a new clinic's first run creates the administrator)."""
        with self._read() as session:
            return bool(session.scalar(select(func.count()).select_from(Staff)))

    def sign_in(self, username: str, password: str) -> Clinic:
        """A clinic bound to the staff member ``username``: their role limits what it may do and
        the audit log names them. Refused (SignInError) for a wrong password, an unknown name, a
        disabled account, or while a name waits after wrong passwords. A wrong name, a wrong
        password and a wait get one message, after the same hashing time, so a stranger cannot
        tell which names exist.
        """
        refused = staff_rules.REFUSED
        try:
            name = staff_rules.clean_username(username)
        except BillingError:
            staff_rules.password_matches(None, password)  # the same time as any wrong try
            raise SignInError(refused) from None
        with self._write(signing_in=True) as session:
            row = session.scalars(
                select(Staff).where(Staff.username == name).with_for_update()
            ).one_or_none()
            now = audit.moment(session)
            if row is None:
                staff_rules.password_matches(None, password)
                raise SignInError(refused)
            waiting = row.wait_until is not None and audit.as_utc(row.wait_until) > now
            matches = staff_rules.password_matches(row.password_hash, password)
            if waiting and matches:
                raise SignInError(refused)  # the right password still waits its turn
            why: dict[str, Any] | None = None
            if not matches:
                row.failed_attempts += 1
                wait = staff_rules.wait_after(row.failed_attempts)
                row.wait_until = now + wait if wait else None
                why = {"failed_attempts": row.failed_attempts}
            elif not row.active:
                # The same answer as a wrong password: the right password of a disabled account
                # must not be confirmed to whoever typed it. The audit log says why.
                why = {"disabled": True}
            if why is not None:
                audit.record(
                    session,
                    actor=name,
                    action=AuditAction.SIGN_IN_REFUSED,
                    entity=AuditEntity.STAFF,
                    entity_id=row.id,
                    after=why,
                )
                failed = SignInError(refused)
            else:
                failed = None
                row.failed_attempts, row.wait_until = 0, None
                if staff_rules.needs_rehash(row.password_hash):
                    row.password_hash = staff_rules.hash_password(password)
                audit.record(
                    session,
                    actor=name,
                    action=AuditAction.SIGN_IN,
                    entity=AuditEntity.STAFF,
                    entity_id=row.id,
                )
                member = _staff_record(row)
        if failed is not None:  # the count of wrong passwords is saved all the same
            raise failed
        return Clinic(self._engine, staff=member)

    @_requires(Permission.STAFF)
    def add_staff(
        self, username: str, full_name: str, role: Role | str, password: str
    ) -> StaffMember:
        """Create a staff account. The first account of a clinic must be an administrator."""
        name = staff_rules.clean_username(username)
        full = required_line(full_name, "staff member's full name", staff_rules.MAX_FULL_NAME)
        chosen = staff_rules.role_of(role)
        secret = staff_rules.check_new_password(password)
        hashed = staff_rules.hash_password(secret)
        with self._write(managing_staff=True) as session:
            if session.scalar(select(Staff.id).where(Staff.username == name)) is not None:
                raise BillingError(f"There is already a staff account named {name}.")
            first = not session.scalar(select(func.count()).select_from(Staff))
            if first and chosen is not Role.ADMINISTRATOR:
                raise BillingError("The clinic's first staff account must be an administrator.")
            now = audit.moment(session)
            row = Staff(
                username=name,
                full_name=full,
                role=chosen.value,
                password_hash=hashed,
                active=True,
                failed_attempts=0,
                created_at=now,
                password_changed_at=now,
            )
            session.add(row)
            session.flush()
            audit.record(
                session,
                actor=self._actor,
                action=AuditAction.ADD_STAFF,
                entity=AuditEntity.STAFF,
                entity_id=row.id,
                after={"username": name, "full_name": full, "role": chosen.value},
            )
            return _staff_record(row)

    def staff_members(self) -> list[StaffMember]:
        """Every staff account, by name (administrators see them to manage them)."""
        self._check(Permission.STAFF)
        with self._read() as session:
            return [
                _staff_record(row)
                for row in session.scalars(select(Staff).order_by(Staff.username))
            ]

    def change_password(self, current: str, new: str) -> None:
        """The signed-in staff member changes their own password (the current one is checked)."""
        staff = self._current_staff()  # a disabled account changes nothing
        if staff is None:
            raise BillingError("Sign in to change your password.")
        secret = staff_rules.check_new_password(new)
        with self._write() as session:
            row = session.get_one(Staff, staff.id, with_for_update=True)
            if not staff_rules.password_matches(row.password_hash, current):
                raise SignInError("The current password is not right; nothing was changed.")
            row.password_hash = staff_rules.hash_password(secret)
            row.password_changed_at = audit.moment(session)
            audit.record(
                session,
                actor=self._actor,
                action=AuditAction.CHANGE_PASSWORD,
                entity=AuditEntity.STAFF,
                entity_id=row.id,
            )

    @_requires(Permission.STAFF)
    def reset_password(self, username: str, new: str) -> None:
        """An administrator sets a staff member's password (and ends any wait after wrong ones)."""
        secret = staff_rules.check_new_password(new)
        with self._write(managing_staff=True) as session:
            row = self._staff_row(session, username)
            row.password_hash = staff_rules.hash_password(secret)
            row.password_changed_at = audit.moment(session)
            row.failed_attempts, row.wait_until = 0, None
            audit.record(
                session,
                actor=self._actor,
                action=AuditAction.RESET_PASSWORD,
                entity=AuditEntity.STAFF,
                entity_id=row.id,
            )

    @_requires(Permission.STAFF)
    def update_staff(
        self,
        username: str,
        *,
        role: Role | str | None = None,
        active: bool | None = None,
        full_name: str | None = None,
    ) -> StaffMember:
        """Change a staff member's role, name, or whether they may sign in. The clinic always
        keeps one active administrator."""
        chosen = None if role is None else staff_rules.role_of(role)
        full = (
            None
            if full_name is None
            else required_line(full_name, "staff member's full name", staff_rules.MAX_FULL_NAME)
        )
        with self._write(managing_staff=True) as session:
            # Every administrator's row first, in one order: two administrators demoting each
            # other at once on PostgreSQL cannot both see the other still in place.
            session.scalars(
                select(Staff.id)
                .where(Staff.role == Role.ADMINISTRATOR.value)
                .order_by(Staff.id)
                .with_for_update()
            ).all()
            row = self._staff_row(session, username)
            before = {"role": row.role, "active": row.active, "full_name": row.full_name}
            if chosen is not None:
                row.role = chosen.value
            if active is not None:
                row.active = bool(active)
            if full is not None:
                row.full_name = full
            session.flush()
            admins = session.scalar(
                select(func.count())
                .select_from(Staff)
                .where(Staff.role == Role.ADMINISTRATOR.value, Staff.active.is_(True))
            )
            if not admins:
                raise BillingError(
                    "The clinic needs at least one active administrator; make another staff "
                    "member an administrator first."
                )
            after = {"role": row.role, "active": row.active, "full_name": row.full_name}
            if after != before:
                audit.record(
                    session,
                    actor=self._actor,
                    action=AuditAction.CHANGE_STAFF,
                    entity=AuditEntity.STAFF,
                    entity_id=row.id,
                    before=before,
                    after=after,
                )
            return _staff_record(row)

    @_requires(Permission.PATIENTS)
    def practitioners(self) -> list[StaffMember]:
        """The active practitioners, by name (to assign one to a patient)."""
        with self._read() as session:
            return [
                _staff_record(row)
                for row in session.scalars(
                    select(Staff)
                    .where(Staff.role == Role.PRACTITIONER.value, Staff.active.is_(True))
                    .order_by(Staff.full_name, Staff.username)
                )
            ]

    @_reads_patient
    def patient_practitioner(self, patient_id: int) -> str | None:
        """The sign-in name of the patient's practitioner (None: no one)."""
        with self._read() as session:
            return session.scalar(
                select(Staff.username)
                .join(Patient, Patient.practitioner_id == Staff.id)
                .where(Patient.id == patient_id)
            )

    @_requires(Permission.PATIENTS)
    def assign_practitioner(self, patient_id: int, username: str | None) -> None:
        """Make ``username`` (a practitioner) the patient's practitioner; None clears it."""
        with self._write() as session:
            patient = self._lock_patient(session, patient_id)
            staff_id = None
            if username is not None:
                row = self._staff_row(session, username)
                if row.role != Role.PRACTITIONER.value:
                    raise BillingError(f"{row.full_name} is not a practitioner.")
                staff_id = row.id
            if patient.practitioner_id != staff_id:
                audit.record(
                    session,
                    actor=self._actor,
                    action=AuditAction.ASSIGN_PRACTITIONER,
                    entity=AuditEntity.PATIENT,
                    entity_id=patient.id,
                    before={"practitioner_id": patient.practitioner_id},
                    after={"practitioner_id": staff_id},
                )
                patient.practitioner_id = staff_id

    def _staff_row(self, session: Session, username: str) -> Staff:
        name = staff_rules.clean_username(username)
        row = session.scalars(
            select(Staff).where(Staff.username == name).with_for_update()
        ).one_or_none()
        if row is None:
            raise NotFoundError(f"There is no staff account named {name}.")
        return row

    # -- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str | None = None) -> Clinic:
        """Open (creating or upgrading the schema of) the clinic at ``url``.

        Args:
            url: ``sqlite:///path/clinic.db`` or ``postgresql+psycopg://user@host/db``; by default
                the SQLite file in the user's data folder.
        """
        # A PostgreSQL password comes from the keychain, never from a file (db/credentials.py).
        return cls(open_database(with_stored_password(url or default_database_url())))

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self._engine.url.render_as_string(hide_password=True)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for maintenance tools and tests, not for windows)."""
        return self._engine

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def __enter__(self) -> Clinic:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def _write(
        self,
        *,
        signing_in: bool = False,
        managing_staff: bool = False,
        permission: Permission | None = None,
    ) -> Iterator[Session]:
        """One all-or-nothing write transaction; database trouble becomes a clear BillingError.

        A clinic signed in as a staff member writes only while that account exists, is active
        and its role allows what the call needs (``permission``, or the one its ``@_requires``
        names): checked as the transaction begins, with the account's row share-locked on
        PostgreSQL until it ends, so an administrator's change to the account either came first
        (and this save is refused) or waits until this save is done. Signing in (which writes
        the count of wrong passwords) and managing staff (which locks the staff rows in its own
        order, and may change the acting account itself) are checked by their callers.
        """
        try:
            with Session(self._writer, expire_on_commit=False) as session, session.begin():
                if not is_sqlite(self._engine):
                    session.connection().exec_driver_sql(
                        f"SET LOCAL lock_timeout = '{PG_LOCK_TIMEOUT}'"
                    )
                if self._staff is not None and not (signing_in or managing_staff):
                    self._refuse_disabled(session, self._staff, permission or _REQUIRED.get())
                yield session
        except OperationalError as exc:
            raise _operational_error(exc) from exc

    # -- the seams for the core's own modules (import, export): no side doors ------------------

    @property
    def actor(self) -> str:
        """Who the audit log names for this clinic's changes."""
        return self._actor

    def require(self, permission: Permission) -> None:
        """Refuse (PermissionDenied) unless the signed-in role, as the database has it now,
        allows ``permission``."""
        self._check(permission)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """One read-only transaction (a consistent snapshot) for the core's own modules."""
        with self._read() as session:
            yield session

    @contextmanager
    def writing(self, permission: Permission | None = None) -> Iterator[Transaction]:
        """One all-or-nothing write transaction, as :class:`~.transaction.Transaction`: its
        session, who acts, and the currency and patient locks in the ledger's lock order.
        ``permission``, if given, is checked again (the staff row locked) as it begins."""
        with self._write(permission=permission) as session:
            yield Transaction(session, self._actor, self._staff)

    @staticmethod
    def _refuse_disabled(
        session: Session, staff: StaffMember, permission: Permission | None
    ) -> None:
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
                f"{staff.full_name}'s staff account no longer exists. Nothing was saved; sign in "
                "again."
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

    def _read_one(self, statement: Select[Any], params: dict[str, Any]) -> Any:
        """The first row of one read-only statement, straight on a pooled driver connection.

        For the hottest reads (a patient's figures on every selection): a single SELECT is
        consistent on its own, so it skips the session, the explicit transaction and the result
        processing, and costs little more than the driver's own query.
        """
        sql, args = raw_sql.driver_sql(statement, self._engine.dialect, params)
        raw = self._engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(sql, args)
                return cursor.fetchone()
            finally:
                cursor.close()
        finally:
            raw.close()  # back to the pool

    def _lock_patient(self, session: Session, patient_id: int) -> Patient:
        _check_id(patient_id, "patient")
        patient = session.scalars(
            select(Patient).where(Patient.id == patient_id).with_for_update()
        ).one_or_none()
        if patient is None:
            raise NotFoundError(f"There is no patient {patient_id}.")
        return patient

    # -- settings ----------------------------------------------------------------------------

    def _setting(self, session: Session, key: str) -> str:
        value = session.get(Setting, key)
        if value is None:
            raise RuntimeError(f"The clinic database has no {key!r} setting.")
        return value.value

    @_requires(Permission.SETTINGS)
    def update_settings(
        self,
        *,
        clinic_name: str | None = None,
        currency: str | None = None,
        allocation_mode: AllocationMode | str | None = None,
        payment_types: Sequence[str] | None = None,
        letterhead: Mapping[str, str] | None = None,
        logo: bytes | None = None,
    ) -> None:
        """Change several clinic settings in one transaction: all of them, or (on a refusal) none.

        Args:
            clinic_name: the clinic's name.
            currency: an ISO 4217 code; refused once any invoice or payment exists.
            allocation_mode: the automatic allocation mode.
            payment_types: the active payment types, in display order. Types left out are
                retired (saved payments keep them); a retired name given again comes back.
            letterhead: printed documents' text fields by setting key (``clinic_address``,
                ``clinic_contact``, ``clinic_tax_number``, ``document_footer``); empty clears one.
            logo: the logo image file's bytes (PNG or JPEG); ``b""`` removes the logo.
        """
        name = None if clinic_name is None else _clean_clinic_name(clinic_name)
        texts = {}
        if letterhead is not None and not isinstance(letterhead, Mapping):
            raise BillingError("Give the letterhead as a mapping of setting to text.")
        for key, value in (letterhead or {}).items():
            if key not in letterhead_rules.TEXT_SETTINGS:
                raise BillingError(f"There is no letterhead setting {key!r}.")
            texts[key] = letterhead_rules.clean_text_setting(key, value)
        new_logo = None if logo is None else letterhead_rules.clean_logo(logo)
        mode = None if allocation_mode is None else _allocation_mode(allocation_mode)
        code = None if currency is None else _currency_code(currency)
        types = None if payment_types is None else _clean_payment_types(payment_types)
        with self._write() as session:
            if code is not None:
                self._change_currency(session, code)
            if name is not None:
                self._change_setting(session, "clinic_name", name)
            if mode is not None:
                self._change_setting(session, "allocation_mode", mode.value)
            if types is not None:
                self._change_payment_types(session, types)
            for key, value in texts.items():
                self._change_setting(session, key, value)
            if new_logo is not None:
                self._change_logo(session, new_logo)

    def _change_setting(self, session: Session, key: str, value: str) -> None:
        row = session.get(Setting, key)
        if row is None:  # a setting added after the database was made: empty until first set
            if not value:
                return
            row = Setting(key=key, value="")
            session.add(row)
        if row.value != value:
            audit.record(
                session,
                actor=self._actor,
                action=AuditAction.CHANGE_SETTING,
                entity=AuditEntity.SETTING,
                entity_id=None,
                before={key: row.value},
                after={key: value},
            )
            row.value = value

    def _change_logo(self, session: Session, data: bytes) -> None:
        key = letterhead_rules.LOGO_SETTING
        row = session.get(Setting, key)
        old = letterhead_rules.decode_logo(row.value if row is not None else "") or b""
        if old == data:
            return
        if row is None:
            row = Setting(key=key, value="")
            session.add(row)
        row.value = letterhead_rules.encode_logo(data) if data else ""
        audit.record(
            session,
            actor=self._actor,
            action=AuditAction.CHANGE_SETTING,
            entity=AuditEntity.SETTING,
            entity_id=None,
            before={key: letterhead_rules.logo_summary(old)},
            after={key: letterhead_rules.logo_summary(data)},
        )

    def _optional_setting(self, session: Session, key: str) -> str:
        row = session.get(Setting, key)
        return "" if row is None else row.value

    def letterhead(self) -> Letterhead:
        """The clinic's name, address, contact line, tax number, footer and logo for printing."""
        with self._read() as session:
            return self._letterhead(session)

    def _letterhead(self, session: Session) -> Letterhead:
        return Letterhead(
            name=self._setting(session, "clinic_name"),
            address=self._optional_setting(session, "clinic_address"),
            contact=self._optional_setting(session, "clinic_contact"),
            tax_number=self._optional_setting(session, "clinic_tax_number"),
            footer=self._optional_setting(session, "document_footer"),
            logo=letterhead_rules.decode_logo(
                self._optional_setting(session, letterhead_rules.LOGO_SETTING)
            ),
        )

    def _change_currency(self, session: Session, code: str) -> None:
        # The exclusive lock makes invoices and payments (which share-lock the currency) wait,
        # so none can be made in another currency between the check and the change.
        current = self._locked_currency(session, exclusive=True)
        if code == current:
            return
        if self._money_recorded(session):
            raise BillingError(
                "The currency cannot change once invoices or payments exist: their amounts "
                f"are in {current}."
            )
        self._change_setting(session, "currency", code)

    @staticmethod
    def _money_recorded(session: Session) -> bool:
        return bool(
            session.scalar(select(func.count()).select_from(Invoice))
            or session.scalar(select(func.count()).select_from(Payment))
        )

    def _change_payment_types(self, session: Session, names: list[str]) -> None:
        rows = {row.name.lower(): row for row in session.scalars(select(PaymentType))}
        wanted = {name.lower() for name in names}
        for key, row in rows.items():
            if row.active and key not in wanted:
                row.active = False
                audit.record(
                    session,
                    actor=self._actor,
                    action=AuditAction.RETIRE_PAYMENT_TYPE,
                    entity=AuditEntity.PAYMENT_TYPE,
                    entity_id=row.id,
                    before={"active": True},
                    after={"active": False},
                )
        for position, name in enumerate(names):
            existing = rows.get(name.lower())
            if existing is None:
                session.add(PaymentType(name=name, active=True, position=position))
                audit.record(
                    session,
                    actor=self._actor,
                    action=AuditAction.ADD_PAYMENT_TYPE,
                    entity=AuditEntity.PAYMENT_TYPE,
                    entity_id=None,
                    after={"name": name},
                )
            else:
                if not existing.active:
                    audit.record(
                        session,
                        actor=self._actor,
                        action=AuditAction.ADD_PAYMENT_TYPE,
                        entity=AuditEntity.PAYMENT_TYPE,
                        entity_id=existing.id,
                        before={"active": False},
                        after={"active": True},
                    )
                existing.active, existing.position = True, position

    @property
    def allocation_mode(self) -> AllocationMode:
        """The clinic's automatic allocation mode (oldest first by default)."""
        with self._read() as session:
            return AllocationMode(self._setting(session, "allocation_mode"))

    @_requires(Permission.SETTINGS)
    def set_allocation_mode(self, mode: AllocationMode | str) -> None:
        """Change the automatic allocation mode; the next preview uses it."""
        self.update_settings(allocation_mode=_allocation_mode(mode))  # None is refused too

    @property
    def currency(self) -> str:
        """The clinic's currency (ISO 4217)."""
        with self._read() as session:
            return self._setting(session, "currency")

    @property
    def currency_can_change(self) -> bool:
        """False once any invoice or payment exists (their amounts are in the currency)."""
        with self._read() as session:
            return not self._money_recorded(session)

    @_requires(Permission.SETTINGS)
    def set_currency(self, code: str) -> None:
        """Change the currency; refused once any invoice or payment exists."""
        self.update_settings(currency=_currency_code(code))  # None is refused too

    def _locked_currency(self, session: Session, *, exclusive: bool = False) -> str:
        """The currency, locked for this transaction (shared by money movements, exclusive when
        changing it; SQLite's write lock already serialises both)."""
        return str(
            session.scalars(
                select(Setting.value)
                .where(Setting.key == "currency")
                .with_for_update(read=not exclusive)
            ).one()
        )

    @property
    def clinic_name(self) -> str:
        """The clinic's name, as printed on documents."""
        with self._read() as session:
            return self._setting(session, "clinic_name")

    @_requires(Permission.SETTINGS)
    def set_clinic_name(self, name: str) -> None:
        """Rename the clinic."""
        self.update_settings(clinic_name=_clean_clinic_name(name))  # None is refused too

    def payment_types(self, *, include_inactive: bool = False) -> list[str]:
        """Payment type names in display order (active ones unless asked otherwise)."""
        query = select(PaymentType.name).order_by(PaymentType.position, PaymentType.id)
        if not include_inactive:
            query = query.where(PaymentType.active.is_(True))
        with self._read() as session:
            return list(session.scalars(query))

    @_requires(Permission.SETTINGS)
    def add_payment_type(self, name: str) -> None:
        """Add a payment type (or reactivate one of that name)."""
        name = _clean_payment_type(name)
        with self._write() as session:
            existing = session.scalars(
                select(PaymentType).where(func.lower(PaymentType.name) == name.lower())
            ).one_or_none()
            if existing is not None:
                if existing.active:
                    raise BillingError(f"There is already a payment type called {existing.name}.")
                existing.active = True
            else:
                position = session.scalar(select(func.max(PaymentType.position))) or 0
                session.add(PaymentType(name=name, active=True, position=position + 1))
            audit.record(
                session,
                actor=self._actor,
                action=AuditAction.ADD_PAYMENT_TYPE,
                entity=AuditEntity.PAYMENT_TYPE,
                entity_id=None,
                after={"name": name},
            )

    @_requires(Permission.SETTINGS)
    def deactivate_payment_type(self, name: str) -> None:
        """Hide a payment type from new payments (saved payments keep it)."""
        with self._write() as session:
            row = session.scalars(select(PaymentType).where(PaymentType.name == name)).one_or_none()
            if row is None or not row.active:
                raise BillingError(f"There is no active payment type called {name!r}.")
            row.active = False
            audit.record(
                session,
                actor=self._actor,
                action=AuditAction.DEACTIVATE_PAYMENT_TYPE,
                entity=AuditEntity.PAYMENT_TYPE,
                entity_id=row.id,
                before={"active": True},
                after={"active": False},
            )

    # -- patients ----------------------------------------------------------------------------

    @_requires(Permission.PATIENTS)
    def add_patient(self, first_name: str, last_name: str) -> int:
        """Add a patient with no credit; returns their id."""
        first = _clean_name(first_name, "first name")
        last = _clean_name(last_name, "last name")
        with self._write() as session:
            patient = Patient(
                first_name=first,
                last_name=last,
                created_at=audit.moment(session),
                credit_minor=0,
                outstanding_minor=0,
            )
            session.add(patient)
            session.flush()
            audit.record(
                session,
                actor=self._actor,
                action=AuditAction.ADD_PATIENT,
                entity=AuditEntity.PATIENT,
                entity_id=patient.id,
                after={"first_name": first, "last_name": last},
            )
            return patient.id

    @_reads_patient
    def patient(self, patient_id: int) -> PatientRecord:
        """One patient with their credit and outstanding balance.

        Both figures are cached on the patient's row (kept in the same transaction as every money
        movement, re-checked by ``verify``), so this is one indexed row read: one statement, on a
        plain connection (no ORM session), whatever the size of the clinic.
        """
        row = self._read_one(_PATIENT_WITH_CURRENCY, {"pid": patient_id})
        if row is None:
            raise NotFoundError(f"There is no patient {patient_id}.")
        pid, first, last, credit, outstanding, currency = row
        return PatientRecord(
            pid, first, last, to_decimal(credit, currency), to_decimal(outstanding, currency)
        )

    @_reads_patient
    def credit(self, patient_id: int) -> Decimal:
        """The patient's available account credit."""
        return self.patient(patient_id).credit

    def patient_ids(
        self, search: str = "", *, sort: str = "name", descending: bool = False
    ) -> list[int]:
        """Ids of the patients matching ``search``, in display order (for windowed lists).

        Args:
            search: words that must each start or appear in the first or last name (any case).
            sort: ``"name"`` (last, first), ``"credit"`` or ``"outstanding"``.
            descending: reverse the order.
        """
        keys: dict[str, list[ColumnElement[Any] | InstrumentedAttribute[int]]] = {
            "name": [func.lower(Patient.last_name), func.lower(Patient.first_name)],
            "credit": [Patient.credit_minor],
            "outstanding": [Patient.outstanding_minor],
        }
        if sort not in keys:
            raise BillingError(f"Patients can be sorted by {', '.join(keys)}, not {sort!r}.")
        order = [*keys[sort], Patient.id]
        query = select(Patient.id).order_by(*(k.desc() if descending else k for k in order))
        query = query.where(*self._own_patients())
        for word in search.split():
            pattern = "%" + read_models.escape_like(word.lower()) + "%"
            query = query.where(
                func.lower(Patient.first_name).like(pattern, escape="\\")
                | func.lower(Patient.last_name).like(pattern, escape="\\")
            )
        with self._read() as session:
            # Core rows, not ORM scalars: a third faster for 100,000 ids.
            return [row[0] for row in session.connection().execute(query)]

    def patients_by_ids(self, patient_ids: Sequence[int]) -> list[PatientRecord]:
        """The patients with these ids, in the same order (ids that do not exist are left out)."""
        patient_ids = [_check_id(pid, "patient") for pid in patient_ids]  # read once, checked
        with self._read() as session:
            currency = self._setting(session, "currency")
            rows = {
                row.id: row
                for row in session.scalars(
                    select(Patient).where(Patient.id.in_(patient_ids), *self._own_patients())
                )
            }
            return [
                PatientRecord(
                    row.id,
                    row.first_name,
                    row.last_name,
                    to_decimal(row.credit_minor, currency),
                    to_decimal(row.outstanding_minor, currency),
                )
                for pid in patient_ids
                if (row := rows.get(pid)) is not None
            ]

    @_reads_patient
    def credit_history(self, patient_id: int) -> list[CreditMovement]:
        """Every change to the patient's account credit, oldest first, with the running balance.

        Answers "where did this credit come from?" (payments and overpayments, returns from voided
        invoices and reversals) and "what used it?" (invoices paid from credit, refunds).
        """
        events, currency = self._credit_events(patient_id)
        return _movements(events, currency)

    @_reads_patient
    def credit_account(self, patient_id: int) -> tuple[list[CreditMovement], list[CreditLot]]:
        """:meth:`credit_history` and :meth:`credit_sources` together, from one read of the
        records (the patient panel shows both on every selection)."""
        events, currency = self._credit_events(patient_id)
        return _movements(events, currency), _lots(events, currency)

    def _credit_events(self, patient_id: int) -> tuple[list[credit_trace.CreditEvent], str]:
        with self._read() as session:
            currency = self._setting(session, "currency")
            if session.get(Patient, patient_id) is None:
                raise NotFoundError(f"There is no patient {patient_id}.")
            return credit_trace.patient_events(session, patient_id, currency), currency

    # -- invoices ----------------------------------------------------------------------------

    @_requires(Permission.INVOICES)
    def create_invoice(
        self,
        patient_id: int,
        lines: Sequence[Sequence[Any]],
        *,
        issue_date: date | None = None,
        due_date: date | None = None,
    ) -> int:
        """Issue an invoice; returns its id. Numbers are sequential across the clinic.

        Args:
            patient_id: who is billed.
            lines: ``(description, unit price, quantity[, tax rate %])`` per billable item.
            issue_date: defaults to today; from 20 years ago to a year ahead (dates.py).
            due_date: optional; from the issue date to 5 years after it.
        """
        _check_id(patient_id, "patient")
        today = date.today()
        issue_date = (
            today if issue_date is None else dates.issue_day(issue_date, "issue date", today)
        )
        if due_date is not None:
            due_date = dates.due_day(due_date, issue_date)
        with self._write() as session:
            currency = self._locked_currency(session)
            parsed = parse_lines(lines, currency)
            patient = self._lock_patient(session, patient_id)
            counter = session.scalars(
                select(Counter).where(Counter.name == "invoice_number").with_for_update()
            ).one()
            counter.value += 1
            total = sum(line.amount_minor for line in parsed)
            invoice = Invoice(
                number=counter.value,
                patient_id=patient_id,
                issue_date=issue_date,
                due_date=due_date,
                total_minor=total,
                paid_minor=0,
                status=InvoiceStatus.OPEN,
                created_at=audit.moment(session),
            )
            session.add(invoice)
            session.flush()
            session.add_all(
                InvoiceLine(
                    invoice_id=invoice.id,
                    position=i,
                    description=ln.description,
                    unit_price_minor=ln.unit_price_minor,
                    quantity=ln.quantity,
                    tax_rate_bp=ln.tax_rate_bp,
                    tax_minor=ln.tax_minor,
                    amount_minor=ln.amount_minor,
                )
                for i, ln in enumerate(parsed)
            )
            patient.outstanding_minor += total
            audit.record(
                session,
                actor=self._actor,
                action=AuditAction.CREATE_INVOICE,
                entity=AuditEntity.INVOICE,
                entity_id=invoice.id,
                after={
                    "number": invoice.number,
                    "patient_id": patient_id,
                    "total": total,
                    "issue_date": issue_date,
                },
            )
            return invoice.id

    @_reads_record(Invoice)
    def invoice(self, invoice_id: int) -> InvoiceRecord:
        """One invoice with its lines, total, paid, balance and status."""
        with self._read() as session:
            row = session.get(Invoice, invoice_id)
            if row is None:
                raise NotFoundError(f"There is no invoice {invoice_id}.")
            lines = read_models.lines_by_invoice(session, [row.id]).get(row.id, [])
            return read_models.invoice_record(row, lines, self._setting(session, "currency"))

    @_reads_patient
    def invoices(self, patient_id: int, *, open_only: bool = False) -> list[InvoiceRecord]:
        """The patient's invoices by issue date, then number."""
        query = select(Invoice).where(Invoice.patient_id == patient_id)
        if open_only:
            query = query.where(Invoice.status == InvoiceStatus.OPEN)
        with self._read() as session:
            currency = self._setting(session, "currency")
            rows = session.scalars(query.order_by(Invoice.issue_date, Invoice.number)).all()
            lines = read_models.lines_by_invoice(session, [row.id for row in rows])
            return [
                read_models.invoice_record(row, lines.get(row.id, []), currency) for row in rows
            ]

    @_requires(Permission.CORRECTIONS)
    def void_invoice(self, invoice_id: int, reason: str | None = None) -> None:
        """Void an invoice; whatever was applied to it returns to the patient's credit.

        Refused for an invoice with credit notes (credit the rest instead, or reverse them).
        """
        reason = optional_text(reason, "reason", MAX_REASON)
        with self._write() as session:
            invoice = self._locked_invoice(session, invoice_id)
            patient = session.get_one(Patient, invoice.patient_id)
            corrections.void_invoice(
                session, self._actor, self._setting(session, "currency"), patient, invoice, reason
            )

    def _locked_invoice(self, session: Session, invoice_id: int) -> Invoice:
        """The invoice, after locking the currency and its patient (re-read under the lock)."""
        self._locked_currency(session)
        invoice = session.get(Invoice, _check_id(invoice_id, "invoice"))
        if invoice is None:
            raise NotFoundError(f"There is no invoice {invoice_id!r}.")
        self._lock_patient(session, invoice.patient_id)
        session.refresh(invoice)
        return invoice

    # -- payments ----------------------------------------------------------------------------

    @_requires(Permission.PAYMENTS)
    def payment_draft(
        self,
        patient_id: int,
        source_invoice: int | None = None,
        *,
        payment_date: date | None = None,
        mode: AllocationMode | None = None,
    ) -> PaymentDraft:
        """Start entering a payment: read the patient's credit and open invoices once.

        The payment dialog previews every keystroke with ``draft.preview(...)`` (no database
        work) and saves with :meth:`record_payment`.

        Args:
            patient_id: who pays.
            source_invoice: the invoice the payment was entered from, if any.
            payment_date: defaults to today; never in the future.
            mode: override the clinic's allocation mode (defaults to the setting).
        """
        _check_id(patient_id, "patient")
        day = _not_future(payment_date, "payment")
        with self._read() as session:
            # Core statements on the session's connection (one snapshot, no ORM processing):
            # this runs each time the payment dialog opens.
            connection = session.connection()
            settings = dict(connection.execute(_DRAFT_SETTINGS).all())
            currency = settings["currency"]
            chosen = AllocationMode(mode or settings["allocation_mode"])
            patient = connection.execute(_DRAFT_PATIENT, {"pid": patient_id}).one_or_none()
            if patient is None:
                raise NotFoundError(f"There is no patient {patient_id}.")
            if source_invoice is not None:
                self._check_payable(session, patient_id, source_invoice)
            types = tuple(name for (name,) in connection.execute(_ACTIVE_TYPES))
            first_name, last_name, credit_minor = patient
            return PaymentDraft(
                patient_id=patient_id,
                patient_name=f"{first_name} {last_name}",
                currency=currency,
                mode=chosen,
                source_invoice=source_invoice,
                payment_date=day,
                payment_types=types,
                credit_available=credit_minor,
                open_invoices=tuple(read_models.open_invoices(session, patient_id)),
                explain_not_open=lambda invoice_id: self._explain_not_open(patient_id, invoice_id),
            )

    @_requires(Permission.PAYMENTS)
    def preview_payment(
        self,
        patient_id: int,
        sources: Mapping[str, AmountInput] | None = None,
        applied: Mapping[int, AmountInput] | None = None,
        source_invoice: int | None = None,
        *,
        payment_date: date | None = None,
        mode: AllocationMode | None = None,
    ) -> PaymentPreview:
        """Work out exactly what saving a payment would do, without saving anything.

        Args:
            patient_id: who pays.
            sources: amount per payment type name (``{"Cash": "20.00"}``); empty for a payment made
                wholly from account credit.
            applied: amounts staff typed per invoice id; the automatic mode fills in the rest.
            source_invoice: the invoice the payment was entered from, if any.
            payment_date: defaults to today; never in the future.
            mode: override the clinic's allocation mode (defaults to the setting).

        Raises:
            BillingError: a bad amount, an unknown payment type, an invoice that is paid, void or
                another patient's, more than a balance, or more than payment plus credit.
        """
        draft = self.payment_draft(patient_id, source_invoice, payment_date=payment_date, mode=mode)
        return draft.preview(sources, applied)

    def _explain_not_open(self, patient_id: int, invoice_id: object) -> None:
        """Raise the reason an invoice cannot take a payment from this patient."""
        with self._read() as session:
            invoice = self._check_payable(session, patient_id, invoice_id)
        raise ConcurrentChangeError(
            f"Invoice #{invoice.number} was issued or reopened after this payment was started; "
            "start the payment again to include it."
        )

    def _check_payable(self, session: Session, patient_id: int, invoice_id: object) -> Invoice:
        invoice = session.get(Invoice, _check_id(invoice_id, "invoice"))
        if invoice is None:
            raise NotFoundError(f"There is no invoice {invoice_id!r}.")
        if invoice.patient_id != patient_id:
            raise BillingError(
                f"Invoice #{invoice.number} belongs to another patient; nothing from this "
                "patient can be applied to it."
            )
        if invoice.status != InvoiceStatus.OPEN:
            raise BillingError(
                f"Invoice #{invoice.number} is {invoice.status}; nothing more can be applied to it."
            )
        return invoice

    @_requires(Permission.PAYMENTS)
    def record_payment(self, preview: PaymentPreview, request_id: str) -> int:
        """Save exactly what ``preview`` shows, in one transaction; returns the payment id.

        The save re-plans the preview's inputs (patient, sources, typed amounts, mode, source
        invoice, date) under the patient's lock and saves what the engine computes, refusing a
        preview whose figures differ (``payment_save.py``). The same ``request_id`` with the
        same request returns the first payment's id and records nothing; with a different
        request it is refused.

        Raises:
            ConcurrentChangeError: the patient's credit or open invoices changed since the
                preview (another workstation saved); preview again.
            BillingError: there is nothing to save, the preview's figures are not the engine's
                (code ``preview_altered``), or the request id was used for another request
                (code ``request_reused``).
        """
        request_id = _check_request_id(request_id)
        request = payment_save.request_of(preview)
        _not_future(request.payment_date, "payment")
        assert isinstance(preview, PaymentPreview)  # request_of refused anything else
        try:
            with self._write() as session:
                # Lock first, then look: a retry racing the original save waits for it and
                # then finds it, instead of being refused as a concurrent change. Locks are
                # always taken currency first, then patient, so two saves cannot deadlock.
                currency = self._locked_currency(session)
                patient = self._lock_patient(session, request.patient_id)
                existing = _payment_for_request(session, request_id, request, "payment")
                if existing is not None:
                    return existing
                if currency != request.currency:
                    raise ConcurrentChangeError(
                        "The clinic's currency changed; preview the payment again."
                    )
                return payment_save.save(
                    session, self._actor, patient, request, preview, request_id
                )
        except IntegrityError:
            # Another save with the same request id committed first: that one is the payment.
            with self._read() as session:
                existing = _payment_for_request(session, request_id, request, "payment")
            if existing is None:
                raise
            return existing

    @_reads_record(Payment)
    def payment(self, payment_id: int) -> PaymentRecord:
        """One payment or refund: total, money and credit applied, sources and invoices paid."""
        with self._read() as session:
            row = session.get(Payment, payment_id)
            if row is None:
                raise NotFoundError(f"There is no payment {payment_id}.")
            return read_models.payment_records(session, [row], self._setting(session, "currency"))[
                0
            ]

    @_reads_patient
    def payments(self, patient_id: int) -> list[PaymentRecord]:
        """The patient's payments and refunds, oldest first."""
        with self._read() as session:
            currency = self._setting(session, "currency")
            rows = session.scalars(
                select(Payment)
                .where(Payment.patient_id == patient_id)
                .order_by(Payment.payment_date, Payment.id)
            ).all()
            return read_models.payment_records(session, rows, currency)

    @_requires(Permission.REFUNDS)
    def refund_credit(
        self,
        patient_id: int,
        amount: AmountInput,
        *,
        method: str,
        request_id: str,
        refund_date: date | None = None,
        reason: str | None = None,
    ) -> int:
        """Return account credit to the patient by ``method``; returns the refund's id.

        Never more than the available credit. The same ``request_id`` again returns the first
        refund's id and records nothing.
        """
        request_id = _check_request_id(request_id)
        day = _not_future(refund_date, "refund", field="refund_date")
        reason = optional_text(reason, "reason", MAX_REASON, field="reason")
        if not isinstance(method, str):
            raise BillingError("Choose how the refund is paid (a payment type).", field="method")

        def request(currency: str) -> RefundRequest:
            minor = parse_minor(amount, currency, what="the refund")
            return RefundRequest(patient_id, minor, method, refund_date, reason)

        try:
            with self._write() as session:
                currency = self._locked_currency(session)
                patient = self._lock_patient(session, patient_id)
                asked = request(currency)
                existing = _payment_for_request(session, request_id, asked, "refund")
                if existing is not None:
                    return existing
                return corrections.refund(
                    session,
                    self._actor,
                    currency,
                    patient,
                    asked.amount,
                    method=method,
                    day=day,
                    request_id=request_id,
                    fingerprint=asked.fingerprint(),
                    reason=reason,
                )
        except IntegrityError:
            with self._read() as session:
                existing = _payment_for_request(
                    session, request_id, request(self.currency), "refund"
                )
            if existing is None:
                raise
            return existing

    @_requires(Permission.CORRECTIONS)
    def reverse_payment(self, payment_id: int, reason: str | None = None) -> None:
        """Archive a payment or refund: its applications go, the invoices it paid reopen, and the
        credit it created disappears.

        Raises:
            BillingError: already reversed, or the credit it created was already spent (the
                message names what used it: reverse or remove that first).
        """
        reason = optional_text(reason, "reason", MAX_REASON)
        with self._write() as session:
            currency = self._locked_currency(session)
            payment = session.get(Payment, _check_id(payment_id, "payment"))
            if payment is None:
                raise NotFoundError(f"There is no payment {payment_id!r}.")
            patient = self._lock_patient(session, payment.patient_id)
            session.refresh(payment)
            corrections.reverse_payment(session, self._actor, currency, patient, payment, reason)

    @_requires(Permission.CORRECTIONS)
    def remove_application(self, application_id: int, reason: str) -> None:
        """Take one amount a payment applied off its invoice: the invoice reopens and the amount
        returns to the patient's account credit (the payment itself stays)."""
        reason = required_text(reason, "reason for removing it", MAX_REASON)
        with self._write() as session:
            currency = self._locked_currency(session)
            app = session.get(Application, _check_id(application_id, "applied amount"))
            if app is None:
                raise NotFoundError(f"There is no applied amount {application_id!r}.")
            payment = session.get_one(Payment, app.payment_id)
            patient = self._lock_patient(session, payment.patient_id)
            session.refresh(app)
            corrections.remove_application(session, self._actor, currency, patient, app, reason)

    @_requires(Permission.CORRECTIONS)
    def issue_credit_note(
        self,
        invoice_id: int,
        amount: AmountInput | None = None,
        *,
        reason: str,
        request_id: str,
        note_date: date | None = None,
        refund_method: str | None = None,
    ) -> int:
        """Credit all (``amount`` None) or part of an invoice; returns the credit note's id.

        What the invoice still owed is reduced first; what the patient had already paid comes back
        as account credit, and with ``refund_method`` that credit is refunded at once (one
        transaction). The same ``request_id`` again returns the first credit note's id.
        """
        if refund_method is not None:  # money goes back to the patient: a refund too
            self._check(Permission.REFUNDS)
        request_id = _check_request_id(request_id)
        reason = required_text(reason, "reason for the credit note", MAX_REASON, field="reason")
        day = _not_future(note_date, "credit note", field="note_date")
        try:
            with self._write() as session:
                invoice = self._locked_invoice(session, invoice_id)
                currency = self._setting(session, "currency")
                patient = session.get_one(Patient, invoice.patient_id)
                existing = session.scalars(
                    select(CreditNote).where(CreditNote.request_id == request_id)
                ).one_or_none()
                minor = None if amount is None else parse_minor(amount, currency, what="the credit")
                asked = idempotency.fingerprint(
                    "credit note",
                    invoice=invoice.id,
                    amount=minor,  # as asked: None ("all that is left") is its own request
                    date=note_date,
                    reason=reason,
                    refund_method=refund_method,
                )
                if existing is not None:
                    refunded = session.scalar(
                        select(Payment.id).where(
                            Payment.request_id == f"credit-note-{existing.id}-refund"
                        )
                    )
                    idempotency.same_request(
                        existing.request_fingerprint,
                        asked,
                        legacy_match=existing.invoice_id == invoice.id
                        and minor in (None, existing.amount_minor)
                        and (refund_method is not None) == (refunded is not None),
                        what="credit note",
                    )
                    return existing.id
                idempotency.refuse_other_kinds(session, request_id, "credit note")
                note = corrections.issue_credit_note(
                    session,
                    self._actor,
                    currency,
                    patient,
                    invoice,
                    minor,
                    day=day,
                    reason=reason,
                    request_id=request_id,
                    fingerprint=asked,
                )
                if refund_method is not None:
                    if note.to_credit_minor == 0:
                        raise BillingError(
                            "Nothing of this credit note becomes account credit (it only "
                            "reduces what the invoice still owes), so there is nothing to refund."
                        )
                    corrections.refund(
                        session,
                        self._actor,
                        currency,
                        patient,
                        note.to_credit_minor,
                        method=refund_method,
                        day=day,
                        request_id=f"credit-note-{note.id}-refund",
                        reason=f"Refund of credit note CN-{note.number}: {reason}",
                    )
                return note.id
        except IntegrityError:
            with self._read() as session:
                found = session.scalar(
                    select(CreditNote.id).where(
                        CreditNote.request_id == request_id,
                        CreditNote.request_fingerprint == asked,
                    )
                )
            if found is None:
                raise BillingError(
                    "That request id is already in use by another save; nothing was saved. "
                    "Save again with a new one.",
                    code=REQUEST_REUSED,
                ) from None
            return int(found)

    #: The name of the first release (a noun for a write); kept working for scripts.
    credit_note = issue_credit_note

    @_requires(Permission.CORRECTIONS)
    def reverse_credit_note(self, credit_note_id: int, reason: str | None = None) -> None:
        """Undo a credit note: the invoice owes that part again and the credit it gave is taken
        back (refused, naming what used it, while that credit is spent)."""
        reason = optional_text(reason, "reason", MAX_REASON)
        with self._write() as session:
            currency = self._locked_currency(session)
            note = session.get(CreditNote, _check_id(credit_note_id, "credit note"))
            if note is None:
                raise NotFoundError(f"There is no credit note {credit_note_id!r}.")
            patient = self._lock_patient(session, note.patient_id)
            session.refresh(note)
            corrections.reverse_credit_note(session, self._actor, currency, patient, note, reason)

    @_reads_patient
    def credit_notes(self, patient_id: int) -> list[CreditNoteRecord]:
        """The patient's credit notes, oldest first."""
        with self._read() as session:
            currency = self._setting(session, "currency")
            return read_models.credit_note_records(
                session, CreditNote.patient_id == patient_id, currency
            )

    @_requires(Permission.CORRECTIONS)
    def transfer_credit(
        self,
        from_patient_id: int,
        to_patient_id: int,
        amount: AmountInput,
        *,
        reason: str,
        request_id: str,
        transfer_date: date | None = None,
    ) -> int:
        """Move account credit to another patient (a family account); returns the transfer's id.

        Both patients' credit histories show it. The same ``request_id`` again returns the first
        transfer's id.
        """
        request_id = _check_request_id(request_id)
        reason = required_text(reason, "reason for the transfer", MAX_REASON, field="reason")
        day = _not_future(transfer_date, "transfer", field="transfer_date")
        for pid in (from_patient_id, to_patient_id):
            if not isinstance(pid, int) or isinstance(pid, bool):
                raise NotFoundError(f"There is no patient {pid!r}.")
        if from_patient_id == to_patient_id:
            raise BillingError("Choose another patient to transfer the credit to.")
        try:
            with self._write() as session:
                currency = self._locked_currency(session)
                first, second = sorted((from_patient_id, to_patient_id))
                locked = {pid: self._lock_patient(session, pid) for pid in (first, second)}
                existing = session.scalars(
                    select(CreditTransfer).where(CreditTransfer.request_id == request_id)
                ).one_or_none()
                minor = parse_minor(amount, currency, what="the transfer")
                asked = idempotency.fingerprint(
                    "transfer",
                    sender=from_patient_id,
                    receiver=to_patient_id,
                    amount=minor,
                    date=transfer_date,
                    reason=reason,
                )
                if existing is not None:
                    idempotency.same_request(
                        existing.request_fingerprint,
                        asked,
                        legacy_match=(
                            existing.from_patient_id,
                            existing.to_patient_id,
                            existing.amount_minor,
                        )
                        == (from_patient_id, to_patient_id, minor),
                        what="transfer",
                    )
                    return existing.id
                idempotency.refuse_other_kinds(session, request_id, "transfer")
                return corrections.transfer(
                    session,
                    self._actor,
                    currency,
                    locked[from_patient_id],
                    locked[to_patient_id],
                    minor,
                    day=day,
                    reason=reason,
                    request_id=request_id,
                    fingerprint=asked,
                )
        except IntegrityError:
            with self._read() as session:
                found = session.scalar(
                    select(CreditTransfer.id).where(
                        CreditTransfer.request_id == request_id,
                        CreditTransfer.request_fingerprint == asked,
                    )
                )
            if found is None:
                raise BillingError(
                    "That request id is already in use by another save; nothing was saved. "
                    "Save again with a new one.",
                    code=REQUEST_REUSED,
                ) from None
            return int(found)

    @_requires(Permission.CORRECTIONS)
    def reverse_transfer(self, transfer_id: int, reason: str | None = None) -> None:
        """Send transferred credit back (refused, naming what used it, once it is spent)."""
        reason = optional_text(reason, "reason", MAX_REASON)
        with self._write() as session:
            currency = self._locked_currency(session)
            row = session.get(CreditTransfer, _check_id(transfer_id, "credit transfer"))
            if row is None:
                raise NotFoundError(f"There is no credit transfer {transfer_id!r}.")
            first, second = sorted((row.from_patient_id, row.to_patient_id))
            locked = {pid: self._lock_patient(session, pid) for pid in (first, second)}
            session.refresh(row)
            corrections.reverse_transfer(
                session,
                self._actor,
                currency,
                locked[row.from_patient_id],
                locked[row.to_patient_id],
                row,
                reason,
            )

    @_reads_patient
    def transfers(self, patient_id: int) -> list[TransferRecord]:
        """Credit transfers to or from the patient, oldest first."""
        with self._read() as session:
            currency = self._setting(session, "currency")
            return read_models.transfer_records(session, patient_id, currency)

    @_reads_patient
    def credit_sources(self, patient_id: int) -> list[CreditLot]:
        """Where the patient's credit came from: one lot per origin (a payment, a credit note, a
        transfer, money returned from an invoice), oldest first, with what used each and what
        remains. Credit is spent oldest first; the remaining amounts add up to the credit."""
        events, currency = self._credit_events(patient_id)
        return _lots(events, currency)

    # -- checks ------------------------------------------------------------------------------

    @_requires(Permission.READ_ALL)
    def summary(self) -> ClinicSummary:
        """Patients, open invoices, what is owed and how much account credit the clinic holds."""
        with self._read() as session:
            currency = self._setting(session, "currency")
            patients, outstanding, credit = session.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(Patient.outstanding_minor), 0),
                    func.coalesce(func.sum(Patient.credit_minor), 0),
                )
            ).one()
            open_invoices = (
                session.scalar(
                    select(func.count())
                    .select_from(Invoice)
                    .where(Invoice.status == InvoiceStatus.OPEN)
                )
                or 0
            )
            return ClinicSummary(
                self._setting(session, "clinic_name"),
                currency,
                patients,
                open_invoices,
                to_decimal(outstanding, currency),
                to_decimal(credit, currency),
            )

    # -- reports (read only) -------------------------------------------------------------------

    @_requires(Permission.REPORTS)
    def aged_receivables(self, as_of: date | None = None) -> reports.AgedReceivables:
        """What every patient owes, aged by invoice date (0-30, 31-60, 61-90, over 90 days).

        Args:
            as_of: the day the ages are counted to (default today).
        """
        with self._read() as session:
            currency = self._setting(session, "currency")
            day = date.today() if as_of is None else dates.check_day(as_of, "aged-to date")
            return reports.aged_receivables(session, currency, day)

    @_requires(Permission.REPORTS)
    def credit_liability(
        self, as_of: date | None = None, dormant_months: int = 12
    ) -> liability.CreditLiability:
        """The account credit held for each patient at the end of a day (the clinic's liability),
        with last visit and payment, dormant credit, and the total at the last 12 month ends.

        Args:
            as_of: the day (default today; not after today).
            dormant_months: credit is dormant after this many months without a visit or payment.
        """
        day = date.today() if as_of is None else dates.check_day(as_of, "credit held date")
        with self._read() as session:
            currency = self._setting(session, "currency")
            return liability.credit_liability(session, currency, day, dormant_months)

    @_requires(Permission.REPORTS)
    def takings(
        self, start: date, end: date | None = None, payment_type: str | None = None
    ) -> reports.Takings:
        """Money received and refunded per payment type from ``start`` to ``end`` (inclusive),
        and where the received money went (applied to invoices or left as credit).

        Args:
            start: the first day.
            end: the last day (default: ``start``, one day's takings).
            payment_type: only this payment type's money.
        """
        first = dates.check_day(start, "takings' first date")
        last = first if end is None else dates.check_day(end, "takings' last date")
        with self._read() as session:
            currency = self._setting(session, "currency")
            return reports.takings(session, currency, first, last, payment_type)

    # -- accounting export -------------------------------------------------------------------

    @_requires(Permission.EXPORTS)
    def accounting_mapping(self) -> mapping_rules.AccountMapping:
        """Which Xero account each part of the ledger goes to (defaults until saved)."""
        with self._read() as session:
            return self._mapping(session)

    def _mapping(self, session: Session) -> mapping_rules.AccountMapping:
        names = [
            name
            for (name,) in session.execute(
                select(PaymentType.name).order_by(PaymentType.position, PaymentType.id)
            )
        ]
        return mapping_rules.load_mapping(session, self._setting(session, "currency"), names)

    @_requires(Permission.SETTINGS)
    def set_accounting_mapping(self, mapping: mapping_rules.AccountMapping) -> None:
        """Save the account mapping (checked first: a bad code changes nothing)."""
        checked = mapping_rules.check_mapping(mapping)
        with self._write() as session:
            self._change_setting(session, mapping_rules.MAPPING_SETTING, checked.to_json())

    @_requires(Permission.EXPORTS)
    def preview_accounting_export(
        self, through: date | None = None
    ) -> accounting_export.ExportSummary:
        """What the next accounting export would send (records dated up to ``through``, today by
        default, not exported yet, and changes to exported ones); nothing is written."""
        day = _until_today(through, "export's last")
        with self._read() as session:
            batch = accounting_export.build_export(
                session, self._mapping(session), self._setting(session, "currency"), day
            )
            return accounting_export.summary_of(batch, day, None, None)

    @_requires(Permission.EXPORTS)
    def export_accounting(
        self, parent: Path | str, through: date | None = None
    ) -> accounting_export.ExportSummary:
        """Write the next accounting export into a new folder inside ``parent`` and remember what
        it sent. Refused (nothing written or saved) when nothing is new or changed, the mapping
        lacks an account, or the folder cannot be written."""
        day = _until_today(through, "export's last")
        parent = Path(parent)
        if not parent.is_dir():
            raise BillingError(f"The folder {parent} does not exist.")
        partial: Path | None = None
        renamed: Path | None = None
        try:
            with self._write() as session:
                currency = self._locked_currency(session, exclusive=True)
                batch = accounting_export.build_export(
                    session, self._mapping(session), currency, day
                )
                if not (batch.new or batch.changed or batch.skipped):  # deferred ones only
                    raise BillingError(
                        "Nothing to export: nothing is new or changed since the last export."
                    )
                export_id, final = accounting_export.save_export(
                    session, self._actor, batch, day, parent
                )
                partial = final.with_name(final.name + ".part")
                if final.exists() or partial.exists():
                    partial = None  # not ours: left as it is
                    raise BillingError(f"{final} already exists; choose another folder.")
                try:
                    accounting_export.write_files(batch, partial)
                    # Renamed before the commit: an export is saved only once its folder is in
                    # place (a failed commit removes the folder again, below).
                    partial.replace(final)
                except OSError as exc:
                    raise BillingError(
                        f"The export could not be written to {parent}: {exc.strerror}."
                    ) from None
                renamed = final
        except BaseException:
            if partial is not None:
                accounting_export.remove_partial(partial)
            if renamed is not None:  # written, but the database did not take it
                accounting_export.remove_partial(renamed)
            raise
        return accounting_export.summary_of(batch, day, export_id, final)

    @_requires(Permission.EXPORTS)
    def accounting_exports(self) -> list[accounting_export.ExportRecord]:
        """Every accounting export so far, newest first."""
        with self._read() as session:
            return accounting_export.past_exports(session)

    # -- printed documents ---------------------------------------------------------------------

    @_reads_record(Invoice)
    def invoice_document(self, invoice_id: int) -> documents.InvoiceDocument:
        """Invoice ``invoice_id`` as printed: letterhead, patient, lines, totals, what paid it."""
        with self._read() as session:
            currency = self._setting(session, "currency")
            return documents.invoice_document(
                session, self._letterhead(session), currency, invoice_id
            )

    @_reads_record(Payment)
    def receipt(self, payment_id: int) -> documents.ReceiptDocument:
        """The receipt of payment (or refund) ``payment_id``: sources, money and credit applied,
        credit left over, and the patient's credit just before and after it was saved."""
        with self._read() as session:
            currency = self._setting(session, "currency")
            return documents.receipt_document(
                session, self._letterhead(session), currency, payment_id
            )

    @_reads_patient
    def statement(
        self, patient_id: int, start: date | None = None, end: date | None = None
    ) -> documents.StatementDocument:
        """The patient's statement from ``start`` (None: from the first record) to ``end``
        (None: today; a later day is refused): every charge, payment and credit with a running
        balance of owed less credit."""
        end = _until_today(end, "statement's end")
        if start is not None:
            start = dates.check_day(start, "statement's start")
        with self._read() as session:
            currency = self._setting(session, "currency")
            return documents.statement_document(
                session, self._letterhead(session), currency, patient_id, start, end
            )

    # -- backup and restore (administrators) ----------------------------------------------------

    @_requires(Permission.BACKUP)
    def backup(self, destination: Path | str) -> BackupResult:
        """Save a checked copy of the clinic's SQLite database to ``destination`` (a file, or a
        folder for a dated name); see :func:`~desktop_app.core.interchange.backup.backup_database`.

        Raises:
            PermissionDenied: the signed-in role may not back up (administrators only: a backup
                holds every patient's billing and the staff password hashes); no file is written.
            ServerBackupError: the clinic is on PostgreSQL (the message says how to back it up).
            BillingError: the backup could not be made; nothing is left under that name.
        """
        return backup_database(self, destination)

    @_requires(Permission.BACKUP)
    def restore(self, backup_path: Path | str) -> RestoreResult:
        """Replace the clinic's SQLite database with a checked backup, keeping the current one
        next to it; see :func:`~desktop_app.core.interchange.backup.restore_database`. This clinic's
        connections are closed first; open the clinic again to use the restored ledger.

        Raises:
            PermissionDenied: the signed-in role may not restore (administrators only); nothing
                is closed or changed.
            ServerBackupError, DatabaseBusyError, BillingError: as ``restore_database``.
        """
        url = self._engine.url.render_as_string(hide_password=False)
        self.close()
        return restore_database(backup_path, url)

    @_requires(Permission.REPORTS)
    def verify(self) -> list[str]:
        """Recompute every ledger invariant (I1-I8) from the records; [] when all is sound."""
        with self._read() as session:
            return verify_ledger(session, self._setting(session, "currency"))

    # -- audit log (read only) ---------------------------------------------------------------

    @_requires(Permission.AUDIT)
    def audit_entry_ids(
        self, filt: AuditFilter | None = None, *, newest_first: bool = True
    ) -> list[int]:
        """Ids of the audit entries matching ``filt`` (all by default), newest first.

        For windowed lists: fetch the rows shown with :meth:`audit_entries_by_ids`.
        """

        with self._read() as session:
            return audit_log.audit_entry_ids(session, filt, newest_first)

    @_requires(Permission.AUDIT)
    def audit_entries_by_ids(self, entry_ids: Sequence[int]) -> list[AuditRecord]:
        """The audit entries with these ids, in the same order, with summaries in plain words."""

        with self._read() as session:
            checked = [_check_id(entry_id, "audit entry") for entry_id in entry_ids]
            return audit_log.audit_entries_by_ids(
                session, checked, self._setting(session, "currency")
            )

    @_requires(Permission.AUDIT)
    def audit_count(self, filt: AuditFilter | None = None) -> int:
        """How many audit entries match ``filt`` (all by default)."""

        with self._read() as session:
            return audit_log.audit_count(session, filt)

    @_requires(Permission.AUDIT)
    def audit_actions(self) -> list[str]:
        """Every action name in the audit log, alphabetically."""

        with self._read() as session:
            return audit_log.audit_actions(session)

    @_requires(Permission.AUDIT)
    def audit_actors(self) -> list[str]:
        """Everyone who appears in the audit log, alphabetically."""

        with self._read() as session:
            return audit_log.audit_actors(session)

    # -- the clinic-wide invoice list (read only) --------------------------------------------

    @_requires(Permission.READ_ALL)
    def invoice_page(
        self,
        *,
        sort: str = "number",
        descending: bool = False,
        search: str = "",
        status: str | None = None,
        after: InvoiceKey | None = None,
        limit: int = 200,
    ) -> InvoicePage:
        """One page of every patient's invoices, sorted and searched by the database.

        Keyset paging: pass the page's ``next_key`` as ``after`` for the next page (None on the
        last page), so any page costs what the first does. See :mod:`.invoice_list`.

        Args:
            sort: ``"number"``, ``"issue_date"`` (then number), ``"patient"`` (last name, first
                name, then number) or ``"balance"`` (then number).
            descending: reverse the order.
            search: an invoice number (``1042`` or ``#1042``), or words of the patient's name.
            status: ``"open"``, ``"paid"`` or ``"void"``; None for all.
            after: the previous page's ``next_key``; None for the first page.
            limit: rows per page (at most 5,000).
        """
        with self._read() as session:
            return invoice_list.invoice_page(
                session,
                self._setting(session, "currency"),
                sort=sort,
                descending=descending,
                search=search,
                status=status,
                after=after,
                limit=limit,
            )

    @_requires(Permission.READ_ALL)
    def invoice_count(self, search: str = "", status: str | None = None) -> int:
        """How many invoices :meth:`invoice_page` lists for ``search`` and ``status``.

        About 15 ms per million invoices on SQLite, up to a few hundred ms for a name search that
        matches many patients: windows show the first page before asking.
        """
        with self._read() as session:
            return invoice_list.invoice_count(session, search, status)


# -- helpers ---------------------------------------------------------------------------------


def _staff_record(row: Staff) -> StaffMember:
    return StaffMember(row.id, row.username, row.full_name, Role(row.role), bool(row.active))


def _operational_error(exc: OperationalError) -> BillingError:
    text = str(exc.orig).lower()
    if "locked" in text or "busy" in text or "lock timeout" in text:
        return DatabaseBusyError(
            "The clinic database is busy: another computer is saving. Nothing was saved; "
            "try again in a moment."
        )
    if "full" in text or "no space" in text:
        return BillingError("The database is full (no disk space). Nothing was saved.")
    return BillingError(
        f"The database could not complete the save ({exc.orig}). Nothing was saved."
    )


def _payment_for_request(
    session: Session,
    request_id: str,
    request: payment_save.PaymentRequest | RefundRequest,
    kind: str,
) -> int | None:
    """The record already saved under ``request_id``, if any, when it is the same request.

    A retry must be the same request (the same kind, patient, sources or amount, date, typed
    amounts, method): anything else reusing the id is refused rather than mistaken for the first
    save. Records saved before fingerprints are compared by kind, patient and total.
    """
    row = session.execute(
        select(
            Payment.id,
            Payment.patient_id,
            Payment.kind,
            Payment.total_minor,
            Payment.request_fingerprint,
        ).where(Payment.request_id == request_id)
    ).one_or_none()
    if row is None:
        idempotency.refuse_other_kinds(session, request_id, "payment")
        return None
    if row.patient_id != request.patient_id:
        raise BillingError(
            "That request id was already used for another patient's payment; nothing was saved.",
            code=REQUEST_REUSED,
        )
    if row.kind != kind:
        raise idempotency.refuse_reuse(str(row.kind))
    idempotency.same_request(
        row.request_fingerprint,
        request.fingerprint(),
        legacy_match=row.total_minor == request.payment_total,
        what=kind,
    )
    return int(row.id)


def _movements(events: list[credit_trace.CreditEvent], currency: str) -> list[CreditMovement]:
    """Credit events in saved order, each with the running balance after it."""
    movements: list[CreditMovement] = []
    balance = 0
    for event in sorted(events, key=lambda e: e.sort_key):
        balance += event.change
        movements.append(
            CreditMovement(
                event.day,
                event.description,
                to_decimal(event.change, currency),
                to_decimal(balance, currency),
                event.payment_id,
            )
        )
    return movements


def _lots(events: list[credit_trace.CreditEvent], currency: str) -> list[CreditLot]:
    """Where the credit came from, traced from the same events."""
    return [read_models.credit_lot_record(lot, currency) for lot in credit_trace.trace(events)]
