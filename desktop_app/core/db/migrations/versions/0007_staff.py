"""Staff accounts (sign-in name, role, Argon2 password hash, wrong-password count) and the
practitioner each patient sees.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_staff"
down_revision = "0006_accounting_export"

_FK = "fk_patients_practitioner_id_staff"


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("wait_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('administrator', 'bookkeeper', 'receptionist', 'practitioner')",
            name=op.f("ck_staff_role_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_username")),
    )
    if op.get_context().dialect.name == "sqlite":
        # A nullable column with its reference, added in place (no table rebuild).
        op.execute(
            f"ALTER TABLE patients ADD COLUMN practitioner_id INTEGER "
            f"CONSTRAINT {_FK} REFERENCES staff (id)"
        )
    else:
        op.add_column("patients", sa.Column("practitioner_id", sa.Integer(), nullable=True))
        op.create_foreign_key(_FK, "patients", "staff", ["practitioner_id"], ["id"])
    op.create_index("ix_patients_practitioner_id", "patients", ["practitioner_id"])


def downgrade() -> None:
    op.drop_index("ix_patients_practitioner_id", "patients")
    if op.get_context().dialect.name != "sqlite":
        op.drop_constraint(_FK, "patients", type_="foreignkey")
    with op.batch_alter_table("patients") as batch_op:
        batch_op.drop_column("practitioner_id")
    op.drop_table("staff")
