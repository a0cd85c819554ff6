"""What Xero should hold for the ledger as it stands: every document the sync keeps there, each
named by a key ``(kind, record_id, part)`` that never changes, and whether it is live.

The ledger's records are never edited, only reversed, removed or voided, so each document here
has a fixed amount; only its life ends. Documents:

* ``contact``: a patient who has anything in Xero, or a payer (its account, whose id is the
  payer's: the contact of the invoices billed to the payer and of its remittances and credit);
* ``invoice`` and ``credit_note``: each issued invoice and each credit note (a void invoice or a
  reversed credit note is live no more: voided in Xero once it was sent); an invoice billed to a
  payer is on the payer's contact and names the patient it is for and the claim;
* ``cn_apply``: the part of a credit note that reduced its own invoice (its allocation);
* ``money``: a payment's money on one invoice (one application's ``from_money``), per payment
  type when a payment was split between types;
* credit held (:class:`CreditDoc`): ``prepay`` (a payment's money left as credit, or returned
  from an invoice later, per payment type), ``transfer_in`` (credit received from another
  patient) and ``cn_credit`` (what a credit note returned as credit, moved from the credit note
  to a prepayment so that all account credit sits on the customer-credit account, as here);
  the ``credit_note`` itself holds that amount only until its ``cn_move`` takes it out;
* uses of credit (:class:`CreditUse`): ``alloc`` (credit applied to an invoice), ``refund``,
  ``transfer_out`` and ``cn_move``; the sync draws each from credit documents of the same
  patient, first from the ones the ledger's credit trace names.

A payment's money is laid out once, in the order it was saved: its payment types in turn, the
money of its applications in turn, then what was left. Each application's slice of that line is
its ``money`` (while the application stands) or a ``prepay`` (once removed: the money became
credit); the rest is the ``prepay`` of what was left.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ..db.models import (
    Application,
    BillableItem,
    CreditNote,
    CreditTransfer,
    Invoice,
    InvoiceLine,
    Patient,
    Payer,
    Payment,
    PaymentSource,
    PaymentType,
)
from ..domain.kinds import InvoiceStatus, PaymentKind
from ..interchange.accounting_batch import contact_name, payer_contact_name, payment_reference
from ..ledger import credit_trace
from ..ledger.audit import local_day
from ..ledger.merge import not_cancelled_by_merge

#: A document's key: ``(kind, record id, part)``.
DocKey = tuple[str, int, str]
#: The reason the ledger writes on applications removed by reversing their payment.
REVERSED = "payment reversed"


@dataclass(frozen=True, slots=True)
class InvoiceDoc:
    """An issued invoice as Xero takes it: ``patient_id`` is the account that owes it (a
    payer's, for an invoice billed to a payer); ``for_patient`` the patient (id, first and last
    name) an invoice billed to a payer is for, with its ``claim``; ``split_with`` the number of
    the payer's invoice a patient's gap invoice was split from."""

    patient_id: int
    number: int
    issued: date
    due: date
    inclusive: bool
    total: int
    owed: int
    lines: tuple[Any, ...]
    live: bool
    for_patient: tuple[int, str, str] | None = None
    claim: str | None = None
    split_with: int | None = None


@dataclass(frozen=True, slots=True)
class CreditNoteDoc:
    """A credit note: its lines are its invoice's, shared in proportion."""

    patient_id: int
    number: int
    invoice_id: int
    day: date
    inclusive: bool
    amount: int
    applied: int
    lines: tuple[Any, ...]
    live: bool


@dataclass(frozen=True, slots=True)
class MoneyDoc:
    """Money paid on an invoice (a Xero payment into the payment type's account)."""

    patient_id: int
    invoice_id: int
    type_id: int
    amount: int
    day: date
    reference: str
    live: bool


@dataclass(frozen=True, slots=True)
class CreditDoc:
    """Credit held for a patient in one Xero document: ``capacity`` is what it can give."""

    patient_id: int
    capacity: int
    day: date
    type_id: int | None
    reference: str
    live: bool
    origin: credit_trace.Key
    #: The only use that may draw from it (a credit note's credit, moved to a prepayment).
    reserved: DocKey | None = None


@dataclass(slots=True)
class CreditUse:
    """Credit leaving a patient: applied to ``invoice_id``, or paid out (a refund into the
    payment type's account, a transfer through the transfer account)."""

    patient_id: int
    amount: int
    day: date
    live: bool
    invoice_id: int | None = None
    type_id: int | None = None
    reference: str = ""
    origins: list[tuple[credit_trace.Key, int]] = field(default_factory=list)


def digest(doc: InvoiceDoc | tuple[str, ...]) -> str:
    """SHA-256 of what the ledger says of an invoice (or a contact: a patient's names, a
    payer's name and email address) that Xero holds: a correction or a rename changes it; a
    payment, a void, a change to the account mapping or a merge of patients does not (an
    invoice stays on the contact it was sent to), while billing it to someone else does. An
    invoice's reference is not in it: Xero changes no invoice with money on it, so renaming a
    patient leaves the references of the invoices sent for them as they were (a correction
    sends the reference of the day)."""
    if isinstance(doc, InvoiceDoc):
        lines = [tuple(line) for line in doc.lines]
        said = repr((doc.number, doc.issued, doc.due, doc.inclusive, lines))
        if doc.for_patient is not None:
            # Billed to a payer: which one is said, so billing the patient instead (a
            # declined claim) or another payer sends the invoice again, to its new contact.
            said += repr(("payer", doc.patient_id))
    else:
        said = repr(doc)
    return hashlib.sha256(said.encode()).hexdigest()


@dataclass(slots=True)
class Desired:
    """Everything Xero should hold (live) or no longer hold (not live); ``items`` are the
    billable items whose codes invoice lines carry (code -> name), sent as Xero items so each
    line can name its item code."""

    names: dict[int, tuple[str, str]] = field(default_factory=dict)
    #: The payers among the contacts: name and email address ("" for none), by account id.
    payers: dict[int, tuple[str, str]] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)
    invoices: dict[int, InvoiceDoc] = field(default_factory=dict)
    credit_notes: dict[int, CreditNoteDoc] = field(default_factory=dict)
    money: dict[DocKey, MoneyDoc] = field(default_factory=dict)
    credits: dict[DocKey, CreditDoc] = field(default_factory=dict)
    uses: dict[DocKey, CreditUse] = field(default_factory=dict)
    type_names: dict[int, str] = field(default_factory=dict)

    def has_contact(self, account_id: int) -> bool:
        """Whether the ledger names the account's contact (a patient's or a payer's)."""
        return account_id in self.names or account_id in self.payers

    def contact_name(self, account_id: int) -> str:
        """The account's contact as Xero names it: ``Bupa (payer 12)``, ``Ada Lovelace (7)``."""
        payer = self.payers.get(account_id)
        if payer is not None:
            return payer_contact_name(payer[0], account_id)
        first, last = self.names.get(account_id, ("", ""))
        return contact_name(first, last, account_id)

    def contact_said(self, account_id: int) -> tuple[str, ...]:
        """What the ledger says of a contact (its digest's content): a patient's first and last
        names, as since the first sync; a payer's name and email address."""
        payer = self.payers.get(account_id)
        if payer is not None:
            return ("payer", *payer)
        return self.names[account_id]

    def patients(self) -> set[int]:
        """Every account (a patient's or a payer's) with a document."""
        found = {d.patient_id for d in self.invoices.values()}
        found |= {d.patient_id for d in self.credit_notes.values()}
        found |= {d.patient_id for d in self.money.values()}
        found |= {d.patient_id for d in self.credits.values()}
        found |= {u.patient_id for u in self.uses.values()}
        return found


def read_desired(session: Session, currency: str) -> Desired:
    """The ledger as documents for Xero (every issued record; drafts are not sent)."""
    want = Desired()
    want.type_names = dict(session.execute(select(PaymentType.id, PaymentType.name)).all())
    _invoices(session, want)
    _credit_notes(session, want)
    _payments(session, want)
    _transfers(session, want)
    patients = {u.patient_id for u in want.uses.values()}
    events = credit_trace.patients_events(session, patients, currency)
    drawn: dict[credit_trace.Key, list[tuple[credit_trace.Key, int]]] = {}
    for pid in sorted(events):
        drawn.update(credit_trace.drawn_from(events[pid]))
    for (kind, record_id, _), use in want.uses.items():
        if kind == "cn_move":
            continue  # drawn from its own credit note
        trace_key = {"alloc": "app", "refund": "refund", "transfer_out": "transfer_out"}[kind]
        use.origins = drawn.get((trace_key, record_id), [])
    wanted = sorted(want.patients())
    for first in range(0, len(wanted), 500):
        chunk = wanted[first : first + 500]
        for pid, name, email in session.execute(
            select(Payer.id, Payer.name, Payer.email).where(Payer.id.in_(chunk))
        ):
            want.payers[pid] = (name, email or "")
    wanted = [pid for pid in wanted if pid not in want.payers]
    for first in range(0, len(wanted), 500):
        chunk = wanted[first : first + 500]
        for pid, first_name, last_name in session.execute(
            select(Patient.id, Patient.first_name, Patient.last_name).where(Patient.id.in_(chunk))
        ):
            want.names[pid] = (first_name, last_name)
    return want


def _invoices(session: Session, want: Desired) -> None:
    lines: dict[int, list[Any]] = defaultdict(list)
    for line in session.execute(
        select(InvoiceLine.__table__)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.status != InvoiceStatus.DRAFT)
        .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
    ):
        lines[line.invoice_id].append(line)
    codes = {
        line.item_code.upper(): line
        for lines_of in lines.values()
        for line in lines_of
        if line.item_code
    }
    names = dict(session.execute(select(BillableItem.code, BillableItem.name)).all())
    upper = {code.upper(): name for code, name in names.items()}
    for code, line in sorted(codes.items()):
        want.items[line.item_code] = upper.get(code) or line.description
    patient = aliased(Patient)
    split = aliased(Invoice)
    for inv in session.execute(
        select(
            Invoice.__table__,
            patient.first_name.label("for_first"),
            patient.last_name.label("for_last"),
            split.number.label("split_number"),
        )
        .outerjoin(patient, patient.id == Invoice.for_patient_id)
        .outerjoin(split, split.id == Invoice.split_with_id)
        .where(Invoice.status != InvoiceStatus.DRAFT)
    ):
        owed = inv.total_minor - inv.paid_minor - inv.credited_minor
        for_patient = (
            None
            if inv.for_patient_id is None
            else (inv.for_patient_id, inv.for_first, inv.for_last)
        )
        want.invoices[inv.id] = InvoiceDoc(
            inv.patient_id,
            inv.number,
            inv.issue_date,
            inv.due_date or inv.issue_date,
            bool(inv.tax_inclusive),
            inv.total_minor,
            0 if inv.status == InvoiceStatus.VOID else owed,
            tuple(lines[inv.id]),
            inv.status != InvoiceStatus.VOID,
            for_patient,
            inv.claim_reference,
            inv.split_number,
        )


def _credit_notes(session: Session, want: Desired) -> None:
    for note in session.execute(select(CreditNote.__table__)):
        invoice = want.invoices[note.invoice_id]
        live = note.reversed_at is None
        want.credit_notes[note.id] = CreditNoteDoc(
            note.patient_id,
            note.number,
            note.invoice_id,
            note.note_date,
            invoice.inclusive,
            note.amount_minor,
            note.applied_minor,
            invoice.lines,
            live,
        )
        if note.to_credit_minor:
            # What the credit note returned as credit moves, as all account credit is held, to
            # a prepayment on the customer-credit account: refunded out of the credit note into
            # the transfer account and received back from it on the same day.
            move: DocKey = ("cn_move", note.id, "")
            label = f"CN-{note.number}"
            day, minor = note.note_date, note.to_credit_minor
            want.credits[("credit_note", note.id, "")] = CreditDoc(
                note.patient_id, minor, day, None, label, live, ("cn_source", note.id), move
            )
            want.uses[move] = CreditUse(
                note.patient_id,
                minor,
                day,
                live,
                reference=label,
                origins=[(("cn_source", note.id), minor)],
            )
            want.credits[("cn_credit", note.id, "")] = CreditDoc(
                note.patient_id, minor, day, None, label, live, ("credit_note", note.id)
            )


def _payments(session: Session, want: Desired) -> None:
    sources: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for payment_id, type_id, minor in session.execute(
        select(
            PaymentSource.payment_id, PaymentSource.payment_type_id, PaymentSource.amount_minor
        ).order_by(PaymentSource.id)
    ):
        sources[payment_id].append((type_id, minor))
    apps: dict[int, list[Any]] = defaultdict(list)
    for app in session.execute(select(Application.__table__).order_by(Application.id)):
        apps[app.payment_id].append(app)
    for pay in session.execute(select(Payment.__table__).order_by(Payment.id)):
        live = pay.reversed_at is None
        if pay.kind == PaymentKind.REFUND:
            method = sources[pay.id][0][0] if sources[pay.id] else None
            want.uses[("refund", pay.id, "")] = CreditUse(
                pay.patient_id,
                -pay.total_minor,
                pay.payment_date,
                live,
                type_id=method,
                reference=f"REF-{pay.id}",
            )
            continue
        _lay_out(want, pay, sources[pay.id], apps[pay.id], live)
        for app in apps[pay.id]:
            if app.from_credit_minor:
                want.uses[("alloc", app.id, "")] = CreditUse(
                    pay.patient_id,
                    app.from_credit_minor,
                    max(pay.payment_date, want.invoices[app.invoice_id].issued),
                    live and app.removed_at is None,
                    invoice_id=app.invoice_id,
                    reference=f"APP-{app.id}",
                )


def _lay_out(
    want: Desired, pay: Any, sources: list[tuple[int, int]], apps: list[Any], live: bool
) -> None:
    """Cut a payment's money into slices (see the module): each application's, then the rest."""
    slices: list[tuple[str, int, Any]] = [
        (f"app{a.id}", a.from_money_minor, a) for a in apps if a.from_money_minor
    ]
    slices.append(("left", pay.total_minor - sum(s[1] for s in slices), None))
    bounds = []
    start = 0
    for type_id, minor in sources:
        bounds.append((start, start + minor, type_id))
        start += minor
    at = 0
    for name, size, app in slices:
        for low, high, type_id in bounds:
            part = min(high, at + size) - max(low, at)
            if part <= 0:
                continue
            if app is None:
                key: DocKey = ("prepay", pay.id, f"left:{type_id}")
                want.credits[key] = CreditDoc(
                    pay.patient_id,
                    part,
                    pay.payment_date,
                    type_id,
                    payment_reference(pay.id, pay.reference),
                    live,
                    ("payment", pay.id),
                )
                continue
            invoice = want.invoices[app.invoice_id]
            want.money[("money", app.id, str(type_id))] = MoneyDoc(
                pay.patient_id,
                app.invoice_id,
                type_id,
                part,
                max(pay.payment_date, invoice.issued),
                payment_reference(pay.id, pay.reference),
                live and app.removed_at is None,
            )
            if app.removed_at is not None and app.removed_reason != REVERSED:
                want.credits[("prepay", pay.id, f"{name}:{type_id}")] = CreditDoc(
                    pay.patient_id,
                    part,
                    local_day(app.removed_at),
                    type_id,
                    payment_reference(pay.id, pay.reference),
                    live,
                    ("payment", pay.id),
                )
        at += size


def _transfers(session: Session, want: Desired) -> None:
    for tr in session.execute(select(CreditTransfer.__table__).where(not_cancelled_by_merge())):
        live = tr.reversed_at is None
        want.uses[("transfer_out", tr.id, "")] = CreditUse(
            tr.from_patient_id,
            tr.amount_minor,
            tr.transfer_date,
            live,
            reference=f"TRF-{tr.id}",
        )
        want.credits[("transfer_in", tr.id, "")] = CreditDoc(
            tr.to_patient_id,
            tr.amount_minor,
            tr.transfer_date,
            None,
            f"TRF-{tr.id}",
            live,
            ("transfer", tr.id),
        )
