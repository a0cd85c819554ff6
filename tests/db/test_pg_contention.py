"""Several processes spend the same patient's credit at the same moment on PostgreSQL.

Every process previews while the credit is untouched, then all save at once (a barrier). The
patient-row lock serialises the saves; the first wins and the others see the credit moved and get
ConcurrentChangeError. The credit is never spent twice and nothing is lost.
"""

from __future__ import annotations

import multiprocessing
from decimal import Decimal

from desktop_app.core import Clinic, ConcurrentChangeError

WORKERS = 6


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


def test_credit_is_never_spent_twice(pg_databases):
    url = pg_databases.new()
    with Clinic.open(url) as clinic:
        pid = clinic.add_patient("Ada", "Lovelace")
        clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "100"}), "prepay")
        invoices = [clinic.create_invoice(pid, [("Consult", "100", 1)]) for _ in range(WORKERS)]
    outcomes = _run(url, pid, invoices, {}, "100", "worker-{worker}")
    assert [o for o in outcomes if o[0] == "error"] == []
    saved = [o for o in outcomes if o[0] == "saved"]
    assert len(saved) == 1 and len(outcomes) - len(saved) == WORKERS - 1
    with Clinic.open(url) as clinic:
        assert clinic.credit(pid) == Decimal("0.00")
        assert sum(clinic.invoice(i).paid for i in invoices) == Decimal("100.00")
        assert clinic.verify() == []


def test_each_saved_payment_is_accounted_for(pg_databases):
    """Previews that each fit the credit but not together: one saves, the rest must re-preview."""
    url = pg_databases.new()
    with Clinic.open(url) as clinic:
        pid = clinic.add_patient("Ada", "Lovelace")
        clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "100"}), "prepay")
        invoices = [clinic.create_invoice(pid, [("Consult", "30", 1)]) for _ in range(WORKERS)]
    outcomes = _run(url, pid, invoices, {}, "30", "worker-{worker}")
    assert [o for o in outcomes if o[0] == "error"] == []
    saved = [pay_id for kind, pay_id in outcomes if kind == "saved"]
    with Clinic.open(url) as clinic:
        spent = sum(clinic.payment(p).credit_applied for p in saved)
        assert clinic.credit(pid) == Decimal("100.00") - spent >= 0
        assert sum(clinic.invoice(i).paid for i in invoices) == spent
        assert clinic.verify() == []
    assert len(saved) == 1  # every preview saw the untouched $100; only the first can stand


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
