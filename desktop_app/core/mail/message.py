"""One email as the bytes handed to the server: headers, a plain-text body, a PDF attached.

Built with the standard library's ``email`` package under its SMTP policy (CRLF line ends,
headers folded, non-ASCII encoded). Names reach headers only through ``mail_text.mailbox``
(made one line); the subject was checked to be one line. The policy itself refuses any header
value with a line break, so a value that slipped past both would fail the build, never add a
header. Each message gets its own Message-ID, kept with it in the outbox, so a retry sends the
very same message and a mail program can tell a copy from a new message.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from ..domain.mail_text import check_subject, mailbox
from .addresses import sendable_address
from .settings import EmailSettings


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file attached to an email (a PDF document)."""

    filename: str
    data: bytes
    content_type: str = "application/pdf"


@dataclass(frozen=True, slots=True)
class BuiltMessage:
    """A message ready for the outbox: its Message-ID and bytes."""

    message_id: str
    data: bytes


def build_message(
    settings: EmailSettings,
    *,
    to_name: str,
    to_address: str,
    subject: str,
    body: str,
    attachment: Attachment | None = None,
) -> BuiltMessage:
    """The message from the clinic's sender to one recipient (an address already checked)."""
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = settings.sender
    message["To"] = mailbox(to_name, sendable_address(to_address))
    if settings.reply_to:
        message["Reply-To"] = settings.reply_to
    message["Subject"] = check_subject(subject)
    message["Date"] = formatdate(localtime=True)
    domain = settings.sender_address.rpartition("@")[2] or None
    message_id = make_msgid(domain=domain)
    message["Message-ID"] = message_id
    message.set_content(body.replace("\r\n", "\n"))
    if attachment is not None:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return BuiltMessage(message_id, message.as_bytes())
