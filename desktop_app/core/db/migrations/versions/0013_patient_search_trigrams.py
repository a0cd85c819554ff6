"""The patient search index on SQLite (``db.search_index``): an FTS5 ``trigram`` table over the
patients' search keys, filled from every patient and kept in step by triggers, so a search for a
rare fragment (six digits of a mobile, the start of an email) reads only the patients holding it.

PostgreSQL is left as it is. SQLite without FTS5's trigram tokenizer (older than 3.34, or built
without FTS5) is refused with a message naming what it lacks, before anything is changed.
"""

import sqlalchemy as sa
from alembic import op

from desktop_app.core.db.search_index import CREATE, REBUILD, TABLE, TRIGGERS

revision = "0013_patient_search_trigrams"
down_revision = "0012_patient_search_index"


def _refuse_without_trigrams(connection: sa.Connection) -> None:
    try:
        connection.exec_driver_sql(
            "CREATE VIRTUAL TABLE temp.clinic_ledger_probe USING fts5(x, tokenize='trigram')"
        )
    except sa.exc.OperationalError as error:
        version = connection.exec_driver_sql("SELECT sqlite_version()").scalar_one()
        raise RuntimeError(
            f"This computer's SQLite ({version}) lacks FTS5's trigram tokenizer, which the "
            "patient search needs (SQLite 3.34 or newer, built with FTS5). The database was "
            "not changed."
        ) from error
    connection.exec_driver_sql("DROP TABLE temp.clinic_ledger_probe")


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "sqlite":
        return
    _refuse_without_trigrams(connection)
    op.execute(CREATE)
    op.execute(REBUILD)
    for _table, definition in TRIGGERS.values():
        op.execute(definition)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute(f"DROP TABLE IF EXISTS {TABLE}")
