"""Patient lists (search, sort, windows of rows), payment drafts and the credit history."""

from datetime import date
from decimal import Decimal

import pytest

from desktop_app.core import BillingError, ConcurrentChangeError, Refusal


def test_patient_search_and_sort(clinic):
    ids = {
        name: clinic.add_patient(*name.split())
        for name in ["Ada Lovelace", "grace Hopper", "Alan Turing", "Ada Byron", "Emmy Noether"]
    }
    clinic.record_payment(clinic.preview_payment(ids["Alan Turing"], sources={"Cash": "30"}), "a")
    clinic.record_payment(clinic.preview_payment(ids["Ada Byron"], sources={"Cash": "10"}), "b")
    clinic.create_invoice(ids["Emmy Noether"], [("Consult", "80", 1)])
    names = lambda pids: [r.full_name for r in clinic.patients_by_ids(pids)]  # noqa: E731
    assert names(clinic.patient_ids()) == [
        "Ada Byron",
        "grace Hopper",
        "Ada Lovelace",
        "Emmy Noether",
        "Alan Turing",
    ]
    assert names(clinic.patient_ids("ada")) == ["Ada Byron", "Ada Lovelace"]
    assert names(clinic.patient_ids("ADA love")) == ["Ada Lovelace"]
    assert names(clinic.patient_ids("hop")) == ["grace Hopper"]
    assert clinic.patient_ids("%") == [] and clinic.patient_ids("_") == []
    top_credit = clinic.patient_ids(sort="credit", descending=True)[:2]
    assert names(top_credit) == ["Alan Turing", "Ada Byron"]
    assert names(clinic.patient_ids(sort="outstanding", descending=True)[:1]) == ["Emmy Noether"]
    with pytest.raises(BillingError) as refused:
        clinic.patient_ids(sort="age")
    assert refused.value.code == Refusal.BAD_CHOICE
    window = clinic.patients_by_ids([ids["Emmy Noether"], 9999, ids["Ada Lovelace"]])
    assert [r.full_name for r in window] == ["Emmy Noether", "Ada Lovelace"]
    assert window[0].outstanding == Decimal("80.00")


def test_draft_previews_in_memory_and_saves(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "60"}), "prepay")
    a = clinic.create_invoice(pid, [("Consult", "40", 1)], issue_date=date(2026, 11, 1))
    draft = clinic.payment_draft(pid, source_invoice=a)
    assert draft.payment_types[:2] == ("Cash", "EFTPOS") and draft.credit_available == 6000
    assert draft.patient_name == "Ada Lovelace"
    preview = draft.preview({"Cash": "5"}, {a: "40"})
    assert preview.credit_used == Decimal("35.00")
    with pytest.raises(BillingError) as refused:
        draft.preview({}, {a: "41"})
    assert (refused.value.code, refused.value.field) == (Refusal.OVER_BALANCE, "amount")
    later = clinic.create_invoice(pid, [("Consult", "10", 1)])
    with pytest.raises(ConcurrentChangeError, match="start the payment again") as refused:
        draft.preview({}, {later: "1"})  # the refusal says what to do
    assert refused.value.code == Refusal.CONCURRENT_CHANGE
    # Saving now would also pay the new invoice, which the preview does not show: refused, naming
    # the invoice and what saving would apply to it.
    with pytest.raises(
        ConcurrentChangeError, match=r"Invoice #2 was issued .* \$10.00 to it"
    ) as refused:
        clinic.record_payment(preview, "save")
    assert refused.value.code == Refusal.CONCURRENT_CHANGE
    fresh = clinic.payment_draft(pid, source_invoice=a).preview({"Cash": "5"}, {a: "40"})
    assert fresh.applied == {a: Decimal("40.00"), later: Decimal("10.00")}
    clinic.record_payment(fresh, "save")
    assert clinic.credit(pid) == Decimal("15.00")


def test_credit_history_explains_every_change(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    prepay = clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "100"}), "p")
    a = clinic.create_invoice(pid, [("Consult", "50", 1)])
    b = clinic.create_invoice(pid, [("Consult", "30", 1)])
    use = clinic.record_payment(
        clinic.preview_payment(pid, source_invoice=a, applied={b: "0"}), "u"
    )
    over = clinic.record_payment(
        clinic.preview_payment(pid, sources={"EFTPOS": "40"}, applied={b: "30"}), "over"
    )
    refund = clinic.refund_credit(pid, "20", method="Cash", request_id="r")
    clinic.reverse_payment(use)
    again = clinic.record_payment(clinic.preview_payment(pid, source_invoice=a), "again")
    clinic.void_invoice(a)
    history = clinic.credit_history(pid)
    assert [(m.description, m.change, m.balance) for m in history] == [
        (
            f"Payment {prepay} (Cash) of $100.00: $100.00 left as credit",
            Decimal("100.00"),
            Decimal("100.00"),
        ),
        (f"Credit applied to invoice #1 (payment {use})", Decimal("-50.00"), Decimal("50.00")),
        (
            f"Payment {over} (EFTPOS) of $40.00: $10.00 left as credit",
            Decimal("10.00"),
            Decimal("60.00"),
        ),
        (f"Refund {refund} (Cash) of $20.00", Decimal("-20.00"), Decimal("40.00")),
        (
            f"Credit returned from invoice #1 (payment {use} reversed)",
            Decimal("50.00"),
            Decimal("90.00"),
        ),
        (f"Credit applied to invoice #1 (payment {again})", Decimal("-50.00"), Decimal("40.00")),
        ("Credit returned from invoice #1 (invoice voided)", Decimal("50.00"), Decimal("90.00")),
    ]
    assert history[-1].balance == clinic.credit(pid)
    assert history[0].payment_id == prepay
