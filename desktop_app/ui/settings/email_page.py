"""Settings > Email: the clinic's mail server and sender, the emails' templates, and when overdue
reminders and the desk's credit alerts come up.

Three tabs, each scrolling on a small screen:

- **Server and sender**: server, port, security (changing it moves the port to the usual one,
  if the port was the previous usual one), user name and password (kept in this computer's
  keychain, never in the database), the sender's name and address, reply-to, timeout, and a
  trusted certificate for a server with its own. **Send a test email…** saves what is typed,
  then sends a test message in the background (the window stays responsive) and says whether
  it went, or the server's reason why not. Closing the settings window meanwhile never waits
  for the server: the test ends on its own, unseen.
- **Templates**: each kind of email's subject and body; its placeholders (click one, or press
  Enter on it, to insert it at the cursor), Reset to default, and a live preview with sample
  values. A placeholder the kind does not have is shown in the preview at once and refused at
  its field on save.
- **Reminders and alerts**: days overdue before a reminder (0: none), days between reminders,
  months without a visit or payment before credit counts as dormant.

The settings window's OK saves what changed here (refusals shown at their field, on their tab);
a role that may not change settings sees the page without changing it.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QTextOption
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import (
    DEFAULT_TEMPLATES,
    PLACEHOLDERS,
    BillingError,
    MailKind,
    Permission,
    Security,
    fill_body,
    fill_subject,
)
from desktop_app.ui.background import BackgroundRunner
from desktop_app.ui.formatting import Formatter
from desktop_app.ui.forms import FieldProblems, mark_field
from desktop_app.ui.style import DONE_TONE, HINT_TONE, INFO_TONE, PROBLEM_TONE, set_tone

if TYPE_CHECKING:
    from desktop_app.core import Clinic, EmailSettings, ReminderSettings

#: How each security choice reads, and the port it usually uses.
SECURITY_LABELS = {
    Security.STARTTLS: "STARTTLS",
    Security.SSL: "SSL/TLS",
    Security.NONE: "None (local relay only)",
}
USUAL_PORTS = {Security.STARTTLS: 587, Security.SSL: 465, Security.NONE: 25}

#: How each kind of email reads in the template chooser.
KIND_LABELS = {
    MailKind.INVOICE: "Invoice",
    MailKind.RECEIPT: "Receipt",
    MailKind.STATEMENT: "Statement",
    MailKind.REMINDER: "Overdue reminder",
    MailKind.CREDIT: "Account credit",
    MailKind.TEST: "Test",
}

#: The fields of each tab, by the core's field name (a refusal's ``field``).
SERVER_FIELDS = (
    "host",
    "port",
    "security",
    "username",
    "password",
    "sender",
    "reply_to",
    "timeout",
    "certificate",
)
TEMPLATE_FIELDS = ("kind", "subject", "body")
REMINDER_FIELDS = ("after_days", "interval_days", "dormant_months")

#: The tabs, in order.
SERVER_TAB, TEMPLATES_TAB, REMINDERS_TAB = range(3)

#: The data of a placeholder's list item: the placeholder's name.
PLACEHOLDER_NAME = Qt.ItemDataRole.UserRole


def sample_values(
    clinic: Clinic, formatter: Formatter, today: date | None = None
) -> dict[str, str]:
    """Values for every placeholder, to preview a template: the clinic's own name and contact
    line, made-up figures written as the clinic writes them."""
    today = today or date.today()
    letterhead = clinic.letterhead()
    month_end = today.replace(day=1) - timedelta(days=1)
    month_start = month_end.replace(day=1)
    money = formatter.money
    return {
        "name": "Ada Lovelace",
        "first_name": "Ada",
        "clinic": letterhead.name or "your clinic",
        "clinic_contact": letterhead.contact,
        "invoice_number": "1042",
        "invoice_date": formatter.day(today - timedelta(days=44)),
        "due_date": formatter.day(today - timedelta(days=30)),
        "total": money(Decimal("95.00")),
        "balance": money(Decimal("45.00")),
        "patient": "Ada Lovelace",
        "receipt_number": "318",
        "payment_date": formatter.day(today),
        "amount": money(Decimal("80.00")),
        "period": f"{formatter.day(month_start)} to {formatter.day(month_end)}",
        "period_end": formatter.day(month_end),
        "credit": money(Decimal("20.00")),
        "owed": money(Decimal("45.00")),
        "days_overdue": "30",
    }


def _scrolling(content: QWidget) -> QScrollArea:
    """``content`` in a frameless scroll area (a tab that scrolls on a small screen)."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(content)
    return area


def _spin(low: int, high: int, name: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setAccessibleName(name)
    return box


class EmailPage(FieldProblems, QWidget):
    """Settings > Email. :meth:`save` saves what changed (the settings window's OK)."""

    def __init__(
        self, clinic: Clinic, formatter: Formatter | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self._formatter = formatter or Formatter(clinic.currency)
        #: Whether this role may change the email settings.
        self.may_change = clinic.may(Permission.SETTINGS)
        self.edits: dict[str, QWidget] = {}
        self.problems: dict[str, QLabel] = {}
        self._runner = BackgroundRunner(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Email settings")
        self._contents = (self._server_tab(), self._templates_tab(), self._reminders_tab())
        for content, title in zip(
            self._contents,
            ("Server and sender", "Templates", "Reminders and alerts"),
            strict=True,
        ):
            content.setEnabled(self.may_change)
            self.tabs.addTab(_scrolling(content), title)
        layout.addWidget(self.tabs, 1)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        set_tone(self.message_label, PROBLEM_TONE)
        layout.addWidget(self.message_label)
        if not self.may_change:
            note = QLabel("Only an administrator may change the email settings.")
            note.setWordWrap(True)
            set_tone(note, HINT_TONE)
            layout.addWidget(note)

    # -- the server and sender --------------------------------------------------------------

    def _server_tab(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        shown = self._clinic.email_settings
        self._settings_shown = shown
        self.host_edit = QLineEdit(shown.host)
        self.host_edit.setAccessibleName("Mail server")
        self.host_edit.setPlaceholderText("smtp.example.org")
        self.port_spin = _spin(1, 65535, "Port")
        self.port_spin.setValue(shown.port)
        self.port_spin.setGroupSeparatorShown(False)
        self.security_combo = QComboBox()
        self.security_combo.setAccessibleName("Security")
        for choice, label in SECURITY_LABELS.items():
            self.security_combo.addItem(label, choice.value)
        self.security_combo.setCurrentIndex(self.security_combo.findData(shown.security.value))
        self._security_shown = shown.security
        self.security_combo.currentIndexChanged.connect(self._on_security_changed)
        self.username_edit = QLineEdit(shown.username)
        self.username_edit.setAccessibleName("User name")
        self.username_edit.setPlaceholderText("Often the sender's address")
        self.password_edit = QLineEdit()
        self.password_edit.setAccessibleName("Password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_state = QLabel()
        self.password_state.setAccessibleName("Password saved")
        self.forget_password_button = QPushButton("Forget saved pass&word")
        self.forget_password_button.clicked.connect(self._on_forget_password_clicked)
        self._forget_password = False
        self.sender_name_edit = QLineEdit(shown.sender_name)
        self.sender_name_edit.setAccessibleName("Sender name")
        self.sender_name_edit.setPlaceholderText(self._clinic.clinic_name or "The clinic's name")
        self.sender_address_edit = QLineEdit(shown.sender_address)
        self.sender_address_edit.setAccessibleName("Sender address")
        self.sender_address_edit.setPlaceholderText("desk@example.org")
        self.reply_to_edit = QLineEdit(shown.reply_to)
        self.reply_to_edit.setAccessibleName("Reply-to address")
        self.reply_to_edit.setPlaceholderText("Optional: where replies go, if not the sender")
        self.timeout_spin = _spin(1, 600, "Timeout in seconds")
        self.timeout_spin.setSuffix(" seconds")
        self.timeout_spin.setValue(shown.timeout)
        self.timeout_spin.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.certificate = shown.certificate
        self._certificate_file: str | None = None
        self.certificate_label = QLabel()
        self.certificate_label.setAccessibleName("Trusted certificate")
        self.certificate_label.setWordWrap(True)
        self.load_certificate_button = QPushButton("Load &certificate…")
        self.load_certificate_button.clicked.connect(self._on_load_certificate_clicked)
        self.clear_certificate_button = QPushButton("Clea&r")
        self.clear_certificate_button.setAccessibleName("Clear the trusted certificate")
        self.clear_certificate_button.clicked.connect(self._on_clear_certificate_clicked)
        self.test_button = QPushButton("Send a test &email…")
        self.test_button.setToolTip("Saves the settings above, then sends a test email")
        self.test_button.clicked.connect(self._on_test_button_clicked)
        self.test_label = QLabel()
        self.test_label.setWordWrap(True)
        self.test_label.setAccessibleName("Test email")
        self.test_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.edits.update(
            {
                "host": self.host_edit,
                "port": self.port_spin,
                "security": self.security_combo,
                "username": self.username_edit,
                "password": self.password_edit,
                "sender": self.sender_address_edit,
                "reply_to": self.reply_to_edit,
                "timeout": self.timeout_spin,
                "certificate": self.certificate_label,
            }
        )
        server_row = QHBoxLayout()
        server_row.addWidget(self.host_edit, 1)
        port_label = QLabel("P&ort:")
        port_label.setBuddy(self.port_spin)
        server_row.addWidget(port_label)
        server_row.addWidget(self.port_spin)
        password_row = QHBoxLayout()
        password_row.addWidget(self.password_edit, 1)
        password_row.addWidget(self.forget_password_button)
        certificate_row = QHBoxLayout()
        certificate_row.addWidget(self.certificate_label, 1)
        certificate_row.addWidget(self.load_certificate_button)
        certificate_row.addWidget(self.clear_certificate_button)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_label, 1)

        def row(text: str, field: QWidget | QHBoxLayout, buddy: QWidget, name: str) -> None:
            label = QLabel(text)
            label.setBuddy(buddy)
            form.addRow(label, field)
            if name:
                form.addRow("", self.problem_label(name))

        row("Ser&ver:", server_row, self.host_edit, "host")
        form.addRow("", self.problem_label("port"))
        row("Sec&urity:", self.security_combo, self.security_combo, "security")
        row("User na&me:", self.username_edit, self.username_edit, "username")
        row("&Password:", password_row, self.password_edit, "password")
        form.addRow("", self.password_state)
        row("Sender &name:", self.sender_name_edit, self.sender_name_edit, "")
        row("Sender a&ddress:", self.sender_address_edit, self.sender_address_edit, "sender")
        row("Rep&ly-to:", self.reply_to_edit, self.reply_to_edit, "reply_to")
        row("T&imeout:", self.timeout_spin, self.timeout_spin, "timeout")
        form.addRow("Trusted certificate:", certificate_row)
        form.addRow("", self.problem_label("certificate"))
        form.addRow(test_row)
        self._show_password_state()
        self._show_certificate()
        return page

    def _show_password_state(self) -> None:
        if self._forget_password:
            text = "The saved password is forgotten when you press OK."
        elif self._clinic.email.password_set:
            text = "A password is saved (type a new one to replace it)."
        else:
            text = "No password is saved."
        self.password_state.setText(text)
        set_tone(self.password_state, HINT_TONE)
        self.forget_password_button.setVisible(
            self._clinic.email.password_set and not self._forget_password
        )

    def _show_certificate(self) -> None:
        if not self.certificate:
            text = "None: the computer's usual authorities"
        elif self._certificate_file is not None:
            text = f"{self._certificate_file} (saved with OK)"
        else:
            text = "A certificate of the clinic's own is trusted"
        self.certificate_label.setText(text)
        self.clear_certificate_button.setEnabled(bool(self.certificate))

    def security(self) -> Security:
        """The security chosen."""
        return Security(self.security_combo.currentData())

    def sender_text(self) -> str:
        """The From header as typed: ``Name <address>``, or the address alone."""
        name = self.sender_name_edit.text().strip()
        address = self.sender_address_edit.text().strip()
        return f"{name} <{address}>" if name and address else address

    def server_changed(self) -> bool:
        """Whether the server and sender fields differ from what is saved."""
        shown = self._settings_shown
        return (
            self.host_edit.text().strip() != shown.host
            or self.port_spin.value() != shown.port
            or self.security() is not shown.security
            or self.username_edit.text().strip() != shown.username
            or self.sender_name_edit.text().strip() != shown.sender_name
            or self.sender_address_edit.text().strip() != shown.sender_address
            or self.reply_to_edit.text().strip() != shown.reply_to
            or self.timeout_spin.value() != shown.timeout
            or self.certificate != shown.certificate
            or bool(self.password_edit.text())
            or self._forget_password
        )

    def save_server(self) -> bool:
        """Save the server and sender (and a typed password) if they changed; False (the
        refusal shown at its field) when refused."""
        if not self.server_changed():
            return True
        typed = self.password_edit.text()
        password = typed if typed else ("" if self._forget_password else None)
        try:
            saved: EmailSettings = self._clinic.set_email_settings(
                host=self.host_edit.text(),
                port=self.port_spin.value(),
                security=self.security().value,
                username=self.username_edit.text(),
                sender=self.sender_text(),
                reply_to=self.reply_to_edit.text(),
                timeout=self.timeout_spin.value(),
                certificate=self.certificate,
                password=password,
            )
        except BillingError as exc:
            self.show_problem(exc)
            return False
        self._settings_shown = saved
        self._forget_password = False
        self.password_edit.clear()
        self._certificate_file = None
        self._show_password_state()
        self._show_certificate()
        self.clear_problems()
        return True

    # -- the test email ---------------------------------------------------------------------

    def ask_test_address(self, suggested: str) -> str | None:
        """Ask where the test email goes (tests replace this); None when cancelled."""
        text, chosen = QInputDialog.getText(
            self,
            "Send a test email",
            "Send the test email to:",
            QLineEdit.EchoMode.Normal,
            suggested,
        )
        return text.strip() if chosen else None

    @property
    def testing(self) -> bool:
        """Whether a test email is on its way."""
        return self._runner.busy

    def send_test_email(self, address: str | None = None) -> bool:
        """Save the settings, ask for the address (``address`` skips asking) and send the test
        email in the background; False when nothing was started."""
        if self.testing or not self.save_server():
            return False
        if not self._clinic.email_settings.configured:
            self.show_problem(
                BillingError("Enter the mail server first.", field="host")
                if not self.host_edit.text().strip()
                else BillingError("Enter the sender's address first.", field="sender")
            )
            return False
        if address is None:
            address = self.ask_test_address(self._clinic.email_settings.sender_address)
            if address is None:
                return False
        clinic = self._clinic
        self._say_test(f"Sending a test email to {address}…", INFO_TONE)
        self.test_button.setEnabled(False)
        return self._runner.run(
            lambda _job: clinic.send_test_email(address),
            on_done=lambda _none: self._say_test(
                f"The test email was sent to {address}. Check that it arrived.", DONE_TONE
            ),
            on_refused=lambda exc: self._say_test(
                f"The test email was not sent: {exc}", PROBLEM_TONE
            ),
            on_failed=lambda exc: self._say_test(
                f"The test email was not sent: {exc}", PROBLEM_TONE
            ),
            on_finished=lambda: self.test_button.setEnabled(self.may_change),
        )

    def _say_test(self, text: str, tone: str) -> None:
        self.test_label.setText(text)
        set_tone(self.test_label, tone)

    def stop(self) -> None:
        """Let a test email on its way go (the settings window closes): it ends on its own in
        the background, however long the server takes, and its answer is no longer shown."""
        self._runner.release()

    # -- templates --------------------------------------------------------------------------

    def _templates_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self._saved_templates = {
            kind: (template.subject, template.body)
            for kind, template in self._clinic.email_templates().items()
        }
        #: Each kind's subject and body as edited (saved by OK where they changed).
        self.template_texts = dict(self._saved_templates)
        self._samples = sample_values(self._clinic, self._formatter)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.kind_combo = QComboBox()
        self.kind_combo.setAccessibleName("Kind of email")
        for kind, label in KIND_LABELS.items():
            self.kind_combo.addItem(label, kind.value)
        self._kind_shown = MailKind.INVOICE
        self.kind_combo.currentIndexChanged.connect(self._on_kind_changed)
        self.subject_edit = QLineEdit()
        self.subject_edit.setAccessibleName("Subject template")
        self.body_edit = QPlainTextEdit()
        self.body_edit.setAccessibleName("Body template")
        self.body_edit.setTabChangesFocus(True)
        self.body_edit.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.body_edit.setMinimumHeight(self.body_edit.fontMetrics().lineSpacing() * 7)
        self.placeholder_list = QListWidget()
        self.placeholder_list.setAccessibleName("Placeholders")
        self.placeholder_list.setToolTip("Click a placeholder, or press Enter, to insert it")
        self.placeholder_list.setWordWrap(True)
        self.placeholder_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.placeholder_list.itemClicked.connect(self._insert_placeholder)
        self.placeholder_list.installEventFilter(self)
        self._insert_into: QLineEdit | QPlainTextEdit = self.body_edit
        self.subject_edit.installEventFilter(self)
        self.body_edit.installEventFilter(self)
        self.reset_button = QPushButton("Reset to de&fault")
        self.reset_button.clicked.connect(self._on_reset_clicked)
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setAccessibleName("Preview")
        self.preview.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.preview.setMinimumHeight(self.preview.fontMetrics().lineSpacing() * 6)
        self.preview_problem = QLabel()
        self.preview_problem.setWordWrap(True)
        set_tone(self.preview_problem, PROBLEM_TONE)
        self.edits.update(
            {"kind": self.kind_combo, "subject": self.subject_edit, "body": self.body_edit}
        )
        kind_label = QLabel("&Kind of email:")
        kind_label.setBuddy(self.kind_combo)
        kind_row = QHBoxLayout()
        kind_row.addWidget(self.kind_combo, 1)
        kind_row.addWidget(self.reset_button)
        form.addRow(kind_label, kind_row)
        form.addRow("", self.problem_label("kind"))
        subject_label = QLabel("Su&bject:")
        subject_label.setBuddy(self.subject_edit)
        form.addRow(subject_label, self.subject_edit)
        form.addRow("", self.problem_label("subject"))
        layout.addLayout(form)
        editors = QHBoxLayout()
        body_column = QVBoxLayout()
        body_label = QLabel("Bod&y:")
        body_label.setBuddy(self.body_edit)
        body_column.addWidget(body_label)
        body_column.addWidget(self.body_edit, 1)
        body_column.addWidget(self.problem_label("body"))
        names_column = QVBoxLayout()
        names_label = QLabel("&Placeholders (click to insert):")
        names_label.setBuddy(self.placeholder_list)
        names_column.addWidget(names_label)
        names_column.addWidget(self.placeholder_list, 1)
        editors.addLayout(body_column, 3)
        editors.addLayout(names_column, 2)
        layout.addLayout(editors, 2)
        preview_label = QLabel("Previe&w, with sample values:")
        preview_label.setBuddy(self.preview)
        layout.addWidget(preview_label)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.preview_problem)
        self._show_kind(MailKind.INVOICE)
        self.subject_edit.textChanged.connect(self._on_template_edited)
        self.body_edit.textChanged.connect(self._on_template_edited)
        return page

    def kind(self) -> MailKind:
        """The kind of email whose templates are shown."""
        return MailKind(self.kind_combo.currentData())

    def choose_kind(self, kind: MailKind) -> None:
        """Show ``kind``'s templates (what was typed for the other kind is kept)."""
        self.kind_combo.setCurrentIndex(self.kind_combo.findData(kind.value))

    def _show_kind(self, kind: MailKind) -> None:
        self._kind_shown = kind
        subject, body = self.template_texts[kind]
        for edit in (self.subject_edit, self.body_edit):
            edit.blockSignals(True)
        self.subject_edit.setText(subject)
        self.body_edit.setPlainText(body)
        for edit in (self.subject_edit, self.body_edit):
            edit.blockSignals(False)
        self.placeholder_list.clear()
        for name, description in PLACEHOLDERS[kind].items():
            item = QListWidgetItem(f"{{{name}}}\n    {description}")
            item.setData(PLACEHOLDER_NAME, name)
            item.setToolTip(description)
            self.placeholder_list.addItem(item)
        self._show_preview()

    def _show_preview(self) -> None:
        kind = self._kind_shown
        subject, body = self.template_texts[kind]
        values = {name: self._samples.get(name, f"[{name}]") for name in PLACEHOLDERS[kind]}
        try:
            filled = f"Subject: {fill_subject(subject, kind, values)}\n\n"
            filled += fill_body(body, kind, values)
        except BillingError as exc:
            self.preview_problem.setText(str(exc))
            self.preview_problem.setVisible(True)
            self.preview.clear()
            return
        self.preview_problem.clear()
        self.preview_problem.setVisible(False)
        self.preview.setPlainText(filled)

    def templates_changed(self) -> list[MailKind]:
        """The kinds whose templates were edited (and not saved yet)."""
        return [
            kind
            for kind, texts in self.template_texts.items()
            if texts != self._saved_templates[kind]
        ]

    def save_templates(self) -> bool:
        """Save every edited kind's templates; False (the refusal shown at its field, with its
        kind chosen) when one is refused."""
        for kind in self.templates_changed():
            subject, body = self.template_texts[kind]
            try:
                saved = self._clinic.set_email_template(kind, subject, body)
            except BillingError as exc:
                self.choose_kind(kind)
                self.show_problem(exc)
                return False
            self._saved_templates[kind] = self.template_texts[kind] = (saved.subject, saved.body)
        return True

    def insert_placeholder(self, name: str) -> None:
        """Insert ``{name}`` at the cursor of the subject or body (the last one typed in)."""
        text = "{" + name + "}"
        target = self._insert_into
        if isinstance(target, QLineEdit):
            target.insert(text)
        else:
            target.insertPlainText(text)
        target.setFocus()

    def _insert_placeholder(self, item: QListWidgetItem) -> None:
        self.insert_placeholder(str(item.data(PLACEHOLDER_NAME)))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        """Remember which template field was typed in last; Enter on a placeholder inserts it."""
        if event.type() == QEvent.Type.FocusIn and watched in (self.subject_edit, self.body_edit):
            self._insert_into = (
                self.subject_edit if watched is self.subject_edit else self.body_edit
            )
        elif (
            watched is self.placeholder_list
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space)
        ):
            item = self.placeholder_list.currentItem()
            if item is not None:
                self._insert_placeholder(item)
            return True
        return super().eventFilter(watched, event)

    # -- reminders and alerts ---------------------------------------------------------------

    def _reminders_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        shown = self._clinic.reminder_settings
        self._reminders_shown: ReminderSettings = shown
        self.after_days_spin = _spin(0, 365, "Days overdue before a reminder (0: off)")
        self.after_days_spin.setSpecialValueText("0 (off)")
        self.after_days_spin.setValue(shown.after_days)
        self.interval_spin = _spin(1, 365, "Days between reminders")
        self.interval_spin.setValue(shown.interval_days)
        self.dormant_spin = _spin(1, 120, "Months before credit is dormant")
        self.dormant_spin.setValue(shown.dormant_months)
        self.edits.update(
            {
                "after_days": self.after_days_spin,
                "interval_days": self.interval_spin,
                "dormant_months": self.dormant_spin,
            }
        )

        def sentence(before: str, spin: QSpinBox, after: str, field: str) -> None:
            row = QHBoxLayout()
            label = QLabel(before)
            label.setBuddy(spin)
            row.addWidget(label)
            row.addWidget(spin)
            row.addWidget(QLabel(after))
            row.addStretch(1)
            layout.addLayout(row)
            layout.addWidget(self.problem_label(field))

        heading = QLabel("<b>Overdue reminders</b>")
        layout.addWidget(heading)
        sentence("Remind about invoices overdue &by", self.after_days_spin, "days", "after_days")
        sentence("Remind a&gain every", self.interval_spin, "days", "interval_days")
        explain = QLabel(
            "Reminders are listed for approval before any is sent; an invoice gets another "
            "only after the days between have passed."
        )
        explain.setWordWrap(True)
        set_tone(explain, HINT_TONE)
        layout.addWidget(explain)
        layout.addSpacing(12)
        layout.addWidget(QLabel("<b>Desk alerts</b>"))
        sentence(
            "Credit is dormant a&fter",
            self.dormant_spin,
            "months without a visit or payment",
            "dormant_months",
        )
        layout.addStretch(1)
        return page

    def reminders_changed(self) -> bool:
        """Whether the reminder and alert settings differ from what is saved."""
        shown = self._reminders_shown
        return (
            self.after_days_spin.value() != shown.after_days
            or self.interval_spin.value() != shown.interval_days
            or self.dormant_spin.value() != shown.dormant_months
        )

    def save_reminders(self) -> bool:
        """Save the reminder and alert settings if they changed; False when refused."""
        if not self.reminders_changed():
            return True
        try:
            self._reminders_shown = self._clinic.set_reminder_settings(
                after_days=self.after_days_spin.value(),
                interval_days=self.interval_spin.value(),
                dormant_months=self.dormant_spin.value(),
            )
        except BillingError as exc:
            self.show_problem(exc)
            return False
        return True

    # -- the whole page ---------------------------------------------------------------------

    def has_changes(self) -> bool:
        """Whether anything on the page differs from what is saved."""
        return self.server_changed() or bool(self.templates_changed()) or self.reminders_changed()

    def save(self) -> bool:
        """Save whatever changed on the page (the settings window's OK); False, with the
        refusal shown at its field on its tab, when the core refused something."""
        if not self.may_change:
            return True
        self.clear_problems()
        return self.save_server() and self.save_templates() and self.save_reminders()

    def clear_problems(self) -> None:
        """Hide every refusal shown on the page."""
        for field, label in self.problems.items():
            label.setVisible(False)
            mark_field(self.edits[field], None)
        self.message_label.clear()

    def show_problem(self, exc: BillingError) -> None:
        """The core's refusal at the field it names, its tab shown (or under the tabs)."""
        self.clear_problems()
        label = self.problems.get(exc.field or "")
        if label is None:
            self.message_label.setText(str(exc))
            return
        tab = (
            SERVER_TAB
            if exc.field in SERVER_FIELDS
            else TEMPLATES_TAB
            if exc.field in TEMPLATE_FIELDS
            else REMINDERS_TAB
        )
        self.tabs.setCurrentIndex(tab)
        label.setText(str(exc))
        label.setVisible(True)
        edit = self.edits[exc.field or ""]
        mark_field(edit, str(exc))
        edit.setFocus()
        area = self.tabs.widget(tab)
        if isinstance(area, QScrollArea):
            area.ensureWidgetVisible(label)

    # -- slots ------------------------------------------------------------------------------

    def _on_security_changed(self, _index: int) -> None:
        chosen = self.security()
        if self.port_spin.value() == USUAL_PORTS[self._security_shown]:
            self.port_spin.setValue(USUAL_PORTS[chosen])
        self._security_shown = chosen

    def _on_forget_password_clicked(self) -> None:
        self._forget_password = True
        self.password_edit.clear()
        self._show_password_state()

    def choose_certificate_path(self) -> Path | None:
        """Ask for the certificate's file (tests replace this)."""
        name, _ = QFileDialog.getOpenFileName(
            self,
            "Load trusted certificate",
            "",
            "Certificates (*.pem *.crt *.cer);;All files (*)",
        )
        return Path(name) if name else None

    def load_certificate(self, path: Path) -> bool:
        """Trust the PEM certificate in ``path`` (saved with OK; checked then)."""
        try:
            text = Path(path).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "it is not a PEM file"
            self.show_problem(
                BillingError(f"The certificate could not be read: {reason}.", field="certificate")
            )
            return False
        self.certificate = text.strip()
        self._certificate_file = Path(path).name
        self._show_certificate()
        mark_field(self.certificate_label, None)
        self.problems["certificate"].setVisible(False)
        return True

    def _on_load_certificate_clicked(self) -> None:
        path = self.choose_certificate_path()
        if path is not None:
            self.load_certificate(path)

    def _on_clear_certificate_clicked(self) -> None:
        self.certificate = ""
        self._certificate_file = None
        self._show_certificate()

    def _on_test_button_clicked(self) -> None:
        self.send_test_email()

    def _on_kind_changed(self, _index: int) -> None:
        for label in (self.problems["subject"], self.problems["body"], self.problems["kind"]):
            label.setVisible(False)
        for edit in (self.subject_edit, self.body_edit):
            mark_field(edit, None)
        self._show_kind(self.kind())

    def _on_template_edited(self) -> None:
        self.template_texts[self._kind_shown] = (
            self.subject_edit.text(),
            self.body_edit.toPlainText(),
        )
        self._show_preview()

    def _on_reset_clicked(self) -> None:
        default = DEFAULT_TEMPLATES[self.kind()]
        self.subject_edit.setText(default.subject)
        self.body_edit.setPlainText(default.body)
