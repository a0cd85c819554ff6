"""Icon, message tones and Qt's translations: loaded from the package, applied to widgets."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication, QLocale, QSize
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel

from desktop_app import resources
from desktop_app.ui.style import (
    MIN_TEXT_CONTRAST,
    TONES,
    app_icon,
    contrast_ratio,
    dark_palette,
    install_qt_translations,
    readable,
    set_tone,
    tone_colour,
)

TEXT = QPalette.ColorRole.WindowText


def test_the_icon_loads_from_the_package_in_every_size(qapp):
    icon = app_icon()
    assert not icon.isNull()
    sizes = sorted(size.width() for size in icon.availableSizes())
    assert sizes == list(resources.ICON_SIZES)


def test_contrast_is_measured_as_wcag_says():
    black, white = QColor("#000000"), QColor("#ffffff")
    assert contrast_ratio(black, white) == pytest.approx(21.0)
    assert contrast_ratio(white, black) == pytest.approx(21.0)
    assert contrast_ratio(QColor("#777777"), white) == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio(QColor("#767676"), white) == pytest.approx(4.54, abs=0.01)
    assert contrast_ratio(QColor("#3d3d3d"), QColor("#323232")) < 1.5  # grey on a dark window


@pytest.mark.parametrize("background", ["#ffffff", "#efefef", "#323232", "#1e1e1e", "#808080"])
@pytest.mark.parametrize("colour", ["#777777", "#3d3d3d", "#a61b1b", "#ff8a80", "#f0f0f0"])
def test_readable_shades_a_colour_until_it_can_be_read(colour, background):
    shade = readable(QColor(colour), QColor(background))
    assert contrast_ratio(shade, QColor(background)) >= MIN_TEXT_CONTRAST
    if contrast_ratio(QColor(colour), QColor(background)) >= MIN_TEXT_CONTRAST:
        assert shade == QColor(colour)  # a readable colour is left alone


@pytest.mark.parametrize(
    ("tone", "light", "bold"),
    [("problem", "#a61b1b", True), ("warning", "#8a5300", False), ("done", "#17663a", False)],
)
def test_a_tone_colours_a_label_and_goes_back_to_plain_text(qtbot, tone, light, bold):
    label = QLabel("Message")
    qtbot.addWidget(label)
    plain = label.palette().color(TEXT).name()
    set_tone(label, tone)
    assert label.palette().color(TEXT).name() == light
    assert label.font().bold() == bold
    set_tone(label, None)  # back to ordinary text
    assert label.palette().color(TEXT).name() == plain
    assert not label.font().bold()


def test_a_bold_label_stays_bold_after_a_problem(qtbot):
    label = QLabel("$20.00")
    qtbot.addWidget(label)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    set_tone(label, "problem")
    set_tone(label, "info")
    assert label.font().bold()


@pytest.mark.parametrize("tone", TONES)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_tone_is_readable_on_a_light_and_a_dark_window(qapp, tone, scheme):
    palette = dark_palette() if scheme == "dark" else qapp.style().standardPalette()
    for role in (QPalette.ColorRole.Window, QPalette.ColorRole.Base):
        colour = tone_colour(tone, palette, role)
        for background in (palette.color(role), palette.color(QPalette.ColorRole.AlternateBase)):
            if role == QPalette.ColorRole.Window and background != palette.color(role):
                continue
            assert contrast_ratio(colour, background) >= MIN_TEXT_CONTRAST, (tone, role)
    soft = tone_colour(tone, palette)
    assert soft != palette.color(TEXT)  # a tone is seen as one


def test_a_toned_label_follows_a_switch_to_dark_while_the_app_runs(qtbot, qapp):
    label = QLabel("Automatic allocation: oldest invoice first.")
    set_tone(label, "info")  # before it is placed in a window, as the dialogs do
    window = QLabel()
    qtbot.addWidget(window)
    label.setParent(window)
    light = label.palette().color(TEXT)
    original = qapp.palette()
    window.show()
    qapp.setPalette(dark_palette())
    try:
        qtbot.waitUntil(lambda: label.palette().color(TEXT) != light)  # Qt posts the change
        dark = label.palette().color(TEXT)
        window_colour = label.palette().color(QPalette.ColorRole.Window)
        assert window_colour == dark_palette().color(QPalette.ColorRole.Window)
        assert contrast_ratio(dark, window_colour) >= MIN_TEXT_CONTRAST
        assert dark == tone_colour("info", dark_palette())
    finally:
        qapp.setPalette(original)
    qtbot.waitUntil(lambda: label.palette().color(TEXT) == light)


def test_an_unknown_tone_is_refused(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    with pytest.raises(ValueError, match="Unknown tone 'loud'"):
        set_tone(label, "loud")


def test_the_icon_is_drawn_from_a_file_of_its_pixel_size_at_200_percent(qapp):
    """At 200% every window-icon size is drawn from a file of twice its size (or larger, made
    smaller), never from its 100% file enlarged, which would be blurred."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    master = QSvgRenderer(str(resources.resource("icons", "clinic-ledger.svg")))
    icon = app_icon()

    def difference(a: QImage, b: QImage) -> float:
        """The mean difference of two images' channels (0 to 255)."""
        first = bytes(a.convertToFormat(QImage.Format.Format_ARGB32).constBits())
        second = bytes(b.convertToFormat(QImage.Format.Format_ARGB32).constBits())
        assert len(first) == len(second)
        return sum(abs(x - y) for x, y in zip(first, second, strict=True)) / len(first)

    for logical in (16, 24, 32, 48, 64, 128, 256):
        pixmap = icon.pixmap(QSize(logical, logical), 2.0)
        assert pixmap.devicePixelRatio() == 2.0
        assert pixmap.deviceIndependentSize().toSize() == QSize(logical, logical)
        assert pixmap.size() == QSize(2 * logical, 2 * logical)
        sharp = QImage(2 * logical, 2 * logical, QImage.Format.Format_ARGB32_Premultiplied)
        sharp.fill(Qt.GlobalColor.transparent)
        painter = QPainter(sharp)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        master.render(painter)
        painter.end()
        enlarged = (
            icon.pixmap(QSize(logical, logical), 1.0)
            .toImage()
            .scaled(
                2 * logical,
                2 * logical,
                Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )
        drawn = difference(pixmap.toImage(), sharp)
        assert drawn < difference(enlarged, sharp) / 2, logical


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


AT_200_PERCENT = """
import json
from PySide6.QtCore import QSize
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QLabel
from desktop_app import resources
from desktop_app.ui.style import apply_style

app = QApplication([])
apply_style(app)
label = QLabel("Account credit: $100.00")
label.show()
app.processEvents()
ratio = label.devicePixelRatioF()
shot = label.grab()
icon = app.windowIcon().pixmap(QSize(32, 32), ratio)
argb = QImage.Format.Format_ARGB32


def icon_matches(drawn, file):
    # Qt may round a colour channel by one when it converts the file; another size scaled to
    # 64 pixels differs by far more (the 128 px file by up to 14 in a channel).
    if drawn.size() != file.size():
        return False
    return all(
        abs(((drawn.pixel(x, y) >> shift) & 255) - ((file.pixel(x, y) >> shift) & 255)) <= 1
        for x in range(file.width())
        for y in range(file.height())
        for shift in (0, 8, 16, 24)
    )


file = QImage(str(resources.resource("icons", "clinic-ledger-64.png"))).convertToFormat(argb)
print(json.dumps({
    "ratio": ratio,
    "shot": [shot.width(), shot.height(), label.width(), label.height()],
    "icon": [icon.width(), icon.height(), icon.devicePixelRatio()],
    "icon is the 64 px file": icon_matches(icon.toImage().convertToFormat(argb), file),
}))
"""


def test_at_200_percent_windows_and_the_icon_draw_at_twice_the_pixels():
    """Qt started at 200% scale (as on a high-DPI screen): a window is drawn with twice the
    pixels each way, and the title bar's 32-pixel icon comes from the 64-pixel file."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": "2"}
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", AT_200_PERCENT],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    seen = json.loads(done.stdout)
    assert seen["ratio"] == 2.0
    width, height, logical_width, logical_height = seen["shot"]
    assert (width, height) == (2 * logical_width, 2 * logical_height)
    assert seen["icon"] == [64, 64, 2.0]
    assert seen["icon is the 64 px file"]
