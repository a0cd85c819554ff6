"""``clinic.patients``: patients, their figures, their account credit's story, their practitioner.

A patient's credit and outstanding balance are cached on their row (kept in the same transaction
as every money movement, re-checked by ``verify``), so reading them is one indexed row read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from ..access.staff import Permission, Role
from ..db.models import Patient, Setting, Staff
from ..domain.errors import BillingError, NotFoundError, Refusal
from ..domain.kinds import AuditAction, AuditEntity
from ..domain.limits import MAX_NAME
from ..domain.money import format_amount, to_decimal
from ..domain.patient_details import (
    DETAILS,
    LABELS,
    clean_detail,
    clean_details,
    patient_search_key,
)
from ..domain.records import CreditLot, CreditMovement, MergePreview, PatientRecord
from ..domain.text import optional_text, required_line
from ..ledger import audit, credit_trace, read_models
from ..ledger import merge as merging
from ..ledger import settings as stored
from ..ledger.corrections import MAX_REASON
from ..ledger.guard import check_id, reads_patient, requires
from ..ledger.payer_accounts import not_payer, refuse_payer
from .base import Manager
from .staff import staff_row

#: One patient's row, its details and the clinic's currency, in one statement.
_PATIENT_COLUMNS = (
    Patient.id,
    Patient.first_name,
    Patient.last_name,
    Patient.credit_minor,
    Patient.outstanding_minor,
    *(getattr(Patient, name) for name in DETAILS),
    Patient.archived_at,
    Patient.archive_reason,
    Patient.merged_into,
)
_PATIENT_WITH_CURRENCY = select(
    *_PATIENT_COLUMNS,
    select(Setting.value).where(Setting.key == "currency").scalar_subquery(),
).where(Patient.id == bindparam("pid"))


def patient_record(row: Sequence[Any], currency: str) -> PatientRecord:
    """A row of :data:`_PATIENT_COLUMNS` as the record the API hands out (a raw driver row
    holds SQLite's dates as text)."""
    pid, first, last, credit, outstanding, *rest = row
    details = dict(zip(DETAILS, rest[: len(DETAILS)], strict=True))
    birth = details["date_of_birth"]
    if isinstance(birth, str):
        details["date_of_birth"] = date.fromisoformat(birth[:10])
    archived_at, reason, merged_into = rest[len(DETAILS) :]
    return PatientRecord(
        pid,
        first,
        last,
        to_decimal(credit, currency),
        to_decimal(outstanding, currency),
        **details,
        archived=archived_at is not None,
        archive_reason=reason,
        merged_into=merged_into,
    )


def search_key_of(patient: Patient) -> str:
    """The search key of the patient's row as it stands."""
    return patient_search_key(
        patient.first_name,
        patient.last_name,
        preferred_name=patient.preferred_name,
        email=patient.email,
        mobile=patient.mobile,
        phone=patient.phone,
        date_of_birth=patient.date_of_birth,
    )


def _audited(values: dict[str, Any]) -> dict[str, Any]:
    """Values as the audit log keeps them (a date as ISO text)."""
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


def refuse_balance(patient: Patient, currency: str) -> None:
    """Refuse (``has_balance``) archiving a patient who holds credit or owes money, naming
    what to do first."""
    name = f"{patient.first_name} {patient.last_name}"
    if patient.credit_minor:
        raise BillingError(
            f"{name} holds {format_amount(patient.credit_minor, currency)} of account credit. "
            "Refund it or transfer it to another patient before archiving.",
            code=Refusal.HAS_BALANCE,
        )
    if patient.outstanding_minor:
        raise BillingError(
            f"{name} owes {format_amount(patient.outstanding_minor, currency)} on open "
            "invoices. Settle or void them before archiving.",
            code=Refusal.HAS_BALANCE,
        )


def _row_record(row: Patient, currency: str) -> PatientRecord:
    return patient_record([getattr(row, c.key) for c in _PATIENT_COLUMNS], currency)


def _merge_preview(
    plan: merging.MergePlan, keep: Patient, merge: Patient, currency: str
) -> MergePreview:
    return MergePreview(
        keep=_row_record(keep, currency),
        merge=_row_record(merge, currency),
        invoice_numbers=plan.invoice_numbers,
        payment_ids=plan.payment_ids,
        refund_ids=plan.refund_ids,
        credit_note_numbers=plan.credit_note_numbers,
        transfer_ids=plan.transfer_ids,
        cancelled_transfer_ids=plan.cancelled_transfer_ids,
        filled=dict(plan.filled),
        credit=to_decimal(plan.credit_minor, currency),
        outstanding=to_decimal(plan.outstanding_minor, currency),
    )


def clean_name(value: object, what: str) -> str:
    """A patient's first or last name (``what``): one line of 1 to :data:`MAX_NAME` characters."""
    return required_line(value, f"patient's {what}", MAX_NAME, field=what.replace(" ", "_"))


class Patients(Manager):
    """The clinic's patients."""

    @reads_patient
    def practitioner(self, patient_id: int) -> str | None:
        """The sign-in name of the patient's practitioner (None: no one)."""
        with self.store.read() as session:
            return session.scalar(
                select(Staff.username)
                .join(Patient, Patient.practitioner_id == Staff.id)
                .where(Patient.id == patient_id)
            )

    @requires(Permission.PATIENTS)
    def assign_practitioner(self, patient_id: int, username: str | None) -> None:
        """Make ``username`` (a practitioner) the patient's practitioner; None clears it."""
        with self.store.write() as tx:
            patient = tx.lock_patient(patient_id)
            refuse_payer(tx.session, patient.id, "have a practitioner")
            staff_id = None
            if username is not None:
                row = staff_row(tx.session, username)
                if row.role != Role.PRACTITIONER.value:
                    raise BillingError(
                        f"{row.full_name} is not a practitioner.",
                        code=Refusal.BAD_CHOICE,
                        field="practitioner",
                    )
                staff_id = row.id
            if patient.practitioner_id != staff_id:
                tx.audit(
                    action=AuditAction.ASSIGN_PRACTITIONER,
                    entity=AuditEntity.PATIENT,
                    entity_id=patient.id,
                    before={"practitioner_id": patient.practitioner_id},
                    after={"practitioner_id": staff_id},
                )
                patient.practitioner_id = staff_id

    @requires(Permission.PATIENTS)
    def add(self, /, first_name: str, last_name: str, **details: object) -> int:
        """Add a patient with no credit; returns their id.

        ``details`` are any of ``domain.patient_details.DETAILS`` (title, preferred_name,
        date_of_birth, mobile, phone, email, address, city, region, postcode, country, notes,
        concession, invoice_to, invoice_extra); an unknown name or a value its rules refuse is
        refused with the field it is about, and nothing is saved.
        """
        first = clean_name(first_name, "first name")
        last = clean_name(last_name, "last name")
        cleaned = {k: v for k, v in clean_details(details, date.today()).items() if v is not None}
        with self.store.write() as tx:
            patient = Patient(
                first_name=first,
                last_name=last,
                created_at=audit.moment(tx.session),
                credit_minor=0,
                outstanding_minor=0,
                **cleaned,
            )
            patient.search_key = search_key_of(patient)
            tx.session.add(patient)
            tx.session.flush()
            tx.audit(
                action=AuditAction.ADD_PATIENT,
                entity=AuditEntity.PATIENT,
                entity_id=patient.id,
                after={"first_name": first, "last_name": last, **_audited(cleaned)},
            )
            return patient.id

    @requires(Permission.PATIENTS)
    def update(self, /, patient_id: int, **changes: object) -> None:
        """Change the patient's names or details: only the given fields change, None (or empty
        text) clears a detail. Each change is audited with its value before and after; a change
        to nothing is not saved. The names cannot be cleared."""
        cleaned: dict[str, Any] = {}
        for name, value in changes.items():
            if name in ("first_name", "last_name"):
                cleaned[name] = clean_name(value, LABELS[name])
            else:
                cleaned[name] = clean_detail(name, value, date.today())
        with self.store.write() as tx:
            patient = tx.lock_patient(patient_id, archived_ok=True)
            if patient.merged_into is not None:  # archived, fine; merged: the kept one's details
                tx.refuse_archived(patient)
            before = {k: getattr(patient, k) for k in cleaned if getattr(patient, k) != cleaned[k]}
            if not before:
                return
            after = {k: cleaned[k] for k in before}
            for name, value in after.items():
                setattr(patient, name, value)
            patient.search_key = search_key_of(patient)
            tx.audit(
                action=AuditAction.UPDATE_PATIENT,
                entity=AuditEntity.PATIENT,
                entity_id=patient.id,
                before=_audited(before),
                after=_audited(after),
            )

    @requires(Permission.PATIENTS)
    def archive(self, patient_id: int, reason: str = "") -> None:
        """Archive the patient: out of the lists and searches (``include_archived`` brings them
        back), no new invoice or payment; their history stays. Refused while they hold credit
        or owe money (the message says what to do first), so no balance is ever hidden."""
        why = optional_text(reason, "reason for archiving", MAX_REASON, field="reason")
        with self.store.write() as tx:
            patient = tx.lock_patient(patient_id, archived_ok=True)
            refuse_payer(tx.session, patient.id, "be archived here")
            if patient.archived_at is not None:
                raise BillingError(
                    f"{patient.first_name} {patient.last_name} is already archived.",
                    code=Refusal.ALREADY_DONE,
                )
            refuse_balance(patient, stored.currency(tx.session))
            patient.archived_at = audit.moment(tx.session)
            patient.archive_reason = why
            tx.audit(
                action=AuditAction.ARCHIVE_PATIENT,
                entity=AuditEntity.PATIENT,
                entity_id=patient.id,
                after={"reason": why},
            )

    @requires(Permission.PATIENTS)
    def restore(self, patient_id: int) -> None:
        """Bring an archived patient back to the lists. A patient merged into another stays
        archived (their records are the other patient's now)."""
        with self.store.write() as tx:
            patient = tx.lock_patient(patient_id, archived_ok=True)
            refuse_payer(tx.session, patient.id, "be restored here")
            name = f"{patient.first_name} {patient.last_name}"
            if patient.merged_into is not None:
                raise BillingError(
                    f"{name} was merged into patient {patient.merged_into} and cannot be "
                    "restored; their records are there.",
                    code=Refusal.ARCHIVED,
                )
            if patient.archived_at is None:
                raise BillingError(f"{name} is not archived.", code=Refusal.ALREADY_DONE)
            tx.audit(
                action=AuditAction.RESTORE_PATIENT,
                entity=AuditEntity.PATIENT,
                entity_id=patient.id,
                before={"reason": patient.archive_reason},
            )
            patient.archived_at = None
            patient.archive_reason = None

    def preview_merge(self, keep_id: int, merge_id: int) -> MergePreview:
        """What merging patient ``merge_id`` into ``keep_id`` will move, and the kept patient's
        credit and outstanding balance after it (nothing is saved)."""
        self._check_merge(keep_id, merge_id)
        with self.store.read() as session:
            keep, merge = self._pair(session, keep_id, merge_id)
            return _merge_preview(
                merging.merge_plan(session, keep, merge), keep, merge, stored.currency(session)
            )

    @requires(Permission.MERGE)
    def merge(
        self,
        keep_id: int,
        merge_id: int,
        *,
        reason: str = "",
        preview: MergePreview | None = None,
    ) -> int:
        """Merge the duplicate patient ``merge_id`` into ``keep_id``; returns ``merge_id``.

        Every invoice, payment, refund, credit note and transfer of the duplicate moves to the
        kept patient in one transaction, their credit and outstanding add up, empty details of
        the kept patient are filled from the duplicate, and the duplicate is archived as merged
        (``merged_into``). Refused: the same patient twice, either patient archived, a role that
        may not merge, and ``preview`` (what the window showed) when the records changed since.
        """
        why = optional_text(reason, "reason for merging", MAX_REASON, field="reason")
        self._check_merge(keep_id, merge_id)
        with self.store.write() as tx:
            locked = tx.lock_patients([keep_id, merge_id], archived_ok=True)
            keep, merge = locked[keep_id], locked[merge_id]
            for pid in (keep_id, merge_id):
                refuse_payer(tx.session, pid, "be merged")
            currency = tx.currency()
            if preview is not None:
                now = _merge_preview(
                    merging.merge_plan(tx.session, keep, merge), keep, merge, currency
                )
                if now != preview:
                    raise BillingError(
                        "These patients' records changed since the merge was previewed; "
                        "look at the preview again before merging.",
                        code=Refusal.CONCURRENT_CHANGE,
                    )
            merging.merge(tx, keep, merge, why)
            keep.search_key = search_key_of(keep)
            return merge_id

    def _check_merge(self, keep_id: object, merge_id: object) -> None:
        keep_id = check_id(keep_id, "patient")
        merge_id = check_id(merge_id, "patient")
        self.store.check_patient_read(lambda: keep_id)
        self.store.check_patient_read(lambda: merge_id)

    def _pair(self, session: Session, keep_id: int, merge_id: int) -> tuple[Patient, Patient]:
        rows = {
            p.id: p
            for p in session.scalars(select(Patient).where(Patient.id.in_([keep_id, merge_id])))
        }
        for pid in (keep_id, merge_id):
            if pid not in rows:
                raise NotFoundError(f"There is no patient {pid}.")
            refuse_payer(session, pid, "be merged")
        return rows[keep_id], rows[merge_id]

    @reads_patient
    def get(self, patient_id: int) -> PatientRecord:
        """One patient with their credit and outstanding balance.

        Both figures are cached on the patient's row (kept in the same transaction as every money
        movement, re-checked by ``verify``), so this is one indexed row read: one statement, on a
        plain connection (no ORM session), whatever the size of the clinic.
        """
        row = self.store.read_one(_PATIENT_WITH_CURRENCY, {"pid": patient_id})
        if row is None:
            raise NotFoundError(f"There is no patient {patient_id}.")
        return patient_record(row[:-1], row[-1])

    @reads_patient
    def credit(self, patient_id: int) -> Decimal:
        """The patient's available account credit."""
        return self.get(patient_id).credit

    def ids(
        self,
        search: str = "",
        *,
        sort: str = "name",
        descending: bool = False,
        include_archived: bool = False,
        limit: int | None = None,
    ) -> list[int]:
        """Ids of the patients matching ``search``, in display order (for windowed lists).

        Args:
            search: words that must each appear in the patient's names, preferred name or
                email, ignoring case, accents, apostrophes, hyphens and other punctuation
                ("obrien" finds O'Brien and O-Brien, "zoe" finds Zoë; "ann smith" finds Smith,
                Mary-Ann); phone digits in any spacing (4 or more digits match anywhere in a
                number); a date of birth as ISO (1985-12-10) or day/month/year (10/12/1985). A
                search of punctuation alone is matched literally.
            include_archived: list archived and merged patients too (left out by default).
            limit: at most this many ids (the first of the order); None for all.
            sort: ``"name"`` (last, first), ``"credit"``, ``"outstanding"`` or ``"note"``
                (those holding credit beside open invoices first, then by name).
            descending: reverse the order.
        """
        keys: dict[str, list[ColumnElement[Any] | InstrumentedAttribute[int]]] = {
            "name": [func.lower(Patient.last_name), func.lower(Patient.first_name)],
            "credit": [Patient.credit_minor],
            "outstanding": [Patient.outstanding_minor],
            # Patients with credit beside open invoices first, then by name.
            "note": [
                case((and_(Patient.credit_minor > 0, Patient.outstanding_minor > 0), 0), else_=1),
                func.lower(Patient.last_name),
                func.lower(Patient.first_name),
            ],
        }
        if sort not in keys:
            raise BillingError(
                f"Patients can be sorted by {', '.join(keys)}, not {sort!r}.",
                code=Refusal.BAD_CHOICE,
            )
        order = [*keys[sort], Patient.id]
        query = select(Patient.id).order_by(*(k.desc() if descending else k for k in order))
        query = query.where(*self.store.own_patients(), not_payer())
        query = query.where(*read_models.name_search(search))
        if not include_archived:
            query = query.where(Patient.archived_at.is_(None))
        if limit is not None:
            if type(limit) is not int or limit < 0:
                raise BillingError(
                    f"The limit must be a whole number of patients, not {limit!r}.",
                    code=Refusal.BAD_CHOICE,
                )
            query = query.limit(limit)
        with self.store.read() as session:
            connection = session.connection()
            few = read_models.few_matches(connection, search)
            if few == []:
                return []
            if few is not None:  # rare words: read those patients, not the whole list
                query = query.where(Patient.id.in_(few))
            # Core rows, not ORM scalars: a third faster for 100,000 ids.
            return [row[0] for row in connection.execute(query)]

    def by_ids(self, patient_ids: Sequence[int]) -> list[PatientRecord]:
        """The patients with these ids, in the same order (ids that do not exist are left out)."""
        patient_ids = [check_id(pid, "patient") for pid in patient_ids]  # read once, checked
        with self.store.read() as session:
            currency = stored.currency(session)
            found = {
                row[0]: row
                for row in session.execute(
                    select(*_PATIENT_COLUMNS).where(
                        Patient.id.in_(patient_ids), *self.store.own_patients()
                    )
                )
            }
            return [
                patient_record(row, currency)
                for pid in patient_ids
                if (row := found.get(pid)) is not None
            ]

    @reads_patient
    def credit_history(self, patient_id: int) -> list[CreditMovement]:
        """Every change to the patient's account credit, oldest first, with the running balance.

        Answers "where did this credit come from?" (payments and overpayments, returns from voided
        invoices and reversals) and "what used it?" (invoices paid from credit, refunds).
        """
        events, currency = self._credit_events(patient_id)
        return _movements(events, currency)

    @reads_patient
    def credit_account(self, patient_id: int) -> tuple[list[CreditMovement], list[CreditLot]]:
        """:meth:`credit_history` and :meth:`credit_sources` together, from one read of the
        records (the patient panel shows both on every selection)."""
        events, currency = self._credit_events(patient_id)
        return _movements(events, currency), _lots(events, currency)

    def _credit_events(self, patient_id: int) -> tuple[list[credit_trace.CreditEvent], str]:
        with self.store.read() as session:
            currency = stored.currency(session)
            if session.get(Patient, patient_id) is None:
                raise NotFoundError(f"There is no patient {patient_id}.")
            return credit_trace.patient_events(session, patient_id, currency), currency

    @reads_patient
    def credit_sources(self, patient_id: int) -> list[CreditLot]:
        """Where the patient's credit came from: one lot per origin (a payment, a credit note, a
        transfer, money returned from an invoice), oldest first, with what used each and what
        remains. Credit is spent oldest first; the remaining amounts add up to the credit."""
        events, currency = self._credit_events(patient_id)
        return _lots(events, currency)


def _movements(events: list[credit_trace.CreditEvent], currency: str) -> list[CreditMovement]:
    """Credit events in saved order, each with the running balance after it."""
    movements: list[CreditMovement] = []
    balance = 0
    for event in sorted(events, key=lambda e: e.sort_key):
        balance += event.change
        movements.append(
            CreditMovement(
                event.day,
                event.description,
                to_decimal(event.change, currency),
                to_decimal(balance, currency),
                event.payment_id,
            )
        )
    return movements


def _lots(events: list[credit_trace.CreditEvent], currency: str) -> list[CreditLot]:
    """Where the credit came from, traced from the same events."""
    return [read_models.credit_lot_record(lot, currency) for lot in credit_trace.trace(events)]
