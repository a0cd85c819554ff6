"""The one seam every write goes through: a transaction that knows who acts and locks in order.

:meth:`Store.write() <desktop_app.core.ledger.store.Store.write>` (``clinic.writing()`` for the
core's own modules) opens a :class:`Transaction`: one all-or-nothing database transaction (a
disabled account writes nothing, database trouble becomes a clear ``BillingError``) together with
everything a module that writes needs, so that no module reaches into the clinic's private parts:

* ``session``: the SQLAlchemy session of the transaction;
* ``actor``: who the audit log names (the signed-in staff member, or the database's owner), and
  :meth:`Transaction.audit` to write an entry in their name;
* :meth:`Transaction.currency`: the clinic's currency, its setting row locked for the rest of
  the transaction (shared by every money movement, exclusive while the currency changes);
* :meth:`Transaction.lock_patients` and :meth:`Transaction.lock_patient`: patients' account rows,
  always after the currency and in id order, the lock order that keeps two saves from
  deadlocking (:func:`lock_patient_rows` for an import's thousands);
* :meth:`Transaction.idempotent`: whether this save request was already saved (see
  :mod:`.idempotency`): the same request id with the same contents returns the first record,
  with different contents is refused, for every kind of record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Unpack

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access.staff import StaffMember
from ..db.models import Invoice, Patient, Setting
from ..domain.errors import BillingError, NotFoundError, Refusal
from . import audit, idempotency
from .guard import check_id


@dataclass
class Transaction:
    """One write transaction of the ledger (made by ``Store.write()``, never by hand)."""

    session: Session
    actor: str
    staff: StaffMember | None
    _currency: str | None = field(default=None, repr=False)
    _exclusive: bool = field(default=False, repr=False)
    _locked: dict[int, Patient] = field(default_factory=dict, repr=False)

    def currency(self, *, exclusive: bool = False) -> str:
        """The clinic's currency, its setting row locked until the transaction ends: shared by
        money movements, exclusive when changing it (SQLite's write lock serialises both)."""
        if self._currency is None or (exclusive and not self._exclusive):
            self._currency = str(
                self.session.scalars(
                    select(Setting.value)
                    .where(Setting.key == "currency")
                    .with_for_update(read=not exclusive)
                ).one()
            )
            self._exclusive = self._exclusive or exclusive
        return self._currency

    def lock_patients(
        self, patient_ids: Iterable[int], *, archived_ok: bool = False
    ) -> dict[int, Patient]:
        """Lock these patients' account rows, after the currency and in id order; returns them
        by id. Raises NotFoundError for a patient that does not exist. A row this transaction has
        already locked is not asked for again (the lock lasts until the transaction ends).

        An archived (or merged) patient is refused (``archived``) unless ``archived_ok``: no
        money moves on an account out of the lists, where a balance would be hidden. Only the
        patient's own details, archiving and restoring take archived patients."""
        self.currency()
        locked: dict[int, Patient] = {}
        for patient_id in sorted({check_id(pid, "patient") for pid in patient_ids}):
            patient = self._locked.get(patient_id)
            if patient is None:
                patient = self.session.scalars(
                    select(Patient).where(Patient.id == patient_id).with_for_update()
                ).one_or_none()
                if patient is None:
                    raise NotFoundError(f"There is no patient {patient_id}.")
                self._locked[patient_id] = patient
            if patient.archived_at is not None and not archived_ok:
                raise archived_refusal(patient)
            locked[patient_id] = patient
        return locked

    def lock_patient(self, patient_id: int, *, archived_ok: bool = False) -> Patient:
        """Lock one patient's account row (after the currency); NotFoundError if there is none,
        ``archived`` for an archived patient unless ``archived_ok``."""
        return self.lock_patients([patient_id], archived_ok=archived_ok)[patient_id]

    def refuse_archived(self, *patients: Patient) -> None:
        """Refuse (``archived``) a new save on an archived patient's account: for saves that
        lock with ``archived_ok`` so that the same request sent again still finds its record."""
        for patient in patients:
            if patient.archived_at is not None:
                raise archived_refusal(patient)

    def locked_record(
        self, model: Any, record_id: object, what: str, *, archived_ok: bool = False
    ) -> Any:
        """A patient's record (an invoice, payment, credit note, ...), read again after locking
        the currency and its patient: what a correction changes is what it checked."""
        self.currency()
        row = self.session.get(model, check_id(record_id, what))
        if row is None:
            raise NotFoundError(f"There is no {what} {record_id!r}.")
        self.lock_patient(row.patient_id, archived_ok=archived_ok)
        self.session.refresh(row)
        return row

    def locked_invoice(self, invoice_id: object, *, archived_ok: bool = False) -> Invoice:
        """The invoice, after locking the currency and its patient (re-read under the lock)."""
        invoice: Invoice = self.locked_record(
            Invoice, invoice_id, "invoice", archived_ok=archived_ok
        )
        return invoice

    def audit(self, **entry: Unpack[audit.Entry]) -> None:
        """Write one audit entry in this transaction, in the acting staff member's name
        (``action``, ``entity``, ``entity_id``, and ``before``/``after`` where there are any)."""
        audit.record(self.session, actor=self.actor, **entry)

    def idempotent(
        self,
        kind: idempotency.RequestKind,
        request_id: str,
        fingerprint: str,
        *,
        legacy: Callable[[Any], bool] | None = None,
        patient_id: int | None = None,
    ) -> int | None:
        """The id of the record already saved for this very request, or None to save it now.

        Refused (``request_reused``) when ``request_id`` names a record of another kind or a
        different request. ``legacy`` compares a record saved before fingerprints existed;
        ``patient_id`` names a payment of another patient as such.
        """
        return idempotency.saved_record(
            self.session, kind, request_id, fingerprint, legacy=legacy, patient_id=patient_id
        )


def archived_refusal(patient: Patient) -> BillingError:
    """The refusal of money moving on an archived or merged patient's account."""
    return archived_error(f"{patient.first_name} {patient.last_name}", patient.merged_into)


def archived_error(name: str, merged_into: int | None) -> BillingError:
    """The refusal of money moving on the account of archived patient ``name`` (merged into
    patient ``merged_into``, if so)."""
    if merged_into is not None:
        return BillingError(
            f"{name} was merged into patient {merged_into}; their records are there now.",
            code=Refusal.ARCHIVED,
            field="patient",
        )
    return BillingError(
        f"{name} is archived; restore the patient first.", code=Refusal.ARCHIVED, field="patient"
    )


#: Patients locked per statement by :func:`lock_patient_rows` (under SQLite's 999 parameters).
LOCK_CHUNK = 900


def lock_patient_rows(session: Session, patient_ids: Iterable[int]) -> None:
    """Lock many patients' rows in id order without loading them (an import's thousands): the
    ledger's lock order, as :meth:`Transaction.lock_patients` takes it (the caller holds the
    currency first), one statement per :data:`LOCK_CHUNK` patients, and none on SQLite, whose
    write lock the transaction already holds. One ORM query per patient made a 50,000-row
    import 4-5 times slower."""
    if session.get_bind().dialect.name == "sqlite":
        return
    ordered = sorted(set(patient_ids))
    for start in range(0, len(ordered), LOCK_CHUNK):
        part = ordered[start : start + LOCK_CHUNK]
        session.execute(
            select(Patient.id).where(Patient.id.in_(part)).order_by(Patient.id).with_for_update()
        ).all()
