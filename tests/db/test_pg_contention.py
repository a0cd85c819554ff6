"""Several processes spend the same patient's credit at the same moment on PostgreSQL.

Every process previews while the credit is untouched, then all save at once (a barrier). The
patient-row lock serialises the saves; the first wins and the others see the credit moved and get
ConcurrentChangeError. The credit is never spent twice and nothing is lost.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
from decimal import Decimal

import pytest
from sqlalchemy import select

from desktop_app.core import BillingError, Clinic, ConcurrentChangeError
from desktop_app.core.db.models import Patient, Setting
from desktop_app.core.ledger.transaction import Transaction

WORKERS = 6
ATTEMPTS = 100


def _pay_at_once(url, pid, invoice_id, barrier, results, worker, sources, applied, request_id):
    """Preview, wait until every worker has, then all save at the same moment."""
    with Clinic.open(url) as clinic:
        typed = {invoice_id: applied} if applied else {}
        preview = clinic.preview_payment(
            pid, sources=sources, applied=typed, source_invoice=invoice_id
        )
        barrier.wait(timeout=60)
        try:
            pay_id = clinic.record_payment(preview, request_id.format(worker=worker))
            results.put(("saved", pay_id))
        except ConcurrentChangeError:
            results.put(("refused", None))
        except Exception as exc:  # reported to the test, which fails on it
            results.put(("error", repr(exc)))


def _run(
    url: str, pid: int, invoice_ids: list[int], sources: dict, applied: str | None, request_id: str
) -> list[tuple[str, object]]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(invoice_ids))
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=_pay_at_once,
            args=(url, pid, iid, barrier, results, n, sources, applied, request_id),
        )
        for n, iid in enumerate(invoice_ids)
    ]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    return outcomes


def _credit_and_invoices(url: str, invoice_amount: str) -> tuple[int, list[int]]:
    """A patient with $100 of credit and one open invoice per worker."""
    with Clinic.open(url) as clinic:
        pid = clinic.add_patient("Ada", "Lovelace")
        clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "100"}), "prepay")
        invoices = [
            clinic.create_invoice(pid, [("Consult", invoice_amount, 1)]) for _ in range(WORKERS)
        ]
    return pid, invoices


@pytest.mark.slow  # processes contending on one server: seconds
def test_credit_is_never_spent_twice(pg_databases):
    url = pg_databases.new()
    pid, invoices = _credit_and_invoices(url, "100")
    outcomes = _run(url, pid, invoices, {}, "100", "worker-{worker}")
    assert [o for o in outcomes if o[0] == "error"] == []
    saved = [o for o in outcomes if o[0] == "saved"]
    assert len(saved) == 1 and len(outcomes) - len(saved) == WORKERS - 1
    with Clinic.open(url) as clinic:
        assert clinic.credit(pid) == Decimal("0.00")
        assert sum(clinic.invoice(i).paid for i in invoices) == Decimal("100.00")
        assert clinic.verify() == []


@pytest.mark.slow  # processes contending on one server: seconds
def test_each_saved_payment_is_accounted_for(pg_databases):
    """Previews that each fit the credit but not together: one saves, the rest must re-preview."""
    url = pg_databases.new()
    pid, invoices = _credit_and_invoices(url, "30")
    outcomes = _run(url, pid, invoices, {}, "30", "worker-{worker}")
    assert [o for o in outcomes if o[0] == "error"] == []
    saved = [pay_id for kind, pay_id in outcomes if kind == "saved"]
    with Clinic.open(url) as clinic:
        spent = sum(clinic.payment(p).credit_applied for p in saved)
        assert clinic.credit(pid) == Decimal("100.00") - spent >= 0
        assert sum(clinic.invoice(i).paid for i in invoices) == spent
        assert clinic.verify() == []
    assert len(saved) == 1  # every preview saw the untouched $100; only the first can stand


@pytest.mark.slow  # processes contending on one server: seconds
def test_simultaneous_retries_of_one_save_record_one_payment(pg_databases):
    url = pg_databases.new()
    with Clinic.open(url) as clinic:
        pid = clinic.add_patient("Ada", "Lovelace")
        invoice = clinic.create_invoice(pid, [("Consult", "50", 1)])
    outcomes = _run(url, pid, [invoice] * WORKERS, {"Cash": "10"}, None, "the-same-save")
    assert [o for o in outcomes if o[0] == "error"] == []
    assert len({pay_id for _, pay_id in outcomes}) == 1
    with Clinic.open(url) as clinic:
        assert len(clinic.payments(pid)) == 1
        assert clinic.invoice(invoice).paid == Decimal("10.00")
        assert clinic.verify() == []


def _hammer(url, pid, invoice_ids, barrier, results, worker) -> None:
    """100 attempts to pay the shared invoices from the shared credit (plus a little cash)."""
    rng = random.Random(worker)
    saved, refused = [], 0
    with Clinic.open(url) as clinic:
        barrier.wait(timeout=60)
        for attempt in range(ATTEMPTS):
            target = rng.choice(invoice_ids)
            cash = str(rng.choice([0, 0, 5, 12]))
            try:
                preview = clinic.preview_payment(
                    pid, sources={"Cash": cash}, applied={}, source_invoice=target
                )
                if preview.is_empty:
                    continue
                saved.append(clinic.record_payment(preview, f"w{worker}-{attempt}"))
            except ConcurrentChangeError:
                refused += 1
            except BillingError:
                refused += 1  # e.g. the invoice was paid by another worker before the preview
    results.put((saved, refused))


@pytest.mark.slow  # processes contending on one server: seconds
def test_eight_processes_hundred_attempts_each(pg_databases):
    url = pg_databases.new()
    with Clinic.open(url) as clinic:
        clinic.set_allocation_mode("source_invoice")
        pid = clinic.add_patient("Ada", "Lovelace")
        clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "300"}), "prepay")
        invoices = [clinic.create_invoice(pid, [("Consult", "40", 1)]) for _ in range(20)]
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(8), ctx.Queue()
    procs = [
        ctx.Process(target=_hammer, args=(url, pid, invoices, barrier, results, n))
        for n in range(8)
    ]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=300) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    saved = [pay_id for ids, _ in outcomes for pay_id in ids]
    assert saved and sum(refused for _, refused in outcomes) > 0  # there was contention
    with Clinic.open(url) as clinic:
        assert clinic.verify() == []
        payments = [clinic.payment(p) for p in saved]
        cash_in = sum(p.total for p in payments)
        credit_used = sum(p.credit_applied for p in payments)
        paid = sum(clinic.invoice(i).paid for i in invoices)
        assert all(clinic.invoice(i).paid <= Decimal("40.00") for i in invoices)  # none overpaid
        assert clinic.credit(pid) >= 0
        # Every success is accounted for: what was paid came from their cash and the credit.
        assert paid == sum(p.money_applied for p in payments) + credit_used
        assert clinic.credit(pid) == Decimal("300.00") + cash_in - paid


def _without_row_locks(monkeypatch, both_read: threading.Barrier) -> None:
    """The control: the same saves with the row locks taken away (test only)."""

    def read_patients(tx, patient_ids, *, archived_ok=False):
        found = {
            pid: tx.session.scalars(select(Patient).where(Patient.id == pid)).one()
            for pid in patient_ids
        }
        both_read.wait(timeout=30)  # both saves have read the credit before either writes
        return found

    def read_currency(tx, *, exclusive=False):
        return tx.session.scalars(select(Setting.value).where(Setting.key == "currency")).one()

    monkeypatch.setattr(Transaction, "lock_patients", read_patients)
    monkeypatch.setattr(Transaction, "currency", read_currency)


def _two_desks_spend(url, monkeypatch=None):
    with Clinic.open(url) as clinic:
        pid = clinic.add_patient("Ada", "Lovelace")
        clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "100"}), "prepay")
        a = clinic.create_invoice(pid, [("Consult", "60", 1)])
        b = clinic.create_invoice(pid, [("Consult", "60", 1)])
    if monkeypatch is not None:
        _without_row_locks(monkeypatch, threading.Barrier(2))
    outcomes: list[str] = []
    previewed = threading.Barrier(2)  # both desks look at the same $100 before either saves

    def desk(invoice_id: int) -> None:
        with Clinic.open(url) as front_desk:
            preview = front_desk.preview_payment(
                pid, applied={invoice_id: "60"}, source_invoice=invoice_id, mode="source_invoice"
            )
            previewed.wait(timeout=30)
            try:
                front_desk.record_payment(preview, f"desk-{invoice_id}")
                outcomes.append("saved")
            except ConcurrentChangeError:
                outcomes.append("refused")

    threads = [threading.Thread(target=desk, args=(i,)) for i in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if monkeypatch is not None:
        monkeypatch.undo()
    with Clinic.open(url) as clinic:
        return sorted(outcomes), clinic.verify()


def test_the_lock_is_what_keeps_credit_from_being_spent_twice(pg_databases, monkeypatch):
    outcomes, problems = _two_desks_spend(pg_databases.new(), monkeypatch)
    assert outcomes == ["saved", "saved"]  # without the lock both desks spend the same $100
    assert any(p.startswith("I2") for p in problems)  # ... and the books no longer balance
    outcomes, problems = _two_desks_spend(pg_databases.new())
    assert outcomes == ["refused", "saved"] and problems == []
