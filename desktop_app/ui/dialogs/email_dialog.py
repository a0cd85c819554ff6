"""The email window: one document's email, to read and change before it goes.

Opened from a print window's Email… (an invoice, a receipt, a statement), after a payment is
saved (Email receipt…) and from the desk's alerts (a note about account credit, nothing
attached). To, Subject and Body are filled from the clinic's template for the document; staff
may change each. Send puts the message in the outbox (the core checks the address, the subject
and the attachment's size; a refusal is shown at its field and nothing is queued), then asks
the app to send it now: the window emits :attr:`EmailDialog.queued` with the outbox id, calls
its ``after_queue``, every hook added with :func:`add_after_queue_hook` and the app-wide
:func:`email_events` ``queued`` signal (the background sender and the Messages tab connect
there), and closes. Sending itself never happens in this window.

When email is not set up the window says so, and where to set it up, and offers nothing to send.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QTextOption
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BillingError, Permission
from desktop_app.ui.forms import FieldProblems, GuardedDialog
from desktop_app.ui.style import HINT_TONE, PROBLEM_TONE, WARNING_TONE, set_tone

if TYPE_CHECKING:
    from desktop_app.core import Clinic, EmailDraft

#: The fields a refusal may name, by the core's field name.
FIELDS = ("to", "subject", "body", "attachment")

#: Called with the outbox id of every message any email window queues (the app's sender).
_after_queue_hooks: list[Callable[[int], None]] = []


def add_after_queue_hook(hook: Callable[[int], None]) -> Callable[[], None]:
    """Call ``hook(outbox_id)`` after any email window queues a message; returns a function
    that removes the hook again (the main window adds its background sender here)."""
    _after_queue_hooks.append(hook)

    def remove() -> None:
        if hook in _after_queue_hooks:
            _after_queue_hooks.remove(hook)

    return remove


class EmailEvents(QObject):
    """The email windows' app-wide signals."""

    #: A message was queued (its outbox id), by any email window.
    queued = Signal(int)


_events: EmailEvents | None = None


def email_events() -> EmailEvents:
    """The app-wide :class:`EmailEvents` (connect a window's slot to ``queued``: Qt disconnects
    it when the window goes)."""
    global _events
    if _events is None:
        _events = EmailEvents()
    return _events


def not_set_up_text(clinic: Clinic) -> str:
    """What a window says when email is not set up: where to set it up, or whom to ask."""
    if clinic.may(Permission.SETTINGS):
        return (
            "Email is not set up yet. Enter the clinic's mail server and sender under "
            "Settings > Email (Tools > Settings…), then send from here."
        )
    return (
        "Email is not set up yet. Ask an administrator to enter the clinic's mail server "
        "under Settings > Email."
    )


class EmailDialog(FieldProblems, GuardedDialog):
    """Edit and send one document's email (``pdf`` makes its attachment; None: nothing attached)."""

    #: The outbox id of the message Send queued.
    queued = Signal(int)

    discard_question = "Discard this email?"

    def __init__(
        self,
        clinic: Clinic,
        draft: EmailDraft,
        pdf: Callable[[], bytes] | None,
        parent: QWidget | None = None,
        *,
        after_queue: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self.draft = draft
        self._pdf = pdf
        self._after_queue = after_queue
        #: The outbox id of the message Send queued (None until then).
        self.outbox_id: int | None = None
        #: The recipient's name on one line, however it is stored.
        self.to_name = " ".join(draft.to_name.split())
        self.setWindowTitle(f"Email {self.to_name}" if self.to_name else "Email")
        self.setMinimumWidth(560)
        self.resize(640, 560)
        layout = QVBoxLayout(self)
        self.edits: dict[str, QWidget] = {}
        self.problems: dict[str, QLabel] = {}
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        set_tone(self.message_label, PROBLEM_TONE)
        #: Says why there is nothing to send (email not set up); hidden otherwise.
        self.not_set_up_label = QLabel()
        self.not_set_up_label.setWordWrap(True)
        set_tone(self.not_set_up_label, WARNING_TONE)
        self.configured = clinic.email_settings.configured
        if not self.configured:
            self.not_set_up_label.setText(not_set_up_text(clinic))
            layout.addWidget(self.not_set_up_label)
            layout.addStretch(1)
            buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
            buttons.rejected.connect(self.reject)
            layout.addWidget(buttons)
            self.send_button: QPushButton | None = None
            self.resize(520, 160)
            return
        self.not_set_up_label.setVisible(False)
        self._build_form(layout, draft)
        layout.addWidget(self.message_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.send_button = QPushButton("&Send")
        self.send_button.setToolTip("Put the email in the outbox and send it (Ctrl+Enter)")
        self.send_button.setAutoDefault(False)
        buttons.addButton(self.send_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.send)
        buttons.rejected.connect(self.reject)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.activated.connect(self.send)
        layout.addWidget(buttons)
        (self.body_edit if draft.to_address else self.to_edit).setFocus()

    def _build_form(self, layout: QVBoxLayout, draft: EmailDraft) -> None:
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.to_edit = QLineEdit(draft.to_address)
        self.to_edit.setAccessibleName("To")
        self.to_edit.setPlaceholderText("name@example.org")
        #: Says no address is kept for the patient or payer (hidden when one is).
        self.no_address_label = QLabel(
            f"No email address is kept for {self.to_name or 'this account'}: type the address "
            "to send to."
        )
        self.no_address_label.setWordWrap(True)
        set_tone(self.no_address_label, HINT_TONE)
        self.no_address_label.setVisible(not draft.to_address)
        self.subject_edit = QLineEdit(draft.subject)
        self.subject_edit.setAccessibleName("Subject")
        self.body_edit = QPlainTextEdit(draft.body)
        self.body_edit.setAccessibleName("Message")
        self.body_edit.setTabChangesFocus(True)
        self.body_edit.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.body_edit.setMinimumHeight(self.body_edit.fontMetrics().lineSpacing() * 8)
        #: The attached file's name ("Invoice 12.pdf"), or that nothing is attached.
        self.attachment_label = QLabel(
            draft.attachment_name if draft.attachment_name else "Nothing attached"
        )
        self.attachment_label.setAccessibleName("Attachment")
        self.edits = {
            "to": self.to_edit,
            "subject": self.subject_edit,
            "body": self.body_edit,
            "attachment": self.attachment_label,
        }
        #: Whose email it is.
        self.recipient_label = QLabel(self.to_name)
        self.recipient_label.setAccessibleName("Recipient")
        self.recipient_label.setWordWrap(True)
        form.addRow("For:", self.recipient_label)
        to_label = QLabel("&To:")
        to_label.setBuddy(self.to_edit)
        form.addRow(to_label, self.to_edit)
        form.addRow("", self.no_address_label)
        form.addRow("", self.problem_label("to"))
        subject_label = QLabel("S&ubject:")
        subject_label.setBuddy(self.subject_edit)
        form.addRow(subject_label, self.subject_edit)
        form.addRow("", self.problem_label("subject"))
        form.addRow("Attached:", self.attachment_label)
        form.addRow("", self.problem_label("attachment"))
        layout.addLayout(form)
        body_label = QLabel("&Message:")
        body_label.setBuddy(self.body_edit)
        layout.addWidget(body_label)
        layout.addWidget(self.body_edit, 1)
        layout.addWidget(self.problem_label("body"))

    def send(self) -> bool:
        """Queue the email as it reads now; True when queued (the window then closes).

        A refusal is shown at its field and nothing is queued.
        """
        if not self.configured or self.outbox_id is not None:
            return False
        try:
            attachment = self._pdf() if self._pdf is not None else None
            outbox_id = self._clinic.queue_email(
                self.draft,
                attachment,
                to=self.to_edit.text().strip(),
                subject=self.subject_edit.text(),
                body=self.body_edit.toPlainText(),
            )
        except BillingError as exc:
            self.show_problem(exc)
            return False
        self.outbox_id = outbox_id
        self.queued.emit(outbox_id)
        if self._after_queue is not None:
            self._after_queue(outbox_id)
        for hook in list(_after_queue_hooks):
            hook(outbox_id)
        email_events().queued.emit(outbox_id)
        self.accept()
        return True

    def sent_text(self) -> str:
        """What the window that opened this one says once the email is queued."""
        to = self.to_edit.text().strip() if self.configured else ""
        return f"Email to {to} is in the outbox; it is sent in the background."
