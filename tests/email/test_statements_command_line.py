"""``clinic-ledger statements send`` and ``email test`` as a person runs them: the dry run's
list, a whole run in a fresh process against a real SMTP server on loopback (STARTTLS, a
password from CLINIC_SMTP_PASSWORD), the statements to post in one PDF, the exit codes, and bad
arguments refused with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from desktop_app.app import main
from desktop_app.core import Clinic

from .smtp_servers import SmtpServer
from .statement_ledger import END, START, TODAY, build_ledger, configure

REPO = Path(__file__).resolve().parents[2]
PERIOD = ["--from", START.isoformat(), "--to", END.isoformat()]


@pytest.fixture
def url(new_sqlite_url) -> str:
    made = new_sqlite_url()
    with Clinic.open(made) as clinic:
        build_ledger(clinic)
    return str(made)


def run_command(*args: str, cwd: Path, password: str = "") -> subprocess.CompletedProcess[str]:
    """``clinic-ledger ARGS`` in a fresh process (no Qt application of the tests' own)."""
    env = {**os.environ, "CLINIC_SMTP_PASSWORD": password, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "desktop_app", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )


def test_dry_run_lists_everyone_with_totals_and_changes_nothing(url: str, capsys) -> None:
    assert main(["--database", url, "statements", "send", *PERIOD, "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Statement run {START} to {END} (dry run: nothing sent):"
    assert [line.split()[0] for line in out[1:5]] == ["Babbage,", "Bupa", "Clarke,", "Lovelace,"]
    assert out[1].split()[-1] == "post" and out[4].split()[-1] == "ada@example.org"
    assert "owed       $80.00" in out[4] and "credit        $0.00" in out[4]
    assert out[5] == "4 accounts: 3 to email, 1 to post; owed $250.00, credit $30.00."
    with Clinic.open(url) as clinic:
        assert clinic.statement_runs() == [] and clinic.outbox() == []


def test_a_whole_run_emails_sends_and_prints_the_rest_for_posting(
    url: str, make_smtp_server, tmp_path: Path
) -> None:
    server: SmtpServer = make_smtp_server(starttls=True, auth={"desk": "relay-pass"})
    with Clinic.open(url) as clinic:
        configure(clinic, server)
        clinic.set_email_settings(
            host="localhost",
            port=server.port,
            security="starttls",
            username="desk",
            sender="Harbour Physio <desk@harbour.example>",
            certificate=server.certificate_pem or "",
            timeout=5,
        )
    done = run_command(
        "--database", url, "statements", "send", *PERIOD, cwd=tmp_path, password="relay-pass"
    )
    assert done.returncode == 0, done.stderr
    posting = tmp_path / f"statements-{START}-to-{END}-post.pdf"
    assert f"Statement run {START} to {END}: 4 accounts." in done.stdout
    assert "Emailed 3 statements: 3 sent, 0 not sent." in done.stdout
    assert f"Posted 1 statements: printed into {posting}" in done.stdout
    recipients = sorted(d.recipients[0] for d in server.wait_for(3))
    assert recipients == ["ada@example.org", "claims@bupa.example", "cy@example.org"]
    assert server.logins == ["desk"]
    pdf = pdfium.PdfDocument(str(posting))
    try:
        text = " ".join(" ".join(p.get_textpage().get_text_range().split()) for p in pdf)
    finally:
        pdf.close()
    assert "Bea Babbage" in text and "$50.00" in text
    # The same command again: the run is done; nobody is sent anything more.
    again = run_command(
        "--database", url, "statements", "send", *PERIOD, cwd=tmp_path, password="relay-pass"
    )
    assert again.returncode == 0, again.stderr
    assert "is done already (4 accounts)" in again.stdout
    assert len(server.messages) == 3


def test_a_server_that_refuses_leaves_the_emails_in_the_outbox_and_exits_1(
    qapp, url: str, make_smtp_server, tmp_path: Path, capsys
) -> None:
    """In this process (``qapp``: the tests' own application, which the command uses)."""
    server: SmtpServer = make_smtp_server(refuse_rcpt="550 No such mailbox here")
    with Clinic.open(url) as clinic:
        configure(clinic, server)
    code = main(
        [
            "--database",
            url,
            "statements",
            "send",
            *PERIOD,
            "--post-pdf",
            str(tmp_path / "post.pdf"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "Emailed 3 statements: 0 sent, 3 not sent." in out
    assert "Lovelace, Ada <ada@example.org>: failed: " in out and "No such mailbox" in out
    assert (tmp_path / "post.pdf").exists()
    with Clinic.open(url) as clinic:
        assert {m.status for m in clinic.outbox()} == {"failed"}


def test_bad_arguments_exit_2_with_a_clear_message(url: str, capsys) -> None:
    def refused(*args: str) -> str:
        with pytest.raises(SystemExit) as stopped:
            main(["--database", url, *args])
        assert stopped.value.code == 2
        return capsys.readouterr().err

    assert "--from '2026-13-01' is not a date" in refused(
        "statements", "send", "--from", "2026-13-01", "--to", END.isoformat()
    )
    assert "statements send needs --to" in refused(
        "statements", "send", "--from", START.isoformat()
    )
    assert "--dry-run goes with xero sync or statements send" in refused("info", "--dry-run")
    assert "statements needs send" in refused("statements", "print", *PERIOD)
    # Dates the ledger refuses: a period the wrong way round, one ending after today.
    assert main(["--database", url, "statements", "send", "--from", END.isoformat(), "--to",
                 START.isoformat(), "--dry-run"]) == 2  # fmt: skip
    assert "after it ends" in capsys.readouterr().err
    tomorrow = TODAY.fromordinal(TODAY.toordinal() + 1).isoformat()
    assert main(["--database", url, "statements", "send", "--from", START.isoformat(), "--to",
                 tomorrow]) == 2  # fmt: skip
    assert "in the future" in capsys.readouterr().err


def test_email_not_set_up_refuses_the_run_with_exit_1(url: str, capsys) -> None:
    assert main(["--database", url, "statements", "send", *PERIOD]) == 1
    assert "Email is not set up" in capsys.readouterr().err
    with Clinic.open(url) as clinic:
        assert clinic.statement_runs() == []


def test_email_test_says_sent_or_the_servers_reason(
    url: str, make_smtp_server, capsys, monkeypatch
) -> None:
    monkeypatch.delenv("CLINIC_SMTP_PASSWORD", raising=False)
    server: SmtpServer = make_smtp_server()
    with Clinic.open(url) as clinic:
        configure(clinic, server)
    assert main(["--database", url, "email", "test", "me@example.org"]) == 0
    assert capsys.readouterr().out == "Sent to me@example.org.\n"
    assert server.wait_for(1)[0].recipients == ["me@example.org"]
    server.refuse_rcpt = "550 Relaying denied"
    assert main(["--database", url, "email", "test", "me@example.org"]) == 1
    assert "Relaying denied" in capsys.readouterr().out
    assert main(["--database", url, "email", "test", "not an address"]) == 2
    assert "is not an email address" in capsys.readouterr().err
