"""Read models: the frozen rows the API hands out, built from the database in few queries.

Everything here only reads. The write paths live in :mod:`desktop_app.core.clinic`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, bindparam, func, or_, select, text
from sqlalchemy.orm import Session

from ..db import raw, search_index
from ..db.models import (
    Application,
    CreditNote,
    CreditTransfer,
    Invoice,
    InvoiceLine,
    Patient,
    Payment,
    PaymentSource,
    PaymentType,
)
from ..domain import dates
from ..domain.allocation import OpenInvoice
from ..domain.errors import BillingError, NotFoundError, Refusal
from ..domain.invoicing import issued
from ..domain.kinds import InvoiceStatus
from ..domain.money import to_decimal
from ..domain.patient_details import EARLIEST_BIRTH
from ..domain.records import (
    ApplicationRecord,
    CreditLot,
    CreditNoteRecord,
    CreditUse,
    InvoiceLineRecord,
    InvoiceRecord,
    PaymentRecord,
    TransferRecord,
)
from ..domain.text import search_form
from .credit_trace import Lot
from .merge import not_cancelled_by_merge

_Row = TypeVar("_Row")

_OPEN_INVOICES = (
    select(
        Invoice.id,
        Invoice.number,
        Invoice.issue_date,
        Invoice.owed_minor,  # total - paid - credited, kept by the database
    )
    .where(Invoice.patient_id == bindparam("pid"), Invoice.status == InvoiceStatus.OPEN)
    .order_by(Invoice.issue_date, Invoice.number)
)


def open_invoices(session: Session, patient_id: int) -> list[OpenInvoice]:
    """The patient's open invoices, oldest first, with what each still owes.

    Read on the driver inside the session's transaction (:mod:`.db.raw`): for a patient with a
    thousand open invoices, SQLAlchemy's result processing would be most of the cost of every
    payment preview.
    """
    connection = session.connection()
    rows = raw.fetch_all(
        connection.connection.driver_connection,
        connection.dialect,
        _OPEN_INVOICES,
        {"pid": patient_id},
    )
    return [OpenInvoice(i, n, raw.as_date(d), b) for i, n, d, b in rows]


def lines_by_invoice(session: Session, invoice_ids: list[int]) -> dict[int, list[InvoiceLine]]:
    """The lines of several invoices in one query, in line order."""
    grouped: dict[int, list[InvoiceLine]] = {}
    if not invoice_ids:
        return grouped
    for line in session.scalars(
        select(InvoiceLine)
        .where(InvoiceLine.invoice_id.in_(invoice_ids))
        .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
    ):
        grouped.setdefault(line.invoice_id, []).append(line)
    return grouped


def invoice_record(
    row: Invoice, lines: Sequence[InvoiceLine], currency: str, today: date | None = None
) -> InvoiceRecord:
    """The invoice as the windows show it; ``overdue`` as of ``today`` (default: today)."""

    def d(minor: int) -> Decimal:
        return to_decimal(minor, currency)

    balance = (
        0
        if row.status in (InvoiceStatus.VOID, InvoiceStatus.DRAFT)
        else row.total_minor - row.paid_minor - row.credited_minor
    )
    return InvoiceRecord(
        id=row.id,
        number=row.number,
        patient_id=row.patient_id if row.for_patient_id is None else row.for_patient_id,
        payer_id=None if row.for_patient_id is None else row.patient_id,
        claim_reference=row.claim_reference,
        split_with_id=row.split_with_id,
        issue_date=row.issue_date,
        due_date=row.due_date,
        total=d(row.total_minor),
        paid=d(row.paid_minor),
        balance=d(balance),
        status=row.status,
        credited=d(row.credited_minor),
        overdue=dates.is_overdue(row.status, row.due_date, today or date.today()),
        lines=tuple(line_record(ln, currency) for ln in lines),
        tax_inclusive=bool(row.tax_inclusive),
        practitioner_id=row.practitioner_id,
        service_date=row.service_date,
    )


def line_record(line: InvoiceLine, currency: str) -> InvoiceLineRecord:
    """One saved line as the API hands it out."""
    return InvoiceLineRecord(
        description=line.description,
        unit_price=to_decimal(line.unit_price_minor, currency),
        quantity=Decimal(line.quantity_centi).scaleb(-2).normalize() + 0,
        tax_rate=Decimal(line.tax_rate_bp).scaleb(-2),
        tax=to_decimal(line.tax_minor, currency),
        amount=to_decimal(line.amount_minor, currency),
        net=to_decimal(line.net_minor, currency),
        discount=to_decimal(line.discount_minor, currency),
        discount_percent=(
            None if line.discount_bp is None else Decimal(line.discount_bp).scaleb(-2)
        ),
        item_id=line.item_id,
        item_code=line.item_code,
    )


def payment_records(
    session: Session, rows: Sequence[Payment], currency: str
) -> list[PaymentRecord]:
    """Payments with their sources and applications, in two queries whatever their number."""

    def d(minor: int) -> Decimal:
        return to_decimal(minor, currency)

    ids = [row.id for row in rows]
    sources: dict[int, list[tuple[str, int]]] = {}
    apps: dict[int, list[tuple[Application, int]]] = {}
    if ids:
        for payment_id, name, minor in session.execute(
            select(PaymentSource.payment_id, PaymentType.name, PaymentSource.amount_minor)
            .join(PaymentType, PaymentType.id == PaymentSource.payment_type_id)
            .where(PaymentSource.payment_id.in_(ids))
            .order_by(PaymentSource.id)
        ):
            sources.setdefault(payment_id, []).append((name, minor))
        for app, number in session.execute(
            select(Application, Invoice.number)
            .join(Invoice, Invoice.id == Application.invoice_id)
            .where(Application.payment_id.in_(ids))
            .order_by(Application.id)
        ):
            apps.setdefault(app.payment_id, []).append((app, issued(number)))
    records = []
    for row in rows:
        own = apps.get(row.id, [])
        live = [app for app, _ in own if app.removed_at is None]
        records.append(
            PaymentRecord(
                id=row.id,
                patient_id=row.patient_id,
                kind=row.kind,
                payment_date=row.payment_date,
                total=d(row.total_minor),
                money_applied=d(sum(app.from_money_minor for app in live)),
                credit_applied=d(sum(app.from_credit_minor for app in live)),
                sources={name: d(minor) for name, minor in sources.get(row.id, [])},
                applications=tuple(
                    ApplicationRecord(
                        app.id,
                        app.invoice_id,
                        number,
                        d(app.amount_minor),
                        d(app.from_money_minor),
                        d(app.from_credit_minor),
                        app.removed_at is not None,
                    )
                    for app, number in own
                ),
                reversed=row.reversed_at is not None,
                request_id=row.request_id,
                note=row.note,
                reference=row.reference,
            )
        )
    return records


def escape_like(text: str) -> str:
    """Make ``%``, ``_`` and the escape character itself match literally in a LIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_NUMERIC_DAY = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
_PHONE_PUNCTUATION = re.compile(r"[\s()+\-.]")


def _birth_days(word: str) -> list[str]:
    """``word`` as a date of birth (``YYYYMMDD``), if it reads as one from 1900 to today: ISO,
    or day/month/year and month/day/year (both when both are dates: "10/12/1985" finds the 10th
    of December and the 12th of October, whichever the clinic writes)."""
    if match := _ISO_DAY.fullmatch(word):
        year, month, day = (int(g) for g in match.groups())
        candidates = [(year, month, day)]
    elif match := _NUMERIC_DAY.fullmatch(word):
        first, second, year = (int(g) for g in match.groups())
        candidates = [(year, second, first), (year, first, second)]
    else:
        return []
    found: list[str] = []
    for year, month, day in candidates:
        try:
            when = date(year, month, day)
        except ValueError:
            continue
        key = when.strftime("%Y%m%d")
        if EARLIEST_BIRTH <= when <= date.today() and key not in found:
            found.append(key)
    return found


def search_terms(search: str) -> list[list[str]]:
    """What a patient search matches against the search key (``patient_search_key``): one list
    of alternatives per term, every term to be found. A whole search of 4 or more digits in any
    spacing is one phone number (or a date of birth, when it reads as one); otherwise each word
    is a date of birth if it reads as one, else its :func:`search_words` form."""
    text = search.strip()
    joined = _PHONE_PUNCTUATION.sub("", text)
    if len(joined) >= 4 and joined.isdigit():
        return [[*_birth_days(text), joined]]
    terms: list[list[str]] = []
    for word in text.split():
        days = _birth_days(word)
        if days:
            terms.append(days)
        elif form := search_form(word):
            terms.append([form])
    return terms


def name_search(search: str) -> list[ColumnElement[bool]]:
    """Conditions on :class:`Patient` for a patient search (:func:`search_terms`): every term
    must appear in the patient's search key, ignoring case, accents, apostrophes, hyphens and
    other punctuation. A search of punctuation alone (``"%"``, ``"'"``) is matched literally
    against the names, ignoring case: no name is ever unfindable."""
    if not isinstance(search, str):
        raise BillingError("A patient search must be text.", code=Refusal.BAD_TEXT)
    terms = search_terms(search)
    if terms:
        return [
            or_(*(Patient.search_key.like("%" + escape_like(t) + "%", escape="\\") for t in alts))
            for alts in terms
        ]
    return [
        func.lower(Patient.first_name).like(pattern, escape="\\")
        | func.lower(Patient.last_name).like(pattern, escape="\\")
        for pattern in ("%" + escape_like(word.lower()) + "%" for word in search.split())
    ]


#: A search whose words the patient search index finds in at most this many patients reads those
#: patients (by id) instead of walking the list in name order. Walking stops at the 200th match,
#: so a word held by 1,000 of 200,000 patients costs at most about 40,000 entries there.
FEW_MATCHES = 1000

_FEW_MATCHES_SQL = text(
    f"SELECT rowid FROM {search_index.TABLE} WHERE {search_index.TABLE} MATCH :query LIMIT :n"
)


def few_matches(connection: Connection, search: str) -> list[int] | None:
    """The ids of every patient who could match ``search``, when the patient search index
    (SQLite's, ``db.search_index``) finds them to be at most :data:`FEW_MATCHES`; None when they
    are more, when no word of the search can be looked up there (each needs 3 or more
    characters and one form: a word that may be a date of birth is tested in the list), or on
    PostgreSQL.

    The index is asked for the patients whose keys hold every three-letter sequence of every
    such word ("041689": 041, 416, 168 and 689), which it answers from the index alone. That
    includes every patient who matches, and may include others (the sequences elsewhere in the
    key, archived patients, another practitioner's): the search's own conditions still decide.
    """
    if connection.dialect.name != "sqlite" or not isinstance(search, str):
        return None
    words = [
        alternatives[0]
        for alternatives in search_terms(search)
        if len(alternatives) == 1 and len(alternatives[0]) >= search_index.SHORTEST
    ]
    if not words:
        return None
    n = search_index.SHORTEST
    trigrams = dict.fromkeys(word[i : i + n] for word in words for i in range(len(word) - n + 1))
    query = " AND ".join('"' + trigram.replace('"', '""') + '"' for trigram in trigrams)
    found = connection.execute(_FEW_MATCHES_SQL, {"query": query, "n": FEW_MATCHES + 1})
    ids = list(found.scalars())
    return ids if len(ids) <= FEW_MATCHES else None


def credit_note_records(session: Session, condition: Any, currency: str) -> list[CreditNoteRecord]:
    """Credit notes matching ``condition``, oldest first, with their invoice numbers."""
    rows = session.execute(
        select(CreditNote, Invoice.number)
        .join(Invoice, Invoice.id == CreditNote.invoice_id)
        .where(condition)
        .order_by(CreditNote.note_date, CreditNote.number)
    ).all()
    return [
        CreditNoteRecord(
            id=note.id,
            number=note.number,
            invoice_id=note.invoice_id,
            invoice_number=issued(number),
            patient_id=note.patient_id,
            note_date=note.note_date,
            amount=to_decimal(note.amount_minor, currency),
            applied=to_decimal(note.applied_minor, currency),
            to_credit=to_decimal(note.to_credit_minor, currency),
            reason=note.reason,
            reversed=note.reversed_at is not None,
        )
        for note, number in rows
    ]


def transfer_records(session: Session, patient_id: int, currency: str) -> list[TransferRecord]:
    """Credit transfers to or from one patient, oldest first, with both patients' names."""
    rows = session.scalars(
        select(CreditTransfer)
        .where(
            (CreditTransfer.from_patient_id == patient_id)
            | (CreditTransfer.to_patient_id == patient_id),
            # Between two records of one patient, merged since: it never moved anything.
            not_cancelled_by_merge(),
        )
        .order_by(CreditTransfer.transfer_date, CreditTransfer.id)
    ).all()
    ids = {r.from_patient_id for r in rows} | {r.to_patient_id for r in rows}
    names = {
        pid: f"{first} {last}"
        for pid, first, last in session.execute(
            select(Patient.id, Patient.first_name, Patient.last_name).where(Patient.id.in_(ids))
        )
    }
    return [
        TransferRecord(
            id=row.id,
            from_patient_id=row.from_patient_id,
            from_name=names.get(row.from_patient_id, ""),
            to_patient_id=row.to_patient_id,
            to_name=names.get(row.to_patient_id, ""),
            transfer_date=row.transfer_date,
            amount=to_decimal(row.amount_minor, currency),
            reason=row.reason,
            reversed=row.reversed_at is not None,
        )
        for row in rows
    ]


def credit_lot_record(lot: Lot, currency: str) -> CreditLot:
    """A traced lot of credit as the API hands it out."""
    return CreditLot(
        origin=lot.origin[0],
        origin_id=lot.origin[1],
        day=lot.day,
        description=lot.description,
        amount=to_decimal(lot.amount, currency),
        remaining=to_decimal(lot.remaining, currency),
        uses=tuple(
            CreditUse(day, what, to_decimal(minor, currency))
            for day, what, minor in lot.uses
            if minor  # a use since undone (its credit came back) no longer counts
        ),
    )


def one(session: Session, model: type[_Row], record_id: int, what: str) -> _Row:
    """The ``model`` row ``record_id``, or NotFoundError naming it ("There is no payment 7.")."""
    row = session.get(model, record_id)
    if row is None:
        raise NotFoundError(f"There is no {what} {record_id}.")
    return row
