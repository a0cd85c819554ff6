"""Indexes for the patient list's three orders, so 100,000 patients list without a sort.

The list is ordered by name (case-insensitive: ``lower(last_name), lower(first_name), id``), by
account credit or by outstanding balance, each either way. Each order gets an index the database
reads in order (forwards or backwards) instead of sorting every patient.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_patient_list"
down_revision = "0004_invoice_list"


def upgrade() -> None:
    op.create_index(
        "ix_patients_lower_name",
        "patients",
        [sa.text("lower(last_name)"), sa.text("lower(first_name)"), "id"],
    )
    op.create_index("ix_patients_credit", "patients", ["credit_minor", "id"])
    op.create_index("ix_patients_outstanding", "patients", ["outstanding_minor", "id"])


def downgrade() -> None:
    op.drop_index("ix_patients_outstanding", "patients")
    op.drop_index("ix_patients_credit", "patients")
    op.drop_index("ix_patients_lower_name", "patients")
