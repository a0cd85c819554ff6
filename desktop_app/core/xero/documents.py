"""The request bodies of the documents the sync sends, in Xero's Accounting API terms: a patient
or a payer as a contact, an invoice and a credit note (lines written as
:mod:`..interchange.accounting_lines` works out, so Xero arrives at our cents), money on an
invoice, money held as a prepayment, credit allocated to an invoice, and credit paid out (a
refund, or a transfer's first step).

Contacts and references are named as the accounting export names them
(:mod:`..interchange.accounting_batch`): a payer is ``Bupa (payer 12)``, and an invoice billed
to it says in its ``Reference`` which patient and claim it is for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ..interchange.accounting_batch import (
    CONTACT_NAME_MAX,
    claim_reference,
    contact_name,
    payer_contact_name,
    split_reference,
)
from ..interchange.accounting_build import split_credit
from ..interchange.accounting_lines import xero_line
from ..interchange.accounting_mapping import AccountMapping
from .desired import CreditDoc, CreditNoteDoc, InvoiceDoc, MoneyDoc


@dataclass(frozen=True, slots=True)
class Shape:
    """What the bodies need besides the documents: the mapping, each tax rate's Xero code, the
    currency's decimals and the account that carries credit transfers."""

    mapping: AccountMapping
    tax_codes: dict[int, str]
    places: int
    transfer_account: str

    def amount(self, minor: int) -> Decimal:
        """Minor units as the exact decimal Xero takes."""
        return Decimal(minor).scaleb(-self.places)

    def invoice_number(self, number: int) -> str:
        """``INV-12``: the mapping's prefix and the ledger's number."""
        return f"{self.mapping.invoice_prefix}{number}"

    def credit_note_number(self, number: int) -> str:
        """``CN-3``."""
        return f"{self.mapping.credit_note_prefix}{number}"


def day(value: date) -> str:
    """A date as Xero's API takes it."""
    return value.isoformat()


def contact(patient_id: int, first: str, last: str) -> dict[str, Any]:
    """A patient as a Xero contact: the name keeps namesakes apart with the patient's number
    (a name longer than Xero takes is shortened before the number)."""
    return {
        "Name": contact_name(first, last, patient_id),
        "FirstName": first[:CONTACT_NAME_MAX],
        "LastName": last[:CONTACT_NAME_MAX],
        "ContactNumber": str(patient_id),
    }


def payer_contact(payer_id: int, name: str, email: str) -> dict[str, Any]:
    """A payer as a Xero contact, an organisation: ``Bupa (payer 12)``, its email address (""
    clears one taken away here), its account's number."""
    return {
        "Name": payer_contact_name(name, payer_id),
        "EmailAddress": email[:CONTACT_NAME_MAX],
        "ContactNumber": str(payer_id),
    }


def reference(shape: Shape, doc: InvoiceDoc) -> str:
    """What an invoice's ``Reference`` says: for one billed to a payer, the patient it is for
    and the claim; for a patient's gap invoice, the payer's invoice it was split from."""
    if doc.for_patient is not None:
        patient_id, first, last = doc.for_patient
        return claim_reference(first, last, patient_id, doc.claim)
    if doc.split_with is not None:
        return split_reference(shape.invoice_number(doc.split_with))
    return ""


def item(shape: Shape, code: str, name: str) -> dict[str, Any]:
    """A billable item as a Xero item: its code and name, sold on the sales account."""
    return {
        "Code": code,
        "Name": " ".join(name.split())[:50],
        "IsSold": True,
        "SalesDetails": {"AccountCode": shape.mapping.sales_account},
    }


def invoice(
    shape: Shape, doc: InvoiceDoc, contact_id: str, item_codes: frozenset[str] | set[str]
) -> dict[str, Any]:
    """An issued invoice, AUTHORISED, on the clinic's tax basis, with its :func:`reference` (if
    one); a line from a billable item names the item's code when Xero has the item
    (``item_codes``)."""
    items = []
    for line in doc.lines:
        amount = line.amount_minor if doc.inclusive else line.net_minor
        put = xero_line(
            line.unit_price_minor,
            line.quantity_centi,
            line.discount_minor,
            line.discount_bp,
            amount,
            shape.places,
        )
        text = " ".join(line.description.split())
        entry: dict[str, Any] = {
            "Description": f"{text} {put.note}" if put.note else text,
            "Quantity": Decimal(put.quantity),
            "UnitAmount": shape.amount(put.unit_minor),
            "AccountCode": shape.mapping.sales_account,
            "TaxType": shape.tax_codes[line.tax_rate_bp],
            "TaxAmount": shape.amount(line.tax_minor),
        }
        if put.discount:
            entry["DiscountRate"] = Decimal(put.discount)
        if line.item_code and line.item_code in item_codes:
            entry["ItemCode"] = line.item_code
        items.append(entry)
    record = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "InvoiceNumber": shape.invoice_number(doc.number),
        "Date": day(doc.issued),
        "DueDate": day(doc.due),
        "LineAmountTypes": "Inclusive" if doc.inclusive else "Exclusive",
        "Status": "AUTHORISED",
        "LineItems": items,
    }
    said = reference(shape, doc)
    if said:
        record["Reference"] = said
    return record


def credit_note(
    shape: Shape, doc: CreditNoteDoc, contact_id: str, invoice_number: int
) -> dict[str, Any]:
    """A credit note, AUTHORISED: its amount shared over its invoice's lines."""
    items = []
    for line, ex_tax, tax in split_credit(doc.amount, list(doc.lines)):
        share = ex_tax + tax if doc.inclusive else ex_tax
        items.append(
            {
                "Description": "Credit: " + " ".join(line.description.split()),
                "Quantity": Decimal(1),
                "UnitAmount": shape.amount(share),
                "AccountCode": shape.mapping.sales_account,
                "TaxType": shape.tax_codes[line.tax_rate_bp],
                "TaxAmount": shape.amount(tax),
            }
        )
    return {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": contact_id},
        "CreditNoteNumber": shape.credit_note_number(doc.number),
        "Reference": shape.invoice_number(invoice_number),
        "Date": day(doc.day),
        "LineAmountTypes": "Inclusive" if doc.inclusive else "Exclusive",
        "Status": "AUTHORISED",
        "LineItems": items,
    }


def money(shape: Shape, doc: MoneyDoc, invoice_id: str, account: str) -> dict[str, Any]:
    """Money received on an invoice, into its payment type's account."""
    return {
        "Invoice": {"InvoiceID": invoice_id},
        "Account": {"Code": account},
        "Date": day(doc.day),
        "Amount": shape.amount(doc.amount),
        "Reference": doc.reference,
    }


def prepayment(
    shape: Shape, doc: CreditDoc, contact_id: str, account: str, what: str
) -> dict[str, Any]:
    """Money held as the contact's credit: a prepayment received into ``account``, its line on
    the customer-credit account."""
    return {
        "Type": "RECEIVE-PREPAYMENT",
        "Contact": {"ContactID": contact_id},
        "BankAccount": {"Code": account},
        "Date": day(doc.day),
        "Reference": doc.reference,
        "LineAmountTypes": "NoTax",
        "LineItems": [
            {
                "Description": what,
                "Quantity": Decimal(1),
                "UnitAmount": shape.amount(doc.capacity),
                "AccountCode": shape.mapping.credit_account,
            }
        ],
    }


def allocation(shape: Shape, minor: int, invoice_id: str, when: date) -> dict[str, Any]:
    """Credit applied to an invoice."""
    return {"Invoice": {"InvoiceID": invoice_id}, "Amount": shape.amount(minor), "Date": day(when)}


def payout(
    shape: Shape,
    minor: int,
    source: tuple[str, str],
    account: str,
    when: date,
    reference: str,
) -> dict[str, Any]:
    """Credit paid out of a prepayment or credit note (``source``: its kind in Xero's words and
    its id) into ``account``: a refund, or a transfer's first step."""
    kind, xero_id = source
    return {
        kind: {f"{kind}ID": xero_id},
        "Account": {"Code": account},
        "Date": day(when),
        "Amount": shape.amount(minor),
        "Reference": reference,
    }
