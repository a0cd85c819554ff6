"""Tools > Outbox…: every email the clinic sent or is sending, with its status and the mail
server's reason when it failed.

The list shows each message's creation, kind, recipient, subject, status, attempts, next try
and the server's last reason, newest first, filtered by status: All, Waiting (queued, being
sent, or failed and to be tried again by itself), Failed (left for staff), Unconfirmed (it may
have been delivered) and Sent. **Send now** asks the background sender for a pass (the window
never sends itself, so it stays responsive); **Retry** queues a failed, unconfirmed or
cancelled message again under its same Message-ID (for an unconfirmed one it asks first: it
may have been delivered already); **Cancel email** takes a queued or failed message out. The
list is read again whenever the sender reports a pass.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BillingError, OutboxRecord, OutboxStatus, SendSummary
from desktop_app.ui.models.records import Column, RecordTableModel
from desktop_app.ui.outbox_sender import OutboxSender, tally_text
from desktop_app.ui.style import DONE_TONE, HINT_TONE, PROBLEM_TONE, set_tone
from desktop_app.ui.widgets.record_table import record_table

if TYPE_CHECKING:
    from desktop_app.core import Clinic
    from desktop_app.ui.formatting import Formatter

#: The filter's choices: (label, statuses read, keep) where ``keep`` picks among them.
ALL, WAITING, FAILED, UNCONFIRMED, SENT = "All", "Waiting", "Failed", "Unconfirmed", "Sent"
FILTERS = (ALL, WAITING, FAILED, UNCONFIRMED, SENT)
#: How many messages the list shows (the newest).
LIMIT = 500
#: What each kind of email is called in the list.
KIND_WORDS = {
    "invoice": "Invoice",
    "receipt": "Receipt",
    "statement": "Statement",
    "reminder": "Reminder",
    "credit": "Account credit",
    "test": "Test",
}
UNCONFIRMED_QUESTION = "It may have been delivered already; send it again?"


def when_text(formatter: Formatter, at: datetime | None) -> str:
    """A moment as the desk reads it: "4 Dec 2026 10:31" in this computer's time zone."""
    if at is None:
        return ""
    local = at.astimezone()
    return f"{formatter.day(local.date())} {local:%H:%M}"


def status_text(record: OutboxRecord) -> str:
    """A message's status in words: "Failed: retrying" for one tried again by itself."""
    if record.retried_automatically:
        return "Failed: retrying"
    return record.status.value.capitalize()


def next_try_text(formatter: Formatter, record: OutboxRecord) -> str:
    """When a failed message is tried again by itself (empty for any other)."""
    return when_text(formatter, record.next_attempt_at) if record.retried_automatically else ""


def _matches(choice: str, record: OutboxRecord) -> bool:
    if choice == WAITING:
        return record.status in (OutboxStatus.QUEUED, OutboxStatus.SENDING) or (
            record.retried_automatically
        )
    if choice == FAILED:
        return record.status is OutboxStatus.FAILED and not record.retried_automatically
    if choice == UNCONFIRMED:
        return record.status is OutboxStatus.UNCONFIRMED
    if choice == SENT:
        return record.status is OutboxStatus.SENT
    return True


_READ: dict[str, list[OutboxStatus] | None] = {
    ALL: None,
    WAITING: [OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.FAILED],
    FAILED: [OutboxStatus.FAILED],
    UNCONFIRMED: [OutboxStatus.UNCONFIRMED],
    SENT: [OutboxStatus.SENT],
}


class OutboxDialog(QDialog):
    """The outbox's messages and what to do about those that failed (non-modal).

    ``sender`` is the main window's background sender (a window of its own is made when none is
    given, and stopped when the window closes)."""

    def __init__(
        self,
        clinic: Clinic,
        formatter: Formatter,
        sender: OutboxSender | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.clinic = clinic
        self.formatter = formatter
        self._own_sender = sender is None
        self.outbox_sender = sender if sender is not None else OutboxSender(clinic, self)
        self.setWindowTitle("Outbox")
        self.resize(1120, 560)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        show = QLabel("&Show:")
        self.filter_combo = QComboBox()
        self.filter_combo.setAccessibleName("Show")
        self.filter_combo.addItems(list(FILTERS))
        show.setBuddy(self.filter_combo)
        self.filter_combo.currentIndexChanged.connect(self.reload)
        top.addWidget(show)
        top.addWidget(self.filter_combo)
        #: "Outbox: 3 waiting · 1 failed", or that nothing waits.
        self.tally_label = QLabel()
        set_tone(self.tally_label, HINT_TONE)
        top.addStretch(1)
        top.addWidget(self.tally_label)
        layout.addLayout(top)
        self.model = RecordTableModel(
            [
                Column("Created", lambda r: when_text(formatter, r.created_at)),
                Column("Kind", lambda r: KIND_WORDS.get(r.kind.value, r.kind.value)),
                Column("To", lambda r: r.recipient),
                Column("Subject", lambda r: r.subject),
                Column("Status", status_text),
                Column("Attempts", lambda r: str(r.attempts)),
                Column("Next try", lambda r: next_try_text(formatter, r)),
                Column("Server's reason", lambda r: r.last_error or ""),
            ],
            self,
        )
        self.view = record_table(self.model, "Messages", (125, 75, 185, 210, 125, 70, 125))
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
        layout.addWidget(self.view, 1)
        #: The selected message in full: to whom, its status and the server's whole reason.
        self.detail_label = QLabel()
        self.detail_label.setWordWrap(True)
        self.detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail_label.setAccessibleName("Selected email")
        layout.addWidget(self.detail_label)
        #: What the last action did, or why it was refused.
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message_label)
        buttons = QHBoxLayout()
        self.send_button = QPushButton("Send &now")
        self.send_button.setToolTip("Send what waits in the outbox now, in the background")
        self.send_button.clicked.connect(self.send_now)
        self.retry_button = QPushButton("&Retry")
        self.retry_button.setToolTip("Send the selected failed, unconfirmed or cancelled email")
        self.retry_button.clicked.connect(self.retry)
        self.cancel_button = QPushButton("&Cancel email")
        self.cancel_button.setToolTip("Take the selected queued or failed email out of the outbox")
        self.cancel_button.clicked.connect(self.cancel_email)
        close = QPushButton("Close")
        close.setAutoDefault(False)
        close.clicked.connect(self.close)
        for button in (self.send_button, self.retry_button, self.cancel_button):
            button.setAutoDefault(False)
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self.outbox_sender.finished.connect(self._on_sender_finished)
        self.outbox_sender.tallied.connect(self._show_tally)
        self.send_button.setEnabled(self.outbox_sender.enabled)
        self.reload()
        self._show_tally(self.outbox_sender.tally)
        self.outbox_sender.refresh()

    # -- reading --------------------------------------------------------------------------

    @property
    def choice(self) -> str:
        """The filter chosen."""
        return self.filter_combo.currentText()

    def set_choice(self, choice: str) -> None:
        """Show only ``choice`` (one of :data:`FILTERS`)."""
        self.filter_combo.setCurrentIndex(FILTERS.index(choice))

    def reload(self) -> None:
        """Read the list again, keeping the selected message selected."""
        chosen = self.selected()
        try:
            records = self.clinic.outbox(_READ[self.choice], limit=LIMIT)
        except BillingError as exc:
            self._say(str(exc), PROBLEM_TONE)
            records = []
        self.model.set_records([r for r in records if _matches(self.choice, r)])
        if chosen is not None:
            self.select(chosen.id)
        self._update_buttons()

    def select(self, outbox_id: int) -> bool:
        """Select the message ``outbox_id`` if it is listed."""
        for row in range(self.model.rowCount()):
            if self.model.record(row).id == outbox_id:
                self.view.selectionModel().select(
                    self.model.index(row, 0),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows,
                )
                self.view.scrollTo(self.model.index(row, 0))
                return True
        return False

    def selected(self) -> OutboxRecord | None:
        """The selected message."""
        rows = self.view.selectionModel().selectedRows() if self.view.selectionModel() else []
        return self.model.record(rows[0].row()) if rows else None

    def _update_buttons(self, *_args: object) -> None:
        record = self.selected()
        self.detail_label.setText("" if record is None else self.detail_text(record))
        status = None if record is None else record.status
        self.retry_button.setEnabled(
            status in (OutboxStatus.FAILED, OutboxStatus.UNCONFIRMED, OutboxStatus.CANCELLED)
        )
        self.cancel_button.setEnabled(status in (OutboxStatus.QUEUED, OutboxStatus.FAILED))

    def detail_text(self, record: OutboxRecord) -> str:
        """One message in full, for the line under the list."""
        parts = [f"To {record.recipient_name or record.recipient} <{record.recipient}>"]
        parts.append(status_text(record))
        if record.sent_at is not None:
            parts.append(f"sent {when_text(self.formatter, record.sent_at)}")
        if record.retried_automatically:
            parts.append(f"next try {next_try_text(self.formatter, record)}")
        text = " · ".join(parts)
        if record.last_error:
            text += f"\nServer's reason: {record.last_error}"
        return text

    def _show_tally(self, tally: object) -> None:
        text = tally_text(tally)  # type: ignore[arg-type]
        self.tally_label.setText(text or "Nothing waits in the outbox.")

    def _say(self, text: str, tone: str | None = None) -> None:
        self.message_label.setText(text)
        set_tone(self.message_label, tone)

    # -- acting ---------------------------------------------------------------------------

    def send_now(self) -> bool:
        """Ask the background sender for a pass now; True when one started (or was lined up)."""
        if not self.clinic.email_settings.configured:
            self._say(
                "Email is not set up: enter the clinic's mail server under Settings > Email.",
                PROBLEM_TONE,
            )
            return False
        started = self.outbox_sender.nudge()
        self._say("Sending in the background…" if started or self.outbox_sender.busy else "")
        return started or self.outbox_sender.busy

    def retry(self, *, ask: bool = True) -> bool:
        """Queue the selected message again (asking first for an unconfirmed one)."""
        record = self.selected()
        if record is None:
            return False
        if (
            ask
            and record.status is OutboxStatus.UNCONFIRMED
            and QMessageBox.question(
                self,
                "Retry email",
                f"The email to {record.recipient} ({record.subject}) was handed to the mail "
                f"server but not confirmed. {UNCONFIRMED_QUESTION}",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            != QMessageBox.StandardButton.Yes
        ):
            return False
        try:
            self.clinic.retry_email(record.id)
        except BillingError as exc:
            self._say(str(exc), PROBLEM_TONE)
            self.reload()
            return False
        self._say(f"The email to {record.recipient} is queued again.", DONE_TONE)
        self.reload()
        self.outbox_sender.refresh()
        self.outbox_sender.nudge()
        return True

    def cancel_email(self) -> bool:
        """Take the selected queued or failed message out of the outbox."""
        record = self.selected()
        if record is None:
            return False
        try:
            self.clinic.cancel_email(record.id)
        except BillingError as exc:
            self._say(str(exc), PROBLEM_TONE)
            self.reload()
            return False
        self._say(f"The email to {record.recipient} is cancelled.", DONE_TONE)
        self.reload()
        self.outbox_sender.refresh()
        return True

    def _on_sender_finished(self, outcome: object) -> None:
        if isinstance(outcome, SendSummary):
            if outcome.connection_error:
                self._say(f"The mail server could not be reached: {outcome.connection_error}")
                set_tone(self.message_label, PROBLEM_TONE)
            elif outcome.sent or outcome.failed or outcome.unconfirmed:
                words = [
                    f"{n} {w}"
                    for n, w in (
                        (outcome.sent, "sent"),
                        (outcome.failed, "failed"),
                        (outcome.unconfirmed, "unconfirmed"),
                    )
                    if n
                ]
                self._say(
                    "Outbox sent: " + ", ".join(words) + ".",
                    PROBLEM_TONE if outcome.failed or outcome.unconfirmed else DONE_TONE,
                )
            elif self.message_label.text() == "Sending in the background…":
                self._say("Nothing was due to send.")
        elif isinstance(outcome, Exception):
            self._say(f"Sending stopped: {outcome}", PROBLEM_TONE)
        self.reload()

    def closeEvent(self, event: object) -> None:  # noqa: N802 (Qt's name)
        if self._own_sender:
            self.outbox_sender.stop(wait=None)
        super().closeEvent(event)  # type: ignore[arg-type]

    def done(self, result: int) -> None:
        if self._own_sender:
            self.outbox_sender.stop(wait=None)
        super().done(result)
