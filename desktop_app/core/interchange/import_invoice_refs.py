"""What an invoices file refers to besides patients: catalogue items by code (with their
concession prices) and practitioners by username or full name, read in a few queries for the
whole file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..access.staff import Role
from ..db.models import BillableItem, BillableItemPrice, Patient, Staff
from ..domain.errors import BillingError
from .import_csv import chunks

#: Lookups per query.
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Item:
    """A catalogue item as an imported line takes it."""

    id: int
    code: str
    name: str
    price_minor: int
    tax_rate_bp: int
    archived: bool
    #: Concession prices, by concession in ``casefold`` form.
    prices: dict[str, int] = field(default_factory=dict)

    def price_for(self, concession: str | None) -> int:
        """The price for a patient of ``concession`` (the item's price without one)."""
        if concession:
            return self.prices.get(concession.strip().casefold(), self.price_minor)
        return self.price_minor


def items_by_code(session: Session, codes: Iterable[str]) -> dict[str, Item]:
    """The catalogue items with these codes (archived ones too), keyed by code in lower case
    (codes are told apart regardless of case)."""
    wanted = sorted({c.lower() for c in codes})
    found: dict[str, Item] = {}
    for part in chunks(wanted, _CHUNK):
        for row in session.scalars(
            select(BillableItem).where(func.lower(BillableItem.code).in_(part))
        ):
            found[row.code.lower()] = Item(
                row.id,
                row.code,
                row.name,
                row.price_minor,
                row.tax_rate_bp,
                row.archived_at is not None,
            )
    ids = {item.id: item for item in found.values()}
    for id_part in chunks(sorted(ids), _CHUNK):
        for price in session.scalars(
            select(BillableItemPrice).where(BillableItemPrice.item_id.in_(id_part))
        ):
            ids[price.item_id].prices[price.concession.strip().casefold()] = price.price_minor
    return found


def concessions(session: Session, patient_ids: Iterable[int]) -> dict[int, str | None]:
    """Each patient's concession type (None: none)."""
    found: dict[int, str | None] = {}
    for pid_part in chunks(sorted(set(patient_ids)), _CHUNK):
        for pid, concession in session.execute(
            select(Patient.id, Patient.concession).where(Patient.id.in_(pid_part))
        ):
            found[int(pid)] = concession
    return found


class Practitioners:
    """The clinic's staff, found by username or full name (any case)."""

    def __init__(self, session: Session) -> None:
        self._by_username: dict[str, tuple[int, str, str]] = {}
        self._by_name: dict[str, list[tuple[int, str, str]]] = {}
        for sid, username, full_name, role in session.execute(
            select(Staff.id, Staff.username, Staff.full_name, Staff.role)
        ):
            member = (int(sid), full_name, role)
            self._by_username[username.casefold()] = member
            self._by_name.setdefault(" ".join(full_name.split()).casefold(), []).append(member)

    def find(self, text: str) -> int:
        """The staff id of the practitioner ``text`` names (a former practitioner too: imported
        invoices are history), or BillingError saying why not."""
        key = " ".join(text.split()).casefold()
        member = self._by_username.get(key)
        if member is None:
            named = self._by_name.get(key, [])
            if len(named) > 1:
                raise BillingError(
                    f"{len(named)} staff members are called {text!r}; give the practitioner's "
                    "username instead."
                )
            member = named[0] if named else None
        if member is None:
            raise BillingError(
                f"There is no staff member with the username or name {text!r}; add the "
                "practitioner in Settings > Staff first."
            )
        sid, full_name, role = member
        if role != Role.PRACTITIONER.value:
            raise BillingError(f"{full_name} is not a practitioner (their role is {role}).")
        return sid
