"""The headless core of Clinic Ledger: no Qt anywhere below this package.

The public door (see API.md)::

    from desktop_app.core import Clinic, AllocationMode, BillingError, ConcurrentChangeError
"""

from .allocation import AllocationMode, AllocationPlan, OpenInvoice, PlanLine, allocate
from .clinic import Clinic
from .errors import BillingError, ConcurrentChangeError, DatabaseBusyError, NotFoundError
from .money import Money, format_amount, parse_minor, to_decimal
from .records import (
    ApplicationRecord,
    ClinicSummary,
    InvoiceLineRecord,
    InvoiceRecord,
    PatientRecord,
    PaymentPreview,
    PaymentRecord,
)

__all__ = [
    "AllocationMode",
    "AllocationPlan",
    "ApplicationRecord",
    "BillingError",
    "Clinic",
    "ClinicSummary",
    "ConcurrentChangeError",
    "DatabaseBusyError",
    "InvoiceLineRecord",
    "InvoiceRecord",
    "Money",
    "NotFoundError",
    "OpenInvoice",
    "PatientRecord",
    "PaymentPreview",
    "PaymentRecord",
    "PlanLine",
    "allocate",
    "format_amount",
    "parse_minor",
    "to_decimal",
]
