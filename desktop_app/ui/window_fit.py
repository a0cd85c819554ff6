"""Windows that fit the screen: every window and dialog opens inside the screen's available area.

One rule for the whole program: a top-level window is never larger than the available area of
the screen it is on (the screen minus task bars and docks), and never placed outside it.

- :func:`fit_to_screen` applies the rule to one window (used after a saved geometry is restored).
- :func:`install_window_fit` applies it to every window and dialog as it is shown, through one
  application-wide event filter, so a dialog's fixed ``resize(760, 900)`` still fits a laptop.
- :func:`grow_to_fit` makes a shown dialog tall enough for a wrapped message (a long refusal), up
  to the screen's height.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QApplication, QDialog, QWidget

#: Window types the rule leaves alone: menus, tooltips and the like place themselves.
_SKIPPED_TYPES = frozenset(
    {
        Qt.WindowType.Popup,
        Qt.WindowType.ToolTip,
        Qt.WindowType.SplashScreen,
        Qt.WindowType.Desktop,
        Qt.WindowType.SubWindow,
    }
)


def screen_for(widget: QWidget) -> QScreen | None:
    """The screen ``widget`` is on: the one under its centre, else its own, else the primary."""
    screen = QGuiApplication.screenAt(widget.geometry().center())
    if screen is None:
        screen = widget.screen()
    return screen if screen is not None else QGuiApplication.primaryScreen()


def available_area(widget: QWidget) -> QRect | None:
    """The available geometry of the screen ``widget`` is on (None without any screen)."""
    screen = screen_for(widget)
    return screen.availableGeometry() if screen is not None else None


def _frame_extra(widget: QWidget) -> QSize:
    """What the window frame adds to the client size (nothing before the window has a frame)."""
    frame = widget.frameGeometry()
    inner = widget.geometry()
    return QSize(
        max(0, frame.width() - inner.width()),
        max(0, frame.height() - inner.height()),
    )


def fit_to_screen(widget: QWidget, *, move: bool = True) -> None:
    """Shrink ``widget`` to at most its screen's available size and (when ``move``) move it inside.

    A maximised or full-screen window is left to the window system.
    """
    if widget.windowState() & (Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen):
        return
    area = available_area(widget)
    if area is None or area.isEmpty():
        return
    extra = _frame_extra(widget)
    most = QSize(area.width() - extra.width(), area.height() - extra.height())
    size = widget.size()
    fitted = QSize(min(size.width(), most.width()), min(size.height(), most.height()))
    if fitted != size:
        minimum = widget.minimumSize()
        if minimum.width() > most.width() or minimum.height() > most.height():
            widget.setMinimumSize(
                min(minimum.width(), most.width()), min(minimum.height(), most.height())
            )
        widget.resize(fitted)
    if not move:
        return
    frame = widget.frameGeometry()
    width = max(frame.width(), widget.width() + extra.width())
    height = max(frame.height(), widget.height() + extra.height())
    left = min(max(frame.left(), area.left()), area.right() + 1 - width)
    top = min(max(frame.top(), area.top()), area.bottom() + 1 - height)
    target = QPoint(max(left, area.left()), max(top, area.top()))
    if target != frame.topLeft():
        widget.move(target)


def grow_to_fit(window: QWidget) -> None:
    """Make a shown window tall enough for its wrapped text (a long refusal), never shorter,
    and never taller than the screen's available area."""
    layout = window.layout()
    if layout is None or not window.isVisible():
        return  # before it is shown, the window takes its size from the layout anyway
    layout.activate()
    needed = window.minimumSizeHint().height()
    if window.hasHeightForWidth():
        needed = max(needed, window.heightForWidth(window.width()))
    elif layout.hasHeightForWidth():
        needed = max(needed, layout.totalHeightForWidth(window.width()))
    area = available_area(window)
    if area is not None and not area.isEmpty():
        needed = min(needed, area.height() - _frame_extra(window).height())
    if needed > window.height():
        window.resize(window.width(), needed)
    fit_to_screen(window)


class _WindowFitFilter(QObject):
    """Fits each top-level window to its screen as it is shown."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() != QEvent.Type.Show or event.spontaneous():
            return False
        if not isinstance(watched, QWidget) or not watched.isWindow():
            return False
        if watched.windowType() in _SKIPPED_TYPES:
            return False
        # A dialog not placed by hand centres itself over its parent right after this, inside
        # the screen once it is small enough; anything else is moved inside here.
        placed_by_dialog = isinstance(watched, QDialog) and not watched.testAttribute(
            Qt.WidgetAttribute.WA_Moved
        )
        fit_to_screen(watched, move=not placed_by_dialog)
        return False


#: The filter per application, held here so Python keeps it (and its eventFilter) alive.
_installed: dict[int, _WindowFitFilter] = {}


def install_window_fit(app: QApplication | None = None) -> None:
    """Fit every window and dialog of ``app`` (default: the running one) to its screen when
    shown. Installing twice does nothing more."""
    target = app if app is not None else QApplication.instance()
    if target is None:
        return
    key = id(target)
    installed = _installed.get(key)
    if installed is not None and installed.parent() is target:
        return
    fit_filter = _WindowFitFilter(target)
    target.installEventFilter(fit_filter)
    _installed[key] = fit_filter
