"""The app's look: its icon, Qt's own translations, and colours that suit a light or dark palette.

Every colour the windows use comes from the palette in force (the system's light or dark scheme,
as Qt reports it), never from a fixed grey: messages are coloured by tone (:data:`TONES`) with
:func:`set_tone`, tables and charts ask :func:`tone_colour`, :func:`overdue_tone`,
:func:`problem_background` and :func:`chart_colours`. Each picks a light-background or
dark-background variant from the palette's window colour and then checks it against the WCAG
contrast ratio (4.5:1 for text, :data:`MIN_TEXT_CONTRAST`; 3:1 for bars and lines), nudging it
towards black or white until it passes. Printed documents are paper and stay black on white
(:mod:`desktop_app.ui.printing.html`).

A toned label gets its colour through its palette (no stylesheet), so the palette is what is
painted, and the colour is worked out again whenever the label's palette changes (the system
switched between light and dark while the app runs) or it moves to another parent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from PySide6.QtCore import QEvent, QLocale, QObject, QRect, QSize, Qt, QTranslator
from PySide6.QtGui import QColor, QFont, QIcon, QIconEngine, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QApplication, QGraphicsView, QStyleOption, QWidget

from desktop_app import resources

#: A refusal or an error (red, bold).
PROBLEM_TONE = "problem"
#: Worth a second look (amber).
WARNING_TONE = "warning"
#: A plain notice (the text colour, a little softer).
INFO_TONE = "info"
#: A hint about how to use a window (softer still, still readable).
HINT_TONE = "hint"
#: Something that went well (green).
DONE_TONE = "done"
#: Account credit (green).
CREDIT_TONE = "credit"
#: What a message can say: ``problem`` (red, bold), ``warning`` (amber), ``info`` (soft text),
#: ``hint`` (softer text), ``done`` and ``credit`` (green).
TONES = (PROBLEM_TONE, WARNING_TONE, INFO_TONE, HINT_TONE, DONE_TONE, CREDIT_TONE)
#: An open invoice past its due date (amber: worth a second look, not an error).
OVERDUE_TONE = WARNING_TONE

#: WCAG 2's minimum contrast for ordinary text (level AA).
MIN_TEXT_CONTRAST = 4.5
#: WCAG 2's minimum contrast for bars, lines and other graphics that carry meaning.
MIN_GRAPHIC_CONTRAST = 3.0

#: The coloured tones: (on a light background, on a dark background).
_HUES: dict[str, tuple[str, str]] = {
    PROBLEM_TONE: ("#a61b1b", "#ff8a80"),
    WARNING_TONE: ("#8a5300", "#f0b45a"),
    DONE_TONE: ("#17663a", "#7bd88f"),
    CREDIT_TONE: ("#17663a", "#7bd88f"),
}
#: The grey tones: how far the text colour moves towards the background.
_SOFTNESS = {INFO_TONE: 0.2, HINT_TONE: 0.35}
#: Chart series (light, dark): a bar or line, and a negative amount.
_SERIES = ("#1f8a84", "#4fc3b9")
_NEGATIVE = ("#b5651d", "#f0a35e")


# -- contrast -----------------------------------------------------------------------------------


def relative_luminance(colour: QColor) -> float:
    """WCAG 2's relative luminance of an sRGB colour: 0 for black, 1 for white."""

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    rgb = colour.toRgb()
    return (
        0.2126 * linear(rgb.redF()) + 0.7152 * linear(rgb.greenF()) + 0.0722 * linear(rgb.blueF())
    )


def contrast_ratio(first: QColor, second: QColor) -> float:
    """WCAG 2's contrast ratio of two colours, from 1 (the same) to 21 (black on white)."""
    a, b = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def blend(colour: QColor, other: QColor, amount: float) -> QColor:
    """``colour`` moved ``amount`` (0 to 1) of the way towards ``other``."""
    a, b = colour.toRgb(), other.toRgb()
    return QColor.fromRgbF(
        a.redF() + (b.redF() - a.redF()) * amount,
        a.greenF() + (b.greenF() - a.greenF()) * amount,
        a.blueF() + (b.blueF() - a.blueF()) * amount,
    )


def readable(colour: QColor, *backgrounds: QColor, minimum: float = MIN_TEXT_CONTRAST) -> QColor:
    """``colour``, or the nearest shade of it (towards black on light backgrounds, white on dark
    ones) with at least ``minimum`` contrast against every one of ``backgrounds``."""
    if all(contrast_ratio(colour, back) >= minimum for back in backgrounds):
        return QColor(colour)
    darkest = min(backgrounds, key=relative_luminance)
    target = QColor("#ffffff") if relative_luminance(darkest) < 0.18 else QColor("#000000")
    for step in range(1, 21):
        shade = blend(colour, target, step / 20)
        if all(contrast_ratio(shade, back) >= minimum for back in backgrounds):
            return shade
    return target


def is_dark(palette: QPalette) -> bool:
    """Whether ``palette`` is a dark one (light text on a dark window)."""
    window = palette.color(QPalette.ColorRole.Window)
    text = palette.color(QPalette.ColorRole.WindowText)
    return relative_luminance(window) < relative_luminance(text)


# -- colours from the palette -------------------------------------------------------------------


def tone_colour(
    tone: str, palette: QPalette, role: QPalette.ColorRole = QPalette.ColorRole.Window
) -> QColor:
    """The text colour of ``tone`` on the palette's ``role`` (the window; ``Base`` in a table),
    readable there (:data:`MIN_TEXT_CONTRAST`)."""
    if tone not in TONES:
        raise ValueError(f"Unknown tone {tone!r}: one of {', '.join(TONES)}.")
    background = palette.color(role)
    if tone in _HUES:
        colour = QColor(_HUES[tone][is_dark(palette)])
    else:
        text_role = (
            QPalette.ColorRole.WindowText
            if role == QPalette.ColorRole.Window
            else QPalette.ColorRole.Text
        )
        colour = blend(palette.color(text_role), background, _SOFTNESS[tone])
    backgrounds = [background]
    if role == QPalette.ColorRole.Base:  # tables alternate their rows' colour
        backgrounds.append(palette.color(QPalette.ColorRole.AlternateBase))
    return readable(colour, *backgrounds)


def overdue_tone(palette: QPalette | None = None) -> QColor:
    """The colour of "Overdue" in a table (amber, readable on every row's colour), on
    ``palette`` (default: the application's).

    Colour is never the only cue: the word says it too.
    """
    return tone_colour(OVERDUE_TONE, palette or QApplication.palette(), QPalette.ColorRole.Base)


def problem_background(palette: QPalette) -> QColor:
    """A faint red behind a refused field or cell, on which the palette's text stays readable."""
    base = palette.color(QPalette.ColorRole.Base)
    text = palette.color(QPalette.ColorRole.Text)
    red = QColor(_HUES[PROBLEM_TONE][0])
    amount = 0.3 if is_dark(palette) else 0.12
    while amount > 0:
        shade = blend(base, red, amount)
        if contrast_ratio(text, shade) >= MIN_TEXT_CONTRAST:
            return shade
        amount -= 0.02
    return QColor(base)


def problem_style(palette: QPalette, selector: str) -> str:
    """The stylesheet of a refused field of type ``selector`` (``"QLineEdit"``): a red border
    and a faint red background, with the palette's own text colour (readable on it in a light
    or a dark palette)."""
    border = tone_colour(PROBLEM_TONE, palette, QPalette.ColorRole.Base).name()
    background = problem_background(palette).name()
    text = palette.color(QPalette.ColorRole.Text).name()
    return f"{selector} {{ border: 2px solid {border}; background: {background}; color: {text}; }}"


@dataclass(frozen=True)
class ChartColours:
    """What a chart draws with: its labels, its gridlines, a series and a negative amount."""

    text: QColor
    grid: QColor
    series: QColor
    negative: QColor


def chart_colours(palette: QPalette) -> ChartColours:
    """Chart colours for a chart drawn on the palette's window colour: labels in the text
    colour, faint gridlines, and series that stand out (3:1) from the background."""
    background = palette.color(QPalette.ColorRole.Window)
    text = palette.color(QPalette.ColorRole.WindowText)
    dark = is_dark(palette)
    return ChartColours(
        text=QColor(text),
        grid=blend(text, background, 0.78),
        series=readable(QColor(_SERIES[dark]), background, minimum=MIN_GRAPHIC_CONTRAST),
        negative=readable(QColor(_NEGATIVE[dark]), background, minimum=MIN_GRAPHIC_CONTRAST),
    )


def dark_palette() -> QPalette:
    """Qt's own dark palette for the Fusion style (what Qt shows on a dark desktop), for
    checking and showing the app in dark mode wherever the system cannot be asked for one."""
    window_text = QColor(240, 240, 240)
    window = QColor(50, 50, 50)
    light, mid, dark = window.lighter(150), window.darker(130), window.darker(150)
    base = window.darker(140)
    palette = QPalette(window_text, window, light, dark, mid, window_text, base)
    roles = QPalette.ColorRole
    palette.setColor(roles.Midlight, mid.lighter(110))
    palette.setColor(roles.Button, window)
    palette.setColor(roles.ButtonText, window_text)
    palette.setColor(roles.Shadow, dark.darker(135))
    palette.setColor(roles.AlternateBase, base.lighter(120))
    palette.setColor(roles.Highlight, QColor(48, 140, 198))
    palette.setColor(roles.HighlightedText, window_text)
    palette.setColor(roles.ToolTipBase, window)
    palette.setColor(roles.ToolTipText, window_text)
    palette.setColor(roles.Link, QColor(110, 180, 255))
    palette.setColor(roles.LinkVisited, QColor(190, 150, 255))
    placeholder = QColor(window_text)
    placeholder.setAlpha(128)
    palette.setColor(roles.PlaceholderText, placeholder)
    disabled = QPalette.ColorGroup.Disabled
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        palette.setColor(disabled, role, QColor(130, 130, 130))
    palette.setColor(disabled, roles.Base, window)
    palette.setColor(disabled, roles.Highlight, QColor(145, 145, 145))
    return palette


# -- toned labels -------------------------------------------------------------------------------

_TONE = "tone"
_BOLDED = "toneBolded"


def _inherited_palette(widget: QWidget) -> QPalette:
    parent = widget.parentWidget()
    if parent is not None and not widget.isWindow():
        return parent.palette()
    return QApplication.palette(widget)


def _paint_tone(widget: QWidget) -> None:
    """Give ``widget`` its tone's colour for the palette it sits in now."""
    tone = widget.property(_TONE)
    if not tone:
        return
    colour = tone_colour(str(tone), _inherited_palette(widget))
    palette = widget.palette()
    groups = (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive)
    roles = (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text)
    if all(palette.color(g, r) == colour for g in groups for r in roles):
        return  # already right (this also ends the PaletteChange that setPalette sends)
    for group in groups:
        for role in roles:
            palette.setColor(group, role, colour)
    widget.setPalette(palette)


_DESK = "paperDesk"


def _paint_desk(view: QGraphicsView) -> None:
    brush = view.palette().brush(QPalette.ColorRole.Dark)
    if view.backgroundBrush() != brush:
        view.setBackgroundBrush(brush)


def follow_palette_behind_paper(preview: QWidget) -> None:
    """Paint the surround of a print preview's pages in the palette's dark shade (Qt paints a
    fixed light grey there, glaring in dark mode). The pages stay white: they are paper."""
    for view in preview.findChildren(QGraphicsView):
        view.setProperty(_DESK, True)
        view.installEventFilter(_tone_keeper())
        _paint_desk(view)


class _ToneKeeper(QObject):
    """Colours a toned label (or a preview's surround) again when its palette or parent
    changes."""

    WATCHED: ClassVar[frozenset[QEvent.Type]] = frozenset(
        {QEvent.Type.PaletteChange, QEvent.Type.ParentChange}
    )

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() in self.WATCHED and isinstance(watched, QWidget):
            if isinstance(watched, QGraphicsView) and watched.property(_DESK):
                _paint_desk(watched)
            else:
                _paint_tone(watched)
        return False


_keeper: _ToneKeeper | None = None


def _tone_keeper() -> _ToneKeeper:
    global _keeper  # one filter object serves every toned label
    if _keeper is None:
        _keeper = _ToneKeeper()
    return _keeper


def set_tone(widget: QWidget, tone: str | None) -> None:
    """Colour ``widget`` (a label) as ``tone``, from its palette; None: the ordinary text colour.

    ``problem`` is bold too. The colour follows the palette: a label moved into a window, or a
    switch between the system's light and dark schemes, colours it again.
    """
    if tone is not None and tone not in TONES:
        raise ValueError(f"Unknown tone {tone!r}: one of {', '.join(TONES)}.")
    if widget.property(_TONE) == tone:
        return
    widget.setProperty(_TONE, tone)
    if tone is None:
        widget.setPalette(QPalette())  # inherit every colour again
    else:
        widget.installEventFilter(_tone_keeper())  # installed once, however often it is called
        _paint_tone(widget)
    bolded = bool(widget.property(_BOLDED))  # made bold here (not bold of its own)
    if tone == PROBLEM_TONE and not bolded and not widget.font().bold():
        _set_bold(widget, True)
    elif tone != PROBLEM_TONE and bolded:
        _set_bold(widget, False)


def _set_bold(widget: QWidget, bold: bool) -> None:
    font = QFont(widget.font())
    font.setBold(bold)
    widget.setFont(font)
    widget.setProperty(_BOLDED, bold)


# -- icon and translations ----------------------------------------------------------------------


class _IconFiles(QIconEngine):
    """An icon drawn from one PNG file per pixel size, each read the first time it is drawn.

    A request for N device pixels (a 32-pixel icon on a 200% screen asks for 64) gets the
    smallest file of at least N pixels, made smaller when none is exactly N: never a smaller file
    enlarged. (Qt's own file-based icon engine, as of Qt 6.11, hands later 200% requests the
    first file it loaded for one, shown enlarged.)
    """

    def __init__(self, files: dict[int, str]) -> None:
        super().__init__()
        self._files = dict(sorted(files.items()))
        self._read: dict[int, QPixmap] = {}

    def _file_pixmap(self, pixels: int) -> QPixmap:
        size = next((size for size in self._files if size >= pixels), max(self._files))
        if size not in self._read:
            self._read[size] = QPixmap(self._files[size])
        return self._read[size]

    def scaledPixmap(  # noqa: N802
        self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float
    ) -> QPixmap:
        width, height = max(1, round(size.width() * scale)), max(1, round(size.height() * scale))
        pixmap = QPixmap(self._file_pixmap(max(width, height)))
        if pixmap.width() != width or pixmap.height() != height:
            pixmap = pixmap.scaled(
                width,
                height,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        if mode != QIcon.Mode.Normal:
            pixmap = QApplication.style().generatedIconPixmap(mode, pixmap, QStyleOption())
        pixmap.setDevicePixelRatio(scale)
        return pixmap

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        ratio = painter.device().devicePixelRatioF() if painter.device() else 1.0
        painter.drawPixmap(rect, self.scaledPixmap(rect.size(), mode, state, ratio))

    def availableSizes(  # noqa: N802
        self, mode: QIcon.Mode = QIcon.Mode.Normal, state: QIcon.State = QIcon.State.Off
    ) -> list[QSize]:
        return [QSize(size, size) for size in self._files]

    def clone(self) -> QIconEngine:
        return _IconFiles(self._files)

    def key(self) -> str:
        return "clinic-ledger-icon-files"


def app_icon() -> QIcon:
    """The Clinic Ledger icon, every size of it (each file is read when that size is drawn).

    Each size has its own file, up to twice the largest size a window asks for, so a 200% screen
    draws it from a file of at least its pixel size too: crisp, never enlarged.
    """
    files = zip(resources.ICON_SIZES, resources.icon_files(), strict=True)
    return QIcon(_IconFiles({size: str(file) for size, file in files}))


def install_qt_translations(app: QApplication, locale: QLocale | None = None) -> QTranslator | None:
    """Translate Qt's own texts (standard buttons, context menus) into the system's language.

    The translations ship with Qt (in the package, frozen or not). The app's own texts are
    English. Returns the installed translator, or None when Qt has none for the language.
    """
    wanted = locale or QLocale()
    if wanted.language() in (QLocale.Language.English, QLocale.Language.C):
        return None  # Qt's own texts are English already
    from PySide6.QtCore import QLibraryInfo  # only when a translation is wanted

    translator = QTranslator(app)
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if translator.load(wanted, "qtbase", "_", folder):
        app.installTranslator(translator)
        return translator
    translator.deleteLater()
    return None


def apply_style(app: QApplication) -> None:
    """Give the application its icon and Qt's translations for the system's language."""
    app.setWindowIcon(app_icon())
    install_qt_translations(app)
