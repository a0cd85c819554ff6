"""Reading the append-only audit log: filtered ids for a windowed list, and entries in plain words.

Nothing here writes: the log is written only by :func:`desktop_app.core.ledger.audit.record`,
in the same transaction as the change it describes, and the database refuses to edit or delete it.

Amounts in an entry's ``before``/``after`` JSON are integer minor units; :class:`AuditRecord` keeps
them exact and adds a one-line ``summary`` and a readable ``before_text``/``after_text`` with the
amounts formatted (``$70.00``). A window lists entries by asking :func:`audit_entry_ids` for the
ids that match an :class:`AuditFilter` and :func:`audit_entries_by_ids` for the rows it shows.

Third-party payers read as such: an entry about a payer is "Payer Bupa", one about a membership
"Membership 3" (its summary naming the patient and the payer), and a payer's account, which the
ledger keeps as a row of ``patients``, is named by the payer wherever a patient id points at it
("Recorded remittance REM-7 (payment 12) from Bupa").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from types import MappingProxyType
from typing import Any, Final, Protocol

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from ..db.models import (
    AuditEntry,
    Invoice,
    Membership,
    Patient,
    Payer,
    Payment,
    PaymentType,
    Setting,
)
from ..domain.errors import BillingError
from ..domain.money import DEFAULT_CURRENCY, format_amount, parse_minor
from ..ledger.read_models import escape_like

#: Keys whose values (or, for a mapping, whose values' values) are amounts in minor units.
MONEY_KEYS: Final = frozenset(
    """
    amount applied balance credit credit_after credit_applied credit_available credit_used
    from_credit from_money invoice_credited invoice_paid money_applied outstanding paid refunded
    reopened returned_to_credit sources to_credit total
    """.split()
)

#: How a key is shown in the detail text; keys not listed become "Key name".
LABELS: Final = {
    "patient_id": "Patient",
    "for_patient_id": "For patient",
    "payer_id": "Payer",
    "claim": "Claim reference",
    "reference": "Reference",
    "number": "Invoice number",
    "sources": "Payment sources",
    "applied": "Applied to invoices",
    "credit": "Account credit",
    "credit_used": "Account credit used",
    "to_credit": "Left as account credit",
    "returned_to_credit": "Returned to account credit",
    "request_id": "Request id",
}

#: Labels that depend on the kind of record (a transfer's ``to_credit`` is a balance).
ENTITY_LABELS: Final = {
    "credit_transfer": {
        "from_patient_id": "From patient",
        "to_patient_id": "To patient",
        "from_credit": "Sender's account credit",
        "to_credit": "Receiver's account credit",
    },
    "credit_note": {"number": "Credit note number", "applied": "Applied to the invoice"},
    "payer": {"name": "Name", "reference_label": "Reference label"},
    "email": {
        "account_id": "Patient or payer",
        "to": "To",
        "subject": "Subject",
        "kind": "Document",
        "invoice_id": "Invoice id",
        "payment_id": "Payment id",
        "message_id": "Message-ID",
        "attempt": "Attempt",
        "reason": "The server's reason",
    },
}

#: Keys shown first, in this order; the rest follow alphabetically.
KEY_ORDER: Final = (
    "patient_id",
    "for_patient_id",
    "payer_id",
    "number",
    "first_name",
    "last_name",
    "name",
    "issue_date",
    "status",
    "total",
    "sources",
    "applied",
    "credit_used",
    "to_credit",
    "paid",
    "refunded",
    "method",
    "returned_to_credit",
    "credit",
    "reversed",
    "active",
    "reason",
)

ENTITY_NAMES: Final = {"payment_type": "Payment type"}

#: Keys whose values are patient ids (summaries and details name the patient).
#: Actions on a patient's record (details, archive, restore, merge) and their verb.
PATIENT_VERBS: Final = {
    "update patient": "Changed",
    "archive patient": "Archived",
    "restore patient": "Restored",
    "merge patients": "Merged",
}
PATIENT_KEYS: Final = (
    "patient_id",
    "for_patient_id",
    "from_patient_id",
    "to_patient_id",
    "merged_patient",
    "account_id",
)
#: Actions on a payer and their verb.
PAYER_VERBS: Final = {
    "add payer": "Added",
    "update payer": "Changed",
    "archive payer": "Archived",
    "restore payer": "Restored",
    "delete payer": "Deleted",
}
#: Actions on a membership and their verb.
MEMBERSHIP_VERBS: Final = {
    "add membership": "Added",
    "update membership": "Changed",
    "remove membership": "Removed",
}

TYPE_VERBS: Final = {
    "add payment type": "Added",
    "retire payment type": "Retired",
    "deactivate payment type": "Deactivated",
}


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit entry: who did what to which record, when, and the values before and after.

    ``at`` is timezone-aware UTC. ``before``/``after`` are the stored JSON as dicts (amounts in
    exact minor units); ``before_text``/``after_text`` show them one ``Label: value`` per line with
    amounts formatted. ``record`` names the record ("Invoice #12", "Payment 7", "Patient 3") and
    ``summary`` says what happened in one line.
    """

    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    summary: str
    record: str
    before_text: str
    after_text: str


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which audit entries to list; every condition given must hold (the defaults match all).

    Attributes:
        actions: only these action names (``{"record payment", "refund credit"}``); None for any.
        entity: only entries about this kind of record (``"invoice"``, ``"payment"``, ...).
        entity_id: only entries about the record with this id.
        actor: text the actor's name must contain (any case).
        text: words that must each appear (any case) in the action, actor, record kind or the
            before/after values. ``%`` and ``_`` match themselves. A word that reads as an amount
            with a decimal point or currency symbol (``70.00``, ``$70``) also finds that amount.
        date_from: first day (inclusive) of the entry's time, as a day in ``tz``.
        date_to: last day (inclusive).
        tz: the time zone the days are in; None for the computer's local time.
    """

    actions: Set[str] | None = None
    entity: str | None = None
    entity_id: int | None = None
    actor: str = ""
    text: str = ""
    date_from: date | None = None
    date_to: date | None = None
    tz: tzinfo | None = None


class AuditLogReader(Protocol):
    """What a window needs to list the audit log (``Clinic`` provides it)."""

    def audit_entry_ids(
        self, filt: AuditFilter | None = None, *, newest_first: bool = True
    ) -> list[int]:
        """Ids of the entries matching ``filt``, newest first unless asked otherwise."""
        ...

    def audit_entries_by_ids(self, entry_ids: Sequence[int]) -> list[AuditRecord]:
        """The entries with these ids, in the same order."""
        ...

    def audit_actions(self) -> list[str]:
        """Every action name in the log, alphabetically."""
        ...

    def audit_actors(self) -> list[str]:
        """Every actor in the log, alphabetically."""
        ...


# -- queries --------------------------------------------------------------------------------


def _start_of(day: date, tz: tzinfo | None) -> datetime:
    """The first moment of ``day`` in ``tz`` (None: the computer's local time), in UTC."""
    if tz is None:
        return datetime.combine(day, time()).astimezone(UTC)  # naive: read as local time
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def _stored_moment(moment: datetime) -> datetime:
    """``moment`` as the database compares it: SQLite keeps UTC without a zone, so drop it."""
    return moment.replace(tzinfo=None)


def _text_condition(word: str, currency: str) -> ColumnElement[bool]:
    lowered = word.lower()
    plain = "%" + escape_like(lowered) + "%"
    # before/after are JSON: a quote or backslash in a value is stored escaped.
    as_json = "%" + escape_like(json.dumps(lowered, ensure_ascii=False)[1:-1]) + "%"
    conditions = [
        func.lower(AuditEntry.action).like(plain, escape="\\"),
        func.lower(AuditEntry.actor).like(plain, escape="\\"),
        func.lower(AuditEntry.entity).like(plain, escape="\\"),
        func.lower(AuditEntry.before).like(as_json, escape="\\"),
        func.lower(AuditEntry.after).like(as_json, escape="\\"),
    ]
    minor = _amount_in(word, currency)
    if minor is not None:
        # json.dumps writes ": 7000," or ": 7000}" for a value (default separators).
        for end in (",", "}"):
            pattern = f"%: {minor}{end}%"
            conditions.append(AuditEntry.before.like(pattern))
            conditions.append(AuditEntry.after.like(pattern))
    return or_(*conditions)


def _amount_in(word: str, currency: str) -> int | None:
    """The amount a search word means, if it is written as one (``70.00``, ``$70``)."""
    if not any(ch.isdigit() for ch in word) or (word[0].isdigit() and "." not in word):
        return None
    try:
        minor = parse_minor(word, currency, allow_negative=True)
    except BillingError:
        return None
    return abs(minor)


def _filtered(query: Select[Any], filt: AuditFilter, currency: str) -> Select[Any]:
    if filt.actions is not None:
        query = query.where(AuditEntry.action.in_(sorted(filt.actions)))
    if filt.entity is not None:
        query = query.where(AuditEntry.entity == filt.entity)
    if filt.entity_id is not None:
        query = query.where(AuditEntry.entity_id == filt.entity_id)
    if filt.actor.strip():
        pattern = "%" + escape_like(filt.actor.strip().lower()) + "%"
        query = query.where(func.lower(AuditEntry.actor).like(pattern, escape="\\"))
    for word in filt.text.split():
        query = query.where(_text_condition(word, currency))
    if filt.date_from is not None:
        query = query.where(AuditEntry.at >= _stored_moment(_start_of(filt.date_from, filt.tz)))
    if filt.date_to is not None:
        end = _start_of(filt.date_to + timedelta(days=1), filt.tz)
        query = query.where(AuditEntry.at < _stored_moment(end))
    return query


def _currency(session: Session) -> str:
    row = session.get(Setting, "currency")
    return row.value if row is not None else DEFAULT_CURRENCY


def audit_entry_ids(
    session: Session, filt: AuditFilter | None = None, newest_first: bool = True
) -> list[int]:
    """Ids of the audit entries matching ``filt`` (all by default), in time order.

    Newest first by default: by the time of the change, then by id (the order they were written).
    Only ids are read, so a window can list a long log and fetch the rows it shows in pages.
    """
    query = _filtered(select(AuditEntry.id), filt or AuditFilter(), _currency(session))
    if newest_first:
        query = query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    else:
        query = query.order_by(AuditEntry.at, AuditEntry.id)
    return list(session.scalars(query))


def audit_count(session: Session, filt: AuditFilter | None = None) -> int:
    """How many audit entries match ``filt`` (all by default)."""
    query = _filtered(
        select(func.count()).select_from(AuditEntry), filt or AuditFilter(), _currency(session)
    )
    return int(session.scalar(query) or 0)


def audit_actions(session: Session) -> list[str]:
    """Every action name that appears in the log, alphabetically (for a filter list)."""
    return list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


def audit_actors(session: Session) -> list[str]:
    """Every actor that appears in the log, alphabetically."""
    return list(session.scalars(select(AuditEntry.actor).distinct().order_by(AuditEntry.actor)))


def audit_entries_by_ids(
    session: Session, entry_ids: Sequence[int], currency: str
) -> list[AuditRecord]:
    """The audit entries with these ids, in the same order (ids that do not exist are left out).

    Reads the entries in one query plus at most three more, whatever their number, for the
    invoice numbers, payment kinds and patients and payment type names the summaries mention.
    """
    if not entry_ids:
        return []
    rows = {
        row.id: row
        for row in session.scalars(select(AuditEntry).where(AuditEntry.id.in_(list(entry_ids))))
    }
    parsed = {entry_id: (_load(row.before), _load(row.after)) for entry_id, row in rows.items()}
    context = _Context.read(session, rows.values(), parsed, currency)
    records = []
    for entry_id in entry_ids:
        row = rows.get(entry_id)
        if row is None:
            continue
        before, after = parsed[entry_id]
        at = row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=UTC)
        records.append(
            AuditRecord(
                id=row.id,
                at=at.astimezone(UTC),
                actor=row.actor,
                action=row.action,
                entity=row.entity,
                entity_id=row.entity_id,
                before=before,
                after=after,
                summary=context.summary(row, before or {}, after or {}),
                record=context.record(row.entity, row.entity_id),
                before_text=context.describe(before, row.entity),
                after_text=context.describe(after, row.entity),
            )
        )
    return records


def _load(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return {"value": text}
    return value if isinstance(value, dict) else {"value": value}


# -- plain words ----------------------------------------------------------------------------


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


@dataclass(frozen=True, slots=True)
class _Context:
    """What the summaries mention beyond the entry itself, read once for a page of entries."""

    currency: str
    invoice_numbers: Mapping[int, int]
    invoice_patients: Mapping[int, int]
    payments: Mapping[int, tuple[int, str]]
    payment_types: Mapping[int, str]
    #: "Last, First" of each patient the entries mention (read now: names are never rewritten
    #: into the log, which is append-only and hash-chained); a payer's account by the payer's
    #: name.
    patient_names: Mapping[int, str]
    #: The name of each payer the entries mention (a payer's id is its account's).
    payer_names: Mapping[int, str]
    #: Each membership the entries are about: (patient id, payer id).
    memberships: Mapping[int, tuple[int, int]]

    @classmethod
    def read(
        cls,
        session: Session,
        rows: Iterable[AuditEntry],
        parsed: Mapping[int, tuple[dict[str, Any] | None, dict[str, Any] | None]],
        currency: str,
    ) -> _Context:
        invoice_ids: set[int] = set()
        payment_ids: set[int] = set()
        type_ids: set[int] = set()
        for row in rows:
            if row.entity_id is None:
                continue
            if row.entity == "invoice":
                invoice_ids.add(row.entity_id)
            elif row.entity == "payment":
                payment_ids.add(row.entity_id)
            elif row.entity == "payment_type":
                type_ids.add(row.entity_id)
        patient_ids: set[int] = set()
        payer_ids: set[int] = set()
        membership_ids: set[int] = set()
        for row in rows:
            if row.entity == "patient" and row.entity_id is not None:
                patient_ids.add(row.entity_id)
            elif row.entity == "payer" and row.entity_id is not None:
                payer_ids.add(row.entity_id)
            elif row.entity == "membership" and row.entity_id is not None:
                membership_ids.add(row.entity_id)
        memberships: dict[int, tuple[int, int]] = {}
        if membership_ids:
            for mid, member, payer_id in session.execute(
                select(Membership.id, Membership.patient_id, Membership.payer_id).where(
                    Membership.id.in_(sorted(membership_ids))
                )
            ):
                memberships[mid] = (member, payer_id)
                patient_ids.add(member)
                payer_ids.add(payer_id)
        for before, after in parsed.values():
            applied = (after or {}).get("applied")
            if isinstance(applied, dict):
                invoice_ids.update(i for key in applied if (i := _int(key)) is not None)
            for values in (before, after):
                for key in PATIENT_KEYS:
                    if (pid := _int((values or {}).get(key))) is not None:
                        patient_ids.add(pid)
                if (payer := _int((values or {}).get("payer_id"))) is not None:
                    payer_ids.add(payer)
        numbers: dict[int, int] = {}
        patients: dict[int, int] = {}
        if invoice_ids:
            for iid, number, pid in session.execute(
                select(Invoice.id, Invoice.number, Invoice.patient_id).where(
                    Invoice.id.in_(sorted(invoice_ids))
                )
            ):
                numbers[iid], patients[iid] = number or 0, pid  # 0: a draft (no number)
                patient_ids.add(pid)
        payments: dict[int, tuple[int, str]] = {}
        if payment_ids:
            for pay_id, pid, kind in session.execute(
                select(Payment.id, Payment.patient_id, Payment.kind).where(
                    Payment.id.in_(sorted(payment_ids))
                )
            ):
                payments[pay_id] = (pid, kind)
                patient_ids.add(pid)
        types: dict[int, str] = {}
        if type_ids:
            types = {
                tid: name
                for tid, name in session.execute(
                    select(PaymentType.id, PaymentType.name).where(
                        PaymentType.id.in_(sorted(type_ids))
                    )
                )
            }
        names: dict[int, str] = {}
        if patient_ids:
            names = {
                pid: f"{last}, {first}"
                for pid, first, last in session.execute(
                    select(Patient.id, Patient.first_name, Patient.last_name).where(
                        Patient.id.in_(sorted(patient_ids))
                    )
                )
            }
        payers: dict[int, str] = {}
        if payer_ids or patient_ids:  # any patient id may be a payer's account
            payers = {
                pid: name
                for pid, name in session.execute(
                    select(Payer.id, Payer.name).where(
                        Payer.id.in_(sorted(payer_ids | patient_ids))
                    )
                )
            }
            names.update({pid: name for pid, name in payers.items() if pid in names})
        return cls(
            currency,
            numbers,
            patients,
            payments,
            types,
            MappingProxyType(names),
            MappingProxyType(payers),
            MappingProxyType(memberships),
        )

    # -- pieces ------------------------------------------------------------------------------

    def money(self, value: Any) -> str:
        minor = _int(value)
        return format_amount(minor, self.currency) if minor is not None else str(value)

    def invoice(self, invoice_id: Any) -> str:
        iid = _int(invoice_id)
        number = self.invoice_numbers.get(iid) if iid is not None else None
        return f"invoice #{number}" if number is not None else f"invoice {invoice_id}"

    def patient(self, patient_id: Any) -> str:
        """A patient by name ("Lovelace, Ada"), a payer's account by the payer's ("Bupa"), or
        "patient 41" if the name is not known."""
        pid = _int(patient_id)
        name = self.patient_names.get(pid) if pid is not None else None
        return name if name is not None else f"patient {patient_id}"

    def payer(self, payer_id: Any, known: Any = None) -> str:
        """A payer by name ("Bupa"); ``known`` is the name the entry itself holds (a deleted
        payer's); "payer 12" when neither is known."""
        pid = _int(payer_id)
        name = self.payer_names.get(pid) if pid is not None else None
        return name or (str(known) if known else f"payer {payer_id}")

    def is_payer(self, account_id: Any) -> bool:
        """Whether the account is a payer's."""
        return _int(account_id) in self.payer_names

    def record(self, entity: str, entity_id: int | None) -> str:
        """The record an entry is about, in words: "Invoice #12", "Refund 7", "Setting",
        "Patient Lovelace, Ada"."""
        if entity in ("patient", "payer") and entity_id is not None:
            if entity_id in self.payer_names:
                return f"Payer {self.payer_names[entity_id]}"
            if entity == "patient" and entity_id in self.patient_names:
                return f"Patient {self.patient(entity_id)}"
        if entity == "invoice" and entity_id is not None:
            return self.invoice(entity_id).capitalize()
        if entity == "payment" and entity_id is not None and entity_id in self.payments:
            return f"{self.payments[entity_id][1].capitalize()} {entity_id}"
        name = ENTITY_NAMES.get(entity, entity.replace("_", " ").capitalize())
        return name if entity_id is None else f"{name} {entity_id}"

    def value(self, key: str, value: Any) -> str:
        if value is None:
            return "(none)"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if key in MONEY_KEYS and _int(value) is not None and not isinstance(value, str):
            return self.money(value)
        if key in PATIENT_KEYS and _int(value) in self.patient_names:
            return f"{self.patient(value)} ({value})"
        if key == "payer_id" and _int(value) in self.payer_names:
            return f"{self.payer(value)} ({value})"
        return str(value)

    def describe(self, values: Mapping[str, Any] | None, entity: str = "") -> str:
        """``Label: value`` per line (nested mappings indented), amounts formatted."""
        if values is None:
            return "(nothing: the record did not exist before)"
        if not values:
            return "(nothing)"
        rank = {key: n for n, key in enumerate(KEY_ORDER)}
        lines: list[str] = []
        for key in sorted(values, key=lambda k: (rank.get(k, len(rank)), k)):
            value = values[key]
            label = ENTITY_LABELS.get(entity, {}).get(key) or LABELS.get(
                key, key.replace("_", " ").capitalize()
            )
            if isinstance(value, dict):
                lines.append(f"{label}:" if value else f"{label}: (none)")
                for sub, amount in value.items():
                    name = self.invoice(sub) if key == "applied" else str(sub)
                    shown = self.money(amount) if key in MONEY_KEYS else str(amount)
                    lines.append(f"    {name}: {shown}")
            else:
                lines.append(f"{label}: {self.value(key, value)}")
        return "\n".join(lines)

    def _patient(self, after: Mapping[str, Any], entity_id: int | None, entity: str) -> Any:
        """The patient the entry is about: from its values, else from the record it names."""
        pid = after.get("patient_id")
        if pid is None and entity_id is not None:
            if entity == "payment" and entity_id in self.payments:
                pid = self.payments[entity_id][0]
            elif entity == "invoice":
                pid = self.invoice_patients.get(entity_id)
        return pid

    # -- one line per action -------------------------------------------------------------------

    def summary(self, row: AuditEntry, before: dict[str, Any], after: dict[str, Any]) -> str:
        """What the entry did, in one line of plain words."""
        action, entity_id = row.action, row.entity_id
        pid = self._patient(after, entity_id, row.entity)
        patient = f" for {self.patient(pid)}" if pid is not None else ""
        m = self.money
        if action == "add patient":
            if "first_name" in after or "last_name" in after:  # the name as it was saved
                name = ", ".join(str(after[k]) for k in ("last_name", "first_name") if k in after)
            else:
                name = self.patient(entity_id)
            return f"Added patient {name}"
        if action == "create invoice":
            if after.get("for_patient_id") is not None:  # billed to a payer
                patient = (
                    f" for {self.patient(after['for_patient_id'])}, billed to "
                    f"{self.patient(after.get('patient_id'))}"
                )
                if after.get("claim"):
                    patient += f" (claim {after['claim']})"
            if after.get("split_with") is not None:  # split billing: the patient's gap
                patient += f" (the gap of invoice #{after['split_with']})"
            text = f"Created {self.invoice(entity_id)}{patient}: {m(after.get('total'))}"
            issued = after.get("issue_date")
            return f"{text}, issued {issued}" if issued else text
        if action == "void invoice":
            text = f"Voided {self.invoice(entity_id)}{patient}"
            returned = _int(after.get("returned_to_credit")) or 0
            if returned:
                text += f": {m(returned)} returned to account credit"
            return text + _reason(after)
        if action == "record payment":
            return self._payment_summary(entity_id, patient, after)
        if action == "refund credit":
            to = f" to {self.patient(pid)}" if pid is not None else ""
            how = f" by {after['method']}" if after.get("method") else ""
            return f"Refunded {m(after.get('refunded'))} of account credit{to}{how}" + _reason(
                after
            )
        if action in ("reverse payment", "reverse refund", "reverse credit note"):
            if row.entity == "payment":
                kind = self.payments.get(entity_id or -1, (0, action.split()[-1]))[1]
            else:
                kind = row.entity.replace("_", " ")
            text = f"Reversed {kind} {entity_id}{patient}"
            if "credit" in before and "credit" in after:
                text += f"; account credit {m(before['credit'])} → {m(after['credit'])}"
            return text + _reason(after)
        if action == "remove application":
            invoice = (
                f"invoice #{after['invoice_number']}" if "invoice_number" in after else "an invoice"
            )
            text = f"Removed {m(after.get('returned_to_credit'))} applied to {invoice}"
            if after.get("payment_id") is not None:
                text += f" by payment {after['payment_id']}"
            return f"{text}{patient}; returned to account credit" + _reason(after)
        if action == "issue credit note":
            text = f"Issued credit note {after.get('number', entity_id)}"
            if "invoice_number" in after:
                text += f" against invoice #{after['invoice_number']}"
            parts = [m(after.get("amount"))]
            if _int(after.get("applied")):
                parts.append(f"{m(after['applied'])} off the invoice")
            if _int(after.get("to_credit")):
                parts.append(f"{m(after['to_credit'])} to account credit")
            return f"{text}{patient}: " + ", ".join(parts) + _reason(after)
        if action in ("transfer credit", "reverse transfer"):
            between = (
                f" from {self.patient(after.get('from_patient_id'))} to "
                f"{self.patient(after.get('to_patient_id'))}"
            )
            if action == "transfer credit":
                return f"Transferred {m(after.get('amount'))} of account credit{between}" + (
                    _reason(after)
                )
            return f"Reversed credit transfer {entity_id}{between}" + _reason(after)
        if action in PATIENT_VERBS:
            return self._patient_summary(action, entity_id, before, after)
        if action in PAYER_VERBS:
            return self._payer_summary(action, entity_id, before, after)
        if action in MEMBERSHIP_VERBS:
            return self._membership_summary(action, entity_id, before, after)
        if action == "change setting":
            changes = [
                f"{key.replace('_', ' ')} from {_setting(key, before.get(key))} to "
                f"{_setting(key, value)}"
                for key, value in after.items()
            ]
            return "Changed " + "; ".join(changes) if changes else "Changed a setting"
        if row.entity == "payment_type":
            type_name = after.get("name") or self.payment_types.get(entity_id or -1)
            what = f"payment type {type_name}" if type_name else f"payment type {entity_id}"
            if action == "add payment type" and before.get("active") is False:
                return f"Brought back {what}"
            if action in TYPE_VERBS:
                return f"{TYPE_VERBS[action]} {what}"
        return self._generic(row, before, after)

    def _patient_summary(
        self, action: str, entity_id: int | None, before: dict[str, Any], after: dict[str, Any]
    ) -> str:
        """Changed details, archived, restored or merged: the patient by name."""
        who = self.patient(entity_id)
        if action == "update patient":
            fields = ", ".join(key.replace("_", " ") for key in after)
            return f"Changed {who}'s details: {fields}"
        if action == "merge patients":
            merged = self.patient(before.get("merged_patient"))
            moved = [
                f"{len(after[key])} {label}"
                for key, label in (
                    ("invoices", "invoice(s)"),
                    ("payments", "payment(s)"),
                    ("refunds", "refund(s)"),
                    ("credit_notes", "credit note(s)"),
                    ("transfers", "transfer(s)"),
                )
                if after.get(key)
            ]
            text = f"Merged {merged} into {who}"
            return (text + ": moved " + ", ".join(moved) if moved else text) + _reason(before)
        verb = PATIENT_VERBS[action]
        return f"{verb} {who}" + (_reason(after) if action == "archive patient" else "")

    def _payer_summary(
        self, action: str, entity_id: int | None, before: dict[str, Any], after: dict[str, Any]
    ) -> str:
        """Added, changed, archived, restored or deleted a payer: the payer by name."""
        who = self.payer(entity_id, after.get("name") or before.get("name"))
        verb = PAYER_VERBS[action]
        if action == "add payer":
            kind = f" ({after['kind']})" if after.get("kind") else ""
            return f"Added payer {who}{kind}"
        if action == "update payer":
            changes = [
                f"{key.replace('_', ' ')} {_quoted(before.get(key))} → {_quoted(value)}"
                for key, value in after.items()
            ]
            return f"Changed payer {who}" + (": " + ", ".join(changes) if changes else "")
        return f"{verb} payer {who}"

    def _membership_summary(
        self, action: str, entity_id: int | None, before: dict[str, Any], after: dict[str, Any]
    ) -> str:
        """Added, changed or removed a membership: the patient and the payer by name."""
        values = after if action == "add membership" else before
        patient_id, payer_id = self.memberships.get(
            entity_id or -1, (values.get("patient_id"), values.get("payer_id"))
        )
        what = f"membership {entity_id}"
        if patient_id is not None and payer_id is not None:
            what += f" of {self.patient(patient_id)} with {self.payer(payer_id)}"
        verb = MEMBERSHIP_VERBS[action]
        if action == "add membership":
            parts = []
            if after.get("member_number"):
                parts.append(f"member number {after['member_number']}")
            if after.get("default_for_invoices"):
                parts.append("the default for new invoices")
            return f"{verb} {what}" + (": " + ", ".join(parts) if parts else "")
        if action == "update membership":
            changes = [
                f"{key.replace('_', ' ')} {self.value(key, before.get(key))} → "
                f"{self.value(key, value)}"
                for key, value in after.items()
            ]
            return f"{verb} {what}" + (": " + ", ".join(changes) if changes else "")
        return f"{verb} {what}"

    def _payment_summary(self, entity_id: int | None, patient: str, after: dict[str, Any]) -> str:
        m = self.money
        total = _int(after.get("total")) or 0
        credit_used = _int(after.get("credit_used")) or 0
        text = f"Recorded payment {entity_id}{patient}"
        if self.is_payer(after.get("patient_id")):  # a remittance, from the payer
            reference = f" {after['reference']}" if after.get("reference") else ""
            text = (
                f"Recorded remittance{reference} (payment {entity_id}) from "
                f"{self.patient(after['patient_id'])}"
            )
        parts = []
        if total or not credit_used:
            parts.append(m(total))
            sources = after.get("sources")
            if isinstance(sources, dict) and sources:
                parts[0] += " (" + ", ".join(f"{k} {m(v)}" for k, v in sources.items()) + ")"
            if credit_used:
                parts.append(f"{m(credit_used)} of account credit used")
        else:  # no new money: it only spent credit
            text += " from account credit"
        applied = after.get("applied")
        if isinstance(applied, dict):
            parts.extend(f"{m(v)} to {self.invoice(k)}" for k, v in applied.items())
        to_credit = _int(after.get("to_credit")) or 0
        if to_credit:
            parts.append(f"{m(to_credit)} left as credit")
        return f"{text}: " + ", ".join(parts)

    def _generic(self, row: AuditEntry, before: dict[str, Any], after: dict[str, Any]) -> str:
        text = f"{row.action[:1].upper()}{row.action[1:]}: {self.record(row.entity, row.entity_id)}"
        changed = [
            f"{key.replace('_', ' ')} {self.value(key, before.get(key))} → "
            f"{self.value(key, after.get(key))}"
            for key in sorted(set(before) | set(after))
            if before.get(key) != after.get(key) and not isinstance(after.get(key), dict)
        ]
        return text + ("; " + ", ".join(changed) if changed else "")


def _setting(key: str, value: Any) -> str:
    """A setting's value as shown: quoted, and allocation modes in words ("oldest first")."""
    text = str(value)
    return repr(text.replace("_", " ") if key == "allocation_mode" else text)


def _quoted(value: Any) -> str:
    """A payer's detail as a summary shows it: quoted, or "(none)"."""
    return "(none)" if value is None else repr(str(value))


def _reason(after: Mapping[str, Any]) -> str:
    reason = after.get("reason")
    return f" (reason: {reason})" if reason else ""
