"""Money movements after a payment, scenario by scenario: removing one application, credit notes
(part, full, refunded at once), voids, transfers between patients, their reversals, refusals that
name what must be undone first, and where each patient's credit came from (oldest spent first).

Every scenario runs on SQLite and PostgreSQL, and ends with the ledger verifying clean.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from desktop_app.core import BillingError, NotFoundError, Refusal
from tests.helpers import snapshot

D = Decimal


def pay(clinic, pid, request_id, *, sources=None, applied=None, source_invoice=None):
    preview = clinic.preview_payment(
        pid, sources=sources or {}, applied=applied or {}, source_invoice=source_invoice
    )
    return clinic.record_payment(preview, request_id)


@pytest.fixture
def ada(clinic):
    return clinic.add_patient("Ada", "Lovelace")


def test_removing_one_application_reopens_the_invoice_and_returns_the_amount_as_credit(clinic, ada):
    a = clinic.create_invoice(ada, [("Consult", "50", 1)], issue_date=date(2026, 11, 1))
    b = clinic.create_invoice(ada, [("Consult", "30", 1)], issue_date=date(2026, 11, 2))
    payment = pay(clinic, ada, "p", sources={"EFTPOS": "80"})
    app_a = next(x for x in clinic.payment(payment).applications if x.invoice_id == a)

    clinic.remove_application(app_a.id, "Should have gone to the health fund")

    assert clinic.invoice(a).status == "open" and clinic.invoice(a).balance == D("50.00")
    assert clinic.invoice(b).status == "paid"
    assert clinic.credit(ada) == D("50.00")
    assert clinic.patient(ada).outstanding == D("50.00")
    record = clinic.payment(payment)
    assert record.total == D("80.00") and record.money_applied == D("30.00")
    assert [x.removed for x in record.applications if x.invoice_id == a] == [True]
    with pytest.raises(BillingError) as refused:
        clinic.remove_application(app_a.id, "again")
    assert refused.value.code == Refusal.ALREADY_DONE
    with pytest.raises(BillingError) as refused:
        clinic.remove_application(app_a.id, "  ")
    assert (refused.value.code, refused.value.field) == (Refusal.MISSING, "reason")
    with pytest.raises(NotFoundError):
        clinic.remove_application(99_999, "missing")
    assert clinic.verify() == []


def test_credit_note_reduces_what_is_owed_first_and_returns_the_paid_part_as_credit(clinic, ada):
    iid = clinic.create_invoice(ada, [("Consult", "100", 1)], issue_date=date(2026, 11, 1))
    pay(clinic, ada, "p", sources={"Cash": "50"}, applied={iid: "50"})

    note = clinic.credit_note(iid, "80", reason="Session cut short", request_id="cn-1")

    invoice = clinic.invoice(iid)
    assert (invoice.paid, invoice.credited, invoice.balance, invoice.status) == (
        D("50.00"),
        D("50.00"),
        D("0.00"),
        "paid",
    )
    assert clinic.credit(ada) == D("30.00")  # paid $50 for what is now a $20 invoice
    assert clinic.patient(ada).outstanding == D("0.00")
    [record] = clinic.credit_notes(ada)
    assert (record.id, record.amount, record.applied, record.to_credit, record.reversed) == (
        note,
        D("80.00"),
        D("50.00"),
        D("30.00"),
        False,
    )
    assert clinic.credit_note(iid, "80", reason="Session cut short", request_id="cn-1") == note
    # The refusal says how much of the invoice can still be credited.
    with pytest.raises(
        BillingError, match=r"Only \$20\.00 of invoice #1 can still be credited"
    ) as refused:
        clinic.credit_note(iid, "20.01", reason="more", request_id="cn-2")
    assert (refused.value.code, refused.value.field) == (Refusal.OVER_BALANCE, "amount")
    clinic.credit_note(iid, reason="Rest of it", request_id="cn-3")  # all that is left: $20
    assert clinic.credit(ada) == D("50.00")
    with pytest.raises(BillingError) as refused:
        clinic.credit_note(iid, reason="again", request_id="cn-4")
    assert refused.value.code == Refusal.ALREADY_DONE
    assert clinic.verify() == []


def test_credit_note_on_an_unpaid_invoice_gives_no_credit_and_cannot_be_refunded(clinic, ada):
    iid = clinic.create_invoice(ada, [("Consult", "100", 1)])
    before = snapshot(clinic)
    with pytest.raises(BillingError) as refused:
        clinic.credit_note(iid, "40", reason="Discount", request_id="c", refund_method="Cash")
    assert (refused.value.code, refused.value.field) == (Refusal.NOTHING_TO_SAVE, "refund_method")
    assert snapshot(clinic) == before
    clinic.credit_note(iid, "40", reason="Discount", request_id="c")
    assert clinic.invoice(iid).balance == D("60.00") and clinic.credit(ada) == D("0.00")
    assert clinic.patient(ada).outstanding == D("60.00")


def test_credit_note_refunded_at_once_records_the_refund_with_it(clinic, ada):
    iid = clinic.create_invoice(ada, [("Consult", "100", 1)])
    pay(clinic, ada, "p", sources={"EFTPOS": "100"}, applied={iid: "100"})
    clinic.credit_note(iid, "25", reason="Overcharged", request_id="c", refund_method="EFTPOS")
    assert clinic.credit(ada) == D("0.00")
    refund = clinic.payments(ada)[-1]
    assert (refund.kind, refund.total, refund.sources) == (
        "refund",
        D("-25.00"),
        {"EFTPOS": D("-25.00")},
    )
    assert "CN-1" in (refund.note or "")
    assert clinic.verify() == []


def test_credit_note_refusals_change_nothing(clinic, ada):
    iid = clinic.create_invoice(ada, [("Consult", "100", 1)], issue_date=date(2026, 11, 1))
    before = snapshot(clinic)
    for kwargs, code, field in [
        ({"amount": "0", "reason": "r"}, Refusal.BAD_AMOUNT, "amount"),
        ({"amount": "-5", "reason": "r"}, Refusal.BAD_AMOUNT, "amount"),
        ({"amount": "100.01", "reason": "r"}, Refusal.OVER_BALANCE, "amount"),
        ({"amount": "10", "reason": " "}, Refusal.MISSING, "reason"),
        ({"amount": "10", "reason": "bad\x00text"}, Refusal.BAD_TEXT, "reason"),
        (
            {"amount": "10", "reason": "r", "note_date": date(2026, 10, 1)},  # before its invoice
            Refusal.BAD_DATE,
            "note_date",
        ),
        (
            {"amount": "10", "reason": "r", "refund_method": "Cheque"},  # nothing to refund
            Refusal.NOTHING_TO_SAVE,
            "refund_method",
        ),
    ]:
        with pytest.raises(BillingError) as refused:
            clinic.credit_note(iid, request_id="x", **kwargs)
        assert (refused.value.code, refused.value.field) == (code, field), kwargs
    assert snapshot(clinic) == before
    clinic.void_invoice(clinic.create_invoice(ada, [("Other", "5", 1)]))
    with pytest.raises(BillingError) as refused:
        clinic.credit_note(2, reason="r", request_id="y")
    assert refused.value.code == Refusal.NOT_OPEN


def test_void_is_refused_while_an_invoice_has_credit_notes(clinic, ada):
    iid = clinic.create_invoice(ada, [("Consult", "100", 1)])
    note = clinic.credit_note(iid, "30", reason="Discount", request_id="c")
    # The refusal names the credit note and says what to do instead.
    with pytest.raises(
        BillingError, match=r"CN-1.*credit note for the rest of its total \(\$70\.00\)"
    ) as refused:
        clinic.void_invoice(iid)
    assert refused.value.code == Refusal.HAS_CREDIT_NOTES
    clinic.reverse_credit_note(note, "Discount not approved")
    assert clinic.invoice(iid).balance == D("100.00")
    clinic.void_invoice(iid)
    assert clinic.patient(ada).outstanding == D("0.00")
    assert clinic.verify() == []


def test_reversing_a_credit_note_whose_credit_was_spent_names_what_used_it(clinic, ada):
    a = clinic.create_invoice(ada, [("Consult", "100", 1)], issue_date=date(2026, 11, 1))
    pay(clinic, ada, "p", sources={"Cash": "100"}, applied={a: "100"})
    note = clinic.credit_note(a, "40", reason="Discount", request_id="c")
    b = clinic.create_invoice(ada, [("Massage", "30", 1)], issue_date=date(2026, 11, 3))
    pay(clinic, ada, "use", source_invoice=b)
    before = snapshot(clinic)
    with pytest.raises(
        BillingError, match=r"already used by Credit applied to invoice #2"
    ) as refused:
        clinic.reverse_credit_note(note)
    assert refused.value.code == Refusal.CREDIT_SPENT
    assert snapshot(clinic) == before


def test_reversing_a_prepayment_whose_credit_was_spent_names_the_invoices(clinic, ada):
    prepay = pay(clinic, ada, "pre", sources={"Cash": "100"})
    a = clinic.create_invoice(ada, [("Consult", "60", 1)], issue_date=date(2026, 11, 1))
    b = clinic.create_invoice(ada, [("Consult", "30", 1)], issue_date=date(2026, 11, 2))
    pay(clinic, ada, "use", source_invoice=a)  # oldest first: A $60, B $30 from the credit
    before = snapshot(clinic)
    with pytest.raises(BillingError) as refused:
        clinic.reverse_payment(prepay)
    assert refused.value.code == Refusal.CREDIT_SPENT
    message = str(refused.value)
    assert "takes back $100.00" in message and "only $10.00" in message
    assert "invoice #1" in message and "invoice #2" in message and "$60.00" in message
    assert snapshot(clinic) == before
    for app in clinic.payment(clinic.payments(ada)[-1].id).applications:
        clinic.remove_application(app.id, "Prepayment was entered twice")
    clinic.reverse_payment(prepay, "Entered twice")
    assert clinic.credit(ada) == D("0.00")
    assert {clinic.invoice(i).status for i in (a, b)} == {"open"}
    assert clinic.verify() == []


def test_transfer_moves_credit_between_patients_and_both_histories_show_it(clinic, ada):
    byron = clinic.add_patient("Byron", "Lovelace")
    pay(clinic, ada, "pre", sources={"Cash": "50"})
    transfer = clinic.transfer_credit(ada, byron, "20", reason="Family account", request_id="t")
    assert clinic.transfer_credit(ada, byron, "20", reason="Family account", request_id="t") == (
        transfer
    )
    assert (clinic.credit(ada), clinic.credit(byron)) == (D("30.00"), D("20.00"))
    assert clinic.credit_history(ada)[-1].description == "Transferred $20.00 to Byron Lovelace"
    assert clinic.credit_history(byron)[-1].description == ("Transferred from Ada Lovelace: $20.00")
    [record] = clinic.transfers(byron)
    assert (record.from_name, record.to_name, record.amount) == (
        "Ada Lovelace",
        "Byron Lovelace",
        D("20.00"),
    )
    [lot] = clinic.credit_sources(byron)
    assert (lot.origin, lot.origin_id, lot.remaining) == ("transfer", transfer, D("20.00"))

    before = snapshot(clinic)
    for args, code in [
        ((ada, ada, "5"), Refusal.BAD_CHOICE),  # choose another patient
        ((ada, byron, "30.01"), Refusal.OVER_CREDIT),
        ((ada, byron, "0"), Refusal.BAD_AMOUNT),
        ((ada, 99_999, "5"), Refusal.NOT_FOUND),
    ]:
        with pytest.raises(BillingError) as refused:
            clinic.transfer_credit(*args, reason="r", request_id="t2")
        assert refused.value.code == code, args
    with pytest.raises(BillingError) as refused:
        clinic.transfer_credit(byron, ada, "1", reason="r", request_id="t")
    assert refused.value.code == Refusal.REQUEST_REUSED
    assert snapshot(clinic) == before

    iid = clinic.create_invoice(byron, [("Consult", "15", 1)])
    pay(clinic, byron, "use", source_invoice=iid)
    with pytest.raises(
        BillingError, match=r"already used by Credit applied to invoice #1"
    ) as refused:
        clinic.reverse_transfer(transfer)  # the refusal names what used the credit
    assert refused.value.code == Refusal.CREDIT_SPENT
    clinic.remove_application(clinic.payments(byron)[-1].applications[0].id, "wrong patient")
    clinic.reverse_transfer(transfer, "Wrong family")
    assert (clinic.credit(ada), clinic.credit(byron)) == (D("50.00"), D("0.00"))
    assert clinic.invoice(iid).balance == D("15.00")
    with pytest.raises(BillingError) as refused:
        clinic.reverse_transfer(transfer)
    assert refused.value.code == Refusal.ALREADY_DONE
    assert clinic.verify() == []


def test_credit_remembers_where_it_came_from_and_is_spent_oldest_first(clinic, ada):
    first = pay(clinic, ada, "first", sources={"Cash": "30"})
    a = clinic.create_invoice(ada, [("Consult", "100", 1)])
    pay(clinic, ada, "pay-a", sources={"Cash": "100"}, applied={a: "100"})
    note = clinic.credit_note(a, "50", reason="Discount", request_id="cn")
    b = clinic.create_invoice(ada, [("Consult", "40", 1)])
    pay(clinic, ada, "use", source_invoice=b)  # $40 from credit: $30 oldest, then $10 of the note

    lots = clinic.credit_sources(ada)
    assert [(lot.origin, lot.origin_id, lot.amount, lot.remaining) for lot in lots] == [
        ("payment", first, D("30.00"), D("0.00")),
        ("credit_note", note, D("50.00"), D("40.00")),
    ]
    assert [(u.description, u.amount) for u in lots[0].uses] == [
        ("Credit applied to invoice #2 (payment 3)", D("30.00"))
    ]
    assert [(u.description, u.amount) for u in lots[1].uses] == [
        ("Credit applied to invoice #2 (payment 3)", D("10.00"))
    ]
    assert lots[1].description.startswith("Credit note CN-1 on invoice #1")
    assert sum(lot.remaining for lot in lots) == clinic.credit(ada)

    # Undoing the use gives the credit back to the very lots it came from.
    clinic.remove_application(clinic.payments(ada)[-1].applications[0].id, "wrong invoice")
    lots = clinic.credit_sources(ada)
    assert [(lot.origin_id, lot.remaining, lot.uses) for lot in lots] == [
        (first, D("30.00"), ()),
        (note, D("50.00"), ()),
    ]
    assert clinic.verify() == []


def test_text_with_nul_or_control_characters_is_refused_everywhere(clinic, ada):
    before = snapshot(clinic)
    iid = None
    for call, field in [
        (lambda: clinic.add_patient("Ad\x00a", "Lovelace"), "first_name"),
        (lambda: clinic.create_invoice(ada, [("Con\x00sult", "10", 1)]), "lines"),
        (lambda: clinic.set_clinic_name("Clinic\x00"), "clinic_name"),
        # a description is one line
        (
            lambda: clinic.create_invoice(
                ada, [("Consult\twith notes\nand a second line", "10", 1)]
            ),
            "lines",
        ),
    ]:
        with pytest.raises(BillingError) as refused:
            call()
        assert (refused.value.code, refused.value.field) == (Refusal.BAD_TEXT, field)
    with pytest.raises(BillingError, match="U\\+001B") as refused:  # names the code point
        clinic.add_patient("Ada", "Love\x1blace")
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_TEXT, "last_name")
    assert snapshot(clinic) == before
    iid = clinic.create_invoice(ada, [("Consult with notes", "10", 1)])
    clinic.void_invoice(iid, "Entered twice:\n\tsee invoice 1")  # a reason may have lines


def test_payments_behind_a_credit_note_stay_until_the_note_is_reversed(clinic, ada):
    iid = clinic.create_invoice(ada, [("Consult", "100", 1)])
    payment = pay(clinic, ada, "p", sources={"Cash": "100"}, applied={iid: "100"})
    note = clinic.credit_note(iid, reason="Cancelled", request_id="cn")  # $100 back as credit
    before = snapshot(clinic)
    # Each refusal names the credit note and what to undo first.
    with pytest.raises(
        BillingError, match=r"CN-1 already returned \$100\.00.*Reverse the credit"
    ) as refused:
        clinic.reverse_payment(payment)  # e.g. the card payment was charged back
    assert refused.value.code == Refusal.HAS_CREDIT_NOTES
    with pytest.raises(BillingError, match="Reverse the credit note first") as refused:
        clinic.remove_application(clinic.payment(payment).applications[0].id, "wrong invoice")
    assert refused.value.code == Refusal.HAS_CREDIT_NOTES
    assert snapshot(clinic) == before
    clinic.reverse_credit_note(note, "Charge-back instead")
    clinic.reverse_payment(payment, "Charged back")
    assert clinic.invoice(iid).balance == D("100.00") and clinic.credit(ada) == D("0.00")
    assert clinic.verify() == []


def test_a_request_id_is_not_reused_for_a_different_credit_note_or_transfer(clinic, ada):
    byron = clinic.add_patient("Byron", "Lovelace")
    iid = clinic.create_invoice(ada, [("Consult", "100", 1)])
    pay(clinic, ada, "p", sources={"Cash": "150"}, applied={iid: "100"})
    clinic.credit_note(iid, "10", reason="Discount", request_id="cn")
    clinic.transfer_credit(ada, byron, "10", reason="Family", request_id="t")
    before = snapshot(clinic)
    for call in [
        lambda: clinic.credit_note(iid, "90", reason="Discount", request_id="cn"),
        lambda: clinic.credit_note(
            iid, "10", reason="Discount", request_id="cn", refund_method="Cash"
        ),
        lambda: clinic.transfer_credit(ada, byron, "40", reason="Family", request_id="t"),
    ]:
        with pytest.raises(BillingError) as refused:
            call()
        assert refused.value.code == Refusal.REQUEST_REUSED
    assert snapshot(clinic) == before


def test_credit_saved_in_one_clock_tick_is_traced_in_the_order_it_happened(
    clinic, ada, monkeypatch
):
    """Some systems' clocks tick every 15 ms: a credit note refunded at once, its refund and the
    refund's reversal can all be saved within one tick. The history and the lots must still
    follow the order they happened in (SQLite stamps with this computer's clock; PostgreSQL with
    the server's)."""
    from datetime import UTC, datetime

    from desktop_app.core.ledger import audit

    class CoarseClock(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return datetime(2026, 11, 25, 9, 0, tzinfo=tz or UTC)

    iid = clinic.create_invoice(ada, [("Consult", "100", 1)])
    pay(clinic, ada, "p", sources={"Cash": "100"}, applied={iid: "100"})
    monkeypatch.setattr(audit, "datetime", CoarseClock)
    clinic.credit_note(iid, "40", reason="Discount", request_id="c", refund_method="Cash")
    refund = clinic.payments(ada)[-1].id
    clinic.reverse_payment(refund, "Refunded by mistake")
    assert [m.balance for m in clinic.credit_history(ada)] == [D("40.00"), D("0.00"), D("40.00")]
    [lot] = clinic.credit_sources(ada)
    assert (lot.origin, lot.remaining, lot.uses) == ("credit_note", D("40.00"), ())
    assert clinic.verify() == []


def test_issue_credit_note_is_the_verb_and_credit_note_still_works(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(pid, [("Consult", "50", 1)])
    first = clinic.issue_credit_note(iid, "10", reason="discount", request_id="cn-1")
    second = clinic.credit_note(iid, "5", reason="goodwill", request_id="cn-2")
    assert [n.id for n in clinic.credit_notes(pid)] == [first, second]
    assert clinic.invoice(iid).balance == Decimal("35.00")
