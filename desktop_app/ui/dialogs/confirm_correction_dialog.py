"""Confirm an undo (a reversal, a void, a removed application) with a reason, or show why not."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFormLayout, QLabel, QVBoxLayout, QWidget

from desktop_app.core import BillingError, PermissionDenied
from desktop_app.ui.dialogs.money_action_base import (
    MIN_WIDTH,
    action_buttons,
    problem_label,
    reason_edit,
    show_message,
    tab_chain,
)


class ConfirmCorrectionDialog(QDialog):
    """Confirm an undo (reverse a payment, refund, credit note or transfer; void an invoice;
    remove one applied amount) with a reason.

    ``perform(reason)`` does the work. When it raises :class:`BillingError` the core's explanation
    (for example, which invoices used the credit) is shown and the dialog stays open; otherwise the
    dialog is accepted. Cancel is the default button, so Enter never undoes anything by accident.
    """

    def __init__(
        self,
        title: str,
        explanation: str,
        action_label: str,
        perform: Callable[[str], None],
        parent: QWidget | None = None,
        *,
        reason_required: bool = True,
    ) -> None:
        super().__init__(parent)
        self._perform = perform
        self._reason_required = reason_required
        self.performed = False
        self.setWindowTitle(title)
        self.setMinimumWidth(MIN_WIDTH)
        layout = QVBoxLayout(self)
        self.explanation_label = QLabel(explanation)
        self.explanation_label.setWordWrap(True)
        self.explanation_label.setAccessibleName("What will happen")
        self.explanation_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.explanation_label)
        form = QFormLayout()
        self.reason_edit = reason_edit("Reason", required=reason_required)
        self.reason_edit.textChanged.connect(self._on_reason_edit_text_changed)
        form.addRow("&Reason:", self.reason_edit)
        layout.addLayout(form)
        self.message_label = problem_label()
        layout.addWidget(self.message_label)
        layout.addStretch(1)
        buttons, self.action_button, self.cancel_button = action_buttons(action_label)
        self.action_button.setAutoDefault(False)
        self.cancel_button.setDefault(True)
        self.action_button.clicked.connect(self._on_action_button_clicked)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        tab_chain([self.reason_edit, self.action_button, self.cancel_button])
        self.reason_edit.setFocus()
        self._refresh()

    def _refresh(self) -> None:
        self.action_button.setEnabled(
            not self.performed
            and (not self._reason_required or bool(self.reason_edit.text().strip()))
        )

    def _on_reason_edit_text_changed(self, _text: str) -> None:
        show_message(self.message_label, "")
        self._refresh()

    def _on_action_button_clicked(self) -> None:
        if self.performed:
            return
        reason = self.reason_edit.text().strip()
        if self._reason_required and not reason:
            return
        self.action_button.setEnabled(False)
        try:
            self._perform(reason)
        except PermissionDenied as exc:  # the account was disabled or its role lowered meanwhile
            show_message(self.message_label, str(exc))
            return
        except BillingError as exc:
            show_message(self.message_label, str(exc))
            self._refresh()
            return
        self.performed = True
        self.accept()
