"""Staff accounts, roles and what each role may do.

``Clinic.open(url)`` acts with the full rights of whoever holds the database (scripts, imports,
maintenance: the database's own credentials are the gate). ``clinic.sign_in(name, password)``
returns a clinic bound to one staff member, whose role limits what it may do; the audit log names
them.

Passwords are kept only as Argon2id hashes (argon2-cffi). Wrong passwords are slowed: after
:data:`FREE_ATTEMPTS` failures in a row an account waits before the next try, twice as long
after each further failure (up to :data:`MAX_WAIT`). An unknown name costs the same hashing time
as a known one, so a stranger cannot tell which names exist.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING

from ..domain.errors import BillingError, Refusal
from ..domain.kinds import choose

if TYPE_CHECKING:
    from argon2 import PasswordHasher

#: The one answer to a wrong name, a wrong password, or a try while a name waits.
REFUSED = (
    "The sign-in name or password is not right. After 3 wrong tries in a row, a name waits "
    "a little longer before each next try."
)
MIN_PASSWORD = 8
MAX_PASSWORD = 200
MAX_USERNAME = 60
MAX_FULL_NAME = 200
FREE_ATTEMPTS = 3
FIRST_WAIT = timedelta(seconds=2)
MAX_WAIT = timedelta(minutes=15)

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._\-]{0,59}$")


class Role(StrEnum):
    """A staff member's role."""

    ADMINISTRATOR = "administrator"
    BOOKKEEPER = "bookkeeper"
    RECEPTIONIST = "receptionist"
    PRACTITIONER = "practitioner"

    @property
    def label(self) -> str:
        """The role as people read it."""
        return self.value.capitalize()


class Permission(StrEnum):
    """Something a role may be allowed to do (the value reads as "… is not allowed to <value>")."""

    SETTINGS = "change the clinic's settings"
    STAFF = "manage staff accounts"
    READ_ALL = "see every patient's billing"
    PATIENTS = "add or change patients"
    #: Merging moves a patient's whole history: the same trust as corrections.
    MERGE = "merge duplicate patients"
    INVOICES = "create invoices"
    PAYMENTS = "take payments and apply account credit"
    #: Payers (health funds, insurers, ...) and their terms: bookkeepers and administrators.
    PAYERS = "add or change third-party payers"
    #: Emailing documents, statement runs and reminders: the desk, bookkeepers, administrators.
    EMAIL = "email patients and payers"
    CORRECTIONS = "void invoices, reverse payments, issue credit notes or move credit"
    REFUNDS = "refund account credit"
    REPORTS = "see the clinic's reports"
    EXPORTS = "export the clinic's data"
    IMPORTS = "import data"
    AUDIT = "read the audit log"
    #: A backup holds every patient's billing and the staff password hashes: the same trust as
    #: managing staff, so administrators only.
    BACKUP = "back up or restore the clinic's database"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMINISTRATOR: frozenset(Permission),
    Role.BOOKKEEPER: frozenset(
        {
            Permission.READ_ALL,
            Permission.CORRECTIONS,
            Permission.MERGE,
            Permission.PAYERS,
            Permission.EMAIL,
            Permission.REFUNDS,
            Permission.REPORTS,
            Permission.EXPORTS,
            Permission.AUDIT,
        }
    ),
    Role.RECEPTIONIST: frozenset(
        {
            Permission.READ_ALL,
            Permission.PATIENTS,
            Permission.INVOICES,
            Permission.PAYMENTS,
            Permission.EMAIL,
        }
    ),
    # A practitioner reads the billing of the patients assigned to them, and nothing else.
    Role.PRACTITIONER: frozenset(),
}


class PermissionDenied(PermissionError):  # noqa: N818 (the API's name)
    """The signed-in staff member's role does not allow this. Nothing was saved."""

    #: As ``BillingError.code`` (a PermissionError is not a BillingError).
    code = Refusal.PERMISSION_DENIED
    field: str | None = None


class SignInError(BillingError):
    """The name or password was not right, the account is disabled, or it must wait."""

    default_code = Refusal.SIGN_IN_REFUSED


@dataclass(frozen=True, slots=True)
class StaffMember:
    """A staff account as the API hands it out (never the password or its hash)."""

    id: int
    username: str
    full_name: str
    role: Role
    active: bool

    def may(self, permission: Permission) -> bool:
        """Whether the role allows ``permission``."""
        return permission in ROLE_PERMISSIONS[self.role]


#: The Argon2id hasher (made on first use: the windows import this module's roles at start-up,
#: and hashing needs neither the library nor its time until someone signs in).
_hasher: PasswordHasher | None = None


def _argon2() -> PasswordHasher:
    global _hasher
    if _hasher is None:
        from argon2 import PasswordHasher

        _hasher = PasswordHasher()
    return _hasher


@cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so that takes as long as a wrong password."""
    return _argon2().hash("not a password of anyone")


def clean_username(value: object) -> str:
    """A sign-in name: lower case letters, digits, dots, dashes and underscores (1-60)."""
    if not isinstance(value, str) or not value.strip():
        raise BillingError("Enter a sign-in name.", code=Refusal.MISSING, field="username")
    name = unicodedata.normalize("NFKC", value.strip()).lower()
    if not _USERNAME.match(name):
        raise BillingError(
            f"A sign-in name is 1 to {MAX_USERNAME} letters (a-z), digits, dots, dashes or "
            "underscores, starting with a letter or digit.",
            code=Refusal.TOO_LONG if len(name) > MAX_USERNAME else Refusal.BAD_TEXT,
            field="username",
        )
    return name


def check_new_password(password: object, *, field: str | None = None) -> str:
    """A new password: at least :data:`MIN_PASSWORD` characters, not only spaces; a refusal
    (``missing``, ``weak_password``) names ``field``, the input it is about."""
    if not isinstance(password, str) or not password.strip():
        raise BillingError("Enter a password.", code=Refusal.MISSING, field=field)
    if len(password) < MIN_PASSWORD:
        raise BillingError(
            f"A password needs at least {MIN_PASSWORD} characters.",
            code=Refusal.WEAK_PASSWORD,
            field=field,
        )
    if len(password) > MAX_PASSWORD:
        raise BillingError(
            f"A password is at most {MAX_PASSWORD} characters.",
            code=Refusal.WEAK_PASSWORD,
            field=field,
        )
    return password


def role_of(value: Role | str) -> Role:
    """A role from its name; a BillingError (``bad_choice``) naming the roles otherwise."""
    return choose(Role, value, "role", field="role")


def hash_password(password: str) -> str:
    """The Argon2id hash to store."""
    return _argon2().hash(password)


def password_matches(stored_hash: str | None, password: object) -> bool:
    """Whether ``password`` matches; an unknown account (no hash) costs the same time."""
    from argon2.exceptions import InvalidHashError, VerificationError

    candidate = password if isinstance(password, str) else ""
    try:
        matched = _argon2().verify(stored_hash or _dummy_hash(), candidate)
    except (VerificationError, InvalidHashError):  # VerifyMismatchError is a VerificationError
        return False
    return matched and stored_hash is not None


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with weaker settings than today's (rehash on sign-in)."""
    return _argon2().check_needs_rehash(stored_hash)


def wait_after(failures: int) -> timedelta:
    """How long an account waits after ``failures`` wrong passwords in a row."""
    if failures < FREE_ATTEMPTS:
        return timedelta(0)
    wait: timedelta = FIRST_WAIT * (2 ** min(failures - FREE_ATTEMPTS, 20))
    return wait if wait < MAX_WAIT else MAX_WAIT
