"""Writing the append-only audit log: who, when, what, before and after."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from .db.models import AuditEntry


def now() -> datetime:
    """The current moment in UTC (every stored timestamp is UTC)."""
    return datetime.now(UTC)


def _dump(value: dict[str, Any] | None) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def record(
    session: Session,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add one audit entry to the current transaction (it commits or rolls back with the change)."""
    session.add(
        AuditEntry(
            at=now(),
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=_dump(before),
            after=_dump(after),
        )
    )
