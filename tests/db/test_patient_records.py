"""Patients as the front desk knows them: details, corrections, archive and restore, merging
duplicates, and a search that finds them by name, phone, email and date of birth."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from desktop_app.core import BillingError, Clinic, PermissionDenied

ADA = dict(
    date_of_birth=date(1985, 12, 10),
    email="ada@example.org",
    mobile="0412 345 678",
    address="12 St James's Square\nSt James's",
    city="London",
    postcode="SW1Y 4JH",
    country="gb",
)


def _refused(call, code, field=None):
    with pytest.raises(BillingError) as refused:
        call()
    assert refused.value.code == code
    if field is not None:
        assert refused.value.field == field
    return refused.value


def test_details_are_kept_corrected_and_cleared(clinic):
    pid = clinic.add_patient("Ada", "Lovelace", title="Ms", **ADA)
    ada = clinic.patient(pid)
    assert (ada.date_of_birth, ada.email, ada.mobile, ada.country) == (
        date(1985, 12, 10),
        "ada@example.org",
        "0412 345 678",
        "GB",
    )
    assert ada.postal_lines == [
        "Ms Ada Lovelace",
        "12 St James's Square",
        "St James's",
        "London SW1Y 4JH",
        "GB",
    ]
    clinic.update_patient(pid, last_name="King", email=None, invoice_extra="Claim 77\nDr Babbage")
    ada = clinic.patient(pid)
    assert (ada.last_name, ada.email, ada.mobile) == ("King", None, "0412 345 678")
    assert ada.invoice_extra == "Claim 77\nDr Babbage"
    assert clinic.patient_ids("king") == [pid] and clinic.patient_ids("lovelace") == []
    assert clinic.patient_ids("ada@example") == []  # the cleared email no longer finds her


def test_every_change_is_audited_before_and_after(clinic):
    pid = clinic.add_patient("Ada", "Lovelace", email="ada@example.org")
    clinic.update_patient(pid, email="ada@lovelace.org", city="London")
    clinic.update_patient(pid, city="London")  # no change: no entry
    entries = clinic.audit_entries_by_ids(clinic.audit_entry_ids())
    updates = [e for e in entries if e.action == "update patient"]
    assert len(updates) == 1
    assert updates[0].before == {"email": "ada@example.org", "city": None}
    assert updates[0].after == {"email": "ada@lovelace.org", "city": "London"}


@pytest.mark.parametrize(
    ("details", "code", "field"),
    [
        ({"email": "ada at example"}, "bad_text", "email"),
        ({"email": "ada@example"}, "bad_text", "email"),
        ({"date_of_birth": date.today() + timedelta(days=1)}, "future_date", "date_of_birth"),
        ({"date_of_birth": date(1899, 12, 31)}, "bad_date", "date_of_birth"),
        ({"favourite_colour": "red"}, "bad_choice", "favourite_colour"),
        ({"first_name": "A" * 201}, "too_long", "first_name"),
        ({"notes": "bad\x00text"}, "bad_text", "notes"),
        ({"city": "Line\nbreak"}, "bad_text", "city"),
        ({"mobile": "call me"}, "bad_text", "mobile"),
        ({"country": "Australia"}, "bad_choice", "country"),
        ({"last_name": ""}, "missing", "last_name"),
    ],
)
def test_bad_details_are_refused_on_their_field_and_nothing_changes(clinic, details, code, field):
    pid = clinic.add_patient("Ada", "Lovelace", email="ada@example.org")
    before = clinic.patient(pid)
    entries = clinic.audit_count()
    _refused(lambda: clinic.update_patient(pid, **details), code, field)
    assert clinic.patient(pid) == before and clinic.audit_count() == entries
    count = len(clinic.patient_ids(include_archived=True))
    first = details.get("first_name", "Grace")
    others = {k: v for k, v in details.items() if k not in ("first_name", "last_name")}
    last = details.get("last_name", "Hopper")
    _refused(lambda: clinic.add_patient(first, last, **others), code)
    assert len(clinic.patient_ids(include_archived=True)) == count


def test_a_refused_value_is_not_repeated_in_the_message(clinic):
    """Personal details stay out of error output (which reaches logs)."""
    pid = clinic.add_patient("Ada", "Lovelace")
    error = _refused(lambda: clinic.update_patient(pid, email="secret-address"), "bad_text")
    assert "secret-address" not in str(error)
    error = _refused(lambda: clinic.update_patient(pid, mobile="ring 0412"), "bad_text")
    assert "0412" not in str(error)


def test_search_finds_names_phones_emails_and_dates_of_birth(clinic):
    ada = clinic.add_patient("Ada", "Lovelace", **ADA)
    sean = clinic.add_patient("Seán", "O'Brien", phone="(03) 9876 5432")
    mary = clinic.add_patient("Mary", "Smith-Jones", preferred_name="Molly")
    assert clinic.patient_ids("obrien") == [sean] and clinic.patient_ids("sean") == [sean]
    assert clinic.patient_ids("jose") == []
    assert clinic.patient_ids("smith jones") == [mary] and clinic.patient_ids("molly") == [mary]
    for phone in ("0412345678", "0412 345 678", "+0412-345-678", "5678", "98765"):
        assert clinic.patient_ids(phone) == ([sean] if phone == "98765" else [ada]), phone
    assert clinic.patient_ids("ada@example.org") == [ada]
    assert clinic.patient_ids("EXAMPLE.ORG") == [ada]
    assert clinic.patient_ids("1985-12-10") == [ada] and clinic.patient_ids("10/12/1985") == [ada]
    assert clinic.patient_ids("11/12/1985") == []


def test_a_search_with_a_limit_is_the_start_of_the_full_list(clinic):
    for n in range(12):
        clinic.add_patient(f"Pat{n:02}", "Smith", mobile=f"0400 000 {n:03}")
    full = clinic.patient_ids("smith")
    assert len(full) == 12 and clinic.patient_ids("smith", limit=5) == full[:5]
    _refused(lambda: clinic.patient_ids("smith", limit=-1), "bad_choice")


def test_archived_patients_leave_lists_and_take_no_new_money(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    other = clinic.add_patient("Grace", "Hopper")
    clinic.archive_patient(pid, reason="Moved interstate")
    assert clinic.patient_ids() == [other] and clinic.patient_ids("ada") == []
    assert set(clinic.patient_ids(include_archived=True)) == {pid, other}
    ada = clinic.patient(pid)
    assert ada.archived and ada.archive_reason == "Moved interstate"
    _refused(lambda: clinic.create_invoice(pid, [("Consult", "80", 1)]), "archived")
    _refused(lambda: clinic.preview_payment(pid, sources={"Cash": "10"}), "archived")
    _refused(lambda: clinic.archive_patient(pid), "already_done")
    clinic.update_patient(pid, city="Hobart")  # the details of an archived patient can be fixed
    clinic.restore_patient(pid)
    assert clinic.patient_ids() == [other, pid] and not clinic.patient(pid).archived  # by name
    assert clinic.create_invoice(pid, [("Consult", "80", 1)])
    assert clinic.verify() == []


def test_a_payment_previewed_before_archiving_cannot_be_saved(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    preview = clinic.preview_payment(pid, sources={"Cash": "10"})
    clinic.archive_patient(pid)
    _refused(lambda: clinic.record_payment(preview, "late"), "archived")
    assert clinic.payments(pid) == []


def test_archiving_is_refused_while_money_is_held_or_owed(clinic):
    pid = clinic.add_patient("Ada", "Lovelace")
    clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "20"}), "prepay")
    error = _refused(lambda: clinic.archive_patient(pid), "has_balance")
    assert "$20.00" in str(error) and "Refund" in str(error)
    clinic.refund_credit(pid, "20", method="Cash", request_id="back")
    invoice = clinic.create_invoice(pid, [("Consult", "80", 1)])
    error = _refused(lambda: clinic.archive_patient(pid), "has_balance")
    assert "$80.00" in str(error) and "void" in str(error)
    clinic.void_invoice(invoice, reason="Booked in error")
    clinic.archive_patient(pid)
    assert clinic.patient(pid).archived


def _history(clinic, pid):
    """A patient with paid invoices, credit, a credit note, a refund and an open invoice."""
    first = clinic.create_invoice(pid, [("Consult", "100", 1)])
    second = clinic.create_invoice(pid, [("Review", "60", 1)])
    clinic.record_payment(clinic.preview_payment(pid, sources={"EFTPOS": "180"}), f"pay-{pid}")
    clinic.issue_credit_note(second, "10", reason="Discount", request_id=f"cn-{pid}")
    clinic.refund_credit(pid, "5", method="EFTPOS", request_id=f"refund-{pid}")
    third = clinic.create_invoice(pid, [("Taping", "40", 1)])
    assert (clinic.credit(pid), clinic.patient(pid).outstanding) == (Decimal("25"), Decimal("40"))
    return first, second, third


def test_merging_moves_every_record_and_the_figures_add_up(clinic):
    keep = clinic.add_patient("Ada", "Lovelace", email="ada@example.org")
    dupe = clinic.add_patient("Ada", "Lovelace", mobile="0412 345 678", city="London")
    family = clinic.add_patient("Byron", "Lovelace")
    _history(clinic, keep)
    dupe_invoices = _history(clinic, dupe)
    clinic.record_payment(clinic.preview_payment(family, sources={"Cash": "30"}), "fam")
    clinic.transfer_credit(family, dupe, "12", reason="Family", request_id="t-in")
    clinic.transfer_credit(dupe, keep, "7", reason="Moved by hand", request_id="t-between")
    credit = clinic.credit(keep) + clinic.credit(dupe)
    owed = clinic.patient(keep).outstanding + clinic.patient(dupe).outstanding
    preview = clinic.preview_merge(keep, dupe)
    assert (preview.credit, preview.outstanding) == (credit, owed)
    numbers = tuple(clinic.invoice(i).number for i in dupe_invoices)
    assert preview.invoice_numbers == numbers
    assert len(preview.payment_ids) == 1 and len(preview.refund_ids) == 1
    assert len(preview.credit_note_numbers) == 1 and len(preview.transfer_ids) == 1
    assert len(preview.cancelled_transfer_ids) == 1
    assert preview.filled == {"mobile": "0412 345 678", "city": "London"}

    assert clinic.merge_patients(keep, dupe, reason="Duplicate record", preview=preview) == dupe
    kept, merged = clinic.patient(keep), clinic.patient(dupe)
    assert (kept.credit, kept.outstanding) == (credit, owed)
    assert (merged.credit, merged.outstanding) == (Decimal("0.00"), Decimal("0.00"))
    assert merged.archived and merged.merged_into == keep
    assert "Merged into Ada Lovelace" in merged.archive_reason
    assert (kept.mobile, kept.city, kept.email) == ("0412 345 678", "London", "ada@example.org")
    assert {clinic.invoice(i).patient_id for i in dupe_invoices} == {keep}
    assert len(clinic.invoices(keep)) == 6 and clinic.invoices(dupe) == []
    assert clinic.patient_ids("0412") == [keep]  # found by the details it gained
    assert dupe in clinic.patient_ids("lovelace", include_archived=True)
    assert clinic.verify() == []
    entries = clinic.audit_entries_by_ids(clinic.audit_entry_ids())
    merge = next(e for e in entries if e.action == "merge patients")
    assert merge.after["invoices"] == list(numbers)
    assert merge.after["transfers"] == list(preview.transfer_ids)


def test_a_stale_preview_or_a_merged_patient_cannot_be_used(clinic):
    keep = clinic.add_patient("Ada", "Lovelace")
    dupe = clinic.add_patient("Ada", "Lovelace")
    preview = clinic.preview_merge(keep, dupe)
    payment = clinic.preview_payment(dupe, sources={"Cash": "10"})
    clinic.create_invoice(dupe, [("Consult", "80", 1)])  # saved on another desk meanwhile
    _refused(lambda: clinic.merge_patients(keep, dupe, preview=preview), "concurrent_change")
    assert not clinic.patient(dupe).archived
    clinic.merge_patients(keep, dupe, preview=clinic.preview_merge(keep, dupe))
    _refused(lambda: clinic.record_payment(payment, "after-merge"), "archived")
    _refused(lambda: clinic.restore_patient(dupe), "archived")
    assert clinic.payments(dupe) == [] and clinic.verify() == []


def test_bad_merges_are_refused_and_save_nothing(clinic, team):
    keep = clinic.add_patient("Ada", "Lovelace")
    dupe = clinic.add_patient("Ada", "Lovelace")
    gone = clinic.add_patient("Old", "Record")
    clinic.archive_patient(gone)
    _refused(lambda: clinic.merge_patients(keep, keep), "bad_choice")
    _refused(lambda: clinic.merge_patients(keep, gone), "archived")
    _refused(lambda: clinic.merge_patients(gone, keep), "archived")
    with pytest.raises(PermissionDenied):
        team["receptionist"].merge_patients(keep, dupe)
    with pytest.raises(PermissionDenied):
        team["practitioner"].merge_patients(keep, dupe)
    assert not clinic.patient(dupe).archived
    team["bookkeeper"].merge_patients(keep, dupe, reason="Duplicate")
    assert clinic.patient(dupe).merged_into == keep and clinic.verify() == []


def test_verify_catches_a_merged_patient_that_still_owns_records(clinic: Clinic):
    from sqlalchemy import update

    from desktop_app.core.db.models import Invoice

    keep = clinic.add_patient("Ada", "Lovelace")
    dupe = clinic.add_patient("Ada", "Lovelace")
    invoice = clinic.create_invoice(dupe, [("Consult", "80", 1)])
    clinic.merge_patients(keep, dupe)
    assert clinic.verify() == []
    with clinic.writing() as tx:  # a broken merge, as a faulty tool might leave it
        tx.session.execute(update(Invoice).where(Invoice.id == invoice).values(patient_id=dupe))
    problems = clinic.verify()
    assert any(p.startswith("I9 ") and "1 invoice" in p for p in problems), problems


def test_a_practitioner_sees_only_their_own_patients_details(clinic, team):
    own = clinic.add_patient("Ada", "Lovelace", mobile="0412 345 678", email="ada@example.org")
    other = clinic.add_patient("Grace", "Hopper", mobile="0499 111 222", email="gh@example.org")
    clinic.assign_practitioner(own, "physio")
    physio = team["practitioner"]
    assert physio.patient(own).email == "ada@example.org"
    with pytest.raises(PermissionDenied):
        physio.patient(other)
    assert physio.patient_ids("example.org") == [own] and physio.patient_ids("0499") == []
    assert [p.id for p in physio.patients_by_ids([own, other])] == [own]
    with pytest.raises(PermissionDenied):
        physio.update_patient(own, email="new@example.org")
    with pytest.raises(PermissionDenied):
        physio.preview_merge(own, other)


def test_the_audit_log_says_what_happened_to_a_patient_by_name(clinic):
    keep = clinic.add_patient("Ada", "Lovelace")
    dupe = clinic.add_patient("Ada", "Lovelace-King")
    clinic.create_invoice(dupe, [("Consult", "80", 1)])
    clinic.update_patient(keep, email="ada@example.org", city="London")
    clinic.archive_patient(keep, reason="Moved")
    clinic.restore_patient(keep)
    clinic.merge_patients(keep, dupe, reason="Duplicate record")
    summaries = [e.summary for e in clinic.audit_entries_by_ids(clinic.audit_entry_ids())]
    changed = [s for s in summaries if s.startswith("Changed Lovelace, Ada's details: ")]
    assert len(changed) == 1 and {"email", "city"} == set(changed[0].split(": ")[1].split(", "))
    assert "Archived Lovelace, Ada (reason: Moved)" in summaries
    assert "Restored Lovelace, Ada" in summaries
    assert (
        "Merged Lovelace-King, Ada into Lovelace, Ada: moved 1 invoice(s) "
        "(reason: Duplicate record)" in summaries
    )


def test_credit_sent_to_the_duplicate_and_spent_there_reads_as_the_kept_patients(clinic):
    """Credit moved to the duplicate by hand and spent there: after the merge the kept patient's
    credit story is one patient's, never below zero, every dollar traced to its payment."""
    keep = clinic.add_patient("Ada", "Lovelace")
    dupe = clinic.add_patient("Ada", "Lovelace")
    payment = clinic.record_payment(clinic.preview_payment(keep, sources={"Cash": "50"}), "p1")
    clinic.transfer_credit(keep, dupe, "50", reason="Wrong record", request_id="t1")
    clinic.create_invoice(dupe, [("Consult", "30", 1)])
    clinic.record_payment(clinic.preview_payment(dupe, sources={}), "from-credit")
    clinic.merge_patients(keep, dupe)
    assert clinic.credit(keep) == Decimal("20.00") and clinic.verify() == []
    history = clinic.credit_history(keep)
    assert [m.balance for m in history] == [Decimal("50.00"), Decimal("20.00")]
    (lot,) = clinic.credit_sources(keep)
    assert (lot.origin, lot.origin_id, lot.remaining) == ("payment", payment, Decimal("20.00"))
    assert clinic.credit_liability().total == Decimal("20.00")
    statement = clinic.statement(keep)
    assert statement.closing_balance == Decimal("-20.00")


def test_save_pressed_again_after_merges_finds_the_payment(clinic):
    a, b, c = (clinic.add_patient("Ada", "Lovelace") for _ in range(3))
    preview = clinic.preview_payment(a, sources={"Cash": "10"})
    payment = clinic.record_payment(preview, "desk-1")
    clinic.merge_patients(b, a)
    assert clinic.record_payment(preview, "desk-1") == payment
    clinic.merge_patients(c, b)  # a chain: a's records are c's now
    assert clinic.record_payment(preview, "desk-1") == payment
    assert clinic.payment(payment).patient_id == c and clinic.credit(c) == Decimal("10.00")
    _refused(lambda: clinic.record_payment(preview, "desk-2"), "archived")


def test_a_merge_leaves_every_days_credit_as_it_was(clinic):
    """Credit held on a past day, the statement and the transfers list read as one patient's."""
    today = date.today()
    a = clinic.add_patient("Ada", "Lovelace")
    b = clinic.add_patient("Ada", "Lovelace")
    clinic.record_payment(
        clinic.preview_payment(a, sources={"Cash": "50"}, payment_date=today - timedelta(30)), "p"
    )
    clinic.transfer_credit(
        a, b, "50.00", reason="Wrong one", request_id="t", transfer_date=today - timedelta(20)
    )
    before = {r.patient_id: r.credit for r in clinic.credit_liability(today - timedelta(10)).rows}
    assert before == {b: Decimal("50.00")}
    clinic.merge_patients(b, a)
    after = {r.patient_id: r.credit for r in clinic.credit_liability(today - timedelta(10)).rows}
    assert after == {b: Decimal("50.00")}
    assert clinic.transfers(b) == []
    statement = clinic.statement(b)
    assert [line for line in statement.lines if "transferred" in line.description.lower()] == []
    assert statement.closing_balance == Decimal("-50.00") and clinic.verify() == []


def test_a_transfer_between_the_two_reversed_before_the_merge_tells_no_story(clinic):
    keep = clinic.add_patient("Ada", "Lovelace")
    dupe = clinic.add_patient("Ada", "Lovelace")
    clinic.record_payment(clinic.preview_payment(keep, sources={"Cash": "10"}), "p")
    transfer = clinic.transfer_credit(keep, dupe, "10", reason="Oops", request_id="t")
    clinic.reverse_transfer(transfer, "Wrong patient")
    preview = clinic.preview_merge(keep, dupe)
    assert preview.cancelled_transfer_ids == (transfer,) and preview.transfer_ids == ()
    clinic.merge_patients(keep, dupe, preview=preview)
    assert clinic.transfers(keep) == []
    assert [m.balance for m in clinic.credit_history(keep)] == [Decimal("10.00")]
    assert clinic.verify() == []


def test_the_same_request_sent_again_after_a_merge_or_archive_finds_its_record(clinic):
    keep = clinic.add_patient("Ada", "Lovelace")
    dupe = clinic.add_patient("Ada", "Lovelace")
    family = clinic.add_patient("Byron", "Lovelace")
    clinic.record_payment(clinic.preview_payment(dupe, sources={"Cash": "100"}), "p")
    refund = clinic.refund_credit(dupe, "10", method="Cash", request_id="r1")
    transfer = clinic.transfer_credit(dupe, family, "20", reason="Family", request_id="r2")
    clinic.create_invoice(dupe, [("Consult", "30", 1)])
    applied = clinic.apply_credit_to_open_invoices(dupe, "r3")
    invoice = clinic.create_invoice(dupe, [("Review", "40", 1)])
    note = clinic.issue_credit_note(invoice, reason="Not seen", request_id="r4")
    clinic.merge_patients(keep, dupe)
    assert clinic.refund_credit(dupe, "10", method="Cash", request_id="r1") == refund
    assert clinic.transfer_credit(dupe, family, "20", reason="Family", request_id="r2") == transfer
    assert clinic.apply_credit_to_open_invoices(dupe, "r3") == applied
    assert clinic.issue_credit_note(invoice, reason="Not seen", request_id="r4") == note
    _refused(lambda: clinic.refund_credit(dupe, "1", method="Cash", request_id="r5"), "archived")
    _refused(
        lambda: clinic.transfer_credit(family, dupe, "1", reason="x", request_id="r6"), "archived"
    )
    clinic.refund_credit(family, "20", method="Cash", request_id="r7")
    clinic.archive_patient(family)
    _refused(
        lambda: clinic.transfer_credit(keep, family, "1", reason="x", request_id="r8"), "archived"
    )
    assert clinic.verify() == []


def test_search_reads_dates_and_phones_word_by_word(clinic):
    ada = clinic.add_patient("Ada", "Lovelace", date_of_birth=date(1985, 12, 10))
    oct_ = clinic.add_patient("Tom", "Lovelace", date_of_birth=date(1985, 10, 12))
    odd = clinic.add_patient("Mo", "Digits", phone="01-02-2345")
    assert clinic.patient_ids("lovelace 1985-12-10") == [ada]
    assert set(clinic.patient_ids("lovelace 10/12/1985")) == {ada, oct_}  # either way round
    assert clinic.patient_ids("ada 10/12/1985") == [ada]
    assert clinic.patient_ids("12/13/1985") == []
    assert clinic.patient_ids("01-02-2345") == [odd]  # no such birthday: a phone number
    with pytest.raises(BillingError):
        clinic.patient_ids(None)


def test_imports_take_no_money_for_archived_patients_and_follow_merges(clinic, tmp_path):
    from desktop_app.core.interchange.importing import ImportRefused, import_file

    patients = tmp_path / "patients.csv"
    patients.write_text("external_id,first_name,last_name\nP1,Ada,Lovelace\nP2,Ada,L\nP3,Bo,X\n")
    import_file(clinic, "patients", patients)
    p1, p2, p3 = sorted(clinic.patient_ids(include_archived=True))
    clinic.archive_patient(p3)
    clinic.merge_patients(p1, p2)
    credit = tmp_path / "credit.csv"
    credit.write_text("patient_external_id,amount,as_of\nP3,40.00,2026-09-30\n")
    with pytest.raises(ImportRefused) as refused:
        import_file(clinic, "credit", credit)
    assert "P3" in str(refused.value.problems[0]) and clinic.credit(p3) == Decimal("0.00")
    credit.write_text("patient_external_id,amount,as_of\nP2,40.00,2026-09-30\n")
    import_file(clinic, "credit", credit)  # P2 was merged into P1: the credit is P1's
    assert clinic.credit(p1) == Decimal("40.00") and clinic.credit(p2) == Decimal("0.00")
    assert clinic.verify() == []


def test_a_merged_record_takes_no_detail_changes_and_its_transfer_stays_reversed(clinic):
    keep = clinic.add_patient("Ada", "Lovelace")
    dupe = clinic.add_patient("Ada", "Lovelace")
    clinic.record_payment(clinic.preview_payment(keep, sources={"Cash": "10"}), "p")
    transfer = clinic.transfer_credit(keep, dupe, "10", reason="Oops", request_id="t")
    clinic.merge_patients(keep, dupe)
    _refused(lambda: clinic.update_patient(dupe, mobile="0400 000 000"), "archived")
    _refused(lambda: clinic.reverse_transfer(transfer, "again"), "already_done")
    assert clinic.credit(keep) == Decimal("10.00") and clinic.verify() == []
