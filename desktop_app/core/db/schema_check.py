"""Refuse a database whose schema is not exactly the one Clinic Ledger's migrations make.

A trigger, view, rule or function added by hand runs inside the database under every save: one
that puts a patient's credit back whenever it drops, or one that silently drops every audit entry,
would quietly defeat the ledger. After :func:`~desktop_app.core.db.migrate.upgrade` has brought a
database to the newest schema, :func:`check_schema` compares what the database holds with what
Clinic Ledger makes and raises :class:`ForeignSchemaError`, naming every difference, when they
differ.

What is compared:

* tables and their columns (names), and each table's primary key;
* indexes: name, table, unique or not, partial or not, and the columns (an expression counts as an
  expression); on SQLite the unique constraints' own indexes by their columns;
* triggers, by their definition, and whether they are enabled (PostgreSQL);
* virtual tables (SQLite), by their definition: the patient search index and its own tables
  (``search_index``);
* views (Clinic Ledger makes none); on PostgreSQL also materialized views, rules, row security
  policies and row security itself, and the functions in the clinic's schema (Clinic Ledger makes
  one, by its definition; functions that belong to an installed extension are left alone).

The expected schema is derived from the models (``Base.metadata``, which a test keeps equal to what
the migrations make) plus the objects the migrations make by hand: the audit log's append-only
triggers and their PostgreSQL function, and the patient search index on SQLite with its triggers
(:data:`SQLITE_TRIGGERS`, :data:`SQLITE_VIRTUAL_TABLES`, :data:`POSTGRES_TRIGGERS`,
:data:`POSTGRES_FUNCTIONS`). A migration that makes another object by hand adds it there. Check
constraints, foreign keys, column types and defaults are not compared (a change to them needs a
table rebuilt by hand; whatever they would have refused is caught by Verify ledger).

Reading the schema costs three queries on SQLite and a handful of catalog queries on PostgreSQL,
so every open pays about a millisecond; the expected schema is built once per process.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Column, Connection, Engine, PrimaryKeyConstraint, UniqueConstraint

from ..domain.errors import BillingError, Refusal
from . import search_index

#: Findings named in a message; the rest are counted.
MAX_FINDINGS = 10

#: The triggers the migrations make on SQLite, by name: (table, definition): the audit log's
#: and the patient search index's (``search_index.TRIGGERS``).
SQLITE_TRIGGERS = {
    **{
        f"audit_log_no_{event.lower()}": (
            "audit_log",
            f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'The audit log is append-only.'); END",
        )
        for event in ("UPDATE", "DELETE")
    },
    **search_index.TRIGGERS,
}
#: The virtual tables the migrations make on SQLite, by name: definition.
SQLITE_VIRTUAL_TABLES = {search_index.TABLE: search_index.CREATE}
#: The triggers the migrations make on PostgreSQL, as ``pg_get_triggerdef`` shows them without the
#: schema: (table, definition).
POSTGRES_TRIGGERS = {
    "audit_log_no_change": (
        "audit_log",
        "CREATE TRIGGER audit_log_no_change BEFORE DELETE OR UPDATE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    ),
    "audit_log_no_truncate": (
        "audit_log",
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
    ),
}
#: The functions the migrations make on PostgreSQL, as ``pg_get_functiondef`` shows them without
#: the schema.
POSTGRES_FUNCTIONS = {
    "audit_log_append_only": (
        "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql "
        "AS $function$ BEGIN RAISE EXCEPTION 'The audit log is append-only.'; END $function$"
    ),
}
#: Alembic's own table (its primary key index is named by Alembic).
_ALEMBIC_TABLE = "alembic_version"
_ALEMBIC_COLUMN = "version_num"
_ALEMBIC_PK = "alembic_version_pkc"

#: An index as compared: table, unique, partial, columns (None for an expression).
_IndexShape = tuple[str, bool, bool, tuple[str | None, ...]]


class ForeignSchemaError(BillingError):
    """The database holds something Clinic Ledger did not make, or lacks something it did.

    Attributes:
        findings: each difference in plain words ("a trigger credit_back on patients that Clinic
            Ledger did not make", "the index ix_payments_patient on payments is missing").
    """

    default_code = Refusal.FOREIGN_SCHEMA

    def __init__(self, where: str, findings: Sequence[str]) -> None:
        self.findings = tuple(findings)
        super().__init__(
            f"The clinic's database {where} {self.differences()}. It was not opened, so nothing "
            "in it can run. Ask whoever looks after the clinic's computers (or its database "
            "server) what changed it, and have that removed; restoring a backup made before the "
            "change is the last resort, since it loses what was saved after the backup."
        )

    def differences(self) -> str:
        """``is not as Clinic Ledger made it: a trigger ... that Clinic Ledger did not make; the
        index ... is missing`` (the first :data:`MAX_FINDINGS`, the rest counted)."""
        shown = "; ".join(self.findings[:MAX_FINDINGS])
        more = len(self.findings) - MAX_FINDINGS
        extra = f"; and {more} more difference{'s' if more > 1 else ''}" if more > 0 else ""
        return f"is not as Clinic Ledger made it: {shown}{extra}"


@dataclass
class Schema:
    """What a database holds (or should hold), in comparable form."""

    #: table -> column names
    tables: dict[str, frozenset[str]] = field(default_factory=dict)
    #: table -> primary key columns, in order
    primary_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: index name -> shape
    indexes: dict[str, _IndexShape] = field(default_factory=dict)
    #: table -> the column lists of its unique constraints (SQLite's automatic indexes)
    unique: dict[str, frozenset[tuple[str | None, ...]]] = field(default_factory=dict)
    #: trigger name -> (table, normalised definition)
    triggers: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: function name -> normalised definition (PostgreSQL)
    functions: dict[str, str] = field(default_factory=dict)
    #: virtual table name -> normalised definition (SQLite)
    virtual: dict[str, str] = field(default_factory=dict)
    #: everything that must not be there at all: views, rules, policies ("a view owing")
    others: list[str] = field(default_factory=list)


def normalise(sql: str, schema: str | None = None) -> str:
    """SQL text compared regardless of case, spacing, quoting and the schema's name."""
    if schema:  # before quotes go: a schema named "clinic-ledger" or "Order" is quoted in SQL
        quoted = '"' + schema.replace('"', '""') + '"'
        sql = sql.replace(f"{quoted}.", "")
        sql = re.sub(rf"(?<![\w.\"]){re.escape(schema)}\.", "", sql, flags=re.IGNORECASE)
    text = " ".join(sql.replace('"', " ").replace("`", " ").split()).lower()
    text = re.sub(r"\s*([(),;])\s*", r"\1", text)
    return text.replace("execute procedure", "execute function")  # PostgreSQL 10's spelling


# -- what Clinic Ledger makes ------------------------------------------------------------------


@cache
def expected_schema(dialect: str) -> Schema:
    """The schema the migrations make on ``dialect`` (``sqlite`` or ``postgresql``)."""
    from .models import Base

    expected = Schema()
    expected.tables[_ALEMBIC_TABLE] = frozenset({_ALEMBIC_COLUMN})
    expected.primary_keys[_ALEMBIC_TABLE] = (_ALEMBIC_COLUMN,)
    if dialect == "postgresql":
        expected.indexes[_ALEMBIC_PK] = (_ALEMBIC_TABLE, True, False, (_ALEMBIC_COLUMN,))
    for table in Base.metadata.sorted_tables:
        expected.tables[table.name] = frozenset(column.name for column in table.columns)
        expected.primary_keys[table.name] = tuple(c.name for c in table.primary_key.columns)
        uniques: set[tuple[str | None, ...]] = set()
        for constraint in table.constraints:
            if not isinstance(constraint, (UniqueConstraint, PrimaryKeyConstraint)):
                continue
            columns = tuple(column.name for column in constraint.columns)
            if isinstance(constraint, UniqueConstraint):
                uniques.add(columns)
            if dialect == "postgresql":  # each has its own index, named as the constraint
                expected.indexes[str(constraint.name)] = (table.name, True, False, columns)
        if dialect == "sqlite":
            expected.unique[table.name] = frozenset(uniques)
        for index in table.indexes:
            where = index.dialect_options[dialect].get("where")
            expected.indexes[str(index.name)] = (
                table.name,
                bool(index.unique),
                where is not None,
                tuple(e.name if isinstance(e, Column) else None for e in index.expressions),
            )
    if dialect == "sqlite":
        expected.triggers = {
            name: (table, normalise(sql)) for name, (table, sql) in SQLITE_TRIGGERS.items()
        }
        expected.virtual = {name: normalise(sql) for name, sql in SQLITE_VIRTUAL_TABLES.items()}
        for name, (shadow_columns, shadow_key) in search_index.SHADOW_TABLES.items():
            expected.tables[name] = shadow_columns
            expected.primary_keys[name] = shadow_key
    else:
        expected.triggers = {
            name: (table, normalise(sql)) for name, (table, sql) in POSTGRES_TRIGGERS.items()
        }
        expected.functions = {name: normalise(sql) for name, sql in POSTGRES_FUNCTIONS.items()}
    return expected


# -- what the database holds -------------------------------------------------------------------


def _sqlite_schema(connection: Connection) -> Schema:
    found = Schema()
    pk_parts: dict[str, list[tuple[int, str]]] = {}
    for table, column, pk in connection.exec_driver_sql(
        "SELECT m.name, c.name, c.pk FROM sqlite_master AS m "
        "JOIN pragma_table_xinfo(m.name) AS c "
        "WHERE m.type = 'table' AND lower(substr(m.name, 1, 7)) <> 'sqlite_' AND c.hidden <> 1"
    ):
        found.tables[table] = found.tables.get(table, frozenset()) | {column}
        pk_parts.setdefault(table, [])
        if pk:
            pk_parts[table].append((int(pk), column))
    found.primary_keys = {t: tuple(c for _, c in sorted(parts)) for t, parts in pk_parts.items()}
    columns: dict[str, list[tuple[int, str | None]]] = {}
    shapes: dict[str, tuple[str, bool, bool, str]] = {}
    for table, index, unique, origin, partial, position, column in connection.exec_driver_sql(
        "SELECT m.name, i.name, i.[unique], i.origin, i.partial, c.seqno, c.name "
        "FROM sqlite_master AS m JOIN pragma_index_list(m.name) AS i "
        "JOIN pragma_index_info(i.name) AS c "
        "WHERE m.type = 'table' AND lower(substr(m.name, 1, 7)) <> 'sqlite_'"
    ):
        shapes[index] = (table, bool(unique), bool(partial), origin)
        columns.setdefault(index, []).append((int(position), column))
    uniques: dict[str, set[tuple[str | None, ...]]] = {t: set() for t in found.tables}
    for index, (table, unique, partial, origin) in shapes.items():
        ordered = tuple(column for _, column in sorted(columns[index]))
        if origin == "u":  # a UNIQUE constraint's own index
            uniques[table].add(ordered)
        elif origin == "c":  # CREATE INDEX (a primary key's own index is checked as the key)
            found.indexes[index] = (table, unique, partial, ordered)
    found.unique = {table: frozenset(lists) for table, lists in uniques.items()}
    for kind, name, table, sql in connection.exec_driver_sql(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('trigger', 'view') "
        "OR (type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%')"
    ):
        if kind == "table":
            found.virtual[name] = normalise(sql)
        elif kind == "trigger":
            found.triggers[name] = (table, normalise(sql or ""))
        else:
            found.others.append(f"a view {name} that Clinic Ledger did not make")
    return found


_PG_TABLES = """
SELECT c.relname, c.relkind, a.attname, c.relrowsecurity OR c.relforcerowsecurity
FROM pg_class AS c
LEFT JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
  AND c.relkind IN ('r', 'p', 'f', 'v', 'm')
  AND NOT EXISTS (SELECT FROM pg_depend AS d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
"""
_PG_INDEXES = """
SELECT i.relname, t.relname, x.indisunique, x.indpred IS NOT NULL, x.indisprimary,
       ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)
             LEFT JOIN pg_attribute AS a ON a.attrelid = t.oid AND a.attnum = k.attnum
             ORDER BY k.n)
FROM pg_index AS x
JOIN pg_class AS i ON i.oid = x.indexrelid
JOIN pg_class AS t ON t.oid = x.indrelid
WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
  AND NOT EXISTS (SELECT FROM pg_depend AS d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = t.oid AND d.deptype = 'e')
"""
_PG_TRIGGERS = """
SELECT g.tgname, t.relname, g.tgenabled, pg_get_triggerdef(g.oid)
FROM pg_trigger AS g JOIN pg_class AS t ON t.oid = g.tgrelid
WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
  AND NOT g.tgisinternal
"""
_PG_FUNCTIONS = """
SELECT p.proname, CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) END
FROM pg_proc AS p
WHERE p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
  AND NOT EXISTS (SELECT FROM pg_depend AS d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
"""
_PG_RULES_AND_POLICIES = """
SELECT 'a rule ' || r.rulename || ' on ' || t.relname
FROM pg_rewrite AS r JOIN pg_class AS t ON t.oid = r.ev_class
WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
  AND r.rulename <> '_RETURN'
UNION ALL
SELECT 'a row security policy ' || p.polname || ' on ' || t.relname
FROM pg_policy AS p JOIN pg_class AS t ON t.oid = p.polrelid
WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
"""


#: Code that runs inside our tables' own definitions, which the comparisons above do not see:
#: a check constraint or a column default calling a function of its own (ours call only
#: PostgreSQL's built-in ones), a column of a domain type (its checks run on every write), and
#: a table anywhere inheriting from ours (its rows would count as ours).
_PG_HIDDEN_CODE = """
WITH foreign_code AS (
  SELECT d.classid, d.objid, COALESCE(p.proname, o.oprname) AS name
  FROM pg_depend AS d
  LEFT JOIN pg_proc AS p ON d.refclassid = 'pg_proc'::regclass AND p.oid = d.refobjid
  LEFT JOIN pg_operator AS o ON d.refclassid = 'pg_operator'::regclass AND o.oid = d.refobjid
  WHERE d.refclassid IN ('pg_proc'::regclass, 'pg_operator'::regclass)
    AND COALESCE(p.pronamespace, o.oprnamespace) <> 'pg_catalog'::regnamespace
    AND NOT EXISTS (SELECT FROM pg_depend AS e
                    WHERE e.classid = d.refclassid AND e.objid = d.refobjid AND e.deptype = 'e')
)
SELECT 'a check ' || con.conname || ' on ' || t.relname || ' calling ' || f.name
FROM foreign_code AS f
JOIN pg_constraint AS con ON f.classid = 'pg_constraint'::regclass AND con.oid = f.objid
JOIN pg_class AS t ON t.oid = con.conrelid
WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
UNION ALL
SELECT 'a default of ' || t.relname || '.' || a.attname || ' calling ' || f.name
FROM foreign_code AS f
JOIN pg_attrdef AS ad ON f.classid = 'pg_attrdef'::regclass AND ad.oid = f.objid
JOIN pg_class AS t ON t.oid = ad.adrelid
JOIN pg_attribute AS a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
UNION ALL
SELECT 'an index ' || i.relname || ' on ' || t.relname || ' calling ' || f.name
FROM foreign_code AS f
JOIN pg_index AS x ON f.classid = 'pg_class'::regclass AND x.indexrelid = f.objid
JOIN pg_class AS i ON i.oid = x.indexrelid
JOIN pg_class AS t ON t.oid = x.indrelid
WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
UNION ALL
SELECT 'the column ' || t.relname || '.' || a.attname || ' of the domain ' || ty.typname
FROM pg_attribute AS a
JOIN pg_class AS t ON t.oid = a.attrelid
JOIN pg_type AS ty ON ty.oid = a.atttypid
WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
  AND t.relkind IN ('r', 'p')
  AND a.attnum > 0 AND NOT a.attisdropped AND ty.typtype = 'd'
UNION ALL
SELECT 'a table ' || n.nspname || '.' || c.relname || ' inheriting from ' || t.relname
FROM pg_inherits AS i
JOIN pg_class AS t ON t.oid = i.inhparent
JOIN pg_class AS c ON c.oid = i.inhrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
"""


def _postgres_schema(connection: Connection) -> Schema:
    found = Schema()
    schema = str(connection.exec_driver_sql("SELECT current_schema()").scalar_one())
    secured: list[str] = []
    for name, kind, column, row_security in connection.exec_driver_sql(_PG_TABLES):
        if kind in ("v", "m"):
            what = "a view" if kind == "v" else "a materialized view"
            text = f"{what} {name} that Clinic Ledger did not make"
            if text not in found.others:
                found.others.append(text)
            continue
        found.tables[name] = found.tables.get(name, frozenset()) | (
            {column} if column is not None else set()
        )
        if row_security and name not in secured:
            secured.append(name)
    for name, table, unique, partial, primary, columns in connection.exec_driver_sql(_PG_INDEXES):
        found.indexes[name] = (table, bool(unique), bool(partial), tuple(columns))
        if primary:
            found.primary_keys[table] = tuple(columns)
    for name, table, enabled, definition in connection.exec_driver_sql(_PG_TRIGGERS):
        shown = normalise(definition, schema)
        found.triggers[name] = (table, shown if enabled == "O" else f"{shown} [{enabled}]")
    for name, definition in connection.exec_driver_sql(_PG_FUNCTIONS):
        found.functions[name] = normalise(definition or f"not a function: {name}", schema)
    found.others.extend(
        f"{text} that Clinic Ledger did not make"
        for (text,) in connection.exec_driver_sql(_PG_RULES_AND_POLICIES)
    )
    found.others.extend(f"row security turned on for {table}" for table in secured)
    found.others.extend(
        f"{text} that Clinic Ledger did not make"
        for (text,) in connection.exec_driver_sql(_PG_HIDDEN_CODE)
    )
    # A schema searched before PostgreSQL's own could shadow the built-in functions the ledger
    # calls (clock_timestamp, lower, count) with its own.
    searched = list(connection.exec_driver_sql("SELECT current_schemas(true)").scalar_one())
    for name in searched[: searched.index("pg_catalog")] if "pg_catalog" in searched else []:
        if name != schema and not str(name).startswith("pg_temp"):
            found.others.append(
                f"a search path that puts the schema {name} before PostgreSQL's own functions, "
                "which Clinic Ledger did not set"
            )
    return found


# -- comparing ---------------------------------------------------------------------------------


def differences(found: Schema, expected: Schema) -> list[str]:
    """What ``found`` has that ``expected`` has not, and the other way round, in plain words."""
    findings: list[str] = []
    for table in sorted(found.tables.keys() - expected.tables.keys()):
        findings.append(f"a table {table} that Clinic Ledger did not make")
    for table in sorted(expected.tables.keys() - found.tables.keys()):
        findings.append(f"the table {table} is missing")
    for table in sorted(found.tables.keys() & expected.tables.keys()):
        for column in sorted(found.tables[table] - expected.tables[table]):
            findings.append(f"a column {column} in {table} that Clinic Ledger did not make")
        for column in sorted(expected.tables[table] - found.tables[table]):
            findings.append(f"the column {column} of {table} is missing")
        key = found.primary_keys.get(table, ())
        if key != expected.primary_keys.get(table, ()) and table in expected.primary_keys:
            findings.append(f"the primary key of {table} is not as Clinic Ledger made it")
        if expected.unique and found.unique.get(table, frozenset()) != expected.unique.get(
            table, frozenset()
        ):
            findings.append(f"the unique constraints of {table} are not as Clinic Ledger made them")
    findings.extend(_compare("index", found.indexes, expected.indexes))
    findings.extend(_compare("trigger", found.triggers, expected.triggers))
    findings.extend(
        _compare(
            "function",
            {name: ("", text) for name, text in found.functions.items()},
            {name: ("", text) for name, text in expected.functions.items()},
        )
    )
    findings.extend(
        _compare(
            "virtual table",
            {name: ("", text) for name, text in found.virtual.items()},
            {name: ("", text) for name, text in expected.virtual.items()},
        )
    )
    findings.extend(found.others)
    return findings


def _compare(
    kind: str, found: Mapping[str, tuple[Any, ...]], expected: Mapping[str, tuple[Any, ...]]
) -> list[str]:
    """Differences between two sets of named objects whose first field is their table ("" for
    none)."""

    def named(name: str, item: tuple[Any, ...]) -> str:
        return f"{kind} {name}" + (f" on {item[0]}" if item[0] else "")

    article = "an" if kind[0] in "aeiou" else "a"
    findings = [
        f"{article} {named(name, found[name])} that Clinic Ledger did not make"
        for name in sorted(found.keys() - expected.keys())
    ]
    findings.extend(
        f"the {named(name, expected[name])} is missing"
        for name in sorted(expected.keys() - found.keys())
    )
    findings.extend(
        f"the {named(name, expected[name])} is not as Clinic Ledger made it"
        for name in sorted(found.keys() & expected.keys())
        if found[name] != expected[name]
    )
    return findings


def check_schema(engine: Engine, where: str) -> None:
    """Raise :class:`ForeignSchemaError` unless the database's schema is exactly Clinic Ledger's.

    Args:
        engine: the clinic's engine, its schema already brought to the newest revision.
        where: how the message names the database (its file, or its server URL without the
            password).
    """
    dialect = engine.dialect.name
    with engine.connect() as connection:
        found = _sqlite_schema(connection) if dialect == "sqlite" else _postgres_schema(connection)
    findings = differences(found, expected_schema(dialect))
    if findings:
        raise ForeignSchemaError(where, findings)


def refuse_another_program(connection: Connection, where: str) -> None:
    """Refuse to create Clinic Ledger's tables in a database that already holds tables of its own
    (a database of another program): nothing is written to it."""
    if connection.dialect.name == "sqlite":
        sql = (
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND lower(substr(name, 1, 7)) <> 'sqlite_' LIMIT 1"
        )
    else:
        sql = (
            "SELECT relname FROM pg_class WHERE relnamespace = "
            "(SELECT oid FROM pg_namespace WHERE nspname = current_schema()) "
            "AND relkind IN ('r', 'p', 'f', 'v', 'm') LIMIT 1"
        )
    if connection.exec_driver_sql(sql).first() is not None:
        raise BillingError(
            f"The database {where} is a database of another program, not a Clinic Ledger "
            "database, so it was not opened. Nothing was changed; choose the clinic's database.",
            code=Refusal.FOREIGN_SCHEMA,
        )


def database_shown(engine: Engine) -> str:
    """How messages name the clinic's database: its SQLite file, or its server URL without the
    password."""
    if engine.dialect.name == "sqlite":
        return str(engine.url.database)
    return engine.url.render_as_string(hide_password=True)
