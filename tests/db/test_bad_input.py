"""Every refused call raises a BillingError with a reason and leaves the database unchanged."""

from datetime import date

import pytest

from desktop_app.core import BillingError, Clinic
from tests.helpers import snapshot


@pytest.fixture
def ledger(clinic: Clinic):
    """Ada: $30 credit, an open $50 invoice, a paid one, a void one. Grace: an open invoice."""
    pid = clinic.add_patient("Ada", "Lovelace")
    other = clinic.add_patient("Grace", "Hopper")
    clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "40"}), "prepay")
    paid = clinic.create_invoice(pid, [("Consult", "10", 1)], issue_date=date(2026, 11, 1))
    clinic.record_payment(
        clinic.preview_payment(pid, source_invoice=paid, applied={paid: "10"}), "pay-paid"
    )
    void = clinic.create_invoice(pid, [("Consult", "20", 1)], issue_date=date(2026, 11, 2))
    clinic.void_invoice(void)
    open_ = clinic.create_invoice(pid, [("Consult", "50", 1)], issue_date=date(2026, 11, 3))
    theirs = clinic.create_invoice(other, [("Consult", "50", 1)], issue_date=date(2026, 11, 3))
    return clinic, {
        "pid": pid,
        "other": other,
        "paid": paid,
        "void": void,
        "open": open_,
        "theirs": theirs,
    }


def preview_and_save(clinic, pid, **kwargs):
    clinic.record_payment(clinic.preview_payment(pid, **kwargs), "bad-input")


CASES = [
    # (name, call(clinic, ids), message fragment)
    (
        "malformed source",
        lambda c, i: preview_and_save(c, i["pid"], sources={"Cash": "12,34"}),
        "not an amount",
    ),
    (
        "negative source",
        lambda c, i: preview_and_save(c, i["pid"], sources={"Cash": "-5"}),
        "cannot be negative",
    ),
    (
        "NaN source",
        lambda c, i: preview_and_save(c, i["pid"], sources={"Cash": "NaN"}),
        "not a number",
    ),
    (
        "infinite source",
        lambda c, i: preview_and_save(c, i["pid"], sources={"EFTPOS": "inf"}),
        "not a number",
    ),
    (
        "too precise source",
        lambda c, i: preview_and_save(c, i["pid"], sources={"Cash": "10.005"}),
        "more than 2 decimals",
    ),
    (
        "huge source",
        lambda c, i: preview_and_save(c, i["pid"], sources={"Cash": "1e30"}),
        "not an amount",
    ),
    (
        "huge plain source",
        lambda c, i: preview_and_save(c, i["pid"], sources={"Cash": "10000000000"}),
        "above the limit",
    ),
    ("float source", lambda c, i: preview_and_save(c, i["pid"], sources={"Cash": 10.0}), "exact"),
    (
        "unknown payment type",
        lambda c, i: preview_and_save(c, i["pid"], sources={"Bitcoin": "5"}),
        "not a payment type",
    ),
    (
        "malformed applied",
        lambda c, i: preview_and_save(c, i["pid"], applied={i["open"]: "ten"}),
        "not an amount",
    ),
    (
        "negative applied",
        lambda c, i: preview_and_save(c, i["pid"], applied={i["open"]: "-1"}),
        "cannot be negative",
    ),
    (
        "too precise applied",
        lambda c, i: preview_and_save(c, i["pid"], applied={i["open"]: "1.001"}),
        "more than 2 decimals",
    ),
    (
        "apply to paid invoice",
        lambda c, i: preview_and_save(c, i["pid"], applied={i["paid"]: "1"}),
        "is paid",
    ),
    (
        "apply to void invoice",
        lambda c, i: preview_and_save(c, i["pid"], applied={i["void"]: "1"}),
        "is void",
    ),
    (
        "apply to another patient's invoice",
        lambda c, i: preview_and_save(c, i["pid"], applied={i["theirs"]: "1"}),
        "belongs to another patient",
    ),
    (
        "pay from another patient's invoice",
        lambda c, i: preview_and_save(c, i["pid"], source_invoice=i["theirs"]),
        "belongs to another patient",
    ),
    (
        "apply to missing invoice",
        lambda c, i: preview_and_save(c, i["pid"], applied={99999: "1"}),
        "no invoice",
    ),
    (
        "more than the balance",
        lambda c, i: preview_and_save(
            c, i["pid"], sources={"Cash": "100"}, applied={i["open"]: "50.01"}
        ),
        "more than its balance",
    ),
    (
        "more credit than exists",
        lambda c, i: preview_and_save(c, i["pid"], applied={i["open"]: "30.01"}),
        r"\$30.01 applied but only \$30.00 available",
    ),
    (
        "nothing to save",
        lambda c, i: preview_and_save(c, i["other"], applied={i["theirs"]: "0"}),
        "nothing to save",
    ),
    (
        "empty request id",
        lambda c, i: c.record_payment(c.preview_payment(i["pid"], sources={"Cash": "1"}), ""),
        "request id",
    ),
    (
        "refund more than credit",
        lambda c, i: c.refund_credit(i["pid"], "30.01", method="Cash", request_id="rf"),
        "Only",
    ),
    (
        "refund unknown method",
        lambda c, i: c.refund_credit(i["pid"], "1", method="Gold", request_id="rf"),
        "not a payment type",
    ),
    (
        "refund zero",
        lambda c, i: c.refund_credit(i["pid"], "0", method="Cash", request_id="rf"),
        "Enter the amount",
    ),
    (
        "refund negative",
        lambda c, i: c.refund_credit(i["pid"], "-5", method="Cash", request_id="rf"),
        "cannot be negative",
    ),
    (
        "invoice bad price",
        lambda c, i: c.create_invoice(i["pid"], [("Consult", "abc", 1)]),
        "not an amount",
    ),
    ("invoice no lines", lambda c, i: c.create_invoice(i["pid"], []), "at least one line"),
    ("patient without name", lambda c, i: c.add_patient("  ", "Smith"), "first name"),
    ("patient name too long", lambda c, i: c.add_patient("A", "x" * 201), "longer than 200"),
    (
        "reverse spent prepayment",
        lambda c, i: c.reverse_payment(c.payments(i["pid"])[0].id),
        "already used",
    ),
    ("void twice", lambda c, i: c.void_invoice(i["void"]), "already void"),
    (
        "request id reused for another patient",
        lambda c, i: c.record_payment(
            c.preview_payment(i["other"], sources={"Cash": "5"}), "prepay"
        ),
        "another patient",
    ),
]


@pytest.mark.parametrize(("name", "call", "reason"), CASES, ids=[c[0] for c in CASES])
def test_refusal_changes_nothing(ledger, name, call, reason):
    clinic, ids = ledger
    before = snapshot(clinic)
    with pytest.raises(BillingError, match=reason):
        call(clinic, ids)
    assert snapshot(clinic) == before
    assert clinic.verify() == []
