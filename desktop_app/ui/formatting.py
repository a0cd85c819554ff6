"""Money and dates for people: the clinic's currency in the computer's locale (Babel)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from PySide6.QtCore import QLocale

FALLBACK_LOCALE = "en_AU"


def system_locale() -> str:
    """The computer's locale as Babel knows it (``en_AU``), or ``en_AU`` if it is unknown."""
    from babel import Locale, UnknownLocaleError

    name = QLocale.system().name()
    try:
        Locale.parse(name)
    except (ValueError, UnknownLocaleError):
        return FALLBACK_LOCALE
    return name if name not in ("C", "") else FALLBACK_LOCALE


class Formatter:
    """Formats amounts and dates for one clinic currency and locale."""

    def __init__(self, currency: str, locale: str | None = None) -> None:
        self.currency = currency
        self._locale = locale

    @property
    def locale(self) -> str:
        """The Babel locale in use (the computer's, unless one was given)."""
        if self._locale is None:
            self._locale = system_locale()
        return self._locale

    @locale.setter
    def locale(self, value: str) -> None:
        self._locale = value

    def for_currency(self, currency: str) -> Formatter:
        """The same locale choice for another currency."""
        return Formatter(currency, self._locale)

    def money(self, amount: Decimal) -> str:
        """``$1,234.50`` (en_AU, AUD); ``-$5.00`` for negatives."""
        from babel.numbers import format_currency  # loaded on first use: not needed to start

        return format_currency(amount, self.currency, locale=self.locale)

    def day(self, value: date | None) -> str:
        """A short, unambiguous date such as ``2 Nov 2026``; empty for none."""
        from babel.dates import format_date

        return "" if value is None else format_date(value, format="medium", locale=self.locale)
