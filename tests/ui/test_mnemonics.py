"""Keyboard mnemonics: no two visible Alt+letter keys collide in one window, and Alt+T opens Tools.

The walk covers the main window and every window its menus open (each menu action is triggered
by its text, the window it opens is inspected, then closed).
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QLabel,
    QMenu,
    QMenuBar,
    QTabWidget,
    QWidget,
)

from desktop_app.core import Clinic
from desktop_app.ui.main_window import MainWindow


def mnemonic(text: str) -> str | None:
    """The letter after a single '&' ('&&' is a literal ampersand), lower-cased."""
    match = re.search(r"(?<!&)&(?:&&)*([^&\s])", text.replace("&&", "\0\0"))
    return match.group(1).lower() if match else None


def mnemonics(window: QWidget) -> dict[str, list[str]]:
    """Every visible mnemonic in ``window`` (menu titles, buttons, tabs, labels with buddies)."""
    found: dict[str, list[str]] = defaultdict(list)

    def note(text: str) -> None:
        key = mnemonic(text)
        if key is not None:
            found[key].append(text)

    for bar in window.findChildren(QMenuBar):
        if bar.window() is window and bar.isVisible():
            for action in bar.actions():
                if action.isVisible():
                    note(action.text())
    for button in window.findChildren(QAbstractButton):
        if button.window() is window and button.isVisible():
            note(button.text())
    for tabs in window.findChildren(QTabWidget):
        if tabs.window() is window and tabs.isVisible():
            for index in range(tabs.count()):
                if tabs.isTabVisible(index):
                    note(tabs.tabText(index))
    for label in window.findChildren(QLabel):
        if label.window() is window and label.isVisible() and label.buddy() is not None:
            note(label.text())
    return found


def collisions(window: QWidget) -> dict[str, list[str]]:
    return {key: texts for key, texts in mnemonics(window).items() if len(texts) > 1}


@pytest.fixture
def window(qtbot, clinic: Clinic) -> MainWindow:
    clinic.add_patient("Ada", "Lovelace")
    main = MainWindow(clinic)
    qtbot.addWidget(main)
    main.show()
    qtbot.waitExposed(main)
    return main


def _menu_actions(window: MainWindow) -> list[tuple[str, object]]:
    actions = []
    for top in window.menuBar().actions():
        menu = top.menu()
        if isinstance(menu, QMenu):
            for action in menu.actions():
                if action.text().endswith("…") and action.isEnabled():
                    actions.append((action.text(), action))
    return actions


def test_main_window_mnemonics_are_unique(window):
    assert collisions(window) == {}
    assert mnemonic(window.tabs.tabText(window.tabs.count() - 1)) != "t"


def test_each_menu_gives_each_of_its_entries_its_own_letter(window):
    """Within one open menu, a letter shared by two entries only moves between them."""

    def entries(menu: QMenu) -> list[str]:
        found = []
        for action in menu.actions():
            found.append(action.text())
            if isinstance(action.menu(), QMenu) and action.menu() is not menu:
                assert not collisions_in(entries(action.menu())), action.text()
        return found

    def collisions_in(texts: list[str]) -> dict[str, list[str]]:
        keys: dict[str, list[str]] = defaultdict(list)
        for text in texts:
            if (key := mnemonic(text)) is not None:
                keys[key].append(text)
        return {k: v for k, v in keys.items() if len(v) > 1}

    for top in window.menuBar().actions():
        assert isinstance(top.menu(), QMenu)
        assert collisions_in(entries(top.menu())) == {}, top.text()


def test_every_window_the_menus_open_has_unique_mnemonics(qtbot, window):
    seen: dict[str, dict[str, list[str]]] = {}
    before = set(QApplication.topLevelWidgets())
    for text, action in _menu_actions(window):
        inspected: list[str] = []

        def inspect_modal(text: str = text, inspected: list[str] = inspected) -> None:
            modal = QApplication.activeModalWidget()
            if modal is None:
                return
            inspected.append(modal.windowTitle())
            seen[f"{text} -> {modal.windowTitle()}"] = collisions(modal)
            modal.close()

        QTimer.singleShot(200, inspect_modal)
        action.trigger()  # type: ignore[attr-defined]
        for other in set(QApplication.topLevelWidgets()) - before:
            if other.isVisible() and other is not window and not isinstance(other, QMenu):
                seen[f"{text} -> {other.windowTitle()}"] = collisions(other)
                other.close()
    assert seen, "the menus opened no windows"
    assert {name: found for name, found in seen.items() if found} == {}


def test_alt_t_opens_the_tools_menu(qtbot, window):
    tools = next(a for a in window.menuBar().actions() if a.text().replace("&", "") == "Tools")
    assert mnemonic(tools.text()) == "t"
    assert "t" not in {k for k, v in mnemonics(window).items() if v != [tools.text()]}
    qtbot.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.AltModifier)
    menu = tools.menu()
    assert isinstance(menu, QMenu)
    qtbot.waitUntil(menu.isVisible)
    menu.close()
