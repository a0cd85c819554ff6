"""The service catalogue, drafts, discounts, decimal quantities and tax-inclusive prices.

* ``billable_items`` and ``billable_item_prices`` (concession prices): the catalogue.
* ``invoices``: ``tax_inclusive`` (the pricing basis a line's amount was made with; existing
  invoices added their tax on top), ``practitioner_id``, ``service_date``; the status ``draft``
  and no number while a draft.
* ``invoice_lines``: ``quantity`` becomes ``quantity_centi`` (hundredths: existing quantities
  times 100), ``net_minor`` (the line without tax: existing lines' amount less their tax),
  ``discount_minor`` and ``discount_bp``, and the catalogue item it came from (``item_id``,
  ``item_code``); the line's check becomes ``amount = net + tax``.

On SQLite the invoices and lines are not rebuilt (a 1M-invoice clinic would copy every row
under the references of its payments and credit notes): the columns are added in place, and the
two tables' CHECK constraints and ``number``'s NOT NULL are changed in their stored definitions,
the procedure SQLite documents for changing constraints that existing rows already satisfy
("Making Other Kinds Of Table Schema Changes", sqlite.org/lang_altertable.html). Each change
is checked to apply exactly once, so a definition that differs is refused, not half changed.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_catalogue_drafts"
down_revision = "0013_patient_search_trigrams"

_STATUS_OLD = "CHECK (status IN ('open', 'paid', 'void'))"
_STATUS_NEW = "CHECK (status IN ('draft', 'open', 'paid', 'void'))"
_AMOUNT_OLD = "CHECK (amount_minor = unit_price_minor * quantity + tax_minor)"
_AMOUNT_NEW = (
    "CHECK (amount_minor = net_minor + tax_minor), CONSTRAINT "
    "ck_invoice_lines_discount_within_line CHECK (discount_minor >= 0 AND net_minor >= 0)"
)


def _catalogue() -> None:
    op.create_table(
        "billable_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("tax_rate_bp", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("price_minor >= 0", name="ck_billable_items_price_not_negative"),
        sa.CheckConstraint(
            "tax_rate_bp >= 0 AND tax_rate_bp <= 10000", name="ck_billable_items_tax_rate_range"
        ),
        sa.CheckConstraint("kind IN ('service', 'product')", name="ck_billable_items_kind_known"),
        sa.PrimaryKeyConstraint("id", name="pk_billable_items"),
    )
    op.create_index(
        "ix_billable_items_code", "billable_items", [sa.text("lower(code)")], unique=True
    )
    op.create_table(
        "billable_item_prices",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("concession", sa.String(60), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("price_minor >= 0", name="ck_billable_item_prices_price_not_negative"),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["billable_items.id"],
            name="fk_billable_item_prices_item_id_billable_items",
        ),
        sa.PrimaryKeyConstraint("item_id", "concession", name="pk_billable_item_prices"),
    )


def _rewrite_sqlite_definitions(connection: sa.Connection) -> None:
    """Change the stored CREATE TABLE texts of ``invoices`` and ``invoice_lines`` in place."""
    changes = {
        "invoices": [("number BIGINT NOT NULL,", "number BIGINT,"), (_STATUS_OLD, _STATUS_NEW)],
        "invoice_lines": [(_AMOUNT_OLD, _AMOUNT_NEW)],
    }
    version = connection.exec_driver_sql("PRAGMA schema_version").scalar_one()
    connection.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        for table, edits in changes.items():
            sql = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
            ).scalar_one()
            for old, new in edits:
                if sql.count(old) != 1:
                    raise RuntimeError(
                        f"The table {table} is not as Clinic Ledger made it ({old!r} is not in "
                        "its definition once); the database was not changed."
                    )
                sql = sql.replace(old, new)
            connection.exec_driver_sql(
                "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql, table)
            )
        connection.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        connection.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    connection = op.get_bind()
    sqlite = connection.dialect.name == "sqlite"
    _catalogue()
    op.add_column(
        "invoices",
        sa.Column("tax_inclusive", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("invoices", sa.Column("service_date", sa.Date(), nullable=True))
    for column in ("net_minor", "discount_minor"):
        op.add_column(
            "invoice_lines", sa.Column(column, sa.BigInteger(), nullable=False, server_default="0")
        )
    op.add_column("invoice_lines", sa.Column("discount_bp", sa.Integer(), nullable=True))
    op.add_column("invoice_lines", sa.Column("item_code", sa.String(20), nullable=True))
    if sqlite:  # a column with its reference, in place (its default is NULL)
        op.execute(
            "ALTER TABLE invoices ADD COLUMN practitioner_id INTEGER "
            "CONSTRAINT fk_invoices_practitioner_id_staff REFERENCES staff (id)"
        )
        op.execute(
            "ALTER TABLE invoice_lines ADD COLUMN item_id INTEGER "
            "CONSTRAINT fk_invoice_lines_item_id_billable_items REFERENCES billable_items (id)"
        )
    else:
        op.add_column("invoices", sa.Column("practitioner_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_invoices_practitioner_id_staff", "invoices", "staff", ["practitioner_id"], ["id"]
        )
        op.add_column("invoice_lines", sa.Column("item_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_invoice_lines_item_id_billable_items",
            "invoice_lines",
            "billable_items",
            ["item_id"],
            ["id"],
        )
    # Every existing line added its tax on top: its net is its amount less its tax.
    op.execute("UPDATE invoice_lines SET net_minor = amount_minor - tax_minor")
    if sqlite:
        _rewrite_sqlite_definitions(connection)
    else:
        op.drop_constraint(op.f("ck_invoices_status_known"), "invoices", type_="check")
        op.create_check_constraint("status_known", "invoices", _STATUS_NEW[7:-1])
        op.alter_column("invoices", "number", existing_type=sa.BigInteger(), nullable=True)
        op.drop_constraint(op.f("ck_invoice_lines_amount_sum"), "invoice_lines", type_="check")
        op.create_check_constraint(
            "amount_sum", "invoice_lines", "amount_minor = net_minor + tax_minor"
        )
        op.create_check_constraint(
            "discount_within_line", "invoice_lines", "discount_minor >= 0 AND net_minor >= 0"
        )
    op.execute("UPDATE invoice_lines SET quantity = quantity * 100")
    op.alter_column("invoice_lines", "quantity", new_column_name="quantity_centi")


def downgrade() -> None:
    raise NotImplementedError(
        "Schema 0014 cannot be downgraded: restore a backup taken before upgrading."
    )
