"""Overdue invoices in the patient's Invoices tab and in All invoices (word, colour, filter)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from PySide6.QtCore import Qt

from desktop_app.core import Clinic
from desktop_app.ui.dialogs.invoice_list import InvoiceListWindow
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.models.invoices import STATUS
from desktop_app.ui.style import contrast_ratio, overdue_tone

FOREGROUND = Qt.ItemDataRole.ForegroundRole


@pytest.fixture
def owing(clinic: Clinic) -> int:
    """Ada owes three invoices: #1 without a due date, #2 due today, #3 due yesterday."""
    today = date.today()
    pid = clinic.add_patient("Ada", "Lovelace")
    for price, due in (("10", None), ("20", today), ("40", today - timedelta(days=1))):
        clinic.create_invoice(
            pid, [("Consult", price, 1)], issue_date=today - timedelta(days=30), due_date=due
        )
    return pid


def test_all_invoices_says_overdue_and_filters_it(qtbot, clinic, formatter, owing):
    window = InvoiceListWindow(clinic, formatter)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    model = window.model
    statuses = [model.data(model.index(row, STATUS)) for row in range(model.rowCount())]
    assert statuses == ["Open", "Open", "Overdue"]
    assert model.data(model.index(2, STATUS), FOREGROUND) == overdue_tone()
    assert model.data(model.index(1, STATUS), FOREGROUND) is None

    window.status_combo.setFocus()
    qtbot.keyClicks(window.status_combo, "Ov")  # type to choose, as in any drop-down
    assert window.status_combo.currentText() == "Overdue"
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    assert model.invoice(0).number == 3
    assert model.data(model.index(0, STATUS)) == "Overdue"
    qtbot.waitUntil(lambda: window.count_label.text() == "1 invoice")
    window.close()


def test_the_invoices_tab_says_overdue_in_colour(qtbot, clinic, owing):
    main = MainWindow(clinic)
    qtbot.addWidget(main)
    main.show()
    qtbot.waitExposed(main)
    main.select_patient(owing)
    model = main.invoice_model
    qtbot.waitUntil(lambda: model.rowCount() == 3)
    status = model.columnCount() - 2  # the last column says where each stands with Xero
    assert model.headerData(status, Qt.Orientation.Horizontal) == "Status"
    shown = {model.record(r).number: model.data(model.index(r, status)) for r in range(3)}
    assert shown == {1: "Open", 2: "Open", 3: "Overdue"}
    colours = {
        model.record(r).number: model.data(model.index(r, status), FOREGROUND) for r in range(3)
    }
    assert colours == {1: None, 2: None, 3: overdue_tone()}
    # The colour reads on the palette's base (at least 4.5:1).
    assert contrast_ratio(overdue_tone(), main.invoice_view.palette().base().color()) >= 4.5
