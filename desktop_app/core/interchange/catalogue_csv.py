"""The billable items CSV: the catalogue written for a spreadsheet and read back.

One row per item: ``code``, ``name``, ``kind`` (service or product), ``price``, ``tax_rate``
(a percentage), ``archived`` (yes or no) and ``concession_prices``, every concession price of
the item in one cell as ``Pensioner=75.00; Student=85.00`` (a bookkeeper edits one cell per item,
whatever concession types the clinic has). Codes identify items: a row whose code (ignoring
case) is in the catalogue changes that item, any other row adds one. Text cells that a
spreadsheet would read as a formula are written with a leading apostrophe, which reading drops.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..domain.errors import BillingError, Refusal
from ..domain.records import BillableItemRecord
from .spreadsheet_text import safe_text

COLUMNS = ("code", "name", "kind", "price", "tax_rate", "archived", "concession_prices")
REQUIRED = ("code", "name", "price")
YES, NO = ("yes", "y", "true", "1", "archived"), ("", "no", "n", "false", "0", "active")
MAX_ROWS = 20_000


@dataclass(frozen=True, slots=True)
class ItemRow:
    """One row of an items file as typed: ``number`` is its line in the file."""

    number: int
    code: str
    name: str
    kind: str
    price: str
    tax_rate: str
    archived: bool
    concession_prices: dict[str, str]


def items_csv_text(items: Iterable[BillableItemRecord]) -> str:
    """The items as CSV text (a header, then one row per item)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for item in items:
        writer.writerow(
            [
                safe_text(item.code),
                safe_text(item.name),
                item.kind,
                str(item.price),
                f"{item.tax_rate.normalize():f}",
                "yes" if item.archived else "no",
                "; ".join(f"{safe_text(k)}={v}" for k, v in item.concession_prices.items()),
            ]
        )
    return out.getvalue()


def _refused(text: str) -> BillingError:
    return BillingError(text, code=Refusal.BAD_CHOICE, field="file")


def _plain(cell: str | None) -> str:
    text = (cell or "").strip()
    return text[1:] if text.startswith("'") else text


def _concessions(cell: str, number: int) -> dict[str, str]:
    prices: dict[str, str] = {}
    for part in (p.strip() for p in cell.split(";")):
        if not part:
            continue
        name, sep, price = part.partition("=")
        if not sep or not _plain(name) or not price.strip():
            raise _refused(
                f"Row {number}: write each concession price as Type=price, such as "
                f"Pensioner=75.00 (not {part!r})."
            )
        prices[_plain(name)] = price.strip()
    return prices


def read_items_csv(path: Path) -> list[ItemRow]:
    """The rows of an items file, refused whole (naming the row) when its shape is wrong: a
    missing column, an unknown archived value, or a concession price not written Type=price.
    The fields themselves are checked when the rows are saved."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise _refused(f"The file could not be read as UTF-8 text: {exc}.") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise _refused(
            f"The file has no {', '.join(missing)} column; its first row must name the "
            f"columns: {', '.join(COLUMNS)}."
        )
    reader.fieldnames = header
    rows: list[ItemRow] = []
    for number, raw in enumerate(reader, start=2):
        if not any((value or "").strip() for value in raw.values() if isinstance(value, str)):
            continue
        if len(rows) >= MAX_ROWS:
            raise _refused(f"The file has more than {MAX_ROWS:,} items.")
        archived = _plain(raw.get("archived")).lower()
        if archived not in YES + NO:
            raise _refused(f"Row {number}: archived is yes or no, not {archived!r}.")
        rows.append(
            ItemRow(
                number,
                _plain(raw.get("code")),
                _plain(raw.get("name")),
                _plain(raw.get("kind")).lower() or "service",
                _plain(raw.get("price")),
                _plain(raw.get("tax_rate")) or "0",
                archived in YES,
                _concessions(raw.get("concession_prices") or "", number),
            )
        )
    if not rows:
        raise _refused("The file has no items.")
    return rows
