"""A small line chart drawn with QPainter: the total account-credit liability over months.

Qt's chart module is not part of the Qt packages the app ships (PySide6-Essentials), and one
series of thirteen points needs only axes, a line and labels. Its colours come from the palette
(:func:`desktop_app.ui.style.chart_colours`), so it reads in light and dark mode.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from itertools import pairwise

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop_app.ui.style import chart_colours


class LineChart(QWidget):
    """Points (label, value) joined by a line, with the first, middle and last labels shown."""

    def __init__(self, value_text: Callable[[Decimal], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._points: list[tuple[str, Decimal]] = []
        self._value_text = value_text
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(150)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(600, 150)

    def set_points(self, points: Sequence[tuple[str, Decimal]]) -> None:
        """Show these points, oldest first."""
        self._points = list(points)
        self.setAccessibleDescription(
            "; ".join(f"{label}: {self._value_text(value)}" for label, value in self._points)
        )
        self.update()

    @property
    def points(self) -> list[tuple[str, Decimal]]:
        """The points shown."""
        return list(self._points)

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802
        if not self._points:
            return
        colours = chart_colours(self.palette())
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = painter.fontMetrics()
        amounts = [value for _, value in self._points]
        high, low = max(amounts), min(Decimal(0), min(amounts))
        values = [float(value) for value in amounts]  # pixel positions only; labels stay exact
        top, bottom = float(high), float(low)
        span = (top - bottom) or 1.0
        left_margin = metrics.horizontalAdvance(self._value_text(high)) + 12
        area = QRectF(left_margin, 10, self.width() - left_margin - 12, self.height() - 34)
        painter.setPen(QPen(colours.grid, 1))
        for fraction, label in ((0.0, low), (0.5, (low + high) / 2), (1.0, high)):
            y = area.bottom() - fraction * area.height()
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
            painter.setPen(colours.text)
            painter.drawText(
                QRectF(0, y - 10, left_margin - 6, 20),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                self._value_text(label),
            )
            painter.setPen(QPen(colours.grid, 1))
        step = area.width() / max(len(values) - 1, 1)
        points = [
            QPointF(area.left() + n * step, area.bottom() - (v - bottom) / span * area.height())
            for n, v in enumerate(values)
        ]
        painter.setPen(QPen(colours.series, 2))
        for a, b in pairwise(points):
            painter.drawLine(a, b)
        painter.setBrush(colours.series)
        for point in points:
            painter.drawEllipse(point, 3, 3)
        painter.setPen(colours.text)
        shown = sorted({0, len(points) // 2, len(points) - 1})
        for n in shown:
            name = self._points[n][0]
            width = metrics.horizontalAdvance(name)
            x = min(max(points[n].x() - width / 2, 0), self.width() - width)
            painter.drawText(QPointF(x, self.height() - 6), name)
        painter.end()
