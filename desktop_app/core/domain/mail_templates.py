"""The subject and body of each kind of email, as templates with named placeholders.

A template is text with placeholders in braces: ``Invoice {invoice_number} from {clinic}``.
Each kind of email (:class:`MailKind`) has its own placeholders (:data:`PLACEHOLDERS`); a
template that names one it does not have, or a brace left open, is refused when it is saved and
again when a message is made, naming the placeholder and listing the ones there are. Two braces
(``{{``) write one. Nothing else is read from a placeholder: no attributes, indexes or formats,
so a template can never reach into the ledger's objects.

A subject is one header line: the template's subject is refused if it holds a line break, and
the values put into it are made one line (a name can never add a header; see ``mail_text``).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from .errors import BillingError, Refusal
from .mail_text import MAX_SUBJECT, check_subject, header_name
from .text import check_text

#: A body template's longest text.
MAX_BODY = 10_000


class MailKind(StrEnum):
    """What an email is: each has its own templates and placeholders."""

    INVOICE = "invoice"
    RECEIPT = "receipt"
    STATEMENT = "statement"
    REMINDER = "reminder"
    CREDIT = "credit"
    TEST = "test"


#: Every kind's placeholders, with what each holds (Settings > Email lists them).
_COMMON = {
    "name": "the patient's or payer's name",
    "first_name": "the patient's first name (a payer's name)",
    "clinic": "the clinic's name",
    "clinic_contact": "the clinic's phone and email line",
}
_INVOICE = {
    "invoice_number": "the invoice's number",
    "invoice_date": "the invoice's date",
    "due_date": "the date it is due",
    "total": "the invoice's total",
    "balance": "what is still owed on it",
    "patient": "the patient the invoice is for",
}
PLACEHOLDERS: dict[MailKind, dict[str, str]] = {
    MailKind.INVOICE: {**_COMMON, **_INVOICE},
    MailKind.RECEIPT: {
        **_COMMON,
        "receipt_number": "the receipt's number",
        "payment_date": "the day it was paid",
        "amount": "the amount received",
    },
    MailKind.STATEMENT: {
        **_COMMON,
        "period": "the statement's period (1 Nov 2026 to 30 Nov 2026)",
        "period_end": "the last day of the period",
        "balance": "what is owed at the end of the period",
        "credit": "the account credit held",
    },
    MailKind.REMINDER: {
        **_COMMON,
        **_INVOICE,
        "days_overdue": "how many days past its due date it is",
    },
    MailKind.CREDIT: {
        **_COMMON,
        "credit": "the account credit held",
        "owed": "what the open invoices still owe",
    },
    MailKind.TEST: {**_COMMON},
}


@dataclass(frozen=True, slots=True)
class MailTemplate:
    """One kind's subject and body templates."""

    kind: MailKind
    subject: str
    body: str


_SIGN_OFF = "\n\nKind regards,\n{clinic}\n{clinic_contact}\n"
DEFAULT_TEMPLATES: dict[MailKind, MailTemplate] = {
    MailKind.INVOICE: MailTemplate(
        MailKind.INVOICE,
        "Invoice {invoice_number} from {clinic}",
        "Dear {first_name},\n\nPlease find attached invoice {invoice_number} of "
        "{invoice_date} for {total}. The amount due is {balance}, by {due_date}." + _SIGN_OFF,
    ),
    MailKind.RECEIPT: MailTemplate(
        MailKind.RECEIPT,
        "Receipt {receipt_number} from {clinic}",
        "Dear {first_name},\n\nThank you for your payment of {amount} on {payment_date}. "
        "Your receipt is attached." + _SIGN_OFF,
    ),
    MailKind.STATEMENT: MailTemplate(
        MailKind.STATEMENT,
        "Your statement from {clinic}",
        "Dear {first_name},\n\nPlease find attached your statement for {period}. "
        "At {period_end} the amount owed is {balance} and your account credit is {credit}."
        + _SIGN_OFF,
    ),
    MailKind.REMINDER: MailTemplate(
        MailKind.REMINDER,
        "Reminder: invoice {invoice_number} is overdue",
        "Dear {first_name},\n\nOur records show that invoice {invoice_number} of "
        "{invoice_date} was due on {due_date}, {days_overdue} days ago, and {balance} is "
        "still owing. A copy is attached. If you have paid it already, please disregard this "
        "reminder." + _SIGN_OFF,
    ),
    MailKind.CREDIT: MailTemplate(
        MailKind.CREDIT,
        "Your account credit at {clinic}",
        "Dear {first_name},\n\nYou hold {credit} of account credit with us. Please contact us "
        "if you would like it applied to your account or refunded." + _SIGN_OFF,
    ),
    MailKind.TEST: MailTemplate(
        MailKind.TEST,
        "Test email from {clinic}",
        "This is a test email from Clinic Ledger at {clinic}. If you can read it, the clinic's "
        "email settings work." + _SIGN_OFF,
    ),
}


def _fields(template: str, kind: MailKind, part: str) -> list[str]:
    """The placeholders ``template`` names, each checked to be one of ``kind``'s."""
    known = PLACEHOLDERS[kind]
    listed = ", ".join("{" + name + "}" for name in known)
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        raise BillingError(
            f"The {part} of {kind} emails has a brace that is not a placeholder: write "
            "placeholders as {name}, and a brace itself as {{ or }}.",
            code=Refusal.BAD_TEXT,
            field=part,
        ) from None
    names: list[str] = []
    for _literal, field_name, spec, conversion in parsed:
        if field_name is None:
            continue
        if field_name not in known or spec or conversion:
            shown = "{" + field_name + (f"!{conversion}" if conversion else "")
            shown += (f":{spec}" if spec else "") + "}"
            raise BillingError(
                f"The {part} of {kind} emails uses {shown}, which is not one of their "
                f"placeholders: {listed}.",
                code=Refusal.BAD_CHOICE,
                field=part,
            )
        names.append(field_name)
    return names


def check_template(kind: MailKind, subject: str, body: str) -> MailTemplate:
    """A template as it may be saved: a one-line subject and a body of at most
    :data:`MAX_BODY` characters, each naming only ``kind``'s placeholders."""
    subject = check_subject(subject, "subject template")
    body = check_text(body, "body template", MAX_BODY, field="body")
    if not body.strip():
        raise BillingError("Enter the body of the email.", code=Refusal.MISSING, field="body")
    _fields(subject, kind, "subject")
    _fields(body, kind, "body")
    return MailTemplate(kind, subject, body)


def _fill(template: str, kind: MailKind, part: str, values: Mapping[str, str]) -> str:
    names = _fields(template, kind, part)
    missing = [name for name in names if name not in values]
    if missing:  # the caller's mistake, not staff's: every kind's values are made in one place
        raise KeyError(f"No value for {missing} in a {kind} email.")
    return template.format_map({name: values[name] for name in names})


def fill_subject(template: str, kind: MailKind, values: Mapping[str, str]) -> str:
    """The subject with its placeholders filled: each value made one line first, so no value
    can add a header; cut to :data:`MAX_SUBJECT` characters."""
    one_line = {name: header_name(value) for name, value in values.items()}
    return _fill(template, kind, "subject", one_line)[:MAX_SUBJECT].strip()


def fill_body(template: str, kind: MailKind, values: Mapping[str, str]) -> str:
    """The body with its placeholders filled (blank lines an empty value left at its end go)."""
    return _fill(template, kind, "body", values).rstrip() + "\n"


def sample_values(kind: MailKind) -> dict[str, str]:
    """Values for every placeholder of ``kind``, for checking a template and previewing it."""
    return {name: f"[{name}]" for name in PLACEHOLDERS[kind]}
