"""The patient search index on SQLite: an FTS5 ``trigram`` table over the patients' search keys.

A patient search (``Patients.ids``) keeps the patients whose search key holds every word. When the
words are common ("smi", "gmail") the patient list's ordered index finds the first 200 matches
within a few thousand entries; when they are rare (six digits of a mobile, the start of an email)
that walk tests every patient. This index answers the rare case directly: SQLite's FTS5 ``trigram``
tokenizer indexes every three-character sequence of each key, so ``search_key LIKE '%041689%'``
on it reads only the patients holding those sequences.

It is an *external content* table (``content='patients'``): it stores the trigrams, not the keys,
and reads a key from ``patients`` when it must test one. ``detail=none`` keeps only which patients
hold each trigram (9 MB for 200,000 patients), which is all a substring test needs. Three triggers
keep it in step with ``patients`` whatever writes to it (the core, the import's bulk insert, a
migration); ``Verify ledger`` runs FTS5's own integrity check over it.

A migration that rebuilds the ``patients`` table on SQLite (Alembic's batch mode copies it) drops
these triggers with the old table: it must make them again and rebuild the index
(:data:`REBUILD`). PostgreSQL has no such table (its searches use the ordered index alone).
"""

from __future__ import annotations

#: The index's name; its own tables are named after it (:data:`SHADOW_TABLES`).
TABLE = "patients_search"

CREATE = (
    f"CREATE VIRTUAL TABLE {TABLE} USING fts5(search_key, content='patients', "
    "content_rowid='id', tokenize='trigram', detail=none, columnsize=0)"
)

#: Fills the index from every patient's key (when it is made, or after ``patients`` is rebuilt).
REBUILD = f"INSERT INTO {TABLE}({TABLE}) VALUES ('rebuild')"

#: FTS5's check that the index holds exactly the trigrams of the keys in ``patients``.
INTEGRITY_CHECK = f"INSERT INTO {TABLE}({TABLE}, rank) VALUES ('integrity-check', 1)"

_ADD = f"INSERT INTO {TABLE}(rowid, search_key) VALUES (new.id, new.search_key);"
_REMOVE = (
    f"INSERT INTO {TABLE}({TABLE}, rowid, search_key) VALUES ('delete', old.id, old.search_key);"
)

#: The triggers that keep the index in step with ``patients``, by name: (table, definition).
TRIGGERS = {
    f"{TABLE}_insert": (
        "patients",
        f"CREATE TRIGGER {TABLE}_insert AFTER INSERT ON patients BEGIN {_ADD} END",
    ),
    f"{TABLE}_delete": (
        "patients",
        f"CREATE TRIGGER {TABLE}_delete AFTER DELETE ON patients BEGIN {_REMOVE} END",
    ),
    f"{TABLE}_update": (
        "patients",
        f"CREATE TRIGGER {TABLE}_update AFTER UPDATE OF search_key ON patients "
        f"BEGIN {_REMOVE} {_ADD} END",
    ),
}

#: The tables FTS5 makes for the index, as the schema check sees them: name -> (columns,
#: primary key). The virtual table itself shows its one column.
SHADOW_TABLES: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    TABLE: (frozenset({"search_key"}), ()),
    f"{TABLE}_data": (frozenset({"id", "block"}), ("id",)),
    f"{TABLE}_idx": (frozenset({"segid", "term", "pgno"}), ("segid", "term")),
    f"{TABLE}_config": (frozenset({"k", "v"}), ("k",)),
}

#: The fewest characters the index can look up (one trigram); shorter words walk the list.
SHORTEST = 3


def outside_the_index(name: str | None, kind: str, _parent: object = None) -> bool:
    """For Alembic's ``include_name``: False for the index and its tables, which the models do not
    describe (the migration makes them by hand), so comparing the models with a database skips
    them."""
    return not (kind == "table" and name is not None and name in SHADOW_TABLES)
