"""Money corrections: refund account credit, issue a credit note, transfer credit to another
patient, and one confirmation dialog for every undo (reversals, voids, removed applications).

Each dialog has its own module over :mod:`desktop_app.ui.dialogs.money_action_base`; this module
keeps the names importable from where they always were.
"""

from __future__ import annotations

from desktop_app.ui.dialogs.confirm_correction_dialog import ConfirmCorrectionDialog
from desktop_app.ui.dialogs.credit_note_dialog import CreditNoteDialog
from desktop_app.ui.dialogs.money_action_base import concerns_amount
from desktop_app.ui.dialogs.refund_dialog import RefundDialog
from desktop_app.ui.dialogs.transfer_dialog import MAX_MATCHES, TransferDialog

__all__ = [
    "MAX_MATCHES",
    "ConfirmCorrectionDialog",
    "CreditNoteDialog",
    "RefundDialog",
    "TransferDialog",
    "concerns_amount",
]
