"""``clinic.patients``: patients, their figures, their account credit's story, their practitioner.

A patient's credit and outstanding balance are cached on their row (kept in the same transaction
as every money movement, re-checked by ``verify``), so reading them is one indexed row read.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, case, func, select
from sqlalchemy.orm import InstrumentedAttribute

from ..access.staff import Permission, Role
from ..db.models import Patient, Setting, Staff
from ..domain.errors import BillingError, NotFoundError, Refusal
from ..domain.kinds import AuditAction, AuditEntity
from ..domain.limits import MAX_NAME
from ..domain.money import to_decimal
from ..domain.records import CreditLot, CreditMovement, PatientRecord
from ..domain.text import required_line
from ..ledger import audit, credit_trace, read_models
from ..ledger import settings as stored
from ..ledger.guard import check_id, reads_patient, requires
from .base import Manager
from .staff import staff_row

#: One patient's cached figures and the clinic's currency, in one statement.
_PATIENT_WITH_CURRENCY = select(
    Patient.id,
    Patient.first_name,
    Patient.last_name,
    Patient.credit_minor,
    Patient.outstanding_minor,
    select(Setting.value).where(Setting.key == "currency").scalar_subquery(),
).where(Patient.id == bindparam("pid"))


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
    def add(self, first_name: str, last_name: str) -> int:
        """Add a patient with no credit; returns their id."""
        first = clean_name(first_name, "first name")
        last = clean_name(last_name, "last name")
        with self.store.write() as tx:
            patient = Patient(
                first_name=first,
                last_name=last,
                created_at=audit.moment(tx.session),
                credit_minor=0,
                outstanding_minor=0,
            )
            tx.session.add(patient)
            tx.session.flush()
            tx.audit(
                action=AuditAction.ADD_PATIENT,
                entity=AuditEntity.PATIENT,
                entity_id=patient.id,
                after={"first_name": first, "last_name": last},
            )
            return patient.id

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
        pid, first, last, credit, outstanding, currency = row
        return PatientRecord(
            pid, first, last, to_decimal(credit, currency), to_decimal(outstanding, currency)
        )

    @reads_patient
    def credit(self, patient_id: int) -> Decimal:
        """The patient's available account credit."""
        return self.get(patient_id).credit

    def ids(self, search: str = "", *, sort: str = "name", descending: bool = False) -> list[int]:
        """Ids of the patients matching ``search``, in display order (for windowed lists).

        Args:
            search: words that must each appear in the patient's names, ignoring case, accents,
                apostrophes, hyphens and other punctuation ("obrien" finds O'Brien and O-Brien,
                "zoe" finds Zoë; "ann smith" finds Smith, Mary-Ann); a search of punctuation alone
                is matched literally.
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
        query = query.where(*self.store.own_patients())
        query = query.where(*read_models.name_search(search))
        with self.store.read() as session:
            # Core rows, not ORM scalars: a third faster for 100,000 ids.
            return [row[0] for row in session.connection().execute(query)]

    def by_ids(self, patient_ids: Sequence[int]) -> list[PatientRecord]:
        """The patients with these ids, in the same order (ids that do not exist are left out)."""
        patient_ids = [check_id(pid, "patient") for pid in patient_ids]  # read once, checked
        with self.store.read() as session:
            currency = stored.currency(session)
            found = {
                row.id: row
                for row in session.scalars(
                    select(Patient).where(Patient.id.in_(patient_ids), *self.store.own_patients())
                )
            }
            return [
                PatientRecord(
                    row.id,
                    row.first_name,
                    row.last_name,
                    to_decimal(row.credit_minor, currency),
                    to_decimal(row.outstanding_minor, currency),
                )
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
