"""Tools > Xero: which Xero organisation the clinic is connected to, Connect, Disconnect,
Sync now (on a worker thread) and the sync log.

Connect opens Xero's sign-in in the system browser and waits for Xero's answer on this computer
(``clinic.connect_xero``). The wait runs on a worker thread, so the window stays responsive and
says what it is waiting for; when the sign-in allows several organisations the window asks which
is the clinic's (the worker waits for the answer). Only a role that may change the settings
connects or disconnects; everyone sees which organisation it is.
"""

from __future__ import annotations

import threading
import webbrowser
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BillingError, Permission, SyncReport, XeroError, XeroOrganisation
from desktop_app.ui.dialogs.xero_mapping import XeroMappingDialog
from desktop_app.ui.style import DONE_TONE, PROBLEM_TONE, set_tone

if TYPE_CHECKING:
    from desktop_app.core import Clinic

EXPLANATION = (
    "Connect the clinic to its Xero organisation. Xero's sign-in opens in your browser; Xero's "
    "permission is kept in this computer's keychain, never in the clinic's database. Sync now "
    "sends every invoice, payment, credit note and use of account credit that Xero does not "
    "hold yet, then reads Xero back and lists anything that differs."
)


class _Relay(QObject):
    """Signals from the worker thread to the window (delivered on the window's thread)."""

    finished = Signal(object)  # the organisation, or the BillingError that refused
    synced = Signal(object)  # the sync's report, or the error that stopped it
    ask = Signal(object)  # the organisations to choose from


class XeroDialog(QDialog):
    """The clinic's Xero connection. ``open_browser`` opens Xero's sign-in page (the system
    browser by default); ``setup`` is passed to the core (the environment's by default)."""

    def __init__(
        self,
        clinic: Clinic,
        parent: QWidget | None = None,
        *,
        open_browser: Callable[[str], object] = webbrowser.open,
        setup: Any = None,
        choose: Callable[[Sequence[XeroOrganisation]], XeroOrganisation | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Xero")
        self.clinic = clinic
        self._open_browser = open_browser
        self._setup = setup
        self._choose = choose or self._ask_which
        self._relay = _Relay()
        self._relay.finished.connect(self._on_finished)
        self._relay.ask.connect(self._on_ask)
        self._relay.synced.connect(self._on_synced)
        self._answer: XeroOrganisation | None = None
        self._answered = threading.Event()
        self.worker: threading.Thread | None = None

        self.status_label = QLabel()
        heading = self.status_label.font()
        heading.setBold(True)
        self.status_label.setFont(heading)
        explanation = QLabel(EXPLANATION)
        explanation.setWordWrap(True)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.connect_button = QPushButton("&Connect to Xero…")
        self.connect_button.clicked.connect(self.start_connect)
        self.disconnect_button = QPushButton("&Disconnect")
        self.disconnect_button.clicked.connect(self.disconnect_xero)
        self.mapping_button = QPushButton("&Accounts and tax rates…")
        self.mapping_button.clicked.connect(self.choose_mapping)
        self.sync_button = QPushButton("&Sync now")
        self.sync_button.clicked.connect(lambda: self.start_sync())
        buttons = QHBoxLayout()
        buttons.addWidget(self.connect_button)
        buttons.addWidget(self.disconnect_button)
        buttons.addStretch(1)
        buttons.addWidget(self.mapping_button)
        buttons.addWidget(self.sync_button)
        self.every = QSpinBox()
        self.every.setRange(0, 1440)
        self.every.setSingleStep(5)
        self.every.setSuffix(" minutes")
        self.every.setSpecialValueText("only when asked")
        self.every.setAccessibleName("Sync automatically every")
        self.every.setValue(clinic.xero_sync_minutes())
        self.every.editingFinished.connect(self.save_every)
        every_row = QHBoxLayout()
        every_row.addWidget(QLabel("Sync automatically while the app is open, every:"))
        every_row.addWidget(self.every)
        every_row.addStretch(1)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setAccessibleName("Sync log")
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        self.close_button = close.button(QDialogButtonBox.StandardButton.Close)

        layout = QVBoxLayout(self)
        layout.addWidget(self.status_label)
        layout.addWidget(explanation)
        layout.addLayout(buttons)
        layout.addLayout(every_row)
        layout.addWidget(self.message_label)
        layout.addWidget(QLabel("Sync log (newest first):"))
        layout.addWidget(self.log, 1)
        layout.addWidget(close)
        self.resize(640, 460)
        self.refresh()

    # -- state ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Show the connection as the clinic's settings hold it."""
        organisation = self.clinic.xero_organisation()
        self.status_label.setText(
            f"Connected to Xero: {organisation.name}" if organisation else "Not connected to Xero"
        )
        allowed = Permission.SETTINGS in self.clinic.permissions()
        busy = self.worker is not None
        self.connect_button.setEnabled(allowed and not busy)
        self.connect_button.setText(
            "&Connect to another organisation…" if organisation else "&Connect to Xero…"
        )
        self.disconnect_button.setEnabled(allowed and not busy and organisation is not None)
        may_sync = Permission.EXPORTS in self.clinic.permissions()
        self.sync_button.setEnabled(may_sync and not busy)
        self.mapping_button.setEnabled(allowed and may_sync and not busy)
        self.every.setEnabled(allowed)
        self.show_log()
        if not allowed:
            self.message_label.setText("Only a role that may change the settings connects.")
            set_tone(self.message_label, None)

    def _say(self, text: str, tone: str | None) -> None:
        self.message_label.setText(text)
        set_tone(self.message_label, tone)

    # -- connect -------------------------------------------------------------------------

    def start_connect(self) -> None:
        """Open Xero's sign-in and wait for it on a worker thread."""
        self._say(
            "Sign in to Xero in your browser and allow Clinic Ledger; this window waits for "
            "Xero's answer.",
            None,
        )
        kwargs = {} if self._setup is None else {"setup": self._setup}

        def work() -> None:
            try:
                result: object = self.clinic.connect_xero(
                    self._open_browser, self._choose_from_worker, **kwargs
                )
            except BillingError as exc:
                result = exc
            self._relay.finished.emit(result)

        self.worker = threading.Thread(target=work, name="xero-connect", daemon=True)
        self.refresh()
        self.worker.start()

    def _choose_from_worker(self, found: Sequence[XeroOrganisation]) -> XeroOrganisation:
        """On the worker: ask the window which organisation, and wait for the answer."""
        self._answered.clear()
        self._relay.ask.emit(list(found))
        self._answered.wait()
        if self._answer is None:
            raise BillingError("No organisation was chosen; nothing was connected.")
        return self._answer

    def _on_ask(self, found: list[XeroOrganisation]) -> None:
        self._answer = self._choose(found)
        self._answered.set()

    def _ask_which(self, found: Sequence[XeroOrganisation]) -> XeroOrganisation | None:
        names = [organisation.name for organisation in found]
        name, ok = QInputDialog.getItem(
            self, "Xero", "Which organisation is this clinic's?", names, 0, False
        )
        return found[names.index(name)] if ok else None

    def _on_finished(self, result: object) -> None:
        if self.worker is not None:
            self.worker.join()
        self.worker = None
        if isinstance(result, BillingError):
            self._say(str(result), PROBLEM_TONE)
        else:
            assert isinstance(result, XeroOrganisation)
            self._say(f"Connected to {result.name}.", DONE_TONE)
        self.refresh()

    # -- the mapping ---------------------------------------------------------------------

    def choose_mapping(self) -> XeroMappingDialog | None:
        """Read Xero's chart and open the mapping window over it (two quick calls)."""
        try:
            chart, rates = self.clinic.xero_chart(self.clinic.xero_client())
        except (BillingError, XeroError) as exc:
            self._say(f"Xero's chart of accounts could not be read: {exc}", PROBLEM_TONE)
            return None
        dialog = XeroMappingDialog(self.clinic, chart, rates, self)
        dialog.setModal(True)
        dialog.show()
        return dialog

    def save_every(self) -> None:
        """Save how often to sync automatically (0: only when asked)."""
        minutes = self.every.value()
        if minutes == self.clinic.xero_sync_minutes():
            return
        try:
            self.clinic.set_xero_sync_minutes(minutes)
        except BillingError as exc:
            self._say(str(exc), PROBLEM_TONE)
            self.every.setValue(self.clinic.xero_sync_minutes())
            return
        self._say(
            f"Syncs every {minutes} minutes while the app is open."
            if minutes
            else "Syncs only when asked.",
            DONE_TONE,
        )

    # -- sync ----------------------------------------------------------------------------

    def start_sync(self, after_exports: bool = False) -> None:
        """Sync on a worker thread (Xero's limits can make a first sync take minutes)."""
        self._say("Syncing with Xero…", None)

        def work() -> None:
            try:
                result: object = self.clinic.sync_xero(
                    self.clinic.xero_client(), after_exports=after_exports
                )
            except (BillingError, XeroError) as exc:
                result = exc
            self._relay.synced.emit(result)

        self.worker = threading.Thread(target=work, name="xero-sync", daemon=True)
        self.refresh()
        self.worker.start()

    def _on_synced(self, result: object) -> None:
        if self.worker is not None:
            self.worker.join()
        self.worker = None
        if isinstance(result, BillingError) and result.field == "after_exports":
            self.refresh()
            if self._confirm_after_exports(str(result)):
                self.start_sync(after_exports=True)
            else:
                self._say(str(result), PROBLEM_TONE)
            return
        if isinstance(result, Exception):
            self._say(f"The sync stopped: {result}", PROBLEM_TONE)
        else:
            assert isinstance(result, SyncReport)
            done = ", ".join(f"{n} {step}" for step, n in result.steps.items() if n)
            sent = f"Sent {done}." if done else "Nothing new to send."
            if result.tied_out:
                self._say(f"{sent} Xero ties out to the ledger.", DONE_TONE)
            else:
                left = len(result.refused) + len(result.waiting) + len(result.differences)
                self._say(f"{sent} {left} thing(s) differ: see the sync log.", PROBLEM_TONE)
        self.refresh()

    def _confirm_after_exports(self, why: str) -> bool:
        """Ask whether the organisation is free of what the export files carried."""
        answer = QMessageBox.question(
            self,
            "Xero",
            f"{why}\n\nDoes this Xero organisation hold none of what the export files carried?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def show_log(self) -> None:
        """The latest syncs and what each left different."""
        lines = []
        for run in self.clinic.xero_sync_runs():
            when = run.at.astimezone().strftime("%Y-%m-%d %H:%M")
            state = (
                "tied out"
                if not (run.refused or run.differences)
                else (f"{run.refused} refused, {run.differences} to look at")
            )
            lines.append(f"{when}  {run.actor}: {run.sent} sent, {run.calls} calls, {state}")
            lines.extend(f"    {line}" for line in run.summary.splitlines())
        self.log.setPlainText("\n".join(lines) or "No sync yet.")

    # -- disconnect ----------------------------------------------------------------------

    def disconnect_xero(self) -> None:
        """Revoke the connection and forget it (the core refuses what it must)."""
        kwargs = {} if self._setup is None else {"setup": self._setup}
        try:
            gone = self.clinic.disconnect_xero(**kwargs)
        except BillingError as exc:
            self._say(str(exc), PROBLEM_TONE)
        else:
            self._say(
                f"Disconnected from {gone.name}; Xero's permission is revoked."
                if gone.revoked
                else f"Disconnected from {gone.name}. This computer did not hold its sign-in: "
                "remove Clinic Ledger from Xero's connected apps to revoke it.",
                DONE_TONE,
            )
        self.refresh()

    def reject(self) -> None:
        """Close, unless a sign-in is still being waited for (it ends by itself in minutes)."""
        if self.worker is not None:
            self._say("Still waiting for Xero (the sign-in, or a sync); it ends by itself.", None)
            return
        super().reject()
