"""``clinic.payments``: taking a payment (draft, preview, save) and refunding credit.

``clinic.payments(patient_id)`` lists one patient's payments and refunds (the flat API's
``clinic.payments(...)``). The rules of a save are :mod:`desktop_app.core.ledger.payment_save`'s
and the allocation engine's (:mod:`desktop_app.core.domain.allocation`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..access.staff import Permission
from ..db.models import Invoice, Patient, Payment, PaymentType, Setting
from ..domain.allocation import AllocationMode
from ..domain.errors import BillingError, ConcurrentChangeError, NotFoundError, Refusal
from ..domain.kinds import InvoiceStatus
from ..domain.money import AmountInput, parse_minor
from ..domain.payment_draft import PaymentDraft
from ..domain.records import PaymentPreview, PaymentRecord
from ..domain.text import optional_text
from ..ledger import corrections, payment_save, read_models
from ..ledger import merge as merging
from ..ledger import settings as stored
from ..ledger.corrections import MAX_REASON
from ..ledger.guard import check_id, reads_patient, reads_record, requires
from ..ledger.idempotency import RequestKind
from ..ledger.payer_accounts import not_payer, payer_of
from ..ledger.payment_save import RefundRequest
from ..ledger.transaction import archived_error
from .base import Manager, check_request_id, not_future

_DRAFT_SETTINGS = select(Setting.key, Setting.value).where(
    Setting.key.in_(["currency", "allocation_mode"])
)
_DRAFT_PATIENT = select(
    Patient.first_name,
    Patient.last_name,
    Patient.credit_minor,
    Patient.archived_at,
    Patient.merged_into,
).where(Patient.id == bindparam("pid"))
_ACTIVE_TYPES = (
    select(PaymentType.name, PaymentType.allocation_mode)
    .where(PaymentType.active.is_(True))
    .order_by(PaymentType.position, PaymentType.id)
)


def _not_theirs(session: Session, invoice: Invoice, account_id: int) -> str:
    """Why an invoice of another account takes nothing from this one: it is another patient's,
    billed to a payer, or (for a payer's payment) billed to a patient or to another payer."""
    owner = payer_of(session, invoice.patient_id)
    payer = payer_of(session, account_id)
    number = f"Invoice #{invoice.number}"
    if payer is not None:
        billed = "a patient" if owner is None else f"another payer ({owner.name})"
        return f"{number} is billed to {billed}; {payer.name}'s payments apply only to its own."
    if owner is not None:
        return (
            f"{number} is billed to {owner.name}; the patient's payments and credit apply only "
            "to invoices billed to the patient."
        )
    return f"{number} belongs to another patient; nothing from this patient can be applied to it."


class Payments(Manager):
    """Payments and refunds."""

    @requires(Permission.PAYMENTS)
    def draft(
        self,
        patient_id: int,
        source_invoice: int | None = None,
        *,
        payment_date: date | None = None,
        mode: AllocationMode | None = None,
        reference: str | None = None,
    ) -> PaymentDraft:
        """Start entering a payment: read the patient's credit and open invoices once.

        The payment dialog previews every keystroke with ``draft.preview(...)`` (no database
        work) and saves with :meth:`record`.

        Args:
            patient_id: who pays.
            source_invoice: the invoice the payment was entered from, if any.
            payment_date: defaults to today; never in the future.
            mode: override the clinic's allocation mode (defaults to the setting, or to the
                payment types' own mode when the money is all of types that carry one).
            reference: a payer's remittance reference (``clinic.payers``).
        """
        check_id(patient_id, "patient")
        day = not_future(payment_date, "payment")
        with self.store.read() as session:
            # Core statements on the session's connection (one snapshot, no ORM processing):
            # this runs each time the payment dialog opens.
            connection = session.connection()
            settings = dict(connection.execute(_DRAFT_SETTINGS).all())
            currency = settings["currency"]
            chosen = AllocationMode(mode or settings["allocation_mode"])
            patient = connection.execute(_DRAFT_PATIENT, {"pid": patient_id}).one_or_none()
            if patient is None:
                raise NotFoundError(f"There is no patient {patient_id}.")
            if source_invoice is not None:
                self._check_payable(session, patient_id, source_invoice)
            type_rows = connection.execute(_ACTIVE_TYPES).all()
            types = tuple(name for name, _ in type_rows)
            first_name, last_name, credit_minor, archived_at, merged_into = patient
            if archived_at is not None:  # saving would be refused: say so before any typing
                raise archived_error(f"{first_name} {last_name}", merged_into)
            return PaymentDraft(
                patient_id=patient_id,
                patient_name=f"{first_name} {last_name}".strip(),  # a payer: its name
                currency=currency,
                mode=chosen,
                source_invoice=source_invoice,
                payment_date=day,
                payment_types=types,
                credit_available=credit_minor,
                open_invoices=tuple(read_models.open_invoices(session, patient_id)),
                explain_not_open=lambda invoice_id: self._explain_not_open(patient_id, invoice_id),
                type_modes={name: AllocationMode(own) for name, own in type_rows if own},
                mode_asked=mode is not None,
                reference=reference,
            )

    @requires(Permission.PAYMENTS)
    def preview(
        self,
        patient_id: int,
        sources: Mapping[str, AmountInput] | None = None,
        applied: Mapping[int, AmountInput] | None = None,
        source_invoice: int | None = None,
        *,
        payment_date: date | None = None,
        mode: AllocationMode | None = None,
    ) -> PaymentPreview:
        """Work out exactly what saving a payment would do, without saving anything.

        Args:
            patient_id: who pays.
            sources: amount per payment type name (``{"Cash": "20.00"}``); empty for a payment made
                wholly from account credit.
            applied: amounts staff typed per invoice id; the automatic mode fills in the rest.
            source_invoice: the invoice the payment was entered from, if any.
            payment_date: defaults to today; never in the future.
            mode: override the clinic's allocation mode (defaults to the setting).

        Raises:
            BillingError: a bad amount, an unknown payment type, an invoice that is paid, void or
                another patient's, more than a balance, or more than payment plus credit.
        """
        draft = self.draft(patient_id, source_invoice, payment_date=payment_date, mode=mode)
        return draft.preview(sources, applied)

    def _explain_not_open(self, patient_id: int, invoice_id: object) -> None:
        """Raise the reason an invoice cannot take a payment from this patient."""
        with self.store.read() as session:
            invoice = self._check_payable(session, patient_id, invoice_id)
        raise ConcurrentChangeError(
            f"Invoice #{invoice.number} was issued or reopened after this payment was started; "
            "start the payment again to include it."
        )

    @staticmethod
    def _check_payable(session: Session, patient_id: int, invoice_id: object) -> Invoice:
        invoice = session.get(Invoice, check_id(invoice_id, "invoice"))
        if invoice is None:
            raise NotFoundError(f"There is no invoice {invoice_id!r}.")
        if invoice.patient_id != patient_id:
            raise BillingError(
                _not_theirs(session, invoice, patient_id),
                code=Refusal.OTHER_PATIENT,
                field="source_invoice",
            )
        if invoice.status != InvoiceStatus.OPEN:
            raise BillingError(
                f"Invoice #{invoice.number} is {invoice.status}; nothing more can be applied "
                "to it.",
                code=Refusal.NOT_OPEN,
                field="source_invoice",
            )
        return invoice

    @requires(Permission.PAYMENTS)
    def record(self, preview: PaymentPreview, request_id: str) -> int:
        """Save exactly what ``preview`` shows, in one transaction; returns the payment id.

        The save re-plans the preview's inputs (patient, sources, typed amounts, mode, source
        invoice, date) under the patient's lock and saves what the engine computes, refusing a
        preview whose figures differ (``payment_save.py``). The same ``request_id`` with the
        same request returns the first payment's id and records nothing; with a different
        request it is refused.

        Raises:
            ConcurrentChangeError: the patient's credit or open invoices changed since the
                preview (another workstation saved); preview again.
            BillingError: there is nothing to save, the preview's figures are not the engine's
                (code ``preview_altered``), or the request id was used for another request
                (code ``request_reused``).
        """
        request_id = check_request_id(request_id)
        request = payment_save.request_of(preview)
        not_future(request.payment_date, "payment")
        asked = ""
        assert isinstance(preview, PaymentPreview)  # request_of refused anything else
        try:
            with self.store.write() as tx:
                # Lock first, then look: a retry racing the original save waits for it and
                # then finds it, instead of being refused as a concurrent change. Locks are
                # always taken currency first, then patient, so two saves cannot deadlock.
                currency = tx.currency()
                patient = tx.lock_patient(request.patient_id, archived_ok=True)
                asked = request.fingerprint()
                existing = tx.idempotent(
                    RequestKind.PAYMENT,
                    request_id,
                    asked,
                    legacy=lambda row: row.total_minor == request.payment_total,
                    # A payment saved before its patient was merged is the kept patient's now.
                    patient_id=merging.kept_id(tx.session, patient),
                )
                if existing is not None:
                    return existing  # saved already: Save pressed again finds it, even now
                tx.refuse_archived(patient)  # a new save on an archived account
                if currency != request.currency:
                    raise ConcurrentChangeError(
                        "The clinic's currency changed; preview the payment again."
                    )
                return payment_save.save(tx, patient, request, preview, request_id)
        except IntegrityError as error:
            # Another save with the same request id committed first: that one is the payment.
            return self.store.replayed(RequestKind.PAYMENT, request_id, asked, error)

    def credit_beside_open(self) -> list[int]:
        """Ids of the patients who hold account credit while they have open invoices, by name.

        Both figures are cached on the patient's row, so this is one query over the patients
        (no invoice is read), whatever the size of the clinic.
        """
        query = (
            select(Patient.id)
            .where(
                Patient.credit_minor > 0,
                Patient.outstanding_minor > 0,
                Patient.archived_at.is_(None),
                not_payer(),
            )
            .where(*self.store.own_patients())
            .order_by(func.lower(Patient.last_name), func.lower(Patient.first_name), Patient.id)
        )
        with self.store.read() as session:
            return [row[0] for row in session.connection().execute(query)]

    @requires(Permission.PAYMENTS)
    def preview_credit(self, patient_id: int) -> PaymentPreview:
        """What applying the patient's account credit to their open invoices would do: a payment
        with no money, funded from credit alone, allocated by the clinic's mode (the payment
        dialog's preview with no payment types filled in). With allocation off, or set to the
        invoice a payment is entered from (there is none here), the credit pays the oldest
        invoices first: asking to apply credit is asking for it to be allocated."""
        draft = self.draft(patient_id)
        if draft.mode in (AllocationMode.OFF, AllocationMode.SOURCE_INVOICE):
            draft = self.draft(patient_id, mode=AllocationMode.OLDEST_FIRST)
        return draft.preview({}, None)

    @requires(Permission.PAYMENTS)
    def apply_credit(
        self, patient_id: int, request_id: str, preview: PaymentPreview | None = None
    ) -> int | None:
        """Apply the patient's account credit to their open invoices: one $0 payment funded from
        credit (saved through :meth:`record`, so audited once), in its own transaction.

        Returns the payment's id, or None when there is nothing to apply (no credit or no open
        invoice). Sending the same ``request_id`` again returns the first payment's id and saves
        nothing new, even though the credit is now spent.
        """
        request_id = check_request_id(request_id)
        with self.store.read() as session:
            done = session.execute(
                select(Payment.id, Payment.patient_id).where(Payment.request_id == request_id)
            ).one_or_none()
            row = session.get(Patient, patient_id)
            # Saved for this patient, or for them before they were merged into another.
            if done is not None and row is not None and done[1] == merging.kept_id(session, row):
                return int(done[0])
        if preview is None:
            preview = self.preview_credit(patient_id)
        elif preview.patient_id != patient_id or preview.sources_minor:
            raise BillingError(
                "Only a preview of this patient's credit alone, with no money, can be applied.",
                code=Refusal.PREVIEW_ALTERED,
            )
        if preview.plan.credit_used == 0:
            return None
        return self.record(preview, request_id)

    @requires(Permission.PAYMENTS)
    def apply_credit_everywhere(self, request_id: str) -> dict[int, int]:
        """:meth:`apply_credit` for every patient of :meth:`credit_beside_open`, each in its own
        transaction, with the request id ``"<request_id>/<patient id>"``; returns the payment id
        per patient id. Repeating the same ``request_id`` saves nothing new.
        """
        check_request_id(request_id)
        done: dict[int, int] = {}
        with self.store.read() as session:
            earlier = session.execute(
                select(Payment.patient_id, Payment.id).where(
                    Payment.request_id.startswith(request_id + "/", autoescape=True)
                )
            ).all()
        done.update({pid: payment_id for pid, payment_id in earlier})
        for patient_id in self.credit_beside_open():
            if patient_id in done:
                continue
            saved = self.apply_credit(patient_id, f"{request_id}/{patient_id}")
            if saved is not None:
                done[patient_id] = saved
        return done

    @reads_record(Payment)
    def get(self, payment_id: int) -> PaymentRecord:
        """One payment or refund: total, money and credit applied, sources and invoices paid."""
        with self.store.read() as session:
            row = read_models.one(session, Payment, payment_id, "payment")
            return read_models.payment_records(session, [row], stored.currency(session))[0]

    @reads_patient
    def __call__(self, patient_id: int) -> list[PaymentRecord]:
        """The patient's payments and refunds, oldest first."""
        with self.store.read() as session:
            currency = stored.currency(session)
            rows = session.scalars(
                select(Payment)
                .where(Payment.patient_id == patient_id)
                .order_by(Payment.payment_date, Payment.id)
            ).all()
            return read_models.payment_records(session, rows, currency)

    @requires(Permission.REFUNDS)
    def refund(
        self,
        patient_id: int,
        amount: AmountInput,
        *,
        method: str,
        request_id: str,
        refund_date: date | None = None,
        reason: str | None = None,
    ) -> int:
        """Return account credit to the patient by ``method``; returns the refund's id.

        Never more than the available credit. The same ``request_id`` again returns the first
        refund's id and records nothing.
        """
        request_id = check_request_id(request_id)
        day = not_future(refund_date, "refund", field="refund_date")
        reason = optional_text(reason, "reason", MAX_REASON, field="reason")
        if not isinstance(method, str):
            raise BillingError(
                "Choose how the refund is paid (a payment type).",
                code=Refusal.MISSING,
                field="method",
            )

        fingerprint = ""

        def request(currency: str) -> RefundRequest:
            minor = parse_minor(amount, currency, what="the refund")
            return RefundRequest(patient_id, minor, method, refund_date, reason)

        try:
            with self.store.write() as tx:
                currency = tx.currency()
                patient = tx.lock_patient(patient_id, archived_ok=True)
                asked = request(currency)
                fingerprint = asked.fingerprint()
                existing = tx.idempotent(
                    RequestKind.REFUND,
                    request_id,
                    fingerprint,
                    legacy=lambda row: row.total_minor == asked.payment_total,
                    patient_id=merging.kept_id(tx.session, patient),
                )
                if existing is not None:
                    return existing
                tx.refuse_archived(patient)  # a new refund on an archived account
                return corrections.refund(
                    tx,
                    patient,
                    asked.amount,
                    method=method,
                    day=day,
                    request_id=request_id,
                    fingerprint=fingerprint,
                    reason=reason,
                )
        except IntegrityError as error:
            return self.store.replayed(RequestKind.REFUND, request_id, fingerprint, error)
