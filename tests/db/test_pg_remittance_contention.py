"""Two front desks key a payer's remittance at the same moment on PostgreSQL.

A remittance is a payment on the payer's account, so the payer's account row is what the desks
contend for, as they do for a patient's. Each desk previews while nothing has changed, then both
save at once (a barrier). Two cases:

* the same remittance saved from both desks under one request id (Save pressed on a desk whose
  first press timed out, while the first is still saving): one payment, both desks get its id;
* two different remittances previewed against the same payer's credit, or the same open invoice:
  the first saves, the other is refused (ConcurrentChangeError) and must preview again.

Each has its control, as tests/db/test_pg_contention.py has for a patient's credit: the same
saves with the account-row lock taken away (and, for the request id, the database's answer to a
lost race taken away too) go wrong, so the test can tell the guard is there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from desktop_app.core import Clinic, ConcurrentChangeError
from desktop_app.core.db.models import Patient, Setting
from desktop_app.core.ledger import idempotency, payment_save
from desktop_app.core.ledger.store import Store
from desktop_app.core.ledger.transaction import Transaction
from tests.helpers import at_once


def _remittance_desks(url: str) -> tuple[int, list[int]]:
    """A health fund with four open invoices of $60, for two patients."""
    with Clinic.open(url) as clinic:
        fund = clinic.add_payer("Bupa", kind="health fund")
        patients = [clinic.add_patient("Ada", "Lovelace"), clinic.add_patient("Alan", "Turing")]
        invoices = [
            clinic.create_invoice(pid, [("Consult", "60", 1)], bill_to=fund, claim_reference=c)
            for pid, c in zip(patients * 2, ["C1", "C2", "C3", "C4"], strict=True)
        ]
    return fund, invoices


def _without_row_locks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: saves that read the accounts without locking them (test only), and both
    desks have read and planned (after looking for the request id) before either writes."""
    both_planned = threading.Barrier(2)
    plan = payment_save.replan

    def read_accounts(tx, patient_ids, *, archived_ok=False):
        return {
            pid: tx.session.scalars(select(Patient).where(Patient.id == pid)).one()
            for pid in patient_ids
        }

    def planned(*args, **kwargs):
        made = plan(*args, **kwargs)
        both_planned.wait(timeout=30)
        return made

    def read_currency(tx, *, exclusive=False):
        return tx.session.scalars(select(Setting.value).where(Setting.key == "currency")).one()

    monkeypatch.setattr(Transaction, "lock_patients", read_accounts)
    monkeypatch.setattr(Transaction, "currency", read_currency)
    monkeypatch.setattr(payment_save, "replan", planned)


def _without_request_id_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The control, further: a save does not wait for another save of the same request id
    before looking for its record (PostgreSQL's advisory lock on the id skipped; test only)."""
    look = idempotency.saved_record

    def without_waiting(session, *args, **kwargs):
        execute = session.execute

        def skip_the_lock(statement, *more, **options):
            if "pg_advisory_xact_lock" in str(statement):
                return None
            return execute(statement, *more, **options)

        session.execute = skip_the_lock
        try:
            return look(session, *args, **kwargs)
        finally:
            del session.execute

    monkeypatch.setattr(idempotency, "saved_record", without_waiting)


# -- the same remittance, one request id, from two desks -------------------------------------------


def _same_remittance_twice(
    url: str, monkeypatch: pytest.MonkeyPatch, *, lock: bool = True, replay: bool = True
) -> tuple[list[object], list[int], int, list[str]]:
    """Both desks preview the fund's $150 remittance REM-7 (oldest first over its invoices),
    then save it under one request id. Returns what each desk got, the fund's payments, how
    often a lost race was answered from the database, and verify()."""
    fund, invoices = _remittance_desks(url)
    replays: list[str] = []
    answer = Store.replayed

    def counted(store, kind, request_id, fingerprint, error):
        replays.append(request_id)
        if not replay:
            raise error
        return answer(store, kind, request_id, fingerprint, error)

    monkeypatch.setattr(Store, "replayed", counted)
    if not lock:
        _without_row_locks(monkeypatch)
        _without_request_id_lock(monkeypatch)
    previewed = threading.Barrier(2)

    def desk() -> int:
        with Clinic.open(url) as front_desk:
            preview = front_desk.preview_payer_payment(
                fund, sources={"Bank transfer": "150.00"}, reference="REM-7"
            )
            previewed.wait(timeout=30)
            return front_desk.record_payer_payment(preview, "rem-7-save")

    outcomes = at_once([desk, desk])
    monkeypatch.undo()
    with Clinic.open(url) as clinic:
        payments = [p.id for p in clinic.payments(fund)]
        assert sum((clinic.invoice(i).paid for i in invoices), Decimal(0)) == Decimal("150.00")
        return outcomes, payments, len(replays), clinic.verify()


def test_the_same_remittance_saved_from_two_desks_is_one_payment(pg_databases, monkeypatch):
    outcomes, payments, replays, problems = _same_remittance_twice(pg_databases.new(), monkeypatch)
    assert len(payments) == 1 and outcomes == [payments[0], payments[0]]
    assert replays == 0  # the second desk waited for the locks, then found the first's payment
    assert problems == []


def test_without_the_lock_only_the_request_id_keeps_the_remittance_single(
    pg_databases, monkeypatch
):
    """The control. Without the account lock and the request id's lock the second desk does
    not find the first's payment before writing; the unique request id refuses its insert and
    the save answers with the first's id. Without that answer too, the second desk's save
    fails."""
    outcomes, payments, replays, problems = _same_remittance_twice(
        pg_databases.new(), monkeypatch, lock=False
    )
    assert len(payments) == 1 and outcomes == [payments[0], payments[0]], (outcomes, payments)
    assert replays == 1 and problems == []
    outcomes, payments, replays, problems = _same_remittance_twice(
        pg_databases.new(), monkeypatch, lock=False, replay=False
    )
    assert len(payments) == 1 and replays == 1
    assert {type(outcome) for outcome in outcomes} == {int, IntegrityError}


# -- two remittances against the same credit or the same open invoice ------------------------------


def _two_remittances(
    url: str, monkeypatch: pytest.MonkeyPatch | None, against: str
) -> tuple[list[str], list[str]]:
    """Two desks each key a remittance of the fund's at once, with different request ids:
    against its credit ($100 held, $60 applied from it by each desk to an invoice of its own)
    or against one open invoice (a $40 remittance typed against the same $60 invoice)."""
    fund, invoices = _remittance_desks(url)
    with Clinic.open(url) as clinic:
        clinic.record_payer_payment(
            clinic.preview_payer_payment(fund, sources={"Bank transfer": "100"}, mode="off"),
            "advance",
        )
    if monkeypatch is not None:
        _without_row_locks(monkeypatch)
    previewed = threading.Barrier(2)

    def desk(n: int) -> Callable[[], str]:
        if against == "credit":
            asked = {"applied": {invoices[n]: "60"}}
        else:
            asked = {"sources": {"Cash": "40"}, "applied": {invoices[0]: "40"}}

        def save() -> str:
            with Clinic.open(url) as front_desk:
                preview = front_desk.preview_payer_payment(
                    fund, **asked, reference=f"REM-{n}", mode="off"
                )
                previewed.wait(timeout=30)
                try:
                    front_desk.record_payer_payment(preview, f"desk-{n}")
                    return "saved"
                except ConcurrentChangeError:
                    return "refused"

        return save

    outcomes = at_once([desk(0), desk(1)])
    if monkeypatch is not None:
        monkeypatch.undo()
    with Clinic.open(url) as clinic:
        return sorted(map(str, outcomes)), clinic.verify()


@pytest.mark.parametrize("against", ["credit", "open invoice"])
def test_two_remittances_at_once_one_saves_the_other_previews_again(pg_databases, against):
    outcomes, problems = _two_remittances(pg_databases.new(), None, against)
    assert outcomes == ["refused", "saved"] and problems == []


@pytest.mark.parametrize(
    ("against", "broken"),
    [
        ("credit", "I2"),  # the $100 spent twice: the payer's credit below zero
        ("open invoice", "I7"),  # one invoice's paid figure written over: $40 of $80 lost
    ],
)
def test_the_lock_is_what_keeps_two_remittances_apart(pg_databases, monkeypatch, against, broken):
    outcomes, problems = _two_remittances(pg_databases.new(), monkeypatch, against)
    assert outcomes == ["saved", "saved"]  # without the lock both desks save
    assert any(p.startswith(broken) for p in problems), problems  # ... and the books are wrong
