"""Printed documents' figures: invoice, receipt and statement, and the letterhead settings."""

from __future__ import annotations

import base64
from datetime import date, timedelta
from decimal import Decimal

import pytest

from desktop_app.core import BillingError, Clinic, NotFoundError, Refusal
from desktop_app.core.domain.letterhead import MAX_LOGO_BYTES

TODAY = date.today()
D = Decimal
#: A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


def pay(clinic: Clinic, pid: int, sources: dict[str, str], rid: str, **kw) -> int:
    return clinic.record_payment(clinic.preview_payment(pid, sources, **kw), rid)


def test_receipt_shows_sources_money_and_credit_applied_and_credit_left(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    pay(clinic, pid, {"Cash": "30"}, "pre", payment_date=days_ago(3))  # $30 prepaid: credit
    inv1 = clinic.create_invoice(pid, [("Consult", "50", 1)], issue_date=days_ago(2))
    inv2 = clinic.create_invoice(pid, [("Massage", "40", 1)], issue_date=days_ago(1))
    # $50 cash + $25 EFTPOS + $15 of the $30 credit pays both ($90); $15 credit remains.
    payment_id = pay(clinic, pid, {"Cash": "50", "EFTPOS": "25"}, "main")
    receipt = clinic.receipt(payment_id)
    assert receipt.payment.sources == {"Cash": D("50.00"), "EFTPOS": D("25.00")}
    assert receipt.payment.total == D("75.00")
    assert receipt.payment.money_applied == D("75.00")
    assert receipt.payment.credit_applied == D("15.00")
    assert receipt.to_credit == D("0.00")
    assert receipt.credit_before == D("30.00") and receipt.credit_after == D("15.00")
    applied = {a.invoice_id: (a.from_money, a.from_credit) for a in receipt.payment.applications}
    assert sum(m + c for m, c in applied.values()) == D("90.00")
    assert set(applied) == {inv1, inv2}
    assert receipt.patient.full_name == "Ada Lovelace"
    # An overpayment: what is not applied is left as credit.
    inv3 = clinic.create_invoice(pid, [("Consult", "50", 1)])
    over = clinic.receipt(pay(clinic, pid, {"Credit card": "80"}, "over", source_invoice=inv3))
    assert (over.payment.money_applied, over.payment.credit_applied) == (D("50.00"), D("0.00"))
    assert over.to_credit == D("30.00")
    assert (over.credit_before, over.credit_after) == (D("15.00"), D("45.00"))
    # Later changes do not rewrite what a receipt says about the moment it was saved.
    clinic.refund_credit(pid, "45", method="Cash", request_id="r", reason="asked")
    assert clinic.receipt(payment_id).credit_after == D("15.00")
    assert clinic.credit(pid) == D("0.00")
    # Nor does removing what it applied, or reversing it: the figures still add up.
    app = next(a for a in clinic.payment(payment_id).applications if a.invoice_id == inv2)
    clinic.remove_application(app.id, "applied to the wrong invoice")
    clinic.reverse_payment(payment_id, "entered twice")
    again = clinic.receipt(payment_id)
    assert (again.money_applied, again.credit_applied, again.to_credit) == (
        D("75.00"),
        D("15.00"),
        D("0.00"),
    )
    assert again.credit_before + again.to_credit - again.credit_applied == again.credit_after
    assert again.payment.reversed


def test_refund_receipt(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    pay(clinic, pid, {"Cash": "30"}, "pre")
    refund_id = clinic.refund_credit(pid, "10", method="Cash", request_id="r", reason="asked")
    receipt = clinic.receipt(refund_id)
    assert receipt.payment.kind == "refund" and receipt.payment.total == D("-10.00")
    assert receipt.to_credit == 0
    assert (receipt.credit_before, receipt.credit_after) == (D("30.00"), D("20.00"))


def test_invoice_document_totals_payments_and_credit_notes(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    inv = clinic.create_invoice(
        pid, [("Consult", "100", 1, "10"), ("Exercise band", "5.50", 2)], issue_date=days_ago(4)
    )
    pay(clinic, pid, {"Cash": "40"}, "p", source_invoice=inv)
    clinic.credit_note(inv, "20", reason="discount", request_id="cn")
    document = clinic.invoice_document(inv)
    assert document.subtotal == D("111.00") and document.tax == D("10.00")
    assert document.invoice.total == D("121.00")
    assert [(p.amount, p.from_money) for p in document.payments] == [(D("40.00"), D("40.00"))]
    assert [n.amount for n in document.credit_notes] == [D("20.00")]
    assert document.invoice.balance == D("61.00")


def test_statement_running_balance_credit_applied_and_credit_shown_negative(clinic):
    ada = clinic.add_patient("Ada", "Lovelace")
    bob = clinic.add_patient("Bob", "Lovelace")
    clinic.create_invoice(ada, [("Consult", "80", 1)], issue_date=days_ago(40))
    pay(clinic, ada, {"Cash": "200"}, "p1", payment_date=days_ago(30))  # $80 paid, $120 credit
    inv = clinic.create_invoice(ada, [("Consult", "50", 1)], issue_date=days_ago(20))
    pay(clinic, ada, {}, "p2", source_invoice=inv, payment_date=days_ago(20))  # $50 from credit
    mistake = pay(clinic, ada, {"EFTPOS": "10"}, "p3", payment_date=days_ago(10))
    clinic.reverse_payment(mistake, "entered twice")
    clinic.transfer_credit(ada, bob, "20", reason="family", request_id="t")
    statement = clinic.statement(ada)
    assert statement.opening_balance == 0
    described = [(ln.description, ln.change, ln.balance) for ln in statement.lines]
    assert described[0] == ("Invoice #1", D("80.00"), D("80.00"))
    assert described[1][1:] == (D("-200.00"), D("-120.00"))  # $120 credit held
    assert described[2][1:] == (D("50.00"), D("-70.00"))
    credit_line = statement.lines[3]
    assert credit_line.description.startswith("Account credit applied to invoice")
    assert (credit_line.change, credit_line.note, credit_line.balance) == (0, 50, D("-70.00"))
    assert described[-1][0].startswith("Credit transferred to Bob")
    assert statement.closing_balance == D("-50.00")
    patient = clinic.patient(ada)
    assert statement.closing_balance == patient.outstanding - patient.credit
    # Charges: two invoices, the reversal and the transfer out; payments: $200 and $10.
    assert statement.charges == D("130.00") + D("10.00") + D("20.00")
    assert statement.payments_and_credits == D("210.00")
    assert statement.credit_applied == D("50.00")
    assert statement.open_invoices == ()
    # A period: the opening balance carries everything before it.
    later = clinic.statement(ada, start=days_ago(25), end=days_ago(15))
    assert later.opening_balance == D("-120.00")
    assert [ln.balance for ln in later.lines] == [D("-70.00"), D("-70.00")]
    assert later.closing_balance == D("-70.00")
    assert clinic.statement(bob).closing_balance == D("-20.00")


def test_statement_lists_open_invoices_and_voids(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    keep = clinic.create_invoice(pid, [("Consult", "80", 1)], issue_date=days_ago(3))
    void = clinic.create_invoice(pid, [("Consult", "60", 1)], issue_date=days_ago(2))
    clinic.void_invoice(void, "wrong patient")
    statement = clinic.statement(pid)
    assert [ln.change for ln in statement.lines] == [D("80.00"), D("60.00"), D("-60.00")]
    assert statement.closing_balance == D("80.00")
    assert [i.id for i in statement.open_invoices] == [keep]


def test_statement_refuses_bad_periods(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    with pytest.raises(BillingError) as refused:
        clinic.statement(pid, end=TODAY + timedelta(days=1))
    assert refused.value.code == Refusal.FUTURE_DATE
    with pytest.raises(BillingError) as refused:
        clinic.statement(pid, start=days_ago(1), end=days_ago(2))
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_DATE, "start")
    with pytest.raises(NotFoundError):
        clinic.statement(99999)
    with pytest.raises(NotFoundError):
        clinic.receipt(99999)
    with pytest.raises(NotFoundError):
        clinic.invoice_document(99999)


def test_letterhead_settings_round_trip_and_audit_a_logo_fingerprint(clinic):
    clinic.update_settings(
        clinic_name="Harbour Physio",
        letterhead={
            "clinic_address": "  12 Harbour St\r\nSydney NSW 2000  ",
            "clinic_contact": "02 9000 0000 · desk@harbour.example",
            "clinic_tax_number": "ABN 12 345 678 901",
            "document_footer": "Thank you.",
        },
        logo=PNG,
    )
    head = clinic.letterhead()
    assert head.name == "Harbour Physio"
    assert head.address == "12 Harbour St\nSydney NSW 2000"
    assert head.tax_number == "ABN 12 345 678 901"
    assert head.logo == PNG and head.logo_format == "png"
    logged = [e for e in clinic.audit_entries_by_ids(clinic.audit_entry_ids()) if "logo" in str(e)]
    assert logged and all(PNG_B64 not in str(e) for e in logged)
    clinic.update_settings(logo=b"")
    assert clinic.letterhead().logo is None


PNG_B64 = base64.b64encode(PNG).decode()


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"logo": b"GIF89a...."}, Refusal.BAD_FILE),  # a PNG or JPEG image only
        ({"logo": b"\x89PNG\r\n\x1a\n" + b"0" * MAX_LOGO_BYTES}, Refusal.TOO_LONG),
        ({"letterhead": {"clinic_address": "x" * 501}}, Refusal.TOO_LONG),
        ({"letterhead": {"clinic_contact": "bad\x00text"}}, Refusal.BAD_TEXT),
        ({"letterhead": {"bank_account": "1"}}, Refusal.BAD_CHOICE),  # no such setting
    ],
)
def test_bad_letterhead_input_changes_nothing(clinic, kwargs, code):
    with pytest.raises(BillingError) as refused:
        clinic.update_settings(clinic_name="Renamed", **kwargs)
    assert refused.value.code == code
    assert clinic.clinic_name != "Renamed"
    assert clinic.letterhead().logo is None


def test_documents_carry_the_address_block_and_the_invoices_extra_information(clinic):
    clinic.set_up_clinic(clinic_name="Harbour Physio", country="United Kingdom")
    ada = clinic.add_patient(
        "Ada",
        "Lovelace",
        title="Ms",
        address="12 St James's Square\nLevel 2",
        city="London",
        postcode="SW1Y 4JH",
        country="GB",
        invoice_extra="Claim 12345\nReferred by Dr Smith",
    )
    invoice_id = clinic.create_invoice(ada, [("Consult", "50", 1)])
    invoice = clinic.invoice_document(invoice_id)
    # The clinic is in the United Kingdom: a British address goes without its country line.
    expected = ("Ms Ada Lovelace", "12 St James's Square", "Level 2", "London SW1Y 4JH")
    assert invoice.recipient == expected
    assert invoice.extra == "Claim 12345\nReferred by Dr Smith"
    assert invoice.patient.invoice_extra == invoice.extra and invoice.patient.city == "London"
    payment_id = pay(clinic, ada, {"Cash": "50"}, "p", source_invoice=invoice_id)
    assert clinic.receipt(payment_id).recipient == expected
    assert clinic.statement(ada).recipient == expected
    # An address abroad keeps its country; "Invoice to" (someone else billed) comes first.
    clinic.update_patient(ada, country="NZ")
    assert clinic.invoice_document(invoice_id).recipient[-1] == "NZ"
    clinic.update_patient(ada, invoice_to="Acme Health Fund\n\n  PO Box 9  \nLondon EC1A 1BB")
    billed = clinic.invoice_document(invoice_id)
    assert billed.recipient == ("Acme Health Fund", "PO Box 9", "London EC1A 1BB")
    assert billed.patient.full_name == "Ada Lovelace"


def test_a_patient_without_an_address_has_no_address_block(clinic):
    grace = clinic.add_patient("Grace", "Hopper", email="grace@example.org")
    invoice_id = clinic.create_invoice(grace, [("Consult", "50", 1)])
    document = clinic.invoice_document(invoice_id)
    assert document.recipient == () and document.extra == ""
    assert clinic.statement(grace).recipient == ()
    # Before the first run the clinic has no country: every country line prints.
    clinic.update_patient(grace, address="1 Main St", city="Sydney", country="AU")
    assert clinic.invoice_document(invoice_id).recipient == (
        "Grace Hopper",
        "1 Main St",
        "Sydney",
        "AU",
    )
