"""Billing a third-party payer from the invoice window, and the patient's Invoices tab after it:
who pays (the patient's default payer chosen first), the payer's claim reference under its own
name for it, a visit split with the payer in one step, refusals at their field with nothing
saved, and the tab saying who each invoice is billed to without counting payers' invoices in
what the patient owes."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDialog

from desktop_app.core import BillingError, Clinic
from desktop_app.ui.dialogs import bill_to as bill_to_module
from desktop_app.ui.dialogs.invoice_dialog import InvoiceDialog
from desktop_app.ui.dialogs.invoice_list import InvoiceListWindow
from desktop_app.ui.dialogs.remittance_dialog import RemittanceDialog
from desktop_app.ui.models.allocation import INVOICE_ID_ROLE
from desktop_app.ui.models.invoices import BILLED_TO, CLAIM
from tests.helpers import snapshot

TODAY = date.today()


@pytest.fixture
def funded(clinic: Clinic) -> dict[str, int]:
    """Ada, a member of Bupa (her default payer for new invoices) and of WorkSafe; a third,
    archived payer she was a member of; Grace, with no payer."""
    bupa = clinic.add_payer("Bupa", kind="health fund")
    worksafe = clinic.add_payer("WorkSafe", kind="workers compensation")
    gone = clinic.add_payer("Old Fund", kind="health fund")
    ada = clinic.add_patient("Ada", "Lovelace")
    clinic.add_membership(ada, bupa, member_number="7731", default_for_invoices=True)
    clinic.add_membership(ada, worksafe, member_number="WC-1")
    clinic.add_membership(ada, gone)
    clinic.archive_payer(gone)
    grace = clinic.add_patient("Grace", "Hopper")
    return {"bupa": bupa, "worksafe": worksafe, "gone": gone, "ada": ada, "grace": grace}


def open_dialog(qtbot, clinic, formatter, pid, invoice=None) -> InvoiceDialog:
    dialog = InvoiceDialog(
        clinic,
        formatter,
        pid,
        clinic.patient(pid).full_name,
        invoice=None if invoice is None else clinic.invoice(invoice),
    )
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def fill(dialog: InvoiceDialog, *lines: tuple[str, str]) -> None:
    """Type lines (description, unit price) as a receptionist does, over the blank first line."""
    dialog.table.removeRow(0)
    for description, price in lines:
        dialog.add_line(description, "1", price)


def type_into(qtbot, edit, text: str) -> None:
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)


def test_the_default_payer_is_chosen_first_and_only_active_payers_are_offered(
    qtbot, clinic, formatter, funded
):
    dialog = open_dialog(qtbot, clinic, formatter, funded["ada"])
    box = dialog.bill_to
    offered = [box.bill_to_combo.itemText(i) for i in range(box.bill_to_combo.count())]
    assert offered == [
        "Ada Lovelace (the patient)",
        "Bupa (member 7731)",
        "WorkSafe (member WC-1)",
    ]  # the archived payer is not offered
    assert box.payer is not None and box.payer.id == funded["bupa"]
    assert box.claim_label.text() == "Claim number:" and box.claim_edit.isVisible()
    box.choose(funded["worksafe"])
    assert box.claim_label.text() == "Claim number:"
    box.choose(None)
    assert not box.claim_edit.isVisible() and not box.split_check.isVisible()
    other = open_dialog(qtbot, clinic, formatter, funded["grace"])
    assert other.bill_to.payer is None and other.bill_to.bill_to_combo.count() == 1


def test_a_default_membership_no_longer_valid_leaves_the_patient_chosen(
    qtbot, clinic, formatter, funded
):
    membership = next(m for m in clinic.memberships(funded["ada"]) if m.default_for_invoices)
    clinic.update_membership(membership.id, valid_to=TODAY - timedelta(days=1))
    dialog = open_dialog(qtbot, clinic, formatter, funded["ada"])
    assert dialog.bill_to.payer is None
    assert "not valid on this day" in dialog.bill_to.bill_to_combo.itemText(1)


def test_billed_to_a_payer_with_its_claim_reference(qtbot, clinic, formatter, funded):
    plan = clinic.add_payer("NDIS", kind="government scheme")
    clinic.add_membership(funded["ada"], plan)
    dialog = open_dialog(qtbot, clinic, formatter, funded["ada"])
    fill(dialog, ("Standard consultation", "95.00"))
    dialog.bill_to.choose(plan)
    assert dialog.bill_to.claim_label.text() == "Plan or approval number:"
    type_into(qtbot, dialog.bill_to.claim_edit, "NDIS-4410")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted
    invoice = clinic.invoice(dialog.invoice_id)
    assert (invoice.payer_id, invoice.claim_reference) == (plan, "NDIS-4410")
    assert invoice.patient_id == funded["ada"] and invoice.total == Decimal("95.00")
    assert clinic.patient(funded["ada"]).outstanding == Decimal("0.00")
    assert clinic.payer(plan).outstanding == Decimal("95.00")


def test_the_patient_chosen_over_a_default_payer_is_billed(qtbot, clinic, formatter, funded):
    dialog = open_dialog(qtbot, clinic, formatter, funded["ada"])
    fill(dialog, ("Standard consultation", "95.00"))
    dialog.bill_to.choose(None)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    invoice = clinic.invoice(dialog.invoice_id)
    assert invoice.payer_id is None and invoice.claim_reference is None
    assert clinic.patient(funded["ada"]).outstanding == Decimal("95.00")


def test_split_80_percent_shows_both_parts_and_saves_two_linked_invoices(
    qtbot, clinic, formatter, funded
):
    dialog = open_dialog(qtbot, clinic, formatter, funded["ada"])
    fill(dialog, ("Standard consultation", "95.00"), ("Exercise program", "40.00"))
    box = dialog.bill_to
    type_into(qtbot, box.claim_edit, "BUP-1")
    qtbot.mouseClick(box.split_check, Qt.MouseButton.LeftButton, pos=QPoint(6, 8))
    assert box.share_edit.isVisible()
    type_into(qtbot, box.share_edit, "80%")
    assert box.split_label.text() == "Bupa pays $108.00;  Ada Lovelace pays $27.00 (the gap)."
    assert not dialog.draft_button.isEnabled()  # a split visit is issued at once
    type_into(qtbot, box.share_edit, "100.00")  # an amount works too, live
    assert box.split_label.text() == "Bupa pays $100.00;  Ada Lovelace pays $35.00 (the gap)."
    type_into(qtbot, box.share_edit, "80%")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted
    payer_part, gap = dialog.split_ids
    assert dialog.invoice_id == gap  # "Issue and enter payment" takes the patient's part
    fund_invoice, patient_invoice = clinic.invoice(payer_part), clinic.invoice(gap)
    assert (fund_invoice.total, patient_invoice.total) == (Decimal("108.00"), Decimal("27.00"))
    assert (fund_invoice.payer_id, fund_invoice.claim_reference) == (funded["bupa"], "BUP-1")
    assert patient_invoice.payer_id is None and patient_invoice.split_with_id == payer_part
    assert clinic.patient(funded["ada"]).outstanding == Decimal("27.00")


@pytest.mark.parametrize(
    ("share", "message"),
    [
        ("200.00", "The payer's share is more than the invoice's total"),
        ("-5", "negative"),
        ("120%", "must be a percentage from 0 to 100"),
        ("eighty", "is not an amount"),
    ],
)
def test_a_share_the_core_refuses_is_shown_at_the_field_and_nothing_is_saved(
    qtbot, clinic, formatter, funded, share, message
):
    dialog = open_dialog(qtbot, clinic, formatter, funded["ada"])
    fill(dialog, ("Standard consultation", "95.00"), ("Exercise program", "40.00"))
    box = dialog.bill_to
    box.split_check.setChecked(True)
    type_into(qtbot, box.share_edit, share)
    assert box.share_edit.error is not None and message in box.share_edit.error
    assert message in box.split_label.text()
    assert not dialog.save_button.isEnabled() and not dialog.pay_button.isEnabled()
    before = snapshot(clinic)
    dialog._on_save_button_clicked()  # a press that slipped through saves nothing
    assert snapshot(clinic) == before and dialog.isVisible()


def test_the_core_has_the_last_word_on_the_share(qtbot, clinic, formatter, funded, monkeypatch):
    """Were the window's live figures ever to accept a share the core refuses, the core's own
    refusal is shown at the share, and nothing is saved."""
    monkeypatch.setattr(bill_to_module, "split_totals", lambda share, total, currency: (0, 0))
    dialog = open_dialog(qtbot, clinic, formatter, funded["ada"])
    fill(dialog, ("Standard consultation", "95.00"))
    box = dialog.bill_to
    box.split_check.setChecked(True)
    type_into(qtbot, box.share_edit, "500.00")
    assert dialog.save_button.isEnabled()
    before = snapshot(clinic)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    with pytest.raises(BillingError) as refused:
        clinic.create_split_invoice(
            funded["ada"], [("x", "95.00", 1)], payer=funded["bupa"], payer_share="500.00"
        )
    assert box.share_edit.error == str(refused.value)
    assert dialog.message_label.text() == str(refused.value)
    assert snapshot(clinic) == before and dialog.isVisible()


def test_a_draft_billed_to_a_payer_is_issued_to_it(qtbot, clinic, formatter, funded):
    dialog = open_dialog(qtbot, clinic, formatter, funded["ada"])
    fill(dialog, ("Standard consultation", "95.00"))
    type_into(qtbot, dialog.bill_to.claim_edit, "BUP-7")
    qtbot.mouseClick(dialog.draft_button, Qt.MouseButton.LeftButton)
    draft = clinic.invoice(dialog.invoice_id)
    assert draft.is_draft and (draft.payer_id, draft.claim_reference) == (funded["bupa"], "BUP-7")
    again = open_dialog(qtbot, clinic, formatter, funded["ada"], invoice=draft.id)
    box = again.bill_to
    assert box.payer is not None and box.payer.id == funded["bupa"]
    assert box.bill_to_combo.isEnabled() and not box.claim_edit.isReadOnly()
    assert not box.split_check.isEnabled()
    qtbot.mouseClick(again.save_button, Qt.MouseButton.LeftButton)  # Issue
    issued = clinic.invoice(draft.id)
    assert issued.number is not None and issued.payer_id == funded["bupa"]
    assert clinic.payer(funded["bupa"]).outstanding == Decimal("95.00")
    assert clinic.patient(funded["ada"]).outstanding == Decimal("0.00")


def test_the_invoices_tab_says_who_is_billed_and_leaves_payers_out_of_the_patients_owing(
    qtbot, window, clinic, funded
):
    ada = funded["ada"]
    own = clinic.create_invoice(ada, [("Report", "30.00", 1)], bill_to=None)
    billed = clinic.create_invoice(
        ada, [("Consult", "95.00", 1)], bill_to=funded["worksafe"], claim_reference="WC-77"
    )
    payer_part, gap = clinic.create_split_invoice(
        ada, [("Consult", "135.00", 1)], payer=funded["bupa"], payer_share="80%"
    )
    window.select_patient(ada)
    model, view = window.invoice_model, window.invoice_view
    titles = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    billed_to, reference = titles.index("Billed to"), titles.index("Claim / split")
    assert not view.isColumnHidden(billed_to) and not view.isColumnHidden(reference)
    shown = {
        model.record(r).id: (
            model.data(model.index(r, billed_to)),
            model.data(model.index(r, reference)),
        )
        for r in range(model.rowCount())
    }
    numbers = {i: clinic.invoice(i).number for i in (payer_part, gap)}
    assert shown == {
        own: ("Patient", ""),
        billed: ("WorkSafe", "WC-77"),
        payer_part: ("Bupa", f"split with #{numbers[gap]}"),
        gap: ("Patient", f"split with #{numbers[payer_part]}"),
    }
    # Ada owes her own invoice and her gap; the payers' invoices are theirs.
    assert clinic.patient(ada).outstanding == Decimal("57.00")
    assert window.outstanding_label.text() == "Outstanding: $57.00  (payers owe $203.00)"
    window.select_patient(funded["grace"])  # nobody's payer: the columns say nothing, hidden
    assert view.isColumnHidden(billed_to) and view.isColumnHidden(reference)
    assert window.outstanding_label.text() == "Outstanding: $0.00"


def test_enter_on_an_invoice_billed_to_a_payer_opens_the_payers_remittance(
    qtbot, window, clinic, funded, with_modal
):
    ada = funded["ada"]
    clinic.create_invoice(ada, [("Report", "30.00", 1)], bill_to=None)
    billed = clinic.create_invoice(ada, [("Consult", "95.00", 1)], bill_to=funded["worksafe"])
    window.select_patient(ada)
    row = next(
        r
        for r in range(window.invoice_model.rowCount())
        if window.invoice_model.record(r).id == billed
    )
    seen: list[tuple[int, int | None]] = []

    def look(dialog: QDialog) -> None:
        assert isinstance(dialog, RemittanceDialog)
        current = dialog.table.currentIndex()
        seen.append((dialog.payer_id, current.data(INVOICE_ID_ROLE)))
        dialog.reject()

    with_modal(look)
    window.invoice_view.activated.emit(window.invoice_model.index(row, 0))
    assert seen == [(funded["worksafe"], billed)]


def test_all_invoices_says_who_each_invoice_is_billed_to(qtbot, clinic, formatter, funded):
    own = clinic.create_invoice(funded["grace"], [("Report", "30.00", 1)])
    billed = clinic.create_invoice(
        funded["ada"], [("Consult", "95.00", 1)], bill_to=funded["bupa"], claim_reference="B-9"
    )
    window = InvoiceListWindow(clinic, formatter)
    qtbot.addWidget(window)
    model = window.model
    rows = {model.invoice(r).id: r for r in range(model.rowCount())}
    assert model.data(model.index(rows[own], BILLED_TO)) == "Patient"
    assert model.data(model.index(rows[billed], BILLED_TO)) == "Bupa"
    assert model.data(model.index(rows[billed], CLAIM)) == "B-9"
    assert model.invoice(rows[billed]).patient_name == "Lovelace, Ada"
    assert not window.table.isColumnHidden(BILLED_TO)


def test_all_invoices_hides_the_payer_columns_without_payers(qtbot, clinic, formatter):
    clinic.create_invoice(clinic.add_patient("Ada", "Lovelace"), [("Report", "30.00", 1)])
    window = InvoiceListWindow(clinic, formatter)
    qtbot.addWidget(window)
    assert window.table.isColumnHidden(BILLED_TO) and window.table.isColumnHidden(CLAIM)


def test_a_credit_note_on_an_invoice_billed_to_a_payer_speaks_of_the_payers_credit(
    qtbot, clinic, formatter, funded
):
    from desktop_app.ui.dialogs.credit_note_dialog import CreditNoteDialog

    billed = clinic.create_invoice(funded["ada"], [("Consult", "95.00", 1)], bill_to=funded["bupa"])
    clinic.record_payer_payment(
        clinic.preview_payer_payment(funded["bupa"], {"Bank transfer": "95.00"}, {billed: "95.00"}),
        request_id="rem",
    )
    clinic.credit_note(billed, "15.00", reason="fee agreed lower", request_id="cn-1")
    dialog = CreditNoteDialog(clinic, billed, formatter)
    qtbot.addWidget(dialog)
    assert dialog.creditable == Decimal("80.00")  # the note already on the payer's invoice counts
    assert "$80.00 returns to Bupa's credit." in dialog.explanation_label.text()


def test_a_declined_claim_is_billed_to_the_patient_by_correcting_the_invoice(
    qtbot, clinic, formatter, funded
):
    ada, bupa = funded["ada"], funded["bupa"]
    iid = clinic.create_invoice(
        ada, [("Standard consultation", "95.00", 1)], bill_to=bupa, claim_reference="BUP-1"
    )
    dialog = open_dialog(qtbot, clinic, formatter, ada, invoice=iid)
    dialog.bill_to.choose(None)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    invoice = clinic.invoice(iid)
    assert (invoice.payer_id, invoice.claim_reference) == (None, None)
    assert clinic.patient(ada).outstanding == Decimal("95.00")
    assert clinic.payer(bupa).outstanding == Decimal("0.00")
