"""Overdue reminders through the API, on SQLite and PostgreSQL: which invoices are listed (due
exactly N days ago, once per interval, open and owing), queuing the approved ones with the
invoice's PDF (read back from a real loopback SMTP server), and never two reminders for one
invoice however the desks' approvals cross."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pypdfium2 as pdfium
import pytest
from sqlalchemy import func, select, update

from desktop_app.core import (
    BillingError,
    Clinic,
    InvoiceDocument,
    OutboxStatus,
    PermissionDenied,
    Refusal,
)
from desktop_app.core.db.models import OutboxMessage, ReminderSent
from tests.helpers import at_once, snapshot

from .smtp_servers import SmtpServer

TODAY = date.today()
FAKE_PDF = b"%PDF-1.4\n% a stand-in for the invoice's PDF\n"


def fake_render(document: InvoiceDocument) -> bytes:
    """A PDF stand-in naming the invoice (the real renderer is Qt's, in the windows)."""
    return FAKE_PDF + f"% invoice {document.invoice.number}\n".encode()


def _configure(clinic: Clinic, port: int, **reminders: int) -> None:
    clinic.set_email_settings(
        host="127.0.0.1",
        port=port,
        security="none",
        sender="Harbour Physio <desk@harbour.example>",
        timeout=5,
    )
    clinic.set_reminder_settings(**{"after_days": 7, "interval_days": 14, **reminders})


def _overdue_invoice(
    clinic: Clinic, pid: int, days: int, amount: str = "80.00", **options: object
) -> int:
    """An invoice issued 30 days before it fell due ``days`` days ago."""
    due = TODAY - timedelta(days=days)
    return clinic.create_invoice(
        pid,
        [("Consultation", amount, 1)],
        issue_date=due - timedelta(days=30),
        due_date=due,
        **options,  # type: ignore[arg-type]
    )


def _pay(clinic: Clinic, pid: int, cash: str, rid: str, invoice: int | None = None) -> int:
    return clinic.record_payment(
        clinic.preview_payment(pid, {"Cash": cash}, source_invoice=invoice), rid
    )


def _reminders(clinic: Clinic) -> list[tuple[int, int]]:
    with clinic.engine.connect() as conn:
        return [
            tuple(r) for r in conn.execute(select(ReminderSent.invoice_id, ReminderSent.outbox_id))
        ]


@pytest.fixture
def ada(clinic: Clinic) -> int:
    return clinic.add_patient("Ada", "Lovelace", email="ada@example.org")


def _numbers(clinic: Clinic, **kw: object) -> list[int]:
    return [c.invoice_number for c in clinic.overdue_reminders(**kw)]  # type: ignore[arg-type]


def test_an_invoice_is_listed_once_it_is_exactly_n_days_overdue(clinic, ada, closed_port):
    _configure(clinic, closed_port, after_days=7)
    on_the_day = _overdue_invoice(clinic, ada, 7)
    a_day_short = _overdue_invoice(clinic, ada, 6, "45.50")
    older = _overdue_invoice(clinic, ada, 40, "20.00")
    number = {i: clinic.invoice(i).number for i in (on_the_day, a_day_short, older)}
    (first, second) = clinic.overdue_reminders()
    # Most overdue first; the invoice 6 days overdue waits for tomorrow.
    assert (first.invoice_id, second.invoice_id) == (older, on_the_day)
    assert second.invoice_number == number[on_the_day]
    assert (second.account_id, second.name, second.email) == (
        ada,
        "Ada Lovelace",
        "ada@example.org",
    )
    assert (second.due_date, second.days_overdue) == (TODAY - timedelta(days=7), 7)
    assert (second.balance, second.last_reminded) == (Decimal("80.00"), None)
    tomorrow = clinic.overdue_reminders(today=TODAY + timedelta(days=1))
    assert [c.invoice_id for c in tomorrow] == [older, on_the_day, a_day_short]
    assert [c.days_overdue for c in tomorrow] == [41, 8, 7]


def test_reminders_are_off_at_zero_days(clinic, ada, closed_port):
    _overdue_invoice(clinic, ada, 300)
    assert clinic.reminder_settings.after_days == 0  # off until the clinic turns them on
    assert clinic.overdue_reminders() == []
    _configure(clinic, closed_port, after_days=30)
    assert len(clinic.overdue_reminders()) == 1
    clinic.set_reminder_settings(after_days=0)
    assert clinic.overdue_reminders() == []


def test_only_open_invoices_still_owing_are_listed_patients_and_payers_alike(
    clinic, ada, closed_port
):
    _configure(clinic, closed_port)
    paid = _overdue_invoice(clinic, ada, 20)
    _pay(clinic, ada, "80", "pay-all", paid)
    part_paid = _overdue_invoice(clinic, ada, 20)
    _pay(clinic, ada, "30", "pay-part", part_paid)
    voided = _overdue_invoice(clinic, ada, 20)
    clinic.void_invoice(voided, "entered twice")
    draft = _overdue_invoice(clinic, ada, 20, draft=True)
    clinic.create_invoice(ada, [("No due date", "10", 1)], issue_date=TODAY - timedelta(days=90))
    bob = clinic.add_patient("Bob", "Nomail")
    no_email = _overdue_invoice(clinic, bob, 10)
    fund = clinic.add_payer("Harbour Health Fund", kind="health fund", email="claims@hhf.example")
    clinic.add_membership(ada, fund, member_number="M-1")
    billed = _overdue_invoice(clinic, ada, 15, bill_to=fund)
    listed = {c.invoice_id: c for c in clinic.overdue_reminders()}
    assert set(listed) == {part_paid, no_email, billed}
    assert listed[part_paid].balance == Decimal("50.00")
    assert listed[no_email].email is None
    assert (listed[billed].account_id, listed[billed].name, listed[billed].email) == (
        fund,
        "Harbour Health Fund",
        "claims@hhf.example",
    )
    assert draft not in listed and paid not in listed and voided not in listed


def test_an_invoice_is_reminded_once_per_interval(clinic, ada, closed_port):
    _configure(clinic, closed_port, after_days=7, interval_days=14)
    invoice = _overdue_invoice(clinic, ada, 10)
    result = clinic.send_reminders([invoice], fake_render)
    assert [(q.invoice_id, q.name) for q in result.queued] == [(invoice, "Ada Lovelace")]
    assert result.skipped == ()
    assert clinic.overdue_reminders() == []
    assert _numbers(clinic, today=TODAY + timedelta(days=13)) == []
    (again,) = clinic.overdue_reminders(today=TODAY + timedelta(days=14))
    assert again.invoice_id == invoice and again.days_overdue == 24
    assert again.last_reminded is not None
    assert abs(again.last_reminded - datetime.now(UTC)) < timedelta(minutes=5)
    # Sending the same list again the same day queues nothing more.
    repeat = clinic.send_reminders([invoice], fake_render)
    assert repeat.queued == ()
    (skip,) = repeat.skipped
    assert skip.invoice_id == invoice and skip.reason.startswith("it was reminded on ")
    assert len(_reminders(clinic)) == 1
    # Fifteen days later (the first reminder an interval old) it is reminded again.
    with clinic.engine.begin() as conn:
        conn.execute(update(ReminderSent).values(sent_at=datetime.now(UTC) - timedelta(days=14)))
    assert [q.invoice_id for q in clinic.send_reminders([invoice], fake_render).queued] == [invoice]
    assert len(_reminders(clinic)) == 2
    assert clinic.verify() == []


def test_a_reminder_whose_email_was_cancelled_or_failed_for_good_does_not_hold_back_the_next(
    clinic, ada, make_smtp_server
):
    server = make_smtp_server(refuse_rcpt="550 5.1.1 Mailbox unavailable")
    _configure(clinic, server.port, after_days=7, interval_days=14)
    cancelled = _overdue_invoice(clinic, ada, 10)
    refused = _overdue_invoice(clinic, ada, 12, "45.00")
    kept = _overdue_invoice(clinic, ada, 11, "20.00")
    queued = {
        q.invoice_id: q.outbox_id
        for q in clinic.send_reminders([cancelled, refused, kept], fake_render).queued
    }
    assert clinic.overdue_reminders() == []
    clinic.cancel_email(queued[cancelled])
    clinic.send_outbox(only=[queued[refused]])  # refused for good: not tried again by itself
    # The patient got neither, so both are due a reminder again today; the one still queued
    # holds its invoice back.
    listed = {c.invoice_id: c for c in clinic.overdue_reminders()}
    assert set(listed) == {cancelled, refused}
    assert listed[cancelled].last_reminded is None
    again = clinic.send_reminders([cancelled, refused, kept], fake_render)
    assert {q.invoice_id for q in again.queued} == {cancelled, refused}
    (skip,) = again.skipped
    assert skip.invoice_id == kept and skip.reason.startswith("it was reminded on ")
    assert clinic.verify() == []


def test_a_reminder_is_emailed_with_the_invoice_pdf_and_the_days_overdue(
    qapp, clinic, ada, smtp_server: SmtpServer
):
    from desktop_app.ui.formatting import Formatter
    from desktop_app.ui.printing.pdf_bytes import document_pdf

    _configure(clinic, smtp_server.port, after_days=14)
    clinic.update_settings(clinic_name="Harbour Physio")
    first = _overdue_invoice(clinic, ada, 21, "120.00")
    _pay(clinic, ada, "20", "part", first)
    bea = clinic.add_patient("Bea", "Babbage", email="bea@example.org")
    second = _overdue_invoice(clinic, bea, 14, "65.00")
    formatter = Formatter(clinic.currency, "en_AU")
    result = clinic.send_reminders([first, second], lambda doc: document_pdf(doc, formatter))
    assert len(result.outbox_ids) == 2 and result.skipped == ()
    records = {r.invoice_id: r for r in clinic.outbox()}
    assert {r.kind.value for r in records.values()} == {"reminder"}
    assert records[first].account_id == ada and records[first].attachment_name.endswith(".pdf")
    assert clinic.send_outbox().sent == 2
    received = {d.recipients[0]: d.message for d in smtp_server.wait_for(2)}
    for address, invoice, days, owing in (
        ("ada@example.org", first, 21, "$100.00"),
        ("bea@example.org", second, 14, "$65.00"),
    ):
        message = received[address]
        number = clinic.invoice(invoice).number
        assert message["Subject"] == f"Reminder: invoice {number} is overdue"
        body = message.get_body(("plain",)).get_content()
        assert f"{days} days ago" in body and owing in body
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_filename() == f"Invoice {number}.pdf"
        pdf = pdfium.PdfDocument(attachment.get_content())
        try:
            text = " ".join(" ".join(p.get_textpage().get_text_range().split()) for p in pdf)
        finally:
            pdf.close()
        assert str(number) in text and owing in text
        assert message["Message-ID"] == records[invoice].message_id
    assert clinic.verify() == []


def test_an_invoice_reminded_by_another_desk_meanwhile_is_skipped(clinic, ada, closed_port):
    _configure(clinic, closed_port)
    _overdue_invoice(clinic, ada, 10)
    other_desk = Clinic(clinic.engine)
    listed_here = [c.invoice_id for c in clinic.overdue_reminders()]
    # The other desk approves the same list first.
    assert other_desk.send_reminders(listed_here, fake_render).outbox_ids
    result = clinic.send_reminders(listed_here, fake_render)
    assert result.queued == () and result.skipped[0].reason.startswith("it was reminded on")


def test_a_desk_that_reminds_while_this_one_renders_wins_and_this_one_skips(
    clinic, ada, closed_port
):
    """The other desk queues its reminder between this desk's check and its transaction:
    the check under the lock finds it, and the invoice gets one reminder."""
    _configure(clinic, closed_port)
    invoice = _overdue_invoice(clinic, ada, 10)
    other_desk = Clinic(clinic.engine)
    crossed: list[object] = []

    def render_while_the_other_desk_sends(document: InvoiceDocument) -> bytes:
        crossed.append(other_desk.send_reminders([invoice], fake_render))
        return fake_render(document)

    result = clinic.send_reminders([invoice], render_while_the_other_desk_sends)
    assert len(crossed[0].queued) == 1  # type: ignore[attr-defined]
    assert result.queued == ()
    (skip,) = result.skipped
    assert (skip.invoice_id, skip.name) == (invoice, "Ada Lovelace")
    assert skip.reason.startswith("it was reminded on ")
    assert len(_reminders(clinic)) == 1
    with clinic.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_an_invoice_paid_while_its_reminder_is_made_is_skipped(clinic, ada, closed_port):
    _configure(clinic, closed_port)
    invoice = _overdue_invoice(clinic, ada, 10)

    def render_while_paid(document: InvoiceDocument) -> bytes:
        _pay(clinic, ada, "80", "paid-meanwhile", invoice)
        return fake_render(document)

    result = clinic.send_reminders([invoice], render_while_paid)
    assert result.queued == () and result.skipped[0].reason == "it has been paid"
    assert _reminders(clinic) == [] and clinic.outbox() == []


def test_a_part_payment_while_its_reminder_is_made_is_in_the_reminder(clinic, ada, smtp_server):
    _configure(clinic, smtp_server.port)
    invoice = _overdue_invoice(clinic, ada, 10)
    paid: list[int] = []

    def render_while_part_paid(document: InvoiceDocument) -> bytes:
        if not paid:
            paid.append(_pay(clinic, ada, "30", "part-meanwhile", invoice))
        return fake_render(document)

    assert len(clinic.send_reminders([invoice], render_while_part_paid).queued) == 1
    clinic.send_outbox()
    (delivery,) = smtp_server.wait_for(1)
    body = delivery.message.get_body(("plain",)).get_content()
    assert "$50.00 is still owing" in body


def test_an_account_without_an_address_is_skipped_and_the_others_are_sent(clinic, ada, closed_port):
    _configure(clinic, closed_port)
    bob = clinic.add_patient("Bob", "Nomail")
    first = _overdue_invoice(clinic, ada, 10)
    no_address = _overdue_invoice(clinic, bob, 10)
    last = _overdue_invoice(clinic, ada, 8)
    result = clinic.send_reminders([first, no_address, last], fake_render)
    assert [q.invoice_id for q in result.queued] == [first, last]
    (skip,) = result.skipped
    assert (skip.invoice_id, skip.invoice_number) == (no_address, clinic.invoice(no_address).number)
    assert skip.reason == "no email address kept for Bob Nomail"
    assert [c.invoice_id for c in clinic.overdue_reminders()] == [no_address]
    assert {r.status for r in clinic.outbox()} == {OutboxStatus.QUEUED}


@pytest.mark.parametrize(
    ("ids", "code"),
    [([10_000], Refusal.NOT_FOUND), (["1"], Refusal.NOT_FOUND), ([None], Refusal.NOT_FOUND)],
)
def test_an_id_that_is_no_invoice_is_refused_and_nothing_is_queued(
    clinic, ada, closed_port, ids, code
):
    _configure(clinic, closed_port)
    good = _overdue_invoice(clinic, ada, 10)
    before = snapshot(clinic)
    with pytest.raises(BillingError) as refused:
        clinic.send_reminders([good, *ids], fake_render)
    assert refused.value.code == code
    assert snapshot(clinic) == before


def test_reminders_are_refused_without_email_set_up_or_while_off(clinic, ada, closed_port):
    invoice = _overdue_invoice(clinic, ada, 10)
    clinic.set_reminder_settings(after_days=7)
    before = snapshot(clinic)
    with pytest.raises(BillingError, match="Email is not set up"):
        clinic.send_reminders([invoice], fake_render)
    _configure(clinic, closed_port, after_days=0)
    before = snapshot(clinic)
    with pytest.raises(BillingError, match="Overdue reminders are off") as off:
        clinic.send_reminders([invoice], fake_render)
    assert off.value.field == "after_days"
    assert snapshot(clinic) == before


def test_a_render_that_makes_no_pdf_skips_the_invoice(clinic, ada, closed_port):
    _configure(clinic, closed_port)
    invoice = _overdue_invoice(clinic, ada, 10)
    result = clinic.send_reminders([invoice], lambda document: b"not a pdf")
    assert result.skipped[0].reason == "its PDF could not be made" and clinic.outbox() == []


def test_reminders_are_for_roles_that_email(team, closed_port):
    owner = team["owner"]
    _configure(owner, closed_port)
    pid = owner.add_patient("Ada", "Lovelace", email="ada@example.org")
    invoice = _overdue_invoice(owner, pid, 10)
    assert [c.invoice_id for c in team["receptionist"].overdue_reminders()] == [invoice]
    with pytest.raises(PermissionDenied):
        team["practitioner"].overdue_reminders()
    with pytest.raises(PermissionDenied):
        team["practitioner"].send_reminders([invoice], fake_render)
    queued = team["bookkeeper"].send_reminders([invoice], fake_render)
    assert [q.invoice_id for q in queued.queued] == [invoice]
    (message,) = owner.outbox()
    assert message.created_by == team["bookkeeper"].actor


def test_two_desks_sending_the_same_list_at_once_send_one_reminder_each(clinic, ada, closed_port):
    _configure(clinic, closed_port)
    invoices = [_overdue_invoice(clinic, ada, days) for days in (30, 20, 10)]
    desks = [Clinic(clinic.engine), Clinic(clinic.engine)]
    start = threading.Barrier(2)

    def approve(desk: Clinic) -> object:
        start.wait()
        return desk.send_reminders(invoices, fake_render)

    results = at_once([lambda desk=desk: approve(desk) for desk in desks])
    queued = [q.invoice_id for r in results for q in r.queued]  # type: ignore[attr-defined]
    skipped = [s.invoice_id for r in results for s in r.skipped]  # type: ignore[attr-defined]
    assert sorted(queued) == sorted(invoices) and sorted(skipped) == sorted(invoices)
    assert sorted(invoice for invoice, _ in _reminders(clinic)) == sorted(invoices)
    assert len(clinic.outbox()) == 3 and clinic.verify() == []
