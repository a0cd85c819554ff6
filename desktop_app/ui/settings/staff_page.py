"""Settings > Staff (administrators): the staff accounts, adding one, changing a role, enabling or
disabling an account and resetting a password; and the "Change my password" window.

Each button saves at once (the core checks it, and keeps one active administrator); the page
shows the core's refusal when there is one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BillingError, Role, StaffMember
from desktop_app.ui.style import set_tone
from desktop_app.ui.window_fit import grow_to_fit

if TYPE_CHECKING:
    from desktop_app.core import Clinic

COLUMNS = ("Sign-in name", "Full name", "Role", "Can sign in")


def _password_edit(name: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setAccessibleName(name)
    return edit


def _roles() -> QComboBox:
    combo = QComboBox()
    for role in Role:
        combo.addItem(role.label, role)
    return combo


class StaffPage(QWidget):
    """The staff accounts and what an administrator does with them."""

    def __init__(self, clinic: Clinic, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self.members: list[StaffMember] = []
        layout = QVBoxLayout(self)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setAccessibleName("Staff accounts")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        selected = QHBoxLayout()
        self.role_combo = _roles()
        self.role_combo.setAccessibleName("Role of the selected account")
        self.role_button = QPushButton("Set &role")
        self.role_button.clicked.connect(self._on_role_clicked)
        self.active_button = QPushButton("&Disable")
        self.active_button.clicked.connect(self._on_active_clicked)
        self.reset_edit = _password_edit("New password for the selected account")
        self.reset_edit.setPlaceholderText("new password")
        self.reset_button = QPushButton("Reset &password")
        self.reset_button.clicked.connect(self._on_reset_clicked)
        for widget in (
            self.role_combo,
            self.role_button,
            self.active_button,
            self.reset_edit,
            self.reset_button,
        ):
            selected.addWidget(widget)
        layout.addLayout(selected)
        layout.addWidget(QLabel("Add a staff member:"))
        form = QFormLayout()
        self.new_full_name = QLineEdit()
        self.new_full_name.setAccessibleName("New staff member's full name")
        self.new_username = QLineEdit()
        self.new_username.setAccessibleName("New staff member's sign-in name")
        self.new_role = _roles()
        self.new_role.setAccessibleName("New staff member's role")
        self.new_role.setCurrentIndex(self.new_role.findData(Role.RECEPTIONIST))
        self.new_password = _password_edit("New staff member's password")
        form.addRow("Full &name:", self.new_full_name)
        form.addRow("Sign-in na&me:", self.new_username)
        form.addRow("R&ole:", self.new_role)
        form.addRow("Pass&word:", self.new_password)
        layout.addLayout(form)
        self.add_button = QPushButton("&Add staff member")
        self.add_button.clicked.connect(self._on_add_clicked)
        layout.addWidget(self.add_button)
        saved_now = QLabel("Each button on this page saves at once (OK and Cancel do not undo it).")
        saved_now.setWordWrap(True)
        layout.addWidget(saved_now)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        layout.addWidget(self.message_label)
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.reload()

    def reload(self) -> None:
        """Read the staff accounts again."""
        self.members = self._clinic.staff_members()
        self.table.setRowCount(0)
        for member in self.members:
            row = self.table.rowCount()
            self.table.insertRow(row)
            for column, text in enumerate(
                (
                    member.username,
                    member.full_name,
                    member.role.label,
                    "yes" if member.active else "no",
                )
            ):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self._on_selection_changed()

    def selected(self) -> StaffMember | None:
        """The account selected in the table."""
        rows = self.table.selectionModel().selectedRows()
        return self.members[rows[0].row()] if rows else None

    def _say(self, text: str, tone: str) -> None:
        self.message_label.setText(text)
        set_tone(self.message_label, tone)

    def _act(self, action: str, call: object) -> bool:
        try:
            assert callable(call)
            call()
        except BillingError as exc:
            self._say(str(exc), "problem")
            return False
        keep = self.selected()
        self.reload()
        if keep is not None:
            for row, member in enumerate(self.members):
                if member.id == keep.id:
                    self.table.selectRow(row)
        self._say(action, "done")
        return True

    # -- slots ------------------------------------------------------------------------------

    def _on_selection_changed(self) -> None:
        member = self.selected()
        for widget in (self.role_combo, self.role_button, self.active_button, self.reset_edit):
            widget.setEnabled(member is not None)
        self.reset_button.setEnabled(member is not None)
        if member is not None:
            self.role_combo.setCurrentIndex(self.role_combo.findData(member.role))
            self.active_button.setText("&Disable" if member.active else "&Enable")

    def _on_role_clicked(self) -> None:
        member = self.selected()
        if member is not None:
            role = Role(self.role_combo.currentData())
            self._act(
                f"{member.full_name} is now a {role.label.lower()}.",
                lambda: self._clinic.update_staff(member.username, role=role),
            )

    def _on_active_clicked(self) -> None:
        member = self.selected()
        if member is not None:
            state = "can sign in again" if not member.active else "can no longer sign in"
            self._act(
                f"{member.full_name} {state}.",
                lambda: self._clinic.update_staff(member.username, active=not member.active),
            )

    def _on_reset_clicked(self) -> None:
        member = self.selected()
        if member is not None:
            password = self.reset_edit.text()
            self.reset_edit.clear()
            self._act(
                f"{member.full_name}'s password is reset; tell them in person.",
                lambda: self._clinic.reset_password(member.username, password),
            )

    def _on_add_clicked(self) -> None:
        password = self.new_password.text()
        self.new_password.clear()
        if self._act(
            "Staff member added.",
            lambda: self._clinic.add_staff(
                self.new_username.text(),
                self.new_full_name.text(),
                Role(self.new_role.currentData()),
                password,
            ),
        ):
            self.new_username.clear()
            self.new_full_name.clear()


class ChangePasswordDialog(QDialog):
    """The signed-in staff member changes their own password (the current one is checked)."""

    def __init__(self, clinic: Clinic, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self.setWindowTitle("Change my password")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.current_edit = _password_edit("Current password")
        self.new_edit = _password_edit("New password")
        self.repeat_edit = _password_edit("New password again")
        form.addRow("&Current password:", self.current_edit)
        form.addRow("&New password:", self.new_edit)
        form.addRow("&Again:", self.repeat_edit)
        layout.addLayout(form)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        set_tone(self.message_label, "problem")
        layout.addWidget(self.message_label)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.change)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def change(self) -> bool:
        """Change the password; True (and the window closes) when it worked."""
        current, new, repeat = (
            e.text() for e in (self.current_edit, self.new_edit, self.repeat_edit)
        )
        for edit in (self.current_edit, self.new_edit, self.repeat_edit):
            edit.clear()
        if new != repeat:
            self.message_label.setText("The two new passwords differ; type the same one twice.")
            return False
        try:
            self._clinic.change_password(current, new)
        except BillingError as exc:
            self.message_label.setText(str(exc))
            grow_to_fit(self)
            return False
        self.accept()
        return True
