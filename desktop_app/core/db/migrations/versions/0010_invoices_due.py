"""An index on invoices' status and due date, so overdue invoices (open, due before today) are
counted from the index alone rather than by reading every open invoice.
"""

from alembic import op

revision = "0010_invoices_due"
down_revision = "0009_patient_search_key"


def upgrade() -> None:
    op.create_index("ix_invoices_status_due", "invoices", ["status", "due_date"])


def downgrade() -> None:
    op.drop_index("ix_invoices_status_due", table_name="invoices")
