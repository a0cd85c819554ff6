"""The headless core of Clinic Ledger: no Qt anywhere below this package.

The public door, and the windows' only one (docs/ledger-rules.md, "Layers"; checked by
``lint-imports``)::

    from desktop_app.core import Clinic, AllocationMode, BillingError, ConcurrentChangeError

Names are loaded on first use (PEP 562), so code that needs only the light domain modules (money,
errors, records) does not pay for importing the database layer; the desktop window relies on this
to appear before SQLAlchemy is loaded. Each name imports only its own module when first used (a
backup result does not load the accounting export). Some names are renamed here, being too general
for the package: ``IMPORT_COLUMNS``, ``IMPORT_IGNORE`` and ``import_template``
(``importing.COLUMNS``, ``import_mapping.IGNORE``, ``importing.template``), ``import_header`` and
``suggest_import_mapping`` (``import_mapping.read_header``, ``import_mapping.suggest``).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .access.staff import Permission, PermissionDenied, Role, SignInError, StaffMember
    from .clinic import Clinic
    from .domain.allocation import AllocationMode, AllocationPlan, OpenInvoice, PlanLine, allocate
    from .domain.currencies import MINOR_UNITS
    from .domain.errors import (
        BillingError,
        ConcurrentChangeError,
        DatabaseBusyError,
        NotFoundError,
        Refusal,
    )
    from .domain.invoicing import parse_lines
    from .domain.letterhead import Letterhead
    from .domain.mail_templates import (
        DEFAULT_TEMPLATES,
        PLACEHOLDERS,
        MailKind,
        MailTemplate,
        fill_body,
        fill_subject,
    )
    from .domain.money import Money, format_amount, parse_minor, to_decimal
    from .domain.patient_details import DETAIL_LABELS, PATIENT_DETAILS
    from .domain.payers import (
        DEFAULT_REFERENCE_LABEL,
        MembershipRecord,
        PayerKind,
        PayerRecord,
        payer_share,
        split_lines,
    )
    from .domain.payment_draft import PaymentDraft
    from .domain.records import (
        ApplicationRecord,
        BillableItemRecord,
        ClinicSummary,
        CreditLot,
        CreditMovement,
        CreditNoteRecord,
        CreditUse,
        InvoiceLineRecord,
        InvoiceRecord,
        MergePreview,
        PatientRecord,
        PaymentPreview,
        PaymentRecord,
        TransferRecord,
    )
    from .domain.regions import COUNTRIES, OTHER_COUNTRY, REGIONS, ClinicProfile, Region, region_for
    from .interchange.accounting_export import ExportSummary
    from .interchange.accounting_mapping import DATE_FORMATS, AccountMapping
    from .interchange.backup import (
        BackupResult,
        RestoreResult,
        ServerBackupError,
        sqlite_database_path,
        suggested_backup_name,
    )
    from .interchange.export import ExportCancelled, export_csv, rows_text
    from .interchange.import_mapping import IGNORE as IMPORT_IGNORE
    from .interchange.import_mapping import read_header as import_header
    from .interchange.import_mapping import suggest as suggest_import_mapping
    from .interchange.importing import COLUMNS as IMPORT_COLUMNS
    from .interchange.importing import ImportProblem, ImportRefused, ImportResult, import_file
    from .interchange.importing import template as import_template
    from .interchange.spreadsheet_text import safe_text
    from .ledger.corrections import credit_note_split
    from .ledger.invoice_list import InvoiceKey, InvoiceListRow, InvoicePage
    from .ledger.verify import LedgerCheck
    from .mail.drafts import EmailDraft
    from .mail.outbox import OutboxRecord, OutboxStatus, OutboxTally, SendSummary
    from .mail.reminders import (
        ReminderCandidate,
        ReminderQueued,
        ReminderResult,
        ReminderSkipped,
    )
    from .mail.settings import EmailSettings, ReminderSettings, Security
    from .mail.statement_runs import (
        StatementItemState,
        StatementRunItemRecord,
        StatementRunPreview,
        StatementRunProgress,
        StatementRunRecord,
        StatementRunRow,
    )
    from .managers.payers import PayerInvoice
    from .reporting.audit_log import AuditFilter, AuditLogReader, AuditRecord
    from .reporting.desk_alerts import CreditAlert, DeskAlerts
    from .reporting.documents import (
        BilledFor,
        InvoiceDocument,
        PayerBilledInvoice,
        PayerOpenInvoice,
        PayerStatementDocument,
        ReceiptDocument,
        StatementDocument,
    )
    from .reporting.figures import (
        BUCKET_NAMES,
        AgedReceivables,
        AgedRow,
        RemittanceLine,
        Takings,
        TakingsLine,
    )
    from .reporting.liability import CreditLiability
    from .reporting.revenue import RevenueRow
    from .xero.chart import XeroAccount, XeroChart, XeroTaxRate
    from .xero.client import XeroError
    from .xero.oauth import XeroOrganisation
    from .xero.sync import SyncReport

_HOMES = {
    "interchange.accounting_export": ["ExportSummary"],
    "interchange.accounting_mapping": ["DATE_FORMATS", "AccountMapping"],
    "domain.allocation": [
        "AllocationMode",
        "AllocationPlan",
        "OpenInvoice",
        "PlanLine",
        "allocate",
    ],
    "reporting.audit_log": ["AuditFilter", "AuditLogReader", "AuditRecord"],
    "interchange.backup": [
        "BackupResult",
        "RestoreResult",
        "ServerBackupError",
        "sqlite_database_path",
        "suggested_backup_name",
    ],
    "clinic": ["Clinic"],
    "ledger.corrections": ["credit_note_split"],
    "domain.currencies": ["MINOR_UNITS"],
    "reporting.documents": [
        "BilledFor",
        "InvoiceDocument",
        "PayerBilledInvoice",
        "PayerOpenInvoice",
        "PayerStatementDocument",
        "ReceiptDocument",
        "StatementDocument",
    ],
    "domain.errors": [
        "BillingError",
        "ConcurrentChangeError",
        "DatabaseBusyError",
        "NotFoundError",
        "Refusal",
    ],
    "interchange.export": ["ExportCancelled", "export_csv", "rows_text"],
    "interchange.importing": [
        "IMPORT_COLUMNS",
        "ImportProblem",
        "ImportRefused",
        "ImportResult",
        "import_file",
        "import_template",
    ],
    "interchange.import_mapping": ["IMPORT_IGNORE", "import_header", "suggest_import_mapping"],
    "ledger.invoice_list": ["InvoiceKey", "InvoiceListRow", "InvoicePage"],
    "ledger.verify": ["LedgerCheck"],
    "domain.invoicing": ["parse_lines"],
    "domain.letterhead": ["Letterhead"],
    "reporting.liability": ["CreditLiability"],
    "domain.money": ["Money", "format_amount", "parse_minor", "to_decimal"],
    "domain.payment_draft": ["PaymentDraft"],
    "domain.payers": [
        "payer_share",
        "split_lines",
        "DEFAULT_REFERENCE_LABEL",
        "MembershipRecord",
        "PayerKind",
        "PayerRecord",
    ],
    "managers.payers": ["PayerInvoice"],
    "domain.mail_templates": [
        "DEFAULT_TEMPLATES",
        "PLACEHOLDERS",
        "MailKind",
        "MailTemplate",
        "fill_body",
        "fill_subject",
    ],
    "mail.drafts": ["EmailDraft"],
    "mail.outbox": ["OutboxRecord", "OutboxStatus", "OutboxTally", "SendSummary"],
    "mail.reminders": ["ReminderCandidate", "ReminderQueued", "ReminderResult", "ReminderSkipped"],
    "reporting.desk_alerts": ["CreditAlert", "DeskAlerts"],
    "mail.settings": ["EmailSettings", "ReminderSettings", "Security"],
    "mail.statement_runs": [
        "StatementItemState",
        "StatementRunItemRecord",
        "StatementRunPreview",
        "StatementRunProgress",
        "StatementRunRecord",
        "StatementRunRow",
    ],
    "reporting.figures": [
        "BUCKET_NAMES",
        "AgedReceivables",
        "AgedRow",
        "RemittanceLine",
        "Takings",
        "TakingsLine",
    ],
    "reporting.revenue": ["RevenueRow"],
    "xero.oauth": ["XeroOrganisation"],
    "xero.client": ["XeroError"],
    "xero.chart": ["XeroAccount", "XeroChart", "XeroTaxRate"],
    "xero.sync": ["SyncReport"],
    "interchange.spreadsheet_text": ["safe_text"],
    "access.staff": ["Permission", "PermissionDenied", "Role", "SignInError", "StaffMember"],
    "domain.regions": [
        "COUNTRIES",
        "OTHER_COUNTRY",
        "REGIONS",
        "ClinicProfile",
        "Region",
        "region_for",
    ],
    "domain.records": [
        "ApplicationRecord",
        "BillableItemRecord",
        "ClinicSummary",
        "CreditLot",
        "CreditMovement",
        "CreditNoteRecord",
        "CreditUse",
        "InvoiceLineRecord",
        "InvoiceRecord",
        "MergePreview",
        "PatientRecord",
        "PaymentPreview",
        "PaymentRecord",
        "TransferRecord",
    ],
    "domain.patient_details": ["PATIENT_DETAILS", "DETAIL_LABELS"],
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}
#: Names exported under another name than their module's.
_RENAMED = {
    "IMPORT_COLUMNS": "COLUMNS",
    "IMPORT_IGNORE": "IGNORE",
    "import_header": "read_header",
    "import_template": "template",
    "suggest_import_mapping": "suggest",
}

__all__ = [
    "BUCKET_NAMES",
    "COUNTRIES",
    "DATE_FORMATS",
    "DEFAULT_REFERENCE_LABEL",
    "DEFAULT_TEMPLATES",
    "DETAIL_LABELS",
    "IMPORT_COLUMNS",
    "IMPORT_IGNORE",
    "MINOR_UNITS",
    "OTHER_COUNTRY",
    "PATIENT_DETAILS",
    "PLACEHOLDERS",
    "REGIONS",
    "AccountMapping",
    "AgedReceivables",
    "AgedRow",
    "AllocationMode",
    "AllocationPlan",
    "ApplicationRecord",
    "AuditFilter",
    "AuditLogReader",
    "AuditRecord",
    "BackupResult",
    "BillableItemRecord",
    "BilledFor",
    "BillingError",
    "Clinic",
    "ClinicProfile",
    "ClinicSummary",
    "ConcurrentChangeError",
    "CreditAlert",
    "CreditLiability",
    "CreditLot",
    "CreditMovement",
    "CreditNoteRecord",
    "CreditUse",
    "DatabaseBusyError",
    "DeskAlerts",
    "EmailDraft",
    "EmailSettings",
    "ExportCancelled",
    "ExportSummary",
    "ImportProblem",
    "ImportRefused",
    "ImportResult",
    "InvoiceDocument",
    "InvoiceKey",
    "InvoiceLineRecord",
    "InvoiceListRow",
    "InvoicePage",
    "InvoiceRecord",
    "LedgerCheck",
    "Letterhead",
    "MailKind",
    "MailTemplate",
    "MembershipRecord",
    "MergePreview",
    "Money",
    "NotFoundError",
    "OpenInvoice",
    "OutboxRecord",
    "OutboxStatus",
    "OutboxTally",
    "PatientRecord",
    "PayerBilledInvoice",
    "PayerInvoice",
    "PayerKind",
    "PayerOpenInvoice",
    "PayerRecord",
    "PayerStatementDocument",
    "PaymentDraft",
    "PaymentPreview",
    "PaymentRecord",
    "Permission",
    "PermissionDenied",
    "PlanLine",
    "ReceiptDocument",
    "Refusal",
    "Region",
    "ReminderCandidate",
    "ReminderQueued",
    "ReminderResult",
    "ReminderSettings",
    "ReminderSkipped",
    "RemittanceLine",
    "RestoreResult",
    "RevenueRow",
    "Role",
    "Security",
    "SendSummary",
    "ServerBackupError",
    "SignInError",
    "StaffMember",
    "StatementDocument",
    "StatementItemState",
    "StatementRunItemRecord",
    "StatementRunPreview",
    "StatementRunProgress",
    "StatementRunRecord",
    "StatementRunRow",
    "SyncReport",
    "Takings",
    "TakingsLine",
    "TransferRecord",
    "XeroAccount",
    "XeroChart",
    "XeroError",
    "XeroOrganisation",
    "XeroTaxRate",
    "allocate",
    "credit_note_split",
    "export_csv",
    "fill_body",
    "fill_subject",
    "format_amount",
    "import_file",
    "import_header",
    "import_template",
    "parse_lines",
    "parse_minor",
    "payer_share",
    "region_for",
    "rows_text",
    "safe_text",
    "split_lines",
    "sqlite_database_path",
    "suggest_import_mapping",
    "suggested_backup_name",
    "to_decimal",
]
assert sorted(_MODULE_OF) == sorted(__all__)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
