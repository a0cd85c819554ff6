"""The overdue reminders window: the list ticked where an address is kept, Send N reminders
with each invoice's real PDF, what was queued and skipped, and what it says while reminders are
off."""

from __future__ import annotations

from datetime import date, timedelta

import pypdfium2 as pdfium
import pytest
from PySide6.QtCore import Qt

from desktop_app.core import Clinic, OutboxStatus
from desktop_app.ui.dialogs.reminders_dialog import NO_EMAIL, RemindersDialog

TODAY = date.today()


def set_up(clinic: Clinic, after_days: int = 7) -> None:
    clinic.update_settings(clinic_name="Harbour Physio")
    clinic.set_email_settings(
        host="127.0.0.1", port=2525, security="none", sender="Harbour Physio <desk@example.org>"
    )
    clinic.set_reminder_settings(after_days=after_days, interval_days=14)


def overdue(clinic: Clinic, pid: int, days: int, amount: str = "80") -> int:
    due = TODAY - timedelta(days=days)
    return clinic.create_invoice(
        pid, [("Consultation", amount, 1)], issue_date=due - timedelta(days=14), due_date=due
    )


def open_window(qtbot, clinic, formatter, **kwargs) -> RemindersDialog:
    dialog = RemindersDialog(clinic, formatter, **kwargs)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: not dialog.loading)
    return dialog


@pytest.fixture
def invoices(clinic) -> dict[str, int]:
    set_up(clinic)
    ada = clinic.add_patient("Ada", "Lovelace", email="ada@example.org")
    bob = clinic.add_patient("Bob", "Nomail")
    cy = clinic.add_patient("Cy", "Clarke", email="cy@example.org")
    return {
        "ada": overdue(clinic, ada, 30, "120"),
        "bob": overdue(clinic, bob, 20),
        "cy": overdue(clinic, cy, 10, "45.50"),
    }


def test_the_list_is_ticked_where_an_address_is_kept(qtbot, clinic, formatter, invoices):
    dialog = open_window(qtbot, clinic, formatter)
    model = dialog.model
    assert [model.candidate(r).invoice_id for r in range(model.rowCount())] == [
        invoices["ada"],
        invoices["bob"],
        invoices["cy"],
    ]
    assert [model.index(r, 2).data() for r in range(3)] == [
        "ada@example.org",
        NO_EMAIL,
        "cy@example.org",
    ]
    assert model.index(0, 4).data() == "30" and model.index(0, 5).data() == "$120.00"
    assert model.index(0, 6).data() == "Never"
    checks = [model.index(r, 0).data(Qt.ItemDataRole.CheckStateRole) for r in range(3)]
    assert checks == [Qt.CheckState.Checked, Qt.CheckState.Unchecked, Qt.CheckState.Checked]
    assert not model.flags(model.index(1, 0)) & Qt.ItemFlag.ItemIsEnabled  # greyed
    assert model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsUserCheckable
    assert dialog.send_button.text() == "&Send 2 reminders"
    assert "1 without an email address kept" in dialog.message_label.text()
    dialog.none_button.click()
    assert dialog.send_button.text() == "&Send 0 reminders" and not dialog.send_button.isEnabled()
    dialog.all_button.click()
    assert model.ticked == [invoices["ada"], invoices["cy"]]  # Bob's cannot be ticked
    model.setData(model.index(2, 0), Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert dialog.send_button.text() == "&Send 1 reminder"


def test_send_queues_the_ticked_reminders_with_their_pdfs(qtbot, clinic, formatter, invoices):
    nudged: list[bool] = []
    dialog = open_window(qtbot, clinic, formatter, nudge=lambda: nudged.append(True))
    assert dialog.send()
    qtbot.waitUntil(lambda: not dialog.sending and not dialog.loading, timeout=20_000)
    assert [q.invoice_id for q in dialog.queued] == [invoices["ada"], invoices["cy"]]
    assert nudged  # the background sender was told
    text = dialog.message_label.text()
    assert text.startswith("2 reminders queued; they are sent in the background")
    records = {r.invoice_id: r for r in clinic.outbox()}
    assert set(records) == {invoices["ada"], invoices["cy"]}
    assert {r.status for r in records.values()} == {OutboxStatus.QUEUED}
    data = clinic.email.message_bytes(records[invoices["ada"]].id)
    import email
    from email import policy

    message = email.message_from_bytes(data, policy=policy.default)
    (attachment,) = list(message.iter_attachments())  # type: ignore[attr-defined]
    pdf = pdfium.PdfDocument(attachment.get_content())
    try:
        page = " ".join(pdf[0].get_textpage().get_text_range().split())
    finally:
        pdf.close()
    assert str(clinic.invoice(invoices["ada"]).number) in page and "$120.00" in page
    # The list is read again: only Bob's invoice (no address) is left.
    assert [dialog.model.candidate(r).invoice_id for r in range(dialog.model.rowCount())] == [
        invoices["bob"]
    ]


def test_what_was_skipped_is_said_with_its_reason(qtbot, clinic, formatter, invoices):
    dialog = open_window(qtbot, clinic, formatter)
    # Another desk reminds Ada meanwhile.
    clinic.send_reminders([invoices["ada"]], lambda document: b"%PDF-1.4\n")
    assert dialog.send()
    qtbot.waitUntil(lambda: not dialog.sending and not dialog.loading, timeout=20_000)
    assert [q.invoice_id for q in dialog.queued] == [invoices["cy"]]
    number = clinic.invoice(invoices["ada"]).number
    text = dialog.message_label.text()
    assert "1 reminder queued; it is sent in the background" in text
    assert f"Invoice #{number} (Ada Lovelace): it was reminded on " in text


def test_it_says_when_reminders_are_off_and_where_to_turn_them_on(qtbot, clinic, formatter):
    set_up(clinic, after_days=0)
    dialog = open_window(qtbot, clinic, formatter)
    assert dialog.intro_label.text().startswith("Overdue reminders are off.")
    assert "Settings > Email" in dialog.intro_label.text()
    assert not dialog.send_button.isVisibleTo(dialog) and not dialog.view.isVisibleTo(dialog)


def test_the_menu_opens_it_and_sends_through_the_background_sender(qtbot, window, invoices):
    actions = window.outbox_actions
    assert actions.reminders_action.isEnabled()
    actions.reminders_action.trigger()
    dialog = actions.reminders_window
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    qtbot.waitUntil(lambda: not dialog.loading)
    assert dialog.model.rowCount() == 3
    dialog.close()
