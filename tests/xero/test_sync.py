"""The sync against the fake Xero: every document reaches Xero, credit-funded invoices close
there, corrections undo what they must, an interrupted sync resumes without a duplicate, and a
second sync with nothing new writes nothing. After each sync Xero ties out to the ledger:
each invoice's amount due and PAID status, each contact's unallocated credit (a patient's or a
payer's)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from desktop_app.core import Clinic
from desktop_app.core.interchange.accounting_batch import contact_name, payer_contact_name
from desktop_app.core.xero.client import CallLimiter, XeroClient
from tests.xero_fake import FakeXero, new_id


@pytest.fixture
def xero():
    fake = FakeXero().start().with_clinic_clearing()
    yield fake
    fake.stop()
    assert fake.invalid == []


def client_of(fake: FakeXero) -> XeroClient:
    return XeroClient(
        fake.token,
        fake.tenant,
        base_url=fake.url,
        limiter=CallLimiter(sleep=lambda s: None),
        sleep=lambda s: None,
    )


def pay(clinic: Clinic, pid: int, sources: dict[str, str], rid: str, **kw) -> int:
    return clinic.record_payment(clinic.preview_payment(pid, sources, **kw), rid)


def sync(clinic: Clinic, fake: FakeXero):
    return clinic.sync_xero(client_of(fake))


def tie_out(clinic: Clinic, fake: FakeXero) -> None:
    """Xero holds what the ledger does, invoice by invoice and contact by contact."""
    contacts = {c["Name"]: cid for cid, c in fake.contacts.items()}
    by_number = {i["InvoiceNumber"]: i for i in fake.invoices.values()}
    credit = fake.credit_by_contact()
    accounts = {}  # contact name -> the account's credit here
    for pid in clinic.patient_ids(include_archived=True):
        patient = clinic.patient(pid)
        accounts[contact_name(patient.first_name, patient.last_name, pid)] = clinic.credit(pid)
    for payer in clinic.payers(include_archived=True):
        accounts[payer_contact_name(payer.name, payer.id)] = payer.credit
    for name, here in accounts.items():
        held = credit.get(contacts.get(name, ""), Decimal(0))
        assert held == here, (name, held, here)
    for invoice in fake.invoices.values():
        number = int(invoice["InvoiceNumber"].removeprefix("INV-"))
        here = clinic.invoice(_invoice_id(clinic, number))
        view = fake._invoice_view(invoice["InvoiceID"])
        if here.status == "void":
            assert view["Status"] == "VOIDED", number
            continue
        assert view["AmountDue"] == here.balance, (number, view["AmountDue"], here.balance)
        assert (view["Status"] == "PAID") == (here.status == "paid"), number
    assert len(by_number) == len(fake.invoices)
    # The liability ties out: all account credit is held as prepayments on the customer-credit
    # account (a credit note's credit moved there too), none left on credit notes.
    held = sum((p["RemainingCredit"] for p in fake.prepayments.values()), Decimal(0))
    assert held == sum(accounts.values(), Decimal(0))
    assert all(n["RemainingCredit"] == 0 for n in fake.credit_notes.values())


def _invoice_id(clinic: Clinic, number: int) -> int:
    from sqlalchemy import select

    from desktop_app.core.db.models import Invoice

    return clinic.store.fetch(
        lambda s: s.scalar(select(Invoice.id).where(Invoice.number == number))
    )


def test_a_credit_funded_invoice_closes_in_xero(clinic, xero):
    ada = clinic.add_patient("Ada", "Lovelace")
    prepaid = pay(clinic, ada, {"EFTPOS": "100.00"}, "prepay")
    inv = clinic.create_invoice(ada, [("Consultation", "80.00", 1, "10")])
    clinic.apply_credit_to_open_invoices(ada, "use-credit")
    assert clinic.invoice(inv).status == "paid"
    report = sync(clinic, xero)
    assert report.tied_out, (report.refused, report.waiting, report.differences)
    invoice = next(iter(xero.invoices.values()))
    assert (
        invoice["InvoiceNumber"] == "INV-1"
        and xero._invoice_view(invoice["InvoiceID"])["Status"] == "PAID"
    )
    prepayment = next(iter(xero.prepayments.values()))
    assert prepayment["Total"] == Decimal("100.00")
    assert prepayment["RemainingCredit"] == Decimal("12.00") == clinic.credit(ada)
    assert prepaid
    tie_out(clinic, xero)
    writes = xero.writes
    again = sync(clinic, xero)
    assert again.tied_out and xero.writes == writes and again.sent == 0


def synced(clinic: Clinic, fake: FakeXero):
    report = sync(clinic, fake)
    assert report.tied_out, (report.refused, report.waiting, report.differences)
    tie_out(clinic, fake)
    return report


def test_every_kind_of_record_and_correction_ties_out_after_each_sync(clinic, xero):
    ada = clinic.add_patient("Ada", "Lovelace")
    bob = clinic.add_patient("Bob", "Brown")
    one = clinic.create_invoice(
        ada, [("Consultation", "95.00", 1, "10"), ("Taping", "12.50", 2, "0")]
    )
    two = clinic.create_invoice(ada, [("Review", "60.00", 1, "10")])
    three = clinic.create_invoice(bob, [("Review", "60.00", 1, "10")])
    # Split between two types, part on invoice one, the rest left as credit.
    split = pay(
        clinic, ada, {"Cash": "50.00", "EFTPOS": "100.00"}, "split", applied={one: "124.50"}
    )
    paid_bob = pay(clinic, bob, {"Cash": "66.00"}, "bob")
    synced(clinic, xero)
    assert sorted(p["Amount"] for p in xero.payments.values()) == [
        Decimal("25.50"),
        Decimal("50.00"),
        Decimal("66.00"),
        Decimal("74.50"),
    ]  # one: 50 cash + 74.50 EFTPOS; two: the EFTPOS left; three: Bob's 66
    # Credit pays invoice two; a credit note on one returns what was paid as credit.
    clinic.apply_credit_to_open_invoices(ada, "credit-two")
    note = clinic.issue_credit_note(one, "20.00", reason="Shorter session", request_id="cn")
    refund = clinic.refund_credit(ada, "5.00", method="Cash", request_id="ref")
    transfer = clinic.transfer_credit(ada, bob, "10.00", reason="Family", request_id="trf")
    synced(clinic, xero)
    (record,) = clinic.credit_notes(ada)
    (moved,) = (p for p in xero.prepayments.values() if p["Reference"] == "CN-1")
    assert record.to_credit > 0 and moved["Total"] == record.to_credit
    # Corrections: the refund and the transfer reversed, an application removed, invoice three
    # voided, Bob's payment reversed, the credit note reversed.
    clinic.reverse_transfer(transfer, "Wrong patient")
    clinic.reverse_payment(refund, "Entered twice")
    app = next(a.id for a in clinic.payment(split).applications if a.invoice_id == two)
    clinic.remove_application(app, "Wrong invoice")
    synced(clinic, xero)
    clinic.void_invoice(three, "Entered twice")
    clinic.reverse_payment(paid_bob, "Card declined")
    clinic.reverse_credit_note(note, "Issued in error")
    report = synced(clinic, xero)
    assert report.sent > 0
    writes = xero.writes
    assert sync(clinic, xero).sent == 0 and xero.writes == writes


def busy_day(clinic: Clinic) -> tuple[int, int]:
    ada = clinic.add_patient("Ada", "Lovelace")
    bob = clinic.add_patient("Bob", "Brown")
    for n in range(3):
        clinic.create_invoice(ada, [(f"Visit {n}", "50.00", 1, "10")])
    clinic.create_invoice(bob, [("Visit", "80.00", 1, "0")])
    pay(clinic, ada, {"EFTPOS": "200.00"}, "ada")
    pay(clinic, bob, {"Cash": "30.00"}, "bob")
    return ada, bob


def test_a_sync_killed_mid_batch_resumes_without_a_duplicate(clinic, xero):
    from desktop_app.core.xero.client import XeroUnavailableError

    busy_day(clinic)
    # The payments' call is done by Xero but its answer is lost, and Xero then stops answering.
    xero.fail(500, "PUT", "/Payments", after=True)
    for _ in range(3):
        xero.fail(500, "PUT", "/Payments")
    with pytest.raises(XeroUnavailableError):
        sync(clinic, xero)
    assert len(xero.payments) == 4 and len(xero.invoices) == 4
    (stopped,) = clinic.xero_sync_runs()  # the sync log says where it stopped
    assert stopped.summary.startswith("Stopped: Xero did not answer PUT /Payments")
    report = synced(clinic, xero)  # the same call again, under the same Idempotency-Key
    assert len(xero.payments) == 4 and len(xero.invoices) == 4 and len(xero.contacts) == 2
    assert report.steps["payments"] == 4


def test_a_refused_record_does_not_stop_the_others_and_is_shown_with_xeros_words(clinic, xero):
    busy_day(clinic)
    # The bookkeeper keyed INV-2 by hand in Xero before the first sync.
    x, y = new_id(), new_id()
    xero.contacts[x] = {"ContactID": x, "Name": "Walk-in", "ContactStatus": "ACTIVE"}
    xero.invoices[y] = {
        "InvoiceID": y,
        "InvoiceNumber": "INV-2",
        "Contact": {"ContactID": x},
        "Status": "AUTHORISED",
        "Total": Decimal(1),
        "AmountDue": Decimal(1),
        "AmountPaid": Decimal(0),
        "AmountCredited": Decimal(0),
    }
    report = sync(clinic, xero)
    assert not report.tied_out
    assert report.refused == ["Invoice INV-2: Invoice # must be unique (INV-2)."]
    assert any("INV-2" in w for w in report.waiting)  # its payment waits for it
    assert {i["InvoiceNumber"] for i in xero.invoices.values()} == {
        "INV-1",
        "INV-2",
        "INV-3",
        "INV-4",
    }
    assert [d.what for d in report.differences] == ["INV-2"]
    # Fixed in Xero (the hand-keyed invoice renumbered): the next sync sends it, and ties out.
    del xero.invoices[y], xero.contacts[x]
    synced(clinic, xero)


def test_a_contact_made_by_a_lost_answer_is_used_not_duplicated(clinic, xero):
    ada, _ = busy_day(clinic)
    made = new_id()
    xero.contacts[made] = {
        "ContactID": made,
        "Name": f"Ada Lovelace ({ada})",
        "ContactStatus": "ACTIVE",
    }
    synced(clinic, xero)
    assert len(xero.contacts) == 2
    assert sum(i["Contact"]["ContactID"] == made for i in xero.invoices.values()) == 3


def test_a_dry_run_counts_what_would_be_sent_and_sends_nothing(clinic, xero):
    busy_day(clinic)
    report = clinic.sync_xero(client_of(xero), dry_run=True)
    assert xero.writes == 0 and report.dry_run
    assert report.steps["contacts"] == 2 and report.steps["invoices"] == 4
    assert report.steps["payments"] == 4 and report.steps["prepayments"] == 1
    synced(clinic, xero)
    assert clinic.sync_xero(client_of(xero), dry_run=True).sent == 0


def test_the_command_line_syncs_with_the_environments_token(clinic, xero, monkeypatch, capsys):
    from desktop_app.app import main

    busy_day(clinic)
    monkeypatch.setenv("CLINIC_XERO_API_BASE", xero.url)
    monkeypatch.setenv("CLINIC_XERO_ACCESS_TOKEN", xero.token)
    monkeypatch.setenv("CLINIC_XERO_TENANT_ID", xero.tenant)
    url = clinic.store.engine.url.render_as_string(hide_password=False)
    assert main(["--database", url, "xero", "sync", "--dry-run"]) == 0
    assert "would send" in capsys.readouterr().out and xero.writes == 0
    assert main(["--database", url, "xero", "sync"]) == 0
    out = capsys.readouterr().out
    assert "Tied out" in out and len(xero.invoices) == 4
    tie_out(clinic, xero)


def test_a_renamed_patient_and_a_corrected_invoice_are_sent_again_as_changes(clinic, xero):
    ada = clinic.add_patient("Ada", "Lovelace")
    inv = clinic.create_invoice(ada, [("Consultation", "80.00", 1, "10")])
    synced(clinic, xero)
    clinic.update_patient(ada, last_name="King")
    clinic.update_invoice(inv, lines=[("Consultation", "95.00", 1, "10")])
    report = synced(clinic, xero)
    assert report.steps["contacts"] == 1 and report.steps["corrected invoices"] == 1
    (contact,) = xero.contacts.values()
    assert contact["Name"] == f"Ada King ({ada})"
    (invoice,) = xero.invoices.values()
    assert invoice["Total"] == Decimal("104.50") == invoice["AmountDue"]
    assert sync(clinic, xero).sent == 0


def test_a_sync_waits_while_another_computers_sync_runs(clinic, xero, monkeypatch):
    from desktop_app.core import BillingError, Refusal
    from desktop_app.core.managers import xero as manager

    busy_day(clinic)
    ends = []
    original = manager.XeroConnection._end_lease

    def second_computer(self) -> None:  # while this sync runs, another one starts
        with pytest.raises(BillingError) as refused:
            clinic.sync_xero(client_of(xero))
        assert refused.value.code == Refusal.CONCURRENT_CHANGE
        assert "is running since" in str(refused.value)
        ends.append(True)
        original(self)

    monkeypatch.setattr(manager.XeroConnection, "_end_lease", second_computer)
    synced(clinic, xero)
    assert ends == [True]
    monkeypatch.setattr(manager.XeroConnection, "_end_lease", original)
    assert sync(clinic, xero).tied_out  # the lease ended with the first sync


def test_how_often_to_sync_is_a_checked_clinic_setting(clinic):
    from desktop_app.core import BillingError

    assert clinic.xero_sync_minutes() == 0
    clinic.set_xero_sync_minutes(15)
    assert clinic.xero_sync_minutes() == 15
    for bad in (3, -5, 2000, True, "15"):
        with pytest.raises(BillingError):
            clinic.set_xero_sync_minutes(bad)
    assert clinic.xero_sync_minutes() == 15
    clinic.set_xero_sync_minutes(0)
    assert clinic.xero_sync_minutes() == 0


def test_an_allocation_cut_off_mid_call_is_sent_again_as_it_was_even_after_more_work(clinic, xero):
    from desktop_app.core.xero.client import XeroUnavailableError

    ada = clinic.add_patient("Ada", "Lovelace")
    pay(clinic, ada, {"EFTPOS": "100.00"}, "pre")
    clinic.create_invoice(ada, [("Consultation", "40.00", 1, "0")])
    clinic.apply_credit_to_open_invoices(ada, "apply-1")
    xero.fail(500, "PUT", "/Prepayments", after=True)  # done in Xero, the answer lost
    for _ in range(3):
        xero.fail(500, "PUT", "/Prepayments")
    with pytest.raises(XeroUnavailableError):
        sync(clinic, xero)
    assert len(xero.allocations) == 1
    # More credit is used before the next sync: the interrupted call is sent again unchanged.
    clinic.create_invoice(ada, [("Review", "30.00", 1, "0")])
    clinic.apply_credit_to_open_invoices(ada, "apply-2")
    report = synced(clinic, xero)
    assert sorted(a["Amount"] for a in xero.allocations.values()) == [
        Decimal("30.00"),
        Decimal("40.00"),
    ]
    assert report.steps["allocations"] == 2


def test_lines_from_the_catalogue_name_their_item_code_in_xero(clinic, xero):
    consult = clinic.add_billable_item("IC", "Initial consultation", "95.00", tax_rate="10")
    clinic.add_billable_item("TAPE", "Taping", "12.50", tax_rate="10")
    ada = clinic.add_patient("Ada", "Lovelace")
    clinic.create_invoice(ada, [{"item": consult, "quantity": "1"}, ("Report", "30.00", 1)])
    # The bookkeeper made the taping item in Xero already: it is used, not made twice.
    made = new_id()
    xero.items[made] = {"ItemID": made, "Code": "TAPE", "Name": "Taping"}
    tape = clinic.billable_items(search="Taping")[0].id
    clinic.create_invoice(ada, [{"item": tape, "quantity": "2"}])
    report = synced(clinic, xero)
    assert report.steps["items"] == 1
    assert sorted(i["Code"] for i in xero.items.values()) == ["IC", "TAPE"]
    lines = {
        line["Description"]: line.get("ItemCode")
        for invoice in xero.invoices.values()
        for line in invoice["LineItems"]
    }
    assert lines == {"Initial consultation": "IC", "Report": None, "Taping": "TAPE"}
    assert sync(clinic, xero).sent == 0


def test_an_access_token_expiring_mid_sync_stops_it_and_a_renewed_one_carries_on(
    clinic, keychain, monkeypatch
):
    from desktop_app.core.xero.client import XeroAuthError
    from desktop_app.core.xero.oauth import Endpoints, Setup
    from tests.xero_identity import CLIENT_ID, FakeIdentity, browser

    identity = FakeIdentity()
    fake = FakeXero(tenant="t-1", accept=lambda token: token in identity.access_tokens).start()
    fake.with_clinic_clearing()
    try:
        setup = Setup(CLIENT_ID, Endpoints.under(identity.base), 0)
        clinic.connect_xero(browser(), lambda found: found[0], setup=setup)
        busy_day(clinic)
        environ = {"CLINIC_XERO_API_BASE": fake.url}
        fake.fail(401, "PUT", "/Payments")  # the hour's token runs out as payments are sent
        with pytest.raises(XeroAuthError):
            clinic.sync_xero(clinic.xero_client(setup=setup, environ=environ))
        assert len(fake.invoices) == 4 and fake.payments == {}
        renewed = clinic.xero_client(setup=setup, environ=environ)  # the keychain's refresh
        report = clinic.sync_xero(renewed)
        assert report.tied_out and len(fake.payments) == 4 and len(fake.invoices) == 4
        tie_out(clinic, fake)
    finally:
        fake.stop()
        identity.stop()
    assert fake.invalid == []


def test_a_clinic_that_used_export_files_is_warned_before_entering_them_twice(
    clinic, xero, tmp_path, monkeypatch, capsys
):
    from desktop_app.app import main
    from desktop_app.core import BillingError

    busy_day(clinic)
    clinic.export_accounting(tmp_path)
    with pytest.raises(BillingError) as refused:
        sync(clinic, xero)
    assert refused.value.field == "after_exports" and "a second time" in str(refused.value)
    assert xero.writes == 0
    assert clinic.sync_xero(client_of(xero), dry_run=True).steps["invoices"] == 4
    monkeypatch.setenv("CLINIC_XERO_API_BASE", xero.url)
    monkeypatch.setenv("CLINIC_XERO_ACCESS_TOKEN", xero.token)
    monkeypatch.setenv("CLINIC_XERO_TENANT_ID", xero.tenant)
    url = clinic.store.engine.url.render_as_string(hide_password=False)
    assert main(["--database", url, "xero", "sync"]) == 1
    assert "a second time" in capsys.readouterr().err and xero.writes == 0
    assert main(["--database", url, "xero", "sync", "--after-exports"]) == 0
    tie_out(clinic, xero)
    assert sync(clinic, xero).tied_out  # once synced, no more asking


def test_after_a_merge_credit_on_the_other_contact_is_said_not_sent_against_xeros_rules(
    clinic, xero
):
    ada = clinic.add_patient("Ada", "Lovelace")
    dupe = clinic.add_patient("Ada", "Lovelace-King")
    pay(clinic, dupe, {"EFTPOS": "100.00"}, "pre")
    clinic.create_invoice(ada, [("Consultation", "40.00", 1, "0")])
    paid = clinic.create_invoice(dupe, [("Review", "30.00", 1, "0")])
    pay(clinic, dupe, {"Cash": "30.00"}, "cash", applied={paid: "30.00"})
    synced(clinic, xero)
    clinic.merge_patients(ada, dupe, reason="duplicate")
    clinic.apply_credit_to_open_invoices(ada, "apply")
    for _ in range(2):  # the same each time: nothing refused, the fix said
        report = sync(clinic, xero)
        assert report.refused == []
        assert report.waiting == [
            "APP-2: 40.00 of credit is held on another Xero contact of this patient (patients "
            "merged since they were sent): merge the two contacts in Xero, then allocate it "
            "there."
        ]
        assert [(d.what, d.reason) for d in report.differences] == [
            ("INV-1", "closed here, open there")
        ]
    assert len(xero.invoices) == 2 and len(xero.allocations) == 0


def test_a_name_longer_than_xero_takes_is_shortened_before_the_patient_number(clinic, xero):
    long_first, long_last = "A" * 150, "B" * 150
    pid = clinic.add_patient(long_first, long_last)
    clinic.create_invoice(pid, [("Consultation", "40.00", 1, "0")])
    synced(clinic, xero)
    (contact,) = xero.contacts.values()
    assert len(contact["Name"]) == 255 and contact["Name"].endswith(f"B ({pid})")


def test_credit_applied_again_the_same_way_after_it_was_taken_off_is_a_new_write(clinic, xero):
    ada = clinic.add_patient("Ada", "Lovelace")
    pay(clinic, ada, {"EFTPOS": "100.00"}, "pre")
    inv = clinic.create_invoice(ada, [("Consultation", "40.00", 1, "0")])
    clinic.apply_credit_to_open_invoices(ada, "apply-1")
    synced(clinic, xero)
    (app,) = [a for p in clinic.payments(ada) for a in p.applications if a.invoice_id == inv]
    clinic.remove_application(app.id, "Applied by mistake")
    synced(clinic, xero)
    assert xero.allocations == {}
    # The very same allocation again (same prepayment, invoice, amount and day): Xero must do it,
    # not answer it from the first one's Idempotency-Key.
    clinic.apply_credit_to_open_invoices(ada, "apply-2")
    synced(clinic, xero)
    assert [a["Amount"] for a in xero.allocations.values()] == [Decimal("40.00")]


def test_an_invoice_corrected_back_to_what_it_was_is_sent_again(clinic, xero):
    ada = clinic.add_patient("Ada", "Lovelace")
    inv = clinic.create_invoice(ada, [("Consultation", "80.00", 1, "0")])
    synced(clinic, xero)
    clinic.update_invoice(inv, lines=[("Consultation", "95.00", 1, "0")])
    synced(clinic, xero)
    clinic.update_invoice(inv, lines=[("Consultation", "80.00", 1, "0")])
    synced(clinic, xero)
    (invoice,) = xero.invoices.values()
    assert invoice["Total"] == Decimal("80.00")
    clinic.update_invoice(inv, lines=[("Consultation", "95.00", 1, "0")])  # the same change again
    synced(clinic, xero)
    (invoice,) = xero.invoices.values()
    assert invoice["Total"] == Decimal("95.00")


def test_a_record_refused_alone_is_tried_again_under_a_new_key_once_fixed(clinic, xero):
    ada = clinic.add_patient("Ada", "Lovelace")
    clinic.create_invoice(ada, [("Consultation", "80.00", 1, "0")])
    synced(clinic, xero)  # the contact
    clinic.create_invoice(ada, [("Review", "60.00", 1, "0")])
    hand = new_id()
    contact = next(iter(xero.contacts))
    xero.invoices[hand] = {
        "InvoiceID": hand,
        "InvoiceNumber": "INV-2",
        "Contact": {"ContactID": contact},
        "Status": "AUTHORISED",
        "Total": Decimal(1),
        "AmountDue": Decimal(1),
        "AmountPaid": Decimal(0),
        "AmountCredited": Decimal(0),
    }
    assert sync(clinic, xero).refused == ["Invoice INV-2: Invoice # must be unique (INV-2)."]
    del xero.invoices[hand]  # fixed in Xero
    synced(clinic, xero)  # the same request, a new Idempotency-Key: done this time
    assert sorted(i["InvoiceNumber"] for i in xero.invoices.values()) == ["INV-1", "INV-2"]


def test_a_payers_invoices_remittances_and_credit_are_on_the_payers_contact(clinic, xero):
    ada = clinic.add_patient("Ada", "Lovelace")
    bob = clinic.add_patient("Bob", "Brown")
    fund = clinic.add_payer("Bupa", kind="health fund", email="claims@example.org")
    one = clinic.create_invoice(
        ada, [("Consultation", "95.00", 1, "10")], bill_to=fund, claim_reference="CLM-9"
    )
    two = clinic.create_invoice(
        bob, [("Review", "60.00", 1, "0")], bill_to=fund, claim_reference="CLM-10"
    )
    share, gap = clinic.create_split_invoice(
        ada, [("Treatment", "100.00", 1, "0")], payer=fund, payer_share="80%"
    )
    # One remittance pays three invoices of two patients and leaves 55.50 as the payer's credit.
    remittance = clinic.record_payer_payment(
        clinic.preview_payer_payment(
            fund,
            sources={"Bank transfer": "300.00"},
            applied={one: "104.50", two: "60.00", share: "80.00"},
            reference="REM-2026-11",
        ),
        request_id="rem-1",
    )
    pay(clinic, ada, {"Cash": "10.00"}, "gap-part", applied={gap: "10.00"})
    synced(clinic, xero)
    names = {c["Name"]: c for c in xero.contacts.values()}
    # Bob has nothing of his own: his invoice is the payer's.
    assert sorted(names) == [f"Ada Lovelace ({ada})", f"Bupa (payer {fund})"]
    bupa = names[f"Bupa (payer {fund})"]
    assert bupa["EmailAddress"] == "claims@example.org" and "FirstName" not in bupa
    on = {
        i["InvoiceNumber"]: (i["Contact"]["ContactID"], i.get("Reference"))
        for i in xero.invoices.values()
    }
    ada_contact = names[f"Ada Lovelace ({ada})"]["ContactID"]
    assert on == {
        "INV-1": (bupa["ContactID"], f"Ada Lovelace ({ada}) · CLM-9"),
        "INV-2": (bupa["ContactID"], f"Bob Brown ({bob}) · CLM-10"),
        "INV-3": (bupa["ContactID"], f"Ada Lovelace ({ada})"),
        "INV-4": (ada_contact, "Split with INV-3"),
    }
    (held,) = (
        p for p in xero.prepayments.values() if p["Contact"]["ContactID"] == bupa["ContactID"]
    )
    assert held["Reference"] == f"PAY-{remittance} · REM-2026-11"
    assert held["RemainingCredit"] == Decimal("55.50") == clinic.payer(fund).credit
    remitted = [p for p in xero.payments.values() if p["Reference"].endswith("REM-2026-11")]
    assert sorted(p["Amount"] for p in remitted) == [
        Decimal("60.00"),
        Decimal("80.00"),
        Decimal("104.50"),
    ]
    # The payer's credit pays a new invoice, part is refunded; a second remittance, synced,
    # is then reversed (keyed twice).
    three = clinic.create_invoice(
        bob, [("Review", "30.00", 1, "0")], bill_to=fund, claim_reference="CLM-12"
    )
    clinic.apply_credit_to_open_invoices(fund, "fund-credit")
    assert clinic.invoice(three).status == "paid"
    clinic.refund_payer_credit(fund, "5.50", method="Bank transfer", request_id="refund-1")
    four = clinic.create_invoice(
        ada, [("Consultation", "95.00", 1, "10")], bill_to=fund, claim_reference="CLM-13"
    )
    twice = clinic.record_payer_payment(
        clinic.preview_payer_payment(
            fund, sources={"Bank transfer": "150.00"}, applied={four: "104.50"}, reference="REM-2"
        ),
        request_id="rem-2",
    )
    synced(clinic, xero)
    assert clinic.payer(fund).credit == Decimal("65.50")
    clinic.reverse_payment(twice, "Keyed twice")
    synced(clinic, xero)
    assert clinic.invoice(four).status == "open" and clinic.payer(fund).credit == Decimal("20.00")
    writes = xero.writes
    assert sync(clinic, xero).sent == 0 and xero.writes == writes
    # The payer renamed and its email changed: its contact changes, nothing else is sent. The
    # patient renamed: her contact changes; the references of invoices paid in Xero stay.
    clinic.update_payer(fund, name="Bupa Australia", email="remit@example.org")
    clinic.update_patient(ada, last_name="King")
    report = synced(clinic, xero)
    assert report.steps == {"contacts": 2} and report.refused == []
    renamed = xero.contacts[bupa["ContactID"]]
    assert renamed["Name"] == f"Bupa Australia (payer {fund})"
    assert renamed["EmailAddress"] == "remit@example.org"
    assert xero.contacts[ada_contact]["Name"] == f"Ada King ({ada})"
    assert sync(clinic, xero).sent == 0


def test_a_payer_invoice_reference_keeps_the_claim_within_xeros_length(clinic, xero):
    long = clinic.add_patient("A" * 200, "B" * 200)
    fund = clinic.add_payer("W" * 200, kind="insurer")
    claim = "C" * 60
    clinic.create_invoice(long, [("Report", "40.00", 1, "0")], bill_to=fund, claim_reference=claim)
    synced(clinic, xero)
    (contact,) = xero.contacts.values()
    assert contact["Name"] == "W" * 200 + f" (payer {fund})" and contact["EmailAddress"] == ""
    (invoice,) = xero.invoices.values()
    assert len(invoice["Reference"]) == 255
    assert invoice["Reference"].startswith("AAA")  # the name shortened, never the claim
    assert invoice["Reference"].endswith(f"A ({long}) · {claim}")


def test_the_export_files_and_the_sync_name_a_payer_and_its_invoices_alike(clinic, xero, tmp_path):
    import csv

    from desktop_app.core.interchange.accounting_batch import FILES

    ada = clinic.add_patient("Ada", "Lovelace")
    fund = clinic.add_payer("Bupa", kind="health fund", email="claims@example.org")
    one = clinic.create_invoice(
        ada, [("Consultation", "95.00", 1, "10")], bill_to=fund, claim_reference="CLM-9"
    )
    clinic.create_split_invoice(
        ada, [("Treatment", "100.00", 1, "0")], payer=fund, payer_share="60.00"
    )
    # The remittance closes both of the payer's invoices and leaves 35.50 as its credit.
    clinic.record_payer_payment(
        clinic.preview_payer_payment(
            fund, sources={"Bank transfer": "200.00"}, applied={one: "104.50"}, reference="REM-7"
        ),
        request_id="rem-7",
    )
    folder = clinic.export_accounting(tmp_path).folder
    rows = []
    for key in ("invoices", "invoices_inclusive", "payments"):
        with (folder / FILES[key]).open(encoding="utf-8-sig", newline="") as handle:
            rows += list(csv.DictReader(handle))
    exported = {
        r["*InvoiceNumber"]: (r["*ContactName"], r["EmailAddress"], r["Reference"])
        for r in rows
        if "*InvoiceNumber" in r
    }
    clinic.sync_xero(client_of(xero), after_exports=True)
    tie_out(clinic, xero)
    synced_ = {}
    for invoice in xero.invoices.values():
        contact = xero.contacts[invoice["Contact"]["ContactID"]]
        said = (contact["Name"], contact.get("EmailAddress", ""), invoice.get("Reference", ""))
        synced_[invoice["InvoiceNumber"]] = said
    assert exported == synced_ and len(exported) == 3
    (prepayment,) = xero.prepayments.values()
    assert {r["Reference"] for r in rows if "PaymentType" in r} == {prepayment["Reference"]}


def test_a_cut_contacts_call_of_a_rename_and_a_new_contact_resumes_each_on_its_own(clinic, xero):
    from desktop_app.core.xero.client import XeroUnavailableError

    fund = clinic.add_payer("Bupa", kind="health fund")
    ada = clinic.add_patient("Ada", "Lovelace")
    clinic.create_invoice(ada, [("Consultation", "80.00", 1, "0")], bill_to=fund)
    synced(clinic, xero)
    # One contacts call: the payer renamed, a new patient; done in Xero, its answer lost.
    clinic.update_payer(fund, name="Bupa Australia")
    bob = clinic.add_patient("Bob", "Brown")
    clinic.create_invoice(bob, [("Review", "60.00", 1, "0")])
    xero.fail(500, "POST", "/Contacts", after=True)
    for _ in range(3):
        xero.fail(500, "POST", "/Contacts")
    with pytest.raises(XeroUnavailableError):
        sync(clinic, xero)
    synced(clinic, xero)
    names = sorted(c["Name"] for c in xero.contacts.values())
    assert names == [f"Bob Brown ({bob})", f"Bupa Australia (payer {fund})"]
    (two,) = (i for i in xero.invoices.values() if i["InvoiceNumber"] == "INV-2")
    assert xero.contacts[two["Contact"]["ContactID"]]["Name"] == f"Bob Brown ({bob})"


def test_a_contact_is_renamed_even_when_nothing_of_its_is_live_any_more(clinic, xero):
    fund = clinic.add_payer("Bupa", kind="health fund")
    ada = clinic.add_patient("Ada", "Lovelace")
    inv = clinic.create_invoice(ada, [("Consultation", "80.00", 1, "0")], bill_to=fund)
    synced(clinic, xero)
    clinic.void_invoice(inv, "Billed in error")
    synced(clinic, xero)
    clinic.update_payer(fund, name="Bupa Australia", email="claims@example.org")
    report = synced(clinic, xero)
    assert report.steps == {"contacts": 1}
    (contact,) = xero.contacts.values()
    assert contact["Name"] == f"Bupa Australia (payer {fund})"
    assert contact["EmailAddress"] == "claims@example.org"


def test_a_declined_claim_billed_to_the_patient_moves_to_the_patients_contact(clinic, xero):
    pid = clinic.add_patient("Ada", "Lovelace")
    fund = clinic.add_payer("Bupa", kind="health fund")
    iid = clinic.create_invoice(pid, [("Consult", "95.00", 1)], bill_to=fund, claim_reference="C1")
    assert sync(clinic, xero).tied_out
    clinic.update_invoice(iid, bill_to=None)
    assert sync(clinic, xero).tied_out
    (sent,) = xero.invoices.values()
    ada = contact_name("Ada", "Lovelace", pid)
    assert xero.contacts[sent["Contact"]["ContactID"]]["Name"] == ada
    pay(clinic, pid, {"Cash": "95.00"}, "desk-1")
    assert sync(clinic, xero).tied_out
    tie_out(clinic, xero)
