"""Statement runs: one period's statements to everyone owing money or holding credit.

A run is listed first (:func:`preview`): every account, patients' and payers' alike, that at
the end of the period's last day owed something or held credit (:mod:`..reporting.balances`,
figures as of that day: a later payment does not change last month's run), sorted by name,
each emailed when an address is kept and posted otherwise.

Starting it (:func:`create_run`) saves the run and one item per account, ``pending``, in one
transaction; the period is unique, so starting it again (or on another desk) finds the same
run, which resumes where it stopped. Each :func:`step` takes the next pending items in id
order: builds each statement (the period's), has it rendered to PDF by the caller (the
printing layer, outside any transaction), builds its email from the statement template (its
figures, what is owed or the credit held, the rendered statement's own closing balance), then
in one short write transaction locks the items, checks each is still pending, queues its
message in the outbox and marks it ``emailed`` with the message's id (or ``post``, without an
address). The message and the mark are saved together, so a run stopped at any moment has
queued each emailed statement exactly once and skipped no one; two desks resuming the same run
never queue one statement twice (the second finds the item done). The last step marks the
run finished. Sending is the outbox's (:func:`.outbox.send_due`).

A patient merged into another hands their items to the patient kept (:mod:`..ledger.merge`): an
item a merge changed while a step was making its statement is left pending, and the next step
makes it again for the patient kept.

A statement whose email cannot be made (a name that makes the subject too long, a message over
the server's size limit) is posted instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from ..db.engine import release_page_cache
from ..db.models import (
    OutboxMessage,
    Patient,
    Payer,
    StatementRun,
    StatementRunItem,
)
from ..domain import dates
from ..domain.errors import BillingError, NotFoundError, Refusal
from ..domain.kinds import AuditAction, AuditEntity
from ..domain.mail_templates import MailKind, fill_body, fill_subject
from ..domain.mail_text import looks_like_address
from ..domain.money import to_decimal
from ..ledger import audit
from ..ledger import settings as stored
from ..ledger.store import Store
from ..ledger.transaction import Transaction
from ..reporting import documents
from ..reporting.accounts import account_name
from ..reporting.balances import balances_on
from .drafts import Account, Writer, closing_values
from .message import Attachment, BuiltMessage, build_message
from .outbox import OutboxStatus, enqueue
from .settings import EmailSettings, read_template

#: A statement document as the printing layer renders it.
Statement = documents.StatementDocument | documents.PayerStatementDocument
#: The printing layer's renderer: a statement document to its PDF's bytes.
Renderer = Callable[[Statement], bytes]
#: Ids read at once with ``IN (...)`` (within every database's limit of parameters).
_CHUNK = 500
#: Outbox statuses whose message carries the server's reason.
_WITH_REASON = (OutboxStatus.FAILED, OutboxStatus.UNCONFIRMED)


class StatementItemState(StrEnum):
    """Where one account's statement is in its run."""

    PENDING = "pending"
    EMAILED = "emailed"
    POST = "post"


@dataclass(frozen=True, slots=True)
class _RunAccount:
    """An account of a run: who, its figures at the end of the period (minor units, and as
    amounts) and where its statement goes (``email`` None: posted)."""

    account_id: int
    name: str
    payer: bool
    owed_minor: int
    credit_minor: int
    email: str | None
    currency: str

    @property
    def owed(self) -> Decimal:
        """What the account owed at the end of the period."""
        return to_decimal(self.owed_minor, self.currency)

    @property
    def credit(self) -> Decimal:
        """The account credit it held at the end of the period."""
        return to_decimal(self.credit_minor, self.currency)


@dataclass(frozen=True, slots=True)
class StatementRunRow(_RunAccount):
    """One account of a run's list: its figures at the end of the period and where its statement
    goes (``email`` None: posted)."""


@dataclass(frozen=True, slots=True)
class StatementRunPreview:
    """A run's list before it starts: every account, sorted by name, and the totals."""

    start: date
    end: date
    currency: str
    rows: tuple[StatementRunRow, ...]
    accounts: int
    to_email: int
    to_post: int
    owed: Decimal
    credit: Decimal


@dataclass(frozen=True, slots=True)
class StatementRunRecord:
    """A run: its period, who started it and when, how far it is, and its messages' statuses."""

    id: int
    start: date
    end: date
    created_at: datetime
    created_by: str
    finished_at: datetime | None
    pending: int
    emailed: int
    posted: int
    #: The run's emailed statements by their outbox status (every status, zero if none).
    messages: dict[OutboxStatus, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """How many accounts the run covers."""
        return self.pending + self.emailed + self.posted

    @property
    def done(self) -> int:
        """How many statements are queued or set aside for posting."""
        return self.emailed + self.posted

    @property
    def finished(self) -> bool:
        """Whether every account's statement is done."""
        return self.finished_at is not None

    @property
    def sent(self) -> int:
        """How many of its emails the mail server has taken."""
        return self.messages.get(OutboxStatus.SENT, 0)

    @property
    def unsent(self) -> int:
        """How many of its emails the server has not taken (yet): queued, sending, failed,
        unconfirmed or cancelled."""
        return self.emailed - self.sent


@dataclass(frozen=True, slots=True)
class StatementRunItemRecord(_RunAccount):
    """One account of a run: its figures as saved when the run started, where its statement
    went and, once emailed, how its message stands in the outbox (``error``: the server's
    reason for a failure)."""

    id: int
    state: StatementItemState
    outbox_id: int | None
    outbox_status: OutboxStatus | None
    error: str | None
    done_at: datetime | None


@dataclass(frozen=True, slots=True)
class StatementRunProgress:
    """How far a run is after a step; ``queued``: the outbox ids this step queued."""

    run_id: int
    total: int
    pending: int
    emailed: int
    posted: int
    finished: bool
    queued: tuple[int, ...] = ()

    @property
    def done(self) -> int:
        """How many statements are queued or set aside for posting."""
        return self.emailed + self.posted


def check_period(start: object, end: object) -> tuple[date, date]:
    """A run's period: two days within the ledger's window, ``start`` not after ``end``, and
    ``end`` not after today (a statement of days to come cannot be known)."""
    today = date.today()
    first = dates.past_day(start, "statement run's start", today, field="start")
    last = dates.past_day(end, "statement run's end", today, field="end")
    if first > last:
        raise BillingError(
            f"The statement run starts on {first.isoformat()}, after it ends ({last.isoformat()}).",
            code=Refusal.BAD_DATE,
            field="start",
        )
    return first, last


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for at in range(0, len(ids), _CHUNK):
        yield ids[at : at + _CHUNK]


def _address(value: str | None) -> str | None:
    """A kept address the run can email (None: none, or one that is not an address: posted).
    The quick test: the message built for it checks the address in full (and posts the
    statement should it fail)."""
    if not value or not looks_like_address(value):
        return None
    return value.strip()


def _accounts(session: Session, ids: Sequence[int]) -> dict[int, tuple[str, bool, str | None]]:
    """Each account's name, whether it is a payer's, and its usable email address."""
    payers = {
        pid: (name, email)
        for pid, name, email in session.execute(select(Payer.id, Payer.name, Payer.email))
    }
    found: dict[int, tuple[str, bool, str | None]] = {}
    patients = [pid for pid in ids if pid not in payers]
    for chunk in _chunks(patients):
        for pid, first, last, email in session.execute(
            select(Patient.id, Patient.first_name, Patient.last_name, Patient.email).where(
                Patient.id.in_(chunk)
            )
        ):
            found[pid] = (account_name(first, last), False, _address(email))
    for pid in ids:
        if pid in payers:
            name, email = payers[pid]
            found[pid] = (name, True, _address(email))
    return found


def preview(session: Session, start: date, end: date) -> StatementRunPreview:
    """The run's list for ``start`` to ``end`` (a period already checked), sorted by name."""
    currency = stored.currency(session)
    balances = balances_on(session, end)
    accounts = _accounts(session, [row.account_id for row in balances])
    rows = [
        StatementRunRow(
            row.account_id,
            accounts[row.account_id][0],
            accounts[row.account_id][1],
            row.owed_minor,
            row.credit_minor,
            accounts[row.account_id][2],
            currency,
        )
        for row in balances
    ]
    rows.sort(key=lambda r: (r.name.casefold(), r.account_id))
    to_email = sum(1 for row in rows if row.email is not None)
    return StatementRunPreview(
        start,
        end,
        currency,
        tuple(rows),
        len(rows),
        to_email,
        len(rows) - to_email,
        to_decimal(sum(row.owed_minor for row in rows), currency),
        to_decimal(sum(row.credit_minor for row in rows), currency),
    )


def find_run(session: Session, start: date, end: date) -> int | None:
    """The run of exactly this period, if one was started."""
    return session.scalar(
        select(StatementRun.id).where(
            StatementRun.period_start == start, StatementRun.period_end == end
        )
    )


def create_run(tx: Transaction, start: date, end: date) -> int:
    """Save the run of ``start`` to ``end`` and its accounts, all pending, audited; its id.
    Raises IntegrityError when another desk saved the period's run first."""
    session = tx.session
    listed = preview(session, start, end)
    now = audit.moment(session)
    run = StatementRun(period_start=start, period_end=end, created_at=now, created_by=tx.actor)
    session.add(run)
    session.flush()
    if listed.rows:
        session.execute(
            insert(StatementRunItem),
            [
                {
                    "run_id": run.id,
                    "account_id": row.account_id,
                    "owed_minor": row.owed_minor,
                    "credit_minor": row.credit_minor,
                    "email": row.email,
                    "state": StatementItemState.PENDING.value,
                }
                for row in listed.rows
            ],
        )
    tx.audit(
        action=AuditAction.START_STATEMENT_RUN,
        entity=AuditEntity.STATEMENT_RUN,
        entity_id=run.id,
        after={
            "start": start.isoformat(),
            "end": end.isoformat(),
            "accounts": listed.accounts,
            "to_email": listed.to_email,
            "to_post": listed.to_post,
            "owed": str(listed.owed),
            "credit": str(listed.credit),
        },
    )
    return run.id


def _run_row(session: Session, run_id: int) -> StatementRun:
    run = session.get(StatementRun, run_id)
    if run is None:
        raise NotFoundError(f"There is no statement run {run_id!r}.", field="run")
    return run


def _state_counts(session: Session, run_id: int) -> dict[StatementItemState, int]:
    found = {
        StatementItemState(state): count
        for state, count in session.execute(
            select(StatementRunItem.state, func.count())
            .where(StatementRunItem.run_id == run_id)
            .group_by(StatementRunItem.state)
        )
    }
    return {state: found.get(state, 0) for state in StatementItemState}


def _message_statuses(session: Session, run_id: int) -> dict[int, OutboxStatus]:
    """The run's messages' outbox statuses by message id.

    On SQLite a row's columns after the message's bytes are reached only through every page of
    them, so reading the statuses from the table would read every statement's PDF again (64 MB
    for 2,000 statements, through the connection's page cache): they are read from the outbox's
    status index alone, every message's, and the run's kept. PostgreSQL keeps the bytes apart
    and joins."""
    items = select(StatementRunItem.outbox_id).where(
        StatementRunItem.run_id == run_id, StatementRunItem.outbox_id.is_not(None)
    )
    if session.get_bind().dialect.name != "sqlite":
        return {
            message: OutboxStatus(status)
            for message, status in session.execute(
                select(OutboxMessage.id, OutboxMessage.status).where(OutboxMessage.id.in_(items))
            )
        }
    ids = set(session.scalars(items))
    if not ids:
        return {}
    # Every status named: the status index answers alone (no row is read).
    everything = OutboxMessage.status.in_([status.value for status in OutboxStatus])
    return {
        message: OutboxStatus(status)
        for message, status in session.execute(
            select(OutboxMessage.id, OutboxMessage.status).where(everything)
        )
        if message in ids
    }


def run_record(session: Session, run_id: int) -> StatementRunRecord:
    """One run as the API hands it out."""
    run = _run_row(session, run_id)
    counts = _state_counts(session, run_id)
    messages = dict.fromkeys(OutboxStatus, 0)
    for status in _message_statuses(session, run_id).values():
        messages[status] += 1
    return _record(run, counts, messages)


def _record(
    run: StatementRun, counts: dict[StatementItemState, int], messages: dict[OutboxStatus, int]
) -> StatementRunRecord:
    return StatementRunRecord(
        id=run.id,
        start=run.period_start,
        end=run.period_end,
        created_at=audit.as_utc(run.created_at),
        created_by=run.created_by,
        finished_at=None if run.finished_at is None else audit.as_utc(run.finished_at),
        pending=counts[StatementItemState.PENDING],
        emailed=counts[StatementItemState.EMAILED],
        posted=counts[StatementItemState.POST],
        messages=messages,
    )


def runs(session: Session, limit: int = 100) -> list[StatementRunRecord]:
    """The latest runs, newest first."""
    rows = session.scalars(select(StatementRun).order_by(StatementRun.id.desc()).limit(limit))
    return [run_record(session, run.id) for run in rows]


def items(
    session: Session,
    run_id: int,
    state: StatementItemState | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[StatementRunItemRecord]:
    """A run's accounts (of one state when given), sorted by name, with their messages."""
    _run_row(session, run_id)
    currency = stored.currency(session)
    query = (
        select(
            StatementRunItem.id,
            StatementRunItem.account_id,
            Patient.first_name,
            Patient.last_name,
            Payer.name,
            StatementRunItem.owed_minor,
            StatementRunItem.credit_minor,
            StatementRunItem.email,
            StatementRunItem.state,
            StatementRunItem.outbox_id,
            StatementRunItem.done_at,
        )
        .join(Patient, Patient.id == StatementRunItem.account_id)
        .outerjoin(Payer, Payer.id == StatementRunItem.account_id)
        .where(StatementRunItem.run_id == run_id)
    )
    if state is not None:
        query = query.where(StatementRunItem.state == state.value)
    statuses = {} if state is StatementItemState.PENDING else _message_statuses(session, run_id)
    unsent = [m for m, status in statuses.items() if status in _WITH_REASON]
    reasons: dict[int, str | None] = {}
    for chunk in _chunks(unsent):
        for message, reason in session.execute(
            select(OutboxMessage.id, OutboxMessage.last_error).where(OutboxMessage.id.in_(chunk))
        ):
            reasons[message] = reason
    found = [
        StatementRunItemRecord(
            id=row[0],
            account_id=row[1],
            name=account_name(row[2], row[3], row[4]),
            payer=row[4] is not None,
            owed_minor=row[5],
            credit_minor=row[6],
            email=row[7],
            state=StatementItemState(row[8]),
            outbox_id=row[9],
            outbox_status=None if row[9] is None else statuses.get(row[9]),
            error=None if row[9] is None else reasons.get(row[9]),
            done_at=None if row[10] is None else audit.as_utc(row[10]),
            currency=currency,
        )
        for row in session.execute(query)
    ]
    found.sort(key=lambda r: (r.name.casefold(), r.account_id))
    return found[offset:] if limit is None else found[offset : offset + limit]


def statement(session: Session, start: date, end: date, account_id: int) -> Statement:
    """The account's statement of the period: a payer's or a patient's."""
    currency = stored.currency(session)
    letterhead = stored.letterhead(session)
    if session.get(Payer, account_id) is not None:
        return documents.payer_statement_document(
            session, letterhead, currency, account_id, start, end
        )
    return documents.statement_document(session, letterhead, currency, account_id, start, end)


class _ItemAsRead:
    """An item as a step read it: ``read_as`` is (account, address, owed, credit), which a
    merge since changes."""

    __slots__ = ()
    read_as: tuple[int, str | None, int, int]

    @property
    def account_id(self) -> int:
        """The account the statement is for."""
        return self.read_as[0]

    @property
    def email(self) -> str | None:
        """Where it goes (None: posted)."""
        return self.read_as[1]


@dataclass(slots=True)
class _Prepared(_ItemAsRead):
    """One pending item read for a step: its statement and email, before rendering."""

    item_id: int
    read_as: tuple[int, str | None, int, int]
    to_name: str
    document: Statement | None = None
    subject: str = ""
    body: str = ""


@dataclass(slots=True)
class _Ready(_ItemAsRead):
    """One item ready to save: its built message (None: posted)."""

    item_id: int
    read_as: tuple[int, str | None, int, int]
    to_name: str
    subject: str
    built: BuiltMessage | None


def _prepare(session: Session, run: StatementRun, limit: int) -> list[_Prepared]:
    """The next ``limit`` pending items, each with its statement and email filled."""
    rows = session.execute(
        select(
            StatementRunItem.id,
            StatementRunItem.account_id,
            StatementRunItem.email,
            StatementRunItem.owed_minor,
            StatementRunItem.credit_minor,
        )
        .where(
            StatementRunItem.run_id == run.id,
            StatementRunItem.state == StatementItemState.PENDING.value,
        )
        .order_by(StatementRunItem.id)
        .limit(limit)
    ).all()
    if not rows:
        return []
    writer = Writer(session)
    template = read_template(session, MailKind.STATEMENT)
    start, end = run.period_start, run.period_end
    prepared: list[_Prepared] = []
    for item_id, account_id, email, owed, credit in rows:
        read_as = (account_id, email, owed, credit)
        if email is None:
            prepared.append(_Prepared(item_id, read_as, ""))
            continue
        document = statement(session, start, end, account_id)
        if isinstance(document, documents.PayerStatementDocument):
            who = Account(account_id, document.payer.name, document.payer.name, email)
        else:
            patient = document.patient
            who = Account(
                account_id,
                documents.patient_name(patient.first_name, patient.last_name),
                patient.preferred_name or patient.first_name,
                email,
            )
        # The email's figures are the attached statement's own, as it stands now: a payment or
        # invoice dated in the period since the run started shows in both alike.
        values = closing_values(writer, who, start, end, document.closing_balance)
        prepared.append(
            _Prepared(
                item_id,
                read_as,
                who.name,
                document,
                fill_subject(template.subject, MailKind.STATEMENT, values),
                fill_body(template.body, MailKind.STATEMENT, values),
            )
        )
    return prepared


def attachment_name(end: date) -> str:
    """The file name of a run's statement PDF."""
    return f"Statement {end.isoformat()}.pdf"


def _message(
    settings: EmailSettings, item: _Prepared, pdf: bytes, end: date
) -> BuiltMessage | None:
    """The item's message, or None when it cannot be emailed (it is posted instead)."""
    assert item.email is not None
    try:
        built = build_message(
            settings,
            to_name=item.to_name,
            to_address=item.email,
            subject=item.subject,
            body=item.body,
            attachment=Attachment(attachment_name(end), pdf),
        )
    except (BillingError, ValueError):
        return None
    if settings.size_limit and len(built.data) > settings.size_limit:
        return None
    return built


def step(
    store: Store,
    settings: EmailSettings,
    run_id: int,
    render: Renderer,
    *,
    limit: int,
) -> StatementRunProgress:
    """Do the run's next ``limit`` pending items (see the module); how far the run is then.

    ``render`` is called outside any transaction. If it raises, the items done before it are
    saved and the error is raised again: the run resumes with the item that failed.
    """
    with store.read() as session:
        run = _run_row(session, run_id)
        prepared = _prepare(session, run, limit)
    end = run.period_end
    ready: list[_Ready] = []
    queued: tuple[int, ...] = ()
    try:
        for item in prepared:
            built: BuiltMessage | None = None
            if item.document is not None:
                pdf = render(item.document)
                item.document = None  # its memory goes as soon as its PDF is made
                built = _message(settings, item, pdf, end)
            ready.append(_Ready(item.item_id, item.read_as, item.to_name, item.subject, built))
    finally:
        if ready or run.finished_at is None:
            queued = _save(store, run_id, end, ready)
    with store.read() as session:
        run = _run_row(session, run_id)
        counts = _state_counts(session, run_id)
        release_page_cache(session)
    return StatementRunProgress(
        run_id,
        sum(counts.values()),
        counts[StatementItemState.PENDING],
        counts[StatementItemState.EMAILED],
        counts[StatementItemState.POST],
        run.finished_at is not None,
        queued,
    )


def _save(store: Store, run_id: int, end: date, ready: Sequence[_Ready]) -> tuple[int, ...]:
    """In one transaction: queue each ready item's message and mark it (if it is still
    pending: another desk may have done it), then finish the run when nothing is pending."""
    queued: list[int] = []
    with store.write() as tx:
        session = tx.session
        by_id = {item.item_id: item for item in ready}
        locked: list[StatementRunItem] = []
        if by_id:
            locked = list(
                session.scalars(
                    select(StatementRunItem)
                    .where(
                        StatementRunItem.id.in_(list(by_id)),
                        StatementRunItem.state == StatementItemState.PENDING.value,
                    )
                    .order_by(StatementRunItem.id)
                    .with_for_update()
                )
            )
        now = audit.moment(session)
        for row in locked:
            item = by_id[row.id]
            read_now = (row.account_id, row.email, row.owed_minor, row.credit_minor)
            if row.state != StatementItemState.PENDING.value or read_now != item.read_as:
                # Done by another desk, or changed by a merge since it was read (given to the
                # patient kept, or the duplicate's figures added): the next step does it as it
                # is now.
                continue
            row.done_at = now
            if item.built is None or item.email is None:
                row.state = StatementItemState.POST.value
                continue
            row.outbox_id = enqueue(
                tx,
                kind=MailKind.STATEMENT,
                account_id=item.account_id,
                recipient=item.email,
                recipient_name=item.to_name,
                subject=item.subject,
                built=item.built,
                attachment_name=attachment_name(end),
            )
            row.state = StatementItemState.EMAILED.value
            queued.append(row.outbox_id)
        session.flush()
        _finish_if_done(tx, run_id)
    return tuple(queued)


def _finish_if_done(tx: Transaction, run_id: int) -> None:
    session = tx.session
    pending = session.scalar(
        select(func.count())
        .select_from(StatementRunItem)
        .where(
            StatementRunItem.run_id == run_id,
            StatementRunItem.state == StatementItemState.PENDING.value,
        )
    )
    if pending:
        return
    run = session.scalars(
        select(StatementRun).where(StatementRun.id == run_id).with_for_update()
    ).one()
    if run.finished_at is not None:
        return
    run.finished_at = audit.moment(session)
    counts = _state_counts(session, run_id)
    tx.audit(
        action=AuditAction.FINISH_STATEMENT_RUN,
        entity=AuditEntity.STATEMENT_RUN,
        entity_id=run_id,
        after={
            "start": run.period_start.isoformat(),
            "end": run.period_end.isoformat(),
            "emailed": counts[StatementItemState.EMAILED],
            "posted": counts[StatementItemState.POST],
        },
    )


def posted(session: Session, run_id: int) -> list[int]:
    """The accounts whose statements the run set aside for posting, sorted by name."""
    return [item.account_id for item in items(session, run_id, StatementItemState.POST)]


def pending_emails(session: Session, run_id: int) -> int:
    """How many of the run's pending items will be emailed (NotFoundError: no such run)."""
    _run_row(session, run_id)
    return int(
        session.scalar(
            select(func.count())
            .select_from(StatementRunItem)
            .where(
                StatementRunItem.run_id == run_id,
                StatementRunItem.state == StatementItemState.PENDING.value,
                StatementRunItem.email.is_not(None),
            )
        )
        or 0
    )
