"""The outbox in the windows, against real SMTP servers on loopback: the Outbox window's list,
filters and the server's reasons; Retry (delivered exactly once) and an unconfirmed message
never sent again by itself; the background sender that never holds up the desk; and the status
bar's summary."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox

from desktop_app.core import Clinic, OutboxStatus
from desktop_app.ui.dialogs.outbox_dialog import FAILED, SENT, UNCONFIRMED, WAITING, OutboxDialog
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.outbox_sender import OutboxSender, tally_text
from tests.email.smtp_servers import ClosedPort, SilentServer, SmtpServer

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., SmtpServer]]:
    """Starts loopback SMTP servers (:class:`SmtpServer`'s options); all stopped at the end."""
    made: list[SmtpServer] = []

    def make(**options: object) -> SmtpServer:
        server = SmtpServer(folder=tmp_path, **options)  # type: ignore[arg-type]
        made.append(server)
        return server.start()

    yield make
    for server in made:
        server.stop()


@pytest.fixture
def closed_port() -> Iterator[int]:
    with ClosedPort() as port:
        yield port.port


def configure(clinic: Clinic, port: int, timeout: int = 5) -> None:
    clinic.set_email_settings(
        host="127.0.0.1",
        port=port,
        security="none",
        sender="Harbour Physio <desk@harbour.example>",
        timeout=timeout,
    )


def queue_invoice(clinic: Clinic, name: str = "Ada") -> int:
    pid = clinic.add_patient(name, "Lovelace", email=f"{name.lower()}@example.org")
    invoice = clinic.create_invoice(pid, [("Consultation", "80", 1)])
    return clinic.queue_email(clinic.email_draft("invoice", invoice_id=invoice), PDF)


def outbox_window(qtbot, clinic: Clinic, formatter, sender: OutboxSender | None = None):
    dialog = OutboxDialog(clinic, formatter, sender)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def rows(dialog: OutboxDialog) -> list[list[str]]:
    model = dialog.model
    return [
        [str(model.index(r, c).data()) for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def senders_alive() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "outbox-sender" and t.is_alive()]


def test_the_outbox_lists_each_status_and_the_servers_reason(qtbot, clinic, formatter, make_server):
    refusing = make_server(refuse_rcpt="550 5.1.1 No such mailbox here")
    configure(clinic, refusing.port)
    queue_invoice(clinic, "Ada")
    assert clinic.send_outbox().failed == 1
    accepting = make_server()
    configure(clinic, accepting.port)
    queue_invoice(clinic, "Bea")
    assert clinic.send_outbox().sent == 1
    queue_invoice(clinic, "Cy")  # waits for the next pass
    dialog = outbox_window(qtbot, clinic, formatter)
    listed = rows(dialog)
    assert [row[2] for row in listed] == ["cy@example.org", "bea@example.org", "ada@example.org"]
    assert [row[4] for row in listed] == ["Queued", "Sent", "Failed"]
    assert listed[2][1] == "Invoice" and listed[2][5] == "1"
    assert "550" in listed[2][7] and "No such mailbox here" in listed[2][7]
    assert "not tried again" in listed[2][7]  # a permanent refusal waits for staff
    for choice, expected in (
        (FAILED, ["ada@example.org"]),
        (SENT, ["bea@example.org"]),
        (WAITING, ["cy@example.org"]),
        (UNCONFIRMED, []),
    ):
        dialog.set_choice(choice)
        assert [row[2] for row in rows(dialog)] == expected, choice
    assert dialog.tally_label.text() == "Outbox: 1 waiting · 1 failed"
    dialog.close()
    qtbot.waitUntil(lambda: not senders_alive())


def test_retry_sends_a_failed_message_once(qtbot, clinic, formatter, make_server):
    server = make_server(refuse_rcpt="550 5.1.1 No such mailbox here")
    configure(clinic, server.port)
    outbox_id = queue_invoice(clinic)
    clinic.send_outbox()
    dialog = outbox_window(qtbot, clinic, formatter)
    dialog.set_choice(FAILED)
    assert dialog.select(outbox_id)
    assert dialog.retry_button.isEnabled() and dialog.cancel_button.isEnabled()
    server.refuse_rcpt = None  # the mailbox now exists
    assert dialog.retry()  # a failed message is queued again without a question
    qtbot.waitUntil(lambda: dialog.outbox_sender.passes >= 1 and not dialog.outbox_sender.busy)
    (record,) = clinic.outbox()
    assert (
        record.status is OutboxStatus.SENT and record.attempts == 1
    )  # counted again from the retry
    assert "1 sent" in dialog.message_label.text()
    # Later passes send nothing more: the same Message-ID reached the server once.
    assert dialog.send_now()
    qtbot.waitUntil(lambda: dialog.outbox_sender.passes >= 2 and not dialog.outbox_sender.busy)
    received = [d.message["Message-ID"] for d in server.messages]
    assert received == [record.message_id]
    dialog.set_choice(SENT)
    assert [row[4] for row in rows(dialog)] == ["Sent"]


def test_an_unconfirmed_message_is_not_sent_again_by_later_passes(
    qtbot, clinic, formatter, make_server, answer
):
    server = make_server(data_reply_delay=2.5)
    configure(clinic, server.port, timeout=1)
    outbox_id = queue_invoice(clinic)
    assert clinic.send_outbox().unconfirmed == 1
    server.wait_for(1)
    server.data_reply_delay = 0
    sender = OutboxSender(clinic)
    dialog = outbox_window(qtbot, clinic, formatter, sender)
    for _ in range(2):
        assert sender.nudge()
        qtbot.waitUntil(lambda: not sender.busy)
    assert len(server.messages) == 1
    dialog.set_choice(UNCONFIRMED)
    (row,) = rows(dialog)
    assert row[4] == "Unconfirmed" and "may have been delivered" in row[7]
    assert dialog.select(outbox_id) and dialog.retry_button.isEnabled()
    assert not dialog.cancel_button.isEnabled()
    # Retry asks first; No leaves it as it is.
    texts = answer(lambda box: box.button(QMessageBox.StandardButton.No).click())
    assert not dialog.retry()
    assert "It may have been delivered already; send it again?" in texts[0]
    assert clinic.outbox()[0].status is OutboxStatus.UNCONFIRMED
    answer(lambda box: box.button(QMessageBox.StandardButton.Yes).click())
    assert dialog.retry()
    qtbot.waitUntil(lambda: clinic.outbox()[0].status is OutboxStatus.SENT)
    assert len(server.wait_for(2)) == 2  # sent again because staff chose to
    sender.stop(wait=None)


def test_cancel_takes_a_queued_message_out(qtbot, clinic, formatter, closed_port):
    configure(clinic, closed_port)
    outbox_id = queue_invoice(clinic)
    dialog = outbox_window(qtbot, clinic, formatter, OutboxSender(clinic))
    assert dialog.select(outbox_id) and not dialog.retry_button.isEnabled()
    assert dialog.cancel_email()
    assert clinic.outbox()[0].status is OutboxStatus.CANCELLED
    assert dialog.select(outbox_id) and dialog.retry_button.isEnabled()
    assert rows(dialog)[0][4] == "Cancelled"
    dialog.outbox_sender.stop(wait=None)


def test_the_background_sender_never_holds_up_the_desk(qtbot, clinic, make_server):
    server = make_server(data_reply_delay=1.0)  # a slow server
    configure(clinic, server.port)
    queue_invoice(clinic)
    sender = OutboxSender(clinic)
    started = time.monotonic()
    assert sender.nudge()
    assert time.monotonic() - started < 0.5  # the pass runs on its own thread
    ticks: list[float] = []
    timer = QTimer(interval=20)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    assert not sender.nudge()  # a pass runs: one more is lined up after it
    qtbot.waitUntil(lambda: sender.passes == 2 and not sender.busy, timeout=10_000)
    timer.stop()
    assert len(ticks) >= 20  # the event loop kept turning during the slow pass
    assert clinic.outbox()[0].status is OutboxStatus.SENT and len(server.messages) == 1
    assert sender.tally is not None and tally_text(sender.tally) == ""
    assert sender.stop() and not senders_alive()


def test_a_dead_server_leaves_the_message_failed_with_its_reason(qtbot, clinic, closed_port):
    configure(clinic, closed_port)
    queue_invoice(clinic)
    sender = OutboxSender(clinic)
    sender.nudge()
    qtbot.waitUntil(lambda: sender.passes == 1)
    (record,) = clinic.outbox()
    assert record.status is OutboxStatus.FAILED and record.retried_automatically
    assert "refused" in (record.last_error or "").lower()
    assert tally_text(sender.tally) == "Outbox: 1 waiting"  # tried again by itself later
    assert sender.last is not None and sender.last.connection_error  # type: ignore[union-attr]
    sender.stop()


def test_a_silent_server_keeps_the_window_responsive(qtbot, window, closed_port):
    clinic = window.clinic
    with SilentServer() as silent:
        configure(clinic, silent.port, timeout=2)
        queue_invoice(clinic)
        sender = window.outbox_actions.outbox_sender
        assert sender is not None
        qtbot.waitUntil(lambda: not sender.busy)  # the pass at opening, before the message
        started = time.monotonic()
        sender.nudge()
        window.search_edit.setText("Lov")  # the desk goes on typing
        qtbot.waitUntil(lambda: window.patient_model.rowCount() == 1, timeout=1000)
        assert time.monotonic() - started < 1.5 and sender.busy
        qtbot.waitUntil(lambda: not sender.busy, timeout=10_000)
    (record,) = clinic.outbox()
    assert record.status is OutboxStatus.FAILED and record.last_error
    assert window.outbox_actions.status_button.text() == "Outbox: 1 waiting"


def test_closing_the_app_mid_send_never_waits_for_a_silent_server(qtbot, clinic, silent_server):
    main = MainWindow(clinic)
    main.show()
    sender = main.outbox_actions.outbox_sender
    assert sender is not None
    qtbot.waitUntil(lambda: not sender.busy)  # the pass at opening, before the message
    configure(clinic, silent_server.port, timeout=20)
    queue_invoice(clinic)
    assert sender.nudge()
    qtbot.wait(300)  # the message waits for the server's greeting
    (worker,) = senders_alive()
    started = time.monotonic()
    main.close()
    assert time.monotonic() - started < 2  # not the server's 20 seconds
    assert worker.daemon  # a pass still running never holds up the app's exit
    main.deleteLater()  # the window and its sender are gone before the pass ends
    qtbot.wait(50)
    silent_server.stop()  # the server hangs up: the pass ends, in the background
    qtbot.waitUntil(lambda: not senders_alive(), timeout=10_000)
    qtbot.wait(100)  # its outcome reached nobody (a deleted sender would raise here)
    (record,) = clinic.outbox()
    assert record.status is OutboxStatus.FAILED  # tried again when the app opens next


def test_the_status_bar_says_what_failed_and_opens_the_outbox(qtbot, window, make_server):
    server = make_server(refuse_rcpt="550 5.1.1 No such mailbox here")
    configure(window.clinic, server.port)
    actions = window.outbox_actions
    assert not actions.status_button.isVisible()  # nothing waits
    queue_invoice(window.clinic)
    actions.nudge()
    qtbot.waitUntil(lambda: actions.status_button.text() == "Outbox: 1 failed")
    assert actions.status_button.isVisible()
    actions.status_button.click()
    dialog = actions.outbox_window
    assert (
        dialog is not None and dialog.isVisible() and dialog.outbox_sender is actions.outbox_sender
    )
    assert [row[4] for row in rows(dialog)] == ["Failed"]
    window.close()
    assert not senders_alive()


def test_the_email_window_tells_the_sender(qtbot, window, make_server):
    from desktop_app.ui.dialogs.email_dialog import EmailDialog

    server = make_server()
    clinic = window.clinic
    configure(clinic, server.port)
    pid = clinic.add_patient("Ada", "Lovelace", email="ada@example.org")
    invoice = clinic.create_invoice(pid, [("Consultation", "80", 1)])
    sender = window.outbox_actions.outbox_sender
    assert sender is not None
    qtbot.waitUntil(lambda: not sender.busy)
    dialog = EmailDialog(clinic, clinic.email_draft("invoice", invoice_id=invoice), lambda: PDF)
    qtbot.addWidget(dialog)
    assert dialog.send()
    server.wait_for(1)
    qtbot.waitUntil(lambda: clinic.outbox()[0].status is OutboxStatus.SENT)


def test_no_sender_for_a_role_that_does_not_email(qtbot, clinic, quick_hashes):
    from tests.helpers import staff_team

    team = staff_team(clinic, ["administrator", "practitioner"])
    main = MainWindow(team["practitioner"])
    qtbot.addWidget(main)
    actions = main.outbox_actions
    assert actions.outbox_sender is None and not actions.outbox_action.isEnabled()
    assert not actions.reminders_action.isEnabled() and not actions.alerts_action.isEnabled()
