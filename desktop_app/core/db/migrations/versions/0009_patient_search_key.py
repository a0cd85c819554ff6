r"""A search key on each patient: both names with case, accents, apostrophes, hyphens and other
punctuation taken out (``domain.text.patient_search_key``), so a search for "obrien" finds
O'Brien, O\u2019Brien and O-Brien, and "zoe" finds Zoë, on SQLite and PostgreSQL alike.

Patients saved before this version get their key here, a thousand at a time.
"""

import sqlalchemy as sa
from alembic import op

from desktop_app.core.domain.text import patient_search_key

revision = "0009_patient_search_key"
down_revision = "0008_request_fingerprints"

_BATCH = 1000


def upgrade() -> None:
    # NOT NULL with a constant default: added in place on SQLite (no table rebuild).
    op.add_column("patients", sa.Column("search_key", sa.Text(), nullable=False, server_default=""))
    patients = sa.table(
        "patients",
        sa.column("id", sa.Integer),
        sa.column("first_name", sa.String),
        sa.column("last_name", sa.String),
        sa.column("search_key", sa.Text),
    )
    conn = op.get_bind()
    update = (
        sa.update(patients)
        .where(patients.c.id == sa.bindparam("pid"))
        .values(search_key=sa.bindparam("key"))
    )
    last_id = 0
    while True:
        rows = conn.execute(
            sa.select(patients.c.id, patients.c.first_name, patients.c.last_name)
            .where(patients.c.id > last_id)
            .order_by(patients.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        conn.execute(
            update,
            [{"pid": pid, "key": patient_search_key(first, last)} for pid, first, last in rows],
        )
        last_id = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("patients") as batch_op:
        batch_op.drop_column("search_key")
