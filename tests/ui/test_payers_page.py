"""Third-party payers as the front desk and the bookkeeper use them: Settings > Payers (add,
edit, archive, restore, delete, search, import and export; read-only for a role that may not
change payers), a patient's payers in their details, and a payment type's own allocation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QMessageBox

from desktop_app.core import AllocationMode, Clinic, PayerKind, Role
from desktop_app.ui.dialogs.memberships import MembershipDialog, PayersBox
from desktop_app.ui.dialogs.patient_dialog import PatientDialog
from desktop_app.ui.formatting import Formatter
from desktop_app.ui.forms import is_marked
from desktop_app.ui.settings.payer_dialog import PayerDialog
from desktop_app.ui.settings.payers_page import PayersPage
from desktop_app.ui.settings.settings_dialog import CLINIC_MODE, PAGES, SettingsDialog
from tests.helpers import STAFF_PASSWORD, staff_team


def _answering(page: PayersPage, fill: Callable[[PayerDialog], None]) -> list[PayerDialog]:
    """Make the page's next payer windows fill themselves in and press OK; returns them."""
    seen: list[PayerDialog] = []

    def payer_dialog(payer=None):  # type: ignore[no-untyped-def]
        dialog = PayersPage.payer_dialog(page, payer)
        fill(dialog)
        dialog.exec = lambda: dialog.save()  # type: ignore[method-assign]
        seen.append(dialog)
        return dialog

    page.payer_dialog = payer_dialog  # type: ignore[method-assign]
    return seen


def _page(qtbot, clinic: Clinic) -> PayersPage:
    page = PayersPage(clinic, Formatter("AUD", "en_AU"))
    qtbot.addWidget(page)
    return page


def _column(page: PayersPage, column: int) -> list[str]:
    return [page.table.item(row, column).text() for row in range(page.table.rowCount())]


def _fill_bupa(dialog: PayerDialog) -> None:
    dialog.name_edit.setText("Bupa")
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData(PayerKind.HEALTH_FUND))
    dialog.email_edit.setText("claims@bupa.example")
    dialog.phone_edit.setText("1300 555 111")
    dialog.address_edit.setPlainText("PO Box 1\nMelbourne VIC 3001")


# -- Settings > Payers ---------------------------------------------------------------------------


def test_the_page_is_in_the_settings_and_a_payer_is_added_through_the_window(qtbot, clinic):
    dialog = SettingsDialog(clinic, page=PAGES.index("Payers"))
    qtbot.addWidget(dialog)
    page = dialog.payers_page
    assert dialog.pages.currentWidget() is page
    assert "No payers yet" in page.empty_label.text()
    _answering(page, _fill_bupa)
    assert page.add_payer()
    (payer,) = clinic.payers()
    assert (payer.name, payer.kind, payer.email, payer.address) == (
        "Bupa",
        PayerKind.HEALTH_FUND,
        "claims@bupa.example",
        "PO Box 1\nMelbourne VIC 3001",
    )
    # The reference label left empty is the kind's usual one, shown in the field meanwhile.
    assert payer.reference_label == "Claim number"
    assert _column(page, 0) == ["Bupa"]
    assert [page.table.item(0, c).text() for c in range(1, 7)] == [
        "Health fund",
        "Claim number",
        "claims@bupa.example · 1300 555 111",
        "$0.00",
        "$0.00",
        "Active",
    ]
    assert page.selected() == payer
    assert page.message_label.text() == "Added Bupa."
    assert page.empty_label.isHidden()


def test_the_reference_label_follows_the_kind_until_one_is_typed(qtbot, clinic):
    dialog = PayerDialog(clinic)
    qtbot.addWidget(dialog)
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData(PayerKind.EMPLOYER))
    assert dialog.reference_edit.placeholderText().startswith("Purchase order")
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData(PayerKind.GOVERNMENT_SCHEME))
    assert dialog.reference_edit.placeholderText().startswith("Plan or approval number")
    assert [dialog.kind_combo.itemText(i) for i in range(dialog.kind_combo.count())] == [
        "Health fund",
        "Insurer",
        "Workers compensation",
        "Government scheme",
        "Employer",
        "Other",
    ]
    dialog.name_edit.setText("NDIS")
    dialog.reference_edit.setText("NDIS number")
    assert dialog.save()
    assert clinic.payer(dialog.saved_id).reference_label == "NDIS number"


def test_editing_a_payer_saves_it_and_the_list_shows_it(qtbot, clinic):
    fund = clinic.add_payer("Bupa", kind="health fund", email="old@bupa.example")
    page = _page(qtbot, clinic)
    assert page.select_name("bupa")

    def fill(dialog: PayerDialog) -> None:
        assert dialog.windowTitle() == "Edit payer: Bupa"
        assert dialog.email_edit.text() == "old@bupa.example"
        assert dialog.reference_edit.text() == ""  # the usual label, shown as the placeholder
        dialog.email_edit.setText("claims@bupa.example")
        dialog.reference_edit.setText("Membership claim")
        dialog.notes_edit.setPlainText("Remittances on Fridays.")

    _answering(page, fill)
    assert page.edit_selected()
    record = clinic.payer(fund)
    assert (record.email, record.reference_label, record.notes) == (
        "claims@bupa.example",
        "Membership claim",
        "Remittances on Fridays.",
    )
    assert _column(page, 2) == ["Membership claim"]
    assert _column(page, 3) == ["claims@bupa.example"]
    assert page.message_label.text() == "Saved Bupa."


@pytest.mark.parametrize(
    ("field", "fill"),
    [
        ("email", lambda d: d.email_edit.setText("claims at bupa")),
        ("name", lambda d: d.name_edit.setText("   ")),
        ("name", lambda d: d.name_edit.setText("medibank")),  # taken, ignoring case
    ],
)
def test_bad_input_is_shown_at_its_field_and_nothing_is_saved(qtbot, clinic, field, fill):
    clinic.add_payer("Medibank", kind="health fund")
    page = _page(qtbot, clinic)

    def both(dialog: PayerDialog) -> None:
        _fill_bupa(dialog)
        fill(dialog)

    opened = _answering(page, both)
    assert not page.add_payer()
    assert [p.name for p in clinic.payers()] == ["Medibank"]
    (dialog,) = opened
    problem = dialog.problems[field]
    assert not problem.isHidden() and problem.text()
    assert is_marked(dialog.edits[field])
    others = [f for f in ("name", "email", "kind") if f != field]
    assert all(dialog.problems[f].isHidden() for f in others)


def test_archive_hides_the_payer_and_restore_brings_it_back(qtbot, clinic):
    clinic.add_payer("Bupa", kind="health fund")
    clinic.add_payer("NDIS", kind="government scheme")
    page = _page(qtbot, clinic)
    assert page.select_name("Bupa")
    assert page.archive_button.isEnabled() and not page.restore_button.isEnabled()
    page.archive_button.click()
    assert _column(page, 0) == ["NDIS"]
    assert "Bupa archived" in page.message_label.text()
    assert [p.name for p in clinic.payers()] == ["NDIS"]
    page.archived_check.setChecked(True)
    assert _column(page, 0) == ["Bupa", "NDIS"]
    assert _column(page, 6) == ["Archived", "Active"]
    assert page.select_name("Bupa")
    assert page.restore_button.isEnabled() and not page.archive_button.isEnabled()
    page.restore_button.click()
    page.archived_check.setChecked(False)
    assert _column(page, 0) == ["Bupa", "NDIS"]


def test_the_search_box_narrows_the_list(qtbot, clinic):
    clinic.add_payer("Bupa", kind="health fund")
    clinic.add_payer("WorkCover NSW", kind="workers compensation")
    page = _page(qtbot, clinic)
    page.search_edit.setText("workcover")
    assert _column(page, 0) == ["WorkCover NSW"]
    page.search_edit.setText("nobody")
    assert _column(page, 0) == [] and page.empty_label.text() == "No payers match."


def _bill(clinic: Clinic, payer: int, amount: str = "120.00") -> int:
    """An invoice of a new patient billed to ``payer``."""
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.add_membership(pid, payer, member_number="123456")
    return clinic.create_invoice(
        pid, [("Standard consultation", amount, 1)], bill_to=payer, claim_reference="CLM-9"
    )


def test_a_payer_that_owes_shows_it_and_cannot_be_archived_or_deleted(qtbot, clinic):
    fund = clinic.add_payer("Bupa", kind="health fund")
    _bill(clinic, fund)
    page = _page(qtbot, clinic)
    assert _column(page, 4) == ["$120.00"] and _column(page, 5) == ["$0.00"]
    assert page.select_name("Bupa")
    page.archive_button.click()
    assert "Bupa still owes $120.00" in page.message_label.text()
    assert not clinic.payer(fund).archived
    page.confirm_delete = lambda payer: True  # type: ignore[method-assign]
    assert not page.delete_selected()
    assert page.message_label.text() == (
        "Bupa has invoices or payments, which are kept; archive it instead."
    )
    assert [p.name for p in clinic.payers()] == ["Bupa"]


def test_delete_asks_first_then_removes_a_payer_added_by_mistake(qtbot, clinic, with_modal):
    clinic.add_payer("Bupa", kind="health fund")
    clinic.add_payer("Bupaa", kind="health fund")
    page = _page(qtbot, clinic)
    assert page.select_name("Bupaa")

    def keep(box: QDialog) -> None:
        assert isinstance(box, QMessageBox) and box.text() == "Delete Bupaa?"
        [button] = [b for b in box.buttons() if b.text().replace("&", "") == "Keep"]
        button.click()

    with_modal(keep)
    assert not page.delete_selected()
    assert len(clinic.payers()) == 2

    def delete(box: QDialog) -> None:
        assert isinstance(box, QMessageBox)
        [button] = [b for b in box.buttons() if b.text().replace("&", "") == "Delete"]
        button.click()

    with_modal(delete)
    assert page.delete_selected()
    assert _column(page, 0) == ["Bupa"] and page.message_label.text() == "Deleted Bupaa."


def test_payers_go_to_a_spreadsheet_and_come_back_changed(qtbot, clinic, tmp_path):
    clinic.add_payer("Bupa", kind="health fund", email="claims@bupa.example")
    page = _page(qtbot, clinic)
    path = tmp_path / "payers.csv"
    assert page.export_payers(path)
    assert page.message_label.text() == f"Exported 1 payer to {path}."
    text = path.read_text(encoding="utf-8-sig").replace("claims@", "funds@")
    path.write_text(text + "NDIS,government scheme,,,1800 800 110,,\r\n", encoding="utf-8")
    assert page.import_payers(path)
    assert "1 added, 1 changed, 0 unchanged" in page.message_label.text()
    assert _column(page, 0) == ["Bupa", "NDIS"]
    assert _column(page, 3) == ["funds@bupa.example", "1800 800 110"]
    # An unknown kind: the message names the row and nothing changes.
    path.write_text(text.replace("health fund", "health fun"), encoding="utf-8")
    assert not page.import_payers(path)
    assert page.message_label.text().startswith("Row 2 (Bupa): Unknown payer kind 'health fun'")
    assert clinic.payers()[0].kind is PayerKind.HEALTH_FUND


@pytest.mark.usefixtures("quick_hashes")
def test_a_receptionist_sees_the_payers_but_cannot_change_them(qtbot, new_sqlite_url, tmp_path):
    url = new_sqlite_url()
    with Clinic.open(url) as setup:
        staff_team(setup, (Role.ADMINISTRATOR, Role.RECEPTIONIST, Role.BOOKKEEPER), sign_in=False)
        setup.add_payer("Bupa", kind="health fund")
    desk = Clinic.open(url).sign_in("desk", STAFF_PASSWORD)
    books = Clinic.open(url).sign_in("books", STAFF_PASSWORD)
    try:
        page = _page(qtbot, desk)
        assert _column(page, 0) == ["Bupa"]
        assert page.select_name("Bupa")
        buttons = (
            page.add_button,
            page.edit_button,
            page.archive_button,
            page.delete_button,
            page.import_button,
            page.export_button,
        )
        assert not any(button.isEnabled() for button in buttons)
        assert page.read_only_label is not None and "not change them" in (
            page.read_only_label.text()
        )
        assert not page.add_payer() and not page.edit_selected() and not page.delete_selected()
        page.archive_selected()
        assert not page.import_payers(tmp_path / "x.csv")
        assert not desk.payer(desk.payers()[0].id).archived
        # A bookkeeper changes payers, and sees the clinic's other settings without changing
        # them: OK saves nothing of theirs.
        settings = SettingsDialog(books, page=PAGES.index("Payers"))
        qtbot.addWidget(settings)
        assert settings.payers_page.may_edit and settings.payers_page.read_only_label is None
        assert not settings.pages.widget(PAGES.index("General")).isEnabled()
        settings.payers_page.select_name("Bupa")
        settings.payers_page.archive_selected()
        settings._on_buttons_accepted()
        assert settings.result() == QDialog.DialogCode.Accepted
        assert books.payers() == []
    finally:
        desk.close()
        books.close()


# -- a patient's payers --------------------------------------------------------------------------


def _membership_answering(
    box: PayersBox, fill: Callable[[MembershipDialog], None]
) -> list[MembershipDialog]:
    seen: list[MembershipDialog] = []

    def membership_dialog(membership=None):  # type: ignore[no-untyped-def]
        dialog = PayersBox.membership_dialog(box, membership)
        fill(dialog)
        dialog.exec = lambda: dialog.save()  # type: ignore[method-assign]
        seen.append(dialog)
        return dialog

    box.membership_dialog = membership_dialog  # type: ignore[method-assign]
    return seen


def _patient_dialog(qtbot, clinic: Clinic, pid: int) -> PatientDialog:
    dialog = PatientDialog(clinic, patient=clinic.patient(pid))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def _rows(box: PayersBox) -> list[list[str]]:
    return [
        [box.table.item(row, column).text() for column in range(box.table.columnCount())]
        for row in range(box.table.rowCount())
    ]


def test_a_patients_payers_are_added_changed_and_removed_in_their_details(qtbot, clinic):
    bupa = clinic.add_payer("Bupa", kind="health fund")
    clinic.add_payer("WorkCover NSW", kind="workers compensation")
    old = clinic.add_payer("Old Fund", kind="health fund")
    clinic.archive_payer(old)
    pid = clinic.add_patient("Ada", "Lovelace")
    dialog = _patient_dialog(qtbot, clinic, pid)
    box = dialog.payers_box
    assert _rows(box) == [] and "pays their own invoices" in box.message_label.text()
    assert not box.change_button.isEnabled() and not box.remove_button.isEnabled()

    def add(window: MembershipDialog) -> None:
        offered = [window.payer_combo.itemText(i) for i in range(window.payer_combo.count())]
        assert offered == ["Bupa", "WorkCover NSW"]  # archived payers are not offered
        window.payer_combo.setCurrentIndex(0)
        window.number_edit.setText("88123456")
        window.from_edit.setText("2026-01-01")
        window.default_check.setChecked(True)

    _membership_answering(box, add)
    assert box.add_membership()
    assert _rows(box) == [["Bupa", "88123456", "1 Jan 2026", "—", "Yes"]]
    assert box.message_label.text() == "Added Bupa."
    (membership,) = clinic.memberships(pid)
    assert (membership.payer_id, membership.default_for_invoices) == (bupa, True)
    # The patient's new invoices now go to Bupa.
    iid = clinic.create_invoice(pid, [("Standard consultation", "95.00", 1)])
    assert clinic.invoice(iid).payer_id == bupa

    def change(window: MembershipDialog) -> None:
        assert not window.payer_combo.isEnabled()  # the payer of a membership stays
        assert window.number_edit.text() == "88123456"
        window.to_edit.setText("2026-12-31")
        window.default_check.setChecked(False)

    _membership_answering(box, change)
    assert box.select_payer("Bupa")
    assert box.change_selected()
    assert _rows(box) == [["Bupa", "88123456", "1 Jan 2026", "31 Dec 2026", "—"]]
    assert clinic.memberships(pid)[0].valid_to == date(2026, 12, 31)

    box.confirm_remove = lambda membership: True  # type: ignore[method-assign]
    assert box.select_payer("Bupa")
    assert box.remove_selected()
    assert _rows(box) == [] and clinic.memberships(pid) == []
    assert "invoices billed to it are unchanged" in box.message_label.text()
    assert clinic.invoice(iid).payer_id == bupa
    # Saved as it went: closing the details asks nothing and undoes nothing.
    assert not dialog.has_typed_work()


def test_a_membership_ending_before_it_starts_is_refused_at_its_field(qtbot, clinic):
    clinic.add_payer("Bupa", kind="health fund")
    pid = clinic.add_patient("Ada", "Lovelace")
    details = _patient_dialog(qtbot, clinic, pid)
    box = details.payers_box

    def fill(window: MembershipDialog) -> None:
        window.from_edit.setText("2026-07-01")
        window.to_edit.setText("2026-06-30")

    seen = _membership_answering(box, fill)
    assert not box.add_membership()
    assert clinic.memberships(pid) == []
    (opened,) = seen
    assert opened.problems["valid_to"].text() == "The membership ends before it starts."
    assert not opened.problems["valid_to"].isHidden() and is_marked(opened.to_edit)
    assert opened.problems["valid_from"].isHidden()
    # Text that is not a date is refused on its field too.
    opened.to_edit.setText("soon")
    assert not opened.save()
    assert "Valid to" in opened.problems["valid_to"].text()
    assert clinic.memberships(pid) == []


def test_a_new_patient_says_to_save_first_and_no_payers_say_where_to_add_them(qtbot, clinic):
    dialog = PatientDialog(clinic)
    qtbot.addWidget(dialog)
    box = dialog.payers_box
    assert "Save the new patient first" in box.message_label.text()
    assert not box.add_button.isEnabled() and not box.add_membership()
    pid = clinic.add_patient("Ada", "Lovelace")
    details = _patient_dialog(qtbot, clinic, pid)
    box = details.payers_box
    assert "Settings > Payers" in box.message_label.text()
    assert not box.add_button.isEnabled()


def test_the_details_with_payers_fit_a_laptop_screen(qtbot, clinic):
    for name in ("Bupa", "Medibank", "HCF", "NIB"):
        fund = clinic.add_payer(name, kind="health fund")
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.add_membership(pid, fund, member_number="1")
    dialog = _patient_dialog(qtbot, clinic, pid)
    needed = dialog.sizeHint()  # what it takes, whatever the test's screen
    assert needed.width() <= 1366 and needed.height() <= 700, needed
    assert _rows(dialog.payers_box) == [["NIB", "1", "—", "—", "—"]]


# -- a payment type's own allocation -------------------------------------------------------------


def test_a_payment_type_gets_its_own_allocation_and_payments_of_it_follow_it(qtbot, clinic):
    dialog = SettingsDialog(clinic, page=PAGES.index("Payment types"))
    qtbot.addWidget(dialog)
    dialog.types_list.setCurrentRow(4)  # Health fund
    assert dialog.type_mode_combo.currentText() == CLINIC_MODE
    index = dialog.type_mode_combo.findData(AllocationMode.SOURCE_INVOICE)
    dialog.type_mode_combo.setCurrentIndex(index)
    dialog.type_mode_combo.activated.emit(index)
    assert dialog.types_list.item(4).text() == "Health fund  (only the invoice being paid)"
    dialog.new_type_edit.setText("HICAPS")
    dialog._on_add_clicked()
    dialog.set_type_mode("HICAPS", AllocationMode.OFF)
    dialog._on_buttons_accepted()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert clinic.payment_type_modes() == {
        "Health fund": AllocationMode.SOURCE_INVOICE,
        "HICAPS": AllocationMode.OFF,
    }
    assert clinic.allocation_mode is AllocationMode.OLDEST_FIRST  # the clinic's, unchanged
    # A health fund payment entered from the newer invoice pays only that one.
    pid = clinic.add_patient("Ada", "Lovelace")
    older = clinic.create_invoice(pid, [("Consult", "50", 1)], issue_date=date(2026, 11, 2))
    newer = clinic.create_invoice(pid, [("Consult", "50", 1)], issue_date=date(2026, 11, 9))
    preview = clinic.preview_payment(pid, sources={"Health fund": "80"}, source_invoice=newer)
    assert preview.applied == {newer: Decimal("50.00")}
    assert preview.to_credit == Decimal("30.00") and older not in preview.applied
    # Opened again, the page shows each type's mode; back to the clinic's setting.
    again = SettingsDialog(clinic, page=PAGES.index("Payment types"))
    qtbot.addWidget(again)
    again.types_list.setCurrentRow(4)
    assert again.type_mode_combo.currentText() == "Only the invoice being paid"
    again.set_type_mode("Health fund", None)
    assert again.type_mode_combo.currentText() == CLINIC_MODE
    assert again.types_list.item(4).text() == "Health fund"
    again._on_buttons_accepted()
    assert clinic.payment_type_modes() == {"HICAPS": AllocationMode.OFF}


def test_a_type_added_again_under_another_spelling_keeps_its_mode_setting(qtbot, clinic):
    clinic.set_payment_type_mode("Cash", AllocationMode.NEWEST_FIRST)
    dialog = SettingsDialog(clinic, page=PAGES.index("Payment types"))
    qtbot.addWidget(dialog)
    assert dialog.types_list.item(0).text() == "Cash  (newest invoice first)"
    dialog.types_list.setCurrentRow(0)
    dialog._on_remove_clicked()
    dialog.new_type_edit.setText("cash")
    dialog._on_add_clicked()
    dialog.set_type_mode("cash", AllocationMode.SOURCE_INVOICE)
    dialog._on_buttons_accepted()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert clinic.payment_type_modes() == {"Cash": AllocationMode.SOURCE_INVOICE}


def test_escape_on_the_details_after_adding_a_payer_closes_without_asking(
    qtbot, clinic, with_modal
):
    clinic.add_payer("Bupa", kind="health fund")
    pid = clinic.add_patient("Ada", "Lovelace")
    dialog = PatientDialog(clinic, patient=clinic.patient(pid))
    qtbot.addWidget(dialog)
    _membership_answering(dialog.payers_box, lambda window: None)
    closed: list[int] = []

    def act(shown: QDialog) -> None:
        assert shown is dialog
        assert dialog.payers_box.add_membership()
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # nothing typed: no question
        closed.append(dialog.result())

    with_modal(act)
    dialog.exec()
    assert closed == [QDialog.DialogCode.Rejected]
    assert [m.payer_name for m in clinic.memberships(pid)] == ["Bupa"]
