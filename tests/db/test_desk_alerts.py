"""The desk's credit alerts through the API, on SQLite and PostgreSQL: patients whose account
credit is dormant (no visit or payment for the clinic's months) and patients holding credit
beside open invoices, each with what the desk needs to act, and nobody else."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from desktop_app.core import Clinic, PermissionDenied

TODAY = date.today()


def days_ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def _pay(clinic: Clinic, pid: int, cash: str, rid: str, day: date | None = None) -> int:
    preview = clinic.preview_payment(pid, {"Cash": cash}, payment_date=day)
    return clinic.record_payment(preview, rid)


@pytest.fixture
def people(clinic: Clinic) -> dict[str, int]:
    """Ada: dormant credit (paid 400 days ago, never visited). Alan: credit beside an invoice
    from last month. Eve: both (credit, and an invoice from 500 days ago still open). Cy: credit,
    paid last week. Dee: owes, no credit. Fay: paid everything. A payer holding credit."""
    ada = clinic.add_patient("Ada", "Lovelace", email="ada@example.org", mobile="0400 111 222")
    _pay(clinic, ada, "40", "ada", days_ago(400))
    alan = clinic.add_patient("Alan", "Turing", phone="02 9999 0000", mobile="0411 000 111")
    _pay(clinic, alan, "10", "alan", days_ago(400))
    clinic.create_invoice(alan, [("Consult", "5", 1)], issue_date=days_ago(45))
    eve = clinic.add_patient("Eve", "Ellis", email="eve@example.org")
    clinic.create_invoice(eve, [("Consult", "70", 1)], issue_date=days_ago(500))
    _pay(clinic, eve, "25", "eve", days_ago(450))  # on the invoice: nothing left over
    clinic.transfer_credit(
        ada, eve, "15", reason="family", request_id="ada-eve", transfer_date=days_ago(420)
    )
    cy = clinic.add_patient("Cy", "Clarke")
    _pay(clinic, cy, "30", "cy", days_ago(7))
    dee = clinic.add_patient("Dee", "Owing")
    clinic.create_invoice(dee, [("Consult", "90", 1)], issue_date=days_ago(600))
    fay = clinic.add_patient("Fay", "Paid")
    paid = clinic.create_invoice(fay, [("Consult", "50", 1)], issue_date=days_ago(700))
    clinic.record_payment(
        clinic.preview_payment(
            fay, {"Cash": "50"}, source_invoice=paid, payment_date=days_ago(700)
        ),
        "fay",
    )
    fund = clinic.add_payer("Harbour Health Fund", kind="health fund")
    clinic.record_payer_payment(
        clinic.preview_payer_payment(fund, {"EFTPOS": "100"}, payment_date=days_ago(800)),
        "fund",
    )
    return {"ada": ada, "alan": alan, "eve": eve, "cy": cy, "dee": dee, "fay": fay, "fund": fund}


def test_dormant_credit_and_credit_beside_open_invoices_are_listed_and_nobody_else(clinic, people):
    alerts = clinic.desk_alerts()
    assert alerts.as_of == TODAY and alerts.dormant_months == 12
    dormant = {row.patient_id: row for row in alerts.dormant}
    beside = {row.patient_id: row for row in alerts.beside_open}
    assert list(dormant) == [people["ada"], people["eve"]]  # most credit first
    assert list(beside) == [people["eve"], people["alan"]]  # by name: Ellis, Turing
    assert alerts.count == 3 and not alerts.empty
    ada = dormant[people["ada"]]
    assert (ada.name, ada.credit, ada.owed) == ("Ada Lovelace", Decimal("25.00"), Decimal("0.00"))
    assert (ada.last_visit, ada.last_payment, ada.last_seen) == (None, days_ago(400), days_ago(400))
    assert (ada.email, ada.phones) == ("ada@example.org", (("Mobile", "0400 111 222"),))
    eve = beside[people["eve"]]
    assert (eve.credit, eve.owed) == (Decimal("15.00"), Decimal("45.00"))
    assert (eve.last_visit, eve.last_payment) == (days_ago(500), days_ago(450))
    alan = beside[people["alan"]]
    assert (alan.credit, alan.owed, alan.last_visit) == (
        Decimal("10.00"),
        Decimal("5.00"),
        days_ago(45),
    )
    assert alan.email is None
    assert alan.phones == (("Mobile", "0411 000 111"), ("Phone", "02 9999 0000"))


def test_dormant_follows_the_clinics_months(clinic, people):
    clinic.set_reminder_settings(dormant_months=24)
    alerts = clinic.desk_alerts()
    assert alerts.dormant == () and alerts.dormant_months == 24
    assert [row.patient_id for row in alerts.beside_open] == [people["eve"], people["alan"]]
    clinic.set_reminder_settings(dormant_months=1)
    assert [row.patient_id for row in clinic.desk_alerts().dormant] == [
        people["ada"],
        people["eve"],
        people["alan"],  # last visit 45 days ago: more than a month
    ]


def test_a_visit_or_payment_wakes_dormant_credit_and_applying_credit_clears_the_list(
    clinic, people
):
    clinic.create_invoice(people["ada"], [("Review", "60", 1)])
    alerts = clinic.desk_alerts()
    assert people["ada"] not in [row.patient_id for row in alerts.dormant]
    assert people["ada"] in [row.patient_id for row in alerts.beside_open]
    clinic.apply_credit_to_all_open_invoices("apply-all")
    after = clinic.desk_alerts()
    assert after.beside_open == ()
    assert [row.patient_id for row in after.dormant] == []  # Eve's credit paid her invoice
    assert after.empty


def test_a_clinic_with_no_credit_has_no_alerts(clinic):
    pid = clinic.add_patient("Dee", "Owing")
    clinic.create_invoice(pid, [("Consult", "90", 1)], issue_date=days_ago(600))
    assert clinic.desk_alerts().empty


def test_desk_alerts_are_for_the_practice_manager(team):
    owner = team["owner"]
    pid = owner.add_patient("Ada", "Lovelace")
    _pay(owner, pid, "40", "ada", days_ago(400))
    for role in ("administrator", "bookkeeper"):
        assert [row.patient_id for row in team[role].desk_alerts().dormant] == [pid]
    for role in ("receptionist", "practitioner"):
        with pytest.raises(PermissionDenied):
            team[role].desk_alerts()
