"""The main window end to end: the seed's walkthrough as a receptionist does it, settings, search,
sorting, keyboard shortcuts, and every table model checked by qtmodeltester."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from desktop_app.core import AllocationMode, Clinic
from desktop_app.ui.dialogs.invoice_dialog import (
    AMOUNT,
    DESCRIPTION,
    PRICE,
    QUANTITY,
    TAX,
    InvoiceDialog,
)
from desktop_app.ui.dialogs.patient_dialog import PatientDialog
from desktop_app.ui.dialogs.payment_detail import PaymentDetailDialog
from desktop_app.ui.dialogs.payment_dialog import PaymentDialog
from desktop_app.ui.models.allocation import APPLY
from desktop_app.ui.models.patients import CREDIT
from desktop_app.ui.settings.settings_dialog import SettingsDialog


def titled(model, title: str) -> int:
    """The column of ``model`` headed ``title``."""
    columns = range(model.columnCount())
    return next(c for c in columns if model.headerData(c, Qt.Orientation.Horizontal) == title)


def fill_invoice(
    dialog: InvoiceDialog, description: str, price: str, qty: str = "1", tax: str = ""
) -> None:
    row = dialog.table.rowCount() - 1
    for column, text in ((DESCRIPTION, description), (PRICE, price), (QUANTITY, qty), (TAX, tax)):
        dialog.table.item(row, column).setText(text)


def test_seed_walkthrough_pay_an_invoice_with_account_credit(qtbot, window, with_modal):
    clinic: Clinic = window.clinic

    # A new patient, through the New patient dialog.
    def add_patient(dialog: QDialog) -> None:
        assert isinstance(dialog, PatientDialog)
        qtbot.keyClicks(dialog.first_edit, "Ada")
        qtbot.keyClicks(dialog.last_edit, "Lovelace")
        dialog._on_buttons_accepted()

    with_modal(add_patient)
    window.new_patient_action.trigger()
    pid = window.patient_id
    assert window.name_label.text() == "Ada Lovelace"

    # "If any patient has prepaid for services, they'll have a credit on their account."
    def prepay(dialog: QDialog) -> None:
        assert isinstance(dialog, PaymentDialog)
        qtbot.keyClicks(dialog.source_edits["EFTPOS"], "100")
        assert dialog.to_credit_label.text() == "$100.00"
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    with_modal(prepay)
    window.payment_action.trigger()
    assert window.credit_label.text() == "Account credit: $100.00"
    # The payment just saved is selected, its receipt one shortcut away.
    prepayment = window.selected_payment()
    assert prepayment is not None and prepayment.total == Decimal("100.00")
    assert window.printing.receipt_action.isEnabled()
    assert "Print its receipt: Ctrl+Shift+E" in window.statusBar().currentMessage()

    # "Create an invoice for the patient", then go to the "enter payment" stage.
    seen: dict[str, str] = {}

    def invoice(dialog: QDialog) -> None:
        assert isinstance(dialog, InvoiceDialog)
        fill_invoice(dialog, "Initial consultation", "50.00")
        assert "Total: $50.00" in dialog.total_label.text()
        with_modal(pay_from_credit)
        qtbot.mouseClick(dialog.pay_button, Qt.MouseButton.LeftButton)

    def pay_from_credit(dialog: QDialog) -> None:
        assert isinstance(dialog, PaymentDialog)
        # "do not enter an amount in the Payment source field": the credit is listed and applied.
        assert all(not edit.text() for edit in dialog.source_edits.values())
        seen["available"] = dialog.credit_available_label.text()
        seen["being applied"] = dialog.credit_used_label.text()
        model = dialog.allocation_model
        seen["apply"] = model.data(model.index(0, APPLY))
        seen["closes"] = dialog.closes_label.text()
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    with_modal(invoice)
    window.new_invoice_action.trigger()
    assert seen == {
        "available": "$100.00",
        "being applied": "$50.00",
        "apply": "$50.00",
        "closes": "#1",
    }

    # "the invoice is paid (and closed) with account credit"
    invoices = window.invoice_model
    assert invoices.data(invoices.index(0, titled(invoices, "Status"))) == "Paid"
    assert invoices.data(invoices.index(0, titled(invoices, "Balance"))) == "$0.00"
    # "the total payment is $0, and $0.00 was applied to invoices"
    payments = window.payment_model
    assert payments.rowCount() == 2
    credit_payment = payments.record(1)
    detail = PaymentDetailDialog(clinic.payment(credit_payment.id), window.formatter)
    qtbot.addWidget(detail)
    assert detail.fields["Total payment"].text() == "$0.00"
    assert detail.fields["Money applied to invoices"].text() == "$0.00"
    assert detail.fields["Account credit applied"].text() == "$50.00"
    assert detail.model.data(detail.model.index(0, 0)) == "#1"
    # "The patient will now have a lower balance of credit than they did earlier."
    assert window.credit_label.text() == "Account credit: $50.00"
    history = window.credit_model
    assert history.data(history.index(1, 1)) == "Credit applied to invoice #1 (payment 2)"
    assert history.data(history.index(1, 3)) == "$50.00"
    assert clinic.credit(pid) == Decimal("50.00") and clinic.verify() == []


def test_seed_walkthrough_with_automatic_allocation_off(qtbot, window, with_modal, clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "100"}), "prepay")
    iid = clinic.create_invoice(pid, [("Initial consultation", "50.00", 1)])

    def turn_off(dialog: QDialog) -> None:
        assert isinstance(dialog, SettingsDialog)
        dialog.automatic_check.setChecked(False)
        dialog._on_buttons_accepted()

    with_modal(turn_off)
    window.settings_action.trigger()
    assert clinic.allocation_mode is AllocationMode.OFF
    window.select_patient(pid)

    def pay_by_hand(dialog: QDialog) -> None:
        assert isinstance(dialog, PaymentDialog)
        model = dialog.allocation_model
        assert model.data(model.index(0, APPLY)) == ""  # nothing pre-filled
        assert not dialog.save_button.isEnabled()
        assert "type the amount" in dialog.mode_label.text()
        dialog.type_amount(iid, "50")
        assert dialog.credit_used_label.text() == "$50.00"
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    with_modal(pay_by_hand)
    window.invoice_view.setCurrentIndex(window.invoice_model.index(0, 0))
    window.invoice_view.activated.emit(window.invoice_model.index(0, 0))  # Enter on the invoice
    assert clinic.invoice(iid).status == "paid"
    payment = clinic.payments(pid)[-1]
    assert (payment.total, payment.money_applied, payment.credit_applied) == (
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("50.00"),
    )
    assert window.credit_label.text() == "Account credit: $50.00"


def test_settings_apply_to_the_next_payment_at_once_and_persist(qtbot, clinic, formatter):
    dialog = SettingsDialog(clinic, page=1)
    qtbot.addWidget(dialog)
    assert dialog.pages.currentIndex() == 1 and dialog.automatic_check.isChecked()
    dialog.mode_buttons[AllocationMode.NEWEST_FIRST].setChecked(True)
    dialog.name_edit.setText("Harbour Physio")
    dialog.new_type_edit.setText("HICAPS")
    dialog._on_add_clicked()
    dialog.types_list.setCurrentRow(0)  # Cash
    dialog._on_remove_clicked()
    dialog._on_buttons_accepted()
    assert dialog.result() == QDialog.DialogCode.Accepted
    with Clinic.open(clinic.url) as again:
        assert again.allocation_mode is AllocationMode.NEWEST_FIRST
        assert again.clinic_name == "Harbour Physio"
        assert again.payment_types() == [
            "EFTPOS",
            "Credit card",
            "Bank transfer",
            "Health fund",
            "HICAPS",
        ]
    pid = clinic.add_patient("Ada", "Lovelace")
    payment = PaymentDialog(clinic, formatter, pid)
    qtbot.addWidget(payment)
    assert list(payment.source_edits) == [
        "EFTPOS",
        "Credit card",
        "Bank transfer",
        "Health fund",
        "HICAPS",
    ]
    assert "newest invoice first" in payment.mode_label.text()


def test_settings_refusal_is_shown_and_nothing_changes(qtbot, clinic):
    clinic.create_invoice(clinic.add_patient("Ada", "Lovelace"), [("Consult", "5", 1)])
    dialog = SettingsDialog(clinic)
    qtbot.addWidget(dialog)
    dialog.currency_combo.setCurrentText("NZD")
    dialog._on_buttons_accepted()
    assert "cannot change once invoices" in dialog.message_label.text()
    assert clinic.currency == "AUD" and dialog.result() != QDialog.DialogCode.Accepted


def test_search_as_you_type_and_sort_by_credit(qtbot, window, clinic):
    for first, last, credit in [
        ("Ada", "Lovelace", "10"),
        ("Grace", "Hopper", "30"),
        ("Alan", "Turing", "20"),
    ]:
        pid = clinic.add_patient(first, last)
        clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": credit}), first)
    window.patient_model.reload()
    assert window.patient_model.rowCount() == 3
    qtbot.keyClicks(window.search_edit, "ho")
    qtbot.waitUntil(lambda: window.patient_model.rowCount() == 1)
    assert window.name_label.text() == "Grace Hopper"
    window.search_edit.clear()
    qtbot.waitUntil(lambda: window.patient_model.rowCount() == 3)
    window.patient_view.sortByColumn(CREDIT, Qt.SortOrder.DescendingOrder)
    model = window.patient_model
    assert [model.data(model.index(r, CREDIT)) for r in range(3)] == ["$30.00", "$20.00", "$10.00"]
    qtbot.keyClicks(window.search_edit, "nobody")
    qtbot.waitUntil(lambda: window.patient_model.rowCount() == 0)
    assert window.name_label.text() == "No patient selected"
    assert not window.payment_action.isEnabled() and not window.pay_button.isEnabled()


def test_keyboard_shortcuts_and_accessible_names(window):
    shortcuts = {
        a.text(): a.shortcut().toString()
        for a in (
            window.find_action,
            window.new_patient_action,
            window.new_invoice_action,
            window.payment_action,
            window.verify_action,
        )
    }
    assert shortcuts == {
        "&Find patient": "Ctrl+F",
        "&New patient…": "Ctrl+Shift+N",
        "New &invoice…": "Ctrl+N",
        "Enter &payment…": "Ctrl+P",
        "&Verify ledger": "Ctrl+Shift+V",
    }
    assert not window.settings_action.shortcut().isEmpty()
    window.find_action.trigger()
    assert window.focusWidget() is window.search_edit
    for widget in (
        window.search_edit,
        window.patient_view,
        window.credit_label,
        window.invoice_view,
        window.payment_view,
        window.credit_view,
    ):
        assert widget.accessibleName()


def test_invoice_dialog_lines_tax_and_bad_input(qtbot, clinic, formatter):
    pid = clinic.add_patient("Ada", "Lovelace")
    dialog = InvoiceDialog(clinic, formatter, pid, "Ada Lovelace")
    qtbot.addWidget(dialog)
    assert not dialog.save_button.isEnabled()
    fill_invoice(dialog, "Standard consultation", "75.00")
    dialog.add_line()
    fill_invoice(dialog, "Strapping tape", "12.50", "2", "10")
    assert dialog.total_label.text() == "Net: $100.00    Tax: $2.50    Total: $102.50"
    assert dialog.table.item(1, AMOUNT).text() == "$27.50"
    fill_invoice(dialog, "Strapping tape", "12.505", "2", "10")
    assert "more than 2 decimals" in dialog.message_label.text()
    assert not dialog.save_button.isEnabled()
    fill_invoice(dialog, "Strapping tape", "12.50", "0", "10")
    assert "quantity must be more than 0" in dialog.message_label.text()
    fill_invoice(dialog, "Strapping tape", "12.50", "2", "150")
    assert "between 0 and 100 percent" in dialog.message_label.text()
    assert clinic.invoices(pid) == []
    fill_invoice(dialog, "Strapping tape", "12.50", "2", "10")
    dialog.issue_edit.setDate(dialog.issue_edit.date().addDays(-3))
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    saved = clinic.invoice(dialog.invoice_id)
    assert saved.total == Decimal("102.50") and len(saved.lines) == 2
    assert saved.issue_date < date.today() and saved.due_date is not None


def test_every_table_model_passes_qtmodeltester(qtmodeltester, window, clinic, formatter):
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "30"}), "p")
    iid = clinic.create_invoice(pid, [("Consult", "50", 1)])
    clinic.record_payment(clinic.preview_payment(pid, source_invoice=iid), "c")
    window.patient_model.reload()
    window.select_patient(pid)
    for model in (
        window.patient_model,
        window.invoice_model,
        window.payment_model,
        window.credit_model,
    ):
        assert model.rowCount() > 0
        qtmodeltester.check(model, force_py=True)
    dialog = PaymentDialog(clinic, formatter, pid, iid)
    qtmodeltester.check(dialog.allocation_model, force_py=True)
    detail = PaymentDetailDialog(clinic.payments(pid)[-1], formatter)
    qtmodeltester.check(detail.model, force_py=True)
    dialog.deleteLater()
    detail.deleteLater()


def test_verify_ledger_menu_reports_a_sound_ledger(qtbot, window, with_modal):
    messages: list[str] = []

    def read(dialog: QDialog) -> None:
        messages.append(dialog.text())  # type: ignore[attr-defined]
        dialog.accept()

    with_modal(read)
    assert window.verify_action.isEnabled()
    window.verify_action.trigger()
    assert messages == ["The ledger is in order: every balance, credit and payment adds up."]


@pytest.mark.parametrize(
    ("first", "last", "reason"),
    [("", "Lovelace", "first name"), ("Ada", "   ", "last name"), ("Ada", "x" * 201, "longer")],
)
def test_patient_dialog_refuses_bad_names(qtbot, clinic, first, last, reason):
    dialog = PatientDialog(clinic)
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.first_edit, first)
    qtbot.keyClicks(dialog.last_edit, last)
    dialog._on_buttons_accepted()
    assert reason in dialog.message_label.text() and dialog.patient_id is None
    assert clinic.patient_ids() == []


def test_settings_refuse_an_empty_clinic_name(qtbot, clinic):
    dialog = SettingsDialog(clinic)
    qtbot.addWidget(dialog)
    dialog.name_edit.setText("  ")
    dialog._on_buttons_accepted()
    assert "Enter the clinic's name" in dialog.message_label.text()
    assert clinic.clinic_name == "My Clinic"


def test_invoice_paid_elsewhere_is_explained_and_the_view_refreshed(
    qtbot, window, clinic, with_modal
):
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(pid, [("Consult", "50", 1)])
    window.patient_model.reload()
    window.select_patient(pid)
    assert (
        window.invoice_model.data(
            window.invoice_model.index(0, titled(window.invoice_model, "Status"))
        )
        == "Open"
    )
    with Clinic.open(clinic.url) as other_desk:
        other_desk.record_payment(
            other_desk.preview_payment(pid, sources={"EFTPOS": "50"}, source_invoice=iid), "d2"
        )
    messages: list[str] = []

    def read(box: QDialog) -> None:
        messages.append(box.text())  # type: ignore[attr-defined]
        box.accept()

    with_modal(read)
    window.invoice_view.activated.emit(window.invoice_model.index(0, 0))
    assert messages and "is paid" in messages[0]
    assert (
        window.invoice_model.data(
            window.invoice_model.index(0, titled(window.invoice_model, "Status"))
        )
        == "Paid"
    )


def test_tab_leaves_the_main_window_tables(window, clinic):
    for first in ("Ada", "Grace"):
        clinic.add_patient(first, "Smith")
    window.patient_model.reload()
    window.activateWindow()
    window.patient_view.setFocus()
    window.patient_view.selectRow(0)
    from PySide6.QtTest import QTest

    QTest.keyClick(window.patient_view, Qt.Key.Key_Tab)
    assert window.focusWidget() is not window.patient_view


def test_settings_refusal_saves_nothing_and_currency_is_fixed_once_used(qtbot, clinic):
    clinic.create_invoice(clinic.add_patient("Ada", "Lovelace"), [("Consult", "5", 1)])
    dialog = SettingsDialog(clinic)
    qtbot.addWidget(dialog)
    assert not dialog.currency_combo.isEnabled()
    dialog.name_edit.setText("Harbour Physio")
    dialog.automatic_check.setChecked(False)
    dialog.types_list.clear()  # no payment types at all: refused
    dialog._on_buttons_accepted()
    assert "at least one payment type" in dialog.message_label.text()
    assert clinic.clinic_name == "My Clinic"  # nothing half-saved
    assert clinic.allocation_mode is AllocationMode.OLDEST_FIRST


def test_removing_and_re_adding_a_type_under_another_spelling(qtbot, clinic):
    dialog = SettingsDialog(clinic, page=2)
    qtbot.addWidget(dialog)
    dialog.types_list.setCurrentRow(0)
    dialog._on_remove_clicked()  # Cash
    dialog.new_type_edit.setText("cash")
    dialog._on_add_clicked()
    dialog._on_buttons_accepted()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert clinic.payment_types() == [
        "EFTPOS",
        "Credit card",
        "Bank transfer",
        "Health fund",
        "Cash",
    ]


def test_patient_list_follows_a_currency_change(qtbot, window, clinic, with_modal):
    pid = clinic.add_patient("Ada", "Lovelace")
    window.patient_model.reload()
    window.select_patient(pid)

    def to_euro(dialog: QDialog) -> None:
        assert isinstance(dialog, SettingsDialog)
        dialog.currency_combo.setCurrentText("EUR")
        dialog._on_buttons_accepted()

    with_modal(to_euro)
    window.settings_action.trigger()
    model = window.patient_model
    assert model.data(model.index(0, CREDIT)) == "EUR0.00"  # Babel's en_AU way of writing euros
    assert window.credit_label.text() == "Account credit: EUR0.00"
