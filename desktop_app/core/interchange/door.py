"""The door through which import and export reach an open clinic: :class:`LedgerDoor`, exactly
what those modules use of it (who acts, the currency, the permission check, the database engine,
read and write transactions). ``Clinic`` provides it; the interchange modules take a door rather
than the clinic, because the clinic sits above them in the core's layers and imports them.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ..access.staff import Permission
from ..ledger.transaction import Transaction


class LedgerDoor(Protocol):
    """What import and export use of an open clinic (``desktop_app.core.clinic.Clinic``)."""

    @property
    def actor(self) -> str:
        """Who the audit log names for the changes."""
        ...

    @property
    def currency(self) -> str:
        """The clinic's currency (ISO 4217)."""
        ...

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (the CSV export reads through its own snapshot transaction)."""
        ...

    def require(self, permission: Permission) -> None:
        """Refuse (PermissionDenied) unless the signed-in role allows ``permission``."""
        ...

    def reading(self) -> AbstractContextManager[Session]:
        """One read-only transaction: a consistent snapshot."""
        ...

    def writing(self, permission: Permission | None = None) -> AbstractContextManager[Transaction]:
        """One all-or-nothing write transaction; ``permission``, if given, checked again as it
        begins."""
        ...
