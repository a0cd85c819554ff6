"""Statement runs (``clinic.statement_runs``): one period's statements to everyone owing money
or holding credit, emailed to those with an address, the rest set aside for posting.

:meth:`StatementRuns.preview` lists the accounts with their figures at the end of the period;
:meth:`StatementRuns.start` saves the run (or finds the period's run, which then resumes);
:meth:`StatementRuns.step` does the next few statements, rendered to PDF by the caller's
printing layer, and queues their emails; :meth:`~.email.Email.send_outbox` sends them. A run
stopped at any point resumes where it was, and no account is emailed twice for one run
(:mod:`desktop_app.core.mail.statement_runs`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.exc import IntegrityError

from ..access.staff import Permission
from ..domain.errors import BillingError, Refusal
from ..domain.kinds import choose
from ..ledger.guard import check_id, requires
from ..mail import settings as mail_settings
from ..mail import statement_runs as runs
from ..mail.statement_runs import (
    Renderer,
    Statement,
    StatementItemState,
    StatementRunItemRecord,
    StatementRunPreview,
    StatementRunProgress,
    StatementRunRecord,
)
from .base import Manager

#: The most statements one step does.
MAX_STEP = 500


def _not_configured() -> BillingError:
    return BillingError(
        "Email is not set up: enter the clinic's mail server and sender under Settings > Email "
        "before sending statements. Nothing was started.",
        code=Refusal.MISSING,
        field="host",
    )


class StatementRuns(Manager):
    """Statement runs: preview, start or resume, step, and what each run did."""

    def _reader(self) -> None:
        self.store.require(Permission.READ_ALL)

    @requires(Permission.EMAIL)
    def preview(self, start: date, end: date) -> StatementRunPreview:
        """Every account (patients and payers) that at the end of ``end`` owed money or held
        credit, sorted by name, with its figures then and its email address (None: posted),
        and the totals. Refused for a period that is not one (``start`` after ``end``, ``end``
        after today, a day outside the ledger's window)."""
        self._reader()
        first, last = runs.check_period(start, end)
        with self.store.read() as session:
            return runs.preview(session, first, last)

    @requires(Permission.EMAIL)
    def start(self, start: date, end: date) -> int:
        """Start the run of ``start`` to ``end`` (its accounts as :meth:`preview` lists them,
        saved with their figures), or find the period's run if one was started (here or on
        another desk): a run is resumed, never made twice. Refused while email is not set up.
        Returns the run's id."""
        self._reader()
        first, last = runs.check_period(start, end)
        if not self._settings().configured:
            raise _not_configured()
        with self.store.read() as session:
            found = runs.find_run(session, first, last)
        if found is not None:
            return found
        try:
            with self.store.write() as tx:
                return runs.create_run(tx, first, last)
        except IntegrityError:
            # Another desk started this period's run first: it is the one.
            with self.store.read() as session:
                found = runs.find_run(session, first, last)
            if found is None:
                raise
            return found

    def _settings(self) -> mail_settings.EmailSettings:
        with self.store.read() as session:
            return mail_settings.read_settings(session)

    @requires(Permission.EMAIL)
    def step(self, run_id: int, render: Renderer, *, limit: int = 25) -> StatementRunProgress:
        """Do the run's next ``limit`` pending statements in order: each with an address is
        built, rendered to PDF by ``render`` (outside any transaction) and its email queued in
        the outbox in the same transaction that marks it emailed; each without is marked for
        posting. The last step finishes the run. If ``render`` raises, the statements done
        before it are kept and the error raised again: the run resumes from that one."""
        self._reader()
        run_id = check_id(run_id, "statement run")
        if type(limit) is not int or not 1 <= limit <= MAX_STEP:
            raise BillingError(
                f"A step does 1 to {MAX_STEP} statements.", code=Refusal.BAD_CHOICE, field="limit"
            )
        if not callable(render):
            raise BillingError(
                "A step needs the renderer that makes each statement's PDF.",
                code=Refusal.MISSING,
                field="render",
            )
        settings = self._settings()
        with self.store.read() as session:
            waiting = runs.pending_emails(session, run_id)
        if waiting and not settings.configured:
            raise _not_configured()
        return runs.step(self.store, settings, run_id, render, limit=limit)

    @requires(Permission.EMAIL)
    def get(self, run_id: int) -> StatementRunRecord:
        """One run: its period, who started it and when, how many statements are pending,
        emailed and posted, whether it is finished, and its emails' outbox statuses."""
        self._reader()
        with self.store.read() as session:
            return runs.run_record(session, check_id(run_id, "statement run"))

    @requires(Permission.EMAIL)
    def find(self, start: date, end: date) -> StatementRunRecord | None:
        """The run of exactly this period, if one was started (finished or not)."""
        self._reader()
        first, last = runs.check_period(start, end)
        with self.store.read() as session:
            found = runs.find_run(session, first, last)
            return None if found is None else runs.run_record(session, found)

    @requires(Permission.EMAIL)
    def __call__(self, limit: int = 100) -> list[StatementRunRecord]:
        """The latest runs, newest first."""
        self._reader()
        with self.store.read() as session:
            return runs.runs(session, limit)

    @requires(Permission.EMAIL)
    def items(
        self,
        run_id: int,
        state: StatementItemState | str | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[StatementRunItemRecord]:
        """The run's accounts sorted by name (only those ``pending``, ``emailed`` or ``post``
        when ``state`` is given), each with its figures, address, and its email's outbox
        status and failure reason."""
        self._reader()
        chosen = (
            None if state is None else choose(StatementItemState, state, "state", field="state")
        )
        with self.store.read() as session:
            return runs.items(
                session, check_id(run_id, "statement run"), chosen, limit=limit, offset=offset
            )

    @requires(Permission.EMAIL)
    def posted(self, run_id: int) -> list[int]:
        """The accounts whose statements the run set aside for posting, sorted by name (to
        print into one PDF with :meth:`document`)."""
        self._reader()
        with self.store.read() as session:
            return runs.posted(session, check_id(run_id, "statement run"))

    @requires(Permission.EMAIL)
    def document(self, run_id: int, account_id: int) -> Statement:
        """The statement of one of the run's accounts for the run's period (a payer's or a
        patient's), as printed or attached."""
        self._reader()
        with self.store.read() as session:
            record = runs.run_record(session, check_id(run_id, "statement run"))
            return runs.statement(
                session, record.start, record.end, check_id(account_id, "patient")
            )
