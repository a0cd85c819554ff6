"""Whose accounts a report covers (patients, payers, or one payer), and what each account is called.

A payer's account is a row of ``patients`` with the payer's id, its first name the payer's name
and no last name (:mod:`desktop_app.core.ledger.payer_accounts`). Reports and documents name it
by the payer's name ("Bupa"), never as a patient ("Last, First"). The few payers are read in one
small query; a report over patients only keeps payers' accounts out with a probe of the payers'
ids, so it still reads only the indexes it read before.

Scopes (:data:`SCOPES`):

* ``everyone``: patients and payers alike (the default, as before payers existed);
* ``patients``: what patients owe or paid themselves;
* ``payers``: every payer's account; with ``payer=<id>``, that payer's alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from ..db.models import Patient, Payer
from ..domain.errors import BillingError, NotFoundError, Refusal
from ..domain.money import to_decimal
from ..domain.payers import PayerKind, PayerRecord
from ..ledger.guard import check_id

#: Whose accounts a report covers.
SCOPES = ("everyone", "patients", "payers")


@dataclass(frozen=True, slots=True)
class Scope:
    """A report's accounts: ``name`` is one of :data:`SCOPES`; ``payer_id``/``payer_name`` are
    set for one payer (``name == "payers"``)."""

    name: str = "everyone"
    payer_id: int | None = None
    payer_name: str | None = None

    @property
    def one_payer(self) -> bool:
        """Whether the report is about one payer."""
        return self.payer_id is not None

    def condition(self, account: InstrumentedAttribute[int]) -> ColumnElement[bool] | None:
        """The condition on ``account`` (a column holding an account's id: ``patients.id``,
        ``invoices.patient_id``, ``payments.patient_id``) that keeps the scope's accounts
        (None: every account)."""
        if self.payer_id is not None:
            return account == self.payer_id
        if self.name == "patients":
            return account.not_in(select(Payer.id))
        if self.name == "payers":
            return account.in_(select(Payer.id))
        return None


def report_scope(session: Session, scope: object = "everyone", payer: object = None) -> Scope:
    """The scope asked for, checked: ``scope`` one of :data:`SCOPES`; ``payer`` a payer's id
    (with ``everyone`` or ``payers``: that payer alone). A payer with ``patients`` is refused."""
    if scope not in SCOPES:
        raise BillingError(
            f"A report covers {', '.join(SCOPES)}, not {scope!r}.",
            code=Refusal.BAD_CHOICE,
            field="scope",
        )
    if payer is None:
        return Scope(str(scope))
    if scope == "patients":
        raise BillingError(
            "A report of patients only has no payer; choose payers, or leave the payer out.",
            code=Refusal.BAD_CHOICE,
            field="payer",
        )
    row = session.get(Payer, check_id(payer, "payer"))
    if row is None:
        raise NotFoundError(f"There is no payer {payer!r}.", field="payer")
    return Scope("payers", row.id, row.name)


def payer_names(session: Session) -> dict[int, str]:
    """Every payer's name by its account's id (archived ones too: their history is kept)."""
    return {pid: name for pid, name in session.execute(select(Payer.id, Payer.name))}


def account_name(first: str, last: str, payer: str | None = None) -> str:
    """A report's name for an account: the payer's name for a payer's account, otherwise the
    patient's "Last, First"."""
    return payer if payer is not None else f"{last}, {first}"


def payer_record(session: Session, payer_id: int, currency: str) -> PayerRecord | None:
    """The payer whose account ``payer_id`` is, with its account's figures (None: a patient)."""
    row = session.execute(
        select(Payer, Patient).join(Patient, Patient.id == Payer.id).where(Payer.id == payer_id)
    ).one_or_none()
    return None if row is None else record_of(row[0], row[1], currency)


def record_of(payer: Payer, account: Patient, currency: str) -> PayerRecord:
    """A payer's row and its account's as the record the API hands out."""
    return PayerRecord(
        id=payer.id,
        name=payer.name,
        kind=PayerKind(payer.kind),
        reference_label=payer.reference_label,
        email=payer.email,
        phone=payer.phone,
        address=payer.address,
        notes=payer.notes,
        credit=to_decimal(account.credit_minor, currency),
        outstanding=to_decimal(account.outstanding_minor, currency),
        archived=payer.archived_at is not None,
    )
