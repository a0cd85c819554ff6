"""The clinic's settings rows: reading them, and changing one with its audit entry.

Shared by the managers that read a setting in passing (the currency of every figure, the
letterhead of every printed document) and those that change one (the settings manager, the
accounting mapping).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db.models import Invoice, Payment, PaymentType, Setting
from ..domain import letterhead as letterhead_rules
from ..domain.kinds import AuditAction, AuditEntity
from ..domain.letterhead import Letterhead
from ..domain.regions import ClinicProfile
from .transaction import Transaction


def setting(session: Session, key: str) -> str:
    """A setting every clinic database has (``currency``, ``clinic_name``, ...)."""
    value = session.get(Setting, key)
    if value is None:
        raise RuntimeError(f"The clinic database has no {key!r} setting.")
    return value.value


def optional_setting(session: Session, key: str) -> str:
    """A setting added after the first databases were made: empty until first set."""
    row = session.get(Setting, key)
    return "" if row is None else row.value


def currency(session: Session) -> str:
    """The clinic's currency (ISO 4217), unlocked: for reads."""
    return setting(session, "currency")


def letterhead(session: Session) -> Letterhead:
    """The clinic's name, address, contact line, tax number, footer, logo and country (its
    paper size and home country for addresses) for printing."""
    return Letterhead(
        name=setting(session, "clinic_name"),
        address=optional_setting(session, "clinic_address"),
        contact=optional_setting(session, "clinic_contact"),
        tax_number=optional_setting(session, "clinic_tax_number"),
        footer=optional_setting(session, "document_footer"),
        logo=letterhead_rules.decode_logo(optional_setting(session, letterhead_rules.LOGO_SETTING)),
        country=optional_setting(session, "country"),
    )


def payment_type_names(session: Session) -> list[str]:
    """Every payment type's name, active or retired, in display order."""
    return list(
        session.scalars(select(PaymentType.name).order_by(PaymentType.position, PaymentType.id))
    )


def money_recorded(session: Session) -> bool:
    """Whether any invoice or payment exists (their amounts are in the clinic's currency)."""
    return bool(
        session.scalar(select(func.count()).select_from(Invoice))
        or session.scalar(select(func.count()).select_from(Payment))
    )


def change_setting(tx: Transaction, key: str, value: str) -> None:
    """Set one setting (audited when it changes); an absent one is created when set non-empty."""
    row = tx.session.get(Setting, key)
    if row is None:  # a setting added after the database was made: empty until first set
        if not value:
            return
        row = Setting(key=key, value="")
        tx.session.add(row)
    if row.value != value:
        tx.audit(
            action=AuditAction.CHANGE_SETTING,
            entity=AuditEntity.SETTING,
            entity_id=None,
            before={key: row.value},
            after={key: value},
        )
        row.value = value


def change_logo(tx: Transaction, data: bytes) -> None:
    """Replace the logo with ``data`` (checked image bytes; ``b""`` removes it), audited by a
    summary of each image rather than its bytes."""
    key = letterhead_rules.LOGO_SETTING
    row = tx.session.get(Setting, key)
    old = letterhead_rules.decode_logo(row.value if row is not None else "") or b""
    if old == data:
        return
    if row is None:
        row = Setting(key=key, value="")
        tx.session.add(row)
    row.value = letterhead_rules.encode_logo(data) if data else ""
    tx.audit(
        action=AuditAction.CHANGE_SETTING,
        entity=AuditEntity.SETTING,
        entity_id=None,
        before={key: letterhead_rules.logo_summary(old)},
        after={key: letterhead_rules.logo_summary(data)},
    )


def change_settings(tx: Transaction, values: Mapping[str, str]) -> None:
    """Set several settings as one change: one audit entry naming each that changed (none if
    none did); an absent one is created."""
    before: dict[str, str] = {}
    after: dict[str, str] = {}
    for key, value in values.items():
        row = tx.session.get(Setting, key)
        if row is None:  # a setting added after the database was made
            row = Setting(key=key, value="")
            tx.session.add(row)
        if row.value != value:
            before[key], after[key] = row.value, value
            row.value = value
    if after:
        tx.audit(
            action=AuditAction.CHANGE_SETTING,
            entity=AuditEntity.SETTING,
            entity_id=None,
            before=before,
            after=after,
        )


#: The setting that records the first run's answers were saved (the day, ISO): absent until then.
SET_UP_MARKER = "set_up_on"


def profile(session: Session) -> ClinicProfile:
    """The clinic's name, country, currency, locale and tax, as saved (the first run's answers;
    before it, an empty country and tax, prices not including tax)."""
    return ClinicProfile(
        clinic_name=setting(session, "clinic_name"),
        country=optional_setting(session, "country"),
        currency=setting(session, "currency"),
        locale=optional_setting(session, "locale"),
        tax_name=optional_setting(session, "tax_name"),
        tax_rate=Decimal(optional_setting(session, "tax_rate") or "0"),
        prices_include_tax=prices_include_tax(session),
    )


def prices_include_tax(session: Session) -> bool:
    """Whether new invoices' prices include the tax: False until the first run or Settings say
    so (the first run proposes it from the clinic's country)."""
    return optional_setting(session, "prices_include_tax") == "yes"


def needs_first_run(session: Session) -> bool:
    """True for a clinic never set up: no first-run answers saved, no invoice or payment."""
    return not optional_setting(session, SET_UP_MARKER) and not money_recorded(session)
