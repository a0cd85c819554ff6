"""Export patients, invoices, invoice lines or payments to a CSV file a spreadsheet opens.

The file:

* is UTF-8 with a byte order mark, so Excel reads accents and non-Latin names correctly when the
  file is double-clicked (other programs, and Python's ``encoding="utf-8-sig"``, skip the mark);
* follows RFC 4180: comma-separated, a header row, CRLF line ends, fields quoted when they hold a
  comma, quote or line break (Python's ``csv`` module, "excel" dialect);
* holds amounts as plain numbers with the currency's decimals (``1234.50``, ``-20.00`` for a
  refund; no symbol, no thousands separator) and dates as ``YYYY-MM-DD``;
* leaves draft invoices out (a draft has no number and is no invoice yet), and their lines;
* is safe to open in a spreadsheet: a text cell (a name, a description, a payment type) that starts
  with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be read as a formula, so it is
  written with a leading apostrophe (``'=SUM(A1)``), as OWASP recommends for CSV injection. Only
  text that people typed is treated so: the amounts, dates and numbers are written by Clinic Ledger
  itself and stay numbers (a refund's ``-20.00`` must add up in a spreadsheet).

Rows are read in pages of :data:`PAGE_SIZE` by id (``WHERE id > :last ORDER BY id LIMIT n``),
never a whole table at once, inside one read transaction: the file is a consistent snapshot even
while other computers keep saving. It is written under a temporary name in the destination folder
and renamed only when complete, so a cancelled or failed export leaves no half-written file (and
an existing file of that name is replaced only by a complete export).
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from sqlalchemy import BindParameter, Engine, String, bindparam, func, select, type_coerce
from sqlalchemy.orm import Session

from ..access.staff import Permission
from ..db.models import (
    Application,
    Invoice,
    InvoiceLine,
    Patient,
    Payment,
    PaymentSource,
    PaymentType,
    Setting,
    Staff,
)
from ..domain.currencies import MINOR_UNITS
from ..domain.errors import BillingError, Refusal, bad_file
from ..domain.invoicing import quantity_text
from ..domain.kinds import InvoiceStatus
from ..domain.patient_details import DETAILS
from ..ledger.payer_accounts import not_payer
from .door import LedgerDoor
from .spreadsheet_text import safe_text

#: Rows read from the database at a time.
PAGE_SIZE: Final = 5000
#: What can be exported.
KINDS: Final = ("patients", "invoices", "invoice_lines", "payments")

#: What one row of each kind is called, and several.
NOUNS: Final = {
    "patients": ("patient", "patients"),
    "invoices": ("invoice", "invoices"),
    "invoice_lines": ("invoice line", "invoice lines"),
    "payments": ("payment or refund", "payments and refunds"),
}
#: ``progress(rows_written, rows_in_all)``, called after each page.
Progress = Callable[[int, int], None]
#: ``cancel()`` returns True to stop; checked before each page.
Cancel = Callable[[], bool]


class ExportCancelled(BillingError):  # noqa: N818 - it is not a failure
    """The export was stopped on request; no file was written."""

    #: No code names a cancellation; the closest: nothing was written (windows tell it apart by
    #: its class).
    default_code = Refusal.NOTHING_TO_SAVE


def amount_text(minor: int, currency: str) -> str:
    """Minor units as plain decimal text with the currency's decimals (``-2000`` -> ``-20.00``).

    The same text as ``format(to_decimal(minor, currency), "f")``, worked out on integers (a
    million invoices have four million amounts).
    """
    places = MINOR_UNITS[currency]
    if places == 0:
        return str(minor)
    digits = str(abs(minor)).rjust(places + 1, "0")
    return f"{'-' if minor < 0 else ''}{digits[:-places]}.{digits[-places:]}"


class _Amounts(dict[int, str]):
    """Amount texts of one export, remembered: fees and prices repeat across thousands of rows."""

    def __init__(self, currency: str) -> None:
        super().__init__()
        self.currency = currency

    def __missing__(self, minor: int) -> str:
        if len(self) > 100_000:
            self.clear()
        text = self[minor] = amount_text(minor, self.currency)
        return text


def _day(value: date | str | None) -> str:
    """A date as ``YYYY-MM-DD``; SQLite hands back the stored text as it is (see ``_raw``)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else value.isoformat()


def _raw(column: Any) -> Any:
    """A date column without converting it to a ``date`` (SQLite stores ISO text already)."""
    return type_coerce(column, String)


class _Reader:
    """What the pages of one export share: the read transaction, amount texts, patient names."""

    #: Patient names remembered at most (a page's patients are looked up once, not per row).
    NAMES_KEPT: Final = 200_000

    def __init__(self, session: Session, currency: str) -> None:
        self.connection = session.connection()
        self.amount = _Amounts(currency)
        self._names: dict[int, str] = {}

    def names(self, patient_ids: Iterable[int]) -> dict[int, str]:
        """``"First Last"`` (formula-safe) of every patient in ``patient_ids``."""
        wanted = set(patient_ids)
        missing = wanted - self._names.keys()
        if len(self._names) + len(missing) > self.NAMES_KEPT:
            self._names.clear()
            missing = wanted
        if missing:
            ids: BindParameter[int] = bindparam("patient_ids", sorted(missing), expanding=True)
            for pid, first, last in self.connection.execute(
                select(Patient.id, Patient.first_name, Patient.last_name).where(
                    Patient.id.in_(ids.render_literal_execute())  # whole numbers, inline
                )
            ):
                self._names[pid] = safe_text(f"{first} {last}".strip())  # a payer: its name
        return self._names


# -- what each kind writes -------------------------------------------------------------------

#: One page: the last id read (where the next page starts) and the rows' cells; (0, []) at the end.
Page = tuple[int, list[list[str]]]


@dataclass(frozen=True)
class _Kind:
    header: tuple[str, ...]
    table: Any  # counted for the progress figure (a table, or a query of the rows written)
    page: Callable[[_Reader, int, int], Page]  # (reader, after id, limit)


def _patients(read: _Reader, after: int, limit: int) -> Page:
    amount = read.amount
    rows = read.connection.execute(
        select(
            Patient.id,
            Patient.first_name,
            Patient.last_name,
            Patient.credit_minor,
            Patient.outstanding_minor,
            *(
                _raw(Patient.date_of_birth) if n == "date_of_birth" else getattr(Patient, n)
                for n in DETAILS
            ),
        )
        .where(Patient.id > after, not_payer())  # payers have their own file (Settings)
        .order_by(Patient.id)
        .limit(limit)
    ).all()
    birth = DETAILS.index("date_of_birth")
    cells = []
    for pid, first, last, credit, outstanding, *details in rows:
        details[birth] = _day(details[birth])[:10]
        cells.append(
            [
                str(pid),
                safe_text(first),
                safe_text(last),
                amount[credit],
                amount[outstanding],
                *(safe_text(d) if d else "" for d in details),
            ]
        )
    return (rows[-1][0] if rows else 0), cells


def _invoices(read: _Reader, after: int, limit: int) -> Page:
    amount = read.amount
    rows = read.connection.execute(
        select(
            Invoice.id,
            Invoice.number,
            Invoice.patient_id,
            _raw(Invoice.issue_date),
            _raw(Invoice.due_date),
            Invoice.status,
            Invoice.total_minor,
            Invoice.paid_minor,
            Invoice.credited_minor,
            Invoice.tax_inclusive,
            Staff.full_name,
            _raw(Invoice.service_date),
            Invoice.for_patient_id,
            Invoice.claim_reference,
        )
        .outerjoin(Staff, Staff.id == Invoice.practitioner_id)
        .where(Invoice.id > after, Invoice.number.is_not(None))  # drafts are not exported
        .order_by(Invoice.id)
        .limit(limit)
    ).all()
    names = read.names(pid for row in rows for pid in (row[2], row[12]) if pid is not None)
    cells = [
        [
            str(number),
            str(for_patient or pid),
            names[for_patient or pid],
            _day(issued),
            _day(due),
            status,
            amount[total],
            amount[paid],
            amount[credited],
            amount[0 if status == InvoiceStatus.VOID else total - paid - credited],
            "yes" if inclusive else "no",
            safe_text(practitioner or ""),
            _day(served)[:10],
            "" if for_patient is None else names[pid],
            safe_text(claim or ""),
        ]
        for (
            _,
            number,
            pid,
            issued,
            due,
            status,
            total,
            paid,
            credited,
            inclusive,
            practitioner,
            served,
            for_patient,
            claim,
        ) in rows
    ]
    return (rows[-1][0] if rows else 0), cells


def _invoice_lines(read: _Reader, after: int, limit: int) -> Page:
    amount = read.amount
    rows = read.connection.execute(
        select(
            InvoiceLine.id,
            Invoice.number,
            InvoiceLine.position,
            InvoiceLine.description,
            InvoiceLine.unit_price_minor,
            InvoiceLine.quantity_centi,
            InvoiceLine.tax_rate_bp,
            InvoiceLine.tax_minor,
            InvoiceLine.amount_minor,
            InvoiceLine.item_code,
            InvoiceLine.discount_minor,
            InvoiceLine.discount_bp,
            InvoiceLine.net_minor,
        )
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.id > after, Invoice.number.is_not(None))
        .order_by(InvoiceLine.id)
        .limit(limit)
    ).all()
    cells = [
        [
            str(number),
            str(position + 1),
            safe_text(description),
            amount[price],
            quantity_text(quantity),
            str(Decimal(rate).scaleb(-2)),  # basis points as a percentage: 1000 -> 10.00
            amount[tax],
            amount[line_amount],
            safe_text(code or ""),
            amount[discount],
            "" if percent is None else str(Decimal(percent).scaleb(-2)),
            amount[net],
        ]
        for (
            _,
            number,
            position,
            description,
            price,
            quantity,
            rate,
            tax,
            line_amount,
            code,
            discount,
            percent,
            net,
        ) in rows
    ]
    return (rows[-1][0] if rows else 0), cells


def _payments(read: _Reader, after: int, limit: int) -> Page:
    amount = read.amount
    rows = read.connection.execute(
        select(
            Payment.id,
            Payment.kind,
            _raw(Payment.payment_date),
            Payment.patient_id,
            Payment.total_minor,
            Payment.reversed_at.is_not(None),
        )
        .where(Payment.id > after)
        .order_by(Payment.id)
        .limit(limit)
    ).all()
    if not rows:
        return 0, []
    names = read.names(row[3] for row in rows)
    # The page's sources and applications, by the id range the page covers (no long IN lists).
    first_id, last_id = rows[0][0], rows[-1][0]
    sources: dict[int, list[str]] = {}
    for pay_id, name, minor in read.connection.execute(
        select(PaymentSource.payment_id, PaymentType.name, PaymentSource.amount_minor)
        .join(PaymentType, PaymentType.id == PaymentSource.payment_type_id)
        .where(PaymentSource.payment_id.between(first_id, last_id))
        .order_by(PaymentSource.id)
    ):
        sources.setdefault(pay_id, []).append(f"{name} {amount[minor]}")
    applied: dict[int, tuple[int, int, str]] = {}
    for pay_id, number, money, credit in read.connection.execute(
        select(
            Application.payment_id,
            Invoice.number,
            Application.from_money_minor,
            Application.from_credit_minor,
        )
        .join(Invoice, Invoice.id == Application.invoice_id)
        .where(Application.payment_id.between(first_id, last_id), Application.removed_at.is_(None))
        .order_by(Application.id)
    ):
        before = applied.get(pay_id)
        if before is None:
            applied[pay_id] = (money, credit, f"#{number}")
        else:
            applied[pay_id] = (before[0] + money, before[1] + credit, f"{before[2]}; #{number}")
    nothing = (0, 0, "")
    cells = []
    for pay_id, kind, day, pid, total, is_reversed in rows:
        money, credit, numbers = applied.get(pay_id, nothing)
        cells.append(
            [
                str(pay_id),
                kind,
                _day(day),
                str(pid),
                names[pid],
                amount[total],
                safe_text("; ".join(sources.get(pay_id, ()))),
                amount[money],
                amount[credit],
                numbers,
                "yes" if is_reversed else "no",
            ]
        )
    return last_id, cells


_KINDS: Final = {
    "patients": _Kind(
        ("id", "first_name", "last_name", "account_credit", "outstanding", *DETAILS),
        select(Patient.id).where(not_payer()).subquery(),
        _patients,
    ),
    "invoices": _Kind(
        (
            "number",
            "patient_id",
            "patient_name",
            "issue_date",
            "due_date",
            "status",
            "total",
            "paid",
            "credited",
            "balance",
            "tax_inclusive",
            "practitioner",
            "service_date",
            "billed_to",
            "claim_reference",
        ),
        select(Invoice.id).where(Invoice.number.is_not(None)).subquery(),  # drafts left out
        _invoices,
    ),
    "invoice_lines": _Kind(
        (
            "invoice_number",
            "line",
            "description",
            "unit_price",
            "quantity",
            "tax_rate_percent",
            "tax",
            "amount",
            "item_code",
            "discount",
            "discount_percent",
            "net",
        ),
        select(InvoiceLine.id)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.number.is_not(None))
        .subquery(),
        _invoice_lines,
    ),
    "payments": _Kind(
        (
            "id",
            "kind",
            "date",
            "patient_id",
            "patient_name",
            "total",
            "sources",
            "money_applied",
            "credit_applied",
            "invoices",
            "reversed",
        ),
        Payment,
        _payments,
    ),
}
assert tuple(_KINDS) == KINDS


def rows_text(kind: str, count: int) -> str:
    """``1 invoice``, ``1,000,000 invoices``, ``2 payments and refunds``."""
    one, many = NOUNS[kind]
    return f"{count:,} {one if count == 1 else many}"


def header(kind: str) -> tuple[str, ...]:
    """The column names of an export of ``kind``."""
    return _kind(kind).header


def _kind(kind: str) -> _Kind:
    found = _KINDS.get(kind) if isinstance(kind, str) else None
    if found is None:
        raise BillingError(
            f"Export one of {', '.join(KINDS)}, not {kind!r}.",
            code=Refusal.BAD_CHOICE,
            field="kind",
        )
    return found


# -- writing ---------------------------------------------------------------------------------


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Session]:
    """One read transaction: every page sees the database as it was when the export began."""
    with Session(engine) as session, session.begin():
        if engine.dialect.name == "postgresql":  # READ COMMITTED would see saves made meanwhile
            session.connection(
                execution_options={
                    "isolation_level": "REPEATABLE READ",
                    "postgresql_readonly": True,
                }
            )
        yield session


def _rows(
    session: Session,
    kind: _Kind,
    page_size: int,
    progress: Progress | None,
    cancel: Cancel | None,
) -> Iterator[list[list[str]]]:
    """The export's rows, a page at a time."""
    reader = _Reader(session, session.get_one(Setting, "currency").value)
    total = int(session.scalar(select(func.count()).select_from(kind.table)) or 0)
    done, after = 0, 0
    if progress is not None:
        progress(0, total)
    while True:
        if cancel is not None and cancel():
            raise ExportCancelled("The export was cancelled; no file was written.")
        after, cells = kind.page(reader, after, page_size)
        if not cells:
            return
        yield cells
        done += len(cells)
        if progress is not None:
            progress(done, max(total, done))
        if len(cells) < page_size:
            return


def export_csv(
    clinic: LedgerDoor,
    kind: str,
    destination: Path | str,
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    page_size: int = PAGE_SIZE,
) -> int:
    """Write every row of ``kind`` to a CSV file at ``destination``; returns the rows written.

    Args:
        clinic: the open clinic.
        kind: ``"patients"``, ``"invoices"``, ``"invoice_lines"`` or ``"payments"``.
        destination: the file to write (replaced if it exists, only once the export is complete).
        progress: called with ``(rows written, rows in all)`` after each page.
        cancel: called before each page; returning True stops the export (ExportCancelled).
        page_size: rows read at a time.

    Raises:
        ExportCancelled: ``cancel`` asked to stop; no file was written.
        BillingError: an unknown kind, or the file could not be written (no file is left).
        PermissionDenied: the signed-in staff member may not export.
    """
    clinic.require(Permission.EXPORTS)
    spec = _kind(kind)
    if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
        raise BillingError(
            "Export at least one row at a time.", code=Refusal.BAD_CHOICE, field="page_size"
        )
    target = Path(destination)
    if target.is_dir():
        raise bad_file(
            f"{target} is a folder; choose a file name for the export.",
            field="destination",
        )
    if not target.parent.is_dir():
        raise bad_file(
            f"There is no folder {target.parent} to export into.",
            field="destination",
        )
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".part", dir=target.parent
        )
    except OSError as exc:
        raise bad_file(
            f"The export could not be written to {target}: {exc}",
            field="destination",
        ) from exc
    written = 0
    try:
        with (
            os.fdopen(handle, "w", encoding="utf-8-sig", newline="") as out,
            _snapshot(clinic.engine) as session,
        ):
            writer = csv.writer(out)  # "excel" dialect: RFC 4180, CRLF line ends
            writer.writerow(spec.header)
            for page in _rows(session, spec, page_size, progress, cancel):
                writer.writerows(page)
                written += len(page)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise bad_file(
            f"The export could not be written to {target} ({exc.strerror or exc}); "
            "no file was written.",
            field="destination",
        ) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return written
