"""The one seam every write goes through: a transaction that knows who acts and locks in order.

``Clinic.writing()`` opens a :class:`Transaction`: one all-or-nothing database transaction (see
``Clinic._write``: a disabled account writes nothing, database trouble becomes a clear
``BillingError``) together with everything a module that writes needs from the clinic, so that
no module reaches into the clinic's private parts:

* ``session``: the SQLAlchemy session of the transaction;
* ``actor``: who the audit log names (the signed-in staff member, or the database's owner);
* :meth:`Transaction.currency`: the clinic's currency, its setting row locked for the rest of
  the transaction (shared by every money movement, exclusive while the currency changes);
* :meth:`Transaction.lock_patients`: patients' account rows, always after the currency and in
  id order, the lock order that keeps two saves from deadlocking.

Request ids are checked inside the transaction by :mod:`.idempotency`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access.staff import StaffMember
from ..db.models import Patient, Setting
from ..domain.errors import NotFoundError


@dataclass
class Transaction:
    """One write transaction of the ledger (made by ``Clinic.writing()``, never by hand)."""

    session: Session
    actor: str
    staff: StaffMember | None
    _currency: str | None = field(default=None, repr=False)
    _exclusive: bool = field(default=False, repr=False)

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

    def lock_patients(self, patient_ids: Iterable[int]) -> dict[int, Patient]:
        """Lock these patients' account rows, after the currency and in id order; returns them
        by id. Raises NotFoundError for a patient that does not exist."""
        self.currency()
        locked: dict[int, Patient] = {}
        for patient_id in sorted(set(patient_ids)):
            patient = self.session.scalars(
                select(Patient).where(Patient.id == patient_id).with_for_update()
            ).one_or_none()
            if patient is None:
                raise NotFoundError(f"There is no patient {patient_id}.")
            locked[patient_id] = patient
        return locked
