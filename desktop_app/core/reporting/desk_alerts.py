"""The desk's alerts about account credit, shown to the practice manager as the app opens.

Two lists of patients (payers' accounts left out):

* **dormant credit**: holding credit with no visit or payment in the last ``dormant_months``
  (the credit liability report's own test, :func:`.liability.is_dormant`);
* **credit beside open invoices**: holding credit while they still owe on open invoices (the
  credit could pay them: ``clinic.payments.credit_beside_open``).

A patient may be on both. Both start from the patients' cached credit through its index
(``ix_patients_credit``), and each holder's last visit and payment are read through the
patient indexes of invoices and payments: the work grows with the patients holding credit, not
with the clinic.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Patient
from ..domain.money import to_decimal
from ..ledger.payer_accounts import not_payer
from .documents import patient_name
from .liability import is_dormant, last_activity, latest_activity

#: Up to this many holders, each one's last visit and payment are read by probing the patient
#: indexes; beyond it, one grouped scan of each index costs less.
PROBE_LIMIT = 20_000


@dataclass(frozen=True, slots=True)
class CreditAlert:
    """A patient holding account credit the desk should look at."""

    patient_id: int
    name: str
    credit: Decimal
    #: What their open invoices still owe.
    owed: Decimal
    last_visit: date | None
    last_payment: date | None
    #: Their email address (None: none kept).
    email: str | None
    #: Their numbers as kept, each with its label: ``(("Mobile", "0400 111 222"), ...)`` (for a
    #: patient without an email address).
    phones: tuple[tuple[str, str], ...]

    @property
    def last_seen(self) -> date | None:
        """The later of the last visit and the last payment (None: neither)."""
        return latest_activity(self.last_visit, self.last_payment)


@dataclass(frozen=True, slots=True)
class DeskAlerts:
    """The patients whose account credit needs a look, on ``as_of``."""

    as_of: date
    dormant_months: int
    #: Credit with no visit or payment for ``dormant_months``, most credit first.
    dormant: tuple[CreditAlert, ...]
    #: Credit held beside open invoices, by name.
    beside_open: tuple[CreditAlert, ...]

    @property
    def empty(self) -> bool:
        """Nothing to look at."""
        return not self.dormant and not self.beside_open

    @property
    def count(self) -> int:
        """How many patients are listed (one on both lists counts once)."""
        return len({row.patient_id for row in (*self.dormant, *self.beside_open)})


def desk_alerts(
    session: Session,
    currency: str,
    as_of: date,
    dormant_months: int,
    beside_open: Collection[int],
) -> DeskAlerts:
    """The desk's credit alerts on ``as_of``; ``beside_open`` are the ids of the patients holding
    credit beside open invoices, by name (``clinic.payments.credit_beside_open``)."""
    holders = {
        row.id: row
        for row in session.execute(
            select(
                Patient.id,
                Patient.first_name,
                Patient.last_name,
                Patient.credit_minor,
                Patient.outstanding_minor,
                Patient.email,
                Patient.mobile,
                Patient.phone,
            ).where(Patient.credit_minor > 0, Patient.archived_at.is_(None), not_payer())
        )
    }
    visits, payments = last_activity(
        session, as_of, holders.keys(), probe=len(holders) <= PROBE_LIMIT
    )

    def alert(pid: int) -> CreditAlert:
        row = holders[pid]
        return CreditAlert(
            patient_id=pid,
            name=patient_name(row.first_name, row.last_name),
            credit=to_decimal(row.credit_minor, currency),
            owed=to_decimal(row.outstanding_minor, currency),
            last_visit=visits.get(pid),
            last_payment=payments.get(pid),
            email=(row.email or "").strip() or None,
            phones=tuple(
                (label, number.strip())
                for label, number in (("Mobile", row.mobile), ("Phone", row.phone))
                if number and number.strip()
            ),
        )

    dormant = [
        alert(pid)
        for pid, row in holders.items()
        if is_dormant(
            row.credit_minor,
            latest_activity(visits.get(pid), payments.get(pid)),
            as_of,
            dormant_months,
        )
    ]
    dormant.sort(key=lambda a: (-a.credit, a.name.lower(), a.patient_id))
    return DeskAlerts(
        as_of=as_of,
        dormant_months=dormant_months,
        dormant=tuple(dormant),
        beside_open=tuple(alert(pid) for pid in beside_open if pid in holders),
    )
