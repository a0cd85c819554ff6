"""What the money-correction dialogs share: their building blocks and their save-or-refuse cycle.

:class:`MoneyActionDialog` is the base of the refund, credit note and transfer dialogs: each shows
the figures it starts from, asks for what the core needs and lets the core decide. A refusal (any
:class:`~desktop_app.core.BillingError`, including a change saved on another computer or a busy
database) is shown inline in the core's own words, the figures are read again, the field it is
about is marked, and the dialog stays open with nothing saved. Each dialog saves under one request
id, so a double-pressed button saves once. :class:`PatientCreditDialog` adds what the refund and
transfer dialogs share: the patient's account credit, shown and read again after a refusal.

The functions build the pieces every one of these dialogs (and the undo confirmation) uses.
"""

from __future__ import annotations

import contextlib
import uuid
from decimal import Decimal
from itertools import pairwise
from typing import TYPE_CHECKING, ClassVar

from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDateEdit,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BillingError, PermissionDenied, parse_minor
from desktop_app.ui.forms import DATE_DISPLAY_FORMAT, GuardedDialog, qdate, set_date_format
from desktop_app.ui.style import INFO_TONE, PROBLEM_TONE, set_tone
from desktop_app.ui.window_fit import grow_to_fit

if TYPE_CHECKING:
    from datetime import date

    from desktop_app.core import Clinic
    from desktop_app.ui.formatting import Formatter
    from desktop_app.ui.widgets.money_edit import MoneyEdit

MIN_WIDTH = 460
DATE_FORMAT = DATE_DISPLAY_FORMAT
#: The field name (``BillingError.field``) of a refusal about the amount typed.
AMOUNT_FIELD = "amount"


# -- building blocks ----------------------------------------------------------------------------


def heading(text: str, accessible_name: str) -> QLabel:
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


def figure(accessible_name: str, *, bold: bool = False) -> QLabel:
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


def problem_label() -> QLabel:
    """The inline message: red for a refusal, grey for a plain notice."""
    label = QLabel()
    label.setWordWrap(True)
    label.setAccessibleName("Problem")
    set_tone(label, PROBLEM_TONE)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def show_message(label: QLabel, text: str, *, problem: bool = True) -> None:
    """Show ``text`` in the inline message (red, or grey when not a ``problem``)."""
    label.setText(text)
    set_tone(label, PROBLEM_TONE if problem else INFO_TONE)
    fit_height(label.window())


def fit_height(window: QWidget) -> None:
    """Make a shown dialog tall enough for its wrapped text (a long refusal), never shorter,
    never taller than the screen."""
    grow_to_fit(window)


def date_edit(accessible_name: str, earliest: date | None = None) -> QDateEdit:
    """Today, never later; with a calendar popup."""
    edit = QDateEdit()
    edit.setCalendarPopup(True)
    set_date_format(edit)
    today = QDate.currentDate()
    edit.setMaximumDate(today)
    if earliest is not None and qdate(earliest) <= today:
        edit.setMinimumDate(qdate(earliest))
    edit.setDate(today)
    edit.setAccessibleName(accessible_name)
    return edit


def reason_edit(accessible_name: str, *, required: bool) -> QLineEdit:
    """The reason kept in the audit log (its placeholder says whether it is required)."""
    edit = QLineEdit()
    edit.setAccessibleName(accessible_name)
    edit.setPlaceholderText(
        "Required: kept in the audit log" if required else "Optional: kept in the audit log"
    )
    return edit


def action_buttons(label: str) -> tuple[QDialogButtonBox, QPushButton, QPushButton]:
    """The button box: ``(box, the action button, Cancel)``."""
    box = QDialogButtonBox()
    action = box.addButton(label, QDialogButtonBox.ButtonRole.AcceptRole)
    cancel = box.addButton(QDialogButtonBox.StandardButton.Cancel)
    return box, action, cancel


def tab_chain(widgets: list[QWidget]) -> None:
    """Tab moves through ``widgets`` in this order."""
    for first, second in pairwise(widgets):
        QWidget.setTabOrder(first, second)


def parse_amount(text: str, currency: str, what: str) -> tuple[int | None, str | None]:
    """``(minor units, None)``, ``(None, reason)`` for text the core refuses, ``(None, None)``
    for an empty field."""
    if not text.strip():
        return None, None
    try:
        return parse_minor(text, currency, what=what), None
    except BillingError as exc:
        return None, str(exc)


def concerns_amount(refusal: BillingError) -> bool:
    """Whether a refusal is about the amount typed, so that field is marked.

    Only the core's ``refusal.field`` decides (``"amount"``), never the message's wording: a
    refusal naming no field, or another one (the reason, the date), leaves the amount unmarked.
    """
    return refusal.field == AMOUNT_FIELD


def plain_amount(amount: Decimal) -> str:
    """An amount as the amount fields take it back: ``1234.50`` (no symbol, no grouping)."""
    return f"{amount:f}"


# -- the dialogs' base --------------------------------------------------------------------------


class MoneyActionDialog(GuardedDialog):
    """A dialog that saves one money correction through the core, or shows why not.

    A subclass builds its widgets (``amount_edit``, ``message_label``, ``save_button`` and
    ``cancel_button`` at least, see :meth:`_add_message_and_buttons`) and provides :meth:`_save`
    (the core call, returning the saved id), :meth:`_reload` (read the figures again after a
    refusal) and :meth:`_can_save`. ``saved_id`` holds the saved record's id once it is saved.
    """

    #: The start of the request id (``refund`` gives ``refund-<hex>``).
    REQUEST_PREFIX: ClassVar[str]
    #: How the core names the amount in a refusal (``"the refund"``).
    AMOUNT_WHAT: ClassVar[str]

    amount_edit: MoneyEdit
    message_label: QLabel
    save_button: QPushButton
    cancel_button: QPushButton

    def __init__(self, clinic: Clinic, formatter: Formatter, parent: QWidget | None) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self._formatter = formatter
        self._currency = clinic.currency
        self.request_id = f"{self.REQUEST_PREFIX}-{uuid.uuid4().hex}"
        self.saved_id: int | None = None
        self.setMinimumWidth(MIN_WIDTH)

    # -- for subclasses ---------------------------------------------------------------------

    def _save(self) -> int:
        """Save through the core; the saved record's id. Raises BillingError when refused."""
        raise NotImplementedError

    def _reload(self) -> None:
        """Read the figures again (another computer may have changed them); may raise."""

    def _show_figures(self) -> None:
        """Show the figures as last read."""

    def _can_save(self) -> bool:
        """Whatever else saving needs besides an amount (a reason, a patient chosen)."""
        return True

    def _ready(self) -> bool:
        """Whether a click on the action button can save at all (a patient chosen)."""
        return True

    def _notice(self) -> str | None:
        """A plain notice that replaces the message (nothing to correct), if any."""
        return None

    def _preview(self, minor: int | None, error: str | None) -> None:
        """Show what saving ``minor`` would do (``error``: the amount cannot be read)."""

    def _amount(self) -> tuple[int | None, str | None]:
        """The amount typed: see :func:`parse_amount`."""
        return parse_amount(self.amount_edit.text(), self._currency, self.AMOUNT_WHAT)

    def _add_message_and_buttons(
        self, layout: QVBoxLayout, action_label: str, *, stretch: bool
    ) -> None:
        """Add the inline message and the buttons (the action is the default button)."""
        self.message_label = problem_label()
        layout.addWidget(self.message_label)
        if stretch:
            layout.addStretch(1)
        buttons, self.save_button, self.cancel_button = action_buttons(action_label)
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    # -- the cycle --------------------------------------------------------------------------

    def _refresh(self, *, clear_message: bool = True) -> None:
        """Mark an amount that cannot be read, update the preview and the message, and enable
        saving when there is something to send (every keystroke)."""
        minor, error = self._amount()
        self.amount_edit.set_error(error)
        self._preview(minor, error)
        notice = self._notice()
        if notice is not None:
            show_message(self.message_label, notice, problem=False)
        elif error is not None:
            show_message(self.message_label, error)
        elif clear_message:
            show_message(self.message_label, "")
        self.save_button.setEnabled(
            self.saved_id is None and minor is not None and self._can_save()
        )

    def _refused(self, refusal: BillingError) -> None:
        """Show the figures as they are now, the refusal, and mark the field it is about."""
        with contextlib.suppress(BillingError):
            self._reload()
        self._show_figures()
        self._refresh(clear_message=False)
        show_message(self.message_label, str(refusal))
        edit = self.amount_edit
        if edit.isEnabled() and concerns_amount(refusal):
            edit.set_error(str(refusal))
            edit.setFocus()
            edit.selectAll()

    # -- slots ------------------------------------------------------------------------------

    def _on_amount_edit_text_changed(self, _text: str) -> None:
        self._refresh()

    def _on_reason_edit_text_changed(self, _text: str) -> None:
        self._refresh()

    def _on_save_button_clicked(self) -> None:
        if self.saved_id is not None or not self._ready():
            return
        self.save_button.setEnabled(False)
        try:
            saved_id = self._save()
        except PermissionDenied as exc:  # the account was disabled or its role lowered meanwhile
            show_message(self.message_label, str(exc))
            return
        except BillingError as exc:
            self._refused(exc)
            return
        self.saved_id = saved_id
        self.accept()


class PatientCreditDialog(MoneyActionDialog):
    """A correction that spends a patient's account credit (a refund, a transfer)."""

    #: What the credit would be used for, in ``No account credit to ...``.
    NOTHING_TO: ClassVar[str]

    credit_label: QLabel
    name_label: QLabel

    #: The window's title.
    TITLE: ClassVar[str]
    #: What the credit shown is called.
    CREDIT_CAPTION: ClassVar[str] = "Account credit available"

    def __init__(
        self,
        clinic: Clinic,
        patient_id: int,
        formatter: Formatter,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(clinic, formatter, parent)
        self._patient_id = patient_id
        self._holder_name, self._credit = self._read_holder()
        self.setWindowTitle(self.TITLE)
        self._build()
        self._show_figures()
        self._fill()
        self._refresh()
        self._focus_first()

    def _read_holder(self) -> tuple[str, Decimal]:
        """The name of whoever holds the credit, and the credit (read again after a refusal)."""
        patient = self._clinic.patient(self._patient_id)
        return patient.full_name, patient.credit

    def _build(self) -> None:
        """Build the widgets."""
        raise NotImplementedError

    def _fill(self) -> None:
        """Fill in what the dialog starts with."""

    def _focus_first(self) -> None:
        """Focus the field the receptionist starts with."""

    def _patient_form(self, accessible_name: str) -> tuple[QVBoxLayout, QFormLayout]:
        """The dialog's layout with the patient's name, and a form that starts with their account
        credit (added to the layout by the caller, once filled)."""
        layout = QVBoxLayout(self)
        self.name_label = heading(self._holder_name, accessible_name)
        layout.addWidget(self.name_label)
        form = QFormLayout()
        self.credit_label = figure(self.CREDIT_CAPTION, bold=True)
        self.credit_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        form.addRow(f"{self.CREDIT_CAPTION}:", self.credit_label)
        return layout, form

    def _show_figures(self) -> None:
        self.credit_label.setText(self._formatter.money(self._credit))

    def _reload(self) -> None:
        self._credit = self._read_holder()[1]

    def _notice(self) -> str | None:
        return None if self._credit > 0 else f"No account credit to {self.NOTHING_TO}."

    def _can_save(self) -> bool:
        return self._credit > 0
