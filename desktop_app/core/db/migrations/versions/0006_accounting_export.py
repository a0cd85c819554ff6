"""Accounting exports and what each one included, so the next export sends only what is new or
changed; partial indexes on the few reversed payments and removed applications, so finding what
changed since an export does not read every payment.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_accounting_export"
down_revision = "0005_patient_list"


def upgrade() -> None:
    op.create_table(
        "accounting_exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("through_date", sa.Date(), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounting_exports")),
    )
    op.create_table(
        "accounting_export_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("export_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["export_id"],
            ["accounting_exports.id"],
            name=op.f("fk_accounting_export_items_export_id_accounting_exports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounting_export_items")),
    )
    op.create_index(
        "ix_accounting_export_items_export_id", "accounting_export_items", ["export_id"]
    )
    op.create_index(
        "ix_accounting_export_items_record",
        "accounting_export_items",
        ["kind", "record_id", "state"],
    )

    op.create_index(
        "ix_payments_reversed",
        "payments",
        ["id"],
        sqlite_where=sa.text("reversed_at IS NOT NULL"),
        postgresql_where=sa.text("reversed_at IS NOT NULL"),
    )
    op.create_index(
        "ix_applications_removed",
        "applications",
        ["id"],
        sqlite_where=sa.text("removed_at IS NOT NULL"),
        postgresql_where=sa.text("removed_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_applications_removed", "applications")
    op.drop_index("ix_payments_reversed", "payments")
    op.drop_index("ix_accounting_export_items_record", "accounting_export_items")
    op.drop_index("ix_accounting_export_items_export_id", "accounting_export_items")
    op.drop_table("accounting_export_items")
    op.drop_table("accounting_exports")
