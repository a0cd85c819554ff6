"""The loopback SMTP servers the email tests send to, driven by the standard library's smtplib:
what they accept, encrypt, refuse and delay reaches a client as a real server's would."""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage

import pytest

FROM = "desk@harbourphysio.example"
TO = "ada@example.org"


def message(subject: str = "Your statement", body: str = "Please find it attached.\n"):
    msg = EmailMessage()
    msg["From"] = f"Harbour Physio <{FROM}>"
    msg["To"] = f"Ada Lovelace <{TO}>"
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


def trusting(server) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=server.certificate_pem)


def test_a_message_sent_is_kept_parsed(smtp_server):
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as client:
        client.send_message(message("Invoice 12 — Harbour Physio"))
    [delivery] = smtp_server.messages
    assert delivery.sender == FROM and delivery.recipients == [TO]
    assert delivery.message["Subject"] == "Invoice 12 — Harbour Physio"
    assert delivery.message.get_content() == "Please find it attached.\n"
    assert smtp_server.raw[0].startswith(b"From: Harbour Physio <desk@harbourphysio.example>\r\n")
    assert b"=?utf-8?" in smtp_server.raw[0]  # the subject encoded on the wire


def test_starttls_with_the_servers_certificate_trusted(make_smtp_server):
    server = make_smtp_server(starttls=True, require_starttls=True)
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # nothing before STARTTLS
            client.send_message(message())
        assert refused.value.smtp_code == 530
        client.starttls(context=trusting(server))
        client.send_message(message())
    assert len(server.messages) == 1
    assert server.certificate_path is not None
    assert server.certificate_path.read_text() == server.certificate_pem


def test_starttls_with_an_untrusted_certificate_fails_verification(make_smtp_server):
    server = make_smtp_server(starttls=True)
    with (
        smtplib.SMTP(server.host, server.port, timeout=5) as client,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        client.starttls(context=ssl.create_default_context())
    assert server.messages == []


def test_implicit_tls_trusted_and_untrusted(make_smtp_server):
    server = make_smtp_server(implicit_tls=True)
    with smtplib.SMTP_SSL(server.host, server.port, timeout=5, context=trusting(server)) as client:
        assert not client.has_extn("starttls")
        client.send_message(message())
    assert len(server.messages) == 1
    with pytest.raises(ssl.SSLCertVerificationError):
        smtplib.SMTP_SSL(server.host, server.port, timeout=5, context=ssl.create_default_context())
    # The name is checked too: the certificate is for localhost and 127.0.0.1 only.
    context = trusting(server)
    with (
        pytest.raises(ssl.SSLCertVerificationError),
        socket.create_connection((server.host, server.port), timeout=5) as raw,
    ):
        context.wrap_socket(raw, server_hostname="mail.example.org")


def test_auth_with_the_right_and_a_wrong_password(make_smtp_server):
    server = make_smtp_server(auth={"desk": "s3cret"})
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # no password, no mail
            client.send_message(message())
        assert refused.value.smtp_code == 530
        with pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
            client.login("desk", "guess")
        assert wrong.value.smtp_code == 535
        client.login("desk", "s3cret")
        client.send_message(message())
    # smtplib tries PLAIN, then LOGIN, with the wrong password.
    assert server.failed_logins == ["desk", "desk"] and server.logins == ["desk"]
    assert len(server.messages) == 1


def test_auth_over_starttls_and_implicit_tls(make_smtp_server):
    starttls = make_smtp_server(starttls=True, auth={"desk": "s3cret"})
    with smtplib.SMTP(starttls.host, starttls.port, timeout=5) as client:
        client.ehlo()
        assert not client.has_extn("auth")  # offered only once the connection is encrypted
        client.starttls(context=trusting(starttls))
        client.ehlo()
        assert "PLAIN" in client.esmtp_features["auth"]
        client.login("desk", "s3cret")
        client.send_message(message())
    implicit = make_smtp_server(implicit_tls=True, auth={"desk": "s3cret"})
    context = trusting(implicit)
    with smtplib.SMTP_SSL(implicit.host, implicit.port, timeout=5, context=context) as client:
        client.login("desk", "s3cret")
        client.send_message(message())
    assert len(starttls.messages) == len(implicit.messages) == 1


def test_size_is_advertised_and_a_larger_message_refused(make_smtp_server):
    server = make_smtp_server(data_size_limit=2000)
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.ehlo()
        assert client.esmtp_features["size"] == "2000"
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.send_message(message(body="x" * 3000 + "\n"))
        assert refused.value.smtp_code == 552
        client.send_message(message())
    assert len(server.messages) == 1


def test_refused_recipient_and_refused_message_reach_the_client(make_smtp_server):
    server = make_smtp_server(refuse_rcpt="550 5.1.1 No such user here")
    with (
        smtplib.SMTP(server.host, server.port, timeout=5) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused) as refused,
    ):
        client.send_message(message())
    assert refused.value.recipients == {TO: (550, b"5.1.1 No such user here")}
    server.refuse_rcpt = None
    server.refuse_data = "451 4.3.0 Try again later"
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        with pytest.raises(smtplib.SMTPDataError) as later:
            client.send_message(message())
        assert (later.value.smtp_code, later.value.smtp_error) == (451, b"4.3.0 Try again later")
        assert server.messages == []  # a refused message is not kept
        server.refuse_data = None  # the server recovers: the retry goes through
        client.send_message(message())
    assert len(server.messages) == 1


def test_a_late_answer_times_the_client_out_though_the_message_arrived(make_smtp_server):
    server = make_smtp_server(data_reply_delay=2.0)
    with smtplib.SMTP(server.host, server.port, timeout=0.5) as client:
        with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out") as gave_up:
            client.send_message(message("Receipt 5"))
        assert isinstance(gave_up.value.__context__, TimeoutError)
    [delivery] = server.wait_for(1)
    assert delivery.message["Subject"] == "Receipt 5"


def test_a_silent_server_times_the_greeting_out(silent_server):
    with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out") as gave_up:
        smtplib.SMTP(silent_server.host, silent_server.port, timeout=0.5)
    assert isinstance(gave_up.value.__context__, TimeoutError)


def test_nothing_listens_on_the_closed_port(closed_port):
    with pytest.raises(ConnectionRefusedError):
        smtplib.SMTP("127.0.0.1", closed_port, timeout=0.5)
