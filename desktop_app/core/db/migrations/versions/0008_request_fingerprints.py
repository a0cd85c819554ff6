"""The fingerprint of each save request beside its request id (payments, refunds, credit notes,
credit transfers), so the same request id sent with a different request is refused instead of
quietly returning the first record.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_request_fingerprints"
down_revision = "0007_staff"

_TABLES = ("payments", "credit_notes", "credit_transfers")


def upgrade() -> None:
    # Nullable, no default: added in place on SQLite (no table rebuild); records saved before
    # this version keep no fingerprint and are compared by their saved fields.
    for table in _TABLES:
        op.add_column(table, sa.Column("request_fingerprint", sa.String(length=64), nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("request_fingerprint")
