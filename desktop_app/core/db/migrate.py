"""Bring a clinic's database to the current schema when it is opened.

The check costs one query when the schema is already current; Alembic is imported only when there is
something to upgrade. On PostgreSQL an advisory lock keeps two computers from upgrading at once.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from ..domain.errors import BillingError, Refusal
from .engine import WRITE_OPTION, make_engine
from .schema_check import check_schema, database_shown, refuse_another_program

#: The newest migration; a test checks it matches the migration scripts' head.
HEAD_REVISION = "0018_outbox_claims"
MIGRATIONS = Path(__file__).with_name("migrations")
_PG_LOCK_KEY = 71_230_001


def current_revision(connection: Connection) -> str | None:
    """The schema revision stored in the database, or None for an empty database."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to :data:`HEAD_REVISION`."""
    with engine.connect() as connection:
        if current_revision(connection) == HEAD_REVISION:
            return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            if current_revision(connection) == HEAD_REVISION:
                return
        if current_revision(connection) is None:  # never create ours among another's tables
            refuse_another_program(connection, database_shown(engine))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def open_database(url: str) -> Engine:
    """An engine on the clinic database at ``url``, its schema created or upgraded and checked.

    What ``Clinic.open`` and a restore's check of its copy share, below both (``backup`` needs
    no ``Clinic``): nothing foreign runs in the ledger, and a database error becomes a
    :class:`BillingError` naming the database (password hidden). The engine is disposed of on
    any failure.
    """
    engine = make_engine(url)
    try:
        upgrade(engine)
        check_schema(engine, database_shown(engine))
    except DBAPIError as exc:
        engine.dispose()
        raise BillingError(
            f"The clinic's database at {engine.url.render_as_string(hide_password=True)} "
            f"could not be opened: {exc.orig}",
            code=Refusal.DATABASE_ERROR,
        ) from exc
    except Exception:
        engine.dispose()
        raise
    return engine
