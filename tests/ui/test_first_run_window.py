"""The first run's "About your clinic" window, before the administrator's, and the tax in
Settings > Finances."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from desktop_app.app import start_window
from desktop_app.core import Clinic, Role
from desktop_app.ui.dialogs.first_run import ClinicSetupDialog
from desktop_app.ui.dialogs.sign_in import FirstRunDialog, SignInDialog
from desktop_app.ui.settings.settings_dialog import SettingsDialog
from tests.helpers import STAFF_PASSWORD, snapshot

# Argon2id with a small memory cost (tests/conftest.py), for the administrator's account.
pytestmark = pytest.mark.usefixtures("quick_hashes")


def _setup_dialog(qtbot, url: str):
    _, window = start_window(url, demo=False, first_run=True)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.sign_in_dialog is not None, timeout=10_000)
    dialog = window.sign_in_dialog
    assert isinstance(dialog, ClinicSetupDialog) and dialog.isVisible()
    return window, dialog


def test_the_first_run_asks_about_the_clinic_then_for_the_administrator(qtbot, new_sqlite_url):
    window, dialog = _setup_dialog(qtbot, new_sqlite_url())
    assert not window.is_ready
    qtbot.keyClicks(dialog.name_edit, "Kiwi Physio")
    dialog.country_combo.setFocus()
    qtbot.keyClicks(dialog.country_combo, "New")  # typing picks the country
    assert dialog.country_combo.currentText() == "New Zealand"
    assert dialog.currency_combo.currentText() == "NZD"
    assert dialog.locale_edit.text() == "en_NZ"
    assert (dialog.tax_name_edit.text(), dialog.tax_rate_edit.text()) == ("GST", "15")
    assert dialog.includes_tax_check.isChecked()
    for _ in range(2):  # down the list past the United Kingdom
        qtbot.keyClick(dialog.country_combo, Qt.Key.Key_Down)
    assert dialog.country_combo.currentText() == "United States"
    assert dialog.currency_combo.currentText() == "USD"
    assert (dialog.tax_name_edit.text(), dialog.tax_rate_edit.text()) == ("", "0")
    assert not dialog.includes_tax_check.isChecked()
    for _ in range(2):
        qtbot.keyClick(dialog.country_combo, Qt.Key.Key_Up)
    assert dialog.country_combo.currentText() == "New Zealand"
    assert dialog.includes_tax_check.isChecked()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    # Then the administrator's account, as before.
    qtbot.waitUntil(lambda: isinstance(window.sign_in_dialog, FirstRunDialog), timeout=10_000)
    admin = window.sign_in_dialog
    assert isinstance(admin, FirstRunDialog)
    admin.full_name_edit.setText("Alex Admin")
    admin.username_edit.setText("admin")
    admin.password_edit.setText(STAFF_PASSWORD)
    admin.repeat_edit.setText(STAFF_PASSWORD)
    assert admin.create_administrator()
    qtbot.waitUntil(lambda: window.is_ready, timeout=10_000)
    assert window.clinic.staff_member.role is Role.ADMINISTRATOR
    assert window.windowTitle() == "Clinic Ledger: Kiwi Physio"
    assert window.formatter.currency == "NZD"
    settings = SettingsDialog(window.clinic, window)
    qtbot.addWidget(settings)
    assert settings.name_edit.text() == "Kiwi Physio"
    assert settings.currency_combo.currentText() == "NZD"
    assert settings.country_label.text() == "New Zealand (locale en_NZ)"
    assert (settings.tax_name_edit.text(), settings.tax_rate_edit.text()) == ("GST", "15")
    assert settings.includes_tax_check.isChecked()
    window.close()
    window.clinic.close()


def test_cancelling_saves_nothing_and_the_next_start_asks_again(qtbot, new_sqlite_url):
    url = new_sqlite_url()
    with Clinic.open(url) as before_clinic:
        before = snapshot(before_clinic)
    window, dialog = _setup_dialog(qtbot, url)
    qtbot.keyClicks(dialog.name_edit, "Kiwi Physio")
    qtbot.keyClicks(dialog.country_combo, "New")
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.isVisible())  # as with the administrator: the app closes
    assert not window.is_ready
    with Clinic.open(url) as after:
        assert snapshot(after) == before
        assert after.needs_first_run and after.clinic_name == "My Clinic"
    again, asked = _setup_dialog(qtbot, url)
    assert asked.name_edit.text() == ""
    asked.reject()
    qtbot.waitUntil(lambda: not again.isVisible())


def test_a_refused_answer_is_explained_and_the_window_stays(qtbot, clinic):
    dialog = ClinicSetupDialog(clinic)
    qtbot.addWidget(dialog)
    dialog.show()
    before = snapshot(clinic)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)  # no name yet
    assert dialog.message_label.text() == "Enter the clinic's name."
    assert dialog.isVisible() and dialog.profile is None
    qtbot.keyClicks(dialog.name_edit, "Clinique du Lac")
    qtbot.keyClicks(dialog.country_combo, "Oth")
    assert dialog.country_combo.currentText() == "Other"
    qtbot.keyClicks(dialog.currency_combo, "CHF")
    dialog.tax_name_edit.setText("TVA")
    dialog.tax_rate_edit.setText("8.125")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert "at most two decimals" in dialog.message_label.text()
    assert dialog.focusWidget() is dialog.tax_rate_edit
    assert snapshot(clinic) == before
    dialog.tax_rate_edit.setText("8.1")
    dialog.includes_tax_check.setChecked(True)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    profile = clinic.clinic_profile()
    assert (profile.country, profile.currency, profile.tax_name, profile.tax_rate) == (
        "Other",
        "CHF",
        "TVA",
        Decimal("8.1"),
    )
    assert not clinic.needs_first_run


def test_a_demo_clinic_opens_without_asking(qtbot, new_sqlite_url):
    _, window = start_window(new_sqlite_url(), demo=True, first_run=True)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.sign_in_dialog is not None, timeout=30_000)
    assert isinstance(window.sign_in_dialog, FirstRunDialog)  # straight to the administrator
    window.close()


def test_settings_finances_changes_the_tax(qtbot, clinic):
    unchanged = SettingsDialog(clinic)
    qtbot.addWidget(unchanged)
    before = clinic.audit_count()
    unchanged._on_buttons_accepted()  # OK with nothing changed: no tax saved for a new clinic
    assert clinic.audit_count() == before
    clinic.set_up_clinic(clinic_name="Kiwi Physio", country="New Zealand")
    dialog = SettingsDialog(clinic, page=1)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.tax_rate_edit.selectAll()
    qtbot.keyClicks(dialog.tax_rate_edit, "12.5")
    qtbot.keyClick(dialog.includes_tax_check, Qt.Key.Key_Space)  # untick
    ok = next(b for b in dialog.findChildren(QPushButton) if b.text().replace("&", "") == "OK")
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    profile = clinic.clinic_profile()
    assert (profile.tax_name, profile.tax_rate, profile.prices_include_tax) == (
        "GST",
        Decimal("12.5"),
        False,
    )


def test_a_clinic_with_staff_asks_who_signs_in_not_about_itself(qtbot, new_sqlite_url):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        clinic.add_staff("admin", "Alex Admin", Role.ADMINISTRATOR, STAFF_PASSWORD)
        assert clinic.needs_first_run  # never set up, yet someone already runs it
    _, window = start_window(url, demo=False, first_run=True)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.sign_in_dialog is not None, timeout=10_000)
    assert isinstance(window.sign_in_dialog, SignInDialog)
    window.close()
