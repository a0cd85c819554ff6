"""Refund, credit note, transfer and the undo confirmation, driven as a receptionist drives them:
typing, reading what the dialog says will happen, saving, and being told when the ledger refuses.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLineEdit, QWidget

from desktop_app.core import (
    BillingError,
    Clinic,
    ConcurrentChangeError,
    DatabaseBusyError,
    Refusal,
)
from desktop_app.ui.dialogs.money_actions import (
    ConfirmCorrectionDialog,
    CreditNoteDialog,
    RefundDialog,
    TransferDialog,
)
from tests.helpers import snapshot

NOV2 = date(2026, 11, 2)
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def clinic(db_url: str) -> Iterator[Clinic]:
    """A fresh clinic on SQLite and on PostgreSQL (these dialogs move money: both databases)."""
    opened = Clinic.open(db_url)
    try:
        yield opened
    finally:
        opened.close()


def shown(qtbot, dialog: QDialog) -> QDialog:
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def retype(qtbot, edit: QLineEdit, text: str) -> None:
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)


def click(qtbot, button: QWidget) -> None:
    qtbot.mouseClick(button, LEFT)


def double_click(qtbot, button: QWidget) -> None:
    """A nervous double click on a save button: two clicks (QTest's own double click sends only
    the double-click event, which a button ignores)."""
    qtbot.mouseClick(button, LEFT)
    qtbot.mouseClick(button, LEFT)


def prepay(clinic: Clinic, pid: int, amount: str, request_id: str = "prepay") -> int:
    """Money taken at the desk with nothing to pay: it all becomes account credit."""
    return clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": amount}), request_id)


def refunds(clinic: Clinic, pid: int) -> list[Decimal]:
    return [p.total for p in clinic.payments(pid) if p.kind == "refund"]


@pytest.fixture
def ada(clinic: Clinic) -> int:
    """Ada Lovelace with $60.00 of account credit."""
    pid = clinic.add_patient("Ada", "Lovelace")
    prepay(clinic, pid, "60")
    return pid


# -- refund -------------------------------------------------------------------------------------


def test_refund_offers_the_whole_credit_and_refunds_what_is_typed(qtbot, clinic, formatter, ada):
    dialog = shown(qtbot, RefundDialog(clinic, ada, formatter))
    assert dialog.windowTitle() == "Refund account credit"
    assert dialog.name_label.text() == "Ada Lovelace"
    assert dialog.credit_label.text() == "$60.00"
    assert dialog.amount_edit.text() == "60.00"
    methods = [dialog.method_combo.itemText(i) for i in range(dialog.method_combo.count())]
    assert methods == clinic.payment_types()
    assert dialog.date_edit.date().toPython() == date.today()
    retype(qtbot, dialog.amount_edit, "25")
    dialog.method_combo.setCurrentText("EFTPOS")
    qtbot.keyClicks(dialog.reason_edit, "Overpaid by mistake")
    click(qtbot, dialog.save_button)
    assert dialog.result() == QDialog.DialogCode.Accepted
    refund = clinic.payment(dialog.saved_id)
    assert (refund.kind, refund.total, refund.note) == (
        "refund",
        Decimal("-25.00"),
        "Overpaid by mistake",
    )
    assert list(refund.sources) == ["EFTPOS"]
    assert clinic.credit(ada) == Decimal("35.00")


def test_refund_of_more_than_the_credit_is_refused_inline_and_saves_nothing(
    qtbot, clinic, formatter, ada
):
    dialog = shown(qtbot, RefundDialog(clinic, ada, formatter))
    retype(qtbot, dialog.amount_edit, "80")
    before = snapshot(clinic)
    click(qtbot, dialog.save_button)
    assert dialog.message_label.text() == (
        "Only $60.00 of account credit is available; $80.00 cannot be refunded."
    )
    assert dialog.message_label.accessibleName() == "Problem"
    assert dialog.amount_edit.error == dialog.message_label.text()  # the field is marked
    assert dialog.isVisible() and dialog.saved_id is None
    assert snapshot(clinic) == before
    retype(qtbot, dialog.amount_edit, "60")  # corrected: the mark goes and the refund saves
    assert dialog.amount_edit.error is None and dialog.message_label.text() == ""
    click(qtbot, dialog.save_button)
    assert refunds(clinic, ada) == [Decimal("-60.00")] and clinic.credit(ada) == 0


def test_refund_after_another_desk_spent_the_credit_shows_what_is_left(
    qtbot, clinic, formatter, ada
):
    dialog = shown(qtbot, RefundDialog(clinic, ada, formatter))
    clinic.refund_credit(ada, "50", method="Cash", request_id="other-desk")
    click(qtbot, dialog.save_button)  # still offering the $60.00 read when it opened
    assert dialog.message_label.text().startswith("Only $10.00 of account credit is available")
    assert dialog.credit_label.text() == "$10.00"
    assert dialog.isVisible() and refunds(clinic, ada) == [Decimal("-50.00")]


def test_refund_double_click_refunds_once(qtbot, clinic, formatter, ada):
    dialog = shown(qtbot, RefundDialog(clinic, ada, formatter))
    retype(qtbot, dialog.amount_edit, "20")
    double_click(qtbot, dialog.save_button)
    assert refunds(clinic, ada) == [Decimal("-20.00")]
    assert clinic.credit(ada) == Decimal("40.00")


def test_refund_retried_after_a_lost_reply_refunds_once(qtbot, clinic, formatter, ada, monkeypatch):
    real = clinic.refund_credit
    request_ids: list[str] = []

    def reply_lost(*args, **kwargs):
        saved = real(*args, **kwargs)
        request_ids.append(kwargs["request_id"])
        if len(request_ids) == 1:  # saved, but the desk is told the database was busy
            raise DatabaseBusyError("The clinic database is busy. Try again in a moment.")
        return saved

    monkeypatch.setattr(clinic, "refund_credit", reply_lost)
    dialog = shown(qtbot, RefundDialog(clinic, ada, formatter))
    retype(qtbot, dialog.amount_edit, "20")
    click(qtbot, dialog.save_button)
    assert dialog.message_label.text() == "The clinic database is busy. Try again in a moment."
    assert dialog.isVisible() and dialog.save_button.isEnabled()
    click(qtbot, dialog.save_button)  # the receptionist tries again
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert request_ids[0] == request_ids[1]
    assert refunds(clinic, ada) == [Decimal("-20.00")] and clinic.credit(ada) == Decimal("40.00")


def test_refund_cannot_start_without_credit_or_a_readable_amount(qtbot, clinic, formatter, ada):
    broke = clinic.add_patient("Alan", "Turing")
    dialog = shown(qtbot, RefundDialog(clinic, broke, formatter))
    assert dialog.message_label.text() == "No account credit to refund."
    assert dialog.amount_edit.text() == "" and not dialog.save_button.isEnabled()

    dialog = shown(qtbot, RefundDialog(clinic, ada, formatter))
    retype(qtbot, dialog.amount_edit, "12.345")
    assert "more than 2 decimals" in (dialog.amount_edit.error or "")
    assert not dialog.save_button.isEnabled()
    retype(qtbot, dialog.amount_edit, "")
    assert dialog.amount_edit.error is None and not dialog.save_button.isEnabled()


# -- which input a refusal marks ------------------------------------------------------------------


def test_a_refusal_about_the_amount_marks_the_amount(qtbot, clinic, formatter, ada):
    with pytest.raises(BillingError) as refused:  # what the dialog is about to be told
        clinic.refund_credit(ada, "80", method="Cash", request_id="direct")
    assert (refused.value.code, refused.value.field) == (Refusal.OVER_CREDIT, "amount")
    dialog = shown(qtbot, RefundDialog(clinic, ada, formatter))
    retype(qtbot, dialog.amount_edit, "80")
    click(qtbot, dialog.save_button)
    assert dialog.message_label.text() == str(refused.value)
    assert dialog.amount_edit.error == str(refused.value)
    assert dialog.saved_id is None


def test_a_refusal_about_the_reason_leaves_the_amount_unmarked(qtbot, clinic, formatter, ada):
    reason = "Overpaid\u202e by mistake"  # an invisible direction control, pasted
    with pytest.raises(BillingError) as refused:
        clinic.refund_credit(ada, "20", method="Cash", request_id="direct", reason=reason)
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_TEXT, "reason")
    dialog = shown(qtbot, RefundDialog(clinic, ada, formatter))
    retype(qtbot, dialog.amount_edit, "20")
    dialog.reason_edit.setText(reason)
    before = snapshot(clinic)
    click(qtbot, dialog.save_button)
    assert dialog.message_label.text() == str(refused.value)
    assert dialog.amount_edit.error is None  # the amount is fine: only the message says why
    assert dialog.isVisible() and dialog.saved_id is None
    assert snapshot(clinic) == before


def test_a_credit_note_reason_refusal_leaves_the_amount_unmarked(qtbot, clinic, formatter):
    pid = clinic.add_patient("Grace", "Hopper")
    iid = clinic.create_invoice(pid, [("Treatment plan", "100", 1)], issue_date=NOV2)
    dialog = shown(qtbot, CreditNoteDialog(clinic, iid, formatter))
    credit_part(qtbot, dialog, "30")
    dialog.reason_edit.setText("Discount\u200b")  # a zero-width space, pasted
    click(qtbot, dialog.save_button)
    assert dialog.message_label.text().startswith("The reason for the credit note contains")
    assert dialog.amount_edit.error is None
    assert dialog.saved_id is None and clinic.credit_notes(pid) == []


@pytest.mark.parametrize(
    ("refusal", "marked"),
    [
        # The field decides, whatever the words: a refusal of the amount that never says so ...
        (BillingError("Not today.", code=Refusal.OVER_CREDIT, field="amount"), True),
        # ... one about the reason that speaks of an amount ...
        (
            BillingError("The amount of text is too long.", code=Refusal.TOO_LONG, field="reason"),
            False,
        ),
        # ... and one about no input that names the very amount typed.
        (BillingError("$80.00 cannot be refunded.", code=Refusal.OVER_CREDIT), False),
    ],
    ids=["amount-field", "reason-field", "no-field"],
)
def test_only_the_refusals_field_decides_whether_the_amount_is_marked(
    qtbot, clinic, formatter, ada, monkeypatch, refusal, marked
):
    dialog = shown(qtbot, RefundDialog(clinic, ada, formatter))
    retype(qtbot, dialog.amount_edit, "80")

    def refuse() -> int:
        raise refusal

    monkeypatch.setattr(dialog, "_save", refuse)
    click(qtbot, dialog.save_button)
    assert dialog.message_label.text() == str(refusal)
    assert dialog.amount_edit.error == (str(refusal) if marked else None)
    assert dialog.isVisible() and dialog.saved_id is None


# -- credit note --------------------------------------------------------------------------------


@pytest.fixture
def half_paid(clinic: Clinic) -> tuple[int, int]:
    """Grace Hopper: a $100.00 invoice with $50.00 paid."""
    pid = clinic.add_patient("Grace", "Hopper")
    iid = clinic.create_invoice(pid, [("Treatment plan", "100", 1)], issue_date=NOV2)
    clinic.record_payment(
        clinic.preview_payment(pid, sources={"EFTPOS": "50"}, source_invoice=iid), "half"
    )
    return pid, iid


def figures(dialog: CreditNoteDialog) -> dict[str, str]:
    return {key: label.text() for key, label in dialog.figure_labels.items()}


def credit_part(qtbot, dialog: CreditNoteDialog, amount: str, reason: str = "") -> None:
    click(qtbot, dialog.part_radio)
    assert dialog.amount_edit.isEnabled()
    retype(qtbot, dialog.amount_edit, amount)
    if reason:
        qtbot.keyClicks(dialog.reason_edit, reason)


def test_credit_note_on_a_part_paid_invoice_explains_where_the_credit_goes(
    qtbot, clinic, formatter, half_paid
):
    pid, iid = half_paid
    number = clinic.invoice(iid).number
    dialog = shown(qtbot, CreditNoteDialog(clinic, iid, formatter))
    assert dialog.windowTitle() == f"Credit note for invoice #{number}"
    assert figures(dialog) == {
        "total": "$100.00",
        "paid": "$50.00",
        "credited": "$0.00",
        "balance": "$50.00",
        "creditable": "$100.00",
    }
    credit_part(qtbot, dialog, "80")
    assert dialog.explanation_label.accessibleName() == "What will happen"
    assert dialog.explanation_label.text() == (
        f"Invoice #{number} will owe $50.00 less (nothing is left to pay).\n"
        "$30.00 returns to the patient's account credit."
    )
    assert not dialog.save_button.isEnabled()  # a reason is required
    qtbot.keyClicks(dialog.reason_edit, "Two sessions cancelled")
    click(qtbot, dialog.save_button)
    assert dialog.result() == QDialog.DialogCode.Accepted
    invoice = clinic.invoice(iid)
    assert (invoice.credited, invoice.balance, invoice.status) == (Decimal("50.00"), 0, "paid")
    assert clinic.credit(pid) == Decimal("30.00")
    (note,) = clinic.credit_notes(pid)
    assert (note.id, note.amount, note.applied, note.to_credit, note.reason) == (
        dialog.saved_id,
        Decimal("80.00"),
        Decimal("50.00"),
        Decimal("30.00"),
        "Two sessions cancelled",
    )


def test_credit_note_can_refund_its_credit_at_once(qtbot, clinic, formatter, half_paid):
    pid, iid = half_paid
    dialog = shown(qtbot, CreditNoteDialog(clinic, iid, formatter))
    credit_part(qtbot, dialog, "80", "Treatment stopped")
    assert not dialog.refund_method_combo.isEnabled()
    click(qtbot, dialog.refund_check)
    assert dialog.refund_method_combo.isEnabled()
    dialog.refund_method_combo.setCurrentText("Cash")
    assert dialog.explanation_label.text().endswith(
        "$30.00 returns to the patient's account credit and is refunded by Cash at once."
    )
    click(qtbot, dialog.save_button)
    assert clinic.invoice(iid).balance == 0 and clinic.credit(pid) == 0
    assert refunds(clinic, pid) == [Decimal("-30.00")]


def test_credit_note_for_the_whole_remaining_amount(qtbot, clinic, formatter):
    pid = clinic.add_patient("Grace", "Hopper")
    iid = clinic.create_invoice(pid, [("Treatment plan", "100", 1)], issue_date=NOV2)
    clinic.credit_note(iid, "30", reason="Discount", request_id="earlier")
    number = clinic.invoice(iid).number
    dialog = shown(qtbot, CreditNoteDialog(clinic, iid, formatter))
    assert figures(dialog)["credited"] == "$30.00" and figures(dialog)["creditable"] == "$70.00"
    assert dialog.whole_radio.isChecked() and not dialog.amount_edit.isEnabled()
    assert dialog.explanation_label.text() == (
        f"Invoice #{number} will owe $70.00 less (nothing is left to pay)."
    )
    qtbot.keyClicks(dialog.reason_edit, "Billed to the wrong patient")
    click(qtbot, dialog.save_button)
    assert clinic.invoice(iid).credited == Decimal("100.00") and clinic.credit(pid) == 0


def test_credit_note_for_more_than_can_be_credited_is_refused_inline(qtbot, clinic, formatter):
    pid = clinic.add_patient("Grace", "Hopper")
    iid = clinic.create_invoice(pid, [("Treatment plan", "100", 1)], issue_date=NOV2)
    clinic.credit_note(iid, "30", reason="Discount", request_id="earlier")
    number = clinic.invoice(iid).number
    dialog = shown(qtbot, CreditNoteDialog(clinic, iid, formatter))
    credit_part(qtbot, dialog, "80", "Cancelled")
    assert dialog.explanation_label.text() == "That is more than the $70.00 that can be credited."
    before = snapshot(clinic)
    click(qtbot, dialog.save_button)
    assert dialog.message_label.text() == (
        f"Only $70.00 of invoice #{number} can still be credited (its total less earlier "
        "credit notes); $80.00 is too much."
    )
    assert dialog.amount_edit.error == dialog.message_label.text()
    assert dialog.isVisible() and dialog.saved_id is None
    assert snapshot(clinic) == before


def test_credit_note_offers_nothing_on_a_void_invoice(qtbot, clinic, formatter, half_paid):
    _pid, iid = half_paid
    clinic.void_invoice(iid, "Wrong patient")
    dialog = shown(qtbot, CreditNoteDialog(clinic, iid, formatter))
    qtbot.keyClicks(dialog.reason_edit, "Cancelled")
    number = clinic.invoice(iid).number
    assert (
        dialog.explanation_label.text() == f"Invoice #{number} is void: there is nothing to credit."
    )
    assert not dialog.save_button.isEnabled()


def test_credit_note_double_click_issues_one_note(qtbot, clinic, formatter, half_paid):
    pid, iid = half_paid
    dialog = shown(qtbot, CreditNoteDialog(clinic, iid, formatter))
    credit_part(qtbot, dialog, "20", "Goodwill")
    double_click(qtbot, dialog.save_button)
    assert [n.amount for n in clinic.credit_notes(pid)] == [Decimal("20.00")]
    assert clinic.invoice(iid).balance == Decimal("30.00")


# -- transfer -----------------------------------------------------------------------------------


@pytest.fixture
def family(clinic: Clinic, ada: int) -> dict[str, int]:
    """Ada ($60.00 credit) and three others, two of them Hoppers."""
    return {
        "ada": ada,
        "grace": clinic.add_patient("Grace", "Hopper"),
        "walter": clinic.add_patient("Walter", "Hopper"),
        "alan": clinic.add_patient("Alan", "Turing"),
    }


def listed(dialog: TransferDialog) -> list[str]:
    return [dialog.matches_list.item(i).text() for i in range(dialog.matches_list.count())]


def choose(qtbot, dialog: TransferDialog, text: str) -> None:
    (item,) = dialog.matches_list.findItems(text, Qt.MatchFlag.MatchStartsWith)
    rect = dialog.matches_list.visualItemRect(item)
    qtbot.mouseClick(dialog.matches_list.viewport(), LEFT, pos=rect.center())


def test_transfer_search_finds_a_patient_by_part_of_the_name(qtbot, clinic, formatter, family):
    prepay(clinic, family["walter"], "5", "walter")
    dialog = shown(qtbot, TransferDialog(clinic, family["ada"], formatter))
    assert dialog.search_edit.accessibleName() == "Find patient to receive the credit"
    qtbot.keyClicks(dialog.search_edit, "hop")
    assert listed(dialog) == ["Hopper, Grace (credit $0.00)", "Hopper, Walter (credit $5.00)"]
    retype(qtbot, dialog.search_edit, "walt")
    assert listed(dialog) == ["Hopper, Walter (credit $5.00)"]
    retype(qtbot, dialog.search_edit, "love")  # the patient giving the credit is never offered
    assert listed(dialog) == [] and dialog.matches_hint.text() == "No other patient matches."
    retype(qtbot, dialog.search_edit, "turing")
    qtbot.keyClick(dialog.search_edit, Qt.Key.Key_Down)  # down arrow picks from the list
    assert dialog.receiving_patient_id == family["alan"]


def test_transfer_moves_credit_to_the_chosen_patient(qtbot, clinic, formatter, family):
    dialog = shown(qtbot, TransferDialog(clinic, family["ada"], formatter))
    assert dialog.windowTitle() == "Transfer account credit"
    assert (dialog.name_label.text(), dialog.credit_label.text()) == ("Ada Lovelace", "$60.00")
    qtbot.keyClicks(dialog.search_edit, "grace")
    retype(qtbot, dialog.amount_edit, "20")
    qtbot.keyClicks(dialog.reason_edit, "Family account")
    assert not dialog.save_button.isEnabled()  # nobody chosen yet
    choose(qtbot, dialog, "Hopper, Grace")
    assert dialog.save_button.isEnabled()
    click(qtbot, dialog.save_button)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert clinic.credit(family["ada"]) == Decimal("40.00")
    assert clinic.credit(family["grace"]) == Decimal("20.00")
    (transfer,) = clinic.transfers(family["ada"])
    assert (transfer.id, transfer.to_name, transfer.amount, transfer.reason) == (
        dialog.saved_id,
        "Grace Hopper",
        Decimal("20.00"),
        "Family account",
    )


def test_transfer_of_more_than_the_credit_is_refused_inline(qtbot, clinic, formatter, family):
    dialog = shown(qtbot, TransferDialog(clinic, family["ada"], formatter))
    qtbot.keyClicks(dialog.search_edit, "grace")
    choose(qtbot, dialog, "Hopper, Grace")
    retype(qtbot, dialog.amount_edit, "80")
    qtbot.keyClicks(dialog.reason_edit, "Family account")
    before = snapshot(clinic)
    click(qtbot, dialog.save_button)
    assert dialog.message_label.text() == (
        "Ada Lovelace has only $60.00 of account credit; $80.00 cannot be transferred."
    )
    assert dialog.amount_edit.error == dialog.message_label.text()
    assert dialog.isVisible() and dialog.receiving_patient_id == family["grace"]
    assert snapshot(clinic) == before


def test_transfer_double_click_transfers_once(qtbot, clinic, formatter, family):
    dialog = shown(qtbot, TransferDialog(clinic, family["ada"], formatter))
    qtbot.keyClicks(dialog.search_edit, "grace")
    choose(qtbot, dialog, "Hopper, Grace")
    retype(qtbot, dialog.amount_edit, "15")
    qtbot.keyClicks(dialog.reason_edit, "Family account")
    double_click(qtbot, dialog.save_button)
    assert [t.amount for t in clinic.transfers(family["ada"])] == [Decimal("15.00")]
    assert clinic.credit(family["grace"]) == Decimal("15.00")


# -- confirming an undo -------------------------------------------------------------------------


def test_confirmation_reverses_a_payment_with_the_reason_given(qtbot, clinic, ada):
    payment_id = clinic.payments(ada)[0].id
    dialog = shown(
        qtbot,
        ConfirmCorrectionDialog(
            "Reverse payment",
            "The $60.00 of account credit it left is taken back.",
            "Reverse payment",
            lambda reason: clinic.reverse_payment(payment_id, reason),
        ),
    )
    assert dialog.explanation_label.accessibleName() == "What will happen"
    assert dialog.reason_edit.accessibleName() == "Reason"
    assert not dialog.action_button.isEnabled()  # a reason is required
    qtbot.keyClicks(dialog.reason_edit, "Entered twice")
    click(qtbot, dialog.action_button)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert clinic.payment(payment_id).reversed and clinic.credit(ada) == 0


def test_confirmation_refused_by_the_ledger_stays_open_and_says_why(qtbot, clinic, ada):
    payment_id = clinic.payments(ada)[0].id
    iid = clinic.create_invoice(ada, [("Consult", "40", 1)], issue_date=NOV2)
    clinic.record_payment(clinic.preview_payment(ada, source_invoice=iid), "from-credit")
    number = clinic.invoice(iid).number
    dialog = shown(
        qtbot,
        ConfirmCorrectionDialog(
            "Reverse payment",
            "The credit it left is taken back.",
            "Reverse payment",
            lambda reason: clinic.reverse_payment(payment_id, reason),
        ),
    )
    qtbot.keyClicks(dialog.reason_edit, "Entered twice")
    before = snapshot(clinic)
    click(qtbot, dialog.action_button)
    message = dialog.message_label.text()
    assert message.startswith("Reversing payment") and f"invoice #{number}" in message
    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.action_button.isEnabled()  # it can be tried again once that is undone
    assert snapshot(clinic) == before


@pytest.mark.parametrize("error", [BillingError, ConcurrentChangeError, DatabaseBusyError])
def test_confirmation_shows_any_refusal_inline(qtbot, error):
    def refuse(_reason: str) -> None:
        raise error("Nothing was changed: try again.")

    dialog = shown(qtbot, ConfirmCorrectionDialog("Void invoice", "...", "Void", refuse))
    qtbot.keyClicks(dialog.reason_edit, "Wrong patient")
    click(qtbot, dialog.action_button)
    assert dialog.message_label.text() == "Nothing was changed: try again."
    assert dialog.isVisible()


def test_enter_in_the_confirmation_cancels_instead_of_undoing(qtbot):
    done: list[str] = []
    dialog = shown(qtbot, ConfirmCorrectionDialog("Void invoice", "...", "Void", done.append))
    assert dialog.cancel_button.isDefault() and not dialog.action_button.isDefault()
    qtbot.keyClicks(dialog.reason_edit, "Wrong patient")
    qtbot.keyClick(dialog.reason_edit, Qt.Key.Key_Return)
    assert done == [] and dialog.result() == QDialog.DialogCode.Rejected


def test_confirmation_with_an_optional_reason_and_a_double_click_performs_once(qtbot):
    done: list[str] = []
    dialog = shown(
        qtbot,
        ConfirmCorrectionDialog(
            "Remove applied amount", "...", "Remove", done.append, reason_required=False
        ),
    )
    assert dialog.action_button.isEnabled()
    double_click(qtbot, dialog.action_button)
    assert done == [""] and dialog.result() == QDialog.DialogCode.Accepted
