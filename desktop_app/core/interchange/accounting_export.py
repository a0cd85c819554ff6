"""The accounting export: the ledger as Xero import files, so every invoice closed here can be
closed there too, including the ones paid from account credit.

Each export writes, into a new folder, only what is new or changed since the last export:

``xero-invoices.csv``
    Invoices and credit notes in Xero's sales invoice import template (credit notes as negative
    amounts, which Xero imports as credit notes). Unit amounts exclude tax; each line's tax is
    given in ``TaxAmount`` so Xero's cents match ours.
``xero-payments.csv``
    Money received and refunded, one row per payment type: into that type's clearing account,
    against the patient's account credit (a prepayment, in Xero's words).
``xero-allocations.csv``
    What closed each invoice: a payment's money, account credit, or a credit note, allocated to
    the invoice. Credit applied to an invoice is an allocation of the prepayment.
``xero-credit-transfers.csv``
    Account credit moved between patients.
``reconciliation.csv``
    Every record this export sent, every record changed since an earlier export (with what to do
    in Xero: a voided invoice, a reversed credit note), control totals per file and per payment
    type.

Reversals, removals and voids of records already exported are exported as reversing rows dated
the day they happened; records undone before they were ever exported are left out (and listed).
Each export and the state of every record it sent are saved, so exporting again sends nothing
twice. See ``docs/accounting-export.md`` for the mapping to accounts.

This module summarises, writes and saves an export, and lists past ones; what an export is made of
is :mod:`.accounting_batch`, and reading the ledger into one is :mod:`.accounting_build`
(:func:`build_export`, also reachable from here).
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from ..db.models import AccountingExport, AccountingExportItem
from ..domain.kinds import AuditAction, AuditEntity
from ..domain.money import format_amount
from ..ledger import audit
from ..ledger.transaction import Transaction
from .accounting_batch import (
    ALLOCATION_COLUMNS,
    DEFERRED,
    FILES,
    INVOICE_COLUMNS,
    PAYMENT_COLUMNS,
    RECONCILIATION_COLUMNS,
    TARGET,
    TRANSFER_COLUMNS,
    ExportBatch,
)
from .accounting_build import build_export

__all__ = [
    "ExportRecord",
    "ExportSummary",
    "build_export",
    "export_folder_name",
    "past_exports",
    "remove_partial",
    "save_export",
    "summary_of",
    "write_files",
]


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What an export sent (or, for a preview, would send). Amounts are minor units."""

    export_id: int | None
    folder: Path | None
    through: date
    rows: dict[str, int]
    new_records: int
    changed_records: int
    skipped_records: int
    invoiced_minor: int
    credit_notes_minor: int
    received_by_type_minor: dict[str, int]
    allocated_minor: int
    transferred_minor: int
    actions: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        """Nothing new or changed since the last export."""
        return not (self.new_records or self.changed_records or self.skipped_records)

    def describe(self, currency: str) -> str:
        """A few lines for people: where, how many rows, the control totals, what to do in Xero."""

        def amount(minor: int) -> str:
            return format_amount(minor, currency)

        if self.is_empty:
            return "Nothing new or changed since the last accounting export."
        head = (
            f"Accounting export {self.export_id} written to {self.folder}"
            if self.folder is not None
            else "Accounting export preview (nothing written)"
        )
        lines = [
            f"{head}: records dated up to {self.through.isoformat()}.",
            f"  {self.new_records:,} new, {self.changed_records:,} changed since exported, "
            f"{self.skipped_records:,} undone before export (left out).",
            "  Rows: " + ", ".join(f"{key} {count:,}" for key, count in self.rows.items()) + ".",
            f"  Invoices {amount(self.invoiced_minor)}; credit notes "
            f"{amount(self.credit_notes_minor)}; allocated to invoices "
            f"{amount(self.allocated_minor)}; credit transferred {amount(self.transferred_minor)}.",
        ]
        for name, minor in sorted(self.received_by_type_minor.items()):
            lines.append(f"  Money received (net), {name}: {amount(minor)}")
        for action in self.actions:
            lines.append(f"  To do in Xero: {action}")
        return "\n".join(lines)


# -- writing ---------------------------------------------------------------------------------


def summary_of(
    batch: ExportBatch, through: date, export_id: int | None, folder: Path | None
) -> ExportSummary:
    """The figures of a built export."""
    return ExportSummary(
        export_id=export_id,
        folder=folder,
        through=through,
        rows={key: len(batch.files.get(key, [])) for key in FILES if key != "reconciliation"},
        new_records=batch.new,
        changed_records=batch.changed,
        skipped_records=batch.skipped,
        invoiced_minor=batch.invoiced,
        credit_notes_minor=batch.credited,
        received_by_type_minor=dict(batch.received),
        allocated_minor=batch.allocated,
        transferred_minor=batch.transferred,
        actions=tuple(batch.actions),
    )


def _control_rows(batch: ExportBatch) -> Iterator[list[str]]:
    def total(label: str, minor: int) -> list[str]:
        return ["Totals", "", label, "", "", batch.money(minor), ""]

    yield total("Invoices", batch.invoiced)
    yield total("Credit notes", batch.credited)
    for name, minor in sorted(batch.received.items()):
        yield total(f"Money received (net): {name}", minor)
    yield total("Allocated to invoices", batch.allocated)
    yield total("Credit transferred", batch.transferred)


def write_files(batch: ExportBatch, folder: Path) -> None:
    """Write the export's files into ``folder`` (which must not exist yet)."""
    folder.mkdir(parents=False, exist_ok=False)
    headers = {
        "invoices": INVOICE_COLUMNS,
        "invoices_inclusive": INVOICE_COLUMNS,
        "payments": PAYMENT_COLUMNS,
        "allocations": ALLOCATION_COLUMNS,
        "transfers": TRANSFER_COLUMNS,
        "reconciliation": RECONCILIATION_COLUMNS,
    }
    for key, name in FILES.items():
        rows: list[list[str]] = batch.files.get(key, [])
        if key == "reconciliation":
            rows = [*rows, *_control_rows(batch)]
        parts = import_parts(rows) if key in ("invoices", "invoices_inclusive") else [rows]
        for n, part in enumerate(parts, start=1):
            with (folder / part_name(name, n)).open("w", newline="", encoding="utf-8-sig") as out:
                writer = csv.writer(out)
                writer.writerow(headers[key])
                writer.writerows(part)


#: The most invoices (credit notes included) Xero's invoice import takes from one file.
XERO_IMPORT_LIMIT = 500
_NUMBER = INVOICE_COLUMNS.index("*InvoiceNumber")


def import_parts(rows: list[list[str]], limit: int = XERO_IMPORT_LIMIT) -> list[list[list[str]]]:
    """An invoices file's rows split into files of at most ``limit`` invoices and credit notes
    each, never splitting one document's lines (they are consecutive rows); one part, maybe
    empty, when they fit."""
    parts: list[list[list[str]]] = [[]]
    documents = 0
    for row in rows:
        if not parts[-1] or row[_NUMBER] != parts[-1][-1][_NUMBER]:
            if documents == limit:
                parts.append([])
                documents = 0
            documents += 1
        parts[-1].append(row)
    return parts


def part_name(name: str, n: int) -> str:
    """``xero-invoices.csv``, then ``xero-invoices-2.csv``, ``xero-invoices-3.csv``..."""
    if n == 1:
        return name
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}-{n}{dot}{suffix}"


def save_export(
    tx: Transaction, batch: ExportBatch, through: date, parent: Path
) -> tuple[int, Path]:
    """Record the export and every item it sent (in the caller's transaction); returns its id
    and its folder inside ``parent``, named by that id (PostgreSQL's ids can skip numbers a
    refused export used, so the name is made from the saved id, not guessed before)."""
    session, actor = tx.session, tx.actor
    moment = audit.moment(session)
    export = AccountingExport(
        at=moment, actor=actor, target=TARGET, through_date=through, folder=""
    )
    session.add(export)
    session.flush()
    folder = parent / export_folder_name(export.id, through)
    export.folder = str(folder)
    if batch.items:
        session.execute(
            insert(AccountingExportItem),
            [
                {
                    "export_id": export.id,
                    "kind": kind,
                    "record_id": rid,
                    "state": state,
                    "amount_minor": amount,
                }
                for kind, rid, state, amount in batch.items
            ],
        )
    tx.audit(
        action=AuditAction.ACCOUNTING_EXPORT,
        entity=AuditEntity.ACCOUNTING_EXPORT,
        entity_id=export.id,
        after={
            "target": TARGET,
            "through": through.isoformat(),
            "folder": str(folder),
            "new": batch.new,
            "changed": batch.changed,
            "skipped": batch.skipped,
        },
    )
    return export.id, folder


def export_folder_name(export_id: int, through: date) -> str:
    """``xero-export-0003-2026-11-25``."""
    return f"xero-export-{export_id:04d}-{through.isoformat()}"


def remove_partial(folder: Path) -> None:
    """Delete a half-written export folder."""
    shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class ExportRecord:
    """A past export, as Settings and the export window list them."""

    id: int
    at: datetime
    actor: str
    through: date
    folder: str
    items: int


def past_exports(session: Session) -> list[ExportRecord]:
    """Every export, newest first, with the number of records it sent."""
    counts = dict(
        session.execute(
            select(AccountingExportItem.export_id, func.count())
            .where(AccountingExportItem.state != DEFERRED)
            .group_by(AccountingExportItem.export_id)
        ).all()
    )
    return [
        ExportRecord(e.id, e.at, e.actor, e.through_date, e.folder, counts.get(e.id, 0))
        for e in session.scalars(select(AccountingExport).order_by(AccountingExport.id.desc()))
    ]
