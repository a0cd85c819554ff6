"""The main window: patients on the left (search as you type), the chosen patient on the right.

The patient list shows each patient's date of birth and mobile beside the name; "Show archived"
lists archived and merged patients too (greyed, in italics). The patient panel's header shows the
name, date of birth and mobile, an "Archived" or "Merged into …" badge, and "Edit details…"; an
archived patient is offered no money actions. The panel then shows account credit prominently,
then tabs for invoices, payments, the account credit (its history, and where it came from),
credit notes and transfers, and the patient's emails (Messages). Once a payment is saved, a bar
above the tabs offers its receipt by email or on paper (:mod:`desktop_app.ui.email_actions`).
Every action has a menu entry; the corrections (refunds, credit notes, voids, reversals,
transfers) also sit in each table's context menu and act on the selected row.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QModelIndex, QObject, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QFont, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BillingError, Permission
from desktop_app.ui.correction_actions import CorrectionActions
from desktop_app.ui.dialogs.invoice_dialog import InvoiceDialog
from desktop_app.ui.dialogs.patient_dialog import PatientDialog
from desktop_app.ui.dialogs.payment_detail import PaymentDetailDialog
from desktop_app.ui.email_actions import MessagesTab, ReceiptBar
from desktop_app.ui.formatting import Formatter
from desktop_app.ui.models.billed_to import BilledTo, payers_owe
from desktop_app.ui.models.patients import (
    SORT_KEYS,
    FirstPatients,
    PatientTableModel,
    size_columns,
)
from desktop_app.ui.models.records import Column, RecordTableModel
from desktop_app.ui.outbox_actions import OutboxActions
from desktop_app.ui.patient_actions import PatientActions
from desktop_app.ui.payer_actions import PayerActions
from desktop_app.ui.printing.actions import PrintActions
from desktop_app.ui.style import CREDIT_TONE, HINT_TONE, WARNING_TONE, overdue_tone, set_tone
from desktop_app.ui.window_fit import fit_to_screen, install_window_fit

if TYPE_CHECKING:
    from desktop_app.core import (
        BackupResult,
        Clinic,
        CreditNoteRecord,
        InvoiceRecord,
        PatientRecord,
        PaymentRecord,
        RestoreResult,
        TransferRecord,
    )
    from desktop_app.ui.dialogs.import_dialog import ImportDialog
    from desktop_app.ui.dialogs.payment_dialog import PaymentDialog

SEARCH_DELAY_MS = 120
#: What an archived patient may not do (the core refuses it anyway: no money moves on them).
_MONEY = frozenset(
    {Permission.INVOICES, Permission.PAYMENTS, Permission.REFUNDS, Permission.CORRECTIONS}
)
#: The patient list's name column: at least and at most this wide (pixels).
NAME_WIDTH = (140, 240)
ROW_HEIGHT = 26


def _titled_pages(parts: list[tuple[str, QWidget]]) -> QWidget:
    """A vertical splitter of titled tables (one tab holding related lists)."""
    splitter = QSplitter(Qt.Orientation.Vertical)
    for title, widget in parts:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 4, 0, 0)
        label = QLabel(title)
        label.setBuddy(widget)
        layout.addWidget(label)
        layout.addWidget(widget, 1)
        splitter.addWidget(page)
    return splitter


def _stretch_only(view: QTableView, stretch: set[int], width: int = 105) -> None:
    """Fixed-width columns (dates, amounts) except the text columns, which share the rest."""
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setDefaultSectionSize(width)
    for column in stretch:
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)


def _context(view: QTableView, actions: list[QAction], submenu: QMenu | None = None) -> None:
    """Give a table a right-click menu of these actions (and a submenu)."""
    view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
    view.addActions(actions)
    if submenu is not None:
        view.addAction(submenu.menuAction())


def _table(name: str) -> QTableView:
    """A read-only table with fixed row heights (never sized to its contents)."""
    view = QTableView()
    view.setAccessibleName(name)
    view.setTabKeyNavigation(False)  # Tab leaves the table; arrow keys move between rows
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    view.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    return view


#: Minutes without a key press or click before a signed-in window locks itself.
IDLE_LOCK_MINUTES = 10
#: What counts as someone using the window.
_ACTIVITY = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
    }
)


class MainWindow(QMainWindow):
    """Clinic Ledger's main window.

    It can be shown before the clinic's database is open (start-up shows the window at once and
    opens the database on the next turn of the event loop); :meth:`open_clinic` fills it.
    """

    def __init__(self, clinic: Clinic | None = None, settings: QSettings | None = None) -> None:
        super().__init__()
        self._clinic: Clinic | None = None
        self._settings = settings
        self.formatter = Formatter("AUD")
        self._patient_id: int | None = None
        self._patient_archived = False
        self._patient_model: PatientTableModel | None = None
        #: Why the clinic's database could not be opened, if it could not.
        self.open_error: str | None = None
        #: The sign-in (or first-run) window asked for at start, if any (see app.start_window).
        self.sign_in_dialog: QDialog | None = None
        #: Minutes without a key press or click before a signed-in window locks.
        self.idle_lock_minutes: float = IDLE_LOCK_MINUTES
        self._idle_timer: QTimer | None = None
        self._locked = False
        #: Whether the credit alerts open at start (the app's window, which keeps settings).
        self.desk_alerts_at_start = settings is not None
        self.setWindowTitle("Clinic Ledger")
        self.resize(1180, 720)
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._on_search_timer_timeout)
        self._build()
        self._build_actions()
        if settings is not None and settings.value("main_window/geometry") is not None:
            self.restoreGeometry(settings.value("main_window/geometry"))
        install_window_fit()
        fit_to_screen(self)  # a geometry saved on a larger or another screen
        self.statusBar().showMessage("Opening the clinic's database…")
        for widget in (self.search_edit, self.new_patient_button, self.show_archived_check):
            widget.setEnabled(False)
        for act in (self.new_patient_action, self.settings_action, self.verify_action):
            act.setEnabled(False)
        self._show_patient()
        if clinic is not None:
            self.open_clinic(clinic)

    @property
    def clinic(self) -> Clinic:
        """The open clinic."""
        if self._clinic is None:
            raise RuntimeError("The clinic's database is not open yet.")
        return self._clinic

    @property
    def patient_model(self) -> PatientTableModel:
        """The patient list's model (once the clinic is open)."""
        if self._patient_model is None:
            raise RuntimeError("The clinic's database is not open yet.")
        return self._patient_model

    @property
    def is_ready(self) -> bool:
        """Whether the clinic is open and its patients listed."""
        return self._patient_model is not None

    @property
    def patients_listed(self) -> bool:
        """Whether the patient list shows the patients (read at start, or the open clinic's)."""
        return self._patient_model is not None or self.patient_view.model() is not None

    def show_first_patients(
        self, clinic_name: str, currency: str, patients: list[PatientRecord]
    ) -> None:
        """List the patients read at start-up while the clinic opens (no search, sorting or
        patient details until :meth:`open_clinic`, which keeps the row chosen meanwhile)."""
        self.formatter = self.formatter.for_currency(currency)
        self.setWindowTitle(f"Clinic Ledger: {clinic_name}")
        self.patient_view.setModel(
            PatientTableModel(FirstPatients(patients), self.formatter, self.patient_view)
        )

    def open_clinic(self, clinic: Clinic) -> None:
        """Show this clinic: its patients, settings and name."""
        first = self.patient_view.model() if self._patient_model is None else None
        chosen = self.patient_view.currentIndex()
        first_choice = (
            first.patient_id(chosen.row())
            if isinstance(first, PatientTableModel) and chosen.isValid()
            else None
        )
        self._clinic = clinic
        self.formatter = self.formatter.for_currency(clinic.currency)
        self.setWindowTitle(f"Clinic Ledger: {clinic.clinic_name}")
        model = PatientTableModel(clinic, self.formatter, self)
        self._patient_model = model
        self.patient_view.setModel(model)
        self.patient_view.setSortingEnabled(True)
        self.patient_view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.patient_view.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.Interactive
        )
        self.patient_view.horizontalHeader().setStretchLastSection(True)
        model.set_include_archived(self.show_archived_check.isChecked())
        model.modelReset.connect(self._on_patient_model_reset)
        self._on_patient_model_reset()
        self.patient_view.selectionModel().currentRowChanged.connect(
            self._on_patient_view_current_row_changed
        )
        self.search_edit.setEnabled(True)
        self.show_archived_check.setEnabled(True)
        self._apply_role()
        self._start_idle_lock()
        from desktop_app.ui.xero_autosync import XeroAutoSync  # after the first screen

        self.xero_auto = XeroAutoSync(
            clinic, lambda text: self.statusBar().showMessage(text, 20_000), self
        )
        self.outbox_actions.open_clinic(clinic, self._settings, alerts=self.desk_alerts_at_start)
        staff = clinic.staff_member
        who = f" · {staff.full_name} ({staff.role.label.lower()})" if staff is not None else ""
        self.statusBar().showMessage(f"{clinic.clinic_name} · {clinic.url}{who}")
        if first is not None:
            first.deleteLater()  # the list read at start-up, replaced
        if first_choice is not None and model.row_of(first_choice) >= 0:
            self.patient_view.selectRow(model.row_of(first_choice))
        elif model.rowCount() > 0:
            self.patient_view.selectRow(0)
        self._show_patient()

    # -- locking after idle time ----------------------------------------------------------------

    def _start_idle_lock(self) -> None:
        """Lock the window after :data:`IDLE_LOCK_MINUTES` without a key press or click, when
        someone is signed in (an owner's clinic has no one to lock out)."""
        app = QApplication.instance()
        if self._clinic is None or self._clinic.staff_member is None or app is None:
            return
        if self._idle_timer is None:
            self._idle_timer = QTimer(self)
            self._idle_timer.setSingleShot(True)
            self._idle_timer.timeout.connect(self.lock)
            app.installEventFilter(self)
        self._idle_timer.start(int(self.idle_lock_minutes * 60_000))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() in _ACTIVITY and self._idle_timer is not None and not self.is_locked:
            self._idle_timer.start()
        return super().eventFilter(watched, event)

    def _central(self) -> QWidget:
        widget = self.centralWidget()
        assert widget is not None
        return widget

    @property
    def is_locked(self) -> bool:
        """The window hides the patients until someone signs in again."""
        return self._locked

    def lock(self) -> None:
        """Hide the patients and ask for a password: the same person's, or another's."""
        clinic = self._clinic
        if clinic is None or clinic.staff_member is None or self.is_locked:
            return
        self._ask_sign_in(
            clinic,
            clinic.staff_member.username,
            f"Locked after {self.idle_lock_minutes:g} minutes without use. Sign in to go on, or "
            "sign in as someone else.",
        )

    def _ask_sign_in(self, clinic: Clinic, username: str, reason: str) -> None:
        """Hide the patients until someone signs in to ``clinic`` (closing the window if no one
        does)."""
        from desktop_app.ui.dialogs.sign_in import SignInDialog

        for window in (
            self._invoice_list_window,
            self._reports_window,
            self._audit_log_window,
            self._statement_run_window,
        ):
            if window is not None:
                window.close()
        self.outbox_actions.close_windows()
        self._central().hide()
        self._locked = True
        dialog = SignInDialog(clinic, self, username=username, reason=reason)
        self.sign_in_dialog = dialog

        def unlocked() -> None:
            assert dialog.signed_in is not None
            self._central().show()
            self._locked = False
            self.open_clinic(dialog.signed_in)

        dialog.accepted.connect(unlocked)
        dialog.rejected.connect(self.close)
        dialog.open()

    def _permissions(self) -> frozenset[Permission]:
        """What the open clinic's signed-in role allows, read once (nothing before it opens)."""
        return frozenset() if self._clinic is None else self._clinic.permissions()

    def _apply_role(self) -> None:
        """Enable only what the signed-in role may do (the core refuses the rest anyway)."""
        allowed: dict[Permission, list[QAction | QPushButton]] = {
            Permission.PATIENTS: [self.new_patient_action, self.new_patient_button],
            Permission.SETTINGS: [self.settings_action],
            Permission.BACKUP: [self.backup_action, self.restore_action],
            Permission.REPORTS: [self.verify_action, self.reports_action],
            Permission.AUDIT: [self.audit_log_action],
            Permission.EXPORTS: [self.export_action, self.accounting_export_action],
            Permission.READ_ALL: [self.invoice_list_action, self.xero_action],
            Permission.PAYMENTS: [self.apply_credit_all_action],
            Permission.IMPORTS: [self.import_action],
        }
        permissions = self._permissions()
        for permission, things in allowed.items():
            for thing in things:
                thing.setEnabled(permission in permissions)
        self.payer_actions.update(permissions)
        # A statement run emails everyone's figures: it needs both rights.
        self.statement_run_action.setEnabled({Permission.EMAIL, Permission.READ_ALL} <= permissions)
        self.outbox_actions.update(permissions)
        self.change_password_action.setEnabled(
            self._clinic is not None and self._clinic.staff_member is not None
        )
        # Settings also holds the payers, which bookkeepers manage (its other pages read-only).
        self.settings_action.setEnabled(
            bool({Permission.SETTINGS, Permission.PAYERS} & permissions)
        )

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        splitter = QSplitter()
        left = QWidget()
        left_layout = QVBoxLayout(left)
        search_row = QHBoxLayout()
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Name, phone, email or date of birth (Ctrl+F)")
        self.search_edit.setToolTip(
            "Finds patients by name, preferred name, email, phone digits (any spacing) or date "
            "of birth (10/12/1985 or 1985-12-10)."
        )
        self.search_edit.setAccessibleName("Find patient")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self._on_search_edit_text_changed)
        search_row.addWidget(self.search_edit, 1)
        self.show_archived_check = QCheckBox("Show arc&hived")
        self.show_archived_check.setToolTip("List archived and merged patients too.")
        self.show_archived_check.toggled.connect(self._on_show_archived_toggled)
        search_row.addWidget(self.show_archived_check)
        left_layout.addLayout(search_row)
        self.patient_view = _table("Patients")
        self.patient_view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.patient_view.horizontalHeader().sortIndicatorChanged.connect(
            self._on_patient_sort_indicator_changed
        )
        left_layout.addWidget(self.patient_view, 1)
        self.no_match_label = QLabel("No patients match")
        self.no_match_label.setAccessibleName("Search result")
        self.no_match_label.setWordWrap(True)
        self.no_match_label.hide()
        left_layout.addWidget(self.no_match_label)
        self.new_patient_button = QPushButton("&New patient…")
        self.new_patient_button.clicked.connect(self.new_patient)
        left_layout.addWidget(self.new_patient_button)
        splitter.addWidget(left)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        self.name_label = QLabel()
        self.name_label.setWordWrap(True)
        self.name_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        font = QFont(self.name_label.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.name_label.setFont(font)
        heading = QHBoxLayout()
        heading.addWidget(self.name_label, 1)
        self.status_badge = QLabel()
        self.status_badge.setAccessibleName("Patient status")
        set_tone(self.status_badge, WARNING_TONE)
        badge_font = QFont(self.status_badge.font())
        badge_font.setBold(True)
        self.status_badge.setFont(badge_font)
        self.status_badge.setTextFormat(Qt.TextFormat.RichText)
        self.status_badge.linkActivated.connect(self._on_status_badge_link_activated)
        self.status_badge.hide()
        heading.addWidget(self.status_badge)
        self.edit_details_button = QPushButton("Edit detai&ls…")
        self.edit_details_button.setToolTip("Names, date of birth, contact, address and billing.")
        heading.addWidget(self.edit_details_button)
        right_layout.addLayout(heading)
        self.details_label = QLabel()
        self.details_label.setAccessibleName("Patient details")
        self.details_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        set_tone(self.details_label, HINT_TONE)
        right_layout.addWidget(self.details_label)
        figures = QHBoxLayout()
        self.credit_label = QLabel()
        self.credit_label.setAccessibleName("Account credit")
        credit_font = QFont(font)
        credit_font.setPointSizeF(font.pointSizeF() * 0.9)
        self.credit_label.setFont(credit_font)
        set_tone(self.credit_label, CREDIT_TONE)
        self.outstanding_label = QLabel()
        self.outstanding_label.setAccessibleName("Outstanding")
        self.outstanding_label.setFont(credit_font)
        figures.addWidget(self.credit_label)
        figures.addSpacing(40)
        figures.addWidget(self.outstanding_label)
        figures.addStretch(1)
        right_layout.addLayout(figures)
        buttons = QHBoxLayout()
        self.invoice_button = QPushButton("New &invoice…")
        self.invoice_button.clicked.connect(self.new_invoice)
        self.pay_button = QPushButton("Enter &payment…")
        self.pay_button.clicked.connect(self._on_payment_action_triggered)
        self.refund_button = QPushButton("&Refund credit…")
        self.transfer_button = QPushButton("Transfer cre&dit…")
        self.statement_button = QPushButton("State&ment…")
        buttons.addWidget(self.invoice_button)
        buttons.addWidget(self.pay_button)
        buttons.addWidget(self.refund_button)
        buttons.addWidget(self.transfer_button)
        buttons.addWidget(self.statement_button)
        buttons.addStretch(1)
        right_layout.addLayout(buttons)
        #: Offers Email receipt… and Print receipt… once a payment is saved.
        self.receipt_bar = ReceiptBar(
            lambda: self.clinic, lambda: self.formatter, self.printing_receipt, right
        )
        right_layout.addWidget(self.receipt_bar)

        #: The shown patient's invoices' and payments' standing with Xero (once it syncs).
        self._xero_states: tuple[dict[int, str], dict[int, str]] = ({}, {})
        #: Who the shown patient's invoices are billed to (the patient, or a payer).
        self.billed_to = BilledTo()

        def money(amount: Any) -> str:  # the current formatter: settings may replace it
            return self.formatter.money(amount)

        def day(value: Any) -> str:
            return self.formatter.day(value)

        def paid_by(payment: PaymentRecord) -> str:  # "Cash $20.00, Account credit $30.00"
            parts = [f"{name} {money(amount)}" for name, amount in payment.sources.items()]
            if payment.credit_applied:
                parts.append(f"Account credit {money(payment.credit_applied)}")
            return ", ".join(parts)

        self.invoice_model = RecordTableModel(
            [
                Column("Invoice", lambda i: "Draft" if i.number is None else f"#{i.number}"),
                Column("Billed to", self.billed_to.billed_to),
                Column("Claim / split", self.billed_to.reference),
                Column("Issued", lambda i: day(i.issue_date)),
                Column("Due", lambda i: day(i.due_date)),
                Column("Total", lambda i: money(i.total), money=True),
                Column("Paid", lambda i: money(i.paid), money=True),
                Column("Credited", lambda i: money(i.credited) if i.credited else "", money=True),
                Column("Balance", lambda i: money(i.balance), money=True),
                Column(
                    "Status",
                    lambda i: i.shown_status.capitalize(),
                    colour=lambda i: overdue_tone() if i.overdue else None,
                ),
                Column("Xero", lambda i: self._xero_states[0].get(i.id, "").capitalize()),
            ],
            self,
        )
        self.payment_model = RecordTableModel(
            [
                Column("Date", lambda p: day(p.payment_date)),
                Column("Kind", lambda p: "Refund" if p.kind == "refund" else "Payment"),
                Column("Total", lambda p: money(p.total), money=True),
                Column("Paid by", lambda p: paid_by(p)),
                Column("Money applied", lambda p: money(p.money_applied), money=True),
                Column("Credit applied", lambda p: money(p.credit_applied), money=True),
                Column(
                    "Invoices",
                    lambda p: ", ".join(
                        f"#{a.invoice_number}" for a in p.applications if not a.removed
                    ),
                ),
                Column("Status", lambda p: "Reversed" if p.reversed else ""),
                Column("Xero", lambda p: self._xero_states[1].get(p.id, "").capitalize()),
            ],
            self,
        )
        self.credit_model = RecordTableModel(
            [
                Column("Date", lambda m: day(m.day)),
                Column("What happened", lambda m: m.description),
                Column("Change", lambda m: money(m.change), money=True),
                Column("Credit after", lambda m: money(m.balance), money=True),
            ],
            self,
        )
        self.lot_model = RecordTableModel(
            [
                Column("Date", lambda lot: day(lot.day)),
                Column("Came from", lambda lot: lot.description),
                Column("Amount", lambda lot: money(lot.amount), money=True),
                Column("Used", lambda lot: money(lot.used), money=True),
                Column("Remaining", lambda lot: money(lot.remaining), money=True),
                Column(
                    "Used by",
                    lambda lot: "; ".join(f"{u.description} ({money(u.amount)})" for u in lot.uses),
                ),
            ],
            self,
        )
        self.credit_note_model = RecordTableModel(
            [
                Column("Credit note", lambda n: f"CN-{n.number}"),
                Column("Date", lambda n: day(n.note_date)),
                Column("Invoice", lambda n: f"#{n.invoice_number}"),
                Column("Amount", lambda n: money(n.amount), money=True),
                Column("Less owed", lambda n: money(n.applied), money=True),
                Column("To credit", lambda n: money(n.to_credit), money=True),
                Column("Reason", lambda n: n.reason),
                Column("Status", lambda n: "Reversed" if n.reversed else ""),
            ],
            self,
        )
        self.transfer_model = RecordTableModel(
            [
                Column("Date", lambda t: day(t.transfer_date)),
                Column("From", lambda t: t.from_name),
                Column("To", lambda t: t.to_name),
                Column("Amount", lambda t: money(t.amount), money=True),
                Column("Reason", lambda t: t.reason),
                Column("Status", lambda t: "Reversed" if t.reversed else ""),
            ],
            self,
        )
        self.tabs = QTabWidget()
        self.invoice_view = _table("Invoices")
        self.invoice_view.setModel(self.invoice_model)
        self._show_billed_to(False)
        self.invoice_view.activated.connect(self._on_invoice_view_activated)
        self.payment_view = _table("Payments")
        self.payment_view.setModel(self.payment_model)
        payment_header = self.payment_view.horizontalHeader()  # one patient's few payments:
        payment_header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # whole
        payment_header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)  # Paid by
        self.payment_view.activated.connect(self._on_payment_view_activated)
        self.credit_view = _table("Account credit history")
        self.credit_view.setModel(self.credit_model)
        _stretch_only(self.credit_view, {1})
        self.lot_view = _table("Where the account credit came from")
        self.lot_view.setModel(self.lot_model)
        self.credit_note_view = _table("Credit notes")
        self.credit_note_view.setModel(self.credit_note_model)
        self.transfer_view = _table("Credit transfers")
        self.transfer_view.setModel(self.transfer_model)
        _stretch_only(self.lot_view, {1, 5})
        _stretch_only(self.credit_note_view, {6}, width=90)
        _stretch_only(self.transfer_view, {1, 2, 4})
        credit_page = _titled_pages(
            [
                ("History of the account credit", self.credit_view),
                ("Where it came from (credit is spent oldest first)", self.lot_view),
            ]
        )
        corrections_page = _titled_pages(
            [("Credit notes", self.credit_note_view), ("Credit transfers", self.transfer_view)]
        )
        self.tabs.addTab(self.invoice_view, "In&voices")
        self.tabs.addTab(self.payment_view, "Pa&yments")
        self.tabs.addTab(credit_page, "Account &credit")
        self.tabs.addTab(corrections_page, "Credit notes && transf&ers")
        #: The patient's emails (the Messages tab).
        self.messages_tab = MessagesTab(lambda: self.formatter)
        self.tabs.addTab(self.messages_tab, "Messa&ges")
        from desktop_app.ui.dialogs.email_dialog import email_events

        email_events().queued.connect(self.messages_tab.after_queue)
        right_layout.addWidget(self.tabs, 1)
        hint = QLabel(
            "Enter on an open invoice enters a payment from it (from the payer, for one billed "
            "to a payer); Enter on a payment shows its detail."
        )
        set_tone(hint, "hint")
        right_layout.addWidget(hint)
        splitter.addWidget(right)
        # The list's name, date of birth, mobile, amounts and note fit beside the patient on a
        # 1366-pixel screen; a wider screen shares its extra width evenly.
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([600, 580])
        self.setCentralWidget(splitter)

    def _build_actions(self) -> None:
        def action(
            text: str, shortcut: QKeySequence | QKeySequence.StandardKey | str, slot: Any
        ) -> QAction:
            act = QAction(text, self)
            act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(slot)
            return act

        self.find_action = action(
            "&Find patient", QKeySequence.StandardKey.Find, self._on_find_action_triggered
        )
        self.new_patient_action = action("&New patient…", "Ctrl+Shift+N", self.new_patient)
        self.new_invoice_action = action(
            "New &invoice…", QKeySequence.StandardKey.New, self.new_invoice
        )
        self.edit_invoice_action = action("Edit invoice…", "Ctrl+E", self.edit_invoice)
        self.payment_action = action("Enter &payment…", "Ctrl+P", self._on_payment_action_triggered)
        self.settings_action = action(
            "&Settings…", QKeySequence.StandardKey.Preferences, self.open_settings
        )
        if self.settings_action.shortcut().isEmpty():
            self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.verify_action = action("&Verify ledger", "Ctrl+Shift+V", self.verify_ledger)
        self.audit_log_action = action(
            "&Audit log…", "Ctrl+Shift+L", self._on_audit_log_action_triggered
        )
        self.audit_log_action.setEnabled(False)  # until the clinic is open
        self._audit_log_window: QWidget | None = None  # made on first use
        quit_action = action("&Quit", QKeySequence.StandardKey.Quit, self.close)
        self.backup_action = QAction("&Back up…", self)
        self.backup_action.triggered.connect(self._on_backup_action_triggered)
        self.restore_action = QAction("&Restore from backup…", self)
        self.restore_action.triggered.connect(self._on_restore_action_triggered)
        for act in (self.backup_action, self.restore_action):
            act.setEnabled(False)  # until the clinic is open
        self.export_action = QAction("&Export…", self)
        self.export_action.triggered.connect(self._on_export_action_triggered)
        self.invoice_list_action = action(
            "All &invoices…", "Ctrl+Shift+I", self._on_invoice_list_action_triggered
        )
        self.reports_action = action("&Reports…", "Ctrl+Shift+D", self._on_reports_action_triggered)
        self.accounting_export_action = QAction("Accounting e&xport…", self)
        self.accounting_export_action.triggered.connect(self._on_accounting_export_triggered)
        self.xero_action = QAction("X&ero…", self)
        self.xero_action.triggered.connect(self._on_xero_action_triggered)
        self.statement_run_action = QAction("&Statement run…", self)
        self.statement_run_action.triggered.connect(self._on_statement_run_action_triggered)
        self._statement_run_window: QWidget | None = None
        for act in (
            self.export_action,
            self.invoice_list_action,
            self.reports_action,
            self.accounting_export_action,
            self.xero_action,
            self.statement_run_action,
        ):
            act.setEnabled(False)  # until the clinic is open
        self._invoice_list_window: QWidget | None = None  # made on first use
        self._reports_window: QWidget | None = None
        self._accounting_window: QWidget | None = None
        self.import_action = QAction("&Import…", self)
        self.import_action.triggered.connect(self._on_import_action_triggered)
        self.import_action.setEnabled(False)  # until the clinic is open
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self.change_password_action = QAction("Change my &password…", self)
        self.change_password_action.triggered.connect(self._on_change_password_triggered)
        self.change_password_action.setEnabled(False)  # until someone signs in
        file_menu.addActions(
            [self.new_patient_action, self.settings_action, self.change_password_action]
        )
        file_menu.addSeparator()
        file_menu.addActions([self.backup_action, self.restore_action])
        file_menu.addSeparator()
        file_menu.addAction(self.import_action)
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        patient_menu = menu.addMenu("P&atient")
        self.payer_actions = PayerActions(self)
        patient_menu.addActions(
            [
                self.find_action,
                self.new_invoice_action,
                self.edit_invoice_action,
                self.payment_action,
            ]
        )
        self.patient_actions = PatientActions(self)
        patient_menu.addSeparator()
        patient_menu.addActions(self.patient_actions.actions)
        self.edit_details_button.clicked.connect(self.patient_actions.edit_action.trigger)
        self.corrections = CorrectionActions(self, self)
        fixes = self.corrections
        patient_menu.addSeparator()
        patient_menu.addActions(fixes.actions[:4])
        patient_menu.addSeparator()
        patient_menu.addAction(fixes.reverse_payment_action)
        patient_menu.addMenu(fixes.remove_menu)
        patient_menu.addActions(fixes.actions[5:])
        self.printing = PrintActions(self, self)
        patient_menu.addSeparator()
        patient_menu.addActions(self.printing.actions)
        self.practitioner_action = QAction("&Assign practitioner…", self)
        self.practitioner_action.triggered.connect(self._on_practitioner_triggered)
        self.practitioner_action.setEnabled(False)
        patient_menu.addSeparator()
        patient_menu.addAction(self.practitioner_action)
        self.apply_credit_action = QAction("Apply credit to open invoi&ces…", self)
        self.apply_credit_action.triggered.connect(self._on_apply_credit_action_triggered)
        self.apply_credit_action.setEnabled(False)
        patient_menu.addAction(self.apply_credit_action)
        self.refund_button.clicked.connect(fixes.refund_action.trigger)
        self.transfer_button.clicked.connect(fixes.transfer_action.trigger)
        self.statement_button.clicked.connect(self.printing.statement_action.trigger)
        _context(
            self.invoice_view,
            [self.printing.invoice_action, fixes.credit_note_action, fixes.void_action],
        )
        _context(
            self.payment_view,
            [self.printing.receipt_action, fixes.reverse_payment_action],
            fixes.remove_menu,
        )
        _context(self.credit_note_view, [fixes.reverse_credit_note_action])
        _context(self.transfer_view, [fixes.reverse_transfer_action])
        _context(self.credit_view, [fixes.refund_action, fixes.transfer_action])
        for view in (
            self.invoice_view,
            self.payment_view,
            self.credit_note_view,
            self.transfer_view,
        ):
            view.selectionModel().selectionChanged.connect(self._on_record_selection_changed)
        tools_menu = menu.addMenu("&Tools")
        tools_menu.addAction(self.verify_action)
        tools_menu.addAction(self.audit_log_action)
        tools_menu.addAction(self.invoice_list_action)
        tools_menu.addActions(self.payer_actions.actions)
        tools_menu.addAction(self.reports_action)
        tools_menu.addAction(self.accounting_export_action)
        tools_menu.addAction(self.xero_action)
        tools_menu.addAction(self.statement_run_action)
        self.apply_credit_all_action = QAction("Apply credit to open invoices for a&ll…", self)
        self.apply_credit_all_action.triggered.connect(self._on_apply_credit_all_action_triggered)
        self.apply_credit_all_action.setEnabled(False)  # until the clinic is open
        tools_menu.addAction(self.apply_credit_all_action)
        self.outbox_actions = OutboxActions(self)
        tools_menu.addSeparator()
        tools_menu.addActions(self.outbox_actions.actions)

    # -- showing ----------------------------------------------------------------------------

    @property
    def patient_id(self) -> int | None:
        """The patient shown on the right."""
        return self._patient_id

    @property
    def patient_archived(self) -> bool:
        """Whether the patient shown is archived (or merged): no money actions are offered."""
        return self._patient_archived

    def select_patient(self, patient_id: int) -> None:
        """Select a patient in the list (clearing the search if it hides them)."""
        row = self.patient_model.row_of(patient_id)
        if row < 0:  # hidden by the search, or added since the list was read
            self.search_edit.clear()
            self._search_timer.stop()
            self.patient_model.set_search("")
            self.patient_model.reload()
            row = self.patient_model.row_of(patient_id)
        if row < 0 and not self.show_archived_check.isChecked():  # an archived patient
            self.show_archived_check.setChecked(True)
            row = self.patient_model.row_of(patient_id)
        self.patient_view.selectRow(row)
        self.patient_view.scrollTo(self.patient_model.index(row, 0))
        self._patient_id = patient_id
        self._show_patient()

    def after_archive(self, patient_id: int) -> None:
        """Re-read the list after ``patient_id`` was archived: without "Show archived" they
        leave it, and the patient now on their row is shown (or nobody)."""
        if self.show_archived_check.isChecked():
            self._after_change()
            return
        row = self.patient_model.row_of(patient_id)
        self.patient_model.reload()
        self._patient_id = None
        count = self.patient_model.rowCount()
        if count:
            self.patient_view.selectRow(min(max(row, 0), count - 1))
        else:
            self._show_patient()

    def _show_patient(self) -> None:
        pid = self._patient_id
        has_patient = pid is not None
        permissions = self._permissions() if has_patient else frozenset()
        patient = self.clinic.patient(pid) if pid is not None else None
        self._patient_archived = patient is not None and patient.archived
        self.messages_tab.show_account(self._clinic, pid)
        self.receipt_bar.follow(pid)
        if patient is not None and patient.archived:  # no money moves on an archived patient
            permissions = permissions - _MONEY
        if hasattr(self, "patient_actions"):
            self.patient_actions.update(patient, self._permissions())
            self.edit_details_button.setEnabled(self.patient_actions.edit_action.isEnabled())
        self._show_heading(patient)
        for widget, permission in (
            (self.invoice_button, Permission.INVOICES),
            (self.new_invoice_action, Permission.INVOICES),
            (self.pay_button, Permission.PAYMENTS),
            (self.payment_action, Permission.PAYMENTS),
            (self.refund_button, Permission.REFUNDS),
            (self.transfer_button, Permission.CORRECTIONS),
        ):
            widget.setEnabled(permission in permissions)
        self.statement_button.setEnabled(has_patient)
        if hasattr(self, "practitioner_action"):
            self.practitioner_action.setEnabled(Permission.PATIENTS in permissions)
        if patient is None:
            if hasattr(self, "apply_credit_action"):
                self.apply_credit_action.setEnabled(False)
            self.name_label.setText("No patient selected")
            self.credit_label.setText("")
            self.outstanding_label.setText("")
            for model in self._patient_models:
                model.set_records([])
            self._update_corrections()
            return
        if hasattr(self, "apply_credit_action"):
            self.apply_credit_action.setEnabled(
                Permission.PAYMENTS in permissions
                and patient.credit > 0
                and patient.outstanding > 0
            )
        self.credit_label.setText(f"Account credit: {self.formatter.money(patient.credit)}")
        invoices, payments = self.clinic.invoices(patient.id), self.clinic.payments(patient.id)
        # What payers owe for the patient is theirs, never part of the patient's outstanding.
        owed_by_payers = payers_owe(invoices)
        self.outstanding_label.setText(
            f"Outstanding: {self.formatter.money(patient.outstanding)}"
            + (f"  (payers owe {self.formatter.money(owed_by_payers)})" if owed_by_payers else "")
        )
        if any(i.payer_id is not None for i in invoices):
            payers = {p.id: p.name for p in self.clinic.payers(include_archived=True)}
        else:
            payers = {}
        self.billed_to.set_invoices(invoices, payers)
        self._show_billed_to(self.billed_to.any)
        self._xero_states = ({}, {})
        if self.clinic.xero_sync_runs(limit=1):  # the clinic syncs to Xero: say where each is
            self._xero_states = (
                self.clinic.xero_invoice_states([i.id for i in invoices if i.number is not None]),
                self.clinic.xero_payment_states([p.id for p in payments]),
            )
        self.invoice_model.set_records(invoices)
        self.payment_model.set_records(payments)
        history, lots = self.clinic.credit_account(patient.id)  # one read of the records for both
        self.credit_model.set_records(history)
        self.lot_model.set_records(lots)
        self.credit_note_model.set_records(self.clinic.credit_notes(patient.id))
        self.transfer_model.set_records(self.clinic.transfers(patient.id))
        self._update_corrections()

    def _show_billed_to(self, shown: bool) -> None:
        """Show "Billed to" and "Claim / split" only for a patient with an invoice billed to a
        payer or split with one."""
        for column in (1, 2):
            self.invoice_view.setColumnHidden(column, not shown)

    def _show_heading(self, patient: PatientRecord | None) -> None:
        """The panel's heading: the name, the date of birth and mobile when known, and a badge
        for an archived or merged patient."""
        if patient is None:
            self.name_label.setText("No patient selected")
            self.details_label.setText("")
            self.details_label.hide()
            self.status_badge.hide()
            return
        self.name_label.setText(patient.full_name)
        details = []
        if patient.preferred_name and patient.preferred_name != patient.first_name:
            details.append(f"Known as {patient.preferred_name}")
        if patient.date_of_birth is not None:
            details.append(f"Born {self.formatter.day(patient.date_of_birth)}")
        if patient.mobile:
            details.append(f"Mobile {patient.mobile}")
        if patient.email:
            details.append(patient.email)
        self.details_label.setText(" · ".join(details))
        self.details_label.setVisible(bool(details))
        if patient.merged_into is not None:
            into = self.clinic.patient(patient.merged_into)
            self.status_badge.setText(
                f'Merged into <a href="{into.id}">{escape(into.full_name)}</a>'
            )
        elif patient.archived:
            reason = f": {patient.archive_reason}" if patient.archive_reason else ""
            self.status_badge.setText(escape(f"Archived{reason}"))
        self.status_badge.setToolTip(patient.archive_reason or "")
        self.status_badge.setVisible(patient.archived)

    @property
    def _patient_models(self) -> list[RecordTableModel]:
        return [
            self.invoice_model,
            self.payment_model,
            self.credit_model,
            self.lot_model,
            self.credit_note_model,
            self.transfer_model,
        ]

    def _update_corrections(self) -> None:
        if hasattr(self, "edit_invoice_action"):
            invoice = self.selected_invoice() if self._patient_id is not None else None
            self.edit_invoice_action.setEnabled(
                invoice is not None
                and invoice.status != "void"
                and not self._patient_archived
                and Permission.INVOICES in self._permissions()
            )
        if hasattr(self, "corrections"):  # not during construction
            self.corrections.update()
        if hasattr(self, "printing"):
            self.printing.update()

    @staticmethod
    def _selected(view: QTableView, model: RecordTableModel) -> Any:
        rows = view.selectionModel().selectedRows() if view.selectionModel() else []
        return model.record(rows[0].row()) if rows else None

    def selected_invoice(self) -> InvoiceRecord | None:
        """The invoice selected on the Invoices tab."""
        return self._selected(self.invoice_view, self.invoice_model)  # type: ignore[no-any-return]

    def selected_payment(self) -> PaymentRecord | None:
        """The payment or refund selected on the Payments tab."""
        return self._selected(self.payment_view, self.payment_model)  # type: ignore[no-any-return]

    def selected_credit_note(self) -> CreditNoteRecord | None:
        """The credit note selected on the Credit notes & transfers tab."""
        return self._selected(  # type: ignore[no-any-return]
            self.credit_note_view, self.credit_note_model
        )

    def selected_transfer(self) -> TransferRecord | None:
        """The transfer selected on the Credit notes & transfers tab."""
        return self._selected(  # type: ignore[no-any-return]
            self.transfer_view, self.transfer_model
        )

    def refresh_after_change(self) -> None:
        """Re-read the patient list and the shown patient after a correction was saved."""
        self._after_change()

    def _after_change(self) -> None:
        """Re-read everything shown after a save."""
        keep = self._patient_id
        self.patient_model.reload()
        if keep is not None:
            self.select_patient(keep)

    # -- actions ----------------------------------------------------------------------------

    def new_patient(self) -> None:
        """Add a patient and show them."""
        dialog = PatientDialog(self.clinic, self)
        if dialog.exec() and dialog.patient_id is not None:
            self.patient_model.reload()
            self.select_patient(dialog.patient_id)

    def new_invoice(self) -> None:
        """Invoice the shown patient (and optionally go straight to the payment)."""
        if self._patient_id is None:
            return
        dialog = InvoiceDialog(
            self.clinic, self.formatter, self._patient_id, self.name_label.text(), self
        )
        if dialog.exec() and dialog.invoice_id is not None:
            self._after_change()
            if dialog.pay_now:
                self.enter_payment(dialog.invoice_id)

    def edit_invoice_of(self, patient_id: int, invoice_id: int) -> None:
        """Show the patient, select invoice ``invoice_id`` on their Invoices tab and correct it
        (All invoices' Edit invoice)."""
        self.select_patient(patient_id)
        model = self.invoice_model
        for row in range(model.rowCount()):
            if model.record(row).id == invoice_id:
                self.invoice_view.selectRow(row)
                self.edit_invoice()
                break
        window = self._invoice_list_window
        if window is not None and hasattr(window, "reload"):
            window.reload()

    def edit_invoice(self) -> None:
        """Correct the invoice selected on the Invoices tab: a draft (change, issue or delete
        it), or an issued invoice nothing touches yet; otherwise say what to undo first."""
        invoice = self.selected_invoice()
        if self._patient_id is None or invoice is None:
            return
        try:
            refusal = self.clinic.invoice_edit_refusal(invoice.id)
        except BillingError as exc:
            QMessageBox.information(self, "Edit invoice", str(exc))
            return
        if refusal is not None:
            self._explain_edit_refusal(invoice, refusal)
            return
        dialog = InvoiceDialog(
            self.clinic,
            self.formatter,
            self._patient_id,
            self.name_label.text(),
            self,
            invoice=self.clinic.invoice(invoice.id),
        )
        self.last_invoice_dialog = dialog
        if dialog.exec():
            self._after_change()
            if dialog.pay_now and dialog.invoice_id is not None:
                self.enter_payment(dialog.invoice_id)

    def _explain_edit_refusal(self, invoice: InvoiceRecord, refusal: str) -> None:
        """Say what stops the correction, offering a credit note where that is the way."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Information)
        box.setWindowTitle(f"Edit invoice #{invoice.number}")
        box.setText(refusal)
        offer = None
        if invoice.status != "void" and invoice.balance > 0:
            offer = box.addButton("Issue a credit note…", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Close)
        self.last_refusal_box = box
        box.exec()
        if offer is not None and box.clickedButton() is offer:
            self.corrections.credit_note()

    def enter_payment(self, source_invoice: int | None = None) -> None:
        """Open the payment dialog for the shown patient, from an invoice if one is given; an
        invoice billed to a payer is paid by the payer's remittance instead."""
        if self._patient_id is None:
            return
        if source_invoice is not None:
            try:
                invoice = self.clinic.invoice(source_invoice)
            except BillingError as exc:
                QMessageBox.information(self, "Enter payment", str(exc))
                self._after_change()
                return
            if invoice.payer_id is not None:
                self.payer_actions.pay_invoice(invoice)
                return
        try:
            dialog = self.payment_dialog(source_invoice)
        except BillingError as exc:  # e.g. the invoice was paid on another computer meanwhile
            QMessageBox.information(self, "Enter payment", str(exc))
            self._after_change()
            return
        if dialog.exec():
            self._after_change()
            saved = dialog.saved_payment_id
            if saved is not None:
                self._select_payment(saved)
                self.receipt_bar.offer(saved, self.name_label.text(), self._patient_id)

    def printing_receipt(self, payment_id: int) -> None:
        """Open a payment's receipt in the print window (the receipt bar's Print receipt…)."""
        self.printing.print_receipt(payment_id)

    def _select_payment(self, payment_id: int) -> None:
        """Select a payment on the Payments tab, so its receipt is one shortcut away."""
        for row in range(self.payment_model.rowCount()):
            if self.payment_model.record(row).id == payment_id:
                self.tabs.setCurrentWidget(self.payment_view)
                self.payment_view.selectRow(row)
                shortcut = self.printing.receipt_action.shortcut().toString(
                    QKeySequence.SequenceFormat.NativeText
                )
                self.statusBar().showMessage(
                    f"Payment {payment_id} saved. Print its receipt: {shortcut}.", 10000
                )
                return

    def apply_credit(self, everyone: bool = False) -> dict[int, int]:
        """Preview and apply account credit to open invoices: for the shown patient, or for every
        patient holding credit while they owe. Returns the payment saved per patient id."""
        from desktop_app.ui.dialogs.apply_credit import ApplyCreditDialog  # loaded on first use

        if everyone:
            patient_ids = self.clinic.credit_beside_open_invoices()
        elif self._patient_id is not None:
            patient_ids = [self._patient_id]
        else:
            return {}
        dialog = ApplyCreditDialog(self.clinic, self.formatter, patient_ids, self)
        dialog.exec()
        if dialog.saved:
            self._after_change()
            count = len(dialog.saved)
            self.statusBar().showMessage(
                f"Account credit applied to open invoices for {count} "
                f"patient{'' if count == 1 else 's'}.",
                10000,
            )
            if self._patient_id in dialog.saved:
                self._select_payment(dialog.saved[self._patient_id])
        return dialog.saved

    def _on_apply_credit_action_triggered(self) -> None:
        self.apply_credit()

    def _on_apply_credit_all_action_triggered(self) -> None:
        self.apply_credit(everyone=True)

    def payment_dialog(self, source_invoice: int | None = None) -> PaymentDialog:
        """A payment dialog for the shown patient (not yet shown)."""
        assert self._patient_id is not None
        from desktop_app.ui.dialogs.payment_dialog import PaymentDialog  # loaded on first use

        return PaymentDialog(self.clinic, self.formatter, self._patient_id, source_invoice, self)

    def open_settings(self) -> None:
        """Open the settings; what is saved applies to the next payment at once."""
        from desktop_app.ui.settings.settings_dialog import SettingsDialog  # loaded on first use

        dialog = SettingsDialog(self.clinic, self)
        if dialog.exec():
            self.formatter = self.formatter.for_currency(self.clinic.currency)
            self.patient_model.set_formatter(self.formatter)
            self.setWindowTitle(f"Clinic Ledger: {self.clinic.clinic_name}")
            self._after_change()

    def verify_ledger(self) -> list[str]:
        """Check the ledger again from the records and say what was found, in plain words (the
        technical list behind "Show Details…")."""
        from desktop_app.core import LedgerCheck
        from desktop_app.ui.dialogs.ledger_check import show_ledger_check

        problems = self.clinic.verify()
        show_ledger_check(self, LedgerCheck(tuple(problems)))
        return problems

    def open_audit_log(self) -> QWidget:
        """Show the audit log window (read-only, non-modal), or bring it to the front."""
        from desktop_app.ui.dialogs.audit_log_dialog import AuditLogDialog  # loaded on first use

        window = self._audit_log_window
        if isinstance(window, AuditLogDialog) and window.log is self.clinic:
            window.reload()
        else:
            if window is not None:
                window.close()
            window = AuditLogDialog(self.clinic, self.formatter, self)
            self._audit_log_window = window
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    def open_invoice_list(self) -> QWidget:
        """Show every patient's invoices (non-modal), or bring the window to the front."""
        from desktop_app.ui.dialogs.invoice_list import InvoiceListWindow  # loaded on first use

        window = self._invoice_list_window
        if isinstance(window, InvoiceListWindow) and window.clinic is self.clinic:
            window.reload()
        else:
            if window is not None:
                window.close()
            window = InvoiceListWindow(self.clinic, self.formatter, self)
            window.patient_chosen.connect(self._on_invoice_list_patient_chosen)
            window.edit_requested.connect(self._on_invoice_list_edit_requested)
            self._invoice_list_window = window
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    def open_reports(self) -> QWidget:
        """Show the takings and aged receivables reports (non-modal), read afresh."""
        from desktop_app.ui.dialogs.reports import ReportsWindow  # loaded on first use

        window = self._reports_window
        if isinstance(window, ReportsWindow) and window.clinic is self.clinic:
            window.refresh()
        else:
            if window is not None:
                window.close()
            window = ReportsWindow(self.clinic, self.formatter, self)
            self._reports_window = window
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    def open_accounting_export(self) -> QWidget:
        """Show the accounting export window (non-modal), read afresh."""
        from desktop_app.ui.dialogs.accounting_export import AccountingExportDialog

        if self._accounting_window is not None:
            self._accounting_window.close()
        window = AccountingExportDialog(self.clinic, self)
        self._accounting_window = window
        window.show()
        return window

    def open_xero(self) -> QWidget:
        """Show the Xero connection window (modal)."""
        from desktop_app.ui.dialogs.xero_dialog import XeroDialog  # loaded on first use

        dialog = XeroDialog(self.clinic, self)
        dialog.open()
        return dialog

    def _on_xero_action_triggered(self) -> None:
        self.open_xero()

    def open_statement_run(self) -> QWidget:
        """Show Tools > Statement run… (non-modal; one at a time)."""
        from desktop_app.ui.dialogs.statement_run_dialog import StatementRunDialog

        window = self._statement_run_window
        if window is None or not window.isVisible():
            if window is not None:
                window.close()
            window = StatementRunDialog(self.clinic, self.formatter, self)
            self._statement_run_window = window
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    def _on_statement_run_action_triggered(self) -> None:
        self.open_statement_run()

    def assign_practitioner(self, choose: Any = None) -> bool:
        """Choose the shown patient's practitioner (who may then read their billing).

        ``choose(names, current) -> (name, ok)`` asks; by default a list to pick from.
        """
        if self._patient_id is None:
            return False
        clinic = self.clinic
        people = clinic.practitioners()
        labels = ["No one", *(f"{p.full_name} ({p.username})" for p in people)]
        current = clinic.patient_practitioner(self._patient_id)
        index = next((i + 1 for i, p in enumerate(people) if p.username == current), 0)
        if choose is None:

            def choose(names: list[str], at: int) -> tuple[str, bool]:
                return QInputDialog.getItem(
                    self, "Assign practitioner", "Practitioner:", names, at, False
                )

        label, ok = choose(labels, index)
        if not ok:
            return False
        chosen = None if label == labels[0] else people[labels.index(label) - 1].username
        try:
            clinic.assign_practitioner(self._patient_id, chosen)
        except BillingError as exc:
            QMessageBox.warning(self, "Assign practitioner", str(exc))
            return False
        self.statusBar().showMessage(f"Practitioner: {label}.", 10000)
        return True

    def _on_practitioner_triggered(self) -> None:
        self.assign_practitioner()

    def change_password(self) -> QDialog:
        """The signed-in staff member's "Change my password" window (not yet shown)."""
        from desktop_app.ui.settings.staff_page import ChangePasswordDialog

        return ChangePasswordDialog(self.clinic, self)

    def _on_change_password_triggered(self) -> None:
        self.change_password().exec()

    def _on_accounting_export_triggered(self) -> None:
        self.open_accounting_export()

    def open_export(self) -> QWidget:
        """Export patients, invoices, invoice lines or payments to a CSV file (modal)."""
        from desktop_app.ui.dialogs.export_dialog import ExportDialog  # loaded on first use

        dialog = ExportDialog(self.clinic, self)
        dialog.exec()
        return dialog

    def back_up(self) -> BackupResult | None:
        """Save a checked copy of the clinic's database (or say how a server is backed up)."""
        from desktop_app.ui.dialogs import backup_restore  # loaded on first use

        return backup_restore.back_up(self, self.clinic, self._choose_backup_path)

    def restore_from_backup(self) -> RestoreResult | None:
        """Replace the clinic's data with a backup after confirmation, then show the clinic again.

        The current data is kept as a copy next to the database file.
        """
        from desktop_app.ui.dialogs import backup_restore  # loaded on first use

        outcome = backup_restore.restore(self, self.clinic, self._choose_restore_path)
        if outcome is None:
            return None
        result, reopened = outcome
        self._patient_id = None
        before = self.clinic.staff_member
        self.open_clinic(reopened)
        if reopened.has_staff():
            # The restored ledger has its own staff accounts: the window does not carry on with
            # every right as the database's owner; whoever goes on signs in to it.
            self._ask_sign_in(
                reopened,
                "" if before is None else before.username,
                "The backup was restored. Sign in to the restored clinic to go on.",
            )
        return result

    def _choose_backup_path(self, database: Path) -> Path | None:
        """Where to save a backup of ``database`` (None: cancelled). Tests replace this."""
        from desktop_app.ui.dialogs import backup_restore  # loaded on first use

        return backup_restore.choose_file(self, database, saving=True)

    def _choose_restore_path(self, database: Path) -> Path | None:
        """Which backup to restore into ``database`` (None: cancelled). Tests replace this."""
        from desktop_app.ui.dialogs import backup_restore  # loaded on first use

        return backup_restore.choose_file(self, database, saving=False)

    def import_dialog(self) -> ImportDialog:
        """File > Import…'s dialog (not yet shown); the lists are re-read after an import."""
        from desktop_app.ui.dialogs.import_dialog import ImportDialog  # loaded on first use

        dialog = ImportDialog(self.clinic, self)
        dialog.imported.connect(self._on_import_dialog_imported)
        return dialog

    def import_csv(self) -> None:
        """Import a CSV file from the clinic's previous system (File > Import…)."""
        self.import_dialog().exec()

    # -- slots ------------------------------------------------------------------------------

    def _on_import_action_triggered(self) -> None:
        self.import_csv()

    def _on_import_dialog_imported(self, _result: object) -> None:
        self.refresh_after_change()
        if self._patient_id is None and self.patient_model.rowCount():
            self.patient_view.selectRow(0)

    def _on_backup_action_triggered(self) -> None:
        self.back_up()

    def _on_restore_action_triggered(self) -> None:
        self.restore_from_backup()

    def _on_record_selection_changed(self, *_args: object) -> None:
        self._update_corrections()

    def _on_patient_model_reset(self) -> None:
        """Size the patient list's columns to what they show, and say when a search finds nobody."""
        model = self.patient_model
        searching = bool(self.search_edit.text().strip())
        self.no_match_label.setVisible(searching and model.rowCount() == 0)
        size_columns(self.patient_view, self.formatter, NAME_WIDTH)

    def _on_show_archived_toggled(self, checked: bool) -> None:
        if self._patient_model is None:
            return
        keep = self._patient_id
        self.patient_model.set_include_archived(checked)
        row = self.patient_model.row_of(keep) if keep is not None else -1
        if row >= 0:
            self.patient_view.selectRow(row)
        elif self.patient_model.rowCount():
            self.patient_view.selectRow(0)
        else:
            self._patient_id = None
            self._show_patient()

    def _on_status_badge_link_activated(self, link: str) -> None:
        self.select_patient(int(link))

    def _on_patient_sort_indicator_changed(self, column: int, _order: Qt.SortOrder) -> None:
        if (
            self._patient_model is not None
            and 0 <= column < len(SORT_KEYS)
            and (SORT_KEYS[column] is None)
        ):
            # Dates of birth and mobiles are not sorted: the indicator stays where the order is.
            sorted_column, descending = self.patient_model.sorted_column()
            order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
            self.patient_view.horizontalHeader().setSortIndicator(sorted_column, order)

    def _on_search_edit_text_changed(self, _text: str) -> None:
        self._search_timer.start()

    def _on_search_timer_timeout(self) -> None:
        self.patient_model.set_search(self.search_edit.text())
        if self.patient_model.rowCount():
            self.patient_view.selectRow(0)
        else:
            self._patient_id = None
            self._show_patient()

    def _on_payment_action_triggered(self) -> None:
        # Not connected to enter_payment directly: triggered/clicked pass checked=False, and a
        # bool is an int to Python.
        self.enter_payment(None)

    def _on_find_action_triggered(self) -> None:
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    def _on_audit_log_action_triggered(self) -> None:
        self.open_audit_log()  # not connected directly: triggered passes checked

    def _on_invoice_list_action_triggered(self) -> None:
        self.open_invoice_list()

    def _on_reports_action_triggered(self) -> None:
        self.open_reports()

    def _on_export_action_triggered(self) -> None:
        self.open_export()

    def _on_invoice_list_patient_chosen(self, patient_id: int) -> None:
        self.select_patient(patient_id)
        self.raise_()
        self.activateWindow()

    def _on_patient_view_current_row_changed(self, current: QModelIndex, _: QModelIndex) -> None:
        if current.isValid():
            pid = self.patient_model.patient_id(current.row())
            if pid != self._patient_id:
                self._patient_id = pid
                self._show_patient()

    def _on_invoice_list_edit_requested(self, patient_id: int, invoice_id: int) -> None:
        self.edit_invoice_of(patient_id, invoice_id)

    def _on_invoice_view_activated(self, index: QModelIndex) -> None:
        invoice: InvoiceRecord = self.invoice_model.record(index.row())
        if invoice.is_draft:
            self.edit_invoice()
        elif invoice.is_open:
            self.enter_payment(invoice.id)

    def _on_payment_view_activated(self, index: QModelIndex) -> None:
        payment: PaymentRecord = self.payment_model.record(index.row())
        PaymentDetailDialog(self.clinic.payment(payment.id), self.formatter, self).exec()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        auto = getattr(self, "xero_auto", None)
        if auto is not None:
            auto.stop()
        self.outbox_actions.stop()
        if self._settings is not None:
            self._settings.setValue("main_window/geometry", self.saveGeometry())
        super().closeEvent(event)
