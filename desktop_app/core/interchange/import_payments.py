"""Importing payments and opening balances: :class:`PaymentImporter` (each payment from one of
the clinic's payment types, applied to its invoice up to the balance, the rest account credit) and
:class:`OpeningBalanceImporter` (opening account credit, one per patient, recorded as a payment of
the inactive "Opening balance" type), written with their sources, applications and the cached
figures of invoices and patients in bulk.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from ..db.models import Application, Invoice, Payment, PaymentSource, PaymentType
from ..domain.errors import BillingError, Refusal
from ..domain.kinds import InvoiceStatus
from ..ledger.transaction import lock_patient_rows
from .import_base import (
    Importer,
    invoices_numbered,
    many,
    patient_ids,
    unknown_patient,
)
from .import_bulk import WRITE_CHUNK, BulkWriter, table_of
from .import_csv import Table as CsvTable
from .import_csv import chunks, text_value
from .import_rows import MAX_PAYMENT_REF, TICK, Cells, ImportRun, remembered

#: The payment type opening credit balances are recorded with (created inactive, so front-desk
#: payments cannot choose it).
OPENING_BALANCE_TYPE = "Opening balance"


@dataclass(slots=True)
class PaymentRow:
    """One payment of a file (or opening balance), as read and then checked."""

    row: int
    request_id: str
    patient: str
    day: date
    amount: int
    method: str
    invoice_number: int | None = None
    patient_id: int = 0
    type_id: int = 0
    invoice_id: int | None = None
    applied: int = 0


@dataclass(slots=True)
class _PayableInvoice:
    id: int
    patient_id: int
    status: str
    total: int
    paid: int
    credited: int
    touched: bool = False

    @property
    def balance(self) -> int:
        return self.total - self.paid - self.credited


class PaymentImporter(Importer):
    """Payments, each from one payment type; applied to its invoice up to the balance, the rest
    becomes account credit. Also the base of opening balances (``credit``)."""

    request_prefix = "import:"

    def __init__(self, run: ImportRun, cells: Cells) -> None:
        super().__init__(run, cells)
        self.rows: list[PaymentRow] = []
        self.new: list[PaymentRow] = []
        self.invoices: dict[int, _PayableInvoice] = {}
        self.applications = 0

    def parse(self, table: CsvTable) -> None:
        c = self.cells
        readers = (
            lambda t: text_value(t, "payment reference", MAX_PAYMENT_REF),
            c.external_id,
            c.past_date,
            remembered(self._positive),
            c.method,
            c.optional_invoice_number,
        )
        seen: dict[str, int] = {}
        for n, (row, values) in enumerate(table.rows, 1):
            if n % TICK == 0:
                self.run.parsed(n)
            (ref, patient, day, amount, method, number), bad = self.run.cells(row, values, readers)
            if "payment_ref" not in bad:
                if ref in seen:
                    self.problems.add(
                        row,
                        "payment_ref",
                        f"The payment reference {ref!r} is also on row {seen[ref]}.",
                    )
                    continue
                seen[ref] = row
            if not bad:
                request_id = self.request_prefix + ref
                self.rows.append(PaymentRow(row, request_id, patient, day, amount, method, number))

    def _positive(self, text: str) -> int:
        minor = self.cells.amounts(text, "amount")
        if minor == 0:
            raise BillingError(
                "A payment of zero: leave the row out.", code=Refusal.BAD_AMOUNT, field="amount"
            )
        return minor

    def check(self, session: Session, *, final: bool) -> None:
        ids = patient_ids(session, (r.patient for r in self.rows))
        sound: list[PaymentRow] = []
        for r in self.rows:
            pid = ids.get(r.patient)
            if pid is None:
                self.problems.add(r.row, "patient_external_id", unknown_patient(r.patient))
                continue
            r.patient_id = pid
            sound.append(r)
        self._methods(session, sound)
        previous = self._previous(session, [r.request_id for r in sound])
        for r in sound:
            saved = previous.get(r.request_id)
            if saved is None:
                self.new.append(r)
            elif saved == (
                r.patient_id,
                "payment",
                r.amount,
                r.day,
                r.method.lower(),
                r.invoice_number if saved[5] is not None or r.invoice_number is None else None,
            ):
                self.skipped += 1
            else:
                self._conflict(r, saved)
        if final:
            lock_patient_rows(session, (r.patient_id for r in self.new))
        self._apply(session)

    def _methods(self, session: Session, rows: list[PaymentRow]) -> None:
        active = session.execute(
            select(PaymentType.id, PaymentType.name)
            .where(PaymentType.active.is_(True))
            .order_by(PaymentType.position, PaymentType.id)
        ).all()
        types = {name.lower(): int(tid) for tid, name in active}
        names = ", ".join(name for _, name in active)
        for r in rows:
            tid = types.get(r.method.lower())
            if tid is None:
                self.problems.add(
                    r.row,
                    "method",
                    f"{r.method!r} is not a payment type of this clinic (in use: {names}); add it "
                    "in Settings > Finances first, or use one of these.",
                )
            else:
                r.type_id = tid

    @staticmethod
    def _previous(
        session: Session, request_ids: list[str]
    ) -> dict[str, tuple[int, str, int, date, str, int | None]]:
        """What was saved before under these request ids: patient, kind, amount, date, payment
        type (lower case) and the invoice it was applied to, if any."""
        query = (
            select(
                Payment.request_id,
                Payment.patient_id,
                Payment.kind,
                Payment.total_minor,
                Payment.payment_date,
                func.lower(PaymentType.name),
                Invoice.number,
            )
            .outerjoin(PaymentSource, PaymentSource.payment_id == Payment.id)
            .outerjoin(PaymentType, PaymentType.id == PaymentSource.payment_type_id)
            .outerjoin(Application, Application.payment_id == Payment.id)
            .outerjoin(Invoice, Invoice.id == Application.invoice_id)
        )
        if many(request_ids):
            parts: Iterable[Any] = [query.where(Payment.import_batch_id.is_not(None))]
        else:
            parts = (query.where(Payment.request_id.in_(p)) for p in chunks(request_ids, 900))
        found: dict[str, tuple[int, str, int, date, str, int | None]] = {}
        for statement in parts:
            for rid, pid, kind, total, day, method, number in session.execute(statement):
                found[str(rid)] = (
                    int(pid),
                    str(kind),
                    int(total),
                    day,
                    str(method or ""),
                    None if number is None else int(number),
                )
        return found

    def _conflict(self, r: PaymentRow, saved: tuple[int, str, int, date, str, int | None]) -> None:
        ref = r.request_id.removeprefix(self.request_prefix)
        self.problems.add(
            r.row,
            "payment_ref",
            f"The payment {ref!r} was already imported with other details "
            f"({self.money(saved[2])} on {saved[3].isoformat()}); an import never changes a "
            "saved payment.",
        )

    def _apply(self, session: Session) -> None:
        """Work out what each new payment applies to its invoice, in the file's order."""
        numbers = {r.invoice_number for r in self.new if r.invoice_number is not None}
        for number, *rest in invoices_numbered(
            session,
            numbers,
            Invoice.id,
            Invoice.patient_id,
            Invoice.status,
            Invoice.total_minor,
            Invoice.paid_minor,
            Invoice.credited_minor,
        ):
            self.invoices[int(number)] = _PayableInvoice(*rest)
        for r in self.new:
            if r.invoice_number is None:
                continue
            invoice = self.invoices.get(r.invoice_number)
            if invoice is None:
                problem = f"There is no invoice {r.invoice_number} in the clinic."
            elif invoice.patient_id != r.patient_id:
                problem = f"Invoice {r.invoice_number} belongs to another patient."
            elif invoice.status == InvoiceStatus.VOID:
                problem = f"Invoice {r.invoice_number} is void."
            else:
                r.invoice_id = invoice.id
                r.applied = min(r.amount, invoice.balance)
                invoice.paid += r.applied
                invoice.touched = True
                continue
            self.problems.add(r.row, "invoice_number", problem)

    def has_work(self) -> bool:
        return bool(self.new)

    def write(self, bulk: BulkWriter, *, start: int) -> None:
        session, span = bulk.session, len(self.new)
        stamp, batch = bulk.stamp, bulk.batch_id
        bulk.insert(
            Payment,
            (
                "patient_id",
                "kind",
                "payment_date",
                "total_minor",
                "request_id",
                "note",
                "created_at",
                "import_batch_id",
            ),
            [
                (
                    r.patient_id,
                    "payment",
                    bulk.day(r.day),
                    r.amount,
                    r.request_id,
                    self.note(r),
                    stamp,
                    batch,
                )
                for r in self.new
            ],
            (start, span // 2),
        )
        new_ids = select(Payment.request_id, Payment.id).where(
            Payment.import_batch_id == bulk.batch_id
        )
        ids = {str(rid): int(pid) for rid, pid in session.execute(new_ids)}
        bulk.insert(
            PaymentSource,
            ("payment_id", "payment_type_id", "amount_minor"),
            [(ids[r.request_id], r.type_id, r.amount) for r in self.new],
            (start + span // 2, span - span // 2),
        )
        apps = [
            (ids[r.request_id], r.invoice_id, r.applied, r.applied, 0, stamp)
            for r in self.new
            if r.applied
        ]
        bulk.insert(
            Application,
            (
                "payment_id",
                "invoice_id",
                "amount_minor",
                "from_money_minor",
                "from_credit_minor",
                "created_at",
            ),
            apps,
        )
        self.applications = len(apps)
        invoices = table_of(Invoice)
        settle = (
            update(invoices)
            .where(invoices.c.id == bindparam("iid"))
            .values(paid_minor=bindparam("paid"), status=bindparam("new_status"))
        )
        settled = [
            {"iid": inv.id, "paid": inv.paid, "new_status": "paid" if inv.balance == 0 else "open"}
            for inv in self.invoices.values()
            if inv.touched
        ]
        for part in chunks(settled, WRITE_CHUNK):
            bulk.conn.execute(settle, list(part))
        changes: dict[int, tuple[int, int]] = {}
        for r in self.new:
            credit, owed = changes.get(r.patient_id, (0, 0))
            changes[r.patient_id] = (credit + r.amount - r.applied, owed - r.applied)
        bulk.add_to_patients(changes)

    def note(self, r: PaymentRow) -> str | None:
        """The note kept on the payment (none for an imported payment)."""
        return None

    def created(self) -> dict[str, int]:
        return {"payments": len(self.new), "applied to invoices": self.applications}

    def audit_extra(self) -> dict[str, Any]:
        return {"total": sum(r.amount for r in self.new)}


class OpeningBalanceImporter(PaymentImporter):
    """Opening account credit: a payment of the inactive "Opening balance" type, all to credit,
    one per patient (request id ``opening-balance:<external id>``)."""

    request_prefix = "opening-balance:"

    def __init__(self, run: ImportRun, cells: Cells) -> None:
        super().__init__(run, cells)
        self.new_type = False
        self.type_id: int | None = None

    def parse(self, table: CsvTable) -> None:
        c = self.cells
        readers = (c.external_id, remembered(self.balance), c.past_date)
        seen: dict[str, int] = {}
        for n, (row, values) in enumerate(table.rows, 1):
            if n % TICK == 0:
                self.run.parsed(n)
            (patient, amount, day), bad = self.run.cells(row, values, readers)
            if "patient_external_id" not in bad:
                if patient in seen:
                    self.problems.add(
                        row,
                        "patient_external_id",
                        f"The patient {patient!r} already has an opening balance on row "
                        f"{seen[patient]}.",
                    )
                    continue
                seen[patient] = row
            if bad:
                continue
            if amount == 0:
                self.ignored += 1
                continue
            request_id = self.request_prefix + patient
            self.rows.append(
                PaymentRow(row, request_id, patient, day, amount, OPENING_BALANCE_TYPE)
            )

    def check(self, session: Session, *, final: bool) -> None:
        self._after_reversals(session)
        super().check(session, final=final)

    def _after_reversals(self, session: Session) -> None:
        """A reversed opening balance can be replaced: the replacement takes the next request id
        (``opening-balance:<external id>#2``, ...), the live one keeps its own."""
        families: dict[str, list[tuple[str, bool]]] = {}
        for rid, reversed_at in session.execute(
            select(Payment.request_id, Payment.reversed_at).where(
                Payment.request_id.startswith(self.request_prefix, autoescape=True)
            )
        ):
            base, _, number = str(rid).rpartition("#")
            if not (base and number.isdigit()):
                base = str(rid)
            families.setdefault(base, []).append((str(rid), reversed_at is None))
        for r in self.rows:
            base = self.request_prefix + r.patient
            family = families.get(base, [])
            live = [rid for rid, is_live in family if is_live]
            r.request_id = live[0] if live else (f"{base}#{len(family) + 1}" if family else base)

    def balance(self, text: str) -> int:
        """An opening balance: an amount of 0 or more (a negative one is refused)."""
        if text.startswith("-"):
            raise BillingError(
                f"{text} is negative: an opening balance is account credit the patient holds; "
                "what a patient owes is imported as an invoice.",
                code=Refusal.BAD_AMOUNT,
                field="amount",
            )
        return self.cells.amounts(text, "amount")

    def _methods(self, session: Session, rows: list[PaymentRow]) -> None:
        tid = session.scalar(
            select(PaymentType.id).where(
                func.lower(PaymentType.name) == OPENING_BALANCE_TYPE.lower()
            )
        )
        self.type_id = None if tid is None else int(tid)
        for r in rows:
            r.type_id = self.type_id or 0

    def _conflict(self, r: PaymentRow, saved: tuple[int, str, int, date, str, int | None]) -> None:
        self.problems.add(
            r.row,
            "amount",
            f"The patient {r.patient!r} already has an opening balance of {self.money(saved[2])} "
            f"as of {saved[3].isoformat()}; reverse that payment first to import another.",
        )

    def write(self, bulk: BulkWriter, *, start: int) -> None:
        if self.type_id is None:
            # Inactive: front-desk payments cannot choose it; the import alone records with it.
            types = table_of(PaymentType)
            position = bulk.session.scalar(select(func.max(PaymentType.position))) or 0
            self.type_id = int(
                bulk.conn.execute(
                    insert(types).returning(types.c.id),
                    {"name": OPENING_BALANCE_TYPE, "active": False, "position": position + 1},
                ).scalar_one()
            )
            self.new_type = True
            for r in self.new:
                r.type_id = self.type_id
        super().write(bulk, start=start)

    def note(self, r: PaymentRow) -> str | None:
        return f"Opening balance as of {r.day.isoformat()}"

    def created(self) -> dict[str, int]:
        return {"opening balances": len(self.new)}

    def audit_extra(self) -> dict[str, Any]:
        extra = super().audit_extra()
        if self.new_type:
            extra["payment_type_added"] = f"{OPENING_BALANCE_TYPE} (not offered for new payments)"
        return extra
