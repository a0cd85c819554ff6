"""Settings > Email: the server and sender saved by OK (the password in the keychain), the test
email sent in the background to a real SMTP server on loopback, the server's reason shown when
it refuses, the templates (placeholders inserted, the preview, a placeholder the kind does not
have refused at its field) and the reminder settings; read-only for a role that may not change
settings."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from desktop_app.core import DEFAULT_TEMPLATES, MailKind, Security
from desktop_app.ui.settings.email_page import (
    REMINDERS_TAB,
    SERVER_TAB,
    TEMPLATES_TAB,
    EmailPage,
)
from desktop_app.ui.settings.settings_dialog import PAGES, SettingsDialog
from tests.ui.test_mnemonics import collisions

KEYRING_SERVICE = "Clinic Ledger SMTP"


@pytest.fixture
def settings(qtbot, clinic) -> SettingsDialog:
    clinic.update_settings(clinic_name="Harbour Physio")
    dialog = SettingsDialog(clinic, page=PAGES.index("Email"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def test_each_tab_has_its_own_alt_keys(settings):
    page = settings.email_page
    for tab in (SERVER_TAB, TEMPLATES_TAB, REMINDERS_TAB):
        page.tabs.setCurrentIndex(tab)
        assert collisions(settings) == {}, page.tabs.tabText(tab)


def fill_server(page: EmailPage, *, host: str, port: int, security: Security) -> None:
    page.host_edit.setText(host)
    page.security_combo.setCurrentIndex(page.security_combo.findData(security.value))
    page.port_spin.setValue(port)
    page.sender_name_edit.setText("Harbour Physio")
    page.sender_address_edit.setText("desk@harbour.example")


def press_ok(dialog: SettingsDialog) -> None:
    dialog._on_buttons_accepted()


def test_the_server_is_saved_by_ok_and_the_password_kept_in_the_keychain(
    qtbot, clinic, settings, keychain
):
    page = settings.email_page
    assert settings.pages.currentWidget() is page
    assert page.password_state.text() == "No password is saved."
    fill_server(page, host="smtp.harbour.example", port=587, security=Security.STARTTLS)
    page.username_edit.setText("desk@harbour.example")
    assert page.password_edit.echoMode() == page.password_edit.EchoMode.Password
    qtbot.keyClicks(page.password_edit, "s3cret pass")
    page.reply_to_edit.setText("accounts@harbour.example")
    page.timeout_spin.setValue(45)
    press_ok(settings)
    assert settings.result() == QDialog.DialogCode.Accepted
    saved = clinic.email_settings
    assert (saved.host, saved.port, saved.security, saved.username) == (
        "smtp.harbour.example",
        587,
        Security.STARTTLS,
        "desk@harbour.example",
    )
    assert saved.sender == "Harbour Physio <desk@harbour.example>"
    assert (saved.reply_to, saved.timeout) == ("accounts@harbour.example", 45)
    assert keychain.entries == {
        (KEYRING_SERVICE, "desk@harbour.example@smtp.harbour.example"): "s3cret pass"
    }
    again = SettingsDialog(clinic, page=PAGES.index("Email"))
    qtbot.addWidget(again)
    assert again.email_page.password_edit.text() == ""
    assert again.email_page.password_state.text().startswith("A password is saved")
    assert again.email_page.sender_name_edit.text() == "Harbour Physio"
    # OK with nothing changed saves nothing (and keeps the password).
    press_ok(again)
    assert again.result() == QDialog.DialogCode.Accepted
    assert clinic.email.password_set


def test_forgetting_the_password_removes_it_from_the_keychain(qtbot, clinic, keychain):
    clinic.set_email_settings(
        host="smtp.harbour.example",
        username="desk",
        sender="desk@harbour.example",
        password="old",
    )
    dialog = SettingsDialog(clinic, page=PAGES.index("Email"))
    qtbot.addWidget(dialog)
    dialog.show()
    page = dialog.email_page
    assert page.forget_password_button.isVisible()
    qtbot.mouseClick(page.forget_password_button, Qt.MouseButton.LeftButton)
    assert "forgotten when you press OK" in page.password_state.text()
    press_ok(dialog)
    assert keychain.entries == {} and not clinic.email.password_set


def test_changing_security_suggests_the_usual_port(settings):
    page = settings.email_page
    assert page.port_spin.value() == 587
    page.security_combo.setCurrentIndex(page.security_combo.findData(Security.SSL.value))
    assert page.port_spin.value() == 465
    page.security_combo.setCurrentIndex(page.security_combo.findData(Security.NONE.value))
    assert page.port_spin.value() == 25
    page.port_spin.setValue(2525)  # a port of the clinic's own is kept
    page.security_combo.setCurrentIndex(page.security_combo.findData(Security.STARTTLS.value))
    assert page.port_spin.value() == 2525
    assert [page.security_combo.itemText(i) for i in range(3)] == [
        "STARTTLS",
        "SSL/TLS",
        "None (local relay only)",
    ]


def test_a_refusal_is_shown_at_its_field_and_nothing_is_saved(clinic, settings):
    page = settings.email_page
    fill_server(page, host="smtp.harbour.example", port=587, security=Security.STARTTLS)
    page.sender_address_edit.setText("desk at harbour")
    page.tabs.setCurrentIndex(REMINDERS_TAB)
    press_ok(settings)
    assert settings.isVisible() and settings.result() != QDialog.DialogCode.Accepted
    assert page.tabs.currentIndex() == SERVER_TAB
    assert page.problems["sender"].isVisible()
    assert "desk at harbour" in page.problems["sender"].text()
    assert not clinic.email_settings.configured
    # Without encryption, only a relay on this computer or the clinic's network.
    page.sender_address_edit.setText("desk@harbour.example")
    page.security_combo.setCurrentIndex(page.security_combo.findData(Security.NONE.value))
    press_ok(settings)
    assert page.problems["security"].isVisible() and not page.problems["sender"].isVisible()
    assert not clinic.email_settings.configured


def test_the_test_email_reaches_the_server_through_starttls_with_the_clinics_certificate(
    qtbot, clinic, settings, keychain, make_smtp_server
):
    server = make_smtp_server(starttls=True, auth={"desk": "s3cret"})
    page = settings.email_page
    fill_server(page, host="127.0.0.1", port=server.port, security=Security.STARTTLS)
    page.username_edit.setText("desk")
    page.password_edit.setText("s3cret")
    page.choose_certificate_path = lambda: Path(server.certificate_path)
    qtbot.mouseClick(page.load_certificate_button, Qt.MouseButton.LeftButton)
    assert page.certificate_label.text().endswith("(saved with OK)")
    asked: list[str] = []
    page.ask_test_address = lambda suggested: asked.append(suggested) or "ada@example.org"
    qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
    # The settings were saved first (the test uses them), and the window is free meanwhile.
    assert clinic.email_settings.certificate == server.certificate_pem.strip()
    assert asked == ["desk@harbour.example"]
    assert "Sending a test email to ada@example.org" in page.test_label.text()
    qtbot.waitUntil(lambda: not page.testing, timeout=10_000)
    assert page.test_label.text() == (
        "The test email was sent to ada@example.org. Check that it arrived."
    )
    (delivery,) = server.messages
    assert delivery.recipients == ["ada@example.org"]
    assert delivery.message["Subject"] == "Test email from Harbour Physio"
    assert server.logins == ["desk"]
    assert page.test_button.isEnabled()


def test_a_refused_test_email_shows_the_servers_reason(
    qtbot, clinic, settings, keychain, make_smtp_server
):
    server = make_smtp_server(refuse_rcpt="550 5.1.1 No such mailbox here")
    page = settings.email_page
    fill_server(page, host="127.0.0.1", port=server.port, security=Security.NONE)
    assert page.send_test_email("nobody@example.org")
    qtbot.waitUntil(lambda: not page.testing, timeout=10_000)
    assert page.test_label.text().startswith("The test email was not sent:")
    assert "No such mailbox here" in page.test_label.text()
    assert server.messages == []


def test_a_test_email_asks_for_the_server_first(settings, clinic):
    page = settings.email_page
    assert not page.send_test_email("ada@example.org")
    assert page.problems["host"].isVisible() and not page.testing


# -- templates ------------------------------------------------------------------------------


def test_a_template_is_edited_with_placeholders_and_previewed(qtbot, clinic, settings):
    page = settings.email_page
    page.tabs.setCurrentIndex(TEMPLATES_TAB)
    page.choose_kind(MailKind.RECEIPT)
    names = [page.placeholder_list.item(i).text() for i in range(page.placeholder_list.count())]
    assert "{amount}\n    the amount received" in names
    assert page.subject_edit.text() == DEFAULT_TEMPLATES[MailKind.RECEIPT].subject
    assert "Subject: Receipt 318 from Harbour Physio" in page.preview.toPlainText()
    page.body_edit.setPlainText("Thanks for ")
    page.body_edit.setFocus()
    page.body_edit.moveCursor(page.body_edit.textCursor().MoveOperation.End)
    item = next(
        page.placeholder_list.item(i)
        for i in range(page.placeholder_list.count())
        if page.placeholder_list.item(i).text().startswith("{amount}")
    )
    rect = page.placeholder_list.visualItemRect(item)
    qtbot.mouseClick(page.placeholder_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert page.body_edit.toPlainText() == "Thanks for {amount}"
    assert "Thanks for $80.00" in page.preview.toPlainText()
    press_ok(settings)
    assert settings.result() == QDialog.DialogCode.Accepted
    assert clinic.email_template("receipt").body == "Thanks for {amount}"
    assert clinic.email_template("invoice") == clinic.email_templates()[MailKind.INVOICE]


def test_an_unknown_placeholder_shows_in_the_preview_and_is_refused_at_its_field(
    qtbot, clinic, settings
):
    page = settings.email_page
    page.choose_kind(MailKind.STATEMENT)
    page.subject_edit.setText("Statement {nope}")
    assert not page.preview_problem.isHidden() and "{nope}" in page.preview_problem.text()
    assert page.preview.toPlainText() == ""
    page.choose_kind(MailKind.INVOICE)  # what was typed for the statement is kept
    page.tabs.setCurrentIndex(SERVER_TAB)
    press_ok(settings)
    assert settings.result() != QDialog.DialogCode.Accepted
    assert page.tabs.currentIndex() == TEMPLATES_TAB and page.kind() is MailKind.STATEMENT
    assert page.problems["subject"].isVisible()
    assert "{nope}" in page.problems["subject"].text()
    assert "{period}" in page.problems["subject"].text()  # the ones there are, listed
    assert clinic.email_template("statement").subject == (
        DEFAULT_TEMPLATES[MailKind.STATEMENT].subject
    )
    qtbot.mouseClick(page.reset_button, Qt.MouseButton.LeftButton)
    assert page.subject_edit.text() == DEFAULT_TEMPLATES[MailKind.STATEMENT].subject
    assert page.preview_problem.isHidden() and page.preview.toPlainText()
    press_ok(settings)
    assert settings.result() == QDialog.DialogCode.Accepted


def test_enter_on_a_placeholder_inserts_it_into_the_subject(qtbot, settings):
    page = settings.email_page
    page.tabs.setCurrentIndex(TEMPLATES_TAB)
    page.subject_edit.setText("Invoice ")
    page.subject_edit.setFocus()
    page.subject_edit.end(False)
    page.placeholder_list.setFocus()
    page.placeholder_list.setCurrentRow(
        next(
            i
            for i in range(page.placeholder_list.count())
            if page.placeholder_list.item(i).text().startswith("{invoice_number}")
        )
    )
    qtbot.keyClick(page.placeholder_list, Qt.Key.Key_Return)
    assert page.subject_edit.text() == "Invoice {invoice_number}"


# -- reminders and alerts -------------------------------------------------------------------


def test_reminder_settings_are_saved(clinic, settings):
    page = settings.email_page
    page.tabs.setCurrentIndex(REMINDERS_TAB)
    assert page.after_days_spin.text() == "0 (off)"
    page.after_days_spin.setValue(30)
    page.interval_spin.setValue(7)
    page.dormant_spin.setValue(18)
    press_ok(settings)
    saved = clinic.reminder_settings
    assert (saved.after_days, saved.interval_days, saved.dormant_months) == (30, 7, 18)


def test_a_role_that_may_not_change_settings_sees_the_page_read_only(qtbot, clinic, team):
    clinic.set_email_settings(host="smtp.harbour.example", sender="desk@harbour.example")
    books = team["bookkeeper"]
    dialog = SettingsDialog(books, page=PAGES.index("Email"))
    qtbot.addWidget(dialog)
    dialog.show()
    page = dialog.email_page
    assert page.host_edit.text() == "smtp.harbour.example"
    assert not page.host_edit.isEnabled() and not page.test_button.isEnabled()
    page.tabs.setCurrentIndex(TEMPLATES_TAB)  # the tabs can still be read
    assert page.tabs.currentIndex() == TEMPLATES_TAB and not page.subject_edit.isEnabled()
    press_ok(dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_closing_the_window_never_waits_for_a_silent_server(
    qtbot, clinic, keychain, silent_server, jobs_ended
):
    dialog = SettingsDialog(clinic, page=PAGES.index("Email"))
    dialog.show()
    page = dialog.email_page
    fill_server(page, host="127.0.0.1", port=silent_server.port, security=Security.NONE)
    page.timeout_spin.setValue(20)
    assert page.send_test_email("ada@example.org")
    qtbot.wait(300)  # connected, waiting for the server's greeting
    assert page.testing
    started = time.monotonic()
    dialog.close()
    assert time.monotonic() - started < 2  # not the server's 20 seconds
    assert not dialog.isVisible()
    dialog.deleteLater()  # the window is gone before the test email's answer comes
    qtbot.wait(50)
    silent_server.stop()  # the server hangs up: the test email fails, in the background
    jobs_ended()  # its answer touched nothing (a deleted window would raise here)
