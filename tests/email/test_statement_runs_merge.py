"""Statement runs and merged patients, on SQLite and PostgreSQL, against a real SMTP server on
loopback: a patient merged into another while a run is unfinished hands their place in the run
to the patient kept, so the run resumed never emails the merged duplicate, the patient kept gets
at most one statement of the period (none more when either had theirs already), one that covers
both records when neither had, and Verify ledger finds nothing wrong."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from desktop_app.core import Clinic, StatementDocument

from .smtp_servers import SmtpServer
from .statement_ledger import END, START, build_ledger, configure, fake_pdf

KING = "ada.king@example.net"


@pytest.fixture
def ledger(clinic: Clinic) -> dict[str, int]:
    """The statement ledger and Ada's duplicate under her other name, Ada King (her own address),
    who owed $15 at the end of the period. In name order the run lists Bea, Bupa, Cy, King and
    Lovelace."""
    accounts = build_ledger(clinic)
    king = clinic.add_patient("Ada", "King", email=KING)
    clinic.create_invoice(king, [("Consultation", "15", 1)], issue_date=END - timedelta(days=1))
    return accounts | {"king": king}


def _finish(clinic: Clinic, run: int) -> None:
    while not clinic.statement_run_step(run, fake_pdf, limit=1).finished:
        pass


def _statements(server: SmtpServer) -> dict[str, list[bytes]]:
    """Each recipient's statements as attached (the stand-in PDF's text)."""
    found: dict[str, list[bytes]] = {}
    for delivery in server.messages:
        (attachment,) = list(delivery.message.iter_attachments())
        found.setdefault(delivery.recipients[0], []).append(attachment.get_content())
    return found


def test_both_pending_the_patient_kept_gets_one_statement_covering_both(
    clinic: Clinic, ledger: dict[str, int], smtp_server: SmtpServer
) -> None:
    configure(clinic, smtp_server)
    run = clinic.start_statement_run(START, END)
    assert clinic.statement_run_step(run, fake_pdf, limit=3).done == 3  # Bea, Bupa, Cy
    clinic.merge_patients(ledger["ada"], ledger["king"], reason="duplicate")
    _finish(clinic, run)
    assert clinic.send_outbox().sent == 3
    statements = _statements(smtp_server)
    assert sorted(statements) == ["ada@example.org", "claims@bupa.example", "cy@example.org"]
    assert statements["ada@example.org"] == [b"%PDF-1.4\n% statement of Ada Lovelace: 95.00\n"]
    items = {i.account_id: i for i in clinic.statement_run_items(run)}
    assert ledger["king"] not in items
    assert (items[ledger["ada"]].state, items[ledger["ada"]].owed) == ("emailed", Decimal("95.00"))
    record = clinic.statement_run(run)
    assert (record.total, record.emailed, record.posted, record.finished) == (4, 3, 1, True)
    assert clinic.verify() == []


@pytest.mark.parametrize("kept", ["lovelace", "king"])
def test_one_already_sent_the_patient_kept_gets_no_second_statement(
    clinic: Clinic, ledger: dict[str, int], smtp_server: SmtpServer, kept: str
) -> None:
    """King's statement went before the merge; whichever of the two is kept, the run resumed
    sends nothing more, and the message sent is on the kept patient's account."""
    configure(clinic, smtp_server)
    run = clinic.start_statement_run(START, END)
    assert clinic.statement_run_step(run, fake_pdf, limit=4).done == 4  # Bea, Bupa, Cy, King
    assert clinic.send_outbox().sent == 3
    keep, dupe = (
        (ledger["ada"], ledger["king"]) if kept == "lovelace" else (ledger["king"], ledger["ada"])
    )
    clinic.merge_patients(keep, dupe, reason="duplicate")
    assert clinic.verify() == []
    _finish(clinic, run)
    assert clinic.send_outbox().sent == 0
    assert sorted(_statements(smtp_server)) == [KING, "claims@bupa.example", "cy@example.org"]
    items = {i.account_id: i for i in clinic.statement_run_items(run)}
    assert dupe not in items and items[keep].state == "emailed"
    assert [m.id for m in clinic.account_messages(keep)] == [items[keep].outbox_id]
    assert clinic.statement_run(run).finished
    assert clinic.verify() == []


def test_the_kept_patients_statement_sent_the_duplicates_pending_is_dropped(
    clinic: Clinic, ledger: dict[str, int], smtp_server: SmtpServer
) -> None:
    """King (kept) had her statement; Lovelace's, still pending, is not sent after the merge."""
    configure(clinic, smtp_server)
    run = clinic.start_statement_run(START, END)
    clinic.statement_run_step(run, fake_pdf, limit=4)
    clinic.merge_patients(ledger["king"], ledger["ada"], reason="duplicate")
    _finish(clinic, run)
    assert clinic.send_outbox().sent == 3
    statements = _statements(smtp_server)
    assert sorted(statements) == [KING, "claims@bupa.example", "cy@example.org"]
    assert statements[KING] == [b"%PDF-1.4\n% statement of Ada King: 15.00\n"]
    assert clinic.verify() == []


@pytest.mark.parametrize("done_before", [False, True])
def test_only_the_duplicate_in_the_run_its_statement_is_the_kept_patients(
    clinic: Clinic, ledger: dict[str, int], smtp_server: SmtpServer, done_before: bool
) -> None:
    """Eve owed nothing last month, so the run lists only her duplicate King. Merged before
    King's turn, the statement goes to Eve (her address, her name, King's $15); merged after
    it, nothing more is sent and Verify ledger finds King's message on Eve's account."""
    configure(clinic, smtp_server)
    run = clinic.start_statement_run(START, END)
    clinic.statement_run_step(run, fake_pdf, limit=4 if done_before else 3)
    clinic.send_outbox()
    clinic.merge_patients(ledger["eve"], ledger["king"], reason="duplicate")
    assert clinic.verify() == []
    _finish(clinic, run)
    clinic.send_outbox()
    statements = _statements(smtp_server)
    if done_before:
        assert statements[KING] == [b"%PDF-1.4\n% statement of Ada King: 15.00\n"]
        assert "eve@example.org" not in statements
    else:
        assert KING not in statements
        assert statements["eve@example.org"] == [b"%PDF-1.4\n% statement of Eve Evans: 15.00\n"]
    assert len(smtp_server.messages) == 4  # Bupa, Cy, Ada and one for King's record
    items = {i.account_id: i for i in clinic.statement_run_items(run)}
    assert ledger["king"] not in items and items[ledger["eve"]].state == "emailed"
    assert clinic.verify() == []


def test_a_merge_while_a_step_makes_the_duplicates_statement_sends_it_to_the_kept_patient(
    clinic: Clinic, ledger: dict[str, int], smtp_server: SmtpServer
) -> None:
    """King is merged into Eve (on another desk) between the step reading King's item and
    saving her email: the step leaves the item pending and the next one makes Eve's statement."""
    configure(clinic, smtp_server)
    run = clinic.start_statement_run(START, END)
    clinic.statement_run_step(run, fake_pdf, limit=3)

    def merges_first(document: StatementDocument) -> bytes:
        clinic.merge_patients(ledger["eve"], ledger["king"], reason="duplicate")
        return fake_pdf(document)

    progress = clinic.statement_run_step(run, merges_first, limit=1)
    assert (progress.pending, progress.queued) == (2, ())
    _finish(clinic, run)
    clinic.send_outbox()
    statements = _statements(smtp_server)
    assert KING not in statements
    assert statements["eve@example.org"] == [b"%PDF-1.4\n% statement of Eve Evans: 15.00\n"]
    assert len(smtp_server.messages) == 4
    assert clinic.verify() == []


def test_a_merge_while_a_step_makes_the_kept_patients_statement_sends_the_merged_one(
    clinic: Clinic, ledger: dict[str, int], smtp_server: SmtpServer
) -> None:
    """King is merged into Ada Lovelace while a step renders Lovelace's statement (made before
    the merge, without King's $15): the step leaves it, and the next makes the merged one."""
    configure(clinic, smtp_server)
    run = clinic.start_statement_run(START, END)
    merged: list[bool] = []

    def merges_first(document: StatementDocument) -> bytes:
        if not merged:
            clinic.merge_patients(ledger["ada"], ledger["king"], reason="duplicate")
            merged.append(True)
        return fake_pdf(document)

    clinic.statement_run_step(run, merges_first, limit=10)
    _finish(clinic, run)
    clinic.send_outbox()
    statements = _statements(smtp_server)
    assert KING not in statements
    assert statements["ada@example.org"] == [b"%PDF-1.4\n% statement of Ada Lovelace: 95.00\n"]
    assert clinic.verify() == []
