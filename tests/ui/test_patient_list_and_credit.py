"""The patient list and the Payments tab as the front desk uses them: search that ignores accents
and apostrophes and says when it finds nobody, whole names and headers, how each payment was made,
and applying account credit to open invoices from the Patient and Tools menus."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog

from desktop_app.core import Clinic
from desktop_app.ui.dialogs.apply_credit import ApplyCreditDialog
from desktop_app.ui.dialogs.payment_dialog import PaymentDialog
from desktop_app.ui.main_window import NAME_WIDTH, MainWindow
from desktop_app.ui.models.allocation import FROM_CREDIT
from desktop_app.ui.models.patients import CREDIT_TO_APPLY, NAME, NOTE

TOOLTIP = Qt.ItemDataRole.ToolTipRole


def menu_action(window: MainWindow, menu: str, text: str) -> QAction:
    """The action called ``text`` (mnemonic ampersands ignored) in the menu bar's ``menu``."""
    for top in window.menuBar().actions():
        if top.text().replace("&", "") == menu:
            for act in top.menu().actions():
                if act.text().replace("&", "") == text:
                    return act
    raise AssertionError(f"no {menu} > {text}")


def shown_names(window: MainWindow) -> list[str]:
    model = window.patient_model
    return [model.data(model.index(row, NAME)) for row in range(model.rowCount())]


def search(qtbot, window: MainWindow, text: str) -> None:
    window.search_edit.clear()
    qtbot.keyClicks(window.search_edit, text)
    qtbot.waitUntil(lambda: window.patient_model._search == text)


def owes_and_holds(clinic: Clinic, first: str, last: str, owed: str, credit: str) -> int:
    """A patient with an open invoice who then receives account credit (a transfer)."""
    pid = clinic.add_patient(first, last)
    clinic.create_invoice(pid, [("Consultation", owed, 1)])
    donor = clinic.add_patient("Donor", f"For {last}")
    clinic.record_payment(clinic.preview_payment(donor, {"Cash": credit}), f"donor-{last}")
    clinic.transfer_credit(donor, pid, credit, reason="family", request_id=f"to-{last}")
    return pid


def test_search_ignores_apostrophes_and_accents_and_says_when_nobody_matches(qtbot, clinic, window):
    for first, last in [("Sean", "O'Brien"), ("Siobhan", "O\u2019Brien"), ("Liam", "O-Brien")]:
        clinic.add_patient(first, last)
    clinic.add_patient("Zoë", "Papadopoulos")
    window.refresh_after_change()
    assert not window.no_match_label.isVisible()
    search(qtbot, window, "obrien")
    assert sorted(shown_names(window)) == [
        "O'Brien, Sean",
        "O-Brien, Liam",
        "O\u2019Brien, Siobhan",
    ]
    search(qtbot, window, "zoe")
    assert shown_names(window) == ["Papadopoulos, Zoë"]
    assert not window.no_match_label.isVisible()
    search(qtbot, window, "nobody here")
    assert shown_names(window) == []
    assert window.no_match_label.isVisible()
    assert window.no_match_label.text() == "No patients match"
    window.search_edit.clear()
    qtbot.waitUntil(lambda: window.patient_model.rowCount() == 4)
    assert not window.no_match_label.isVisible()


def test_long_names_elide_with_the_whole_name_as_tooltip_and_headers_are_whole(
    qtbot, clinic, window
):
    long_last = "Papadopoulos-Konstantinidis-Alexandropoulou"
    clinic.add_patient("Anastasia", long_last)
    clinic.add_patient("Al", "Wright")
    window.refresh_after_change()
    view, model = window.patient_view, window.patient_model
    header = view.horizontalHeader()
    name_width = header.sectionSize(NAME)
    assert NAME_WIDTH[0] <= name_width <= NAME_WIDTH[1]
    full = f"{long_last}, Anastasia"
    assert view.fontMetrics().horizontalAdvance(full) > name_width  # it has to be cut...
    row = shown_names(window).index(full)
    assert model.data(model.index(row, NAME), TOOLTIP) == full  # ...and the tooltip is whole
    assert view.fontMetrics().horizontalAdvance("Wright, Al") < name_width  # short ones fit
    for column in range(model.columnCount()):
        title = model.headerData(column, Qt.Orientation.Horizontal)
        assert header.fontMetrics().horizontalAdvance(title) < header.sectionSize(column), title
        assert model.headerData(column, Qt.Orientation.Horizontal, TOOLTIP) == title
    payments = window.payment_view.horizontalHeader()
    for column in range(window.payment_model.columnCount()):
        title = window.payment_model.headerData(column, Qt.Orientation.Horizontal)
        assert payments.fontMetrics().horizontalAdvance(title) < payments.sectionSize(column)


def test_saved_payment_is_selected_on_the_payments_tab_with_how_it_was_paid(
    qtbot, clinic, window, with_modal
):
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.record_payment(clinic.preview_payment(pid, {"Cash": "30"}), "prepay")
    clinic.create_invoice(pid, [("Consultation", "50", 1)])
    window.refresh_after_change()
    window.select_patient(pid)
    window.tabs.setCurrentWidget(window.invoice_view)

    def pay(dialog: QDialog) -> None:
        assert isinstance(dialog, PaymentDialog)
        qtbot.keyClicks(dialog.source_edits["Cash"], "20")
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    with_modal(pay)
    menu_action(window, "Patient", "Enter payment…").trigger()
    assert window.tabs.currentWidget() is window.payment_view
    selected = window.selected_payment()
    assert selected is not None and selected.total == Decimal("20.00")
    model = window.payment_model
    paid_by = [model.data(model.index(row, 3)) for row in range(model.rowCount())]
    assert model.headerData(3, Qt.Orientation.Horizontal) == "Paid by"
    assert paid_by == ["Cash $30.00", "Cash $20.00, Account credit $30.00"]


def test_credit_beside_open_invoices_is_flagged_and_applied_for_one_patient(
    qtbot, clinic, window, with_modal
):
    zoe = owes_and_holds(clinic, "Zoe", "Kelly", "140", "205")
    window.refresh_after_change()
    window.select_patient(zoe)
    model = window.patient_model
    row = model.row_of(zoe)
    assert model.data(model.index(row, NOTE)) == CREDIT_TO_APPLY
    assert "$205.00" in model.data(model.index(row, NOTE), TOOLTIP)
    action = menu_action(window, "Patient", "Apply credit to open invoices…")
    assert action.isEnabled()
    seen: dict[str, object] = {}

    def apply(dialog: QDialog) -> None:
        assert isinstance(dialog, ApplyCreditDialog)
        seen["patients"] = dialog.patient_names
        allocation = dialog.allocation_model
        seen["from credit"] = allocation.data(allocation.index(0, FROM_CREDIT))
        qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)

    with_modal(apply)
    action.trigger()
    assert seen == {"patients": ["Zoe Kelly"], "from credit": "$140.00"}
    assert clinic.patient(zoe).credit == Decimal("65.00")
    assert clinic.patient(zoe).outstanding == 0
    assert model.data(model.index(model.row_of(zoe), NOTE)) == ""
    assert not action.isEnabled()
    assert window.tabs.currentWidget() is window.payment_view
    saved = window.selected_payment()
    assert saved is not None and saved.total == 0
    paid_by = window.payment_model.index(window.payment_model.rowCount() - 1, 3)
    assert window.payment_model.data(paid_by) == "Account credit $140.00"


def test_tools_menu_applies_credit_for_every_patient_who_holds_it_while_owing(
    qtbot, clinic, window, with_modal
):
    zoe = owes_and_holds(clinic, "Zoe", "Kelly", "140", "205")
    jack = owes_and_holds(clinic, "Jack", "Ngata", "110", "20")
    owing = clinic.add_patient("Only", "Owing")
    clinic.create_invoice(owing, [("Consultation", "30", 1)])
    window.refresh_after_change()
    action = menu_action(window, "Tools", "Apply credit to open invoices for all…")
    seen: dict[str, object] = {}

    def apply(dialog: QDialog) -> None:
        assert isinstance(dialog, ApplyCreditDialog)
        seen["patients"] = dialog.patient_names
        qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)

    with_modal(apply)
    action.trigger()
    assert seen["patients"] == ["Zoe Kelly", "Jack Ngata"]
    figures = {
        pid: (clinic.patient(pid).credit, clinic.patient(pid).outstanding)
        for pid in (zoe, jack, owing)
    }
    assert figures == {
        zoe: (Decimal("65.00"), 0),
        jack: (0, Decimal("90.00")),
        owing: (0, Decimal("30.00")),
    }
    assert clinic.credit_beside_open_invoices() == []
    assert "for 2 patients" in window.statusBar().currentMessage()
    assert clinic.verify() == []


def test_reports_show_whole_names_and_headers(qtbot, clinic, formatter):
    from desktop_app.ui.dialogs.reports import ReportsWindow

    for first, last in [("Henrietta", "Wright"), ("Christopher", "Anderson-Montgomery")]:
        pid = clinic.add_patient(first, last)
        clinic.create_invoice(pid, [("Consultation", "80", 1)])
    holder = clinic.add_patient("Alexandra", "Papadopoulos")
    clinic.record_payment(clinic.preview_payment(holder, {"Cash": "50"}), "credit")
    reports = ReportsWindow(clinic, formatter)
    qtbot.addWidget(reports)
    reports.resize(1000, 700)
    reports.show()
    qtbot.waitExposed(reports)
    reports.show_aged()
    for table in (reports.aged_table, reports.liability_table):
        model, header = table.model(), table.horizontalHeader()
        assert model.rowCount() > 0
        for column in range(model.columnCount()):
            title = model.headerData(column, Qt.Orientation.Horizontal)
            assert header.fontMetrics().horizontalAdvance(title) < header.sectionSize(column)
        for row in range(model.rowCount()):
            name = model.data(model.index(row, 0))
            assert table.fontMetrics().horizontalAdvance(name) < header.sectionSize(0), name
            assert model.data(model.index(row, 0), TOOLTIP) == name
