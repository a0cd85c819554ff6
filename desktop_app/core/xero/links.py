"""The sync's memory in the database: reading every ``xero_links`` row into :class:`.Link`
records and writing changed ones back (one short transaction per call, so what Xero did is
saved before the next call)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import XeroLink
from ..ledger import audit
from .desired import DocKey
from .sync import Link


def read_links(session: Session) -> dict[DocKey, Link]:
    """Every saved link, by its document's key."""
    return {
        (row.kind, row.record_id, row.part): Link(
            (row.kind, row.record_id, row.part),
            row.patient_id,
            row.amount_minor,
            row.state,
            row.xero_id,
            row.xero_other_id,
            row.call_key,
            row.message,
            row.content,
        )
        for row in session.scalars(select(XeroLink))
    }


def write_links(session: Session, links: Iterable[Link]) -> None:
    """Insert or update ``links`` (matched by their key)."""
    now = audit.moment(session)
    for link in links:
        kind, record_id, part = link.key
        row = session.scalar(
            select(XeroLink).where(
                XeroLink.kind == kind, XeroLink.record_id == record_id, XeroLink.part == part
            )
        )
        if row is None:
            row = XeroLink(kind=kind, record_id=record_id, part=part)
            session.add(row)
        row.patient_id = link.patient_id
        row.amount_minor = link.amount
        row.state = link.state
        row.xero_id = link.xero_id
        row.xero_other_id = link.other_id
        row.call_key = link.call_key
        row.content = link.content
        row.message = link.message[:2000] if link.message else None
        row.synced_at = now
