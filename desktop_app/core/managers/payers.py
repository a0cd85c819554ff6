"""``clinic.payers``: third-party payers, patients' memberships, and payers' remittances.

A payer (a health fund, an insurer, a workers' compensation insurer, a government scheme, an
employer) keeps an account like a patient's: its id is its account's, so the invoices billed to
it, its remittances, its credit and its refunds are the ledger's ordinary records on that
account (:mod:`desktop_app.core.ledger.payer_accounts`). A remittance is a payment on the
payer's account: the same draft, preview, save and allocation engine as a patient's payment,
over the payer's open invoices across every patient it pays for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import and_, exists, func, or_, select

from ..access.staff import Permission
from ..db.models import (
    CreditNote,
    CreditTransfer,
    Invoice,
    Membership,
    OutboxMessage,
    Patient,
    Payer,
    Payment,
)
from ..domain.allocation import AllocationMode
from ..domain.errors import BillingError, NotFoundError, Refusal
from ..domain.invoicing import issued
from ..domain.kinds import AuditAction, AuditEntity, InvoiceStatus, PaymentKind, choose
from ..domain.limits import MAX_NAME
from ..domain.money import AmountInput, format_amount, to_decimal
from ..domain.patient_details import clean_detail
from ..domain.payers import DEFAULT_REFERENCE_LABEL, MembershipRecord, PayerKind, PayerRecord
from ..domain.payment_draft import PaymentDraft
from ..domain.records import PaymentPreview
from ..domain.text import optional_text, required_line, search_form
from ..interchange.payers_csv import payers_csv_text, read_payers_csv
from ..ledger import audit
from ..ledger import settings as stored
from ..ledger.guard import check_id, reads_patient, requires
from ..ledger.payer_accounts import refuse_payer
from ..ledger.payment_save import MAX_REMITTANCE_REFERENCE
from ..ledger.transaction import Transaction
from ..reporting.accounts import record_of
from .base import Manager
from .payments import Payments

#: The longest member number, claim reference and remittance reference.
MAX_REFERENCE = 60
_DETAILS = ("email", "phone", "address")


@dataclass(frozen=True, slots=True)
class PayerInvoice:
    """One open invoice of a payer, as the remittance window lists it."""

    id: int
    number: int
    patient_id: int
    patient_name: str
    claim_reference: str | None
    issue_date: date
    total: Decimal
    balance: Decimal


def _clean(field: str, value: object) -> Any:
    """One of a payer's details, cleaned as a patient's same detail is."""
    if field in _DETAILS:
        return clean_detail(field, value, date.today())
    if field == "notes":
        return optional_text(value, "notes", 5000, field="notes")
    if field == "reference_label":
        return required_line(value, "payer's reference label", MAX_REFERENCE, field=field)
    if field == "name":
        return required_line(value, "payer's name", MAX_NAME, field="name")
    if field == "kind":
        return choose(PayerKind, value, "payer kind", field="kind")
    raise BillingError(
        f"A payer has no detail called {field!r}; use name, kind, reference_label, email, "
        "phone, address or notes.",
        code=Refusal.BAD_CHOICE,
        field=field,
    )


def _new_payer(**given: object) -> dict[str, Any]:
    """A new payer's details (``name``, ``kind``, ``reference_label``, ``email``, ``phone``,
    ``address``, ``notes``) checked, the reference label defaulting to the kind's usual one."""
    kind: PayerKind = _clean("kind", given["kind"])
    label = given.get("reference_label") or DEFAULT_REFERENCE_LABEL[kind]
    return {
        "name": _clean("name", given["name"]),
        "kind": kind,
        "reference_label": _clean("reference_label", label),
        **{field: _clean(field, given.get(field)) for field in (*_DETAILS, "notes")},
    }


@dataclass(frozen=True, slots=True)
class PayersImport:
    """What importing a payers file did: payers added, changed, and rows that changed
    nothing."""

    added: int
    updated: int
    unchanged: int


def _reference(value: object, what: str, limit: int = MAX_REFERENCE) -> str | None:
    """An optional one-line reference (member number, claim, remittance)."""
    text = optional_text(value, what, limit, field=what.replace(" ", "_"))
    if text is not None and "\n" in text:
        raise BillingError(
            f"The {what} must be one line.", code=Refusal.BAD_TEXT, field=what.replace(" ", "_")
        )
    return text


def _membership_record(row: Membership, payer_name: str) -> MembershipRecord:
    return MembershipRecord(
        id=row.id,
        patient_id=row.patient_id,
        payer_id=row.payer_id,
        payer_name=payer_name,
        member_number=row.member_number,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        default_for_invoices=row.default_for_invoices,
    )


class Payers(Manager):
    """Third-party payers and their accounts."""

    # -- payers ------------------------------------------------------------------------------

    @requires(Permission.PAYERS)
    def add(
        self,
        name: str,
        *,
        kind: PayerKind | str,
        reference_label: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        address: str | None = None,
        notes: str | None = None,
    ) -> int:
        """Add a payer; returns its id (its account's). ``kind`` is one of health fund,
        insurer, workers compensation, government scheme, employer, other; the reference label
        (what the payer calls a claim) defaults to the kind's usual one."""
        values = _new_payer(
            name=name,
            kind=kind,
            reference_label=reference_label,
            email=email,
            phone=phone,
            address=address,
            notes=notes,
        )
        with self.store.write() as tx:
            self._refuse_taken(tx, values["name"])
            return self._insert(tx, values)

    @staticmethod
    def _insert(tx: Transaction, values: dict[str, Any]) -> int:
        """Add a payer of checked ``values`` and its account, audited; returns its id."""
        now = audit.moment(tx.session)
        account = Patient(
            first_name=values["name"],
            last_name="",
            created_at=now,
            credit_minor=0,
            outstanding_minor=0,
            search_key="",
        )
        tx.session.add(account)
        tx.session.flush()
        tx.session.add(Payer(id=account.id, created_at=now, **values))
        tx.audit(
            action=AuditAction.ADD_PAYER,
            entity=AuditEntity.PAYER,
            entity_id=account.id,
            after={k: str(v) for k, v in values.items() if v is not None},
        )
        return account.id

    @staticmethod
    def _refuse_taken(tx: Transaction, name: str, but: int | None = None) -> None:
        # Compared here, not by SQL's lower(), which SQLite applies to ASCII letters only: a
        # clinic has few payers, and "Émile Fund" and "émile fund" are one name.
        wanted = name.casefold()
        taken = any(
            other.casefold() == wanted
            for pid, other in tx.session.execute(select(Payer.id, Payer.name))
            if pid != but
        )
        if taken:
            raise BillingError(
                f"There is already a payer called {name}.", code=Refusal.DUPLICATE, field="name"
            )

    @requires(Permission.PAYERS)
    def update(self, /, payer_id: int, **changes: object) -> None:
        """Change a payer's name, kind, reference label or contact details (only those given;
        None clears an optional detail)."""
        cleaned = {field: _clean(field, value) for field, value in changes.items()}
        with self.store.write() as tx:
            payer = self._locked(tx, payer_id)
            if "name" in cleaned:
                self._refuse_taken(tx, cleaned["name"], but=payer.id)
            self._apply(tx, payer, cleaned)

    @staticmethod
    def _apply(tx: Transaction, payer: Payer, cleaned: Mapping[str, Any]) -> bool:
        """Give the (locked) ``payer`` the checked details ``cleaned``, audited; returns whether
        anything changed."""
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for field, value in cleaned.items():
            if getattr(payer, field) != value:
                before[field], after[field] = getattr(payer, field), value
                setattr(payer, field, value)
        if "name" in after:
            tx.session.get_one(Patient, payer.id).first_name = after["name"]
        if after:
            tx.audit(
                action=AuditAction.UPDATE_PAYER,
                entity=AuditEntity.PAYER,
                entity_id=payer.id,
                before={k: None if v is None else str(v) for k, v in before.items()},
                after={k: None if v is None else str(v) for k, v in after.items()},
            )
        return bool(after)

    @requires(Permission.PAYERS)
    def export_csv(self, path: Path) -> int:
        """Write the active payers to ``path`` as the payers CSV
        (:mod:`desktop_app.core.interchange.payers_csv`); returns the payers written."""
        payers = self()
        Path(path).write_text(payers_csv_text(payers), encoding="utf-8-sig", newline="")
        return len(payers)

    @requires(Permission.PAYERS)
    def import_csv(self, path: Path) -> PayersImport:
        """Add and change payers from a payers CSV in one transaction: a row whose name
        (ignoring case) is a payer's changes that payer's details (an empty cell clears one, a
        column left out of the file changes nothing; archived payers too), any other row adds a
        payer. A bad row (an unknown kind, an email
        that is not an address, a name twice) refuses the whole file, naming the row, and
        nothing is saved."""
        rows = read_payers_csv(Path(path))
        checked: list[tuple[dict[str, Any], frozenset[str]]] = []
        seen: dict[str, int] = {}
        for row in rows:
            try:
                values = _new_payer(**row.details())
            except BillingError as exc:
                raise BillingError(
                    f"Row {row.number} ({row.name or 'no name'}): {exc} Nothing was imported.",
                    code=exc.code,
                    field=exc.field,
                ) from exc
            key = values["name"].lower()
            if key in seen:
                raise BillingError(
                    f"Row {row.number}: the payer {values['name']} is also on row "
                    f"{seen[key]}. Nothing was imported.",
                    code=Refusal.DUPLICATE,
                    field="name",
                )
            seen[key] = row.number
            checked.append((values, row.given))
        added = updated = 0
        with self.store.write() as tx:
            existing = {p.name.lower(): p.id for p in tx.session.scalars(select(Payer))}
            matched = [existing[key] for key in seen if key in existing]
            tx.lock_patients(matched, archived_ok=True)  # the ledger's lock order
            for values, given in checked:
                payer_id = existing.get(values["name"].lower())
                if payer_id is None:
                    self._insert(tx, values)
                    added += 1
                    continue
                payer = tx.session.get_one(Payer, payer_id)
                tx.session.refresh(payer)
                # A name matched ignoring case keeps the clinic's spelling; the details the
                # file has no column for stay as they are.
                changes = {k: v for k, v in values.items() if k in given and k != "name"}
                updated += self._apply(tx, payer, changes)
            tx.audit(
                action=AuditAction.IMPORT_PAYERS,
                entity=AuditEntity.PAYER,
                entity_id=None,
                after={
                    "file": Path(path).name,
                    "rows": len(rows),
                    "added": added,
                    "updated": updated,
                },
            )
        return PayersImport(added, updated, len(rows) - added - updated)

    @requires(Permission.PAYERS)
    def archive(self, payer_id: int) -> None:
        """Archive a payer: out of the lists and of new invoices and memberships; its history
        stays. Refused while it owes money or holds credit (settle or refund it first)."""
        with self.store.write() as tx:
            payer = self._locked(tx, payer_id)
            account = tx.session.get_one(Patient, payer.id)
            if payer.archived_at is not None:
                raise BillingError(f"{payer.name} is already archived.", code=Refusal.ALREADY_DONE)
            currency = stored.currency(tx.session)
            held = [
                f"owes {format_amount(account.outstanding_minor, currency)}"
                if account.outstanding_minor
                else "",
                f"holds {format_amount(account.credit_minor, currency)} of credit"
                if account.credit_minor
                else "",
            ]
            if any(held):
                raise BillingError(
                    f"{payer.name} still {' and '.join(h for h in held if h)}: settle its "
                    "invoices and refund or apply its credit before archiving it.",
                    code=Refusal.HAS_BALANCE,
                )
            payer.archived_at = account.archived_at = audit.moment(tx.session)
            tx.audit(action=AuditAction.ARCHIVE_PAYER, entity=AuditEntity.PAYER, entity_id=payer.id)

    @requires(Permission.PAYERS)
    def restore(self, payer_id: int) -> None:
        """Bring an archived payer back."""
        with self.store.write() as tx:
            payer = self._locked(tx, payer_id)
            if payer.archived_at is None:
                raise BillingError(f"{payer.name} is not archived.", code=Refusal.ALREADY_DONE)
            payer.archived_at = None
            tx.session.get_one(Patient, payer.id).archived_at = None
            tx.audit(action=AuditAction.RESTORE_PAYER, entity=AuditEntity.PAYER, entity_id=payer.id)

    @requires(Permission.PAYERS)
    def delete(self, payer_id: int) -> None:
        """Delete a payer added by mistake: only while nothing was ever billed to it or paid by
        it (a payer with history is archived instead). Its memberships go with it."""
        with self.store.write() as tx:
            payer = self._locked(tx, payer_id)
            used = tx.session.scalar(
                select(
                    exists().where(Invoice.patient_id == payer.id)
                    | exists().where(Payment.patient_id == payer.id)
                    | exists().where(CreditNote.patient_id == payer.id)
                    | exists().where(OutboxMessage.account_id == payer.id)
                    | exists().where(
                        or_(
                            CreditTransfer.from_patient_id == payer.id,
                            CreditTransfer.to_patient_id == payer.id,
                        )
                    )
                )
            )
            if used:
                raise BillingError(
                    f"{payer.name} has invoices or payments, which are kept; archive it instead.",
                    code=Refusal.HAS_BALANCE,
                )
            name = payer.name
            for row in tx.session.scalars(
                select(Membership).where(Membership.payer_id == payer.id)
            ):
                tx.session.delete(row)
            tx.session.flush()
            tx.session.delete(payer)
            tx.session.flush()
            tx.session.delete(tx.session.get_one(Patient, payer_id))
            tx.audit(
                action=AuditAction.DELETE_PAYER,
                entity=AuditEntity.PAYER,
                entity_id=payer_id,
                before={"name": name},
            )

    @staticmethod
    def _locked(tx: Transaction, payer_id: object) -> Payer:
        """The payer, its account locked (in the ledger's order)."""
        pid = check_id(payer_id, "payer")
        payer = tx.session.get(Payer, pid)
        if payer is None:
            raise NotFoundError(f"There is no payer {payer_id!r}.", field="payer")
        tx.lock_patient(pid, archived_ok=True)
        tx.session.refresh(payer)
        return payer

    def __call__(self, *, include_archived: bool = False, search: str = "") -> list[PayerRecord]:
        """The payers, by name (active ones unless asked otherwise); ``search`` matches words of
        the name, ignoring case and accents."""
        query = select(Payer, Patient).join(Patient, Patient.id == Payer.id)
        if not include_archived:
            query = query.where(Payer.archived_at.is_(None))
        with self.store.read() as session:
            currency = stored.currency(session)
            rows = [
                record_of(payer, account, currency)
                for payer, account in session.execute(query.order_by(func.lower(Payer.name)))
            ]
        words = search_form(search).split()
        return [r for r in rows if all(w in search_form(r.name) for w in words)]

    def get(self, payer_id: int) -> PayerRecord:
        """One payer with its credit and outstanding balance."""
        pid = check_id(payer_id, "payer")
        with self.store.read() as session:
            row = session.execute(
                select(Payer, Patient).join(Patient, Patient.id == Payer.id).where(Payer.id == pid)
            ).one_or_none()
            if row is None:
                raise NotFoundError(f"There is no payer {payer_id!r}.", field="payer")
            return record_of(row[0], row[1], stored.currency(session))

    # -- memberships -------------------------------------------------------------------------

    @requires(Permission.PATIENTS)
    def add_membership(
        self,
        patient_id: int,
        payer_id: int,
        *,
        member_number: str | None = None,
        valid_from: date | None = None,
        valid_to: date | None = None,
        default_for_invoices: bool = False,
    ) -> int:
        """Record that ``payer_id`` pays for the patient; returns the membership's id. With
        ``default_for_invoices`` the patient's new invoices are billed to the payer while the
        membership is valid (it then replaces another default)."""
        number = _reference(member_number, "member number")
        _check_dates(valid_from, valid_to)
        if not isinstance(default_for_invoices, bool):
            raise BillingError(
                "default_for_invoices must be True or False.", code=Refusal.BAD_CHOICE
            )
        with self.store.write() as tx:
            pid = check_id(patient_id, "patient")
            patient = tx.lock_patient(pid)  # an archived patient is refused here
            refuse_payer(tx.session, patient.id, "have a membership")
            payer = self._usable(tx, payer_id)
            row = Membership(
                patient_id=pid,
                payer_id=payer.id,
                member_number=number,
                valid_from=valid_from,
                valid_to=valid_to,
                default_for_invoices=default_for_invoices,
                created_at=audit.moment(tx.session),
            )
            if default_for_invoices:
                _clear_defaults(tx, pid)
            tx.session.add(row)
            tx.session.flush()
            tx.audit(
                action=AuditAction.ADD_MEMBERSHIP,
                entity=AuditEntity.MEMBERSHIP,
                entity_id=row.id,
                after={
                    "patient_id": pid,
                    "payer_id": payer.id,
                    "member_number": number,
                    "valid_from": valid_from,
                    "valid_to": valid_to,
                    "default_for_invoices": default_for_invoices,
                },
            )
            return row.id

    @staticmethod
    def _usable(tx: Transaction, payer_id: object) -> Payer:
        """An active payer, or a refusal about the ``payer`` field."""
        payer = tx.session.get(Payer, check_id(payer_id, "payer"))
        if payer is None:
            raise NotFoundError(f"There is no payer {payer_id!r}.", field="payer")
        if payer.archived_at is not None:
            raise BillingError(
                f"{payer.name} is archived; restore it in Settings > Payers first.",
                code=Refusal.ARCHIVED,
                field="payer",
            )
        return payer

    @requires(Permission.PATIENTS)
    def update_membership(self, /, membership_id: int, **changes: object) -> None:
        """Change a membership's ``member_number``, ``valid_from``, ``valid_to`` or
        ``default_for_invoices`` (only those given)."""
        allowed = {"member_number", "valid_from", "valid_to", "default_for_invoices"}
        unknown = set(changes) - allowed
        if unknown:
            raise BillingError(
                f"A membership has no detail called {sorted(unknown)[0]!r}.",
                code=Refusal.BAD_CHOICE,
            )
        with self.store.write() as tx:
            row = tx.session.get(Membership, check_id(membership_id, "membership"))
            if row is None or row.removed_at is not None:
                raise NotFoundError(f"There is no membership {membership_id!r}.")
            tx.lock_patient(row.patient_id)
            values = {
                "member_number": _reference(
                    changes.get("member_number", row.member_number), "member number"
                ),
                "valid_from": changes.get("valid_from", row.valid_from),
                "valid_to": changes.get("valid_to", row.valid_to),
                "default_for_invoices": changes.get(
                    "default_for_invoices", row.default_for_invoices
                ),
            }
            _check_dates(values["valid_from"], values["valid_to"])
            if not isinstance(values["default_for_invoices"], bool):
                raise BillingError(
                    "default_for_invoices must be True or False.", code=Refusal.BAD_CHOICE
                )
            if values["default_for_invoices"] and not row.default_for_invoices:
                _clear_defaults(tx, row.patient_id)
            before = {k: getattr(row, k) for k in values if getattr(row, k) != values[k]}
            for key, value in values.items():
                setattr(row, key, value)
            if before:
                tx.audit(
                    action=AuditAction.UPDATE_MEMBERSHIP,
                    entity=AuditEntity.MEMBERSHIP,
                    entity_id=row.id,
                    before=before,
                    after={k: values[k] for k in before},
                )

    @requires(Permission.PATIENTS)
    def remove_membership(self, membership_id: int) -> None:
        """End a membership (kept in the history; the payer's invoices are unchanged)."""
        with self.store.write() as tx:
            row = tx.session.get(Membership, check_id(membership_id, "membership"))
            if row is None or row.removed_at is not None:
                raise NotFoundError(f"There is no membership {membership_id!r}.")
            tx.lock_patient(row.patient_id, archived_ok=True)
            row.removed_at = audit.moment(tx.session)
            tx.audit(
                action=AuditAction.REMOVE_MEMBERSHIP,
                entity=AuditEntity.MEMBERSHIP,
                entity_id=row.id,
                before={"patient_id": row.patient_id, "payer_id": row.payer_id},
            )

    @reads_patient
    def memberships(self, patient_id: int) -> list[MembershipRecord]:
        """The patient's memberships (not removed), in the order they were added."""
        pid = check_id(patient_id, "patient")
        with self.store.read() as session:
            return [
                _membership_record(row, name)
                for row, name in session.execute(
                    select(Membership, Payer.name)
                    .join(Payer, Payer.id == Membership.payer_id)
                    .where(Membership.patient_id == pid, Membership.removed_at.is_(None))
                    .order_by(Membership.id)
                )
            ]

    @requires(Permission.READ_ALL)
    def members(self, payer_id: int) -> list[MembershipRecord]:
        """The memberships of a payer's patients (not removed)."""
        pid = check_id(payer_id, "payer")
        with self.store.read() as session:
            return [
                _membership_record(row, name)
                for row, name in session.execute(
                    select(Membership, Payer.name)
                    .join(Payer, Payer.id == Membership.payer_id)
                    .where(Membership.payer_id == pid, Membership.removed_at.is_(None))
                    .order_by(Membership.id)
                )
            ]

    # -- remittances -------------------------------------------------------------------------

    @requires(Permission.READ_ALL)
    def open_invoices(self, payer_id: int, search: str = "") -> list[PayerInvoice]:
        """The payer's open invoices across its patients, oldest first; ``search`` keeps those
        whose patient's name, claim reference or invoice number holds every word."""
        pid = check_id(payer_id, "payer")
        query = (
            select(
                Invoice.id,
                Invoice.number,
                Invoice.for_patient_id,
                Patient.first_name,
                Patient.last_name,
                Invoice.claim_reference,
                Invoice.issue_date,
                Invoice.total_minor,
                Invoice.owed_minor,
            )
            .join(Patient, Patient.id == Invoice.for_patient_id)
            .where(Invoice.patient_id == pid, Invoice.status == InvoiceStatus.OPEN)
            .order_by(Invoice.issue_date, Invoice.number)
        )
        with self.store.read() as session:
            currency = stored.currency(session)
            rows = [
                PayerInvoice(
                    id=iid,
                    number=issued(number),
                    patient_id=int(patient_id or 0),
                    patient_name=f"{first} {last}",
                    claim_reference=claim,
                    issue_date=day,
                    total=to_decimal(total, currency),
                    balance=to_decimal(owed, currency),
                )
                for iid, number, patient_id, first, last, claim, day, total, owed in (
                    session.execute(query)
                )
            ]
        words = search_form(search).split()
        if not words:
            return rows

        def matches(row: PayerInvoice) -> bool:
            text = search_form(
                f"{row.patient_name} {row.claim_reference or ''} {row.number} #{row.number}"
            )
            return all(word in text for word in words)

        return [row for row in rows if matches(row)]

    def payment_draft(
        self,
        payer_id: int,
        *,
        reference: str | None = None,
        payment_date: date | None = None,
        mode: AllocationMode | None = None,
        source_invoice: int | None = None,
    ) -> PaymentDraft:
        """Start entering a payer's remittance: its credit and open invoices across patients,
        read once; each keystroke previews with ``draft.preview(sources, applied)``.
        ``source_invoice``: the payer's invoice it was entered from (the source-invoice mode
        pays that one)."""
        ref = _reference(reference, "remittance reference", MAX_REMITTANCE_REFERENCE)
        self._existing(payer_id)
        payments = Payments(self.store)
        return payments.draft(
            payer_id, source_invoice, payment_date=payment_date, mode=mode, reference=ref
        )

    def _existing(self, payer_id: object) -> int:
        pid = check_id(payer_id, "payer")
        with self.store.read() as session:
            if session.get(Payer, pid) is None:
                raise NotFoundError(f"There is no payer {payer_id!r}.", field="payer")
        return pid

    def preview_payment(
        self,
        payer_id: int,
        sources: Mapping[str, AmountInput] | None = None,
        applied: Mapping[int, AmountInput] | None = None,
        *,
        reference: str | None = None,
        payment_date: date | None = None,
        mode: AllocationMode | None = None,
        source_invoice: int | None = None,
    ) -> PaymentPreview:
        """What recording a payer's remittance would do, saving nothing: allocated over the
        payer's open invoices by the clinic's mode (or the payment type's own), typed amounts
        winning; what is not applied becomes the payer's credit. An invoice billed to the
        patient or to another payer is refused."""
        draft = self.payment_draft(
            payer_id,
            reference=reference,
            payment_date=payment_date,
            mode=mode,
            source_invoice=source_invoice,
        )
        return draft.preview(sources, applied)

    def record_payment(self, preview: PaymentPreview, request_id: str) -> int:
        """Save a remittance previewed by :meth:`preview_payment`; returns the payment id. The
        same ``request_id`` again returns the same id and records nothing."""
        if type(preview) is PaymentPreview:
            self._existing(preview.patient_id)
        return Payments(self.store).record(preview, request_id)

    @requires(Permission.READ_ALL)
    def earlier_remittances(self, payer_id: int, reference: str) -> list[int]:
        """Ids of the payer's live payments already recorded with this remittance reference
        (the remittance window warns before it is keyed a second time)."""
        pid = self._existing(payer_id)
        ref = _reference(reference, "remittance reference", MAX_REMITTANCE_REFERENCE)
        if ref is None:
            return []
        with self.store.read() as session:
            return list(
                session.scalars(
                    select(Payment.id)
                    .where(
                        Payment.patient_id == pid,
                        Payment.kind == PaymentKind.PAYMENT,
                        Payment.reversed_at.is_(None),
                        func.lower(Payment.reference) == ref.lower(),
                    )
                    .order_by(Payment.id)
                )
            )

    def refund(
        self,
        payer_id: int,
        amount: AmountInput,
        *,
        method: str,
        request_id: str,
        refund_date: date | None = None,
        reason: str | None = None,
    ) -> int:
        """Return a payer's credit to it by ``method`` (never more than its credit)."""
        pid = self._existing(payer_id)
        return Payments(self.store).refund(
            pid,
            amount,
            method=method,
            request_id=request_id,
            refund_date=refund_date,
            reason=reason,
        )


def _check_dates(valid_from: object, valid_to: object) -> None:
    for name, value in (("valid_from", valid_from), ("valid_to", valid_to)):
        if value is not None and (type(value) is not date):
            raise BillingError(
                f"{name.replace('_', ' ').capitalize()} must be a date.",
                code=Refusal.BAD_DATE,
                field=name,
            )
    if isinstance(valid_from, date) and isinstance(valid_to, date) and valid_to < valid_from:
        raise BillingError(
            "The membership ends before it starts.", code=Refusal.BAD_DATE, field="valid_to"
        )


def _clear_defaults(tx: Transaction, patient_id: int) -> None:
    """No other membership of the patient stays the default for new invoices."""
    for row in tx.session.scalars(
        select(Membership).where(
            and_(
                Membership.patient_id == patient_id,
                Membership.default_for_invoices.is_(True),
                Membership.removed_at.is_(None),
            )
        )
    ):
        row.default_for_invoices = False
