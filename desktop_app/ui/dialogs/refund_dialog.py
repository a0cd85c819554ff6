"""Refund account credit: some or all of a patient's credit (or a payer's), by one of the payment
types."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtWidgets import QComboBox

from desktop_app.ui.dialogs.money_action_base import (
    PatientCreditDialog,
    date_edit,
    plain_amount,
    reason_edit,
    tab_chain,
)
from desktop_app.ui.forms import pydate
from desktop_app.ui.widgets.money_edit import MoneyEdit


class RefundDialog(PatientCreditDialog):
    """Refund some or all of a patient's account credit by one of the clinic's payment types.

    ``saved_id`` holds the refund's id (a payment of kind ``refund``) once it is saved.
    """

    discard_question = "Discard this refund?"

    TITLE = "Refund account credit"
    REQUEST_PREFIX = "refund"
    AMOUNT_WHAT = "the refund"
    NOTHING_TO = "refund"
    #: Who holds the credit (the heading's accessible name).
    HOLDER = "Patient"

    def _fill(self) -> None:
        self.amount_edit.setText(plain_amount(self._credit) if self._credit > 0 else "")

    def _focus_first(self) -> None:
        self.amount_edit.setFocus()
        self.amount_edit.selectAll()

    def _build(self) -> None:
        layout, form = self._patient_form(self.HOLDER)
        self.amount_edit = MoneyEdit("Refund amount")
        self.amount_edit.textChanged.connect(self._on_amount_edit_text_changed)
        form.addRow("&Amount:", self.amount_edit)
        self.method_combo = QComboBox()
        self.method_combo.setAccessibleName("Refund method")
        self.method_combo.addItems(self._clinic.payment_types())
        form.addRow("&Method:", self.method_combo)
        self.date_edit = date_edit("Refund date")
        form.addRow("&Date:", self.date_edit)
        self.reason_edit = reason_edit("Reason for the refund", required=False)
        form.addRow("Rea&son:", self.reason_edit)
        layout.addLayout(form)
        self._add_message_and_buttons(layout, "&Refund", stretch=True)
        tab_chain(
            [
                self.amount_edit,
                self.method_combo,
                self.date_edit,
                self.reason_edit,
                self.save_button,
                self.cancel_button,
            ]
        )

    def _can_save(self) -> bool:
        return super()._can_save() and self.method_combo.count() > 0

    def _save(self) -> int:
        return self._clinic.refund_credit(
            self._patient_id,
            self.amount_edit.text().strip(),
            method=self.method_combo.currentText(),
            request_id=self.request_id,
            refund_date=pydate(self.date_edit.date()),
            reason=self.reason_edit.text().strip() or None,
        )


class PayerRefundDialog(RefundDialog):
    """Refund some or all of a third-party payer's credit (money it paid that no invoice took),
    by one of the clinic's payment types."""

    discard_question = "Discard this refund to a payer?"

    TITLE = "Refund a payer's credit"
    REQUEST_PREFIX = "payer-refund"
    HOLDER = "Payer"
    CREDIT_CAPTION = "Payer's credit available"

    def _read_holder(self) -> tuple[str, Decimal]:
        payer = self._clinic.payer(self._patient_id)
        return payer.name, payer.credit

    def _notice(self) -> str | None:
        return None if self._credit > 0 else f"{self._holder_name} holds no credit to refund."

    def _save(self) -> int:
        return self._clinic.refund_payer_credit(
            self._patient_id,
            self.amount_edit.text().strip(),
            method=self.method_combo.currentText(),
            request_id=self.request_id,
            refund_date=pydate(self.date_edit.date()),
            reason=self.reason_edit.text().strip() or None,
        )
