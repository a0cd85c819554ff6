"""Third-party payers through the API, on SQLite and PostgreSQL: a health fund or an insurer
keeps an account of its own; invoices billed to it count in its outstanding, never the
patient's; one remittance pays many patients' invoices; money never crosses between accounts;
and every bad input is refused with nothing saved."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from desktop_app.core import AllocationMode, Clinic, PermissionDenied
from tests.helpers import refused

TODAY = date.today()


@pytest.fixture
def practice(clinic: Clinic) -> dict[str, int]:
    """Two patients, a health fund and a workers' compensation insurer."""
    return {
        "ada": clinic.add_patient("Ada", "Lovelace"),
        "bob": clinic.add_patient("Bob", "Smith"),
        "fund": clinic.add_payer("Bupa", kind="health fund", email="claims@example.org"),
        "wc": clinic.add_payer("Allianz WorkCover", kind="workers compensation"),
    }


def test_an_invoice_billed_to_a_payer_is_owed_by_the_payer_not_the_patient(
    clinic: Clinic, practice: dict[str, int]
) -> None:
    ada, fund = practice["ada"], practice["fund"]
    own = clinic.create_invoice(ada, [("Report", "30.00", 1)])
    billed = clinic.create_invoice(
        ada, [("Initial consult", "95.00", 1)], bill_to=fund, claim_reference="CLM-9"
    )
    assert clinic.patient(ada).outstanding == Decimal("30.00")
    assert clinic.payer(fund).outstanding == Decimal("95.00")
    invoice = clinic.invoice(billed)
    assert (invoice.patient_id, invoice.payer_id, invoice.claim_reference) == (ada, fund, "CLM-9")
    assert clinic.invoice(own).payer_id is None
    # The patient's list shows both; the payer is no patient.
    assert [i.id for i in clinic.invoices(ada)] == [own, billed]
    assert fund not in clinic.patient_ids() and ada in clinic.patient_ids()
    assert clinic.payers()[0].name == "Allianz WorkCover"
    assert clinic.verify() == []


def test_a_default_membership_bills_new_invoices_to_the_payer_while_it_is_valid(
    clinic: Clinic, practice: dict[str, int]
) -> None:
    ada, fund = practice["ada"], practice["fund"]
    clinic.add_membership(
        ada,
        fund,
        member_number="123456",
        valid_from=TODAY - timedelta(days=30),
        valid_to=TODAY,
        default_for_invoices=True,
    )
    assert clinic.invoice(clinic.create_invoice(ada, [("Consult", "50.00", 1)])).payer_id == fund
    # bill_to=None: the patient pays this one.
    explicit = clinic.create_invoice(ada, [("Consult", "50.00", 1)], bill_to=None)
    assert clinic.invoice(explicit).payer_id is None
    # Outside the membership's dates the patient is billed.
    later = clinic.create_invoice(
        ada, [("Consult", "50.00", 1)], service_date=TODAY - timedelta(days=40)
    )
    assert clinic.invoice(later).payer_id is None
    (membership,) = clinic.memberships(ada)
    assert (membership.payer_name, membership.member_number) == ("Bupa", "123456")
    # A second default replaces the first.
    clinic.add_membership(ada, practice["wc"], default_for_invoices=True)
    assert [m.default_for_invoices for m in clinic.memberships(ada)] == [False, True]


def test_split_billing_makes_two_linked_invoices_that_add_up_to_the_visit(
    clinic: Clinic, practice: dict[str, int]
) -> None:
    ada, fund = practice["ada"], practice["fund"]
    lines = [("Consult", "95.00", 1, "10"), ("Taping", "12.50", 2)]
    payer_iid, gap_iid = clinic.create_split_invoice(
        ada, lines, payer=fund, payer_share="80%", claim_reference="CLM-1"
    )
    assert payer_iid is not None and gap_iid is not None
    payer_inv, gap = clinic.invoice(payer_iid), clinic.invoice(gap_iid)
    # 95.00 + 10% = 104.50, plus 25.00: 129.50; 80% is 103.60.
    assert (payer_inv.total, gap.total) == (Decimal("103.60"), Decimal("25.90"))
    assert gap.split_with_id == payer_iid and gap.payer_id is None
    assert payer_inv.payer_id == fund and payer_inv.claim_reference == "CLM-1"
    # Each side's tax is worked out from its own part of the taxed line.
    assert payer_inv.lines[0].total + gap.lines[0].total == Decimal("104.50")
    assert payer_inv.lines[0].tax + gap.lines[0].tax == Decimal("9.50")
    assert clinic.patient(ada).outstanding == Decimal("25.90")
    assert clinic.payer(fund).outstanding == Decimal("103.60")
    # A fixed amount, and the whole visit (only the payer's side).
    payer_iid, gap_iid = clinic.create_split_invoice(ada, lines, payer=fund, payer_share="60.00")
    assert clinic.invoice(payer_iid).total == Decimal("60.00")
    assert clinic.invoice(gap_iid).total == Decimal("69.50")
    assert clinic.create_split_invoice(ada, lines, payer=fund, payer_share="129.50")[1] is None
    assert clinic.verify() == []


def test_a_remittance_pays_many_patients_invoices_and_leaves_the_rest_as_payer_credit(
    clinic: Clinic, practice: dict[str, int]
) -> None:
    ada, bob, fund = practice["ada"], practice["bob"], practice["fund"]
    first = clinic.create_invoice(
        ada, [("Consult", "95.00", 1)], bill_to=fund, claim_reference="A1"
    )
    second = clinic.create_invoice(bob, [("Consult", "50.00", 1)], bill_to=fund)
    third = clinic.create_invoice(bob, [("Consult", "70.00", 1)], bill_to=fund)
    own = clinic.create_invoice(bob, [("Own", "20.00", 1)])
    assert [i.patient_name for i in clinic.payer_open_invoices(fund, "smith")] == ["Bob Smith"] * 2
    assert [i.id for i in clinic.payer_open_invoices(fund, "a1")] == [first]
    preview = clinic.preview_payer_payment(
        fund, sources={"Bank transfer": "300.00"}, applied={third: "30.00"}, reference="REM-11"
    )
    # Typed amounts win; the rest goes oldest first; what is left is the payer's credit.
    assert preview.applied == {
        first: Decimal("95.00"),
        second: Decimal("50.00"),
        third: Decimal("30.00"),
    }
    assert preview.to_credit == Decimal("125.00")
    pay_id = clinic.record_payer_payment(preview, request_id="rem-11")
    assert clinic.record_payer_payment(preview, request_id="rem-11") == pay_id
    payer = clinic.payer(fund)
    assert (payer.credit, payer.outstanding) == (Decimal("125.00"), Decimal("40.00"))
    assert clinic.patient(bob).outstanding == Decimal("20.00") and clinic.credit(bob) == 0
    assert clinic.invoice(own).balance == Decimal("20.00")
    assert clinic.earlier_remittances(fund, "rem-11") == [pay_id]
    assert clinic.earlier_remittances(fund, "REM-12") == []
    # The payer's credit pays its invoice later, and is refunded like a patient's.
    later = clinic.preview_payer_payment(fund, reference="credit")
    assert later.applied == {third: Decimal("40.00")}
    clinic.record_payer_payment(later, request_id="apply-credit")
    clinic.refund_payer_credit(fund, "85.00", method="Bank transfer", request_id="refund-1")
    payer = clinic.payer(fund)
    assert (payer.credit, payer.outstanding) == (Decimal("0.00"), Decimal("0.00"))
    assert clinic.verify() == []


def test_reversing_a_remittance_reopens_the_payers_invoices(
    clinic: Clinic, practice: dict[str, int]
) -> None:
    fund = practice["fund"]
    iid = clinic.create_invoice(practice["ada"], [("Consult", "95.00", 1)], bill_to=fund)
    pay_id = clinic.record_payer_payment(
        clinic.preview_payer_payment(fund, sources={"Bank transfer": "95.00"}), request_id="r"
    )
    assert clinic.invoice(iid).status == "paid"
    clinic.reverse_payment(pay_id, reason="bounced")
    assert clinic.invoice(iid).status == "open"
    assert clinic.payer(fund).outstanding == Decimal("95.00")
    assert clinic.patient(practice["ada"]).outstanding == 0
    assert clinic.verify() == []


def test_money_never_crosses_between_a_patient_and_payers(
    clinic: Clinic, practice: dict[str, int]
) -> None:
    ada, fund, wc = practice["ada"], practice["fund"], practice["wc"]
    funded = clinic.create_invoice(ada, [("Consult", "95.00", 1)], bill_to=fund)
    insured = clinic.create_invoice(ada, [("Consult", "80.00", 1)], bill_to=wc)
    own = clinic.create_invoice(ada, [("Own", "20.00", 1)])
    # A patient's payment and credit go to the patient's invoices only, automatically...
    preview = clinic.preview_payment(ada, sources={"Cash": "200.00"})
    assert preview.applied == {own: Decimal("20.00")}
    # ...and typed onto a payer's invoice are refused, naming the payer.
    refused(
        clinic,
        lambda: clinic.preview_payment(ada, sources={"Cash": "10"}, applied={funded: "10"}),
        "other_patient",
        "billed to Bupa",
    )
    # A payer's payment never touches a patient's invoice or another payer's.
    refused(
        clinic,
        lambda: clinic.preview_payer_payment(fund, sources={"Cash": "10"}, applied={own: "10"}),
        "other_patient",
        "billed to a patient",
    )
    refused(
        clinic,
        lambda: clinic.preview_payer_payment(fund, sources={"Cash": "10"}, applied={insured: "10"}),
        "other_patient",
        "another payer",
    )
    auto = clinic.preview_payer_payment(fund, sources={"Bank transfer": "500.00"})
    assert auto.applied == {funded: Decimal("95.00")}
    # More than an invoice's balance.
    refused(
        clinic,
        lambda: clinic.preview_payer_payment(
            fund, sources={"Cash": "200"}, applied={funded: "95.01"}
        ),
        "over_balance",
    )


def test_a_declined_claim_is_billed_to_the_patient_then_paid_at_the_desk(
    clinic: Clinic, practice: dict[str, int]
) -> None:
    ada, fund = practice["ada"], practice["fund"]
    iid = clinic.create_invoice(ada, [("Consult", "95.00", 1)], bill_to=fund, claim_reference="C")
    clinic.update_invoice(iid, bill_to=None)
    invoice = clinic.invoice(iid)
    assert (invoice.payer_id, invoice.claim_reference) == (None, None)
    assert clinic.patient(ada).outstanding == Decimal("95.00")
    assert clinic.payer(fund).outstanding == 0
    clinic.update_invoice(iid, bill_to=fund, claim_reference="C2")
    assert clinic.payer(fund).outstanding == Decimal("95.00")
    assert clinic.invoice(iid).claim_reference == "C2"
    assert clinic.verify() == []
    # Once the payer has paid part of it, it is not moved: the payment is undone first.
    clinic.record_payer_payment(
        clinic.preview_payer_payment(fund, sources={"Cash": "10.00"}), request_id="part"
    )
    refused(clinic, lambda: clinic.update_invoice(iid, bill_to=None), "bad_choice", "paid")


def test_a_payment_type_can_carry_its_own_allocation_mode(
    clinic: Clinic, practice: dict[str, int]
) -> None:
    ada = practice["ada"]
    older = clinic.create_invoice(ada, [("A", "50.00", 1)], issue_date=TODAY - timedelta(days=3))
    newer = clinic.create_invoice(ada, [("B", "50.00", 1)])
    clinic.set_payment_type_mode("Health fund", AllocationMode.SOURCE_INVOICE)
    assert clinic.payment_type_modes() == {"Health fund": AllocationMode.SOURCE_INVOICE}
    fund_money = clinic.preview_payment(ada, sources={"Health fund": "50.00"}, source_invoice=newer)
    assert fund_money.applied == {newer: Decimal("50.00")}
    # With no source invoice, source-invoice-only applies nothing: it becomes credit.
    assert clinic.preview_payment(ada, sources={"Health fund": "50.00"}).applied == {}
    # Cash keeps the clinic's mode (oldest first), and so does money of mixed types.
    cash = clinic.preview_payment(ada, sources={"Cash": "50.00"}, source_invoice=newer)
    assert cash.applied == {older: Decimal("50.00")}
    mixed = clinic.preview_payment(ada, sources={"Cash": "10", "Health fund": "40"})
    assert mixed.applied == {older: Decimal("50.00")}
    # A mode the caller asks for wins.
    asked = clinic.preview_payment(
        ada, sources={"Health fund": "50.00"}, mode=AllocationMode.NEWEST_FIRST
    )
    assert asked.applied == {newer: Decimal("50.00")}
    clinic.set_payment_type_mode("Health fund", None)
    assert clinic.payment_type_modes() == {}
    refused(
        clinic, lambda: clinic.set_payment_type_mode("Cash", "sideways"), "bad_choice", "sideways"
    )


def test_bad_input_is_refused_and_saves_nothing(clinic: Clinic, practice: dict[str, int]) -> None:
    ada, fund = practice["ada"], practice["fund"]
    lines = [("Consult", "100.00", 1)]
    refused(clinic, lambda: clinic.add_payer("X", kind="charity"), "bad_choice", "payer kind")
    refused(clinic, lambda: clinic.add_payer("bupa", kind="insurer"), "duplicate")
    refused(clinic, lambda: clinic.add_payer("  ", kind="insurer"), "missing")
    refused(
        clinic,
        lambda: clinic.add_payer("Y", kind="insurer", email="not an address"),
        "bad_text",
    )
    for share, match in (("100.01", "more than"), ("-5", None), ("101%", "0 to 100"), ("x%", None)):
        refused(
            clinic,
            lambda share=share: clinic.create_split_invoice(
                ada, lines, payer=fund, payer_share=share
            ),
            "bad_amount",
            match,
        )
    refused(
        clinic,
        lambda: clinic.create_invoice(ada, lines, bill_to=None, claim_reference="C"),
        "bad_choice",
        "claim reference",
    )
    refused(clinic, lambda: clinic.create_invoice(ada, lines, bill_to=ada), "not_found")
    refused(clinic, lambda: clinic.create_invoice(fund, lines), "bad_choice", "is a payer")
    refused(clinic, lambda: clinic.add_membership(fund, practice["wc"]), "bad_choice")
    refused(
        clinic,
        lambda: clinic.add_membership(
            ada, fund, valid_from=TODAY, valid_to=TODAY - timedelta(days=1)
        ),
        "bad_date",
    )
    # A membership for an archived patient; an archived payer billed.
    archived = clinic.add_patient("Old", "Patient")
    clinic.archive_patient(archived)
    refused(clinic, lambda: clinic.add_membership(archived, fund), "archived")
    quiet = clinic.add_payer("Quiet Fund", kind="health fund")
    clinic.archive_payer(quiet)
    refused(clinic, lambda: clinic.create_invoice(ada, lines, bill_to=quiet), "archived")
    # A payer with invoices is archived, not deleted; and not archived while it is owed.
    clinic.create_invoice(ada, lines, bill_to=fund)
    refused(clinic, lambda: clinic.delete_payer(fund), "has_balance", "archive it instead")
    refused(clinic, lambda: clinic.archive_payer(fund), "has_balance")
    # What only a patient does.
    refused(clinic, lambda: clinic.merge_patients(ada, fund), "bad_choice", "merged")
    clinic.record_payer_payment(
        clinic.preview_payer_payment(fund, sources={"Cash": "150.00"}), request_id="x"
    )
    refused(
        clinic,
        lambda: clinic.transfer_credit(fund, ada, "10", reason="r", request_id="t"),
        "bad_choice",
        "credit transfer",
    )
    refused(
        clinic,
        lambda: clinic.refund_payer_credit(fund, "50.01", method="Cash", request_id="too much"),
        "over_credit",
    )
    # A payer added by mistake, never used, is deleted with its memberships.
    stray = clinic.add_payer("Stray", kind="other")
    clinic.add_membership(ada, stray)
    clinic.delete_payer(stray)
    assert [m.payer_name for m in clinic.memberships(ada)] == []
    assert clinic.verify() == []


def test_roles_receptionists_record_remittances_bookkeepers_manage_payers(
    team: dict[str, Clinic],
) -> None:
    owner = team["owner"]
    pid = owner.add_patient("Ada", "Lovelace")
    with pytest.raises(PermissionDenied):
        team["receptionist"].add_payer("Bupa", kind="health fund")
    fund = team["bookkeeper"].add_payer("Bupa", kind="health fund")
    team["administrator"].update_payer(fund, phone="1300 000 000")
    desk = team["receptionist"]
    desk.add_membership(pid, fund, member_number="9")
    desk.create_invoice(pid, [("Consult", "50.00", 1)], bill_to=fund)
    desk.record_payer_payment(
        desk.preview_payer_payment(fund, sources={"EFTPOS": "50.00"}), request_id="desk-1"
    )
    assert owner.payer(fund).outstanding == 0
    with pytest.raises(PermissionDenied):
        desk.update_payer(fund, name="Other")
    with pytest.raises(PermissionDenied):
        team["practitioner"].record_payer_payment(
            owner.preview_payer_payment(fund, sources={"Cash": "1"}), request_id="p"
        )


def test_payers_and_memberships_are_audited(clinic: Clinic, practice: dict[str, int]) -> None:
    fund = practice["fund"]
    clinic.update_payer(fund, phone="02 9999 0000", reference_label="Claim ID")
    mid = clinic.add_membership(practice["ada"], fund, member_number="77")
    clinic.update_membership(mid, member_number="78")
    clinic.remove_membership(mid)
    actions = [e.action for e in clinic.audit_entries_by_ids(clinic.audit_entry_ids())]
    for action in (
        "add payer",
        "update payer",
        "add membership",
        "update membership",
        "remove membership",
    ):
        assert action in actions
    assert clinic.payer(fund).reference_label == "Claim ID"
    assert clinic.memberships(practice["ada"]) == []


def test_verify_finds_an_invoice_billed_to_a_payer_that_lost_its_patient(
    clinic: Clinic, practice: dict[str, int]
) -> None:
    from sqlalchemy import text

    fund = practice["fund"]
    iid = clinic.create_invoice(practice["ada"], [("Consult", "95.00", 1)], bill_to=fund)
    gap = clinic.create_split_invoice(
        practice["bob"], [("Consult", "50.00", 1)], payer=fund, payer_share="10.00"
    )[1]
    assert clinic.verify() == []
    with clinic.engine.begin() as conn:
        conn.execute(text("UPDATE invoices SET for_patient_id = NULL WHERE id = :i"), {"i": iid})
        conn.execute(
            text("UPDATE invoices SET split_with_id = :i WHERE id = :g"), {"i": iid, "g": gap}
        )
        conn.execute(
            text("UPDATE patients SET archived_at = created_at WHERE id = :f"), {"f": fund}
        )
    problems = clinic.verify()
    assert any(p.startswith("I10 Invoice") and "names no patient" in p for p in problems)
    assert any(p.startswith("I10 Invoice") and "split from" in p for p in problems)
    assert any(p.startswith(f"I10 Payer {fund}") for p in problems)


def test_the_data_export_names_the_payer_and_leaves_payers_out_of_patients(
    clinic: Clinic, practice: dict[str, int], tmp_path
) -> None:
    import csv

    from desktop_app.core import export_csv

    fund = practice["fund"]
    clinic.create_invoice(
        practice["ada"], [("Consult", "95.00", 1)], bill_to=fund, claim_reference="CLM-9"
    )
    assert clinic.summary().patients == 2
    assert clinic.summary().outstanding == Decimal("95.00")
    export_csv(clinic, "invoices", tmp_path / "invoices.csv")
    export_csv(clinic, "patients", tmp_path / "patients.csv")
    with open(tmp_path / "invoices.csv", newline="", encoding="utf-8-sig") as handle:
        (row,) = csv.DictReader(handle)
    assert (row["patient_id"], row["patient_name"]) == (str(practice["ada"]), "Ada Lovelace")
    assert (row["billed_to"], row["claim_reference"]) == ("Bupa", "CLM-9")
    with open(tmp_path / "patients.csv", newline="", encoding="utf-8-sig") as handle:
        names = [r["first_name"] for r in csv.DictReader(handle)]
    assert names == ["Ada", "Bob"]


def test_merging_a_duplicate_patient_moves_their_payer_invoices_and_memberships(
    clinic: Clinic, practice: dict[str, int]
) -> None:
    ada, fund, wc = practice["ada"], practice["fund"], practice["wc"]
    dupe = clinic.add_patient("Ada", "Lovelace")
    clinic.add_membership(ada, wc, default_for_invoices=True)
    clinic.add_membership(dupe, fund, member_number="55", default_for_invoices=True)
    billed = clinic.create_invoice(dupe, [("Consult", "95.00", 1)], bill_to=fund)
    assert billed in {i.id for i in clinic.invoices(dupe)}
    assert clinic.invoice(billed).number in clinic.preview_merge(ada, dupe).invoice_numbers
    clinic.merge_patients(ada, dupe)
    assert clinic.invoice(billed).patient_id == ada
    assert [(m.payer_name, m.default_for_invoices) for m in clinic.memberships(ada)] == [
        ("Allianz WorkCover", True),
        ("Bupa", False),
    ]
    assert clinic.payer(fund).outstanding == Decimal("95.00")
    assert clinic.verify() == []


def test_a_practitioner_reads_their_patients_payer_invoices_but_no_payers_lists(
    team: dict[str, Clinic],
) -> None:
    owner, physio = team["owner"], team["practitioner"]
    pid = owner.add_patient("Ada", "Lovelace")
    owner.assign_practitioner(pid, physio.staff_member.username)
    fund = owner.add_payer("Bupa", kind="health fund")
    iid = owner.create_invoice(pid, [("Consult", "95.00", 1)], bill_to=fund)
    assert physio.invoice(iid).payer_id == fund
    assert [i.id for i in physio.invoices(pid)] == [iid]
    assert physio.payer(fund).name == "Bupa"  # a payer's name is no patient's billing
    for listing in (physio.payer_open_invoices, physio.payer_members):
        with pytest.raises(PermissionDenied):
            listing(fund)


def test_a_remittance_keeps_its_reference_checked_again_at_the_save(
    clinic: Clinic, practice: dict[str, int]
) -> None:
    import dataclasses

    fund = practice["fund"]
    first = clinic.create_invoice(practice["ada"], [("A", "50.00", 1)], bill_to=fund)
    second = clinic.create_invoice(practice["bob"], [("B", "50.00", 1)], bill_to=fund)
    clinic.set_allocation_mode(AllocationMode.SOURCE_INVOICE)
    preview = clinic.preview_payer_payment(
        fund, sources={"Bank transfer": "50.00"}, reference="REM-7", source_invoice=second
    )
    assert preview.applied == {second: Decimal("50.00")}
    for bad, code in (("x" * 101, "too_long"), ("REM\nBcc: someone", "bad_text")):
        altered = dataclasses.replace(preview, reference=bad)
        refused(clinic, lambda altered=altered: clinic.record_payer_payment(altered, "r"), code)
    pay_id = clinic.record_payer_payment(preview, request_id="rem-7")
    assert clinic.payment(pay_id).reference == "REM-7"
    assert clinic.invoice(first).balance == Decimal("50.00")
