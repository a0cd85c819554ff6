"""Enter payment: sources, account credit, "Apply to invoices", and a live preview of the outcome.

The dialog reads the patient's figures once (a :class:`~desktop_app.core.PaymentDraft`) and
previews every keystroke in memory. Save records exactly the preview shown, with one request id per
dialog, so a double click records one payment. If another computer changed the patient's account
meanwhile, the save is refused, the figures are read again and the dialog says why.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date
from itertools import pairwise
from typing import TYPE_CHECKING

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QAbstractItemView,
    QDateEdit,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import (
    AllocationMode,
    BillingError,
    ConcurrentChangeError,
    PaymentPreview,
    PermissionDenied,
    to_decimal,
)
from desktop_app.ui.formatting import Formatter
from desktop_app.ui.forms import GuardedDialog, set_date_format
from desktop_app.ui.models.allocation import APPLY, AllocationModel
from desktop_app.ui.style import INFO_TONE, PROBLEM_TONE, WARNING_TONE, set_tone
from desktop_app.ui.widgets.money_edit import MoneyEdit
from desktop_app.ui.window_fit import grow_to_fit

if TYPE_CHECKING:
    from desktop_app.core import Clinic


def _big(label: QLabel, points: float = 1.5) -> QLabel:
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * points)
    font.setBold(True)
    label.setFont(font)
    return label


class PaymentDialog(GuardedDialog):
    """The payment dialog for one patient, optionally entered from one of their invoices.

    Signals:
        saved(int): the id of the payment just recorded.
    """

    discard_question = "Discard this payment?"

    saved = Signal(int)

    def __init__(
        self,
        clinic: Clinic,
        formatter: Formatter,
        patient_id: int,
        source_invoice: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self._formatter = formatter
        self._patient_id = patient_id
        self._source_invoice = source_invoice
        self._request_id = f"payment-{uuid.uuid4().hex}"
        self._draft = clinic.payment_draft(patient_id, source_invoice)
        self._preview: PaymentPreview | None = None
        self._saved_id: int | None = None
        self._notice = ""
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
        layout.addWidget(_big(title, 1.3))
        self.source_label = QLabel()
        layout.addWidget(self.source_label)

        credit_row = QHBoxLayout()
        credit_box = QGroupBox("Account credit")
        credit_form = QFormLayout(credit_box)
        self.credit_available_label = _big(QLabel())
        self.credit_available_label.setAccessibleName("Account credit available")
        self.credit_used_label = _big(QLabel(), 1.2)
        self.credit_used_label.setAccessibleName("Credit being applied")
        credit_form.addRow("Available:", self.credit_available_label)
        credit_form.addRow("Being applied:", self.credit_used_label)
        credit_row.addWidget(credit_box, 1)

        sources_box = QGroupBox("Payment sources")
        sources_form = QFormLayout(sources_box)
        self.date_edit = QDateEdit()
        self.date_edit.setCalendarPopup(True)
        set_date_format(self.date_edit)
        self.date_edit.setMaximumDate(QDate.currentDate())
        self.date_edit.setDate(QDate.currentDate())
        self.date_edit.setAccessibleName("Payment date")
        self.date_edit.dateChanged.connect(self._on_date_edit_date_changed)
        sources_form.addRow("&Date:", self.date_edit)
        self.source_edits: dict[str, MoneyEdit] = {}
        for name in self._draft.payment_types:
            edit = MoneyEdit(f"{name} amount")
            edit.textEdited.connect(self._on_source_text_edited)
            sources_form.addRow(f"{name}:", edit)
            self.source_edits[name] = edit
        hint = QLabel("Leave every source empty to pay from account credit only.")
        set_tone(hint, INFO_TONE)
        hint.setWordWrap(True)
        sources_form.addRow(hint)
        credit_row.addWidget(sources_box, 1)
        layout.addLayout(credit_row)

        apply_box = QGroupBox("Apply to invoices")
        apply_layout = QVBoxLayout(apply_box)
        self.mode_label = QLabel()
        self.mode_label.setWordWrap(True)
        set_tone(self.mode_label, INFO_TONE)
        apply_layout.addWidget(self.mode_label)
        self.allocation_model = AllocationModel(self._formatter, self._draft.currency, self)
        self.allocation_model.typed_changed.connect(self._on_allocation_model_typed_changed)
        self.table = QTableView()
        self.table.setModel(self.allocation_model)
        self.table.setAccessibleName("Apply to invoices")
        self.table.setTabKeyNavigation(False)  # Tab moves on to Save; arrows move between cells
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.AnyKeyPressed
            | QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(26)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setAlternatingRowColors(True)
        apply_layout.addWidget(self.table)
        layout.addWidget(apply_box, 1)

        summary_box = QGroupBox("What saving will do")
        summary = QFormLayout(summary_box)
        self.total_label = QLabel()
        self.applied_label = QLabel()
        self.from_credit_label = QLabel()
        self.to_credit_label = QLabel()
        self.credit_after_label = _big(QLabel(), 1.15)
        self.closes_label = QLabel()
        self.closes_label.setWordWrap(True)
        for text, label in (
            ("Payment total:", self.total_label),
            ("Applied to invoices:", self.applied_label),
            ("  of which from account credit:", self.from_credit_label),
            ("Left as account credit:", self.to_credit_label),
            ("Account credit after saving:", self.credit_after_label),
            ("Invoices paid in full:", self.closes_label),
        ):
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            label.setAccessibleName(text.strip(" :"))
            summary.addRow(text, label)
        layout.addWidget(summary_box)

        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setAccessibleName("Message")
        layout.addWidget(self.message_label)

        self.buttons = QDialogButtonBox()
        self.save_button: QPushButton = self.buttons.addButton(
            "&Save payment", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.save_button.setDefault(True)
        self.save_button.setToolTip("Record exactly what is shown (Ctrl+S)")
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        QShortcut(QKeySequence.StandardKey.Save, self, self._on_save_button_clicked)

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
        if draft.mode is AllocationMode.OFF:
            self.mode_label.setText(
                "Automatic allocation is off: type the amount to apply to each invoice."
            )
        else:
            self.mode_label.setText(
                f"Automatic allocation: {draft.mode.label.lower()}. Amounts you type win; "
                "clear one to let automatic allocation decide."
            )
        self.allocation_model.set_invoices(draft.open_invoices)
        self._refresh()

    def _money(self, minor: int) -> str:
        return self._formatter.money(to_decimal(minor, self._draft.currency))

    @property
    def preview(self) -> PaymentPreview | None:
        """The preview on screen (None while an amount is refused)."""
        return self._preview

    def _refresh(self) -> None:
        """Validate every field and recompute the preview (on every keystroke)."""
        draft = self._draft
        sources: dict[str, str] = {}
        problems: list[str] = []
        for name, edit in self.source_edits.items():
            text = edit.text().strip()
            edit.set_error(None)
            if not text:
                continue
            try:
                draft.parse_source(name, text)
                sources[name] = text
            except BillingError as exc:
                edit.set_error(str(exc))
                problems.append(str(exc))
        typed = self.allocation_model.typed
        errors: dict[int, str] = {}
        for invoice_id, text in typed.items():
            try:
                draft.parse_applied(invoice_id, text)
            except BillingError as exc:
                errors[invoice_id] = str(exc)
                problems.append(str(exc))
        self.allocation_model.set_errors(errors)
        preview: PaymentPreview | None = None
        if not problems:
            try:
                preview = draft.preview(sources, typed)
            except BillingError as exc:
                problems.append(str(exc))
        self._preview = preview
        self.allocation_model.set_preview(preview)
        self._show_summary(preview)
        self._show_message(preview, problems)
        self.save_button.setEnabled(
            preview is not None and not preview.is_empty and self._saved_id is None
        )

    def _show_summary(self, preview: PaymentPreview | None) -> None:
        if preview is None:
            for label in (
                self.total_label,
                self.applied_label,
                self.from_credit_label,
                self.to_credit_label,
                self.credit_after_label,
                self.closes_label,
                self.credit_used_label,
            ):
                label.setText("—")
            return
        plan = preview.plan
        self.credit_used_label.setText(self._money(plan.credit_used))
        self.total_label.setText(self._money(plan.payment_total))
        self.applied_label.setText(self._money(plan.applied_total))
        self.from_credit_label.setText(self._money(plan.credit_used))
        self.to_credit_label.setText(self._money(plan.to_credit))
        self.credit_after_label.setText(self._money(plan.credit_after))
        closing = [f"#{ln.number}" for ln in plan.lines if ln.closes]
        self.closes_label.setText(", ".join(closing) if closing else "none")

    def _show_message(self, preview: PaymentPreview | None, problems: list[str]) -> None:
        if problems:
            text, style = problems[0], PROBLEM_TONE
        elif preview is not None and preview.is_empty:
            text = "Nothing to save yet: enter an amount in a payment source" + (
                ", or in Apply to invoices." if self._draft.open_invoices else "."
            )
            style = INFO_TONE
        elif preview is not None and preview.leaves_credit_with_open_invoices:
            text = (
                f"{self._money(preview.plan.to_credit)} will be left as account credit while "
                "this patient still has invoices to pay. Apply it to them if that is meant."
            )
            style = WARNING_TONE
        else:
            text, style = "", INFO_TONE
        if self._notice:
            text = f"{self._notice} {text}".strip()
            style = WARNING_TONE if style == INFO_TONE else style
        self.message_label.setText(text)
        set_tone(self.message_label, style)
        grow_to_fit(self)  # the whole message, up to the screen's height

    # -- slots ------------------------------------------------------------------------------

    def _on_source_text_edited(self, _text: str) -> None:
        self._notice = ""
        self._refresh()

    def _on_allocation_model_typed_changed(self) -> None:
        if self.table.state() != QAbstractItemView.State.EditingState:
            self._notice = ""
        self._refresh()

    def _on_date_edit_date_changed(self, value: QDate) -> None:
        # Only the date changes: the figures on screen stay the ones the preview was made from
        # (the save re-checks them against the database either way).
        day = date(value.year(), value.month(), value.day())
        self._draft = dataclasses.replace(self._draft, payment_date=day)
        self._refresh()

    def _on_save_button_clicked(self) -> None:
        if self._commit_open_editor():
            return  # the amount just typed changed the preview: let it be seen before saving
        preview = self._preview
        if self._saved_id is not None or preview is None or preview.is_empty:
            return
        if preview.leaves_credit_with_open_invoices and not self.confirm_leaving_credit(preview):
            return
        self.save_button.setEnabled(False)
        try:
            payment_id = self._clinic.record_payment(preview, self._request_id)
        except ConcurrentChangeError as exc:
            self._reload_after_change(str(exc))
            return
        except PermissionDenied as exc:  # the account was disabled or its role lowered meanwhile
            self._notice = ""
            self.message_label.setText(str(exc))
            set_tone(self.message_label, PROBLEM_TONE)
            grow_to_fit(self)  # the whole message, up to the screen's height
            return
        except BillingError as exc:
            self._notice = ""
            self.message_label.setText(str(exc))
            set_tone(self.message_label, PROBLEM_TONE)
            grow_to_fit(self)  # the whole message, up to the screen's height
            self.save_button.setEnabled(True)
            return
        self._saved_id = payment_id
        self.saved.emit(payment_id)
        self.accept()

    def confirm_leaving_credit(self, preview: PaymentPreview) -> bool:
        """Ask before money becomes credit while this patient still owes on invoices (the usual
        source of "mystery credit"); True to save anyway. "Go back" is the default."""
        still_owed = [ln for ln in preview.plan.lines if ln.balance_after > 0]
        owed = ", ".join(f"#{ln.number} ({self._money(ln.balance_after)})" for ln in still_owed)
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Leave money as account credit?")
        box.setText(
            f"{self._money(preview.plan.to_credit)} of this payment will be left as account "
            "credit, but the patient still owes on "
            f"{'invoice' if len(still_owed) == 1 else 'invoices'} {owed}."
        )
        box.setInformativeText(
            "Go back to apply it to those invoices, or save it as credit if that is meant "
            "(for example, a prepayment for future visits)."
        )
        keep = box.addButton("Save as credit", QMessageBox.ButtonRole.AcceptRole)
        back = box.addButton("Go back", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(back)
        box.setEscapeButton(back)
        box.exec()
        return box.clickedButton() is keep

    def _commit_open_editor(self) -> bool:
        """Finish an Apply cell still being typed in; True if that changed the preview."""
        if self.table.state() != QAbstractItemView.State.EditingState:
            return False
        before = self._preview
        for editor in self.table.viewport().findChildren(QLineEdit):
            if editor.isVisible():  # the Apply cell's editor: hand its text to the model
                self.table.commitData(editor)
                self.table.closeEditor(editor, QAbstractItemDelegate.EndEditHint.NoHint)
        if self._preview is before:
            return False
        self._notice = "The amount you were typing is now applied; check it and save again."
        self._refresh()
        return True

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

    @property
    def request_id(self) -> str:
        """The one request id this dialog saves with, however often Save is pressed."""
        return self._request_id

    @property
    def saved_payment_id(self) -> int | None:
        """The recorded payment's id once saved."""
        return self._saved_id

    def type_amount(self, invoice_id: int, text: str) -> None:
        """Type into an invoice's Apply cell (what a person does with the keyboard)."""
        row = self.allocation_model.invoice_row(invoice_id)
        self.allocation_model.setData(self.allocation_model.index(row, APPLY), text)
