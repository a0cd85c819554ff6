"""The Xero accounting export: files, incremental exports, changes since, and tie-outs."""

from __future__ import annotations

import csv
import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from desktop_app.core import BillingError, Clinic, Refusal
from desktop_app.core.db.models import InvoiceLine
from desktop_app.core.interchange.accounting_batch import FILES, INVOICE_COLUMNS, payer_contact_name
from desktop_app.core.interchange.accounting_build import split_credit
from desktop_app.core.interchange.accounting_lines import xero_line
from desktop_app.core.interchange.accounting_mapping import default_clearing_code

TODAY = date.today()
D = Decimal


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


def pay(clinic: Clinic, pid: int, sources: dict[str, str], rid: str, **kw) -> int:
    return clinic.record_payment(clinic.preview_payment(pid, sources, **kw), rid)


def read(folder: Path, key: str) -> list[dict[str, str]]:
    with (folder / FILES[key]).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def money(text: str) -> Decimal:
    return Decimal(text)


def xero_line_amount(row: dict[str, str]) -> Decimal:
    """A row's line amount as Xero works it out (quantity x unit amount less the discount
    percentage), which must need no rounding: Xero then arrives at our cent whatever it rounds."""
    discount = money(row["Discount"] or "0")
    exact = money(row["*Quantity"]) * money(row["*UnitAmount"]) * (100 - discount) / 100
    assert exact == exact.quantize(D("0.01")), row
    return exact


def xero_total(row: dict[str, str], key: str) -> Decimal:
    """A row's amount with tax: the tax-inclusive file's line amounts already include it."""
    line = xero_line_amount(row)
    return line if key == "invoices_inclusive" else line + money(row["TaxAmount"])


class Totals:
    """Running sums over every export's files, as a bookkeeper's ledger would hold them."""

    def __init__(self) -> None:
        self.invoiced = self.voided = self.credit_notes = self.received = self.allocated = D(0)

    def add(self, folder: Path) -> None:
        for key in ("invoices", "invoices_inclusive"):
            for row in read(folder, key):
                amount = xero_total(row, key)
                if row["*InvoiceNumber"].startswith("INV-"):
                    self.invoiced += amount
                else:
                    self.credit_notes -= amount
        self.received += sum((money(r["Amount"]) for r in read(folder, "payments")), D(0))
        self.allocated += sum((money(r["Amount"]) for r in read(folder, "allocations")), D(0))
        for row in read(folder, "reconciliation"):
            if row["Status"] == "voided since exported":
                self.voided += money(row["Amount"])
            if row["Status"] == "reversed since exported" and row["Record"].startswith("CN-"):
                self.credit_notes -= money(row["Amount"])

    def check(self, clinic: Clinic) -> None:
        """What the files say is owed and held equals the ledger's (verify's) figures."""
        summary = clinic.summary()
        assert self.invoiced - self.voided - self.allocated == summary.outstanding
        assert self.received + self.credit_notes - self.allocated == summary.credit_held
        assert clinic.verify() == []


@pytest.fixture
def ledger(clinic: Clinic) -> dict[str, int]:
    ada = clinic.add_patient("Ada", "Lovelace")
    bob = clinic.add_patient("=Bob", "Lovelace")  # a formula-looking name stays text
    ids = {"ada": ada, "bob": bob}
    ids["pre"] = pay(clinic, ada, {"Cash": "30"}, "pre", payment_date=days_ago(10))
    ids["inv1"] = clinic.create_invoice(
        ada, [("Consult", "100", 1, "10"), ("Band", "5", 2)], issue_date=days_ago(9)
    )
    ids["pay"] = pay(clinic, ada, {"EFTPOS": "50", "Cash": "45"}, "p", payment_date=days_ago(8))
    ids["inv2"] = clinic.create_invoice(bob, [("Consult", "80", 1)], issue_date=days_ago(5))
    ids["cn"] = clinic.credit_note(ids["inv2"], "30", reason="discount", request_id="cn")
    clinic.transfer_credit(ada, bob, "5", reason="family", request_id="t")
    return ids


def test_first_export_writes_the_xero_files_and_ties_out(clinic, ledger, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("exports")
    preview = clinic.preview_accounting_export()
    assert preview.folder is None and not list(tmp_path.iterdir())
    result = clinic.export_accounting(tmp_path)
    assert result.folder is not None and result.folder.name.startswith("xero-export-0001-")
    assert sorted(p.name for p in result.folder.iterdir()) == sorted(FILES.values())
    assert (result.rows, result.new_records) == (preview.rows, preview.new_records)
    invoices = read(result.folder, "invoices")
    with (result.folder / FILES["invoices"]).open(encoding="utf-8-sig") as handle:
        assert next(csv.reader(handle)) == list(INVOICE_COLUMNS)
    consult = next(
        r for r in invoices if r["*Description"] == "Consult" and r["*InvoiceNumber"] == "INV-1"
    )
    assert consult["*UnitAmount"] == "100.00" and consult["TaxAmount"] == "10.00"
    assert consult["*TaxType"] == "GST on Income" and consult["*AccountCode"] == "200"
    assert consult["*ContactName"] == f"Ada Lovelace ({ledger['ada']})"
    assert consult["*InvoiceDate"] == days_ago(9).strftime("%d/%m/%Y")
    credit = [r for r in invoices if r["*InvoiceNumber"] == "CN-1"]
    assert credit and all(money(r["*UnitAmount"]) < 0 for r in credit)
    assert credit[0]["Reference"] == "INV-2"
    # Xero matches contacts by exact name: its files carry the name as it is; the
    # reconciliation list, read in a spreadsheet, shows it as text.
    assert credit[0]["*ContactName"] == f"=Bob Lovelace ({ledger['bob']})"
    bob_rows = [r for r in read(result.folder, "reconciliation") if r["Record"] == "INV-2"]
    assert bob_rows[0]["Contact"] == f"'=Bob Lovelace ({ledger['bob']})"
    payments = read(result.folder, "payments")
    by_type = {(r["Reference"], r["PaymentType"]): r for r in payments}
    assert by_type[(f"PAY-{ledger['pay']}", "EFTPOS")]["AccountCode"] == "CLR-EFTPOS"
    assert by_type[(f"PAY-{ledger['pay']}", "EFTPOS")]["CreditAccountCode"] == "2400"
    assert result.received_by_type_minor == {"Cash": 7500, "EFTPOS": 5000}
    allocations = read(result.folder, "allocations")
    # Every allocation names the Xero document it draws from: Ada's $120 invoice was closed by
    # $95 of the payment and $25 of the credit her earlier prepayment left.
    on_inv1 = {
        r["Source"]: money(r["Amount"]) for r in allocations if r["InvoiceNumber"] == "INV-1"
    }
    assert on_inv1 == {
        f"Prepayment PAY-{ledger['pay']}": D("95.00"),
        f"Prepayment PAY-{ledger['pre']}": D("25.00"),
    }
    assert "Credit note CN-1" in {r["Source"] for r in allocations}
    assert not [r for r in allocations if "Account credit" in r["Source"]]
    assert len(read(result.folder, "transfers")) == 1
    totals = Totals()
    totals.add(result.folder)
    totals.check(clinic)
    assert clinic.accounting_exports()[0].id == result.export_id


def test_exporting_again_sends_only_what_is_new_or_changed(clinic, ledger, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("exports")
    totals = Totals()
    first = clinic.export_accounting(tmp_path)
    totals.add(first.folder)
    with pytest.raises(BillingError) as refused:
        clinic.export_accounting(tmp_path)
    assert refused.value.code == Refusal.NOTHING_TO_SAVE
    assert clinic.preview_accounting_export().is_empty
    # Since: the payment reversed, invoice 1 reopened and voided, the credit note reversed, a new
    # invoice, and one voided before it was ever exported.
    clinic.reverse_payment(ledger["pay"], "entered twice")
    clinic.void_invoice(ledger["inv1"], "wrong patient")
    clinic.reverse_credit_note(ledger["cn"], "given in error")
    clinic.create_invoice(ledger["bob"], [("Review", "60", 1)])
    gone = clinic.create_invoice(ledger["bob"], [("Review", "60", 1)])
    clinic.void_invoice(gone, "duplicate")
    second = clinic.export_accounting(tmp_path)
    assert second.export_id == first.export_id + 1
    assert (second.new_records, second.skipped_records) == (1, 1)
    assert second.changed_records >= 4
    payments = read(second.folder, "payments")
    assert all(r["Reference"].endswith("reversed") and money(r["Amount"]) < 0 for r in payments)
    # Only steps Xero can do: it imports no payment or allocation rows, so nothing says "import".
    assert not [a for a in second.actions if "import" in a.lower()]
    assert any(
        a.startswith("INV-1: In Xero, remove every allocation on invoice INV-1")
        and a.endswith("then void it (Invoice Options > Void).")
        for a in second.actions
    )
    assert any(
        a.startswith("CN-1: In Xero, remove credit note CN-1's allocations") for a in second.actions
    )
    assert any(
        a.startswith(f"PAY-{ledger['pay']}: In Xero, remove every allocation of prepayment")
        for a in second.actions
    )
    status = {r["Record"]: r["Status"] for r in read(second.folder, "reconciliation")}
    assert status["INV-4"] == "voided before export: left out" and status["INV-3"] == "exported"
    totals.add(second.folder)
    totals.check(clinic)


def test_records_after_the_last_day_wait_for_a_later_export(clinic, ledger, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("exports")
    early = clinic.export_accounting(tmp_path, through=days_ago(9))
    numbers = {r["*InvoiceNumber"] for r in read(early.folder, "invoices")}
    assert numbers == {"INV-1"}
    late = clinic.export_accounting(tmp_path)
    assert "INV-1" not in {r["*InvoiceNumber"] for r in read(late.folder, "invoices")}
    totals = Totals()
    totals.add(early.folder)
    totals.add(late.folder)
    totals.check(clinic)


def test_bad_mapping_and_places_are_refused_with_nothing_saved(clinic, ledger, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("exports")
    mapping = clinic.accounting_mapping()
    with pytest.raises(BillingError) as refused:
        clinic.set_accounting_mapping(replace(mapping, sales_account="4000; DROP"))
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_TEXT, "sales_account")
    with pytest.raises(BillingError) as refused:
        clinic.set_accounting_mapping(replace(mapping, credit_note_prefix="INV-"))
    assert (refused.value.code, refused.value.field) == (Refusal.DUPLICATE, "credit_note_prefix")
    assert clinic.accounting_mapping() == mapping
    # An invoice taxed at a rate with no Xero tax rate: the export says which, writes nothing.
    clinic.create_invoice(ledger["ada"], [("Import item", "10", 1, "12.5")])
    with pytest.raises(BillingError, match=r"12\.5%") as refused:
        clinic.export_accounting(tmp_path)
    assert (refused.value.code, refused.value.field) == (Refusal.MISSING, "tax_types")
    assert not list(tmp_path.iterdir()) and clinic.accounting_exports() == []
    clinic.set_accounting_mapping(
        replace(mapping, tax_types={**mapping.tax_types, 1250: "Import tax"}, sales_account="4-100")
    )
    result = clinic.export_accounting(tmp_path)
    rows = read(result.folder, "invoices")
    assert {r["*AccountCode"] for r in rows} == {"4-100"}
    assert any(r["*TaxType"] == "Import tax" for r in rows)
    with pytest.raises(BillingError) as refused:
        clinic.export_accounting(tmp_path / "missing")
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_FILE, "folder")
    with pytest.raises(BillingError) as refused:
        clinic.preview_accounting_export(TODAY + timedelta(days=1))
    assert refused.value.code == Refusal.FUTURE_DATE


def test_a_folder_that_cannot_be_written_saves_no_export(
    clinic, ledger, tmp_path_factory, monkeypatch
):
    tmp_path = tmp_path_factory.mktemp("exports")
    from desktop_app.core.interchange import accounting_export

    def fail(batch, folder):
        folder.mkdir()
        (folder / "x").write_text("half")
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(accounting_export, "write_files", fail)
    with pytest.raises(BillingError) as refused:
        clinic.export_accounting(tmp_path)
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_FILE, "folder")
    assert not list(tmp_path.iterdir())
    assert clinic.accounting_exports() == []
    assert not clinic.preview_accounting_export().is_empty


def test_credit_note_shares_add_up_to_the_amount_with_tax_in_proportion():
    lines = [
        InvoiceLine(amount_minor=11000, tax_minor=1000, unit_price_minor=10000, quantity_centi=100),
        InvoiceLine(amount_minor=1000, tax_minor=0, unit_price_minor=500, quantity_centi=200),
    ]
    shares = split_credit(3001, lines)
    assert sum(ex + tax for _, ex, tax in shares) == 3001
    (_, ex1, tax1), (_, ex2, tax2) = shares
    assert (ex1 + tax1, ex2 + tax2) == (2751, 250) and tax1 == 250 and tax2 == 0
    assert default_clearing_code("Credit card") == "CLR-CREDIT"
    assert default_clearing_code("!!!") == "CLR-PAY"


@pytest.mark.slow  # random ledgers, 8 runs
@pytest.mark.parametrize(("seed", "partial"), [(1, False), (2, False), (3, True), (4, True)])
def test_random_ledgers_tie_out_across_incremental_exports(clinic, tmp_path_factory, seed, partial):
    """Random payments, invoices, credit notes, transfers, refunds and undoings, exported every
    few steps: the files always say what the ledger (and verify) says is owed and held.

    With ``partial``, the exports in between stop at a random earlier day (records dated later
    wait, backdated records arrive after exports), and the tie-out is checked after a last export
    to today."""
    tmp_path = tmp_path_factory.mktemp("exports")
    rng = random.Random(seed)
    patients = [clinic.add_patient(f"P{i}", "Test") for i in range(4)]
    totals = Totals()
    types = clinic.payment_types()
    for step in range(60):
        pid = rng.choice(patients)
        roll = rng.random()
        try:
            if roll < 0.3:
                clinic.set_prices_include_tax(rng.random() < 0.4)
                line = {
                    "description": "Consult",
                    "price": f"{rng.randint(20, 120)}.{rng.randint(0, 99):02d}",
                    "quantity": rng.choice(["1", "1", "0.5", "1.5", "0.25", "3"]),
                    "tax_rate": rng.choice(["0", "10"]),
                    "discount": rng.choice([None, None, "10%", "12.5%", "3.33", "33%"]),
                }
                clinic.create_invoice(
                    pid,
                    [line, ("Band", "12.50", 1, "10")],
                    issue_date=days_ago(rng.randint(0, 20)),
                    draft=rng.random() < 0.2,
                )
            elif roll < 0.34:
                drafts = [i for i in clinic.invoices(pid) if i.is_draft]
                if drafts:
                    clinic.issue_invoice(drafts[0].id, days_ago(rng.randint(0, 5)))
            elif roll < 0.55:
                sources = {rng.choice(types): str(rng.randint(0, 90))}
                pay(clinic, pid, sources, f"p{step}", payment_date=days_ago(rng.randint(0, 20)))
            elif roll < 0.62:
                open_ = clinic.invoices(pid, open_only=True)
                if open_:
                    clinic.credit_note(open_[0].id, "5", reason="r", request_id=f"cn{step}")
            elif roll < 0.68 and clinic.credit(pid) > 2:
                other = rng.choice([p for p in patients if p != pid])
                clinic.transfer_credit(pid, other, "2", reason="f", request_id=f"t{step}")
            elif roll < 0.74 and clinic.credit(pid) > 1:
                clinic.refund_credit(pid, "1", method="Cash", request_id=f"r{step}", reason="r")
            elif roll < 0.82:
                live = [p for p in clinic.payments(pid) if not p.reversed and p.kind == "payment"]
                if live:
                    clinic.reverse_payment(rng.choice(live).id, "mistake")
            elif roll < 0.88:
                invoices = [i for i in clinic.invoices(pid) if i.status != "void"]
                if invoices:
                    clinic.void_invoice(rng.choice(invoices).id, "mistake")
            elif roll < 0.92:
                notes = [n for n in clinic.credit_notes(pid) if not n.reversed]
                if notes:
                    clinic.reverse_credit_note(rng.choice(notes).id, "mistake")
        except BillingError:
            pass  # refused by the rules (credit already spent, ...): nothing changed
        if step % 12 == 11:
            through = days_ago(rng.randint(0, 15)) if partial else None
            try:
                result = clinic.export_accounting(tmp_path, through)
            except BillingError as exc:
                assert "Nothing to export" in str(exc)
            else:
                totals.add(result.folder)
                if not partial:
                    totals.check(clinic)
    result = (
        clinic.export_accounting(tmp_path)
        if not clinic.preview_accounting_export().is_empty
        else None
    )
    if result is not None:
        totals.add(result.folder)
    totals.check(clinic)


def test_a_record_dated_after_the_last_day_waits_then_goes(clinic, ledger, tmp_path_factory):
    """Records dated after an export's last day are remembered as deferred, and a backdated record
    saved after an export is picked up by the next one."""
    tmp_path = tmp_path_factory.mktemp("exports")
    late = clinic.create_invoice(ledger["bob"], [("Late", "10", 1)], issue_date=days_ago(1))
    first = clinic.export_accounting(tmp_path, through=days_ago(2))
    numbers = {r["*InvoiceNumber"] for r in read(first.folder, "invoices")}
    late_number = f"INV-{clinic.invoice(late).number}"
    assert late_number not in numbers
    back = clinic.create_invoice(ledger["bob"], [("Backdated", "7", 1)], issue_date=days_ago(30))
    second = clinic.export_accounting(tmp_path, through=days_ago(2))
    numbers = {r["*InvoiceNumber"] for r in read(second.folder, "invoices")}
    assert numbers == {f"INV-{clinic.invoice(back).number}"}  # the late one still waits
    third = clinic.export_accounting(tmp_path)
    numbers = {r["*InvoiceNumber"] for r in read(third.folder, "invoices")}
    assert late_number in numbers
    assert clinic.preview_accounting_export().is_empty
    totals = Totals()
    for result in (first, second, third):
        totals.add(result.folder)
    totals.check(clinic)
    # The history counts what each export sent, not what it deferred.
    assert [e.items for e in clinic.accounting_exports()][-1] == first.new_records


def test_a_prepayment_applied_to_a_later_invoice_goes_with_that_invoice(clinic, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("exports")
    pid = clinic.add_patient("Ada", "Lovelace")
    pay(clinic, pid, {"Cash": "50"}, "pre", payment_date=days_ago(5))
    invoice = clinic.create_invoice(pid, [("Consult", "40", 1)])  # today, paid from credit
    pay(clinic, pid, {}, "use", source_invoice=invoice)
    number = f"INV-{clinic.invoice(invoice).number}"
    early = clinic.export_accounting(tmp_path, through=days_ago(3))
    assert number not in {r["InvoiceNumber"] for r in read(early.folder, "allocations")}
    late = clinic.export_accounting(tmp_path)
    rows = [r for r in read(late.folder, "allocations") if r["InvoiceNumber"] == number]
    assert [r["Date"] for r in rows] == [TODAY.strftime("%d/%m/%Y")]  # dated with the invoice
    totals = Totals()
    totals.add(early.folder)
    totals.add(late.folder)
    totals.check(clinic)


def test_an_export_whose_folder_cannot_be_put_in_place_saves_nothing(
    clinic, ledger, tmp_path_factory, monkeypatch
):
    tmp_path = tmp_path_factory.mktemp("exports")
    real = Path.replace

    def refuse(self, target):
        if self.name.endswith(".part"):
            raise PermissionError(13, "Permission denied")
        return real(self, target)

    monkeypatch.setattr(Path, "replace", refuse)
    with pytest.raises(BillingError) as refused:
        clinic.export_accounting(tmp_path)
    assert (refused.value.code, refused.value.field) == (Refusal.BAD_FILE, "folder")
    assert not list(tmp_path.iterdir()) and clinic.accounting_exports() == []
    monkeypatch.setattr(Path, "replace", real)
    written = clinic.export_accounting(tmp_path)
    # The folder is named by the saved export's id (PostgreSQL's ids skip the refused one).
    assert written.folder.name.startswith(f"xero-export-{written.export_id:04d}-")
    assert [e.id for e in clinic.accounting_exports()] == [written.export_id]


def test_discounted_lines_on_either_basis_reach_xero_to_our_cent(clinic, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("exports")
    pid = clinic.add_patient("Ada", "Lovelace")
    item = clinic.add_billable_item("IC", "Initial consultation", "95.00", tax_rate="10")
    lines = [
        {"item": item, "discount": "10%"},
        {"description": "Hydrotherapy", "price": "95.25", "quantity": "0.5", "tax_rate": "10"},
        {"description": "Taping", "price": "12.99", "quantity": "3", "discount": "2.00"},
        {"description": "Report", "price": "33.33", "discount": "12.5%", "tax_rate": "10"},
    ]
    exclusive = clinic.create_invoice(pid, lines)
    clinic.set_prices_include_tax(True)
    inclusive = clinic.create_invoice(pid, lines)
    result = clinic.export_accounting(tmp_path)
    for key, iid in (("invoices", exclusive), ("invoices_inclusive", inclusive)):
        invoice = clinic.invoice(iid)
        rows = read(result.folder, key)
        assert {r["*InvoiceNumber"] for r in rows} == {f"INV-{invoice.number}"}
        assert [r["InventoryItemCode"] for r in rows] == ["IC", "", "", ""]
        # Each line to the cent, its tax as ours, and so the invoice's total.
        for row, line in zip(rows, invoice.lines, strict=True):
            assert xero_line_amount(row) == (
                line.total if key == "invoices_inclusive" else line.net
            )
            assert money(row["TaxAmount"]) == line.tax
        assert sum(xero_total(r, key) for r in rows) == invoice.total
        by_text = {r["*Description"].split(" (")[0]: r for r in rows}
        # A percentage Xero reproduces exactly stays a percentage on its price...
        consult = by_text["Initial consultation"]
        assert (consult["*Quantity"], consult["*UnitAmount"], consult["Discount"]) == (
            "1",
            "95.00",
            "10",
        )
        # ...half an hour of an odd price keeps its quantity at the price that makes our cent...
        hydro = by_text["Hydrotherapy"]
        assert (hydro["*Quantity"], hydro["*UnitAmount"], hydro["Discount"]) == ("0.5", "95.26", "")
        assert hydro["*Description"] == "Hydrotherapy (0.5 x 95.25)"
        # ...and a discount in money that no price per unit expresses is one line of its amount.
        taping = by_text["Taping"]
        assert (taping["*Quantity"], taping["*UnitAmount"]) == ("1", "36.97")
        assert taping["*Description"] == "Taping (3 x 12.99 less 2.00)"
    assert clinic.invoice(exclusive).total == D("215.49")
    assert clinic.invoice(inclusive).total == D("199.26")
    totals = Totals()
    totals.add(result.folder)
    totals.check(clinic)


def test_a_draft_is_in_no_export_until_issued_then_in_the_next(clinic, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("exports")
    pid = clinic.add_patient("Ada", "Lovelace")
    draft = clinic.create_invoice(pid, [("Consult", "80", 1)], draft=True)
    later = clinic.create_invoice(pid, [("Band", "10", 1)])
    totals = Totals()
    first = clinic.export_accounting(tmp_path)
    totals.add(first.folder)
    assert {r["*InvoiceNumber"] for r in read(first.folder, "invoices")} == {"INV-1"}
    assert [
        r["Record"] for r in read(first.folder, "reconciliation") if r["Section"] == "Records"
    ] == ["INV-1"]
    assert clinic.preview_accounting_export().is_empty
    number = clinic.issue_invoice(draft)
    second = clinic.export_accounting(tmp_path)
    totals.add(second.folder)
    assert {r["*InvoiceNumber"] for r in read(second.folder, "invoices")} == {f"INV-{number}"}
    totals.check(clinic)
    assert clinic.invoice(later).number == 1


def test_xero_arrives_at_every_line_amount_without_rounding():
    """Over many prices, quantities and discounts, on both bases: the line as written for Xero
    computes, with no rounding at all, to the amount the ledger saved."""
    from desktop_app.core.domain.invoicing import line_amounts

    rng = random.Random(7)
    for _ in range(5000):
        unit = rng.choice([rng.randint(0, 50_000), rng.randint(1, 999) * 100])
        quantity = rng.choice([100, 50, 25, 150, 300, rng.randint(1, 100_000)])
        inclusive = rng.random() < 0.5
        percent = rng.choice([None, rng.randint(1, 10_000), 1000, 1250, 500])
        gross = (unit * quantity * 2 + 100) // 200
        money_off = 0 if percent is not None else rng.choice([0, rng.randint(0, gross)])
        discount, net, tax = line_amounts(
            unit,
            quantity,
            rng.choice([0, 1000, 1500]),
            tax_inclusive=inclusive,
            discount_minor=money_off,
            discount_bp=percent,
        )
        amount = net + tax if inclusive else net
        line = xero_line(unit, quantity, discount, percent, amount)
        exact = D(line.quantity) * D(line.unit_minor) * (100 - D(line.discount or "0")) / 100
        assert exact == amount, (unit, quantity, discount, percent, line)


def test_credit_is_allocated_from_the_documents_it_came_from(clinic, tmp_path_factory):
    """Credit left by a credit note, a transfer and a prepayment pays a later invoice: each
    allocation names its document, oldest credit first; removed later, the reversal names the
    same documents and the list says which allocations to remove in Xero."""
    tmp_path = tmp_path_factory.mktemp("exports")
    ada = clinic.add_patient("Ada", "Lovelace")
    bob = clinic.add_patient("Bob", "Lovelace")
    paid = clinic.create_invoice(ada, [("Consult", "100", 1)], issue_date=days_ago(20))
    pay(clinic, ada, {"Cash": "100"}, "p1", payment_date=days_ago(20))
    clinic.credit_note(paid, "40", reason="goodwill", request_id="cn", note_date=days_ago(15))
    bob_pre = pay(clinic, bob, {"EFTPOS": "30"}, "bp", payment_date=days_ago(14))
    transfer = clinic.transfer_credit(
        bob, ada, "20", reason="family", request_id="t", transfer_date=days_ago(12)
    )
    ada_pre = pay(clinic, ada, {"Cash": "15"}, "ap", payment_date=days_ago(11))
    later = clinic.create_invoice(ada, [("Consult", "70", 1)], issue_date=days_ago(10))
    applied = clinic.apply_credit_to_open_invoices(ada, "apply")
    assert applied is not None

    first = clinic.export_accounting(tmp_path)
    rows = [r for r in read(first.folder, "allocations") if r["InvoiceNumber"] == "INV-2"]
    assert [(r["Source"], r["Amount"], r["SourceAccountCode"]) for r in rows] == [
        ("Credit note CN-1", "40.00", ""),
        (f"Credit transfer TRF-{transfer}", "20.00", "2400"),
        (f"Prepayment PAY-{ada_pre}", "10.00", "2400"),
    ]
    assert bob_pre  # Bob's prepayment funded the transfer, not Ada's invoice directly
    totals = Totals()
    totals.add(first.folder)
    totals.check(clinic)

    (app,) = clinic.payment(applied).applications
    assert app.invoice_id == later
    clinic.remove_application(app.id, "applied by mistake")
    second = clinic.export_accounting(tmp_path)
    back = read(second.folder, "allocations")
    assert [(r["Source"], r["Amount"], r["Reference"]) for r in back] == [
        ("Credit note CN-1", "-40.00", f"APP-{app.id} removed"),
        (f"Credit transfer TRF-{transfer}", "-20.00", f"APP-{app.id} removed"),
        (f"Prepayment PAY-{ada_pre}", "-10.00", f"APP-{app.id} removed"),
    ]
    assert second.actions == (
        f"APP-{app.id} on INV-2: On invoice INV-2 in Xero, remove the allocation of 40.00 from "
        f"Credit note CN-1; 20.00 from Credit transfer TRF-{transfer}; 10.00 from Prepayment "
        f"PAY-{ada_pre}.",
    )
    totals.add(second.folder)
    totals.check(clinic)


def test_invoice_files_hold_at_most_500_invoices_and_never_split_one(clinic, tmp_path_factory):
    """Xero imports at most 500 invoices a file: a first export of 501 (one with two lines at
    the boundary) and a credit note fills xero-invoices.csv and xero-invoices-2.csv."""
    tmp_path = tmp_path_factory.mktemp("exports")
    ada = clinic.add_patient("Ada", "Lovelace")
    for n in range(1, 502):
        lines = [("Consult", "10", 1), ("Tape", "2", 1)] if n == 500 else [("Consult", "10", 1)]
        clinic.create_invoice(ada, lines, issue_date=days_ago(5))
    clinic.credit_note(1, "5", reason="goodwill", request_id="cn")
    result = clinic.export_accounting(tmp_path)
    names = sorted(p.name for p in result.folder.iterdir())
    assert "xero-invoices-2.csv" in names and "xero-invoices-3.csv" not in names
    first = read(result.folder, "invoices")
    with (result.folder / "xero-invoices-2.csv").open(encoding="utf-8-sig", newline="") as handle:
        second = list(csv.DictReader(handle))
    numbers = [[r["*InvoiceNumber"] for r in part] for part in (first, second)]
    assert len(dict.fromkeys(numbers[0])) == 500 and numbers[0][-2:] == ["INV-500", "INV-500"]
    assert numbers[1] == ["INV-501", "CN-1"]
    assert result.rows["invoices"] == len(first) + len(second) == 503
    totals = Totals()
    totals.add(result.folder)
    for row in second:
        amount = xero_total(row, "invoices")
        if row["*InvoiceNumber"].startswith("INV-"):
            totals.invoiced += amount
        else:
            totals.credit_notes -= amount
    totals.check(clinic)


def test_import_parts_split_between_documents_only():
    from desktop_app.core.interchange.accounting_export import import_parts, part_name

    def row(number: str) -> list[str]:
        values = dict.fromkeys(INVOICE_COLUMNS, "")
        values["*InvoiceNumber"] = number
        return [values[c] for c in INVOICE_COLUMNS]

    rows = [row(n) for n in ("A", "A", "B", "C", "C", "C", "D")]
    parts = import_parts(rows, limit=2)
    index = INVOICE_COLUMNS.index("*InvoiceNumber")
    assert [[r[index] for r in part] for part in parts] == [
        ["A", "A", "B"],
        ["C", "C", "C", "D"],
    ]
    assert import_parts([], limit=2) == [[]]
    assert [part_name("xero-invoices.csv", n) for n in (1, 2)] == [
        "xero-invoices.csv",
        "xero-invoices-2.csv",
    ]


def test_a_uk_clinic_exports_exempt_health_services_as_exempt_income():
    from desktop_app.core.interchange.accounting_mapping import default_mapping

    assert default_mapping("GBP", ["Cash"]).tax_types[0] == "Exempt Income"


def test_a_payers_invoices_and_remittances_are_on_the_payers_contact(clinic, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("exports")
    ada = clinic.add_patient("Ada", "Lovelace")
    bob = clinic.add_patient("Bob", "Brown")
    fund = clinic.add_payer("Bupa", kind="health fund", email="claims@example.org")
    bupa = payer_contact_name("Bupa", fund)
    assert bupa == f"Bupa (payer {fund})"
    one = clinic.create_invoice(
        ada,
        [("Consult", "95", 1, "10")],
        bill_to=fund,
        claim_reference="CLM-9",
        issue_date=days_ago(6),
    )
    two = clinic.create_invoice(
        bob, [("Review", "60", 1)], bill_to=fund, claim_reference="CLM-10", issue_date=days_ago(6)
    )
    share, _gap = clinic.create_split_invoice(
        ada, [("Treatment", "100", 1)], payer=fund, payer_share="80%", issue_date=days_ago(6)
    )
    remittance = clinic.record_payer_payment(
        clinic.preview_payer_payment(
            fund,
            sources={"Bank transfer": "300"},
            applied={one: "104.50", two: "60", share: "80"},
            reference="REM-2026-11",
            payment_date=days_ago(4),
        ),
        request_id="rem-1",
    )
    refund = clinic.refund_payer_credit(
        fund, "5.50", method="Bank transfer", request_id="refund", refund_date=days_ago(3)
    )
    totals = Totals()
    first = clinic.export_accounting(tmp_path)
    totals.add(first.folder)
    totals.check(clinic)
    # A split's two invoices are priced tax included: they are in the other basis's file.
    invoices = read(first.folder, "invoices") + read(first.folder, "invoices_inclusive")
    said = {
        r["*InvoiceNumber"]: (r["*ContactName"], r["EmailAddress"], r["Reference"])
        for r in invoices
    }
    assert said == {
        "INV-1": (bupa, "claims@example.org", f"Ada Lovelace ({ada}) · CLM-9"),
        "INV-2": (bupa, "claims@example.org", f"Bob Brown ({bob}) · CLM-10"),
        "INV-3": (bupa, "claims@example.org", f"Ada Lovelace ({ada})"),
        "INV-4": (f"Ada Lovelace ({ada})", "", "Split with INV-3"),
    }
    rem = f"PAY-{remittance} · REM-2026-11"
    payments = {
        (r["Reference"], r["ContactName"], r["Amount"]) for r in read(first.folder, "payments")
    }
    assert payments == {(rem, bupa, "300.00"), (f"REF-{refund}", bupa, "-5.50")}
    allocations = {
        (r["InvoiceNumber"], r["ContactName"], r["Source"], r["Amount"])
        for r in read(first.folder, "allocations")
    }
    assert allocations == {
        ("INV-1", bupa, f"Prepayment {rem}", "104.50"),
        ("INV-2", bupa, f"Prepayment {rem}", "60.00"),
        ("INV-3", bupa, f"Prepayment {rem}", "80.00"),
    }
    # Next: the payer's credit closes a new invoice (drawn from the remittance's prepayment); a
    # second remittance, exported, is then reversed.
    three = clinic.create_invoice(
        bob, [("Review", "30", 1)], bill_to=fund, claim_reference="CLM-12", issue_date=days_ago(2)
    )
    clinic.apply_credit_to_open_invoices(fund, "fund-credit")
    twice = clinic.record_payer_payment(
        clinic.preview_payer_payment(fund, sources={"Bank transfer": "40"}, reference="REM-2"),
        request_id="rem-2",
    )
    second = clinic.export_accounting(tmp_path)
    totals.add(second.folder)
    totals.check(clinic)
    (row,) = read(second.folder, "allocations")
    assert (row["InvoiceNumber"], row["ContactName"], row["Source"], row["Amount"]) == (
        "INV-5",
        bupa,
        f"Prepayment {rem}",
        "30.00",
    )
    assert clinic.invoice(three).status == "paid"
    clinic.reverse_payment(twice, "keyed twice")
    third = clinic.export_accounting(tmp_path)
    totals.add(third.folder)
    totals.check(clinic)
    (row,) = read(third.folder, "payments")
    assert (row["Reference"], row["ContactName"], row["Amount"]) == (
        f"PAY-{twice} · REM-2 reversed",
        bupa,
        "-40.00",
    )
