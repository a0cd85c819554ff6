"""The headless API on SQLite and PostgreSQL: the seed's walkthrough and the worked examples
of docs/ledger-rules.md ("Allocation")."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from desktop_app.core import AllocationMode, BillingError, Clinic, NotFoundError, Refusal

NOV1, NOV2, NOV5 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 5)


def prepay(clinic: Clinic, pid: int, amount: str, request_id: str = "prepay") -> int:
    return clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": amount}), request_id)


def test_seed_walkthrough_pay_an_invoice_with_account_credit(clinic):
    # "If any patient has prepaid for services, ... they'll have a credit on their account."
    pid = clinic.add_patient("Ada", "Lovelace")
    prepay(clinic, pid, "100.00")
    assert clinic.credit(pid) == Decimal("100.00")
    # "Create an invoice for the patient."
    iid = clinic.create_invoice(pid, [("Initial consult", "50.00", 1)], issue_date=NOV2)
    # "do not enter an amount in the Payment source field": the credit is listed and applied.
    preview = clinic.preview_payment(pid, sources={}, source_invoice=iid)
    assert preview.credit_available == Decimal("100.00")
    assert preview.credit_used == Decimal("50.00")
    assert preview.applied == {iid: Decimal("50.00")}
    assert preview.from_credit == {iid: Decimal("50.00")}
    assert preview.balance_after == {iid: Decimal("0.00")}
    assert preview.closes == {iid}
    assert preview.payment_total == Decimal("0.00") and preview.credit_after == Decimal("50.00")
    # "Save that payment, and you'll now see that the invoice is paid (and closed)."
    pay_id = clinic.record_payment(preview, "seed-1")
    invoice = clinic.invoice(iid)
    assert (invoice.status, invoice.paid, invoice.balance) == (
        "paid",
        Decimal("50.00"),
        Decimal("0.00"),
    )
    # "the total payment is $0, and $0.00 was applied to invoices"
    payment = clinic.payment(pay_id)
    assert payment.total == Decimal("0.00") and payment.money_applied == Decimal("0.00")
    assert payment.credit_applied == Decimal("50.00")
    assert [(a.invoice_id, a.amount) for a in payment.applications] == [(iid, Decimal("50.00"))]
    assert payment.sources == {}
    # "The patient will now have a lower balance of credit than they did earlier."
    assert clinic.credit(pid) == Decimal("50.00")
    assert clinic.patient(pid).outstanding == Decimal("0.00")
    assert clinic.verify() == []


def test_seed_with_automatic_allocation_off_staff_allocate_by_hand(clinic):
    clinic.set_allocation_mode(AllocationMode.OFF)
    pid = clinic.add_patient("Ada", "Lovelace")
    prepay(clinic, pid, "100.00")
    iid = clinic.create_invoice(pid, [("Initial consult", "50.00", 1)], issue_date=NOV2)
    untouched = clinic.preview_payment(pid, source_invoice=iid)
    assert untouched.applied == {} and untouched.is_empty
    with pytest.raises(BillingError) as refused:
        clinic.record_payment(untouched, "empty")
    assert refused.value.code == Refusal.NOTHING_TO_SAVE
    by_hand = clinic.preview_payment(pid, applied={iid: "50"}, source_invoice=iid)
    pay_id = clinic.record_payment(by_hand, "by-hand")
    assert clinic.invoice(iid).status == "paid"
    assert clinic.payment(pay_id).total == Decimal("0.00")
    assert clinic.credit(pid) == Decimal("50.00")
    assert clinic.verify() == []


@pytest.mark.parametrize(
    ("mode", "typed", "applied", "credit_after"),
    [
        (AllocationMode.OLDEST_FIRST, None, {"A": "40.00", "B": "20.00"}, "0.00"),
        (AllocationMode.NEWEST_FIRST, None, {"B": "40.00", "A": "20.00"}, "0.00"),
        (AllocationMode.SOURCE_INVOICE, None, {"B": "40.00"}, "20.00"),
        (AllocationMode.OFF, {"B": "25"}, {"B": "25.00"}, "35.00"),
    ],
)
def test_worked_examples_through_the_api(clinic, mode, typed, applied, credit_after):
    clinic.set_allocation_mode(mode)
    pid = clinic.add_patient("Grace", "Hopper")
    prepay(clinic, pid, "60")
    ids = {
        "A": clinic.create_invoice(pid, [("Consult", "40", 1)], issue_date=NOV1),
        "B": clinic.create_invoice(pid, [("Consult", "40", 1)], issue_date=NOV5),
    }
    typed_ids = {ids[k]: v for k, v in (typed or {}).items()}
    preview = clinic.preview_payment(pid, applied=typed_ids, source_invoice=ids["B"])
    assert preview.applied == {ids[k]: Decimal(v) for k, v in applied.items()}
    clinic.record_payment(preview, "p")
    assert clinic.credit(pid) == Decimal(credit_after)
    for key, amount in applied.items():
        assert clinic.invoice(ids[key]).paid == Decimal(amount)
    assert clinic.verify() == []


def test_partial_credit_plus_cash_and_overpayment(clinic):
    pid = clinic.add_patient("Alan", "Turing")
    prepay(clinic, pid, "30")
    a = clinic.create_invoice(pid, [("Consult", "50", 1)], issue_date=NOV2)
    preview = clinic.preview_payment(pid, sources={"Cash": "20"}, source_invoice=a)
    assert preview.from_credit == {a: Decimal("30.00")} and preview.credit_after == Decimal("0.00")
    pay = clinic.record_payment(preview, "mix")
    record = clinic.payment(pay)
    assert (record.total, record.money_applied, record.credit_applied) == (
        Decimal("20.00"),
        Decimal("20.00"),
        Decimal("30.00"),
    )
    b = clinic.create_invoice(pid, [("Consult", "50", 1)], issue_date=NOV2)
    over = clinic.preview_payment(pid, sources={"EFTPOS": "70"}, source_invoice=b)
    assert over.to_credit == Decimal("20.00") and not over.leaves_credit_with_open_invoices
    clinic.record_payment(over, "over")
    assert clinic.credit(pid) == Decimal("20.00")
    assert clinic.invoice(b).status == "paid"
    assert clinic.verify() == []


def test_what_is_previewed_is_exactly_what_is_saved(clinic):
    pid = clinic.add_patient("Mary", "Somerville")
    prepay(clinic, pid, "75.25")
    ids = [
        clinic.create_invoice(
            pid, [("Session", f"{30 + i}.10", 1)], issue_date=NOV1 + timedelta(days=i)
        )
        for i in range(4)
    ]
    preview = clinic.preview_payment(
        pid, sources={"Cash": "10", "EFTPOS": "15.50"}, applied={ids[2]: "5"}, source_invoice=ids[3]
    )
    pay = clinic.record_payment(preview, "exact")
    saved = clinic.payment(pay)
    assert {a.invoice_id: a.amount for a in saved.applications} == preview.applied
    assert {
        a.invoice_id: a.from_credit for a in saved.applications if a.from_credit
    } == preview.from_credit
    assert saved.sources == {"Cash": Decimal("10.00"), "EFTPOS": Decimal("15.50")}
    assert clinic.credit(pid) == preview.credit_after
    for iid, balance in preview.balance_after.items():
        assert clinic.invoice(iid).balance == balance
    assert {i for i in ids if clinic.invoice(i).status == "paid"} == preview.closes


def test_mystery_credit_warning_flag(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(pid, [("Consult", "50", 1)])
    preview = clinic.preview_payment(pid, sources={"Cash": "20"}, applied={iid: "0"})
    assert preview.to_credit == Decimal("20.00") and preview.leaves_credit_with_open_invoices


def test_same_issue_date_is_paid_in_number_order(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    first = clinic.create_invoice(pid, [("Consult", "10", 1)], issue_date=NOV2)
    second = clinic.create_invoice(pid, [("Consult", "10", 1)], issue_date=NOV2)
    assert clinic.invoice(second).number == clinic.invoice(first).number + 1
    preview = clinic.preview_payment(pid, sources={"Cash": "10"})
    assert preview.applied == {first: Decimal("10.00")}
    assert [inv.id for inv in clinic.invoices(pid)] == [first, second]


def test_refund_reverse_and_void_keep_the_ledger_sound(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    prepay_id = prepay(clinic, pid, "100")
    iid = clinic.create_invoice(pid, [("Consult", "50", 1)], issue_date=NOV2)
    spend = clinic.record_payment(clinic.preview_payment(pid, source_invoice=iid), "spend")
    with pytest.raises(BillingError) as refused:
        clinic.reverse_payment(prepay_id)
    assert refused.value.code == Refusal.CREDIT_SPENT
    refund = clinic.refund_credit(pid, "10", method="Cash", request_id="r1", reason="moving away")
    assert (
        clinic.refund_credit(pid, "10", method="Cash", request_id="r1", reason="moving away")
        == refund
    )
    assert clinic.payment(refund).total == Decimal("-10.00") and clinic.credit(pid) == Decimal(
        "40.00"
    )
    with pytest.raises(BillingError) as refused:
        clinic.refund_credit(pid, "40.01", method="Cash", request_id="r2")
    assert (refused.value.code, refused.value.field) == (Refusal.OVER_CREDIT, "amount")
    clinic.reverse_payment(spend, reason="wrong invoice")
    assert clinic.invoice(iid).status == "open" and clinic.credit(pid) == Decimal("90.00")
    assert clinic.payment(spend).reversed
    with pytest.raises(BillingError) as refused:
        clinic.reverse_payment(spend)
    assert refused.value.code == Refusal.ALREADY_DONE
    clinic.record_payment(clinic.preview_payment(pid, source_invoice=iid), "spend-again")
    clinic.void_invoice(iid, reason="billed in error")
    assert clinic.invoice(iid).status == "void" and clinic.invoice(iid).balance == Decimal("0.00")
    assert clinic.credit(pid) == Decimal("90.00")
    with pytest.raises(BillingError) as refused:
        clinic.void_invoice(iid)
    assert refused.value.code == Refusal.ALREADY_DONE
    with pytest.raises(BillingError) as refused:
        clinic.preview_payment(pid, applied={iid: "1"})
    assert refused.value.code == Refusal.NOT_OPEN
    clinic.reverse_payment(refund)
    assert clinic.credit(pid) == Decimal("100.00")
    clinic.reverse_payment(prepay_id)
    assert clinic.credit(pid) == Decimal("0.00")
    assert clinic.verify() == []


def test_settings_persist_and_apply_at_once(clinic, db_url):
    assert clinic.allocation_mode is AllocationMode.OLDEST_FIRST
    assert clinic.payment_types() == [
        "Cash",
        "EFTPOS",
        "Credit card",
        "Bank transfer",
        "Health fund",
    ]
    clinic.set_allocation_mode("newest_first")
    clinic.set_clinic_name("Harbour Physio")
    clinic.add_payment_type("HICAPS")
    clinic.deactivate_payment_type("Cash")
    with pytest.raises(BillingError) as refused:
        clinic.add_payment_type("hicaps")
    assert (refused.value.code, refused.value.field) == (Refusal.DUPLICATE, "payment_types")
    with pytest.raises(BillingError) as refused:
        clinic.set_allocation_mode("sideways")
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_CHOICE, "allocation_mode")
    with Clinic.open(db_url) as again:
        assert again.allocation_mode is AllocationMode.NEWEST_FIRST
        assert again.clinic_name == "Harbour Physio"
        assert "HICAPS" in again.payment_types() and "Cash" not in again.payment_types()
        assert "Cash" in again.payment_types(include_inactive=True)
    pid = clinic.add_patient("Ada", "Lovelace")
    with pytest.raises(BillingError) as refused:
        clinic.preview_payment(pid, sources={"Cash": "5"})
    assert refused.value.code == Refusal.BAD_CHOICE
    clinic.add_payment_type("Cash")
    assert clinic.preview_payment(pid, sources={"Cash": "5"}).payment_total == Decimal("5.00")


def test_currency_setting(clinic):
    clinic.set_currency("nzd")
    assert clinic.currency == "NZD"
    with pytest.raises(BillingError) as refused:
        clinic.set_currency("ZZZ")
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_CHOICE, "currency")
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.set_currency("JPY")
    iid = clinic.create_invoice(pid, [("Consult", "5000", 1)])
    assert clinic.invoice(iid).total == Decimal("5000")
    with pytest.raises(BillingError) as refused:
        clinic.preview_payment(pid, sources={"Cash": "10.50"})
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_AMOUNT, "amount")
    with pytest.raises(BillingError) as refused:
        clinic.set_currency("AUD")
    assert (refused.value.code, refused.value.field) == (Refusal.CURRENCY_IN_USE, "currency")


def test_unknown_records_are_clear_errors(clinic):
    for call in (
        lambda: clinic.patient(999),
        lambda: clinic.invoice(999),
        lambda: clinic.payment(999),
        lambda: clinic.void_invoice(999),
        lambda: clinic.reverse_payment(999),
        lambda: clinic.preview_payment(999),
        lambda: clinic.create_invoice(999, [("Consult", "5", 1)]),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert issubclass(NotFoundError, BillingError) and issubclass(BillingError, ValueError)


def test_payments_list_and_text_round_trip(clinic):
    name = "Zoë O'Brien-Ng 😊 ‏שלום; DROP TABLE patients;--"
    pid = clinic.add_patient(name, "Smith")
    assert clinic.patient(pid).first_name == name
    iid = clinic.create_invoice(pid, [(name, "5", 3, "10")])
    assert clinic.invoice(iid).lines[0].description == name
    assert clinic.invoice(iid).total == Decimal("16.50")
    prepay(clinic, pid, "1")
    assert [p.total for p in clinic.payments(pid)] == [Decimal("1.00")]


def test_future_dates_are_refused(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    tomorrow = date.today() + timedelta(days=1)
    with pytest.raises(BillingError) as refused:
        clinic.preview_payment(pid, sources={"Cash": "5"}, payment_date=tomorrow)
    assert refused.value.code == Refusal.FUTURE_DATE
    with pytest.raises(BillingError) as refused:
        clinic.refund_credit(pid, "1", method="Cash", request_id="x", refund_date=tomorrow)
    assert (refused.value.code, refused.value.field) == (Refusal.FUTURE_DATE, "refund_date")
    with pytest.raises(BillingError) as refused:
        clinic.create_invoice(pid, [("Consult", "5", 1)], issue_date=NOV5, due_date=NOV1)
    assert refused.value.code == Refusal.BAD_DATE


def test_update_settings_is_all_or_nothing(clinic):
    from tests.helpers import snapshot

    clinic.create_invoice(clinic.add_patient("Ada", "Lovelace"), [("Consult", "5", 1)])
    assert not clinic.currency_can_change
    before = snapshot(clinic)
    with pytest.raises(BillingError) as refused:
        clinic.update_settings(
            clinic_name="Harbour Physio",
            currency="EUR",
            allocation_mode="off",
            payment_types=["EFTPOS"],
        )
    assert (refused.value.code, refused.value.field) == (Refusal.CURRENCY_IN_USE, "currency")
    assert snapshot(clinic) == before
    with pytest.raises(BillingError) as refused:
        clinic.update_settings(payment_types=["Cash", "cash"])
    assert (refused.value.code, refused.value.field) == (Refusal.DUPLICATE, "payment_types")
    with pytest.raises(BillingError) as refused:
        clinic.update_settings(payment_types=[])
    assert (refused.value.code, refused.value.field) == (Refusal.MISSING, "payment_types")
    assert snapshot(clinic) == before
    # Retire Cash and bring it back under another spelling, reorder, add: one save.
    clinic.update_settings(payment_types=["HICAPS", "EFTPOS"])
    clinic.update_settings(
        clinic_name="Harbour Physio",
        allocation_mode="off",
        payment_types=["cash", "EFTPOS", "HICAPS"],
    )
    assert clinic.payment_types() == ["Cash", "EFTPOS", "HICAPS"]
    assert (clinic.clinic_name, clinic.allocation_mode) == ("Harbour Physio", AllocationMode.OFF)
    assert clinic.currency == "AUD"
