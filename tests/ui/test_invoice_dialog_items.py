"""The invoice window the way clinics write invoices: catalogue items picked by code or name at
the patient's concession price, half hours, discounts, GST included, practitioners, drafts, and
the correction of an issued invoice before it is paid."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QMessageBox

from desktop_app.core import Clinic, Role
from desktop_app.ui.dialogs.invoice_dialog import (
    AMOUNT,
    DESCRIPTION,
    DISCOUNT,
    PRICE,
    QUANTITY,
    TAX,
    InvoiceDialog,
)

PASSWORD = "correct horse battery"


@pytest.fixture
def catalogue(clinic: Clinic) -> dict[str, int]:
    clinic.update_settings(tax_name="GST", tax_rate="10")
    clinic.add_staff("boss", "Boss", Role.ADMINISTRATOR, PASSWORD)
    clinic.add_staff("smith", "Dr Smith", Role.PRACTITIONER, PASSWORD)
    clinic.add_staff("jones", "Dr Jones", Role.PRACTITIONER, PASSWORD)
    ada = clinic.add_patient("Ada", "Lovelace", concession="pensioner")
    clinic.assign_practitioner(ada, "smith")
    return {
        "ada": ada,
        "consult": clinic.add_billable_item(
            "IC",
            "Initial consultation",
            "95.00",
            tax_rate="10",
            concession_prices={"Pensioner": "75.00"},
        ),
        "massage": clinic.add_billable_item("MS30", "Remedial massage", "60.00", tax_rate="10"),
        "staff": {s.full_name: s.id for s in clinic.practitioners()},
    }


def _dialog(qtbot, clinic, formatter, pid, invoice=None) -> InvoiceDialog:
    dialog = InvoiceDialog(
        clinic,
        formatter,
        pid,
        "Ada Lovelace",
        invoice=None if invoice is None else clinic.invoice(invoice),
    )
    qtbot.addWidget(dialog)
    return dialog


def _cells(dialog: InvoiceDialog, row: int) -> list[str]:
    return [
        dialog.table.item(row, c).text()
        for c in (DESCRIPTION, QUANTITY, PRICE, DISCOUNT, TAX, AMOUNT)
    ]


def test_items_picked_by_code_or_name_at_the_concession_price(
    qtbot, clinic, formatter, catalogue
) -> None:
    dialog = _dialog(qtbot, clinic, formatter, catalogue["ada"])
    # The patient's practitioner is proposed; any active practitioner or no one can be chosen.
    assert dialog.practitioner_combo.currentText() == "Dr Smith"
    names = [
        dialog.practitioner_combo.itemText(i) for i in range(dialog.practitioner_combo.count())
    ]
    assert names == ["No practitioner", "Dr Jones", "Dr Smith"]
    # A code typed in full, then Enter: the pensioner's price, the item's tax.
    qtbot.keyClicks(dialog.picker, "ic")
    qtbot.keyClick(dialog.picker, Qt.Key.Key_Return)
    assert _cells(dialog, 0) == ["Initial consultation", "1", "75.00", "", "10", "$82.50"]
    assert dialog.table.verticalHeaderItem(0).text() == "IC"
    # Part of a name: the completer offers it over the whole catalogue.
    dialog.completer.setCompletionPrefix("massage")
    assert dialog.completer.currentCompletion() == "MS30  Remedial massage"
    assert dialog.pick("massage")
    dialog.table.item(1, QUANTITY).setText("0.5")
    dialog.table.item(1, DISCOUNT).setText("10%")
    assert _cells(dialog, 1)[-1] == "$29.70"  # 0.5 x $60 = $30, less 10% = $27, + $2.70 GST
    assert dialog.total_label.text() == "Net: $102.00    Tax: $10.20    Total: $112.20"
    assert dialog.basis_label.text() == "GST is added to the prices"
    # Nothing matches, or too much: a clear message, no line added.
    assert not dialog.pick("zzz") and "No billable item matches" in dialog.message_label.text()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    saved = clinic.invoices(catalogue["ada"])[0]
    assert saved.number == 1 and saved.total == Decimal("112.20")
    assert saved.practitioner_id == catalogue["staff"]["Dr Smith"]
    assert [(ln.item_code, ln.quantity, ln.discount) for ln in saved.lines] == [
        ("IC", Decimal("1"), Decimal("0.00")),
        ("MS30", Decimal("0.5"), Decimal("3.00")),
    ]


def test_prices_including_gst_show_the_gst_inside_the_price(
    qtbot, clinic, formatter, catalogue
) -> None:
    clinic.set_prices_include_tax(True)
    bob = clinic.add_patient("Bob", "Brown")
    dialog = _dialog(qtbot, clinic, formatter, bob)
    assert dialog.practitioner_combo.currentText() == "No practitioner"
    assert dialog.pick("IC")
    assert dialog.total_label.text() == "Net: $86.36    Tax: $8.64    Total: $95.00"
    assert dialog.basis_label.text() == "Prices include GST"
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    saved = clinic.invoice(dialog.invoice_id)
    assert (saved.total, saved.tax_total, saved.practitioner_id) == (
        Decimal("95.00"),
        Decimal("8.64"),
        None,
    )


def test_a_bad_discount_is_explained_and_nothing_is_saved(
    qtbot, clinic, formatter, catalogue
) -> None:
    dialog = _dialog(qtbot, clinic, formatter, catalogue["ada"])
    dialog.pick("MS30")
    dialog.table.item(0, DISCOUNT).setText("70.00")
    assert "discount" in dialog.message_label.text().lower()
    assert not dialog.save_button.isEnabled() and not dialog.draft_button.isEnabled()
    dialog.table.item(0, QUANTITY).setText("0.125")
    assert "decimals" in dialog.message_label.text()
    assert clinic.invoices(catalogue["ada"]) == []


def test_a_draft_is_saved_changed_and_issued_with_the_next_number(
    qtbot, clinic, formatter, catalogue
) -> None:
    pid = catalogue["ada"]
    clinic.create_invoice(pid, [("Report", "30.00", 1)])  # #1
    dialog = _dialog(qtbot, clinic, formatter, pid)
    dialog.pick("IC")
    qtbot.mouseClick(dialog.draft_button, Qt.MouseButton.LeftButton)
    draft = clinic.invoice(dialog.invoice_id)
    assert (draft.status, draft.number) == ("draft", None)
    assert clinic.patient(pid).outstanding == Decimal("30.00")  # a draft is in no balance
    # Reopened: another line and another practitioner, then issued.
    again = _dialog(qtbot, clinic, formatter, pid, draft.id)
    assert not again.delete_button.isHidden() and again.pay_button.text().startswith("Issue")
    assert _cells(again, 0)[:3] == ["Initial consultation", "1", "75.00"]
    again.pick("MS30")
    again.practitioner_combo.setCurrentIndex(again.practitioner_combo.findText("Dr Jones"))
    qtbot.mouseClick(again.save_button, Qt.MouseButton.LeftButton)
    issued = clinic.invoice(draft.id)
    assert (issued.status, issued.number, issued.total) == ("open", 2, Decimal("148.50"))
    assert issued.practitioner_id == catalogue["staff"]["Dr Jones"]
    assert clinic.patient(pid).outstanding == Decimal("178.50")
    assert clinic.verify() == []


def test_edit_invoice_corrects_an_unpaid_invoice_and_explains_a_paid_one(
    qtbot, window, clinic, catalogue, with_modal
) -> None:
    pid = catalogue["ada"]
    paid = clinic.create_invoice(pid, [("Report", "30.00", 1)])
    clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "30"}), "p1")
    unpaid = clinic.create_invoice(pid, [{"item": catalogue["massage"]}])
    window.select_patient(pid)
    view, model = window.invoice_view, window.invoice_model

    def select(invoice_id: int) -> None:
        row = next(r for r in range(model.rowCount()) if model.record(r).id == invoice_id)
        view.selectRow(row)

    select(unpaid)
    assert window.edit_invoice_action.isEnabled()

    def correct(dialog: QDialog) -> None:
        assert isinstance(dialog, InvoiceDialog)
        assert dialog.save_button.text() == "&Save changes" and not dialog.draft_button.isVisible()
        dialog.table.item(0, PRICE).setText("50.00")
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    with_modal(correct)
    window.edit_invoice_action.trigger()
    assert clinic.invoice(unpaid).total == Decimal("55.00")
    assert clinic.patient(pid).outstanding == Decimal("55.00")
    assert "$55.00" in window.outstanding_label.text()

    select(paid)

    def explained(box: QDialog) -> None:
        assert isinstance(box, QMessageBox)
        box.reject()

    texts = with_modal(explained)
    window.edit_invoice_action.trigger()
    assert "paid on it" in texts[0]
    assert clinic.invoice(paid).total == Decimal("30.00")


def test_a_draft_is_listed_as_draft_and_deleted_from_its_window(
    qtbot, window, clinic, catalogue, with_modal
) -> None:
    pid = catalogue["ada"]
    draft = clinic.create_invoice(pid, [{"item": catalogue["consult"]}], draft=True)
    window.select_patient(pid)
    model = window.invoice_model
    assert model.data(model.index(0, 0)) == "Draft"
    window.invoice_view.selectRow(0)
    assert not window.corrections.void_action.isEnabled()

    def delete(dialog: QDialog) -> None:
        assert isinstance(dialog, InvoiceDialog)
        with_modal(lambda box: box.button(QMessageBox.StandardButton.Yes).click())
        qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)

    with_modal(delete)
    window.edit_invoice_action.trigger()
    assert clinic.invoices(pid) == []
    assert model.rowCount() == 0
    assert draft not in {i.id for i in clinic.invoices(pid)}


def test_all_invoices_edits_the_chosen_invoice_in_the_patients_window(
    qtbot, window, clinic, catalogue, with_modal
) -> None:
    pid = catalogue["ada"]
    bob = clinic.add_patient("Bob", "Brown")
    clinic.create_invoice(bob, [("Report", "30.00", 1)])
    iid = clinic.create_invoice(pid, [{"item": catalogue["massage"]}])
    listing = window.open_invoice_list()
    listing.wait_for_count()
    qtbot.waitUntil(lambda: listing.model.rowCount() == 2)
    row = next(r for r in range(2) if listing.model.invoice(r).id == iid)
    listing.table.setCurrentIndex(listing.model.index(row, 0))

    def correct(dialog: QDialog) -> None:
        assert isinstance(dialog, InvoiceDialog) and dialog.invoice_id == iid
        dialog.table.item(0, QUANTITY).setText("2")
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    with_modal(correct)
    qtbot.mouseClick(listing.edit_button, Qt.MouseButton.LeftButton)
    assert window.patient_id == pid
    assert clinic.invoice(iid).total == Decimal("132.00")
