"""Countries a clinic may be in, what each proposes at the first run, and the clinic's profile.

Choosing a country proposes its currency, locale, sales tax (name and rate, in percent) and
whether prices include that tax; every proposal stays editable. "Other" proposes nothing: the
person picks the currency and types the tax. Tax rates are :class:`~decimal.Decimal` percents
with at most two decimals (12.5, never a float), kept in the settings table as text ("12.5").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from .errors import BillingError, Refusal
from .invoicing import parse_tax_rate
from .text import check_line

#: The longest tax name kept ("GST", "VAT", "HST", "Sales tax").
MAX_TAX_NAME = 30
#: The country of a clinic in none of the listed ones.
OTHER_COUNTRY = "Other"
#: A locale as the settings keep it: a language, optionally with its territory ("en_NZ").
_LOCALE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")


@dataclass(frozen=True)
class Region:
    """One country and what it proposes for a clinic there."""

    country: str
    currency: str
    locale: str
    tax_name: str
    tax_rate: Decimal  # percent
    prices_include_tax: bool
    #: ISO 3166 code, as a patient's postal address keeps the country ("AU").
    code: str = ""
    #: The paper documents print on there: "Letter" (the United States and Canada) or "A4".
    paper: str = "A4"


#: The listed countries, in the order the first run offers them (then "Other").
REGIONS: tuple[Region, ...] = (
    Region("Australia", "AUD", "en_AU", "GST", Decimal("10"), True, "AU"),
    Region("New Zealand", "NZD", "en_NZ", "GST", Decimal("15"), True, "NZ"),
    Region("United Kingdom", "GBP", "en_GB", "VAT", Decimal("20"), True, "GB"),
    Region("United States", "USD", "en_US", "", Decimal("0"), False, "US", "Letter"),
    Region("Canada", "CAD", "en_CA", "GST", Decimal("5"), False, "CA", "Letter"),
    Region("Ireland", "EUR", "en_IE", "VAT", Decimal("23"), True, "IE"),
)
#: Every country the first run offers, "Other" last.
COUNTRIES: tuple[str, ...] = (*(r.country for r in REGIONS), OTHER_COUNTRY)


def region_for(country: str) -> Region | None:
    """What ``country`` proposes, or None for "Other" (refused for a country not offered)."""
    region = listed_region(country)
    if region is not None:
        return region
    if country == OTHER_COUNTRY:
        return None
    raise BillingError(
        f"Unknown country {country!r}; choose one of {', '.join(COUNTRIES)}.",
        code=Refusal.BAD_CHOICE,
        field="country",
    )


def listed_region(country: str) -> Region | None:
    """The listed region of ``country`` (None for "Other", an empty or an unknown country)."""
    return next((region for region in REGIONS if region.country == country), None)


@dataclass(frozen=True)
class ClinicProfile:
    """What the first run asks of a clinic, as saved (``country`` empty until first asked)."""

    clinic_name: str
    country: str
    currency: str
    locale: str
    tax_name: str
    tax_rate: Decimal  # percent, at most two decimals
    prices_include_tax: bool

    @property
    def tax_basis_points(self) -> int:
        """The tax rate in hundredths of a percent (GST 15% is 1500)."""
        return int(self.tax_rate * 100)


def clean_country(country: object) -> str:
    """``country`` if it is one the first run offers (``bad_choice`` otherwise)."""
    if not isinstance(country, str):
        raise BillingError(
            f"Choose the country from {', '.join(COUNTRIES)}.",
            code=Refusal.BAD_CHOICE,
            field="country",
        )
    region_for(country)
    return country


def clean_locale(locale: object) -> str:
    """A locale such as ``en_NZ`` (or empty: the computer's own); ``bad_choice`` otherwise."""
    if not isinstance(locale, str) or not (
        locale.strip() == "" or _LOCALE.fullmatch(locale.strip())
    ):
        raise BillingError(
            f"{locale!r} is not a locale; write a language and territory such as en_NZ.",
            code=Refusal.BAD_CHOICE,
            field="locale",
        )
    return locale.strip()


def clean_tax_name(name: object) -> str:
    """The tax's name ("GST"): one line of at most :data:`MAX_TAX_NAME` characters, or empty."""
    if not isinstance(name, str):
        raise BillingError(
            "Give the tax's name as text, such as GST.", code=Refusal.BAD_TEXT, field="tax_name"
        )
    return check_line(name.strip(), "tax's name", MAX_TAX_NAME, field="tax_name")


def clean_tax_rate(rate: object) -> Decimal:
    """A tax rate in percent from 0 to 100 with at most two decimals, given as text ("12.5",
    ASCII digits only; empty is 0), a Decimal or a whole number; refused (``bad_amount``)
    otherwise, floats included, as an invoice line's tax rate is."""
    hundredths = parse_tax_rate(rate, "Tax rate", field="tax_rate")
    return Decimal(rate_text(Decimal(hundredths) / 100))


def rate_text(rate: Decimal) -> str:
    """A tax rate as the settings keep and windows show it: ``15``, ``12.5``, ``0``."""
    return f"{rate.normalize():f}"


def clean_prices_include_tax(value: object) -> bool:
    """Whether prices include the tax: True or False (``bad_choice`` otherwise)."""
    if not isinstance(value, bool):
        raise BillingError(
            "Say whether prices include tax with True or False.",
            code=Refusal.BAD_CHOICE,
            field="prices_include_tax",
        )
    return value


def check_tax(name: str, rate: Decimal) -> None:
    """A tax with a rate needs a name (``missing``); a rate of 0 may have one or not."""
    if rate and not name:
        raise BillingError(
            "Enter the tax's name (such as GST or VAT), or set its rate to 0.",
            code=Refusal.MISSING,
            field="tax_name",
        )
