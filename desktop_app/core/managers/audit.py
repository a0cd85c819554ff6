"""``clinic.audit``: reading the append-only audit log (who changed what, when, before and after).

Windowed: ids first (:meth:`AuditTrail.entry_ids`), then the rows shown
(:meth:`AuditTrail.entries_by_ids`). The log is written only by the transactions that change the
ledger (:meth:`desktop_app.core.ledger.transaction.Transaction.audit`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..access.staff import Permission
from ..ledger import settings as stored
from ..ledger.guard import check_id, requires
from ..reporting import audit_log
from ..reporting.audit_log import AuditFilter, AuditRecord
from .base import Manager


class AuditTrail(Manager):
    """The audit log, for those who may read it."""

    @requires(Permission.AUDIT)
    def entry_ids(self, filt: AuditFilter | None = None, *, newest_first: bool = True) -> list[int]:
        """Ids of the audit entries matching ``filt`` (all by default), newest first.

        For windowed lists: fetch the rows shown with :meth:`entries_by_ids`.
        """
        return self.store.fetch(lambda s: audit_log.audit_entry_ids(s, filt, newest_first))

    @requires(Permission.AUDIT)
    def entries_by_ids(self, entry_ids: Sequence[int]) -> list[AuditRecord]:
        """The audit entries with these ids, in the same order, with summaries in plain words."""
        with self.store.read() as session:
            checked = [check_id(entry_id, "audit entry") for entry_id in entry_ids]
            return audit_log.audit_entries_by_ids(session, checked, stored.currency(session))

    @requires(Permission.AUDIT)
    def count(self, filt: AuditFilter | None = None) -> int:
        """How many audit entries match ``filt`` (all by default)."""
        return self.store.fetch(lambda s: audit_log.audit_count(s, filt))

    @requires(Permission.AUDIT)
    def actions(self) -> list[str]:
        """Every action name in the audit log, alphabetically."""
        return self.store.fetch(audit_log.audit_actions)

    @requires(Permission.AUDIT)
    def actors(self) -> list[str]:
        """Everyone who appears in the audit log, alphabetically."""
        return self.store.fetch(audit_log.audit_actors)
