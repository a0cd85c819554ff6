"""The clinic's email through the API, against real SMTP servers on loopback (aiosmtpd), on
SQLite and PostgreSQL: the settings and the keychain, a document's email and what arrives, the
outbox's statuses and retries, secure connections and sign-in, servers that refuse or never
answer, and bad input refused with nothing queued and nothing sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import keyring
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import OperationalError

from desktop_app.core import BillingError, Clinic, OutboxStatus, PermissionDenied
from desktop_app.core.db.models import OutboxMessage, Setting
from desktop_app.core.mail import outbox as outbox_module
from tests.helpers import at_once, refused, snapshot

from .smtp_servers import SmtpServer

PDF = b"%PDF-1.4\n% a stand-in for the document's PDF\n"


def _configure(clinic: Clinic, server: SmtpServer | int, **changes: object) -> None:
    """Point the clinic at a loopback server (a port alone: nothing listening there)."""
    port = server if isinstance(server, int) else server.port
    options: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": "Harbour Physio <desk@harbour.example>",
        "timeout": 5,
    }
    options.update(changes)
    clinic.set_email_settings(**options)  # type: ignore[arg-type]


def _configure_signing_in(clinic: Clinic, server: SmtpServer) -> None:
    """Point the clinic at a loopback STARTTLS server that wants the user ``desk`` signed in
    (the password from ``CLINIC_SMTP_PASSWORD``)."""
    _configure(
        clinic,
        server,
        security="starttls",
        host="localhost",
        username="desk",
        certificate=server.certificate_pem,
    )


@pytest.fixture
def ada(clinic: Clinic) -> dict[str, int]:
    """Ada, with an email address and an open invoice of $80."""
    pid = clinic.add_patient("Ada", "Lovelace", email="ada@example.org")
    return {"patient": pid, "invoice": clinic.create_invoice(pid, [("Consult", "80.00", 1)])}


def _queue_invoice(clinic: Clinic, invoice_id: int, **edits: str) -> int:
    return clinic.queue_email(clinic.email_draft("invoice", invoice_id=invoice_id), PDF, **edits)


def _make_due(clinic: Clinic) -> None:
    """As if the wait before the next try had passed."""
    with clinic.engine.begin() as conn:
        conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.next_attempt_at.is_not(None))
            .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
        )


def _only(clinic: Clinic):
    (message,) = clinic.outbox()
    return message


# -- settings ------------------------------------------------------------------------------------


def test_settings_are_saved_and_the_password_goes_to_the_keychain_not_the_database(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLINIC_SMTP_PASSWORD", raising=False)
    saved = clinic.set_email_settings(
        host="smtp.example.org",
        port=587,
        security="starttls",
        username="desk@harbour.example",
        sender="Harbour Physio <desk@harbour.example>",
        reply_to="accounts@harbour.example",
        password="s3cret-smtp-word",
    )
    assert saved.sender == "Harbour Physio <desk@harbour.example>"
    assert clinic.email_settings.host == "smtp.example.org"
    assert clinic.email_settings() == clinic.email_settings  # also readable as a call
    assert keyring.get_password("Clinic Ledger SMTP", "desk@harbour.example@smtp.example.org") == (
        "s3cret-smtp-word"
    )
    assert clinic.email.password_set
    with clinic.engine.connect() as conn:
        values = [row[0] for row in conn.execute(select(Setting.value))]
    assert not any("s3cret-smtp-word" in value for value in values)


@pytest.mark.parametrize(
    ("changes", "field", "match"),
    [
        ({"host": "smtp.example.org", "security": "none"}, "security", "relay on this computer"),
        ({"security": "none", "username": "desk"}, "security", "never travel unencrypted"),
        ({"sender": "Harbour <desk@harbour>"}, "sender", "not an email address"),
        ({"sender": "a@b.org, c@d.org"}, "sender", "not an email address"),
        ({"sender": "Harbour\nBcc: x@evil.example <desk@harbour.example>"}, "sender", "line"),
        ({"reply_to": "not an address"}, "reply_to", "not an email address"),
        ({"port": 70000}, "port", "1 to 65,535"),
        ({"security": "tls13"}, "security", "starttls"),
        ({"certificate": "not a certificate"}, "certificate", "PEM"),
        ({"host": "smtp example.org"}, "host", "not a server name"),
        ({"host": "smtp.example..org"}, "host", "not a server name"),
        ({"host": "." + "x" * 64 + ".example.org"}, "host", "not a server name"),
        ({"host": "smtp.exa_mple.örg"}, "host", "not a server name"),
    ],
)
def test_bad_settings_are_refused_at_their_field(
    clinic: Clinic, changes: dict[str, object], field: str, match: str
) -> None:
    options: dict[str, object] = {
        "host": "127.0.0.1",
        "port": 2525,
        "security": "none",
        "sender": "Harbour Physio <desk@harbour.example>",
    }
    options.update(changes)
    before = snapshot(clinic)
    with pytest.raises(BillingError, match=match) as refused:
        clinic.set_email_settings(**options)  # type: ignore[arg-type]
    assert refused.value.field == field
    assert snapshot(clinic) == before


def test_a_test_email_reaches_the_server(clinic: Clinic, smtp_server: SmtpServer) -> None:
    _configure(clinic, smtp_server)
    clinic.send_test_email("owner@harbour.example")
    (delivery,) = smtp_server.wait_for(1)
    assert delivery.recipients == ["owner@harbour.example"]
    assert delivery.message["Subject"].startswith("Test email from")
    assert delivery.message["From"] == "Harbour Physio <desk@harbour.example>"


def test_a_test_email_to_a_dead_server_says_why(clinic: Clinic, closed_port: int) -> None:
    _configure(clinic, closed_port)
    with pytest.raises(BillingError, match="refused the connection") as refused:
        clinic.send_test_email("owner@harbour.example")
    assert refused.value.code == "unreachable"


# -- a document's email ----------------------------------------------------------------------------


def test_an_invoice_email_arrives_as_drafted_with_its_pdf(
    clinic: Clinic, ada: dict[str, int], smtp_server: SmtpServer
) -> None:
    _configure(clinic, smtp_server, reply_to="accounts@harbour.example")
    draft = clinic.email_draft("invoice", invoice_id=ada["invoice"])
    assert draft.to_address == "ada@example.org"
    assert draft.subject == "Invoice 1 from " + clinic.clinic_name
    assert "$80.00" in draft.body
    message_id = clinic.queue_email(draft, PDF)
    assert _only(clinic).status is OutboxStatus.QUEUED
    summary = clinic.send_outbox()
    assert (summary.sent, summary.failed) == (1, 0)
    (delivery,) = smtp_server.wait_for(1)
    message = delivery.message
    assert delivery.recipients == ["ada@example.org"]
    assert message["To"] == "Ada Lovelace <ada@example.org>"
    assert message["Reply-To"] == "accounts@harbour.example"
    assert message["Subject"] == draft.subject
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "Invoice 1.pdf"
    assert attachment.get_content() == PDF
    sent = _only(clinic)
    assert sent.id == message_id and sent.status is OutboxStatus.SENT and sent.attempts == 1
    assert message["Message-ID"] == sent.message_id
    # On the patient's history and in the audit log.
    assert [m.id for m in clinic.account_messages(ada["patient"])] == [message_id]
    actions = clinic.audit_actions()
    assert "queue email" in actions and "email sent" in actions
    assert clinic.verify() == []


def test_staff_edits_to_the_address_subject_and_body_are_what_is_sent(
    clinic: Clinic, ada: dict[str, int], smtp_server: SmtpServer
) -> None:
    _configure(clinic, smtp_server)
    _queue_invoice(
        clinic, ada["invoice"], to="mum@example.org", subject="Ada's invoice", body="Hello!\n"
    )
    clinic.send_outbox()
    (delivery,) = smtp_server.wait_for(1)
    assert delivery.recipients == ["mum@example.org"]
    assert delivery.message["Subject"] == "Ada's invoice"
    assert delivery.message.get_body(("plain",)).get_content() == "Hello!\n"


def test_an_invoice_billed_to_a_payer_goes_to_the_payer_and_is_on_the_patients_history(
    clinic: Clinic, smtp_server: SmtpServer
) -> None:
    _configure(clinic, smtp_server)
    pid = clinic.add_patient("Ada", "Lovelace", email="ada@example.org")
    fund = clinic.add_payer("Bupa", kind="health fund", email="claims@bupa.example")
    iid = clinic.create_invoice(pid, [("Consult", "80.00", 1)], bill_to=fund)
    draft = clinic.email_draft("invoice", invoice_id=iid)
    assert (draft.to_name, draft.to_address) == ("Bupa", "claims@bupa.example")
    message_id = clinic.queue_email(draft, PDF)
    clinic.send_outbox()
    assert smtp_server.wait_for(1)[0].recipients == ["claims@bupa.example"]
    assert [m.id for m in clinic.account_messages(pid)] == [message_id]
    assert [m.id for m in clinic.account_messages(fund)] == [message_id]


def test_a_newline_in_a_stored_name_never_adds_a_header(
    clinic: Clinic, ada: dict[str, int], smtp_server: SmtpServer
) -> None:
    """A name as an old import might have left it: the line break becomes a space."""
    _configure(clinic, smtp_server)
    with clinic.engine.begin() as conn:
        conn.execute(
            text("UPDATE patients SET first_name = :name WHERE id = :id"),
            {"name": "Ada\r\nBcc: thief@evil.example", "id": ada["patient"]},
        )
    _queue_invoice(clinic, ada["invoice"])
    clinic.send_outbox()
    (delivery,) = smtp_server.wait_for(1)
    assert delivery.recipients == ["ada@example.org"]
    assert delivery.message["Bcc"] is None
    assert "\n" not in delivery.message["To"] and "thief" in delivery.message["To"]
    assert delivery.message["Subject"] == "Invoice 1 from " + clinic.clinic_name


def test_bad_input_is_refused_and_nothing_is_queued(
    clinic: Clinic, ada: dict[str, int], smtp_server: SmtpServer
) -> None:
    _configure(clinic, smtp_server)
    draft = clinic.email_draft("invoice", invoice_id=ada["invoice"])
    queue = clinic.queue_email
    refused(clinic, lambda: queue(draft, PDF, to="ada at example"), "bad_text", "not an email")
    refused(clinic, lambda: queue(draft, PDF, to="a@b.org, c@d.org"), "bad_text")
    refused(clinic, lambda: queue(draft, PDF, to="a@b.org\nBcc: c@d.org"), "bad_text", "line")
    refused(clinic, lambda: queue(draft, PDF, subject="Hi\r\nBcc: c@d.org"), "bad_text", "line")
    refused(clinic, lambda: queue(draft, PDF, body="  "), "missing")
    refused(clinic, lambda: queue(draft, None), "missing", "needs its PDF")
    refused(clinic, lambda: queue(draft, b"not a pdf"), "missing", "needs its PDF")
    clinic.send_outbox()
    assert smtp_server.messages == [] and clinic.outbox() == []


def test_a_patient_without_an_address_is_drafted_without_one(clinic: Clinic) -> None:
    pid = clinic.add_patient("Bob", "Smith")
    iid = clinic.create_invoice(pid, [("Consult", "80.00", 1)])
    clinic.set_email_settings(host="127.0.0.1", port=2525, security="none", sender="d@h.example")
    draft = clinic.email_draft("invoice", invoice_id=iid)
    assert draft.to_address == ""
    refused(clinic, lambda: clinic.queue_email(draft, PDF), "missing", "Enter the email")


def test_email_not_set_up_is_refused(clinic: Clinic, ada: dict[str, int]) -> None:
    draft = clinic.email_draft("invoice", invoice_id=ada["invoice"])
    refused(clinic, lambda: clinic.queue_email(draft, PDF), "missing", "Settings > Email")
    assert clinic.send_outbox().sent == 0


# -- templates -----------------------------------------------------------------------------------


def test_a_template_is_saved_and_fills_the_next_draft(clinic: Clinic, ada: dict[str, int]) -> None:
    clinic.set_email_template(
        "invoice", "{clinic}: invoice #{invoice_number}", "Hi {first_name}, {balance} is due."
    )
    draft = clinic.email_draft("invoice", invoice_id=ada["invoice"])
    assert draft.subject == f"{clinic.clinic_name}: invoice #1"
    assert draft.body == "Hi Ada, $80.00 is due.\n"


@pytest.mark.parametrize(
    ("subject", "body", "match"),
    [
        ("Invoice {invoice_no}", "Body", r"\{invoice_no\}, which is not one"),
        ("Invoice", "Paid {amount}", r"\{amount\}"),  # a receipt's placeholder, not an invoice's
        ("Invoice", "{invoice_number.__class__}", "not one of their placeholders"),
        ("Invoice", "{total:>99}", "not one of their placeholders"),
        ("Invoice {", "Body", "brace"),
        ("Invoice\nBcc: x@evil.example", "Body", "line break"),
        ("", "Body", "Enter the subject"),
    ],
)
def test_a_bad_template_is_refused(clinic: Clinic, subject: str, body: str, match: str) -> None:
    before = snapshot(clinic)
    with pytest.raises(BillingError, match=match):
        clinic.set_email_template("invoice", subject, body)
    assert snapshot(clinic) == before


# -- sending: secure connections and sign-in ----------------------------------------------------


def test_starttls_with_the_clinics_own_certificate_and_a_password(
    clinic: Clinic,
    ada: dict[str, int],
    make_smtp_server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLINIC_SMTP_PASSWORD", "relay-pass")
    server = make_smtp_server(starttls=True, require_starttls=True, auth={"desk": "relay-pass"})
    # Not trusted yet: a self-signed certificate is refused, and not tried again by itself.
    _configure(clinic, server, security="starttls", username="desk", host="localhost")
    _queue_invoice(clinic, ada["invoice"])
    assert clinic.send_outbox().failed == 1
    failed = _only(clinic)
    assert failed.status is OutboxStatus.FAILED and "not trust" in (failed.last_error or "")
    assert not failed.retried_automatically and server.messages == []
    # Trusted: sent over TLS after signing in.
    _configure(
        clinic,
        server,
        security="starttls",
        username="desk",
        host="localhost",
        certificate=server.certificate_pem,
    )
    clinic.retry_email(failed.id)
    assert clinic.send_outbox().sent == 1
    assert server.wait_for(1)[0].recipients == ["ada@example.org"]
    assert server.logins == ["desk"]


def test_ssl_from_the_start(clinic: Clinic, ada: dict[str, int], make_smtp_server) -> None:
    server = make_smtp_server(implicit_tls=True)
    _configure(clinic, server, security="ssl", host="localhost", certificate=server.certificate_pem)
    _queue_invoice(clinic, ada["invoice"])
    assert clinic.send_outbox().sent == 1
    assert len(server.wait_for(1)) == 1


# -- servers that refuse or never answer ---------------------------------------------------------


def test_a_refused_recipient_fails_with_the_servers_reason_and_is_not_retried(
    clinic: Clinic, ada: dict[str, int], make_smtp_server
) -> None:
    server = make_smtp_server(refuse_rcpt="550 5.1.1 No such user here")
    _configure(clinic, server)
    _queue_invoice(clinic, ada["invoice"])
    clinic.send_outbox()
    failed = _only(clinic)
    assert failed.status is OutboxStatus.FAILED
    assert "550 5.1.1 No such user here" in (failed.last_error or "")
    assert not failed.retried_automatically
    _make_due(clinic)
    assert clinic.send_outbox().failed == 0 and server.messages == []


def test_a_try_again_later_is_retried_with_backoff_and_delivered_once(
    clinic: Clinic, ada: dict[str, int], make_smtp_server
) -> None:
    server = make_smtp_server(refuse_data="451 4.3.0 Try again later")
    _configure(clinic, server)
    _queue_invoice(clinic, ada["invoice"])
    started = datetime.now(UTC)
    assert clinic.send_outbox().failed == 1
    failed = _only(clinic)
    assert failed.status is OutboxStatus.FAILED and "451 4.3.0" in (failed.last_error or "")
    assert failed.next_attempt_at is not None
    assert timedelta(seconds=50) < failed.next_attempt_at - started < timedelta(minutes=2)
    # Not yet due: nothing is sent.
    assert clinic.send_outbox().sent == 0
    # Due, still refusing: the wait grows.
    _make_due(clinic)
    clinic.send_outbox()
    again = _only(clinic)
    assert again.attempts == 2
    assert again.next_attempt_at is not None
    assert again.next_attempt_at - datetime.now(UTC) > timedelta(minutes=4)
    # The server takes it now: delivered once, and never again.
    server.refuse_data = None
    _make_due(clinic)
    assert clinic.send_outbox().sent == 1
    _make_due(clinic)
    assert clinic.send_outbox().sent == 0
    (delivery,) = server.wait_for(1)
    assert delivery.message["Message-ID"] == failed.message_id
    assert _only(clinic).status is OutboxStatus.SENT


def test_a_server_that_never_answers_fails_the_message_and_nothing_is_lost(
    clinic: Clinic, ada: dict[str, int], silent_server, smtp_server: SmtpServer
) -> None:
    _configure(clinic, silent_server.port, timeout=1)
    _queue_invoice(clinic, ada["invoice"])
    summary = clinic.send_outbox()
    assert summary.failed == 1 and "did not answer within 1 s" in (summary.connection_error or "")
    failed = _only(clinic)
    assert failed.retried_automatically
    # The same message, to a server that answers: sent once, its Message-ID unchanged.
    _configure(clinic, smtp_server)
    _make_due(clinic)
    assert clinic.send_outbox().sent == 1
    (delivery,) = smtp_server.wait_for(1)
    assert delivery.message["Message-ID"] == failed.message_id
    assert delivery.message.get_body(("plain",)).get_content().startswith("Dear Ada")


def test_a_message_the_server_took_but_never_confirmed_is_not_sent_again_by_itself(
    clinic: Clinic, ada: dict[str, int], make_smtp_server
) -> None:
    server = make_smtp_server(data_reply_delay=2.5)
    _configure(clinic, server, timeout=1)
    _queue_invoice(clinic, ada["invoice"])
    assert clinic.send_outbox().unconfirmed == 1
    unconfirmed = _only(clinic)
    assert unconfirmed.status is OutboxStatus.UNCONFIRMED
    assert "may have been delivered" in (unconfirmed.last_error or "")
    server.data_reply_delay = 0
    _make_due(clinic)
    assert clinic.send_outbox().sent == 0
    (delivery,) = server.wait_for(1)  # the server did deliver it, once
    assert delivery.message["Message-ID"] == unconfirmed.message_id
    assert len(server.messages) == 1


def _queued_then_changed(clinic: Clinic, ada: dict[str, int], **values: object) -> int:
    """Ada's invoice queued, its row then changed as if by ``values`` (what a crash or an
    earlier version left)."""
    message_id = _queue_invoice(clinic, ada["invoice"])
    with clinic.engine.begin() as conn:
        conn.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))
    return message_id


def test_a_message_left_sending_by_an_app_that_closed_becomes_unconfirmed(
    clinic: Clinic, ada: dict[str, int], smtp_server: SmtpServer
) -> None:
    _configure(clinic, smtp_server)
    _queued_then_changed(
        clinic, ada, status="sending", claimed_at=datetime.now(UTC) - timedelta(hours=1)
    )
    assert clinic.send_outbox().sent == 0
    assert _only(clinic).status is OutboxStatus.UNCONFIRMED
    assert smtp_server.messages == []


def test_a_message_over_the_servers_size_limit_is_refused_and_then_refused_at_once(
    clinic: Clinic, ada: dict[str, int], make_smtp_server
) -> None:
    server = make_smtp_server(data_size_limit=4_000)
    _configure(clinic, server)
    big = PDF + b"x" * 10_000
    draft = clinic.email_draft("invoice", invoice_id=ada["invoice"])
    clinic.queue_email(draft, big)
    clinic.send_outbox()
    failed = _only(clinic)
    assert failed.status is OutboxStatus.FAILED and not failed.retried_automatically
    assert "takes at most 4 KB" in (failed.last_error or "")
    assert server.messages == []
    # The limit is known now: the next one is refused before anything is queued.
    assert clinic.email_settings.size_limit == 4_000
    refused(clinic, lambda: clinic.queue_email(draft, big), "amount_too_large", "at most 4 KB")
    # A small one still goes.
    clinic.queue_email(draft, PDF)
    assert clinic.send_outbox().sent == 1


def test_retry_and_cancel(clinic: Clinic, ada: dict[str, int], closed_port: int) -> None:
    _configure(clinic, closed_port)
    message_id = _queue_invoice(clinic, ada["invoice"])
    refused(clinic, lambda: clinic.retry_email(message_id), "already_done", "queued")
    clinic.send_outbox()
    clinic.cancel_email(message_id)
    assert _only(clinic).status is OutboxStatus.CANCELLED
    _make_due(clinic)
    assert clinic.send_outbox().failed == 0  # a cancelled message is not tried
    refused(clinic, lambda: clinic.cancel_email(message_id), "already_done")
    clinic.retry_email(message_id)
    assert _only(clinic).status is OutboxStatus.QUEUED
    assert {"retry email", "cancel email"} <= set(clinic.audit_actions())


def test_two_desks_sending_at_once_deliver_each_message_once(
    clinic: Clinic, smtp_server: SmtpServer, db_url: str
) -> None:
    _configure(clinic, smtp_server)
    for n in range(12):
        pid = clinic.add_patient("Pat", f"Number {n}", email=f"pat{n}@example.org")
        _queue_invoice(clinic, clinic.create_invoice(pid, [("Consult", "80.00", 1)]))
    other = Clinic.open(db_url)
    try:
        outcomes = at_once([clinic.send_outbox, other.send_outbox])
    finally:
        other.close()
    assert not [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    deliveries = smtp_server.wait_for(12)
    ids = [d.message["Message-ID"] for d in deliveries]
    assert len(ids) == len(set(ids)) == 12
    assert all(m.status is OutboxStatus.SENT and m.attempts == 1 for m in clinic.outbox())


# -- a pass's reservations, and what ends a pass early -------------------------------------------


def _queue_three(clinic: Clinic) -> list[int]:
    """Three invoices to three patients, each emailed: the outbox ids, oldest first."""
    ids = []
    for n in range(3):
        pid = clinic.add_patient("Pat", f"Number {n}", email=f"pat{n}@example.org")
        ids.append(_queue_invoice(clinic, clinic.create_invoice(pid, [("Consult", "80.00", 1)])))
    return ids


def _statuses(clinic: Clinic) -> dict[int, tuple[OutboxStatus, int]]:
    return {m.id: (m.status, m.attempts) for m in clinic.outbox()}


def test_a_slow_pass_whose_reservations_lapsed_leaves_them_to_the_desk_that_took_them(
    clinic: Clinic, smtp_server: SmtpServer, db_url: str
) -> None:
    _configure(clinic, smtp_server)
    ids = _queue_three(clinic)
    other = Clinic.open(db_url)
    taken_over: list[object] = []

    def stalled_then_overtaken() -> bool:
        # This pass stalls long enough for its reservations to lapse, and another desk sends.
        if not taken_over:
            with clinic.engine.begin() as conn:
                conn.execute(
                    update(OutboxMessage).values(claimed_at=datetime.now(UTC) - timedelta(hours=1))
                )
            taken_over.append(other.send_outbox())
        return False

    try:
        slow = clinic.send_outbox(stop=stalled_then_overtaken)
    finally:
        other.close()
    assert slow.sent == 0 and taken_over[0].sent == 3  # type: ignore[attr-defined]
    deliveries = smtp_server.wait_for(3)
    time_to_spare = smtp_server.wait_for(3, timeout=0.3)
    assert len(time_to_spare) == 3
    assert len({d.message["Message-ID"] for d in deliveries}) == 3
    assert _statuses(clinic) == {i: (OutboxStatus.SENT, 1) for i in ids}


def test_staff_can_cancel_a_message_a_pass_has_not_reached_yet(
    clinic: Clinic, smtp_server: SmtpServer
) -> None:
    _configure(clinic, smtp_server)
    first, second, third = _queue_three(clinic)
    asked: list[int] = []

    def cancel_the_last_one_first() -> bool:
        if not asked:
            assert _only_waiting(clinic) == [first, second, third]
            clinic.cancel_email(third)
        asked.append(1)
        return False

    assert clinic.send_outbox(stop=cancel_the_last_one_first).sent == 2
    assert [d.recipients for d in smtp_server.wait_for(2)] == [
        ["pat0@example.org"],
        ["pat1@example.org"],
    ]
    assert _statuses(clinic)[third] == (OutboxStatus.CANCELLED, 0)
    assert len(smtp_server.messages) == 2


def _only_waiting(clinic: Clinic) -> list[int]:
    return sorted(m.id for m in clinic.outbox([OutboxStatus.QUEUED]))


def test_a_pass_ended_by_an_error_leaves_the_untried_messages_to_the_next_pass(
    clinic: Clinic, smtp_server: SmtpServer
) -> None:
    _configure(clinic, smtp_server)
    first, second, third = _queue_three(clinic)

    def fails_after_the_first(done: int) -> None:
        raise RuntimeError("the window showing progress went away")

    with pytest.raises(RuntimeError):
        clinic.send_outbox(progress=fails_after_the_first)
    assert _statuses(clinic) == {
        first: (OutboxStatus.SENT, 1),
        second: (OutboxStatus.QUEUED, 0),
        third: (OutboxStatus.QUEUED, 0),
    }
    # The next pass sends them at once (no lapse to wait for), each once.
    assert clinic.send_outbox().sent == 2
    deliveries = smtp_server.wait_for(3)
    assert len({d.message["Message-ID"] for d in deliveries}) == 3
    assert clinic.verify() == []


def test_a_database_error_as_a_message_begins_leaves_it_to_the_next_pass(
    clinic: Clinic, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _configure(clinic, smtp_server)
    second = _queue_three(clinic)[1]
    begin = outbox_module._begin

    def locked_at_the_second(store, token, message_id, rest):  # type: ignore[no-untyped-def]
        if message_id == second:
            raise OperationalError("UPDATE outbox", {}, Exception("database is locked"))
        return begin(store, token, message_id, rest)

    monkeypatch.setattr(outbox_module, "_begin", locked_at_the_second)
    with pytest.raises(OperationalError):
        clinic.send_outbox()
    monkeypatch.setattr(outbox_module, "_begin", begin)
    assert _statuses(clinic)[second] == (OutboxStatus.QUEUED, 0)
    assert clinic.send_outbox().sent == 2  # at once: nothing left reserved
    assert len({d.message["Message-ID"] for d in smtp_server.wait_for(3)}) == 3


def test_a_server_closing_with_421_after_the_data_leaves_the_rest_for_the_next_pass(
    clinic: Clinic, make_smtp_server
) -> None:
    server = make_smtp_server(refuse_data="421 4.3.2 Service shutting down")
    _configure(clinic, server)
    first, second, third = _queue_three(clinic)
    summary = clinic.send_outbox()
    assert summary.failed == 1 and "421 4.3.2" in (summary.connection_error or "")
    statuses = _statuses(clinic)
    assert statuses[first] == (OutboxStatus.FAILED, 1)
    assert statuses[second] == statuses[third] == (OutboxStatus.QUEUED, 0)
    assert clinic.outbox()[-1].retried_automatically  # the first: a 4xx may pass
    server.refuse_data = None
    _make_due(clinic)
    assert clinic.send_outbox().sent == 3
    assert len({d.message["Message-ID"] for d in server.wait_for(3)}) == 3


def test_a_server_that_hangs_up_during_the_secure_handshake_is_tried_again(
    clinic: Clinic, ada: dict[str, int], hang_up_server
) -> None:
    _configure(clinic, hang_up_server.port, security="ssl", host="localhost")
    _queue_invoice(clinic, ada["invoice"])
    summary = clinic.send_outbox()
    assert "closed before it was set up" in (summary.connection_error or "")
    failed = _only(clinic)
    assert failed.status is OutboxStatus.FAILED and failed.retried_automatically


def test_retry_starts_the_count_of_attempts_and_the_waits_again(
    clinic: Clinic, ada: dict[str, int], make_smtp_server
) -> None:
    server = make_smtp_server(refuse_data="451 4.3.0 Try again later")
    _configure(clinic, server)
    message_id = _queue_invoice(clinic, ada["invoice"])
    for _ in range(3):
        _make_due(clinic)
        clinic.send_outbox()
    assert _only(clinic).attempts == 3
    clinic.cancel_email(message_id)
    clinic.retry_email(message_id)
    assert (_only(clinic).status, _only(clinic).attempts) == (OutboxStatus.QUEUED, 0)
    clinic.send_outbox()
    again = _only(clinic)
    assert again.attempts == 1 and again.next_attempt_at is not None
    assert again.next_attempt_at - datetime.now(UTC) < timedelta(minutes=2)  # the first wait


# -- addresses a mail server takes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("juergen@müller.example", "juergen@xn--mller-kva.example"),
        # IDNA 2008: straße.de is its own domain, not strasse.de.
        ("juergen@Straße.example", "juergen@xn--strae-oqa.example"),
    ],
)
def test_an_international_domain_is_sent_in_the_form_mail_servers_take(
    clinic: Clinic, smtp_server: SmtpServer, typed: str, sent: str
) -> None:
    _configure(clinic, smtp_server)
    pid = clinic.add_patient("Jürgen", "Müller", email=typed)
    invoice = clinic.create_invoice(pid, [("Consult", "80.00", 1)])
    _queue_invoice(clinic, invoice)
    assert _only(clinic).recipient == sent
    assert clinic.send_outbox().sent == 1
    (delivery,) = smtp_server.wait_for(1)
    assert delivery.recipients == [sent]
    assert delivery.message["To"].addresses[0].addr_spec == sent
    assert delivery.message["To"].addresses[0].display_name == "Jürgen Müller"


def test_a_message_queued_with_an_international_domain_as_typed_is_sent_in_ascii(
    clinic: Clinic, ada: dict[str, int], smtp_server: SmtpServer
) -> None:
    """A message an earlier version queued with the domain as typed."""
    _configure(clinic, smtp_server)
    _queued_then_changed(clinic, ada, recipient="ada@müller.example")
    assert clinic.send_outbox().sent == 1
    assert smtp_server.wait_for(1)[0].recipients == ["ada@xn--mller-kva.example"]


def test_an_address_with_letters_outside_ascii_before_the_at_is_refused(
    clinic: Clinic, ada: dict[str, int], smtp_server: SmtpServer
) -> None:
    _configure(clinic, smtp_server)
    refusal = refused(
        clinic,
        lambda: _queue_invoice(clinic, ada["invoice"], to="josé@example.org"),
        "bad_text",
        "outside plain ASCII",
    )
    assert refusal.field == "to"


@pytest.mark.parametrize(
    ("password", "reason", "logins_tried"),
    [
        ("wrong", "refused the user name or password (535", ["desk"]),
        # Signing in carries ASCII only: refused before the password leaves this computer.
        ("Kennwört-1", "cannot carry", []),
    ],
)
def test_a_sign_in_that_fails_says_why_and_waits_for_staff(
    clinic: Clinic,
    ada: dict[str, int],
    make_smtp_server,
    monkeypatch: pytest.MonkeyPatch,
    password: str,
    reason: str,
    logins_tried: list[str],
) -> None:
    monkeypatch.setenv("CLINIC_SMTP_PASSWORD", password)
    server = make_smtp_server(starttls=True, auth={"desk": "right"})
    _configure_signing_in(clinic, server)
    _queue_invoice(clinic, ada["invoice"])
    summary = clinic.send_outbox()
    assert summary.failed == 1 and reason in (summary.connection_error or "")
    failed = _only(clinic)
    assert reason in (failed.last_error or "") and not failed.retried_automatically
    assert set(server.failed_logins) == set(logins_tried) and server.logins == []
    with pytest.raises(BillingError, match=reason[:20]):
        clinic.send_test_email("desk@harbour.example")


# -- who may ---------------------------------------------------------------------------------------


def test_who_may_email_and_who_may_set_it_up(
    team: dict[str, Clinic], smtp_server: SmtpServer
) -> None:
    owner = team["owner"]
    pid = owner.add_patient("Ada", "Lovelace", email="ada@example.org")
    iid = owner.create_invoice(pid, [("Consult", "80.00", 1)])
    with pytest.raises(PermissionDenied):
        team["receptionist"].set_email_settings(host="127.0.0.1", sender="d@h.example")
    _configure(team["administrator"], smtp_server)
    desk = team["receptionist"]
    desk.queue_email(desk.email_draft("invoice", invoice_id=iid), PDF)
    assert desk.send_outbox().sent == 1
    with pytest.raises(PermissionDenied):
        team["practitioner"].email_draft("invoice", invoice_id=iid)
    with pytest.raises(PermissionDenied):
        team["practitioner"].outbox()
