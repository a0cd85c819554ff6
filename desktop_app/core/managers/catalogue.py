"""``clinic.catalogue``: the clinic's billable items (services and products) and their prices.

Items are read by every role (the invoice dialog offers them) and changed with the settings
permission. An invoice line copies an item's code, name, price and tax rate when it is made, so
changing or archiving an item never changes an issued invoice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..access.staff import Permission
from ..db.models import BillableItem, BillableItemPrice
from ..domain import catalogue as rules
from ..domain.errors import BillingError, NotFoundError, Refusal
from ..domain.invoicing import CatalogueLine
from ..domain.kinds import AuditAction, AuditEntity
from ..domain.money import to_decimal
from ..domain.records import BillableItemRecord
from ..domain.text import search_form
from ..interchange.catalogue_csv import items_csv_text, read_items_csv
from ..ledger import audit
from ..ledger import settings as stored
from ..ledger.guard import check_id, requires
from ..ledger.transaction import Transaction
from .base import Manager


def item_record(row: BillableItem, prices: Mapping[str, int], currency: str) -> BillableItemRecord:
    """A catalogue row as the API hands it out."""
    return BillableItemRecord(
        id=row.id,
        code=row.code,
        name=row.name,
        kind=row.kind,
        price=to_decimal(row.price_minor, currency),
        tax_rate=Decimal(row.tax_rate_bp).scaleb(-2),
        concession_prices={k: to_decimal(v, currency) for k, v in sorted(prices.items())},
        archived=row.archived_at is not None,
    )


def prices_of(session: Session, item_ids: list[int]) -> dict[int, dict[str, int]]:
    """Each item's concession prices, in one query."""
    found: dict[int, dict[str, int]] = {}
    if item_ids:
        for price in session.scalars(
            select(BillableItemPrice).where(BillableItemPrice.item_id.in_(item_ids))
        ):
            found.setdefault(price.item_id, {})[price.concession] = price.price_minor
    return found


def catalogue_line(
    session: Session, item_id: int, concession: str | None, *, archived_ok: bool = False
) -> CatalogueLine:
    """What an invoice line takes from item ``item_id`` for a patient of ``concession``;
    refused for an unknown item, or an archived one unless ``archived_ok``."""
    row = session.get(BillableItem, item_id) if isinstance(item_id, int) else None
    if row is None:
        raise BillingError(
            f"There is no billable item {item_id!r}.", code=Refusal.NOT_FOUND, field="lines"
        )
    if row.archived_at is not None and not archived_ok:
        raise BillingError(
            f"The billable item {row.code} ({row.name}) is archived: it cannot go on a new "
            "invoice line. Restore it in Settings > Billable items, or choose another.",
            code=Refusal.ARCHIVED,
            field="lines",
        )
    price = row.price_minor
    if concession:
        wanted = concession.strip().casefold()
        for name, minor in prices_of(session, [row.id]).get(row.id, {}).items():
            if name.casefold() == wanted:
                price = minor
    return CatalogueLine(row.id, row.code, row.name, price, row.tax_rate_bp)


def _snapshot(row: BillableItem, prices: Mapping[str, int]) -> dict[str, Any]:
    return {
        "code": row.code,
        "name": row.name,
        "kind": row.kind,
        "price": row.price_minor,
        "tax_rate_bp": row.tax_rate_bp,
        "concession_prices": dict(sorted(prices.items())),
    }


@dataclass(frozen=True, slots=True)
class ItemsImport:
    """What importing an items file did: items added, changed, and rows that changed nothing."""

    added: int
    updated: int
    unchanged: int


class Catalogue(Manager):
    """The clinic's billable items."""

    def __call__(
        self, search: str = "", *, include_archived: bool = False
    ) -> list[BillableItemRecord]:
        """The items whose code or name holds every word of ``search`` (ignoring case and
        accents), by code; archived ones only when asked."""
        if not isinstance(search, str):
            raise BillingError("A search must be text.", code=Refusal.BAD_TEXT)
        with self.store.read() as session:
            currency = stored.currency(session)
            query = select(BillableItem).order_by(func.lower(BillableItem.code))
            if not include_archived:
                query = query.where(BillableItem.archived_at.is_(None))
            rows = list(session.scalars(query))
            words = [w for w in search_form(search).split() if w]
            if words:
                rows = [
                    r for r in rows if all(w in search_form(f"{r.code} {r.name}") for w in words)
                ]
            prices = prices_of(session, [r.id for r in rows])
            return [item_record(r, prices.get(r.id, {}), currency) for r in rows]

    def get(self, item_id: int) -> BillableItemRecord:
        """One item, archived or not."""
        check_id(item_id, "billable item")
        with self.store.read() as session:
            row = session.get(BillableItem, item_id)
            if row is None:
                raise NotFoundError(f"There is no billable item {item_id!r}.")
            prices = prices_of(session, [row.id]).get(row.id, {})
            return item_record(row, prices, stored.currency(session))

    @requires(Permission.SETTINGS)
    def add(
        self,
        code: str,
        name: str,
        price: Decimal | str | int,
        *,
        tax_rate: Decimal | str | int | None = None,
        kind: str = "service",
        concession_prices: Mapping[str, Decimal | str | int] | None = None,
    ) -> int:
        """Add an item to the catalogue; returns its id. Codes are unique, ignoring case."""
        with self.store.write() as tx:
            fields = rules.clean_item(
                tx.currency(),
                code=code,
                name=name,
                price=price,
                tax_rate=tax_rate,
                kind=kind,
                concession_prices=concession_prices,
            )
            self._refuse_taken_code(tx, fields.code, None)
            return self._insert(tx, fields).id

    @requires(Permission.SETTINGS)
    def update(
        self,
        item_id: int,
        *,
        code: str | None = None,
        name: str | None = None,
        price: Decimal | str | int | None = None,
        tax_rate: Decimal | str | int | None = None,
        kind: str | None = None,
        concession_prices: Mapping[str, Decimal | str | int] | None = None,
    ) -> None:
        """Change an item: what is left at None is unchanged (``concession_prices`` replaces
        the whole mapping; ``{}`` removes them). Issued invoices keep what they were made with."""
        check_id(item_id, "billable item")
        given = {
            "code": code,
            "name": name,
            "price": price,
            "tax_rate": tax_rate,
            "kind": kind,
            "concession_prices": concession_prices,
        }
        changes = {key: value for key, value in given.items() if value is not None}
        with self.store.write() as tx:
            row = self._row(tx, item_id)
            prices = prices_of(tx.session, [row.id]).get(row.id, {})
            currency = tx.currency()
            current = {
                "code": row.code,
                "name": row.name,
                "kind": row.kind,
                "price": to_decimal(row.price_minor, currency),
                "tax_rate": Decimal(row.tax_rate_bp).scaleb(-2),
                "concession_prices": {k: to_decimal(v, currency) for k, v in prices.items()},
            }
            fields = rules.clean_item(currency, **{**current, **changes})
            self._refuse_taken_code(tx, fields.code, row.id)
            self._apply(tx, row, prices, fields)

    @requires(Permission.READ_ALL)
    def export_csv(self, path: Path) -> int:
        """Write every item, archived ones too, to ``path`` as the items CSV
        (:mod:`desktop_app.core.interchange.catalogue_csv`); returns the items written."""
        items = self(include_archived=True)
        Path(path).write_text(items_csv_text(items), encoding="utf-8-sig", newline="")
        return len(items)

    @requires(Permission.SETTINGS)
    def import_csv(self, path: Path) -> ItemsImport:
        """Add and change items from an items CSV in one transaction: a row whose code is in the
        catalogue changes that item (and archives or restores it), any other adds one. A bad
        row refuses the whole file, naming the row and the field, and nothing is saved. Issued
        invoices keep the prices they were made with."""
        rows = read_items_csv(Path(path))
        added = updated = 0
        with self.store.write() as tx:
            currency = tx.currency()
            seen: dict[str, int] = {}
            for line in rows:
                try:
                    fields = rules.clean_item(
                        currency,
                        code=line.code,
                        name=line.name,
                        price=line.price,
                        tax_rate=line.tax_rate,
                        kind=line.kind,
                        concession_prices=line.concession_prices,
                    )
                except BillingError as exc:
                    raise BillingError(
                        f"Row {line.number} ({line.code or 'no code'}): {exc} Nothing was "
                        "imported.",
                        code=exc.code,
                        field=exc.field,
                    ) from exc
                key = fields.code.lower()
                if key in seen:
                    raise BillingError(
                        f"Row {line.number}: the code {fields.code} is also on row "
                        f"{seen[key]}. Nothing was imported.",
                        code=Refusal.DUPLICATE,
                        field="code",
                    )
                seen[key] = line.number
                row = tx.session.scalars(
                    select(BillableItem)
                    .where(func.lower(BillableItem.code) == key)
                    .with_for_update()
                ).first()
                if row is None:
                    row = self._insert(tx, fields)
                    added += 1
                else:
                    # A code matched ignoring case keeps the catalogue's spelling.
                    fields = dataclasses.replace(fields, code=row.code)
                    prices = prices_of(tx.session, [row.id]).get(row.id, {})
                    updated += self._apply(tx, row, prices, fields)
                if (row.archived_at is not None) != line.archived:
                    row.archived_at = audit.moment(tx.session) if line.archived else None
                    tx.audit(
                        action=(
                            AuditAction.ARCHIVE_BILLABLE_ITEM
                            if line.archived
                            else AuditAction.RESTORE_BILLABLE_ITEM
                        ),
                        entity=AuditEntity.BILLABLE_ITEM,
                        entity_id=row.id,
                        after={"code": row.code},
                    )
        return ItemsImport(added, updated, len(rows) - added - updated)

    @classmethod
    def _insert(cls, tx: Transaction, fields: rules.ItemFields) -> BillableItem:
        row = BillableItem(
            code=fields.code,
            name=fields.name,
            kind=fields.kind,
            price_minor=fields.price_minor,
            tax_rate_bp=fields.tax_rate_bp,
            created_at=audit.moment(tx.session),
        )
        tx.session.add(row)
        tx.session.flush()
        cls._save_prices(tx, row.id, fields.concession_prices)
        tx.audit(
            action=AuditAction.ADD_BILLABLE_ITEM,
            entity=AuditEntity.BILLABLE_ITEM,
            entity_id=row.id,
            after=_snapshot(row, fields.concession_prices),
        )
        return row

    @classmethod
    def _apply(
        cls,
        tx: Transaction,
        row: BillableItem,
        prices: Mapping[str, int],
        fields: rules.ItemFields,
    ) -> bool:
        """Give ``row`` the checked ``fields``, audited; returns whether anything changed."""
        before = _snapshot(row, prices)
        row.code, row.name, row.kind = fields.code, fields.name, fields.kind
        row.price_minor, row.tax_rate_bp = fields.price_minor, fields.tax_rate_bp
        if fields.concession_prices != prices:
            tx.session.execute(delete(BillableItemPrice).where(BillableItemPrice.item_id == row.id))
            cls._save_prices(tx, row.id, fields.concession_prices)
        after = _snapshot(row, fields.concession_prices)
        if after == before:
            return False
        tx.audit(
            action=AuditAction.UPDATE_BILLABLE_ITEM,
            entity=AuditEntity.BILLABLE_ITEM,
            entity_id=row.id,
            before={k: v for k, v in before.items() if after[k] != v},
            after={k: v for k, v in after.items() if before[k] != v},
        )
        return True

    @requires(Permission.SETTINGS)
    def archive(self, item_id: int) -> None:
        """Offer the item on no new invoice (invoices that used it keep it)."""
        self._set_archived(item_id, archived=True)

    @requires(Permission.SETTINGS)
    def restore(self, item_id: int) -> None:
        """Offer an archived item again."""
        self._set_archived(item_id, archived=False)

    def _set_archived(self, item_id: int, *, archived: bool) -> None:
        check_id(item_id, "billable item")
        with self.store.write() as tx:
            row = self._row(tx, item_id)
            if (row.archived_at is not None) == archived:
                return
            row.archived_at = audit.moment(tx.session) if archived else None
            tx.audit(
                action=(
                    AuditAction.ARCHIVE_BILLABLE_ITEM
                    if archived
                    else AuditAction.RESTORE_BILLABLE_ITEM
                ),
                entity=AuditEntity.BILLABLE_ITEM,
                entity_id=row.id,
                after={"code": row.code},
            )

    @staticmethod
    def _row(tx: Transaction, item_id: int) -> BillableItem:
        row = tx.session.get(BillableItem, item_id, with_for_update=True)
        if row is None:
            raise NotFoundError(f"There is no billable item {item_id!r}.")
        return row

    @staticmethod
    def _refuse_taken_code(tx: Transaction, code: str, own_id: int | None) -> None:
        taken = tx.session.scalars(
            select(BillableItem).where(func.lower(BillableItem.code) == code.lower())
        ).first()
        if taken is not None and taken.id != own_id:
            raise BillingError(
                f"The code {code} is already the code of {taken.name}"
                + (" (archived)" if taken.archived_at is not None else "")
                + "; choose another.",
                code=Refusal.DUPLICATE,
                field="code",
            )

    @staticmethod
    def _save_prices(tx: Transaction, item_id: int, prices: Mapping[str, int]) -> None:
        tx.session.add_all(
            BillableItemPrice(item_id=item_id, concession=name, price_minor=minor)
            for name, minor in prices.items()
        )
