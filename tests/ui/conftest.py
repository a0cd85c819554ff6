"""Fixtures for the window tests (offscreen Qt, a fresh SQLite clinic each)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget

from desktop_app.core import Clinic
from desktop_app.ui.background import JOB_THREAD_NAME
from desktop_app.ui.formatting import Formatter
from desktop_app.ui.main_window import MainWindow
from tests.email.conftest import (  # noqa: F401 - real SMTP servers
    make_smtp_server,
    silent_server,
    smtp_server,
)


@pytest.fixture
def clinic(new_sqlite_url) -> Iterator[Clinic]:
    """A fresh clinic on SQLite (the window tests exercise the windows, not the database)."""
    opened = Clinic.open(new_sqlite_url())
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def jobs_ended(qtbot) -> Callable[[], None]:
    """Waits until no window's background job is left running, then lets the event loop
    deliver whatever they sent (a window's callbacks run then, if any)."""

    def wait() -> None:
        qtbot.waitUntil(
            lambda: (
                not any(
                    thread.name == JOB_THREAD_NAME and thread.is_alive()
                    for thread in threading.enumerate()
                )
            ),
            timeout=10_000,
        )
        qtbot.wait(100)

    return wait


@pytest.fixture
def formatter() -> Formatter:
    """Australian formatting, whatever the test machine's locale."""
    return Formatter("AUD", "en_AU")


Answer = Callable[[QWidget], None]

MODAL_TIMEOUT_S = 5.0


class _Expectation:
    """Dialogs to answer in turn, and the moment to give up waiting for the next one."""

    def __init__(self, answers: tuple[Answer, ...], what: str | None, timeout_s: float) -> None:
        self.queue = list(answers)
        self.what = what
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.handled: list[QWidget] = []
        self.texts: list[str] = []
        self.failure: str | None = None

    @property
    def pending(self) -> bool:
        return bool(self.queue) and self.failure is None

    def describe_next(self) -> str:
        if self.what:
            return self.what
        act = self.queue[0]
        return f"a dialog for {getattr(act, '__qualname__', repr(act))}()"


class ModalAnswers:
    """Answers modal dialogs opened with ``exec()``, failing fast when the dialog never opens.

    ``expect(act, ...)`` polls ``QApplication.activeModalWidget()`` from the event loop and calls
    each ``act(dialog)`` on the next new, visible modal dialog in turn. If the next dialog has not
    appeared within ``timeout_s`` the test fails with "no modal dialog appeared within 5 s;
    expected ..." (raised in the event loop, which pytest-qt turns into a failure) instead of
    hanging until pytest-timeout or passing silently; :meth:`verify` (run when the fixture ends)
    also fails for any dialog a finished test never saw. An ``act`` that raises has its dialog
    rejected, so the ``exec()`` it was blocking returns and the test reports the error.
    """

    def __init__(self, qtbot, timeout_s: float = MODAL_TIMEOUT_S) -> None:
        self.qtbot = qtbot
        self.timeout_s = timeout_s
        self.expectations: list[_Expectation] = []
        self._verifying = False

    def expect(self, *answers: Answer, what: str | None = None) -> list[str]:
        """Answer the next modal dialogs in turn; returns the texts of the message boxes seen."""
        expectation = _Expectation(answers, what, self.timeout_s)
        # A modal already open (the dialog whose button opens the expected one) is not the answer.
        already_open = QApplication.activeModalWidget()
        if already_open is not None:
            expectation.handled.append(already_open)
        self.expectations.append(expectation)
        QTimer.singleShot(0, lambda: self._attempt(expectation))
        return expectation.texts

    def _attempt(self, expectation: _Expectation) -> None:
        if not expectation.pending:
            return
        dialog = QApplication.activeModalWidget()
        if dialog is None or dialog in expectation.handled or not dialog.isVisible():
            if time.monotonic() < expectation.deadline:
                QTimer.singleShot(10, lambda: self._attempt(expectation))
                return
            expectation.failure = (
                f"no modal dialog appeared within {expectation.timeout_s:g} s; "
                f"expected {expectation.describe_next()}"
            )
            if not self._verifying:
                raise AssertionError(expectation.failure)
            return
        expectation.handled.append(dialog)
        if isinstance(dialog, QMessageBox):
            expectation.texts.append(f"{dialog.text()}\n{dialog.informativeText()}".strip())
        act = expectation.queue.pop(0)
        try:
            act(dialog)
        except BaseException:
            expectation.queue.clear()
            if dialog.isVisible():  # unblock the exec() this dialog runs, so the test can fail
                dialog.reject() if isinstance(dialog, QDialog) else dialog.close()
            raise
        if expectation.queue:
            expectation.deadline = time.monotonic() + expectation.timeout_s
            QTimer.singleShot(0, lambda: self._attempt(expectation))

    def verify(self) -> None:
        """Wait out any dialog still expected, then fail if one never appeared."""
        self._verifying = True
        try:
            pending = [e for e in self.expectations if e.pending]
            if pending:
                wait_ms = int(max(e.deadline - time.monotonic() for e in pending) * 1000) + 1000
                self.qtbot.waitUntil(
                    lambda: not any(e.pending for e in pending), timeout=max(wait_ms, 1)
                )
        finally:
            self._verifying = False
        unseen = [e.failure for e in self.expectations if e.failure is not None]
        self.expectations.clear()
        if unseen:
            pytest.fail("\n".join(dict.fromkeys(unseen)), pytrace=False)


@pytest.fixture
def modals(qtbot) -> Iterator[ModalAnswers]:
    """The modal-dialog answerer behind ``with_modal`` and ``answer`` (5 s per dialog)."""
    answers = ModalAnswers(qtbot)
    yield answers
    answers.verify()


@pytest.fixture
def with_modal(modals: ModalAnswers) -> Callable[..., list[str]]:
    """Run ``act(dialog)`` on the next modal dialog once it is open (for ``exec()`` flows)."""

    def schedule(act: Answer, *, what: str | None = None) -> list[str]:
        return modals.expect(act, what=what)

    return schedule


@pytest.fixture
def answer(modals: ModalAnswers) -> Callable[..., list[str]]:
    """Answer the next modal dialogs in turn; returns the texts of the message boxes seen."""
    return modals.expect


@pytest.fixture
def window(qtbot, clinic) -> MainWindow:
    """The main window on the test's clinic, shown, formatting amounts as in Australia."""
    main = MainWindow(clinic)
    main.formatter.locale = "en_AU"
    qtbot.addWidget(main)
    main.show()
    qtbot.waitExposed(main)
    return main
