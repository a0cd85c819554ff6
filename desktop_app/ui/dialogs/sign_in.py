"""Signing in: the sign-in window at start and when the app is locked, and the first run's
"create the administrator" window.

Both hand back a clinic bound to the staff member (``signed_in``); the core checks the password
and slows guessing, and these windows only show its answer. The password field is cleared after
every try.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BillingError, Role
from desktop_app.ui.style import PROBLEM_TONE, set_tone
from desktop_app.ui.window_fit import grow_to_fit

if TYPE_CHECKING:
    from desktop_app.core import Clinic


def _password_edit(name: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setAccessibleName(name)
    return edit


def _refuse(dialog: QDialog, label: QLabel, text: str) -> None:
    """Show a refusal in ``label``, the dialog growing (up to the screen) to show all of it."""
    label.setText(text)
    grow_to_fit(dialog)


def _message_and_buttons(
    dialog: QDialog, layout: QVBoxLayout, ok_text: str, on_ok: Callable[[], object]
) -> QLabel:
    """The refusal line and the OK (named ``ok_text``) and Cancel buttons; returns the line."""
    message = QLabel()
    message.setWordWrap(True)
    set_tone(message, PROBLEM_TONE)
    layout.addWidget(message)
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
    buttons.accepted.connect(on_ok)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    return message


class SignInDialog(QDialog):
    """Sign-in name and password; OK signs in, Cancel (at start) closes the app."""

    def __init__(
        self,
        clinic: Clinic | None,
        parent: QWidget | None = None,
        *,
        username: str = "",
        reason: str = "",
        clinic_name: str = "",
        open_clinic: Callable[[], object] | None = None,
    ) -> None:
        """``clinic`` may be None at start-up, while the clinic opens (``clinic_name`` then
        names it): :meth:`set_clinic` gives it once open, and signing in before that calls
        ``open_clinic`` to open it at once."""
        super().__init__(parent)
        self._clinic = clinic
        self._open_clinic = open_clinic
        #: The clinic bound to whoever signed in (set once OK succeeds).
        self.signed_in: Clinic | None = None
        self.setWindowTitle(f"Sign in to {clinic.clinic_name if clinic else clinic_name}")
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        if reason:
            note = QLabel(reason)
            note.setWordWrap(True)
            layout.addWidget(note)
        form = QFormLayout()
        self.username_edit = QLineEdit(username)
        self.username_edit.setAccessibleName("Sign-in name")
        self.password_edit = _password_edit("Password")
        form.addRow("&Name:", self.username_edit)
        form.addRow("&Password:", self.password_edit)
        layout.addLayout(form)
        self.message_label = _message_and_buttons(self, layout, "&Sign in", self.try_sign_in)
        (self.password_edit if username else self.username_edit).setFocus()

    def set_clinic(self, clinic: Clinic) -> None:
        """The clinic to sign in to, once it is open (the window was shown before)."""
        self._clinic = clinic

    def try_sign_in(self) -> bool:
        """Sign in with what is typed; True (and the window closes) when it worked."""
        if self._clinic is None and self._open_clinic is not None:
            self._open_clinic()  # sets the clinic, or explains why it cannot open
        if self._clinic is None:
            _refuse(self, self.message_label, "The clinic's database is not open.")
            return False
        password = self.password_edit.text()
        self.password_edit.clear()
        try:
            self.signed_in = self._clinic.sign_in(self.username_edit.text(), password)
        except BillingError as exc:
            _refuse(self, self.message_label, str(exc))
            self.password_edit.setFocus()
            return False
        self.accept()
        return True


class FirstRunDialog(QDialog):
    """A new clinic's first run: create the administrator account, then work signed in as them."""

    def __init__(self, clinic: Clinic, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self.signed_in: Clinic | None = None
        self.setWindowTitle("Create the administrator")
        layout = QVBoxLayout(self)
        intro = QLabel(
            "This clinic has no staff accounts yet. Create the administrator's account: they "
            "change settings and add the other staff, each with a role (bookkeeper, "
            "receptionist, practitioner)."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.full_name_edit = QLineEdit()
        self.full_name_edit.setAccessibleName("Full name")
        self.username_edit = QLineEdit()
        self.username_edit.setAccessibleName("Sign-in name")
        self.username_edit.setPlaceholderText("e.g. jsmith")
        self.password_edit = _password_edit("Password")
        self.repeat_edit = _password_edit("Password again")
        form.addRow("&Full name:", self.full_name_edit)
        form.addRow("Sign-in &name:", self.username_edit)
        form.addRow("&Password:", self.password_edit)
        form.addRow("&Again:", self.repeat_edit)
        layout.addLayout(form)
        self.message_label = _message_and_buttons(
            self, layout, "&Create and sign in", self.create_administrator
        )

    def create_administrator(self) -> bool:
        """Create the administrator and sign in; True when it worked (reason shown otherwise)."""
        password, repeat = self.password_edit.text(), self.repeat_edit.text()
        if password != repeat:
            _refuse(self, self.message_label, "The two passwords differ; type the same one twice.")
            self.repeat_edit.clear()
            return False
        try:
            member = self._clinic.add_staff(
                self.username_edit.text(),
                self.full_name_edit.text(),
                Role.ADMINISTRATOR,
                password,
            )
            self.signed_in = self._clinic.sign_in(member.username, password)
        except BillingError as exc:
            _refuse(self, self.message_label, str(exc))
            return False
        self.accept()
        return True
