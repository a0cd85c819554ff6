"""The Xero sync's memory: ``xero_links`` holds, for each document the sync keeps in Xero (a
patient's contact, an invoice, a credit note, money paid on an invoice, money held as a
prepayment, a use of credit drawn from one of them), the id Xero gave it, the amount sent, a
digest of what was sent (an invoice corrected since is sent again), its state (``pending``
while a call is under way, ``sent``, ``refused`` with Xero's message, or ``removed`` once
deleted or voided there) and when; ``xero_sync_runs`` the sync log."""

import sqlalchemy as sa
from alembic import op

revision = "0015_xero_links"
down_revision = "0014_catalogue_drafts"


def upgrade() -> None:
    op.create_table(
        "xero_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("part", sa.String(length=120), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("xero_id", sa.String(length=36), nullable=True),
        sa.Column("xero_other_id", sa.String(length=36), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("call_key", sa.String(length=64), nullable=True),
        sa.Column("last_key", sa.String(length=64), nullable=True),
        sa.Column("content", sa.String(length=64), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'sent', 'refused', 'removed')",
            name=op.f("ck_xero_links_state_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xero_links")),
    )
    op.create_index(
        "ix_xero_links_record", "xero_links", ["kind", "record_id", "part"], unique=True
    )
    op.create_table(
        "xero_sync_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("differences", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xero_sync_runs")),
    )


def downgrade() -> None:
    op.drop_table("xero_sync_runs")
    op.drop_table("xero_links")
