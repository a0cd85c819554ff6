"""The main window's corrections: refund and transfer credit, credit notes, voids, reversals and
removing one applied amount.

Each action works on what is selected in the patient panel, says exactly what will happen before
anything is saved, asks for a reason, and leaves the decision to the core (which refuses, with its
reason shown in the dialog, whatever would break the ledger).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QMenu, QWidget

from desktop_app.core import Permission

if TYPE_CHECKING:
    from desktop_app.core import (
        ApplicationRecord,
        Clinic,
        CreditNoteRecord,
        InvoiceRecord,
        PaymentRecord,
        TransferRecord,
    )
    from desktop_app.ui.formatting import Formatter


class Host(Protocol):
    """What the corrections need from the window: the clinic and what is selected."""

    @property
    def clinic(self) -> Clinic: ...

    formatter: Formatter

    @property
    def patient_id(self) -> int | None: ...

    @property
    def patient_archived(self) -> bool: ...

    def selected_invoice(self) -> InvoiceRecord | None: ...

    def selected_payment(self) -> PaymentRecord | None: ...

    def selected_credit_note(self) -> CreditNoteRecord | None: ...

    def selected_transfer(self) -> TransferRecord | None: ...

    def refresh_after_change(self) -> None: ...


class CorrectionActions(QObject):
    """The correction actions of one window, enabled to match the current selection."""

    def __init__(self, host: Host, window: QWidget) -> None:
        super().__init__(window)
        self._host = host
        self._window = window

        def action(text: str, slot: Callable[[], object], shortcut: str = "") -> QAction:
            act = QAction(text, window)
            if shortcut:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(lambda _checked=False: slot())
            return act

        self.refund_action = action("&Refund credit…", self.refund_credit, "Ctrl+Shift+R")
        self.transfer_action = action("&Transfer credit…", self.transfer_credit, "Ctrl+Shift+T")
        self.credit_note_action = action("Credit &note…", self.credit_note)
        self.void_action = action("&Void invoice…", self.void_invoice)
        self.reverse_payment_action = action("Reverse pa&yment…", self.reverse_payment)
        self.reverse_credit_note_action = action("Reverse credit note…", self.reverse_credit_note)
        self.reverse_transfer_action = action("Reverse transfer…", self.reverse_transfer)
        #: One entry per amount the selected payment still applies to an invoice.
        self.remove_menu = QMenu("Re&move from invoice", window)
        self.remove_menu.aboutToShow.connect(self._fill_remove_menu)
        #: The last dialog opened (for tests and for screenshots).
        self.last_dialog: QDialog | None = None
        self.update()

    @property
    def actions(self) -> list[QAction]:
        """Every correction action, in menu order."""
        return [
            self.refund_action,
            self.transfer_action,
            self.credit_note_action,
            self.void_action,
            self.reverse_payment_action,
            self.reverse_credit_note_action,
            self.reverse_transfer_action,
        ]

    def update(self) -> None:
        """Enable each action only where it can apply to what is selected."""
        has_patient = self._host.patient_id is not None
        # What the signed-in role may not do stays disabled (the core refuses it anyway), and
        # so does every correction on an archived patient (no money moves on them).
        allowed = (
            self._host.clinic.permissions()
            if has_patient and not self._host.patient_archived
            else frozenset()
        )
        fixes = Permission.CORRECTIONS in allowed
        invoice = self._host.selected_invoice() if fixes else None
        payment = self._host.selected_payment() if fixes else None
        note = self._host.selected_credit_note() if fixes else None
        transfer = self._host.selected_transfer() if fixes else None
        self.refund_action.setEnabled(Permission.REFUNDS in allowed)
        self.transfer_action.setEnabled(fixes)
        issued = invoice is not None and invoice.status not in ("void", "draft")
        self.credit_note_action.setEnabled(issued)  # a draft is changed or deleted instead
        self.void_action.setEnabled(issued)
        self.reverse_payment_action.setEnabled(payment is not None and not payment.reversed)
        self.remove_menu.setEnabled(
            payment is not None and any(not a.removed for a in payment.applications)
        )
        self.reverse_credit_note_action.setEnabled(note is not None and not note.reversed)
        self.reverse_transfer_action.setEnabled(transfer is not None and not transfer.reversed)

    # -- helpers ------------------------------------------------------------------------------

    def _money(self, amount: Decimal) -> str:
        return self._host.formatter.money(amount)

    def _run(self, dialog: QDialog) -> bool:
        self.last_dialog = dialog
        saved = bool(dialog.exec())
        if saved:
            self._host.refresh_after_change()
        return saved

    def _confirm(
        self, title: str, explanation: str, label: str, perform: Callable[[str], None]
    ) -> bool:
        from desktop_app.ui.dialogs.money_actions import ConfirmCorrectionDialog

        return self._run(ConfirmCorrectionDialog(title, explanation, label, perform, self._window))

    # -- the actions --------------------------------------------------------------------------

    def refund_credit(self) -> bool:
        """Refund some or all of the patient's credit."""
        from desktop_app.ui.dialogs.money_actions import RefundDialog

        pid = self._host.patient_id
        if pid is None:
            return False
        return self._run(RefundDialog(self._host.clinic, pid, self._host.formatter, self._window))

    def transfer_credit(self) -> bool:
        """Move some of the patient's credit to another patient."""
        from desktop_app.ui.dialogs.money_actions import TransferDialog

        pid = self._host.patient_id
        if pid is None:
            return False
        return self._run(TransferDialog(self._host.clinic, pid, self._host.formatter, self._window))

    def credit_note(self) -> bool:
        """Credit all or part of the selected invoice."""
        from desktop_app.ui.dialogs.money_actions import CreditNoteDialog

        invoice = self._host.selected_invoice()
        if invoice is None:
            return False
        return self._run(
            CreditNoteDialog(self._host.clinic, invoice.id, self._host.formatter, self._window)
        )

    def void_invoice(self) -> bool:
        """Void the selected invoice after saying what happens to what was paid on it."""
        invoice = self._host.selected_invoice()
        if invoice is None:
            return False
        text = f"Invoice #{invoice.number} ({self._money(invoice.total)}) will be void: nothing is "
        text += "owed on it any more."
        if invoice.paid:
            holder = (
                "account credit"
                if invoice.payer_id is None
                else f"{self._host.clinic.payer(invoice.payer_id).name}'s credit"
            )
            text += f" The {self._money(invoice.paid)} paid on it returns to {holder}."
        clinic = self._host.clinic
        return self._confirm(
            f"Void invoice #{invoice.number}",
            text,
            "Void invoice",
            lambda reason: clinic.void_invoice(invoice.id, reason),
        )

    def reverse_payment(self) -> bool:
        """Reverse (archive) the selected payment or refund."""
        payment = self._host.selected_payment()
        if payment is None:
            return False
        live = [a for a in payment.applications if not a.removed]
        applied = sum((a.amount for a in live), Decimal(0))
        if payment.kind == "refund":
            title = f"Reverse refund {payment.id}"
            text = (
                f"Refund {payment.id} ({self._money(-payment.total)}) will be reversed: the "
                f"{self._money(-payment.total)} returns to the patient's account credit."
            )
        else:
            title = f"Reverse payment {payment.id}"
            text = f"Payment {payment.id} ({self._money(payment.total)}) will be archived."
            if live:
                invoices = ", ".join(f"#{a.invoice_number} ({self._money(a.amount)})" for a in live)
                text += f" These invoices reopen: {invoices}."
            change = applied - payment.total
            if change < 0:
                text += f" {self._money(-change)} of account credit it left is taken back."
            elif change > 0:
                text += f" {self._money(change)} of account credit it used comes back."
        clinic = self._host.clinic
        return self._confirm(
            title, text, "Reverse", lambda reason: clinic.reverse_payment(payment.id, reason)
        )

    def remove_application(self, application: ApplicationRecord, payment_id: int) -> bool:
        """Take one applied amount off its invoice; the amount returns to account credit."""
        amount = self._money(application.amount)
        text = (
            f"{amount} of payment {payment_id} comes off invoice #{application.invoice_number}, "
            f"which reopens. The {amount} returns to the patient's account credit (the payment "
            "itself stays)."
        )
        clinic = self._host.clinic
        return self._confirm(
            f"Remove from invoice #{application.invoice_number}",
            text,
            "Remove",
            lambda reason: clinic.remove_application(application.id, reason),
        )

    def reverse_credit_note(self) -> bool:
        """Reverse the selected credit note."""
        note = self._host.selected_credit_note()
        if note is None:
            return False
        text = f"Credit note CN-{note.number} ({self._money(note.amount)}) will be reversed."
        if note.applied:
            text += f" Invoice #{note.invoice_number} owes {self._money(note.applied)} again."
        if note.to_credit:
            text += f" {self._money(note.to_credit)} of account credit is taken back."
        clinic = self._host.clinic
        return self._confirm(
            f"Reverse credit note CN-{note.number}",
            text,
            "Reverse",
            lambda reason: clinic.reverse_credit_note(note.id, reason),
        )

    def reverse_transfer(self) -> bool:
        """Send the selected transfer's credit back."""
        transfer = self._host.selected_transfer()
        if transfer is None:
            return False
        text = (
            f"The {self._money(transfer.amount)} transferred from {transfer.from_name} to "
            f"{transfer.to_name} goes back to {transfer.from_name}."
        )
        clinic = self._host.clinic
        return self._confirm(
            f"Reverse transfer {transfer.id}",
            text,
            "Reverse",
            lambda reason: clinic.reverse_transfer(transfer.id, reason),
        )

    def _fill_remove_menu(self) -> None:
        self.remove_menu.clear()
        payment = self._host.selected_payment()
        if payment is None:
            return
        for app in payment.applications:
            if app.removed:
                continue
            act = self.remove_menu.addAction(
                f"{self._money(app.amount)} from invoice #{app.invoice_number}…"
            )
            act.triggered.connect(
                lambda _checked=False, a=app, p=payment.id: self.remove_application(a, p)
            )
