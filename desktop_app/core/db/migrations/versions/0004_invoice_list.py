"""The clinic-wide invoice list: indexes for its sort orders, and what each invoice still owes.

The "All invoices" window reads a page at a time in one of four orders (number, issue date,
patient, balance), optionally for one status. Each order gets an index so a page of a million
invoices costs what a page of a thousand does:

* ``ix_invoices_issue_date`` (issue_date, number) and ``ix_invoices_status_issue_date`` (status,
  issue_date, number): by issue date, all or one status;
* ``ix_invoices_status_number`` (status, number): by number, one status;
* ``ix_invoices_status_owed`` (status, owed_minor, number): open invoices by what they owe.

``owed_minor`` is ``total_minor - paid_minor - credited_minor``, computed by the database (a
generated column: virtual on SQLite, stored on PostgreSQL), so no save has to maintain it. It is the
balance of an open invoice; a paid one owes 0 and a void one is shown with a balance of 0.
The patient order uses the existing ``ix_patients_name`` and ``ix_invoices_patient_open``.

On a clinic with a million invoices the upgrade takes a few seconds (building the indexes).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_invoice_list"
down_revision = "0003_csv_import"

OWED = "total_minor - paid_minor - credited_minor"
INDEXES = {
    "ix_invoices_issue_date": ["issue_date", "number"],
    "ix_invoices_status_number": ["status", "number"],
    "ix_invoices_status_issue_date": ["status", "issue_date", "number"],
    "ix_invoices_status_owed": ["status", "owed_minor", "number"],
}


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        # SQLite adds a virtual generated column in place (no table rebuild); it cannot add a
        # stored one. An index on it stores the computed values.
        op.execute(
            f"ALTER TABLE invoices ADD COLUMN owed_minor BIGINT GENERATED ALWAYS AS ({OWED}) "
            "VIRTUAL"
        )
    else:
        op.add_column(
            "invoices",
            sa.Column(
                "owed_minor", sa.BigInteger(), sa.Computed(OWED, persisted=True), nullable=False
            ),
        )
    for name, columns in INDEXES.items():
        op.create_index(name, "invoices", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, "invoices")
    if op.get_context().dialect.name == "sqlite":
        op.execute("ALTER TABLE invoices DROP COLUMN owed_minor")  # SQLite 3.35+
    else:
        op.drop_column("invoices", "owed_minor")
