"""Icon, stylesheet tones and Qt's translations: loaded from the package, applied to widgets."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication, QLocale
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLabel

from desktop_app import resources
from desktop_app.ui.style import TONES, app_icon, install_qt_translations, set_tone


def test_the_icon_loads_from_the_package_in_every_size(qapp):
    icon = app_icon()
    assert not icon.isNull()
    sizes = sorted(size.width() for size in icon.availableSizes())
    assert sizes == list(resources.ICON_SIZES)


@pytest.mark.parametrize(
    ("tone", "colour", "bold"),
    [("problem", "#a61b1b", True), ("warning", "#8a5300", False), ("done", "#17663a", False)],
)
def test_a_tone_colours_a_label_from_the_stylesheet(qtbot, tone, colour, bold):
    label = QLabel("Message")
    qtbot.addWidget(label)
    plain = label.palette().color(QPalette.ColorRole.WindowText).name()
    set_tone(label, tone)
    label.ensurePolished()
    assert label.palette().color(QPalette.ColorRole.WindowText).name() == colour
    assert label.font().bold() == bold
    set_tone(label, None)  # back to ordinary text
    label.ensurePolished()
    assert label.palette().color(QPalette.ColorRole.WindowText).name() == plain
    assert not label.font().bold()


def test_an_unknown_tone_is_refused(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    with pytest.raises(ValueError, match="Unknown tone 'loud'"):
        set_tone(label, "loud")
    assert set(TONES) <= set(resources.stylesheet().replace('"', " ").split())


def test_qt_translations_follow_the_system_language(qapp):
    app = QApplication.instance()
    assert install_qt_translations(app, QLocale(QLocale.Language.Esperanto)) is None
    translator = install_qt_translations(app, QLocale(QLocale.Language.German))
    assert translator is not None
    try:
        assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Abbrechen"
    finally:
        app.removeTranslator(translator)
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Cancel"
