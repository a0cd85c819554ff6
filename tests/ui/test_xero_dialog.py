"""Tools > Xero…: connecting through the browser while the window stays responsive, choosing
among several organisations, disconnecting, and who may do it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from desktop_app.core import Role, XeroOrganisation
from desktop_app.core.xero.client import XeroClient
from desktop_app.core.xero.oauth import Endpoints, Setup
from desktop_app.ui.dialogs.xero_dialog import XeroDialog
from tests.xero_identity import CLIENT_ID, FakeIdentity, browser


def scripted_xero(monkeypatch, *, clearing: bool = True):
    """A fake Xero organisation (with the clinic's clearing accounts unless told otherwise),
    reached through the headless variables, as a script would."""
    from tests.xero_fake import FakeXero

    fake = FakeXero().start()
    if clearing:
        fake.with_clinic_clearing()
    monkeypatch.setenv("CLINIC_XERO_API_BASE", fake.url)
    monkeypatch.setenv("CLINIC_XERO_ACCESS_TOKEN", fake.token)
    monkeypatch.setenv("CLINIC_XERO_TENANT_ID", fake.tenant)
    return fake


@pytest.fixture
def identity():
    fake = FakeIdentity()
    yield fake
    fake.stop()


@pytest.fixture
def setup(identity):
    return Setup(CLIENT_ID, Endpoints.under(identity.base), 0)


def test_connect_and_disconnect_from_tools_xero(qtbot, window, clinic, identity, setup, keychain):
    assert window.xero_action.isEnabled()  # Tools > Xero…
    opened = window.open_xero()
    assert isinstance(opened, XeroDialog) and opened.isVisible()
    opened.reject()
    dialog = XeroDialog(clinic, window, open_browser=browser(), setup=setup)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.status_label.text() == "Not connected to Xero"
    assert not dialog.disconnect_button.isEnabled()
    dialog.connect_button.click()
    assert not dialog.connect_button.isEnabled()  # while Xero's answer is awaited
    qtbot.waitUntil(lambda: dialog.worker is None, timeout=10_000)
    assert dialog.message_label.text() == "Connected to Harbour Physio."
    assert dialog.status_label.text() == "Connected to Xero: Harbour Physio"
    assert clinic.xero_organisation() == XeroOrganisation("t-1", "Harbour Physio")
    assert len(keychain.entries) == 1
    dialog.disconnect_button.click()
    assert "Disconnected from Harbour Physio" in dialog.message_label.text()
    assert dialog.status_label.text() == "Not connected to Xero"
    assert keychain.entries == {} and len(identity.revoked) == 1


def test_several_organisations_are_asked_about_and_a_refusal_is_shown(
    qtbot, clinic, identity, setup, keychain
):
    identity.organisations.append(
        {"tenantId": "t-2", "tenantName": "Harbour Pilates", "tenantType": "ORGANISATION"}
    )
    asked: list[list[str]] = []

    def choose(found):
        asked.append([o.name for o in found])
        return found[1]

    dialog = XeroDialog(clinic, open_browser=browser(), setup=setup, choose=choose)
    qtbot.addWidget(dialog)
    dialog.connect_button.click()
    qtbot.waitUntil(lambda: dialog.worker is None, timeout=10_000)
    assert asked == [["Harbour Physio", "Harbour Pilates"]]
    assert clinic.xero_organisation() == XeroOrganisation("t-2", "Harbour Pilates")

    identity.decline = True
    dialog.connect_button.click()
    qtbot.waitUntil(lambda: dialog.worker is None, timeout=10_000)
    assert "access_denied" in dialog.message_label.text()
    assert dialog.message_label.property("tone") == "problem"
    assert clinic.xero_organisation() == XeroOrganisation("t-2", "Harbour Pilates")


def test_a_receptionist_sees_the_organisation_but_cannot_connect(qtbot, clinic, setup):
    clinic.add_staff("admin", "Alex Admin", Role.ADMINISTRATOR, "correct horse 7")
    clinic.add_staff("desk", "Dee Desk", Role.RECEPTIONIST, "correct horse 7")
    desk = clinic.sign_in("desk", "correct horse 7")
    dialog = XeroDialog(desk, setup=setup)
    qtbot.addWidget(dialog)
    assert not dialog.connect_button.isEnabled() and not dialog.disconnect_button.isEnabled()
    assert "Only a role that may change the settings" in dialog.message_label.text()


def test_sync_now_sends_the_ledger_and_the_log_says_so(qtbot, clinic, monkeypatch):
    from decimal import Decimal

    fake = scripted_xero(monkeypatch)
    ada = clinic.add_patient("Ada", "Lovelace")
    clinic.record_payment(clinic.preview_payment(ada, {"EFTPOS": "100.00"}), "pre")
    clinic.create_invoice(ada, [("Consultation", "80.00", 1, "10")])
    clinic.apply_credit_to_open_invoices(ada, "apply")
    dialog = XeroDialog(clinic)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.log.toPlainText() == "No sync yet."
    dialog.sync_button.click()
    qtbot.waitUntil(lambda: dialog.worker is None, timeout=20_000)
    assert dialog.message_label.text().endswith("Xero ties out to the ledger.")
    assert "1 invoices" in dialog.message_label.text()
    (invoice,) = fake.invoices.values()
    assert fake._invoice_view(invoice["InvoiceID"])["Status"] == "PAID"
    assert next(iter(fake.prepayments.values()))["RemainingCredit"] == Decimal("12.00")
    assert "1 sent" not in dialog.log.toPlainText() and "tied out" in dialog.log.toPlainText()
    fake.stop()
    assert fake.invalid == []


def test_the_patient_tabs_and_all_invoices_say_where_each_stands_with_xero(
    qtbot, window, clinic, monkeypatch
):
    fake = scripted_xero(monkeypatch)
    ada = clinic.add_patient("Ada", "Lovelace")
    first = clinic.create_invoice(ada, [("Consultation", "80.00", 1, "10")])
    paid = clinic.record_payment(clinic.preview_payment(ada, {"EFTPOS": "88.00"}), "pay")
    window.select_patient(ada)
    invoices, payments = window.invoice_model, window.payment_model
    xero_column = invoices.columnCount() - 1
    assert invoices.headerData(xero_column, Qt.Orientation.Horizontal) == "Xero"
    assert invoices.data(invoices.index(0, xero_column)) == ""  # no sync yet: nothing said
    clinic.sync_xero(XeroClient(fake.token, fake.tenant, base_url=fake.url))
    second = clinic.create_invoice(ada, [("Review", "60.00", 1, "10")])
    clinic.reverse_payment(paid, "Card declined")
    window.select_patient(ada)
    shown = {
        invoices.record(r).id: invoices.data(invoices.index(r, xero_column))
        for r in range(invoices.rowCount())
    }
    assert shown == {first: "Sent", second: "Not sent"}
    assert payments.data(payments.index(0, payments.columnCount() - 1)) == "Changed since"
    listed = window.open_invoice_list()
    qtbot.waitUntil(lambda: listed.model.rowCount() == 2)
    model = listed.model
    assert model.headerData(model.columnCount() - 1, Qt.Orientation.Horizontal) == "Xero"
    assert sorted(model.data(model.index(r, model.columnCount() - 1)) for r in range(2)) == [
        "Not sent",
        "Sent",
    ]
    clinic.sync_xero(XeroClient(fake.token, fake.tenant, base_url=fake.url))
    window.select_patient(ada)
    assert payments.data(payments.index(0, payments.columnCount() - 1)) == "Sent"
    fake.stop()
    assert fake.invalid == []


def test_the_mapping_is_chosen_from_xeros_own_lists_and_checked(qtbot, clinic, monkeypatch):
    fake = scripted_xero(monkeypatch, clearing=False)
    fake.add_account("090", "Business Bank", "BANK", True)
    fake.add_account("CLR-OLD", "Old clearing", "BANK", True)
    fake.accounts["CLR-OLD"]["Status"] = "ARCHIVED"
    ada = clinic.add_patient("Ada", "Lovelace")
    clinic.create_invoice(ada, [("Consultation", "80.00", 1, "10"), ("Report", "20.00", 1, "0")])
    dialog = XeroDialog(clinic)
    qtbot.addWidget(dialog)
    mapping = dialog.choose_mapping()
    assert mapping is not None
    qtbot.addWidget(mapping)
    # Only fitting accounts are offered: revenue for sales, liabilities for credit, banks for
    # payment types (an archived one is not); the types without an account in Xero say so.
    assert [mapping.sales.itemText(i) for i in range(mapping.sales.count())] == ["200 Sales"]
    assert mapping.credit.currentText() == "2400 Customer credit"
    card = mapping.clearing["Credit card"]
    assert card.currentText() == "CLR-CREDIT (not a fitting account in Xero)"
    assert [card.itemText(i) for i in range(1, card.count())] == [
        "CLR-CASH Cash clearing",
        "CLR-EFTPOS EFTPOS clearing",
        "090 Business Bank",
    ]
    assert sorted(mapping.taxes) == [0, 1000]
    assert mapping.taxes[1000].currentText() == "GST on Income (OUTPUT)"
    zero = [mapping.taxes[0].itemText(i) for i in range(mapping.taxes[0].count())]
    assert zero == ["GST Free Income (EXEMPTOUTPUT)", "BAS Excluded (BASEXCLUDED)"]
    mapping.save_button.click()  # Credit card's account is still not in Xero: said, kept open
    assert "CLR-CREDIT" in mapping.message.text()
    assert mapping.result() != mapping.DialogCode.Accepted
    for name in ("Credit card", "Bank transfer", "Health fund"):
        box = mapping.clearing[name]
        box.setCurrentIndex(box.findData("090"))
    mapping.save_button.click()
    assert mapping.result() == mapping.DialogCode.Accepted
    saved = clinic.accounting_mapping()
    assert saved.clearing_accounts["Health fund"] == "090"
    assert saved.tax_types[1000] == "GST on Income"
    assert clinic.check_xero_chart(clinic.xero_client()).ok
    fake.stop()
    assert fake.invalid == []


def test_the_app_syncs_by_itself_every_n_minutes_once_asked_to(qtbot, window, clinic, monkeypatch):
    from datetime import UTC, datetime, timedelta

    fake = scripted_xero(monkeypatch)
    ada = clinic.add_patient("Ada", "Lovelace")
    clinic.create_invoice(ada, [("Consultation", "80.00", 1, "10")])
    auto = window.xero_auto
    assert not auto.tick()  # off until the clinic asks for it
    dialog = XeroDialog(clinic, window)
    qtbot.addWidget(dialog)
    dialog.every.setValue(10)
    dialog.every.editingFinished.emit()
    assert clinic.xero_sync_minutes() == 10
    assert dialog.message_label.text() == "Syncs every 10 minutes while the app is open."
    assert auto.tick()
    qtbot.waitUntil(lambda: auto.worker is None, timeout=20_000)
    assert window.statusBar().currentMessage() == "Xero: synced (2 sent), tied out."
    assert len(fake.invoices) == 1
    assert not auto.tick()  # the last sync is not 10 minutes old yet
    later = datetime.now(UTC) + timedelta(minutes=11)
    monkeypatch.setattr(
        "desktop_app.ui.xero_autosync.datetime",
        type("Later", (), {"now": staticmethod(lambda tz=None: later)}),
    )
    assert auto.tick()
    qtbot.waitUntil(lambda: auto.worker is None, timeout=20_000)
    assert len(clinic.xero_sync_runs()) == 2
    fake.stop()
    assert fake.invalid == []


def test_after_export_files_the_window_asks_before_the_first_sync(
    qtbot, clinic, monkeypatch, tmp_path
):
    fake = scripted_xero(monkeypatch)
    ada = clinic.add_patient("Ada", "Lovelace")
    clinic.create_invoice(ada, [("Consultation", "80.00", 1, "10")])
    clinic.export_accounting(tmp_path)
    dialog = XeroDialog(clinic)
    qtbot.addWidget(dialog)
    asked: list[str] = []
    answers = iter([False, True])

    def confirm(why: str) -> bool:
        asked.append(why)
        return next(answers)

    monkeypatch.setattr(dialog, "_confirm_after_exports", confirm)
    dialog.sync_button.click()
    qtbot.waitUntil(lambda: dialog.worker is None, timeout=20_000)
    assert len(asked) == 1 and "a second time" in dialog.message_label.text()
    assert fake.writes == 0
    dialog.sync_button.click()
    qtbot.waitUntil(lambda: len(asked) == 2 and dialog.worker is None, timeout=20_000)
    qtbot.waitUntil(lambda: "ties out" in dialog.message_label.text(), timeout=20_000)
    assert len(fake.invoices) == 1
    fake.stop()
    assert fake.invalid == []
