"""Tools > Verify ledger speaks plain words; the technical checks are one click away."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractButton, QDialog, QMessageBox, QTextEdit

from desktop_app.ui.main_window import MainWindow


def _tools_action(window: MainWindow, text: str):
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        if menu is not None and menu_action.text().replace("&", "") == "Tools":
            return next(a for a in menu.actions() if a.text() == text)
    raise AssertionError("no Tools menu")


def _details_button(box: QMessageBox) -> QAbstractButton:
    return next(b for b in box.buttons() if "Details" in b.text())


def _show(qtbot, clinic) -> MainWindow:
    window = MainWindow(clinic)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_a_sound_ledger_in_plain_words_and_the_checks_behind_details(qtbot, clinic, with_modal):
    window = _show(qtbot, clinic)
    seen: dict[str, object] = {}

    def read(dialog: QDialog) -> None:
        assert isinstance(dialog, QMessageBox)
        seen["text"] = dialog.text() + dialog.informativeText()
        details = dialog.findChild(QTextEdit)
        seen["hidden before"] = details is None or not details.isVisible()
        _details_button(dialog).click()
        details = dialog.findChild(QTextEdit)
        qtbot.waitUntil(lambda: details is not None and details.isVisible())
        seen["details"] = details.toPlainText()
        dialog.accept()

    with_modal(read)
    _tools_action(window, "&Verify ledger").trigger()
    assert seen["text"] == "The ledger is in order: every balance, credit and payment adds up."
    assert "invariant" not in str(seen["text"]).lower()
    assert seen["hidden before"]
    details = str(seen["details"]).splitlines()
    assert [line.split(" ", 2)[:2] for line in details] == [
        [f"I{n}", "passed:"] for n in range(1, 12)
    ]


def test_a_problem_is_said_plainly_with_what_to_do(qtbot, clinic, with_modal, monkeypatch):
    window = _show(qtbot, clinic)
    found = [
        "I7 Patient 1 (Ada Lovelace): stored account credit $10.00 differs from the records "
        "($0.00).",
        "I7 Invoice #3: stored paid amount $5.00 differs from its applications ($0.00).",
        "I5 Request 'r1' recorded 2 payments instead of one.",
    ]
    monkeypatch.setattr(clinic, "verify", lambda: list(found))
    seen: dict[str, str] = {}

    def read(dialog: QDialog) -> None:
        assert isinstance(dialog, QMessageBox)
        seen["text"] = dialog.text()
        seen["more"] = dialog.informativeText()
        _details_button(dialog).click()
        details = dialog.findChild(QTextEdit)
        qtbot.waitUntil(lambda: details is not None and details.isVisible())
        seen["details"] = details.toPlainText()
        dialog.accept()

    with_modal(read)
    _tools_action(window, "&Verify ledger").trigger()
    assert seen["text"] == "The ledger check found 3 problems."
    assert seen["more"].splitlines()[:2] == [
        "A stored balance or total differs from the records it comes from (2 times).",
        "A payment was saved twice.",
    ]
    assert "make a backup" in seen["more"] and "Nothing was changed" in seen["more"]
    assert "I7 FAILED" in seen["details"] and "stored paid amount $5.00" in seen["details"]
    assert "I1 passed" in seen["details"]
