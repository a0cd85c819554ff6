"""Start-up's first screen: read with sqlite3 before the database layer loads, then handed over.

The patients listed at once must be exactly the ones, in the order and with the text, the open
clinic's list shows; after the hand-over everything works; and a clinic with staff asks who signs
in before any patient is shown.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtWidgets import QApplication, QDialog

from desktop_app.app import start_window
from desktop_app.core import Clinic, Role
from desktop_app.core.db import first_screen
from desktop_app.core.db.migrate import HEAD_REVISION
from desktop_app.ui import main_window
from desktop_app.ui.dialogs.payment_dialog import PaymentDialog
from desktop_app.ui.dialogs.sign_in import SignInDialog
from tests.helpers import STAFF_PASSWORD, staff_team

ROOT = Path(__file__).resolve().parents[2]

#: Names whose order depends on case, accents and punctuation, and two people of one name.
NAMES = [
    ("Ada", "Lovelace"),
    ("émile", "Zola"),
    ("Émile", "Ávila"),
    ("Sean", "O'Brien"),
    ("Maria", "de la Cruz"),
    ("Anne", "Lee-Smith"),
    ("anne", "lee"),
    ("Bob", "BROWN"),
    ("Bob", "Brown"),
    ("Zoë", "Adams"),
]


@pytest.fixture
def busy_url(new_sqlite_url) -> str:
    """A clinic of ten patients, some with credit, some owing."""
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        ids = [clinic.add_patient(first, last) for first, last in NAMES]
        clinic.record_payment(clinic.preview_payment(ids[1], sources={"Cash": "205"}), "credit")
        clinic.create_invoice(ids[1], [("Consult", "140", 1)])
        clinic.create_invoice(ids[4], [("Consult", "80.50", 1)])
    return url


def _texts(model) -> list[list[str]]:
    """Every cell's text of a table model, row by row."""
    return [
        [model.data(model.index(row, col)) for col in range(model.columnCount())]
        for row in range(model.rowCount())
    ]


def test_the_first_read_loads_no_database_layer(busy_url):
    code = (
        "import sys\n"
        "from desktop_app.core.db.first_screen import read_first_screen\n"
        "first = read_first_screen(sys.argv[1])\n"
        "print(first.clinic_name, len(first.patients), first.has_staff)\n"
        "print('sqlalchemy' in sys.modules, 'desktop_app.core.db.models' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, busy_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.splitlines() == ["My Clinic 10 False", "False False"]


def test_the_schema_revision_is_the_migrations_head():
    assert first_screen.head_revision() == HEAD_REVISION


def test_anything_not_trusted_is_left_to_the_normal_path(new_sqlite_url, tmp_path):
    url = new_sqlite_url()
    assert first_screen.read_first_screen(url) is not None
    path = Path(url.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE alembic_version SET version_num = '0007_staff'")  # needs upgrading
    db.close()
    assert first_screen.read_first_screen(url) is None
    assert first_screen.read_first_screen(f"sqlite:///{tmp_path / 'new.db'}") is None
    assert not (tmp_path / "new.db").exists()  # read-only: nothing created
    assert first_screen.read_first_screen("postgresql+psycopg://u@h/clinic") is None
    assert first_screen.read_first_screen(url + "?timeout=5") is None
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    assert first_screen.read_first_screen(f"sqlite:///{tmp_path / 'junk.db'}") is None


def test_patients_listed_at_once_are_the_open_clinics_list(qtbot, busy_url):
    _, window = start_window(busy_url, demo=False)
    qtbot.addWidget(window)
    assert not window.is_ready  # the clinic is not open yet...
    first = window.patient_view.model()
    assert window.patients_listed and first is not None  # ...but its patients are listed
    assert not window.search_edit.isEnabled()
    listed_first = _texts(first)
    ids_first = [first.patient_id(row) for row in range(first.rowCount())]
    qtbot.waitUntil(lambda: window.is_ready, timeout=10_000)
    assert _texts(window.patient_model) == listed_first
    assert [window.patient_model.patient_id(r) for r in range(10)] == ids_first
    assert listed_first[0][0] == "Adams, Zoë"
    zola = next(texts for texts in listed_first if texts[0] == "Zola, émile")
    assert zola[1:] != ["$0.00", "$0.00"]  # amounts are listed too
    window.close()
    window.clinic.close()


def test_after_the_hand_over_everything_works(qtbot, busy_url, with_modal):
    _, window = start_window(busy_url, demo=False)
    qtbot.addWidget(window)
    view = window.patient_view
    # Chosen while the clinic opens: kept once it is open.
    row = next(r for r, texts in enumerate(_texts(view.model())) if texts[0] == "de la Cruz, Maria")
    rect = view.visualRect(view.model().index(row, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.is_ready, timeout=10_000)
    assert window.name_label.text() == "Maria de la Cruz"
    assert window.outstanding_label.text().endswith("$80.50")

    qtbot.keyClicks(window.search_edit, "zola")
    qtbot.waitUntil(lambda: window.patient_model.rowCount() == 1)
    assert window.name_label.text() == "émile Zola"

    def pay(dialog: QDialog) -> None:
        assert isinstance(dialog, PaymentDialog)
        dialog.reject()

    with_modal(pay)
    invoice = window.invoice_model.index(0, 0)
    window.invoice_view.activated.emit(invoice)  # Enter or a double-click on the open invoice
    window.close()
    window.clinic.close()


@pytest.mark.usefixtures("quick_hashes")
def test_a_clinic_with_staff_asks_who_signs_in_before_any_patient(qtbot, new_sqlite_url):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        staff_team(clinic, (Role.ADMINISTRATOR, Role.RECEPTIONIST), sign_in=False)
        clinic.add_patient("Ada", "Lovelace")
    _, window = start_window(url, demo=False)
    qtbot.addWidget(window)
    dialog = window.sign_in_dialog
    assert isinstance(dialog, SignInDialog) and dialog.isVisible()  # at once
    assert dialog.windowTitle() == "Sign in to My Clinic"
    assert window.patient_view.model() is None and not window.patients_listed
    qtbot.keyClicks(dialog.username_edit, "desk")
    qtbot.keyClicks(dialog.password_edit, STAFF_PASSWORD)
    qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.is_ready, timeout=10_000)
    assert window.patient_view.model() is window.patient_model
    assert window.patient_model.rowCount() == 1 and window.name_label.text() == "Ada Lovelace"
    assert window.clinic.staff_member.username == "desk"
    window.close()
    window.clinic.close()


class _FirstSignInPaint(QObject):
    """Notes, in ``events``, the sign-in window's first paint and where it was painted."""

    def __init__(self, events: list[str]) -> None:
        super().__init__()
        self.events = events
        self.where: QPoint | None = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if (
            self.where is None
            and event.type() == QEvent.Type.Paint
            and isinstance(watched, SignInDialog)
        ):
            self.where = watched.pos()
            self.events.append("sign-in painted")
        return False


@pytest.mark.usefixtures("quick_hashes")
def test_the_sign_in_window_is_painted_before_the_main_window_is_built(
    qtbot, new_sqlite_url, monkeypatch
):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        clinic.add_staff("admin", "Practice Manager", Role.ADMINISTRATOR, STAFF_PASSWORD)
    events: list[str] = []

    class Recorded(main_window.MainWindow):
        def __init__(self, *args: object) -> None:
            events.append("main window built")
            super().__init__(*args)

    monkeypatch.setattr(main_window, "MainWindow", Recorded)
    painted = _FirstSignInPaint(events)
    QApplication.instance().installEventFilter(painted)
    try:
        _, window = start_window(url, demo=False)
    finally:
        QApplication.instance().removeEventFilter(painted)
    qtbot.addWidget(window)
    assert events == ["sign-in painted", "main window built"]
    dialog = window.sign_in_dialog
    assert isinstance(dialog, SignInDialog) and dialog.isVisible() and window.isVisible()
    # Then the main window's own, as any window it asks for: modal to it, and not moved.
    assert dialog.parent() is window and dialog.isModal()
    assert dialog.windowModality() == Qt.WindowModality.WindowModal
    assert dialog.pos() == painted.where
    assert window.patient_view.model() is None
    dialog.reject()
    qtbot.waitUntil(lambda: not window.isVisible())  # cancelling closes the app


@pytest.mark.usefixtures("quick_hashes")
def test_signing_in_before_the_clinic_opens_opens_it(qtbot, new_sqlite_url):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        clinic.add_staff("admin", "Practice Manager", Role.ADMINISTRATOR, STAFF_PASSWORD)
    _, window = start_window(url, demo=False)
    qtbot.addWidget(window)
    dialog = window.sign_in_dialog
    assert isinstance(dialog, SignInDialog)
    dialog.username_edit.setText("admin")
    dialog.password_edit.setText(STAFF_PASSWORD)
    assert dialog.try_sign_in()  # at once, before the event loop turned
    qtbot.waitUntil(lambda: window.is_ready, timeout=10_000)
    assert window.clinic.staff_member.username == "admin"
    window.close()
    window.clinic.close()
