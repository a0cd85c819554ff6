"""Third-party payers: health funds, insurers, workers' compensation, schemes and employers.

* ``payers``: a payer's details. Its ``id`` is the id of its account, a row of ``patients``:
  a payer's invoices, remittances, credit and outstanding balance are kept exactly as a
  patient's are, so every rule of the ledger holds for payers as for patients.
* ``memberships``: a patient's payer, with member or claim number, the dates it is valid and
  whether the patient's new invoices go to that payer by default.
* ``invoices``: ``for_patient_id`` (the patient an invoice billed to a payer is for),
  ``claim_reference``, and ``split_with_id`` (the payer's invoice a patient's gap invoice was
  split from).
* ``payments``: ``reference`` (a remittance's reference, as the payer prints it).
* ``payment_types``: ``allocation_mode`` (the type's own allocation mode; NULL: the clinic's).

New columns are nullable and added in place (no table is rebuilt).
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_payers"
down_revision = "0015_xero_links"

_REFERENCES = (
    ("invoices", "for_patient_id", "patients"),
    ("invoices", "split_with_id", "invoices"),
)


def upgrade() -> None:
    op.create_table(
        "payers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("reference_label", sa.String(60), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("phone", sa.String(40), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('health fund', 'insurer', 'workers compensation', 'government scheme', "
            "'employer', 'other')",
            name="ck_payers_kind_known",
        ),
        sa.ForeignKeyConstraint(["id"], ["patients.id"], name="fk_payers_id_patients"),
        sa.PrimaryKeyConstraint("id", name="pk_payers"),
    )
    op.create_index("ix_payers_name", "payers", [sa.text("lower(name)")], unique=True)
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("payer_id", sa.Integer(), nullable=False),
        sa.Column("member_number", sa.String(60), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("default_for_invoices", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from",
            name="ck_memberships_dates_ordered",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name="fk_memberships_patient_id_patients"
        ),
        sa.ForeignKeyConstraint(["payer_id"], ["payers.id"], name="fk_memberships_payer_id_payers"),
        sa.PrimaryKeyConstraint("id", name="pk_memberships"),
    )
    op.create_index("ix_memberships_patient_id", "memberships", ["patient_id"])
    op.create_index("ix_memberships_payer_id", "memberships", ["payer_id"])
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, column, target in _REFERENCES:
        name = f"fk_{table}_{column}_{target}"
        if sqlite:  # a nullable column with its reference, in place (its default is NULL)
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN {column} INTEGER "
                f"CONSTRAINT {name} REFERENCES {target} (id)"
            )
        else:
            op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
            op.create_foreign_key(name, table, target, [column], ["id"])
    op.create_index("ix_invoices_for_patient_id", "invoices", ["for_patient_id"])
    op.create_index("ix_invoices_split_with_id", "invoices", ["split_with_id"])
    op.add_column("invoices", sa.Column("claim_reference", sa.String(60), nullable=True))
    op.add_column("payments", sa.Column("reference", sa.String(100), nullable=True))
    op.add_column("payment_types", sa.Column("allocation_mode", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payment_types") as batch_op:
        batch_op.drop_column("allocation_mode")
    with op.batch_alter_table("payments") as batch_op:
        batch_op.drop_column("reference")
    op.drop_index("ix_invoices_split_with_id", "invoices")
    op.drop_index("ix_invoices_for_patient_id", "invoices")
    with op.batch_alter_table("invoices") as batch_op:
        batch_op.drop_column("claim_reference")
        batch_op.drop_column("split_with_id")
        batch_op.drop_column("for_patient_id")
    op.drop_table("memberships")
    op.drop_table("payers")
