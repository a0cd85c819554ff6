"""Start-up: the window appears at once, then the clinic opens and fills it."""

from PySide6.QtWidgets import QMessageBox

from desktop_app.app import start_window
from desktop_app.core import Clinic


def test_window_shows_first_then_fills_with_the_demo_clinic(qtbot, new_sqlite_url):
    _, window = start_window(new_sqlite_url(), demo=True)
    qtbot.addWidget(window)
    assert window.isVisible() and not window.is_ready
    assert "Opening the clinic's database" in window.statusBar().currentMessage()
    assert not window.new_patient_action.isEnabled()
    qtbot.waitUntil(lambda: window.is_ready, timeout=10_000)
    assert window.patient_model.rowCount() == 40
    assert window.windowTitle() == "Clinic Ledger: Harbour Physiotherapy"
    assert window.name_label.text() != "No patient selected"
    assert window.new_patient_action.isEnabled()
    window.clinic.close()


def test_a_database_that_cannot_open_is_explained(qtbot, with_modal):
    shown: list[str] = []

    def read(box) -> None:
        assert isinstance(box, QMessageBox)
        shown.append(box.text())
        box.accept()

    with_modal(read)
    _, window = start_window("mysql://nowhere/clinic", demo=False)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    assert "could not be opened" in shown[0] and "Unsupported database" in shown[0]
    qtbot.waitUntil(lambda: not window.isVisible())
    assert not window.is_ready and "Unsupported database" in (window.open_error or "")


def test_window_opens_a_clinic_on_postgresql(qtbot, pg_databases):
    url = pg_databases.new()
    with Clinic.open(url) as clinic:
        pid = clinic.add_patient("Grace", "Hopper")
        clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "25"}), "p")
    _, window = start_window(url, demo=False)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.is_ready, timeout=10_000)
    assert window.name_label.text() == "Grace Hopper"
    assert window.credit_label.text().endswith("$25.00")
    assert "postgresql+psycopg://" in window.statusBar().currentMessage()
    window.close()  # before the clinic closes: a repaint must not open a new connection
    window.clinic.close()
