"""Dark mode: every label of the payment dialog can be read in a light and in a dark palette.

The palette is the truth: colours come from it (no stylesheet on labels), so a label's text colour
is ``palette(foregroundRole)`` and its background is the colour of the nearest widget that paints
one (the window). Each label is also grabbed, to check that what is painted is that: its commonest
pixel is that background and its most contrasting pixel is readable against it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from desktop_app.core import AllocationMode
from desktop_app.ui.dialogs.payment_dialog import PaymentDialog
from desktop_app.ui.models.allocation import APPLY
from desktop_app.ui.style import MIN_TEXT_CONTRAST, contrast_ratio, dark_palette


@pytest.fixture(params=["light", "dark"])
def scheme(request, qapp) -> Iterator[str]:
    """The app in its light palette, then in Qt's dark Fusion palette (as on a dark desktop)."""
    original = QPalette(qapp.palette())
    if request.param == "dark":
        qapp.setPalette(dark_palette())
    try:
        yield request.param
    finally:
        qapp.setPalette(original)


def colour_group(widget: QWidget) -> QPalette.ColorGroup:
    if not widget.isEnabled():
        return QPalette.ColorGroup.Disabled
    if widget.isActiveWindow():
        return QPalette.ColorGroup.Active
    return QPalette.ColorGroup.Inactive


def background(widget: QWidget) -> QColor:
    """What a widget is painted on: the nearest one (itself, a parent, the window) that fills."""
    current: QWidget | None = widget
    while current is not None:
        if current.autoFillBackground() or current.isWindow():
            return current.palette().color(colour_group(current), current.backgroundRole())
        current = current.parentWidget()
    raise AssertionError("no window")


def painted(label: QLabel) -> tuple[QColor, QColor]:
    """(the commonest pixel, the pixel that contrasts most with it) of the label as drawn."""
    image = label.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    counts = Counter(image.pixel(x, y) for y in range(image.height()) for x in range(image.width()))
    back = QColor.fromRgb(counts.most_common(1)[0][0])
    text = max((QColor.fromRgb(p) for p in counts), key=lambda c: contrast_ratio(c, back))
    return back, text


def unreadable(dialog: QWidget) -> list[str]:
    """Every visible label with text whose contrast is below 4.5:1, described."""
    problems = []
    labels = [lb for lb in dialog.findChildren(QLabel) if lb.isVisible() and lb.text().strip()]
    assert len(labels) > 20  # the figures, the form's captions, the mode line, hints, message
    for label in labels:
        text = label.palette().color(colour_group(label), label.foregroundRole())
        back = background(label)
        ratio = contrast_ratio(text, back)
        if ratio < MIN_TEXT_CONTRAST:
            problems.append(f"{label.text()!r}: {text.name()} on {back.name()} is {ratio:.2f}:1")
        drawn_back, drawn_text = painted(label)
        if drawn_back != back:
            problems.append(f"{label.text()!r} is drawn on {drawn_back.name()}, not {back.name()}")
        if any(ch.isalnum() for ch in label.text()):  # letters have stems drawn fully in colour
            drawn = contrast_ratio(drawn_text, drawn_back)
            if drawn < MIN_TEXT_CONTRAST:
                problems.append(f"{label.text()!r} is painted at {drawn:.2f}:1")
    return problems


@pytest.fixture
def patient_with_credit(clinic):
    """$60 of account credit and a $40 invoice: every part of the dialog has something to say."""
    pid = clinic.add_patient("Grace", "Hopper")
    clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "60"}), "prepay")
    invoice = clinic.create_invoice(pid, [("Consultation", "40", 1)])
    return pid, invoice


def open_dialog(qtbot, clinic, formatter, pid, invoice) -> PaymentDialog:
    dialog = PaymentDialog(clinic, formatter, pid, invoice)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def test_every_label_of_the_payment_dialog_is_readable(
    qtbot, clinic, formatter, patient_with_credit, scheme
):
    pid, invoice = patient_with_credit
    dialog = open_dialog(qtbot, clinic, formatter, pid, invoice)
    window = dialog.palette().color(QPalette.ColorRole.Window)
    assert (window.lightness() < 128) == (scheme == "dark")
    assert "Automatic allocation" in dialog.mode_label.text()
    assert unreadable(dialog) == []

    cash = dialog.source_edits["Cash"]
    qtbot.keyClicks(cash, "abc")  # a refusal: the message is the problem red
    assert "not an amount" in dialog.message_label.text()
    assert unreadable(dialog) == []


def test_the_warning_with_automatic_allocation_off_is_readable(
    qtbot, clinic, formatter, patient_with_credit, scheme
):
    pid, invoice = patient_with_credit
    clinic.set_allocation_mode(AllocationMode.OFF)
    dialog = open_dialog(qtbot, clinic, formatter, pid, invoice)
    assert dialog.mode_label.text().startswith("Automatic allocation is off")
    qtbot.keyClicks(dialog.source_edits["Cash"], "100")  # all of it left as credit: amber
    assert "will be left as account credit" in dialog.message_label.text()
    assert unreadable(dialog) == []


def test_the_nothing_to_save_notice_is_readable(qtbot, clinic, formatter, scheme):
    pid = clinic.add_patient("Ada", "Lovelace")
    invoice = clinic.create_invoice(pid, [("Consultation", "40", 1)])
    dialog = open_dialog(qtbot, clinic, formatter, pid, invoice)
    assert dialog.message_label.text().startswith("Nothing to save yet")
    assert unreadable(dialog) == []


def test_amounts_filled_in_automatically_are_readable_on_every_row(
    qtbot, clinic, formatter, patient_with_credit, scheme
):
    pid, invoice = patient_with_credit
    dialog = open_dialog(qtbot, clinic, formatter, pid, invoice)
    model = dialog.allocation_model
    index = model.index(0, APPLY)
    assert model.data(index) == "$40.00"  # from account credit, not typed
    softer = model.data(index, Qt.ItemDataRole.ForegroundRole).color()
    palette = QApplication.palette()
    assert softer != palette.color(QPalette.ColorRole.Text)  # told apart from typed amounts
    for role in (QPalette.ColorRole.Base, QPalette.ColorRole.AlternateBase):
        assert contrast_ratio(softer, palette.color(role)) >= MIN_TEXT_CONTRAST


def test_a_refused_amount_stays_readable(qtbot, clinic, formatter, patient_with_credit, scheme):
    pid, invoice = patient_with_credit
    dialog = open_dialog(qtbot, clinic, formatter, pid, invoice)
    cash = dialog.source_edits["Cash"]
    qtbot.keyClicks(cash, "12.345")
    assert cash.error
    back, text = painted_field(cash)
    assert contrast_ratio(text, back) >= MIN_TEXT_CONTRAST


def painted_field(edit: QWidget) -> tuple[QColor, QColor]:
    """The inside of a field as drawn: its fill and its text's most contrasting pixel."""
    image = edit.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    inner = image.copy(4, 4, image.width() - 8, image.height() - 8)  # without the border
    counts = Counter(inner.pixel(x, y) for y in range(inner.height()) for x in range(inner.width()))
    back = QColor.fromRgb(counts.most_common(1)[0][0])
    text = max((QColor.fromRgb(p) for p in counts), key=lambda c: contrast_ratio(c, back))
    return back, text


def colours_drawn(widget: QWidget) -> Counter[int]:
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    return Counter(image.pixel(x, y) for y in range(image.height()) for x in range(image.width()))


@pytest.mark.parametrize("kind", ["bars", "line"])
def test_charts_are_readable_in_both_palettes(qtbot, scheme, kind):
    from decimal import Decimal

    from desktop_app.ui.style import MIN_GRAPHIC_CONTRAST, chart_colours
    from desktop_app.ui.widgets.bar_chart import BarChart
    from desktop_app.ui.widgets.line_chart import LineChart

    host = QWidget()
    qtbot.addWidget(host)
    if kind == "bars":
        chart: QWidget = BarChart(lambda value: f"${value}", host)
        chart.set_bars([("Cash", Decimal(120)), ("Refunds", Decimal(-30))])
    else:
        chart = LineChart(lambda value: f"${value}", host)
        chart.set_points([("Sep", Decimal(10)), ("Oct", Decimal(80)), ("Nov", Decimal(40))])
    chart.resize(500, 150)
    host.show()
    qtbot.waitExposed(host)
    colours = chart_colours(chart.palette())
    counts = colours_drawn(chart)
    back = QColor.fromRgb(counts.most_common(1)[0][0])
    assert back == chart.palette().color(QPalette.ColorRole.Window)
    assert colours.series.rgb() in counts  # the bars or the line, drawn in the series colour
    assert contrast_ratio(colours.series, back) >= MIN_GRAPHIC_CONTRAST
    if kind == "bars":
        assert colours.negative.rgb() in counts
        assert contrast_ratio(colours.negative, back) >= MIN_GRAPHIC_CONTRAST
        # Told apart by hue (teal and orange, apart for red-green colour blindness too), by
        # side of the zero line and by the minus sign.
        apart = abs(colours.negative.hslHue() - colours.series.hslHue())
        assert min(apart, 360 - apart) >= 90
    text = max((QColor.fromRgb(p) for p in counts), key=lambda c: contrast_ratio(c, back))
    assert contrast_ratio(text, back) >= MIN_TEXT_CONTRAST  # labels and amounts
    assert contrast_ratio(colours.text, back) >= MIN_TEXT_CONTRAST


def test_a_print_preview_is_dark_around_white_paper(qtbot, scheme):
    from desktop_app.core import Letterhead
    from desktop_app.ui.printing.dialog import DocumentDialog

    html = "<h1>Payment receipt</h1><p>Received from Ada Lovelace: $50.00</p>"
    dialog = DocumentDialog("Receipt", lambda: (html, Letterhead("Harbour Physio")))
    qtbot.addWidget(dialog)
    dialog.resize(700, 700)
    dialog.show()
    qtbot.waitExposed(dialog)
    image = dialog.preview.grab().toImage()
    surround = QColor.fromRgb(image.pixel(6, 6))
    paper = QColor.fromRgb(image.pixel(image.width() // 2, image.height() // 2))
    assert paper == QColor("#ffffff")  # the page is paper, whatever the palette
    window = dialog.palette().color(QPalette.ColorRole.Window)
    assert surround.name() == dialog.palette().color(QPalette.ColorRole.Dark).name()
    if scheme == "dark":
        assert surround.lightness() <= window.lightness()  # no glaring grey around the page
    texts = colours_drawn(dialog.preview)
    assert QColor("#000000").rgb() in texts or any(  # the document's text is black on it
        QColor.fromRgb(p).lightness() < 40 for p in texts
    )
