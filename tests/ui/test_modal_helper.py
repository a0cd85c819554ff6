"""The modal-dialog helper behind ``with_modal`` and ``answer`` fails within seconds, not never."""

from __future__ import annotations

import time

import pytest
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget

from tests.ui.conftest import ModalAnswers


def accept(dialog: QWidget) -> None:
    assert isinstance(dialog, QDialog)
    dialog.accept()


def test_it_answers_a_message_box_and_returns_its_text(qtbot, answer):
    box = QMessageBox(QMessageBox.Icon.Information, "Backup", "Backed up.")
    qtbot.addWidget(box)
    texts = answer(accept)
    assert box.exec() == QDialog.DialogCode.Accepted
    assert texts == ["Backed up."]


def test_a_dialog_that_never_opens_fails_the_test_within_the_deadline(qtbot):
    modals = ModalAnswers(qtbot, timeout_s=0.3)
    modals.expect(accept, what="the restore confirmation")
    started = time.monotonic()
    # While the test runs: the failure is raised in the event loop, where pytest-qt catches it.
    with qtbot.capture_exceptions() as raised:
        qtbot.waitUntil(lambda: bool(raised), timeout=3_000)
    assert time.monotonic() - started < 3
    assert str(raised[0][1]) == (
        "no modal dialog appeared within 0.3 s; expected the restore confirmation"
    )
    # And when the fixture ends, the dialog that never came is reported again.
    with pytest.raises(pytest.fail.Exception, match=r"no modal dialog appeared within 0\.3 s"):
        modals.verify()


def test_a_test_that_ends_before_the_dialog_opens_does_not_pass_silently(qtbot):
    modals = ModalAnswers(qtbot, timeout_s=0.3)
    modals.expect(accept)  # ... and the code under test never opens a dialog.
    with pytest.raises(
        pytest.fail.Exception,
        match=r"no modal dialog appeared within 0\.3 s; expected a dialog for accept\(\)",
    ):
        modals.verify()


def test_a_wrong_dialog_is_rejected_so_exec_returns_and_the_error_is_reported(qtbot):
    modals = ModalAnswers(qtbot, timeout_s=0.3)

    def choose_file(dialog: QWidget) -> None:
        assert isinstance(dialog, QFileDialog), f"got {type(dialog).__name__}"

    box = QMessageBox(QMessageBox.Icon.Question, "Restore", "Replace the clinic's data?")
    qtbot.addWidget(box)
    modals.expect(choose_file)
    with qtbot.capture_exceptions() as raised:
        result = box.exec()  # would block forever if the helper left the box open
    assert result == QDialog.DialogCode.Rejected
    assert str(raised[0][1]).startswith("got QMessageBox")
    modals.verify()  # the dialog did appear: nothing more to report
