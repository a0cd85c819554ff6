"""Every window fits the screen, and refusals are shown whole.

The menu walk runs in a child pytest on a real 1366x768 offscreen screen (the offscreen platform's
``configfile`` option), so the rest of the window tests keep their usual screen.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QByteArray, QPoint, QRect, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QDialog,
    QLabel,
    QMenu,
    QWidget,
)

from desktop_app.core import Clinic
from desktop_app.core.demo import populate
from desktop_app.ui.dialogs.patient_dialog import PatientDialog
from desktop_app.ui.dialogs.payment_dialog import PaymentDialog
from desktop_app.ui.dialogs.sign_in import SignInDialog
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.window_fit import fit_to_screen

LAPTOP = (1366, 768)

#: Menu entries that end the session or write files rather than open a window to look at.
_NOT_OPENED = ("quit", "exit", "sign out", "lock", "restore from backup")


def _available() -> QRect:
    screen = QGuiApplication.primaryScreen()
    assert screen is not None
    return screen.availableGeometry()


def _outside(window: QWidget) -> list[str]:
    """What of ``window`` (its frame, its visible buttons) lies outside the available area."""
    area = _available()
    problems = []
    if not area.contains(window.frameGeometry()):
        problems.append(f"{window.windowTitle()!r} frame {window.frameGeometry()} not in {area}")
    for button in window.findChildren(QAbstractButton):
        if not button.isVisibleTo(window) or button.window() is not window:
            continue
        rect = QRect(button.mapToGlobal(QPoint(0, 0)), button.size())
        if not area.contains(rect):
            problems.append(f"{window.windowTitle()!r} button {button.text()!r} at {rect}")
    return problems


def _leaf_actions(menu: QMenu) -> list[QAction]:
    found = []
    for action in menu.actions():
        if action.isSeparator():
            continue
        if action.menu() is not None:
            found += _leaf_actions(action.menu())
        else:
            found.append(action)
    return found


def laptop_check_menus_open_inside_the_screen(qtbot, clinic):
    """Every window the menus open fits the screen: collected only by the child pytest of the
    test below (``-o python_functions=laptop_check_*``), on its 1366x768 screen."""
    assert (_available().width(), _available().height()) == LAPTOP
    populate(clinic, patients=12)
    window = MainWindow(clinic)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert _outside(window) == []
    problems: list[str] = []
    opened: list[str] = []
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        assert menu is not None
        for action in _leaf_actions(menu):
            text = action.text().replace("&", "")
            if not action.isEnabled() or any(word in text.lower() for word in _NOT_OPENED):
                continue
            before = {id(w) for w in QApplication.topLevelWidgets() if w.isVisible()}
            seen: list[QWidget] = []
            timer = QTimer(singleShot=True, interval=50)

            def check_and_close(
                before: set[int] = before, seen: list[QWidget] = seen, timer: QTimer = timer
            ) -> None:
                new = [
                    w
                    for w in QApplication.topLevelWidgets()
                    if w.isVisible()
                    and id(w) not in before
                    and w.windowType() != Qt.WindowType.Popup
                ]
                for widget in new:
                    seen.append(widget)
                    problems.extend(_outside(widget))
                    opened.append(widget.windowTitle())
                    if isinstance(widget, QDialog):
                        widget.reject()
                    else:
                        widget.close()
                if not new and len(seen) == 0:
                    timer.start()

            timer.timeout.connect(check_and_close)
            timer.start()
            action.trigger()
            check_and_close()  # a window shown without blocking is checked and closed here
            if not seen:
                timer.stop()  # an entry that changes something in place opens no window
                continue
            qtbot.waitUntil(lambda: QApplication.activeModalWidget() is None, timeout=5000)
    print(opened)
    assert problems == []
    assert len(opened) >= 8, opened


def test_every_window_from_the_menus_fits_a_1366x768_screen(tmp_path):
    config = tmp_path / "screen.json"
    config.write_text(
        json.dumps(
            {
                "windowFrameMargins": False,
                "screens": [
                    {"name": "laptop", "x": 0, "y": 0, "width": LAPTOP[0], "height": LAPTOP[1]}
                ],
            }
        )
    )
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}")
    here = Path(__file__)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "python_functions=laptop_check_*",
            str(here),
        ],
        cwd=here.parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout


def _clipped(dialog: QWidget) -> list[str]:
    """Visible labels with text whose box is too small for it."""
    clipped = []
    for label in dialog.findChildren(QLabel):
        if not label.isVisibleTo(dialog) or not label.text():
            continue
        if label.wordWrap():
            if label.height() < label.heightForWidth(label.width()):
                clipped.append(f"{label.text()[:40]!r}: {label.height()} < hfw")
        elif label.width() < label.sizeHint().width():
            clipped.append(f"{label.text()[:40]!r}: {label.width()} < {label.sizeHint().width()}")
    return clipped


def test_a_long_name_refusal_shows_whole_in_new_patient(qtbot, clinic):
    dialog = PatientDialog(clinic)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.first_edit.setText("A" * 280)
    qtbot.keyClicks(dialog.last_edit, "Smith")
    before = dialog.height()
    qtbot.keyClick(dialog.last_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.message_label.text() != "")
    assert dialog.patient_id is None
    assert dialog.height() > before
    assert _clipped(dialog) == []
    assert _available().contains(dialog.frameGeometry())


def test_a_wrong_password_shows_whole_in_sign_in(qtbot, clinic):
    dialog = SignInDialog(clinic, username="nobody")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.keyClicks(dialog.password_edit, "wrong")
    qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.message_label.text() != "")
    assert dialog.signed_in is None
    assert _clipped(dialog) == []


def test_a_huge_saved_geometry_restores_inside_the_screen(qtbot, clinic, tmp_path):
    settings = QSettings(str(tmp_path / "ledger.ini"), QSettings.Format.IniFormat)
    probe = QWidget()
    qtbot.addWidget(probe)
    probe.setGeometry(5000, 5000, 3000, 2000)
    saved: QByteArray = probe.saveGeometry()
    settings.setValue("main_window/geometry", saved)
    window = MainWindow(clinic, settings=settings)
    qtbot.addWidget(window)
    assert _available().contains(window.geometry()), window.geometry()  # clamped on restore
    window.show()
    qtbot.waitExposed(window)
    assert _available().contains(window.frameGeometry()), window.frameGeometry()


def test_a_refused_payment_shows_every_label_whole(qtbot, clinic, formatter):
    pid = clinic.add_patient("Ada", "Lovelace")
    dialog = PaymentDialog(clinic, formatter, pid, None)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    edit = dialog.source_edits["Cash"]
    qtbot.keyClicks(edit, "10")
    with Clinic.open(clinic.url) as other_desk:
        other_desk.update_settings(payment_types=["EFTPOS", "Credit card"])
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "no longer in use" in dialog.message_label.text())
    assert dialog.saved_payment_id is None
    assert _clipped(dialog) == []
    assert _available().contains(dialog.frameGeometry())


def test_fit_to_screen_brings_a_huge_far_window_inside(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    window.setGeometry(5000, 5000, 3000, 2000)
    fit_to_screen(window)
    assert _available().contains(window.geometry()), window.geometry()
    window.show()
    qtbot.waitExposed(window)
    assert _available().contains(window.frameGeometry()), window.frameGeometry()
