"""The Hypothesis stateful test of the ledger (tests/db/test_stateful.py), with the Xero sync
among its operations: after any sequence of front-desk work and a sync (some of them
interrupted mid-call, then run again), Xero ties out to the ledger invoice by invoice (amount
due, PAID, VOIDED) and contact by contact (unallocated credit), and a second sync with nothing
new writes nothing.

The tie-out reads the ledger's accounts and invoices from the database, whoever they belong to
(a patient or a payer), besides the ledger machine's shadow: the machine's rules may bill
payers too. A second machine here works a clinic with third-party payers: invoices billed to a
payer for several patients, split between payer and patient, remittances over several
invoices, the payer's credit applied and refunded, reversals, removals, voids, credit notes,
renamed payers and patients; after each sync the same tie-out, and each payer's contact and
each payer-billed invoice named as the sync names them.

Merging patients is left out of these machines: a merged patient's documents stay on their own
contact in Xero (Xero's API cannot merge contacts), which the sync reports rather than ties out.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from desktop_app.core import BillingError, Clinic, Refusal
from desktop_app.core.db.models import Invoice, Patient, Payer
from desktop_app.core.interchange.accounting_batch import contact_name, payer_contact_name
from desktop_app.core.xero.client import CallLimiter, XeroClient, XeroUnavailableError
from tests.db.test_stateful import RATES, LedgerMachine
from tests.xero_fake import FakeXero

#: The machine's tax rates in hundredths of a percent.
RATES_BP = sorted(RATES)
#: Calls a sync can be cut at (the first of each, its answer lost, then Xero stops answering).
CUTS = ["/Contacts", "/Invoices", "/CreditNotes", "/BankTransactions", "/Payments", "/Prepayments"]


def client_of(fake: FakeXero) -> XeroClient:
    return XeroClient(
        fake.token,
        fake.tenant,
        base_url=fake.url,
        limiter=CallLimiter(sleep=lambda s: None),
        sleep=lambda s: None,
    )


def sync_and_check(clinic: Clinic, fake: FakeXero, cut: str | None) -> None:
    """A sync (first cut at ``cut``: done in Xero, its answer lost, then Xero stops answering;
    then run again) that ties out, and a second one that writes nothing."""
    if cut is not None:
        fake.fail(500, "", cut, after=True)
        for _ in range(3):
            fake.fail(500, "", cut)
        with contextlib.suppress(XeroUnavailableError):
            clinic.sync_xero(client_of(fake))
        fake.faults.clear()
    report = clinic.sync_xero(client_of(fake))
    assert report.tied_out, (report.refused, report.waiting, report.differences)
    ties_out(clinic, fake)
    writes = fake.writes
    again = clinic.sync_xero(client_of(fake))
    assert again.tied_out and again.sent == 0 and fake.writes == writes


def _ledger(session: Any) -> tuple[dict[int, Any], dict[int, Any], dict[int, tuple[str, str]]]:
    accounts = {
        row.id: row
        for row in session.execute(
            select(Patient.id, Patient.first_name, Patient.last_name, Patient.credit_minor)
        )
    }
    invoices = {
        row.number: row
        for row in session.execute(select(Invoice.__table__).where(Invoice.number.is_not(None)))
    }
    payers = {
        pid: (name, email or "")
        for pid, name, email in session.execute(select(Payer.id, Payer.name, Payer.email))
    }
    return accounts, invoices, payers


def ties_out(clinic: Clinic, fake: FakeXero) -> None:
    """Xero holds what the database does, for every account (a patient's or a payer's): its
    contact, named as the account is (a payer's with its email address), has the account's
    credit unallocated, all of it held as prepayments; every issued invoice is in Xero on its
    account's contact with the amount due and status the ledger has (VOIDED if void), one
    billed to a payer naming the patient and the claim."""
    accounts, invoices, payers = clinic.store.fetch(_ledger)
    held: dict[int, Decimal] = {}
    for cid, amount in fake.credit_by_contact().items():
        pid = int(fake.contacts[cid]["ContactNumber"])
        held[pid] = held.get(pid, Decimal(0)) + amount
    for pid, account in accounts.items():
        assert held.get(pid, Decimal(0)) == Decimal(account.credit_minor).scaleb(-2), pid
    held_as_prepayments = sum((p["RemainingCredit"] for p in fake.prepayments.values()), Decimal(0))
    total = sum(account.credit_minor for account in accounts.values())
    assert held_as_prepayments == Decimal(total).scaleb(-2)
    assert all(n["RemainingCredit"] == 0 for n in fake.credit_notes.values())
    sent = set()
    for xero_id, invoice in fake.invoices.items():
        row = invoices[int(invoice["InvoiceNumber"].removeprefix("INV-"))]
        sent.add(row.number)
        contact = fake.contacts[invoice["Contact"]["ContactID"]]
        assert int(contact["ContactNumber"]) == row.patient_id, row.number
        view = fake._invoice_view(xero_id)
        if row.status == "void":
            assert view["Status"] == "VOIDED", row.number
            continue
        owed = row.total_minor - row.paid_minor - row.credited_minor
        assert view["AmountDue"] == Decimal(owed).scaleb(-2), row.number
        assert (view["Status"] == "PAID") == (owed == 0), row.number
        if row.for_patient_id is not None:
            assert row.patient_id in payers, row.number
            assert f" ({row.for_patient_id})" in invoice["Reference"], row.number
            assert invoice["Reference"].endswith(row.claim_reference or ""), row.number
    assert {n for n, row in invoices.items() if row.status not in ("draft", "void")} <= sent
    for contact in fake.contacts.values():
        pid = int(contact["ContactNumber"])
        if pid in payers:
            name, email = payers[pid]
            assert contact["Name"] == payer_contact_name(name, pid)
            assert contact["EmailAddress"] == email and "FirstName" not in contact
        else:
            account = accounts[pid]
            assert contact["Name"] == contact_name(account.first_name, account.last_name, pid)


class SyncingMachine(LedgerMachine):
    """The front desk's work, synced to a fake Xero now and then."""

    def __init__(self) -> None:
        super().__init__()
        self.xero = FakeXero().start().with_clinic_clearing()
        self.syncs = 0
        # Every tax rate the machine writes, in Xero and in the mapping.
        mapping = self.clinic.accounting_mapping()
        taxes = dict(mapping.tax_types)
        for rate_bp in RATES_BP:
            if rate_bp not in taxes:
                taxes[rate_bp] = f"Output {rate_bp}"
                self.xero.tax_rates.append(
                    {"Name": f"Output {rate_bp}", "TaxType": f"OUT{rate_bp}", "Status": "ACTIVE"}
                    | {"EffectiveRate": Decimal(rate_bp) / 100, "CanApplyToRevenue": True}
                )
        self.clinic.set_accounting_mapping(dataclasses.replace(mapping, tax_types=taxes))

    def teardown(self) -> None:
        try:
            self.sync(None)  # every sequence ends with Xero tied out
        finally:
            self.xero.stop()
            super().teardown()
        assert self.xero.invalid == []

    merge_duplicates = None  # not a rule here: see the module

    @rule(cut=st.sampled_from([None, *CUTS]))
    def sync(self, cut: str | None) -> None:
        sync_and_check(self.clinic, self.xero, cut)
        self.shadow_ties_out()
        self.syncs += 1

    def shadow_ties_out(self) -> None:
        """Xero against the machine's shadow too: each account's credit (every account the
        shadow keeps, a patient's or a payer's), each invoice's amount due."""
        fake = self.xero
        held: dict[int, Decimal] = {}
        for cid, amount in fake.credit_by_contact().items():
            pid = int(fake.contacts[cid]["ContactNumber"])
            held[pid] = held.get(pid, Decimal(0)) + amount
        for pid, minor in self.credit.items():
            assert held.get(pid, Decimal(0)) == Decimal(minor).scaleb(-2), pid
        numbers = {number: iid for iid, number in self.number.items()}
        for xero_id, invoice in fake.invoices.items():
            iid = numbers.get(int(invoice["InvoiceNumber"].removeprefix("INV-")))
            if iid is None or iid not in self.total:
                continue  # not in the shadow (checked against the database above)
            view = fake._invoice_view(xero_id)
            if iid in self.void:
                assert view["Status"] == "VOIDED", iid
                continue
            assert view["AmountDue"] == Decimal(self.owed(iid)).scaleb(-2), iid


#: What a rule of the payers' machine may be refused for (a correction the ledger does not
#: allow at that point); anything else refused fails the test.
CORRECTION_REFUSALS = {
    Refusal.ALREADY_DONE,
    Refusal.CREDIT_SPENT,
    Refusal.HAS_CREDIT_NOTES,
    Refusal.NOT_OPEN,
    Refusal.OVER_BALANCE,
    Refusal.NOTHING_TO_SAVE,
}
cents = st.integers(min_value=1, max_value=30_000)


def dec(minor: int) -> str:
    return str(Decimal(minor).scaleb(-2))


class PayersSyncMachine(RuleBasedStateMachine):
    """A clinic billing third-party payers, synced to a fake Xero now and then (Xero against
    the database: see :func:`ties_out`; the ledger itself is the ledger machine's to check,
    here only that it verifies)."""

    open_url: Callable[[], str]
    drop_url: Callable[[str], None] = staticmethod(lambda url: None)

    def __init__(self) -> None:
        super().__init__()
        self.url = self.open_url()
        self.clinic = Clinic.open(self.url)
        self.xero = FakeXero().start().with_clinic_clearing()
        self.patients = [
            self.clinic.add_patient("Ada", "Lovelace"),
            self.clinic.add_patient("Bob", "Brown"),
            self.clinic.add_patient("Cy", "Young"),
        ]
        self.payers = [
            self.clinic.add_payer("Bupa", kind="health fund", email="claims@example.org")
        ]
        self.invoices: list[int] = []
        self.payments: list[int] = []
        self.counter = 0

    def teardown(self) -> None:
        try:
            sync_and_check(self.clinic, self.xero, None)  # every sequence ends tied out
        finally:
            self.xero.stop()
            self.clinic.close()
            self.drop_url(self.url)
        assert self.xero.invalid == []

    def next_id(self) -> str:
        self.counter += 1
        return f"req-{self.counter}"

    def refused_only_as_allowed(self, call: Callable[[], object]) -> object:
        try:
            return call()
        except BillingError as refused:
            assert refused.code in CORRECTION_REFUSALS, refused
            return None

    def lines(self, data: st.DataObject) -> list[tuple[str, str, int, str]]:
        count = data.draw(st.integers(1, 2))
        return [
            (f"Service {n}", dec(data.draw(cents)), 1, data.draw(st.sampled_from(["0", "10"])))
            for n in range(count)
        ]

    # -- rules -------------------------------------------------------------------------------

    @rule(n=st.integers(2, 99), email=st.booleans())
    def add_payer(self, n: int, email: bool) -> None:
        name = f"Fund {n}"
        if any(self.clinic.payer(f).name == name for f in self.payers):
            return
        address = f"fund{n}@example.org" if email else None
        self.payers.append(self.clinic.add_payer(name, kind="insurer", email=address))

    @rule(
        data=st.data(), claim=st.one_of(st.none(), st.from_regex(r"CLM-[0-9]{1,6}", fullmatch=True))
    )
    def bill_payer(self, data: st.DataObject, claim: str | None) -> None:
        pid = data.draw(st.sampled_from(self.patients))
        fund = data.draw(st.sampled_from(self.payers))
        iid = self.clinic.create_invoice(pid, self.lines(data), bill_to=fund, claim_reference=claim)
        self.invoices.append(iid)

    @rule(data=st.data(), share=st.integers(0, 100))
    def split_visit(self, data: st.DataObject, share: int) -> None:
        pid = data.draw(st.sampled_from(self.patients))
        fund = data.draw(st.sampled_from(self.payers))
        made = self.clinic.create_split_invoice(
            pid, self.lines(data), payer=fund, payer_share=f"{share}%", claim_reference="CLM-S"
        )
        self.invoices.extend(iid for iid in made if iid is not None)

    @rule(data=st.data())
    def bill_patient(self, data: st.DataObject) -> None:
        pid = data.draw(st.sampled_from(self.patients))
        self.invoices.append(self.clinic.create_invoice(pid, self.lines(data), bill_to=None))

    @rule(data=st.data(), extra=st.integers(0, 20_000))
    def remittance(self, data: st.DataObject, extra: int) -> None:
        """A payer's remittance over some of its open invoices, what is left its credit."""
        fund = data.draw(st.sampled_from(self.payers))
        applied = {}
        for invoice in self.clinic.payer_open_invoices(fund):
            if data.draw(st.booleans()):
                owed = int(invoice.balance.scaleb(2))
                applied[invoice.id] = data.draw(st.integers(1, owed))
        total = sum(applied.values()) + extra
        if not total:
            return
        kind = data.draw(st.sampled_from(["Bank transfer", "EFTPOS"]))
        preview = self.clinic.preview_payer_payment(
            fund,
            sources={kind: dec(total)},
            applied={iid: dec(minor) for iid, minor in applied.items()},
            reference=f"REM-{self.counter}",
        )
        self.payments.append(self.clinic.record_payer_payment(preview, self.next_id()))

    @rule(data=st.data(), amount=cents)
    def patient_pays(self, data: st.DataObject, amount: int) -> None:
        pid = data.draw(st.sampled_from(self.patients))
        preview = self.clinic.preview_payment(pid, {"Cash": dec(amount)})
        self.payments.append(self.clinic.record_payment(preview, self.next_id()))

    @rule(data=st.data())
    def apply_credit(self, data: st.DataObject) -> None:
        account = data.draw(st.sampled_from(self.payers + self.patients))
        made = self.clinic.apply_credit_to_open_invoices(account, self.next_id())
        if made is not None:
            self.payments.append(made)

    @rule(data=st.data(), share=st.integers(1, 100))
    def refund(self, data: st.DataObject, share: int) -> None:
        fund = data.draw(st.sampled_from(self.payers))
        credit = int(self.clinic.payer(fund).credit.scaleb(2))
        amount = credit * share // 100
        if amount:
            self.payments.append(
                self.clinic.refund_payer_credit(
                    fund, dec(amount), method="Bank transfer", request_id=self.next_id()
                )
            )

    @precondition(lambda self: self.payments)
    @rule(data=st.data())
    def reverse_payment(self, data: st.DataObject) -> None:
        pay_id = data.draw(st.sampled_from(self.payments))
        self.refused_only_as_allowed(lambda: self.clinic.reverse_payment(pay_id, "keyed twice"))

    @precondition(lambda self: self.payments)
    @rule(data=st.data())
    def remove_application(self, data: st.DataObject) -> None:
        record = self.clinic.payment(data.draw(st.sampled_from(self.payments)))
        if record.applications:
            app = data.draw(st.sampled_from(record.applications))
            self.refused_only_as_allowed(
                lambda: self.clinic.remove_application(app.id, "wrong invoice")
            )

    @precondition(lambda self: self.invoices)
    @rule(data=st.data())
    def void_invoice(self, data: st.DataObject) -> None:
        iid = data.draw(st.sampled_from(self.invoices))
        self.refused_only_as_allowed(lambda: self.clinic.void_invoice(iid, "billed in error"))

    @precondition(lambda self: self.invoices)
    @rule(data=st.data(), amount=st.one_of(st.none(), cents))
    def credit_note(self, data: st.DataObject, amount: int | None) -> None:
        iid = data.draw(st.sampled_from(self.invoices))
        self.refused_only_as_allowed(
            lambda: self.clinic.issue_credit_note(
                iid,
                None if amount is None else dec(amount),
                reason="goodwill",
                request_id=self.next_id(),
            )
        )

    @rule(data=st.data(), email=st.booleans())
    def rename(self, data: st.DataObject, email: bool) -> None:
        """A payer renamed (and its email changed), or a patient renamed."""
        self.counter += 1
        if data.draw(st.booleans()):
            fund = data.draw(st.sampled_from(self.payers))
            address = f"claims{self.counter}@example.org" if email else None
            self.clinic.update_payer(fund, name=f"Payer {self.counter}", email=address)
        else:
            pid = data.draw(st.sampled_from(self.patients))
            self.clinic.update_patient(pid, last_name=f"Renamed {self.counter}")

    @rule(cut=st.sampled_from([None, *CUTS]))
    def sync(self, cut: str | None) -> None:
        sync_and_check(self.clinic, self.xero, cut)

    @invariant()
    def ledger_verifies(self) -> None:
        assert self.clinic.verify() == []


STEPS = int(os.environ.get("STATEFUL_STEPS", "50"))


@pytest.mark.slow  # Hypothesis stateful: minutes
@pytest.mark.timeout(1200)
def test_random_operation_sequences_with_syncs_tie_out_in_xero(new_sqlite_url):
    class OnSqlite(SyncingMachine):
        open_url = staticmethod(new_sqlite_url)

    run_state_machine_as_test(
        OnSqlite,
        settings=settings(
            settings(),
            max_examples=max(settings().max_examples // 4, 10),
            stateful_step_count=STEPS,
        ),
    )


@pytest.mark.slow  # Hypothesis stateful: minutes
@pytest.mark.timeout(1200)
def test_random_payer_sequences_with_syncs_tie_out_in_xero(new_sqlite_url):
    class OnSqlite(PayersSyncMachine):
        open_url = staticmethod(new_sqlite_url)

    run_state_machine_as_test(
        OnSqlite,
        settings=settings(
            settings(),
            max_examples=max(settings().max_examples // 4, 10),
            stateful_step_count=STEPS,
        ),
    )


@pytest.mark.slow  # Hypothesis stateful: minutes
@pytest.mark.timeout(1200)
def test_random_payer_sequences_with_syncs_tie_out_in_xero_on_postgresql(pg_databases):
    class OnPostgres(PayersSyncMachine):
        open_url = staticmethod(pg_databases.new)
        drop_url = staticmethod(pg_databases.drop)

    run_state_machine_as_test(
        OnPostgres,
        settings=settings(
            settings(),
            max_examples=max(settings().max_examples // 20, 5),
            stateful_step_count=STEPS,
        ),
    )
