"""The invoice window's "Who pays" box: the patient, or one of the patient's payers, and a split.

"Bill to" offers the patient and the active payers of the patient's memberships, the membership
marked for new invoices chosen first while it is valid on the service date. With a payer chosen,
the payer's claim reference is asked for under the payer's own name for it ("Claim number",
"Purchase order", ...). "Split with the payer" bills the payer a share of the visit, an amount
("60.00") or a percentage ("80%"), and the patient the gap; what each side pays is shown before
saving. The core splits the lines and saves both invoices (:meth:`Clinic.create_split_invoice`)
and has the last word on the share: its refusal is shown at the share.

The live figures come from :func:`split_totals`, the core's rule for the payer's part
(:func:`desktop_app.core.payer_share`: a percentage of the total rounded half up to the cent,
an amount no more than the total), so the window and the save never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QWidget,
)

from desktop_app.core import BillingError, payer_share, to_decimal
from desktop_app.ui.forms import mark_field
from desktop_app.ui.style import PROBLEM_TONE, set_tone
from desktop_app.ui.widgets.money_edit import MoneyEdit

if TYPE_CHECKING:
    from desktop_app.core import Clinic, InvoiceRecord
    from desktop_app.ui.formatting import Formatter

#: The longest claim reference the core keeps.
MAX_CLAIM = 60
#: The field names of the core's refusals this box shows at its own fields.
SHARE_FIELD = "payer_share"
CLAIM_FIELD = "claim_reference"
PAYER_FIELDS = frozenset({"bill_to", "payer"})


def split_totals(share: str, total_minor: int, currency: str) -> tuple[int, int]:
    """``(the payer's part, the patient's gap)`` of ``total_minor`` for the share typed: an
    amount or a percentage, by the core's own rule (:func:`payer_share`). Refused
    (BillingError, in the core's words) when it is negative, more than the total or not a
    number."""
    part = payer_share(share.strip(), total_minor, currency)
    return part, total_minor - part


@dataclass(frozen=True, slots=True)
class PayerChoice:
    """A payer "Bill to" offers: its id, name and what it calls its claim references."""

    id: int
    name: str
    reference_label: str


class BillToBox(QGroupBox):
    """Who pays a patient's invoice; ``changed`` fires on every choice and keystroke."""

    changed = Signal()

    def __init__(
        self,
        clinic: Clinic,
        formatter: Formatter,
        patient_id: int,
        patient_name: str,
        day: date,
        invoice: InvoiceRecord | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Who pays", parent)
        self._formatter = formatter
        self._currency = clinic.currency
        self._patient_name = patient_name
        self._payers: dict[int, PayerChoice] = {}
        self._total_minor: int | None = None
        self._split_error: str | None = None
        grid = QGridLayout(self)
        self.bill_to_combo = QComboBox()
        self.bill_to_combo.setAccessibleName("Bill to")
        self.bill_to_combo.addItem(f"{patient_name} (the patient)", None)
        chosen = self._offer_payers(clinic, patient_id, day, invoice)
        self.bill_to_combo.setCurrentIndex(max(self.bill_to_combo.findData(chosen), 0))
        bill_to_label = QLabel("&Bill to:")
        bill_to_label.setBuddy(self.bill_to_combo)
        grid.addWidget(bill_to_label, 0, 0)
        grid.addWidget(self.bill_to_combo, 0, 1)
        self.claim_label = QLabel()
        self.claim_edit = QLineEdit()
        self.claim_edit.setMaxLength(MAX_CLAIM)
        self.claim_edit.setPlaceholderText("The payer's reference for this visit")
        self.claim_label.setBuddy(self.claim_edit)
        grid.addWidget(self.claim_label, 0, 2)
        grid.addWidget(self.claim_edit, 0, 3)
        self.split_check = QCheckBox("&Split with the payer")
        self.split_check.setToolTip(
            "The payer pays a share of the visit and the patient the gap: two invoices, issued "
            "together."
        )
        grid.addWidget(self.split_check, 1, 0, 1, 2)
        self.share_label = QLabel("Payer pa&ys:")
        self.share_edit = MoneyEdit("Payer's share")
        self.share_edit.setPlaceholderText("80% or 60.00")
        self.share_label.setBuddy(self.share_edit)
        grid.addWidget(self.share_label, 1, 2)
        grid.addWidget(self.share_edit, 1, 3)
        self.split_label = QLabel()
        self.split_label.setAccessibleName("What each side pays")
        self.split_label.setWordWrap(True)
        bold = QFont(self.split_label.font())
        bold.setBold(True)
        self.split_label.setFont(bold)
        grid.addWidget(self.split_label, 2, 0, 1, 4)
        grid.setColumnStretch(1, 2)
        grid.setColumnStretch(3, 1)
        if invoice is not None:  # a correction: billed to someone else (a declined claim)
            self.claim_edit.setText(invoice.claim_reference or "")
            self.bill_to_combo.setToolTip(
                "Bill the patient when the payer declines the claim, or another of their "
                "payers: while nothing is paid on the invoice."
            )
            self.split_check.setEnabled(False)
            self.split_check.setToolTip("A visit is split when it is first invoiced.")
        self.bill_to_combo.currentIndexChanged.connect(self._on_choice_changed)
        self.claim_edit.textEdited.connect(self._on_claim_edit_text_edited)
        self.split_check.toggled.connect(self._on_choice_changed)
        self.share_edit.textEdited.connect(self._on_share_edit_text_edited)
        self._show_choice()

    def _offer_payers(
        self, clinic: Clinic, patient_id: int, day: date, invoice: InvoiceRecord | None
    ) -> int | None:
        """Add the patient's active payers to "Bill to"; the one to choose first."""
        active = {p.id: p for p in clinic.payers()}
        chosen: int | None = None
        for membership in clinic.memberships(patient_id):
            payer = active.get(membership.payer_id)
            if payer is None or payer.id in self._payers:
                continue
            self._payers[payer.id] = PayerChoice(payer.id, payer.name, payer.reference_label)
            text = payer.name
            if membership.member_number:
                text += f" (member {membership.member_number})"
            if not membership.valid_on(day):
                text += ": not valid on this day"
            self.bill_to_combo.addItem(text, payer.id)
            if membership.default_for_invoices and membership.valid_on(day):
                chosen = payer.id
        if invoice is not None:
            chosen = invoice.payer_id
            if chosen is not None and chosen not in self._payers:  # archived, or not a member
                payer = clinic.payer(chosen)
                self._payers[chosen] = PayerChoice(chosen, payer.name, payer.reference_label)
                self.bill_to_combo.addItem(payer.name, chosen)
        return chosen

    # -- what was chosen --------------------------------------------------------------------

    @property
    def payer(self) -> PayerChoice | None:
        """The payer billed (None: the patient)."""
        value = self.bill_to_combo.currentData()
        return self._payers.get(value) if isinstance(value, int) else None

    @property
    def claim_reference(self) -> str | None:
        """The claim reference typed (None when none, or when the patient is billed)."""
        return (self.claim_edit.text().strip() or None) if self.payer is not None else None

    @property
    def split(self) -> bool:
        """Whether the visit is split between the payer and the patient."""
        return self.payer is not None and self.split_check.isChecked()

    @property
    def share(self) -> str:
        """The payer's share as typed."""
        return self.share_edit.text().strip()

    @property
    def problem(self) -> str | None:
        """Why the split cannot be saved as it stands (None: it can, or there is none)."""
        return self._split_error if self.split else None

    def choose(self, payer_id: int | None) -> None:
        """Bill ``payer_id`` (None: the patient)."""
        self.bill_to_combo.setCurrentIndex(max(self.bill_to_combo.findData(payer_id), 0))

    # -- showing ----------------------------------------------------------------------------

    def set_total(self, total_minor: int | None) -> None:
        """The invoice's total (None while a line is refused): what the split shares out."""
        self._total_minor = total_minor
        self._show_split()

    def refused(self, refusal: BillingError) -> bool:
        """Mark the field of this box a refusal is about; True if it was one of them."""
        if refusal.field == SHARE_FIELD and self.split:
            self._show_split()
            self._split_error = str(refusal)
            self.share_edit.set_error(str(refusal))
            self.split_label.setText(str(refusal))
            set_tone(self.split_label, PROBLEM_TONE)
            self.share_edit.setFocus()
            return True
        if refusal.field == CLAIM_FIELD:
            mark_field(self.claim_edit, str(refusal))
            self.claim_edit.setFocus()
            return True
        if refusal.field in PAYER_FIELDS:
            mark_field(self.bill_to_combo, str(refusal))
            return True
        return False

    def _show_choice(self) -> None:
        payer = self.payer
        self.claim_label.setVisible(payer is not None)
        self.claim_edit.setVisible(payer is not None)
        if payer is not None:
            self.claim_label.setText(f"{payer.reference_label}:")
            self.claim_edit.setAccessibleName(payer.reference_label)
        self.split_check.setVisible(payer is not None)
        for widget in (self.share_label, self.share_edit):
            widget.setVisible(self.split)
        mark_field(self.bill_to_combo, None)
        self._show_split()

    def _show_split(self) -> None:
        payer = self.payer
        self._split_error = None
        self.share_edit.set_error(None)
        set_tone(self.split_label, None)
        if payer is None or not self.split:
            self.split_label.setText(
                "" if payer is None else f"{payer.name} is billed the whole visit."
            )
            return
        if not self.share:
            self.split_label.setText("Type the payer's share: 80% or an amount.")
            return
        if self._total_minor is None:
            self.split_label.setText("")
            return
        try:
            part, gap = split_totals(self.share, self._total_minor, self._currency)
        except BillingError as exc:
            self._split_error = str(exc)
            self.share_edit.set_error(str(exc))
            self.split_label.setText(str(exc))
            set_tone(self.split_label, PROBLEM_TONE)
            return
        money = self._formatter.money
        self.split_label.setText(
            f"{payer.name} pays {money(to_decimal(part, self._currency))};  "
            f"{self._patient_name} pays {money(to_decimal(gap, self._currency))} (the gap)."
        )

    # -- slots ------------------------------------------------------------------------------

    def _on_choice_changed(self, *_args: object) -> None:
        self._show_choice()
        self.changed.emit()

    def _on_claim_edit_text_edited(self, _text: str) -> None:
        mark_field(self.claim_edit, None)
        self.changed.emit()

    def _on_share_edit_text_edited(self, _text: str) -> None:
        self._show_split()
        self.changed.emit()
