"""The main window's outbox, overdue reminders and credit alerts: the Tools menu's entries, the
background sender, the status bar's "Outbox: 3 waiting · 1 failed", and the alerts at start.

* **Tools > Outbox…** lists every email and its status (:mod:`.dialogs.outbox_dialog`);
  **Tools > Overdue reminders…** approves and sends reminders
  (:mod:`.dialogs.reminders_dialog`); **Tools > Account credit alerts…** shows the practice
  manager's alerts (:mod:`.dialogs.desk_alerts`). Each is a window of its own (non-modal).
* For a role that may email, an :class:`~.outbox_sender.OutboxSender` sends the outbox in the
  background while the clinic is open (every minute, and at once after any email window
  queues a message); the status bar says what waits or failed, and a click opens the Outbox.
* As the clinic opens for a role that sees the reports, the alerts are read in the background
  once the window shows, and their panel opens when it lists anyone (not again the same day once
  "Don't show at start again today" is ticked; never for a receptionist or practitioner).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QPushButton, QWidget

from desktop_app.core import Permission
from desktop_app.ui.background import BackgroundRunner

if TYPE_CHECKING:
    from desktop_app.core import Clinic, DeskAlerts, OutboxTally
    from desktop_app.ui.dialogs.desk_alerts import DeskAlertsDialog
    from desktop_app.ui.dialogs.outbox_dialog import OutboxDialog
    from desktop_app.ui.dialogs.reminders_dialog import RemindersDialog
    from desktop_app.ui.main_window import MainWindow
    from desktop_app.ui.outbox_sender import OutboxSender


class OutboxActions(QObject):
    """Outbox, reminders and credit alerts for one main window."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window

        def action(text: str, slot: Callable[[], object]) -> QAction:
            act = QAction(text, window)
            act.triggered.connect(lambda _checked=False: slot())
            act.setEnabled(False)  # until the clinic is open
            return act

        self.outbox_action = action("O&utbox…", self.open_outbox)
        self.reminders_action = action("Overdue re&minders…", self.open_reminders)
        self.alerts_action = action("Account &credit alerts…", self.open_alerts)
        #: The background sender (None until a clinic opens for a role that may email).
        self.outbox_sender: OutboxSender | None = None
        #: The status bar's outbox summary; a click opens the Outbox window.
        self.status_button = QPushButton()
        self.status_button.setFlat(True)
        self.status_button.setAccessibleName("Outbox")
        self.status_button.setToolTip("Open the outbox")
        self.status_button.setVisible(False)
        self.status_button.clicked.connect(self.open_outbox)
        window.statusBar().addPermanentWidget(self.status_button)
        self.outbox_window: OutboxDialog | None = None
        self.reminders_window: RemindersDialog | None = None
        self.alerts_window: DeskAlertsDialog | None = None
        self._alerts_runner = BackgroundRunner(self)
        self._remove_hook: Callable[[], None] | None = None
        self._alerted: set[str] = set()  # who has seen the alerts at start in this window
        self._settings: QSettings | None = None
        #: Counts the stops: work lined up before the latest stop is dropped.
        self._generation = 0

    @property
    def actions(self) -> list[QAction]:
        """Every entry, in menu order."""
        return [self.outbox_action, self.reminders_action, self.alerts_action]

    def update(self, permissions: frozenset[Permission]) -> None:
        """Enable the entries for what the signed-in role may do."""
        emails = Permission.EMAIL in permissions
        self.outbox_action.setEnabled(emails and Permission.READ_ALL in permissions)
        self.reminders_action.setEnabled(emails)
        self.alerts_action.setEnabled(Permission.REPORTS in permissions)

    # -- the clinic opens and closes ------------------------------------------------------

    def open_clinic(self, clinic: Clinic, settings: QSettings | None, *, alerts: bool) -> None:
        """Start the background sender for ``clinic`` (a role that may email), and with
        ``alerts`` read the credit alerts once the window shows (a role that sees reports)."""
        self.stop()
        self._settings = settings
        self.close_windows()
        permissions = clinic.permissions()
        if Permission.EMAIL in permissions:
            from desktop_app.ui.dialogs.email_dialog import add_after_queue_hook
            from desktop_app.ui.outbox_sender import OutboxSender  # after the first screen

            sender = OutboxSender(clinic, self)
            sender.tallied.connect(self._show_tally)
            self.outbox_sender = sender

            def queued(_outbox_id: int) -> None:
                sender.nudge()

            self._remove_hook = add_after_queue_hook(queued)
            QTimer.singleShot(0, self, sender.nudge)  # what waited while the app was closed
        staff = clinic.staff_member
        who = "" if staff is None else staff.username
        if alerts and Permission.REPORTS in permissions and who not in self._alerted:
            from desktop_app.ui.dialogs.desk_alerts import hidden_today

            self._alerted.add(who)
            if not hidden_today(settings):
                generation = self._generation
                QTimer.singleShot(0, self, lambda: self._read_alerts_at_start(clinic, generation))

    def close_windows(self) -> None:
        """Close the outbox, reminders and alerts windows (the window locks, or another
        clinic opens): they show patients' names and addresses."""
        for window in (self.outbox_window, self.reminders_window, self.alerts_window):
            if window is not None:
                window.close()
        self.outbox_window = self.reminders_window = self.alerts_window = None

    def stop(self) -> None:
        """Stop sending and reading (the window closes, or another clinic opens)."""
        self._generation += 1
        if self._remove_hook is not None:
            self._remove_hook()
            self._remove_hook = None
        if self.outbox_sender is not None:
            self.outbox_sender.stop()
            self.outbox_sender = None
        self._alerts_runner.stop()
        self.status_button.setVisible(False)

    def nudge(self) -> None:
        """Tell the background sender a message was queued."""
        if self.outbox_sender is not None:
            self.outbox_sender.nudge()

    def _show_tally(self, tally: OutboxTally) -> None:
        from desktop_app.ui.outbox_sender import tally_text

        text = tally_text(tally)
        self.status_button.setText(text)
        self.status_button.setVisible(bool(text))

    # -- alerts at start ------------------------------------------------------------------

    def _read_alerts_at_start(self, clinic: Clinic, generation: int) -> None:
        if generation != self._generation or self._window._clinic is not clinic:
            return  # the window closed, or someone else signed in, since
        self._alerts_runner.run(
            lambda job: clinic.desk_alerts(),
            on_done=lambda found: self._alerts_read(clinic, found),
            on_refused=lambda exc: None,  # the role changed meanwhile: nothing to show
            on_failed=lambda exc: None,  # never a dialog from the background at start
        )

    def _alerts_read(self, clinic: Clinic, alerts: DeskAlerts) -> None:
        window = self._window
        if alerts.empty or window._clinic is not clinic or window.is_locked:
            return
        if not window.isVisible():  # closed while they were read
            return
        self.show_alerts(alerts)

    def show_alerts(self, alerts: DeskAlerts | None = None) -> DeskAlertsDialog:
        """Show the credit alerts panel (``alerts`` given, or read in the background)."""
        from desktop_app.ui.dialogs.desk_alerts import DeskAlertsDialog

        if self.alerts_window is not None and self.alerts_window.isVisible():
            if alerts is not None:
                self.alerts_window.set_alerts(alerts)
            else:
                self.alerts_window.reload()
            self.alerts_window.raise_()
            return self.alerts_window
        dialog = DeskAlertsDialog(self._window, alerts, self._settings)
        self.alerts_window = dialog
        dialog.show()
        return dialog

    # -- the windows ----------------------------------------------------------------------

    def _show(self, dialog: QWidget) -> None:
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def open_outbox(self) -> OutboxDialog:
        """Tools > Outbox…"""
        from desktop_app.ui.dialogs.outbox_dialog import OutboxDialog

        window = self._window
        if self.outbox_window is None or not self.outbox_window.isVisible():
            self.outbox_window = OutboxDialog(
                window.clinic, window.formatter, self.outbox_sender, window
            )
        else:
            self.outbox_window.reload()
        self._show(self.outbox_window)
        return self.outbox_window

    def open_reminders(self) -> RemindersDialog:
        """Tools > Overdue reminders…"""
        from desktop_app.ui.dialogs.reminders_dialog import RemindersDialog

        window = self._window
        if self.reminders_window is None or not self.reminders_window.isVisible():
            self.reminders_window = RemindersDialog(
                window.clinic, window.formatter, window, nudge=self.nudge
            )
        self._show(self.reminders_window)
        return self.reminders_window

    def open_alerts(self) -> DeskAlertsDialog:
        """Tools > Account credit alerts…"""
        return self.show_alerts(None)
