"""Background work for the windows: one helper instead of a hand-written ``QThread`` per window.

Modelled on Anki's ``CollectionOp``/``QueryOp``: a window owns one :class:`BackgroundRunner` and
hands it a function to run away from the GUI thread; the outcome comes back *on the GUI thread*
to the callbacks given with it::

    self._runner = BackgroundRunner(self)
    self._runner.run(
        lambda job: export_csv(clinic, kind, path, progress=job.progress, cancel=job.cancelled),
        on_done=self._exported,            # the function's result
        on_refused=self._refused,          # a BillingError it raised, shown inline
        on_failed=self._failed,            # any other exception
        on_progress=self._progressed,      # (done, total), as often as the function reports
        on_finished=self._stopped,         # always last, whatever the outcome
    )

- **One at a time per window.** :meth:`~BackgroundRunner.run` starts nothing while a job runs
  (it returns False); with ``queue=True`` it starts the new job once the running one has ended
  instead, replacing any job already waiting (a newer search makes an older one moot).
- **Cancel** asks the running job to stop: its function sees :meth:`Job.cancelled` turn True and
  decides how to stop (the core's exports and imports raise, and save nothing).
- **Closing.** :meth:`~BackgroundRunner.stop` cancels, drops a waiting job and blocks until the
  thread has ended; a window calls it from ``closeEvent``/``done`` so no thread outlives it.
  A job that may wait on the network (a mail server that does not answer waits out its whole
  timeout) is let go instead: :meth:`~BackgroundRunner.release` cancels it, drops a waiting job
  and returns at once; the job ends on its own (its function sees the cancel at its next check)
  and its outcome goes nowhere, so the closed window is never touched again.
- **Threads.** Each job runs on a daemon thread: a job still running when the app quits never
  holds up its exit. Its progress and outcome travel to the GUI thread as queued signals of a
  small relay object, deleted on the GUI thread once the job has ended.

``busy`` stays True until the outcome has been delivered, so a window (or a test waiting on it)
sees the result and ``busy`` False together.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QCoreApplication, QObject, Signal

from desktop_app.core import BillingError

T = TypeVar("T")

__all__ = ["JOB_THREAD_NAME", "BackgroundRunner", "Job"]

#: The name of every job's thread (to find one still running).
JOB_THREAD_NAME = "background-job"


class Job:
    """What the function running in the background sees: report progress, check for cancel.

    Both methods are safe to call from the worker thread (they are made for it).
    """

    def __init__(self, progressed: Callable[[int, int], None]) -> None:
        self._progressed = progressed
        self._cancel = threading.Event()

    def progress(self, done: int, total: int) -> None:
        """Report ``done`` of ``total`` steps; the window's ``on_progress`` gets it."""
        self._progressed(done, total)

    def cancelled(self) -> bool:
        """Whether the window asked this job to stop."""
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the job to stop (its function decides how, at its next check)."""
        self._cancel.set()


@dataclass(frozen=True)
class _Request(Generic[T]):
    work: Callable[[Job], T]
    on_done: Callable[[T], None]
    on_refused: Callable[[BillingError], None] | None
    on_failed: Callable[[Exception], None] | None
    on_progress: Callable[[int, int], None] | None
    on_finished: Callable[[], None] | None


class _Relay(QObject):
    """Carries one job's progress and outcome from its thread to the GUI thread."""

    progressed = Signal(object, int, int)  # (the worker, done, total)
    ended = Signal(object, object, object)  # (the worker, result, None or the exception)


class _Worker:
    """One request's function on a daemon thread; the outcome travels back through a relay.

    The relay belongs to the application (not to a window), so a window closed while the job
    runs takes nothing the thread still uses with it; the thread has it deleted, on the GUI
    thread, once the outcome is sent.
    """

    def __init__(self, work: Callable[[Job], Any]) -> None:
        self._work = work
        self.relay = _Relay(QCoreApplication.instance())
        self.job = Job(self._progressed)
        self.thread = threading.Thread(target=self._run, name=JOB_THREAD_NAME, daemon=True)

    def _progressed(self, done: int, total: int) -> None:
        with contextlib.suppress(RuntimeError):  # the app is gone: nobody to tell
            self.relay.progressed.emit(self, done, total)

    def _run(self) -> None:  # the worker thread
        try:
            result = self._work(self.job)
        except Exception as exc:  # every failure reaches the window, none dies in the thread
            outcome: tuple[object, Exception | None] = (None, exc)
        else:
            outcome = (result, None)
        with contextlib.suppress(RuntimeError):  # the app is gone: nobody to tell
            self.relay.ended.emit(self, *outcome)
            self.relay.deleteLater()


class BackgroundRunner(QObject):
    """Runs a window's background jobs one at a time and delivers outcomes on the GUI thread.

    Create it with the window as parent; call :meth:`stop` (or :meth:`release`, for a job that
    may wait on the network) when the window closes.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker: _Worker | None = None
        self._request: _Request[Any] | None = None
        self._waiting: _Request[Any] | None = None

    @property
    def busy(self) -> bool:
        """A job is running, or its outcome has not been delivered yet."""
        return self._worker is not None

    def run(
        self,
        work: Callable[[Job], T],
        *,
        on_done: Callable[[T], None],
        on_refused: Callable[[BillingError], None] | None = None,
        on_failed: Callable[[Exception], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        on_finished: Callable[[], None] | None = None,
        queue: bool = False,
    ) -> bool:
        """Start ``work(job)`` on a worker thread; True when it started.

        Args:
            work: the function; it runs off the GUI thread, so it must not touch widgets.
            on_done: gets the function's result.
            on_refused: gets a :class:`BillingError` the function raised (None: ``on_failed``).
            on_failed: gets any other exception (None: the application's ``sys.excepthook``).
            on_progress: gets each ``job.progress(done, total)`` the function reports.
            on_finished: called last, after whichever of the above applied.
            queue: while a job runs, keep this one to start when that one ends (replacing any
                job kept before) instead of starting nothing.
        """
        request = _Request(work, on_done, on_refused, on_failed, on_progress, on_finished)
        if self._worker is None:
            self._start(request)
            return True
        if queue:
            self._waiting = request
        return False

    def cancel(self) -> None:
        """Ask the running job to stop (nothing happens when none runs)."""
        if self._worker is not None:
            self._worker.job.cancel()

    def wait(self) -> None:
        """Block until the running job's function has returned (its outcome is still delivered
        through the event loop)."""
        if self._worker is not None:
            self._worker.thread.join()

    def stop(self) -> None:
        """Drop a waiting job, cancel the running one and block until its thread ends: for a
        window that closes."""
        self._waiting = None
        self.cancel()
        self.wait()

    def release(self) -> None:
        """Drop a waiting job, cancel the running one and let it go without waiting: for a
        window that closes while its job may be waiting on the network. The job ends on its
        own; its progress and outcome are never delivered (no callback runs after this)."""
        self._waiting = None
        worker, self._worker, self._request = self._worker, None, None
        if worker is None:
            return
        worker.job.cancel()
        with contextlib.suppress(RuntimeError):  # the relay already went with its ended job
            worker.relay.progressed.disconnect(self._on_thread_progressed)
            worker.relay.ended.disconnect(self._on_thread_ended)

    # -- on the GUI thread ------------------------------------------------------------------

    def _start(self, request: _Request[Any]) -> None:
        worker = _Worker(request.work)
        worker.relay.progressed.connect(self._on_thread_progressed)
        worker.relay.ended.connect(self._on_thread_ended)
        self._worker, self._request = worker, request
        worker.thread.start()

    def _on_thread_progressed(self, worker: object, done: int, total: int) -> None:
        request = self._request
        if worker is not self._worker:  # a job let go: its news goes nowhere
            return
        if request is not None and request.on_progress is not None:
            request.on_progress(done, total)

    def _on_thread_ended(self, ended: object, result: object, error: Exception | None) -> None:
        worker, request = self._worker, self._request
        if worker is None or request is None or ended is not worker:
            return
        worker.thread.join()  # the function has returned; let its thread end too
        self._worker = self._request = None
        try:
            if error is None:
                request.on_done(result)
            elif isinstance(error, BillingError) and request.on_refused is not None:
                request.on_refused(error)
            elif request.on_failed is not None:
                request.on_failed(error)
            else:
                sys.excepthook(type(error), error, error.__traceback__)
            if request.on_finished is not None:
                request.on_finished()
        finally:
            waiting, self._waiting = self._waiting, None
            if waiting is not None and self._worker is None:
                self._start(waiting)
