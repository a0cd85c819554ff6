"""The payers CSV: the clinic's third-party payers written for a spreadsheet and read back.

One row per payer: ``name``, ``kind`` (health fund, insurer, workers compensation, government
scheme, employer or other), ``reference_label`` (what the payer calls a claim; empty: the kind's
usual label), ``email``, ``phone``, ``address`` (its lines in one cell) and ``notes``. Names
identify payers: a row whose name (ignoring case) is a payer's changes that payer, any other row
adds one. An empty cell clears that detail of a payer; a column the file leaves out leaves that
detail as it is (a file of names and kinds changes no email). Text cells that a spreadsheet would
read as a formula are written with a leading apostrophe, which reading drops.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..domain.errors import BillingError, Refusal
from ..domain.payers import PayerRecord
from .spreadsheet_text import safe_text

COLUMNS = ("name", "kind", "reference_label", "email", "phone", "address", "notes")
REQUIRED = ("name", "kind")
MAX_ROWS = 5_000


@dataclass(frozen=True, slots=True)
class PayerRow:
    """One row of a payers file as typed (empty cells as None): ``number`` is its row as a
    spreadsheet numbers it (the header is row 1)."""

    number: int
    name: str
    kind: str
    reference_label: str | None
    email: str | None
    phone: str | None
    address: str | None
    notes: str | None
    #: The columns the file has (the others are left as they are on an existing payer).
    given: frozenset[str] = frozenset(COLUMNS)

    def details(self) -> dict[str, str | None]:
        """The payer's details by the core's field name (``name`` and ``kind`` too)."""
        return {column: getattr(self, column) for column in COLUMNS}


def payers_csv_text(payers: Iterable[PayerRecord]) -> str:
    """The payers as CSV text (a header, then one row per payer)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for payer in payers:
        writer.writerow(
            [
                safe_text(payer.name),
                payer.kind.value,
                safe_text(payer.reference_label),
                *(
                    safe_text(value or "")
                    for value in (payer.email, payer.phone, payer.address, payer.notes)
                ),
            ]
        )
    return out.getvalue()


def _refused(text: str) -> BillingError:
    return BillingError(text, code=Refusal.BAD_CHOICE, field="file")


def _plain(cell: str | None) -> str:
    """A cell as typed: surrounding spaces and the apostrophe the export put before a
    would-be formula dropped."""
    text = (cell or "").strip()
    return text[1:] if text.startswith("'") else text


def _header_name(cell: str) -> str:
    """``Reference label`` and ``reference_label`` name the same column."""
    return "_".join(cell.strip().lower().split())


def read_payers_csv(path: Path) -> list[PayerRow]:
    """The rows of a payers file, refused whole when its shape is wrong (no name or kind column,
    no rows, too many rows). The fields themselves are checked when the rows are saved."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise _refused(f"The file could not be read as UTF-8 text: {exc}.") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [_header_name(h) for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise _refused(
            f"The file has no {' or '.join(missing)} column; its first row must name the "
            f"columns: {', '.join(COLUMNS)}."
        )
    reader.fieldnames = header
    given = frozenset(c for c in COLUMNS if c in header)
    rows: list[PayerRow] = []
    for number, raw in enumerate(reader, start=2):
        if not any((value or "").strip() for value in raw.values() if isinstance(value, str)):
            continue
        if len(rows) >= MAX_ROWS:
            raise _refused(f"The file has more than {MAX_ROWS:,} payers.")
        cells = {column: _plain(raw.get(column)) for column in COLUMNS}
        rows.append(
            PayerRow(
                number,
                cells["name"],
                " ".join(cells["kind"].lower().replace("_", " ").split()),
                reference_label=cells["reference_label"] or None,
                email=cells["email"] or None,
                phone=cells["phone"] or None,
                address=cells["address"] or None,
                notes=cells["notes"] or None,
                given=given,
            )
        )
    if not rows:
        raise _refused("The file has no payers.")
    return rows
