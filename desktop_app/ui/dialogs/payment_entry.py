"""What the patient's payment dialog and a payer's remittance dialog share: entering money.

Both read an account's figures once (a :class:`~desktop_app.core.PaymentDraft`: a patient's, or
a payer's across its patients) and preview every keystroke in memory: payment sources by type,
amounts typed per invoice (which win), automatic allocation of the rest, and what becomes the
account's credit. Save records exactly the preview shown, with one request id per dialog, so a
double click records one payment. If another computer changed the account meanwhile, the save is
refused, the figures are read again and the dialog says why.

:class:`PaymentEntryDialog` holds that cycle and builds the pieces (sources, the "Apply to
invoices" table, "What saving will do", the message and buttons); each dialog lays them out with
its own heading and says whose credit it is.

While one is shown, the objects alive when it opened (the draft's open invoices among them) are
frozen out of the cyclic garbage collector's passes (:func:`gc.freeze`), and given back when it
closes: each preview of a payer's thousands of open invoices makes a plan line for every one,
and a full pass over the whole heap every tenth keystroke or so otherwise takes the keystroke
past a frame (benchmarks/README.md, P8).
"""

from __future__ import annotations

import dataclasses
import gc
import uuid
from datetime import date
from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractItemModel, QDate, Qt, Signal
from PySide6.QtGui import QFont, QHideEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QAbstractItemView,
    QDateEdit,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QWidget,
)

from desktop_app.core import (
    AllocationMode,
    BillingError,
    ConcurrentChangeError,
    PaymentDraft,
    PaymentPreview,
    PermissionDenied,
    to_decimal,
)
from desktop_app.ui.forms import GuardedDialog, set_date_format
from desktop_app.ui.models.allocation import PATIENT_COLUMNS, AllocationModel
from desktop_app.ui.style import INFO_TONE, PROBLEM_TONE, WARNING_TONE, set_tone
from desktop_app.ui.widgets.money_edit import MoneyEdit
from desktop_app.ui.window_fit import grow_to_fit

if TYPE_CHECKING:
    from desktop_app.core import Clinic
    from desktop_app.ui.formatting import Formatter

ROW_HEIGHT = 26


def big(label: QLabel, points: float = 1.5) -> QLabel:
    """``label`` in a larger bold font (headings and the figures that matter most)."""
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * points)
    font.setBold(True)
    label.setFont(font)
    return label


def _upper_first(text: str) -> str:
    """``text`` with its first letter a capital (the rest as it is: a payer's name)."""
    return text[:1].upper() + text[1:]


def mode_text(mode: AllocationMode) -> str:
    """What the "Apply to invoices" box says about automatic allocation."""
    if mode is AllocationMode.OFF:
        return "Automatic allocation is off: type the amount to apply to each invoice."
    return (
        f"Automatic allocation: {mode.label.lower()}. Amounts you type win; "
        "clear one to let automatic allocation decide."
    )


class PaymentEntryDialog(GuardedDialog):
    """Money into one account, previewed on every keystroke and saved once.

    A subclass sets the draft (``_draft``) and builds its layout from the pieces here, then
    provides :meth:`_record` (the core's save), :meth:`_reload_after_change` (read the figures
    again after another computer changed them) and the words for whose credit it is.

    Signals:
        saved(int): the id of the payment just recorded.
    """

    saved = Signal(int)

    #: The start of the request id (``payment`` gives ``payment-<hex>``).
    REQUEST_PREFIX = "payment"
    #: The columns of "Apply to invoices" (see :mod:`desktop_app.ui.models.allocation`).
    COLUMNS: tuple[int, ...] = PATIENT_COLUMNS

    def __init__(
        self,
        clinic: Clinic,
        formatter: Formatter,
        draft: PaymentDraft,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self._formatter = formatter
        self._request_id = f"{self.REQUEST_PREFIX}-{uuid.uuid4().hex}"
        self._draft = draft
        self._preview: PaymentPreview | None = None
        self._saved_id: int | None = None
        self._notice = ""
        self.allocation_model = AllocationModel(
            formatter, draft.currency, self, columns=self.COLUMNS
        )
        self.allocation_model.typed_changed.connect(self._on_allocation_model_typed_changed)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        """Freeze what is alive now out of the garbage collector's passes while typing."""
        super().showEvent(event)
        gc.freeze()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt's name
        """Give the frozen objects back to the garbage collector."""
        gc.unfreeze()
        super().hideEvent(event)

    # -- the words a subclass gives ----------------------------------------------------------

    def _credit_name(self) -> str:
        """Whose credit money not applied becomes: ``account credit``, ``Bupa's credit``."""
        return "account credit"

    def _owner(self) -> str:
        """Who still owes on the open invoices: ``the patient``, ``Bupa``."""
        return "the patient"

    def _leftover_text(self, preview: PaymentPreview) -> str:
        """The warning when money becomes credit while invoices are still open."""
        return (
            f"{self._money(preview.plan.to_credit)} will be left as {self._credit_name()} while "
            "this patient still has invoices to pay. Apply it to them if that is meant."
        )

    def _record(self, preview: PaymentPreview) -> int:
        """Save ``preview`` through the core under this dialog's request id."""
        raise NotImplementedError

    def _reload_after_change(self, reason: str) -> None:
        """Read the figures again after a save was refused because they changed."""
        raise NotImplementedError

    def _settle(self) -> None:
        """Finish whatever is still pending before a save (a check waiting for a pause)."""

    def _confirm(self, preview: PaymentPreview) -> bool:
        """Questions before saving (True: save). By default, money left as credit while
        invoices are still owed is asked about."""
        return not preview.leaves_credit_with_open_invoices or self.confirm_leaving_credit(preview)

    # -- building ---------------------------------------------------------------------------

    def _add_sources(self, form: QFormLayout, date_form: QFormLayout | None = None) -> None:
        """The payment date (into ``date_form`` if given) and one amount per payment type, into
        ``form``."""
        self.date_edit = QDateEdit()
        self.date_edit.setCalendarPopup(True)
        set_date_format(self.date_edit)
        self.date_edit.setMaximumDate(QDate.currentDate())
        self.date_edit.setDate(QDate.currentDate())
        self.date_edit.setAccessibleName("Payment date")
        self.date_edit.dateChanged.connect(self._on_date_edit_date_changed)
        (date_form or form).addRow("&Date:", self.date_edit)
        self.source_edits: dict[str, MoneyEdit] = {}
        for name in self._draft.payment_types:
            edit = MoneyEdit(f"{name} amount")
            edit.textEdited.connect(self._on_source_text_edited)
            form.addRow(f"{name}:", edit)
            self.source_edits[name] = edit

    def _apply_table(self, model: QAbstractItemModel) -> QTableView:
        """The "Apply to invoices" table over ``model`` (the allocation model, or a filter of
        it): one editable amount per invoice, arrows between cells, Tab on to Save."""
        table = QTableView()
        table.setModel(model)
        table.setAccessibleName("Apply to invoices")
        table.setTabKeyNavigation(False)  # Tab moves on to Save; arrows move between cells
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(
            QAbstractItemView.EditTrigger.AnyKeyPressed
            | QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        table.setAlternatingRowColors(True)
        self.table = table
        return table

    def _credit_box(self) -> QGroupBox:
        """The account's credit: what is available, and what the preview applies of it."""
        self.credit_box = QGroupBox(_upper_first(self._credit_name()))
        form = QFormLayout(self.credit_box)
        self.credit_available_label = big(QLabel())
        self.credit_available_label.setAccessibleName("Account credit available")
        self.credit_used_label = big(QLabel(), 1.2)
        self.credit_used_label.setAccessibleName("Credit being applied")
        form.addRow("Available:", self.credit_available_label)
        form.addRow("Being applied:", self.credit_used_label)
        return self.credit_box

    def _captions(self) -> tuple[str, str, str]:
        """The captions of the credit rows of "What saving will do"."""
        name = self._credit_name()
        return (
            f"  of which from {name}:",
            self._to_credit_caption(),
            f"{_upper_first(name)} after saving:",
        )

    def _to_credit_caption(self) -> str:
        return f"Left as {self._credit_name()}:"

    def _summary_box(self) -> QGroupBox:
        """ "What saving will do": the totals of the preview."""
        box = QGroupBox("What saving will do")
        self.summary_form = summary = QFormLayout(box)
        self.total_label = QLabel()
        self.applied_label = QLabel()
        self.from_credit_label = QLabel()
        self.to_credit_label = QLabel()
        self.credit_after_label = big(QLabel(), 1.15)
        self.closes_label = QLabel()
        self.closes_label.setWordWrap(True)
        from_credit, to_credit, after = self._captions()
        for text, label in (
            ("Payment total:", self.total_label),
            ("Applied to invoices:", self.applied_label),
            (from_credit, self.from_credit_label),
            (to_credit, self.to_credit_label),
            (after, self.credit_after_label),
            ("Invoices paid in full:", self.closes_label),
        ):
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            label.setAccessibleName(text.strip(" :"))
            summary.addRow(text, label)
        return box

    def _rename_credit(self) -> None:
        """Say whose credit it is again (another payer was chosen)."""
        self.credit_box.setTitle(_upper_first(self._credit_name()))
        labels = (self.from_credit_label, self.to_credit_label, self.credit_after_label)
        for label, text in zip(labels, self._captions(), strict=True):
            caption = self.summary_form.labelForField(label)
            if isinstance(caption, QLabel):
                caption.setText(text)
            label.setAccessibleName(text.strip(" :"))

    def _mode_label(self) -> QLabel:
        """What the automatic allocation does with the money typed (above the table)."""
        self.mode_label = QLabel()
        self.mode_label.setWordWrap(True)
        set_tone(self.mode_label, INFO_TONE)
        return self.mode_label

    def _message_and_buttons(self, save_text: str) -> tuple[QLabel, QDialogButtonBox]:
        """The message under the preview and the Save and Cancel buttons (Ctrl+S saves)."""
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setAccessibleName("Message")
        self.buttons = QDialogButtonBox()
        self.save_button: QPushButton = self.buttons.addButton(
            save_text, QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.save_button.setDefault(True)
        self.save_button.setToolTip("Record exactly what is shown (Ctrl+S)")
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.buttons.rejected.connect(self.reject)
        QShortcut(QKeySequence.StandardKey.Save, self, self._on_save_button_clicked)
        return self.message_label, self.buttons

    # -- state ------------------------------------------------------------------------------

    def _money(self, minor: int) -> str:
        return self._formatter.money(to_decimal(minor, self._draft.currency))

    @property
    def preview(self) -> PaymentPreview | None:
        """The preview on screen (None while an amount is refused)."""
        return self._preview

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
        model = self.allocation_model
        model.setData(model.index(model.invoice_row(invoice_id), model.apply_column), text)

    def _sources(self, problems: list[str]) -> dict[str, str]:
        """The amounts typed per payment type; each one refused is marked and listed."""
        sources: dict[str, str] = {}
        for name, edit in self.source_edits.items():
            text = edit.text().strip()
            edit.set_error(None)
            if not text:
                continue
            try:
                self._draft.parse_source(name, text)
                sources[name] = text
            except BillingError as exc:
                edit.set_error(str(exc))
                problems.append(str(exc))
        return sources

    def _refresh(self) -> None:
        """Validate every field and recompute the preview (on every keystroke)."""
        draft = self._draft
        problems: list[str] = []
        sources = self._sources(problems)
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
        # The mode of the money typed (a payment type may carry its own), else the clinic's.
        self.mode_label.setText(mode_text(draft.mode if preview is None else preview.plan.mode))
        self.allocation_model.set_preview(preview)
        self._show_summary(preview)
        self._show_message(preview, problems)
        self.save_button.setEnabled(self._can_save(preview))

    def _can_save(self, preview: PaymentPreview | None) -> bool:
        return preview is not None and not preview.is_empty and self._saved_id is None

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

    def _message(self, preview: PaymentPreview | None, problems: list[str]) -> tuple[str, str]:
        """The message under the preview and its tone."""
        if problems:
            return problems[0], PROBLEM_TONE
        if preview is not None and preview.is_empty:
            text = "Nothing to save yet: enter an amount in a payment source" + (
                ", or in Apply to invoices." if self._draft.open_invoices else "."
            )
            return text, INFO_TONE
        if preview is not None and preview.leaves_credit_with_open_invoices:
            return self._leftover_text(preview), WARNING_TONE
        return "", INFO_TONE

    def _show_message(self, preview: PaymentPreview | None, problems: list[str]) -> None:
        text, style = self._message(preview, problems)
        if self._notice:
            text = f"{self._notice} {text}".strip()
            style = WARNING_TONE if style == INFO_TONE else style
        self.message_label.setText(text)
        set_tone(self.message_label, style)
        grow_to_fit(self)  # the whole message, up to the screen's height

    def _show_problem(self, text: str) -> None:
        self._notice = ""
        self.message_label.setText(text)
        set_tone(self.message_label, PROBLEM_TONE)
        grow_to_fit(self)  # the whole message, up to the screen's height

    # -- saving -----------------------------------------------------------------------------

    def _on_save_button_clicked(self) -> None:
        self._settle()
        if self._commit_open_editor():
            return  # the amount just typed changed the preview: let it be seen before saving
        preview = self._preview
        if self._saved_id is not None or preview is None or preview.is_empty:
            return
        if not self._confirm(preview):
            return
        self.save_button.setEnabled(False)
        try:
            payment_id = self._record(preview)
        except ConcurrentChangeError as exc:
            self._reload_after_change(str(exc))
            return
        except PermissionDenied as exc:  # the account was disabled or its role lowered meanwhile
            self._show_problem(str(exc))
            return
        except BillingError as exc:
            self._show_problem(str(exc))
            self.save_button.setEnabled(True)
            return
        self._saved_id = payment_id
        self.saved.emit(payment_id)
        self.accept()

    def confirm_leaving_credit(self, preview: PaymentPreview) -> bool:
        """Ask before money becomes credit while invoices are still owed (the usual source of
        "mystery credit"); True to save anyway. "Go back" is the default."""
        still_owed = [ln for ln in preview.plan.lines if ln.balance_after > 0]
        owed = ", ".join(f"#{ln.number} ({self._money(ln.balance_after)})" for ln in still_owed)
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(f"Leave money as {self._credit_name()}?")
        box.setText(
            f"{self._money(preview.plan.to_credit)} of this payment will be left as "
            f"{self._credit_name()}, but {self._owner()} still owes on "
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
