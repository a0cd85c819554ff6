"""verify() finds each kind of damage, described in plain words, and is silent on a sound ledger."""

import sqlite3
from datetime import date

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from desktop_app.core import BillingError, Clinic, Refusal
from desktop_app.core.db.engine import make_engine

# SQLite in the quick run (-m "not slow"); PostgreSQL as well in the full run.
SQLITE_QUICK = pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)], indirect=True
)


@pytest.fixture
def books(clinic: Clinic):
    """Ada prepaid $100, paid invoice #1 ($50) from credit; Grace owes invoice #2 ($40)."""
    ada = clinic.add_patient("Ada", "Lovelace")
    grace = clinic.add_patient("Grace", "Hopper")
    clinic.record_payment(clinic.preview_payment(ada, sources={"Cash": "100"}), "prepay")
    paid = clinic.create_invoice(ada, [("Consult", "50", 1)], issue_date=date(2026, 11, 2))
    clinic.record_payment(clinic.preview_payment(ada, source_invoice=paid), "credit")
    owed = clinic.create_invoice(grace, [("Consult", "40", 1)], issue_date=date(2026, 11, 2))
    assert clinic.verify() == []
    return clinic, {"ada": ada, "grace": grace, "paid": paid, "owed": owed}


def tamper(clinic: Clinic, sql: str, **params) -> None:
    with clinic.engine.begin() as conn:
        conn.execute(text(sql), params)


@SQLITE_QUICK
@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "UPDATE patients SET credit_minor = credit_minor + 1 WHERE id = :ada",
            [
                "I1 Patient 1 (Ada Lovelace): received $100.00 less refunded $0.00 is $100.00, but "
                "applied $50.00 plus account credit $50.01 is $100.01.",
                "I7 Patient 1 (Ada Lovelace): stored account credit $50.01 differs from the "
                "records "
                "($50.00).",
            ],
        ),
        (
            "UPDATE payments SET reversed_at = CURRENT_TIMESTAMP WHERE request_id = 'prepay'",
            ["I2 Patient 1 (Ada Lovelace): account credit is negative (-$50.00)."],
        ),
        (
            "UPDATE invoices SET status = 'paid' WHERE id = :owed",
            ["I3 Invoice #2: status is paid but its balance $40.00 makes it open."],
        ),
        (
            "UPDATE invoices SET paid_minor = 4000, status = 'open' WHERE id = :paid",
            [
                "I3 Invoice #1: status is open but its balance $0.00 makes it paid.",
                "I7 Invoice #1: stored paid amount $40.00 differs from its applications ($50.00).",
            ],
        ),
        (
            "UPDATE patients SET outstanding_minor = 1 WHERE id = :grace",
            [
                "I7 Patient 2 (Grace Hopper): stored outstanding balance $0.01 differs from "
                "the open "
                "invoices ($40.00)."
            ],
        ),
        (
            "UPDATE invoice_lines SET unit_price_minor = 4500, net_minor = 4500, "
            "amount_minor = 4500 WHERE invoice_id = :paid",
            ["I7 Invoice #1: total $50.00 differs from its lines ($45.00)."],
        ),
        (
            "UPDATE applications SET invoice_id = :owed",
            ["I4 Application 1: payment 2 of patient 1 is applied to invoice #2 of patient 2."],
        ),
        (
            "UPDATE payment_sources SET amount_minor = 9000",
            ["I6 Payment 1: total $100.00 but its sources add up to $90.00."],
        ),
        (
            "UPDATE applications SET from_money_minor = 5000, from_credit_minor = 0",
            [
                "I6 Payment 2: $50.00 of its own money applied to invoices, but a payment of "
                "$0.00 funds them with $0.00 before any credit."
            ],
        ),
        (
            "UPDATE invoices SET status = 'void' WHERE id = :paid",
            [
                "I3 Invoice #1: void but still has $50.00 applied to it.",
                "I4 Application 1: still applied to void invoice #1.",
            ],
        ),
    ],
    ids=[
        "cached-credit",
        "negative-credit",
        "status",
        "paid-cache",
        "outstanding",
        "line-total",
        "cross-patient",
        "sources",
        "money-overspent",
        "void-applied",
    ],
)
def test_verify_names_the_damage(books, sql, expected):
    clinic, ids = books
    tamper(clinic, sql, **ids)
    problems = clinic.verify()
    for sentence in expected:
        assert sentence in problems
    assert all(p.split()[0] in {"I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8"} for p in problems)


def test_verify_finds_an_empty_payment_and_a_live_application_of_a_reversed_payment(books):
    clinic, _ = books
    tamper(
        clinic, "UPDATE payments SET reversed_at = CURRENT_TIMESTAMP WHERE request_id = 'credit'"
    )
    problems = clinic.verify()
    assert "I4 Application 1: payment 2 is reversed but still pays invoice #1." in problems
    tamper(clinic, "DELETE FROM applications")
    assert "I6 Payment 2: records no money and pays no invoice." in clinic.verify()


def test_verify_finds_dangling_references_on_sqlite(new_sqlite_url):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        pid = clinic.add_patient("Ada", "Lovelace")
        iid = clinic.create_invoice(pid, [("Consult", "50", 1)])
        clinic.record_payment(
            clinic.preview_payment(pid, sources={"Cash": "50"}, source_invoice=iid), "pay"
        )
    raw = sqlite3.connect(make_url(url).database)
    raw.execute("PRAGMA foreign_keys = OFF")
    raw.execute("DELETE FROM payment_sources")
    raw.execute("DELETE FROM payments")
    raw.commit()
    raw.close()
    with Clinic.open(url) as clinic:
        assert "I4 Application 1: refers to a missing payment or invoice." in clinic.verify()


def test_verify_finds_duplicate_request_ids_on_postgresql(pg_databases):
    url = pg_databases.new()
    with Clinic.open(url) as clinic:
        pid = clinic.add_patient("Ada", "Lovelace")
        clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "5"}), "twice")
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute("ALTER TABLE payments DROP CONSTRAINT uq_payments_request_id")
        conn.execute(
            "INSERT INTO payments (patient_id, kind, payment_date, total_minor, request_id, "
            "created_at) SELECT patient_id, kind, payment_date, 0, request_id, created_at "
            "FROM payments"
        )
    # Without its unique index the database is no longer Clinic Ledger's: it is not opened.
    with pytest.raises(
        BillingError, match="the index uq_payments_request_id on payments is"
    ) as refused:  # named in the refusal
        Clinic.open(url)
    assert refused.value.code == Refusal.FOREIGN_SCHEMA
    unchecked = Clinic(make_engine(url))  # what verify() finds in it all the same
    try:
        problems = unchecked.verify()
    finally:
        unchecked.close()
    assert "I5 Request 'twice' recorded 2 payments instead of one." in problems


def test_verify_checks_how_each_payment_split_money_and_credit(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(pid, [("Consult", "50", 1)])
    pay = clinic.record_payment(
        clinic.preview_payment(pid, sources={"Cash": "50"}, source_invoice=iid), "cash"
    )
    assert clinic.verify() == []
    # Rewritten as if paid from credit although $50 cash came in: totals still balance.
    tamper(clinic, "UPDATE applications SET from_money_minor = 0, from_credit_minor = 5000")
    assert clinic.verify() == [
        f"I6 Payment {pay}: $0.00 of its own money applied to invoices, but a payment of $50.00 "
        "funds them with $50.00 before any credit."
    ]


def test_verify_flags_sources_with_the_wrong_sign(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    pay = clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "10"}), "p")
    tamper(
        clinic,
        "INSERT INTO payment_sources (payment_id, payment_type_id, amount_minor) "
        "SELECT :pay, id, -1000 FROM payment_types WHERE name = 'EFTPOS'",
        pay=pay,
    )
    tamper(clinic, "UPDATE payment_sources SET amount_minor = 2000 WHERE amount_minor = 1000")
    assert f"I6 Payment {pay}: 1 zero or negative source amount(s)." in clinic.verify()


# -- I8: every money record has its audit entry ---------------------------------------------------


def erase_audit_entries(clinic: Clinic, where: str, **params) -> None:
    """Delete audit entries behind the append-only triggers' back (as a hand-made trigger or an
    edit of the file would)."""
    with clinic.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            guard = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'audit_log_no_delete'"
            ).scalar_one()
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
            conn.execute(text(f"DELETE FROM audit_log WHERE {where}"), params)
            conn.exec_driver_sql(guard)
        else:
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
            conn.execute(text(f"DELETE FROM audit_log WHERE {where}"), params)
            conn.exec_driver_sql("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change")


def every_kind_of_money_record(clinic: Clinic) -> None:
    """Invoices (one void), payments and refunds (one of each reversed), a removed application,
    a credit note and a transfer (each reversed)."""
    ada = clinic.add_patient("Ada", "Lovelace")
    grace = clinic.add_patient("Grace", "Hopper")
    first = clinic.create_invoice(ada, [("Consult", "50", 1)], issue_date=date(2026, 11, 2))
    clinic.record_payment(
        clinic.preview_payment(ada, sources={"Cash": "100"}, source_invoice=first), "pay-1"
    )
    refund = clinic.refund_credit(ada, "5", method="Cash", request_id="refund-1")
    clinic.reverse_payment(refund, "typed twice")
    void = clinic.create_invoice(ada, [("Consult", "30", 1)], issue_date=date(2026, 11, 2))
    clinic.void_invoice(void, "entered twice")
    third = clinic.create_invoice(grace, [("Consult", "40", 1)], issue_date=date(2026, 11, 2))
    paid = clinic.record_payment(
        clinic.preview_payment(grace, sources={"EFTPOS": "40"}, source_invoice=third), "pay-2"
    )
    clinic.remove_application(clinic.payment(paid).applications[0].id, "wrong invoice")
    prepay = clinic.record_payment(clinic.preview_payment(grace, sources={"Cash": "20"}), "pay-3")
    clinic.reverse_payment(prepay, "card declined")
    note = clinic.credit_note(first, "10", reason="discount", request_id="cn-1")
    clinic.reverse_credit_note(note, "discount withdrawn")
    moved = clinic.transfer_credit(ada, grace, "5", reason="family", request_id="t-1")
    clinic.reverse_transfer(moved, "wrong patient")


def test_verify_names_the_money_records_whose_audit_entry_is_missing(clinic):
    every_kind_of_money_record(clinic)
    assert clinic.verify() == []

    erase_audit_entries(clinic, "action <> 'add patient'")

    assert clinic.verify() == [
        "I8 The audit log has no entry for 15 saves: invoice #1 (created), invoice #2 "
        "(created), invoice #2 (voided), invoice #3 (created), payment 1 (recorded), refund 2 "
        "(recorded), refund 2 (reversed), payment 3 (recorded), payment 4 (recorded), payment 4 "
        "(reversed) and 5 more."
    ]


def test_verify_names_one_missing_audit_entry_of_each_kind(clinic):
    every_kind_of_money_record(clinic)
    erase_audit_entries(
        clinic,
        "action IN ('void invoice', 'remove application', 'reverse credit note', "
        "'transfer credit')",
    )
    assert clinic.verify() == [
        "I8 The audit log has no entry for 4 saves: invoice #2 (voided), application 2 "
        "(removed), credit note CN-1 (reversed), credit transfer 1 (made)."
    ]
    erase_audit_entries(clinic, "action <> 'add patient'")
    assert clinic.verify()[0].startswith("I8 The audit log has no entry for 15 saves: ")


def test_verify_notices_an_audit_log_that_stops_recording(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(pid, [("Consult", "50", 1)], issue_date=date(2026, 11, 2))
    with clinic.engine.begin() as conn:  # added by hand while the clinic is open
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER quiet_audit BEFORE INSERT ON audit_log "
                "BEGIN SELECT RAISE(IGNORE); END"
            )
        else:
            # (Returning NULL would skip the row, which the save notices: it reads the new
            # entry's id back. Blanking what the entry is about goes unnoticed.)
            conn.exec_driver_sql(
                "CREATE FUNCTION quiet_audit() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN NEW.entity_id := NULL; RETURN NEW; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER quiet_audit BEFORE INSERT ON audit_log FOR EACH ROW "
                "EXECUTE FUNCTION quiet_audit()"
            )
    pay = clinic.record_payment(
        clinic.preview_payment(pid, sources={"Cash": "50"}, source_invoice=iid), "pay"
    )
    assert clinic.verify() == [f"I8 The audit log has no entry for payment {pay} (recorded)."]
