"""File > Back up… and File > Restore from backup…, as a receptionist uses them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QMessageBox, QWidget

from desktop_app.core import Clinic
from desktop_app.ui.main_window import MainWindow
from tests.helpers import STAFF_PASSWORD, staff_team

Answer = Callable[[QWidget], None]


# ``answer`` (tests/ui/conftest.py) answers the next modal dialogs in turn, failing within
# seconds if one never opens, and returns the texts of the message boxes it saw.


def ok(box: QWidget) -> None:
    assert isinstance(box, QMessageBox)
    box.accept()


def click(button: QMessageBox.StandardButton) -> Answer:
    def press(box: QWidget) -> None:
        assert isinstance(box, QMessageBox)
        box.button(button).click()

    return press


def make_window(qtbot, clinic: Clinic) -> MainWindow:
    window = MainWindow(clinic)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_back_up_from_the_file_menu(qtbot, clinic, tmp_path, answer):
    clinic.add_patient("Ada", "Lovelace")
    window = make_window(qtbot, clinic)
    chosen = tmp_path / "friday.db"
    asked: list[Path] = []
    window._choose_backup_path = lambda database: asked.append(database) or chosen
    file_menu = window.menuBar().actions()[0].menu()
    assert {"&Back up…", "&Restore from backup…"} <= {a.text() for a in file_menu.actions()}

    texts = answer(ok)
    window.backup_action.trigger()

    assert asked == [Path(clinic.url.removeprefix("sqlite:///")).resolve()]
    assert chosen.exists()
    assert texts and f"Backed up 1 patient and 0 invoices to {chosen}" in texts[0]
    assert "it opens, and every balance, credit and payment adds up" in texts[0]
    with Clinic.open(f"sqlite:///{chosen}") as copy:
        assert [copy.patient(p).full_name for p in copy.patient_ids()] == ["Ada Lovelace"]


def test_cancelling_the_file_choice_does_nothing(qtbot, clinic, tmp_path):
    window = make_window(qtbot, clinic)
    window._choose_backup_path = lambda _database: None
    window._choose_restore_path = lambda _database: None
    assert window.back_up() is None
    assert window.restore_from_backup() is None
    assert window.clinic is clinic and QApplication.activeModalWidget() is None


def test_restore_after_confirmation_shows_the_backed_up_clinic(qtbot, clinic, tmp_path, answer):
    clinic.add_patient("Ada", "Lovelace")
    window = make_window(qtbot, clinic)
    backup = tmp_path / "monday.db"
    window._choose_backup_path = lambda _database: backup
    answer(ok)
    window.backup_action.trigger()
    clinic.add_patient("Grace", "Hopper")
    window.patient_model.reload()
    assert window.patient_model.rowCount() == 2
    window._choose_restore_path = lambda _database: backup

    texts = answer(click(QMessageBox.StandardButton.Yes), ok)
    window.restore_action.trigger()

    assert "Replace the clinic's data with the backup monday.db?" in texts[0]
    assert "current data is kept as a copy" in texts[0]
    assert f"Restored 1 patient and 0 invoices from {backup}" in texts[1]
    assert "before the restore is saved as" in texts[1]
    assert window.clinic is not clinic  # reopened on the restored file
    assert window.patient_model.rowCount() == 1
    assert window.name_label.text() == "Ada Lovelace"
    assert window.clinic.verify() == []
    (kept,) = Path(clinic.url.removeprefix("sqlite:///")).parent.glob("*.before-restore-*.db")
    assert f"saved as {kept}." in texts[1]
    with Clinic.open(f"sqlite:///{kept}") as previous:
        assert len(previous.patient_ids()) == 2
    window.clinic.close()


def test_restore_defaults_to_no_and_enter_keeps_the_data(qtbot, clinic, tmp_path, answer):
    clinic.add_patient("Ada", "Lovelace")
    window = make_window(qtbot, clinic)
    backup = tmp_path / "b.db"
    window._choose_backup_path = lambda _database: backup
    answer(ok)
    window.back_up()
    clinic.add_patient("Grace", "Hopper")
    window._choose_restore_path = lambda _database: backup
    defaults: list[bool] = []

    def press_enter(box: QWidget) -> None:
        assert isinstance(box, QMessageBox)
        defaults.append(box.defaultButton() is box.button(QMessageBox.StandardButton.No))
        qtbot.keyClick(box, Qt.Key.Key_Return)

    answer(press_enter)
    assert window.restore_from_backup() is None
    assert defaults == [True]
    assert window.clinic is clinic and len(clinic.patient_ids()) == 2
    assert not list(Path(clinic.url.removeprefix("sqlite:///")).parent.glob("*.before-restore-*"))


def test_a_bad_backup_is_explained_and_the_clinic_keeps_working(qtbot, clinic, tmp_path, answer):
    clinic.add_patient("Ada", "Lovelace")
    window = make_window(qtbot, clinic)
    notes = tmp_path / "notes.db"
    notes.write_text("not a database", encoding="utf-8")
    window._choose_restore_path = lambda _database: notes

    texts = answer(click(QMessageBox.StandardButton.Yes), ok)
    window.restore_action.trigger()

    assert texts[1].startswith("Nothing was restored.") and "not a database file" in texts[1]
    pid = window.clinic.add_patient("Grace", "Hopper")  # the closed clinic reconnects
    window.patient_model.reload()
    window.select_patient(pid)
    assert window.name_label.text() == "Grace Hopper"


def test_back_up_asks_with_qt_file_dialog_suggesting_a_dated_name(
    qtbot, clinic, tmp_path, with_modal
):
    window = make_window(qtbot, clinic)
    database = Path(clinic.url.removeprefix("sqlite:///"))
    seen: list[tuple[bool, bool, str]] = []
    target = tmp_path / "chosen.db"

    def choose(dialog: QDialog) -> None:
        assert isinstance(dialog, QFileDialog)
        seen.append(
            (
                dialog.testOption(QFileDialog.Option.DontUseNativeDialog),
                dialog.acceptMode() == QFileDialog.AcceptMode.AcceptSave,
                Path(dialog.selectedFiles()[0]).name,
            )
        )
        dialog.selectFile(str(target))
        dialog.accept()

    with_modal(choose)
    assert window._choose_backup_path(database) == target
    assert seen == [(True, True, f"{database.stem}-backup-{date.today().isoformat()}.db")]

    with_modal(lambda dialog: dialog.reject())
    assert window._choose_restore_path(database) is None


def test_actions_wait_for_the_clinic_to_open(qtbot):
    window = MainWindow(None)
    qtbot.addWidget(window)
    assert not window.backup_action.isEnabled() and not window.restore_action.isEnabled()


def test_a_clinic_server_gets_guidance_instead(qtbot, pg_databases, answer):
    with Clinic.open(pg_databases.new()) as clinic:
        clinic.add_patient("Ada", "Lovelace")
        window = make_window(qtbot, clinic)
        asked: list[Path] = []
        window._choose_backup_path = window._choose_restore_path = asked.append
        for act in (window.backup_action, window.restore_action):
            texts = answer(ok)
            act.trigger()
            assert "pg_dump --format=custom --file=clinic.dump" in texts[0]
            assert "pg_restore --clean --if-exists" in texts[0]
        assert asked == [] and window.clinic is clinic
        window.close()  # before the clinic closes: a repaint must not open a new connection


def test_only_an_administrator_backs_up_or_restores(
    qtbot, new_sqlite_url, tmp_path, answer, quick_hashes
):
    from desktop_app.core import Role
    from desktop_app.core.interchange.backup import backup_database

    url = new_sqlite_url()
    with Clinic.open(url) as owner:
        owner.add_patient("Ada", "Lovelace")
        staff_team(owner, (Role.ADMINISTRATOR, Role.RECEPTIONIST, Role.BOOKKEEPER), sign_in=False)
        backup = backup_database(owner, tmp_path / "monday.db").path
    chosen = tmp_path / "taken-home.db"
    asked: list[Path] = []
    for name in ("desk", "books"):
        window = make_window(qtbot, Clinic.open(url).sign_in(name, STAFF_PASSWORD))
        assert not window.backup_action.isEnabled()
        assert not window.restore_action.isEnabled()
        window._choose_backup_path = lambda database: asked.append(database) or chosen
        window._choose_restore_path = lambda database: asked.append(database) or backup
        for act in (window.back_up, window.restore_from_backup):
            texts = answer(ok)
            assert act() is None
            assert "not allowed to back up or restore the clinic's database" in texts[0]
        window.close()
        window.clinic.close()
    assert asked == [] and not chosen.exists()
    assert not list(Path(url.removeprefix("sqlite:///")).parent.glob("*.before-restore-*"))
    window = make_window(qtbot, Clinic.open(url).sign_in("admin", STAFF_PASSWORD))
    assert window.backup_action.isEnabled() and window.restore_action.isEnabled()
    window.close()
    window.clinic.close()


def test_after_a_restore_the_window_asks_who_goes_on(qtbot, new_sqlite_url, tmp_path, answer):
    """A restore reopens the file as its owner; with staff accounts in the restored ledger the
    window hides the patients until someone signs in, instead of carrying on with every right."""
    from desktop_app.core import Role

    url = new_sqlite_url()
    with Clinic.open(url) as owner:
        owner.add_patient("Ada", "Lovelace")
        staff_team(owner, (Role.ADMINISTRATOR,), sign_in=False)  # its administrator only
    window = make_window(qtbot, Clinic.open(url).sign_in("admin", STAFF_PASSWORD))
    backup = tmp_path / "monday.db"
    window._choose_backup_path = lambda _database: backup
    answer(ok)
    window.backup_action.trigger()
    window._choose_restore_path = lambda _database: backup
    answer(click(QMessageBox.StandardButton.Yes), ok)
    window.restore_action.trigger()

    assert window.is_locked and not window.centralWidget().isVisible()
    dialog = window.sign_in_dialog
    assert dialog is not None and dialog.isVisible()
    assert "The backup was restored" in " ".join(
        label.text() for label in dialog.findChildren(type(window.name_label))
    )
    dialog.reject()  # nobody signs in: the window closes
    assert not window.isVisible()
    window.clinic.close()


def test_back_up_suggests_the_documents_folder(qtbot, clinic, tmp_path, monkeypatch, with_modal):
    import platformdirs

    documents = tmp_path / "Documents"
    documents.mkdir()
    monkeypatch.setattr(platformdirs, "user_documents_dir", lambda: str(documents))
    monkeypatch.setattr(Path, "home", lambda: tmp_path / "home")
    window = make_window(qtbot, clinic)
    file_menu = window.menuBar().actions()[0].menu()
    back_up = next(a for a in file_menu.actions() if a.text() == "&Back up…")
    folders: list[Path] = []

    def look(dialog: QDialog) -> None:
        assert isinstance(dialog, QFileDialog)
        folders.append(Path(dialog.directory().absolutePath()))
        dialog.reject()

    with_modal(look)
    back_up.trigger()
    assert folders == [documents]

    # Without a Documents folder, the home folder.
    documents.rmdir()
    (tmp_path / "home").mkdir()
    with_modal(look)
    back_up.trigger()
    assert folders[1:] == [tmp_path / "home"]
