"""``clinic.corrections``: reversing payments, removing applied amounts, credit notes, transfers.

Each correction locks what it changes (the currency, then the patients in id order), reads the
record again under the lock and hands it to the rules of
:mod:`desktop_app.core.ledger.corrections`, which refuse (naming what used it) a correction that
would take back credit already spent.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..access.staff import Permission
from ..db.models import Application, CreditNote, CreditTransfer, Payment
from ..domain.errors import BillingError, NotFoundError, Refusal
from ..domain.money import AmountInput, parse_minor
from ..domain.records import CreditNoteRecord, TransferRecord
from ..domain.text import optional_text, required_text
from ..ledger import corrections, idempotency, read_models
from ..ledger import settings as stored
from ..ledger.corrections import MAX_REASON
from ..ledger.guard import check_id, is_id, reads_patient, requires
from ..ledger.idempotency import RequestKind
from ..ledger.payer_accounts import refuse_payer
from .base import Manager, check_request_id, not_future


class Corrections(Manager):
    """Corrections to saved money: every one audited, none deleting a record."""

    @requires(Permission.CORRECTIONS)
    def reverse_payment(self, payment_id: int, reason: str | None = None) -> None:
        """Archive a payment or refund: its applications go, the invoices it paid reopen, and the
        credit it created disappears.

        Raises:
            BillingError: already reversed, or the credit it created was already spent (the
                message names what used it: reverse or remove that first).
        """
        reason = optional_text(reason, "reason", MAX_REASON, field="reason")
        with self.store.write() as tx:
            payment = tx.locked_record(Payment, payment_id, "payment")
            patient = tx.lock_patient(payment.patient_id)
            corrections.reverse_payment(tx, patient, payment, reason)

    @requires(Permission.CORRECTIONS)
    def remove_application(self, application_id: int, reason: str) -> None:
        """Take one amount a payment applied off its invoice: the invoice reopens and the amount
        returns to the patient's account credit (the payment itself stays)."""
        reason = required_text(reason, "reason for removing it", MAX_REASON, field="reason")
        with self.store.write() as tx:
            tx.currency()  # the lock order: the currency first, then the patient
            app = tx.session.get(Application, check_id(application_id, "applied amount"))
            if app is None:
                raise NotFoundError(f"There is no applied amount {application_id!r}.")
            payment = tx.session.get_one(Payment, app.payment_id)
            patient = tx.lock_patient(payment.patient_id)
            tx.session.refresh(app)
            corrections.remove_application(tx, patient, app, reason)

    @requires(Permission.CORRECTIONS)
    def issue_credit_note(
        self,
        invoice_id: int,
        amount: AmountInput | None = None,
        *,
        reason: str,
        request_id: str,
        note_date: date | None = None,
        refund_method: str | None = None,
    ) -> int:
        """Credit all (``amount`` None) or part of an invoice; returns the credit note's id.

        What the invoice still owed is reduced first; what the patient had already paid comes back
        as account credit, and with ``refund_method`` that credit is refunded at once (one
        transaction). The same ``request_id`` again returns the first credit note's id.
        """
        if refund_method is not None:  # money goes back to the patient: a refund too
            self.store.require(Permission.REFUNDS)
        request_id = check_request_id(request_id)
        reason = required_text(reason, "reason for the credit note", MAX_REASON, field="reason")
        day = not_future(note_date, "credit note", field="note_date")
        asked = ""
        try:
            with self.store.write() as tx:
                # Archived patients too: the same request sent again finds its credit note.
                invoice = tx.locked_invoice(invoice_id, archived_ok=True)
                currency = tx.currency()
                patient = tx.lock_patient(invoice.patient_id, archived_ok=True)
                minor = None if amount is None else parse_minor(amount, currency, what="the credit")
                asked = idempotency.fingerprint(
                    "credit note",
                    invoice=invoice.id,
                    amount=minor,  # as asked: None ("all that is left") is its own request
                    date=note_date,
                    reason=reason,
                    refund_method=refund_method,
                )

                def same_as_saved(note: CreditNote) -> bool:
                    """A credit note saved before fingerprints: the same invoice, amount and
                    refund (or none)."""
                    refunded = tx.session.scalar(
                        select(Payment.id).where(
                            Payment.request_id == f"credit-note-{note.id}-refund"
                        )
                    )
                    return (
                        note.invoice_id == invoice.id
                        and minor in (None, note.amount_minor)
                        and (refund_method is not None) == (refunded is not None)
                    )

                existing = tx.idempotent(
                    RequestKind.CREDIT_NOTE, request_id, asked, legacy=same_as_saved
                )
                if existing is not None:
                    return existing
                tx.refuse_archived(patient)
                note = corrections.issue_credit_note(
                    tx,
                    patient,
                    invoice,
                    minor,
                    day=day,
                    reason=reason,
                    request_id=request_id,
                    fingerprint=asked,
                )
                if refund_method is not None:
                    if note.to_credit_minor == 0:
                        raise BillingError(
                            "Nothing of this credit note becomes account credit (it only "
                            "reduces what the invoice still owes), so there is nothing to refund.",
                            code=Refusal.NOTHING_TO_SAVE,
                            field="refund_method",
                        )
                    corrections.refund(
                        tx,
                        patient,
                        note.to_credit_minor,
                        method=refund_method,
                        day=day,
                        request_id=f"credit-note-{note.id}-refund",
                        reason=f"Refund of credit note CN-{note.number}: {reason}",
                    )
                return note.id
        except IntegrityError as error:
            return self.store.replayed(RequestKind.CREDIT_NOTE, request_id, asked, error)

    #: The name of the first release (a noun for a write); kept working for scripts.
    credit_note = issue_credit_note

    @requires(Permission.CORRECTIONS)
    def reverse_credit_note(self, credit_note_id: int, reason: str | None = None) -> None:
        """Undo a credit note: the invoice owes that part again and the credit it gave is taken
        back (refused, naming what used it, while that credit is spent)."""
        reason = optional_text(reason, "reason", MAX_REASON, field="reason")
        with self.store.write() as tx:
            note = tx.locked_record(CreditNote, credit_note_id, "credit note")
            patient = tx.lock_patient(note.patient_id)
            corrections.reverse_credit_note(tx, patient, note, reason)

    @reads_patient
    def credit_notes(self, patient_id: int) -> list[CreditNoteRecord]:
        """The patient's credit notes, oldest first."""
        with self.store.read() as session:
            currency = stored.currency(session)
            return read_models.credit_note_records(
                session, CreditNote.patient_id == patient_id, currency
            )

    @requires(Permission.CORRECTIONS)
    def transfer_credit(
        self,
        from_patient_id: int,
        to_patient_id: int,
        amount: AmountInput,
        *,
        reason: str,
        request_id: str,
        transfer_date: date | None = None,
    ) -> int:
        """Move account credit to another patient (a family account); returns the transfer's id.

        Both patients' credit histories show it. The same ``request_id`` again returns the first
        transfer's id.
        """
        request_id = check_request_id(request_id)
        reason = required_text(reason, "reason for the transfer", MAX_REASON, field="reason")
        day = not_future(transfer_date, "transfer", field="transfer_date")
        for pid in (from_patient_id, to_patient_id):
            if not is_id(pid):
                raise NotFoundError(f"There is no patient {pid!r}.")
        if from_patient_id == to_patient_id:
            raise BillingError(
                "Choose another patient to transfer the credit to.",
                code=Refusal.BAD_CHOICE,
                field="to_patient_id",
            )
        asked = ""
        try:
            with self.store.write() as tx:
                # Archived patients too: the same request sent again finds its transfer.
                locked = tx.lock_patients([from_patient_id, to_patient_id], archived_ok=True)
                for pid in (from_patient_id, to_patient_id):
                    refuse_payer(tx.session, pid, "give or receive a credit transfer")
                minor = parse_minor(amount, tx.currency(), what="the transfer")
                asked = idempotency.fingerprint(
                    "transfer",
                    sender=from_patient_id,
                    receiver=to_patient_id,
                    amount=minor,
                    date=transfer_date,
                    reason=reason,
                )
                existing = tx.idempotent(
                    RequestKind.TRANSFER,
                    request_id,
                    asked,
                    legacy=lambda row: (
                        (row.from_patient_id, row.to_patient_id, row.amount_minor)
                        == (from_patient_id, to_patient_id, minor)
                    ),
                )
                if existing is not None:
                    return existing
                tx.refuse_archived(*locked.values())
                return corrections.transfer(
                    tx,
                    locked[from_patient_id],
                    locked[to_patient_id],
                    minor,
                    day=day,
                    reason=reason,
                    request_id=request_id,
                    fingerprint=asked,
                )
        except IntegrityError as error:
            return self.store.replayed(RequestKind.TRANSFER, request_id, asked, error)

    @requires(Permission.CORRECTIONS)
    def reverse_transfer(self, transfer_id: int, reason: str | None = None) -> None:
        """Send transferred credit back (refused, naming what used it, once it is spent)."""
        reason = optional_text(reason, "reason", MAX_REASON, field="reason")
        with self.store.write() as tx:
            tx.currency()
            row = tx.session.get(CreditTransfer, check_id(transfer_id, "credit transfer"))
            if row is None:
                raise NotFoundError(f"There is no credit transfer {transfer_id!r}.")
            locked = tx.lock_patients([row.from_patient_id, row.to_patient_id], archived_ok=True)
            tx.session.refresh(row)
            if row.reversed_at is None:  # reversed already (or cancelled by a merge): said below
                tx.refuse_archived(*locked.values())
            corrections.reverse_transfer(
                tx,
                locked[row.from_patient_id],
                locked[row.to_patient_id],
                row,
                reason,
            )

    @reads_patient
    def transfers(self, patient_id: int) -> list[TransferRecord]:
        """Credit transfers to or from the patient, oldest first."""
        with self.store.read() as session:
            return read_models.transfer_records(session, patient_id, stored.currency(session))
