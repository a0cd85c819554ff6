"""Request ids: one record per save request, and the same id never stands for another request.

Every save that creates a payment, refund, credit note or credit transfer carries a request id
chosen by the caller (the window makes one per dialog). Pressing Save twice, or retrying after a
lost connection, sends the same id with the same request: the first record is returned and nothing
more is saved. The same id with a different request (another amount, payment type, patient,
date, typed allocation, invoice or reason) is refused with nothing saved: it is a mistake, and
quietly returning the first record would lose the second one.

The request is remembered as a fingerprint: the SHA-256 of its inputs written as canonical JSON,
saved beside the request id (``request_fingerprint``). Records saved before fingerprints existed
have none; they are compared by the fields they keep (see the callers).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import InstrumentedAttribute, Session

from ..db.models import CreditNote, CreditTransfer, Payment
from ..domain.errors import REQUEST_REUSED, BillingError

#: The kinds of record that carry a request id, each in its own table (a refund is a payment).
_KINDS: dict[str, tuple[InstrumentedAttribute[int], InstrumentedAttribute[str]]] = {
    "payment": (Payment.id, Payment.request_id),
    "credit note": (CreditNote.id, CreditNote.request_id),
    "transfer": (CreditTransfer.id, CreditTransfer.request_id),
}


def _plain(value: Any) -> Any:
    """A JSON-ready form of one request input (dates as ISO text, tuples as lists)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def fingerprint(kind: str, **inputs: Any) -> str:
    """The fingerprint of one save request: its kind and every input, order-independent keys."""
    text = json.dumps(
        {"kind": kind, **{key: _plain(value) for key, value in inputs.items()}},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def refuse_reuse(what: str) -> BillingError:
    """The refusal for a request id already used by a different request.

    At the front desk this means a save went through (perhaps just before a lost connection)
    and the window then changed what it was sending: the message says to look before entering
    it again, so the same money is not recorded twice.
    """
    return BillingError(
        f"That request id was already used for a different {what}; nothing was saved. "
        "A save with this id went through earlier: check the patient's records before "
        "entering it again.",
        code=REQUEST_REUSED,
    )


def same_request(saved: str | None, current: str, *, legacy_match: bool, what: str) -> None:
    """Refuse a replay unless it is the same request as the saved one.

    Args:
        saved: the fingerprint saved with the first record (None: saved before fingerprints).
        current: the fingerprint of the request being replayed.
        legacy_match: for a record without a fingerprint, whether its saved fields match.
        what: the kind of record, for the message ("payment", "refund", ...).
    """
    matches = legacy_match if saved is None else saved == current
    if not matches:
        raise refuse_reuse(what)


def refuse_other_kinds(session: Session, request_id: str, kind: str) -> None:
    """Refuse ``request_id`` when a record of another kind already has it: one request id names
    one request, whatever table its record is in. ``kind`` is ``"payment"`` (payments and
    refunds), ``"credit note"`` or ``"transfer"``."""
    if session.get_bind().dialect.name == "postgresql":
        # One request id at a time across the three tables (their unique keys guard each table
        # alone): a second save under the same id waits here, then sees the first one's record.
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:rid, 0))"), {"rid": request_id}
        )
    for other, (record_id, column) in _KINDS.items():
        if other == kind:
            continue
        if session.scalar(select(record_id).where(column == request_id)) is not None:
            raise refuse_reuse(other)
