"""The practice manager's alerts about account credit ("Account credit to look at").

Shown as the app opens, for a role that sees the reports (bookkeeper, administrator), when
``clinic.desk_alerts()`` lists anyone, and from Tools > Account credit alerts…. Two lists:
credit held beside open invoices (the credit could pay them), and dormant credit (no visit or
payment for the clinic's months). For the selected patient of either list:

* **Apply credit…** (beside open invoices): the main window's own Apply credit to open
  invoices, for that patient;
* **Refund…**: the main window's refund window for that patient;
* **Contact…**: an email about their credit (the email window, nothing attached) or, when no
  address is kept, their phone numbers.

Double-clicking a patient shows them in the main window. The panel never blocks the desk: it is
a window of its own, and "Don't show at start again today" keeps it closed until tomorrow.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import CreditAlert, DeskAlerts, Permission
from desktop_app.ui.background import BackgroundRunner
from desktop_app.ui.models.records import Column, RecordTableModel
from desktop_app.ui.style import HINT_TONE, set_tone
from desktop_app.ui.widgets.record_table import record_table

if TYPE_CHECKING:
    from desktop_app.ui.formatting import Formatter
    from desktop_app.ui.main_window import MainWindow

#: The QSettings key holding the day the panel was hidden at start ("2026-12-04").
HIDDEN_ON = "desk_alerts/hidden_on"


def hidden_today(settings: QSettings | None, today: date | None = None) -> bool:
    """Whether someone chose "Don't show at start again today" today."""
    if settings is None:
        return False
    day = (today or date.today()).isoformat()
    return str(settings.value(HIDDEN_ON, "")) == day


def contact_text(row: CreditAlert) -> str:
    """How to reach a patient: their address, else their numbers."""
    if row.email:
        return row.email
    return ", ".join(f"{label} {number}" for label, number in row.phones) or "no contact kept"


class _Section(QWidget):
    """One list of patients and the buttons acting on the selected one."""

    def __init__(
        self,
        title: str,
        explanation: str,
        formatter: Formatter,
        actions: Sequence[tuple[str, str, Callable[[CreditAlert], object]]],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel(f"<b>{title}</b>")
        layout.addWidget(self.title)
        #: What the list means.
        self.hint = QLabel(explanation)
        self.hint.setWordWrap(True)
        set_tone(self.hint, HINT_TONE)
        layout.addWidget(self.hint)
        self.model = RecordTableModel(
            [
                Column("Patient", lambda r: r.name),
                Column("Credit", lambda r: formatter.money(r.credit), money=True),
                Column("Owed", lambda r: formatter.money(r.owed), money=True),
                Column("Last visit", lambda r: formatter.day(r.last_visit) or "Never"),
                Column("Last payment", lambda r: formatter.day(r.last_payment) or "Never"),
                Column("Email or phone", contact_text),
            ],
            self,
        )
        self.view = record_table(self.model, title, (180, 90, 90, 105, 110))
        layout.addWidget(self.view, 1)
        row = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, text, act in actions:
            button = QPushButton(text)
            button.setAutoDefault(False)
            button.clicked.connect(lambda _c=False, act=act: self._act(act))
            row.addWidget(button)
            self.buttons[key] = button
        row.addStretch(1)
        layout.addLayout(row)
        self.view.selectionModel().selectionChanged.connect(self._update)
        self._update()

    def set_rows(self, rows: Sequence[CreditAlert]) -> None:
        """List ``rows`` (the first selected)."""
        self.model.set_records(rows)
        if rows:
            self.view.selectRow(0)
        self._update()

    def selected(self) -> CreditAlert | None:
        """The selected patient."""
        rows = self.view.selectionModel().selectedRows()
        return self.model.record(rows[0].row()) if rows else None

    def select(self, patient_id: int) -> bool:
        """Select ``patient_id`` if listed."""
        for row in range(self.model.rowCount()):
            if self.model.record(row).patient_id == patient_id:
                self.view.selectRow(row)
                return True
        return False

    def _act(self, act: Callable[[CreditAlert], object]) -> None:
        row = self.selected()
        if row is not None:
            act(row)

    def _update(self, *_args: object) -> None:
        for button in self.buttons.values():
            button.setEnabled(self.selected() is not None and button.property("allowed") != 0)


class DeskAlertsDialog(QDialog):
    """The credit alerts of one main window (non-modal); :meth:`set_alerts` fills it."""

    def __init__(
        self,
        window: MainWindow,
        alerts: DeskAlerts | None = None,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent if parent is not None else window)
        self._window = window
        self._settings = settings
        self._runner = BackgroundRunner(self)
        self._closed = False
        #: The alerts shown (None while they are read).
        self.alerts = alerts
        self.setWindowTitle("Account credit to look at")
        self.resize(900, 620)
        formatter = window.formatter
        layout = QVBoxLayout(self)
        self._layout = layout
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        layout.addWidget(self.summary_label)
        self.beside = _Section(
            "Credit beside open invoices",
            "These patients hold account credit while they still owe on open invoices: the "
            "credit could pay them.",
            formatter,
            [
                ("apply", "&Apply credit…", self.apply_credit),
                ("refund", "&Refund…", self.refund),
                ("contact", "&Contact…", self.contact),
            ],
            self,
        )
        self.dormant = _Section(
            "Dormant credit",
            "",
            formatter,
            [("refund", "R&efund…", self.refund), ("contact", "C&ontact…", self.contact)],
            self,
        )
        for section in (self.beside, self.dormant):
            section.view.doubleClicked.connect(
                lambda index, section=section: self._choose(section.model.record(index.row()))
            )
            layout.addWidget(section, 1)
        bottom = QHBoxLayout()
        self.hide_check = QCheckBox("&Don't show at start again today")
        self.hide_check.setChecked(hidden_today(settings))
        self.hide_check.setVisible(settings is not None)
        self.hide_check.toggled.connect(self._on_hide_toggled)
        close = QPushButton("Close")
        close.setAutoDefault(False)
        close.clicked.connect(self.close)
        bottom.addWidget(self.hide_check)
        bottom.addStretch(1)
        bottom.addWidget(close)
        layout.addLayout(bottom)
        #: The last window an action opened (for tests and screenshots).
        self.last_opened: QWidget | None = None
        self._allow()
        if alerts is None:
            self.summary_label.setText("Reading the patients' account credit…")
            self.reload()
        else:
            self.set_alerts(alerts)

    def _allow(self) -> None:
        """Offer only what the signed-in role may do (the core refuses the rest anyway)."""
        may = self._window.clinic.permissions()
        rules = {
            "apply": Permission.PAYMENTS,
            "refund": Permission.REFUNDS,
            "contact": Permission.EMAIL,
        }
        for section in (self.beside, self.dormant):
            for key, button in section.buttons.items():
                allowed = rules[key] in may
                button.setProperty("allowed", 1 if allowed else 0)
                if not allowed:
                    button.setToolTip(f"Your role may not {rules[key].value}.")
            section._update()

    def set_alerts(self, alerts: DeskAlerts) -> None:
        """Show ``alerts`` (after an action, the lists read again)."""
        self.alerts = alerts
        self.beside.set_rows(alerts.beside_open)
        self.dormant.set_rows(alerts.dormant)
        for section, rows in ((self.beside, alerts.beside_open), (self.dormant, alerts.dormant)):
            # The longer list gets the room, a short one no more than it needs.
            self._layout.setStretchFactor(section, max(3, min(len(rows), 12)))
        months = alerts.dormant_months
        self.dormant.hint.setText(
            f"These patients hold account credit and have had no visit or payment for {months} "
            f"month{'' if months == 1 else 's'}: refund it, or ask them what they would like."
        )
        if alerts.empty:
            self.summary_label.setText("No patient's account credit needs a look now.")
        else:
            count = alerts.count
            self.summary_label.setText(
                f"{count} patient{'' if count == 1 else 's'} hold{'s' if count == 1 else ''} "
                "account credit to look at: apply it, refund it, or contact them."
            )

    @property
    def loading(self) -> bool:
        """The alerts are being read."""
        return self._runner.busy

    def reload(self) -> None:
        """Read the alerts again in the background (after an action changed someone's credit)."""
        if self._closed:
            return
        clinic = self._window.clinic
        self._runner.run(
            lambda job: clinic.desk_alerts(),
            on_done=self.set_alerts,
            on_refused=lambda exc: self.summary_label.setText(str(exc)),
            on_failed=lambda exc: self.summary_label.setText(f"Not read: {exc}"),
            queue=True,
        )

    def refresh(self) -> None:
        """Read the alerts again after an action (in the background)."""
        self.reload()

    # -- the actions ----------------------------------------------------------------------

    def _choose(self, row: CreditAlert) -> None:
        self._window.select_patient(row.patient_id)

    def apply_credit(self, row: CreditAlert) -> dict[int, int]:
        """Apply the patient's credit to their open invoices (the main window's own flow)."""
        self._window.select_patient(row.patient_id)
        saved = self._window.apply_credit()
        self.refresh()
        return saved

    def refund(self, row: CreditAlert) -> bool:
        """Refund some or all of the patient's credit (the main window's refund window)."""
        self._window.select_patient(row.patient_id)
        done = self._window.corrections.refund_credit()
        self.last_opened = self._window.corrections.last_dialog
        self.refresh()
        return done

    def contact(self, row: CreditAlert) -> QWidget:
        """Email the patient about their credit, or show their numbers when no address is kept."""
        clinic = self._window.clinic
        if not row.email:
            numbers = "\n".join(f"{label}: {number}" for label, number in row.phones)
            box = QMessageBox(
                QMessageBox.Icon.Information,
                f"Contact {row.name}",
                f"No email address is kept for {row.name}."
                + (f" Call them:\n\n{numbers}" if numbers else " No phone number is kept either."),
                QMessageBox.StandardButton.Close,
                self,
            )
            self.last_opened = box
            box.exec()
            return box
        from desktop_app.ui.dialogs.email_dialog import EmailDialog

        dialog = EmailDialog(
            clinic, clinic.email_draft("credit", account_id=row.patient_id), None, self
        )
        self.last_opened = dialog
        if dialog.exec() and dialog.outbox_id is not None:
            self._window.statusBar().showMessage(dialog.sent_text(), 10_000)
        return dialog

    def _stop(self) -> None:
        self._closed = True
        self._runner.stop()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        self._stop()
        super().closeEvent(event)

    def done(self, result: int) -> None:
        self._stop()
        super().done(result)

    def _on_hide_toggled(self, hidden: bool) -> None:
        if self._settings is not None:
            self._settings.setValue(HIDDEN_ON, date.today().isoformat() if hidden else "")
