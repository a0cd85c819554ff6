"""Every patient's invoices, a page at a time (``fetchMore`` with keyset paging).

The model holds only the pages read so far: the first when it is (re)loaded, and one more each
time the view scrolls to the end of what is loaded (Qt asks ``canFetchMore``/``fetchMore``).
Sorting and searching are done by the database (``Clinic.invoice_page``): a header click re-reads
the first page in the new order. Rows are formatted when first shown, so a page of 200 costs one
query and only the visible rows are ever formatted.

Reading ahead: once the list has been scrolled to a second page, each next page is read on the
next turn of the event loop (after the rows on screen are painted, while the person looks at
them), so scrolling on to it later inserts rows already read instead of waiting for the
database. A page read ahead is used only for the same search and order, from the same place,
and only while it is fresh (:data:`READ_AHEAD_FRESH_S`); otherwise the page is read when it is
needed, as before.

Loaded rows are capped at :data:`MAX_ROWS`; past that the window suggests narrowing the search or
reversing the sort (the oldest of a million invoices is one header click away, not 5,000 pages).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer

from desktop_app.ui.formatting import Formatter
from desktop_app.ui.models.records import LEFT, RIGHT, Index, header_data
from desktop_app.ui.style import overdue_tone

if TYPE_CHECKING:
    from desktop_app.core import Clinic, InvoiceKey, InvoiceListRow, InvoicePage

PAGE_SIZE = 200
MAX_ROWS = 50_000
#: Who owes an invoice billed to the patient ("Billed to" says the payer's name otherwise).
PATIENT_PAYS = "Patient"
#: A page read ahead older than this is read again when it is needed (seconds).
READ_AHEAD_FRESH_S = 30.0
NUMBER, PATIENT, BILLED_TO, CLAIM, ISSUED, DUE, TOTAL, PAID, CREDITED, BALANCE, STATUS, XERO = (
    range(12)
)
HEADERS = (
    "Invoice",
    "Patient",
    "Billed to",
    "Claim",
    "Issued",
    "Due",
    "Total",
    "Paid",
    "Credited",
    "Balance",
    "Status",
    "Xero",
)
AMOUNTS = (TOTAL, PAID, CREDITED, BALANCE)
#: Columns a header click sorts by, and the database's name for each order.
SORT_KEYS = {NUMBER: "number", PATIENT: "patient", ISSUED: "issue_date", BALANCE: "balance"}
#: Overdue: open and due before today (the list's "Status" says "Overdue" for them, in colour too).
STATUS_FILTERS = (
    ("All", None),
    ("Open", "open"),
    ("Overdue", "overdue"),
    ("Paid", "paid"),
    ("Void", "void"),
)
_TEXT_ROLES = frozenset(
    int(role.value)
    for role in (
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.AccessibleTextRole,
        Qt.ItemDataRole.ToolTipRole,  # the whole text where a narrow column cuts it
    )
)
_ALIGNMENT_ROLE = int(Qt.ItemDataRole.TextAlignmentRole.value)
_FOREGROUND_ROLE = int(Qt.ItemDataRole.ForegroundRole.value)
_ALIGNMENTS = tuple(int((RIGHT if c in AMOUNTS else LEFT).value) for c in range(len(HEADERS)))


@dataclass(frozen=True, slots=True)
class _Query:
    sort: str = "number"
    descending: bool = False
    search: str = ""
    status: str | None = None


@dataclass(frozen=True, slots=True)
class _Ahead:
    """The next page, read before it was asked for."""

    query: _Query
    after: InvoiceKey
    page: InvoicePage
    read_at: float


class _Texts:
    """Formatted amounts and dates, remembered: the same fees and days recur on many rows."""

    def __init__(self, formatter: Formatter) -> None:
        self.formatter = formatter
        self._money: dict[Decimal, str] = {}
        self._days: dict[date | None, str] = {}

    def money(self, amount: Decimal) -> str:
        text = self._money.get(amount)
        if text is None:
            if len(self._money) > 20_000:
                self._money.clear()
            text = self._money[amount] = self.formatter.money(amount)
        return text

    def day(self, value: date | None) -> str:
        text = self._days.get(value)
        if text is None:
            if len(self._days) > 20_000:
                self._days.clear()
            text = self._days[value] = self.formatter.day(value)
        return text


class InvoiceListModel(QAbstractTableModel):
    """The clinic's invoices matching a search and status, in a database-side order."""

    def __init__(
        self,
        clinic: Clinic,
        formatter: Formatter,
        parent: Any = None,
        *,
        page_size: int = PAGE_SIZE,
        max_rows: int = MAX_ROWS,
        read_ahead: bool = True,
    ) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self._texts = _Texts(formatter)
        self._page_size = page_size
        self._max_rows = max_rows
        self._query = _Query()
        self._rows: list[InvoiceListRow] = []
        #: Each loaded invoice's standing with Xero, once the clinic syncs (empty otherwise).
        self._xero: dict[int, str] = {}
        self._xero_used = False
        self._shown: list[tuple[str, ...] | None] = []
        self._next: InvoiceKey | None = None
        self._changing = False  # inside a reset or an insertion: no nested fetch
        self._ahead: _Ahead | None = None
        self._ahead_timer: QTimer | None = None
        if read_ahead:
            self._ahead_timer = QTimer(self, singleShot=True, interval=0)
            self._ahead_timer.timeout.connect(self._on_ahead_timer_timeout)
        #: Pages put into the list (first pages and fetches), whether read then or ahead.
        self.pages_read = 0
        #: How many of those were read ahead.
        self.pages_read_ahead = 0
        self.reload()

    # -- what the window asks for -----------------------------------------------------------

    @property
    def sort_key(self) -> str:
        """The order in use: ``number``, ``patient``, ``issue_date`` or ``balance``."""
        return self._query.sort

    @property
    def descending(self) -> bool:
        """Whether the order is reversed."""
        return self._query.descending

    @property
    def search(self) -> str:
        """The search in use."""
        return self._query.search

    @property
    def status(self) -> str | None:
        """The status shown (None: all)."""
        return self._query.status

    def sort_column(self) -> int:
        """The column the current order sorts by."""
        return next(c for c, key in SORT_KEYS.items() if key == self._query.sort)

    def set_search(self, text: str) -> None:
        """Show only invoices with this number, or of patients whose names match every word."""
        self._change(search=text.strip())

    def set_status(self, status: str | None) -> None:
        """Show only ``open``, ``overdue``, ``paid`` or ``void`` invoices (None: all)."""
        self._change(status=status or None)

    def set_order(self, sort: str, descending: bool = False) -> None:
        """Sort by ``number``, ``patient``, ``issue_date`` or ``balance``."""
        self._change(sort=sort, descending=descending)

    def set_formatter(self, formatter: Formatter) -> None:
        """Show amounts with another formatter (after the currency changed)."""
        self.beginResetModel()
        self._texts = _Texts(formatter)
        self._shown = [None] * len(self._rows)
        self.endResetModel()

    def _change(self, **changes: Any) -> None:
        query = replace(self._query, **changes)
        if query != self._query:
            self._query = query
            self.reload()

    def reload(self) -> None:
        """Read the first page again (after a save, or in a new order)."""
        self._changing = True
        self.beginResetModel()
        self._rows, self._shown, self._next, self._ahead = [], [], None, None
        self._xero = {}
        self._xero_used = bool(self._clinic.xero_sync_runs(limit=1))
        try:
            self._append(self._read(None))
        finally:  # a failed read leaves an empty list, not a half-reset model
            self.endResetModel()
            self._changing = False
        # No read ahead here: a reload follows each pause in typing a search, and most searches
        # are never scrolled. Once the list is scrolled past a page, the next is read ahead.

    def invoice(self, row: int) -> InvoiceListRow:
        """The invoice on ``row`` (a loaded row)."""
        return self._rows[row]

    def row_of(self, invoice_id: int) -> int:
        """The row showing ``invoice_id`` among the loaded rows, or -1."""
        return next((n for n, r in enumerate(self._rows) if r.id == invoice_id), -1)

    @property
    def has_more(self) -> bool:
        """Whether the database holds more matching invoices than are loaded."""
        return self._next is not None

    @property
    def at_limit(self) -> bool:
        """More invoices match, but :data:`MAX_ROWS` are loaded: no more are fetched."""
        return self._next is not None and len(self._rows) >= self._max_rows

    def count(self) -> int:
        """How many invoices match (a separate query: see ``Clinic.invoice_count``)."""
        return int(self._clinic.invoice_count(self._query.search, self._query.status))

    def _read(self, after: InvoiceKey | None) -> InvoicePage:
        self.pages_read += 1
        return self._query_page(after)

    def _query_page(self, after: InvoiceKey | None) -> InvoicePage:
        q = self._query
        page: InvoicePage = self._clinic.invoice_page(
            sort=q.sort,
            descending=q.descending,
            search=q.search,
            status=q.status,
            after=after,
            limit=self._page_size,
        )
        return page

    def _append(self, page: InvoicePage) -> None:
        if self._xero_used:
            self._xero.update(self._clinic.xero_invoice_states([r.id for r in page.rows]))
        self._rows.extend(page.rows)
        self._shown.extend([None] * len(page.rows))
        self._next = page.next_key

    def _schedule_read_ahead(self) -> None:
        if self._ahead_timer is not None and self.canFetchMore():
            self._ahead_timer.start()

    def read_ahead(self) -> bool:
        """Read the next page now, to be inserted when the view asks for it; False if none is due.

        Runs on its own a turn of the event loop after each page goes in. A failed read is
        dropped: the page is read again when it is needed, and that read reports the error.
        """
        after = self._next
        if after is None or not self.canFetchMore() or self._fits(self._ahead, after):
            return False
        try:
            page = self._query_page(after)
        except Exception:  # reported by the read that needs the page
            return False
        self._ahead = _Ahead(self._query, after, page, time.monotonic())
        return True

    def _fits(self, ahead: _Ahead | None, after: InvoiceKey) -> bool:
        """Whether a page read ahead is the page after ``after`` in the list as it is now."""
        return (
            ahead is not None
            and ahead.query == self._query
            and ahead.after == after
            and time.monotonic() - ahead.read_at < READ_AHEAD_FRESH_S
        )

    def _next_page(self) -> InvoicePage:
        """The page after the loaded rows: the one read ahead if it still fits, else read now."""
        after = self._next
        ahead, self._ahead = self._ahead, None  # used once at most
        if after is not None and ahead is not None and self._fits(ahead, after):
            self.pages_read += 1
            self.pages_read_ahead += 1
            return ahead.page
        return self._read(after)

    def cancel_read_ahead(self) -> None:
        """Stop reading ahead and drop what was read (the window is closing)."""
        if self._ahead_timer is not None:
            self._ahead_timer.stop()
        self._ahead = None

    def _on_ahead_timer_timeout(self) -> None:
        self.read_ahead()

    # -- Qt ---------------------------------------------------------------------------------

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008, N802
        # Not while the rows are changing: whoever reacts to a reset or an insertion (a view, a
        # model tester) asks again once it is over, instead of nesting another insertion in it.
        return (
            not parent.isValid()
            and self._next is not None
            and not self.at_limit
            and not self._changing
        )

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008, N802
        if not self.canFetchMore(parent):
            return
        page = self._next_page()
        if not page.rows:
            self._next = None
            return
        start = len(self._rows)
        self._changing = True
        try:
            self.beginInsertRows(QModelIndex(), start, start + len(page.rows) - 1)
            self._append(page)
            self.endInsertRows()
        finally:
            self._changing = False
        self._schedule_read_ahead()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(HEADERS)

    def _format(self, row: int) -> tuple[str, ...]:
        """The texts of ``row``, worked out when it is first shown."""
        r = self._rows[row]
        money, day = self._texts.money, self._texts.day
        shown = self._shown[row] = (
            f"#{r.number}",
            r.patient_name,
            r.billed_to or PATIENT_PAYS,
            r.claim_reference or "",
            day(r.issue_date),
            day(r.due_date),
            money(r.total),
            money(r.paid),
            money(r.credited) if r.credited else "",
            money(r.balance),
            r.shown_status.capitalize(),
            self._xero.get(r.id, "").capitalize(),
        )
        return shown

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called for every role of every visible cell on each repaint: plain ints, no Qt enums.
        if role in _TEXT_ROLES:
            row = index.row()
            if 0 <= row < len(self._shown):
                shown = self._shown[row]
                if shown is None:
                    shown = self._format(row)
                return shown[index.column()]
        elif role == _ALIGNMENT_ROLE and index.isValid():
            return _ALIGNMENTS[index.column()]
        elif role == _FOREGROUND_ROLE and index.column() == STATUS:
            row = index.row()
            if 0 <= row < len(self._rows) and self._rows[row].overdue:
                return overdue_tone()
        return None

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.ToolTipRole
            and orientation == Qt.Orientation.Horizontal
            and section in SORT_KEYS
        ):
            return f"Sort by {HEADERS[section].lower()} (click again to reverse)"
        return header_data(HEADERS, AMOUNTS, section, orientation, role)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort in the database (columns without an order of their own are ignored)."""
        key = SORT_KEYS.get(column)
        if key is None:
            return
        self.set_order(key, order == Qt.SortOrder.DescendingOrder)
