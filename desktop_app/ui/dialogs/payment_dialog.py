"""Enter payment: sources, account credit, "Apply to invoices", and a live preview of the outcome.

The dialog reads the patient's figures once (a :class:`~desktop_app.core.PaymentDraft`) and
previews every keystroke in memory. Save records exactly the preview shown, with one request id per
dialog, so a double click records one payment. If another computer changed the patient's account
meanwhile, the save is refused, the figures are read again and the dialog says why. The cycle and
the pieces are :mod:`desktop_app.ui.dialogs.payment_entry`'s, shared with a payer's remittance.
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BillingError, PaymentPreview
from desktop_app.ui.dialogs.payment_entry import PaymentEntryDialog, big
from desktop_app.ui.style import INFO_TONE, set_tone

if TYPE_CHECKING:
    from desktop_app.core import Clinic
    from desktop_app.ui.formatting import Formatter


class PaymentDialog(PaymentEntryDialog):
    """The payment dialog for one patient, optionally entered from one of their invoices.

    Signals:
        saved(int): the id of the payment just recorded.
    """

    discard_question = "Discard this payment?"

    def __init__(
        self,
        clinic: Clinic,
        formatter: Formatter,
        patient_id: int,
        source_invoice: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        draft = clinic.payment_draft(patient_id, source_invoice)
        super().__init__(clinic, formatter, draft, parent)
        self._patient_id = patient_id
        self._source_invoice = source_invoice
        self.setWindowTitle(f"Enter payment: {self._draft.patient_name}")
        self.setMinimumSize(820, 640)
        self._build()
        self._load_draft()

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        title = QLabel(self._draft.patient_name)
        title.setWordWrap(True)
        title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout.addWidget(big(title, 1.3))
        self.source_label = QLabel()
        layout.addWidget(self.source_label)

        credit_row = QHBoxLayout()
        credit_row.addWidget(self._credit_box(), 1)
        sources_box = QGroupBox("Payment sources")
        sources_form = QFormLayout(sources_box)
        self._add_sources(sources_form)
        hint = QLabel("Leave every source empty to pay from account credit only.")
        set_tone(hint, INFO_TONE)
        hint.setWordWrap(True)
        sources_form.addRow(hint)
        credit_row.addWidget(sources_box, 1)
        layout.addLayout(credit_row)

        apply_box = QGroupBox("Apply to invoices")
        apply_layout = QVBoxLayout(apply_box)
        apply_layout.addWidget(self._mode_label())
        apply_layout.addWidget(self._apply_table(self.allocation_model))
        layout.addWidget(apply_box, 1)
        layout.addWidget(self._summary_box())
        message, buttons = self._message_and_buttons("&Save payment")
        layout.addWidget(message)
        layout.addWidget(buttons)

        chain: list[QWidget] = [self.date_edit, *self.source_edits.values(), self.table]
        for first, second in pairwise(chain):
            QWidget.setTabOrder(first, second)
        QWidget.setTabOrder(self.table, self.save_button)
        if self.source_edits:
            next(iter(self.source_edits.values())).setFocus()

    # -- state ------------------------------------------------------------------------------

    def _load_draft(self) -> None:
        draft = self._draft
        source = next((inv for inv in draft.open_invoices if inv.id == self._source_invoice), None)
        self.source_label.setText(
            f"Entered from invoice #{source.number}" if source else "Entered from the patient"
        )
        self.credit_available_label.setText(self._money(draft.credit_available))
        self.allocation_model.set_invoices(draft.open_invoices)
        self._refresh()

    def _record(self, preview: PaymentPreview) -> int:
        return self._clinic.record_payment(preview, self._request_id)

    def _reload_after_change(self, reason: str) -> None:
        day = self._draft.payment_date
        source = self._source_invoice
        if source is not None and source not in {i.id for i in self._draft.open_invoices}:
            source = None
        try:
            self._draft = self._clinic.payment_draft(self._patient_id, source, payment_date=day)
        except BillingError:
            self._source_invoice = None
            self._draft = self._clinic.payment_draft(self._patient_id, None, payment_date=day)
        else:
            self._source_invoice = source
        self._notice = f"{reason} The figures below are now up to date."
        self._load_draft()
