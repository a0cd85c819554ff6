"""``clinic-ledger --self-test``: prove an installed (or packaged) app works, without a screen.

It runs on the packaged executable in CI, so everything a frozen build can lose is touched: the
database layer and its migrations (data files), the PostgreSQL driver, Qt's offscreen platform,
the icon, the message colours, and the main window. Steps, each named in the result:

1. ``payment``: in a new SQLite database in a temporary folder, a patient prepays $100.00 (account
   credit), is invoiced $80.00 and pays it from credit; the invoice is paid, $20.00 of credit is
   left and ``verify()`` finds nothing wrong.
2. ``upgrade``: a database made by the first schema revision, holding a paid invoice and $20.00 of
   credit, is opened: it is upgraded to the current schema with its money intact.
3. ``data folder``: the default database lives in the per-user data folder, not beside the
   executable (an update replaces the install folder).
4. ``postgresql driver``: psycopg loads with its libpq.
5. ``resources``: the icon (every size) and the CSV templates load from the package.
6. ``window``: Qt starts offscreen with the icon, a problem is coloured red and readable, Qt's own
   translations load (German), and the main window opens on the step 1 clinic, lists its patient,
   paints, and closes.
7. ``printing``: the step 1 payment's receipt is laid out and saved as a PDF through Qt's print
   support (which a frozen build must bundle).
8. ``staff``: an administrator account is created on the step 1 clinic (its password hashed with
   Argon2, a compiled library) and signs in; a receptionist is refused a refund; the keychain
   library loads.

Prints one line (``Clinic Ledger 0.1.0 self-test passed: ...``) and returns 0, or prints which
step failed and why and returns 1. Nothing is written outside the temporary folder (the default
data folder's location is computed, not created).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Connection

from desktop_app import __version__

#: A first-release clinic: one patient, a paid $50.00 invoice and a $70.00 payment ($20.00 credit).
_FIRST_RELEASE_ROWS = (
    "INSERT INTO patients (id, first_name, last_name, created_at, credit_minor, "
    "outstanding_minor) VALUES (1, 'Ada', 'Lovelace', '{stamp}', 2000, 0)",
    "INSERT INTO invoices (id, number, patient_id, issue_date, total_minor, paid_minor, "
    "status, created_at) VALUES (1, 1, 1, '2026-11-01', 5000, 5000, 'paid', '{stamp}')",
    "INSERT INTO invoice_lines (invoice_id, position, description, unit_price_minor, "
    "quantity, tax_rate_bp, tax_minor, amount_minor) "
    "VALUES (1, 0, 'Consult', 5000, 1, 0, 0, 5000)",
    "UPDATE counters SET value = 1 WHERE name = 'invoice_number'",
    "INSERT INTO payments (id, patient_id, kind, payment_date, total_minor, request_id, "
    "created_at) VALUES (1, 1, 'payment', '2026-11-01', 7000, 'old-1', '{stamp}')",
    "INSERT INTO payment_sources (payment_id, payment_type_id, amount_minor) VALUES (1, 1, 7000)",
    "INSERT INTO applications (payment_id, invoice_id, amount_minor, from_money_minor, "
    "from_credit_minor, created_at) VALUES (1, 1, 5000, 5000, 0, '{stamp}')",
    # The first release audited every save, as every release since (Verify ledger's I8).
    "INSERT INTO audit_log (at, actor, action, entity, entity_id) "
    "VALUES ('{stamp}', 'database owner', 'create invoice', 'invoice', 1)",
    "INSERT INTO audit_log (at, actor, action, entity, entity_id) "
    "VALUES ('{stamp}', 'database owner', 'record payment', 'payment', 1)",
)
FIRST_REVISION = "0001_initial"


class SelfTestError(Exception):
    """A step found the app not working."""


@contextmanager
def database_at(url: str, revision: str) -> Iterator[Connection]:
    """A new database migrated only to ``revision`` (an older schema), and a connection in one
    transaction to fill it as that version would have; committed and closed after."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    from desktop_app.core.db.migrate import MIGRATIONS

    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            yield connection
    finally:
        engine.dispose()


def make_first_release_database(url: str) -> None:
    """A clinic database as the first release made it: schema 0001 with one paid $50.00 invoice
    and $20.00 of account credit from a $70.00 payment (patient 1, invoice 1)."""
    from sqlalchemy import text

    with database_at(url, FIRST_REVISION) as connection:
        stamp = "2026-11-01 09:00:00.000000"
        for statement in _FIRST_RELEASE_ROWS:
            connection.execute(text(statement.format(stamp=stamp)))


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise SelfTestError(what)


def _payment_from_credit(folder: Path) -> str:
    from desktop_app.core import Clinic

    url = f"sqlite:///{folder / 'self-test.db'}"
    with Clinic.open(url) as clinic:
        patient = clinic.add_patient("Self", "Test")
        clinic.record_payment(clinic.preview_payment(patient, {"Cash": "100.00"}), "self-test-1")
        _check(clinic.credit(patient) == Decimal("100.00"), "the prepayment is not account credit")
        invoice = clinic.create_invoice(patient, [("Consultation", "80.00", 1)])
        preview = clinic.preview_payment(patient, {}, source_invoice=invoice)
        _check(
            preview.plan.credit_used == 8000 and preview.plan.payment_total == 0,
            "the preview does not pay the invoice from credit",
        )
        clinic.record_payment(preview, "self-test-2")
        _check(clinic.invoice(invoice).status == "paid", "the invoice paid from credit is not paid")
        _check(clinic.credit(patient) == Decimal("20.00"), "the credit left is not $20.00")
        problems = clinic.verify()
        _check(not problems, f"verify found: {'; '.join(problems)}")
    return url


def _upgrade(folder: Path) -> None:
    from desktop_app.core import Clinic
    from desktop_app.core.db.migrate import HEAD_REVISION, current_revision

    url = f"sqlite:///{folder / 'first-release.db'}"
    make_first_release_database(url)
    with Clinic.open(url) as clinic:
        with clinic.engine.connect() as connection:
            revision = current_revision(connection)
        _check(revision == HEAD_REVISION, f"upgraded to {revision}, not {HEAD_REVISION}")
        _check(clinic.credit(1) == Decimal("20.00"), "the upgraded database lost its credit")
        _check(clinic.invoice(1).status == "paid", "the upgraded database lost a payment")
        problems = clinic.verify()
        _check(not problems, f"verify after the upgrade found: {'; '.join(problems)}")


def _data_folder() -> None:
    import platformdirs

    folder = Path(platformdirs.user_data_dir("Clinic Ledger", "Clinic Ledger")).resolve()
    install = Path(sys.executable).resolve().parent
    inside = install == folder or install in folder.parents
    _check(not inside, f"the default database folder {folder} is inside the install folder")


def _postgresql_driver() -> None:
    import psycopg

    _check(psycopg.pq.version() > 0, "psycopg has no libpq")


def _resources() -> None:
    from desktop_app import resources

    for file in resources.icon_files():
        _check(file.is_file() and file.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{file} missing")
    _check(resources.resource("import-templates", "invoices.csv").is_file(), "no CSV templates")


def _window(folder: Path, url: str) -> None:
    from PySide6.QtCore import QLocale, QSettings
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication, QLabel

    from desktop_app.core import Clinic
    from desktop_app.ui.main_window import MainWindow
    from desktop_app.ui.style import (
        MIN_TEXT_CONTRAST,
        PROBLEM_TONE,
        apply_style,
        contrast_ratio,
        install_qt_translations,
        set_tone,
        tone_colour,
    )

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([sys.argv[0]])
    _check(app.platformName() == "offscreen", f"Qt started on {app.platformName()!r}")
    apply_style(app)
    _check(not app.windowIcon().isNull(), "the window icon did not load")
    message = QLabel("A problem")
    set_tone(message, PROBLEM_TONE)
    colour = message.palette().color(QPalette.ColorRole.WindowText)
    wanted = tone_colour(PROBLEM_TONE, app.palette())
    _check(colour == wanted, f"a problem is not coloured (it is {colour.name()})")
    background = message.palette().color(QPalette.ColorRole.Window)
    ratio = contrast_ratio(colour, background)
    _check(ratio >= MIN_TEXT_CONTRAST, f"a problem is hard to read (contrast {ratio:.1f}:1)")
    german = install_qt_translations(app, QLocale(QLocale.Language.German))
    if german is None:
        raise SelfTestError("Qt's translations are missing")
    app.removeTranslator(german)
    # Window state goes to a file in the temporary folder, not the person's own settings.
    settings = QSettings(str(folder / "self-test.ini"), QSettings.Format.IniFormat)
    with Clinic.open(url) as clinic:
        window = MainWindow(None, settings)
        window.show()
        app.processEvents()
        window.open_clinic(clinic)
        app.processEvents()
        _check(window.is_ready, "the main window did not open the clinic")
        _check(window.patient_model.rowCount() == 1, "the main window does not list the patient")
        _check(not window.grab().isNull(), "the main window did not paint")
        window.close()
        window.deleteLater()
        app.processEvents()


def _printing(folder: Path, url: str) -> None:
    from desktop_app.core import Clinic
    from desktop_app.ui.formatting import Formatter
    from desktop_app.ui.printing.html import receipt_html
    from desktop_app.ui.printing.render import save_pdf, text_document

    with Clinic.open(url) as clinic:
        receipt = clinic.receipt(2)
        _check(receipt.credit_after == Decimal("20.00"), "the receipt's credit remaining is wrong")
        html = receipt_html(receipt, Formatter(clinic.currency, "en_AU"))
    _check("Account credit remaining" in html, "the receipt is missing its credit remaining")
    target = folder / "receipt.pdf"
    save_pdf(text_document(html, receipt.letterhead), target, "Receipt 2")
    data = target.read_bytes()
    _check(data.startswith(b"%PDF") and len(data) > 1000, "the receipt PDF is empty")


def _loopback_smtp(received: list[bytes]) -> tuple[int, Callable[[], None]]:
    """A one-message SMTP server on loopback, from the standard library alone (the package has no
    test server): its port, and how to wait for it to finish."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(30)

    def serve() -> None:
        connection, _ = listener.accept()
        with connection, connection.makefile("rb") as lines:
            connection.sendall(b"220 self-test ESMTP\r\n")
            data: list[bytes] = []
            reading = False
            for line in lines:
                if reading:
                    if line == b".\r\n":
                        received.append(b"".join(data))
                        reading = False
                        connection.sendall(b"250 kept\r\n")
                    else:
                        data.append(line[1:] if line.startswith(b"..") else line)
                    continue
                verb = line[:4].upper()
                if verb == b"EHLO":
                    connection.sendall(b"250-self-test\r\n250 SIZE 1000000\r\n")
                elif verb == b"DATA":
                    reading = True
                    connection.sendall(b"354 go ahead\r\n")
                elif verb == b"QUIT":
                    connection.sendall(b"221 bye\r\n")
                    break
                else:
                    connection.sendall(b"250 ok\r\n")
        listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], lambda: thread.join(30)


def _email(url: str) -> None:
    """An invoice emailed with its PDF: drafted, queued, sent by SMTP and read back."""
    from email import message_from_bytes, policy

    from desktop_app.core import Clinic, OutboxStatus
    from desktop_app.ui.formatting import Formatter
    from desktop_app.ui.printing.pdf_bytes import document_pdf

    received: list[bytes] = []
    port, finished = _loopback_smtp(received)
    with Clinic.open(url) as clinic:
        clinic.set_email_settings(
            host="127.0.0.1", port=port, security="none", sender="Self Test <desk@example.org>"
        )
        invoice_id = 1  # the invoice the first step made
        pdf = document_pdf(clinic.invoice_document(invoice_id), Formatter(clinic.currency, "en_AU"))
        draft = clinic.email_draft("invoice", invoice_id=invoice_id)
        clinic.queue_email(draft, pdf, to="patient@example.org")
        summary = clinic.send_outbox()
        finished()
        _check(summary.sent == 1, f"the email was not sent: {summary}")
        _check(clinic.outbox()[0].status is OutboxStatus.SENT, "the outbox does not say sent")
    _check(len(received) == 1, "the server received no message")
    message = message_from_bytes(received[0], policy=policy.default)
    attachments = list(message.iter_attachments())
    _check(
        message["To"] == "Self Test <patient@example.org>" and len(attachments) == 1,
        "the message's recipient or attachment is wrong",
    )
    _check(attachments[0].get_content() == pdf, "the attached PDF is not the invoice's")


def _staff(url: str) -> None:
    from desktop_app.core import Clinic, PermissionDenied, Role

    with Clinic.open(url) as clinic:
        clinic.add_staff("selftest", "Self Test", Role.ADMINISTRATOR, "self-test password")
        admin = clinic.sign_in("selftest", "self-test password")
        _check(admin.staff_member is not None, "signing in did not bind the staff member")
        admin.add_staff("desk", "Front Desk", Role.RECEPTIONIST, "self-test password")
        desk = clinic.sign_in("desk", "self-test password")
        try:
            desk.refund_credit(1, "1.00", method="Cash", request_id="self-test-3")
        except PermissionDenied:
            pass
        else:
            raise SelfTestError("a receptionist was allowed a refund")
    import keyring  # noqa: F401  (its backends are found through package metadata when frozen)


def run() -> int:
    """Run every step; print one line; 0 when all pass, 1 when one fails."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # no screen needed, wherever it runs
    start = time.perf_counter()
    done: list[str] = []
    with tempfile.TemporaryDirectory(prefix="clinic-ledger-self-test-") as temp:
        folder = Path(temp)
        url = ""

        def payment() -> None:
            nonlocal url
            url = _payment_from_credit(folder)

        steps: list[tuple[str, Callable[[], None]]] = [
            ("payment", payment),
            ("upgrade", lambda: _upgrade(folder)),
            ("data folder", _data_folder),
            ("postgresql driver", _postgresql_driver),
            ("resources", _resources),
            ("window", lambda: _window(folder, url)),
            ("printing", lambda: _printing(folder, url)),
            ("email", lambda: _email(url)),
            ("staff", lambda: _staff(url)),
        ]
        for name, step in steps:
            try:
                step()
            except Exception as exc:  # any failure is the answer: say which step and why
                print(
                    f"Clinic Ledger {__version__} self-test FAILED at {name}: "
                    f"{type(exc).__name__}: {exc}",
                    flush=True,
                )
                if os.environ.get("CLINIC_SELF_TEST_TRACEBACK"):
                    traceback.print_exc()
                return 1
            done.append(name)
    took = time.perf_counter() - start
    frozen = " (packaged)" if getattr(sys, "frozen", False) else ""
    print(
        f"Clinic Ledger {__version__}{frozen} self-test passed: {', '.join(done)} in {took:.1f} s",
        flush=True,
    )
    return 0
