"""Signing in at start, the first run's administrator, and what each role's window offers."""

from __future__ import annotations

import pytest

from desktop_app.app import start_window
from desktop_app.core import Clinic, Role
from desktop_app.core.access import staff as staff_rules
from desktop_app.ui.dialogs.first_run import ClinicSetupDialog
from desktop_app.ui.dialogs.sign_in import FirstRunDialog, SignInDialog
from desktop_app.ui.main_window import MainWindow
from tests.helpers import STAFF_PASSWORD, staff_team

# Argon2id with a small memory cost (tests/conftest.py; the app's own: tests/db/test_staff.py).
pytestmark = pytest.mark.usefixtures("quick_hashes")


@pytest.fixture
def staffed_url(new_sqlite_url) -> str:
    """A clinic file with an administrator, a receptionist, a bookkeeper and a practitioner (none
    signed in: the windows sign in), Ada assigned to the practitioner, and Alan."""
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        staff_team(
            clinic,
            (Role.ADMINISTRATOR, Role.RECEPTIONIST, Role.BOOKKEEPER, Role.PRACTITIONER),
            sign_in=False,
        )
        own = clinic.add_patient("Ada", "Lovelace")
        clinic.add_patient("Alan", "Turing")
        clinic.assign_practitioner(own, "physio")
    return url


def test_a_clinic_with_staff_asks_who_is_signing_in(qtbot, staffed_url):
    _, window = start_window(staffed_url, demo=False)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.sign_in_dialog is not None, timeout=10_000)
    dialog = window.sign_in_dialog
    assert isinstance(dialog, SignInDialog) and dialog.isVisible()
    assert not window.is_ready  # no patient is shown before someone signs in
    dialog.username_edit.setText("desk")
    dialog.password_edit.setText("wrong password")
    assert not dialog.try_sign_in()
    assert dialog.message_label.text() == staff_rules.REFUSED
    assert dialog.password_edit.text() == ""  # cleared after every try
    dialog.password_edit.setText(STAFF_PASSWORD)
    assert dialog.try_sign_in()
    qtbot.waitUntil(lambda: window.is_ready, timeout=10_000)
    assert window.clinic.staff_member.username == "desk"
    assert "Dee Desk (receptionist)" in window.statusBar().currentMessage()
    window.close()
    window.clinic.close()


def test_cancelling_the_sign_in_closes_the_app(qtbot, staffed_url):
    _, window = start_window(staffed_url, demo=False)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.sign_in_dialog is not None, timeout=10_000)
    window.sign_in_dialog.reject()
    qtbot.waitUntil(lambda: not window.isVisible())
    assert not window.is_ready


def test_the_first_run_creates_the_administrator(qtbot, new_sqlite_url):
    _, window = start_window(new_sqlite_url(), demo=False, first_run=True)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.sign_in_dialog is not None, timeout=10_000)
    setup = window.sign_in_dialog  # the clinic's details first (tests/ui/test_first_run_window.py)
    assert isinstance(setup, ClinicSetupDialog)
    setup.name_edit.setText("Harbour Physiotherapy")
    assert setup.save()
    qtbot.waitUntil(lambda: isinstance(window.sign_in_dialog, FirstRunDialog), timeout=10_000)
    dialog = window.sign_in_dialog
    assert isinstance(dialog, FirstRunDialog)
    dialog.full_name_edit.setText("Alex Admin")
    dialog.username_edit.setText("admin")
    dialog.password_edit.setText(STAFF_PASSWORD)
    dialog.repeat_edit.setText(STAFF_PASSWORD + "x")
    assert not dialog.create_administrator()
    assert "passwords differ" in dialog.message_label.text()
    dialog.repeat_edit.setText(STAFF_PASSWORD)
    dialog.password_edit.setText(STAFF_PASSWORD)
    assert dialog.create_administrator()
    qtbot.waitUntil(lambda: window.is_ready, timeout=10_000)
    assert window.clinic.staff_member.role is Role.ADMINISTRATOR
    assert window.settings_action.isEnabled()
    window.close()
    window.clinic.close()


def _window_for(qtbot, url: str, username: str) -> MainWindow:
    window = MainWindow(Clinic.open(url).sign_in(username, STAFF_PASSWORD))
    qtbot.addWidget(window)
    window.show()
    return window


def test_each_role_sees_only_what_it_may_do(qtbot, staffed_url):
    desk = _window_for(qtbot, staffed_url, "desk")
    assert desk.new_patient_action.isEnabled() and desk.payment_action.isEnabled()
    assert not desk.settings_action.isEnabled() and not desk.reports_action.isEnabled()
    assert not desk.corrections.refund_action.isEnabled()
    assert not desk.refund_button.isEnabled() and not desk.transfer_button.isEnabled()
    assert not desk.audit_log_action.isEnabled() and not desk.import_action.isEnabled()

    books = _window_for(qtbot, staffed_url, "books")
    assert books.reports_action.isEnabled() and books.audit_log_action.isEnabled()
    assert books.corrections.refund_action.isEnabled() and books.refund_button.isEnabled()
    assert not books.payment_action.isEnabled() and not books.new_invoice_action.isEnabled()
    assert not books.new_patient_action.isEnabled()
    # Settings opens for the payers a bookkeeper manages; its other pages stay read-only.
    assert books.settings_action.isEnabled()

    physio = _window_for(qtbot, staffed_url, "physio")
    assert physio.patient_model.rowCount() == 1  # only their own patient is listed
    assert physio.name_label.text() == "Ada Lovelace"
    for action in (
        physio.payment_action,
        physio.new_invoice_action,
        physio.settings_action,
        physio.reports_action,
        physio.invoice_list_action,
        physio.export_action,
    ):
        assert not action.isEnabled(), action.text()
    assert physio.printing.statement_action.isEnabled()  # their own patient's statement

    admin = _window_for(qtbot, staffed_url, "admin")
    for action in (admin.settings_action, admin.reports_action, admin.import_action):
        assert action.isEnabled()
    for window in (desk, books, physio, admin):
        window.clinic.close()


def test_an_idle_window_locks_and_asks_for_a_password(qtbot, staffed_url):
    window = _window_for(qtbot, staffed_url, "desk")
    assert window._idle_timer is not None and window._idle_timer.isActive()
    window.idle_lock_minutes = 0.001  # 60 ms
    window.open_clinic(window.clinic)  # restarts the timer with the new time
    qtbot.waitUntil(lambda: window.is_locked, timeout=5_000)
    dialog = window.sign_in_dialog
    assert isinstance(dialog, SignInDialog) and dialog.isVisible()
    assert not window.centralWidget().isVisible()  # no patient on show while locked
    assert dialog.username_edit.text() == "desk"
    dialog.password_edit.setText("not it")
    assert not dialog.try_sign_in() and window.is_locked
    # Someone else signs in at the same desk: the window is theirs now.
    dialog.username_edit.setText("books")
    dialog.password_edit.setText(STAFF_PASSWORD)
    window.idle_lock_minutes = 10
    assert dialog.try_sign_in()
    assert not window.is_locked and window.centralWidget().isVisible()
    assert window.clinic.staff_member.username == "books"
    assert window.reports_action.isEnabled() and not window.payment_action.isEnabled()
    window.clinic.close()


def test_typing_keeps_the_window_unlocked(qtbot, staffed_url):
    window = _window_for(qtbot, staffed_url, "desk")
    window.idle_lock_minutes = 0.005  # 300 ms
    window.open_clinic(window.clinic)
    for _ in range(6):
        qtbot.wait(100)
        qtbot.keyClick(window.search_edit, "a")
    assert not window.is_locked
    window.clinic.close()


def test_an_owner_window_has_no_one_to_lock_out(qtbot, staffed_url):
    window = MainWindow(Clinic.open(staffed_url))
    qtbot.addWidget(window)
    assert window._idle_timer is None
    window.lock()
    assert not window.is_locked
    window.clinic.close()


def test_settings_staff_page_adds_and_manages_accounts(qtbot, staffed_url):
    from desktop_app.ui.settings.settings_dialog import STAFF_PAGE, SettingsDialog

    admin = Clinic.open(staffed_url).sign_in("admin", STAFF_PASSWORD)
    dialog = SettingsDialog(admin)
    qtbot.addWidget(dialog)
    page = dialog.staff_page
    assert page is not None
    assert dialog.page_list.item(dialog.page_list.count() - 1).text() == STAFF_PAGE
    assert [m.username for m in page.members] == ["admin", "books", "desk", "physio"]
    page.new_full_name.setText("Nia New")
    page.new_username.setText("nia")
    page.new_password.setText("short")
    page.add_button.click()
    assert "at least 8" in page.message_label.text() and len(page.members) == 4
    page.new_password.setText(STAFF_PASSWORD)
    page.add_button.click()
    assert page.message_label.text() == "Staff member added."
    nia = [m.username for m in page.members].index("nia")
    page.table.selectRow(nia)
    page.role_combo.setCurrentIndex(page.role_combo.findData(Role.BOOKKEEPER))
    page.role_button.click()
    assert "now a bookkeeper" in page.message_label.text()
    page.active_button.click()
    assert "can no longer sign in" in page.message_label.text()
    assert page.active_button.text() == "&Enable"
    page.reset_edit.setText("a fresh password")
    page.reset_button.click()
    assert "password is reset" in page.message_label.text() and page.reset_edit.text() == ""
    # The last administrator cannot be disabled: the page shows the core's refusal.
    page.table.selectRow([m.username for m in page.members].index("admin"))
    page.active_button.click()
    assert "at least one active administrator" in page.message_label.text()
    members = {m.username: m for m in admin.staff_members()}
    assert members["nia"].role is Role.BOOKKEEPER and not members["nia"].active
    assert members["admin"].active
    # Someone who may not manage staff gets no Staff page (nor Settings at all in the window).
    desk = Clinic.open(staffed_url).sign_in("desk", STAFF_PASSWORD)
    assert SettingsDialog(desk).staff_page is None
    admin.close()


def test_change_my_password(qtbot, staffed_url):
    window = _window_for(qtbot, staffed_url, "desk")
    assert window.change_password_action.isEnabled()
    dialog = window.change_password()
    qtbot.addWidget(dialog)
    dialog.current_edit.setText(STAFF_PASSWORD)
    dialog.new_edit.setText("new password 2")
    dialog.repeat_edit.setText("new password 3")
    assert not dialog.change() and "differ" in dialog.message_label.text()
    dialog.current_edit.setText("wrong")
    dialog.new_edit.setText("new password 2")
    dialog.repeat_edit.setText("new password 2")
    assert not dialog.change() and "current password" in dialog.message_label.text()
    dialog.current_edit.setText(STAFF_PASSWORD)
    dialog.new_edit.setText("new password 2")
    dialog.repeat_edit.setText("new password 2")
    assert dialog.change()
    assert Clinic.open(staffed_url).sign_in("desk", "new password 2").staff_member
    window.clinic.close()


def test_the_front_desk_assigns_a_practitioner(qtbot, staffed_url):
    desk = _window_for(qtbot, staffed_url, "desk")
    turing = next(
        p.id
        for p in desk.clinic.patients_by_ids(desk.clinic.patient_ids())
        if p.last_name == "Turing"
    )
    desk.select_patient(turing)
    assert desk.practitioner_action.isEnabled()
    offered: list[str] = []

    def choose(names, at):
        offered.extend(names)
        return names[1], True

    assert desk.assign_practitioner(choose)
    assert offered == ["No one", "Phil Physio (physio)"]
    assert desk.clinic.patient_practitioner(turing) == "physio"
    physio = _window_for(qtbot, staffed_url, "physio")
    assert physio.patient_model.rowCount() == 2  # Ada and now Alan
    assert not physio.practitioner_action.isEnabled()
    for window in (desk, physio):
        window.clinic.close()
