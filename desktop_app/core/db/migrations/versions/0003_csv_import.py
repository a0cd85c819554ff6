"""CSV import: patients keep their previous system's id, and each imported file is remembered.

``import_batches`` holds one row per imported file (its kind, name, SHA-256, rows, when and by
whom), so the same file imported again is recognised and changes nothing. Patients gain
``external_id`` (the id in the clinic's previous system, unique; the other import files refer to
patients by it), and patients, invoices and payments created by an import carry the batch's id.
Imported invoices keep their previous numbers in ``invoices.number`` (no new column).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_csv_import"
down_revision = "0002_credit_notes_transfers"

_TRACED = ("patients", "invoices", "payments")


def upgrade() -> None:
    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
    )
    op.create_index("ix_import_batches_file", "import_batches", ["kind", "sha256"], unique=True)

    sqlite = op.get_context().dialect.name == "sqlite"
    for table in _TRACED:
        fk = f"fk_{table}_import_batch_id_import_batches"
        if sqlite:
            # SQLite adds a nullable column with its reference in place: no table rebuild, so
            # existing rows and the tables that reference these ones are untouched.
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN import_batch_id INTEGER "
                f"CONSTRAINT {fk} REFERENCES import_batches (id)"
            )
        else:
            op.add_column(table, sa.Column("import_batch_id", sa.Integer(), nullable=True))
            op.create_foreign_key(fk, table, "import_batches", ["import_batch_id"], ["id"])

    op.add_column("patients", sa.Column("external_id", sa.String(length=100), nullable=True))
    op.create_index("ix_patients_external_id", "patients", ["external_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_patients_external_id", "patients")
    sqlite = op.get_context().dialect.name == "sqlite"
    for table in _TRACED:
        if not sqlite:
            op.drop_constraint(
                f"fk_{table}_import_batch_id_import_batches", table, type_="foreignkey"
            )
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("import_batch_id")
    with op.batch_alter_table("patients") as batch_op:
        batch_op.drop_column("external_id")
    op.drop_index("ix_import_batches_file", "import_batches")
    op.drop_table("import_batches")
