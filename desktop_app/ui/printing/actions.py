"""The main window's print actions: the selected invoice, the selected payment's receipt, and the
shown patient's statement. Each opens the print window (preview, Print…, Save PDF…, and Email…
for a role that may email). A payer's statement opens the same window
(:func:`payer_statement_dialog`, from the Reports window).

Qt's print support is loaded on the first print, not at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from desktop_app.core import Permission

from .html import invoice_html, payer_statement_html, receipt_html, statement_html

if TYPE_CHECKING:
    from desktop_app.core import Clinic, EmailDraft, InvoiceRecord, Letterhead, PaymentRecord
    from desktop_app.ui.formatting import Formatter

    from .dialog import DocumentDialog


class Host(Protocol):
    """What printing needs from the window: the clinic, the formatter and the selection."""

    @property
    def clinic(self) -> Clinic: ...

    formatter: Formatter

    @property
    def patient_id(self) -> int | None: ...

    def selected_invoice(self) -> InvoiceRecord | None: ...

    def selected_payment(self) -> PaymentRecord | None: ...


class PrintActions(QObject):
    """Print invoice, Print receipt and Statement, enabled to match the selection."""

    def __init__(self, host: Host, window: QWidget) -> None:
        super().__init__(window)
        self._host = host
        self._window = window

        def action(text: str, slot: Callable[[], object], shortcut: str) -> QAction:
            act = QAction(text, window)
            act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(lambda _checked=False: slot())
            return act

        self.invoice_action = action("Print invoice…", self.print_invoice, "Ctrl+Shift+P")
        self.receipt_action = action("Print r&eceipt…", self.print_receipt, "Ctrl+Shift+E")
        self.statement_action = action("&Statement…", self.statement, "Ctrl+Shift+S")
        #: The last print window opened (for tests and screenshots).
        self.last_dialog: DocumentDialog | None = None
        self.update()

    @property
    def actions(self) -> list[QAction]:
        """The three actions, in menu order."""
        return [self.invoice_action, self.receipt_action, self.statement_action]

    def update(self) -> None:
        """Enable each action only when there is something to print."""
        self.invoice_action.setEnabled(self._host.selected_invoice() is not None)
        self.receipt_action.setEnabled(self._host.selected_payment() is not None)
        self.statement_action.setEnabled(self._host.patient_id is not None)

    def _dialog(
        self,
        title: str,
        email_draft: Callable[[DocumentDialog], EmailDraft] | None = None,
        **kwargs: object,
    ) -> DocumentDialog:
        from .dialog import DocumentDialog  # loads QtPrintSupport

        clinic = self._host.clinic
        dialog = DocumentDialog(
            title,
            parent=self._window,
            **email_kwargs(clinic, email_draft),
            **kwargs,  # type: ignore[arg-type]
        )
        self.last_dialog = dialog
        dialog.show()
        return dialog

    def _record_dialog(
        self,
        title: str,
        read: Callable[[], Any],
        lay_out: Callable[[Any, Formatter], str],
        email_draft: Callable[[DocumentDialog], EmailDraft] | None = None,
    ) -> DocumentDialog:
        """The print window of one record's document: ``read`` it, ``lay_out`` its HTML;
        ``email_draft`` makes its email (None: not emailed from here)."""

        def build() -> tuple[str, Letterhead]:
            document = read()
            return lay_out(document, self._host.formatter), document.letterhead

        return self._dialog(title, email_draft, build=build)

    def print_invoice(self, invoice_id: int | None = None) -> DocumentDialog | None:
        """The print window for an invoice (the selected one by default)."""
        clinic = self._host.clinic
        if invoice_id is None:
            selected = self._host.selected_invoice()
            if selected is None:
                return None
            chosen, number = selected.id, selected.number
        else:
            chosen, number = invoice_id, clinic.invoice(invoice_id).number
        title = "Draft invoice" if number is None else f"Invoice {number}"
        return self._record_dialog(
            title,
            lambda: clinic.invoice_document(chosen),
            invoice_html,
            # A draft is not emailed: it is issued first.
            None if number is None else lambda _: clinic.email_draft("invoice", invoice_id=chosen),
        )

    def print_receipt(self, payment_id: int | None = None) -> DocumentDialog | None:
        """The print window for a payment's receipt (the selected payment by default)."""
        if payment_id is None:
            selected = self._host.selected_payment()
            if selected is None:
                return None
            payment_id = selected.id
        clinic, chosen = self._host.clinic, payment_id
        return self._record_dialog(
            f"Receipt {chosen}",
            lambda: clinic.receipt(chosen),
            receipt_html,
            lambda _: clinic.email_draft("receipt", payment_id=chosen),
        )

    def statement(self, start: date | None = None) -> DocumentDialog | None:
        """The print window for the shown patient's statement (the last three months at first)."""
        patient_id = self._host.patient_id
        if patient_id is None:
            return None
        clinic = self._host.clinic
        patient = clinic.patient(patient_id)

        def build(first: date | None, last: date) -> tuple[str, Letterhead]:
            document = clinic.statement(patient_id, first, last)
            return statement_html(document, self._host.formatter), document.letterhead

        title = f"Statement {patient.first_name} {patient.last_name}"
        return self._dialog(
            title,
            statement_draft(clinic, patient_id),
            period_build=build,
            period_start=start,
        )


def statement_draft(clinic: Clinic, account_id: int) -> Callable[[DocumentDialog], EmailDraft]:
    """Makes the email of a patient's or payer's statement for the period its window shows."""

    def draft(dialog: DocumentDialog) -> EmailDraft:
        start, end = dialog.period()
        return clinic.email_draft("statement", account_id=account_id, start=start, end=end)

    return draft


def email_kwargs(
    clinic: Clinic, email_draft: Callable[[DocumentDialog], EmailDraft] | None
) -> dict[str, Any]:
    """The print window's Email… arguments: none for a role that may not email."""
    if email_draft is None or not clinic.may(Permission.EMAIL):
        return {}
    return {"clinic": clinic, "email_draft": email_draft}


def payer_statement_dialog(
    clinic: Clinic,
    formatter: Formatter,
    payer_id: int,
    parent: QWidget | None = None,
    start: date | None = None,
) -> DocumentDialog:
    """The print window of a payer's statement (its period chosen in the window: the last three
    months at first), shown."""
    from .dialog import DocumentDialog  # loads QtPrintSupport

    payer = clinic.payer(payer_id)

    def build(first: date | None, last: date) -> tuple[str, Letterhead]:
        document = clinic.payer_statement(payer_id, first, last)
        return payer_statement_html(document, formatter), document.letterhead

    dialog = DocumentDialog(
        f"Statement {payer.name}",
        parent=parent,
        period_build=build,
        period_start=start,
        **email_kwargs(clinic, statement_draft(clinic, payer_id)),
    )
    dialog.show()
    return dialog
