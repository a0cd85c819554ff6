"""Writing the append-only audit log (who, when, what, before and after), and the clock every money
movement is stamped with."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any, NotRequired, TypedDict, Unpack

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db.models import AuditEntry
from ..domain.kinds import AuditAction, AuditEntity

_clock_lock = threading.Lock()
_last: datetime | None = None


def now() -> datetime:
    """The current moment in UTC (every stored timestamp is UTC), strictly later than the last one
    this process handed out, even where the system clock ticks coarsely."""
    global _last
    with _clock_lock:
        moment_ = datetime.now(UTC)
        if _last is not None and moment_ <= _last:
            moment_ = _last + timedelta(microseconds=1)
        _last = moment_
        return moment_


def local_day(stamp: datetime) -> date:
    """The day a stored moment fell on at the front desk (this computer's time zone).

    Moments are stored in UTC (SQLite hands them back without a zone; PostgreSQL in its session's
    zone), while payment, credit note and transfer dates are the desk's own days: a reversal made
    at 6 pm in Sydney is dated that day, not the UTC day before.
    """
    return as_utc(stamp).astimezone().date()


def as_utc(stamp: datetime) -> datetime:
    """A stored moment as an aware UTC datetime, comparable with any other (SQLite hands moments
    back without a zone, PostgreSQL in its session's zone)."""
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def moment(session: Session) -> datetime:
    """The time to stamp a money movement with, which also orders the ledger's history.

    Call it after the patient's row is locked. On PostgreSQL it is the server's clock: every
    front-desk computer shares it, and a save that waited for another's lock reads a time after
    that one committed, whatever the computers' own clocks say. SQLite lives on one computer: its
    clock (strictly increasing within the process).
    """
    if session.get_bind().dialect.name == "postgresql":
        server_time: datetime = session.scalars(select(func.clock_timestamp())).one()
        return server_time
    return now()


def _dump(value: dict[str, Any] | None) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


class Entry(TypedDict):
    """What one audit entry says, by keyword (``record(session, actor=..., **entry)``)."""

    action: AuditAction
    entity: AuditEntity
    entity_id: int | None
    before: NotRequired[dict[str, Any] | None]
    after: NotRequired[dict[str, Any] | None]


def record(session: Session, *, actor: str, **entry: Unpack[Entry]) -> None:
    """Add one audit entry to the current transaction (it commits or rolls back with the change).

    Keyword-only: seven values of which four are text would otherwise be easy to swap unseen.
    """
    session.add(
        AuditEntry(
            at=moment(session),
            actor=actor,
            action=entry["action"],
            entity=entry["entity"],
            entity_id=entry["entity_id"],
            before=_dump(entry.get("before")),
            after=_dump(entry.get("after")),
        )
    )
