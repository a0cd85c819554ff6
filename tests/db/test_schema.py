"""Schema: migrations run on open (an older database is upgraded), match the models, and protect
the audit log."""

import warnings
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from desktop_app.core import Clinic
from desktop_app.core.db.engine import default_database_url, make_engine
from desktop_app.core.db.migrate import HEAD_REVISION, MIGRATIONS, current_revision
from desktop_app.core.db.models import Base
from desktop_app.core.db.search_index import outside_the_index
from desktop_app.self_test import make_first_release_database


def test_head_constant_matches_the_migration_scripts():
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_migrated_schema_matches_the_models(clinic):
    with clinic.engine.connect() as conn, warnings.catch_warnings():
        # SQLAlchemy cannot reflect SQLite's expression indexes (the patient list's lower(name)
        # index): it skips them with a warning. Their presence is checked just below.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        assert current_revision(conn) == HEAD_REVISION
        context = MigrationContext.configure(conn, opts={"include_name": outside_the_index})
        diffs = compare_metadata(context, Base.metadata)
        if conn.dialect.name == "sqlite":
            index_names = set(
                conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'patients'"
                ).scalars()
            )
        else:
            index_names = {ix["name"] for ix in inspect(conn).get_indexes("patients")}
    assert diffs == []
    assert {"ix_patients_lower_name", "ix_patients_credit", "ix_patients_outstanding"} <= (
        index_names
    )


def test_the_patient_list_is_read_in_index_order_not_sorted(tmp_path):
    with Clinic.open(f"sqlite:///{tmp_path / 'c.db'}") as clinic, clinic.engine.connect() as conn:
        for order in [
            "lower(last_name), lower(first_name), id",
            "lower(last_name) DESC, lower(first_name) DESC, id DESC",
            "credit_minor, id",
            "outstanding_minor DESC, id DESC",
        ]:
            plan = conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN SELECT id FROM patients ORDER BY {order}"
            ).fetchall()
            assert not any("TEMP B-TREE" in str(step) for step in plan), (order, plan)


def test_audit_log_is_append_only(clinic):
    clinic.add_patient("Ada", "Lovelace")
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), clinic.engine.begin() as conn:
            conn.execute(text(statement))
    with clinic.engine.connect() as conn:
        rows = conn.execute(text("SELECT actor, action, entity FROM audit_log")).all()
    assert [tuple(r) for r in rows] == [("database owner", "add patient", "patient")]


def test_every_money_movement_is_audited(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(pid, [("Consult", "50", 1)])
    pay = clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "60"}), "p")
    refund = clinic.refund_credit(pid, "5", method="Cash", request_id="r")
    clinic.reverse_payment(refund)
    clinic.reverse_payment(pay)
    clinic.void_invoice(iid)
    other = clinic.create_invoice(pid, [("Consult", "50", 1)])
    paid = clinic.record_payment(
        clinic.preview_payment(pid, source_invoice=other, sources={"Cash": "50"}), "q"
    )
    clinic.remove_application(clinic.payment(paid).applications[0].id, "applied by mistake")
    note = clinic.credit_note(other, "10", reason="discount", request_id="cn")
    clinic.reverse_credit_note(note)
    family = clinic.add_patient("Byron", "Lovelace")
    moved = clinic.transfer_credit(pid, family, "5", reason="family account", request_id="t")
    clinic.reverse_transfer(moved)
    clinic.set_allocation_mode("off")
    with clinic.engine.connect() as conn:
        actions = [r[0] for r in conn.execute(text("SELECT action FROM audit_log ORDER BY id"))]
    assert actions == [
        "add patient",
        "create invoice",
        "record payment",
        "refund credit",
        "reverse refund",
        "reverse payment",
        "void invoice",
        "create invoice",
        "record payment",
        "remove application",
        "issue credit note",
        "reverse credit note",
        "add patient",
        "transfer credit",
        "reverse transfer",
        "change setting",
    ]


def test_new_file_is_created_and_reopening_does_not_migrate_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'nested' / 'clinic.db'}"
    with Clinic.open(url) as clinic:
        pid = clinic.add_patient("Ada", "Lovelace")
    with Clinic.open(url) as clinic:
        assert clinic.patient(pid).full_name == "Ada Lovelace"
        with clinic.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_default_database_lives_in_the_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    url = default_database_url()
    assert url == f"sqlite:///{tmp_path / 'Clinic Ledger' / 'clinic.db'}"
    with Clinic.open() as clinic:
        assert clinic.url == url
        assert clinic.payment_types()[0] == "Cash"


def test_unsupported_urls_are_refused(tmp_path):
    with pytest.raises(ValueError, match="Unsupported database"):
        make_engine("mysql://somewhere/clinic")
    with pytest.raises(ValueError, match="needs a database file"):
        make_engine("sqlite://")


def test_a_database_from_the_first_schema_is_upgraded_on_open_and_keeps_its_money(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    make_first_release_database(url)
    with Clinic.open(url) as clinic:
        with clinic.engine.connect() as conn:
            assert current_revision(conn) == HEAD_REVISION
        assert clinic.verify() == []
        assert clinic.credit(1) == Decimal("20.00")
        assert clinic.invoice(1).status == "paid" and clinic.invoice(1).credited == 0
        assert [lot.remaining for lot in clinic.credit_sources(1)] == [Decimal("20.00")]
        clinic.credit_note(1, "10", reason="discount", request_id="after-upgrade")
        assert clinic.credit(1) == Decimal("30.00") and clinic.verify() == []
