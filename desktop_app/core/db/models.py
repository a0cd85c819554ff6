"""SQLAlchemy 2 typed models of the ledger.

Money columns hold integer minor units (``BigInteger``): never ``Numeric``, which SQLite reads back
through float. Posted records are never edited in place: a reversal or removal is stamped on the
record (``reversed_at``, ``removed_at``), and every change is written to the append-only audit log.

Cached figures (``Patient.credit_minor``, ``Patient.outstanding_minor``, ``Invoice.paid_minor``) are
updated in the same transaction as the money movement and re-checked by ``verify()`` (invariant I7).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    false,
    func,
    text,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ..domain.patient_details import patient_search_key

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so migrations name constraints the same way."""

    metadata = MetaData(naming_convention=NAMING)


class Setting(Base):
    """A clinic-wide setting (allocation mode, currency, clinic name)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Counter(Base):
    """A sequence the clinic numbers things with (invoice numbers), locked while it is advanced."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


def _search_key(context: DefaultExecutionContext) -> str:
    """A new patient's search key, from the names being inserted (ORM or Core ``insert()``)."""
    row = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return patient_search_key(
        row["first_name"],
        row["last_name"],
        preferred_name=row.get("preferred_name"),
        email=row.get("email"),
        mobile=row.get("mobile"),
        phone=row.get("phone"),
        date_of_birth=row.get("date_of_birth"),
    )


class Patient(Base):
    """A patient and their account: cached credit and outstanding balance."""

    __tablename__ = "patients"
    __table_args__ = (
        CheckConstraint("credit_minor >= 0", name="credit_not_negative"),
        CheckConstraint("outstanding_minor >= 0", name="outstanding_not_negative"),
        Index("ix_patients_name", "last_name", "first_name", "id"),
        Index(
            "ix_patients_lower_name",
            func.lower(text("last_name")),
            func.lower(text("first_name")),
            "id",
        ),
        # Searching as you type (migration 0012): the names in the list's order with the search
        # key beside them, so a search with a limit reads the index alone and stops early.
        Index(
            "ix_patients_search",
            func.lower(text("last_name")),
            func.lower(text("first_name")),
            "id",
            "search_key",
            sqlite_where=text("archived_at IS NULL"),
            postgresql_where=text("archived_at IS NULL"),
        ),
        Index("ix_patients_credit", "credit_minor", "id"),
        Index("ix_patients_outstanding", "outstanding_minor", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_name: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    credit_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    outstanding_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    #: The patient's id in the clinic's previous system (set by a CSV import; links its files).
    external_id: Mapped[str | None] = mapped_column(String(100), index=True, unique=True)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    #: The practitioner who sees this patient (migration 0007): they may read its billing.
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    #: Both names as searches compare them (``domain.text.patient_search_key``: no case, accents
    #: or punctuation), filled on every insert (migration 0009 filled it for older patients).
    search_key: Mapped[str] = mapped_column(Text, default=_search_key, server_default="")
    # The details the front desk keeps (migration 0011; ``domain.patient_details``), each
    # optional: None when not given.
    title: Mapped[str | None] = mapped_column(String(40))
    preferred_name: Mapped[str | None] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    mobile: Mapped[str | None] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    postcode: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    notes: Mapped[str | None] = mapped_column(Text)
    concession: Mapped[str | None] = mapped_column(String(60))
    invoice_to: Mapped[str | None] = mapped_column(Text)
    invoice_extra: Mapped[str | None] = mapped_column(Text)
    #: When the patient was archived (None: active): out of lists and searches, history kept.
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    archive_reason: Mapped[str | None] = mapped_column(Text)
    #: The patient this one was merged into (its records moved there; archived since).
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)


class Payer(Base):
    """A third party that pays patients' invoices: a health fund, an insurer, a workers'
    compensation insurer, a government scheme, an employer (migration 0016).

    Its ``id`` is its account's: a row of ``patients`` that holds the payer's credit and
    outstanding balance, and owns the invoices billed to the payer and its remittances, so the
    ledger keeps a payer's account exactly as a patient's. Lists of patients leave these rows
    out (``id NOT IN (SELECT id FROM payers)``)."""

    __tablename__ = "payers"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('health fund', 'insurer', 'workers compensation', 'government scheme', "
            "'employer', 'other')",
            name="kind_known",
        ),
        Index("ix_payers_name", func.lower(text("name")), unique=True),
    )

    id: Mapped[int] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(24))
    #: What the payer calls a claim ("Claim number", "Approval number", ...).
    reference_label: Mapped[str] = mapped_column(String(60))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Membership(Base):
    """A patient's payer: member or claim number, the dates it is valid, and whether the
    patient's new invoices go to the payer by default. A removed one (``removed_at``) is kept."""

    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from",
            name="dates_ordered",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    payer_id: Mapped[int] = mapped_column(ForeignKey("payers.id"), index=True)
    member_number: Mapped[str | None] = mapped_column(String(60))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    default_for_invoices: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BillableItem(Base):
    """A service or product of the clinic's catalogue (migration 0014): a code staff type, a name,
    a price and a tax rate. Archived items stay on the invoices that used them and are offered on
    no new one. An invoice line copies what it takes from the item, so a new price never changes
    an issued invoice."""

    __tablename__ = "billable_items"
    __table_args__ = (
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint("tax_rate_bp >= 0 AND tax_rate_bp <= 10000", name="tax_rate_range"),
        CheckConstraint("kind IN ('service', 'product')", name="kind_known"),
        # Codes are told apart regardless of case: "IC" and "ic" are one code.
        Index("ix_billable_items_code", func.lower(text("code")), unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8), default="service")
    price_minor: Mapped[int] = mapped_column(BigInteger)
    tax_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: When it was archived (None: offered on new invoices).
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BillableItemPrice(Base):
    """An item's price for patients of one concession type (``Patient.concession``)."""

    __tablename__ = "billable_item_prices"
    __table_args__ = (CheckConstraint("price_minor >= 0", name="price_not_negative"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("billable_items.id"), primary_key=True)
    concession: Mapped[str] = mapped_column(String(60), primary_key=True)
    price_minor: Mapped[int] = mapped_column(BigInteger)


class Invoice(Base):
    """An invoice to one patient: a draft (no number, in no balance) until it is issued.

    ``paid_minor`` caches the sum of its live applications; ``credited_minor`` the part of its live
    credit notes that reduced what is owed. The balance is ``total - paid - credited``.
    ``tax_inclusive`` is the basis its lines were priced on (the clinic's setting when it was
    made): whether each line's amount includes its tax or has it added on top.
    """

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("total_minor > 0", name="total_positive"),
        CheckConstraint("paid_minor >= 0 AND paid_minor <= total_minor", name="paid_within_total"),
        CheckConstraint("status IN ('draft', 'open', 'paid', 'void')", name="status_known"),
        Index("ix_invoices_patient_open", "patient_id", "status", "issue_date", "number"),
        # The clinic-wide invoice list's orders (migration 0004).
        Index("ix_invoices_issue_date", "issue_date", "number"),
        Index("ix_invoices_status_number", "status", "number"),
        Index("ix_invoices_status_issue_date", "status", "issue_date", "number"),
        Index("ix_invoices_status_owed", "status", "owed_minor", "number"),
        # Counting overdue invoices (open, due before today; migration 0009).
        Index("ix_invoices_status_due", "status", "due_date"),
        CheckConstraint(
            "credited_minor >= 0 AND paid_minor + credited_minor <= total_minor",
            name="settled_within_total",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Sequential across the clinic, given when issued (None while a draft).
    number: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(8), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    void_reason: Mapped[str | None] = mapped_column(Text)
    credited_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: ``total - paid - credited``, computed by the database (the balance of an open invoice).
    owed_minor: Mapped[int] = mapped_column(
        BigInteger, Computed("total_minor - paid_minor - credited_minor")
    )
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    # Migration 0014: the pricing basis, who provided the service, and when.
    tax_inclusive: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    service_date: Mapped[date | None] = mapped_column(Date)
    # Migration 0016: an invoice billed to a payer. ``patient_id`` is then the payer's account
    # (its id is the payer's) and ``for_patient_id`` the patient the service was for.
    for_patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    claim_reference: Mapped[str | None] = mapped_column(String(60))
    #: The payer's invoice this patient's gap invoice was split from (split billing).
    split_with_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)


class InvoiceLine(Base):
    """One line: unit price x quantity (in hundredths: 50 is half an hour), less its discount,
    and its tax (``tax_rate_bp``: 1/100 of a percent), each rounded half up to the minor unit
    (``domain.invoicing``). ``net_minor`` is the line without tax and ``amount_minor`` with it:
    with tax-inclusive prices the discounted price includes the tax, otherwise the tax is added
    on top. ``item_id`` and ``item_code`` record the catalogue item it was taken from."""

    __tablename__ = "invoice_lines"
    __table_args__ = (
        CheckConstraint("quantity_centi > 0", name="quantity_positive"),
        CheckConstraint("unit_price_minor >= 0", name="price_not_negative"),
        CheckConstraint("tax_rate_bp >= 0 AND tax_rate_bp <= 10000", name="tax_rate_range"),
        CheckConstraint("amount_minor = net_minor + tax_minor", name="amount_sum"),
        CheckConstraint("discount_minor >= 0 AND net_minor >= 0", name="discount_within_line"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    quantity_centi: Mapped[int] = mapped_column(Integer)
    tax_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    # Migration 0014.
    net_minor: Mapped[int] = mapped_column(BigInteger, server_default="0")
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: The discount as typed, when a percentage (hundredths of a percent); None for an amount.
    discount_bp: Mapped[int | None] = mapped_column(Integer)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("billable_items.id"))
    item_code: Mapped[str | None] = mapped_column(String(20))


class PaymentType(Base):
    """A way money arrives or leaves: Cash, EFTPOS, Credit card, ... (a clinic setting)."""

    __tablename__ = "payment_types"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: The type's own allocation mode (migration 0016); None: the clinic's.
    allocation_mode: Mapped[str | None] = mapped_column(String(16))


class Payment(Base):
    """Money received from a patient (``kind='payment'``, total >= 0) or returned to them
    (``kind='refund'``, total < 0).

    ``request_id`` is the save request's idempotency key: one payment per key, however often Save is
    pressed or retried (invariant I5).
    """

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'payment' AND total_minor >= 0) OR (kind = 'refund' AND total_minor < 0)",
            name="kind_sign",
        ),
        Index("ix_payments_patient", "patient_id", "payment_date", "id"),
        # The few reversed payments, for the accounting export's "changed since" (migration 0006).
        Index(
            "ix_payments_reversed",
            "id",
            sqlite_where=text("reversed_at IS NOT NULL"),
            postgresql_where=text("reversed_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    kind: Mapped[str] = mapped_column(String(10))
    payment_date: Mapped[date] = mapped_column(Date)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    request_id: Mapped[str] = mapped_column(String(200), unique=True)
    #: SHA-256 of the save request (idempotency.py); None for records saved before 0008.
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reversed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reverse_reason: Mapped[str | None] = mapped_column(Text)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    #: A payer's remittance reference, as the payer prints it (migration 0016).
    reference: Mapped[str | None] = mapped_column(String(100))


class PaymentSource(Base):
    """One payment type's share of a payment (negative for a refund)."""

    __tablename__ = "payment_sources"
    __table_args__ = (CheckConstraint("amount_minor <> 0", name="amount_nonzero"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    payment_type_id: Mapped[int] = mapped_column(ForeignKey("payment_types.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)


class Application(Base):
    """An amount applied to an invoice by a payment: from the payment's money, from credit, or both.

    A removed application (``removed_at`` set) no longer counts: the invoice reopens and the amount
    returns to the patient's credit.
    """

    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("from_money_minor >= 0 AND from_credit_minor >= 0", name="parts_positive"),
        CheckConstraint("amount_minor = from_money_minor + from_credit_minor", name="parts_sum"),
        # The few removed applications, for the accounting export (migration 0006).
        Index(
            "ix_applications_removed",
            "id",
            sqlite_where=text("removed_at IS NOT NULL"),
            postgresql_where=text("removed_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    from_money_minor: Mapped[int] = mapped_column(BigInteger)
    from_credit_minor: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    removed_reason: Mapped[str | None] = mapped_column(Text)


class AuditEntry(Base):
    """One change: who, when, what, before and after (JSON). The database refuses edits/deletes."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_entity", "entity", "entity_id"),
        Index("ix_audit_log_at", "at", "id"),
        Index("ix_audit_log_action", "action"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)


class CreditNote(Base):
    """All or part of an invoice taken back.

    ``applied_minor`` reduces what the invoice still owes; ``to_credit_minor`` (the part the patient
    had already paid) becomes account credit. A reversed credit note (``reversed_at``) no longer
    counts.
    """

    __tablename__ = "credit_notes"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("applied_minor >= 0 AND to_credit_minor >= 0", name="parts_positive"),
        CheckConstraint("amount_minor = applied_minor + to_credit_minor", name="parts_sum"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, unique=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    note_date: Mapped[date] = mapped_column(Date)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    applied_minor: Mapped[int] = mapped_column(BigInteger)
    to_credit_minor: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str] = mapped_column(String(200), unique=True)
    #: SHA-256 of the save request (idempotency.py); None for records saved before 0008.
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reversed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reverse_reason: Mapped[str | None] = mapped_column(Text)


class CreditTransfer(Base):
    """Account credit moved from one patient to another (a family account); both sides see it."""

    __tablename__ = "credit_transfers"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("from_patient_id <> to_patient_id", name="two_patients"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    to_patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    transfer_date: Mapped[date] = mapped_column(Date)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str] = mapped_column(String(200), unique=True)
    #: SHA-256 of the save request (idempotency.py); None for records saved before 0008.
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reversed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reverse_reason: Mapped[str | None] = mapped_column(Text)


class ImportBatch(Base):
    """One CSV file imported (patients, invoices, payments or opening credit balances).

    The file's SHA-256 recognises the same file imported again (nothing is changed the second
    time); patients, invoices and payments it created carry its id.
    """

    __tablename__ = "import_batches"
    __table_args__ = (Index("ix_import_batches_file", "kind", "sha256", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    file_name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))


class AccountingExport(Base):
    """One accounting export (Xero files written to a folder): when, by whom, up to which day."""

    __tablename__ = "accounting_exports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(String(16))
    through_date: Mapped[date] = mapped_column(Date)
    folder: Mapped[str] = mapped_column(Text)


class AccountingExportItem(Base):
    """A record an accounting export included, in the state it was exported in.

    ``kind`` is ``invoice``, ``credit_note``, ``payment``, ``application`` or ``transfer``;
    ``state`` is live (``issued``, ``received``, ``applied``, ``moved``) or undone (``void``,
    ``reversed``, ``removed``). A record exported live and undone since gets a second row when the
    change is exported: that is how the next export knows what changed.
    """

    __tablename__ = "accounting_export_items"
    __table_args__ = (Index("ix_accounting_export_items_record", "kind", "record_id", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    export_id: Mapped[int] = mapped_column(ForeignKey("accounting_exports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(10))
    amount_minor: Mapped[int] = mapped_column(BigInteger)


class XeroLink(Base):
    """One document the Xero sync keeps in Xero, and what became of it.

    ``kind``/``record_id``/``part`` name it (see :mod:`desktop_app.core.xero.desired`): a
    ``contact`` (a patient), an ``invoice``, a ``credit_note``, ``money`` (a payment's money on
    an invoice, per payment type), a ``prepay`` (money held as credit), a ``transfer_in``, a
    ``cn_apply`` (a credit note's own allocation) or a piece of a use of credit (``alloc``,
    ``refund``, ``transfer_out``: ``part`` names the document it draws from). ``state`` is
    ``pending`` (a call under way: ``call_key`` is its Idempotency-Key, sent again unchanged
    after an interruption), ``sent``, ``refused`` (Xero's message; tried again next sync) or
    ``removed`` (deleted or voided in Xero).
    """

    __tablename__ = "xero_links"
    __table_args__ = (
        Index("ix_xero_links_record", "kind", "record_id", "part", unique=True),
        CheckConstraint("state IN ('pending', 'sent', 'refused', 'removed')", name="state_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[int] = mapped_column(BigInteger)
    part: Mapped[str] = mapped_column(String(120))
    patient_id: Mapped[int] = mapped_column(Integer)
    xero_id: Mapped[str | None] = mapped_column(String(36))
    xero_other_id: Mapped[str | None] = mapped_column(String(36))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(10))
    call_key: Mapped[str | None] = mapped_column(String(64))
    #: The Idempotency-Key of the last write Xero did for it: the next write's key is made
    #: from it, so a write repeated later (the same change made again) is never taken for it.
    last_key: Mapped[str | None] = mapped_column(String(64))
    #: SHA-256 of the document as last sent (a contact or invoice changed since is sent again).
    content: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Text)
    synced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class XeroSyncRun(Base):
    """One sync to Xero: when, by whom, how many calls, documents sent and refused, and the
    differences the read-back found (``summary`` lists them, one per line)."""

    __tablename__ = "xero_sync_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    calls: Mapped[int] = mapped_column(Integer)
    sent: Mapped[int] = mapped_column(Integer)
    refused: Mapped[int] = mapped_column(Integer)
    differences: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)


class StatementRun(Base):
    """A statement run: statements for one period to everyone owing money or holding credit
    (migration 0017). One run per period: starting it again resumes it."""

    __tablename__ = "statement_runs"
    __table_args__ = (Index("ix_statement_runs_period", "period_start", "period_end", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StatementRunItem(Base):
    """One account of a statement run: its figures when the run was listed, where its
    statement goes (an email address, or none: posted), and whether it is done."""

    __tablename__ = "statement_run_items"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'emailed', 'post')", name="state_known"),
        Index("ix_statement_run_items_account", "run_id", "account_id", unique=True),
        Index("ix_statement_run_items_state", "run_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("statement_runs.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    owed_minor: Mapped[int] = mapped_column(BigInteger)
    credit_minor: Mapped[int] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(254))
    state: Mapped[str] = mapped_column(String(8))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OutboxMessage(Base):
    """One email, kept whole (its bytes, so a retry sends exactly the same message under the
    same Message-ID) with its status: queued, sending, sent, failed (with the server's reason,
    and when it is tried again; none when it is not) or unconfirmed (the server took the message
    but never confirmed it: it may have been delivered, so it is not sent again by itself)."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'failed', 'unconfirmed', 'cancelled')",
            name="status_known",
        ),
        CheckConstraint(
            "kind IN ('invoice', 'receipt', 'statement', 'reminder', 'credit', 'test')",
            name="kind_known",
        ),
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_account", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(12))
    #: The patient's or payer's account the message is about (None: a test email).
    account_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    recipient: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    message: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: The sending pass that holds the message while it is ``sending`` (migration 0018).
    claim_token: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)


class ReminderSent(Base):
    """An overdue reminder queued for an invoice (the next is due an interval after it)."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_invoice", "invoice_id", "sent_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))


class Staff(Base):
    """A staff account: sign-in name, role, the Argon2 hash of its password (never the password),
    and the count of wrong passwords in a row that slows the next try."""

    __tablename__ = "staff"
    __table_args__ = (
        CheckConstraint(
            "role IN ('administrator', 'bookkeeper', 'receptionist', 'practitioner')",
            name="role_known",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    wait_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
