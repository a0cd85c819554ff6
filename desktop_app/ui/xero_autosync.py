"""Syncing to Xero every N minutes while the app is open (the clinic's setting, Tools > Xero…).

A timer looks once a minute: when the clinic syncs automatically, is connected (or scripts give
an access token), the signed-in role may sync, no sync is running, and the last sync is at least
N minutes old, it syncs on a worker thread and says the outcome in the status bar. The core
refuses a sync while another computer's runs; that refusal is said and tried again later.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from desktop_app.core import BillingError, Permission, SyncReport, XeroError

if TYPE_CHECKING:
    from desktop_app.core import Clinic

#: How often the timer looks (milliseconds).
TICK_MS = 60_000


class XeroAutoSync(QObject):
    """Automatic syncs for one main window; ``say`` shows a line in its status bar."""

    finished = Signal(object)  # the report, or the error that stopped the sync

    def __init__(self, clinic: Clinic, say: Callable[[str], None], parent: QObject) -> None:
        super().__init__(parent)
        self.clinic = clinic
        self.say = say
        self.worker: threading.Thread | None = None
        self.finished.connect(self._on_finished)
        self.timer = QTimer(self, interval=TICK_MS)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def due(self) -> bool:
        """Whether an automatic sync should start now."""
        minutes = self.clinic.xero_sync_minutes()
        if not minutes or self.worker is not None:
            return False
        if Permission.EXPORTS not in self.clinic.permissions():
            return False
        scripted = os.environ.get("CLINIC_XERO_ACCESS_TOKEN") and os.environ.get(
            "CLINIC_XERO_TENANT_ID"
        )
        if not scripted and self.clinic.xero_organisation() is None:
            return False
        last = self.clinic.xero_sync_runs(limit=1)
        return not last or datetime.now(UTC) - last[0].at >= timedelta(minutes=minutes)

    def tick(self) -> bool:
        """Start a sync if one is due; True when it started."""
        if not self.due():
            return False

        def work() -> None:
            try:
                result: object = self.clinic.sync_xero(self.clinic.xero_client())
            except (BillingError, XeroError) as exc:
                result = exc
            self.finished.emit(result)

        self.worker = threading.Thread(target=work, name="xero-auto-sync", daemon=True)
        self.worker.start()
        return True

    def _on_finished(self, result: object) -> None:
        if self.worker is not None:
            self.worker.join()
        self.worker = None
        if isinstance(result, SyncReport):
            left = len(result.refused) + len(result.waiting) + len(result.differences)
            self.say(
                f"Xero: synced ({result.sent} sent), tied out."
                if result.tied_out
                else f"Xero: synced ({result.sent} sent); {left} to look at in Tools > Xero…"
            )
        else:
            self.say(f"Xero: the automatic sync stopped: {result}")

    def stop(self) -> None:
        """Stop looking (the window closes); a sync under way finishes on its own."""
        self.timer.stop()
