"""The Hypothesis stateful test of the ledger (tests/db/test_stateful.py), with the Xero sync
among its operations: after any sequence of front-desk work and a sync (some of them
interrupted mid-call, then run again), Xero ties out to the ledger invoice by invoice (amount
due, PAID, VOIDED) and contact by contact (unallocated credit), and a second sync with nothing
new writes nothing.

Merging patients is left out of this machine: a merged patient's documents stay on their own
contact in Xero (Xero's API cannot merge contacts), which the sync reports rather than ties out.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from decimal import Decimal

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import rule, run_state_machine_as_test

from desktop_app.core.xero.client import CallLimiter, XeroClient, XeroUnavailableError
from tests.db.test_stateful import RATES, LedgerMachine
from tests.xero_fake import FakeXero

#: The machine's tax rates in hundredths of a percent.
RATES_BP = sorted(RATES)
#: Calls a sync can be cut at (the first of each, its answer lost, then Xero stops answering).
CUTS = ["/Contacts", "/Invoices", "/CreditNotes", "/BankTransactions", "/Payments", "/Prepayments"]


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

    def client(self) -> XeroClient:
        return XeroClient(
            self.xero.token,
            self.xero.tenant,
            base_url=self.xero.url,
            limiter=CallLimiter(sleep=lambda s: None),
            sleep=lambda s: None,
        )

    merge_duplicates = None  # not a rule here: see the module

    @rule(cut=st.sampled_from([None, *CUTS]))
    def sync(self, cut: str | None) -> None:
        if cut is not None:
            self.xero.fail(500, "", cut, after=True)
            for _ in range(3):
                self.xero.fail(500, "", cut)
            with contextlib.suppress(XeroUnavailableError):
                self.clinic.sync_xero(self.client())
            self.xero.faults.clear()
        report = self.clinic.sync_xero(self.client())
        assert report.tied_out, (report.refused, report.waiting, report.differences)
        self.ties_out()
        writes = self.xero.writes
        again = self.clinic.sync_xero(self.client())
        assert again.tied_out and again.sent == 0 and self.xero.writes == writes
        self.syncs += 1

    def ties_out(self) -> None:
        fake = self.xero
        credit = fake.credit_by_contact()
        patient_of = {cid: int(c["ContactNumber"]) for cid, c in fake.contacts.items()}
        held: dict[int, Decimal] = {}
        for cid, amount in credit.items():
            held[patient_of[cid]] = held.get(patient_of[cid], Decimal(0)) + amount
        for pid in self.patients:
            assert held.get(pid, Decimal(0)) == Decimal(self.credit[pid]).scaleb(-2), pid
        held_as_prepayments = sum(
            (p["RemainingCredit"] for p in fake.prepayments.values()), Decimal(0)
        )
        assert held_as_prepayments == Decimal(sum(self.credit.values())).scaleb(-2)
        assert all(n["RemainingCredit"] == 0 for n in fake.credit_notes.values())
        numbers = {number: iid for iid, number in self.number.items()}
        sent = set()
        for xero_id, invoice in fake.invoices.items():
            iid = numbers[int(invoice["InvoiceNumber"].removeprefix("INV-"))]
            sent.add(iid)
            view = fake._invoice_view(xero_id)
            if iid in self.void:
                assert view["Status"] == "VOIDED", iid
                continue
            assert view["AmountDue"] == Decimal(self.owed(iid)).scaleb(-2), iid
            assert (view["Status"] == "PAID") == (self.owed(iid) == 0), iid
        issued = {iid for iid in self.owner if iid not in self.drafts and iid not in self.void}
        assert issued <= sent


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
