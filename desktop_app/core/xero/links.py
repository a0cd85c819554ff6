"""The sync's memory in the database: reading every ``xero_links`` row into :class:`.Link`
records and writing changed ones back (one short transaction per call, so what Xero did is
saved before the next call)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from ..db.models import XeroLink
from ..ledger import audit
from .desired import DocKey
from .sync import Link


def read_links(session: Session) -> dict[DocKey, Link]:
    """Every saved link, by its document's key."""
    links = {}
    for row in session.execute(select(XeroLink.__table__)):
        key = (row.kind, row.record_id, row.part)
        links[key] = Link(
            key,
            row.patient_id,
            row.amount_minor,
            row.state,
            row.xero_id,
            row.xero_other_id,
            row.call_key,
            row.message,
            row.content,
            row.id,
            row.last_key,
        )
    return links


def write_links(session: Session, links: Iterable[Link]) -> None:
    """Insert or update ``links`` (a link read or written before carries its row's id), all
    in two statements."""
    now = audit.moment(session)
    new: list[Link] = []
    changed: list[dict[str, Any]] = []
    for link in links:
        values = _values(link, now)
        if link.row_id is None:
            new.append(link)
        else:
            changed.append({"id": link.row_id, **values})
    if changed:
        session.execute(update(XeroLink), changed)
    if new:
        ids = session.scalars(
            insert(XeroLink).returning(XeroLink.id, sort_by_parameter_order=True),
            [
                {"kind": k.key[0], "record_id": k.key[1], "part": k.key[2], **_values(k, now)}
                for k in new
            ],
        ).all()
        for link, row_id in zip(new, ids, strict=True):
            link.row_id = row_id


def _values(link: Link, now: datetime) -> dict[str, Any]:
    return {
        "patient_id": link.patient_id,
        "amount_minor": link.amount,
        "state": link.state,
        "xero_id": link.xero_id,
        "xero_other_id": link.other_id,
        "call_key": link.call_key,
        "last_key": link.last_key,
        "content": link.content,
        "message": link.message[:2000] if link.message else None,
        "synced_at": now,
    }
