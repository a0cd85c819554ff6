"""Emailing from the windows: Email… in the print window (invoice, receipt, a patient's and a
payer's statement) attaches the PDF of exactly what is previewed; Email receipt… right after a
payment or a payer's remittance is saved; the patient's Messages tab lists what was queued and
what became of it. The queued messages are read back as the server gets them (their PDF read
with pypdfium2)."""

from __future__ import annotations

import email
from datetime import date, timedelta
from email import policy
from email.message import EmailMessage

import pypdfium2 as pdfium
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from desktop_app.core import Permission, Security
from desktop_app.ui.dialogs.email_dialog import EmailDialog
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.printing.actions import payer_statement_dialog
from tests.ui.test_mnemonics import collisions

TODAY = date.today()


def pdf_text(data: bytes) -> str:
    """All the text of a PDF, pages joined, whitespace collapsed."""
    document = pdfium.PdfDocument(data)
    try:
        text = " ".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()
    return " ".join(text.split())


def message_of(clinic, outbox_id: int) -> EmailMessage:
    data = clinic.email.message_bytes(outbox_id)
    return email.message_from_bytes(data, policy=policy.default)  # type: ignore[return-value]


def attachment_of(message: EmailMessage) -> tuple[str, bytes]:
    (part,) = message.iter_attachments()
    return part.get_filename() or "", part.get_content()


@pytest.fixture
def ledger(clinic, smtp_server):
    clinic.update_settings(clinic_name="Harbour Physio")
    clinic.set_email_settings(
        host=smtp_server.host,
        port=smtp_server.port,
        security=Security.NONE.value,
        sender="Harbour Physio <desk@harbour.example>",
    )
    ada = clinic.add_patient("Ada", "Lovelace", email="ada@example.org")
    invoice = clinic.create_invoice(
        ada, [("Initial consultation", "95", 1), ("Exercise band", "12.50", 2)]
    )
    bupa = clinic.add_payer("Bupa", kind="health fund", email="claims@bupa.example")
    billed = clinic.create_invoice(
        ada, [("Consult", "80", 1)], bill_to=bupa, claim_reference="CLM-1"
    )
    return {"ada": ada, "invoice": invoice, "bupa": bupa, "billed": billed}


@pytest.fixture
def window(qtbot, clinic, ledger) -> MainWindow:
    main = MainWindow(clinic)
    main.formatter.locale = "en_AU"
    qtbot.addWidget(main)
    main.show()
    qtbot.waitExposed(main)
    main.select_patient(ledger["ada"])
    return main


def send(qtbot, dialog: EmailDialog) -> int:
    assert isinstance(dialog, EmailDialog) and dialog.isVisible()
    with qtbot.waitSignal(dialog.queued) as queued:
        qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)
    return int(queued.args[0])


def select_invoice(window: MainWindow, invoice_id: int) -> None:
    model = window.invoice_model
    row = next(r for r in range(model.rowCount()) if model.record(r).id == invoice_id)
    window.invoice_view.setFocus()
    window.invoice_view.selectRow(row)


def test_email_from_the_invoice_preview_attaches_the_pdf_of_what_is_previewed(
    qtbot, clinic, ledger, window
):
    number = clinic.invoice(ledger["invoice"]).number
    select_invoice(window, ledger["invoice"])
    preview = window.printing.print_invoice()
    assert preview.email_button is not None and preview.email_button.isVisible()
    assert preview.email_button.text() == "&Email…" and collisions(preview) == {}
    qtbot.mouseClick(preview.email_button, Qt.MouseButton.LeftButton)
    dialog = preview.email_dialog
    assert dialog.to_edit.text() == "ada@example.org"
    assert dialog.attachment_label.text() == f"Invoice {number}.pdf"
    outbox_id = send(qtbot, dialog)
    assert preview.message_label.text() == (
        "Email to ada@example.org is in the outbox; it is sent in the background."
    )
    message = message_of(clinic, outbox_id)
    assert message["Subject"] == f"Invoice {number} from Harbour Physio"
    name, pdf = attachment_of(message)
    assert name == f"Invoice {number}.pdf"
    text = pdf_text(pdf)
    assert f"Invoice {number}" in text or f"#{number}" in text
    assert "Total $120.00" in text and "Initial consultation" in text
    assert text == pdf_text(preview.pdf_bytes())  # the very document previewed


def test_the_statement_goes_for_the_period_chosen_in_the_window(qtbot, clinic, ledger, window):
    preview = window.printing.statement()
    assert collisions(preview) == {}
    start = TODAY - timedelta(days=10)
    preview.from_edit.setDate(start)
    qtbot.mouseClick(preview.email_button, Qt.MouseButton.LeftButton)
    dialog = preview.email_dialog
    assert (dialog.draft.start, dialog.draft.end) == (start, TODAY)
    assert dialog.attachment_label.text() == f"Statement {TODAY.isoformat()}.pdf"
    outbox_id = send(qtbot, dialog)
    (record,) = clinic.account_messages(ledger["ada"])
    assert record.id == outbox_id and record.kind == "statement"
    _name, pdf = attachment_of(message_of(clinic, outbox_id))
    text = pdf_text(pdf)
    assert "Statement" in text and "Ada Lovelace" in text
    assert text == pdf_text(preview.pdf_bytes())


def test_a_payers_statement_goes_to_the_payer(qtbot, clinic, ledger, window, formatter):
    preview = payer_statement_dialog(clinic, formatter, ledger["bupa"], window)
    qtbot.addWidget(preview)
    preview.whole_check.setChecked(True)
    preview.email()
    dialog = preview.email_dialog
    assert dialog.to_edit.text() == "claims@bupa.example"
    assert dialog.draft.start is None
    outbox_id = send(qtbot, dialog)
    message = message_of(clinic, outbox_id)
    assert message["To"] == "Bupa <claims@bupa.example>"
    assert "CLM-1" in pdf_text(attachment_of(message)[1])


def test_the_receipt_from_its_preview(qtbot, clinic, ledger, window):
    payment = clinic.record_payment(clinic.preview_payment(ledger["ada"], {"Cash": "40"}), "r1")
    preview = window.printing.print_receipt(payment)
    preview.email()
    outbox_id = send(qtbot, preview.email_dialog)
    message = message_of(clinic, outbox_id)
    assert message["Subject"] == f"Receipt {payment} from Harbour Physio"
    assert "$40.00" in pdf_text(attachment_of(message)[1])


def test_a_draft_invoice_and_a_role_that_may_not_email_are_offered_no_email(
    qtbot, clinic, ledger, team
):
    draft = clinic.create_invoice(ledger["ada"], [("Consult", "60", 1)], draft=True)
    main = MainWindow(clinic)
    qtbot.addWidget(main)
    main.select_patient(ledger["ada"])
    assert main.printing.print_invoice(draft).email_button is None
    practitioner = team["practitioner"]
    assert not practitioner.may(Permission.EMAIL)
    team["administrator"].assign_practitioner(ledger["ada"], practitioner.staff_member.username)
    theirs = MainWindow(practitioner)
    qtbot.addWidget(theirs)
    theirs.select_patient(ledger["ada"])
    select_invoice(theirs, ledger["invoice"])
    for preview in (theirs.printing.print_invoice(), theirs.printing.statement()):
        assert preview.html and preview.email_button is None
    desk = team["receptionist"]
    preview = payer_statement_dialog(desk, main.formatter, ledger["bupa"], main)
    qtbot.addWidget(preview)
    assert preview.email_button is not None and preview.email_button.isEnabled()


# -- Email receipt right after a payment ------------------------------------------------------


def pay(window: MainWindow, qtbot, with_modal, amount: str) -> None:
    def fill(dialog: QDialog) -> None:
        qtbot.keyClicks(dialog.source_edits["Cash"], amount)
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    with_modal(fill, what="the payment dialog")
    window.enter_payment()


def test_email_receipt_right_after_a_payment_and_the_messages_tab_lists_it(
    qtbot, clinic, ledger, window, with_modal, smtp_server
):
    window.tabs.setCurrentWidget(window.messages_tab)
    assert window.messages_tab.records() == []
    assert window.messages_tab.empty_label.text().startswith("No emails yet.")
    pay(window, qtbot, with_modal, "80")
    bar = window.receipt_bar
    assert bar.isVisible()
    assert bar.label.text() == "Payment of $80.00 from Ada Lovelace saved."
    assert window.focusWidget() is bar.email_button  # Enter opens the email
    qtbot.keyClick(bar.email_button, Qt.Key.Key_Space)
    dialog = bar.email_dialog
    assert dialog.subject_edit.text().startswith("Receipt ")
    outbox_id = send(qtbot, dialog)
    assert bar.label.text().startswith("Email to ada@example.org is in the outbox")
    payment_id = bar.payment_id
    message = message_of(clinic, outbox_id)
    name, pdf = attachment_of(message)
    assert name == f"Receipt {payment_id}.pdf"
    assert "Payment receipt" in pdf_text(pdf) and "Cash $80.00" in pdf_text(pdf)
    # The Messages tab lists it (queued), then as sent once the outbox has gone.
    assert window.tabs.currentWidget() is window.payment_view  # the payment just saved
    window.tabs.setCurrentWidget(window.messages_tab)
    (listed,) = window.messages_tab.records()
    assert listed.id == outbox_id
    model = window.messages_tab.model
    row = [model.data(model.index(0, column)) for column in range(model.columnCount())]
    assert row[1:4] == [
        "ada@example.org",
        f"Receipt {payment_id} from Harbour Physio",
        f"Receipt {payment_id}.pdf",
    ]
    # The window's outbox sender takes it at once, in the background.
    assert row[4] in ("Queued", "Sending") or row[4].startswith("Sent ")
    smtp_server.wait_for(1)

    def listed_as_sent() -> bool:
        window.select_patient(ledger["ada"])
        return str(model.data(model.index(0, 4))).startswith("Sent ")

    qtbot.waitUntil(listed_as_sent, timeout=10_000)
    # Another patient shown: the bar goes, and their (empty) history is listed.
    other = clinic.add_patient("Grace", "Hopper")
    window.patient_model.reload()
    window.select_patient(other)
    assert not bar.isVisible() and window.messages_tab.records() == []


def test_a_failed_message_shows_the_servers_reason(qtbot, clinic, ledger, window, smtp_server):
    smtp_server.refuse_rcpt = "550 5.1.1 Mailbox unavailable"
    draft = clinic.email_draft("invoice", invoice_id=ledger["invoice"])
    window.tabs.setCurrentWidget(window.messages_tab)
    dialog = EmailDialog(clinic, draft, lambda: b"%PDF-1.4\n%%EOF\n", window)
    qtbot.addWidget(dialog)
    dialog.show()
    send(qtbot, dialog)
    model = window.messages_tab.model
    assert model.rowCount() == 1  # listed at once
    # The window's outbox sender tries it in the background; the server refuses it.

    def listed_as_failed() -> bool:
        window.select_patient(ledger["ada"])
        return str(model.data(model.index(0, 4))).startswith("Failed: ")

    qtbot.waitUntil(listed_as_failed, timeout=10_000)
    assert "Mailbox unavailable" in model.data(model.index(0, 4))
    # The whole reason, however narrow the column, under the list for the message selected.
    window.messages_tab.view.setFocus()
    window.messages_tab.view.selectRow(0)
    detail = window.messages_tab.detail_label
    assert detail.isVisible() and "Mailbox unavailable" in detail.text()


def test_email_receipt_after_a_payers_remittance_goes_to_the_payer(
    qtbot, clinic, ledger, window, with_modal
):
    def fill(dialog: QDialog) -> None:
        qtbot.keyClicks(dialog.reference_edit, "REM-1")
        qtbot.keyClicks(dialog.source_edits["Bank transfer"], "80")
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    with_modal(fill, what="the remittance dialog")
    window.payer_actions.enter_remittance(ledger["bupa"])
    bar = window.receipt_bar
    assert bar.label.text() == "Payment of $80.00 from Bupa saved."
    dialog = bar.email_receipt()
    assert dialog.to_edit.text() == "claims@bupa.example"
    send(qtbot, dialog)
    (record,) = clinic.account_messages(ledger["bupa"])
    assert record.kind == "receipt" and record.recipient == "claims@bupa.example"
    # The bar of a remittance stays whoever is shown, until dismissed (Escape).
    qtbot.keyClick(bar.print_button, Qt.Key.Key_Escape)
    assert not bar.isVisible()
