"""Where each invoice and payment stands with Xero, as the lists show it: ``not sent``,
``sent``, ``changed since`` (changed here after it was sent: voided, reversed, its total
corrected, an amount taken off an invoice; the next sync sends the change) or ``refused``
(Xero's message follows). Read from the sync's links, a few hundred records per query."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Application, Invoice, Payment, XeroLink
from ..domain.kinds import InvoiceStatus

NOT_SENT = "not sent"
SENT = "sent"
CHANGED = "changed since"
REFUSED = "refused"
_CHUNK = 500


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    wanted = sorted(set(ids))
    for first in range(0, len(wanted), _CHUNK):
        yield wanted[first : first + _CHUNK]


def invoice_states(session: Session, invoice_ids: Iterable[int]) -> dict[int, str]:
    """Each invoice's standing with Xero (drafts are not sent, and say so)."""
    states: dict[int, str] = {}
    for chunk in _chunks(invoice_ids):
        links = {
            row.record_id: row
            for row in session.scalars(
                select(XeroLink).where(
                    XeroLink.kind == "invoice", XeroLink.part == "", XeroLink.record_id.in_(chunk)
                )
            )
        }
        for iid, status, total in session.execute(
            select(Invoice.id, Invoice.status, Invoice.total_minor).where(Invoice.id.in_(chunk))
        ):
            link = links.get(iid)
            if link is None or link.state == "pending":
                states[iid] = NOT_SENT
            elif link.state == "refused":
                states[iid] = f"{REFUSED}: {link.message}"
            elif link.state == "removed":
                states[iid] = SENT  # voided there as here
            elif status == InvoiceStatus.VOID or link.amount_minor != total:
                states[iid] = CHANGED
            else:
                states[iid] = SENT
    return states


def payment_states(session: Session, payment_ids: Iterable[int]) -> dict[int, str]:
    """Each payment's (or refund's) standing with Xero: its money on invoices, the credit it
    left, or (a refund) the credit it paid out."""
    states: dict[int, str] = {}
    for chunk in _chunks(payment_ids):
        reversed_ = {
            pid: reversed_at is not None
            for pid, reversed_at in session.execute(
                select(Payment.id, Payment.reversed_at).where(Payment.id.in_(chunk))
            )
        }
        apps = {
            app_id: (pid, removed is not None)
            for app_id, pid, removed in session.execute(
                select(Application.id, Application.payment_id, Application.removed_at).where(
                    Application.payment_id.in_(chunk)
                )
            )
        }
        links: dict[int, list[tuple[XeroLink, bool]]] = {pid: [] for pid in chunk}
        for row in session.scalars(
            select(XeroLink).where(
                XeroLink.kind.in_(("prepay", "refund")), XeroLink.record_id.in_(chunk)
            )
        ):
            links[row.record_id].append((row, reversed_.get(row.record_id, False)))
        if apps:
            for row in session.scalars(
                select(XeroLink).where(
                    XeroLink.kind == "money", XeroLink.record_id.in_(sorted(apps))
                )
            ):
                pid, removed = apps[row.record_id]
                links[pid].append((row, removed or reversed_.get(pid, False)))
        for pid in chunk:
            if pid not in reversed_:
                continue
            found = links[pid]
            if any(row.state == "refused" for row, _ in found):
                message = next(row.message for row, _ in found if row.state == "refused")
                states[pid] = f"{REFUSED}: {message}"
            elif not any(row.state in ("sent", "removed") for row, _ in found):
                states[pid] = NOT_SENT
            elif any(row.state == "sent" and ended for row, ended in found):
                states[pid] = CHANGED
            else:
                states[pid] = SENT
    return states
