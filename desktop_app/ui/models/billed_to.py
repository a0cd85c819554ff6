"""Who a patient's invoices are billed to, as their Invoices tab says it.

An invoice is billed to the patient ("Patient") or to one of their payers (the payer's name,
with the payer's claim reference); a visit split between a payer and the patient is two
invoices, each naming the other ("split with #12"). What payers owe for the patient is never
part of what the patient owes (the core's ``outstanding`` leaves it out); it is shown beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop_app.core import InvoiceRecord

#: "Billed to" for an invoice the patient owes.
PATIENT_PAYS = "Patient"


class BilledTo:
    """The "Billed to" and "Claim / split" texts of one patient's invoices."""

    def __init__(self) -> None:
        self._payers: dict[int, str] = {}
        self._partners: dict[int, int] = {}  # invoice id -> the number of its split partner
        self._any = False

    def set_invoices(self, invoices: Iterable[InvoiceRecord], payers: Mapping[int, str]) -> None:
        """Read who each of ``invoices`` is billed to; ``payers`` names payers by id."""
        listed = list(invoices)
        by_id = {invoice.id: invoice for invoice in listed}
        self._payers = dict(payers)
        self._partners = {}
        for invoice in listed:
            partner = by_id.get(invoice.split_with_id or 0)
            if partner is not None and partner.number is not None and invoice.number is not None:
                self._partners[invoice.id] = partner.number
                self._partners[partner.id] = invoice.number
        self._any = any(i.payer_id is not None or i.id in self._partners for i in listed)

    @property
    def any(self) -> bool:
        """Whether an invoice is billed to a payer or split (else the columns say nothing)."""
        return self._any

    def billed_to(self, invoice: InvoiceRecord) -> str:
        """``Patient``, or the payer's name."""
        if invoice.payer_id is None:
            return PATIENT_PAYS
        return self._payers.get(invoice.payer_id, "a payer")

    def reference(self, invoice: InvoiceRecord) -> str:
        """The payer's claim reference and the split partner: ``CLM-9, split with #13``."""
        parts = [invoice.claim_reference] if invoice.claim_reference else []
        if invoice.id in self._partners:
            parts.append(f"split with #{self._partners[invoice.id]}")
        return ", ".join(parts)


def payers_owe(invoices: Iterable[InvoiceRecord]) -> Decimal:
    """What payers still owe on the patient's open invoices billed to them (never part of the
    patient's own outstanding)."""
    return sum((i.balance for i in invoices if i.payer_id is not None and i.is_open), Decimal("0"))
