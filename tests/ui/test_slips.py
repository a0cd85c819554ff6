"""The front desk forgives a slip: Escape asks before typed work is lost, a new invoice says
nothing is wrong before anything is typed, and every date box shows dates the same way."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDateEdit, QDialog, QMessageBox

from desktop_app.ui.dialogs.invoice_dialog import DESCRIPTION, PRICE, InvoiceDialog
from desktop_app.ui.dialogs.reports import ReportsWindow
from desktop_app.ui.forms import DATE_DISPLAY_FORMAT
from desktop_app.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, clinic) -> MainWindow:
    pid = clinic.add_patient("Ada", "Lovelace")
    main = MainWindow(clinic)
    main.formatter.locale = "en_AU"
    qtbot.addWidget(main)
    main.show()
    qtbot.waitExposed(main)
    main.select_patient(pid)
    return main


def _type_line(qtbot, dialog: InvoiceDialog, description: str, price: str) -> None:
    for column, text in ((DESCRIPTION, description), (PRICE, price)):
        dialog.table.item(0, column).setText(text)


def _answer(qtbot, button_text: str, seen: list[str]):
    """Answer the discard question: press Escape on it, or click the named button."""

    def act(box: QMessageBox) -> None:
        assert isinstance(box, QMessageBox)
        seen.append(box.text())
        if button_text == "Escape":
            qtbot.keyClick(box, Qt.Key.Key_Escape)
            return
        [button] = [b for b in box.buttons() if b.text().replace("&", "") == button_text]
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    return act


def test_escape_on_a_typed_invoice_asks_and_going_back_keeps_every_line(qtbot, window, with_modal):
    clinic = window.clinic
    seen: list[str] = []
    kept: list[str] = []

    def invoice(dialog: QDialog) -> None:
        assert isinstance(dialog, InvoiceDialog)
        _type_line(qtbot, dialog, "Initial consultation", "95.00")
        # Escape on the question is "Keep editing": the invoice stays as typed.
        with_modal(_answer(qtbot, "Escape", seen))
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        assert dialog.isVisible()
        kept.append(dialog.table.item(0, DESCRIPTION).text())
        # Escape again, and this time Discard.
        with_modal(_answer(qtbot, "Discard", seen))
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)

    with_modal(invoice)
    window.new_invoice_action.trigger()
    assert kept == ["Initial consultation"]
    assert len(seen) == 2 and all("Discard" in text for text in seen), seen
    assert clinic.invoices(window.patient_id) == []


def test_escape_on_an_untouched_invoice_closes_it_at_once(qtbot, window, with_modal):
    closed: list[bool] = []

    def invoice(dialog: QDialog) -> None:
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # no question: it would block here
        closed.append(not dialog.isVisible())

    with_modal(invoice)
    window.new_invoice_action.trigger()
    assert closed == [True]


def test_a_new_invoice_says_nothing_is_wrong_before_anything_is_typed(qtbot, clinic, formatter):
    pid = clinic.add_patient("Ada", "Lovelace")
    dialog = InvoiceDialog(clinic, formatter, pid, "Ada Lovelace")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.message_label.text() == ""
    _type_line(qtbot, dialog, "Initial consultation", "ninety")
    assert dialog.message_label.text() != ""  # now the person has done something, it says why
    dialog.table.item(0, PRICE).setText("95.00")
    assert dialog.message_label.text() == ""


def test_every_date_box_shows_dates_one_way(qtbot, window, with_modal, formatter):
    clinic = window.clinic
    boxes: list[QDateEdit] = []
    reports = ReportsWindow(clinic, formatter, window)
    qtbot.addWidget(reports)
    boxes += reports.findChildren(QDateEdit)
    statement = window.printing.statement()
    assert statement is not None
    qtbot.addWidget(statement)
    boxes += statement.findChildren(QDateEdit)
    invoice = InvoiceDialog(clinic, formatter, window.patient_id, "Ada Lovelace")
    qtbot.addWidget(invoice)
    boxes += invoice.findChildren(QDateEdit)
    payment = window.payment_dialog()
    qtbot.addWidget(payment)
    boxes += payment.findChildren(QDateEdit)
    assert len(boxes) >= 6
    assert {box.displayFormat() for box in boxes} == {DATE_DISPLAY_FORMAT}
    for box in boxes:  # a day, a short month name and the year: "2 Dec 2026", never "2 09 2026"
        assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2,3} \d{4}", box.text()), box.text()
