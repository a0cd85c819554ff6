"""The main window's email parts: the patient's Messages tab, and the bar that offers the receipt
right after a payment is saved.

- :class:`MessagesTab` lists the emails to the shown patient (and about their invoices billed to
  a payer), newest first: when, to whom, the subject, the document attached, and where each is
  (queued, sent, failed with the server's reason). It reads them when the tab is shown, when
  another patient is shown while it is, and after any email window queues a message.
- :class:`ReceiptBar` appears above the patient's tabs once a payment (or a payer's remittance)
  is saved: "Payment of $80.00 from Ada Lovelace saved. [Email receipt…] [Print receipt…]
  [Dismiss]". The keyboard focus moves to its first button, so Enter emails the receipt (Tab
  reaches Print, Escape dismisses it); it stays until dismissed, another patient is shown or
  another payment is saved, so it never disappears while someone reaches for it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BillingError, MailKind, Permission
from desktop_app.ui.models.records import Column, RecordTableModel
from desktop_app.ui.style import DONE_TONE, HINT_TONE, overdue_tone, set_tone

if TYPE_CHECKING:
    from desktop_app.core import Clinic, OutboxRecord
    from desktop_app.ui.dialogs.email_dialog import EmailDialog
    from desktop_app.ui.formatting import Formatter

#: What each kind of email is about, where nothing is attached.
_ABOUT = {
    MailKind.INVOICE: "Invoice",
    MailKind.RECEIPT: "Receipt",
    MailKind.STATEMENT: "Statement",
    MailKind.REMINDER: "Overdue reminder",
    MailKind.CREDIT: "Account credit",
    MailKind.TEST: "Test",
}


def when(moment: datetime | None, formatter: Formatter) -> str:
    """A moment in this computer's time: "4 Dec 2026 10:12"."""
    if moment is None:
        return ""
    local = moment.astimezone()
    return f"{formatter.day(local.date())} {local:%H:%M}"


def status_text(record: OutboxRecord, formatter: Formatter) -> str:
    """Where a message is, as the Messages tab says it: "Sent 4 Dec 2026 10:13", "Queued",
    "Failed: <the server's reason>"."""
    status = record.status.value  # compared by value: the outbox's module loads the database
    if status == "sent":
        return f"Sent {when(record.sent_at, formatter)}".strip()
    if status == "failed":
        again = (
            f" (tried again {when(record.next_attempt_at, formatter)})"
            if record.retried_automatically
            else ""
        )
        return f"Failed: {record.last_error or 'no reason given'}{again}"
    if status == "unconfirmed":
        return f"Not confirmed: {record.last_error or 'the server did not answer'}"
    return status.capitalize()


#: The statuses shown in the warning colour (the text says which, too).
_TROUBLE = frozenset({"failed", "unconfirmed"})


class MessagesTab(QWidget):
    """The patient panel's Messages tab: the shown account's emails."""

    def __init__(self, formatter: Callable[[], Formatter], parent: QWidget | None = None) -> None:
        """``formatter`` gives the window's current formatter (settings may replace it)."""
        super().__init__(parent)
        self._formatter = formatter
        self._clinic: Clinic | None = None
        self._account_id: int | None = None
        self._stale = True
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)

        def shown(moment: Callable[[OutboxRecord], datetime | None]) -> Callable[..., str]:
            return lambda record: when(moment(record), self._formatter())

        self.model = RecordTableModel(
            [
                Column("When", shown(lambda r: r.created_at)),
                Column("To", lambda r: r.recipient),
                Column("Subject", lambda r: r.subject),
                Column("Document", lambda r: r.attachment_name or _ABOUT[r.kind]),
                Column(
                    "Status",
                    lambda r: status_text(r, self._formatter()),
                    colour=lambda r: overdue_tone() if r.status.value in _TROUBLE else None,
                ),
            ],
            self,
        )
        self.view = QTableView()
        self.view.setAccessibleName("Messages")
        self.view.setModel(self.model)
        self.view.setTabKeyNavigation(False)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.verticalHeader().setVisible(False)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)  # Subject
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)  # Status
        self.view.selectionModel().currentRowChanged.connect(self._on_current_row_changed)
        layout.addWidget(self.view, 1)
        #: The selected message in full: its subject, and where it is (the whole reason).
        self.detail_label = QLabel()
        self.detail_label.setWordWrap(True)
        self.detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail_label.setAccessibleName("Selected message")
        layout.addWidget(self.detail_label)
        #: Says there are no emails yet (hidden when there are).
        self.empty_label = QLabel()
        self.empty_label.setWordWrap(True)
        set_tone(self.empty_label, HINT_TONE)
        layout.addWidget(self.empty_label)

    def show_account(self, clinic: Clinic | None, account_id: int | None) -> None:
        """Show ``account_id``'s emails (read now if the tab is shown, else when it is)."""
        self._clinic, self._account_id = clinic, account_id
        self._stale = True
        if self.isVisible():
            self.reload()

    def reload(self) -> None:
        """Read the shown account's emails again."""
        self._stale = False
        records: list[OutboxRecord] = []
        if self._clinic is not None and self._account_id is not None:
            try:
                records = self._clinic.account_messages(self._account_id)
            except BillingError:  # the patient is gone, or this role may not read them
                records = []
        self.model.set_records(records)
        self.detail_label.clear()
        self.detail_label.setVisible(False)
        self.empty_label.setText(
            ""
            if records
            else "No emails yet. Emails sent from a print window's Email… or after a payment "
            "are listed here."
        )
        self.empty_label.setVisible(not records)

    def records(self) -> list[OutboxRecord]:
        """The messages listed, newest first."""
        return [self.model.record(row) for row in range(self.model.rowCount())]

    def after_queue(self, _outbox_id: int) -> None:
        """A message was queued somewhere: list it (now if shown, else when shown)."""
        self.show_account(self._clinic, self._account_id)

    def _on_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid() or current.row() >= self.model.rowCount():
            self.detail_label.setVisible(False)
            return
        record: OutboxRecord = self.model.record(current.row())
        self.detail_label.setText(
            f"{record.subject}, to {record.recipient}: {status_text(record, self._formatter())}"
        )
        self.detail_label.setVisible(True)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        """Read the emails on first sight of a patient's tab."""
        super().showEvent(event)
        if self._stale:
            self.reload()


class ReceiptBar(QFrame):
    """Offers Email receipt… and Print receipt… for the payment just saved (see the module)."""

    def __init__(
        self,
        clinic: Callable[[], Clinic],
        formatter: Callable[[], Formatter],
        print_receipt: Callable[[int], object],
        parent: QWidget | None = None,
    ) -> None:
        """``clinic`` and ``formatter`` give the window's current ones; ``print_receipt(id)``
        opens a payment's receipt in the print window."""
        super().__init__(parent)
        self._clinic = clinic
        self._formatter = formatter
        self._print_receipt = print_receipt
        #: The payment offered (None while hidden).
        self.payment_id: int | None = None
        self._patient_id: int | None = None
        #: The email window Email receipt… opened last (for tests and screenshots).
        self.email_dialog: EmailDialog | None = None
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Payment saved")
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        set_tone(self.label, DONE_TONE)
        self.email_button = QPushButton("Email receipt…")
        self.email_button.setAutoDefault(True)
        self.email_button.clicked.connect(self.email_receipt)
        self.print_button = QPushButton("Print receipt…")
        self.print_button.setAutoDefault(True)
        self.print_button.clicked.connect(self._on_print_button_clicked)
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.setToolTip("Hide this bar (Escape)")
        self.dismiss_button.setAutoDefault(True)
        self.dismiss_button.clicked.connect(self.dismiss)
        row.addWidget(self.label, 1)
        row.addWidget(self.email_button)
        row.addWidget(self.print_button)
        row.addWidget(self.dismiss_button)
        self.hide()

    def offer(self, payment_id: int, who: str, patient_id: int | None) -> None:
        """Show the bar for ``payment_id`` from ``who`` (the patient's or payer's name), saved
        while ``patient_id`` was shown (None: a payer's remittance, offered whoever is shown),
        its first button focused."""
        clinic = self._clinic()
        payment = clinic.payment(payment_id)
        self.payment_id, self._patient_id = payment_id, patient_id
        amount = self._formatter().money(payment.total)
        self.label.setText(f"Payment of {amount} from {who} saved.")
        may_email = clinic.may(Permission.EMAIL)
        self.email_button.setVisible(may_email)
        self.email_button.setToolTip(f"Email the receipt to {who}, its PDF attached")
        self.show()
        (self.email_button if may_email else self.print_button).setFocus(
            Qt.FocusReason.OtherFocusReason
        )

    def follow(self, patient_id: int | None) -> None:
        """Another patient is shown: the bar of a patient's payment goes."""
        if self.payment_id is not None and self._patient_id not in (None, patient_id):
            self.dismiss()

    def dismiss(self) -> None:
        """Hide the bar."""
        self.payment_id = self._patient_id = None
        self.hide()

    def email_receipt(self) -> EmailDialog | None:
        """Open the email window for the offered payment's receipt, its PDF attached."""
        if self.payment_id is None:
            return None
        from desktop_app.ui.dialogs.email_dialog import EmailDialog
        from desktop_app.ui.printing.pdf_bytes import document_pdf

        clinic, payment_id, formatter = self._clinic(), self.payment_id, self._formatter()
        try:
            draft = clinic.email_draft("receipt", payment_id=payment_id)
        except BillingError as exc:
            self.label.setText(str(exc))
            return None
        dialog = EmailDialog(
            clinic,
            draft,
            lambda: document_pdf(clinic.receipt(payment_id), formatter),
            self.window(),
        )
        dialog.queued.connect(lambda _id: self._emailed(dialog))
        self.email_dialog = dialog
        dialog.open()
        return dialog

    def _emailed(self, dialog: EmailDialog) -> None:
        self.label.setText(dialog.sent_text())
        self.email_button.hide()
        self.print_button.setFocus()

    def _on_print_button_clicked(self) -> None:
        if self.payment_id is not None:
            self._print_receipt(self.payment_id)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        """Escape dismisses the bar."""
        if event.key() == Qt.Key.Key_Escape:
            self.dismiss()
            return
        super().keyPressEvent(event)
