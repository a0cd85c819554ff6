"""Engines for SQLite (embedded default) and PostgreSQL (a clinic's shared server).

Every SQLite connection turns on foreign keys, WAL and a busy timeout. Transactions are begun by
hand so that writes take the database's write lock up front (``BEGIN IMMEDIATE``): two front-desk
saves queue instead of failing half-way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

#: How long a SQLite save waits for another computer's save before giving up.
SQLITE_BUSY_TIMEOUT_MS = 5000
#: Page cache per SQLite connection, in KiB (SQLite's default is 2 MiB). A patient with a thousand
#: open invoices spreads them over a thousand table pages of a large clinic's file; with the default
#: cache every payment preview re-reads them from the operating system. The cache fills only as
#: pages are read, so a small clinic never uses it all.
SQLITE_CACHE_KIB = 64 * 1024
#: Execution option that marks a connection as a writer.
WRITE_OPTION = "clinic_write"


def default_database_url() -> str:
    """The SQLite file in the user's data folder (created on first use)."""
    import platformdirs

    folder = Path(platformdirs.user_data_dir("Clinic Ledger", "Clinic Ledger"))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'clinic.db'}"


def is_sqlite(engine: Engine) -> bool:
    """Whether the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` with the connection set-up the ledger relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            raise ValueError("Clinic Ledger needs a database file, not an in-memory database.")
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        _create_private(Path(database))
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True)
    raise ValueError(
        f"Unsupported database {parsed.get_backend_name()!r}: use a SQLite file or a "
        "postgresql+psycopg:// server URL."
    )


#: A new SQLite file is readable and writable by its owner only (SQLite gives its -wal and -shm
#: files the same permissions).
PRIVATE_FILE_MODE = 0o600


def _create_private(path: Path) -> None:
    """Create an empty database file readable by the user only, unless it already exists (an
    empty file is a valid empty SQLite database). On Windows the per-user data folder's own
    permissions do this job; the mode only takes away the read-only flag there."""
    try:
        handle = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    except OSError:
        return  # SQLite itself says what is wrong with the place, when it opens the file
    os.close(handle)
    os.chmod(path, PRIVATE_FILE_MODE)  # whatever the process's umask


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        writer = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


def release_page_cache(session: Session) -> None:
    """On SQLite, free the page cache of the session's connection: after a statement run's step
    wrote its messages, or the outbox read a batch of them to send. Each message is tens of
    kilobytes read once, and without this a run of thousands would fill the connection's cache
    (:data:`SQLITE_CACHE_KIB`) with them. Nothing on PostgreSQL (the server keeps its own)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA shrink_memory"))
