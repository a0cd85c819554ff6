"""Which account in the accounting package each part of the ledger goes to.

The mapping is a clinic setting (JSON in the settings table), so every front-desk computer exports
the same way. Until it is saved, defaults apply: Xero's standard sales account, a customer credit
liability account, a clearing account per payment type (``CLR-EFTPOS``), and the usual tax rates
of the currency's country. Codes and names are checked before they are saved.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ..db.models import Setting
from ..domain.errors import BillingError, Refusal
from ..domain.text import check_line

MAPPING_SETTING = "accounting_mapping"
MAX_CODE = 10
MAX_TAX_TYPE = 60
DATE_FORMATS = {"DD/MM/YYYY": "%d/%m/%Y", "MM/DD/YYYY": "%m/%d/%Y"}
_DEFAULT_TAX_TYPES = {
    "AUD": {0: "GST Free Income", 1000: "GST on Income"},
    "NZD": {0: "No GST", 1500: "15% GST on Income"},
    # Health services are exempt from VAT in the UK: Xero's "Exempt Income" (EXEMPTOUTPUT),
    # not "No VAT" (outside the scope of VAT), which would leave them off the VAT return's
    # box 6 of total sales.
    "GBP": {0: "Exempt Income", 2000: "20% (VAT on Income)"},
}
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_.]{0,9}$")


@dataclass(frozen=True)
class AccountMapping:
    """Which account in the accounting package each part of the ledger goes to.

    ``tax_types`` maps a tax rate in hundredths of a percent (1000 = 10%) to the name of the tax
    rate in Xero. ``clearing_accounts`` maps each payment type to its clearing account.
    """

    sales_account: str = "200"
    credit_account: str = "2400"
    clearing_accounts: dict[str, str] = field(default_factory=dict)
    tax_types: dict[int, str] = field(default_factory=dict)
    date_format: str = "DD/MM/YYYY"
    invoice_prefix: str = "INV-"
    credit_note_prefix: str = "CN-"

    def clearing_account(self, payment_type: str) -> str:
        """The clearing account of a payment type (refused when none is set)."""
        code = self.clearing_accounts.get(payment_type)
        if not code:
            raise BillingError(
                f"Set the clearing account for the payment type {payment_type} "
                "(Settings > Accounting export) before exporting.",
                code=Refusal.MISSING,
                field="clearing_accounts",
            )
        return code

    def tax_type(self, rate_bp: int) -> str:
        """The Xero tax rate for a tax rate (refused when none is set)."""
        name = self.tax_types.get(rate_bp)
        if not name:
            rate = f"{rate_bp / 100:g}%"
            raise BillingError(
                f"Set the Xero tax rate for invoice lines taxed at {rate} "
                "(Settings > Accounting export) before exporting.",
                code=Refusal.MISSING,
                field="tax_types",
            )
        return name

    def to_json(self) -> str:
        """The mapping as it is stored in the settings table."""
        return json.dumps(
            {
                "sales_account": self.sales_account,
                "credit_account": self.credit_account,
                "clearing_accounts": self.clearing_accounts,
                "tax_types": {str(k): v for k, v in sorted(self.tax_types.items())},
                "date_format": self.date_format,
                "invoice_prefix": self.invoice_prefix,
                "credit_note_prefix": self.credit_note_prefix,
            },
            sort_keys=True,
        )


def default_clearing_code(payment_type: str) -> str:
    """``CLR-EFTPOS``: a clearing account code made from a payment type's name."""
    letters = re.sub(r"[^A-Za-z0-9]", "", payment_type).upper()[:6]
    return f"CLR-{letters or 'PAY'}"


def default_mapping(currency: str, payment_types: Sequence[str]) -> AccountMapping:
    """Xero's standard sales account, a credit liability account, one clearing account per
    payment type, the usual tax rates of the currency's country and its date order."""
    return AccountMapping(
        clearing_accounts={name: default_clearing_code(name) for name in payment_types},
        tax_types=dict(_DEFAULT_TAX_TYPES.get(currency, {0: "Tax Exempt"})),
        date_format="MM/DD/YYYY" if currency == "USD" else "DD/MM/YYYY",
    )


def check_mapping(mapping: AccountMapping) -> AccountMapping:
    """The mapping, with every code and name checked; a clear BillingError otherwise.

    The result is a new mapping built from checked values: nothing of the caller's object (a
    subclass, a mutable dict inside it) is saved as it was given. Each refusal names the
    attribute it is about as its ``field`` (``"sales_account"``, ``"tax_types"``, ...).
    """
    if not isinstance(mapping, AccountMapping):
        raise BillingError(
            "Save an account mapping made by accounting_mapping().", code=Refusal.BAD_CHOICE
        )
    if not isinstance(mapping.clearing_accounts, Mapping) or not isinstance(
        mapping.tax_types, Mapping
    ):
        raise BillingError(
            "The clearing accounts and tax rates must each map names to codes.",
            code=Refusal.BAD_CHOICE,
        )

    def code(value: object, what: str, field: str) -> str:
        if not isinstance(value, str) or not _CODE.fullmatch(value.strip()):
            raise BillingError(
                f"The {what} account code {value!r} must be 1 to {MAX_CODE} letters, digits, "
                "dashes, dots or underscores, as in the chart of accounts.",
                code=Refusal.BAD_TEXT,
                field=field,
            )
        return value.strip()

    clearing: dict[str, str] = {}
    for name, value in mapping.clearing_accounts.items():
        if not isinstance(name, str):
            raise BillingError(
                f"A clearing account is for a payment type's name, not {name!r}.",
                code=Refusal.BAD_TEXT,
                field="clearing_accounts",
            )
        checked = check_line(name, "payment type's name", MAX_TAX_TYPE, field="clearing_accounts")
        clearing[checked] = code(value, f"clearing ({name})", "clearing_accounts")
    taxes: dict[int, str] = {}
    for rate, name in mapping.tax_types.items():
        if not isinstance(rate, int) or isinstance(rate, bool) or not 0 <= rate <= 10000:
            raise BillingError(
                f"The tax rate {rate!r} must be 0 to 10000 hundredths of a percent.",
                code=Refusal.BAD_AMOUNT,
                field="tax_types",
            )
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_TAX_TYPE:
            if not isinstance(name, str):
                refusal = Refusal.BAD_TEXT
            else:
                refusal = Refusal.TOO_LONG if name.strip() else Refusal.MISSING
            raise BillingError(
                f"The Xero tax rate for {rate / 100:g}% needs a name of 1 to {MAX_TAX_TYPE} "
                "characters.",
                code=refusal,
                field="tax_types",
            )
        taxes[rate] = check_line(
            name.strip(), "Xero tax rate's name", MAX_TAX_TYPE, field="tax_types"
        )
    if mapping.date_format not in DATE_FORMATS:
        raise BillingError(
            f"The date format must be one of {', '.join(DATE_FORMATS)}.",
            code=Refusal.BAD_CHOICE,
            field="date_format",
        )
    prefixes = []
    for what, attribute, prefix in (
        ("invoice", "invoice_prefix", mapping.invoice_prefix),
        ("credit note", "credit_note_prefix", mapping.credit_note_prefix),
    ):
        if (
            not isinstance(prefix, str)
            or len(prefix) > 10
            or not re.fullmatch(r"[A-Za-z0-9\-_/]*", prefix)
        ):
            raise BillingError(
                f"The {what} number prefix must be up to 10 letters, digits or dashes.",
                code=Refusal.TOO_LONG
                if isinstance(prefix, str) and len(prefix) > 10
                else Refusal.BAD_TEXT,
                field=attribute,
            )
        prefixes.append(prefix)
    if prefixes[0] == prefixes[1]:
        raise BillingError(
            "Invoices and credit notes need different number prefixes.",
            code=Refusal.DUPLICATE,
            field="credit_note_prefix",
        )
    return AccountMapping(
        sales_account=code(mapping.sales_account, "sales", "sales_account"),
        credit_account=code(mapping.credit_account, "account credit", "credit_account"),
        clearing_accounts=clearing,
        tax_types=taxes,
        date_format=mapping.date_format,
        invoice_prefix=prefixes[0],
        credit_note_prefix=prefixes[1],
    )


def load_mapping(session: Session, currency: str, payment_types: Sequence[str]) -> AccountMapping:
    """The clinic's mapping: the saved one, with defaults for payment types added since."""
    default = default_mapping(currency, payment_types)
    row = session.get(Setting, MAPPING_SETTING)
    if row is None or not row.value:
        return default
    data = json.loads(row.value)
    clearing = dict(default.clearing_accounts)
    clearing.update(data.get("clearing_accounts", {}))
    return AccountMapping(
        sales_account=data.get("sales_account", default.sales_account),
        credit_account=data.get("credit_account", default.credit_account),
        clearing_accounts=clearing,
        tax_types={int(k): v for k, v in data.get("tax_types", {}).items()},
        date_format=data.get("date_format", default.date_format),
        invoice_prefix=data.get("invoice_prefix", default.invoice_prefix),
        credit_note_prefix=data.get("credit_note_prefix", default.credit_note_prefix),
    )
