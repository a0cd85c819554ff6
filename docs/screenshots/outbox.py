"""The outbox set of ``make_screenshots.py`` (``make_screenshots.py outbox``): the Outbox
window with sent, failed and waiting messages (real SMTP servers on loopback: one accepting,
one refusing a recipient, a port where nothing listens), the Overdue reminders window, and the
"Account credit to look at" panel, on the demo clinic and a 1366x768 laptop screen."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QWidget

from desktop_app.core import Clinic
from desktop_app.core.demo import populate
from desktop_app.ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n%%EOF\n"


def _configure(clinic: Clinic, port: int) -> None:
    clinic.set_email_settings(
        host="127.0.0.1",
        port=port,
        security="none",
        sender="Harbour Physiotherapy <desk@harbourphysio.example>",
        timeout=5,
    )


def _queue_invoices(clinic: Clinic, invoice_ids: list[int]) -> None:
    for invoice_id in invoice_ids:
        clinic.queue_email(clinic.email_draft("invoice", invoice_id=invoice_id), PDF)


def _outbox(clinic: Clinic, folder: Path) -> None:
    """Sent, refused, failed-and-waiting and queued messages, each through a real server."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.email.smtp_servers import ClosedPort, SmtpServer

    invoices = [c.invoice_id for c in clinic.overdue_reminders() if c.email]
    with SmtpServer(folder=folder) as accepting:
        _configure(clinic, accepting.port)
        _queue_invoices(clinic, invoices[:4])
        clinic.send_reminders(invoices[7:9], lambda document: PDF)  # two overdue reminders
        clinic.send_outbox()
    refusal = "550 5.1.1 Recipient address rejected: User unknown in virtual mailbox table"
    with SmtpServer(folder=folder, refuse_rcpt=refusal) as refusing:
        _configure(clinic, refusing.port)
        _queue_invoices(clinic, invoices[4:5])
        clinic.send_outbox()
    with ClosedPort() as closed:
        _configure(clinic, closed.port)
        _queue_invoices(clinic, invoices[5:6])
        clinic.send_outbox()
        _queue_invoices(clinic, invoices[6:7])  # queued: waits for the next pass


def render(grab: Callable[[QWidget, str], None]) -> None:
    """Render the set with ``grab(widget, file name)``, in this process's Qt."""
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        clinic = Clinic.open(f"sqlite:///{folder / 'demo.db'}")
        populate(clinic, today=date(2026, 11, 20))
        clinic.set_reminder_settings(after_days=14, interval_days=14, dormant_months=12)
        # Two patients whose credit has slept for over a year, one with only a phone number.
        long_ago = date.today() - timedelta(days=430)
        for first, last, details, amount in (
            ("Grace", "Hopper", {"email": "grace.hopper@example.org"}, "65.00"),
            ("Alan", "Kay", {"mobile": "0412 555 019", "phone": "(02) 9555 0142"}, "30.00"),
        ):
            pid = clinic.add_patient(first, last, **details)
            clinic.record_payment(
                clinic.preview_payment(pid, {"Cash": amount}, payment_date=long_ago),
                f"prepaid-{last}",
            )
        # One overdue invoice's patient keeps no address: greyed in the reminders window.
        no_address = clinic.overdue_reminders()[2]
        clinic.update_patient(no_address.account_id, email=None)
        _outbox(clinic, folder)
        settings = QSettings(str(folder / "ledger.ini"), QSettings.Format.IniFormat)
        window = MainWindow(clinic, settings)  # the app's window: the alerts open at start
        window.formatter.locale = "en_AU"
        actions = window.outbox_actions
        sender = actions.outbox_sender
        assert sender is not None
        sender.stop(wait=None)  # the shots show the outbox as the passes above left it
        window.resize(1366, 740)
        window.show()
        app.processEvents()
        sender.refresh()
        outbox = actions.open_outbox()
        outbox.resize(1180, 520)
        first_failed = next(
            r
            for r in range(outbox.model.rowCount())
            if outbox.model.record(r).last_error
            and not outbox.model.record(r).retried_automatically
        )
        outbox.view.selectRow(first_failed)
        grab(outbox, "outbox-1366x768.png")
        outbox.close()
        reminders = actions.open_reminders()
        while reminders.loading:
            app.processEvents()
        reminders.resize(1040, 560)
        grab(reminders, "overdue-reminders-1366x768.png")
        reminders.close()
        while actions.alerts_window is None or actions.alerts_window.loading:
            app.processEvents()  # read in the background as the window opened
        alerts = actions.alerts_window
        grab(alerts, "credit-alerts-1366x768.png")
        alerts.close()
        window.close()
        clinic.close()
