"""Tools > Statement run… as the desk uses it: last month's list with its totals, Send with its
progress to done (the emails reach a real SMTP server on loopback), Cancel part way and Resume
from a window opened again, and the statements to post printed into one PDF."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from desktop_app.core import Clinic
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


def test_cancel_stops_part_way_and_resume_finishes_without_sending_anyone_twice(
    qtbot, clinic, formatter, server: SmtpServer, monkeypatch
) -> None:
    monkeypatch.setattr(statement_run_dialog, "STEP", 1)
    cancelled = threading.Event()
    rendered: list[int] = []

    def held_after_three(document, formatter):
        """The real PDF; the fourth waits until Cancel is pressed (a slow computer)."""
        rendered.append(1)
        if len(rendered) == 4:
            cancelled.wait(10)
        return document_pdf(document, formatter)

    monkeypatch.setattr(pdf_bytes, "document_pdf", held_after_three)
    day = END - timedelta(days=2)
    for n in range(20):
        pid = clinic.add_patient(f"Pat{n:02}", "Owing", email=f"pat{n}@example.org")
        clinic.create_invoice(pid, [("Consultation", "10", 1)], issue_date=day)
    configure(clinic, server)
    dialog = opened(qtbot, clinic, formatter)
    assert dialog.send()
    qtbot.waitUntil(lambda: dialog.progress_bar.value() == 3, timeout=30_000)
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
