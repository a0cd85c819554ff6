"""Back up and restore from the File menu: choosing the file, confirming, showing the outcome.

The work is done by the clinic (``clinic.backup``, ``clinic.restore``: administrators only, see
:mod:`desktop_app.core.interchange.backup`); this module asks the questions. File choices use
Qt's own (non-native) file dialog, so the window tests can drive it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QWidget

from desktop_app.core import (
    BackupResult,
    BillingError,
    Permission,
    PermissionDenied,
    RestoreResult,
    ServerBackupError,
    sqlite_database_path,
    suggested_backup_name,
)

if TYPE_CHECKING:
    from desktop_app.core import Clinic

BACKUP_TITLE = "Back up"
RESTORE_TITLE = "Restore from backup"
NAME_FILTERS = ["Clinic Ledger backups (*.db)", "All files (*)"]


def backup_folder() -> Path:
    """Where a backup is suggested: the person's Documents folder, or their home folder when
    there is none."""
    import platformdirs  # small, and only when a backup is asked for

    documents = Path(platformdirs.user_documents_dir())
    return documents if documents.is_dir() else Path.home()


def file_dialog(parent: QWidget, database: Path, *, saving: bool) -> QFileDialog:
    """A non-native file dialog for a backup: where to save one, or which one to restore."""
    dialog = QFileDialog(parent, BACKUP_TITLE if saving else RESTORE_TITLE, str(backup_folder()))
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dialog.setNameFilters(NAME_FILTERS)
    if saving:
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setDefaultSuffix("db")
        dialog.selectFile(suggested_backup_name(database))
    else:
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    return dialog


def choose_file(parent: QWidget, database: Path, *, saving: bool) -> Path | None:
    """Ask for a backup file; None when the receptionist cancels."""
    dialog = file_dialog(parent, database, saving=saving)
    if not dialog.exec() or not dialog.selectedFiles():
        return None
    return Path(dialog.selectedFiles()[0])


@contextmanager
def _busy() -> Iterator[None]:
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()


def clinic_file(parent: QWidget, clinic: Clinic, title: str) -> Path | None:
    """The clinic's SQLite file; for a PostgreSQL server, None after showing how to back it up,
    and None after saying so when the signed-in role may not back up or restore."""
    try:
        if not clinic.may(Permission.BACKUP):  # asked before any file is chosen
            raise PermissionDenied(_not_allowed(clinic))
        return sqlite_database_path(clinic)
    except ServerBackupError as exc:
        QMessageBox.information(parent, title, str(exc))
    except (BillingError, PermissionDenied) as exc:
        QMessageBox.warning(parent, title, str(exc))
    return None


def _not_allowed(clinic: Clinic) -> str:
    staff = clinic.staff_member
    who = "This account" if staff is None else f"{staff.full_name} ({staff.role.label.lower()})"
    return (
        f"{who} is not allowed to {Permission.BACKUP.value}: a backup holds every patient's "
        "billing and the staff password hashes, so only an administrator backs up or restores."
    )


def back_up(
    parent: QWidget, clinic: Clinic, choose: Callable[[Path], Path | None]
) -> BackupResult | None:
    """Ask where, back up, and show what the check of the copy found."""
    database = clinic_file(parent, clinic, BACKUP_TITLE)
    if database is None:
        return None
    destination = choose(database)
    if destination is None:
        return None
    try:
        with _busy():
            result = clinic.backup(destination)
    except (BillingError, PermissionDenied) as exc:
        QMessageBox.warning(parent, BACKUP_TITLE, f"The backup was not made.\n\n{exc}")
        return None
    if result.ok:
        QMessageBox.information(parent, BACKUP_TITLE, result.describe())
    else:
        QMessageBox.warning(parent, BACKUP_TITLE, result.describe())
    return result


def confirm_restore(parent: QWidget, backup: Path, database: Path) -> bool:
    """Ask before replacing the clinic's data (Yes/No, No by default)."""
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        RESTORE_TITLE,
        f"Replace the clinic's data with the backup {backup.name}?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        parent,
    )
    box.setInformativeText(
        "Everything saved since that backup was made will no longer show. The current data is "
        f"kept as a copy next to {database.name} in {database.parent}, so nothing is lost.\n\n"
        "Close Clinic Ledger on any other window using this database first."
    )
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes


def restore(
    parent: QWidget, clinic: Clinic, choose: Callable[[Path], Path | None]
) -> tuple[RestoreResult, Clinic] | None:
    """Ask which backup, confirm, close ``clinic``, restore and reopen the clinic.

    Returns the outcome and the reopened clinic, or None when nothing was restored (``clinic`` is
    then still usable: closing only released its connections).
    """
    from desktop_app.core import Clinic

    database = clinic_file(parent, clinic, RESTORE_TITLE)
    if database is None:
        return None
    backup = choose(database)
    if backup is None or not confirm_restore(parent, backup, database):
        return None
    url = clinic.url
    try:
        with _busy():
            result = clinic.restore(backup)  # closes the clinic's connections first
    except (BillingError, PermissionDenied) as exc:
        QMessageBox.warning(parent, RESTORE_TITLE, f"Nothing was restored.\n\n{exc}")
        return None
    try:
        reopened = Clinic.open(url)
    except (BillingError, ValueError) as exc:
        QMessageBox.critical(
            parent,
            RESTORE_TITLE,
            f"{result.describe()}\n\nThe clinic could not be reopened ({exc}): close Clinic "
            "Ledger and start it again.",
        )
        return None
    QMessageBox.information(parent, RESTORE_TITLE, result.describe())
    return result, reopened
