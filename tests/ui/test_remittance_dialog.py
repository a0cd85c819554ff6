"""Entering a payment from a payer, as a receptionist does with the payer's remittance advice:
the payer's open invoices across its patients, searched by patient, claim reference or invoice
number, amounts typed per invoice, the rest allocated as for a patient's payment, money left over
becoming the payer's credit, a reference already recorded warned about, one payment however often
Save is pressed; and refunding a payer's credit."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLineEdit, QMessageBox

from desktop_app.core import AllocationMode, Clinic
from desktop_app.ui.dialogs.refund_dialog import PayerRefundDialog
from desktop_app.ui.dialogs.remittance_dialog import RemittanceDialog
from desktop_app.ui.models.allocation import APPLY, CLAIM, INVOICE_ID_ROLE, PATIENT
from tests.helpers import snapshot


@pytest.fixture
def fund(clinic: Clinic) -> dict[str, int]:
    """Bupa pays for Ada (two visits) and Grace (two visits); WorkSafe for Alan (one)."""
    ids: dict[str, int] = {
        "bupa": clinic.add_payer("Bupa", kind="health fund"),
        "worksafe": clinic.add_payer("WorkSafe", kind="workers compensation"),
    }
    for first, last in (("Ada", "Lovelace"), ("Grace", "Hopper"), ("Alan", "Turing")):
        ids[first.lower()] = clinic.add_patient(first, last)
    for key, patient, payer, fee, claim in (
        ("ada1", "ada", "bupa", "120.00", "BUP-101"),
        ("grace1", "grace", "bupa", "95.00", "BUP-102"),
        ("ada2", "ada", "bupa", "80.00", "BUP-103"),
        ("grace2", "grace", "bupa", "60.00", "BUP-104"),
        ("alan1", "alan", "worksafe", "140.00", "WC-9"),
    ):
        ids[key] = clinic.create_invoice(
            ids[patient], [("Consult", fee, 1)], bill_to=ids[payer], claim_reference=claim
        )
    ids["ada_own"] = clinic.create_invoice(ids["ada"], [("Report", "30.00", 1)], bill_to=None)
    return ids


def open_dialog(qtbot, clinic, formatter, payer=None, invoice=None) -> RemittanceDialog:
    dialog = RemittanceDialog(clinic, formatter, payer, invoice)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def type_into(qtbot, edit: QLineEdit, text: str) -> None:
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)


def search(qtbot, dialog: RemittanceDialog, text: str) -> list[int]:
    """Type in Find, wait for the pause, and return the invoices the table shows."""
    type_into(qtbot, dialog.search_edit, text)
    qtbot.waitUntil(lambda: not dialog._search_timer.isActive(), timeout=2000)
    return shown(dialog)


def shown(dialog: RemittanceDialog) -> list[int]:
    rows = dialog.invoice_filter
    return [rows.index(r, 0).data(INVOICE_ID_ROLE) for r in range(rows.rowCount())]


def type_apply(qtbot, dialog: RemittanceDialog, invoice_id: int, text: str) -> None:
    """Type into the invoice's Apply cell (a row the table shows) and press Enter."""
    assert dialog.select_invoice(invoice_id)
    index = dialog.table.currentIndex()
    dialog.table.edit(index)
    editor = next(e for e in dialog.table.findChildren(QLineEdit) if e.isVisible())
    editor.selectAll()
    qtbot.keyClick(editor, Qt.Key.Key_Delete)
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    model = dialog.allocation_model
    qtbot.waitUntil(lambda: model.typed.get(invoice_id, "") == text, timeout=2000)


def cell(dialog: RemittanceDialog, invoice_id: int, kind: int) -> str:
    model = dialog.allocation_model
    return model.data(model.index(model.invoice_row(invoice_id), model.column_of(kind)))


def test_the_payers_open_invoices_across_patients_and_only_its_own(qtbot, clinic, formatter, fund):
    dialog = open_dialog(qtbot, clinic, formatter, fund["bupa"])
    assert sorted(shown(dialog)) == sorted(
        fund[k] for k in ("ada1", "grace1", "ada2", "grace2")
    )  # not WorkSafe's, not Ada's own
    assert cell(dialog, fund["grace2"], PATIENT) == "Grace Hopper"
    assert cell(dialog, fund["grace2"], CLAIM) == "BUP-104"
    assert dialog.shown_label.text() == "4 open invoices"
    assert dialog.credit_box.title() == "Bupa's credit"
    dialog.choose_payer(fund["worksafe"])
    assert shown(dialog) == [fund["alan1"]] and dialog.credit_box.title() == "WorkSafe's credit"


def test_a_remittance_across_patients_searched_typed_and_the_rest_to_the_payers_credit(
    qtbot, clinic, formatter, fund, answer
):
    clinic.update_settings(allocation_mode=AllocationMode.OFF)  # the advice says what is paid
    dialog = open_dialog(qtbot, clinic, formatter, fund["bupa"])
    type_into(qtbot, dialog.reference_edit, "REM-2026-11")
    type_into(qtbot, dialog.source_edits["Bank transfer"], "300.00")
    assert search(qtbot, dialog, "hopper") == [fund["grace1"], fund["grace2"]]
    type_apply(qtbot, dialog, fund["grace1"], "95.00")
    assert search(qtbot, dialog, "BUP-101") == [fund["ada1"]]  # a claim reference
    type_apply(qtbot, dialog, fund["ada1"], "100.00")  # the fund paid less than billed
    number = clinic.invoice(fund["grace2"]).number
    assert search(qtbot, dialog, f"#{number}") == [fund["grace2"]]  # an invoice number
    type_apply(qtbot, dialog, fund["grace2"], "60.00")
    assert search(qtbot, dialog, "zzz") == []
    assert "3 with amounts typed hidden by the search" in dialog.shown_label.text()
    dialog.search_edit.clear()
    dialog.apply_search()
    assert len(shown(dialog)) == 4
    # What saving will do: 255.00 applied, 45.00 becomes Bupa's credit.
    assert dialog.applied_label.text() == "$255.00"
    assert dialog.to_credit_label.text() == "$45.00"
    caption = dialog.summary_form.labelForField(dialog.to_credit_label)
    assert caption.text() == "Becomes Bupa's credit:"
    assert dialog.message_label.text().startswith("$45.00 becomes Bupa's credit while Bupa")
    assert cell(dialog, fund["ada1"], PATIENT) == "Ada Lovelace"

    def save_as_credit(box: QMessageBox) -> None:
        assert "will be left as Bupa's credit, but Bupa still owes" in box.text()
        next(b for b in box.buttons() if b.text() == "Save as credit").click()

    answer(save_as_credit)
    with qtbot.waitSignal(dialog.saved):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    payment = clinic.payment(dialog.saved_payment_id)
    assert payment.total == Decimal("300.00")
    assert {a.invoice_id: a.amount for a in payment.applications} == {
        fund["grace1"]: Decimal("95.00"),
        fund["ada1"]: Decimal("100.00"),
        fund["grace2"]: Decimal("60.00"),
    }
    assert clinic.payer(fund["bupa"]).credit == Decimal("45.00")
    assert clinic.invoice(fund["ada1"]).balance == Decimal("20.00")
    assert clinic.earlier_remittances(fund["bupa"], "REM-2026-11") == [payment.id]
    assert clinic.patient(fund["ada"]).outstanding == Decimal("30.00")  # her own, untouched
    assert clinic.verify() == []


def test_money_left_with_nothing_open_becomes_the_payers_credit(qtbot, clinic, formatter, fund):
    dialog = open_dialog(qtbot, clinic, formatter, fund["worksafe"])
    type_into(qtbot, dialog.source_edits["Bank transfer"], "200.00")
    assert cell(dialog, fund["alan1"], APPLY) == "$140.00"  # filled automatically
    assert dialog.to_credit_label.text() == "$60.00"
    assert dialog.message_label.text() == "$60.00 becomes WorkSafe's credit."
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert clinic.payer(fund["worksafe"]).credit == Decimal("60.00")
    assert clinic.invoice(fund["alan1"]).status == "paid"


def test_a_reference_already_recorded_is_warned_about_and_asked_again(
    qtbot, clinic, formatter, fund, answer
):
    first = clinic.preview_payer_payment(
        fund["bupa"], {"Bank transfer": "120.00"}, {fund["ada1"]: "120.00"}, reference="REM-7"
    )
    earlier = clinic.record_payer_payment(first, request_id="rem-7")
    dialog = open_dialog(qtbot, clinic, formatter, fund["bupa"])
    type_into(qtbot, dialog.reference_edit, "rem-7")  # any case
    qtbot.waitUntil(lambda: "already recorded" in dialog.message_label.text(), timeout=2000)
    day = formatter.day(clinic.payment(earlier).payment_date)
    assert dialog.message_label.text().startswith(
        f"rem-7 was already recorded for Bupa on {day} ($120.00)"
    )
    type_into(qtbot, dialog.source_edits["Bank transfer"], "95.00")
    assert dialog.save_button.isEnabled()  # a warning, not a refusal
    before = snapshot(clinic)

    def go_back(box: QMessageBox) -> None:
        next(b for b in box.buttons() if b.text() == "Go back").click()

    texts = answer(go_back)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert "Record it again?" in texts[0] and dialog.saved_payment_id is None
    assert snapshot(clinic) == before

    def again(box: QMessageBox) -> None:
        next(b for b in box.buttons() if b.text() == "Record again").click()

    answer(again)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.saved_payment_id is not None
    assert clinic.earlier_remittances(fund["bupa"], "REM-7") == [earlier, dialog.saved_payment_id]
    type_again = open_dialog(qtbot, clinic, formatter, fund["worksafe"])
    type_into(qtbot, type_again.reference_edit, "REM-7")  # another payer's own references
    type_again._settle()
    assert "already recorded" not in type_again.message_label.text()


def test_pressing_save_twice_records_one_payment(qtbot, clinic, formatter, fund):
    dialog = open_dialog(qtbot, clinic, formatter, fund["bupa"])
    type_into(qtbot, dialog.reference_edit, "REM-9")
    type_into(qtbot, dialog.source_edits["Bank transfer"], "120.00")
    request_id = dialog.request_id
    qtbot.mouseDClick(dialog.save_button, Qt.MouseButton.LeftButton)
    dialog._on_save_button_clicked()  # a third press that slipped through records nothing
    assert dialog.request_id == request_id
    assert clinic.earlier_remittances(fund["bupa"], "REM-9") == [dialog.saved_payment_id]
    # The same request again (a retry) is the same payment, not a new one.
    again = clinic.record_payer_payment(dialog.preview, request_id=dialog.request_id)
    assert again == dialog.saved_payment_id
    assert clinic.earlier_remittances(fund["bupa"], "REM-9") == [dialog.saved_payment_id]


def test_a_change_on_another_computer_refreshes_the_figures_and_says_why(
    qtbot, clinic, formatter, fund
):
    dialog = open_dialog(qtbot, clinic, formatter, fund["bupa"])
    type_into(qtbot, dialog.reference_edit, "REM-10")
    type_into(qtbot, dialog.source_edits["Bank transfer"], "120.00")
    with Clinic.open(clinic.url) as other_desk:  # Ada's first visit paid by the fund meanwhile
        other_desk.record_payer_payment(
            other_desk.preview_payer_payment(
                fund["bupa"], {"Bank transfer": "120.00"}, {fund["ada1"]: "120.00"}
            ),
            request_id="desk-2",
        )
    before = snapshot(clinic)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.saved_payment_id is None and dialog.isVisible()
    assert snapshot(clinic) == before
    assert "The figures below are now up to date" in dialog.message_label.text()
    assert fund["ada1"] not in shown(dialog) and len(shown(dialog)) == 3
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.saved_payment_id is not None
    assert clinic.payment(dialog.saved_payment_id).total == Decimal("120.00")
    assert clinic.verify() == []


def test_a_reference_the_core_refuses_is_marked_and_saves_nothing(qtbot, clinic, formatter, fund):
    dialog = open_dialog(qtbot, clinic, formatter, fund["bupa"])
    type_into(qtbot, dialog.source_edits["Bank transfer"], "10.00")
    dialog.reference_edit.setText("REM\u202e7")  # pasted with a direction override
    dialog.reference_edit.textEdited.emit(dialog.reference_edit.text())
    dialog._settle()
    assert dialog.reference_edit.toolTip() and not dialog.save_button.isEnabled()
    assert dialog.message_label.text() == dialog.reference_edit.toolTip()


def test_started_from_one_of_the_payers_invoices(qtbot, clinic, formatter, fund):
    dialog = open_dialog(qtbot, clinic, formatter, fund["bupa"], invoice=fund["grace2"])
    assert dialog.payer_id == fund["bupa"]
    current = dialog.table.currentIndex()
    assert current.data(INVOICE_ID_ROLE) == fund["grace2"]
    assert current.column() == dialog.allocation_model.apply_column


def test_the_tools_menu_opens_it_and_says_so_when_there_is_no_payer(qtbot, window, clinic, answer):
    texts = answer(lambda box: box.accept())
    assert window.payer_actions.enter_remittance() is None
    assert texts == ["There are no payers yet: add them in Settings > Payers first."]
    bupa = clinic.add_payer("Bupa", kind="health fund")
    seen: list[int] = []

    def look(dialog: QDialog) -> None:
        assert isinstance(dialog, RemittanceDialog)
        seen.append(dialog.payer_id)
        dialog.reject()

    answer(look)
    window.payer_actions.remittance_action.trigger()
    assert seen == [bupa]
    assert window.payer_actions.remittance_action.shortcut().toString() == "Ctrl+Shift+Y"


def test_refunding_a_payers_credit(qtbot, window, clinic, formatter, fund, answer):
    overpaid = clinic.preview_payer_payment(fund["worksafe"], {"Bank transfer": "200.00"})
    clinic.record_payer_payment(overpaid, request_id="over")
    assert clinic.payer(fund["worksafe"]).credit == Decimal("60.00")

    def refund(dialog: QDialog) -> None:
        assert isinstance(dialog, PayerRefundDialog)
        assert dialog.name_label.text() == "WorkSafe"
        assert dialog.credit_label.text() == "$60.00"
        assert dialog.amount_edit.text() == "60.00"
        dialog.amount_edit.setText("25.00")
        dialog.method_combo.setCurrentText("Bank transfer")
        dialog.save_button.click()

    answer(refund)
    assert window.payer_actions.refund_payer_credit() is not None  # the one payer with credit
    assert clinic.payer(fund["worksafe"]).credit == Decimal("35.00")
    dialog = PayerRefundDialog(clinic, fund["bupa"], formatter)
    qtbot.addWidget(dialog)
    assert dialog.message_label.text() == "Bupa holds no credit to refund."
    assert not dialog.save_button.isEnabled()
    assert clinic.verify() == []


def test_five_hundred_open_invoices_across_three_hundred_patients_stay_responsive(
    qtbot, clinic, formatter
):
    bupa = clinic.add_payer("Bupa", kind="health fund")
    patients = [clinic.add_patient(f"Patient{n}", f"Family{n % 37}") for n in range(300)]
    for n in range(500):
        clinic.create_invoice(
            patients[n % 300], [("Consult", "50.00", 1)], bill_to=bupa, claim_reference=f"C{n}"
        )
    start = time.perf_counter()
    dialog = open_dialog(qtbot, clinic, formatter, bupa)
    opened = time.perf_counter() - start
    assert dialog.allocation_model.rowCount() == 500
    assert dialog.table.indexWidget(dialog.invoice_filter.index(0, 0)) is None  # no row widgets
    edit = dialog.source_edits["Bank transfer"]
    edit.setFocus()
    keystrokes = []
    for key in "1234.5":
        start = time.perf_counter()
        qtbot.keyClicks(edit, key)
        dialog.table.viewport().repaint()
        keystrokes.append(time.perf_counter() - start)
    start = time.perf_counter()
    last = dialog.allocation_model.index(499, 0).data(INVOICE_ID_ROLE)
    assert search(qtbot, dialog, "C499") == [last]
    searched = time.perf_counter() - start
    # Generous bounds for a shared test machine: a person notices a pause, not milliseconds.
    assert opened < 3.0 and max(keystrokes) < 0.5 and searched < 2.0, (opened, keystrokes)


def test_typing_into_an_open_window_keeps_what_was_alive_out_of_the_collectors_passes(
    qtbot, clinic, formatter, fund
):
    import gc

    dialog = open_dialog(qtbot, clinic, formatter, payer=fund["bupa"])
    assert gc.get_freeze_count() > 0  # shown: the heap as it opened is frozen
    dialog.reject()
    assert gc.get_freeze_count() == 0  # closed: given back
