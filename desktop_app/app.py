"""Composition root: parse the command line, open the clinic's database, run the command.

    clinic-ledger [--database URL] [--demo]   the desktop app (the default)
    clinic-ledger --self-test                 check this installation works (no screen needed)
    clinic-ledger [--database URL] info       where the ledger is and its headline figures
    clinic-ledger [--database URL] verify     recompute every ledger invariant; exit 1 on a problem
    clinic-ledger [--database URL] backup PATH   save a checked copy of the clinic's SQLite file
    clinic-ledger [--database URL] restore PATH  replace it with a backup (the current one is kept)
    clinic-ledger [--database URL] import KIND CSV [--map "SOURCE=FIELD" ...] [--mapping NAME]
                          import patients, invoices, payments or credit (a column named otherwise
                          than its field: --map, or a mapping saved in the import window)
    clinic-ledger [--database URL] export KIND PATH  export patients, invoices, invoice_lines or
                                                     payments to a CSV file
    clinic-ledger [--database URL] accounting-export FOLDER [--through DATE] [--preview]
                          the Xero files of everything new or changed since the last export
    clinic-ledger [--database URL] xero connect | sync [--dry-run] [--after-exports] | status |
                          disconnect
                          the clinic's Xero organisation; sync sends the ledger through Xero's
                          API and reads it back (exit 0 when Xero ties out to the ledger)
    clinic-ledger [--database URL] statements send --from YYYY-MM-DD --to YYYY-MM-DD
                          [--dry-run] [--post-pdf PATH]
                          the period's statements to everyone owing or holding credit: emailed
                          to those with an address, the rest into one PDF to post (resumes a
                          run that stopped; exit 0 when every email reached the mail server)
    clinic-ledger [--database URL] email test ADDRESS   send the test email now
    clinic-ledger --database URL remember-password   keep a PostgreSQL server's password in
                                                     this computer's keychain (asked for once)

Without ``--database`` the clinic lives in a SQLite file in the user's data folder, created on
first use. A clinic with several front-desk computers points them all at one PostgreSQL server:
``--database postgresql+psycopg://user@server/clinic``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from desktop_app import __version__
from desktop_app.core import BillingError, format_amount, parse_minor

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from desktop_app.core import Clinic, PatientRecord
    from desktop_app.core.db.first_screen import FirstScreen
    from desktop_app.ui.dialogs.sign_in import FirstRunDialog, SignInDialog
    from desktop_app.ui.main_window import MainWindow


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clinic-ledger",
        description="Clinic Ledger: invoices, payments and patient account credit.",
    )
    parser.add_argument("--version", action="version", version=f"Clinic Ledger {__version__}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check that this installation works, without a screen: a payment from account "
        "credit in a temporary database, an old database upgraded, the main window opened and "
        "closed; prints one line and exits 0 (or 1 naming the step that failed)",
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        help="sqlite:///path/to/clinic.db or postgresql+psycopg://user@host/db "
        "(default: clinic.db in your data folder)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="fill a new, empty database with a demo clinic so you can try everything",
    )
    parser.add_argument(
        "command",
        nargs="?",
        default="app",
        choices=[
            "app",
            "info",
            "verify",
            "backup",
            "restore",
            "import",
            "export",
            "accounting-export",
            "remember-password",
            "xero",
            "statements",
            "email",
        ],
        help="app (default): open the window; info: the ledger's headline figures; "
        "verify: check every invariant and exit 1 if any is broken; "
        "backup PATH: save a checked copy of the database to PATH (a file or a folder); "
        "restore PATH: replace the database with the backup at PATH, keeping the current one "
        "as a copy next to it; "
        "import KIND CSV: import a CSV file of KIND patients, invoices, payments or credit "
        "(opening balances), all of it or nothing (formats: docs/import-formats.md); "
        "export KIND PATH: write every row of KIND patients, invoices, invoice_lines or payments "
        "to the CSV file PATH (UTF-8 with BOM, for a spreadsheet); "
        "accounting-export FOLDER: write the Xero import files of everything new or changed "
        "since the last accounting export into a new folder inside FOLDER "
        "(mapping: docs/accounting-export.md); "
        "remember-password: ask for the PostgreSQL password of --database's user and keep it "
        "in this computer's keychain, so the URL never holds it; "
        "xero connect|status|disconnect: connect the clinic to its Xero organisation (Xero's "
        "sign-in opens in the browser; CLINIC_XERO_CLIENT_ID is the app's Xero client id), say "
        "which organisation it is, or disconnect and revoke the sign-in; "
        "statements send --from D --to D: the period's statement run (emailed, or printed into "
        "one PDF to post; resumes a run that stopped); "
        "email test ADDRESS: send the test email to ADDRESS now",
    )
    parser.add_argument(
        "--through",
        metavar="YYYY-MM-DD",
        help="accounting-export: include records dated up to this day (default: today)",
    )
    parser.add_argument(
        "--preview",
        action="store_true",
        help="accounting-export: say what would be exported; write and save nothing",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="xero sync: read Xero's chart and count what would be sent; send nothing; "
        "statements send: list who the run would cover; send nothing",
    )
    parser.add_argument(
        "--after-exports",
        action="store_true",
        help="xero sync: the clinic used export files before, and the organisation does not "
        "hold what they carried (a new organisation, or removed there): sync anyway",
    )
    parser.add_argument(
        "--from",
        dest="period_from",
        metavar="YYYY-MM-DD",
        help="statements send: the period's first day",
    )
    parser.add_argument(
        "--to",
        dest="period_to",
        metavar="YYYY-MM-DD",
        help="statements send: the period's last day (not after today)",
    )
    parser.add_argument(
        "--post-pdf",
        metavar="PATH",
        help="statements send: where the statements to post are written (default: "
        "statements-FROM-to-TO-post.pdf in the current folder)",
    )
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="SOURCE=FIELD",
        help='import: feed the file\'s column SOURCE to FIELD (or "ignore"); repeatable, '
        'such as --map "Client No=external_id"',
    )
    parser.add_argument(
        "--mapping",
        metavar="NAME",
        help="import: use the column mapping saved under NAME in the import window "
        "(--map entries are added to it)",
    )
    parser.add_argument(
        "path", nargs="?", metavar="PATH", help="the backup file (backup and restore only)"
    )
    parser.add_argument(
        "csv", nargs="?", metavar="CSV", help="the CSV file (import; export's PATH)"
    )
    return parser


#: Seconds between two progress lines of a long import.
IMPORT_PROGRESS_EVERY = 2.0


def _mapping_of(pairs: Sequence[str]) -> dict[str, str] | None:
    """``["Client No=external_id"]`` -> ``{"Client No": "external_id"}``; None if one has no
    ``=``."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        source, sep, field = pair.rpartition("=")
        if not sep or not source.strip() or not field.strip():
            return None
        mapping[source.strip()] = field.strip()
    return mapping


def _import(
    clinic: Clinic,
    kind: str,
    path: str,
    mapping: dict[str, str] | None = None,
    saved: str | None = None,
) -> int:
    """Import one CSV file: the summary on stdout (0), or each problem on stderr (1)."""
    import time

    from desktop_app.core.interchange.importing import ImportCancelled, ImportRefused, import_file

    last = time.monotonic()

    def progress(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < IMPORT_PROGRESS_EVERY or not total:
            return
        last = now
        rows = total // 2
        step = f"checked {done:,}" if done <= rows else f"saved {done - rows:,}"
        print(f"Importing {kind}: {step} of {rows:,} rows", file=sys.stderr, flush=True)

    try:
        if saved is not None:
            named = clinic.import_mappings(kind)
            if saved not in named:
                known = ", ".join(sorted(named)) or "none yet"
                print(
                    f"clinic-ledger: there is no saved {kind} mapping called {saved!r} "
                    f"(saved: {known}).",
                    file=sys.stderr,
                )
                return 1
            mapping = {**named[saved], **(mapping or {})}
        result = import_file(clinic, kind, path, progress=progress, mapping=mapping)
    except ImportRefused as exc:
        headline = str(exc).splitlines()[0]
        print(f"clinic-ledger: {headline}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        if exc.more:
            print(f"  and {exc.more:,} more", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("clinic-ledger: import cancelled; nothing was saved.", file=sys.stderr)
        return 130
    except (ImportCancelled, BillingError) as exc:
        print(f"clinic-ledger: {exc}", file=sys.stderr)
        return 1
    print(result.describe())
    return 0


def _accounting_export(
    clinic: Clinic, folder: str | None, through: str | None, preview: bool
) -> int:
    """Run ``accounting-export``: the summary on stdout (0), or why not on stderr (1)."""
    from datetime import date

    try:
        day = None if through is None else date.fromisoformat(through)
    except ValueError:
        print(f"clinic-ledger: --through {through!r} is not a date (YYYY-MM-DD).", file=sys.stderr)
        return 1
    try:
        if preview:
            summary = clinic.preview_accounting_export(day)
        else:
            if folder is None:
                print("clinic-ledger: accounting-export needs a FOLDER.", file=sys.stderr)
                return 1
            summary = clinic.export_accounting(folder, day)
    except BillingError as exc:
        print(f"clinic-ledger: {exc}", file=sys.stderr)
        return 1
    print(summary.describe(clinic.currency))
    return 0


def _remember_password(database: str | None) -> int:
    """Ask for a PostgreSQL password (without echo) and keep it in the keychain."""
    import getpass

    from desktop_app.core.db.credentials import remember_password

    if not database:
        print("clinic-ledger: remember-password needs --database URL.", file=sys.stderr)
        return 1
    try:
        password = getpass.getpass("PostgreSQL password: ")
        key = remember_password(database, password)
    except (BillingError, ValueError) as exc:
        print(f"clinic-ledger: {exc}", file=sys.stderr)
        return 1
    except (EOFError, KeyboardInterrupt):
        print("clinic-ledger: no password given; nothing was stored.", file=sys.stderr)
        return 1
    print(f"The password for {key} is in this computer's keychain.")
    return 0


def _backup_or_restore(command: str, database: str | None, path: str) -> int:
    """Run ``backup`` or ``restore`` with full rights (whoever runs the command holds the
    database file); 1 and stderr on failure.

    Neither opens the clinic: a backup copies the file as it is (never upgrading it first, and
    still copying a database whose schema was changed by hand: it may be the best copy there is,
    and the result lists what differs), and a restore does not open the database it replaces (it
    may be the damaged one): ``restore_database`` checks the backup instead. Roles limit clinics
    signed in to a staff account; the command line has no such account.
    """
    from desktop_app.core.db.engine import default_database_url
    from desktop_app.core.interchange.backup import backup_database, restore_database

    url = database or default_database_url()
    try:
        if command == "restore":
            print(restore_database(path, url).describe())
            return 0
        result = backup_database(url, path)
    except BillingError as exc:
        print(f"clinic-ledger: {exc}", file=sys.stderr)
        return 1
    print(result.describe(), file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


def _export(clinic: Clinic, kind: str, path: str) -> int:
    """Export every row of ``kind``: what was written on stdout (0), or the reason on stderr (1).

    Nothing is left under ``path`` unless the export completed (Ctrl+C included).
    """
    from desktop_app.core.interchange.export import export_csv, rows_text

    try:
        rows = export_csv(clinic, kind, path)
    except KeyboardInterrupt:
        print("clinic-ledger: export cancelled; no file was written.", file=sys.stderr)
        return 130
    except BillingError as exc:
        print(f"clinic-ledger: {exc}", file=sys.stderr)
        return 1
    print(f"Exported {rows_text(kind, rows)} to {path}.")
    return 0


def _money(amount: Decimal, currency: str) -> str:
    return format_amount(parse_minor(amount, currency), currency)


def _info(clinic: Clinic) -> int:
    summary = clinic.summary()
    currency = summary.currency
    print(f"Clinic Ledger {__version__}: {summary.clinic_name}")
    rows = [
        ("Database", clinic.url),
        ("Currency", currency),
        ("Allocation mode", clinic.allocation_mode.label),
        ("Payment types", ", ".join(clinic.payment_types())),
        ("Patients", f"{summary.patients:,}"),
        (
            "Open invoices",
            f"{summary.open_invoices:,} ({_money(summary.outstanding, currency)} outstanding)",
        ),
        ("Account credit held", _money(summary.credit_held, currency)),
    ]
    for label, value in rows:
        print(f"{label + ':':<21}{value}")
    return 0


def _verify(clinic: Clinic) -> int:
    problems = clinic.verify()
    if not problems:
        print(f"Ledger verified: every invariant holds ({clinic.url}).")
        return 0
    print(f"Ledger verification found {len(problems)} problem(s):")
    for problem in problems:
        print(f"  - {problem}")
    return 1


def _fill_demo(clinic: Clinic) -> None:
    """Fill an empty clinic with the demo; leave one with patients as it is."""
    if clinic.summary().patients:
        print(
            "clinic-ledger: --demo fills only an empty database; this one has patients, so it "
            "opens as it is.",
            file=sys.stderr,
        )
        return
    from desktop_app.core.demo import populate

    populate(clinic)


def start_window(database: str | None, demo: bool, *, first_run: bool = False) -> tuple[Any, Any]:
    """Show the main window at once, then open the clinic on the next turn of the event loop.

    Importing the database layer and reading the first patients takes longer than showing a
    window, so the window comes first and fills in. Returns ``(application, window)``; the
    window's ``is_ready`` turns true once the patients are listed.

    A clinic with staff accounts asks who is signing in first (``window.sign_in_dialog``), and
    its patients are listed only once someone has. With ``first_run``, a clinic never set up
    asks about itself first (name, country, currency, tax: ``ClinicSetupDialog``), and a clinic
    with no staff accounts then asks for its administrator's account before it opens. Without
    it (scripts, the start-up benchmarks), such a clinic opens with every right, as the API's
    ``Clinic.open`` does. Cancelling any of these windows closes the app.

    An SQLite clinic at the current schema is first read with the standard library alone
    (:mod:`desktop_app.core.db.first_screen`), before the database layer loads: a clinic with
    staff shows and paints its sign-in window first, on its own, before the main window is even
    imported (the main window, built next, then takes it as its own; the clinic is given to it
    once open), and one without (when no first-run window is due) lists its patients at once;
    ``is_ready`` still waits for the open clinic, which keeps the patient chosen meanwhile.
    """
    # An SQLite clinic at the current schema: what the first screen shows, read with the
    # standard library before SQLAlchemy and the core are loaded (None: the normal path below).
    first = None if demo else _first_screen(database)
    listed = None  # the patients to list at once: a clinic without staff, no first-run window
    if first is not None and not first.has_staff and not first_run:
        listed = _first_patients(first)
        # Imported before Qt, which makes every later import dearer (PySide's import hook
        # reads each module's source): the list formats its amounts with it at once.
        import babel.numbers  # noqa: F401
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from desktop_app.ui.style import apply_style

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv)
    app.setApplicationName("Clinic Ledger")
    app.setOrganizationName("Clinic Ledger")
    app.setApplicationVersion(__version__)
    apply_style(app)
    early_sign_in = None
    if first is not None and first.has_staff:
        # Sign in first: nothing about a patient was read, and none is shown before. The
        # window is shown and painted before the main window is even imported.
        early_sign_in = _early_sign_in(app, first.clinic_name, lambda: open_clinic())
    from desktop_app.ui.main_window import MainWindow

    # The main window is created here, shown at once, and filled by open_clinic below.
    window = MainWindow(None, QSettings())
    if first is not None and listed is not None:
        window.show_first_patients(first.clinic_name, first.currency, listed)
    window.show()
    if early_sign_in is not None:
        _adopt(window, early_sign_in)
        _ask(window, early_sign_in)
    # Paint the window before the slower work below starts; a key pressed or a click meanwhile
    # (in the sign-in window, shown for a while already) waits for the event loop, once
    # open_clinic below can answer it.
    app.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)

    opening: list[bool] = []

    def open_clinic(opened: Clinic | None = None) -> None:
        if opened is None:
            if opening:
                return  # opened already (signing in at once opens it before this turn comes)
            opening.append(True)
        from desktop_app.core import Clinic

        try:
            clinic = Clinic.open(database) if opened is None else opened
            if demo and opened is None:
                _fill_demo(clinic)
        except (BillingError, ValueError) as exc:
            window.open_error = str(exc)
            if early_sign_in is not None:
                early_sign_in.hide()  # hidden, not rejected: the message box says why
            QMessageBox.critical(
                window, "Clinic Ledger", f"The clinic's database could not be opened.\n\n{exc}"
            )
            window.close()  # the last window: the application's event loop ends
            return
        if first_run and opened is None and not clinic.has_staff() and clinic.needs_first_run:
            # A clinic never set up: its details first, then (below) its administrator.
            from desktop_app.ui.dialogs.first_run import ClinicSetupDialog

            setup = ClinicSetupDialog(clinic, window)
            setup.accepted.connect(lambda: open_clinic(clinic))
            setup.rejected.connect(window.close)  # nothing saved: the next start asks again
            window.sign_in_dialog = setup
            setup.open()
            return
        from desktop_app.ui.dialogs.sign_in import FirstRunDialog, SignInDialog

        if early_sign_in is not None:
            early_sign_in.set_clinic(clinic)
            return
        dialog: FirstRunDialog | SignInDialog
        if clinic.has_staff():
            if listed is not None:  # a staff account was added since the list was read
                window.patient_view.setModel(None)
            dialog = SignInDialog(clinic, window)
        elif first_run:
            dialog = FirstRunDialog(clinic, window)
        else:
            window.open_clinic(clinic)
            return
        _ask(window, dialog)

    QTimer.singleShot(0, open_clinic)
    return app, window


def _ask(window: MainWindow, dialog: FirstRunDialog | SignInDialog) -> None:
    """Open the sign-in (or first-run) window over the main window: the clinic signed in to
    opens in it; cancelling closes the app."""

    def signed_in() -> None:
        assert dialog.signed_in is not None
        window.open_clinic(dialog.signed_in)

    dialog.accepted.connect(signed_in)
    dialog.rejected.connect(window.close)
    window.sign_in_dialog = dialog
    dialog.open()  # window-modal, without blocking the event loop


def _early_sign_in(
    app: QApplication, clinic_name: str, open_clinic: Callable[[], object]
) -> SignInDialog:
    """The sign-in window of a clinic with staff, shown and painted on its own before the main
    window exists (it is :func:`_adopt`-ed by the main window once that is built).

    Modal to the whole application meanwhile, as it is to the main window afterwards."""
    from PySide6.QtCore import QEventLoop, Qt

    from desktop_app.ui.dialogs.sign_in import SignInDialog
    from desktop_app.ui.window_fit import install_window_fit

    install_window_fit(app)  # as the main window does: every window fits its screen
    dialog = SignInDialog(None, None, clinic_name=clinic_name, open_clinic=open_clinic)
    dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
    dialog.show()
    # Painted now; what is typed meanwhile waits until the main window is there to open.
    app.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
    return dialog


def _adopt(window: MainWindow, dialog: SignInDialog) -> None:
    """Make the sign-in window shown before the main window the main window's own (it stays
    over it, modal to it, as a window asked for by the main window is), where it already is."""
    where = dialog.pos()
    dialog.setParent(window, dialog.windowFlags())  # hides it: _ask shows it again
    dialog.move(where)


def _first_screen(database: str | None) -> FirstScreen | None:
    """What the first window shows, read without loading the database layer, or None (a
    server, a new file, a schema to upgrade, any error: the clinic then opens as usual)."""
    from desktop_app.core.db.first_screen import read_first_screen

    if database is None:
        from pathlib import Path

        import platformdirs  # the same file as desktop_app.core.db.engine.default_database_url

        folder = Path(platformdirs.user_data_dir("Clinic Ledger", "Clinic Ledger"))
        database = f"sqlite:///{folder / 'clinic.db'}"
    return read_first_screen(database)


def _first_patients(first: FirstScreen) -> list[PatientRecord]:
    """The patients read at start-up as the records the patient list shows."""
    from desktop_app.core import PatientRecord, to_decimal

    return [
        PatientRecord(
            p.id,
            p.first_name,
            p.last_name,
            to_decimal(p.credit_minor, first.currency),
            to_decimal(p.outstanding_minor, first.currency),
            date_of_birth=None if p.date_of_birth is None else date.fromisoformat(p.date_of_birth),
            mobile=p.mobile,
        )
        for p in first.patients
    ]


#: Set to 1 to time start-up (benchmarks/bench_package.py): the app prints ``shown`` once its
#: window is painted and ``ready`` once the patients are listed, then exits instead of waiting.
STARTUP_PROBE = "CLINIC_LEDGER_STARTUP_PROBE"


def _run_window(database: str | None, demo: bool) -> int:
    import os

    probe = os.environ.get(STARTUP_PROBE) == "1"
    app, window = start_window(database, demo, first_run=not probe)
    if probe:
        window.grab()
        print("shown", flush=True)
        while not window.is_ready and window.open_error is None:
            app.processEvents()
        window.grab()
        print("ready", flush=True)
        if window.is_ready:
            window.clinic.close()
        return 2 if window.open_error else 0
    try:
        code = int(app.exec())
    finally:
        if window.is_ready:
            window.clinic.close()
    return 2 if window.open_error else code


XERO_ACTIONS = ("connect", "sync", "status", "disconnect")


def _xero(clinic: Clinic, action: str) -> int:
    """``xero connect|status|disconnect``. ``CLINIC_XERO_CLIENT_ID`` is the app's Xero client
    id; ``CLINIC_XERO_IDENTITY_BASE`` and ``CLINIC_XERO_REDIRECT_PORT`` replace Xero's sign-in
    service and the loopback port (tests, a clinic's own registration)."""
    import webbrowser

    from desktop_app.core import XeroOrganisation

    def choose(found: Sequence[XeroOrganisation]) -> XeroOrganisation:
        for n, organisation in enumerate(found, 1):
            print(f"  {n}. {organisation.name}")
        answer = input(f"Which organisation is this clinic's (1-{len(found)})? ").strip()
        if not answer.isdigit() or not 1 <= int(answer) <= len(found):
            raise BillingError(f"{answer!r} is not one of 1-{len(found)}; nothing was connected.")
        return found[int(answer) - 1]

    try:
        if action == "status":
            return _xero_status(clinic)
        elif action == "connect":
            print("Sign in to Xero in the browser window that opens...", flush=True)
            organisation = clinic.connect_xero(webbrowser.open, choose)
            print(f"Connected to Xero: {organisation.name}.")
        else:
            organisation = clinic.disconnect_xero()
            print(
                f"Disconnected from Xero: {organisation.name}; its sign-in is revoked."
                if organisation.revoked
                else f"Disconnected from Xero: {organisation.name}. This computer did not hold "
                "its sign-in: remove Clinic Ledger from Xero's connected apps to revoke it."
            )
    except (BillingError, EOFError) as exc:
        print(f"clinic-ledger: {exc or 'no answer'}", file=sys.stderr)
        return 1
    return 0


def _xero_sync(clinic: Clinic, dry_run: bool, after_exports: bool = False) -> int:
    """``xero sync [--dry-run]``: send what is new or changed, read it back, list what differs;
    exit 0 when Xero ties out to the ledger (a dry run: when the mapping fits)."""
    from desktop_app.core.xero.client import XeroError

    try:
        report = clinic.sync_xero(
            clinic.xero_client(), dry_run=dry_run, after_exports=after_exports
        )
    except (BillingError, XeroError) as exc:
        print(f"clinic-ledger: {exc}", file=sys.stderr)
        return 1
    verb = "would send" if dry_run else "sent"
    done = ", ".join(f"{n} {step}" for step, n in report.steps.items() if n) or "nothing"
    print(f"Xero sync: {verb} {done}" + ("" if dry_run else f" ({report.calls} calls)") + ".")
    if dry_run:
        return 0
    for line in report.refused:
        print(f"  refused: {line}")
    for line in report.waiting:
        print(f"  waiting: {line}")
    for diff in report.differences:
        print(f"  {diff.what}: here {diff.here}, in Xero {diff.there} ({diff.reason})")
    if report.tied_out:
        print("Tied out: every invoice and contact in Xero matches the ledger.")
        return 0
    return 1


def _xero_status(clinic: Clinic) -> int:
    """The organisation, and the account mapping checked against its chart of accounts and
    tax rates when this computer (or the environment's access token) can reach it: exit 1 when
    the mapping does not fit."""
    from desktop_app.core.xero.client import XeroError

    organisation = clinic.xero_organisation()
    print(
        f"Connected to Xero: {organisation.name} ({organisation.tenant_id})."
        if organisation
        else "Not connected to Xero (clinic-ledger xero connect)."
    )
    try:
        check = clinic.check_xero_chart(clinic.xero_client())
    except BillingError as exc:
        print(f"The account mapping was not checked: {exc}")
        return 0
    except XeroError as exc:
        print(f"clinic-ledger: {exc}", file=sys.stderr)
        return 1
    if check.ok:
        codes = ", ".join(
            f"{Decimal(bp) / 100:f}% {code}" for bp, code in sorted(check.tax_types.items())
        )
        print(f"The account mapping fits Xero's chart of accounts and tax rates ({codes}).")
        return 0
    print("The account mapping does not fit Xero yet (Tools > Accounting export > Accounts):")
    for problem in check.problems:
        print(f"  - {problem}")
    return 1


def _period(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[date, date]:
    """``statements send``'s --from and --to as days (a bad one ends with exit 2)."""
    days: list[date] = []
    for option, value in (("--from", args.period_from), ("--to", args.period_to)):
        if value is None:
            parser.error(f"statements send needs {option} YYYY-MM-DD")
        try:
            days.append(date.fromisoformat(value))
        except ValueError:
            parser.error(f"{option} {value!r} is not a date (YYYY-MM-DD, such as 2026-11-30)")
    return days[0], days[1]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.self_test:
        if args.command != "app" or args.database or args.demo:
            parser.error("--self-test takes no other arguments")
        from desktop_app.self_test import run

        return run()
    if (args.through or args.preview) and args.command != "accounting-export":
        parser.error("--through and --preview go with accounting-export")
    statements = (args.command, args.path) == ("statements", "send")
    if args.after_exports and (args.command, args.path) != ("xero", "sync"):
        parser.error("--after-exports goes with xero sync")
    if args.dry_run and (args.command, args.path) != ("xero", "sync") and not statements:
        parser.error("--dry-run goes with xero sync or statements send")
    if args.command == "statements" and not statements:
        parser.error("statements needs send: statements send --from YYYY-MM-DD --to YYYY-MM-DD")
    if (args.period_from or args.period_to or args.post_pdf) and not statements:
        parser.error("--from, --to and --post-pdf go with statements send")
    period = _period(parser, args) if statements else None
    if args.command == "email" and (args.path != "test" or args.csv is None):
        parser.error("email needs test and an address: email test ADDRESS")
    if args.csv is not None and args.command not in ("import", "export", "email"):
        parser.error(f"unrecognized arguments: {args.csv}")
    if args.command == "export":
        from desktop_app.core.interchange.export import KINDS as EXPORT_KINDS

        if args.path not in EXPORT_KINDS or args.csv is None:
            parser.error(
                f"export needs a KIND ({', '.join(EXPORT_KINDS)}) and a PATH: export KIND PATH"
            )
    if args.command == "import":
        from desktop_app.core.interchange.importing import KINDS

        if args.path not in KINDS or args.csv is None:
            parser.error(
                f"import needs a KIND ({', '.join(KINDS)}) and the CSV file: import KIND CSV"
            )
        if _mapping_of(args.map) is None:
            parser.error('--map takes "SOURCE=FIELD", such as --map "Client No=external_id"')
    elif args.map or args.mapping:
        parser.error("--map and --mapping go with import")
    if args.command == "remember-password":
        return _remember_password(args.database)
    if args.command in ("backup", "restore"):
        if args.path is None:
            parser.error(f"{args.command} needs a PATH: the backup file")
        return _backup_or_restore(args.command, args.database, args.path)
    if args.command == "xero" and args.path not in XERO_ACTIONS:
        parser.error(f"xero needs one of {', '.join(XERO_ACTIONS)}: xero connect")
    if args.path is not None and args.command not in (
        "import",
        "export",
        "accounting-export",
        "xero",
        "statements",
        "email",
    ):
        parser.error(f"unrecognized arguments: {args.path}")
    if args.command == "app":
        return _run_window(args.database, args.demo)
    from desktop_app.core import Clinic

    try:
        clinic = Clinic.open(args.database)
    except (BillingError, ValueError) as exc:
        print(f"clinic-ledger: {exc}", file=sys.stderr)
        return 2
    with clinic:
        if args.demo:
            _fill_demo(clinic)
        if args.command == "import":
            return _import(clinic, args.path, args.csv, _mapping_of(args.map), args.mapping)
        if args.command == "export":
            return _export(clinic, args.path, args.csv)
        if args.command == "accounting-export":
            return _accounting_export(clinic, args.path, args.through, args.preview)
        if period is not None:
            from desktop_app.email_commands import statements_send

            return statements_send(clinic, *period, dry_run=args.dry_run, post_pdf=args.post_pdf)
        if args.command == "email":
            from desktop_app.email_commands import email_test

            return email_test(clinic, args.csv)
        if args.command == "xero":
            if args.path == "sync":
                return _xero_sync(clinic, args.dry_run, args.after_exports)
            return _xero(clinic, args.path)
        return _verify(clinic) if args.command == "verify" else _info(clinic)


if __name__ == "__main__":
    raise SystemExit(main())
