"""Reports and documents with third-party payers, on SQLite and PostgreSQL: aged receivables and
takings for everyone, patients, all payers or one payer; the payer statement; a patient's
statement with what was billed to their payers apart; invoices addressed to the payer; remittance
receipts; the audit log naming payers and memberships."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from desktop_app.core import BillingError, Clinic, NotFoundError, PermissionDenied, Refusal

TODAY = date.today()
D = Decimal


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


@pytest.fixture
def funds(clinic: Clinic) -> dict[str, int]:
    """Two payers, three patients, split billing and two remittances.

    * Bupa (health fund) pays for Ada (member 123456): $120.00 (45 days ago, claim CLM-1001) and
      80% of a $95.50 visit 5 days ago (claim CLM-1002): $76.40 to Bupa, the $19.10 gap to Ada.
      Bupa remits $150.00 yesterday (REM-2026-11): $120.00 and $30.00, so it owes $46.40.
    * NDIS (government scheme) pays for Alan: $210.35 (100 days ago, plan NDIS-55); it remits
      $100.00 today (NDIS-R1), so it owes $110.35.
    * Grace pays herself: $60.00 (70 days ago), $25.00 cash today: she owes $35.00.
    """
    ada = clinic.add_patient("Ada", "Lovelace", date_of_birth=date(1985, 12, 10))
    alan = clinic.add_patient("Alan", "Turing")
    grace = clinic.add_patient("Grace", "Hopper")
    bupa = clinic.add_payer(
        "Bupa",
        kind="health fund",
        email="claims@bupa.example",
        address="GPO Box 9999\nSydney NSW 2001",
    )
    ndis = clinic.add_payer("NDIS", kind="government scheme")
    clinic.add_membership(ada, bupa, member_number="123456", default_for_invoices=True)
    clinic.add_membership(alan, ndis, member_number="430000001")
    ids = {"ada": ada, "alan": alan, "grace": grace, "bupa": bupa, "ndis": ndis}
    ids["a_old"] = clinic.create_invoice(
        ada, [("Consult", "120", 1)], issue_date=days_ago(45), claim_reference="CLM-1001"
    )
    ids["a_payer"], ids["a_gap"] = clinic.create_split_invoice(
        ada,
        [("Long consult", "95.50", 1)],
        payer=bupa,
        payer_share="80%",
        claim_reference="CLM-1002",
        issue_date=days_ago(5),
    )
    ids["t_ndis"] = clinic.create_invoice(
        alan,
        [("Therapy", "210.35", 1)],
        bill_to=ndis,
        claim_reference="NDIS-55",
        issue_date=days_ago(100),
    )
    ids["g_own"] = clinic.create_invoice(grace, [("Consult", "60", 1)], issue_date=days_ago(70))
    ids["rem_bupa"] = clinic.record_payer_payment(
        clinic.preview_payer_payment(
            bupa,
            sources={"Bank transfer": "150.00"},
            reference="REM-2026-11",
            payment_date=days_ago(1),
        ),
        request_id="rem-bupa",
    )
    ids["rem_ndis"] = clinic.record_payer_payment(
        clinic.preview_payer_payment(ndis, sources={"Bank transfer": "100"}, reference="NDIS-R1"),
        request_id="rem-ndis",
    )
    ids["grace_pays"] = clinic.record_payment(
        clinic.preview_payment(grace, {"Cash": "25"}), "grace-pays"
    )
    return ids


def test_the_scenario_is_as_described(clinic, funds):
    assert clinic.invoice(funds["a_payer"]).total == D("76.40")
    assert clinic.invoice(funds["a_gap"]).total == D("19.10")
    assert clinic.payer(funds["bupa"]).outstanding == D("46.40")
    assert clinic.payer(funds["ndis"]).outstanding == D("110.35")
    assert clinic.verify() == []


def test_aged_receivables_for_everyone_names_payers_by_their_name(clinic, funds):
    report = clinic.aged_receivables()
    assert [(r.patient_name, r.total, r.payer_id) for r in report.rows] == [
        ("NDIS", D("110.35"), funds["ndis"]),
        ("Bupa", D("46.40"), funds["bupa"]),
        ("Hopper, Grace", D("35.00"), None),
        ("Lovelace, Ada", D("19.10"), None),
    ]
    assert report.buckets == (D("65.50"), D("0.00"), D("35.00"), D("110.35"))
    assert report.total == D("210.85") == clinic.summary().outstanding
    assert (report.scope, report.payer_id, report.patients, report.payers) == (
        "everyone",
        None,
        2,
        2,
    )
    bupa = report.rows[1]
    assert (bupa.patient_id, bupa.open_invoices, bupa.oldest_invoice) == (
        funds["bupa"],
        1,
        days_ago(5),
    )


def test_aged_receivables_of_patients_of_payers_and_of_one_payer(clinic, funds):
    patients = clinic.aged_receivables(scope="patients")
    assert [(r.patient_name, r.total) for r in patients.rows] == [
        ("Hopper, Grace", D("35.00")),
        ("Lovelace, Ada", D("19.10")),
    ]
    assert patients.buckets == (D("19.10"), D("0.00"), D("35.00"), D("0.00"))
    assert patients.total == D("54.10")
    payers = clinic.aged_receivables(scope="payers")
    assert [(r.patient_name, r.total) for r in payers.rows] == [
        ("NDIS", D("110.35")),
        ("Bupa", D("46.40")),
    ]
    assert payers.buckets == (D("46.40"), D("0.00"), D("0.00"), D("110.35"))
    assert payers.total + patients.total == clinic.summary().outstanding
    # One payer: what it owes for each patient its invoices are for.
    bupa = clinic.aged_receivables(payer=funds["bupa"])
    assert [(r.patient_id, r.patient_name, r.total, r.payer_id) for r in bupa.rows] == [
        (funds["ada"], "Lovelace, Ada", D("46.40"), funds["bupa"])
    ]
    assert (bupa.scope, bupa.payer_id, bupa.payer_name) == ("payers", funds["bupa"], "Bupa")
    assert bupa.total == clinic.payer(funds["bupa"]).outstanding
    # scope="payers" with a payer is the same report; by due date too.
    assert clinic.aged_receivables(scope="payers", payer=funds["bupa"]).rows == bupa.rows
    ndis = clinic.aged_receivables(by="due_date", payer=funds["ndis"])
    assert [(r.patient_name, r.buckets[3]) for r in ndis.rows] == [("Turing, Alan", D("110.35"))]


def test_takings_of_patients_of_payers_and_of_one_payer(clinic, funds):
    start = days_ago(1)
    everyone = clinic.takings(start, TODAY)
    assert [(line.payment_type, line.received, line.payments) for line in everyone.lines] == [
        ("Cash", D("25.00"), 1),
        ("Bank transfer", D("250.00"), 2),
    ]
    assert everyone.received == D("275.00") and everyone.remittances == ()
    patients = clinic.takings(start, TODAY, scope="patients")
    assert [(line.payment_type, line.received) for line in patients.lines] == [("Cash", D("25.00"))]
    assert (patients.applied_from_money, patients.to_credit) == (D("25.00"), D("0.00"))
    payers = clinic.takings(start, TODAY, scope="payers")
    assert [(line.payment_type, line.received) for line in payers.lines] == [
        ("Bank transfer", D("250.00"))
    ]
    assert payers.received + patients.received == everyone.received
    assert [
        (r.payer_name, r.reference, r.day, r.received, r.applied, r.to_credit, r.invoices)
        for r in payers.remittances
    ] == [
        ("Bupa", "REM-2026-11", days_ago(1), D("150.00"), D("150.00"), D("0.00"), 2),
        ("NDIS", "NDIS-R1", TODAY, D("100.00"), D("100.00"), D("0.00"), 1),
    ]
    bupa = clinic.takings(start, TODAY, payer=funds["bupa"])
    assert bupa.received == D("150.00") and bupa.payer_name == "Bupa"
    assert [r.payment_id for r in bupa.remittances] == [funds["rem_bupa"]]
    # Today only: NDIS's remittance, not Bupa's of yesterday.
    assert clinic.takings(TODAY, payer=funds["bupa"]).received == D("0.00")
    assert clinic.takings(TODAY, scope="payers").received == D("100.00")
    # A reversed remittance is not takings; it is counted underneath.
    clinic.reverse_payment(funds["rem_ndis"], "keyed against the wrong payer")
    after = clinic.takings(start, TODAY, payer=funds["ndis"])
    assert (after.received, after.reversed_payments, after.remittances) == (D("0.00"), 1, ())


def test_a_payers_credit_and_its_refund_in_the_takings_and_the_credit_held(clinic, funds):
    # NDIS pays $150.00 more than it owes: $39.65 is left as its credit, then $10 refunded.
    over = clinic.record_payer_payment(
        clinic.preview_payer_payment(
            funds["ndis"], sources={"Bank transfer": "150"}, reference="NDIS-R2"
        ),
        request_id="rem-ndis-2",
    )
    clinic.refund_payer_credit(funds["ndis"], "10", method="Bank transfer", request_id="ndis-r")
    takings = clinic.takings(TODAY, payer=funds["ndis"])
    assert (takings.received, takings.refunded, takings.net) == (
        D("250.00"),
        D("10.00"),
        D("240.00"),
    )
    assert (takings.applied_from_money, takings.to_credit) == (D("210.35"), D("39.65"))
    assert [(r.payment_id, r.to_credit) for r in takings.remittances][-1] == (over, D("39.65"))
    held = clinic.credit_liability()
    assert [(row.patient_name, row.credit) for row in held.rows] == [("NDIS", D("29.65"))]


def test_report_scopes_are_checked(clinic, funds):
    for call in (clinic.aged_receivables, lambda **kw: clinic.takings(TODAY, **kw)):
        with pytest.raises(BillingError) as refused:
            call(scope="somebody")
        assert (refused.value.code, refused.value.field) == (Refusal.BAD_CHOICE, "scope")
        with pytest.raises(BillingError) as refused:
            call(scope="patients", payer=funds["bupa"])
        assert (refused.value.code, refused.value.field) == (Refusal.BAD_CHOICE, "payer")
        with pytest.raises(NotFoundError):
            call(payer=funds["ada"])  # a patient is not a payer
        with pytest.raises(NotFoundError):
            call(payer="Bupa")


def test_payer_statement_opening_and_closing_balance(clinic, funds):
    whole = clinic.payer_statement(funds["bupa"])
    assert whole.payer.name == "Bupa" and whole.start is None
    assert [(ln.description, ln.patient, ln.reference, ln.change) for ln in whole.lines] == [
        (f"Invoice #{clinic.invoice(funds['a_old']).number}", "Ada Lovelace", "CLM-1001", D("120")),
        (
            f"Invoice #{clinic.invoice(funds['a_payer']).number}",
            "Ada Lovelace",
            "CLM-1002",
            D("76.40"),
        ),
        (f"Remittance {funds['rem_bupa']}", "", "REM-2026-11", D("-150.00")),
    ]
    assert whole.opening_balance == D("0.00")
    assert whole.closing_balance == D("46.40") == clinic.payer(funds["bupa"]).outstanding
    assert (whole.charges, whole.payments_and_credits) == (D("196.40"), D("150.00"))
    assert whole.recipient == ("Bupa", "GPO Box 9999", "Sydney NSW 2001", "claims@bupa.example")
    [still_open] = whole.open_invoices
    assert (still_open.id, still_open.patient_name, still_open.claim_reference) == (
        funds["a_payer"],
        "Ada Lovelace",
        "CLM-1002",
    )
    assert (still_open.total, still_open.balance) == (D("76.40"), D("46.40"))
    # From 10 days ago: the $120.00 of 45 days ago is the opening balance.
    recent = clinic.payer_statement(funds["bupa"], days_ago(10))
    assert recent.opening_balance == D("120.00")
    assert [ln.balance for ln in recent.lines] == [D("196.40"), D("46.40")]
    assert recent.closing_balance == D("46.40")
    # To the day before the remittance: it is not there, and no open invoices are listed.
    earlier = clinic.payer_statement(funds["bupa"], days_ago(10), days_ago(2))
    assert (earlier.closing_balance, earlier.open_invoices) == (D("196.40"), ())


def test_payer_statement_shows_credit_as_negative_and_refuses_what_is_not_a_payer(clinic, funds):
    clinic.record_payer_payment(
        clinic.preview_payer_payment(
            funds["ndis"], sources={"Bank transfer": "150"}, reference="NDIS-R2"
        ),
        request_id="rem-ndis-2",
    )
    statement = clinic.payer_statement(funds["ndis"])
    assert statement.closing_balance == D("-39.65")  # the clinic holds NDIS's credit
    assert statement.lines[-1].description.startswith("Remittance")
    assert statement.recipient == ("NDIS",)
    with pytest.raises(NotFoundError):
        clinic.payer_statement(funds["ada"])
    with pytest.raises(NotFoundError):
        clinic.payer_statement(123456)
    with pytest.raises(BillingError) as refused:
        clinic.payer_statement(funds["bupa"], TODAY, days_ago(3))
    assert refused.value.code == Refusal.BAD_DATE
    with pytest.raises(BillingError) as refused:
        clinic.payer_statement(funds["bupa"], None, TODAY + timedelta(days=1))
    assert refused.value.code == Refusal.FUTURE_DATE


def test_a_patients_statement_lists_what_was_billed_to_their_payer_apart(clinic, funds):
    statement = clinic.statement(funds["ada"])
    # Only the gap is Ada's: the payer's invoices are in no balance of hers.
    gap, payer_part = (clinic.invoice(funds[k]).number for k in ("a_gap", "a_payer"))
    assert [(ln.description, ln.change) for ln in statement.lines] == [
        (f"Invoice #{gap} (the gap of #{payer_part}, billed to Bupa)", D("19.10"))
    ]
    assert statement.closing_balance == D("19.10") == clinic.patient(funds["ada"]).outstanding
    [(payer, billed)] = statement.payers_billed
    assert payer == "Bupa"
    assert [(b.id, b.claim_reference, b.total, b.balance, b.status) for b in billed] == [
        (funds["a_old"], "CLM-1001", D("120.00"), D("0.00"), "paid"),
        (funds["a_payer"], "CLM-1002", D("76.40"), D("46.40"), "open"),
    ]
    assert {b.reference_label for b in billed} == {"Claim number"}
    # A statement of the last ten days lists the payer's invoice of the period only...
    recent = clinic.statement(funds["ada"], days_ago(10))
    assert [b.id for b in recent.billed_to_payers] == [funds["a_payer"]]
    # ...and one that ends before today, none open beyond its period.
    old = clinic.statement(funds["ada"], days_ago(60), days_ago(30))
    assert [b.id for b in old.billed_to_payers] == [funds["a_old"]]
    assert old.lines == () and old.closing_balance == D("0.00")
    # A patient without a payer has no such section.
    assert clinic.statement(funds["grace"]).billed_to_payers == ()


def test_invoice_billed_to_a_payer_is_addressed_to_it_and_names_the_patient(clinic, funds):
    document = clinic.invoice_document(funds["a_old"])
    assert document.payer is not None and document.payer.name == "Bupa"
    assert document.recipient == ("Bupa", "GPO Box 9999", "Sydney NSW 2001", "claims@bupa.example")
    assert document.patient.id == funds["ada"]
    assert document.patient.full_name == "Ada Lovelace"
    assert document.patient.date_of_birth == date(1985, 12, 10)
    assert document.member_number == "123456"
    assert document.invoice.claim_reference == "CLM-1001"
    assert document.claim_label == "Claim number"
    assert document.invoice.balance == D("0.00")
    ndis = clinic.invoice_document(funds["t_ndis"])
    assert ndis.claim_label == "Plan or approval number"
    assert (ndis.member_number, ndis.recipient) == ("430000001", ("NDIS",))
    # The patient's own gap invoice is the patient's, as before.
    gap = clinic.invoice_document(funds["a_gap"])
    assert (gap.payer, gap.member_number, gap.patient.id) == (None, None, funds["ada"])
    assert gap.invoice.split_with_id == funds["a_payer"]


def test_member_number_is_the_membership_valid_on_the_service_day(clinic, funds):
    clinic.update_membership(
        clinic.memberships(funds["alan"])[0].id, valid_to=days_ago(50), member_number="OLD-1"
    )
    clinic.add_membership(
        funds["alan"], funds["ndis"], member_number="NEW-2", valid_from=days_ago(49)
    )
    assert clinic.invoice_document(funds["t_ndis"]).member_number == "OLD-1"  # 100 days ago
    later = clinic.create_invoice(funds["alan"], [("Therapy", "50", 1)], bill_to=funds["ndis"])
    assert clinic.invoice_document(later).member_number == "NEW-2"


def test_a_remittance_receipt_names_the_payer_and_each_invoices_patient(clinic, funds):
    receipt = clinic.receipt(funds["rem_bupa"])
    assert receipt.payer is not None and receipt.payer.name == "Bupa"
    assert receipt.reference == "REM-2026-11"
    assert receipt.recipient[0] == "Bupa"
    assert [(a.invoice_id, a.amount) for a in receipt.payment.applications] == [
        (funds["a_old"], D("120.00")),
        (funds["a_payer"], D("30.00")),
    ]
    assert [(b.invoice_id, b.patient_name, b.claim_reference) for b in receipt.billed_for] == [
        (funds["a_old"], "Ada Lovelace", "CLM-1001"),
        (funds["a_payer"], "Ada Lovelace", "CLM-1002"),
    ]
    billed = receipt.patient_of(funds["a_payer"])
    assert billed is not None and billed.patient_id == funds["ada"]
    # A patient's receipt is as before.
    own = clinic.receipt(funds["grace_pays"])
    assert (own.payer, own.reference, own.billed_for) == (None, None, ())


def test_the_audit_log_names_payers_and_memberships(clinic, funds):
    clinic.update_payer(funds["bupa"], email="accounts@bupa.example")
    membership = clinic.memberships(funds["ada"])[0].id
    clinic.update_membership(membership, member_number="123457")
    clinic.remove_membership(membership)
    entries = clinic.audit_entries_by_ids(clinic.audit_entry_ids(newest_first=False))
    lines = [(e.record, e.summary) for e in entries]
    number = {key: clinic.invoice(funds[key]).number for key in ("a_old", "a_payer", "a_gap")}
    expected = [
        ("Payer Bupa", "Added payer Bupa (health fund)"),
        ("Payer NDIS", "Added payer NDIS (government scheme)"),
        (
            "Membership 1",
            "Added membership 1 of Lovelace, Ada with Bupa: member number 123456, "
            "the default for new invoices",
        ),
        (
            f"Invoice #{number['a_old']}",
            f"Created invoice #{number['a_old']} for Lovelace, Ada, billed to Bupa "
            f"(claim CLM-1001): $120.00, issued {days_ago(45).isoformat()}",
        ),
        (
            f"Invoice #{number['a_gap']}",
            f"Created invoice #{number['a_gap']} for Lovelace, Ada (the gap of invoice "
            f"#{number['a_payer']}): $19.10, issued {days_ago(5).isoformat()}",
        ),
        (
            f"Payment {funds['rem_bupa']}",
            f"Recorded remittance REM-2026-11 (payment {funds['rem_bupa']}) from Bupa: $150.00 "
            f"(Bank transfer $150.00), $120.00 to invoice #{number['a_old']}, $30.00 to "
            f"invoice #{number['a_payer']}",
        ),
        (
            "Payer Bupa",
            "Changed payer Bupa: email 'claims@bupa.example' → 'accounts@bupa.example'",
        ),
        (
            f"Membership {membership}",
            f"Changed membership {membership} of Lovelace, Ada with Bupa: member number "
            "123456 → 123457",
        ),
        (f"Membership {membership}", f"Removed membership {membership} of Lovelace, Ada with Bupa"),
    ]
    for line in expected:
        assert line in lines
    # A payer's account, where an entry names it as a patient, reads as the payer.
    [remittance] = [
        e for e in entries if e.entity_id == funds["rem_bupa"] and e.entity == "payment"
    ]
    assert f"Bupa ({funds['bupa']})" in remittance.after_text
    [membership_entry] = [e for e in entries if e.action == "add membership"][:1]
    assert f"Payer: Bupa ({funds['bupa']})" in membership_entry.after_text
    deleted = clinic.add_payer("Typo Fund", kind="other")
    clinic.delete_payer(deleted)
    last = clinic.audit_entries_by_ids(clinic.audit_entry_ids()[:1])[0]
    assert last.summary == "Deleted payer Typo Fund"


def test_payer_statement_needs_the_right_to_see_every_patient(team, funds):
    assert team["receptionist"].payer_statement(funds["bupa"]).closing_balance == D("46.40")
    with pytest.raises(PermissionDenied):
        team["practitioner"].payer_statement(funds["bupa"])
    with pytest.raises(PermissionDenied):
        team["receptionist"].aged_receivables(scope="payers")
