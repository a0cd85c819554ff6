"""A patient's details (title, preferred name, date of birth, phones, email, postal address,
notes, concession type, "Invoice to" and extra information for invoices), archiving, and
merging duplicates (``merged_into``).

Every new column is optional, so the columns are added in place on both databases (no table
rebuild), and the search keys stay as they are: a patient without details has the same key.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_patient_details"
down_revision = "0010_invoices_due"

_TEXTS: list[tuple[str, sa.types.TypeEngine[str]]] = [
    ("title", sa.String(40)),
    ("preferred_name", sa.String(200)),
    ("mobile", sa.String(40)),
    ("phone", sa.String(40)),
    ("email", sa.String(254)),
    ("address", sa.Text()),
    ("city", sa.String(100)),
    ("region", sa.String(100)),
    ("postcode", sa.String(20)),
    ("country", sa.String(2)),
    ("notes", sa.Text()),
    ("concession", sa.String(60)),
    ("invoice_to", sa.Text()),
    ("invoice_extra", sa.Text()),
]


def upgrade() -> None:
    for name, kind in _TEXTS:
        op.add_column("patients", sa.Column(name, kind, nullable=True))
    op.add_column("patients", sa.Column("date_of_birth", sa.Date(), nullable=True))
    op.add_column("patients", sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("patients", sa.Column("archive_reason", sa.Text(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its reference in place (no table rebuild) when its default
        # is NULL, which Alembic's add_column cannot say.
        op.execute(
            "ALTER TABLE patients ADD COLUMN merged_into INTEGER "
            "CONSTRAINT fk_patients_merged_into_patients REFERENCES patients (id)"
        )
    else:
        op.add_column("patients", sa.Column("merged_into", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_patients_merged_into_patients", "patients", "patients", ["merged_into"], ["id"]
        )
    op.create_index("ix_patients_merged_into", "patients", ["merged_into"])


def downgrade() -> None:
    op.drop_index("ix_patients_merged_into", table_name="patients")
    with op.batch_alter_table("patients") as batch_op:
        batch_op.drop_column("merged_into")
        for name in ["archive_reason", "archived_at", "date_of_birth", *(n for n, _ in _TEXTS)]:
            batch_op.drop_column(name)
