"""The outbox under Hypothesis: long random sequences of emails queued, sending passes against a
real loopback SMTP server that accepts, refuses (5xx), asks to try later (4xx) or is not there,
time passing, staff's Retry and Cancel, and sends cut off by an app that closed mid-send.

After every step: a message is delivered exactly once if it is sent and never otherwise (its
Message-ID counted at the server), a failure that may pass is tried again later and one that
will not is left for staff, and Verify ledger (I11 included) finds nothing.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select, update

from desktop_app.core import Clinic, OutboxStatus
from desktop_app.core.db.models import OutboxMessage

from .smtp_servers import ClosedPort, SmtpServer

PDF = b"%PDF-1.4\n% stand-in\n"
BEHAVIOURS = ["accept", "refuse recipient", "try later", "no server"]
STEPS = int(os.environ.get("STATEFUL_STEPS", "40"))


class _ProgressError(Exception):
    """What ends a pass early in :meth:`OutboxMachine.pass_ends_in_an_error`."""


class OutboxMachine(RuleBasedStateMachine):
    """One clinic, one server; the shadow is what staff did to each message."""

    open_url: staticmethod
    server: SmtpServer
    closed: int

    @initialize()
    def open_clinic(self) -> None:
        self.clinic = Clinic.open(self.open_url())
        self.patients = [
            self.clinic.add_patient("Pat", f"Number {n}", email=f"pat{n}@example.org")
            for n in range(3)
        ]
        self.invoices = [
            self.clinic.create_invoice(pid, [("Consult", "50.00", 1)]) for pid in self.patients
        ]
        self.server.messages.clear()
        self.server.refuse_rcpt = self.server.refuse_data = None
        self.queued: list[int] = []

    def teardown(self) -> None:
        clinic = getattr(self, "clinic", None)
        if clinic is not None:
            clinic.close()

    def _point_at(self, port: int) -> None:
        self.clinic.set_email_settings(
            host="127.0.0.1", port=port, security="none", sender="Desk <desk@harbour.example>"
        )

    def _by_status(self, *statuses: OutboxStatus) -> list[int]:
        return [m.id for m in self.clinic.outbox() if m.status in statuses]

    @rule(which=st.integers(0, 2))
    def queue(self, which: int) -> None:
        self._point_at(self.server.port)
        draft = self.clinic.email_draft("invoice", invoice_id=self.invoices[which])
        self.queued.append(self.clinic.queue_email(draft, PDF))

    @rule(behaviour=st.sampled_from(BEHAVIOURS))
    def send_pass(self, behaviour: str) -> None:
        self.server.refuse_rcpt = (
            "550 5.1.1 No such user" if behaviour == "refuse recipient" else None
        )
        self.server.refuse_data = "451 4.3.0 Try later" if behaviour == "try later" else None
        self._point_at(self.closed if behaviour == "no server" else self.server.port)
        self.clinic.send_outbox()
        self.server.refuse_rcpt = self.server.refuse_data = None

    @rule()
    def time_passes(self) -> None:
        with self.clinic.engine.begin() as conn:
            conn.execute(
                update(OutboxMessage)
                .where(OutboxMessage.next_attempt_at.is_not(None))
                .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
            )

    @precondition(lambda self: self.queued)
    @rule(data=st.data())
    def staff_retries(self, data: st.DataObject) -> None:
        # Staff retry failed and cancelled messages; an unconfirmed one may have been delivered,
        # and sending it again is staff's own decision, outside what this machine checks.
        choices = self._by_status(OutboxStatus.FAILED, OutboxStatus.CANCELLED)
        if choices:
            self.clinic.retry_email(data.draw(st.sampled_from(choices)))

    @precondition(lambda self: self.queued)
    @rule(data=st.data())
    def staff_cancels(self, data: st.DataObject) -> None:
        choices = self._by_status(OutboxStatus.QUEUED, OutboxStatus.FAILED)
        if choices:
            self.clinic.cancel_email(data.draw(st.sampled_from(choices)))

    @precondition(lambda self: self.queued)
    @rule(data=st.data())
    def app_closes_mid_send(self, data: st.DataObject) -> None:
        """A message claimed by a pass that never finished (its claim long expired)."""
        choices = self._by_status(OutboxStatus.QUEUED)
        if choices:
            chosen = data.draw(st.sampled_from(choices))
            with self.clinic.engine.begin() as conn:
                conn.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == chosen)
                    .values(status="sending", claimed_at=datetime.now(UTC) - timedelta(hours=1))
                )

    @rule(after=st.integers(1, 3))
    def pass_ends_in_an_error(self, after: int) -> None:
        """A pass stopped by an error of the program after ``after`` messages."""
        self._point_at(self.server.port)

        def progress(done: int) -> None:
            if done >= after:
                raise _ProgressError

        with contextlib.suppress(_ProgressError):
            self.clinic.send_outbox(progress=progress)

    @rule(cancel=st.booleans(), behaviour=st.sampled_from(BEHAVIOURS))
    def slow_pass_overtaken(self, cancel: bool, behaviour: str) -> None:
        """A pass stalls until its reservations lapse; meanwhile another desk's pass, against a
        server that behaves as ``behaviour``, takes them all (and staff may cancel one). The
        stalled pass then has nothing left to send."""
        self._point_at(self.server.port)
        stalled: list[bool] = []

        def stop() -> bool:
            if not stalled:
                stalled.append(True)
                waiting = self._by_status(OutboxStatus.QUEUED, OutboxStatus.FAILED)
                if cancel and waiting:
                    self.clinic.cancel_email(waiting[0])
                with self.clinic.engine.begin() as conn:
                    conn.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.claim_token.is_not(None))
                        .values(claimed_at=datetime.now(UTC) - timedelta(hours=1))
                    )
                self.send_pass(behaviour)
                self._point_at(self.server.port)
            return False

        stalled_pass = self.clinic.send_outbox(stop=stop)
        assert (stalled_pass.sent, stalled_pass.failed, stalled_pass.unconfirmed) == (0, 0, 0)

    @invariant()
    def no_pass_leaves_a_reservation_behind(self) -> None:
        if not hasattr(self, "clinic"):
            return
        with self.clinic.engine.connect() as conn:
            held = conn.execute(
                select(OutboxMessage.id).where(OutboxMessage.claim_token.is_not(None))
            ).all()
        assert held == []

    @invariant()
    def sent_means_delivered_once_and_nothing_else_is_delivered(self) -> None:
        if not hasattr(self, "clinic"):
            return
        delivered = Counter(d.message["Message-ID"] for d in self.server.messages)
        for message in self.clinic.outbox():
            expected = 1 if message.status is OutboxStatus.SENT else 0
            assert delivered[message.message_id] == expected, message

    @invariant()
    def failures_are_retried_only_when_they_may_pass(self) -> None:
        if not hasattr(self, "clinic"):
            return
        for message in self.clinic.outbox():
            if message.status is not OutboxStatus.FAILED:
                continue
            reason = message.last_error or ""
            may_pass = "refused the connection" in reason or "451" in reason
            assert message.retried_automatically == (may_pass and message.attempts <= 6), message

    @invariant()
    def ledger_verifies(self) -> None:
        if hasattr(self, "clinic"):
            assert self.clinic.verify() == []


def test_random_outbox_sequences_deliver_each_message_at_most_once(new_sqlite_url, tmp_path):
    with SmtpServer(folder=tmp_path) as server, ClosedPort() as closed:

        class OnSqlite(OutboxMachine):
            open_url = staticmethod(new_sqlite_url)

        OnSqlite.server = server
        OnSqlite.closed = closed.port
        run_state_machine_as_test(
            OnSqlite,
            settings=settings(
                settings(),
                max_examples=max(settings().max_examples // 10, 10),
                stateful_step_count=STEPS,
            ),
        )


@pytest.mark.slow  # Hypothesis stateful on PostgreSQL: a minute or more
@pytest.mark.timeout(1200)
def test_random_outbox_sequences_on_postgresql(pg_databases, tmp_path):
    with SmtpServer(folder=tmp_path) as server, ClosedPort() as closed:

        class OnPostgres(OutboxMachine):
            open_url = staticmethod(pg_databases.new)

        OnPostgres.server = server
        OnPostgres.closed = closed.port
        run_state_machine_as_test(
            OnPostgres,
            settings=settings(
                settings(),
                max_examples=max(settings().max_examples // 20, 5),
                stateful_step_count=STEPS,
            ),
        )
