"""The main window's patient actions: edit the shown patient's details, archive or restore them,
and merge a duplicate into another patient.

Each is enabled only for a role that may do it (the core refuses the rest anyway): editing,
archiving and restoring need ``Permission.PATIENTS``; merging needs ``Permission.MERGE``
(administrators and bookkeepers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from desktop_app.core import BillingError, Permission, PermissionDenied
from desktop_app.ui.dialogs.patient_dialog import PatientDialog

if TYPE_CHECKING:
    from desktop_app.core import PatientRecord
    from desktop_app.ui.dialogs.merge_dialog import MergeDialog
    from desktop_app.ui.main_window import MainWindow


class PatientActions(QObject):
    """Edit patient, Archive patient, Restore patient and Merge duplicate for one window."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window

        def action(text: str, slot: Callable[[], object]) -> QAction:
            act = QAction(text, window)
            act.triggered.connect(lambda _checked=False: slot())
            act.setEnabled(False)
            return act

        self.edit_action = action("Edit patient &details…", self.edit_patient)
        self.archive_action = action("Arc&hive patient…", self.archive_patient)
        self.restore_action = action("Rest&ore patient", self.restore_patient)
        self.merge_action = action("Mer&ge duplicate…", self.merge_duplicate)

    @property
    def actions(self) -> list[QAction]:
        """Every patient action, in menu order."""
        return [self.edit_action, self.archive_action, self.restore_action, self.merge_action]

    def update(self, patient: PatientRecord | None, permissions: frozenset[Permission]) -> None:
        """Enable the actions for the shown ``patient`` and what the role may do."""
        may_change = patient is not None and Permission.PATIENTS in permissions
        # A merged record's details are the kept patient's business now: edit those instead.
        self.edit_action.setEnabled(
            may_change and patient is not None and patient.merged_into is None
        )
        self.archive_action.setEnabled(may_change and patient is not None and not patient.archived)
        self.restore_action.setEnabled(
            may_change and patient is not None and patient.archived and patient.merged_into is None
        )
        self.merge_action.setEnabled(Permission.MERGE in permissions)

    # -- the actions --------------------------------------------------------------------------

    def edit_dialog(self) -> PatientDialog | None:
        """The Edit patient dialog for the shown patient (not yet shown)."""
        window = self._window
        if window.patient_id is None:
            return None
        return PatientDialog(
            window.clinic, window, patient=window.clinic.patient(window.patient_id)
        )

    def edit_patient(self) -> bool:
        """Edit the shown patient's names and details; True when something was saved."""
        dialog = self.edit_dialog()
        if dialog is None or not dialog.exec() or dialog.patient_id is None:
            return False
        if not dialog.changed:
            return False
        window = self._window
        window.refresh_after_change()
        name = window.clinic.patient(dialog.patient_id).full_name
        window.statusBar().showMessage(f"{name}'s details saved.", 10000)
        return True

    def archive_patient(self) -> bool:
        """Ask for a reason and archive the shown patient; a refusal (credit still held, money
        still owed) is shown as the core words it. True when archived."""
        from desktop_app.ui.dialogs.archive_dialog import ArchiveDialog  # loaded on first use

        window = self._window
        pid = window.patient_id
        if pid is None:
            return False
        name = window.clinic.patient(pid).full_name
        dialog = ArchiveDialog(name, window)
        if not dialog.exec():
            return False
        try:
            window.clinic.archive_patient(pid, reason=dialog.reason)
        except (BillingError, PermissionDenied) as exc:
            QMessageBox.warning(window, "Archive patient", str(exc))
            return False
        window.after_archive(pid)
        hint = "" if window.show_archived_check.isChecked() else " Show archived lists them."
        window.statusBar().showMessage(f"{name} archived.{hint}", 10000)
        return True

    def restore_patient(self) -> bool:
        """Bring the shown (archived) patient back to the list; True when restored."""
        window = self._window
        pid = window.patient_id
        if pid is None:
            return False
        try:
            window.clinic.restore_patient(pid)
        except (BillingError, PermissionDenied) as exc:
            QMessageBox.warning(window, "Restore patient", str(exc))
            return False
        window.refresh_after_change()
        name = window.clinic.patient(pid).full_name
        window.statusBar().showMessage(f"{name} restored to the patient list.", 10000)
        return True

    def merge_dialog(self) -> MergeDialog:
        """The Merge duplicate window, the shown patient picked as the one kept (not shown)."""
        from desktop_app.ui.dialogs.merge_dialog import MergeDialog  # loaded on first use

        window = self._window
        return MergeDialog(window.clinic, window.formatter, window.patient_id, window)

    def merge_duplicate(self) -> bool:
        """Merge a duplicate into the patient kept, then show the kept patient."""
        dialog = self.merge_dialog()
        if not dialog.exec() or dialog.kept_id is None:
            return False
        window = self._window
        window.refresh_after_change()
        window.select_patient(dialog.kept_id)
        window.statusBar().showMessage("The duplicate was merged and archived.", 10000)
        return True
