"""``clinic.staff``: staff accounts, signing in, passwords, and the practitioners to assign.

The rules (roles, what each may do, password hashing and the waits after wrong passwords) are
:mod:`desktop_app.core.access.staff`'s; this manager saves accounts and checks sign-ins.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..access import staff as staff_rules
from ..access.staff import Permission, Role, SignInError, StaffMember
from ..db.models import Staff
from ..domain.errors import BillingError, NotFoundError, Refusal
from ..domain.kinds import AuditAction, AuditEntity
from ..domain.text import required_line
from ..ledger import audit
from ..ledger.guard import requires
from ..ledger.store import staff_record
from .base import Manager


class StaffAccounts(Manager):
    """The clinic's staff accounts (administrators manage them; everyone signs in)."""

    @property
    def member(self) -> StaffMember | None:
        """Who this clinic acts for (None: the database's owner, with every right)."""
        return self.store.staff

    def permissions(self) -> frozenset[Permission]:
        """Everything this clinic may do now, read once (a window enabling a dozen actions asks
        this, not :meth:`may` a dozen times)."""
        return self.store.permissions()

    def may(self, permission: Permission) -> bool:
        """Whether this clinic may do what ``permission`` names (windows hide what it may not)."""
        return self.store.may(permission)

    def has_staff(self) -> bool:
        """Whether any staff account exists (a new clinic's first run creates the administrator)."""
        with self.store.read() as session:
            return bool(session.scalar(select(func.count()).select_from(Staff)))

    def authenticate(self, username: str, password: str) -> StaffMember:
        """The staff member ``username``, once their password is checked (``clinic.sign_in``
        makes a clinic bound to them: their role limits what it may do and the audit log names
        them). Refused (SignInError) for a wrong password, an unknown name, a
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
        with self.store.write(signing_in=True) as tx:
            row = tx.session.scalars(
                select(Staff).where(Staff.username == name).with_for_update()
            ).one_or_none()
            now = audit.moment(tx.session)
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
            if why is None:
                row.failed_attempts, row.wait_until = 0, None
                if staff_rules.needs_rehash(row.password_hash):
                    row.password_hash = staff_rules.hash_password(password)
            audit.record(
                tx.session,
                actor=name,
                action=AuditAction.SIGN_IN if why is None else AuditAction.SIGN_IN_REFUSED,
                entity=AuditEntity.STAFF,
                entity_id=row.id,
                after=why,
            )
            member = staff_record(row)
        if why is not None:  # the count of wrong passwords is saved all the same
            raise SignInError(refused)
        return member

    @requires(Permission.STAFF)
    def add(self, username: str, full_name: str, role: Role | str, password: str) -> StaffMember:
        """Create a staff account. The first account of a clinic must be an administrator."""
        name = staff_rules.clean_username(username)
        full = required_line(full_name, "staff member's full name", staff_rules.MAX_FULL_NAME)
        chosen = staff_rules.role_of(role)
        secret = staff_rules.check_new_password(password)
        hashed = staff_rules.hash_password(secret)
        with self.store.write(managing_staff=True) as tx:
            if tx.session.scalar(select(Staff.id).where(Staff.username == name)) is not None:
                raise BillingError(
                    f"There is already a staff account named {name}.",
                    code=Refusal.DUPLICATE,
                    field="username",
                )
            first = not tx.session.scalar(select(func.count()).select_from(Staff))
            if first and chosen is not Role.ADMINISTRATOR:
                raise BillingError(
                    "The clinic's first staff account must be an administrator.",
                    code=Refusal.LAST_ADMINISTRATOR,
                    field="role",
                )
            now = audit.moment(tx.session)
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
            tx.session.add(row)
            tx.session.flush()
            tx.audit(
                action=AuditAction.ADD_STAFF,
                entity=AuditEntity.STAFF,
                entity_id=row.id,
                after={"username": name, "full_name": full, "role": chosen.value},
            )
            return staff_record(row)

    def members(self) -> list[StaffMember]:
        """Every staff account, by name (administrators see them to manage them)."""
        self.store.require(Permission.STAFF)
        with self.store.read() as session:
            return [
                staff_record(row) for row in session.scalars(select(Staff).order_by(Staff.username))
            ]

    def change_password(self, current: str, new: str) -> None:
        """The signed-in staff member changes their own password (the current one is checked)."""
        staff = self.store.current_staff()  # a disabled account changes nothing
        if staff is None:
            raise BillingError("Sign in to change your password.", code=Refusal.PERMISSION_DENIED)
        secret = staff_rules.check_new_password(new)
        with self.store.write() as tx:
            row = tx.session.get_one(Staff, staff.id, with_for_update=True)
            if not staff_rules.password_matches(row.password_hash, current):
                raise SignInError("The current password is not right; nothing was changed.")
            row.password_hash = staff_rules.hash_password(secret)
            row.password_changed_at = audit.moment(tx.session)
            tx.audit(
                action=AuditAction.CHANGE_PASSWORD,
                entity=AuditEntity.STAFF,
                entity_id=row.id,
            )

    @requires(Permission.STAFF)
    def reset_password(self, username: str, new: str) -> None:
        """An administrator sets a staff member's password (and ends any wait after wrong ones)."""
        secret = staff_rules.check_new_password(new)
        with self.store.write(managing_staff=True) as tx:
            row = staff_row(tx.session, username)
            row.password_hash = staff_rules.hash_password(secret)
            row.password_changed_at = audit.moment(tx.session)
            row.failed_attempts, row.wait_until = 0, None
            tx.audit(
                action=AuditAction.RESET_PASSWORD,
                entity=AuditEntity.STAFF,
                entity_id=row.id,
            )

    @requires(Permission.STAFF)
    def update(
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
        with self.store.write(managing_staff=True) as tx:
            # Every administrator's row first, in one order: two administrators demoting each
            # other at once on PostgreSQL cannot both see the other still in place.
            tx.session.scalars(
                select(Staff.id)
                .where(Staff.role == Role.ADMINISTRATOR.value)
                .order_by(Staff.id)
                .with_for_update()
            ).all()
            row = staff_row(tx.session, username)
            before = {"role": row.role, "active": row.active, "full_name": row.full_name}
            if chosen is not None:
                row.role = chosen.value
            if active is not None:
                row.active = bool(active)
            if full is not None:
                row.full_name = full
            tx.session.flush()
            admins = tx.session.scalar(
                select(func.count())
                .select_from(Staff)
                .where(Staff.role == Role.ADMINISTRATOR.value, Staff.active.is_(True))
            )
            if not admins:
                raise BillingError(
                    "The clinic needs at least one active administrator; make another staff "
                    "member an administrator first.",
                    code=Refusal.LAST_ADMINISTRATOR,
                )
            after = {"role": row.role, "active": row.active, "full_name": row.full_name}
            if after != before:
                tx.audit(
                    action=AuditAction.CHANGE_STAFF,
                    entity=AuditEntity.STAFF,
                    entity_id=row.id,
                    before=before,
                    after=after,
                )
            return staff_record(row)

    @requires(Permission.PATIENTS)
    def practitioners(self) -> list[StaffMember]:
        """The active practitioners, by name (to assign one to a patient)."""
        with self.store.read() as session:
            return [
                staff_record(row)
                for row in session.scalars(
                    select(Staff)
                    .where(Staff.role == Role.PRACTITIONER.value, Staff.active.is_(True))
                    .order_by(Staff.full_name, Staff.username)
                )
            ]


def staff_row(session: Session, username: str) -> Staff:
    """The staff account named ``username``, its row locked; NotFoundError if there is none."""
    name = staff_rules.clean_username(username)
    row = session.scalars(
        select(Staff).where(Staff.username == name).with_for_update()
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"There is no staff account named {name}.")
    return row
