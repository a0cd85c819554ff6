"""The command line's email: ``statements send`` (a statement run from start to end, without a
window) and ``email test ADDRESS``.

``clinic-ledger statements send --from D --to D`` starts the period's run, or resumes it where
it stopped (interrupted with Ctrl+C, a closed terminal, a lost connection): each statement is
rendered to PDF by Qt on its "offscreen" platform (no screen needed) and queued in the outbox
with its mark, so nobody is emailed twice. It then sends the run's emails, writes the statements
of accounts without an address into one PDF to print and post, and says what happened. Exit 0
when every emailed statement was handed to the mail server, 1 when some were not (they stay in
the outbox, retried later), 2 for bad arguments. ``--dry-run`` lists who the run would cover
and changes nothing. The server's password comes from ``CLINIC_SMTP_PASSWORD`` or the keychain.
"""

from __future__ import annotations

import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from desktop_app.core import BillingError, Refusal, format_amount, parse_minor

if TYPE_CHECKING:
    from desktop_app.core import Clinic, SendSummary, StatementRunRecord

#: Seconds between two progress lines.
PROGRESS_EVERY = 2.0
#: The inputs a refusal may be about that are the command's own arguments (exit 2): the
#: period's days, the test email's address.
_ARGUMENTS = {"start", "end", "to"}


def _money(amount: Decimal, currency: str) -> str:
    return format_amount(parse_minor(amount, currency), currency)


def default_post_pdf(start: date, end: date) -> Path:
    """Where the statements to post are written unless ``--post-pdf`` says: the current folder."""
    return Path(f"statements-{start.isoformat()}-to-{end.isoformat()}-post.pdf")


def _refused(error: BillingError, bad_argument: bool = True) -> int:
    print(f"clinic-ledger: {error}", file=sys.stderr)
    return 2 if bad_argument and error.field in _ARGUMENTS else 1


def _dry_run(clinic: Clinic, start: date, end: date) -> int:
    """Print the run's list and totals; change nothing."""
    try:
        preview = clinic.preview_statement_run(start, end)
    except BillingError as error:
        return _refused(error)
    currency = preview.currency
    print(f"Statement run {start.isoformat()} to {end.isoformat()} (dry run: nothing sent):")
    width = max((len(row.name) for row in preview.rows), default=4)
    for row in preview.rows:
        print(
            f"  {row.name:<{width}}  owed {_money(row.owed, currency):>12}  "
            f"credit {_money(row.credit, currency):>12}  {row.email or 'post'}"
        )
    print(
        f"{preview.accounts:,} accounts: {preview.to_email:,} to email, {preview.to_post:,} to "
        f"post; owed {_money(preview.owed, currency)}, credit {_money(preview.credit, currency)}."
    )
    return 0


def statements_send(
    clinic: Clinic, start: date, end: date, *, dry_run: bool = False, post_pdf: str | None = None
) -> int:
    """``statements send``: the whole run (or its list with ``dry_run``); the exit code."""
    if dry_run:
        return _dry_run(clinic, start, end)
    try:
        run = clinic.start_statement_run(start, end)
        record = clinic.statement_run(run)
    except BillingError as error:
        return _refused(error)
    period = f"{start.isoformat()} to {end.isoformat()}"
    if record.finished:
        print(f"The statement run {period} is done already ({record.total:,} accounts).")
    elif record.done:
        print(
            f"Resuming the statement run {period}: it stopped after {record.done:,} of "
            f"{record.total:,}."
        )
    else:
        print(f"Statement run {period}: {record.total:,} accounts.")
    from desktop_app.ui.formatting import Formatter
    from desktop_app.ui.printing.pdf_bytes import (
        PostingPdf,
        document_html,
        document_pdf,
        ensure_document_app,
    )

    ensure_document_app()
    formatter = Formatter(clinic.currency, clinic.clinic_profile().locale or None)
    last = time.monotonic()
    try:
        progress = clinic.statement_run_step(run, lambda d: document_pdf(d, formatter))
        while not progress.finished:
            now = time.monotonic()
            if now - last >= PROGRESS_EVERY:
                last = now
                print(
                    f"  {progress.done:,} of {progress.total:,} done ({progress.emailed:,} "
                    f"emailed, {progress.posted:,} to post)",
                    flush=True,
                )
            progress = clinic.statement_run_step(run, lambda d: document_pdf(d, formatter))
    except KeyboardInterrupt:
        record = clinic.statement_run(run)
        print(
            f"clinic-ledger: stopped after {record.done:,} of {record.total:,}; run the same "
            "command again to resume (nobody is sent a statement twice).",
            file=sys.stderr,
        )
        return 130
    except BillingError as error:
        return _refused(error, bad_argument=False)
    # Everything due goes (the run's emails, and any other waiting): asking for the run's
    # thousands of messages by id would read each one's bytes again on SQLite.
    summary = clinic.send_outbox() if clinic.statement_run(run).unsent else None
    posted = clinic.posted_statements(run)
    path = Path(post_pdf) if post_pdf else default_post_pdf(start, end)
    if posted:
        try:
            with PostingPdf(path, clinic.letterhead().paper) as pdf:
                for account in posted:
                    document = clinic.statement_run_document(run, account)
                    pdf.add(document_html(document, formatter), document.letterhead)
        except BillingError as error:
            return _refused(error, bad_argument=False)
    return _summary(clinic, clinic.statement_run(run), posted, path, summary)


def _summary(
    clinic: Clinic,
    record: StatementRunRecord,
    posted: list[int],
    path: Path,
    summary: SendSummary | None,
) -> int:
    """Print what the run did; 0 when every emailed statement reached the server."""
    connection = None if summary is None else summary.connection_error
    print(
        f"Emailed {record.emailed:,} statements: {record.sent:,} sent, {record.unsent:,} not sent."
    )
    if record.unsent:
        if connection:
            print(f"  The mail server could not be reached: {connection}")
        for item in clinic.statement_run_items(record.id, "emailed"):
            if item.outbox_status is not None and item.outbox_status != "sent":
                reason = item.error or "waiting to be sent"
                print(f"  - {item.name} <{item.email}>: {item.outbox_status}: {reason}")
        print("  Those not sent stay in the outbox and are tried again later.")
    if posted:
        print(f"Posted {len(posted):,} statements: printed into {path.resolve()}")
    else:
        print("No statements to post.")
    return 0 if record.unsent == 0 else 1


def email_test(clinic: Clinic, address: str) -> int:
    """``email test ADDRESS``: send the test email now; "Sent" (0) or the server's reason (1)."""
    try:
        clinic.send_test_email(address)
    except BillingError as error:
        if error.code == Refusal.UNREACHABLE:
            print(f"Not sent: {error}")
            return 1
        return _refused(error)
    print(f"Sent to {address}.")
    return 0
