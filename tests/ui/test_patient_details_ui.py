"""Patient details, archiving and merging as the front desk uses them: the one dialog for New and
Edit patient, the header and list showing date of birth and mobile, a refusal marking its field,
Archive and Restore with Show archived, and the Merge duplicate window."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from desktop_app.core import Clinic, Role
from desktop_app.ui.dialogs.archive_dialog import ArchiveDialog
from desktop_app.ui.dialogs.merge_dialog import MergeDialog
from desktop_app.ui.dialogs.patient_dialog import PatientDialog
from desktop_app.ui.forms import is_marked
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.models.patients import BIRTH, MOBILE, NAME
from tests.helpers import STAFF_PASSWORD, staff_team

ADA = {
    "date_of_birth": date(1985, 12, 10),
    "mobile": "0412 345 678",
    "email": "ada@example.org",
    "city": "London",
}


def shown_names(window: MainWindow) -> list[str]:
    model = window.patient_model
    return [model.data(model.index(row, NAME)) for row in range(model.rowCount())]


def row_of_name(window: MainWindow, name: str) -> int:
    return shown_names(window).index(name)


def save(dialog: QDialog) -> None:
    assert isinstance(dialog, PatientDialog)
    dialog._on_buttons_accepted()


def test_edit_details_from_the_header_saves_only_what_changed_and_the_header_shows_it(
    qtbot, clinic, window, with_modal
):
    pid = clinic.add_patient("Ada", "Lovelace", **ADA)
    window.refresh_after_change()
    window.select_patient(pid)
    assert window.details_label.text() == "Born 10 Dec 1985 · Mobile 0412 345 678 · ada@example.org"
    assert window.edit_details_button.isEnabled()
    seen: dict[str, object] = {}

    def edit(dialog: QDialog) -> None:
        assert isinstance(dialog, PatientDialog)
        assert dialog.windowTitle() == "Edit patient: Ada Lovelace"
        # Every detail is there as saved.
        assert dialog.value("city") == "London" and dialog.value("date_of_birth") == date(
            1985, 12, 10
        )
        dialog.fields["email"].clear()
        qtbot.keyClicks(dialog.fields["email"], "ada.king@example.org")
        seen["changes"] = dialog.changes()
        save(dialog)

    with_modal(edit)
    qtbot.mouseClick(window.edit_details_button, Qt.MouseButton.LeftButton)
    assert seen["changes"] == {"email": "ada.king@example.org"}
    assert clinic.patient(pid).email == "ada.king@example.org"
    assert clinic.patient(pid).city == "London"  # untouched
    assert "ada.king@example.org" in window.details_label.text()
    assert window.statusBar().currentMessage() == "Ada Lovelace's details saved."


def test_a_bad_email_marks_the_email_field_and_saves_nothing(qtbot, clinic):
    pid = clinic.add_patient("Ada", "Lovelace", **ADA)
    dialog = PatientDialog(clinic, patient=clinic.patient(pid))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.set_value("city", "Paris")
    dialog.set_value("email", "ada at example")
    dialog._on_buttons_accepted()
    assert dialog.isVisible() and dialog.patient_id is None
    assert "email" in dialog.message_label.text() and dialog.message_label.isVisible()
    email = dialog.fields["email"]
    assert is_marked(email) and email.toolTip() == dialog.message_label.text()
    assert not is_marked(dialog.fields["city"])
    assert dialog.focusWidget() is email
    record = clinic.patient(pid)
    assert (record.email, record.city) == ("ada@example.org", "London")  # nothing saved
    qtbot.keyClicks(email, "x")  # typing in the field takes the mark away
    assert not is_marked(email)


def test_a_new_patient_with_details_and_an_empty_date_of_birth(qtbot, clinic, window, with_modal):
    def add(dialog: QDialog) -> None:
        assert isinstance(dialog, PatientDialog)
        assert dialog.windowTitle() == "New patient"
        assert dialog.birth_edit.day() is None and dialog.birth_edit.text() == ""
        assert dialog.birth_edit.placeholderText().startswith("Not given")
        qtbot.keyClicks(dialog.first_edit, "Grace")
        qtbot.keyClicks(dialog.last_edit, "Hopper")
        qtbot.keyClicks(dialog.fields["mobile"], "0400 111 222")
        qtbot.keyClicks(dialog.fields["address"], "1 Navy Way")
        qtbot.keyClicks(dialog.fields["country"], "au")
        save(dialog)

    with_modal(add)
    window.new_patient_action.trigger()
    record = clinic.patient(window.patient_id)
    assert (record.full_name, record.mobile, record.address, record.country) == (
        "Grace Hopper",
        "0400 111 222",
        "1 Navy Way",
        "AU",
    )
    assert record.date_of_birth is None and record.email is None
    assert window.details_label.text() == "Mobile 0400 111 222"


def test_the_list_shows_date_of_birth_and_mobile_and_finds_by_them(qtbot, clinic, window):
    clinic.add_patient("Ada", "Lovelace", **ADA)
    clinic.add_patient("Alan", "Turing")
    window.refresh_after_change()
    model = window.patient_model
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in (NAME, BIRTH, MOBILE)] == [
        "Patient",
        "Date of birth",
        "Mobile",
    ]
    ada = row_of_name(window, "Lovelace, Ada")
    alan = row_of_name(window, "Turing, Alan")
    assert model.data(model.index(ada, BIRTH)) == "10 Dec 1985"
    assert model.data(model.index(ada, MOBILE)) == "0412 345 678"
    assert model.data(model.index(alan, BIRTH)) == model.data(model.index(alan, MOBILE)) == ""
    # Dates of birth and mobiles are not a sort order: the list stays sorted by name.
    window.patient_view.sortByColumn(NAME, Qt.SortOrder.DescendingOrder)
    window.patient_view.sortByColumn(BIRTH, Qt.SortOrder.AscendingOrder)
    assert shown_names(window) == ["Turing, Alan", "Lovelace, Ada"]
    assert window.patient_view.horizontalHeader().sortIndicatorSection() == NAME
    window.patient_view.sortByColumn(NAME, Qt.SortOrder.AscendingOrder)
    placeholder = window.search_edit.placeholderText().lower()
    for what in ("name", "phone", "email", "date of birth"):
        assert what in placeholder
    for search in ("0412345678", "10/12/1985"):
        window.search_edit.setText(search)
        qtbot.waitUntil(lambda: model.rowCount() == 1)
        assert window.name_label.text() == "Ada Lovelace"


def test_archive_hides_the_patient_and_show_archived_brings_them_back_greyed(
    qtbot, clinic, window, answer
):
    pid = clinic.add_patient("Ada", "Lovelace", **ADA)
    clinic.add_patient("Alan", "Turing")
    window.refresh_after_change()
    window.select_patient(pid)
    assert window.patient_actions.archive_action.isEnabled()
    assert not window.patient_actions.restore_action.isEnabled()

    def give_reason(dialog: QDialog) -> None:
        assert isinstance(dialog, ArchiveDialog)
        qtbot.keyClicks(dialog.reason_edit, "Moved interstate")
        dialog.archive_button.click()

    answer(give_reason)
    window.patient_actions.archive_action.trigger()
    assert clinic.patient(pid).archived and clinic.patient(pid).archive_reason == "Moved interstate"
    assert shown_names(window) == ["Turing, Alan"]
    assert window.name_label.text() == "Alan Turing"  # the patient now on that row

    window.show_archived_check.setChecked(True)
    assert shown_names(window) == ["Lovelace, Ada (archived)", "Turing, Alan"]
    model = window.patient_model
    index = model.index(0, NAME)
    assert model.data(index, Qt.ItemDataRole.FontRole).italic()
    grey = QApplication.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
    assert model.data(index, Qt.ItemDataRole.ForegroundRole) == grey
    assert model.data(model.index(1, NAME), Qt.ItemDataRole.FontRole) is None

    window.select_patient(pid)
    assert window.status_badge.isVisible()
    assert window.status_badge.text() == "Archived: Moved interstate"
    # No money moves on an archived patient: nothing offers to.
    for thing in (
        window.invoice_button,
        window.new_invoice_action,
        window.pay_button,
        window.payment_action,
        window.refund_button,
        window.transfer_button,
        window.corrections.refund_action,
        window.corrections.transfer_action,
        window.patient_actions.archive_action,
    ):
        assert not thing.isEnabled(), thing.text()
    assert window.edit_details_button.isEnabled()  # details can still be corrected

    window.patient_actions.restore_action.trigger()
    assert not clinic.patient(pid).archived
    assert shown_names(window) == ["Lovelace, Ada", "Turing, Alan"]
    assert not window.status_badge.isVisible() and window.invoice_button.isEnabled()


def test_archiving_a_patient_holding_credit_is_refused_with_the_reason(
    qtbot, clinic, window, answer
):
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.record_payment(clinic.preview_payment(pid, {"Cash": "20"}), "prepaid")
    window.refresh_after_change()
    window.select_patient(pid)

    def ok(dialog: QDialog) -> None:
        assert isinstance(dialog, ArchiveDialog)
        dialog.archive_button.click()

    def close(box: QDialog) -> None:
        assert isinstance(box, QMessageBox)
        box.accept()

    texts = answer(ok, close)
    window.patient_actions.archive_action.trigger()
    assert len(texts) == 1
    assert "holds $20.00 of account credit" in texts[0]
    assert "Refund it or transfer it" in texts[0]
    assert not clinic.patient(pid).archived
    assert shown_names(window) == ["Lovelace, Ada"]


def test_merge_window_previews_exactly_what_moves_then_merges(qtbot, clinic, window, answer):
    keep = clinic.add_patient("Ada", "Lovelace", mobile="0412 345 678")
    clinic.add_patient("Alan", "Turing")
    duplicate = clinic.add_patient("Ada", "Lovelace-King", email="ada@example.org")
    invoice = clinic.create_invoice(duplicate, [("Consultation", "80", 1)])
    clinic.record_payment(clinic.preview_payment(duplicate, {"Cash": "100"}), "paid")
    number = clinic.invoice(invoice).number
    window.refresh_after_change()
    window.select_patient(keep)
    assert window.patient_actions.merge_action.isEnabled()
    seen: dict[str, object] = {}

    def merge(dialog: QDialog) -> None:
        assert isinstance(dialog, MergeDialog)
        assert dialog.keep_picker.chosen == keep  # the patient shown is the one kept
        assert not dialog.merge_button.isEnabled()
        dialog.merge_picker.search("king")
        assert dialog.merge_picker.chosen == duplicate
        assert dialog.merge_button.isEnabled()
        seen["preview"] = dialog.preview_label.text()
        dialog.reason_edit.setText("Same person, married name")
        # Enter in the search box does not merge: it only searches.
        qtbot.keyClick(dialog.merge_picker.search_edit, Qt.Key.Key_Return)
        assert dialog.isVisible() and not clinic.patient(duplicate).archived
        # A search being typed picks nobody until it has run: Merge waits.
        qtbot.keyClicks(dialog.merge_picker.search_edit, "x")
        assert dialog.merge_picker.chosen is None and not dialog.merge_button.isEnabled()
        dialog.merge_picker.search("king")
        QTimer.singleShot(0, dialog.merge_button.click)  # its question is answered below

    def confirm(box: QDialog) -> None:
        assert isinstance(box, QMessageBox)
        seen["question"] = box.text()
        box.button(QMessageBox.StandardButton.Yes).click()

    answer(merge, confirm)
    window.patient_actions.merge_action.trigger()
    assert seen["question"] == (
        f"Merge Ada Lovelace-King (#{duplicate}) into Ada Lovelace (#{keep})? "
        "This cannot be undone."
    )
    preview = str(seen["preview"])
    assert f"<b>Invoices:</b> #{number}</li>" in preview
    assert "<b>Details Ada Lovelace gains:</b> email: ada@example.org</li>" in preview
    assert "holds $20.00 of account credit and owes $0.00" in preview
    merged = clinic.patient(duplicate)
    assert merged.archived and merged.merged_into == keep
    assert clinic.patient(keep).credit == Decimal("20.00")
    assert clinic.patient(keep).email == "ada@example.org"
    assert window.patient_id == keep and window.name_label.text() == "Ada Lovelace"
    assert shown_names(window) == ["Lovelace, Ada", "Turing, Alan"]
    assert [i.number for i in clinic.invoices(keep)] == [number]

    window.show_archived_check.setChecked(True)
    assert "Lovelace-King, Ada (merged into Lovelace, Ada)" in shown_names(window)
    window.select_patient(duplicate)
    assert window.status_badge.text() == f'Merged into <a href="{keep}">Ada Lovelace</a>'
    assert not window.patient_actions.restore_action.isEnabled()  # their records are elsewhere
    window.status_badge.linkActivated.emit(str(keep))
    assert window.patient_id == keep


def test_merge_window_says_why_the_same_patient_cannot_be_merged(qtbot, clinic, formatter):
    pid = clinic.add_patient("Ada", "Lovelace")
    dialog = MergeDialog(clinic, formatter, pid)
    qtbot.addWidget(dialog)
    dialog.merge_picker.choose(pid)
    assert dialog.merge_picker.chosen == pid
    assert dialog.preview is None and not dialog.merge_button.isEnabled()
    assert dialog.message_label.text()
    assert not dialog.merge()
    assert not clinic.patient(pid).archived


@pytest.mark.usefixtures("quick_hashes")
def test_only_the_roles_that_may_see_edit_archive_and_merge(qtbot, new_sqlite_url):
    url = new_sqlite_url()
    with Clinic.open(url) as setup:
        staff_team(setup, (Role.ADMINISTRATOR, Role.RECEPTIONIST, Role.BOOKKEEPER), sign_in=False)
        setup.add_patient("Ada", "Lovelace")
    windows = []
    for username in ("desk", "books"):
        window = MainWindow(Clinic.open(url).sign_in(username, STAFF_PASSWORD))
        qtbot.addWidget(window)
        windows.append(window)
    desk, books = windows
    actions = desk.patient_actions
    assert actions.edit_action.isEnabled() and actions.archive_action.isEnabled()
    assert desk.edit_details_button.isEnabled()
    assert not actions.merge_action.isEnabled()
    actions = books.patient_actions
    assert actions.merge_action.isEnabled()
    assert not actions.edit_action.isEnabled() and not actions.archive_action.isEnabled()
    assert not books.edit_details_button.isEnabled()
    for window in windows:
        window.clinic.close()


def test_the_date_of_birth_is_typed_as_numbers_shown_back_and_cleared(qtbot, clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    dialog = PatientDialog(clinic, patient=clinic.patient(pid))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    edit = dialog.birth_edit
    edit.month_before_day = False  # a day-first clinic, whatever the test machine's locale
    assert edit.day() is None and edit.text() == ""
    edit.setFocus()
    qtbot.keyClicks(edit, "3")
    assert edit.day() is None  # nothing is made up from a first digit
    qtbot.keyClicks(edit, "/03/1980")
    assert edit.day() == date(1980, 3, 3)
    edit.editingFinished.emit()  # leaving the field shows what was understood
    assert edit.text() == "3 Mar 1980"
    dialog._on_buttons_accepted()
    assert clinic.patient(pid).date_of_birth == date(1980, 3, 3)

    dialog = PatientDialog(clinic, patient=clinic.patient(pid))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    edit = dialog.birth_edit
    assert edit.day() == date(1980, 3, 3)
    edit.clear_day()
    assert edit.day() is None and dialog.changes() == {"date_of_birth": None}
    edit.setText("31/02/1980")  # no such day: refused on the field, nothing saved
    dialog._on_buttons_accepted()
    assert clinic.patient(pid).date_of_birth == date(1980, 3, 3)
    assert (
        dialog.message_label.isVisibleTo(dialog) and "date of birth" in dialog.message_label.text()
    )
    edit.setText("1985-12-10")
    dialog._on_buttons_accepted()
    assert clinic.patient(pid).date_of_birth == date(1985, 12, 10)


def test_escape_on_edited_details_asks_before_discarding(qtbot, clinic, window, with_modal):
    pid = clinic.add_patient("Ada", "Lovelace", **ADA)
    window.refresh_after_change()
    window.select_patient(pid)
    questions: list[str] = []

    def discard(box: QDialog) -> None:
        assert isinstance(box, QMessageBox)
        questions.append(box.text())
        [button] = [b for b in box.buttons() if b.text().replace("&", "") == "Discard"]
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    def edit(dialog: QDialog) -> None:
        assert isinstance(dialog, PatientDialog)
        qtbot.keyClicks(dialog.fields["notes"], "Prefers mornings")
        with_modal(discard)
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)

    with_modal(edit)
    window.patient_actions.edit_action.trigger()
    assert questions == ["Discard your changes to Ada Lovelace?"]
    assert clinic.patient(pid).notes is None
