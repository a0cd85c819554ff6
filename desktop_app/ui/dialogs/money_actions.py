"""Money corrections: refund account credit, issue a credit note, transfer credit to another
patient, and one confirmation dialog for every undo (reversals, voids, removed applications).

Each dialog shows the figures it starts from, asks for what the core needs and lets the core
decide. A refusal (any :class:`~desktop_app.core.BillingError`, including a change saved on
another computer or a busy database) is shown inline in the core's own words, the figures are read
again, and the dialog stays open with nothing saved. Each dialog saves under one request id, so a
double-pressed button saves once.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import TYPE_CHECKING

from PySide6.QtCore import QDate, QEvent, QObject, Qt
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BillingError, format_amount, parse_minor, to_decimal
from desktop_app.ui.formatting import Formatter
from desktop_app.ui.style import set_tone
from desktop_app.ui.widgets.money_edit import MoneyEdit

if TYPE_CHECKING:
    from desktop_app.core import Clinic, InvoiceRecord, PatientRecord

PROBLEM_TONE = "problem"
INFO_TONE = "info"
MIN_WIDTH = 460
#: How many patients the transfer dialog lists for one search.
MAX_MATCHES = 20
DATE_FORMAT = "d MMM yyyy"


# -- shared pieces ------------------------------------------------------------------------------


def _qdate(value: date) -> QDate:
    return QDate(value.year, value.month, value.day)


def _pydate(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


def _heading(text: str, accessible_name: str) -> QLabel:
    """A large bold label (a patient's name, an invoice) that wraps instead of widening."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setAccessibleName(accessible_name)
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * 1.3)
    font.setBold(True)
    label.setFont(font)
    return label


def _figure(accessible_name: str, *, bold: bool = False) -> QLabel:
    """A right-aligned, read-only amount with an accessible name."""
    label = QLabel()
    label.setAccessibleName(accessible_name)
    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if bold:
        font = QFont(label.font())
        font.setBold(True)
        label.setFont(font)
    return label


def _problem_label() -> QLabel:
    """The inline message: red for a refusal, grey for a plain notice."""
    label = QLabel()
    label.setWordWrap(True)
    label.setAccessibleName("Problem")
    set_tone(label, PROBLEM_TONE)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _show(label: QLabel, text: str, *, problem: bool = True) -> None:
    label.setText(text)
    set_tone(label, PROBLEM_TONE if problem else INFO_TONE)
    _fit_height(label.window())


def _fit_height(window: QWidget) -> None:
    """Make a shown dialog tall enough for its wrapped text (a long refusal), never shorter."""
    layout = window.layout()
    if layout is None or not window.isVisible():
        return  # before it is shown, the dialog takes its size from the layout anyway
    layout.activate()
    needed = window.minimumSizeHint().height()
    if window.hasHeightForWidth():
        needed = max(needed, window.heightForWidth(window.width()))
    if needed > window.height():
        window.resize(window.width(), needed)


def _date_edit(accessible_name: str, earliest: date | None = None) -> QDateEdit:
    """Today, never later; with a calendar popup."""
    edit = QDateEdit()
    edit.setCalendarPopup(True)
    edit.setDisplayFormat(DATE_FORMAT)
    today = QDate.currentDate()
    edit.setMaximumDate(today)
    if earliest is not None and _qdate(earliest) <= today:
        edit.setMinimumDate(_qdate(earliest))
    edit.setDate(today)
    edit.setAccessibleName(accessible_name)
    return edit


def _reason_edit(accessible_name: str, *, required: bool) -> QLineEdit:
    edit = QLineEdit()
    edit.setAccessibleName(accessible_name)
    edit.setPlaceholderText(
        "Required: kept in the audit log" if required else "Optional: kept in the audit log"
    )
    return edit


def _buttons(label: str) -> tuple[QDialogButtonBox, QPushButton, QPushButton]:
    box = QDialogButtonBox()
    action = box.addButton(label, QDialogButtonBox.ButtonRole.AcceptRole)
    cancel = box.addButton(QDialogButtonBox.StandardButton.Cancel)
    return box, action, cancel


def _tab_chain(widgets: list[QWidget]) -> None:
    for first, second in pairwise(widgets):
        QWidget.setTabOrder(first, second)


def _parse(text: str, currency: str, what: str) -> tuple[int | None, str | None]:
    """``(minor units, None)``, ``(None, reason)`` for text the core refuses, ``(None, None)``
    for an empty field."""
    if not text.strip():
        return None, None
    try:
        return parse_minor(text, currency, what=what), None
    except BillingError as exc:
        return None, str(exc)


def concerns_amount(message: str, typed_minor: int | None, currency: str) -> bool:
    """Whether a refusal is about the amount typed, so that field is marked: the message speaks
    of an amount, or names the amount that was typed (``$80.00 cannot be refunded``)."""
    if "amount" in message.lower():
        return True
    return typed_minor is not None and format_amount(typed_minor, currency) in message


def _mark_amount(edit: MoneyEdit, message: str, typed_minor: int | None, currency: str) -> None:
    if edit.isEnabled() and concerns_amount(message, typed_minor, currency):
        edit.set_error(message)
        edit.setFocus()
        edit.selectAll()


def _plain(amount: Decimal) -> str:
    """An amount as the amount fields take it back: ``1234.50`` (no symbol, no grouping)."""
    return f"{amount:f}"


# -- refund -------------------------------------------------------------------------------------


class RefundDialog(QDialog):
    """Refund some or all of a patient's account credit by one of the clinic's payment types.

    ``saved_id`` holds the refund's id (a payment of kind ``refund``) once it is saved.
    """

    def __init__(
        self,
        clinic: Clinic,
        patient_id: int,
        formatter: Formatter,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self._formatter = formatter
        self._patient_id = patient_id
        self._currency = clinic.currency
        self.request_id = f"refund-{uuid.uuid4().hex}"
        self.saved_id: int | None = None
        patient = clinic.patient(patient_id)
        self._credit = patient.credit
        self.setWindowTitle("Refund account credit")
        self.setMinimumWidth(MIN_WIDTH)
        self._build(patient, clinic.payment_types())
        self.amount_edit.setText(_plain(self._credit) if self._credit > 0 else "")
        self._show_credit()
        self._refresh()
        self.amount_edit.setFocus()
        self.amount_edit.selectAll()

    def _build(self, patient: PatientRecord, methods: list[str]) -> None:
        layout = QVBoxLayout(self)
        self.name_label = _heading(patient.full_name, "Patient")
        layout.addWidget(self.name_label)
        form = QFormLayout()
        self.credit_label = _figure("Account credit available", bold=True)
        self.credit_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        form.addRow("Account credit available:", self.credit_label)
        self.amount_edit = MoneyEdit("Refund amount")
        self.amount_edit.textChanged.connect(self._on_amount_edit_text_changed)
        form.addRow("&Amount:", self.amount_edit)
        self.method_combo = QComboBox()
        self.method_combo.setAccessibleName("Refund method")
        self.method_combo.addItems(methods)
        form.addRow("&Method:", self.method_combo)
        self.date_edit = _date_edit("Refund date")
        form.addRow("&Date:", self.date_edit)
        self.reason_edit = _reason_edit("Reason for the refund", required=False)
        form.addRow("&Reason:", self.reason_edit)
        layout.addLayout(form)
        self.message_label = _problem_label()
        layout.addWidget(self.message_label)
        layout.addStretch(1)
        buttons, self.save_button, self.cancel_button = _buttons("&Refund")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        _tab_chain(
            [
                self.amount_edit,
                self.method_combo,
                self.date_edit,
                self.reason_edit,
                self.save_button,
                self.cancel_button,
            ]
        )

    def _money(self, amount: Decimal) -> str:
        return self._formatter.money(amount)

    def _show_credit(self) -> None:
        self.credit_label.setText(self._money(self._credit))

    def _refresh(self, *, clear_message: bool = True) -> None:
        """Mark what cannot be read as an amount and enable Refund when there is something to
        send."""
        minor, error = _parse(self.amount_edit.text(), self._currency, "the refund")
        self.amount_edit.set_error(error)
        if self._credit <= 0:
            _show(self.message_label, "No account credit to refund.", problem=False)
        elif error is not None:
            _show(self.message_label, error)
        elif clear_message:
            _show(self.message_label, "")
        self.save_button.setEnabled(
            self.saved_id is None
            and self._credit > 0
            and minor is not None
            and self.method_combo.count() > 0
        )

    def _on_amount_edit_text_changed(self, _text: str) -> None:
        self._refresh()

    def _on_save_button_clicked(self) -> None:
        if self.saved_id is not None:
            return
        text = self.amount_edit.text().strip()
        self.save_button.setEnabled(False)
        try:
            refund_id = self._clinic.refund_credit(
                self._patient_id,
                text,
                method=self.method_combo.currentText(),
                request_id=self.request_id,
                refund_date=_pydate(self.date_edit.date()),
                reason=self.reason_edit.text().strip() or None,
            )
        except BillingError as exc:
            self._refused(str(exc))
            return
        self.saved_id = refund_id
        self.accept()

    def _refused(self, message: str) -> None:
        # The credit may have changed on another computer: show what there is now
        with contextlib.suppress(BillingError):
            self._credit = self._clinic.patient(self._patient_id).credit
        self._show_credit()
        self._refresh(clear_message=False)
        _show(self.message_label, message)
        minor, _ = _parse(self.amount_edit.text(), self._currency, "the refund")
        _mark_amount(self.amount_edit, message, minor, self._currency)


# -- credit note --------------------------------------------------------------------------------


class CreditNoteDialog(QDialog):
    """Credit all or part of an invoice, with a live explanation of where the credit goes.

    What the invoice still owes is reduced first; the rest (what the patient had already paid)
    returns to their account credit, or is refunded at once. ``saved_id`` holds the credit note's
    id once it is issued.
    """

    def __init__(
        self,
        clinic: Clinic,
        invoice_id: int,
        formatter: Formatter,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self._formatter = formatter
        self._invoice_id = invoice_id
        self._currency = clinic.currency
        self.request_id = f"credit-note-{uuid.uuid4().hex}"
        self.saved_id: int | None = None
        self._invoice = clinic.invoice(invoice_id)
        self._creditable = 0
        patient = clinic.patient(self._invoice.patient_id)
        self.setWindowTitle(f"Credit note for invoice #{self._invoice.number}")
        self.setMinimumWidth(MIN_WIDTH)
        self._build(patient, clinic.payment_types())
        self._load()
        self._refresh()
        self.reason_edit.setFocus()

    def _build(self, patient: PatientRecord, methods: list[str]) -> None:
        invoice = self._invoice
        layout = QVBoxLayout(self)
        self.name_label = _heading(
            f"Invoice #{invoice.number}: {patient.full_name}", "Invoice and patient"
        )
        layout.addWidget(self.name_label)
        issued = QLabel(f"Issued {self._formatter.day(invoice.issue_date)}")
        set_tone(issued, INFO_TONE)
        layout.addWidget(issued)

        figures_box = QGroupBox("The invoice now")
        figures = QGridLayout(figures_box)
        figures.setHorizontalSpacing(24)
        figures.setColumnStretch(2, 1)  # amounts line up next to their names, not far right
        self.figure_labels: dict[str, QLabel] = {}
        for row, (key, text) in enumerate(
            (
                ("total", "Total"),
                ("paid", "Paid"),
                ("credited", "Already credited"),
                ("balance", "Balance"),
                ("creditable", "Can still be credited"),
            )
        ):
            label = _figure(text, bold=key == "creditable")
            self.figure_labels[key] = label
            figures.addWidget(QLabel(f"{text}:"), row, 0)
            figures.addWidget(label, row, 1)
        layout.addWidget(figures_box)

        note_box = QGroupBox("Credit note")
        note = QVBoxLayout(note_box)
        self.whole_radio = QRadioButton("Credit the &whole remaining amount")
        self.whole_radio.setAccessibleName("Credit the whole remaining amount")
        self.part_radio = QRadioButton("Credit &part:")
        self.part_radio.setAccessibleName("Credit part of the invoice")
        self._scope = QButtonGroup(self)
        self._scope.addButton(self.whole_radio)
        self._scope.addButton(self.part_radio)
        self.whole_radio.setChecked(True)
        self.whole_radio.toggled.connect(self._on_whole_radio_toggled)
        note.addWidget(self.whole_radio)
        part_row = QHBoxLayout()
        part_row.addWidget(self.part_radio)
        self.amount_edit = MoneyEdit("Amount to credit")
        self.amount_edit.setEnabled(False)
        self.amount_edit.textChanged.connect(self._on_amount_edit_text_changed)
        part_row.addWidget(self.amount_edit, 1)
        note.addLayout(part_row)
        form = QFormLayout()
        self.reason_edit = _reason_edit("Reason for the credit note", required=True)
        self.reason_edit.textChanged.connect(self._on_reason_edit_text_changed)
        form.addRow("&Reason:", self.reason_edit)
        self.date_edit = _date_edit("Credit note date", earliest=invoice.issue_date)
        form.addRow("&Date:", self.date_edit)
        note.addLayout(form)
        refund_row = QHBoxLayout()
        self.refund_check = QCheckBox("Refund the credit at once &by")
        self.refund_check.setAccessibleName("Refund the credit at once")
        self.refund_check.setEnabled(bool(methods))
        self.refund_check.toggled.connect(self._on_refund_check_toggled)
        refund_row.addWidget(self.refund_check)
        self.refund_method_combo = QComboBox()
        self.refund_method_combo.setAccessibleName("Refund method")
        self.refund_method_combo.addItems(methods)
        self.refund_method_combo.setEnabled(False)
        self.refund_method_combo.currentTextChanged.connect(self._on_refund_method_changed)
        refund_row.addWidget(self.refund_method_combo, 1)
        note.addLayout(refund_row)
        layout.addWidget(note_box)

        what_box = QGroupBox("What will happen")
        what = QVBoxLayout(what_box)
        self.explanation_label = QLabel()
        self.explanation_label.setWordWrap(True)
        self.explanation_label.setAccessibleName("What will happen")
        self.explanation_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        what.addWidget(self.explanation_label)
        layout.addWidget(what_box)

        self.message_label = _problem_label()
        layout.addWidget(self.message_label)
        layout.addStretch(1)
        buttons, self.save_button, self.cancel_button = _buttons("&Issue credit note")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        _tab_chain(
            [
                self.whole_radio,
                self.part_radio,
                self.amount_edit,
                self.reason_edit,
                self.date_edit,
                self.refund_check,
                self.refund_method_combo,
                self.save_button,
                self.cancel_button,
            ]
        )

    # -- figures ----------------------------------------------------------------------------

    def _minor(self, amount: Decimal) -> int:
        return parse_minor(amount, self._currency, allow_negative=True)

    def _money(self, minor: int) -> str:
        return self._formatter.money(to_decimal(minor, self._currency))

    def _load(self) -> None:
        """Read the invoice and its live credit notes; show the figures."""
        invoice = self._invoice
        noted = sum(
            (
                note.amount
                for note in self._clinic.credit_notes(invoice.patient_id)
                if note.invoice_id == invoice.id and not note.reversed
            ),
            Decimal(0),
        )
        self._creditable = max(self._minor(invoice.total - noted), 0)
        money = self._formatter.money
        self.figure_labels["total"].setText(money(invoice.total))
        self.figure_labels["paid"].setText(money(invoice.paid))
        self.figure_labels["credited"].setText(money(invoice.credited))
        self.figure_labels["balance"].setText(money(invoice.balance))
        self.figure_labels["creditable"].setText(self._money(self._creditable))

    @property
    def creditable(self) -> Decimal:
        """How much of the invoice can still be credited (its total less live credit notes)."""
        return to_decimal(self._creditable, self._currency)

    # -- preview ----------------------------------------------------------------------------

    def _amount(self) -> tuple[int | None, str | None]:
        if self.whole_radio.isChecked():
            return self._creditable, None
        return _parse(self.amount_edit.text(), self._currency, "the credit")

    def _explain(self, minor: int | None) -> str:
        invoice = self._invoice
        number = invoice.number
        if invoice.status == "void":
            return f"Invoice #{number} is void: there is nothing to credit."
        if self._creditable <= 0:
            return f"Invoice #{number} is already credited in full."
        if minor is None or minor <= 0:
            return "Enter the amount to credit."
        if minor > self._creditable:
            return f"That is more than the {self._money(self._creditable)} that can be credited."
        balance = self._minor(invoice.balance)
        owed = min(minor, balance)
        rest = minor - owed
        lines: list[str] = []
        if owed:
            left = balance - owed
            after = "nothing is left to pay" if left == 0 else f"{self._money(left)} still to pay"
            lines.append(f"Invoice #{number} will owe {self._money(owed)} less ({after}).")
        refund_method = self._refund_method()
        if rest:
            goes = f"{self._money(rest)} returns to the patient's account credit"
            if refund_method:
                goes += f" and is refunded by {refund_method} at once"
            lines.append(goes + ".")
        elif refund_method:
            lines.append("Nothing becomes account credit, so there is nothing to refund.")
        return "\n".join(lines)

    def _refund_method(self) -> str | None:
        if not self.refund_check.isChecked():
            return None
        return self.refund_method_combo.currentText() or None

    def _refresh(self, *, clear_message: bool = True) -> None:
        """Recompute the explanation, mark a bad amount and enable saving (every keystroke)."""
        minor, error = self._amount()
        self.amount_edit.set_error(error)
        self.explanation_label.setText(self._explain(minor) if error is None else "")
        if error is not None:
            _show(self.message_label, error)
        elif clear_message:
            _show(self.message_label, "")
        self.save_button.setEnabled(
            self.saved_id is None
            and self._invoice.status != "void"
            and self._creditable > 0
            and minor is not None
            and bool(self.reason_edit.text().strip())
            and (not self.refund_check.isChecked() or self._refund_method() is not None)
        )

    # -- slots ------------------------------------------------------------------------------

    def _on_whole_radio_toggled(self, whole: bool) -> None:
        self.amount_edit.setEnabled(not whole)
        if not whole:
            if not self.amount_edit.text():
                self.amount_edit.setText(_plain(self.creditable))
            self.amount_edit.setFocus()
            self.amount_edit.selectAll()
        self._refresh()

    def _on_amount_edit_text_changed(self, _text: str) -> None:
        self._refresh()

    def _on_reason_edit_text_changed(self, _text: str) -> None:
        self._refresh()

    def _on_refund_check_toggled(self, checked: bool) -> None:
        self.refund_method_combo.setEnabled(checked)
        self._refresh()

    def _on_refund_method_changed(self, _text: str) -> None:
        self._refresh()

    def _on_save_button_clicked(self) -> None:
        if self.saved_id is not None:
            return
        whole = self.whole_radio.isChecked()
        self.save_button.setEnabled(False)
        try:
            note_id = self._clinic.credit_note(
                self._invoice_id,
                None if whole else self.amount_edit.text().strip(),
                reason=self.reason_edit.text().strip(),
                request_id=self.request_id,
                note_date=_pydate(self.date_edit.date()),
                refund_method=self._refund_method(),
            )
        except BillingError as exc:
            self._refused(str(exc))
            return
        self.saved_id = note_id
        self.accept()

    def _refused(self, message: str) -> None:
        # Another computer may have paid or credited the invoice: show it as it is now
        with contextlib.suppress(BillingError):
            self._invoice = self._clinic.invoice(self._invoice_id)
            self._load()
        self._refresh(clear_message=False)
        _show(self.message_label, message)
        minor, _ = self._amount()
        _mark_amount(self.amount_edit, message, minor, self._currency)

    @property
    def invoice(self) -> InvoiceRecord:
        """The invoice as last read."""
        return self._invoice


# -- transfer -----------------------------------------------------------------------------------


class TransferDialog(QDialog):
    """Move account credit from one patient to another (a family account).

    ``saved_id`` holds the transfer's id once it is saved.
    """

    def __init__(
        self,
        clinic: Clinic,
        patient_id: int,
        formatter: Formatter,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self._formatter = formatter
        self._patient_id = patient_id
        self._currency = clinic.currency
        self.request_id = f"transfer-{uuid.uuid4().hex}"
        self.saved_id: int | None = None
        patient = clinic.patient(patient_id)
        self._credit = patient.credit
        self.setWindowTitle("Transfer account credit")
        self.setMinimumWidth(MIN_WIDTH)
        self._build(patient)
        self._show_credit()
        self._search()
        self._refresh()
        self.search_edit.setFocus()

    def _build(self, patient: PatientRecord) -> None:
        layout = QVBoxLayout(self)
        self.name_label = _heading(patient.full_name, "Patient giving the credit")
        layout.addWidget(self.name_label)
        form = QFormLayout()
        self.credit_label = _figure("Account credit available", bold=True)
        self.credit_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        form.addRow("Account credit available:", self.credit_label)
        self.search_edit = QLineEdit()
        self.search_edit.setAccessibleName("Find patient to receive the credit")
        self.search_edit.setPlaceholderText("Type part of a name")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self._on_search_edit_text_changed)
        self.search_edit.installEventFilter(self)
        form.addRow("&To patient:", self.search_edit)
        self.matches_list = QListWidget()
        self.matches_list.setAccessibleName("Patients found")
        self.matches_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.matches_list.setMinimumHeight(120)
        self.matches_list.itemSelectionChanged.connect(self._on_matches_selection_changed)
        form.addRow(self.matches_list)
        self.matches_hint = QLabel()
        set_tone(self.matches_hint, INFO_TONE)
        self.matches_hint.setWordWrap(True)
        form.addRow(self.matches_hint)
        self.amount_edit = MoneyEdit("Amount to transfer")
        self.amount_edit.textChanged.connect(self._on_amount_edit_text_changed)
        form.addRow("&Amount:", self.amount_edit)
        self.reason_edit = _reason_edit("Reason for the transfer", required=True)
        self.reason_edit.textChanged.connect(self._on_reason_edit_text_changed)
        form.addRow("&Reason:", self.reason_edit)
        layout.addLayout(form)
        self.message_label = _problem_label()
        layout.addWidget(self.message_label)
        buttons, self.save_button, self.cancel_button = _buttons("&Transfer")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        _tab_chain(
            [
                self.search_edit,
                self.matches_list,
                self.amount_edit,
                self.reason_edit,
                self.save_button,
                self.cancel_button,
            ]
        )

    def _show_credit(self) -> None:
        self.credit_label.setText(self._formatter.money(self._credit))

    @property
    def receiving_patient_id(self) -> int | None:
        """The id of the patient chosen to receive the credit, if one is selected."""
        items = self.matches_list.selectedItems()
        if not items:
            return None
        value = items[0].data(Qt.ItemDataRole.UserRole)
        return value if isinstance(value, int) else None

    def _search(self) -> None:
        """List up to MAX_MATCHES patients matching the search, keeping the chosen one chosen."""
        chosen = self.receiving_patient_id
        ids = [
            pid
            for pid in self._clinic.patient_ids(self.search_edit.text())
            if pid != self._patient_id
        ]
        shown = self._clinic.patients_by_ids(ids[:MAX_MATCHES])
        self.matches_list.blockSignals(True)
        self.matches_list.clear()
        for patient in shown:
            item = QListWidgetItem(
                f"{patient.last_name}, {patient.first_name} "
                f"(credit {self._formatter.money(patient.credit)})"
            )
            item.setData(Qt.ItemDataRole.UserRole, patient.id)
            self.matches_list.addItem(item)
            if patient.id == chosen:
                item.setSelected(True)
                self.matches_list.setCurrentItem(item)
        self.matches_list.blockSignals(False)
        if not ids:
            hint = "No other patient matches."
        elif len(ids) > len(shown):
            hint = f"Showing the first {len(shown)} of {len(ids)}: type more of the name."
        else:
            hint = f"{len(ids)} patient{'' if len(ids) == 1 else 's'} found."
        self.matches_hint.setText(hint)

    def _refresh(self, *, clear_message: bool = True) -> None:
        minor, error = _parse(self.amount_edit.text(), self._currency, "the transfer")
        self.amount_edit.set_error(error)
        if self._credit <= 0:
            _show(self.message_label, "No account credit to transfer.", problem=False)
        elif error is not None:
            _show(self.message_label, error)
        elif clear_message:
            _show(self.message_label, "")
        self.save_button.setEnabled(
            self.saved_id is None
            and self._credit > 0
            and self.receiving_patient_id is not None
            and minor is not None
            and bool(self.reason_edit.text().strip())
        )

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        """Down arrow in the search field moves to the list of patients found."""
        if (
            watched is self.search_edit
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Down
            and self.matches_list.count()
        ):
            self.matches_list.setFocus()
            if self.receiving_patient_id is None:
                self.matches_list.setCurrentRow(0)
            return True
        return super().eventFilter(watched, event)

    def _on_search_edit_text_changed(self, _text: str) -> None:
        try:
            self._search()
        except BillingError as exc:
            self._refresh()
            _show(self.message_label, str(exc))
            return
        self._refresh()

    def _on_matches_selection_changed(self) -> None:
        self._refresh()

    def _on_amount_edit_text_changed(self, _text: str) -> None:
        self._refresh()

    def _on_reason_edit_text_changed(self, _text: str) -> None:
        self._refresh()

    def _on_save_button_clicked(self) -> None:
        to_id = self.receiving_patient_id
        if self.saved_id is not None or to_id is None:
            return
        self.save_button.setEnabled(False)
        try:
            transfer_id = self._clinic.transfer_credit(
                self._patient_id,
                to_id,
                self.amount_edit.text().strip(),
                reason=self.reason_edit.text().strip(),
                request_id=self.request_id,
            )
        except BillingError as exc:
            self._refused(str(exc))
            return
        self.saved_id = transfer_id
        self.accept()

    def _refused(self, message: str) -> None:
        # Credits may have changed on another computer: show them as they are now
        with contextlib.suppress(BillingError):
            self._credit = self._clinic.patient(self._patient_id).credit
            self._search()
        self._show_credit()
        self._refresh(clear_message=False)
        _show(self.message_label, message)
        minor, _ = _parse(self.amount_edit.text(), self._currency, "the transfer")
        _mark_amount(self.amount_edit, message, minor, self._currency)


# -- confirming an undo -------------------------------------------------------------------------


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
        self.reason_edit = _reason_edit("Reason", required=reason_required)
        self.reason_edit.textChanged.connect(self._on_reason_edit_text_changed)
        form.addRow("&Reason:", self.reason_edit)
        layout.addLayout(form)
        self.message_label = _problem_label()
        layout.addWidget(self.message_label)
        layout.addStretch(1)
        buttons, self.action_button, self.cancel_button = _buttons(action_label)
        self.action_button.setAutoDefault(False)
        self.cancel_button.setDefault(True)
        self.action_button.clicked.connect(self._on_action_button_clicked)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        _tab_chain([self.reason_edit, self.action_button, self.cancel_button])
        self.reason_edit.setFocus()
        self._refresh()

    def _refresh(self) -> None:
        self.action_button.setEnabled(
            not self.performed
            and (not self._reason_required or bool(self.reason_edit.text().strip()))
        )

    def _on_reason_edit_text_changed(self, _text: str) -> None:
        _show(self.message_label, "")
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
        except BillingError as exc:
            _show(self.message_label, str(exc))
            self._refresh()
            return
        self.performed = True
        self.accept()
