"""Tools > Statement run… as the desk uses it: last month's list with its totals, Send with its
progress to done (the emails reach a real SMTP server on loopback), Cancel part way and Resume
from a window opened again, and the statements to post printed into one PDF."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from desktop_app.core import Clinic, OutboxStatus
from desktop_app.ui.dialogs import statement_run_dialog
from desktop_app.ui.dialogs.statement_run_dialog import StatementRunDialog, last_full_month
from desktop_app.ui.printing import pdf_bytes
from desktop_app.ui.printing.pdf_bytes import document_pdf
from tests.email.smtp_servers import SmtpServer
from tests.email.statement_ledger import END, START, build_ledger, configure


@pytest.fixture
def server(tmp_path: Path):
    with SmtpServer(folder=tmp_path) as running:
        yield running


def opened(qtbot, clinic: Clinic, formatter) -> StatementRunDialog:
    dialog = StatementRunDialog(clinic, formatter)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)
    return dialog


def test_the_menu_opens_last_months_list_with_its_totals(qtbot, window, clinic) -> None:
    build_ledger(clinic)
    assert window.statement_run_action.isEnabled()  # Tools > Statement run…
    dialog = window.open_statement_run()
    assert isinstance(dialog, StatementRunDialog)
    assert dialog.period == last_full_month() == (START, END)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)
    model = dialog.model
    names = [model.index(row, 0).data() for row in range(model.rowCount())]
    assert names == ["Babbage, Bea", "Bupa", "Clarke, Cy", "Lovelace, Ada"]
    assert [model.index(0, column).data() for column in range(6)] == [
        "Babbage, Bea",
        "Patient",
        "$50.00",
        "$0.00",
        "Post",
        "Not started",
    ]
    assert dialog.totals_label.text() == (
        "4 accounts: 3 to email, 1 to post. Owed $250.00, credit $30.00."
    )
    assert dialog.send_button.isEnabled() and not dialog.post_button.isEnabled()
    # Another period: nothing can be sent until it is listed.
    dialog.start_edit.setDate(dialog.start_edit.date().addMonths(-1))
    assert dialog.model.rowCount() == 0 and not dialog.send_button.isEnabled()
    dialog.preview_button.click()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)
    assert dialog.model.rowCount() == 4 and dialog.send_button.isEnabled()
    dialog.close()


def test_send_progresses_to_done_and_prints_the_rest_for_posting(
    qtbot, clinic, formatter, server: SmtpServer, tmp_path: Path
) -> None:
    build_ledger(clinic)
    configure(clinic, server)
    dialog = opened(qtbot, clinic, formatter)
    seen: list[int] = []
    dialog.progress_bar.valueChanged.connect(seen.append)
    assert dialog.send()
    assert dialog.close_button.text() == "Cancel" and not dialog.send_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)
    assert seen and max(seen) == dialog.progress_bar.maximum() == 7  # 4 statements, 3 emails
    assert dialog.status_label.text() == (
        "Done: 3 of 3 emails sent. 1 to post: Save PDF for posting prints them."
    )
    assert sorted(d.recipients[0] for d in server.wait_for(3)) == [
        "ada@example.org",
        "claims@bupa.example",
        "cy@example.org",
    ]
    statuses = [dialog.model.index(row, 5).data() for row in range(dialog.model.rowCount())]
    assert statuses == ["To post", "Sent", "Sent", "Sent"]
    assert "This period's run is done" in dialog.notice_label.text()
    assert not dialog.send_button.isEnabled() and dialog.post_button.isEnabled()
    target = tmp_path / "post.pdf"
    dialog.choose_path = lambda suggested: target  # the file dialog's answer
    dialog.post_button.click()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)
    assert dialog.saved_pdf == target
    pdf = pdfium.PdfDocument(str(target))
    try:
        text = " ".join(" ".join(p.get_textpage().get_text_range().split()) for p in pdf)
    finally:
        pdf.close()
    assert "Bea Babbage" in text and "$50.00" in text


def hold_a_statement(monkeypatch, number: int, until: threading.Event) -> list[int]:
    """Prepare one statement a step, each a real PDF; the ``number``-th waits until ``until``
    is set (a slow computer). Returns the list that counts the statements rendered."""
    monkeypatch.setattr(statement_run_dialog, "STEP", 1)
    rendered: list[int] = []

    def held(document, formatter):
        rendered.append(1)
        if len(rendered) == number:
            until.wait(10)
        return document_pdf(document, formatter)

    monkeypatch.setattr(pdf_bytes, "document_pdf", held)
    return rendered


def test_cancel_stops_part_way_and_resume_finishes_without_sending_anyone_twice(
    qtbot, clinic, formatter, server: SmtpServer, monkeypatch
) -> None:
    cancelled = threading.Event()
    rendered = hold_a_statement(monkeypatch, 4, until=cancelled)  # until Cancel is pressed
    day = END - timedelta(days=2)
    for n in range(20):
        pid = clinic.add_patient(f"Pat{n:02}", "Owing", email=f"pat{n}@example.org")
        clinic.create_invoice(pid, [("Consultation", "10", 1)], issue_date=day)
    configure(clinic, server)
    dialog = opened(qtbot, clinic, formatter)
    assert dialog.send()
    qtbot.waitUntil(lambda: dialog.progress_bar.value() == 3, timeout=30_000)
    qtbot.waitUntil(lambda: len(rendered) == 4, timeout=10_000)  # the fourth is under way
    dialog.close_button.click()  # Cancel
    cancelled.set()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)
    run = dialog.run
    assert run is not None and not run.finished and run.done == 4
    assert dialog.status_label.text().startswith("Stopped after 4 of 20")
    assert server.messages == []  # Cancel stopped it before sending
    dialog.close()
    again = opened(qtbot, clinic, formatter)
    assert again.notice_label.text().startswith("A run for this period stopped after 4 of 20.")
    assert again.send_button.text() == "&Resume" and again.send_button.isEnabled()
    again.send_button.click()
    qtbot.waitUntil(lambda: not again.busy, timeout=60_000)
    assert again.run is not None and again.run.finished and again.run.sent == 20
    recipients = [d.recipients[0] for d in server.wait_for(20)]
    assert sorted(recipients) == sorted(f"pat{n}@example.org" for n in range(20))
    assert len({d.message["Message-ID"] for d in server.messages}) == 20
    assert not again.send_button.isEnabled()


def test_a_refusal_is_shown_and_nothing_is_started(qtbot, clinic, formatter) -> None:
    build_ledger(clinic)  # email is not set up
    dialog = opened(qtbot, clinic, formatter)
    assert dialog.send()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)
    assert "Email is not set up" in dialog.status_label.text()
    assert clinic.statement_runs() == [] and dialog.send_button.isEnabled()


def test_closing_the_window_mid_send_never_waits_for_a_silent_server(
    qtbot, clinic, formatter, silent_server, jobs_ended
) -> None:
    build_ledger(clinic)
    configure(clinic, silent_server, timeout=20)
    dialog = StatementRunDialog(clinic, formatter)
    dialog.show()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)
    assert dialog.send()
    qtbot.waitUntil(lambda: dialog.progress_bar.value() == 4, timeout=30_000)  # all prepared
    qtbot.wait(300)  # the first email waits for the server's greeting
    assert dialog.busy
    started = time.monotonic()
    dialog.close()
    assert time.monotonic() - started < 2  # not the server's 20 seconds
    dialog.deleteLater()  # the window is gone before the send ends
    qtbot.wait(50)
    silent_server.stop()  # the server hangs up: the send stops, in the background
    jobs_ended()  # its outcome touched nothing (a deleted window would raise here)
    # Nothing was lost: every statement is prepared and its email waits in the outbox, failed
    # with the server's reason and tried again later (none was sent).
    again = opened(qtbot, clinic, formatter)
    assert again.run is not None and again.run.done == 4 and again.run.sent == 0
    assert "3 wait in the outbox" in again.status_label.text()
    emails = clinic.outbox()
    assert len(emails) == 3 and all(email.status is OutboxStatus.FAILED for email in emails)
    assert all("closed the connection" in (email.last_error or "") for email in emails)


def test_closing_the_window_mid_preparation_leaves_the_run_to_resume(
    qtbot, clinic, formatter, server: SmtpServer, monkeypatch, jobs_ended
) -> None:
    closed = threading.Event()
    rendered = hold_a_statement(monkeypatch, 2, until=closed)  # until the window has closed
    build_ledger(clinic)
    configure(clinic, server)
    dialog = StatementRunDialog(clinic, formatter)
    dialog.show()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)
    assert dialog.send()
    qtbot.waitUntil(lambda: len(rendered) == 2, timeout=10_000)
    started = time.monotonic()
    dialog.close()
    assert time.monotonic() - started < 2  # the statement being prepared is not waited for
    dialog.deleteLater()
    qtbot.wait(50)
    closed.set()
    jobs_ended()
    # The run stopped after the statement being prepared; it resumes from there.
    again = opened(qtbot, clinic, formatter)
    assert again.run is not None and not again.run.finished and again.run.done < 4
    assert server.messages == []
    assert again.send_button.text() == "&Resume"
    again.send_button.click()
    qtbot.waitUntil(lambda: not again.busy, timeout=30_000)
    recipients = sorted(d.recipients[0] for d in server.wait_for(3))
    assert recipients == ["ada@example.org", "claims@bupa.example", "cy@example.org"]
