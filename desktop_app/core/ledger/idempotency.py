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
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ..db.models import CreditNote, CreditTransfer, Payment
from ..domain.errors import REQUEST_REUSED, BillingError


class RequestKind(StrEnum):
    """The kinds of record a save request makes, each saved under its request id."""

    PAYMENT = "payment"
    REFUND = "refund"  # a row of the payments table too (its kind column says which)
    CREDIT_NOTE = "credit note"
    TRANSFER = "transfer"


#: The tables that carry request ids: one request id names one record across all of them.
_TABLES: tuple[type[Payment] | type[CreditNote] | type[CreditTransfer], ...] = (
    Payment,
    CreditNote,
    CreditTransfer,
)


def _kind_of(row: Payment | CreditNote | CreditTransfer) -> RequestKind:
    if isinstance(row, Payment):
        return RequestKind(row.kind)
    return RequestKind.CREDIT_NOTE if isinstance(row, CreditNote) else RequestKind.TRANSFER


def saved_record(
    session: Session,
    kind: RequestKind,
    request_id: str,
    fingerprint: str,
    *,
    legacy: Callable[[Any], bool] | None = None,
    patient_id: int | None = None,
) -> int | None:
    """The id of the record already saved under ``request_id`` for this same request, or None
    when nothing has the id yet (the caller saves, in the same transaction).

    Refused (``request_reused``) when the id names a record of another kind, or of this kind but
    a different request (its fingerprint differs; for a record saved before fingerprints, when
    ``legacy(row)`` says its kept fields differ; a payment or refund of a patient other than
    ``patient_id`` is named as such). On PostgreSQL one request id is checked at a
    time across the tables (each table's unique key guards only itself): a second save under the
    same id waits here, then sees the first one's record.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:rid, 0))"), {"rid": request_id}
        )
    for model in _TABLES:
        row = cast(
            "Payment | CreditNote | CreditTransfer | None",
            session.scalars(select(model).where(model.request_id == request_id)).one_or_none(),
        )
        if row is None:
            continue
        saved_kind = _kind_of(row)
        if patient_id is not None and isinstance(row, Payment) and row.patient_id != patient_id:
            raise BillingError(
                f"That request id was already used for another patient's {saved_kind}; "
                "nothing was saved.",
                code=REQUEST_REUSED,
            )
        if saved_kind != kind:
            raise refuse_reuse(saved_kind)
        same_request(
            row.request_fingerprint,
            fingerprint,
            legacy_match=legacy is not None and legacy(row),
            what=kind,
        )
        return int(row.id)
    return None


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
