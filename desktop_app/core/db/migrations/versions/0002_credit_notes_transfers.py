"""Credit notes and credit transfers between patients.

Invoices gain ``credited_minor``: the part of their credit notes that reduced what is owed, so the
balance is ``total - paid - credited``. Credit notes are numbered from their own counter.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_credit_notes_transfers"
down_revision = "0001_initial"

_SETTLED = "credited_minor >= 0 AND paid_minor + credited_minor <= total_minor"


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        # SQLite adds a column with its CHECK in place; no table rebuild, so existing rows and
        # the tables that reference invoices are untouched.
        op.execute(
            "ALTER TABLE invoices ADD COLUMN credited_minor BIGINT NOT NULL DEFAULT 0 "
            f"CONSTRAINT ck_invoices_settled_within_total CHECK ({_SETTLED})"
        )
    else:
        op.add_column(
            "invoices",
            sa.Column("credited_minor", sa.BigInteger(), nullable=False, server_default="0"),
        )
        op.create_check_constraint("settled_within_total", "invoices", _SETTLED)

    op.create_table(
        "credit_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("note_date", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("applied_minor", sa.BigInteger(), nullable=False),
        sa.Column("to_credit_minor", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reverse_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_credit_notes_amount_positive")),
        sa.CheckConstraint(
            "applied_minor >= 0 AND to_credit_minor >= 0",
            name=op.f("ck_credit_notes_parts_positive"),
        ),
        sa.CheckConstraint(
            "amount_minor = applied_minor + to_credit_minor", name=op.f("ck_credit_notes_parts_sum")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_credit_notes_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_credit_notes_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_notes")),
        sa.UniqueConstraint("number", name=op.f("uq_credit_notes_number")),
        sa.UniqueConstraint("request_id", name=op.f("uq_credit_notes_request_id")),
    )
    op.create_index(op.f("ix_credit_notes_invoice_id"), "credit_notes", ["invoice_id"])
    op.create_index(op.f("ix_credit_notes_patient_id"), "credit_notes", ["patient_id"])

    op.create_table(
        "credit_transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_patient_id", sa.Integer(), nullable=False),
        sa.Column("to_patient_id", sa.Integer(), nullable=False),
        sa.Column("transfer_date", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reverse_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_credit_transfers_amount_positive")),
        sa.CheckConstraint(
            "from_patient_id <> to_patient_id", name=op.f("ck_credit_transfers_two_patients")
        ),
        sa.ForeignKeyConstraint(
            ["from_patient_id"],
            ["patients.id"],
            name=op.f("fk_credit_transfers_from_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["to_patient_id"],
            ["patients.id"],
            name=op.f("fk_credit_transfers_to_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_transfers")),
        sa.UniqueConstraint("request_id", name=op.f("uq_credit_transfers_request_id")),
    )
    op.create_index(
        op.f("ix_credit_transfers_from_patient_id"), "credit_transfers", ["from_patient_id"]
    )
    op.create_index(
        op.f("ix_credit_transfers_to_patient_id"), "credit_transfers", ["to_patient_id"]
    )

    counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.BigInteger))
    op.bulk_insert(counters, [{"name": "credit_note_number", "value": 0}])

    # The audit log viewer lists entries by time and filters them by action.
    op.create_index("ix_audit_log_at", "audit_log", ["at", "id"])
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    if op.get_context().dialect.name == "postgresql":
        # Row triggers do not fire on TRUNCATE; refuse it too.
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        # invoices.credited_minor carries a CHECK that SQLite cannot drop in place, and rebuilding
        # the invoices table under its references is not worth the risk: restore a backup instead.
        raise NotImplementedError(
            "Schema 0002 cannot be downgraded on SQLite; restore a backup taken before upgrading."
        )
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.drop_index("ix_audit_log_action", "audit_log")
    op.drop_index("ix_audit_log_at", "audit_log")
    op.execute("DELETE FROM counters WHERE name = 'credit_note_number'")
    op.drop_table("credit_transfers")
    op.drop_table("credit_notes")
    with op.batch_alter_table("invoices") as batch_op:
        if op.get_context().dialect.name != "sqlite":
            batch_op.drop_constraint("ck_invoices_settled_within_total", type_="check")
        batch_op.drop_column("credited_minor")
