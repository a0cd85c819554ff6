"""Helpers shared by the tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from sqlalchemy import text

from desktop_app.core import BillingError, Clinic, Role
from desktop_app.core.db.models import Base
from desktop_app.self_test import database_at

__all__ = ["database_at", "snapshot"]


def snapshot(clinic: Clinic) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every ledger table, in a stable order: to show a refusal changed nothing."""
    tables = [*Base.metadata.sorted_tables]
    with clinic.engine.connect() as conn:
        result = {
            table.name: [
                tuple(row)
                for row in conn.execute(table.select().order_by(*table.primary_key.columns))
            ]
            for table in tables
        }
        result["alembic_version"] = [
            tuple(r) for r in conn.execute(text("SELECT version_num FROM alembic_version"))
        ]
    return result


def refused(
    clinic: Clinic, call: Callable[[], object], code: str, match: str | None = None
) -> BillingError:
    """``call`` is refused with ``code`` (and a message matching ``match``) and changes
    nothing in the database; the refusal."""
    before = snapshot(clinic)
    with pytest.raises(BillingError, match=match) as refused:
        call()
    assert refused.value.code == code, refused.value
    assert snapshot(clinic) == before
    return refused.value


def at_once(calls: list[Callable[[], object]]) -> list[object]:
    """Run each call on its own thread (two desks at once); what each returned or raised."""
    outcomes: list[object] = [None] * len(calls)

    def run(n: int) -> None:
        try:
            outcomes[n] = calls[n]()
        except Exception as exc:  # the test looks at it
            outcomes[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


# -- a team of staff -----------------------------------------------------------------------------

#: The password of every staff account the tests make (long enough for the password rules).
STAFF_PASSWORD = "correct horse 1"

#: Each role's member in a test team: (sign-in name, full name).
STAFF: dict[Role, tuple[str, str]] = {
    Role.ADMINISTRATOR: ("admin", "Alex Admin"),
    Role.BOOKKEEPER: ("books", "Bo Books"),
    Role.RECEPTIONIST: ("desk", "Dee Desk"),
    Role.PRACTITIONER: ("physio", "Phil Physio"),
}


def staff_team(
    clinic: Clinic, roles: Iterable[Role | str] = tuple(Role), *, sign_in: bool = True
) -> dict[str, Clinic]:
    """One staff account per role in ``roles`` on ``clinic`` (named as in :data:`STAFF`, each
    with :data:`STAFF_PASSWORD`), the administrator first: a clinic's first account must be one.

    Returns ``{"owner": clinic, role: that member signed in, ...}``, keyed by the role's value
    (``"administrator"``, ``"receptionist"``...). With ``sign_in=False`` the accounts are only
    made: the administrator signs in only to add the others, and the result holds just the
    clinics that were signed in. Password hashing is slow (argon2): ask only for the roles a test
    uses, and see the ``quick_hashes`` fixture.
    """
    wanted = [Role(role) for role in roles]
    if Role.ADMINISTRATOR not in wanted:
        raise ValueError("a team starts with its administrator: include Role.ADMINISTRATOR")
    others = [role for role in dict.fromkeys(wanted) if role is not Role.ADMINISTRATOR]
    team = {"owner": clinic}
    username, full_name = STAFF[Role.ADMINISTRATOR]
    clinic.add_staff(username, full_name, Role.ADMINISTRATOR, STAFF_PASSWORD)
    if not others and not sign_in:
        return team
    admin = team[Role.ADMINISTRATOR.value] = clinic.sign_in(username, STAFF_PASSWORD)
    for role in others:
        admin.add_staff(*STAFF[role], role, STAFF_PASSWORD)
    if sign_in:
        for role in others:
            team[role.value] = clinic.sign_in(STAFF[role][0], STAFF_PASSWORD)
    return team
