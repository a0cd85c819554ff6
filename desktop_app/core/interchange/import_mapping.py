"""Which column of an import file feeds which field: matching a file's header to the fields of its
kind, by name (any case, spaces, hyphens or underscores alike), by the common names other systems
use (``Surname``, ``DOB``, ``Cell``, ...) and by a mapping the person importing gives
(``{"Client No": "external_id", "Fax": "ignore"}``).

Standard library only. A patients file may carry columns the import does not know (another
system's export has many): they are left out and named in the result ("Ignored columns: ...").
The other kinds refuse an unknown column (a misspelt ``tax_rate`` must not silently import
invoices without tax) unless the mapping says to ignore it.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..domain.errors import BillingError, Refusal
from .import_csv import (
    MAX_ROW_CHARS,
    Column,
    HeaderMatch,
    ImportProblem,
    ImportRefused,
    decode,
    normalize_header,
)

#: The field a column mapped to it is left out for.
IGNORE = "ignore"

_NOT_LETTERS = re.compile(r"[\s_\-]+")

#: What other systems call the patients file's fields (compared as :func:`header_key`).
PATIENT_SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_id": ("id", "patient id", "external id", "patient number", "client id"),
    "first_name": ("first name", "given name", "firstname", "forename"),
    "last_name": ("surname", "last name", "family name", "lastname"),
    "title": ("title",),
    "preferred_name": ("preferred name", "known as", "nickname"),
    "date_of_birth": ("dob", "date of birth", "birth date", "birthdate", "birthday"),
    "mobile": ("mobile", "mobile phone", "cell", "cell phone", "mobile number"),
    "phone": ("phone", "home phone", "other phone", "telephone", "work phone"),
    "email": ("email", "email address", "e-mail"),
    "address": ("address", "address line 1", "address 1", "street", "street address"),
    "address_line_2": ("address line 2", "address 2"),
    "city": ("suburb", "city", "town"),
    "region": ("state", "region", "province", "county"),
    "postcode": ("postcode", "zip", "post code", "zip code", "postal code"),
    "country": ("country", "country code"),
    "notes": ("notes", "note", "comments"),
    "concession": ("concession", "concession type"),
    "invoice_to": ("invoice to", "bill to"),
    "invoice_extra": ("invoice extra", "extra information"),
    "opening_credit": (
        "opening credit",
        "unapplied account credit",
        "account credit",
        "credit balance",
    ),
    "credit_as_of": ("credit as of", "opening credit as of"),
}

#: The kinds whose files may carry columns the import does not know (ignored, and named).
LENIENT = frozenset({"patients"})


def header_key(name: str) -> str:
    """How column names and field names are compared: ``" Date-of_Birth "`` -> ``"dateofbirth"``."""
    return _NOT_LETTERS.sub("", name.strip().lstrip("\ufeff").strip().lower())


def _synonyms(kind: str) -> dict[str, str]:
    """``{header key: field}`` for the names other systems use."""
    if kind != "patients":
        return {}
    return {header_key(s): f for f, names in PATIENT_SYNONYMS.items() for s in names}


def _refuse(reason: str) -> BillingError:
    return BillingError(reason, code=Refusal.BAD_CHOICE, field="mapping")


def check_mapping(
    kind: str, columns: Sequence[Column], mapping: Mapping[str, str] | None
) -> dict[str, str]:
    """``mapping`` (file column -> field, or ``ignore``) with its fields checked, keyed by
    :func:`header_key` of the column; a field may be given by its name or a name it is known by.

    Raises:
        BillingError: a field the kind does not have, or two columns mapped to one field.
    """
    if not mapping:
        return {}
    fields = {header_key(c.name): c.name for c in columns}
    known = {**_synonyms(kind), **fields}
    checked: dict[str, str] = {}
    taken: dict[str, str] = {}
    for source, target in mapping.items():
        if not isinstance(source, str) or not isinstance(target, str) or not header_key(source):
            raise _refuse(f"A mapping needs a column name and a field, not {source!r}={target!r}.")
        key = header_key(target)
        field = IGNORE if key == IGNORE else known.get(key)
        if field is None:
            raise _refuse(
                f"The mapping sends the column {source.strip()!r} to {target.strip()!r}, which is "
                f"not a field of the {kind} import; the fields are "
                f"{', '.join(c.name for c in columns)} (or {IGNORE})."
            )
        if field != IGNORE:
            if field in taken:
                raise _refuse(
                    f"The mapping sends both {taken[field]!r} and {source.strip()!r} to "
                    f"{field}; a field takes one column (map the other to {IGNORE})."
                )
            taken[field] = source.strip()
        checked[header_key(source)] = field
    return checked


def match_header(
    kind: str,
    columns: Sequence[Column],
    header: Sequence[str],
    mapping: Mapping[str, str] | None,
    file_name: str,
) -> HeaderMatch:
    """Match ``header`` to the fields of ``kind``: the mapping first, then each field's name, then
    the names other systems use.

    Raises:
        BillingError: the mapping is wrong (see :func:`check_mapping`).
        ImportRefused: a column without a name, a field fed by two columns, a column the mapping
            names that the file lacks, a required field without a column, or (except for a
            patients file) a column that matches no field.
    """
    checked = check_mapping(kind, columns, mapping)
    fields = {header_key(c.name): c.name for c in columns}
    synonyms = _synonyms(kind)
    problems: list[ImportProblem] = []
    keys = [header_key(h) for h in header]
    for key, field in checked.items():
        if key not in keys:
            source = next(s for s in (mapping or {}) if header_key(s) == key)
            problems.append(
                ImportProblem(
                    1,
                    None,
                    f"The mapping names the column {source.strip()!r} ({field}), which the file "
                    "does not have.",
                )
            )
    found: dict[str, int] = {}
    ignored: list[str] = []
    seen: dict[str, int] = {}
    for index, (raw, key) in enumerate(zip(header, keys, strict=True)):
        name = raw.strip().lstrip("\ufeff").strip()
        if not key:
            problems.append(
                ImportProblem(1, None, f"Column {index + 1} of the header has no name.")
            )
            continue
        if key in seen:
            problems.append(
                ImportProblem(1, normalize_header(name), f"The column {name} appears twice.")
            )
            continue
        seen[key] = index
        target = checked.get(key) or fields.get(key) or synonyms.get(key)
        if target is None or target == IGNORE:
            if target is None and kind not in LENIENT:
                problems.append(
                    ImportProblem(
                        1,
                        normalize_header(name),
                        f"Unknown column {name!r}; the columns are "
                        f"{', '.join(c.name for c in columns)} (or map it to a field, or to "
                        f"{IGNORE}).",
                    )
                )
            ignored.append(name)
            continue
        if target in found:
            other = header[found[target]].strip().lstrip("\ufeff").strip()
            problems.append(
                ImportProblem(
                    1,
                    target,
                    f"Both {other!r} and {name!r} would feed {target}; map one of them to "
                    f"{IGNORE}.",
                )
            )
            continue
        found[target] = index
    for column in columns:
        if column.required and column.name not in found:
            problems.append(
                ImportProblem(1, column.name, f"The required column {column.name} is missing.")
            )
    if problems:
        raise ImportRefused(file_name, problems)
    shown = {}
    for field, index in found.items():
        name = header[index].strip().lstrip("\ufeff").strip()
        shown[field] = field if normalize_header(name) == field else name
    return HeaderMatch(
        [found.get(c.name) for c in columns],
        shown,
        tuple(ignored),
    )


def suggest(
    kind: str,
    columns: Sequence[Column],
    header: Sequence[str],
    mapping: Mapping[str, str] | None = None,
) -> list[tuple[str, str | None]]:
    """For a preview: each column of ``header`` with the field it would feed (None: ignored),
    by ``mapping`` (checked), the field's name or a name other systems use. A field is offered
    once: a later column that would feed a field already taken is shown ignored."""
    checked = check_mapping(kind, columns, mapping)
    fields = {header_key(c.name): c.name for c in columns}
    synonyms = _synonyms(kind)
    taken = {f for f in checked.values() if f != IGNORE}
    out: list[tuple[str, str | None]] = []
    for raw in header:
        name = raw.strip().lstrip("\ufeff").strip()
        key = header_key(name)
        if key in checked:
            field: str | None = checked[key]
        else:
            field = fields.get(key) or synonyms.get(key)
            if field in taken:
                field = None
        if field is not None and field != IGNORE:
            taken.add(field)
        out.append((name, None if field == IGNORE else field))
    return out


def read_header(path: Path | str) -> list[str]:
    """The column names of a CSV file's header row (empty trailing cells dropped).

    Raises:
        BillingError: the file cannot be read, or its start is not UTF-8 CSV.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(4 * MAX_ROW_CHARS)
    except OSError as exc:
        raise BillingError(
            f"{path} cannot be read: {exc.strerror or exc}.", code=Refusal.BAD_FILE, field="path"
        ) from None
    cut = head.rfind(b"\n")
    text = decode(head if cut < 0 else head[:cut], path.name)
    try:
        row = next(csv.reader(text.splitlines()[:1] or [""]), [])
    except csv.Error:
        row = []
    while row and not row[-1].strip():
        row.pop()
    return [cell.strip().lstrip("\ufeff").strip() for cell in row]


def mapping_json(mappings: Mapping[str, Mapping[str, Mapping[str, str]]]) -> str:
    """Saved mappings (``{kind: {name: {column: field}}}``) as the clinic's setting keeps them."""
    return json.dumps(mappings, ensure_ascii=False, sort_keys=True)


def mappings_from_json(text: str) -> dict[str, dict[str, dict[str, str]]]:
    """The saved mappings of the clinic's setting (nothing saved: empty)."""
    if not text:
        return {}
    loaded = json.loads(text)
    return {
        str(kind): {str(n): {str(s): str(f) for s, f in m.items()} for n, m in named.items()}
        for kind, named in loaded.items()
    }
