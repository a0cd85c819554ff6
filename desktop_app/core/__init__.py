"""The headless core of Clinic Ledger: no Qt anywhere below this package.

The public door (see API.md)::

    from desktop_app.core import Clinic, AllocationMode, BillingError, ConcurrentChangeError

Names are loaded on first use (PEP 562), so code that needs only the light domain modules (money,
errors, records) does not pay for importing the database layer; the desktop window relies on this
to appear before SQLAlchemy is loaded.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .allocation import AllocationMode, AllocationPlan, OpenInvoice, PlanLine, allocate
    from .clinic import Clinic
    from .errors import BillingError, ConcurrentChangeError, DatabaseBusyError, NotFoundError
    from .money import Money, format_amount, parse_minor, to_decimal
    from .payment_draft import PaymentDraft
    from .records import (
        ApplicationRecord,
        ClinicSummary,
        CreditLot,
        CreditMovement,
        CreditNoteRecord,
        CreditUse,
        InvoiceLineRecord,
        InvoiceRecord,
        PatientRecord,
        PaymentPreview,
        PaymentRecord,
        TransferRecord,
    )
    from .staff import Permission, PermissionDenied, Role, SignInError, StaffMember

_HOMES = {
    "allocation": ["AllocationMode", "AllocationPlan", "OpenInvoice", "PlanLine", "allocate"],
    "clinic": ["Clinic"],
    "errors": ["BillingError", "ConcurrentChangeError", "DatabaseBusyError", "NotFoundError"],
    "money": ["Money", "format_amount", "parse_minor", "to_decimal"],
    "payment_draft": ["PaymentDraft"],
    "staff": ["Permission", "PermissionDenied", "Role", "SignInError", "StaffMember"],
    "records": [
        "ApplicationRecord",
        "ClinicSummary",
        "CreditLot",
        "CreditMovement",
        "CreditNoteRecord",
        "CreditUse",
        "InvoiceLineRecord",
        "InvoiceRecord",
        "PatientRecord",
        "PaymentPreview",
        "PaymentRecord",
        "TransferRecord",
    ],
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "AllocationMode",
    "AllocationPlan",
    "ApplicationRecord",
    "BillingError",
    "Clinic",
    "ClinicSummary",
    "ConcurrentChangeError",
    "CreditLot",
    "CreditMovement",
    "CreditNoteRecord",
    "CreditUse",
    "DatabaseBusyError",
    "InvoiceLineRecord",
    "InvoiceRecord",
    "Money",
    "NotFoundError",
    "OpenInvoice",
    "PatientRecord",
    "PaymentDraft",
    "PaymentPreview",
    "PaymentRecord",
    "Permission",
    "PermissionDenied",
    "PlanLine",
    "Role",
    "SignInError",
    "StaffMember",
    "TransferRecord",
    "allocate",
    "format_amount",
    "parse_minor",
    "to_decimal",
]
assert sorted(_MODULE_OF) == sorted(__all__)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
