"""Where each patient's account credit came from and what used it.

Credit is kept as one cached balance per patient (fast to read and to lock). Its history is rebuilt
here from the posted records, which are never edited, so the two cannot drift apart:

* every change to a patient's credit becomes a :class:`CreditEvent`, in the order it was saved;
* money arriving as credit (an overpayment or prepayment, a credit note, a transfer from another
  patient, money returned from an invoice) opens a *lot* that remembers its origin;
* credit leaving (applied to an invoice, refunded, transferred away) is taken from the oldest lots
  first, and each lot remembers what used it;
* undoing a use (removing an application, reversing a refund or a transfer) gives the credit back
  to the very lots it came from; reversing the record a lot came from takes that lot first.

The sum of the lots' remaining amounts always equals the patient's credit; the tests check it after
every operation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..db.models import (
    Application,
    CreditNote,
    CreditTransfer,
    Invoice,
    Patient,
    Payment,
    PaymentSource,
    PaymentType,
)
from ..domain.invoicing import issued
from ..domain.kinds import PaymentKind
from ..domain.money import format_amount
from .audit import local_day
from .merge import not_cancelled_by_merge

#: An origin or a use: ("payment", id), ("credit_note", id), ("transfer", id), ("app", id), ...
Key = tuple[str, int]


@dataclass(frozen=True, slots=True)
class CreditEvent:
    """One change to a patient's credit.

    Exactly one of ``origin`` (credit arriving, opening a lot), ``use`` (credit leaving, taken
    oldest first) or ``restore`` (a use undone) is set. ``target`` names the origin whose lots a
    leaving amount takes first (a reversal takes back its own credit).
    """

    at: Any
    order: tuple[int, int]
    day: date
    description: str
    change: int
    payment_id: int | None = None
    origin: Key | None = None
    use: Key | None = None
    restore: Key | None = None
    target: Key | None = None

    @property
    def sort_key(self) -> tuple[Any, int, int, int]:
        """When it was saved; at the same moment, credit arriving before credit leaving (within one
        save, e.g. a credit note refunded at once, that is the order it happened in)."""
        return (self.at, 0 if self.change > 0 else 1, *self.order)


@dataclass(slots=True)
class Lot:
    """Credit from one origin: how much arrived, what used it and what remains (minor units)."""

    origin: Key
    day: date
    description: str
    amount: int = 0
    uses: list[tuple[date, str, int]] = field(default_factory=list)
    remaining: int = 0


@dataclass(slots=True)
class _Taken:
    lot: Lot
    amount: int
    index: int


def trace(events: Iterable[CreditEvent]) -> list[Lot]:
    """Replay credit events (in saved order) into lots, spending the oldest first."""
    return _replay(events, {})


def drawn_from(events: Iterable[CreditEvent]) -> dict[Key, list[tuple[Key, int]]]:
    """For every use of credit (``("app", id)`` for credit applied to an invoice, a refund, a
    transfer out...), the origins it drew from when it was made and how much from each, in the
    order taken: what the accounting export names as each allocation's source. An origin is
    ``("payment", id)``, ``("credit_note", id)``, ``("transfer", id)`` or ``("unattributed", 0)``;
    the amounts add up to the use. Undoing a use later does not change what it drew."""
    drawn: dict[Key, list[tuple[Key, int]]] = {}
    _replay(events, drawn)
    return drawn


def _replay(events: Iterable[CreditEvent], drawn: dict[Key, list[tuple[Key, int]]]) -> list[Lot]:
    lots: list[Lot] = []
    by_origin: dict[Key, list[Lot]] = {}
    taken: dict[Key, list[_Taken]] = {}
    for event in sorted(events, key=lambda e: e.sort_key):
        if event.origin is not None and event.change > 0:
            lot = Lot(event.origin, event.day, event.description, event.change, [], event.change)
            lots.append(lot)
            by_origin.setdefault(event.origin, []).append(lot)
        elif event.restore is not None and event.change > 0:
            left = _give_back(taken.get(event.restore, []), event.change)
            if left:
                _unattributed(lots, event, left)
        elif event.change < 0:
            preferred = by_origin.get(event.target, []) if event.target else []
            first = {id(lot) for lot in preferred}
            order = [*preferred, *(lot for lot in lots if id(lot) not in first)]
            need = -event.change
            key = event.use or ("unnamed", id(event))
            for lot in order:
                if need == 0:
                    break
                part = min(need, lot.remaining)
                if part <= 0:
                    continue
                lot.remaining -= part
                lot.uses.append((event.day, event.description, part))
                taken.setdefault(key, []).append(_Taken(lot, part, len(lot.uses) - 1))
                drawn.setdefault(key, []).append((lot.origin, part))
                need -= part
            if need:
                _unattributed(lots, event, -need)
                drawn.setdefault(key, []).append((("unattributed", 0), need))
    return lots


def _give_back(takes: list[_Taken], amount: int) -> int:
    """Return ``amount`` to the lots a use took it from, newest take first; returns what no lot
    took (0 normally)."""
    for take in reversed(takes):
        if amount == 0:
            return 0
        part = min(amount, take.amount)
        if part <= 0:
            continue
        take.amount -= part
        take.lot.remaining += part
        day, what, used = take.lot.uses[take.index]
        take.lot.uses[take.index] = (day, what, used - part)
        amount -= part
    return amount


def _unattributed(lots: list[Lot], event: CreditEvent, amount: int) -> None:
    """Credit moved that no lot accounts for (records saved in an order the clocks disagree on):
    keep the lots adding up to the credit, in a lot that says so."""
    lot = Lot(("unattributed", 0), event.day, "Credit not matched to where it came from")
    lot.amount = max(amount, 0)
    lot.remaining = amount
    if amount < 0:
        lot.uses.append((event.day, event.description, -amount))
    lots.append(lot)


def patient_events(session: Session, patient_id: int, currency: str) -> list[CreditEvent]:
    """Every change to one patient's credit, from payments, refunds, applications, credit notes
    and transfers (unsorted; :func:`trace` and the history sort them)."""
    return patients_events(session, [patient_id], currency)[patient_id]


#: Patients per query when reading many patients' events (well under every driver's limit on
#: bound parameters).
_CHUNK = 500


def patients_events(
    session: Session, patient_ids: Iterable[int], currency: str
) -> dict[int, list[CreditEvent]]:
    """:func:`patient_events` of many patients, read a few hundred patients per query (the
    accounting export traces every patient whose credit paid an invoice in it)."""
    ids = sorted(set(patient_ids))
    events: dict[int, list[CreditEvent]] = {pid: [] for pid in ids}
    for first in range(0, len(ids), _CHUNK):
        _read_events(session, ids[first : first + _CHUNK], currency, events)
    return events


def _read_events(
    session: Session, ids: list[int], currency: str, events: dict[int, list[CreditEvent]]
) -> None:
    def money(minor: int) -> str:
        return format_amount(minor, currency)

    payments = session.scalars(select(Payment).where(Payment.patient_id.in_(ids))).all()
    methods: dict[int, list[str]] = {}
    for payment_id, name in session.execute(
        select(PaymentSource.payment_id, PaymentType.name)
        .join(PaymentType, PaymentType.id == PaymentSource.payment_type_id)
        .join(Payment, Payment.id == PaymentSource.payment_id)
        .where(Payment.patient_id.in_(ids))
        .order_by(PaymentSource.id)
    ):
        methods.setdefault(payment_id, []).append(name)
    apps: dict[int, list[tuple[Application, int]]] = {}
    for app, number in session.execute(
        select(Application, Invoice.number)
        .join(Invoice, Invoice.id == Application.invoice_id)
        .join(Payment, Payment.id == Application.payment_id)
        .where(Payment.patient_id.in_(ids))
        .order_by(Application.id)
    ):
        apps.setdefault(app.payment_id, []).append((app, issued(number)))

    for pay in payments:
        events[pay.patient_id].extend(
            _payment_events(pay, apps.get(pay.id, []), methods.get(pay.id, []), money)
        )
    for note, number in session.execute(
        select(CreditNote, Invoice.number)
        .join(Invoice, Invoice.id == CreditNote.invoice_id)
        .where(CreditNote.patient_id.in_(ids))
    ):
        events[note.patient_id].extend(_credit_note_events(note, issued(number), money))
    transfers = session.scalars(
        select(CreditTransfer).where(
            or_(CreditTransfer.from_patient_id.in_(ids), CreditTransfer.to_patient_id.in_(ids)),
            not_cancelled_by_merge(),  # between two records of one patient, merged since
        )
    ).all()
    others = {t.from_patient_id for t in transfers} | {t.to_patient_id for t in transfers}
    names = {
        pid: f"{first} {last}"
        for pid, first, last in session.execute(
            select(Patient.id, Patient.first_name, Patient.last_name).where(
                Patient.id.in_(sorted(others))
            )
        )
    }
    wanted = set(ids)
    for transfer in transfers:
        for pid in {transfer.from_patient_id, transfer.to_patient_id} & wanted:
            events[pid].extend(_transfer_events(transfer, pid, names, money))


def _payment_events(
    pay: Payment, own: list[tuple[Application, int]], methods: list[str], money: Any
) -> list[CreditEvent]:
    events: list[CreditEvent] = []
    how = ", ".join(methods)
    if pay.kind == PaymentKind.REFUND:
        use = ("refund", pay.id)
        events.append(
            CreditEvent(
                pay.created_at,
                (pay.id, 0),
                pay.payment_date,
                f"Refund {pay.id} ({how}) of {money(-pay.total_minor)}",
                pay.total_minor,
                pay.id,
                use=use,
            )
        )
        if pay.reversed_at is not None:
            events.append(
                CreditEvent(
                    pay.reversed_at,
                    (pay.id, 9),
                    local_day(pay.reversed_at),
                    f"Refund {pay.id} reversed",
                    -pay.total_minor,
                    pay.id,
                    restore=use,
                )
            )
        return events

    origin = ("payment", pay.id)
    to_credit = pay.total_minor - sum(app.from_money_minor for app, _ in own)
    if to_credit > 0:
        label = f"Payment {pay.id} ({how}) of {money(pay.total_minor)}"
        events.append(
            CreditEvent(
                pay.created_at,
                (pay.id, 1),
                pay.payment_date,
                f"{label}: {money(to_credit)} left as credit",
                to_credit,
                pay.id,
                origin=origin,
            )
        )
    for app, number in own:
        if app.from_credit_minor:
            events.append(
                CreditEvent(
                    app.created_at,
                    (pay.id, 2),
                    pay.payment_date,
                    f"Credit applied to invoice #{number} (payment {pay.id})",
                    -app.from_credit_minor,
                    pay.id,
                    use=("app", app.id),
                )
            )
        if app.removed_at is None:
            continue
        reversal = app.removed_reason == "payment reversed"
        why = f"payment {pay.id} reversed" if reversal else (app.removed_reason or "removed")
        if app.from_credit_minor:
            events.append(
                CreditEvent(
                    app.removed_at,
                    (pay.id, 3),
                    local_day(app.removed_at),
                    f"Credit returned from invoice #{number} ({why})",
                    app.from_credit_minor,
                    pay.id,
                    restore=("app", app.id),
                )
            )
        if app.from_money_minor and not reversal:
            events.append(
                CreditEvent(
                    app.removed_at,
                    (pay.id, 4),
                    local_day(app.removed_at),
                    f"Payment {pay.id}'s {money(app.from_money_minor)} returned from invoice "
                    f"#{number} ({why})",
                    app.from_money_minor,
                    pay.id,
                    origin=origin,
                )
            )
    if pay.reversed_at is not None:
        # What the payment still held as credit: its total less the money still on invoices.
        reversed_money = sum(
            app.from_money_minor
            for app, _ in own
            if app.removed_at is not None and app.removed_reason == "payment reversed"
        )
        kept = sum(app.from_money_minor for app, _ in own if app.removed_at is None)
        taken = pay.total_minor - reversed_money - kept
        if taken:
            events.append(
                CreditEvent(
                    pay.reversed_at,
                    (pay.id, 8),
                    local_day(pay.reversed_at),
                    f"Payment {pay.id} reversed",
                    -taken,
                    pay.id,
                    use=("reversal", pay.id),
                    target=origin,
                )
            )
    return events


def _credit_note_events(note: CreditNote, number: int, money: Any) -> list[CreditEvent]:
    if not note.to_credit_minor:
        return []
    origin = ("credit_note", note.id)
    events = [
        CreditEvent(
            note.created_at,
            (note.id, 5),
            note.note_date,
            f"Credit note CN-{note.number} on invoice #{number}: {money(note.to_credit_minor)} "
            "returned as credit",
            note.to_credit_minor,
            origin=origin,
        )
    ]
    if note.reversed_at is not None:
        events.append(
            CreditEvent(
                note.reversed_at,
                (note.id, 8),
                local_day(note.reversed_at),
                f"Credit note CN-{note.number} reversed",
                -note.to_credit_minor,
                use=("credit_note_reversal", note.id),
                target=origin,
            )
        )
    return events


def _transfer_events(
    transfer: CreditTransfer, patient_id: int, names: dict[int, str], money: Any
) -> list[CreditEvent]:
    amount = transfer.amount_minor
    events: list[CreditEvent] = []
    if transfer.from_patient_id == patient_id:
        other = names.get(transfer.to_patient_id, f"patient {transfer.to_patient_id}")
        use = ("transfer_out", transfer.id)
        events.append(
            CreditEvent(
                transfer.created_at,
                (transfer.id, 6),
                transfer.transfer_date,
                f"Transferred {money(amount)} to {other}",
                -amount,
                use=use,
            )
        )
        if transfer.reversed_at is not None:
            events.append(
                CreditEvent(
                    transfer.reversed_at,
                    (transfer.id, 9),
                    local_day(transfer.reversed_at),
                    f"Transfer to {other} reversed",
                    amount,
                    restore=use,
                )
            )
    else:
        other = names.get(transfer.from_patient_id, f"patient {transfer.from_patient_id}")
        origin = ("transfer", transfer.id)
        events.append(
            CreditEvent(
                transfer.created_at,
                (transfer.id, 7),
                transfer.transfer_date,
                f"Transferred from {other}: {money(amount)}",
                amount,
                origin=origin,
            )
        )
        if transfer.reversed_at is not None:
            events.append(
                CreditEvent(
                    transfer.reversed_at,
                    (transfer.id, 8),
                    local_day(transfer.reversed_at),
                    f"Transfer from {other} reversed",
                    -amount,
                    use=("transfer_reversal", transfer.id),
                    target=origin,
                )
            )
    return events


def uses_of(lots: Iterable[Lot], origin: Key) -> list[tuple[date, str, int]]:
    """What used the credit that came from ``origin`` (for refusals that must name it)."""
    return [use for lot in lots if lot.origin == origin for use in lot.uses if use[2] > 0]


def describe_uses(uses: list[tuple[date, str, int]], currency: str) -> str:
    """'invoice #12 ($30.00, 3 Nov 2026); refund 4 ($20.00, ...)' for a refusal message."""
    return "; ".join(f"{what} ({format_amount(minor, currency)})" for _, what, minor in uses)
