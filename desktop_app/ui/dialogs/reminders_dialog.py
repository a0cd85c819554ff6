"""Tools > Overdue reminders…: the open invoices due an overdue reminder, for staff to approve.

The list (``clinic.overdue_reminders()``, read in the background) shows each invoice with its
account, address, due date, days overdue, balance and last reminder, most overdue first, each
with a box ticked where an address is kept; an account without one is shown greyed, "no email
kept", and cannot be ticked. **Send N reminders** queues the ticked ones
(``clinic.send_reminders``): each invoice's PDF is made here (Qt lays it out, so on this
thread, one invoice at a time, the window kept responsive between them), the core checks each
again and queues it, then the background sender is told and the window says what was queued
and what was skipped, and why.

With reminders off (0 days) the window says so and where to turn them on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import (
    BillingError,
    Permission,
    ReminderCandidate,
    ReminderQueued,
    ReminderSkipped,
)
from desktop_app.ui.background import BackgroundRunner
from desktop_app.ui.dialogs.outbox_dialog import when_text
from desktop_app.ui.models.records import LEFT, RIGHT, header_data
from desktop_app.ui.style import DONE_TONE, HINT_TONE, PROBLEM_TONE, WARNING_TONE, set_tone
from desktop_app.ui.widgets.record_table import record_table

if TYPE_CHECKING:
    from desktop_app.core import Clinic, InvoiceDocument
    from desktop_app.ui.formatting import Formatter

Index = QModelIndex | QPersistentModelIndex
NO_EMAIL = "no email kept"
TITLES = ("Invoice", "Billed to", "Email", "Due", "Days overdue", "Balance", "Last reminded")
AMOUNTS = {4, 5}


def off_text(clinic: Clinic) -> str:
    """What the window says while reminders are off, and where to turn them on."""
    where = (
        "Turn them on under Settings > Email (Tools > Settings…): choose after how many days "
        "overdue an invoice gets a reminder, and how many days apart reminders are."
        if Permission.SETTINGS in clinic.permissions()
        else "Ask an administrator to turn them on under Settings > Email."
    )
    return f"Overdue reminders are off. {where}"


class ReminderModel(QAbstractTableModel):
    """The candidates, each with its tick box (ticked where an address is kept)."""

    def __init__(self, formatter: Formatter, parent: Any = None) -> None:
        super().__init__(parent)
        self._formatter = formatter
        self._rows: list[ReminderCandidate] = []
        self._ticked: set[int] = set()

    def set_candidates(self, rows: Sequence[ReminderCandidate]) -> None:
        """List ``rows``, each with an address ticked."""
        self.beginResetModel()
        self._rows = list(rows)
        self._ticked = {row.invoice_id for row in self._rows if row.email}
        self.endResetModel()

    def candidate(self, row: int) -> ReminderCandidate:
        """The invoice on ``row``."""
        return self._rows[row]

    def row_of(self, invoice_id: int) -> int:
        """The row of ``invoice_id`` (-1: not listed)."""
        return next((n for n, c in enumerate(self._rows) if c.invoice_id == invoice_id), -1)

    @property
    def ticked(self) -> list[int]:
        """The ticked invoices' ids, in the list's order."""
        return [row.invoice_id for row in self._rows if row.invoice_id in self._ticked]

    def tick_all(self, ticked: bool) -> None:
        """Tick every invoice with an address, or none."""
        self._ticked = {row.invoice_id for row in self._rows if row.email} if ticked else set()
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, 0))

    def set_ticked(self, invoice_id: int, ticked: bool) -> None:
        """Tick or untick one invoice (one without an address stays unticked)."""
        row = self.row_of(invoice_id)
        if row < 0 or not self._rows[row].email:
            return
        (self._ticked.add if ticked else self._ticked.discard)(invoice_id)
        self.dataChanged.emit(self.index(row, 0), self.index(row, 0))

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(TITLES)

    def _text(self, row: ReminderCandidate, column: int) -> str:
        formatter = self._formatter
        return (
            f"#{row.invoice_number}",
            row.name,
            row.email or NO_EMAIL,
            formatter.day(row.due_date),
            str(row.days_overdue),
            formatter.money(row.balance),
            when_text(formatter, row.last_reminded) or "Never",
        )[column]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        if role in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.AccessibleTextRole,
        ):
            return self._text(row, index.column())
        if role == Qt.ItemDataRole.CheckStateRole and index.column() == 0:
            ticked = row.invoice_id in self._ticked
            return Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(RIGHT if index.column() in AMOUNTS else LEFT)
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if role != Qt.ItemDataRole.CheckStateRole or index.column() != 0 or not index.isValid():
            return False
        ticked = Qt.CheckState(value) == Qt.CheckState.Checked
        self.set_ticked(self._rows[index.row()].invoice_id, ticked)
        return True

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if not self._rows[index.row()].email:  # greyed: nowhere to send it
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == 0:
            base |= Qt.ItemFlag.ItemIsUserCheckable
        return base

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return header_data(TITLES, AMOUNTS, section, orientation, role)


class RemindersDialog(QDialog):
    """Approve and send overdue reminders (non-modal). ``render`` makes an invoice's PDF (by
    default the print window's pages); ``nudge`` tells the background sender a message was
    queued."""

    def __init__(
        self,
        clinic: Clinic,
        formatter: Formatter,
        parent: QWidget | None = None,
        *,
        nudge: Callable[[], object] | None = None,
        render: Callable[[InvoiceDocument], bytes] | None = None,
    ) -> None:
        super().__init__(parent)
        self.clinic = clinic
        self.formatter = formatter
        self._nudge = nudge
        self._render = render or self._document_pdf
        self.setWindowTitle("Overdue reminders")
        self.resize(1000, 560)
        self._runner = BackgroundRunner(self)
        self._pending: list[int] = []
        self._queued: list[ReminderQueued] = []
        self._skipped: list[ReminderSkipped] = []
        self._sending = False
        self._closed = False
        #: The last send's outcome (None until Send).
        self.queued: tuple[ReminderQueued, ...] = ()
        self.skipped: tuple[ReminderSkipped, ...] = ()
        layout = QVBoxLayout(self)
        settings = clinic.reminder_settings
        #: The settings in a line, or why nothing is listed.
        self.intro_label = QLabel()
        self.intro_label.setWordWrap(True)
        layout.addWidget(self.intro_label)
        self.model = ReminderModel(formatter, self)
        self.view = record_table(
            self.model, "Invoices due a reminder", (95, 190, 210, 100, 100, 100), single=False
        )
        layout.addWidget(self.view, 1)
        #: What was queued and skipped, or why nothing could be.
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message_label)
        buttons = QHBoxLayout()
        self.all_button = QPushButton("Select &all")
        self.all_button.clicked.connect(lambda: self._tick_all(True))
        self.none_button = QPushButton("Select &none")
        self.none_button.clicked.connect(lambda: self._tick_all(False))
        self.send_button = QPushButton("&Send reminders")
        self.send_button.clicked.connect(self.send)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        for button in (self.all_button, self.none_button, self.send_button, self.close_button):
            button.setAutoDefault(False)
        buttons.addWidget(self.all_button)
        buttons.addWidget(self.none_button)
        buttons.addStretch(1)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)
        self.model.dataChanged.connect(self._update_send)
        self.model.modelReset.connect(self._update_send)
        self.off = settings.after_days <= 0
        self.configured = clinic.email_settings.configured
        if self.off or not self.configured:
            from desktop_app.ui.dialogs.email_dialog import not_set_up_text

            self.intro_label.setText(off_text(clinic) if self.off else not_set_up_text(clinic))
            set_tone(self.intro_label, WARNING_TONE)
            for widget in (self.view, self.all_button, self.none_button, self.send_button):
                widget.setVisible(False)
            self.resize(560, 170)
            return
        self.intro_label.setText(
            f"Invoices at least {settings.after_days} days overdue that had no reminder in the "
            f"last {settings.interval_days} days. Untick any to leave out; each reminder has "
            "its invoice attached."
        )
        set_tone(self.intro_label, HINT_TONE)
        self.reload()

    # -- the list -------------------------------------------------------------------------

    @property
    def loading(self) -> bool:
        """The list is being read."""
        return self._runner.busy

    def reload(self, *, quietly: bool = False) -> None:
        """Read the invoices due a reminder again (in the background); ``quietly`` keeps what
        the window says (the outcome of a Send)."""
        if self.off or not self.configured or self._closed:
            return
        if not quietly:
            self._say("Finding overdue invoices…")
        self.send_button.setEnabled(False)
        self._runner.run(
            lambda job: self.clinic.overdue_reminders(),
            on_done=self._listed,
            on_refused=lambda exc: self._say(str(exc), PROBLEM_TONE),
            on_failed=lambda exc: self._say(f"The list could not be read: {exc}", PROBLEM_TONE),
            queue=True,
        )

    def _listed(self, candidates: list[ReminderCandidate]) -> None:
        self.model.set_candidates(candidates)
        without = sum(1 for c in candidates if not c.email)
        if self.message_label.text() != "Finding overdue invoices…":
            return  # it says what the last Send did
        if not candidates:
            self._say("No invoice is due a reminder today.", DONE_TONE)
        else:
            self._say(
                f"{len(candidates)} invoice{'' if len(candidates) == 1 else 's'} due a reminder"
                + (f"; {without} without an email address kept (greyed)." if without else ".")
            )

    def _tick_all(self, ticked: bool) -> None:
        self.model.tick_all(ticked)

    def _update_send(self, *_args: object) -> None:
        count = len(self.model.ticked)
        self.send_button.setText(f"&Send {count} reminder{'' if count == 1 else 's'}")
        self.send_button.setEnabled(count > 0 and not self._sending and not self.loading)

    def _say(self, text: str, tone: str | None = None) -> None:
        self.message_label.setText(text)
        set_tone(self.message_label, tone)

    # -- sending --------------------------------------------------------------------------

    def _document_pdf(self, document: InvoiceDocument) -> bytes:
        from desktop_app.ui.printing.pdf_bytes import document_pdf

        return document_pdf(document, self.formatter)

    @property
    def sending(self) -> bool:
        """Reminders are being made and queued."""
        return self._sending

    def send(self) -> bool:
        """Queue the ticked invoices' reminders, one invoice per turn of the event loop; True
        when sending started."""
        ids = self.model.ticked
        if not ids or self._sending:
            return False
        self._pending = ids
        self._queued, self._skipped = [], []
        self._sending = True
        for widget in (self.all_button, self.none_button, self.send_button, self.view):
            widget.setEnabled(False)
        self._step(len(ids))
        return True

    def _step(self, total: int) -> None:
        if not self._pending:
            self._finish()
            return
        invoice_id = self._pending.pop(0)
        done = total - len(self._pending)
        self._say(f"Making reminder {done} of {total}…")
        try:
            result = self.clinic.send_reminders([invoice_id], self._render)
        except BillingError as exc:  # reminders turned off or email unset meanwhile
            self._pending.clear()
            self._say(str(exc), PROBLEM_TONE)
            self._finish(refused=True)
            return
        self._queued.extend(result.queued)
        self._skipped.extend(result.skipped)
        if result.queued and self._nudge is not None:
            self._nudge()
        if self._pending:
            QTimer.singleShot(0, lambda: self._step(total))
        else:
            self._finish()

    def _finish(self, *, refused: bool = False) -> None:
        self._sending = False
        self.queued, self.skipped = tuple(self._queued), tuple(self._skipped)
        for widget in (self.all_button, self.none_button, self.view):
            widget.setEnabled(True)
        if not refused:
            self._say(self.outcome_text(), PROBLEM_TONE if self.skipped else DONE_TONE)
        self.reload(quietly=True)

    def outcome_text(self) -> str:
        """What the last Send did: how many were queued, and each skipped invoice with why."""
        count = len(self.queued)
        lines = [
            f"{count} reminder{'' if count == 1 else 's'} queued; "
            f"{'it is' if count == 1 else 'they are'} sent in the background (Tools > Outbox…)."
            if count
            else "No reminder was queued."
        ]
        if self.skipped:
            lines.append(f"{len(self.skipped)} skipped:")
            lines.extend(
                f"Invoice #{skip.invoice_number} ({skip.name}): {skip.reason}."
                for skip in self.skipped
            )
        return "\n".join(lines)

    def _stop(self) -> None:
        """The window closes: no more reminders made, no list read."""
        self._closed = True
        self._pending.clear()
        self._runner.stop()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt's name)
        self._stop()
        super().closeEvent(event)

    def done(self, result: int) -> None:
        self._stop()
        super().done(result)
