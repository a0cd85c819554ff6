"""The main window's payer money actions (Tools menu): a payment from a payer, and refunding a
payer's credit.

"Payment from a payer…" opens the remittance dialog (any payer, its open invoices across
patients); "Enter payment" on an invoice billed to a payer opens it too, on that payer and that
invoice (the core takes a payer's invoice only from the payer's own payments). "Refund payer
credit…" returns money a payer paid that no invoice took. Remittances need
``Permission.PAYMENTS``, refunds ``Permission.REFUNDS`` (the core refuses the rest anyway).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QInputDialog, QMessageBox

from desktop_app.core import BillingError, Permission, PermissionDenied

if TYPE_CHECKING:
    from desktop_app.core import InvoiceRecord
    from desktop_app.ui.dialogs.refund_dialog import PayerRefundDialog
    from desktop_app.ui.dialogs.remittance_dialog import RemittanceDialog
    from desktop_app.ui.main_window import MainWindow


class PayerActions(QObject):
    """Payment from a payer and Refund payer credit for one window."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window

        def action(text: str, slot: Callable[[], object], shortcut: str = "") -> QAction:
            act = QAction(text, window)
            act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(lambda _checked=False: slot())
            act.setEnabled(False)  # until the clinic is open
            return act

        self.remittance_action = action(
            "&Payment from a payer…", self.enter_remittance, "Ctrl+Shift+Y"
        )
        self.refund_action = action("Refund payer cre&dit…", self.refund_payer_credit)
        #: The last dialog opened (for tests and screenshots).
        self.last_dialog: RemittanceDialog | PayerRefundDialog | None = None

    @property
    def actions(self) -> list[QAction]:
        """Every payer action, in menu order."""
        return [self.remittance_action, self.refund_action]

    def update(self, permissions: frozenset[Permission]) -> None:
        """Enable the actions for what the signed-in role may do."""
        self.remittance_action.setEnabled(Permission.PAYMENTS in permissions)
        self.refund_action.setEnabled(Permission.REFUNDS in permissions)

    # -- the actions --------------------------------------------------------------------------

    def remittance_dialog(
        self, payer_id: int | None = None, invoice_id: int | None = None
    ) -> RemittanceDialog:
        """A remittance dialog (not yet shown); refused (BillingError) when there is no payer."""
        from desktop_app.ui.dialogs.remittance_dialog import RemittanceDialog  # on first use

        window = self._window
        return RemittanceDialog(window.clinic, window.formatter, payer_id, invoice_id, window)

    def enter_remittance(
        self, payer_id: int | None = None, invoice_id: int | None = None
    ) -> int | None:
        """Enter a payment from a payer (``payer_id`` and its invoice ``invoice_id`` chosen
        first, if given); the saved payment's id, or None."""
        window = self._window
        try:
            dialog = self.remittance_dialog(payer_id, invoice_id)
        except (BillingError, PermissionDenied) as exc:
            QMessageBox.information(window, "Payment from a payer", str(exc))
            return None
        self.last_dialog = dialog
        if not dialog.exec() or dialog.saved_payment_id is None:
            return None
        window.refresh_after_change()
        window.statusBar().showMessage(
            f"Payment {dialog.saved_payment_id} from {dialog.payer_name} saved.", 10000
        )
        window.receipt_bar.offer(dialog.saved_payment_id, dialog.payer_name, None)
        return dialog.saved_payment_id

    def pay_invoice(self, invoice: InvoiceRecord) -> int | None:
        """Enter the payment of an invoice billed to a payer: the payer's remittance."""
        return self.enter_remittance(invoice.payer_id, invoice.id)

    def refund_payer_credit(self, payer_id: int | None = None) -> int | None:
        """Refund some or all of a payer's credit (the payer asked for, when several hold
        credit); the refund's id, or None."""
        from desktop_app.ui.dialogs.refund_dialog import PayerRefundDialog  # on first use

        window = self._window
        if payer_id is None:
            payer_id = self._choose_payer_with_credit()
            if payer_id is None:
                return None
        dialog = PayerRefundDialog(window.clinic, payer_id, window.formatter, window)
        self.last_dialog = dialog
        if not dialog.exec() or dialog.saved_id is None:
            return None
        window.refresh_after_change()
        window.statusBar().showMessage(f"Refund {dialog.saved_id} to a payer saved.", 10000)
        return dialog.saved_id

    def _choose_payer_with_credit(self) -> int | None:
        window = self._window
        holding = [p for p in window.clinic.payers(include_archived=True) if p.credit > 0]
        if not holding:
            QMessageBox.information(
                window, "Refund payer credit", "No payer holds credit to refund."
            )
            return None
        if len(holding) == 1:
            return holding[0].id
        names = [f"{p.name} ({window.formatter.money(p.credit)})" for p in holding]
        chosen, ok = QInputDialog.getItem(
            window, "Refund payer credit", "Payer whose credit to refund:", names, 0, False
        )
        return holding[names.index(chosen)].id if ok and chosen in names else None
