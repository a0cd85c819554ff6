"""``clinic.settings``: the clinic's name, currency, allocation mode, payment types, letterhead,
and the first run's answers (country, locale, tax)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from sqlalchemy import func, select

from ..access.staff import Permission
from ..db.models import PaymentType
from ..domain import letterhead as letterhead_rules
from ..domain.allocation import AllocationMode
from ..domain.currencies import normalize_currency
from ..domain.errors import BillingError, Refusal
from ..domain.kinds import AuditAction, AuditEntity, choose
from ..domain.letterhead import Letterhead
from ..domain.limits import MAX_NAME, MAX_PAYMENT_TYPE
from ..domain.regions import (
    ClinicProfile,
    Region,
    check_tax,
    clean_country,
    clean_locale,
    clean_prices_include_tax,
    clean_tax_name,
    clean_tax_rate,
    rate_text,
    region_for,
)
from ..domain.text import check_line, required_line
from ..ledger import audit as clock
from ..ledger import settings as stored
from ..ledger.guard import requires
from ..ledger.transaction import Transaction
from .base import Manager


def clean_clinic_name(name: object) -> str:
    """The clinic's name: one line of 1 to :data:`MAX_NAME` characters."""
    return required_line(name, "clinic's name", MAX_NAME, field="clinic_name")


def clean_allocation_mode(mode: AllocationMode | str) -> AllocationMode:
    """``mode`` as an allocation mode, or a refusal listing the modes."""
    return choose(AllocationMode, mode, "allocation mode", field="allocation_mode")


def clean_currency(code: str) -> str:
    """An ISO 4217 code the ledger knows, upper-cased."""
    try:
        return normalize_currency(code)
    except ValueError as exc:
        raise BillingError(str(exc), code=Refusal.BAD_CHOICE, field="currency") from None


def clean_payment_type(name: object) -> str:
    """A payment type's name: one line of 1 to :data:`MAX_PAYMENT_TYPE` characters."""
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_PAYMENT_TYPE:
        raise BillingError(
            f"A payment type needs a name of 1 to {MAX_PAYMENT_TYPE} characters.",
            code=Refusal.TOO_LONG if isinstance(name, str) and name.strip() else Refusal.MISSING,
            field="payment_types",
        )
    return check_line(name.strip(), "payment type's name", MAX_PAYMENT_TYPE)


def clean_payment_types(names: Sequence[str]) -> list[str]:
    """The active payment types in order: at least one, none listed twice (in any case)."""
    if isinstance(names, (str, bytes)) or not isinstance(names, Sequence):
        raise BillingError(
            "Give the payment types as a list of names.",
            code=Refusal.BAD_CHOICE,
            field="payment_types",
        )
    cleaned = [clean_payment_type(name) for name in names]
    if not cleaned:
        raise BillingError(
            "Keep at least one payment type.", code=Refusal.MISSING, field="payment_types"
        )
    seen: set[str] = set()
    for name in cleaned:
        if name.lower() in seen:
            raise BillingError(
                f"The payment type {name} is listed twice.",
                code=Refusal.DUPLICATE,
                field="payment_types",
            )
        seen.add(name.lower())
    return cleaned


class Settings(Manager):
    """The clinic's settings: read by everyone, changed with the settings permission."""

    @requires(Permission.SETTINGS)
    def update(
        self,
        *,
        clinic_name: str | None = None,
        currency: str | None = None,
        allocation_mode: AllocationMode | str | None = None,
        payment_types: Sequence[str] | None = None,
        letterhead: Mapping[str, str] | None = None,
        logo: bytes | None = None,
        tax_name: str | None = None,
        tax_rate: Decimal | str | int | None = None,
        prices_include_tax: bool | None = None,
    ) -> None:
        """Change several clinic settings in one transaction: all of them, or (on a refusal) none.

        Args:
            clinic_name: the clinic's name.
            currency: an ISO 4217 code; refused once any invoice or payment exists.
            allocation_mode: the automatic allocation mode.
            payment_types: the active payment types, in display order. Types left out are
                retired (saved payments keep them); a retired name given again comes back.
            letterhead: printed documents' text fields by setting key (``clinic_address``,
                ``clinic_contact``, ``clinic_tax_number``, ``document_footer``); empty clears one.
            logo: the logo image file's bytes (PNG or JPEG); ``b""`` removes the logo.
            tax_name: the sales tax's name ("GST"); empty for none.
            tax_rate: its rate in percent, at most two decimals ("12.5"); a rate needs a name.
            prices_include_tax: whether prices include the tax (for the price list).
        """
        name = None if clinic_name is None else clean_clinic_name(clinic_name)
        texts = {}
        if letterhead is not None and not isinstance(letterhead, Mapping):
            raise BillingError(
                "Give the letterhead as a mapping of setting to text.", code=Refusal.BAD_CHOICE
            )
        for key, value in (letterhead or {}).items():
            if key not in letterhead_rules.TEXT_SETTINGS:
                raise BillingError(
                    f"There is no letterhead setting {key!r}.", code=Refusal.BAD_CHOICE
                )
            texts[key] = letterhead_rules.clean_text_setting(key, value)
        new_logo = None if logo is None else letterhead_rules.clean_logo(logo)
        mode = None if allocation_mode is None else clean_allocation_mode(allocation_mode)
        code = None if currency is None else clean_currency(currency)
        types = None if payment_types is None else clean_payment_types(payment_types)
        tax: dict[str, str] = {}
        if tax_name is not None:
            tax["tax_name"] = clean_tax_name(tax_name)
        if tax_rate is not None:
            tax["tax_rate"] = rate_text(clean_tax_rate(tax_rate))
        if prices_include_tax is not None:
            include = clean_prices_include_tax(prices_include_tax)
            tax["prices_include_tax"] = "yes" if include else "no"
        with self.store.write() as tx:
            if code is not None:
                self._change_currency(tx, code)
            if tax:
                saved = stored.profile(tx.session)
                check_tax(
                    tax.get("tax_name", saved.tax_name),
                    Decimal(tax.get("tax_rate", rate_text(saved.tax_rate))),
                )
                for key, value in tax.items():
                    stored.change_setting(tx, key, value)
            if name is not None:
                stored.change_setting(tx, "clinic_name", name)
            if mode is not None:
                stored.change_setting(tx, "allocation_mode", mode.value)
            if types is not None:
                _change_payment_types(tx, types)
            for key, value in texts.items():
                stored.change_setting(tx, key, value)
            if new_logo is not None:
                stored.change_logo(tx, new_logo)

    @requires(Permission.SETTINGS)
    def set_up(
        self,
        *,
        clinic_name: str,
        country: str,
        currency: str | None = None,
        locale: str | None = None,
        tax_name: str | None = None,
        tax_rate: Decimal | str | int | None = None,
        prices_include_tax: bool | None = None,
    ) -> ClinicProfile:
        """Save the first run's answers in one transaction, with one audit entry: all of them,
        or (on a refusal) none. Returns the profile as saved.

        Args:
            clinic_name: the clinic's name.
            country: one of :data:`~.domain.regions.COUNTRIES`; what it proposes fills in each
                answer left out. "Other" proposes nothing: give the currency; the tax is none.
            currency: an ISO 4217 code; refused once any invoice or payment exists in another.
            locale: such as ``en_NZ`` (empty: the computer's own).
            tax_name: the sales tax's name ("GST"); empty for none.
            tax_rate: its rate in percent, from 0 to 100 with at most two decimals ("15").
            prices_include_tax: whether prices include the tax (for the price list).
        """
        name = clean_clinic_name(clinic_name)
        place = clean_country(country)
        proposed = region_for(place) or Region(place, "", "", "", Decimal(0), True)
        if currency is None and not proposed.currency:
            raise BillingError(
                "Choose the clinic's currency.", code=Refusal.MISSING, field="currency"
            )
        code = clean_currency(proposed.currency if currency is None else currency)
        rate = clean_tax_rate(proposed.tax_rate if tax_rate is None else tax_rate)
        values = {
            "clinic_name": name,
            "country": place,
            "currency": code,
            "locale": clean_locale(proposed.locale if locale is None else locale),
            "tax_name": clean_tax_name(proposed.tax_name if tax_name is None else tax_name),
            "tax_rate": rate_text(rate),
        }
        include = clean_prices_include_tax(
            proposed.prices_include_tax if prices_include_tax is None else prices_include_tax
        )
        values["prices_include_tax"] = "yes" if include else "no"
        check_tax(values["tax_name"], rate)
        with self.store.write() as tx:
            self._lock_currency(tx, code)
            if not stored.optional_setting(tx.session, stored.SET_UP_MARKER):
                values[stored.SET_UP_MARKER] = clock.local_day(clock.now()).isoformat()
            stored.change_settings(tx, values)
        return self.profile()

    def profile(self) -> ClinicProfile:
        """The clinic's name, country, currency, locale and tax (the first run's answers)."""
        return self.store.fetch(stored.profile)

    @property
    def needs_first_run(self) -> bool:
        """True for a clinic never set up: no first-run answers saved, no invoice or payment
        (a demo clinic has invoices)."""
        return self.store.fetch(stored.needs_first_run)

    @staticmethod
    def _change_currency(tx: Transaction, code: str) -> None:
        Settings._lock_currency(tx, code)
        stored.change_setting(tx, "currency", code)

    @staticmethod
    def _lock_currency(tx: Transaction, code: str) -> None:
        """Lock the currency; refuse changing it to ``code`` once money is recorded."""
        # The exclusive lock makes invoices and payments (which share-lock the currency) wait,
        # so none can be made in another currency between the check and the change.
        current = tx.currency(exclusive=True)
        if code == current:
            return
        if stored.money_recorded(tx.session):
            raise BillingError(
                "The currency cannot change once invoices or payments exist: their amounts "
                f"are in {current}.",
                code=Refusal.CURRENCY_IN_USE,
                field="currency",
            )

    def letterhead(self) -> Letterhead:
        """The clinic's name, address, contact line, tax number, footer and logo for printing."""
        return self.store.fetch(stored.letterhead)

    @property
    def allocation_mode(self) -> AllocationMode:
        """The clinic's automatic allocation mode (oldest first by default)."""
        return AllocationMode(self.store.fetch(lambda s: stored.setting(s, "allocation_mode")))

    @requires(Permission.SETTINGS)
    def set_allocation_mode(self, mode: AllocationMode | str) -> None:
        """Change the automatic allocation mode; the next preview uses it."""
        self.update(allocation_mode=clean_allocation_mode(mode))  # None is refused too

    @property
    def currency(self) -> str:
        """The clinic's currency (ISO 4217)."""
        return self.store.fetch(stored.currency)

    @property
    def currency_can_change(self) -> bool:
        """False once any invoice or payment exists (their amounts are in the currency)."""
        return not self.store.fetch(stored.money_recorded)

    @requires(Permission.SETTINGS)
    def set_currency(self, code: str) -> None:
        """Change the currency; refused once any invoice or payment exists."""
        self.update(currency=clean_currency(code))  # None is refused too

    @property
    def prices_include_tax(self) -> bool:
        """Whether new invoices' prices include the tax (each invoice keeps the basis it was
        made with); False in a new database until set."""
        return self.store.fetch(stored.prices_include_tax)

    @requires(Permission.SETTINGS)
    def set_prices_include_tax(self, include: bool) -> None:
        """Price new invoices with the tax included (True) or added on top (False)."""
        if not isinstance(include, bool):
            raise BillingError(
                "Say whether prices include tax with True or False.",
                code=Refusal.BAD_CHOICE,
                field="prices_include_tax",
            )
        self.update(prices_include_tax=include)

    @property
    def clinic_name(self) -> str:
        """The clinic's name, as printed on documents."""
        return self.store.fetch(lambda s: stored.setting(s, "clinic_name"))

    @requires(Permission.SETTINGS)
    def set_clinic_name(self, name: str) -> None:
        """Rename the clinic."""
        self.update(clinic_name=clean_clinic_name(name))  # None is refused too

    def payment_types(self, *, include_inactive: bool = False) -> list[str]:
        """Payment type names in display order (active ones unless asked otherwise)."""
        query = select(PaymentType.name).order_by(PaymentType.position, PaymentType.id)
        if not include_inactive:
            query = query.where(PaymentType.active.is_(True))
        return self.store.fetch(lambda s: list(s.scalars(query)))

    @requires(Permission.SETTINGS)
    def add_payment_type(self, name: str) -> None:
        """Add a payment type (or reactivate one of that name)."""
        name = clean_payment_type(name)
        with self.store.write() as tx:
            existing = tx.session.scalars(
                select(PaymentType).where(func.lower(PaymentType.name) == name.lower())
            ).one_or_none()
            if existing is not None:
                if existing.active:
                    raise BillingError(
                        f"There is already a payment type called {existing.name}.",
                        code=Refusal.DUPLICATE,
                        field="payment_types",
                    )
                existing.active = True
            else:
                position = tx.session.scalar(select(func.max(PaymentType.position))) or 0
                tx.session.add(PaymentType(name=name, active=True, position=position + 1))
            tx.audit(
                action=AuditAction.ADD_PAYMENT_TYPE,
                entity=AuditEntity.PAYMENT_TYPE,
                entity_id=None,
                after={"name": name},
            )

    def payment_type_modes(self) -> dict[str, AllocationMode]:
        """The payment types that carry their own allocation mode, by name."""
        query = select(PaymentType.name, PaymentType.allocation_mode).where(
            PaymentType.allocation_mode.is_not(None)
        )
        return self.store.fetch(
            lambda s: {name: AllocationMode(mode) for name, mode in s.execute(query) if mode}
        )

    @requires(Permission.SETTINGS)
    def set_payment_type_mode(self, name: str, mode: AllocationMode | str | None) -> None:
        """Give a payment type its own allocation mode (``None``: the clinic's). Money of that
        type alone is then allocated by it: "Health fund" payments only to the invoice they
        were entered from, say, whatever the clinic's mode."""
        chosen = None if mode is None else choose(AllocationMode, mode, "allocation mode")
        with self.store.write() as tx:
            row = tx.session.scalars(
                select(PaymentType).where(func.lower(PaymentType.name) == str(name).lower())
            ).one_or_none()
            if row is None:
                raise BillingError(
                    f"There is no payment type called {name!r}.",
                    code=Refusal.NOT_FOUND,
                    field="payment_types",
                )
            before = row.allocation_mode
            row.allocation_mode = None if chosen is None else chosen.value
            if before != row.allocation_mode:
                tx.audit(
                    action=AuditAction.CHANGE_SETTING,
                    entity=AuditEntity.PAYMENT_TYPE,
                    entity_id=row.id,
                    before={"allocation_mode": before},
                    after={"allocation_mode": row.allocation_mode},
                )

    @requires(Permission.SETTINGS)
    def deactivate_payment_type(self, name: str) -> None:
        """Hide a payment type from new payments (saved payments keep it)."""
        with self.store.write() as tx:
            row = tx.session.scalars(
                select(PaymentType).where(PaymentType.name == name)
            ).one_or_none()
            if row is None or not row.active:
                raise BillingError(
                    f"There is no active payment type called {name!r}.",
                    code=Refusal.NOT_FOUND,
                    field="payment_types",
                )
            _retire(tx, row, AuditAction.DEACTIVATE_PAYMENT_TYPE)


def _retire(tx: Transaction, row: PaymentType, action: AuditAction) -> None:
    """Take a payment type off new payments (saved payments keep it), audited as ``action``."""
    row.active = False
    tx.audit(
        action=action,
        entity=AuditEntity.PAYMENT_TYPE,
        entity_id=row.id,
        before={"active": True},
        after={"active": False},
    )


def _change_payment_types(tx: Transaction, names: list[str]) -> None:
    """Make ``names`` the active payment types, in this order; the others are retired."""
    existing = {row.name.lower(): row for row in tx.session.scalars(select(PaymentType))}
    wanted = {name.lower() for name in names}
    for key, row in existing.items():
        if row.active and key not in wanted:
            _retire(tx, row, AuditAction.RETIRE_PAYMENT_TYPE)
    for position, name in enumerate(names):
        kept = existing.get(name.lower())
        if kept is None:
            tx.session.add(PaymentType(name=name, active=True, position=position))
            tx.audit(
                action=AuditAction.ADD_PAYMENT_TYPE,
                entity=AuditEntity.PAYMENT_TYPE,
                entity_id=None,
                after={"name": name},
            )
            continue
        if not kept.active:
            tx.audit(
                action=AuditAction.ADD_PAYMENT_TYPE,
                entity=AuditEntity.PAYMENT_TYPE,
                entity_id=kept.id,
                before={"active": False},
                after={"active": True},
            )
        kept.active, kept.position = True, position
