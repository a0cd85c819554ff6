"""The ledger's named states and kinds, each one ``StrEnum`` instead of bare strings.

Standard library only. Each member *is* its stored text (``InvoiceStatus.OPEN == "open"``), so
the database, the audit log's JSON and the CSV files keep exactly what they held; code compares
and writes the names, and a typo is an ``AttributeError`` at once instead of a condition that is
quietly never true.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from .errors import BillingError, Refusal


class InvoiceStatus(StrEnum):
    """Where an invoice stands: being written (no number, in no balance), owing something,
    settled, or cancelled."""

    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"


class PaymentKind(StrEnum):
    """A row of the payments table: money received (total >= 0) or returned (total < 0)."""

    PAYMENT = "payment"
    REFUND = "refund"


class AuditEntity(StrEnum):
    """What an audit entry is about (its ``entity``; ``entity_id`` names the record)."""

    PATIENT = "patient"
    INVOICE = "invoice"
    PAYMENT = "payment"
    APPLICATION = "application"
    CREDIT_NOTE = "credit_note"
    CREDIT_TRANSFER = "credit_transfer"
    PAYMENT_TYPE = "payment_type"
    SETTING = "setting"
    STAFF = "staff"
    IMPORT_BATCH = "import_batch"
    ACCOUNTING_EXPORT = "accounting_export"
    BILLABLE_ITEM = "billable_item"
    PAYER = "payer"
    MEMBERSHIP = "membership"
    EMAIL = "email"
    STATEMENT_RUN = "statement_run"


class AuditAction(StrEnum):
    """What an audit entry records (its ``action``), as the audit log window lists it."""

    ADD_PATIENT = "add patient"
    ASSIGN_PRACTITIONER = "assign practitioner"
    UPDATE_PATIENT = "update patient"
    ARCHIVE_PATIENT = "archive patient"
    RESTORE_PATIENT = "restore patient"
    MERGE_PATIENTS = "merge patients"
    CREATE_INVOICE = "create invoice"
    SAVE_DRAFT = "save draft"
    EDIT_INVOICE = "edit invoice"
    ISSUE_INVOICE = "issue invoice"
    DELETE_DRAFT = "delete draft"
    VOID_INVOICE = "void invoice"
    ADD_BILLABLE_ITEM = "add billable item"
    UPDATE_BILLABLE_ITEM = "update billable item"
    ARCHIVE_BILLABLE_ITEM = "archive billable item"
    RESTORE_BILLABLE_ITEM = "restore billable item"
    ADD_PAYER = "add payer"
    UPDATE_PAYER = "update payer"
    ARCHIVE_PAYER = "archive payer"
    RESTORE_PAYER = "restore payer"
    DELETE_PAYER = "delete payer"
    ADD_MEMBERSHIP = "add membership"
    UPDATE_MEMBERSHIP = "update membership"
    REMOVE_MEMBERSHIP = "remove membership"
    IMPORT_PAYERS = "import payers"
    QUEUE_EMAIL = "queue email"
    EMAIL_SENT = "email sent"
    EMAIL_FAILED = "email failed"
    RETRY_EMAIL = "retry email"
    CANCEL_EMAIL = "cancel email"
    START_STATEMENT_RUN = "start statement run"
    FINISH_STATEMENT_RUN = "finish statement run"
    RECORD_PAYMENT = "record payment"
    REVERSE_PAYMENT = "reverse payment"
    REFUND_CREDIT = "refund credit"
    REVERSE_REFUND = "reverse refund"
    REMOVE_APPLICATION = "remove application"
    ISSUE_CREDIT_NOTE = "issue credit note"
    REVERSE_CREDIT_NOTE = "reverse credit note"
    TRANSFER_CREDIT = "transfer credit"
    REVERSE_TRANSFER = "reverse transfer"
    CHANGE_SETTING = "change setting"
    ADD_PAYMENT_TYPE = "add payment type"
    DEACTIVATE_PAYMENT_TYPE = "deactivate payment type"
    RETIRE_PAYMENT_TYPE = "retire payment type"
    ACCOUNTING_EXPORT = "accounting export"
    IMPORT_PATIENTS = "import patients"
    IMPORT_INVOICES = "import invoices"
    IMPORT_PAYMENTS = "import payments"
    IMPORT_CREDIT = "import credit"
    ADD_STAFF = "add staff"
    CHANGE_STAFF = "change staff"
    CHANGE_PASSWORD = "change password"
    RESET_PASSWORD = "reset password"
    SIGN_IN = "sign in"
    SIGN_IN_REFUSED = "sign-in refused"

    @classmethod
    def of_import(cls, kind: str) -> AuditAction:
        """The action of importing a CSV file of ``kind`` (``"patients"``, ...)."""
        return cls(f"import {kind}")


_E = TypeVar("_E", bound=StrEnum)


def choose(kind: type[_E], value: object, what: str, *, field: str | None = None) -> _E:
    """``value`` as a member of ``kind`` (a member or its text), or a refusal (``bad_choice``,
    about ``field``) naming the choices: "Unknown role 'boss'; choose one of administrator, ..."."""
    try:
        return kind(value)  # type: ignore[arg-type]  # anything else is refused below
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise BillingError(
            f"Unknown {what} {value!r}; choose one of {choices}.",
            code=Refusal.BAD_CHOICE,
            field=field,
        ) from None
