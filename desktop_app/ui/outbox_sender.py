"""Sending the outbox in the background while the app is open: the desk never waits for the
mail server.

The main window owns one :class:`OutboxSender`. It runs ``clinic.send_outbox()`` on a worker
thread once a minute, and at once when told a message was queued (:meth:`OutboxSender.nudge`:
the email window, the reminders window and the statement run call it). One pass runs at a time;
a nudge during a pass asks for one more pass after it. After each pass it reads what the outbox
holds (``clinic.outbox_tally()``) and emits :attr:`OutboxSender.tallied`: the status bar's
"Outbox: 3 waiting · 1 failed" and the Outbox window follow it.

A server that refuses or cannot be reached only leaves its messages failed with its reason
(the outbox's own backoff tries them again); nothing is shown in a dialog from here. Only a
role that may email runs it. :meth:`OutboxSender.stop` (the window closing) stops the timer,
asks the pass under way to stop before its next message and waits a moment for it, never a mail
server's whole timeout: a pass still running then ends on its own, on a daemon thread that never
holds up the app's exit, and its outcome goes nowhere.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from desktop_app.core import BillingError, OutboxTally, Permission, SendSummary

if TYPE_CHECKING:
    from desktop_app.core import Clinic

#: How often the outbox is sent while the app is open (milliseconds).
TICK_MS = 60_000
#: How long closing the window waits for a pass under way (seconds): a pass stops before its
#: next message, but a message being handed to a silent server waits for the server's timeout.
#: A pass still running then is left to end on its own (its message becomes unconfirmed if the
#: app is gone first: it is never sent twice by itself).
CLOSE_WAIT_S = 1.0


def tally_text(tally: OutboxTally | None) -> str:
    """The status bar's words: "Outbox: 3 waiting · 1 failed" (empty: nothing to say)."""
    if tally is None:
        return ""
    parts = [
        f"{number} {words}"
        for number, words in (
            (tally.waiting, "waiting"),
            (tally.failed, "failed"),
            (tally.unconfirmed, "unconfirmed"),
        )
        if number
    ]
    return "Outbox: " + " · ".join(parts) if parts else ""


class _Relay(QObject):
    """Carries one pass's outcome to the GUI thread: (summary or error, tally or None).

    It belongs to the application, not to the sender, so a pass outliving its window emits on
    an object that still exists (and reaches nobody); the pass has it deleted once it ends.
    """

    ended = Signal(object, object)


class OutboxSender(QObject):
    """Sends a clinic's outbox in the background (see the module)."""

    #: What the outbox holds after a pass (an :class:`OutboxTally`).
    tallied = Signal(object)
    #: What a pass did (a :class:`SendSummary`), or the error that stopped it.
    finished = Signal(object)

    def __init__(self, clinic: Clinic, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.clinic = clinic
        #: Whether the signed-in role may email (no pass runs otherwise).
        self.enabled = Permission.EMAIL in clinic.permissions()
        #: The last tally read (None until the first pass).
        self.tally: OutboxTally | None = None
        #: The last pass's outcome: its summary, or the error that stopped it.
        self.last: SendSummary | Exception | None = None
        #: Passes completed (for tests and the Outbox window).
        self.passes = 0
        self._worker: threading.Thread | None = None
        self._relay: _Relay | None = None
        self._again = False
        self._stopping = threading.Event()
        self.timer = QTimer(self, interval=TICK_MS)
        self.timer.timeout.connect(self.nudge)
        if self.enabled:
            self.timer.start()

    @property
    def busy(self) -> bool:
        """A pass is running (or its outcome is not delivered yet)."""
        return self._worker is not None

    def nudge(self, _outbox_id: object = None) -> bool:
        """Send the outbox now (a message was just queued); True when a pass started. During a
        pass, one more pass is run after it."""
        if not self.enabled or self._stopping.is_set():
            return False
        if self._worker is not None:
            self._again = True
            return False
        self._again = False
        clinic, stopping = self.clinic, self._stopping
        relay = self._relay = _Relay(QCoreApplication.instance())
        relay.ended.connect(self._on_ended)

        def work() -> None:
            outcome: SendSummary | Exception
            try:
                outcome = clinic.send_outbox(stop=stopping.is_set)
            except Exception as exc:  # the database or the network: said, never raised here
                outcome = exc
            tally: OutboxTally | None
            try:
                tally = clinic.outbox_tally()
            except Exception:
                tally = None
            with contextlib.suppress(RuntimeError):  # the app is gone: nobody to tell
                relay.ended.emit(outcome, tally)
                relay.deleteLater()

        self._worker = threading.Thread(target=work, name="outbox-sender", daemon=True)
        self._worker.start()
        return True

    def refresh(self) -> None:
        """Read the tally again now, on this thread (after a Retry or Cancel in the window)."""
        if not self.enabled:
            return
        try:
            self.tally = self.clinic.outbox_tally()
        except BillingError:
            return
        self.tallied.emit(self.tally)

    def _on_ended(self, outcome: object, tally: object) -> None:
        worker, self._worker, self._relay = self._worker, None, None
        if worker is not None:
            worker.join()
        self.passes += 1
        self.last = outcome if isinstance(outcome, SendSummary | Exception) else None
        if isinstance(tally, OutboxTally):
            self.tally = tally
            self.tallied.emit(tally)
        self.finished.emit(outcome)
        if self._again and not self._stopping.is_set():
            self.nudge()

    def stop(self, wait: float | None = CLOSE_WAIT_S) -> bool:
        """Stop sending (the window closes): no more passes; the pass under way stops before its
        next message. Waits up to ``wait`` seconds for it (None: until it ends); True when no
        pass is left running."""
        self.timer.stop()
        self._stopping.set()
        self._again = False
        worker = self._worker
        if worker is not None:
            worker.join(wait)
            if worker.is_alive():
                self._let_go()
                return False
            self._worker = None
        return True

    def _let_go(self) -> None:
        """Leave the pass under way to end on its own: its outcome reaches nobody."""
        relay, self._relay = self._relay, None
        if relay is not None:
            with contextlib.suppress(RuntimeError):  # already ended and deleted
                relay.ended.disconnect(self._on_ended)
