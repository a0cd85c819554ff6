"""The outbox: every email the clinic sends, kept whole with its status, sent and retried.

A message is queued in the same transaction as what it records (a statement run's step, a
reminder), so nothing is queued twice or lost. Sending happens apart, never inside a ledger
transaction, so a slow or failed server never holds the desk up:

1. **claim** (one short transaction): due messages (queued, or failed and due again) become
   ``sending``; on PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets two desks share the work, each
   message claimed by one;
2. **send** over one connection (:class:`~.smtp.SmtpSession`), each message's bytes read as
   it goes (memory stays flat over a statement run);
3. **record** each outcome at once: ``sent``; ``failed`` with the server's reason and, when
   trying again can help, the next try after a growing wait (:data:`BACKOFF`); or
   ``unconfirmed`` (it may have been delivered: never sent again by itself).

A message left ``sending`` longer than :data:`STALE_CLAIM` was interrupted (the app closed
mid-send): it becomes ``unconfirmed``, since it may have reached the server. The same
Message-ID is therefore never handed to the server twice except by staff's own Retry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import Session, defer

from ..db.engine import release_page_cache
from ..db.models import OutboxMessage
from ..domain.errors import BillingError, Refusal
from ..domain.kinds import AuditAction, AuditEntity
from ..domain.mail_templates import MailKind
from ..ledger import audit
from ..ledger.store import Store
from ..ledger.transaction import Transaction
from .message import BuiltMessage
from .settings import EmailSettings, save_size_limit
from .smtp import SendError, SmtpSession

#: Waits before the 1st, 2nd, ... retry of a message that failed for a reason that may pass;
#: after the last, it is not tried again by itself.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=4),
    timedelta(hours=12),
)
#: A message ``sending`` for longer than this was interrupted.
STALE_CLAIM = timedelta(minutes=15)
#: What a failure's reason ends with when it is not tried again by itself.
_BY_HAND = " It is not tried again until it is retried by hand."
#: Messages claimed at once by one sending pass.
BATCH = 50


class OutboxStatus(StrEnum):
    """Where a message is."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """One message of the outbox, without its bytes."""

    id: int
    created_at: datetime
    created_by: str
    kind: MailKind
    account_id: int | None
    invoice_id: int | None
    payment_id: int | None
    recipient: str
    recipient_name: str
    subject: str
    attachment_name: str | None
    message_id: str
    size: int
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None

    @property
    def retried_automatically(self) -> bool:
        """Whether the outbox will try this failed message again by itself."""
        return self.status is OutboxStatus.FAILED and self.next_attempt_at is not None


@dataclass(frozen=True, slots=True)
class SendSummary:
    """What one sending pass did."""

    sent: int = 0
    failed: int = 0
    unconfirmed: int = 0
    #: Why the connection failed, if it did (every claimed message then failed with it).
    connection_error: str | None = None


def record_of(row: OutboxMessage) -> OutboxRecord:
    """A row as the API hands it out (times in UTC)."""
    return OutboxRecord(
        id=row.id,
        created_at=audit.as_utc(row.created_at),
        created_by=row.created_by,
        kind=MailKind(row.kind),
        account_id=row.account_id,
        invoice_id=row.invoice_id,
        payment_id=row.payment_id,
        recipient=row.recipient,
        recipient_name=row.recipient_name,
        subject=row.subject,
        attachment_name=row.attachment_name,
        message_id=row.message_id,
        size=row.size,
        status=OutboxStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=None if row.next_attempt_at is None else audit.as_utc(row.next_attempt_at),
        sent_at=None if row.sent_at is None else audit.as_utc(row.sent_at),
        last_error=row.last_error,
    )


def enqueue(
    tx: Transaction,
    *,
    kind: MailKind,
    account_id: int | None,
    recipient: str,
    recipient_name: str,
    subject: str,
    built: BuiltMessage,
    attachment_name: str | None = None,
    invoice_id: int | None = None,
    payment_id: int | None = None,
) -> int:
    """Queue one built message (sent by the next pass), audited; its id."""
    now = audit.moment(tx.session)
    row = OutboxMessage(
        created_at=now,
        created_by=tx.actor,
        kind=kind.value,
        account_id=account_id,
        invoice_id=invoice_id,
        payment_id=payment_id,
        recipient=recipient,
        recipient_name=recipient_name[:200],
        subject=subject,
        attachment_name=attachment_name,
        message_id=built.message_id,
        message=built.data,
        size=len(built.data),
        status=OutboxStatus.QUEUED.value,
        attempts=0,
        next_attempt_at=now,
    )
    tx.session.add(row)
    tx.session.flush()
    tx.audit(
        action=AuditAction.QUEUE_EMAIL,
        entity=AuditEntity.EMAIL,
        entity_id=row.id,
        after={
            "kind": kind.value,
            "to": recipient,
            "subject": subject,
            "account_id": account_id,
            "invoice_id": invoice_id,
            "payment_id": payment_id,
            "attachment": attachment_name,
            "message_id": built.message_id,
        },
    )
    return row.id


def _claim(store: Store, limit: int, only: Sequence[int] | None) -> list[int]:
    """Mark up to ``limit`` due messages ``sending`` (and interrupted ones unconfirmed)."""
    with store.write() as tx:
        session = tx.session
        now = audit.moment(session)
        stale = session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.status == OutboxStatus.SENDING.value,
                OutboxMessage.claimed_at < now - STALE_CLAIM,
            )
        ).all()
        for message_id in stale:
            _settle(
                tx,
                message_id,
                OutboxStatus.UNCONFIRMED,
                "Sending was interrupted (the app closed or lost its connection) after the "
                "message may have reached the server, so it is not sent again by itself.",
                now,
            )
        query = (
            select(OutboxMessage.id)
            .where(
                or_(
                    OutboxMessage.status == OutboxStatus.QUEUED.value,
                    OutboxMessage.status == OutboxStatus.FAILED.value,
                ),
                OutboxMessage.next_attempt_at.is_not(None),
                OutboxMessage.next_attempt_at <= now,
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if only is not None:
            query = query.where(OutboxMessage.id.in_(list(only)))
        ids = list(session.scalars(query))
        if ids:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(status=OutboxStatus.SENDING.value, claimed_at=now)
            )
        return ids


def _settle(
    tx: Transaction, message_id: int, status: OutboxStatus, reason: str | None, now: datetime
) -> None:
    """Record a claimed message's outcome (and audit it)."""
    row = tx.session.get(
        OutboxMessage, message_id, with_for_update=True, options=[defer(OutboxMessage.message)]
    )
    if row is None or row.status != OutboxStatus.SENDING.value:
        return
    row.status = status.value
    row.claimed_at = None
    row.attempts += 1
    row.last_error = reason
    row.next_attempt_at = None
    if status is OutboxStatus.SENT:
        row.sent_at = now
    elif status is OutboxStatus.FAILED and reason and not reason.endswith(_BY_HAND):
        if row.attempts <= len(BACKOFF):
            row.next_attempt_at = now + BACKOFF[row.attempts - 1]
        else:
            row.last_error = f"{reason} Tried {row.attempts} times: not tried again by itself."
    tx.audit(
        action=AuditAction.EMAIL_SENT if status is OutboxStatus.SENT else AuditAction.EMAIL_FAILED,
        entity=AuditEntity.EMAIL,
        entity_id=message_id,
        after={
            "to": row.recipient,
            "subject": row.subject,
            "status": status.value,
            "attempt": row.attempts,
            **({"reason": reason} if reason else {}),
        },
    )


def _record(store: Store, message_id: int, failure: SendError | None) -> OutboxStatus:
    if failure is None:
        status, reason = OutboxStatus.SENT, None
    elif failure.unconfirmed:
        status, reason = OutboxStatus.UNCONFIRMED, failure.reason
    else:
        status, reason = OutboxStatus.FAILED, failure.reason
        if failure.permanent:
            reason += _BY_HAND
    with store.write() as tx:
        now = audit.moment(tx.session)
        _settle(tx, message_id, status, reason, now)
    return status


def _release(store: Store, ids: Sequence[int]) -> None:
    """Put claimed messages back untried (a pass stopped before them)."""
    if not ids:
        return
    with store.write() as tx:
        tx.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(list(ids)),
                OutboxMessage.status == OutboxStatus.SENDING.value,
            )
            .values(status=OutboxStatus.QUEUED.value, claimed_at=None)
        )


def _message(store: Store, message_id: int) -> tuple[str, bytes]:
    with store.read() as session:
        row = session.execute(
            select(OutboxMessage.recipient, OutboxMessage.message).where(
                OutboxMessage.id == message_id
            )
        ).one()
        return row[0], bytes(row[1])


def send_due(
    store: Store,
    settings: EmailSettings,
    password: str | None,
    *,
    limit: int | None = None,
    only: Sequence[int] | None = None,
    stop: Callable[[], bool] | None = None,
    progress: Callable[[int], None] | None = None,
) -> SendSummary:
    """Send the due messages (at most ``limit``; only the ids ``only`` when given) over one
    connection, recording each outcome as it comes. ``stop()`` is asked before each message:
    True leaves the rest queued. ``progress(n)`` is told after each message."""
    counts = {OutboxStatus.SENT: 0, OutboxStatus.FAILED: 0, OutboxStatus.UNCONFIRMED: 0}
    session: SmtpSession | None = None
    done = 0
    try:
        while limit is None or done < limit:
            batch = _claim(store, BATCH if limit is None else min(BATCH, limit - done), only)
            if not batch:
                break
            for at, message_id in enumerate(batch):
                if stop is not None and stop():
                    _release(store, batch[at:])
                    return _summary(counts)
                if session is None:
                    session = SmtpSession(settings, password)
                    try:
                        session.open()
                    except SendError as failure:
                        for claimed in batch[at:]:
                            counts[_record(store, claimed, failure)] += 1
                        return _summary(counts, failure.reason)
                    if session.size_limit != settings.size_limit:
                        with store.write() as tx:
                            save_size_limit(tx, session.size_limit)
                recipient, data = _message(store, message_id)
                try:
                    session.send(settings.sender_address, [recipient], data)
                    outcome: SendError | None = None
                except SendError as failure:
                    outcome = failure
                counts[_record(store, message_id, outcome)] += 1
                done += 1
                if progress is not None:
                    progress(done)
                if outcome is not None and not session.connected:
                    # The connection broke: the rest wait for the next pass, untried.
                    _release(store, batch[at + 1 :])
                    return _summary(counts, outcome.reason)
            # The batch's messages were read once: their pages need not stay cached.
            with store.read() as cached:
                release_page_cache(cached)
    finally:
        if session is not None:
            session.close()
    return _summary(counts)


def _summary(counts: dict[OutboxStatus, int], connection_error: str | None = None) -> SendSummary:
    return SendSummary(
        sent=counts[OutboxStatus.SENT],
        failed=counts[OutboxStatus.FAILED],
        unconfirmed=counts[OutboxStatus.UNCONFIRMED],
        connection_error=connection_error,
    )


def retry(tx: Transaction, message_id: int) -> None:
    """Queue a failed, unconfirmed or cancelled message again (staff's Retry), audited."""
    row = tx.session.get(OutboxMessage, message_id, with_for_update=True)
    if row is None:
        raise BillingError(f"There is no email {message_id}.", code=Refusal.NOT_FOUND)
    if row.status not in (
        OutboxStatus.FAILED.value,
        OutboxStatus.UNCONFIRMED.value,
        OutboxStatus.CANCELLED.value,
    ):
        raise BillingError(
            f"The email to {row.recipient} is {row.status}; only a failed, unconfirmed or "
            "cancelled email can be sent again.",
            code=Refusal.ALREADY_DONE,
        )
    before = row.status
    row.status = OutboxStatus.QUEUED.value
    row.next_attempt_at = audit.moment(tx.session)
    tx.audit(
        action=AuditAction.RETRY_EMAIL,
        entity=AuditEntity.EMAIL,
        entity_id=row.id,
        before={"status": before},
        after={"status": row.status, "to": row.recipient, "subject": row.subject},
    )


def cancel(tx: Transaction, message_id: int) -> None:
    """Take a queued or failed message out of the outbox (it stays listed, cancelled)."""
    row = tx.session.get(OutboxMessage, message_id, with_for_update=True)
    if row is None:
        raise BillingError(f"There is no email {message_id}.", code=Refusal.NOT_FOUND)
    if row.status not in (OutboxStatus.QUEUED.value, OutboxStatus.FAILED.value):
        raise BillingError(
            f"The email to {row.recipient} is {row.status}; only a queued or failed email can "
            "be cancelled.",
            code=Refusal.ALREADY_DONE,
        )
    before = row.status
    row.status = OutboxStatus.CANCELLED.value
    row.next_attempt_at = None
    tx.audit(
        action=AuditAction.CANCEL_EMAIL,
        entity=AuditEntity.EMAIL,
        entity_id=row.id,
        before={"status": before},
        after={"status": row.status, "to": row.recipient, "subject": row.subject},
    )


def messages(
    session: Session,
    *,
    statuses: Sequence[OutboxStatus] | None = None,
    account_id: int | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[OutboxRecord]:
    """Messages newest first, of the given statuses and account if given."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit).offset(offset)
    if statuses:
        query = query.where(OutboxMessage.status.in_([status.value for status in statuses]))
    if account_id is not None:
        query = query.where(OutboxMessage.account_id == account_id)
    # Only the listed columns: the message bytes stay in the database.
    query = query.options(defer(OutboxMessage.message))
    return [record_of(row) for row in session.scalars(query)]


def counts(session: Session) -> dict[OutboxStatus, int]:
    """How many messages are in each status."""
    rows = session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    found = {OutboxStatus(status): number for status, number in rows}
    return {status: found.get(status, 0) for status in OutboxStatus}


@dataclass(frozen=True, slots=True)
class OutboxTally:
    """What the outbox holds that is not done: the status bar's summary."""

    #: Queued, being sent, or failed and to be tried again by itself.
    waiting: int = 0
    #: Failed and not tried again until staff retry it.
    failed: int = 0
    #: It may have been delivered; not sent again until staff retry it.
    unconfirmed: int = 0


def tally(session: Session) -> OutboxTally:
    """The outbox's messages not done, as the status bar counts them (``ix_outbox_due``: the
    sent and cancelled are not read)."""
    by_hand = case((OutboxMessage.next_attempt_at.is_(None), 1), else_=0)
    rows = session.execute(
        select(OutboxMessage.status, by_hand, func.count())
        .where(
            OutboxMessage.status.in_(
                [
                    OutboxStatus.QUEUED.value,
                    OutboxStatus.SENDING.value,
                    OutboxStatus.FAILED.value,
                    OutboxStatus.UNCONFIRMED.value,
                ]
            )
        )
        .group_by(OutboxMessage.status, by_hand)
    ).all()
    waiting = failed = unconfirmed = 0
    for status, left_for_staff, number in rows:
        if status == OutboxStatus.UNCONFIRMED.value:
            unconfirmed += number
        elif status == OutboxStatus.FAILED.value and left_for_staff:
            failed += number
        else:
            waiting += number
    return OutboxTally(waiting, failed, unconfirmed)


def message_bytes(session: Session, message_id: int) -> bytes:
    """One message as it is sent (for the outbox window's "Save as…" and tests)."""
    data = session.scalar(select(OutboxMessage.message).where(OutboxMessage.id == message_id))
    if data is None:
        raise BillingError(f"There is no email {message_id}.", code=Refusal.NOT_FOUND)
    return bytes(data)
