"""The credit alerts panel: shown as the app opens for the practice manager (read in the
background, never for the desk), and its actions open the main window's own windows for the
chosen patient."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop_app.core import Clinic
from desktop_app.ui.dialogs.apply_credit import ApplyCreditDialog
from desktop_app.ui.dialogs.desk_alerts import HIDDEN_ON, DeskAlertsDialog
from desktop_app.ui.dialogs.email_dialog import EmailDialog
from desktop_app.ui.dialogs.refund_dialog import RefundDialog
from desktop_app.ui.main_window import MainWindow
from tests.helpers import staff_team

LONG_AGO = date.today() - timedelta(days=400)


def credit_story(clinic: Clinic) -> dict[str, int]:
    """Ada: dormant credit, an email kept. Bob: credit beside an open invoice, only a mobile."""
    ada = clinic.add_patient("Ada", "Lovelace", email="ada@example.org")
    clinic.record_payment(
        clinic.preview_payment(ada, {"Cash": "40"}, payment_date=LONG_AGO), "ada-prepaid"
    )
    bob = clinic.add_patient("Bob", "Brown", mobile="0400 111 222")
    clinic.record_payment(clinic.preview_payment(bob, {"Cash": "30"}), "bob-prepaid")
    clinic.create_invoice(bob, [("Consultation", "70", 1)])
    return {"ada": ada, "bob": bob}


def open_as(qtbot, clinic: Clinic, settings: QSettings) -> MainWindow:
    """The app's window (keeping settings) showing at once, the clinic opened on the next turn."""
    main = MainWindow(None, settings)
    qtbot.addWidget(main)
    main.show()
    qtbot.waitExposed(main)
    main.open_clinic(clinic)
    return main


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "ledger.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def team(clinic, quick_hashes) -> dict[str, Clinic]:
    return staff_team(clinic, ["administrator", "bookkeeper", "receptionist"])


def panel(main: MainWindow) -> DeskAlertsDialog | None:
    return main.outbox_actions.alerts_window


def test_the_panel_opens_at_start_for_the_bookkeeper(qtbot, clinic, team, settings):
    people = credit_story(clinic)
    main = open_as(qtbot, team["bookkeeper"], settings)
    assert panel(main) is None  # read in the background, after the window shows
    qtbot.waitUntil(lambda: panel(main) is not None and panel(main).isVisible())
    shown = panel(main)
    assert not shown.isModal() and shown.windowTitle() == "Account credit to look at"
    assert [r.patient_id for r in shown.beside.model._records] == [people["bob"]]
    assert [r.patient_id for r in shown.dormant.model._records] == [people["ada"]]
    assert shown.dormant.model.index(0, 5).data() == "ada@example.org"
    assert shown.beside.model.index(0, 5).data() == "Mobile 0400 111 222"
    assert "2 patients hold account credit" in shown.summary_label.text()
    # A bookkeeper may refund and email, not take payments: Apply credit is the desk's.
    assert not shown.beside.buttons["apply"].isEnabled()
    assert shown.beside.buttons["refund"].isEnabled()
    assert shown.beside.buttons["contact"].isEnabled()


def test_the_panel_never_opens_for_the_desk(qtbot, clinic, team, settings):
    credit_story(clinic)
    main = open_as(qtbot, team["receptionist"], settings)
    qtbot.wait(300)
    assert panel(main) is None and not main.outbox_actions._alerts_runner.busy
    assert not main.outbox_actions.alerts_action.isEnabled()
    assert [w for w in QApplication.topLevelWidgets() if isinstance(w, DeskAlertsDialog)] == []


def test_dont_show_again_today(qtbot, clinic, team, settings):
    credit_story(clinic)
    main = open_as(qtbot, team["bookkeeper"], settings)
    qtbot.waitUntil(lambda: panel(main) is not None)
    panel(main).hide_check.setChecked(True)
    assert settings.value(HIDDEN_ON) == date.today().isoformat()
    panel(main).close()
    again = open_as(qtbot, team["bookkeeper"], settings)
    qtbot.wait(300)
    assert panel(again) is None
    # Tools > Account credit alerts… still shows them.
    again.outbox_actions.alerts_action.trigger()
    qtbot.waitUntil(lambda: panel(again) is not None and panel(again).alerts is not None)
    assert panel(again).alerts.count == 2


def test_nothing_opens_when_no_credit_needs_a_look(qtbot, clinic, team, settings):
    pid = clinic.add_patient("Dee", "Owing")
    clinic.create_invoice(pid, [("Consultation", "70", 1)])
    main = open_as(qtbot, team["bookkeeper"], settings)
    qtbot.waitUntil(lambda: not main.outbox_actions._alerts_runner.busy)
    qtbot.wait(100)
    assert panel(main) is None


@pytest.fixture
def admin_panel(qtbot, clinic, team, settings):
    people = credit_story(clinic)
    main = open_as(qtbot, team["administrator"], settings)
    qtbot.waitUntil(lambda: panel(main) is not None and panel(main).alerts is not None)
    return main, panel(main), people


def test_apply_credit_opens_the_apply_credit_window_for_the_patient(qtbot, admin_panel, with_modal):
    main, shown, people = admin_panel
    seen: list[object] = []

    def apply(dialog) -> None:
        seen.append(dialog)
        dialog.apply_button.click()

    with_modal(apply)
    assert shown.beside.select(people["bob"])
    shown.beside.buttons["apply"].click()
    assert main.patient_id == people["bob"]
    assert isinstance(seen[0], ApplyCreditDialog) and seen[0].patient_names == ["Bob Brown"]
    assert main.clinic.patient(people["bob"]).credit == 0
    # The panel reads the alerts again: Bob's credit paid his invoice.
    qtbot.waitUntil(lambda: not shown.loading)
    assert [r.patient_id for r in shown.beside.model._records] == []


def test_refund_opens_the_refund_window_for_the_patient(qtbot, admin_panel, with_modal):
    main, shown, people = admin_panel
    seen: list[object] = []

    def refund(dialog) -> None:
        seen.append(dialog)
        dialog.reject()

    with_modal(refund)
    assert shown.dormant.select(people["ada"])
    shown.dormant.buttons["refund"].click()
    assert main.patient_id == people["ada"]
    assert isinstance(seen[0], RefundDialog)


def test_contact_opens_an_email_about_the_credit(qtbot, admin_panel, with_modal):
    main, shown, people = admin_panel
    main.clinic.set_email_settings(
        host="127.0.0.1", port=2525, security="none", sender="Clinic <desk@example.org>"
    )
    seen: list[EmailDialog] = []

    def contact(dialog) -> None:
        seen.append(dialog)
        dialog.reject()

    with_modal(contact)
    assert shown.dormant.select(people["ada"])
    shown.dormant.buttons["contact"].click()
    (dialog,) = seen
    assert isinstance(dialog, EmailDialog)
    assert dialog.to_edit.text() == "ada@example.org"
    assert "$40.00" in dialog.body_edit.toPlainText()
    assert dialog.attachment_label.text() == "Nothing attached"


def test_contact_without_an_address_shows_the_phone_numbers(qtbot, admin_panel, answer):
    _main, shown, people = admin_panel
    texts = answer(lambda box: box.button(QMessageBox.StandardButton.Close).click())
    assert shown.beside.select(people["bob"])
    shown.beside.buttons["contact"].click()
    assert "No email address is kept for Bob Brown" in texts[0]
    assert "Mobile: 0400 111 222" in texts[0]
