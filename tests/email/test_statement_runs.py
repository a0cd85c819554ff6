"""Statement runs through the API, on SQLite and PostgreSQL, against a real SMTP server on
loopback: who is listed as of the period's end (patients and payers, a later payment changing
nothing), the totals, the statements emailed to those with an address and posted for the rest,
the messages as they arrive (recipient, subject, the attached PDF's own text), a run stopped
part way and resumed (everyone exactly one message), two desks resuming at once, and bad input
refused with nothing saved."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta
from decimal import Decimal

import pypdfium2 as pdfium
import pytest
from sqlalchemy import func, select, update

from desktop_app.core import (
    BillingError,
    Clinic,
    OutboxStatus,
    PermissionDenied,
)
from desktop_app.core.db.models import AuditEntry, OutboxMessage, Patient, StatementRun
from tests.helpers import at_once, snapshot

from .smtp_servers import SmtpServer
from .statement_ledger import END, START, TODAY, build_ledger, configure, fake_pdf, pay


class StopError(Exception):
    """The renderer's way of stopping a run part way (as a crash would)."""


@pytest.fixture
def ledger(clinic: Clinic) -> dict[str, int]:
    return build_ledger(clinic)


# -- who is listed -------------------------------------------------------------------------------


def test_preview_lists_who_owed_or_held_credit_at_the_period_end_with_totals(
    clinic: Clinic, ledger: dict[str, int]
) -> None:
    preview = clinic.preview_statement_run(START, END)
    listed = [(r.name, r.payer, r.owed, r.credit, r.email) for r in preview.rows]
    # Sorted by name; Ada's later payment, Dot's settled account and Eve's later invoice
    # change nothing about last month.
    assert listed == [
        ("Babbage, Bea", False, Decimal("50.00"), Decimal("0.00"), None),
        ("Bupa", True, Decimal("120.00"), Decimal("0.00"), "claims@bupa.example"),
        ("Clarke, Cy", False, Decimal("0.00"), Decimal("30.00"), "cy@example.org"),
        ("Lovelace, Ada", False, Decimal("80.00"), Decimal("0.00"), "ada@example.org"),
    ]
    assert (preview.accounts, preview.to_email, preview.to_post) == (4, 3, 1)
    assert (preview.owed, preview.credit) == (Decimal("250.00"), Decimal("30.00"))
    # This month's own run sees Ada paid and Eve owing.
    now = {r.name: r.owed for r in clinic.preview_statement_run(TODAY.replace(day=1), TODAY).rows}
    assert "Lovelace, Ada" not in now and now["Evans, Eve"] == Decimal("60.00")


def test_preview_figures_agree_with_each_statement_and_the_credit_report(
    clinic: Clinic, ledger: dict[str, int]
) -> None:
    """Owed less credit is each statement's closing balance; the credit is the liability
    report's for that day, after refunds, reversals, credit notes and transfers since."""
    ada, bea, cy = ledger["ada"], ledger["bea"], ledger["cy"]
    day = END - timedelta(days=2)
    # Bea owes and holds credit at once; Cy's credit moves on after the period.
    invoice = clinic.create_invoice(bea, [("Review", "70", 1)], issue_date=day)
    pay(clinic, bea, "100", day, "bea-ahead")  # pays the oldest ($50) and $50 of $70
    pay(clinic, bea, "25", day, "bea-credit")  # $20 on the review, $5 credit
    late = pay(clinic, bea, "7", day, "bea-late")  # $7 more credit, reversed this month
    hal = clinic.add_patient("Hal", "Hughes", email="hal@example.org")
    voided = clinic.create_invoice(hal, [("Consultation", "45", 1)], issue_date=day)
    # Since the period ended: a refund, a transfer, a credit note, a reversal and a void.
    clinic.refund_credit(cy, "10", method="Cash", request_id="cy-refund", refund_date=TODAY)
    clinic.transfer_credit(cy, ada, "5", reason="family", request_id="cy-ada", transfer_date=TODAY)
    clinic.issue_credit_note(invoice, "10", reason="discount", request_id="bea-note")
    clinic.reverse_payment(late, "entered twice")
    clinic.void_invoice(voided, "entered by mistake")
    preview = clinic.preview_statement_run(START, END)
    liability = {row.patient_id: row.credit for row in clinic.credit_liability(as_of=END).rows}
    for row in preview.rows:
        statement = (
            clinic.payer_statement(row.account_id, START, END)
            if row.payer
            else clinic.statement(row.account_id, START, END)
        )
        assert row.owed - row.credit == statement.closing_balance, row.name
        assert row.credit == liability.get(row.account_id, Decimal("0.00")), row.name
    rows = {row.account_id: (row.owed, row.credit) for row in preview.rows}
    assert rows[bea] == (Decimal("0.00"), Decimal("12.00"))
    assert rows[cy] == (Decimal("0.00"), Decimal("30.00"))
    assert rows[hal] == (Decimal("45.00"), Decimal("0.00"))


def test_a_payment_reversed_after_the_period_and_entered_again_in_it_is_listed_exactly(
    clinic: Clinic, ledger: dict[str, int]
) -> None:
    """Hal paid his $80 in the period; since it ended the payment was reversed and entered
    again, dated in the period too. As the records stand, he paid $160 by the period's end on an
    $80 invoice: his statement closes $80 in credit, and the run lists him so (with Fay, who
    also held $10 credit: $90), not leaving him out or hiding part of it."""
    day = END - timedelta(days=2)
    hal = clinic.add_patient("Hal", "Hughes", email="hal@example.org")
    fay = clinic.add_patient("Fay", "Fox", email="fay@example.org")
    for pid, key in ((hal, "hal"), (fay, "fay")):
        clinic.create_invoice(pid, [("Consultation", "80", 1)], issue_date=day)
        first = pay(clinic, pid, "80", day, f"{key}-first")
        clinic.reverse_payment(first, "wrong method")
        pay(clinic, pid, "80", day, f"{key}-again")
    pay(clinic, fay, "10", day, "fay-ahead")
    rows = {row.account_id: row for row in clinic.preview_statement_run(START, END).rows}
    assert (rows[hal].owed, rows[hal].credit) == (Decimal("0.00"), Decimal("80.00"))
    assert (rows[fay].owed, rows[fay].credit) == (Decimal("0.00"), Decimal("90.00"))
    for pid in (hal, fay):
        statement = clinic.statement(pid, START, END)
        assert rows[pid].owed - rows[pid].credit == statement.closing_balance


def test_an_address_kept_that_is_not_one_is_posted(clinic: Clinic, ledger: dict[str, int]) -> None:
    """An address imported before addresses were checked (written here straight to the
    database): the statement goes by post, never to a broken address."""
    with clinic.engine.begin() as conn:
        conn.execute(
            update(Patient).where(Patient.id == ledger["ada"]).values(email="ada at example.org")
        )
    rows = {r.account_id: r for r in clinic.preview_statement_run(START, END).rows}
    assert rows[ledger["ada"]].email is None
    assert clinic.preview_statement_run(START, END).to_post == 2


def test_a_merged_patient_and_a_settled_account_are_left_out(
    clinic: Clinic, ledger: dict[str, int]
) -> None:
    dupe = clinic.add_patient("Ada", "Lovelace")
    clinic.create_invoice(dupe, [("Consultation", "15", 1)], issue_date=END - timedelta(days=1))
    clinic.merge_patients(ledger["ada"], dupe, reason="duplicate")
    rows = {r.account_id: r for r in clinic.preview_statement_run(START, END).rows}
    assert dupe not in rows and ledger["dot"] not in rows
    assert rows[ledger["ada"]].owed == Decimal("95.00")


# -- the run ---------------------------------------------------------------------------------------


def test_run_emails_those_with_an_address_and_posts_the_rest(
    clinic: Clinic, ledger: dict[str, int], smtp_server: SmtpServer
) -> None:
    configure(clinic, smtp_server)
    run = clinic.start_statement_run(START, END)
    progress = clinic.statement_run_step(run, fake_pdf, limit=2)
    assert (progress.done, progress.total, progress.finished) == (2, 4, False)
    while not progress.finished:
        progress = clinic.statement_run_step(run, fake_pdf)
    record = clinic.statement_run(run)
    assert (record.emailed, record.posted, record.pending, record.finished) == (3, 1, 0, True)
    assert clinic.posted_statements(run) == [ledger["bea"]]
    summary = clinic.send_outbox()
    assert summary.sent == 3
    received = {d.recipients[0]: d.message for d in smtp_server.wait_for(3)}
    assert set(received) == {"ada@example.org", "cy@example.org", "claims@bupa.example"}
    ada = received["ada@example.org"]
    assert ada["Subject"] == "Your statement from Harbour Physio"
    assert "$80.00" in ada.get_body(("plain",)).get_content()
    (attachment,) = list(ada.iter_attachments())
    assert attachment.get_filename() == f"Statement {END.isoformat()}.pdf"
    assert b"Ada Lovelace: 80.00" in attachment.get_content()
    record = clinic.statement_run(run)
    assert (record.sent, record.unsent) == (3, 0)
    items = {i.account_id: i for i in clinic.statement_run_items(run)}
    assert items[ledger["ada"]].outbox_status is OutboxStatus.SENT
    assert items[ledger["bea"]].state == "post" and items[ledger["bea"]].outbox_id is None
    assert clinic.verify() == []
    with clinic.reading() as session:
        actions = [
            a
            for (a,) in session.execute(
                select(AuditEntry.action).where(AuditEntry.entity == "statement_run")
            )
        ]
    assert actions == ["start statement run", "finish statement run"]


def _pdf_text(data: bytes) -> str:
    """The text of a PDF's pages, its runs of white space made single spaces."""
    pdf = pdfium.PdfDocument(data)
    try:
        return " ".join(" ".join(p.get_textpage().get_text_range().split()) for p in pdf)
    finally:
        pdf.close()


def test_the_attached_pdf_shows_the_patients_name_and_what_they_owed(
    qapp, clinic: Clinic, ledger: dict[str, int], smtp_server: SmtpServer
) -> None:
    from desktop_app.ui.formatting import Formatter
    from desktop_app.ui.printing.pdf_bytes import document_pdf

    configure(clinic, smtp_server)
    formatter = Formatter(clinic.currency, "en_AU")
    run = clinic.start_statement_run(START, END)
    while not clinic.statement_run_step(run, lambda d: document_pdf(d, formatter)).finished:
        pass
    clinic.send_outbox()
    received = {d.recipients[0]: d.message for d in smtp_server.wait_for(3)}
    message = received["ada@example.org"]
    assert message["To"] == "Ada Lovelace <ada@example.org>"
    (attachment,) = list(message.iter_attachments())
    text = _pdf_text(attachment.get_content())
    assert "Ada Lovelace" in text and "$80.00" in text
    bupa = received["claims@bupa.example"]
    (attachment,) = list(bupa.iter_attachments())
    text = _pdf_text(attachment.get_content())
    assert "Bupa" in text and "Gus Grant" in text and "$120.00" in text


def test_an_email_states_what_its_attached_statement_shows_after_a_payment_mid_run(
    qapp, clinic: Clinic, ledger: dict[str, int], smtp_server: SmtpServer
) -> None:
    """A payment dated in the period, recorded after the run started but before Ada's statement
    is done: her email's amount is the attached statement's closing balance, not the figure
    listed when the run started."""
    from desktop_app.ui.formatting import Formatter
    from desktop_app.ui.printing.pdf_bytes import document_pdf

    configure(clinic, smtp_server)
    formatter = Formatter(clinic.currency, "en_AU")
    run = clinic.start_statement_run(START, END)
    pay(clinic, ledger["ada"], "50", END - timedelta(days=1), "ada-pays-in-period")
    while not clinic.statement_run_step(run, lambda d: document_pdf(d, formatter)).finished:
        pass
    clinic.send_outbox()
    received = {d.recipients[0]: d.message for d in smtp_server.wait_for(3)}
    message = received["ada@example.org"]
    body = message.get_body(("plain",)).get_content()
    (attachment,) = list(message.iter_attachments())
    text = _pdf_text(attachment.get_content())
    owing = re.search(r"Balance owing (\$[\d,]+\.\d\d)", text)
    assert owing is not None, text
    assert owing.group(1) == "$30.00"
    assert f"the amount owed is {owing.group(1)} and your account credit is $0.00" in body
    assert "$80.00" not in body


def test_a_run_stopped_part_way_resumes_and_emails_everyone_exactly_once(
    clinic: Clinic, ledger: dict[str, int], smtp_server: SmtpServer
) -> None:
    configure(clinic, smtp_server)
    run = clinic.start_statement_run(START, END)
    rendered: list[str] = []

    def stops_after_one(document):
        if len(rendered) == 1:
            raise StopError("the computer was switched off")
        rendered.append(document.end.isoformat())
        return fake_pdf(document)

    with pytest.raises(StopError):
        clinic.statement_run_step(run, stops_after_one)
    # In name order: Bea's set aside for posting, Bupa's emailed, then the stop at Cy's; what
    # was done before the stop is kept (Bupa's email queued), the rest wait.
    record = clinic.statement_run(run)
    assert (record.posted, record.emailed, record.pending, record.finished) == (1, 1, 2, False)
    # Sending what was queued, then starting the period again: the same run, resumed.
    assert clinic.send_outbox().sent == 1
    assert smtp_server.wait_for(1)[0].recipients == ["claims@bupa.example"]
    assert clinic.start_statement_run(START, END) == run
    assert clinic.statement_run_for(START, END).done == 2
    while not clinic.statement_run_step(run, fake_pdf, limit=1).finished:
        pass
    clinic.send_outbox()
    deliveries = smtp_server.wait_for(3)
    recipients = sorted(d.recipients[0] for d in deliveries)
    assert recipients == ["ada@example.org", "claims@bupa.example", "cy@example.org"]
    ids = [d.message["Message-ID"] for d in deliveries]
    assert len(set(ids)) == 3
    # Starting it once more finds the finished run and sends nothing more.
    before = snapshot(clinic)
    assert clinic.start_statement_run(START, END) == run
    assert clinic.statement_run_step(run, fake_pdf).finished
    assert clinic.send_outbox().sent == 0
    assert snapshot(clinic) == before
    assert len(smtp_server.messages) == 3
    assert [r.id for r in clinic.statement_runs()] == [run]


def test_a_run_is_made_once_per_period_even_when_two_desks_start_it(
    clinic: Clinic, ledger: dict[str, int], smtp_server: SmtpServer
) -> None:
    configure(clinic, smtp_server)
    other = Clinic(clinic.engine)
    found = at_once(
        [lambda desk=desk: desk.start_statement_run(START, END) for desk in (clinic, other)]
    )
    assert all(isinstance(run, int) for run in found) and len(set(found)) == 1
    with clinic.reading() as session:
        assert session.scalar(select(func.count()).select_from(StatementRun)) == 1


def test_two_desks_resuming_one_run_never_queue_a_statement_twice(
    clinic: Clinic, smtp_server: SmtpServer
) -> None:
    configure(clinic, smtp_server)
    day = END - timedelta(days=1)
    for n in range(12):
        pid = clinic.add_patient(f"P{n:02}", "Owing", email=f"p{n}@example.org")
        clinic.create_invoice(pid, [("Consultation", "10", 1)], issue_date=day)
    run = clinic.start_statement_run(START, END)
    other = Clinic(clinic.engine)

    def slow_pdf(document):
        time.sleep(0.01)  # long enough for the two desks' steps to overlap
        return fake_pdf(document)

    def resume(desk: Clinic) -> None:
        while not desk.statement_run_step(run, slow_pdf, limit=3).finished:
            pass

    outcomes = at_once([lambda desk=desk: resume(desk) for desk in (clinic, other)])
    assert outcomes == [None, None]  # neither desk raised
    with clinic.reading() as session:
        per_account = session.execute(
            select(OutboxMessage.account_id, func.count()).group_by(OutboxMessage.account_id)
        ).all()
    assert len(per_account) == 12 and {count for _, count in per_account} == {1}
    clinic.send_outbox()
    assert len(smtp_server.wait_for(12)) == 12
    assert clinic.verify() == []


# -- refusals --------------------------------------------------------------------------------------


def _refused(clinic: Clinic, call, code: str) -> BillingError:
    before = snapshot(clinic)
    with pytest.raises(BillingError) as refused:
        call()
    assert refused.value.code == code, refused.value
    assert snapshot(clinic) == before
    return refused.value


def test_bad_periods_and_email_not_set_up_are_refused_with_nothing_saved(
    clinic: Clinic, ledger: dict[str, int], smtp_server: SmtpServer
) -> None:
    error = _refused(clinic, lambda: clinic.start_statement_run(START, END), "missing")
    assert "Settings > Email" in str(error)
    configure(clinic, smtp_server)
    error = _refused(clinic, lambda: clinic.start_statement_run(END, START), "bad_date")
    assert "after it ends" in str(error)
    tomorrow = TODAY + timedelta(days=1)
    _refused(clinic, lambda: clinic.preview_statement_run(START, tomorrow), "future_date")
    _refused(clinic, lambda: clinic.start_statement_run(date(1900, 1, 1), END), "bad_date")
    _refused(clinic, lambda: clinic.preview_statement_run("2026-11-01", END), "bad_date")
    run = clinic.start_statement_run(START, END)
    _refused(clinic, lambda: clinic.statement_run_step(run, fake_pdf, limit=0), "bad_choice")
    _refused(clinic, lambda: clinic.statement_run_step(999, fake_pdf), "not_found")
    assert smtp_server.messages == []


def test_statement_runs_need_the_right_to_email_and_to_see_every_patient(
    team: dict[str, Clinic], smtp_server: SmtpServer
) -> None:
    configure(team["owner"], smtp_server)
    assert team["receptionist"].preview_statement_run(START, END).accounts == 0
    with pytest.raises(PermissionDenied):
        team["practitioner"].preview_statement_run(START, END)
    with pytest.raises(PermissionDenied):
        team["practitioner"].start_statement_run(START, END)
