"""The payment dialog, driven as a receptionist drives it: typing, reading the preview, saving."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLineEdit

from desktop_app.core import AllocationMode, Clinic
from desktop_app.ui.dialogs.payment_dialog import PaymentDialog
from desktop_app.ui.models.allocation import AFTER, APPLY, BALANCE_AFTER, FROM_CREDIT
from tests.helpers import snapshot, staff_team

NOV1, NOV5 = date(2026, 11, 1), date(2026, 11, 5)


def open_dialog(qtbot, clinic, formatter, pid, source=None) -> PaymentDialog:
    dialog = PaymentDialog(clinic, formatter, pid, source)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def type_source(qtbot, dialog: PaymentDialog, name: str, text: str) -> None:
    edit = dialog.source_edits[name]
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)


def type_apply(qtbot, dialog: PaymentDialog, invoice_id: int, text: str) -> None:
    """Type into the invoice's Apply cell with the keyboard and press Enter."""
    model = dialog.allocation_model
    index = model.index(model.invoice_row(invoice_id), APPLY)
    dialog.table.setCurrentIndex(index)
    dialog.table.edit(index)
    editors = [e for e in dialog.table.findChildren(QLineEdit) if e.isVisible()]
    assert len(editors) == 1
    editor = editors[0]
    editor.selectAll()
    qtbot.keyClick(editor, Qt.Key.Key_Delete)
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    # The item delegate commits the edit through a queued call: let the event loop run it.
    qtbot.waitUntil(lambda: model.typed.get(invoice_id, "") == text.strip(), timeout=2000)


def cell(dialog: PaymentDialog, invoice_id: int, column: int) -> str:
    model = dialog.allocation_model
    return model.data(model.index(model.invoice_row(invoice_id), column))


def prepay(clinic: Clinic, pid: int, amount: str) -> None:
    clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": amount}), f"pre-{amount}")


@pytest.fixture
def two_invoices(clinic):
    """The worked example of docs/ledger-rules.md ("Allocation"): credit $60; A $40 (1 Nov),
    B $40 (5 Nov)."""
    pid = clinic.add_patient("Grace", "Hopper")
    prepay(clinic, pid, "60")
    a = clinic.create_invoice(pid, [("Consult", "40", 1)], issue_date=NOV1)
    b = clinic.create_invoice(pid, [("Consult", "40", 1)], issue_date=NOV5)
    return pid, a, b


@pytest.mark.parametrize(
    ("mode", "a_text", "b_text", "credit_after"),
    [
        (AllocationMode.OLDEST_FIRST, "$40.00", "$20.00", "$0.00"),
        (AllocationMode.NEWEST_FIRST, "$20.00", "$40.00", "$0.00"),
        (AllocationMode.SOURCE_INVOICE, "", "$40.00", "$20.00"),
        (AllocationMode.OFF, "", "", "$60.00"),
    ],
)
def test_each_automatic_mode_prefills_from_the_newer_invoice(
    qtbot, clinic, formatter, two_invoices, mode, a_text, b_text, credit_after
):
    pid, a, b = two_invoices
    clinic.set_allocation_mode(mode)
    dialog = open_dialog(qtbot, clinic, formatter, pid, source=b)
    assert cell(dialog, a, APPLY) == a_text and cell(dialog, b, APPLY) == b_text
    assert dialog.credit_after_label.text() == credit_after
    assert dialog.save_button.isEnabled() == (mode is not AllocationMode.OFF)
    if mode is AllocationMode.OFF:
        assert "Nothing to save yet" in dialog.message_label.text()


def test_typed_amount_wins_and_the_rest_follows_the_mode(qtbot, clinic, formatter, two_invoices):
    pid, a, b = two_invoices
    dialog = open_dialog(qtbot, clinic, formatter, pid, source=b)
    type_apply(qtbot, dialog, b, "25")
    assert cell(dialog, b, APPLY) == "25" and cell(dialog, a, APPLY) == "$35.00"
    assert dialog.credit_used_label.text() == "$60.00"
    type_apply(qtbot, dialog, b, "")  # cleared: automatic allocation decides again
    assert cell(dialog, a, APPLY) == "$40.00" and cell(dialog, b, APPLY) == "$20.00"


def test_partial_credit_plus_cash(qtbot, clinic, formatter):
    pid = clinic.add_patient("Alan", "Turing")
    prepay(clinic, pid, "30")
    a = clinic.create_invoice(pid, [("Consult", "50", 1)])
    dialog = open_dialog(qtbot, clinic, formatter, pid, source=a)
    type_source(qtbot, dialog, "Cash", "20")
    assert cell(dialog, a, APPLY) == "$50.00" and cell(dialog, a, FROM_CREDIT) == "$30.00"
    assert (
        cell(dialog, a, AFTER) == "Paid"
        and dialog.closes_label.text() == f"#{clinic.invoice(a).number}"
    )
    assert dialog.total_label.text() == "$20.00" and dialog.credit_after_label.text() == "$0.00"
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    payment = clinic.payment(dialog.saved_payment_id)
    assert (payment.total, payment.money_applied, payment.credit_applied) == (
        Decimal("20.00"),
        Decimal("20.00"),
        Decimal("30.00"),
    )
    assert clinic.invoice(a).status == "paid" and clinic.credit(pid) == Decimal("0.00")


def test_overpayment_becomes_credit_with_a_warning_while_invoices_stay_open(
    qtbot, clinic, formatter, with_modal
):
    pid = clinic.add_patient("Ada", "Lovelace")
    a = clinic.create_invoice(pid, [("Consult", "50", 1)], issue_date=NOV1)
    b = clinic.create_invoice(pid, [("Consult", "50", 1)], issue_date=NOV5)
    clinic.set_allocation_mode(AllocationMode.SOURCE_INVOICE)
    dialog = open_dialog(qtbot, clinic, formatter, pid, source=a)
    type_source(qtbot, dialog, "EFTPOS", "70")
    assert dialog.to_credit_label.text() == "$20.00"
    assert "$20.00 will be left as account credit" in dialog.message_label.text()
    assert cell(dialog, b, BALANCE_AFTER) == "$50.00"
    asked: list[str] = []

    def answer(label: str) -> Callable[[QDialog], None]:
        def act(box: QDialog) -> None:
            asked.append(box.text())
            next(b for b in box.buttons() if b.text() == label).click()

        return act

    with_modal(answer("Go back"))  # the default: nothing is saved
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert asked == [
        "$20.00 of this payment will be left as account credit, but the patient still owes on "
        "invoice #2 ($50.00)."
    ]
    assert clinic.payments(pid) == [] and dialog.isVisible()
    with_modal(answer("Save as credit"))
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert clinic.credit(pid) == Decimal("20.00") and clinic.invoice(a).status == "paid"


@pytest.mark.parametrize(
    ("field", "text", "reason"),
    [
        ("Cash", "abc", "not an amount"),
        ("Cash", "-5", "cannot be negative"),
        ("EFTPOS", "10.005", "more than 2 decimals"),
        ("Credit card", "NaN", "not a number"),
        ("Bank transfer", "Infinity", "not a number"),
        ("Health fund", "99999999999", "above the limit"),
        ("Cash", "1,23.4", "not an amount"),
        ("apply", "x", "not an amount"),
        ("apply", "-1", "cannot be negative"),
        ("apply", "1.001", "more than 2 decimals"),
        ("apply", "40.01", "more than its balance"),
        ("apply+", "40", r"applied but only"),
    ],
)
def test_bad_input_is_marked_on_the_field_and_disables_save(
    qtbot, clinic, formatter, field, text, reason
):
    pid = clinic.add_patient("Ada", "Lovelace")
    prepay(clinic, pid, "10")
    a = clinic.create_invoice(pid, [("Consult", "40", 1)])
    clinic.create_invoice(pid, [("Consult", "40", 1)])
    before = snapshot(clinic)
    dialog = open_dialog(qtbot, clinic, formatter, pid, source=a)
    if field.startswith("apply"):
        if field == "apply+":
            type_apply(qtbot, dialog, a, "30")  # fine alone: $10 credit + ...
            clinic_invoices = clinic.invoices(pid, open_only=True)
            type_apply(qtbot, dialog, clinic_invoices[1].id, text)  # ... $70 typed > $10 pool
        else:
            type_apply(qtbot, dialog, a, text)
            assert re.search(reason, cell_tooltip(dialog, a))
    else:
        type_source(qtbot, dialog, field, text)
        assert dialog.source_edits[field].error is not None
        assert dialog.source_edits[field].toolTip() == dialog.source_edits[field].error
    assert re.search(reason, dialog.message_label.text())
    assert not dialog.save_button.isEnabled()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.saved_payment_id is None and snapshot(clinic) == before


def cell_tooltip(dialog: PaymentDialog, invoice_id: int) -> str:
    model = dialog.allocation_model
    return model.data(
        model.index(model.invoice_row(invoice_id), APPLY), Qt.ItemDataRole.ToolTipRole
    )


def test_fixing_the_input_clears_the_mark(qtbot, clinic, formatter):
    pid = clinic.add_patient("Ada", "Lovelace")
    dialog = open_dialog(qtbot, clinic, formatter, pid)
    type_source(qtbot, dialog, "Cash", "12.345")
    assert dialog.source_edits["Cash"].error and not dialog.save_button.isEnabled()
    type_source(qtbot, dialog, "Cash", "12.34")
    assert dialog.source_edits["Cash"].error is None and dialog.save_button.isEnabled()
    assert dialog.to_credit_label.text() == "$12.34"


def test_double_clicked_save_records_one_payment(qtbot, clinic, formatter):
    pid = clinic.add_patient("Ada", "Lovelace")
    dialog = open_dialog(qtbot, clinic, formatter, pid)
    type_source(qtbot, dialog, "Cash", "25")
    qtbot.mouseDClick(dialog.save_button, Qt.MouseButton.LeftButton)
    dialog._on_save_button_clicked()  # a third press that slipped through still records nothing
    assert len(clinic.payments(pid)) == 1
    assert clinic.credit(pid) == Decimal("25.00")


def test_concurrent_change_refreshes_the_preview_and_says_why(
    qtbot, clinic, formatter, two_invoices
):
    pid, a, b = two_invoices
    dialog = open_dialog(qtbot, clinic, formatter, pid, source=a)
    assert dialog.credit_available_label.text() == "$60.00"
    with Clinic.open(clinic.url) as other_desk:
        other_desk.refund_credit(pid, "15", method="Cash", request_id="desk-2")
    before = snapshot(clinic)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.saved_payment_id is None and dialog.isVisible()
    assert snapshot(clinic) == before
    message = dialog.message_label.text()
    assert "credit changed from $60.00 to $45.00" in message  # amounts shown whole
    assert "saved on another computer" in message and "Nothing was saved" in message
    assert dialog.credit_available_label.text() == "$45.00"
    assert cell(dialog, a, APPLY) == "$40.00" and cell(dialog, b, APPLY) == "$5.00"
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.saved_payment_id is not None
    assert clinic.credit(pid) == Decimal("0.00") and clinic.verify() == []


def test_sources_and_table_have_accessible_names_and_tab_order(qtbot, clinic, formatter):
    pid = clinic.add_patient("Ada", "Lovelace")
    dialog = open_dialog(qtbot, clinic, formatter, pid)
    names = [edit.accessibleName() for edit in dialog.source_edits.values()]
    assert names == [
        "Cash amount",
        "EFTPOS amount",
        "Credit card amount",
        "Bank transfer amount",
        "Health fund amount",
    ]
    assert dialog.table.accessibleName() == "Apply to invoices"
    type_source(qtbot, dialog, "Cash", "5")  # Save is enabled (a disabled button is skipped)
    dialog.activateWindow()
    dialog.source_edits["Health fund"].setFocus()
    qtbot.keyClick(dialog.source_edits["Health fund"], Qt.Key.Key_Tab)
    assert dialog.focusWidget() is dialog.table
    qtbot.keyClick(dialog.table, Qt.Key.Key_Tab)
    assert dialog.focusWidget() is dialog.save_button


def test_changing_the_date_keeps_the_figures_on_screen(qtbot, clinic, formatter, two_invoices):
    pid, a, _ = two_invoices
    dialog = open_dialog(qtbot, clinic, formatter, pid, source=a)
    with Clinic.open(clinic.url) as other_desk:  # meanwhile: a refund and a new invoice
        other_desk.refund_credit(pid, "30", method="Cash", request_id="desk-2")
        other_desk.create_invoice(pid, [("Consult", "50", 1)])
    dialog.date_edit.setDate(dialog.date_edit.date().addDays(-1))
    assert dialog.allocation_model.rowCount() == 2  # the table was not silently swapped
    assert dialog.credit_available_label.text() == "$60.00"
    assert dialog.preview.payment_date < date.today()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.saved_payment_id is None  # refused: the credit moved; nothing unseen saved
    assert "credit changed from $60.00 to $30.00" in dialog.message_label.text()
    assert dialog.allocation_model.rowCount() == 3  # now refreshed, in plain view


def test_save_shortcut_with_an_amount_still_being_typed_shows_it_first(
    qtbot, clinic, formatter, two_invoices
):
    pid, a, b = two_invoices
    dialog = open_dialog(qtbot, clinic, formatter, pid, source=a)
    dialog.activateWindow()  # shortcuts work in the active window, as on a real screen
    qtbot.waitUntil(dialog.isActiveWindow)
    model = dialog.allocation_model
    index = model.index(model.invoice_row(b), APPLY)
    dialog.table.setCurrentIndex(index)
    dialog.table.edit(index)
    editor = next(e for e in dialog.table.findChildren(QLineEdit) if e.isVisible())
    editor.selectAll()
    qtbot.keyClicks(editor, "5")
    qtbot.keyClick(editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert dialog.saved_payment_id is None  # not saved yet: the new figures are shown first
    assert (
        cell(dialog, b, APPLY) == "5" and "check it and save again" in dialog.message_label.text()
    )
    qtbot.keyClick(dialog, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    saved = clinic.payment(dialog.saved_payment_id)
    assert {x.invoice_id: x.amount for x in saved.applications} == {
        a: Decimal("40.00"),
        b: Decimal("5.00"),
    }


def test_tab_leaves_the_apply_table_for_save(qtbot, clinic, formatter, two_invoices):
    pid, a, _ = two_invoices
    dialog = open_dialog(qtbot, clinic, formatter, pid, source=a)
    assert dialog.save_button.isEnabled()
    dialog.activateWindow()
    dialog.table.setFocus()
    dialog.table.setCurrentIndex(dialog.allocation_model.index(0, APPLY))
    qtbot.keyClick(dialog.table, Qt.Key.Key_Tab)
    assert dialog.focusWidget() is dialog.save_button


def test_confirming_an_automatic_amount_unchanged_keeps_it_automatic(
    qtbot, clinic, formatter, two_invoices
):
    pid, a, b = two_invoices
    dialog = open_dialog(qtbot, clinic, formatter, pid, source=a)
    model = dialog.allocation_model
    index = model.index(model.invoice_row(a), APPLY)
    assert model.setData(index, model.data(index, Qt.ItemDataRole.EditRole)) is False
    assert model.typed == {}
    type_source(qtbot, dialog, "Cash", "10")  # still follows the mode: A $40, B $30
    assert cell(dialog, b, APPLY) == "$30.00"


def test_one_request_id_per_dialog(qtbot, clinic, formatter):
    pid = clinic.add_patient("Ada", "Lovelace")
    dialog = open_dialog(qtbot, clinic, formatter, pid)
    request_id = dialog.request_id
    type_source(qtbot, dialog, "Cash", "25")
    assert dialog.request_id == request_id
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    # A second save of the same dialog (a retry) is the same payment, not a new one.
    assert clinic.record_payment(dialog.preview, dialog.request_id) == dialog.saved_payment_id
    assert len(clinic.payments(pid)) == 1


def test_a_very_long_name_does_not_stretch_the_dialog(qtbot, clinic, formatter):
    pid = clinic.add_patient("A" * 200, "B" * 200)
    dialog = open_dialog(qtbot, clinic, formatter, pid)
    assert dialog.minimumSizeHint().width() < 1200


def test_payment_type_retired_elsewhere_refuses_and_marks_the_field(qtbot, clinic, formatter):
    pid = clinic.add_patient("Ada", "Lovelace")
    dialog = open_dialog(qtbot, clinic, formatter, pid)
    type_source(qtbot, dialog, "Cash", "10")
    with Clinic.open(clinic.url) as other_desk:
        other_desk.update_settings(payment_types=["EFTPOS", "Credit card"])
    before = snapshot(clinic)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.saved_payment_id is None and snapshot(clinic) == before
    assert "no longer in use" in dialog.message_label.text()
    assert "not a payment type" in (dialog.source_edits["Cash"].error or "")
    assert not dialog.save_button.isEnabled()
    type_source(qtbot, dialog, "Cash", "")
    type_source(qtbot, dialog, "EFTPOS", "10")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert clinic.payment(dialog.saved_payment_id).sources == {"EFTPOS": Decimal("10.00")}


def test_an_account_disabled_while_the_dialog_is_open_is_told_and_saves_nothing(
    qtbot, clinic, formatter
):
    from desktop_app.core import Role

    team = staff_team(clinic, (Role.ADMINISTRATOR, Role.RECEPTIONIST))
    admin, desk = team["administrator"], team["receptionist"]
    pid = admin.add_patient("Ada", "Lovelace")
    dialog = open_dialog(qtbot, desk, formatter, pid)
    type_source(qtbot, dialog, "Cash", "25")
    admin.update_staff("desk", active=False)
    before = snapshot(clinic)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.saved_payment_id is None and dialog.isVisible()
    assert "staff account is disabled" in dialog.message_label.text()
    assert snapshot(clinic) == before
