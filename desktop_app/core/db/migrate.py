"""Bring a clinic's database to the current schema when it is opened.

The check costs one query when the schema is already current; Alembic is imported only when there is
something to upgrade. On PostgreSQL an advisory lock keeps two computers from upgrading at once.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

from .engine import WRITE_OPTION
from .schema_check import database_shown, refuse_another_program

#: The newest migration; a test checks it matches the migration scripts' head.
HEAD_REVISION = "0008_request_fingerprints"
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
