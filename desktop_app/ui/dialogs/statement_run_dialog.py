"""Tools > Statement run…: one period's statements to everyone owing money or holding credit.

Choose the period (last full month to begin with) and the window lists every account, patients
and payers, with what it owed and the credit it held at the period's end, where its statement
goes (its email address, or the post), and the totals. **Send statements** starts the run on a
worker thread: each statement is rendered to PDF and its email queued, a few at a time, with a
progress bar; then the window asks the outbox to send the run's emails at once (the outbox's
own background sending would get to them too, later). **Cancel** stops between two steps:
nothing is lost, and the run resumes where it stopped (opening the window for that period says
so) without sending anyone's statement twice. Closing the window does the same without waiting:
the step under way (or the email being handed to a slow server) ends in the background. When
the run is done, **Save PDF for posting…** prints the statements of accounts without an address
into one PDF.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QStandardPaths
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDateEdit,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BillingError, OutboxStatus, StatementItemState
from desktop_app.ui.background import BackgroundRunner, Job
from desktop_app.ui.formatting import Formatter
from desktop_app.ui.forms import pydate, qdate, set_date_format
from desktop_app.ui.models.records import Column, RecordTableModel
from desktop_app.ui.style import DONE_TONE, HINT_TONE, PROBLEM_TONE, WARNING_TONE, set_tone
from desktop_app.ui.widgets.record_table import record_table

if TYPE_CHECKING:
    from desktop_app.core import (
        Clinic,
        StatementRunItemRecord,
        StatementRunPreview,
        StatementRunRecord,
    )

TITLE = "Statement run"
#: Statements one step renders and queues (Cancel takes effect between two steps).
STEP = 10
NAME_FILTERS = ["PDF files (*.pdf)", "All files (*)"]


def last_full_month(today: date | None = None) -> tuple[date, date]:
    """The month before ``today``'s: its first and last day."""
    end = (today or date.today()).replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def _documents() -> Path:
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(documents) if documents and Path(documents).is_dir() else Path.home()


def item_status(item: StatementRunItemRecord) -> str:
    """Where one account's statement is, in the desk's words."""
    if item.state == StatementItemState.PENDING:
        return "Waiting"
    if item.state == StatementItemState.POST:
        return "To post"
    status = item.outbox_status
    if status == OutboxStatus.SENT:
        return "Sent"
    if status in (OutboxStatus.QUEUED, OutboxStatus.SENDING, None):
        return "In the outbox"
    if status == OutboxStatus.CANCELLED:
        return "Cancelled"
    reason = f": {item.error}" if item.error else ""
    return ("Failed" if status == OutboxStatus.FAILED else "Not confirmed") + reason


@dataclass(frozen=True)
class _Shown:
    """What the window shows for the period: its run (None: not started) and the rows."""

    run: StatementRunRecord | None
    preview: StatementRunPreview | None
    items: tuple[StatementRunItemRecord, ...] = ()


@dataclass(frozen=True)
class _Stopped:
    """How a send ended: finished, or stopped by Cancel (the run resumes later)."""

    run: StatementRunRecord
    cancelled: bool
    connection_error: str | None = None


class StatementRunDialog(QDialog):
    """Preview, send (with progress and Cancel), resume, and print the statements to post."""

    def __init__(self, clinic: Clinic, formatter: Formatter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.clinic = clinic
        self.formatter = formatter
        self._runner = BackgroundRunner(self)
        self._shown: _Shown | None = None
        #: Statements and emails the send under way covers (for its progress line).
        self._statements = self._emails = 0
        #: Where the last posting PDF was saved (None: not yet).
        self.saved_pdf: Path | None = None
        self.setWindowTitle(TITLE)
        self.resize(900, 620)
        self._build()
        start, end = last_full_month()
        self.start_edit.setDate(qdate(start))
        self.end_edit.setDate(qdate(end))
        self.refresh()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        today = qdate(date.today())
        self.start_edit = QDateEdit()
        self.end_edit = QDateEdit()
        for edit, text, name in (
            (self.start_edit, "&From:", "From"),
            (self.end_edit, "&To:", "To"),
        ):
            edit.setCalendarPopup(True)
            set_date_format(edit)
            edit.setMaximumDate(today)
            edit.setAccessibleName(name)
            edit.dateChanged.connect(self._on_period_changed)
            label = QLabel(text)
            label.setBuddy(edit)
            row.addWidget(label)
            row.addWidget(edit)
            row.addSpacing(8)
        self.preview_button = QPushButton("&Preview")
        self.preview_button.clicked.connect(self._on_preview_button_clicked)
        row.addWidget(self.preview_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.notice_label = QLabel()
        self.notice_label.setWordWrap(True)
        self.notice_label.setAccessibleName("Run for this period")
        self.notice_label.setVisible(False)
        layout.addWidget(self.notice_label)
        money = self.formatter.money
        self.model = RecordTableModel(
            [
                Column("Name", lambda r: r.name),
                Column("Account", lambda r: "Payer" if r.payer else "Patient"),
                Column("Owed", lambda r: money(r.owed), money=True),
                Column("Credit", lambda r: money(r.credit), money=True),
                Column("Statement goes to", lambda r: r.email or "Post"),
                Column("Status", self._status_text),
            ],
            self,
        )
        self.table = record_table(self.model, "Accounts", (230, 70, 100, 100, 220), single=False)
        # Rows of one height, sized once: thousands of accounts never measure every row.
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        layout.addWidget(self.table, 1)
        self.totals_label = QLabel()
        self.totals_label.setAccessibleName("Totals")
        layout.addWidget(self.totals_label)
        self.progress_bar = QProgressBar()
        self.progress_bar.setAccessibleName("Progress")
        self.progress_bar.setVisible(False)
        layout.addWidget(self.progress_bar)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setAccessibleName("Status")
        layout.addWidget(self.status_label)
        buttons = QHBoxLayout()
        self.post_button = QPushButton("Save PDF for p&osting…")
        self.post_button.clicked.connect(self._on_post_button_clicked)
        self.post_button.setEnabled(False)
        buttons.addWidget(self.post_button)
        buttons.addStretch(1)
        self.send_button = QPushButton("&Send statements")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self._on_send_button_clicked)
        self.send_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        self.close_button.setAutoDefault(False)
        self.close_button.clicked.connect(self._on_close_button_clicked)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)

    # -- what the window does ---------------------------------------------------------------

    @property
    def period(self) -> tuple[date, date]:
        """The period chosen."""
        return pydate(self.start_edit.date()), pydate(self.end_edit.date())

    def set_period(self, start: date, end: date) -> None:
        """Choose the period and list it afresh."""
        self.start_edit.setDate(qdate(start))
        self.end_edit.setDate(qdate(end))
        self.refresh()

    @property
    def busy(self) -> bool:
        """Whether the window is listing, sending or printing."""
        return self._runner.busy

    @property
    def run(self) -> StatementRunRecord | None:
        """The period's run (None: not started)."""
        return None if self._shown is None else self._shown.run

    @property
    def preview(self) -> StatementRunPreview | None:
        """The period's list before its run starts (None once it has)."""
        return None if self._shown is None else self._shown.preview

    def refresh(self) -> bool:
        """List the period afresh (its run's accounts once started); False while busy."""
        if self.busy:
            return False
        clinic = self.clinic
        start, end = self.period
        self._say("Listing who owed or held credit at the period's end…", HINT_TONE)

        def work(_job: Job) -> _Shown:
            run = clinic.statement_run_for(start, end)
            if run is None:
                return _Shown(None, clinic.preview_statement_run(start, end))
            return _Shown(run, None, tuple(clinic.statement_run_items(run.id)))

        self._runner.run(
            work,
            on_done=self._on_listed,
            on_refused=self._on_refused,
            on_failed=self._on_failed,
            on_finished=self._on_finished,
        )
        self._set_busy(True)
        return True

    def send(self) -> bool:
        """Start (or resume) the period's run and send its emails; False when it did not
        start."""
        if self.busy or self._shown is None:
            return False
        shown = self._shown
        if shown.run is not None and shown.run.finished and shown.run.unsent == 0:
            return False
        if shown.run is None and (shown.preview is None or not shown.preview.accounts):
            return False
        clinic, formatter = self.clinic, self.formatter
        start, end = self.period
        if shown.run is not None:
            self._statements = shown.run.total
            self._emails = shown.run.emailed + sum(
                1 for item in shown.items if item.state == StatementItemState.PENDING and item.email
            )
        else:
            assert shown.preview is not None
            self._statements, self._emails = shown.preview.accounts, shown.preview.to_email
        grand = max(self._statements + self._emails, 1)

        def work(job: Job) -> _Stopped:
            from desktop_app.ui.printing.pdf_bytes import document_pdf

            run_id = clinic.start_statement_run(start, end)
            progress = clinic.statement_run_step(
                run_id, lambda d: document_pdf(d, formatter), limit=STEP
            )
            job.progress(progress.done, grand)
            while not progress.finished:
                if job.cancelled():
                    return _Stopped(clinic.statement_run(run_id), True)
                progress = clinic.statement_run_step(
                    run_id, lambda d: document_pdf(d, formatter), limit=STEP
                )
                job.progress(progress.done, grand)
            done = progress.total
            # Everything due goes, the run's emails with any other waiting.
            summary = clinic.send_outbox(
                stop=job.cancelled,
                progress=lambda sent: job.progress(done + sent, grand),
            )
            return _Stopped(clinic.statement_run(run_id), job.cancelled(), summary.connection_error)

        self._runner.run(
            work,
            on_done=self._on_sent,
            on_refused=self._on_refused,
            on_failed=self._on_failed,
            on_progress=self._on_progressed,
            on_finished=self._on_send_finished,
        )
        self._set_busy(True)
        self.progress_bar.setRange(0, grand)
        self.progress_bar.setValue(0)
        self.progress_bar.setVisible(True)
        self._say("Preparing the statements…", HINT_TONE)
        return True

    def cancel(self) -> None:
        """Stop the send under way after the current step (the run resumes later)."""
        if self.busy:
            self._runner.cancel()
            self._say("Stopping after the statements being prepared…", HINT_TONE)

    def wait(self) -> None:
        """Block until the work under way has stopped (for tests)."""
        self._runner.wait()

    def choose_path(self, suggested: Path) -> Path | None:
        """Ask where to save the PDF for posting (None: cancelled). Tests replace this."""
        dialog = QFileDialog(self, "Save PDF for posting", str(suggested.parent))
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setNameFilters(NAME_FILTERS)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setDefaultSuffix("pdf")
        dialog.selectFile(suggested.name)
        if not dialog.exec() or not dialog.selectedFiles():
            return None
        return Path(dialog.selectedFiles()[0])

    def save_posting_pdf(self, path: Path | None = None) -> bool:
        """Print the statements to post into one PDF (asking where unless ``path``); False
        when nothing started."""
        run = self.run
        if self.busy or run is None or not run.posted:
            return False
        if path is None:
            start, end = self.period
            suggested = _documents() / f"statements-{start}-to-{end}-post.pdf"
            path = self.choose_path(suggested)
            if path is None:
                return False
        clinic, formatter, target = self.clinic, self.formatter, path

        def work(job: Job) -> Path | None:
            from desktop_app.ui.printing.pdf_bytes import PostingPdf, document_html

            accounts = clinic.posted_statements(run.id)
            with PostingPdf(target, clinic.letterhead().paper) as pdf:
                for done, account in enumerate(accounts, 1):
                    if job.cancelled():
                        pdf.abort()
                        return None
                    document = clinic.statement_run_document(run.id, account)
                    pdf.add(document_html(document, formatter), document.letterhead)
                    job.progress(done, len(accounts))
            return target

        self._runner.run(
            work,
            on_done=self._on_posting_saved,
            on_refused=self._on_refused,
            on_failed=self._on_failed,
            on_progress=self._on_posting_progressed,
            on_finished=self._on_send_finished,
        )
        self._set_busy(True)
        self.progress_bar.setRange(0, max(run.posted, 1))
        self.progress_bar.setValue(0)
        self.progress_bar.setVisible(True)
        self._say(f"Printing {run.posted:,} statements into {target}…", HINT_TONE)
        return True

    # -- showing ----------------------------------------------------------------------------

    def _status_text(self, row: Any) -> str:
        if self._shown is None or self._shown.run is None:
            return "Not started"
        return item_status(row)

    def _say(self, text: str, tone: str | None = None) -> None:
        self.status_label.setText(text)
        set_tone(self.status_label, tone)

    def _set_busy(self, busy: bool) -> None:
        for widget in (self.start_edit, self.end_edit, self.preview_button, self.post_button):
            widget.setEnabled(not busy)
        self.send_button.setEnabled(not busy)
        self.close_button.setText("Cancel" if busy else "Close")
        if not busy:
            self._update_buttons()

    def _update_buttons(self) -> None:
        shown = self._shown
        run = None if shown is None else shown.run
        if run is None:
            preview = None if shown is None else shown.preview
            self.send_button.setText("&Send statements")
            self.send_button.setEnabled(preview is not None and preview.accounts > 0)
            self.post_button.setEnabled(False)
            return
        if not run.finished:
            self.send_button.setText("&Resume")
            self.send_button.setEnabled(True)
        else:
            self.send_button.setText("&Send again" if run.unsent else "&Send statements")
            self.send_button.setEnabled(run.unsent > 0)
        self.post_button.setEnabled(run.finished and run.posted > 0)

    def _show(self, shown: _Shown) -> None:
        self._shown = shown
        money = self.formatter.money
        run = shown.run
        if run is None:
            assert shown.preview is not None
            preview = shown.preview
            self.model.set_records(preview.rows)
            self.totals_label.setText(
                f"{preview.accounts:,} accounts: {preview.to_email:,} to email, "
                f"{preview.to_post:,} to post. Owed {money(preview.owed)}, credit "
                f"{money(preview.credit)}."
            )
            self.notice_label.setVisible(False)
            self._say(
                "Nobody owed money or held credit at the end of this period."
                if not preview.accounts
                else "Send statements emails each statement as a PDF and lists the rest to post.",
                HINT_TONE,
            )
            return
        self.model.set_records(shown.items)
        owed = sum((item.owed for item in shown.items), Decimal(0))
        credit = sum((item.credit for item in shown.items), Decimal(0))
        self.totals_label.setText(
            f"{run.total:,} accounts: {run.emailed:,} emailed ({run.sent:,} sent), "
            f"{run.posted:,} to post, {run.pending:,} waiting. Owed {money(owed)}, credit "
            f"{money(credit)}."
        )
        self.notice_label.setVisible(True)
        if not run.finished:
            self.notice_label.setText(
                f"A run for this period stopped after {run.done:,} of {run.total:,}. Resume "
                "prepares the rest; nobody is sent a statement twice."
            )
            set_tone(self.notice_label, WARNING_TONE)
        else:
            when = self.formatter.day(run.finished_at.date()) if run.finished_at else ""
            self.notice_label.setText(
                f"This period's run is done ({when}, started by {run.created_by}): "
                f"{run.emailed:,} emailed, {run.posted:,} to post."
            )
            set_tone(self.notice_label, DONE_TONE)
        self._say(self._outcome(run), DONE_TONE if not run.unsent else WARNING_TONE)

    def _outcome(self, run: StatementRunRecord, connection: str | None = None) -> str:
        if not run.finished:
            return f"Stopped after {run.done:,} of {run.total:,}: Resume goes on from there."
        words = f"Done: {run.sent:,} of {run.emailed:,} emails sent"
        if run.unsent:
            words += (
                f"; {run.unsent:,} wait in the outbox"
                + (f" (the mail server could not be reached: {connection})" if connection else "")
                + " and are tried again later"
            )
        words += "."
        if run.posted:
            words += f" {run.posted:,} to post: Save PDF for posting prints them."
        return words

    # -- outcomes ---------------------------------------------------------------------------

    def _on_listed(self, shown: _Shown) -> None:
        self._show(shown)

    def _on_progressed(self, done: int, total: int) -> None:
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(min(done, total))
        if done <= self._statements:
            self._say(f"Preparing statements: {done:,} of {self._statements:,}…", HINT_TONE)
        else:
            self._say(
                f"Sending emails: {done - self._statements:,} of {self._emails:,}…", HINT_TONE
            )

    def _on_sent(self, stopped: _Stopped) -> None:
        items = tuple(self.clinic.statement_run_items(stopped.run.id))
        self._show(_Shown(stopped.run, None, items))
        self._say(
            self._outcome(stopped.run, stopped.connection_error),
            DONE_TONE if stopped.run.finished and not stopped.run.unsent else WARNING_TONE,
        )

    def _on_posting_progressed(self, done: int, total: int) -> None:
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(done)

    def _on_posting_saved(self, path: Path | None) -> None:
        if path is None:
            self._say("Printing was cancelled; no PDF was saved.", HINT_TONE)
            return
        self.saved_pdf = path
        self._say(f"The statements to post are in {path}.", DONE_TONE)

    def _on_refused(self, error: BillingError) -> None:
        self._say(str(error), PROBLEM_TONE)

    def _on_failed(self, error: Exception) -> None:
        self._say(f"It stopped: {error}. The run resumes from where it stopped.", PROBLEM_TONE)

    def _on_finished(self) -> None:
        self._set_busy(False)

    def _on_send_finished(self) -> None:
        self.progress_bar.setVisible(False)
        self._set_busy(False)

    # -- slots ------------------------------------------------------------------------------

    def _on_period_changed(self, _day: object) -> None:
        # What is listed is another period's now: nothing to send until this one is listed.
        self._shown = None
        self.model.set_records([])
        self.totals_label.clear()
        self.notice_label.setVisible(False)
        self._update_buttons()
        self._say("Preview lists who owed or held credit at this period's end.", HINT_TONE)

    def _on_preview_button_clicked(self) -> None:
        self.refresh()

    def _on_send_button_clicked(self) -> None:
        self.send()

    def _on_post_button_clicked(self) -> None:
        self.save_posting_pdf()

    def _on_close_button_clicked(self) -> None:
        if self.busy:
            self.cancel()
        else:
            self.close()

    def _let_go(self) -> None:
        """The window closes: what runs is cancelled and let go, never waited for (a mail
        server that does not answer would hold the desk for its whole timeout). It stops on
        its own after the statements being prepared, or the email being handed to the server;
        the run resumes later from there."""
        if self.busy:
            self._runner.release()
            self._say("Stopped when the window closed: Resume goes on from there.", HINT_TONE)
            self.progress_bar.setVisible(False)
            self._set_busy(False)

    def reject(self) -> None:  # Escape: stop what runs (the run resumes later)
        self._let_go()
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self._let_go()
        super().closeEvent(event)
