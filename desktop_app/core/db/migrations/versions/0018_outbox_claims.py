"""The outbox's claims: which sending pass holds a message.

* ``outbox.claim_token``: a token unique to the sending pass that marked the message
  ``sending``. A pass sends, and records the outcome of, only the messages its token still
  holds, so a message another desk has taken over (its claim gone stale) is never sent twice.

The column is nullable and added in place (no table is rebuilt).
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_outbox_claims"
down_revision = "0017_email"


def upgrade() -> None:
    op.add_column("outbox", sa.Column("claim_token", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claim_token")
