"""What one accounting export is made of: the Xero files' names and columns, the states an export
records for each record it handles, and :class:`ExportBatch` (the rows being built, the items it
will save, its control totals), with what the builders of :mod:`.accounting_build` share: which
records are new or changed since the last export, the deferred ones, contact names (a patient's,
or a payer's) and the references that name a payer-billed invoice's patient and claim, as the
Xero sync writes them too (:mod:`..xero.documents`), so both ways name things alike.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, exists, func, select, union_all
from sqlalchemy.orm import Session, aliased

from ..db.models import AccountingExportItem, Patient, Payer
from ..domain.currencies import MINOR_UNITS
from .accounting_mapping import DATE_FORMATS, AccountMapping
from .spreadsheet_text import safe_text

TARGET = "xero"

#: Xero's sales invoice import template, column for column.
INVOICE_COLUMNS = (
    "*ContactName",
    "EmailAddress",
    "POAddressLine1",
    "POAddressLine2",
    "POAddressLine3",
    "POAddressLine4",
    "POCity",
    "PORegion",
    "POPostalCode",
    "POCountry",
    "*InvoiceNumber",
    "Reference",
    "*InvoiceDate",
    "*DueDate",
    "InventoryItemCode",
    "*Description",
    "*Quantity",
    "*UnitAmount",
    "Discount",
    "*AccountCode",
    "*TaxType",
    "TaxAmount",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
    "Currency",
    "BrandingTheme",
)
PAYMENT_COLUMNS = (
    "Date",
    "ContactName",
    "Reference",
    "PaymentType",
    "AccountCode",
    "CreditAccountCode",
    "Amount",
    "Description",
)
ALLOCATION_COLUMNS = (
    "Date",
    "ContactName",
    "InvoiceNumber",
    "Amount",
    "Source",
    "SourceAccountCode",
    "Reference",
)
TRANSFER_COLUMNS = ("Date", "FromContact", "ToContact", "Amount", "AccountCode", "Reference")
RECONCILIATION_COLUMNS = ("Section", "Status", "Record", "Date", "Contact", "Amount", "Xero action")
FILES = {
    "invoices": "xero-invoices.csv",
    # Xero's invoice import takes one basis per file: prices with tax added, or including it.
    "invoices_inclusive": "xero-invoices-tax-inclusive.csv",
    "payments": "xero-payments.csv",
    "allocations": "xero-allocations.csv",
    "transfers": "xero-credit-transfers.csv",
    "reconciliation": "reconciliation.csv",
}

#: The state of a record an export saw but left for a later one (dated after its last day).
DEFERRED = "deferred"

#: Per kind: the live state, the undone state.
STATES = {
    "invoice": ("issued", "void"),
    "credit_note": ("issued", "reversed"),
    "payment": ("received", "reversed"),
    "application": ("applied", "removed"),
    "transfer": ("moved", "reversed"),
}


@dataclass
class ExportBatch:
    """The rows of one export being built, and the items it will save."""

    mapping: AccountMapping
    currency: str
    files: dict[str, list[list[str]]] = field(default_factory=lambda: defaultdict(list))
    items: list[tuple[str, int, str, int]] = field(default_factory=list)
    new: int = 0
    changed: int = 0
    skipped: int = 0
    invoiced: int = 0
    credited: int = 0
    received: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    allocated: int = 0
    transferred: int = 0
    actions: list[str] = field(default_factory=list)

    _days: dict[date, str] = field(default_factory=dict)

    def money(self, minor: int) -> str:
        """A plain amount, ``-12.50``: integer arithmetic on the minor units."""
        places = MINOR_UNITS[self.currency]
        sign = "-" if minor < 0 else ""
        whole, part = divmod(abs(minor), 10**places)
        return f"{sign}{whole}.{part:0{places}d}" if places else f"{sign}{whole}"

    def day(self, value: date) -> str:
        """A date as the mapping writes dates (each distinct day formatted once)."""
        text = self._days.get(value)
        if text is None:
            text = self._days[value] = value.strftime(DATE_FORMATS[self.mapping.date_format])
        return text

    def sent(self, kind: str, record_id: int, minor: int, how: str) -> None:
        """Remember a record this export handles: ``new`` (sent as it is), ``skipped`` (undone
        before it was ever sent) or ``changed`` (undone since it was sent)."""
        live, undone = STATES[kind]
        self.items.append((kind, record_id, live if how == "new" else undone, minor))
        if how == "new":
            self.new += 1
        elif how == "skipped":
            self.skipped += 1
        else:
            self.changed += 1

    def reconcile(
        self, status: str, record: str, day: date, contact: str, minor: int, action: str = ""
    ) -> None:
        self.files["reconciliation"].append(
            [
                "Records",
                status,
                record,
                self.day(day),
                safe_text(contact),
                self.money(minor),
                action,
            ]
        )
        if action:
            self.actions.append(f"{record}: {action}")


#: The longest contact name Xero takes.
CONTACT_NAME_MAX = 255
#: The longest invoice ``Reference`` written: Xero's description of the API gives this field no
#: limit, so the one of its other free-text fields (an invoice number, a contact name) is kept.
REFERENCE_MAX = 255


def _fit(text: str, suffix: str, limit: int) -> str:
    """``text`` then ``suffix``, ``text`` shortened so the whole is at most ``limit`` long."""
    if len(text) + len(suffix) <= limit:
        return text + suffix
    return text[: limit - len(suffix)].rstrip() + suffix


def contact_name(first: str, last: str, patient_id: int) -> str:
    """A patient as a contact: the id keeps two patients of the same name apart (a name longer
    than Xero takes is shortened before it). Written as it is (no spreadsheet apostrophe): Xero
    matches contacts by this exact name, so a name starting with ``=`` must reach it unchanged;
    only the reconciliation list, read in a spreadsheet, defuses it."""
    return _fit(f"{first} {last}", f" ({patient_id})", CONTACT_NAME_MAX)


def payer_contact_name(name: str, payer_id: int) -> str:
    """A payer as a contact, ``Bupa (payer 12)``: its name, then its number (its account's,
    which no patient shares), so the name stays unique in Xero beside every patient's
    ``First Last (id)`` and stays the same contact when the payer is renamed."""
    return _fit(name, f" (payer {payer_id})", CONTACT_NAME_MAX)


def claim_reference(first: str, last: str, patient_id: int, claim: str | None) -> str:
    """The reference of an invoice billed to a payer, ``Ada Lovelace (7) · CLM-9``: the patient
    as their own contact is named, then the claim reference (if one); the patient's name is
    shortened when the whole would be longer than :data:`REFERENCE_MAX`."""
    suffix = f" ({patient_id})" + (f" · {claim}" if claim else "")
    return _fit(f"{first} {last}", suffix, REFERENCE_MAX)


def split_reference(payer_invoice: str) -> str:
    """The reference of a patient's gap invoice: ``Split with INV-12`` (the payer's part)."""
    return f"Split with {payer_invoice}"


def payment_reference(payment_id: int, remittance: str | None) -> str:
    """A payment's reference: ``PAY-31``, with a payer's remittance reference after it
    (``PAY-31 · REM-2026-11``) so the payer's deposit is found by the reference it printed."""
    return f"PAY-{payment_id}" + (f" · {remittance}" if remittance else "")


def _exported(kind: str, record_id: Any, state: str) -> Any:
    return exists().where(
        AccountingExportItem.kind == kind,
        AccountingExportItem.record_id == record_id,
        AccountingExportItem.state == state,
    )


def new_and_changed(session: Session, kind: str, id_column: Any, dead: Any) -> tuple[Any, Any]:
    """Conditions on a kind's records: not handled by any export yet; exported live and undone
    since, the undoing not exported.

    Every export handles every record of a kind up to the highest id it saw: it sends it, leaves
    it out (undone before it was sent) or defers it (dated after the export's last day: a
    ``deferred`` item). So the records not handled yet are those above that id, and the deferred
    ones not sent since: found by the primary key and the items' index, without reading the
    records every earlier export sent. (An export holds the currency lock, which every save takes
    first, so no record with a lower id can still be on its way.)
    """
    live, undone = STATES[kind]
    seen = session.scalar(
        select(func.max(AccountingExportItem.record_id)).where(AccountingExportItem.kind == kind)
    )
    later = aliased(AccountingExportItem)
    pending = select(AccountingExportItem.record_id).where(
        AccountingExportItem.kind == kind,
        AccountingExportItem.state == DEFERRED,
        ~exists().where(
            later.kind == kind,
            later.record_id == AccountingExportItem.record_id,
            later.state != DEFERRED,
        ),
    )
    # One IN over the ids (not "id > seen OR id IN pending"): the database then looks records up
    # by id instead of scanning a date index over every record.
    table = id_column.class_.__table__
    above = select(table.c.id).where(table.c.id > (seen or 0))
    new = id_column.in_(union_all(above, pending))
    changed = and_(dead, _exported(kind, id_column, live), ~_exported(kind, id_column, undone))
    return new, changed


def defer(session: Session, batch: ExportBatch, kind: str, query: Any) -> None:
    """Remember the records ``query`` finds (``id, amount``: not handled yet, dated after the
    export's last day) as deferred, so the next export looks at them again."""
    for record_id, minor in session.execute(query):
        batch.items.append((kind, record_id, DEFERRED, minor))


class NameCache:
    """Contact names (a patient's, or a payer's), payers' email addresses and the references of
    invoices billed to payers, read in one query each the first time one is needed (a month's
    export names about as many patients as it has invoices: one query each was most of its
    time)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._rows: dict[int, tuple[str, str]] | None = None
        self._payers: dict[int, tuple[str, str]] | None = None
        self._names: dict[int, str] = {}

    def _patients(self) -> dict[int, tuple[str, str]]:
        if self._rows is None:
            self._rows = {
                pid: (first, last)
                for pid, first, last in self._session.execute(
                    select(Patient.id, Patient.first_name, Patient.last_name)
                )
            }
        return self._rows

    def payers(self) -> dict[int, tuple[str, str]]:
        """Each payer's name and email address ("" for none), by its account's id."""
        if self._payers is None:
            self._payers = {
                pid: (name, email or "")
                for pid, name, email in self._session.execute(
                    select(Payer.id, Payer.name, Payer.email)
                )
            }
        return self._payers

    def __call__(self, patient_id: int) -> str:
        """The contact of an account: the payer's (:func:`payer_contact_name`) or the
        patient's (:func:`contact_name`)."""
        name = self._names.get(patient_id)
        if name is None:
            payer = self.payers().get(patient_id)
            if payer is not None:
                name = payer_contact_name(payer[0], patient_id)
            else:
                first, last = self._patients()[patient_id]
                name = contact_name(first, last, patient_id)
            self._names[patient_id] = name
        return name

    def email(self, account_id: int) -> str:
        """The email address a contact is made with: the payer's ("" for a patient)."""
        payer = self.payers().get(account_id)
        return payer[1] if payer is not None else ""

    def reference(self, patient_id: int, claim: str | None) -> str:
        """An invoice billed to a payer: the patient it is for and the claim
        (:func:`claim_reference`)."""
        first, last = self._patients()[patient_id]
        return claim_reference(first, last, patient_id, claim)
