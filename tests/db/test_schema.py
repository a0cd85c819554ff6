"""Schema: migrations run on open, match the models, and protect the audit log."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from desktop_app.core import Clinic
from desktop_app.core.db.engine import default_database_url, make_engine
from desktop_app.core.db.migrate import HEAD_REVISION, MIGRATIONS, current_revision
from desktop_app.core.db.models import Base


def test_head_constant_matches_the_migration_scripts():
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_migrated_schema_matches_the_models(clinic):
    with clinic.engine.connect() as conn:
        assert current_revision(conn) == HEAD_REVISION
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []


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
    clinic.set_allocation_mode("off")
    with clinic.engine.connect() as conn:
        actions = [r[0] for r in conn.execute(text("SELECT action FROM audit_log ORDER BY id"))]
    assert actions == [
        "add patient",
        "create invoice",
        "record payment",
        "refund credit",
        "reverse payment",
        "reverse payment",
        "void invoice",
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
