"""The headless API: one Qt-free door to the ledger for the windows, scripts and tests.

A :class:`Clinic` is an open ledger acting for one person (a signed-in staff member, or the
database's owner). Its work is done by managers, one per area, each holding the clinic's store
(Anki's collection is the model: ``col.decks``, ``col.sched``)::

    clinic.patients      add, update, archive, restore, merge, get, ids, credit_history, ...
    clinic.invoices      create, get, void, page, count; clinic.invoices(patient_id) lists
    clinic.payments      draft, preview, record, get, refund; clinic.payments(patient_id) lists
    clinic.payers        add, update, archive, memberships, open_invoices, preview_payment,
                         record_payment (remittances), refund; clinic.payers() lists
    clinic.corrections   reverse_payment, remove_application, issue_credit_note, transfer_credit...
    clinic.settings      update, set_up, profile, currency, allocation_mode, payment_types, ...
    clinic.reports       summary, aged_receivables, credit_liability, takings, revenue_by_*,
                         verify, documents (payer_statement too)
    clinic.audit         entry_ids, entries_by_ids, count, actions, actors
    clinic.staff         add, members, update, change_password, reset_password, practitioners
    clinic.interchange   accounting export and mapping, import mappings, backup, restore
    clinic.email         settings (server, sender; the password in the keychain), templates,
                         draft, queue, send_outbox, outbox, tally, retry, cancel,
                         account_messages
    clinic.reminders     overdue (invoices due a reminder), send (queue the approved ones),
                         desk_alerts (dormant credit, credit beside open invoices)
    clinic.statement_runs  preview, start, step, get, find, items, posted, document (a period's
                         statements to everyone owing or holding credit); clinic.statement_runs()
                         lists the runs
    clinic.xero          organisation, connect, disconnect, client, check_chart (the mapping
                         against Xero's chart), sync and its log; the refresh token stays in
                         the keychain

Every name of the first releases keeps working as a one-line delegate (``clinic.record_payment``
is ``clinic.payments.record``). Every write runs in one transaction (:mod:`.ledger.transaction`)
that locks what it depends on (the currency, then patients in id order), re-reads it, and saves
everything or nothing. A refused call raises :class:`~.domain.errors.BillingError` (with a
``code`` and the ``field`` it is about) and leaves the database unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from .access.staff import Permission, StaffMember
from .db.credentials import with_stored_password
from .db.engine import default_database_url
from .db.migrate import open_database
from .domain.allocation import AllocationMode
from .ledger.store import OWNER, Store
from .ledger.transaction import Transaction
from .managers.audit import AuditTrail
from .managers.base import delegate, relay
from .managers.catalogue import Catalogue
from .managers.corrections import Corrections
from .managers.email import Email
from .managers.interchange import Interchange
from .managers.invoices import Invoices
from .managers.patients import Patients
from .managers.payers import Payers
from .managers.payments import Payments
from .managers.reminders import Reminders
from .managers.reports import Reports
from .managers.settings import Settings
from .managers.staff import StaffAccounts
from .managers.statement_runs import StatementRuns
from .managers.xero import XeroConnection

if TYPE_CHECKING:
    from .mail.settings import EmailSettings, ReminderSettings


class Clinic:
    """One clinic's ledger, on a SQLite file or a PostgreSQL server.

    Open with :meth:`open`; close with :meth:`close` (or use it as a context manager).
    """

    def __init__(
        self, engine: Engine, *, actor: str = OWNER, staff: StaffMember | None = None
    ) -> None:
        self.store = Store(engine, staff, actor=actor)
        self.patients = Patients(self.store)
        self.invoices = Invoices(self.store)
        self.catalogue = Catalogue(self.store)
        self.payments = Payments(self.store)
        self.payers = Payers(self.store)
        self.corrections = Corrections(self.store)
        self.settings = Settings(self.store)
        self.reports = Reports(self.store)
        self.xero = XeroConnection(self.store)
        self.email = Email(self.store)
        self.statement_runs = StatementRuns(self.store)
        self.reminders = Reminders(self.store)
        self.audit = AuditTrail(self.store)
        self.staff = StaffAccounts(self.store)
        self.interchange = Interchange(self.store)

    # -- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str | None = None) -> Clinic:
        """Open (creating or upgrading the schema of) the clinic at ``url``.

        Args:
            url: ``sqlite:///path/clinic.db`` or ``postgresql+psycopg://user@host/db``; by default
                the SQLite file in the user's data folder.
        """
        # A PostgreSQL password comes from the keychain, never from a file (db/credentials.py).
        return cls(open_database(with_stored_password(url or default_database_url())))

    def sign_in(self, username: str, password: str) -> Clinic:
        """A clinic bound to the staff member ``username``: their role limits what it may do and
        the audit log names them. Refused (SignInError) for a wrong password, an unknown name, a
        disabled account, or while a name waits after wrong passwords (one message for all, so
        a stranger cannot tell which names exist)."""
        return Clinic(self.store.engine, staff=self.staff.authenticate(username, password))

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self.store.engine.url.render_as_string(hide_password=True)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for maintenance tools and tests, not for windows)."""
        return self.store.engine

    def close(self) -> None:
        """Release the database connections."""
        self.store.engine.dispose()

    def __enter__(self) -> Clinic:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the seams for the core's own modules (import, export) -------------------------------

    @property
    def actor(self) -> str:
        """Who the audit log names for this clinic's changes."""
        return self.store.actor

    def require(self, permission: Permission) -> None:
        """Refuse (PermissionDenied) unless the signed-in role, as the database has it now,
        allows ``permission``."""
        self.store.require(permission)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """One read-only transaction (a consistent snapshot) for the core's own modules."""
        with self.store.read() as session:
            yield session

    @contextmanager
    def writing(self, permission: Permission | None = None) -> Iterator[Transaction]:
        """One all-or-nothing write transaction (:class:`~.ledger.transaction.Transaction`).
        ``permission``, if given, is checked again (the staff row locked) as it begins."""
        with self.store.write(permission) as tx:
            yield tx

    # -- the flat API of the first releases: one-line delegates to the managers ---------------

    @property
    def staff_member(self) -> StaffMember | None:
        """Who this clinic acts for (None: the database's owner, with every right)."""
        return self.store.staff

    permissions = delegate("staff", StaffAccounts.permissions)
    may = delegate("staff", StaffAccounts.may)
    has_staff = delegate("staff", StaffAccounts.has_staff)
    add_staff = delegate("staff", StaffAccounts.add)
    staff_members = delegate("staff", StaffAccounts.members)
    change_password = delegate("staff", StaffAccounts.change_password)
    reset_password = delegate("staff", StaffAccounts.reset_password)
    update_staff = delegate("staff", StaffAccounts.update)
    practitioners = delegate("staff", StaffAccounts.practitioners)

    add_patient = delegate("patients", Patients.add)
    patient = delegate("patients", Patients.get)
    credit = delegate("patients", Patients.credit)
    patient_ids = delegate("patients", Patients.ids)
    update_patient = delegate("patients", Patients.update)
    archive_patient = delegate("patients", Patients.archive)
    restore_patient = delegate("patients", Patients.restore)
    preview_merge = delegate("patients", Patients.preview_merge)
    merge_patients = delegate("patients", Patients.merge)
    patients_by_ids = delegate("patients", Patients.by_ids)
    credit_history = delegate("patients", Patients.credit_history)
    credit_account = delegate("patients", Patients.credit_account)
    credit_sources = delegate("patients", Patients.credit_sources)
    patient_practitioner = delegate("patients", Patients.practitioner)
    assign_practitioner = delegate("patients", Patients.assign_practitioner)

    create_invoice = delegate("invoices", Invoices.create)
    invoice = delegate("invoices", Invoices.get)
    void_invoice = delegate("invoices", Invoices.void)
    invoice_page = delegate("invoices", Invoices.page)
    update_invoice = delegate("invoices", Invoices.update)
    invoice_edit_refusal = delegate("invoices", Invoices.edit_refusal)
    issue_invoice = delegate("invoices", Invoices.issue)
    delete_draft = delegate("invoices", Invoices.delete_draft)

    billable_items = delegate("catalogue", Catalogue.__call__)
    billable_item = delegate("catalogue", Catalogue.get)
    add_billable_item = delegate("catalogue", Catalogue.add)
    update_billable_item = delegate("catalogue", Catalogue.update)
    archive_billable_item = delegate("catalogue", Catalogue.archive)
    restore_billable_item = delegate("catalogue", Catalogue.restore)
    export_billable_items = delegate("catalogue", Catalogue.export_csv)
    import_billable_items = delegate("catalogue", Catalogue.import_csv)
    xero_organisation = delegate("xero", XeroConnection.organisation)
    connect_xero = delegate("xero", XeroConnection.connect)
    disconnect_xero = delegate("xero", XeroConnection.disconnect)
    xero_client = delegate("xero", XeroConnection.client)
    check_xero_chart = delegate("xero", XeroConnection.check_chart)
    xero_chart = delegate("xero", XeroConnection.chart)
    sync_xero = delegate("xero", XeroConnection.sync)
    xero_sync_runs = delegate("xero", XeroConnection.sync_runs)
    xero_sync_minutes = delegate("xero", XeroConnection.sync_minutes)
    set_xero_sync_minutes = delegate("xero", XeroConnection.set_sync_minutes)
    xero_invoice_states = delegate("xero", XeroConnection.invoice_states)
    xero_payment_states = delegate("xero", XeroConnection.payment_states)
    create_split_invoice = delegate("invoices", Invoices.create_split)
    add_payer = delegate("payers", Payers.add)
    payer = delegate("payers", Payers.get)
    update_payer = delegate("payers", Payers.update)
    archive_payer = delegate("payers", Payers.archive)
    restore_payer = delegate("payers", Payers.restore)
    delete_payer = delegate("payers", Payers.delete)
    export_payers = delegate("payers", Payers.export_csv)
    import_payers = delegate("payers", Payers.import_csv)
    add_membership = delegate("payers", Payers.add_membership)
    update_membership = delegate("payers", Payers.update_membership)
    remove_membership = delegate("payers", Payers.remove_membership)
    memberships = delegate("payers", Payers.memberships)
    payer_members = delegate("payers", Payers.members)
    payer_open_invoices = delegate("payers", Payers.open_invoices)
    payer_payment_draft = delegate("payers", Payers.payment_draft)
    preview_payer_payment = delegate("payers", Payers.preview_payment)
    record_payer_payment = delegate("payers", Payers.record_payment)
    earlier_remittances = delegate("payers", Payers.earlier_remittances)
    refund_payer_credit = delegate("payers", Payers.refund)
    invoice_count = delegate("invoices", Invoices.count)

    payment_draft = delegate("payments", Payments.draft)
    preview_payment = delegate("payments", Payments.preview)
    record_payment = delegate("payments", Payments.record)
    payment = delegate("payments", Payments.get)
    refund_credit = delegate("payments", Payments.refund)
    credit_beside_open_invoices = delegate("payments", Payments.credit_beside_open)
    preview_credit_application = delegate("payments", Payments.preview_credit)
    apply_credit_to_open_invoices = delegate("payments", Payments.apply_credit)
    apply_credit_to_all_open_invoices = delegate("payments", Payments.apply_credit_everywhere)

    reverse_payment = delegate("corrections", Corrections.reverse_payment)
    remove_application = delegate("corrections", Corrections.remove_application)
    issue_credit_note = delegate("corrections", Corrections.issue_credit_note)
    credit_note = delegate("corrections", Corrections.credit_note)  # the first release's name
    reverse_credit_note = delegate("corrections", Corrections.reverse_credit_note)
    credit_notes = delegate("corrections", Corrections.credit_notes)
    transfer_credit = delegate("corrections", Corrections.transfer_credit)
    reverse_transfer = delegate("corrections", Corrections.reverse_transfer)
    transfers = delegate("corrections", Corrections.transfers)

    update_settings = delegate("settings", Settings.update)
    letterhead = delegate("settings", Settings.letterhead)
    set_allocation_mode = delegate("settings", Settings.set_allocation_mode)
    set_currency = delegate("settings", Settings.set_currency)
    set_clinic_name = delegate("settings", Settings.set_clinic_name)
    set_prices_include_tax = delegate("settings", Settings.set_prices_include_tax)
    payment_types = delegate("settings", Settings.payment_types)
    add_payment_type = delegate("settings", Settings.add_payment_type)
    deactivate_payment_type = delegate("settings", Settings.deactivate_payment_type)
    payment_type_modes = delegate("settings", Settings.payment_type_modes)
    set_payment_type_mode = delegate("settings", Settings.set_payment_type_mode)
    set_up_clinic = delegate("settings", Settings.set_up)
    clinic_profile = delegate("settings", Settings.profile)

    allocation_mode: relay[AllocationMode] = relay("settings", "allocation_mode")
    currency: relay[str] = relay("settings", "currency")
    currency_can_change: relay[bool] = relay("settings", "currency_can_change")
    clinic_name: relay[str] = relay("settings", "clinic_name")
    prices_include_tax: relay[bool] = relay("settings", "prices_include_tax")
    needs_first_run: relay[bool] = relay("settings", "needs_first_run")

    set_email_settings = delegate("email", Email.set_settings)
    set_email_password = delegate("email", Email.set_password)
    send_test_email = delegate("email", Email.send_test)
    email_template = delegate("email", Email.template)
    email_templates = delegate("email", Email.templates)
    set_email_template = delegate("email", Email.set_template)
    email_draft = delegate("email", Email.draft)
    queue_email = delegate("email", Email.queue)
    send_outbox = delegate("email", Email.send_outbox)
    outbox = delegate("email", Email.outbox)
    outbox_counts = delegate("email", Email.outbox_counts)
    retry_email = delegate("email", Email.retry)
    cancel_email = delegate("email", Email.cancel)
    account_messages = delegate("email", Email.account_messages)
    set_reminder_settings = delegate("email", Email.set_reminder_settings)
    email_settings: relay[EmailSettings] = relay("email", "settings")
    reminder_settings: relay[ReminderSettings] = relay("email", "reminder_settings")

    # -- statement runs --
    preview_statement_run = delegate("statement_runs", StatementRuns.preview)
    start_statement_run = delegate("statement_runs", StatementRuns.start)
    statement_run_step = delegate("statement_runs", StatementRuns.step)
    statement_run = delegate("statement_runs", StatementRuns.get)
    statement_run_for = delegate("statement_runs", StatementRuns.find)
    statement_run_items = delegate("statement_runs", StatementRuns.items)
    posted_statements = delegate("statement_runs", StatementRuns.posted)
    statement_run_document = delegate("statement_runs", StatementRuns.document)
    # Overdue reminders, the desk's credit alerts and the outbox's summary.
    outbox_tally = delegate("email", Email.tally)
    overdue_reminders = delegate("reminders", Reminders.overdue)
    send_reminders = delegate("reminders", Reminders.send)
    desk_alerts = delegate("reminders", Reminders.desk_alerts)

    summary = delegate("reports", Reports.summary)
    aged_receivables = delegate("reports", Reports.aged_receivables)
    credit_liability = delegate("reports", Reports.credit_liability)
    takings = delegate("reports", Reports.takings)
    revenue_by_practitioner = delegate("reports", Reports.revenue_by_practitioner)
    revenue_by_item = delegate("reports", Reports.revenue_by_item)
    verify = delegate("reports", Reports.verify)
    invoice_document = delegate("reports", Reports.invoice_document)
    receipt = delegate("reports", Reports.receipt)
    statement = delegate("reports", Reports.statement)
    payer_statement = delegate("reports", Reports.payer_statement)

    audit_entry_ids = delegate("audit", AuditTrail.entry_ids)
    audit_entries_by_ids = delegate("audit", AuditTrail.entries_by_ids)
    audit_count = delegate("audit", AuditTrail.count)
    audit_actions = delegate("audit", AuditTrail.actions)
    audit_actors = delegate("audit", AuditTrail.actors)

    accounting_mapping = delegate("interchange", Interchange.accounting_mapping)
    set_accounting_mapping = delegate("interchange", Interchange.set_accounting_mapping)
    import_mappings = delegate("interchange", Interchange.import_mappings)
    save_import_mapping = delegate("interchange", Interchange.save_import_mapping)
    preview_accounting_export = delegate("interchange", Interchange.preview_accounting_export)
    export_accounting = delegate("interchange", Interchange.export_accounting)
    accounting_exports = delegate("interchange", Interchange.accounting_exports)
    backup = delegate("interchange", Interchange.backup)
    restore = delegate("interchange", Interchange.restore)
