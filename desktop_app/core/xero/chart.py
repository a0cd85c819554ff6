"""The account mapping checked against the connected organisation's own chart of accounts and
tax rates, as Xero lists them (``/Accounts``, ``/TaxRates``), before anything is sent.

Every problem is listed in words a bookkeeper can act on, and each tax rate the ledger uses is
resolved from the name the mapping holds (the one Xero shows, "GST on Income") to the code
Xero's API takes (``OUTPUT``), with its rate checked against the ledger's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..interchange.accounting_mapping import AccountMapping
from .client import XeroClient

#: Xero's account types that fit each use.
SALES_TYPES = frozenset({"REVENUE", "SALES", "OTHERINCOME"})
LIABILITY_TYPES = frozenset({"CURRLIAB", "LIABILITY", "TERMLIAB"})


@dataclass(frozen=True, slots=True)
class ChartCheck:
    """What the check found: ``problems`` (empty when the mapping fits) and, per tax rate in
    hundredths of a percent, the Xero tax type code to send."""

    problems: tuple[str, ...]
    tax_types: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the mapping fits the organisation's chart and tax rates."""
        return not self.problems


@dataclass(frozen=True, slots=True)
class XeroAccount:
    """An account of the organisation's chart, as Xero lists it."""

    code: str
    name: str
    kind: str
    active: bool
    payments: bool

    @property
    def label(self) -> str:
        """``200 Sales``."""
        return f"{self.code} {self.name}"


@dataclass(frozen=True, slots=True)
class XeroTaxRate:
    """A tax rate of the organisation, as Xero lists it (``rate_bp`` in hundredths of a
    percent)."""

    name: str
    code: str
    rate_bp: int
    active: bool


@dataclass(frozen=True, slots=True)
class XeroChart:
    """The organisation's accounts and tax rates, and which of them fit each use."""

    accounts: tuple[XeroAccount, ...]
    tax_rates: tuple[XeroTaxRate, ...]

    def sales(self) -> list[XeroAccount]:
        """Active accounts sales can go to."""
        return [a for a in self.accounts if a.active and a.kind in SALES_TYPES]

    def liabilities(self) -> list[XeroAccount]:
        """Active liability accounts (to hold customer credit)."""
        return [a for a in self.accounts if a.active and a.kind in LIABILITY_TYPES]

    def banks(self) -> list[XeroAccount]:
        """Active bank accounts (a payment type's clearing account)."""
        return [a for a in self.accounts if a.active and a.kind == "BANK"]

    def rates_of(self, rate_bp: int) -> list[XeroTaxRate]:
        """Active tax rates of this percentage that apply to revenue."""
        return [t for t in self.tax_rates if t.active and t.rate_bp == rate_bp]


def read_chart(client: XeroClient) -> XeroChart:
    """The organisation's chart of accounts and tax rates (two calls)."""
    accounts = tuple(
        XeroAccount(
            str(a.get("Code")),
            str(a.get("Name", "")),
            str(a.get("Type", "")),
            a.get("Status", "ACTIVE") == "ACTIVE",
            bool(a.get("EnablePaymentsToAccount")),
        )
        for a in client.get("/Accounts").get("Accounts", [])
        if a.get("Code")
    )
    rates = []
    for t in client.get("/TaxRates").get("TaxRates", []):
        if t.get("CanApplyToRevenue") is False:
            continue
        effective = Decimal(str(t.get("EffectiveRate", t.get("DisplayTaxRate", 0))))
        rates.append(
            XeroTaxRate(
                str(t.get("Name", "")),
                str(t.get("TaxType", "")),
                int((effective * 100).to_integral_value()),
                t.get("Status", "ACTIVE") == "ACTIVE",
            )
        )
    return XeroChart(accounts, tuple(rates))


def check_chart(
    client: XeroClient, mapping: AccountMapping, rates_in_use: set[int] | None = None
) -> ChartCheck:
    """Read the organisation's accounts and tax rates and check ``mapping`` against them; the
    tax rates checked are ``rates_in_use`` (basis points; every mapped rate by default)."""
    accounts = {
        str(a.get("Code")): a for a in client.get("/Accounts").get("Accounts", []) if a.get("Code")
    }
    rates = client.get("/TaxRates").get("TaxRates", [])
    problems: list[str] = []

    def account(code: str, use: str, types: frozenset[str] | None, bank: bool = False) -> None:
        found = accounts.get(code)
        if found is None:
            problems.append(f"The {use} account {code} is not in Xero's chart of accounts.")
            return
        if found.get("Status", "ACTIVE") != "ACTIVE":
            problems.append(f"The {use} account {code} ({found.get('Name')}) is archived in Xero.")
        kind = found.get("Type", "")
        if bank and kind != "BANK":
            problems.append(
                f"The {use} account {code} ({found.get('Name')}) is a {kind} account; money "
                "received and held as credit needs a bank account (of the clearing kind) in Xero."
            )
        elif types is not None and kind not in types:
            problems.append(
                f"The {use} account {code} ({found.get('Name')}) is a {kind} account in Xero, not "
                f"one of {', '.join(sorted(types))}."
            )

    account(mapping.sales_account, "sales", SALES_TYPES)
    account(mapping.credit_account, "customer credit", LIABILITY_TYPES)
    for payment_type, code in sorted(mapping.clearing_accounts.items()):
        account(code, f"{payment_type} clearing", None, bank=True)

    wanted = sorted(mapping.tax_types if rates_in_use is None else rates_in_use)
    resolved: dict[int, str] = {}
    for rate_bp in wanted:
        name = mapping.tax_types.get(rate_bp)
        percent = Decimal(rate_bp) / 100
        if not name:
            problems.append(f"No Xero tax rate is mapped for {percent:f}%.")
            continue
        match = _tax_rate(rates, name)
        if match is None:
            problems.append(f"Xero has no tax rate named {name!r} (mapped for {percent:f}%).")
            continue
        if match.get("Status", "ACTIVE") != "ACTIVE":
            problems.append(f"The tax rate {name!r} is not active in Xero.")
        effective = Decimal(str(match.get("EffectiveRate", match.get("DisplayTaxRate", 0))))
        if effective != percent:
            problems.append(
                f"The tax rate {name!r} is {effective.normalize():f}% in Xero, but it is mapped "
                f"for {percent:f}%."
            )
        resolved[rate_bp] = str(match["TaxType"])
    return ChartCheck(tuple(problems), resolved)


def _tax_rate(rates: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """The tax rate a mapping names: by its name as Xero shows it, or by its code."""
    wanted = name.strip().lower()
    for rate in rates:
        if str(rate.get("Name", "")).lower() == wanted:
            return rate
    for rate in rates:
        if str(rate.get("TaxType", "")).lower() == wanted:
            return rate
    return None
