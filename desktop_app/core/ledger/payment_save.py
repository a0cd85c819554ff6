"""Saving a payment: the preview's inputs re-planned under the patient's lock, never its figures.

A :class:`~.records.PaymentPreview` is a plain object in the caller's hands: anything in it can
have been changed after the engine made it. So the save takes only the preview's *inputs* (patient,
payment sources, typed amounts, allocation mode, the invoice it was entered from, date), checks each
of them, reads the patient's credit and open invoices again inside the saving transaction, runs the
allocation engine on them, and saves what the engine computes now. The preview's figures serve one
purpose: if they are not exactly what the engine computes, nothing is saved.

* The patient's credit or open invoices changed since the preview (another computer saved):
  :class:`~.errors.ConcurrentChangeError`, naming what changed.
* Otherwise any figure that differs (an edited line, total, credit or mode): a
  :class:`~.errors.BillingError` with code ``preview_altered``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Application, Invoice, Patient, Payment, PaymentSource, PaymentType
from ..domain.allocation import AllocationMode, AllocationPlan, PlanLine, allocate
from ..domain.errors import PREVIEW_ALTERED, BillingError, ConcurrentChangeError, Refusal
from ..domain.kinds import AuditAction, AuditEntity, PaymentKind
from ..domain.money import format_amount, max_major, parse_minor
from ..domain.records import PaymentPreview
from ..domain.text import check_line
from . import audit, corrections, read_models
from .idempotency import fingerprint
from .transaction import Transaction

#: The refusal for a preview whose figures are not the engine's.
ALTERED = (
    "The preview does not add up: its figures are not what saving would do (it was changed "
    "after it was made). Nothing was saved; preview the payment again."
)


#: The longest remittance reference a payer's payment keeps.
MAX_REMITTANCE_REFERENCE = 100


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """What the person asked for, taken from a preview and checked: all the save trusts."""

    patient_id: int
    currency: str
    payment_date: date
    sources: tuple[tuple[str, int], ...]
    typed: tuple[tuple[int, int], ...]
    mode: AllocationMode
    source_invoice: int | None
    #: A payer's remittance reference (None for a patient's payment).
    reference: str | None = None

    @property
    def payment_total(self) -> int:
        """The new money: the sum of the sources."""
        return sum(minor for _, minor in self.sources)

    def fingerprint(self) -> str:
        """The request's fingerprint, for its request id (:mod:`.idempotency`)."""
        return fingerprint(
            "payment",
            patient=self.patient_id,
            date=self.payment_date,
            sources=sorted(self.sources),
            typed=list(self.typed),
            mode=self.mode.value,
            source_invoice=self.source_invoice,
            # Only a remittance has a reference: a patient's payment keeps its fingerprint.
            **({} if self.reference is None else {"reference": self.reference}),
        )


def _altered() -> BillingError:
    return BillingError(ALTERED, code=PREVIEW_ALTERED)


def _is_int(value: object) -> bool:
    """A plain ``int``: not a bool, not a subclass that could answer sums or comparisons its
    own way (the engine must compute with the very values the database stores)."""
    return type(value) is int


_LINE_TYPES = (int, int, date, int, int, int, int, bool)
#: The plan's own figures: each a plain int, or an object of the caller's could compare equal.
_PLAN_FIGURES = (
    "payment_total",
    "credit_available",
    "applied_total",
    "money_applied",
    "credit_used",
    "to_credit",
    "credit_after",
)


def _sound_line(line: object) -> bool:
    """Whether ``line`` is an engine-made line of exact, plain values."""
    return type(line) is PlanLine and all(
        type(value) is kind for value, kind in zip(line, _LINE_TYPES, strict=True)
    )


def request_of(preview: object) -> PaymentRequest:
    """The checked inputs of ``preview``; a BillingError for anything that is not a sound preview.

    Only the shape is checked here (exact types, no duplicates, positive amounts); amounts
    against balances and credit are the engine's to judge, under the lock. Exact types, not
    ``isinstance``: a subclass of ``int``, ``str`` or ``date`` could compute or compare its own
    way inside the engine while the database stores its plain value.
    """
    if type(preview) is not PaymentPreview:
        raise BillingError("Save a preview made by preview_payment().", code=PREVIEW_ALTERED)
    plan = preview.plan
    if (
        type(plan) is not AllocationPlan
        or type(plan.mode) is not AllocationMode
        or type(plan.lines) is not tuple
        or not all(_sound_line(line) for line in plan.lines)
        or not all(_is_int(getattr(plan, name)) for name in _PLAN_FIGURES)
        or not _is_int(preview.patient_id)
        or type(preview.currency) is not str
        or type(preview.payment_date) is not date
        or type(preview.sources_minor) is not tuple
        or type(preview.typed_minor) is not tuple
        or not (plan.source_invoice is None or _is_int(plan.source_invoice))
        or not (preview.reference is None or type(preview.reference) is str)
    ):
        raise _altered()
    mode = plan.mode
    try:
        sources = tuple((name, minor) for name, minor in preview.sources_minor)
        typed = tuple((invoice_id, minor) for invoice_id, minor in preview.typed_minor)
    except (TypeError, ValueError):
        raise _altered() from None
    names = [name for name, _ in sources]
    if (
        any(type(name) is not str or not _is_int(minor) or minor <= 0 for name, minor in sources)
        or len(set(names)) != len(names)
        or any(not _is_int(iid) or not _is_int(minor) or minor < 0 for iid, minor in typed)
        or len({iid for iid, _ in typed}) != len(typed)
    ):
        raise _altered()
    if preview.reference is not None:
        # The remittance reference is saved as given: checked again, as the draft checked it.
        check_line(preview.reference, "remittance reference", MAX_REMITTANCE_REFERENCE)
    return PaymentRequest(
        patient_id=preview.patient_id,
        currency=preview.currency,
        payment_date=preview.payment_date,
        sources=sources,
        typed=tuple(sorted(typed)),
        mode=mode,
        source_invoice=plan.source_invoice,
        reference=preview.reference,
    )


def replan(
    session: Session, request: PaymentRequest, preview: PaymentPreview, patient: Patient
) -> AllocationPlan:
    """The plan the engine makes now from the request, under the patient's lock.

    Raises:
        ConcurrentChangeError: the credit or the open invoices changed since the preview.
        BillingError: the preview's figures are not the engine's (``preview_altered``), or the
            request itself is refused by the engine (more than a balance or than the pool).
    """
    plan = preview.plan
    currency = request.currency
    if patient.credit_minor != plan.credit_available:
        raise ConcurrentChangeError(
            f"The patient's account credit changed from "
            f"{format_amount(plan.credit_available, currency)} to "
            f"{format_amount(patient.credit_minor, currency)} since the preview (saved on "
            "another computer). Nothing was saved; check the new figures and save again."
        )
    current = read_models.open_invoices(session, request.patient_id)
    now = {inv.id: inv for inv in current}
    shown: set[int] = set()
    for line in plan.lines:
        shown.add(line.invoice_id)
        invoice = now.get(line.invoice_id)
        if invoice is None or invoice.balance != line.balance:
            if invoice is not None and (invoice.number, invoice.issue_date) != (
                line.number,
                line.issue_date,
            ):
                raise _altered()
            raise ConcurrentChangeError(
                f"Invoice #{line.number} changed since the preview (saved on another "
                "computer). Nothing was saved; check the new figures and save again."
            )
    engine_plan = allocate(
        current,
        payment_total=request.payment_total,
        credit_available=patient.credit_minor,
        mode=request.mode,
        typed=dict(request.typed),
        source_invoice=request.source_invoice,
        currency=currency,
    )
    # An invoice issued or reopened since the preview does not refuse the save unless saving
    # now would apply something to it: the save must do exactly what the preview showed.
    for line in engine_plan.lines:
        if line.invoice_id not in shown and line.applied:
            raise ConcurrentChangeError(
                f"Invoice #{line.number} was issued or reopened since the preview (saved on "
                f"another computer), and saving now would apply "
                f"{format_amount(line.applied, currency)} to it. Nothing was saved; check the "
                "new figures and save again."
            )
    as_shown = tuple(line for line in engine_plan.lines if line.invoice_id in shown)
    if dataclasses.replace(engine_plan, lines=as_shown) != plan:
        raise _altered()
    return engine_plan


def active_type_ids(session: Session, request: PaymentRequest) -> dict[str, int]:
    """The payment types of the request's sources, by name (each must still be in use)."""
    limit = parse_minor(max_major(request.currency), request.currency)
    if any(minor > limit for _, minor in request.sources):
        raise _altered()
    type_ids = dict(
        session.execute(
            select(PaymentType.name, PaymentType.id).where(PaymentType.active.is_(True))
        ).all()
    )
    for name, _ in request.sources:
        if name not in type_ids:
            raise ConcurrentChangeError(
                f"The payment type {name!r} is no longer in use (changed in settings); "
                "choose another and save again."
            )
    return {name: int(type_ids[name]) for name, _ in request.sources}


def save(
    tx: Transaction,
    patient: Patient,
    request: PaymentRequest,
    preview: PaymentPreview,
    request_id: str,
) -> int:
    """Save what the engine plans now for ``request``, if ``preview`` shows exactly that.

    The caller holds the currency and patient locks and has checked the request id is new.
    Writes the payment, its sources and applications, and the patient's new figures; returns
    the payment's id.
    """
    session = tx.session
    plan = replan(session, request, preview, patient)
    if plan.is_empty:
        raise BillingError(
            "There is nothing to save: the payment is $0 and applies nothing.",
            code=Refusal.NOTHING_TO_SAVE,
        )
    type_ids = active_type_ids(session, request)
    touched = [line for line in plan.lines if line.applied]
    invoices = {
        inv.id: inv
        for inv in session.scalars(
            select(Invoice).where(Invoice.id.in_([ln.invoice_id for ln in touched]))
        )
    }
    payment = Payment(
        patient_id=request.patient_id,
        kind=PaymentKind.PAYMENT,
        payment_date=request.payment_date,
        total_minor=plan.payment_total,
        request_id=request_id,
        request_fingerprint=request.fingerprint(),
        created_at=audit.moment(session),
        reference=request.reference,
    )
    session.add(payment)
    session.flush()
    for name, minor in request.sources:
        session.add(
            PaymentSource(payment_id=payment.id, payment_type_id=type_ids[name], amount_minor=minor)
        )
    stamp = audit.moment(session)
    for line in touched:
        session.add(
            Application(
                payment_id=payment.id,
                invoice_id=line.invoice_id,
                amount_minor=line.applied,
                from_money_minor=line.from_money,
                from_credit_minor=line.from_credit,
                created_at=stamp,
            )
        )
        invoice = invoices[line.invoice_id]
        invoice.paid_minor += line.applied
        corrections.settle_status(invoice)
    patient.credit_minor = plan.credit_after
    patient.outstanding_minor -= plan.applied_total
    session.flush()
    tx.audit(
        action=AuditAction.RECORD_PAYMENT,
        entity=AuditEntity.PAYMENT,
        entity_id=payment.id,
        before={"credit": plan.credit_available},
        after={
            "patient_id": request.patient_id,
            "total": plan.payment_total,
            "sources": dict(request.sources),
            "applied": {str(ln.invoice_id): ln.applied for ln in touched},
            "credit_used": plan.credit_used,
            "to_credit": plan.to_credit,
            "credit": plan.credit_after,
            "request_id": request_id,
            **({} if request.reference is None else {"reference": request.reference}),
        },
    )
    return payment.id


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """A refund of account credit as asked for (amount checked, date as given)."""

    patient_id: int
    amount: int
    method: str
    refund_date: date | None
    reason: str | None

    @property
    def payment_total(self) -> int:
        """The refund's total as saved (negative)."""
        return -self.amount

    def fingerprint(self) -> str:
        """The request's fingerprint, for its request id (:mod:`.idempotency`)."""
        return fingerprint(
            "refund",
            patient=self.patient_id,
            amount=self.amount,
            method=self.method,
            date=self.refund_date,
            reason=self.reason,
        )
