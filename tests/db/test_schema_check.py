"""A database whose schema is not exactly Clinic Ledger's is never opened nor restored.

Triggers, views, rules or functions added by hand run inside the database, under every save: one
that puts a patient's credit back whenever it drops, one that silently drops every audit entry.
Restore and Clinic.open compare the database's tables, columns, indexes, triggers and views (on
PostgreSQL also rules, functions and row security) with what the migrations make, and refuse,
changing nothing, a database that differs. Genuine databases, new or upgraded from any earlier
schema, still open.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from desktop_app.core import BillingError, Clinic, Refusal
from desktop_app.core.db.engine import make_engine
from desktop_app.core.db.migrate import HEAD_REVISION, MIGRATIONS
from desktop_app.core.interchange.backup import backup_database, restore_database
from desktop_app.self_test import make_first_release_database
from tests.helpers import snapshot

#: Puts a patient's account credit back whenever a save lowers it (SQLite).
CREDIT_BACK = (
    "CREATE TRIGGER credit_back AFTER UPDATE OF credit_minor ON patients "
    "WHEN NEW.credit_minor < OLD.credit_minor "
    "BEGIN UPDATE patients SET credit_minor = OLD.credit_minor WHERE id = NEW.id; END"
)
#: Silently drops every audit entry (SQLite): the insert is skipped without an error.
QUIET_AUDIT = (
    "CREATE TRIGGER quiet_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(IGNORE); END"
)


def sqlite_file(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def add_foreign_triggers(path: Path) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(CREDIT_BACK)
        conn.execute(QUIET_AUDIT)
        conn.commit()


def ada_with_credit_and_an_open_invoice(clinic: Clinic) -> tuple[int, int]:
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "100"}), "prepay")
    iid = clinic.create_invoice(pid, [("Consult", "50", 1)], issue_date=date(2026, 1, 5))
    return pid, iid


def test_the_foreign_triggers_do_what_the_issue_says_when_a_clinic_runs_with_them(tmp_path):
    """Why they must be refused: with them in place, an invoice paid from credit leaves the
    credit untouched and nothing is audited (the clinic is built on a connection that skips the
    check, as an attacker's copy of the app would)."""
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    with Clinic.open(url) as clinic:
        pid, iid = ada_with_credit_and_an_open_invoice(clinic)
        audited = clinic.audit_count()
    add_foreign_triggers(sqlite_file(url))
    unchecked = Clinic(make_engine(url))
    try:
        unchecked.record_payment(unchecked.preview_payment(pid, {}, source_invoice=iid), "p")
        assert unchecked.invoice(iid).status == "paid"
        assert unchecked.credit(pid) == Decimal("100.00")  # paid $50 from credit, none spent
        assert unchecked.audit_count() == audited  # and nothing recorded
    finally:
        unchecked.close()


def test_restore_refuses_a_backup_with_triggers_added_by_hand(new_sqlite_url, tmp_path):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        ada_with_credit_and_an_open_invoice(clinic)
        backup = backup_database(clinic, tmp_path / "friday.db").path
        clinic.add_patient("Grace", "Hopper")
        before = snapshot(clinic)
    add_foreign_triggers(backup)
    live = sqlite_file(url)
    live_before, files_before, backup_before = (
        digest(live),
        sorted(p.name for p in live.parent.iterdir()),
        digest(backup),
    )

    with pytest.raises(BillingError) as refused:
        restore_database(backup, url)

    message = str(refused.value)
    assert f"The backup {backup}" in message
    assert "a trigger credit_back on patients that Clinic Ledger did not make" in message
    assert "a trigger quiet_audit on audit_log that Clinic Ledger did not make" in message
    assert "it was not restored" in message and "Nothing was changed" in message
    assert digest(live) == live_before
    assert sorted(p.name for p in live.parent.iterdir()) == files_before  # no before-restore copy
    assert digest(backup) == backup_before
    with Clinic.open(url) as clinic:
        assert snapshot(clinic) == before


def test_opening_a_file_with_triggers_added_by_hand_is_refused(new_sqlite_url):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        ada_with_credit_and_an_open_invoice(clinic)
    live = sqlite_file(url)
    add_foreign_triggers(live)
    before = digest(live)

    with pytest.raises(BillingError) as refused:
        Clinic.open(url)

    message = str(refused.value)
    assert f"The clinic's database {live} is not as Clinic Ledger made it" in message
    assert "a trigger credit_back on patients that Clinic Ledger did not make" in message
    assert "a trigger quiet_audit on audit_log" in message
    assert "It was not opened" in message and "Ask whoever looks after" in message
    assert digest(live) == before


def test_a_changed_audit_log_trigger_is_refused_on_sqlite(new_sqlite_url):
    url = new_sqlite_url()
    with closing(sqlite3.connect(sqlite_file(url))) as conn:
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute(
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT 1; END"
        )
        conn.commit()
    # The refusal names what is not as Clinic Ledger made it.
    with pytest.raises(
        BillingError, match="the trigger audit_log_no_delete on audit_log is not"
    ) as refused:
        Clinic.open(url)
    assert refused.value.code == Refusal.FOREIGN_SCHEMA


PG_FOREIGN = {
    "credit trigger": (
        [
            "CREATE FUNCTION credit_back() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.credit_minor < OLD.credit_minor THEN NEW.credit_minor := OLD.credit_minor; "
            "END IF; RETURN NEW; END $$",
            "CREATE TRIGGER credit_back BEFORE UPDATE ON patients FOR EACH ROW "
            "EXECUTE FUNCTION credit_back()",
        ],
        [
            "a trigger credit_back on patients that Clinic Ledger did not make",
            "a function credit_back that Clinic Ledger did not make",
        ],
    ),
    "audit trigger disabled": (
        ["ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change"],
        ["the trigger audit_log_no_change on audit_log is not as Clinic Ledger made it"],
    ),
    "append-only function emptied": (
        [
            "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$"
        ],
        ["the function audit_log_append_only is not as Clinic Ledger made it"],
    ),
    "rule": (
        [
            "CREATE RULE no_refunds AS ON INSERT TO payments WHERE NEW.total_minor < 0 "
            "DO INSTEAD NOTHING"
        ],
        ["a rule no_refunds on payments that Clinic Ledger did not make"],
    ),
    "row security": (
        [
            "ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY",
            "CREATE POLICY hide_mine ON audit_log USING (actor <> 'mallory')",
        ],
        [
            "a row security policy hide_mine on audit_log that Clinic Ledger did not make",
            "row security turned on for audit_log",
        ],
    ),
    "check calling a function elsewhere": (
        [
            "CREATE SCHEMA elsewhere",
            "CREATE TABLE elsewhere.seen (amount bigint)",
            "CREATE FUNCTION elsewhere.ok(bigint) RETURNS boolean LANGUAGE plpgsql AS "
            "$$ BEGIN INSERT INTO elsewhere.seen VALUES ($1); RETURN true; END $$",
            "ALTER TABLE payment_sources ADD CONSTRAINT looks_fine "
            "CHECK (elsewhere.ok(amount_minor))",
        ],
        ["a check looks_fine on payment_sources calling ok that Clinic Ledger did not make"],
    ),
    "default calling a function elsewhere": (
        [
            "CREATE SCHEMA elsewhere",
            "CREATE FUNCTION elsewhere.note() RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$",
            "ALTER TABLE payments ALTER COLUMN note SET DEFAULT elsewhere.note()",
        ],
        ["a default of payments.note calling note that Clinic Ledger did not make"],
    ),
    "an index calling a function elsewhere": (
        [
            "CREATE SCHEMA elsewhere",
            "CREATE FUNCTION elsewhere.seen(t timestamptz) RETURNS boolean LANGUAGE sql "
            "IMMUTABLE AS $$ SELECT t IS NOT NULL $$",
            "DROP INDEX ix_payments_reversed",
            "CREATE INDEX ix_payments_reversed ON payments (id) WHERE elsewhere.seen(reversed_at)",
        ],
        ["an index ix_payments_reversed on payments calling seen that Clinic Ledger did not make"],
    ),
    "a check through an operator elsewhere": (
        [
            "CREATE SCHEMA elsewhere",
            "CREATE FUNCTION elsewhere.ge(bigint, bigint) RETURNS boolean LANGUAGE sql "
            "IMMUTABLE AS $$ SELECT $1 >= $2 $$",
            "CREATE OPERATOR elsewhere.>=~ (LEFTARG = bigint, RIGHTARG = bigint, "
            "FUNCTION = elsewhere.ge)",
            "ALTER TABLE payments ADD CONSTRAINT ck_extra "
            "CHECK (total_minor OPERATOR(elsewhere.>=~) -9000000000)",
        ],
        ["a check ck_extra on payments calling >=~ that Clinic Ledger did not make"],
    ),
    "a table inheriting ours": (
        [
            "CREATE SCHEMA elsewhere",
            "CREATE TABLE elsewhere.more () INHERITS (patients)",
        ],
        ["a table elsewhere.more inheriting from patients that Clinic Ledger did not make"],
    ),
}


@pytest.mark.parametrize("case", list(PG_FOREIGN))
def test_opening_a_postgresql_clinic_with_foreign_logic_is_refused(pg_databases, case):
    url = pg_databases.new()
    with Clinic.open(url) as clinic:
        ada_with_credit_and_an_open_invoice(clinic)
    statements, findings = PG_FOREIGN[case]
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)

    with pytest.raises(BillingError) as refused:
        Clinic.open(url)

    message = str(refused.value)
    assert "is not as Clinic Ledger made it" in message and "It was not opened" in message
    for finding in findings:
        assert finding in message
    assert "postgres@" in message or "127.0.0.1" in message  # names the server it refused


CHANGES = {
    "extra column": (
        ["ALTER TABLE patients ADD COLUMN nickname VARCHAR(50)"],
        "a column nickname in patients that Clinic Ledger did not make",
    ),
    "missing column": (
        ["ALTER TABLE payments DROP COLUMN note"],
        "the column note of payments is missing",
    ),
    "extra table": (
        ["CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"],
        "a table notes that Clinic Ledger did not make",
    ),
    "missing index": (
        ["DROP INDEX ix_payments_patient"],
        "the index ix_payments_patient on payments is missing",
    ),
    "extra index": (
        ["CREATE INDEX ix_mine ON patients (first_name)"],
        "an index ix_mine on patients that Clinic Ledger did not make",
    ),
    "changed index": (
        [
            "DROP INDEX ix_invoices_issue_date",
            "CREATE INDEX ix_invoices_issue_date ON invoices (number)",
        ],
        "the index ix_invoices_issue_date on invoices is not as Clinic Ledger made it",
    ),
    "view": (
        ["CREATE VIEW owing AS SELECT id, outstanding_minor FROM patients"],
        "a view owing that Clinic Ledger did not make",
    ),
}


@pytest.mark.parametrize("case", list(CHANGES))
def test_a_changed_schema_is_refused_on_both_databases(db_url, case):
    statements, finding = CHANGES[case]
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()
    with pytest.raises(BillingError) as refused:
        Clinic.open(db_url)
    assert finding in str(refused.value)


def test_another_programs_database_is_refused_and_left_as_it_was(tmp_path):
    recipes = tmp_path / "recipes.db"
    with closing(sqlite3.connect(recipes)) as conn:
        conn.execute("CREATE TABLE recipes (name TEXT, minutes INTEGER)")
        conn.execute("INSERT INTO recipes VALUES ('Soup', 30)")
        conn.commit()
    with pytest.raises(BillingError) as refused:
        Clinic.open(f"sqlite:///{recipes}")
    assert refused.value.code == Refusal.FOREIGN_SCHEMA
    with closing(sqlite3.connect(recipes)) as conn:  # no Clinic Ledger table was created in it
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["recipes"]
        assert conn.execute("SELECT * FROM recipes").fetchall() == [("Soup", 30)]


# -- genuine databases still open ----------------------------------------------------------------


def _revisions() -> list[str]:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return [
        s.revision for s in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))
    ]


@pytest.fixture
def empty_database(pg_databases, tmp_path) -> Iterator[Callable[[str, str], str]]:
    """Makes empty databases (a SQLite file, or a database on the PostgreSQL server)."""
    made: list[str] = []

    def make(dialect: str, name: str) -> str:
        if dialect == "sqlite":
            return f"sqlite:///{tmp_path / f'{name}.db'}"
        database = f"clinic_empty_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(libpq(pg_databases.admin_url), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {database}")
        made.append(database)
        return (
            make_url(pg_databases.admin_url)
            .set(database=database)
            .render_as_string(hide_password=False)
        )

    yield make
    with psycopg.connect(libpq(pg_databases.admin_url), autocommit=True) as conn:
        for database in made:
            conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def test_a_database_from_every_earlier_schema_is_upgraded_and_opens(dialect, empty_database):
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    for revision in _revisions()[:-1]:
        url = empty_database(dialect, revision)
        engine = make_engine(url)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        engine.dispose()
        with Clinic.open(url) as clinic:
            pid, _ = ada_with_credit_and_an_open_invoice(clinic)
            assert clinic.credit(pid) == Decimal("100.00") and clinic.verify() == []
            with clinic.engine.connect() as conn:
                assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
                    HEAD_REVISION
                )


def test_a_first_release_clinic_is_upgraded_opens_and_restores(new_sqlite_url, tmp_path):
    old = tmp_path / "first-release.db"
    make_first_release_database(f"sqlite:///{old}")
    url = new_sqlite_url()
    restore_database(old, url)  # a backup made by the first release
    with Clinic.open(url) as clinic:
        assert clinic.credit(1) == Decimal("20.00") and clinic.verify() == []
    with Clinic.open(f"sqlite:///{old}") as clinic:  # and the file itself, upgraded on open
        invoice = clinic.invoice(1)
        assert invoice.status == "paid" and clinic.verify() == []
        # Migration 0014: lines keep their amounts, without tax added before the basis existed.
        assert (invoice.number, invoice.total, invoice.tax_inclusive) == (
            1,
            Decimal("50.00"),
            False,
        )
        assert (invoice.practitioner_id, invoice.service_date) == (None, None)
        assert [(ln.quantity, ln.discount, ln.net + ln.tax) for ln in invoice.lines] == [
            (Decimal("1"), Decimal("0.00"), ln.total) for ln in invoice.lines
        ]
        assert sum((ln.total for ln in invoice.lines), Decimal(0)) == Decimal("50.00")
        assert "paid on it" in clinic.invoice_edit_refusal(1)


def test_a_genuine_database_opens_on_both(clinic):
    pid, iid = ada_with_credit_and_an_open_invoice(clinic)
    clinic.close()
    with Clinic.open(clinic.engine.url.render_as_string(hide_password=False)) as again:
        again.record_payment(again.preview_payment(pid, {}, source_invoice=iid), "from-credit")
        assert again.credit(pid) == Decimal("50.00") and again.verify() == []


def test_an_extension_in_the_clinics_schema_does_not_lock_the_clinic_out(pg_databases):
    """Extensions a server's administrator installs (statistics, monitoring) are theirs, not
    foreign logic in the ledger: the clinic still opens."""
    url = pg_databases.new()
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        available = conn.execute(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_buffercache'"
        ).fetchone()[0]
        assert available, "the PostgreSQL contrib extensions are part of the server package"
        conn.execute("CREATE EXTENSION pg_buffercache")
    with Clinic.open(url) as clinic:
        assert clinic.verify() == []


def test_a_search_path_that_shadows_postgresqls_own_functions_is_refused(pg_databases):
    url = pg_databases.new()
    name = make_url(url).database
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA helpers")
        conn.execute(
            "CREATE FUNCTION helpers.clock_timestamp() RETURNS timestamptz LANGUAGE sql "
            "AS $$ SELECT timestamptz '2001-01-01Z' $$"
        )
        conn.execute(f"ALTER DATABASE {name} SET search_path = public, helpers, pg_catalog")
    # The refusal names what is not as Clinic Ledger made it.
    with pytest.raises(
        BillingError, match="puts the schema helpers before PostgreSQL's own"
    ) as refused:
        Clinic.open(url)
    assert refused.value.code == Refusal.FOREIGN_SCHEMA


@pytest.mark.parametrize("schema", ["Clinic", "clinic-ledger", "order"])
def test_a_clinic_in_a_schema_whose_name_needs_quotes_opens(pg_databases, schema):
    url = pg_databases.new()
    name = make_url(url).database
    quoted = '"' + schema + '"'
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {quoted}")
        conn.execute(f"ALTER DATABASE {name} SET search_path = {quoted}")
    with Clinic.open(url) as clinic:  # created in that schema
        ada_with_credit_and_an_open_invoice(clinic)
    with Clinic.open(url) as clinic:  # and checked when opened again
        assert clinic.verify() == []
