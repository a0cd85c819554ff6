"""Corrections from the main window, as staff reach them: the Patient menu and each table's
right-click menu act on the selected row, say what will happen, ask for a reason, and show the
core's refusal (naming what to undo first) without saving anything."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from desktop_app.ui.dialogs.money_actions import (
    ConfirmCorrectionDialog,
    CreditNoteDialog,
    RefundDialog,
    TransferDialog,
)
from tests.helpers import snapshot

D = Decimal


def pay(clinic, pid, request_id, **kwargs):
    return clinic.record_payment(clinic.preview_payment(pid, **kwargs), request_id)


def select_row(view, row: int) -> None:
    view.selectRow(row)


def confirm(qtbot, reason: str, seen: list[str], *, expect_refusal: bool = False):
    """Act on the confirmation dialog: type a reason, press the action button."""

    def act(dialog: QDialog) -> None:
        assert isinstance(dialog, ConfirmCorrectionDialog)
        seen.append(dialog.explanation_label.text())
        assert not dialog.action_button.isEnabled()  # a reason is required first
        qtbot.keyClicks(dialog.reason_edit, reason)
        qtbot.mouseClick(dialog.action_button, Qt.MouseButton.LeftButton)
        if expect_refusal:
            seen.append(dialog.message_label.text())
            assert dialog.isVisible()
            dialog.reject()

    return act


def test_void_and_credit_note_from_the_invoices_tab(qtbot, window, clinic, with_modal):
    pid = clinic.add_patient("Ada", "Lovelace")
    a = clinic.create_invoice(pid, [("Consult", "100", 1)], issue_date=date(2026, 11, 1))
    clinic.create_invoice(pid, [("Massage", "40", 1)], issue_date=date(2026, 11, 2))
    pay(clinic, pid, "p", sources={"Cash": "50"}, applied={a: "50"})
    window.select_patient(pid)
    fixes = window.corrections
    assert not fixes.void_action.isEnabled()  # nothing selected yet

    select_row(window.invoice_view, 0)
    assert fixes.credit_note_action.isEnabled() and fixes.void_action.isEnabled()

    def credit_part(dialog: QDialog) -> None:
        assert isinstance(dialog, CreditNoteDialog)
        dialog.part_radio.click()
        dialog.amount_edit.clear()
        qtbot.keyClicks(dialog.amount_edit, "80")
        qtbot.keyClicks(dialog.reason_edit, "Session cut short")
        explained = dialog.explanation_label.text()
        assert "$50.00" in explained and "$30.00" in explained
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    with_modal(credit_part)
    fixes.credit_note_action.trigger()
    assert clinic.credit(pid) == D("30.00")
    assert window.credit_label.text() == "Account credit: $30.00"
    notes = window.credit_note_model
    assert [notes.data(notes.index(0, c)) for c in (0, 2, 3, 4, 5)] == [
        "CN-1",
        "#1",
        "$80.00",
        "$50.00",
        "$30.00",
    ]
    lots = window.lot_model
    assert lots.data(lots.index(0, 1)).startswith("Credit note CN-1 on invoice #1")

    # Voiding is refused while the invoice has a credit note: the core's reason is shown.
    select_row(window.invoice_view, 0)
    seen: list[str] = []
    before = snapshot(clinic)
    with_modal(confirm(qtbot, "Billed twice", seen, expect_refusal=True))
    fixes.void_action.trigger()
    assert "has credit notes (CN-1)" in seen[1]
    assert snapshot(clinic) == before

    select_row(window.invoice_view, 1)
    seen.clear()
    with_modal(confirm(qtbot, "Billed twice", seen))
    fixes.void_action.trigger()
    assert seen == ["Invoice #2 ($40.00) will be void: nothing is owed on it any more."]
    assert clinic.invoice(a + 1).status == "void"
    assert window.outstanding_label.text() == "Outstanding: $0.00"
    select_row(window.invoice_view, 1)
    assert not fixes.void_action.isEnabled()  # already void
    assert clinic.verify() == []


def test_reversing_a_prepayment_whose_credit_was_spent_says_which_invoice_used_it(
    qtbot, window, clinic, with_modal
):
    pid = clinic.add_patient("Ada", "Lovelace")
    prepay = pay(clinic, pid, "pre", sources={"EFTPOS": "60"})
    a = clinic.create_invoice(pid, [("Consult", "50", 1)])
    pay(clinic, pid, "use", source_invoice=a)
    window.select_patient(pid)
    window.tabs.setCurrentIndex(1)
    select_row(window.payment_view, 0)
    assert window.selected_payment().id == prepay
    seen: list[str] = []
    with_modal(confirm(qtbot, "Entered twice", seen, expect_refusal=True))
    window.corrections.reverse_payment_action.trigger()
    assert seen[0] == (
        "Payment 1 ($60.00) will be archived. $60.00 of account credit it left is taken back."
    )
    assert "already used by Credit applied to invoice #1" in seen[1]

    # Remove the spending first (Payments tab > Remove from invoice), then the reversal goes.
    select_row(window.payment_view, 1)
    menu = window.corrections.remove_menu
    menu.aboutToShow.emit()
    [entry] = menu.actions()
    assert entry.text() == "$50.00 from invoice #1…"
    seen.clear()
    with_modal(confirm(qtbot, "Paid from the wrong credit", seen))
    entry.trigger()
    assert clinic.invoice(a).status == "open" and clinic.credit(pid) == D("60.00")

    select_row(window.payment_view, 0)
    seen.clear()
    with_modal(confirm(qtbot, "Entered twice", seen))
    window.corrections.reverse_payment_action.trigger()
    assert clinic.credit(pid) == D("0.00") and clinic.payment(prepay).reversed
    payments = window.payment_model
    status = payments.columnCount() - 2  # before the column of its standing with Xero
    assert payments.headerData(status, Qt.Orientation.Horizontal) == "Status"
    assert payments.data(payments.index(0, status)) == "Reversed"
    assert clinic.verify() == []


def test_refund_and_transfer_buttons_and_reversing_a_transfer(qtbot, window, clinic, with_modal):
    ada = clinic.add_patient("Ada", "Lovelace")
    byron = clinic.add_patient("Byron", "Lovelace")
    pay(clinic, ada, "pre", sources={"Cash": "100"})
    window.select_patient(ada)

    def refund(dialog: QDialog) -> None:
        assert isinstance(dialog, RefundDialog)
        dialog.amount_edit.clear()
        qtbot.keyClicks(dialog.amount_edit, "25")
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    with_modal(refund)
    qtbot.mouseClick(window.refund_button, Qt.MouseButton.LeftButton)
    assert clinic.credit(ada) == D("75.00")

    def transfer(dialog: QDialog) -> None:
        assert isinstance(dialog, TransferDialog)
        qtbot.keyClicks(dialog.search_edit, "Byr")
        qtbot.waitUntil(lambda: dialog.matches_list.count() == 1)
        dialog.matches_list.setCurrentRow(0)
        qtbot.keyClicks(dialog.amount_edit, "30")
        qtbot.keyClicks(dialog.reason_edit, "Family account")
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    with_modal(transfer)
    qtbot.mouseClick(window.transfer_button, Qt.MouseButton.LeftButton)
    assert (clinic.credit(ada), clinic.credit(byron)) == (D("45.00"), D("30.00"))
    transfers = window.transfer_model
    assert [transfers.data(transfers.index(0, c)) for c in (1, 2, 3)] == [
        "Ada Lovelace",
        "Byron Lovelace",
        "$30.00",
    ]

    select_row(window.transfer_view, 0)
    seen: list[str] = []
    with_modal(confirm(qtbot, "Wrong family member", seen))
    window.corrections.reverse_transfer_action.trigger()
    assert seen == [
        "The $30.00 transferred from Ada Lovelace to Byron Lovelace goes back to Ada Lovelace."
    ]
    assert (clinic.credit(ada), clinic.credit(byron)) == (D("75.00"), D("0.00"))
    assert clinic.verify() == []


def test_context_menus_hold_the_corrections_for_their_rows(window):
    fixes, printing = window.corrections, window.printing
    assert window.invoice_view.actions() == [
        printing.invoice_action,
        fixes.credit_note_action,
        fixes.void_action,
    ]
    assert window.payment_view.actions() == [
        printing.receipt_action,
        fixes.reverse_payment_action,
        fixes.remove_menu.menuAction(),
    ]
    assert window.credit_note_view.actions() == [fixes.reverse_credit_note_action]
    assert window.transfer_view.actions() == [fixes.reverse_transfer_action]
    assert window.invoice_view.contextMenuPolicy() == Qt.ContextMenuPolicy.ActionsContextMenu


def test_credit_tab_shows_where_the_credit_came_from(window, clinic, qtmodeltester):
    pid = clinic.add_patient("Ada", "Lovelace")
    first = pay(clinic, pid, "one", sources={"Cash": "30"})
    pay(clinic, pid, "two", sources={"EFTPOS": "50"})
    a = clinic.create_invoice(pid, [("Consult", "40", 1)])
    pay(clinic, pid, "use", source_invoice=a)
    window.select_patient(pid)
    lots = window.lot_model
    rows = [[lots.data(lots.index(r, c)) for c in range(1, 6)] for r in range(lots.rowCount())]
    assert rows == [
        [
            f"Payment {first} (Cash) of $30.00: $30.00 left as credit",
            "$30.00",
            "$30.00",
            "$0.00",
            "Credit applied to invoice #1 (payment 3) ($30.00)",
        ],
        [
            "Payment 2 (EFTPOS) of $50.00: $50.00 left as credit",
            "$50.00",
            "$10.00",
            "$40.00",
            "Credit applied to invoice #1 (payment 3) ($10.00)",
        ],
    ]
    for model in (window.lot_model, window.credit_note_model, window.transfer_model):
        qtmodeltester.check(model)
