"""The app's look: its icon, Qt's own translations and message tones, loaded from the package.

Messages are coloured by tone (:data:`TONES`): a dynamic ``tone`` property that the stylesheet in
``desktop_app/resources/style`` matches. The stylesheet is given to each toned label, not to the
whole application: an application-wide stylesheet makes Qt draw every cell of every table through
its stylesheet style, which measured about 20% slower repaints of the invoice list.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QLocale, QSize, QTranslator
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from desktop_app import resources

#: A refusal or an error (red, bold).
PROBLEM_TONE = "problem"
#: Worth a second look (amber).
WARNING_TONE = "warning"
#: A plain notice (dark grey).
INFO_TONE = "info"
#: A hint about how to use a window (grey).
HINT_TONE = "hint"
#: Something that went well (green).
DONE_TONE = "done"
#: Account credit (green).
CREDIT_TONE = "credit"
#: What a message can say: ``problem`` (red, bold), ``warning`` (amber), ``info`` (dark grey),
#: ``hint`` (grey), ``done`` and ``credit`` (green).
TONES = (PROBLEM_TONE, WARNING_TONE, INFO_TONE, HINT_TONE, DONE_TONE, CREDIT_TONE)


@cache
def _stylesheet() -> str:
    return resources.stylesheet()


def set_tone(widget: QWidget, tone: str | None) -> None:
    """Colour ``widget`` (a label) as ``tone``; None: the ordinary text colour."""
    if tone is not None and tone not in TONES:
        raise ValueError(f"Unknown tone {tone!r}: one of {', '.join(TONES)}.")
    if widget.styleSheet() != _stylesheet():
        widget.setStyleSheet(_stylesheet())
    elif widget.property("tone") == tone:
        return
    widget.setProperty("tone", tone)
    style = widget.style()
    style.unpolish(widget)  # the stylesheet's [tone=...] rules are matched again
    style.polish(widget)


def app_icon() -> QIcon:
    """The Clinic Ledger icon, every size of it (each file is read when that size is drawn)."""
    icon = QIcon()
    for file, size in zip(resources.icon_files(), resources.ICON_SIZES, strict=True):
        icon.addFile(str(file), QSize(size, size))
    return icon


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


#: Text colours of the tones for table cells, which the stylesheet does not reach: the
#: stylesheet's colour on a light palette, and a lighter one of the same hue on a dark palette
#: (each at least 4.5:1 against the palette's base).
_CELL_TONES = {
    PROBLEM_TONE: ("#a61b1b", "#ff8a80"),
    WARNING_TONE: ("#8a5300", "#f2b64f"),
    DONE_TONE: ("#17663a", "#7ed69c"),
}
#: An overdue invoice's status (the word "Overdue" says it; the colour is a second cue).
OVERDUE_TONE = WARNING_TONE


def tone_colour(tone: str, palette: QPalette | None = None) -> QColor:
    """The text colour of ``tone`` for a table cell on ``palette`` (default: the application's)."""
    light, dark = _CELL_TONES[tone]
    base = (palette or QApplication.palette()).color(QPalette.ColorRole.Base)
    return QColor(dark if base.lightness() < 128 else light)
