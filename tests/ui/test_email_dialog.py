"""The email window: what is filled in, what Send queues, what a refusal looks like, and what
staff see when email is not set up. The queued message is read back from the outbox as the
server would get it."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage

import pytest
from PySide6.QtCore import Qt

from desktop_app.core import OutboxStatus
from desktop_app.ui.dialogs import email_dialog
from desktop_app.ui.dialogs.email_dialog import EmailDialog
from tests.ui.test_mnemonics import collisions

#: The smallest file the core takes as a PDF (the window tests of previews attach real ones).
PDF = b"%PDF-1.4\n%%EOF\n"


def set_up_email(clinic) -> None:
    clinic.update_settings(clinic_name="Harbour Physio")
    clinic.set_email_settings(
        host="127.0.0.1", port=2525, security="none", sender="Harbour Physio <desk@example.org>"
    )


def parsed(clinic, outbox_id: int) -> EmailMessage:
    data = clinic.email.message_bytes(outbox_id)
    return email.message_from_bytes(data, policy=policy.default)  # type: ignore[return-value]


@pytest.fixture
def invoice(clinic):
    set_up_email(clinic)
    ada = clinic.add_patient("Ada", "Lovelace", email="ada@example.org")
    return clinic.create_invoice(ada, [("Initial consultation", "95", 1)])


def open_dialog(qtbot, clinic, draft, pdf=lambda: PDF, **kwargs) -> EmailDialog:
    dialog = EmailDialog(clinic, draft, pdf, None, **kwargs)
    qtbot.addWidget(dialog)
    with qtbot.waitActive(dialog):
        dialog.show()
        dialog.activateWindow()
    return dialog


def test_the_window_is_filled_from_the_invoice_template(qtbot, clinic, invoice):
    number = clinic.invoice(invoice).number
    dialog = open_dialog(qtbot, clinic, clinic.email_draft("invoice", invoice_id=invoice))
    assert dialog.to_edit.text() == "ada@example.org"
    assert dialog.subject_edit.text() == f"Invoice {number} from Harbour Physio"
    assert "Dear Ada," in dialog.body_edit.toPlainText()
    assert dialog.attachment_label.text() == f"Invoice {number}.pdf"
    assert dialog.no_address_label.isHidden()
    assert collisions(dialog) == {}


def test_send_queues_what_staff_changed_and_tells_the_sender(qtbot, clinic, invoice):
    heard: list[int] = []
    hooked: list[int] = []
    remove = email_dialog.add_after_queue_hook(hooked.append)
    try:
        dialog = open_dialog(
            qtbot,
            clinic,
            clinic.email_draft("invoice", invoice_id=invoice),
            after_queue=heard.append,
        )
        dialog.subject_edit.setText("Your invoice, as promised")
        dialog.body_edit.setPlainText("Dear Ada,\n\nHere it is.\n")
        with qtbot.waitSignal(dialog.queued) as signal:
            qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)
    finally:
        remove()
    outbox_id = signal.args[0]
    assert heard == [outbox_id] and hooked == [outbox_id]
    assert not dialog.isVisible()
    (record,) = clinic.outbox()
    assert record.id == outbox_id and record.status is OutboxStatus.QUEUED
    message = parsed(clinic, outbox_id)
    assert message["To"] == "Ada Lovelace <ada@example.org>"
    assert message["Subject"] == "Your invoice, as promised"
    assert "Here it is." in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    (attachment,) = message.iter_attachments()
    assert attachment.get_content() == PDF


def test_no_address_kept_says_so_and_the_typed_one_is_used(qtbot, clinic):
    set_up_email(clinic)
    grace = clinic.add_patient("Grace", "Hopper")
    invoice = clinic.create_invoice(grace, [("Initial consultation", "95", 1)])
    dialog = open_dialog(qtbot, clinic, clinic.email_draft("invoice", invoice_id=invoice))
    assert dialog.no_address_label.isVisible()
    assert "No email address is kept for Grace Hopper" in dialog.no_address_label.text()
    assert dialog.focusWidget() is dialog.to_edit
    assert not dialog.send()
    assert dialog.problems["to"].isVisible() and clinic.outbox() == []
    qtbot.keyClicks(dialog.to_edit, "grace@example.org")
    qtbot.keyClick(dialog.body_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    (record,) = clinic.outbox()
    assert record.recipient == "grace@example.org"


def test_a_bad_address_is_refused_at_its_field_and_nothing_is_queued(qtbot, clinic, invoice):
    dialog = open_dialog(qtbot, clinic, clinic.email_draft("invoice", invoice_id=invoice))
    dialog.to_edit.setText("ada at example")
    assert not dialog.send()
    assert dialog.problems["to"].isVisible()
    assert "ada at example" in dialog.problems["to"].text()
    assert dialog.isVisible() and clinic.outbox() == []


def test_a_line_break_cannot_add_a_header(qtbot, clinic, invoice):
    """A subject or address pasted with a line break and a header after it is refused at its
    field: no Bcc reaches the outbox."""
    dialog = open_dialog(qtbot, clinic, clinic.email_draft("invoice", invoice_id=invoice))
    dialog.subject_edit.setText("Invoice\r\nBcc: everyone@example.org")
    assert not dialog.send()
    assert dialog.problems["subject"].isVisible() and "line" in dialog.problems["subject"].text()
    dialog.subject_edit.setText("Invoice")
    dialog.to_edit.setText("ada@example.org\r\nBcc: everyone@example.org")
    assert not dialog.send()
    assert dialog.problems["to"].isVisible() and not dialog.problems["subject"].isVisible()
    assert clinic.outbox() == []


def test_a_document_without_its_pdf_is_refused_at_the_attachment(qtbot, clinic, invoice):
    dialog = open_dialog(
        qtbot, clinic, clinic.email_draft("invoice", invoice_id=invoice), pdf=lambda: b"not a pdf"
    )
    assert not dialog.send()
    assert dialog.problems["attachment"].isVisible()
    assert clinic.outbox() == []


def test_a_credit_note_goes_without_an_attachment(qtbot, clinic):
    set_up_email(clinic)
    ada = clinic.add_patient("Ada", "Lovelace", email="ada@example.org")
    clinic.record_payment(clinic.preview_payment(ada, {"Cash": "40"}), "pre")
    dialog = open_dialog(qtbot, clinic, clinic.email_draft("credit", account_id=ada), pdf=None)
    assert dialog.attachment_label.text() == "Nothing attached"
    assert dialog.send()
    assert list(parsed(clinic, dialog.outbox_id).iter_attachments()) == []


def test_without_email_set_up_the_window_says_where_and_offers_nothing(qtbot, clinic, team):
    ada = clinic.add_patient("Ada", "Lovelace", email="ada@example.org")
    invoice = clinic.create_invoice(ada, [("Initial consultation", "95", 1)])
    for role, where in (("administrator", "Enter the"), ("receptionist", "Ask an administrator")):
        staff = team[role]
        dialog = open_dialog(qtbot, staff, staff.email_draft("invoice", invoice_id=invoice))
        assert dialog.send_button is None and not hasattr(dialog, "to_edit")
        assert dialog.not_set_up_label.isVisible()
        assert where in dialog.not_set_up_label.text()
        assert "Settings > Email" in dialog.not_set_up_label.text()
        assert not dialog.send()
        dialog.close()
    assert clinic.outbox() == []


def test_a_stored_name_with_a_line_break_adds_no_header(qtbot, clinic, smtp_server):
    """A name as an old import might have left it: the window shows it on one line, and the
    message the server gets has no header the name tried to add."""
    from sqlalchemy import text

    clinic.update_settings(clinic_name="Harbour Physio")
    clinic.set_email_settings(
        host=smtp_server.host, port=smtp_server.port, security="none", sender="desk@example.org"
    )
    ada = clinic.add_patient("Ada", "Lovelace", email="ada@example.org")
    invoice = clinic.create_invoice(ada, [("Initial consultation", "95", 1)])
    with clinic.engine.begin() as conn:
        conn.execute(
            text("UPDATE patients SET first_name = :name WHERE id = :id"),
            {"name": "Ada\r\nBcc: thief@evil.example", "id": ada},
        )
    dialog = open_dialog(qtbot, clinic, clinic.email_draft("invoice", invoice_id=invoice))
    assert "\n" not in dialog.recipient_label.text()
    assert dialog.send()
    clinic.send_outbox()
    (delivery,) = smtp_server.wait_for(1)
    assert delivery.recipients == ["ada@example.org"]
    assert delivery.message["Bcc"] is None and "\n" not in delivery.message["To"]
