"""Invoices the way clinics write them: catalogue items at concession prices, discounts, decimal
quantities, tax-inclusive prices rounded per line as Xero does, drafts that count nowhere until
issued, and corrections before payment that the balances follow."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from desktop_app.core import BillingError, Clinic, Role
from tests.helpers import snapshot


def _refused(call, code: str, match: str = "") -> BillingError:
    with pytest.raises(BillingError, match=match) as refused:
        call()
    assert refused.value.code == code, refused.value
    return refused.value


def test_gst_included_price_carries_its_tax_inside(clinic: Clinic) -> None:
    clinic.set_prices_include_tax(True)
    assert clinic.prices_include_tax is True
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(
        pid, [{"description": "Consult", "price": "95.00", "tax_rate": "10"}]
    )
    inv = clinic.invoice(iid)
    (line,) = inv.lines
    assert (line.net, line.tax, line.total) == (Decimal("86.36"), Decimal("8.64"), Decimal("95.00"))
    assert inv.total == Decimal("95.00") and inv.tax_total == Decimal("8.64")
    assert inv.tax_inclusive is True
    assert clinic.patient(pid).outstanding == Decimal("95.00")


def test_tax_on_top_and_a_new_database_prices_without_tax(clinic: Clinic) -> None:
    assert clinic.prices_include_tax is False
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(
        pid, [{"description": "Consult", "price": "95.00", "tax_rate": "10"}]
    )
    (line,) = clinic.invoice(iid).lines
    assert (line.net, line.tax, line.total) == (
        Decimal("95.00"),
        Decimal("9.50"),
        Decimal("104.50"),
    )


def test_each_invoice_keeps_the_basis_it_was_made_with(clinic: Clinic) -> None:
    pid = clinic.add_patient("Ada", "Lovelace")
    before = clinic.create_invoice(pid, [("Consult", "95.00", 1, "10")])
    clinic.set_prices_include_tax(True)
    after = clinic.create_invoice(pid, [("Consult", "95.00", 1, "10")])
    assert clinic.invoice(before).total == Decimal("104.50")
    assert clinic.invoice(after).total == Decimal("95.00")


def test_discounts_and_decimal_quantities(clinic: Clinic) -> None:
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(
        pid,
        [
            {
                "description": "Taping",
                "price": "12.50",
                "quantity": "2",
                "tax_rate": "10",
                "discount": "10%",
            },
            {
                "description": "Hydrotherapy",
                "price": "80.00",
                "quantity": "0.5",
                "discount": "5.00",
            },
            ("Report", "30.00", 1),
        ],
    )
    taping, hydro, report = clinic.invoice(iid).lines
    # 25.00 less 10% = 22.50, GST 2.25 on top
    assert (taping.discount, taping.net, taping.tax, taping.total) == (
        Decimal("2.50"),
        Decimal("22.50"),
        Decimal("2.25"),
        Decimal("24.75"),
    )
    assert taping.discount_percent == Decimal("10.00")
    assert (hydro.quantity, hydro.discount, hydro.total) == (
        Decimal("0.5"),
        Decimal("5.00"),
        Decimal("35.00"),
    )
    assert report.quantity == 1 and report.total == Decimal("30.00")
    assert clinic.invoice(iid).total == Decimal("89.75")
    assert clinic.verify() == []


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ({"description": "X", "price": "10", "discount": "10.01"}, "more than the line"),
        ({"description": "X", "price": "10", "discount": "-1"}, "below zero"),
        ({"description": "X", "price": "10", "discount": "101%"}, "more than 100%"),
        ({"description": "X", "price": "10", "quantity": "0"}, "more than 0"),
        ({"description": "X", "price": "10", "quantity": "-1"}, "not a number"),
        ({"description": "X", "price": "10", "quantity": "1.255"}, "two decimals"),
        ({"description": "X", "price": "10.001"}, "decimals"),
        ({"description": "X", "price": "10", "colour": "red"}, "colour"),
    ],
)
def test_bad_lines_are_refused_and_nothing_is_saved(clinic: Clinic, line, match) -> None:
    pid = clinic.add_patient("Ada", "Lovelace")
    before = snapshot(clinic)
    with pytest.raises(BillingError, match=match) as refused:
        clinic.create_invoice(pid, [line])
    assert refused.value.field == "lines"
    assert snapshot(clinic) == before


def test_catalogue_items_fill_the_line_at_the_patients_concession_price(clinic: Clinic) -> None:
    clinic.set_prices_include_tax(True)
    item = clinic.add_billable_item(
        "IC",
        "Initial consultation",
        "95.00",
        tax_rate="10",
        concession_prices={"Pensioner": "75.00"},
    )
    ada = clinic.add_patient("Ada", "Lovelace")
    bob = clinic.add_patient("Bob", "Brown", concession="pensioner")
    for pid, price in ((ada, "95.00"), (bob, "75.00")):
        (line,) = clinic.invoice(clinic.create_invoice(pid, [{"item": item}])).lines
        assert (line.description, line.item_code, line.unit_price) == (
            "Initial consultation",
            "IC",
            Decimal(price),
        )
        assert line.total == Decimal(price)
    assert [r.code for r in clinic.billable_items(search="consult")] == ["IC"]
    assert clinic.billable_items(search="zzz") == []


def test_a_new_price_never_changes_an_issued_invoice(clinic: Clinic) -> None:
    item = clinic.add_billable_item("FU", "Follow-up", "60.00")
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(pid, [{"item": item}])
    clinic.update_billable_item(item, price="70.00", name="Follow-up visit")
    assert clinic.invoice(iid).lines[0].unit_price == Decimal("60.00")
    assert clinic.invoice(iid).lines[0].description == "Follow-up"
    assert clinic.billable_item(item).price == Decimal("70.00")


def test_an_archived_item_is_refused_on_a_new_invoice(clinic: Clinic) -> None:
    item = clinic.add_billable_item("FU", "Follow-up", "60.00")
    clinic.archive_billable_item(item)
    assert clinic.billable_items() == []
    assert [r.archived for r in clinic.billable_items(include_archived=True)] == [True]
    pid = clinic.add_patient("Ada", "Lovelace")
    _refused(lambda: clinic.create_invoice(pid, [{"item": item}]), "archived", "archived")
    clinic.restore_billable_item(item)
    clinic.create_invoice(pid, [{"item": item}])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"code": "", "name": "X", "price": "1"}, "code"),
        ({"code": "A B", "name": "X", "price": "1"}, "code"),
        ({"code": "A" * 21, "name": "X", "price": "1"}, "code"),
        ({"code": "IC", "name": "", "price": "1"}, "name"),
        ({"code": "IC", "name": "X", "price": "-1"}, "price"),
        ({"code": "IC", "name": "X", "price": "1", "tax_rate": "101"}, "tax_rate"),
        ({"code": "IC", "name": "X", "price": "1", "kind": "gift"}, "kind"),
        (
            {"code": "IC", "name": "X", "price": "50", "concession_prices": {"Student": "60"}},
            "concession_prices",
        ),
    ],
)
def test_bad_items_are_refused_on_their_field(clinic: Clinic, kwargs, field) -> None:
    before = snapshot(clinic)
    kwargs = dict(kwargs)
    code = kwargs.pop("code")
    name = kwargs.pop("name")
    price = kwargs.pop("price")
    with pytest.raises(BillingError) as refused:
        clinic.add_billable_item(code, name, price, **kwargs)
    assert refused.value.field == field
    assert snapshot(clinic) == before


def test_codes_are_unique_regardless_of_case(clinic: Clinic) -> None:
    clinic.add_billable_item("IC", "Initial consultation", "95")
    _refused(lambda: clinic.add_billable_item("ic", "Other", "1"), "duplicate", "already")


def test_a_draft_counts_nowhere_until_issued(clinic: Clinic) -> None:
    pid = clinic.add_patient("Ada", "Lovelace")
    draft = clinic.create_invoice(pid, [("Consult", "80.00", 1)], draft=True)
    inv = clinic.invoice(draft)
    assert (inv.status, inv.number, inv.balance) == ("draft", None, Decimal(0))
    assert clinic.patient(pid).outstanding == 0
    issued = clinic.create_invoice(pid, [("Report", "30.00", 1)])
    assert clinic.invoice(issued).number == 1
    preview = clinic.preview_payment(pid, sources={"Cash": "200"})
    assert [a.invoice_id for a in preview.plan.lines] == [issued]
    assert clinic.invoice_count() == 1
    _refused(lambda: clinic.void_invoice(draft), "bad_choice", "draft")
    number = clinic.issue_invoice(draft)
    inv = clinic.invoice(draft)
    assert (number, inv.number, inv.status, inv.issue_date) == (2, 2, "open", date.today())
    assert clinic.patient(pid).outstanding == Decimal("110.00")
    assert clinic.verify() == []


def test_deleting_a_draft_leaves_no_trace_but_the_audit(clinic: Clinic) -> None:
    pid = clinic.add_patient("Ada", "Lovelace")
    draft = clinic.create_invoice(pid, [("Consult", "80.00", 1)], draft=True)
    clinic.delete_draft(draft)
    assert clinic.invoices(pid) == []
    issued = clinic.create_invoice(pid, [("Consult", "80.00", 1)])
    _refused(lambda: clinic.delete_draft(issued), "bad_choice", "void it instead")
    entries = clinic.audit_entries_by_ids(clinic.audit_entry_ids())
    deleted = [e for e in entries if e.action == "delete draft"]
    assert [e.entity_id for e in deleted] == [draft]
    assert (
        deleted[0].before is not None and deleted[0].before["lines"][0]["description"] == "Consult"
    )
    assert clinic.verify() == []


def test_an_unpaid_invoice_is_corrected_and_the_balance_follows(clinic: Clinic) -> None:
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(pid, [("Consult", "80.00", 1)])
    clinic.update_invoice(iid, lines=[("Consult", "85.00", 1), ("Taping", "12.50", 2)])
    inv = clinic.invoice(iid)
    assert inv.total == Decimal("110.00") and inv.number == 1
    assert clinic.patient(pid).outstanding == Decimal("110.00")
    clinic.update_invoice(iid, due_date=date.today() + timedelta(days=14))
    assert clinic.invoice(iid).due_date == date.today() + timedelta(days=14)
    assert clinic.verify() == []


def test_an_invoice_money_touched_cannot_be_edited(clinic: Clinic) -> None:
    pid = clinic.add_patient("Ada", "Lovelace")
    paid = clinic.create_invoice(pid, [("Consult", "80.00", 1)])
    clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "10"}), "p1")
    _refused(
        lambda: clinic.update_invoice(paid, lines=[("Consult", "1.00", 1)]),
        "bad_choice",
        "paid on it",
    )
    credited = clinic.create_invoice(pid, [("Consult", "80.00", 1)])
    clinic.issue_credit_note(credited, "5.00", reason="Goodwill", request_id="cn1")
    _refused(
        lambda: clinic.update_invoice(credited, lines=[("Consult", "1.00", 1)]),
        "bad_choice",
        "credit note",
    )
    void = clinic.create_invoice(pid, [("Consult", "80.00", 1)])
    clinic.void_invoice(void, "Mistake")
    _refused(
        lambda: clinic.update_invoice(void, lines=[("Consult", "1.00", 1)]), "bad_choice", "void"
    )


def test_the_practitioner_defaults_to_the_patients_and_must_be_active(clinic: Clinic) -> None:
    clinic.add_staff("boss", "Boss", Role.ADMINISTRATOR, "correct horse battery")
    clinic.add_staff("drsmith", "Dr Smith", Role.PRACTITIONER, "correct horse battery")
    clinic.add_staff("desk", "Front Desk", Role.RECEPTIONIST, "correct horse battery")
    smith = next(s.id for s in clinic.practitioners())
    desk = next(s.id for s in clinic.staff_members() if s.username == "desk")
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.assign_practitioner(pid, "drsmith")
    iid = clinic.create_invoice(pid, [("Consult", "80", 1)], service_date=date.today())
    assert clinic.invoice(iid).practitioner_id == smith
    assert clinic.invoice(iid).service_date == date.today()
    _refused(
        lambda: clinic.create_invoice(pid, [("Consult", "80", 1)], practitioner_id=desk),
        "bad_choice",
        "practitioner",
    )


def test_an_invoice_can_be_billed_or_corrected_to_no_practitioner(clinic: Clinic) -> None:
    clinic.add_staff("boss", "Boss", Role.ADMINISTRATOR, "correct horse battery")
    clinic.add_staff("drsmith", "Dr Smith", Role.PRACTITIONER, "correct horse battery")
    smith = next(s.id for s in clinic.practitioners())
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.assign_practitioner(pid, "drsmith")
    nobody = clinic.create_invoice(pid, [("Cream", "12.00", 1)], practitioner_id=None)
    assert clinic.invoice(nobody).practitioner_id is None
    iid = clinic.create_invoice(pid, [("Consult", "80", 1)], service_date=date.today())
    clinic.update_invoice(iid, lines=[("Consult", "85", 1)])
    assert clinic.invoice(iid).practitioner_id == smith, "left out, the practitioner stays"
    assert clinic.invoice(iid).service_date == date.today()
    clinic.update_invoice(iid, practitioner_id=None, service_date=None)
    corrected = clinic.invoice(iid)
    assert (corrected.practitioner_id, corrected.service_date) == (None, None)
    entry = clinic.audit_entries_by_ids(clinic.audit_entry_ids())[0]
    assert entry.action == "edit invoice" and entry.before and entry.after
    assert entry.before["practitioner_id"] == smith and entry.after["practitioner_id"] is None
