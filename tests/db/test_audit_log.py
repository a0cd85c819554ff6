"""Reading the audit log (on SQLite and PostgreSQL): newest first, filters, and entries in plain
words with amounts formatted. (That the database refuses to edit or delete the log is checked in
test_schema.py.)"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session

from desktop_app.core import Clinic
from desktop_app.core.db.models import AuditEntry
from desktop_app.core.reporting.audit_log import AuditFilter, audit_entries_by_ids, audit_entry_ids


@pytest.fixture
def day_of_work(clinic: Clinic) -> dict[str, int]:
    """A patient invoiced, paying $70 by EFTPOS ($20 left as credit), refunded $5, then the
    invoice voided (its $50 returns to credit)."""
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(pid, [("Consult", "50", 1)], issue_date=date(2026, 1, 5))
    pay = clinic.record_payment(clinic.preview_payment(pid, sources={"EFTPOS": "70"}), "p-1")
    refund = clinic.refund_credit(pid, "5", method="Cash", request_id="r-1", reason="parking")
    clinic.void_invoice(iid, 'patient said "not mine"')
    return {"patient": pid, "invoice": iid, "payment": pay, "refund": refund}


def summaries(clinic: Clinic, filt: AuditFilter | None = None) -> list[str]:
    return [e.summary for e in clinic.audit_entries_by_ids(clinic.audit_entry_ids(filt))]


def test_entries_are_newest_first_and_read_in_plain_words(clinic, day_of_work):
    w = day_of_work
    ids = clinic.audit_entry_ids()
    assert ids == sorted(ids, reverse=True) and len(ids) == 5
    assert clinic.audit_entry_ids(newest_first=False) == ids[::-1]
    assert summaries(clinic) == [
        "Voided invoice #1 for Lovelace, Ada: $50.00 returned to account credit "
        '(reason: patient said "not mine")',
        "Refunded $5.00 of account credit to Lovelace, Ada by Cash (reason: parking)",
        f"Recorded payment {w['payment']} for Lovelace, Ada: $70.00 (EFTPOS $70.00), "
        "$50.00 to invoice #1, $20.00 left as credit",
        "Created invoice #1 for Lovelace, Ada: $50.00, issued 2026-01-05",
        "Added patient Lovelace, Ada",
    ]
    entries = clinic.audit_entries_by_ids(ids)
    assert [e.record for e in entries] == [
        "Invoice #1",
        f"Refund {w['refund']}",
        f"Payment {w['payment']}",
        "Invoice #1",
        "Patient Lovelace, Ada",
    ]
    assert all(e.actor == "database owner" and e.at.tzinfo is not None for e in entries)


def test_before_and_after_keep_exact_amounts_and_show_them_formatted(clinic, day_of_work):
    w = day_of_work
    [payment] = clinic.audit_entries_by_ids(
        clinic.audit_entry_ids(AuditFilter(actions={"record payment"}))
    )
    assert payment.before == {"credit": 0}
    assert payment.after is not None and payment.after["total"] == 7000
    assert payment.after["sources"] == {"EFTPOS": 7000}
    assert payment.before_text == "Account credit: $0.00"
    lines = payment.after_text.splitlines()
    assert lines[:5] == [
        f"Patient: Lovelace, Ada ({w['patient']})",
        "Total: $70.00",
        "Payment sources:",
        "    EFTPOS: $70.00",
        "Applied to invoices:",
    ]
    assert "    invoice #1: $50.00" in lines
    assert "Left as account credit: $20.00" in lines
    assert "Account credit: $20.00" in lines
    [added] = clinic.audit_entries_by_ids(
        clinic.audit_entry_ids(AuditFilter(actions={"add patient"}))
    )
    assert added.before is None
    assert "did not exist before" in added.before_text
    assert added.after_text == "First name: Ada\nLast name: Lovelace"


def test_amounts_are_in_the_clinic_currency(clinic):
    clinic.set_currency("JPY")
    pid = clinic.add_patient("Hana", "Sato")
    pay = clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "5000"}), "jp")
    assert summaries(clinic, AuditFilter(actions={"record payment"})) == [
        f"Recorded payment {pay} for Sato, Hana: ¥5,000 (Cash ¥5,000), ¥5,000 left as credit"
    ]
    assert summaries(clinic, AuditFilter(actions={"change setting"})) == [
        "Changed currency from 'AUD' to 'JPY'"
    ]


def test_a_payment_from_account_credit_says_so(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "100"}), "prepay")
    iid = clinic.create_invoice(pid, [("Consult", "40", 1)])
    pay = clinic.record_payment(clinic.preview_payment(pid, source_invoice=iid), "from-credit")
    assert summaries(clinic)[0] == (
        f"Recorded payment {pay} for Lovelace, Ada from account credit: $40.00 to invoice #1"
    )


def test_filter_by_action_and_by_record(clinic, day_of_work):
    w = day_of_work
    money = AuditFilter(actions={"record payment", "refund credit"})
    assert clinic.audit_entry_ids(money) == [
        e.id for e in clinic.audit_entries_by_ids(clinic.audit_entry_ids()) if e.entity == "payment"
    ]
    assert len(clinic.audit_entry_ids(money)) == 2
    assert clinic.audit_entry_ids(AuditFilter(actions=set())) == []
    invoice_history = AuditFilter(entity="invoice", entity_id=w["invoice"])
    assert [
        e.action for e in clinic.audit_entries_by_ids(clinic.audit_entry_ids(invoice_history))
    ] == [
        "void invoice",
        "create invoice",
    ]
    assert clinic.audit_entry_ids(AuditFilter(entity="invoice", entity_id=999)) == []
    assert clinic.audit_actions() == [
        "add patient",
        "create invoice",
        "record payment",
        "refund credit",
        "void invoice",
    ]
    assert clinic.audit_count(money) == 2
    assert clinic.audit_count() == 5


def test_filter_by_who_made_the_change(clinic, day_of_work):
    desk = Clinic(clinic.engine, actor="Front desk 2")
    desk.add_patient("Grace", "Hopper")
    assert clinic.audit_actors() == ["Front desk 2", "database owner"]
    assert summaries(clinic, AuditFilter(actor="DESK")) == ["Added patient Hopper, Grace"]
    assert len(clinic.audit_entry_ids(AuditFilter(actor="owner"))) == 5
    assert clinic.audit_entry_ids(AuditFilter(actor="nobody")) == []


def test_search_text_matches_names_reasons_actions_and_amounts(clinic, day_of_work):
    w = day_of_work
    assert summaries(clinic, AuditFilter(text="LOVELACE ada")) == ["Added patient Lovelace, Ada"]
    assert len(clinic.audit_entry_ids(AuditFilter(text="parking"))) == 1
    assert len(clinic.audit_entry_ids(AuditFilter(text="refund"))) == 1  # the action
    # A quote is stored escaped in the JSON; the search still finds it.
    assert len(clinic.audit_entry_ids(AuditFilter(text='"not'))) == 1
    # An amount written with a decimal point or symbol finds that amount.
    assert clinic.audit_entry_ids(AuditFilter(text="70.00")) == [
        e.id
        for e in clinic.audit_entries_by_ids(clinic.audit_entry_ids())
        if e.entity_id == w["payment"] and e.action == "record payment"
    ]
    assert [
        e.action
        for e in clinic.audit_entries_by_ids(clinic.audit_entry_ids(AuditFilter(text="$5")))
    ] == ["refund credit"]
    assert clinic.audit_entry_ids(AuditFilter(text="lovelace nowhere")) == []


def test_percent_and_underscore_in_a_search_match_themselves(clinic):
    clinic.add_patient("Ann", "O_Neil")
    clinic.add_patient("Ann", "Oxneil")
    clinic.add_patient("Cent", "100%")
    clinic.add_patient("Cent", "1000")
    clinic.add_patient("Back", "Sla\\sh")
    assert summaries(clinic, AuditFilter(text="o_neil")) == ["Added patient O_Neil, Ann"]
    assert summaries(clinic, AuditFilter(text="100%")) == ["Added patient 100%, Cent"]
    assert len(clinic.audit_entry_ids(AuditFilter(text="%"))) == 1
    assert len(clinic.audit_entry_ids(AuditFilter(text="la\\s"))) == 1


def _entry_at(clinic: Clinic, at: datetime, action: str) -> None:
    """Append an entry stamped ``at`` (appending is the one thing the log allows)."""
    with Session(clinic.engine) as session, session.begin():
        session.add(
            AuditEntry(at=at, actor="test", action=action, entity="patient", entity_id=None)
        )


def test_date_range_is_inclusive_days_in_the_given_time_zone(clinic):
    _entry_at(clinic, datetime(2026, 3, 1, 12, 0, tzinfo=UTC), "first")
    _entry_at(clinic, datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC), "late on the 1st")
    _entry_at(clinic, datetime(2026, 3, 2, 0, 0, tzinfo=UTC), "midnight")
    _entry_at(clinic, datetime(2026, 3, 3, 8, 0, tzinfo=UTC), "third")

    def actions(**days: date | None) -> list[str]:
        ids = clinic.audit_entry_ids(AuditFilter(tz=UTC, **days))
        return [e.action for e in clinic.audit_entries_by_ids(ids)]

    day1, day2, day3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)
    assert actions(date_from=day1, date_to=day1) == ["late on the 1st", "first"]
    assert actions(date_from=day2, date_to=day2) == ["midnight"]
    assert actions(date_from=day2) == ["third", "midnight"]
    assert actions(date_to=day2) == ["midnight", "late on the 1st", "first"]
    assert actions(date_from=day3, date_to=day1) == []
    # Sydney in March is UTC+11: 23:59:59 UTC on the 1st is already the 2nd there.
    sydney = timezone(timedelta(hours=11))
    ids = clinic.audit_entry_ids(AuditFilter(date_from=day2, date_to=day2, tz=sydney))
    assert [e.action for e in clinic.audit_entries_by_ids(ids)] == ["midnight", "late on the 1st"]


def test_entries_by_ids_keep_the_order_asked_and_skip_unknown_ids(clinic, day_of_work):
    ids = clinic.audit_entry_ids()
    asked = [ids[2], 10_000, ids[0], ids[4]]
    assert [e.id for e in clinic.audit_entries_by_ids(asked)] == [ids[2], ids[0], ids[4]]
    assert clinic.audit_entries_by_ids([]) == []


def test_the_functions_work_on_a_session_of_their_own(clinic, day_of_work):
    with Session(clinic.engine) as session:
        ids = audit_entry_ids(session, AuditFilter(text="EFTPOS"))
        [entry] = audit_entries_by_ids(session, ids, "AUD")
    assert entry.action == "record payment"


def test_summaries_name_the_patients_without_rewriting_the_log(clinic):
    """Names are read when the log is shown: entries keep the ids they were written with."""
    ada = clinic.add_patient("Ada", "Lovelace")
    grace = clinic.add_patient("Grace", "Hopper")
    clinic.record_payment(clinic.preview_payment(ada, sources={"Cash": "30"}), "pre")
    clinic.transfer_credit(ada, grace, "10", reason="family", request_id="t1")
    iid = clinic.create_invoice(grace, [("Consult", "25", 1)])
    clinic.void_invoice(iid, "wrong patient")
    with clinic.store.read() as session:
        stored = [(e.before, e.after) for e in session.query(AuditEntry).order_by(AuditEntry.id)]
    texts = summaries(clinic)
    assert len(texts) == 6  # two patients, payment, transfer, invoice, void
    assert "Voided invoice #1 for Hopper, Grace (reason: wrong patient)" in texts
    issued = date.today().isoformat()
    assert f"Created invoice #1 for Hopper, Grace: $25.00, issued {issued}" in texts
    transfers = AuditFilter(actions={"transfer credit"})
    assert summaries(clinic, transfers) == [
        "Transferred $10.00 of account credit from Lovelace, Ada to Hopper, Grace (reason: family)"
    ]
    assert not any("patient 1" in t or "patient 2" in t for t in texts)
    (transfer,) = clinic.audit_entries_by_ids(clinic.audit_entry_ids(transfers))
    assert f"From patient: Lovelace, Ada ({ada})" in transfer.after_text
    # Nothing in the log changed by being read, and no name was written into it.
    with clinic.store.read() as session:
        again = [(e.before, e.after) for e in session.query(AuditEntry).order_by(AuditEntry.id)]
    assert again == stored
    assert all("Hopper" not in (after or "") for _, after in stored[2:])
