"""Email: the outbox, statement runs and overdue reminders.

* ``outbox``: every email the clinic sends, kept whole with its status (queued, sending, sent,
  failed, unconfirmed, cancelled), attempts, the next try and the server's last reason.
* ``statement_runs`` and ``statement_run_items``: one run per period, with each account it
  covers, where its statement goes (emailed or posted) and whether it is done, so a run that
  stopped resumes where it was and never sends anyone's statement twice.
* ``reminders``: each overdue reminder queued for an invoice.

The SMTP server, templates and reminder settings are rows of ``settings``; the password is in
the operating system's keychain.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_email"
down_revision = "0016_payers"


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("recipient_name", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("attachment_name", sa.String(200), nullable=True),
        sa.Column("message_id", sa.String(250), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'failed', 'unconfirmed', 'cancelled')",
            name="ck_outbox_status_known",
        ),
        sa.CheckConstraint(
            "kind IN ('invoice', 'receipt', 'statement', 'reminder', 'credit', 'test')",
            name="ck_outbox_kind_known",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["patients.id"], name="fk_outbox_account_id_patients"
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name="fk_outbox_invoice_id_invoices"
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name="fk_outbox_payment_id_payments"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("message_id", name="uq_outbox_message_id"),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_account", "outbox", ["account_id", "id"])
    op.create_index("ix_outbox_invoice_id", "outbox", ["invoice_id"])
    op.create_table(
        "statement_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_statement_runs"),
    )
    op.create_index(
        "ix_statement_runs_period", "statement_runs", ["period_start", "period_end"], unique=True
    )
    op.create_table(
        "statement_run_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("owed_minor", sa.BigInteger(), nullable=False),
        sa.Column("credit_minor", sa.BigInteger(), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'emailed', 'post')", name="ck_statement_run_items_state_known"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["statement_runs.id"], name="fk_statement_run_items_run_id_statement_runs"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["patients.id"], name="fk_statement_run_items_account_id_patients"
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name="fk_statement_run_items_outbox_id_outbox"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_statement_run_items"),
    )
    op.create_index(
        "ix_statement_run_items_account",
        "statement_run_items",
        ["run_id", "account_id"],
        unique=True,
    )
    op.create_index(
        "ix_statement_run_items_state", "statement_run_items", ["run_id", "state", "id"]
    )
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name="fk_reminders_invoice_id_invoices"
        ),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name="fk_reminders_outbox_id_outbox"),
        sa.PrimaryKeyConstraint("id", name="pk_reminders"),
    )
    op.create_index("ix_reminders_invoice", "reminders", ["invoice_id", "sent_at"])


def downgrade() -> None:
    op.drop_table("reminders")
    op.drop_table("statement_run_items")
    op.drop_table("statement_runs")
    op.drop_table("outbox")
