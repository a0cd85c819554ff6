"""The "Apply to invoices" table of the payment dialogs: one editable amount per open invoice.

Amounts staff type are kept as typed (and win over automatic allocation); the other rows show what
the automatic mode filled in, in a softer text colour (from the palette, so it reads in dark
mode too). Clearing a typed amount hands the invoice back to the mode.

A patient's payment shows the columns of :data:`HEADERS`; a payer's remittance adds who each
invoice is for and the payer's claim reference (:data:`PAYER_COLUMNS`, with
:meth:`AllocationModel.set_details`), and :data:`SEARCH_ROLE` gives the text a search matches.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QGuiApplication, QPalette

from desktop_app.core import OpenInvoice, PaymentPreview, PlanLine, to_decimal
from desktop_app.ui.formatting import Formatter
from desktop_app.ui.models.records import LEFT, RIGHT, Index, header_data
from desktop_app.ui.style import HINT_TONE, problem_background, tone_colour

INVOICE, ISSUED, BALANCE, APPLY, FROM_CREDIT, BALANCE_AFTER, AFTER, PATIENT, CLAIM = range(9)
#: The title of each kind of column.
TITLES = (
    "Invoice",
    "Issued",
    "Balance",
    "Apply",
    "From credit",
    "Balance after",
    "After saving",
    "Patient",
    "Claim",
)
#: A patient's payment: the columns in order (each column's number is its kind).
PATIENT_COLUMNS = (INVOICE, ISSUED, BALANCE, APPLY, FROM_CREDIT, BALANCE_AFTER, AFTER)
#: A payer's remittance: who each invoice is for and the claim reference too.
PAYER_COLUMNS = (INVOICE, PATIENT, CLAIM, ISSUED, BALANCE, APPLY, FROM_CREDIT, BALANCE_AFTER, AFTER)
HEADERS = tuple(TITLES[kind] for kind in PATIENT_COLUMNS)
AMOUNT_COLUMNS = frozenset({BALANCE, APPLY, FROM_CREDIT, BALANCE_AFTER})
#: The text a search of the invoices matches: number, patient and claim reference.
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 1
#: The invoice's id.
INVOICE_ID_ROLE = Qt.ItemDataRole.UserRole + 2


class AllocationModel(QAbstractTableModel):
    """Open invoices with typed and automatic amounts and the preview's outcome per invoice.

    Signals:
        typed_changed: staff typed, changed or cleared an amount.
    """

    typed_changed = Signal()

    def __init__(
        self,
        formatter: Formatter,
        currency: str,
        parent: Any = None,
        *,
        columns: tuple[int, ...] = PATIENT_COLUMNS,
    ) -> None:
        super().__init__(parent)
        self._formatter = formatter
        self._currency = currency
        self._columns = columns
        self._invoices: list[OpenInvoice] = []
        self._typed: dict[int, str] = {}
        self._errors: dict[int, str] = {}
        self._lines: dict[int, PlanLine] = {}
        #: Invoice id -> (the patient it is for, the claim reference), for a payer's invoices.
        self._details: dict[int, tuple[str, str]] = {}

    @property
    def apply_column(self) -> int:
        """The column of the editable amounts."""
        return self._columns.index(APPLY)

    def column_of(self, kind: int) -> int:
        """The column showing ``kind`` (``PATIENT``, ``APPLY``, ...), or -1."""
        return self._columns.index(kind) if kind in self._columns else -1

    def set_currency(self, currency: str) -> None:
        """Show amounts in ``currency`` (the draft's)."""
        self._currency = currency

    # -- state ------------------------------------------------------------------------------

    def set_invoices(self, invoices: list[OpenInvoice] | tuple[OpenInvoice, ...]) -> None:
        """Show these open invoices (oldest first); typed amounts of invoices gone are dropped."""
        self.beginResetModel()
        self._invoices = list(invoices)
        ids = {inv.id for inv in self._invoices}
        self._typed = {k: v for k, v in self._typed.items() if k in ids}
        self._errors.clear()
        self._lines.clear()
        self.endResetModel()

    def set_details(self, details: dict[int, tuple[str, str]]) -> None:
        """Who each invoice is for and its claim reference: invoice id -> (patient, claim)."""
        self._details = dict(details)
        self._changed_all()

    @property
    def typed(self) -> dict[int, str]:
        """Invoice id -> the text staff typed."""
        return dict(self._typed)

    def invoice_row(self, invoice_id: int) -> int:
        """The row of an invoice (-1 if it is not listed)."""
        return next((r for r, inv in enumerate(self._invoices) if inv.id == invoice_id), -1)

    def set_errors(self, errors: dict[int, str]) -> None:
        """Mark typed amounts that are refused, with the reason."""
        self._errors = dict(errors)
        self._changed_all()

    def set_preview(self, preview: PaymentPreview | None) -> None:
        """Show the outcome of a preview (None: the typed amounts are not valid yet)."""
        self._lines = {} if preview is None else {ln.invoice_id: ln for ln in preview.lines}
        self._changed_all()

    def _changed_all(self) -> None:
        if self._invoices:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self._invoices) - 1, len(self._columns) - 1)
            )

    def _money(self, minor: int) -> str:
        return self._formatter.money(to_decimal(minor, self._currency))

    # -- Qt ---------------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._invoices)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._columns)

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsEditable if index.column() == self.apply_column else base

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._invoices):
            return None
        invoice = self._invoices[index.row()]
        column = self._columns[index.column()]
        line = self._lines.get(invoice.id)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._display(invoice, column, line)
        if role == SEARCH_ROLE:
            patient, claim = self._details.get(invoice.id, ("", ""))
            return f"#{invoice.number} {patient} {claim}"
        if role == INVOICE_ID_ROLE:
            return invoice.id
        if role == Qt.ItemDataRole.ToolTipRole and column in (PATIENT, CLAIM):
            return self._display(invoice, column, line) or None
        if role == Qt.ItemDataRole.EditRole and column == APPLY:
            if invoice.id in self._typed:
                return self._typed[invoice.id]
            return str(to_decimal(line.applied, self._currency)) if line and line.applied else ""
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(RIGHT if column in AMOUNT_COLUMNS else LEFT)
        if role == Qt.ItemDataRole.ForegroundRole and column == APPLY:
            if invoice.id in self._typed:
                return None
            palette = QGuiApplication.palette()
            return QBrush(tone_colour(HINT_TONE, palette, QPalette.ColorRole.Base))
        if (
            role == Qt.ItemDataRole.BackgroundRole
            and column == APPLY
            and invoice.id in self._errors
        ):
            return QBrush(problem_background(QGuiApplication.palette()))
        if role == Qt.ItemDataRole.ToolTipRole and column == APPLY:
            if invoice.id in self._errors:
                return self._errors[invoice.id]
            if invoice.id in self._typed:
                return "Typed by you. Clear it to let automatic allocation decide."
            return "Filled in automatically. Type an amount to change it."
        return None

    def _display(self, invoice: OpenInvoice, column: int, line: PlanLine | None) -> str:
        if column == INVOICE:
            return f"#{invoice.number}"
        if column in (PATIENT, CLAIM):
            return self._details.get(invoice.id, ("", ""))[column == CLAIM]
        if column == ISSUED:
            return self._formatter.day(invoice.issue_date)
        if column == BALANCE:
            return self._money(invoice.balance)
        if column == APPLY:
            if invoice.id in self._typed:
                return self._typed[invoice.id]
            return self._money(line.applied) if line and line.applied else ""
        if line is None:
            return ""
        if column == FROM_CREDIT:
            return self._money(line.from_credit) if line.from_credit else ""
        if column == BALANCE_AFTER:
            return self._money(line.balance_after)
        return "Paid" if line.closes else ("Part paid" if line.applied else "Open")

    def setData(  # noqa: N802
        self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole
    ) -> bool:
        if (
            role != Qt.ItemDataRole.EditRole
            or not index.isValid()
            or index.column() != self.apply_column
        ):
            return False
        invoice = self._invoices[index.row()]
        text = "" if value is None else str(value).strip()
        if invoice.id not in self._typed and text == self.data(index, Qt.ItemDataRole.EditRole):
            return False  # an automatic amount confirmed unchanged stays automatic
        if text:
            self._typed[invoice.id] = text
        else:
            self._typed.pop(invoice.id, None)
        self.dataChanged.emit(index, index)
        self.typed_changed.emit()
        return True

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        titles = [TITLES[kind] for kind in self._columns]
        amounts = {n for n, kind in enumerate(self._columns) if kind in AMOUNT_COLUMNS}
        return header_data(titles, amounts, section, orientation, role)


class InvoiceFilter(QSortFilterProxyModel):
    """The allocation model's rows that a search kept (all of them until a search is set).

    Hiding a row keeps what was typed in it: the preview still counts it. Rows are filtered
    only when :meth:`keep` is called, never on each keystroke's new preview.
    """

    def __init__(self, source: AllocationModel, parent: Any = None) -> None:
        super().__init__(parent)
        self._kept: frozenset[int] | None = None
        self.setDynamicSortFilter(False)  # a new preview changes amounts, not which rows match
        self.setSourceModel(source)

    def keep(self, invoice_ids: Collection[int] | None) -> None:
        """Show only these invoices (None: every one)."""
        self.beginFilterChange()
        self._kept = None if invoice_ids is None else frozenset(invoice_ids)
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    @property
    def filtering(self) -> bool:
        """Whether a search hides some invoices."""
        return self._kept is not None

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:  # noqa: N802
        if self._kept is None:
            return True
        source = self.sourceModel()
        invoice_id = source.data(source.index(source_row, 0, source_parent), INVOICE_ID_ROLE)
        return invoice_id in self._kept
