"""A small horizontal bar chart drawn with QPainter: takings by payment type, receivables by age.

Each bar is one labelled amount; the widest bar is the largest amount. Negative amounts (a day of
more refunds than takings) draw to the left of the zero line, in a warning colour. Its colours come
from the palette (:func:`desktop_app.ui.style.chart_colours`), so it reads in light and dark mode.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop_app.ui.style import chart_colours

ROW_HEIGHT = 22


class BarChart(QWidget):
    """Bars (label, amount), one per row, with the amount written after each bar."""

    def __init__(self, value_text: Callable[[Decimal], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bars: list[tuple[str, Decimal]] = []
        self._value_text = value_text
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(600, max(len(self._bars), 1) * ROW_HEIGHT + 8)

    def set_bars(self, bars: Sequence[tuple[str, Decimal]]) -> None:
        """Show these bars, top to bottom."""
        self._bars = list(bars)
        self.setFixedHeight(self.sizeHint().height() if self._bars else 0)
        self.setAccessibleDescription(
            "; ".join(f"{label}: {self._value_text(value)}" for label, value in self._bars)
        )
        self.update()

    @property
    def bars(self) -> list[tuple[str, Decimal]]:
        """The bars shown."""
        return list(self._bars)

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802
        if not self._bars:
            return
        colours = chart_colours(self.palette())
        painter = QPainter(self)
        metrics = painter.fontMetrics()
        label_width = max(metrics.horizontalAdvance(label) for label, _ in self._bars) + 12
        value_width = max(metrics.horizontalAdvance(self._value_text(v)) for _, v in self._bars)
        largest = max(abs(value) for _, value in self._bars) or Decimal(1)
        negatives = any(value < 0 for _, value in self._bars)
        area = self.width() - label_width - value_width - 16
        zero = label_width + (area / 2 if negatives else 0)
        scale = (area / 2 if negatives else area) / float(largest)
        align = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for row, (label, value) in enumerate(self._bars):
            top = 4 + row * ROW_HEIGHT
            painter.setPen(colours.text)
            painter.drawText(QRectF(0, top, label_width - 8, ROW_HEIGHT), align, label)
            length = float(abs(value)) * scale  # pixels only; the written amount stays exact
            left = zero - length if value < 0 else zero
            painter.fillRect(
                QRectF(left, top + 4, max(length, 1.0), ROW_HEIGHT - 8),
                colours.negative if value < 0 else colours.series,
            )
            painter.drawText(
                QRectF(
                    zero + max(length, 0) + 6 if value >= 0 else zero + 6,
                    top,
                    value_width + 8,
                    ROW_HEIGHT,
                ),
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                self._value_text(value),
            )
        painter.end()
