"""Enter payment from a payer: one remittance over the payer's open invoices across its patients.

A health fund, an insurer or a scheme pays many patients' invoices at once and prints a
remittance reference on its advice. Staff choose the payer, type the reference, the date and the
money received by payment type, and type what the advice pays on each invoice (or let automatic
allocation spread it, as the patient's payment dialog does). Every keystroke previews the outcome
in memory; money not applied becomes the payer's credit. The list is searched by patient, claim
reference or invoice number (the core's search, :meth:`Clinic.payer_open_invoices`); a search only
hides rows, so amounts typed on hidden invoices still count.

A reference already recorded for the payer is warned about as it is typed, and asked about again
on Save (a remittance keyed twice is the usual mistake; a second payment under the same reference
is still allowed). Save records exactly the preview shown under one request id per dialog: a
double-pressed Save records one payment. The cycle is :class:`PaymentEntryDialog`'s.
"""

from __future__ import annotations

import dataclasses
from itertools import pairwise
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BillingError, PaymentPreview
from desktop_app.ui.dialogs.payment_entry import PaymentEntryDialog
from desktop_app.ui.forms import mark_field
from desktop_app.ui.models.allocation import (
    CLAIM,
    INVOICE,
    ISSUED,
    PATIENT,
    PAYER_COLUMNS,
    InvoiceFilter,
)
from desktop_app.ui.style import PROBLEM_TONE, WARNING_TONE

if TYPE_CHECKING:
    from desktop_app.core import Clinic, PayerRecord, PaymentDraft
    from desktop_app.ui.formatting import Formatter

#: Typing in the search or the reference waits this long for a pause before asking the database.
PAUSE_MS = 200
#: The longest remittance reference the core keeps.
MAX_REFERENCE = 100
COLUMN_WIDTHS = {INVOICE: 80, CLAIM: 120, ISSUED: 100}


class RemittanceDialog(PaymentEntryDialog):
    """A payer's remittance: money received once, applied to its invoices across patients.

    ``payer_id`` is the payer chosen first (None: the first active payer); ``invoice_id`` an
    invoice of that payer to start on (its row is selected, ready to type its amount).

    Signals:
        saved(int): the id of the payment just recorded.
    """

    discard_question = "Discard this payment from a payer?"
    REQUEST_PREFIX = "remittance"
    COLUMNS = PAYER_COLUMNS

    def __init__(
        self,
        clinic: Clinic,
        formatter: Formatter,
        payer_id: int | None = None,
        invoice_id: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        self._payers: list[PayerRecord] = clinic.payers()
        if not self._payers:
            raise BillingError(
                "There are no payers yet: add them in Settings > Payers first.", field="payer"
            )
        known = {payer.id for payer in self._payers}
        self._payer = payer_id if payer_id in known else self._payers[0].id
        #: The payer's invoice the payment was entered from (the source-invoice mode pays it).
        self._source_invoice = invoice_id if self._payer == payer_id else None
        try:
            first = clinic.payer_payment_draft(self._payer, source_invoice=self._source_invoice)
        except BillingError:  # paid or voided meanwhile: entered from nothing in particular
            self._source_invoice = None
            first = clinic.payer_payment_draft(self._payer)
        super().__init__(clinic, formatter, first, parent)
        #: Ids of payments already recorded with the reference typed (warned, not refused),
        #: and the warning that says when.
        self._earlier: list[int] = []
        self._earlier_text = ""
        self._reference_problem: str | None = None
        self._reference_timer = QTimer(self, singleShot=True, interval=PAUSE_MS)
        self._reference_timer.timeout.connect(self._check_reference)
        self._search_timer = QTimer(self, singleShot=True, interval=PAUSE_MS)
        self._search_timer.timeout.connect(self.apply_search)
        self.setWindowTitle("Enter payment from a payer")
        self.setMinimumSize(980, 600)
        self.resize(1180, 700)
        self._build()
        self._load_draft()
        if invoice_id is not None:
            self.select_invoice(invoice_id)

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        remittance_box = QGroupBox("Remittance")
        remittance_form = QFormLayout(remittance_box)
        self.payer_combo = QComboBox()
        self.payer_combo.setAccessibleName("Payer")
        for payer in self._payers:
            self.payer_combo.addItem(payer.name, payer.id)
        self.payer_combo.setCurrentIndex(self.payer_combo.findData(self._payer))
        self.payer_combo.currentIndexChanged.connect(self._on_payer_combo_current_index_changed)
        remittance_form.addRow("Pa&yer:", self.payer_combo)
        self.reference_edit = QLineEdit()
        self.reference_edit.setAccessibleName("Remittance reference")
        self.reference_edit.setPlaceholderText("As printed on the payer's advice")
        self.reference_edit.setMaxLength(MAX_REFERENCE)
        self.reference_edit.textEdited.connect(self._on_reference_edit_text_edited)
        remittance_form.addRow("&Reference:", self.reference_edit)
        sources_box = QGroupBox("Money received")
        sources_form = QFormLayout(sources_box)
        self._add_sources(sources_form, remittance_form)
        credit = self._credit_box()
        left = QVBoxLayout()
        left.addWidget(remittance_box)
        left.addWidget(credit)
        left.addStretch(1)
        top.addLayout(left, 3)
        top.addWidget(sources_box, 3)
        top.addWidget(self._summary_box(), 4)
        layout.addLayout(top)

        apply_box = QGroupBox("Apply to the payer's invoices")
        apply_layout = QVBoxLayout(apply_box)
        apply_layout.addWidget(self._mode_label())
        search_row = QHBoxLayout()
        self.search_edit = QLineEdit()
        self.search_edit.setAccessibleName("Search the payer's invoices")
        self.search_edit.setPlaceholderText("Patient, claim reference or invoice number")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self._on_search_edit_text_changed)
        self.search_edit.returnPressed.connect(self._on_search_edit_return_pressed)
        search_label = QLabel("F&ind:")
        search_label.setBuddy(self.search_edit)
        self.shown_label = QLabel()
        self.shown_label.setAccessibleName("Invoices shown")
        search_row.addWidget(search_label)
        search_row.addWidget(self.search_edit, 1)
        search_row.addSpacing(12)
        search_row.addWidget(self.shown_label)
        apply_layout.addLayout(search_row)
        self.invoice_filter = InvoiceFilter(self.allocation_model, self)
        table = self._apply_table(self.invoice_filter)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setDefaultSectionSize(105)
        for kind, width in COLUMN_WIDTHS.items():
            header.resizeSection(self.allocation_model.column_of(kind), width)
        header.setSectionResizeMode(
            self.allocation_model.column_of(PATIENT), QHeaderView.ResizeMode.Stretch
        )
        apply_layout.addWidget(table, 1)
        layout.addWidget(apply_box, 1)
        message, buttons = self._message_and_buttons("&Save payment")
        layout.addWidget(message)
        layout.addWidget(buttons)

        chain: list[QWidget] = [
            self.payer_combo,
            self.reference_edit,
            self.date_edit,
            *self.source_edits.values(),
            self.search_edit,
            self.table,
            self.save_button,
        ]
        for first, second in pairwise(chain):
            QWidget.setTabOrder(first, second)
        self.reference_edit.setFocus()

    # -- the words --------------------------------------------------------------------------

    @property
    def payer_name(self) -> str:
        """The name of the payer chosen."""
        return next(p.name for p in self._payers if p.id == self._payer)

    @property
    def payer_id(self) -> int:
        """The payer chosen."""
        return self._payer

    def _credit_name(self) -> str:
        return f"{self.payer_name}'s credit"

    def _owner(self) -> str:
        return self.payer_name

    def _to_credit_caption(self) -> str:
        return f"Becomes {self._credit_name()}:"

    def _leftover_text(self, preview: PaymentPreview) -> str:
        return (
            f"{self._money(preview.plan.to_credit)} becomes {self._credit_name()} while "
            f"{self.payer_name} still has invoices to pay. Apply it to them if that is meant."
        )

    # -- state ------------------------------------------------------------------------------

    def _load_draft(self) -> None:
        draft = self._draft
        self.credit_available_label.setText(self._money(draft.credit_available))
        self.allocation_model.set_currency(draft.currency)
        self.allocation_model.set_invoices(draft.open_invoices)
        self.allocation_model.set_details(
            {
                row.id: (row.patient_name, row.claim_reference or "")
                for row in self._clinic.payer_open_invoices(self._payer)
            }
        )
        self.apply_search()
        self._refresh()

    def _new_draft(self) -> PaymentDraft:
        """The chosen payer's figures read again, with the date and reference on screen."""
        try:
            draft = self._clinic.payer_payment_draft(
                self._payer,
                payment_date=self._draft.payment_date,
                source_invoice=self._source_invoice,
            )
        except BillingError:  # the invoice it was entered from is paid or void now
            self._source_invoice = None
            draft = self._clinic.payer_payment_draft(
                self._payer, payment_date=self._draft.payment_date
            )
        return dataclasses.replace(draft, reference=self._draft.reference)

    def _reload_after_change(self, reason: str) -> None:
        self._draft = self._new_draft()
        self._notice = f"{reason} The figures below are now up to date."
        self._load_draft()

    def _record(self, preview: PaymentPreview) -> int:
        return self._clinic.record_payer_payment(preview, request_id=self._request_id)

    def _can_save(self, preview: PaymentPreview | None) -> bool:
        return super()._can_save(preview) and self._reference_problem is None

    def _message(self, preview: PaymentPreview | None, problems: list[str]) -> tuple[str, str]:
        if self._reference_problem is not None:
            return self._reference_problem, PROBLEM_TONE
        text, tone = super()._message(preview, problems)
        if not text and preview is not None and preview.plan.to_credit > 0:
            text = f"{self._money(preview.plan.to_credit)} becomes {self._credit_name()}."
        warning = self.earlier_warning()
        if warning and tone != PROBLEM_TONE:
            return f"{warning} {text}".strip(), WARNING_TONE
        return text, tone

    def earlier_warning(self) -> str:
        """ "REM-1 was already recorded for Bupa on 3 Nov 2026 ($400.00); ...", or "" when the
        reference is new for this payer."""
        return self._earlier_text if self._earlier else ""

    def _describe_earlier(self) -> str:
        """The warning for the payments ``_earlier`` (read once per reference checked)."""
        when = []
        for payment_id in self._earlier:
            try:
                payment = self._clinic.payment(payment_id)
            except BillingError:
                continue
            money = self._formatter.money(payment.total)
            when.append(f"{self._formatter.day(payment.payment_date)} ({money})")
        recorded = " and ".join(when) if when else "another day"
        return (
            f"{self._draft.reference} was already recorded for {self.payer_name} on {recorded}: "
            "record it again only if the payer really paid twice."
        )

    # -- the reference ----------------------------------------------------------------------

    def _set_reference(self, text: str) -> None:
        """Carry the reference into the draft (the preview saves it) and check it after a
        pause."""
        self._draft = dataclasses.replace(self._draft, reference=text.strip() or None)
        self._reference_timer.start()

    def _check_reference(self) -> None:
        """Ask the core whether the reference is acceptable and already recorded."""
        self._reference_timer.stop()
        text = self.reference_edit.text()
        try:
            self._earlier = self._clinic.earlier_remittances(self._payer, text) if text else []
        except BillingError as exc:
            self._earlier = []
            self._reference_problem = str(exc)
            mark_field(self.reference_edit, str(exc))
        else:
            self._reference_problem = None
            mark_field(self.reference_edit, None)
        self._earlier_text = self._describe_earlier() if self._earlier else ""
        self._refresh()

    def _settle(self) -> None:
        if self._reference_timer.isActive():
            self._check_reference()

    def _confirm(self, preview: PaymentPreview) -> bool:
        if self._earlier and not self.confirm_again():
            return False
        return super()._confirm(preview)

    def confirm_again(self) -> bool:
        """Ask before recording a reference already recorded; True to record it again. "Go
        back" is the default."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Record this remittance again?")
        box.setText(f"{self.earlier_warning()} Record it again?")
        box.setInformativeText(
            "A remittance keyed twice pays the same invoices twice over. Go back to check the "
            "payer's advice, or record it again if this is a second payment."
        )
        again = box.addButton("Record again", QMessageBox.ButtonRole.AcceptRole)
        back = box.addButton("Go back", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(back)
        box.setEscapeButton(back)
        box.exec()
        return box.clickedButton() is again

    # -- choosing -----------------------------------------------------------------------------

    def choose_payer(self, payer_id: int) -> None:
        """Enter a remittance of another payer (amounts typed on invoices are dropped)."""
        index = self.payer_combo.findData(payer_id)
        if index >= 0:
            self.payer_combo.setCurrentIndex(index)

    def apply_search(self) -> None:
        """Show only the invoices whose patient, claim reference or number hold every word
        typed in Find (all of them when it is empty)."""
        self._search_timer.stop()
        text = self.search_edit.text().strip()
        if text:
            found = self._clinic.payer_open_invoices(self._payer, text)
            self.invoice_filter.keep([row.id for row in found])
        else:
            self.invoice_filter.keep(None)
        self._show_count()

    def _show_count(self) -> None:
        total = self.allocation_model.rowCount()
        shown = self.invoice_filter.rowCount()
        typed_hidden = sum(
            1 for invoice_id in self.allocation_model.typed if self._filter_row(invoice_id) < 0
        )
        text = (
            f"{total} open invoice{'' if total == 1 else 's'}"
            if shown == total
            else f"{shown} of {total} open invoices shown"
        )
        if typed_hidden:
            text += f" ({typed_hidden} with amounts typed hidden by the search)"
        self.shown_label.setText(text)

    def _filter_row(self, invoice_id: int) -> int:
        """The row of an invoice in the filtered table (-1 when the search hides it)."""
        source = self.allocation_model.invoice_row(invoice_id)
        if source < 0:
            return -1
        return self.invoice_filter.mapFromSource(self.allocation_model.index(source, 0)).row()

    def select_invoice(self, invoice_id: int) -> bool:
        """Make ``invoice_id`` the current row, on its Apply cell (clearing a search that hides
        it); False when it is not among the payer's open invoices."""
        if self.allocation_model.invoice_row(invoice_id) < 0:
            return False
        if self._filter_row(invoice_id) < 0:
            self.search_edit.clear()
            self.apply_search()
        row = self._filter_row(invoice_id)
        index = self.invoice_filter.index(row, self.allocation_model.apply_column)
        self.table.setCurrentIndex(index)
        self.table.scrollTo(index)
        self.table.setFocus()
        return True

    # -- slots ------------------------------------------------------------------------------

    def _refresh(self) -> None:
        super()._refresh()
        self._show_count()

    def _on_payer_combo_current_index_changed(self, _index: int) -> None:
        payer = self.payer_combo.currentData()
        if not isinstance(payer, int) or payer == self._payer:
            return
        try:
            draft = self._clinic.payer_payment_draft(payer, payment_date=self._draft.payment_date)
            self._source_invoice = None  # another payer: not entered from its invoice
        except BillingError as exc:  # deleted on another computer meanwhile
            self.payer_combo.blockSignals(True)
            self.payer_combo.setCurrentIndex(self.payer_combo.findData(self._payer))
            self.payer_combo.blockSignals(False)
            self._show_problem(str(exc))
            return
        self._payer = payer
        self._draft = dataclasses.replace(draft, reference=self._draft.reference)
        self._notice = ""
        self._rename_credit()
        self._load_draft()
        self._check_reference()  # the same reference, for this payer

    def _on_reference_edit_text_edited(self, text: str) -> None:
        self._set_reference(text)
        self._refresh()

    def _on_search_edit_text_changed(self, _text: str) -> None:
        self._search_timer.start()

    def _on_search_edit_return_pressed(self) -> None:
        self.apply_search()
        if self.invoice_filter.rowCount():
            index = self.invoice_filter.index(0, self.allocation_model.apply_column)
            self.table.setCurrentIndex(index)
            self.table.setFocus()

    def done(self, result: int) -> None:
        self._reference_timer.stop()
        self._search_timer.stop()
        super().done(result)
