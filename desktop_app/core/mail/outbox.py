"""The outbox: every email the clinic sends, kept whole with its status, sent and retried.

A message is queued in the same transaction as what it records (a statement run's step, a
reminder), so nothing is queued twice or lost. Sending happens apart, never inside a ledger
transaction, so a slow or failed server never holds the desk up:

1. **claim** (one short transaction): a sending pass reserves due messages (queued, or failed
   and due again) under its own token; on PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets two desks
   share the work, each message reserved by one;
2. **send** over one connection (:class:`~.smtp.SmtpSession`), one message at a time: the
   pass first marks it ``sending`` if its token still holds it (staff may have cancelled it, or
   another desk taken over a reservation that lapsed), then reads its bytes (memory stays flat
   over a statement run) and hands it to the server;
3. **record** each outcome at once, only while the message is still the pass's: ``sent``;
   ``failed`` with the server's reason and, when trying again can help, the next try after a
   growing wait (:data:`BACKOFF`); or ``unconfirmed`` (it may have been delivered: never sent
   again by itself).

Whatever ends a pass early, the messages it reserved and did not begin wait for the next pass.
A reservation not renewed for :data:`STALE_CLAIM` lapses (its pass died) and another pass may
take it. A message left ``sending`` that long was interrupted mid-send (the app closed): it
becomes ``unconfirmed``, since it may have reached the server. The same Message-ID is therefore
never handed to the server twice except by staff's own Retry.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Update, case, func, or_, select, update
from sqlalchemy.orm import Session, defer

from ..db.engine import release_page_cache
from ..db.models import OutboxMessage
from ..domain.errors import BillingError, Refusal
from ..domain.kinds import AuditAction, AuditEntity
from ..domain.mail_templates import MailKind
from ..ledger import audit
from ..ledger.store import Store
from ..ledger.transaction import Transaction
from .addresses import sendable_address
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


#: The statuses of a message waiting to be sent (queued, or failed and due again).
_WAITING = (OutboxStatus.QUEUED.value, OutboxStatus.FAILED.value)


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
    """Queue one built message (sent by the next pass), audited; its id. The recipient is
    kept as the server is given it (:func:`~.addresses.sendable_address`)."""
    recipient = sendable_address(recipient)
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


def _claim(store: Store, token: str, limit: int, only: Sequence[int] | None) -> list[int]:
    """Reserve up to ``limit`` due messages for the pass ``token`` (and settle interrupted
    sends as unconfirmed). A reserved message stays queued or failed until the pass begins it
    (:func:`_begin`); a reservation older than :data:`STALE_CLAIM` lapses."""
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
                None,
                OutboxStatus.UNCONFIRMED,
                "Sending was interrupted (the app closed or lost its connection) after the "
                "message may have reached the server, so it is not sent again by itself.",
                now,
            )
        query = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status.in_(_WAITING),
                OutboxMessage.next_attempt_at.is_not(None),
                OutboxMessage.next_attempt_at <= now,
                or_(
                    OutboxMessage.claim_token.is_(None),
                    OutboxMessage.claimed_at < now - STALE_CLAIM,
                ),
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
                .values(claim_token=token, claimed_at=now)
            )
        return ids


def _reserved(token: str, ids: Sequence[int]) -> Update:
    """An update of those of ``ids`` the pass ``token`` holds reserved and has not begun."""
    return update(OutboxMessage).where(
        OutboxMessage.id.in_(list(ids)),
        OutboxMessage.claim_token == token,
        OutboxMessage.status.in_(_WAITING),
    )


def _begin(store: Store, token: str, message_id: int, rest: Sequence[int]) -> bool:
    """Mark a reserved message ``sending`` if the pass ``token`` still holds it (staff may
    have cancelled it; a slow pass may have lost it to another desk), and renew the pass's
    reservations of ``rest``. Whether it is this pass's to send."""
    with store.write() as tx:
        now = audit.moment(tx.session)
        row = tx.session.get(
            OutboxMessage, message_id, with_for_update=True, options=[defer(OutboxMessage.message)]
        )
        if row is None or row.claim_token != token or row.status not in _WAITING:
            return False
        row.status = OutboxStatus.SENDING.value
        row.claimed_at = now
        if rest:
            tx.session.execute(_reserved(token, rest).values(claimed_at=now))
        return True


def _settle(
    tx: Transaction,
    message_id: int,
    token: str | None,
    status: OutboxStatus,
    reason: str | None,
    now: datetime,
) -> bool:
    """Record the outcome of a message being sent by the pass ``token`` (None: whichever pass,
    for an interrupted send), audited; whether it was recorded (False: the message is no longer
    that pass's)."""
    row = tx.session.get(
        OutboxMessage, message_id, with_for_update=True, options=[defer(OutboxMessage.message)]
    )
    if row is None or row.status != OutboxStatus.SENDING.value:
        return False
    if token is not None and row.claim_token != token:
        return False
    row.status = status.value
    row.claimed_at = None
    row.claim_token = None
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
    return True


def _record(
    store: Store, token: str, message_id: int, failure: SendError | None
) -> OutboxStatus | None:
    """Record a begun message's outcome; the status recorded (None: the message was no
    longer this pass's, and is left as it is)."""
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
        recorded = _settle(tx, message_id, token, status, reason, now)
    return status if recorded else None


def _release(store: Store, token: str, ids: Sequence[int]) -> None:
    """Give up the pass's reservations of ``ids`` (not begun: they wait for the next pass)."""
    if not ids:
        return
    with store.write() as tx:
        tx.session.execute(_reserved(token, ids).values(claim_token=None, claimed_at=None))


def _message(store: Store, message_id: int) -> tuple[str, bytes]:
    with store.read() as session:
        row = session.execute(
            select(OutboxMessage.recipient, OutboxMessage.message).where(
                OutboxMessage.id == message_id
            )
        ).one()
        return row[0], bytes(row[1])


class _Pass:
    """One sending pass: its claim token, its connection (opened for the first message) and
    what it has done."""

    def __init__(self, store: Store, settings: EmailSettings, password: str | None) -> None:
        self.store = store
        self.settings = settings
        self.password = password
        self.token = secrets.token_hex(16)
        self.session: SmtpSession | None = None
        self.counts = {OutboxStatus.SENT: 0, OutboxStatus.FAILED: 0, OutboxStatus.UNCONFIRMED: 0}
        self.done = 0

    def connect(self) -> SendError | None:
        """Open the connection if it is not open; why it could not be, if it could not."""
        if self.session is not None:
            return None
        self.session = SmtpSession(self.settings, self.password)
        try:
            self.session.open()
        except SendError as failure:
            return failure
        if self.session.size_limit != self.settings.size_limit:
            with self.store.write() as tx:
                save_size_limit(tx, self.session.size_limit)
        return None

    def fail_all(self, ids: Sequence[int], failure: SendError) -> None:
        """Every message of ``ids`` failed with the connection."""
        for message_id in ids:
            if _begin(self.store, self.token, message_id, ()):
                self.count(_record(self.store, self.token, message_id, failure))

    def send(self, message_id: int) -> SendError | None:
        """Send one begun message and record its outcome; the failure, if it failed."""
        assert self.session is not None
        recipient, data = _message(self.store, message_id)
        try:
            # As queued; one queued before international domains were converted is converted
            # here (or fails with the reason, for staff).
            address = sendable_address(recipient)
        except BillingError as refusal:
            outcome: SendError | None = SendError(str(refusal), permanent=True)
        else:
            try:
                self.session.send(self.settings.sender_address, [address], data)
                outcome = None
            except SendError as failure:
                outcome = failure
        self.count(_record(self.store, self.token, message_id, outcome))
        return outcome

    def count(self, status: OutboxStatus | None) -> None:
        if status is not None:
            self.counts[status] += 1

    def close(self) -> None:
        if self.session is not None:
            self.session.close()

    def summary(self, connection_error: str | None = None) -> SendSummary:
        return SendSummary(
            sent=self.counts[OutboxStatus.SENT],
            failed=self.counts[OutboxStatus.FAILED],
            unconfirmed=self.counts[OutboxStatus.UNCONFIRMED],
            connection_error=connection_error,
        )


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
    True leaves the rest queued. ``progress(n)`` is told after each message.

    Whatever stops the pass (``stop``, a broken connection, an error of the database or of the
    program itself) the messages it reserved and did not begin go back to wait for the next
    pass; one it began and could not record is settled later as unconfirmed."""
    sending = _Pass(store, settings, password)
    batch: list[int] = []
    at = 0
    try:
        while limit is None or sending.done < limit:
            room = BATCH if limit is None else min(BATCH, limit - sending.done)
            batch, at = _claim(store, sending.token, room, only), 0
            if not batch:
                break
            while at < len(batch):
                message_id = batch[at]
                if stop is not None and stop():
                    return sending.summary()
                failure = sending.connect()
                if failure is not None:
                    sending.fail_all(batch[at:], failure)
                    batch = []
                    return sending.summary(failure.reason)
                begun = _begin(store, sending.token, message_id, batch[at + 1 :])
                at += 1  # begun or not, it is no longer this pass's to give back
                if not begun:
                    continue
                outcome = sending.send(message_id)
                sending.done += 1
                if progress is not None:
                    progress(sending.done)
                if outcome is not None and not (sending.session and sending.session.connected):
                    # The connection broke: the rest wait for the next pass, untried.
                    return sending.summary(outcome.reason)
            # The batch's messages were read once: their pages need not stay cached.
            with store.read() as cached:
                release_page_cache(cached)
    finally:
        sending.close()
        with contextlib.suppress(Exception):
            _release(store, sending.token, batch[at:])
    return sending.summary()


def _change_status(
    tx: Transaction,
    message_id: int,
    allowed: tuple[OutboxStatus, ...],
    to: OutboxStatus,
    action: AuditAction,
    refusal: str,
) -> OutboxMessage:
    """Staff's change of a message's status (from one of ``allowed``), audited; the row.
    Any pass's reservation of it ends."""
    row = tx.session.get(
        OutboxMessage, message_id, with_for_update=True, options=[defer(OutboxMessage.message)]
    )
    if row is None:
        raise BillingError(f"There is no email {message_id}.", code=Refusal.NOT_FOUND)
    if row.status not in {status.value for status in allowed}:
        raise BillingError(
            f"The email to {row.recipient} is {row.status}; {refusal}",
            code=Refusal.ALREADY_DONE,
        )
    before = row.status
    row.status = to.value
    row.claim_token = None
    row.claimed_at = None
    tx.audit(
        action=action,
        entity=AuditEntity.EMAIL,
        entity_id=row.id,
        before={"status": before},
        after={"status": row.status, "to": row.recipient, "subject": row.subject},
    )
    return row


def retry(tx: Transaction, message_id: int) -> None:
    """Queue a failed, unconfirmed or cancelled message again (staff's Retry), audited. Its
    count of attempts starts again, and so do the waits between automatic retries."""
    row = _change_status(
        tx,
        message_id,
        (OutboxStatus.FAILED, OutboxStatus.UNCONFIRMED, OutboxStatus.CANCELLED),
        OutboxStatus.QUEUED,
        AuditAction.RETRY_EMAIL,
        "only a failed, unconfirmed or cancelled email can be sent again.",
    )
    row.attempts = 0
    row.next_attempt_at = audit.moment(tx.session)


def cancel(tx: Transaction, message_id: int) -> None:
    """Take a queued or failed message out of the outbox (it stays listed, cancelled)."""
    row = _change_status(
        tx,
        message_id,
        (OutboxStatus.QUEUED, OutboxStatus.FAILED),
        OutboxStatus.CANCELLED,
        AuditAction.CANCEL_EMAIL,
        "only a queued or failed email can be cancelled.",
    )
    row.next_attempt_at = None


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
