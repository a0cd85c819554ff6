"""Verify the ledger: recompute every invariant of docs/ledger-rules.md ("Invariants") from the
raw records.

Each violation comes back as one sentence in plain words. The checks are set-based SQL, so a clinic
with a million invoices verifies in seconds, not hours.

I1 per patient: money received - money refunded + credit from credit notes + credit transferred
   in - credit transferred out = applied to invoices + account credit.
I2 account credit >= 0.
I3 per invoice: 0 <= paid + credited <= total (credited: the part of its credit notes that reduced
   what it owed), the status matches the balance, and its live credit notes add up to no more than
   its total (none on a void invoice).
I4 an application's (or credit note's) payment and invoice belong to the same patient; no dangling
   references.
I5 one payment per request id.
I6 a payment and its applications exist together: its sources add up to its total (each with the
   sign of its kind), it records money or applications (never nothing), and its own money funds its
   invoices before credit does (money applied = min(total, applied)).
I7 every cached figure (patient credit and outstanding, invoice paid and total) equals the
   figure recomputed from the records.
I8 every money record has its audit entry: each invoice, payment, refund, credit note and credit
   transfer its entry for being saved, and each void, reversal and removed application its own
   (an application removed by its payment's reversal or its invoice's void is covered by that
   entry). Invoices and payments created by a CSV import are covered by their import's entry
   (one per imported file). One anti-join per check on the audit log's (entity, entity_id) index.
I9 a patient merged into another (``merged_into``) is archived, holds no credit or balance and
   owns no invoice, payment, credit note, live credit transfer or statement run item; the patient
   kept exists.
I10 payers' accounts (I1-I7 hold for them as for patients): an invoice owed by a payer names the
   patient it is for, who is a patient and not a payer, and an invoice owed by a patient names no
   other; a split gap invoice is its patient's own and its partner is billed to a payer for the
   same patient; a payer's account is never merged, never takes part in a credit transfer and is
   archived exactly when its payer is; a membership joins a patient to a payer.
I11 email: a statement run's account emailed has its one message, a statement to that account,
   and an account not emailed has none; a reminder's message is a reminder about its invoice,
   to the invoice's account; every message in the outbox has its audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, and_, case, func, literal, not_, or_, select
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, aliased

from ..db import search_index
from ..db.engine import WRITE_OPTION
from ..db.models import (
    Application,
    AuditEntry,
    CreditNote,
    CreditTransfer,
    Invoice,
    InvoiceLine,
    Membership,
    OutboxMessage,
    Patient,
    Payer,
    Payment,
    PaymentSource,
    ReminderSent,
    StatementRunItem,
)
from ..domain.kinds import AuditAction, AuditEntity, InvoiceStatus, PaymentKind
from ..domain.money import format_amount


@dataclass(frozen=True)
class _Queries:
    patients: Select[*tuple[Any, ...]]
    invoices: Select[*tuple[Any, ...]]
    applications: Select[*tuple[Any, ...]]
    request_ids: Select[*tuple[Any, ...]]
    payments: Select[*tuple[Any, ...]]
    credit_notes: Select[*tuple[Any, ...]]


@cache
def _queries() -> _Queries:
    """The verification statements, built once (SQLAlchemy then reuses their compiled form)."""
    live = Application.removed_at.is_(None)
    counted = Payment.reversed_at.is_(None)

    received = (
        select(
            Payment.patient_id.label("pid"),
            func.sum(case((Payment.total_minor > 0, Payment.total_minor), else_=0)).label("inn"),
            func.sum(case((Payment.total_minor < 0, -Payment.total_minor), else_=0)).label("out"),
        )
        .where(counted)
        .group_by(Payment.patient_id)
        .subquery()
    )
    applied = (
        select(Payment.patient_id.label("pid"), func.sum(Application.amount_minor).label("amt"))
        .join(Payment, Payment.id == Application.payment_id)
        .where(live)
        .group_by(Payment.patient_id)
        .subquery()
    )
    paid_by_invoice = (
        select(Application.invoice_id.label("iid"), func.sum(Application.amount_minor).label("amt"))
        .where(live)
        .group_by(Application.invoice_id)
        .subquery()
    )
    live_note = CreditNote.reversed_at.is_(None)
    noted_by_invoice = (
        select(
            CreditNote.invoice_id.label("iid"),
            func.sum(CreditNote.applied_minor).label("applied"),
            func.sum(CreditNote.amount_minor).label("amt"),
            func.sum(CreditNote.to_credit_minor).label("returned"),
        )
        .where(live_note)
        .group_by(CreditNote.invoice_id)
        .subquery()
    )
    owed = (
        select(
            Invoice.patient_id.label("pid"),
            func.sum(
                Invoice.total_minor
                - func.coalesce(paid_by_invoice.c.amt, 0)
                - func.coalesce(noted_by_invoice.c.applied, 0)
            ).label("amt"),
        )
        .outerjoin(paid_by_invoice, paid_by_invoice.c.iid == Invoice.id)
        .outerjoin(noted_by_invoice, noted_by_invoice.c.iid == Invoice.id)
        .where(Invoice.status == InvoiceStatus.OPEN)
        .group_by(Invoice.patient_id)
        .subquery()
    )
    noted = (
        select(
            CreditNote.patient_id.label("pid"),
            func.sum(CreditNote.to_credit_minor).label("amt"),
        )
        .where(live_note)
        .group_by(CreditNote.patient_id)
        .subquery()
    )
    live_transfer = CreditTransfer.reversed_at.is_(None)
    sent = (
        select(
            CreditTransfer.from_patient_id.label("pid"),
            func.sum(CreditTransfer.amount_minor).label("amt"),
        )
        .where(live_transfer)
        .group_by(CreditTransfer.from_patient_id)
        .subquery()
    )
    got = (
        select(
            CreditTransfer.to_patient_id.label("pid"),
            func.sum(CreditTransfer.amount_minor).label("amt"),
        )
        .where(live_transfer)
        .group_by(CreditTransfer.to_patient_id)
        .subquery()
    )
    patients = (
        select(
            Patient.id,
            Patient.first_name,
            Patient.last_name,
            Patient.credit_minor,
            Patient.outstanding_minor,
            func.coalesce(received.c.inn, 0),
            func.coalesce(received.c.out, 0),
            func.coalesce(applied.c.amt, 0),
            func.coalesce(owed.c.amt, 0),
            func.coalesce(noted.c.amt, 0),
            func.coalesce(got.c.amt, 0) - func.coalesce(sent.c.amt, 0),
        )
        .outerjoin(received, received.c.pid == Patient.id)
        .outerjoin(applied, applied.c.pid == Patient.id)
        .outerjoin(owed, owed.c.pid == Patient.id)
        .outerjoin(noted, noted.c.pid == Patient.id)
        .outerjoin(sent, sent.c.pid == Patient.id)
        .outerjoin(got, got.c.pid == Patient.id)
        .order_by(Patient.id)
    )

    line_totals = (
        select(InvoiceLine.invoice_id.label("iid"), func.sum(InvoiceLine.amount_minor).label("amt"))
        .group_by(InvoiceLine.invoice_id)
        .subquery()
    )
    recomputed_paid = func.coalesce(paid_by_invoice.c.amt, 0)
    recomputed_credited = func.coalesce(noted_by_invoice.c.applied, 0)
    noted_total = func.coalesce(noted_by_invoice.c.amt, 0)
    noted_returned = func.coalesce(noted_by_invoice.c.returned, 0)
    line_sum = func.coalesce(line_totals.c.amt, 0)
    expected_status = case(
        (Invoice.status == InvoiceStatus.VOID, literal("void")),
        (Invoice.status == InvoiceStatus.DRAFT, literal("draft")),
        (recomputed_paid + recomputed_credited == Invoice.total_minor, literal("paid")),
        else_=literal("open"),
    )
    invoices = (
        select(
            Invoice.number,
            Invoice.status,
            Invoice.total_minor,
            Invoice.paid_minor,
            recomputed_paid,
            line_sum,
            expected_status,
            Invoice.credited_minor,
            recomputed_credited,
            noted_total,
            noted_returned,
        )
        .outerjoin(paid_by_invoice, paid_by_invoice.c.iid == Invoice.id)
        .outerjoin(noted_by_invoice, noted_by_invoice.c.iid == Invoice.id)
        .outerjoin(line_totals, line_totals.c.iid == Invoice.id)
        .where(
            or_(
                Invoice.paid_minor != recomputed_paid,
                Invoice.credited_minor != recomputed_credited,
                recomputed_paid < 0,
                recomputed_paid + recomputed_credited > Invoice.total_minor,
                noted_total > Invoice.total_minor,
                recomputed_paid < noted_returned,
                Invoice.status != expected_status,
                and_(Invoice.status == InvoiceStatus.VOID, recomputed_paid + noted_total != 0),
                Invoice.total_minor != line_sum,
            )
        )
        .order_by(Invoice.number)
    )

    inv = aliased(Invoice)
    pay = aliased(Payment)
    applications = (
        select(
            Application.id,
            inv.number,
            Application.payment_id,
            pay.patient_id,
            inv.patient_id,
            pay.reversed_at.is_not(None),
            inv.status,
        )
        .outerjoin(pay, pay.id == Application.payment_id)
        .outerjoin(inv, inv.id == Application.invoice_id)
        .where(
            or_(
                pay.id.is_(None),
                inv.id.is_(None),
                pay.patient_id != inv.patient_id,
                and_(live, or_(pay.reversed_at.is_not(None), inv.status == InvoiceStatus.VOID)),
            )
        )
        .order_by(Application.id)
    )

    request_ids = (
        select(Payment.request_id, func.count())
        .group_by(Payment.request_id)
        .having(func.count() > 1)
    )

    wrong_sign = or_(
        and_(Payment.kind == PaymentKind.PAYMENT, PaymentSource.amount_minor <= 0),
        and_(Payment.kind == PaymentKind.REFUND, PaymentSource.amount_minor >= 0),
    )
    sources = (
        select(
            PaymentSource.payment_id.label("pay"),
            func.sum(PaymentSource.amount_minor).label("amt"),
            func.sum(case((wrong_sign, 1), else_=0)).label("wrong"),
        )
        .join(Payment, Payment.id == PaymentSource.payment_id)
        .group_by(PaymentSource.payment_id)
        .subquery()
    )
    apps = (
        select(
            Application.payment_id.label("pay"),
            func.count().label("n"),
            func.sum(Application.from_money_minor).label("money"),
            func.sum(Application.amount_minor).label("amt"),
        )
        .group_by(Application.payment_id)
        .subquery()
    )
    source_sum = func.coalesce(sources.c.amt, 0)
    app_count = func.coalesce(apps.c.n, 0)
    money_applied = func.coalesce(apps.c.money, 0)
    wrong_sources = func.coalesce(sources.c.wrong, 0)
    # docs/ledger-rules.md, "Allocation": the payment's money funds its invoices first, so
    # (counting applications later removed too, as they were made) the money applied is
    # min(total, everything applied).
    applied_all = func.coalesce(apps.c.amt, 0)
    expected_money = case(
        (Payment.total_minor <= 0, 0),
        (Payment.total_minor < applied_all, Payment.total_minor),
        else_=applied_all,
    )
    payments = (
        select(
            Payment.id,
            Payment.kind,
            Payment.total_minor,
            source_sum,
            app_count,
            money_applied,
            expected_money,
            wrong_sources,
        )
        .outerjoin(sources, sources.c.pay == Payment.id)
        .outerjoin(apps, apps.c.pay == Payment.id)
        .where(
            or_(
                Payment.total_minor != source_sum,
                and_(Payment.total_minor == 0, app_count == 0),
                money_applied != expected_money,
                wrong_sources > 0,
                and_(Payment.kind == PaymentKind.REFUND, app_count > 0),
            )
        )
        .order_by(Payment.id)
    )
    note_invoice = aliased(Invoice)
    credit_notes = (
        select(CreditNote.number, CreditNote.patient_id, note_invoice.patient_id)
        .outerjoin(note_invoice, note_invoice.id == CreditNote.invoice_id)
        .where(or_(note_invoice.id.is_(None), note_invoice.patient_id != CreditNote.patient_id))
        .order_by(CreditNote.number)
    )
    return _Queries(patients, invoices, applications, request_ids, payments, credit_notes)


#: Saves named in the I8 message; the rest are counted.
MAX_UNAUDITED = 10


def _audited(entity: str, record_id: Any, *actions: str) -> ColumnElement[bool]:
    """Whether the audit log has an entry of one of ``actions`` for the record."""
    return (
        select(AuditEntry.id)
        .where(
            AuditEntry.entity == entity,
            AuditEntry.entity_id == record_id,
            AuditEntry.action.in_(actions),
        )
        .exists()
    )


@cache
def _audit_queries() -> list[tuple[int, str, Select[*tuple[Any, ...]]]]:
    """I8, one query per check: the records whose audit entry is missing, as (number or id, what
    the record is called) rows ("invoice #", 12). Each check comes with its table's place in the
    message and what happened ("created")."""
    audited_batches = select(AuditEntry.entity_id).where(AuditEntry.entity == "import_batch")

    def saved(model: Any, entity: str, *actions: str) -> ColumnElement[bool]:
        """Not audited when saved (an imported record: its import's entry covers it)."""
        missing = not_(_audited(entity, model.id, *actions))
        if hasattr(model, "import_batch_id"):
            imported = model.import_batch_id.in_(audited_batches)
            return and_(or_(model.import_batch_id.is_(None), not_(imported)), missing)
        return missing

    payment_label = case((Payment.kind == PaymentKind.REFUND, "refund "), else_="payment ")
    pay = aliased(Payment)
    inv = aliased(Invoice)
    return [
        (
            0,
            "created",
            select(Invoice.number, literal("invoice #"))
            .where(
                case(
                    (
                        Invoice.status == InvoiceStatus.DRAFT,
                        saved(Invoice, "invoice", "save draft"),
                    ),
                    else_=saved(Invoice, "invoice", "create invoice", "issue invoice"),
                )
            )
            .order_by(Invoice.number),
        ),
        (
            0,
            "voided",
            select(Invoice.number, literal("invoice #"))
            .where(
                Invoice.status == InvoiceStatus.VOID,
                not_(_audited("invoice", Invoice.id, "void invoice")),
            )
            .order_by(Invoice.number),
        ),
        (
            1,
            "recorded",
            select(Payment.id, payment_label)
            .where(saved(Payment, "payment", "record payment", "refund credit"))
            .order_by(Payment.id),
        ),
        (
            1,
            "reversed",
            select(Payment.id, payment_label)
            .where(
                Payment.reversed_at.is_not(None),
                not_(_audited("payment", Payment.id, "reverse payment", "reverse refund")),
            )
            .order_by(Payment.id),
        ),
        (
            2,
            "removed",
            select(Application.id, literal("application "))
            .join(pay, pay.id == Application.payment_id)
            .join(inv, inv.id == Application.invoice_id)
            .where(
                Application.removed_at.is_not(None),
                pay.reversed_at.is_(None),
                inv.status != InvoiceStatus.VOID,
                not_(_audited("application", Application.id, "remove application")),
            )
            .order_by(Application.id),
        ),
        (
            3,
            "issued",
            select(CreditNote.number, literal("credit note CN-"))
            .where(saved(CreditNote, "credit_note", "issue credit note"))
            .order_by(CreditNote.number),
        ),
        (
            3,
            "reversed",
            select(CreditNote.number, literal("credit note CN-"))
            .where(
                CreditNote.reversed_at.is_not(None),
                not_(_audited("credit_note", CreditNote.id, "reverse credit note")),
            )
            .order_by(CreditNote.number),
        ),
        (
            4,
            "made",
            select(CreditTransfer.id, literal("credit transfer "))
            .where(saved(CreditTransfer, "credit_transfer", "transfer credit"))
            .order_by(CreditTransfer.id),
        ),
        (
            4,
            "reversed",
            select(CreditTransfer.id, literal("credit transfer "))
            .where(
                CreditTransfer.reversed_at.is_not(None),
                not_(_audited("credit_transfer", CreditTransfer.id, "reverse transfer")),
            )
            .order_by(CreditTransfer.id),
        ),
    ]


def _unaudited(session: Session) -> list[str]:
    """I8 in one sentence (or none): the saves the audit log has no entry for."""
    found: list[tuple[int, int, int, str]] = []
    for check, (table, what, statement) in enumerate(_audit_queries()):
        for key, called in session.execute(statement):  # a record's save before its reversal
            found.append((table, int(key), check, f"{called}{key} ({what})"))
    if not found:
        return []
    found.sort()
    named = ", ".join(text for *_, text in found[:MAX_UNAUDITED])
    more = len(found) - MAX_UNAUDITED
    if len(found) == 1:
        return [f"I8 The audit log has no entry for {named}."]
    rest = f" and {more} more" if more > 0 else ""
    return [f"I8 The audit log has no entry for {len(found):,} saves: {named}{rest}."]


def verify_ledger(session: Session, currency: str) -> list[str]:
    """All invariant violations found, as sentences; an empty list when the ledger is sound."""

    def m(minor: int) -> str:
        return format_amount(int(minor), currency)

    queries = _queries()
    problems: list[str] = []
    for row in session.execute(queries.patients):
        pid, first, last, credit, outstanding, inn, out, used, owing, noted, moved = row
        who = f"Patient {pid} ({first} {last})"
        recomputed = inn - out + noted + moved - used
        if inn - out + noted + moved != used + credit:
            extra = ""
            if noted:
                extra += f" plus credit notes {m(noted)}"
            if moved:
                extra += f" plus transfers {m(moved)}"
            problems.append(
                f"I1 {who}: received {m(inn)} less refunded {m(out)}{extra} is "
                f"{m(inn - out + noted + moved)}, but applied {m(used)} plus account credit "
                f"{m(credit)} is {m(used + credit)}."
            )
        if recomputed < 0 or credit < 0:
            problems.append(f"I2 {who}: account credit is negative ({m(min(recomputed, credit))}).")
        if credit != recomputed:
            problems.append(
                f"I7 {who}: stored account credit {m(credit)} differs from the records "
                f"({m(recomputed)})."
            )
        if outstanding != owing:
            problems.append(
                f"I7 {who}: stored outstanding balance {m(outstanding)} differs from the open "
                f"invoices ({m(owing)})."
            )

    for row in session.execute(queries.invoices):
        (
            number,
            status,
            total,
            paid,
            real_paid,
            lines,
            expected,
            credited,
            real_credited,
            cn,
            returned,
        ) = row
        what = f"Invoice #{number}"
        if not 0 <= real_paid <= real_paid + real_credited <= total:
            problems.append(
                f"I3 {what}: paid {m(real_paid)} and credited {m(real_credited)} are outside 0 "
                f"to its total {m(total)}."
            )
        if cn > total:
            problems.append(f"I3 {what}: credit notes of {m(cn)} exceed its total {m(total)}.")
        if real_paid < returned:
            problems.append(
                f"I3 {what}: its credit notes returned {m(returned)} of what was paid as credit, "
                f"but only {m(real_paid)} is paid on it."
            )
        if status == InvoiceStatus.VOID and (real_paid or cn):
            notes = f" and {m(cn)} of live credit notes" if cn else ""
            problems.append(f"I3 {what}: void but still has {m(real_paid)} applied{notes} to it.")
        elif status != expected:
            problems.append(
                f"I3 {what}: status is {status} but its balance "
                f"{m(total - real_paid - real_credited)} makes it {expected}."
            )
        if credited != real_credited:
            problems.append(
                f"I7 {what}: stored credited amount {m(credited)} differs from its credit notes "
                f"({m(real_credited)})."
            )
        if paid != real_paid:
            problems.append(
                f"I7 {what}: stored paid amount {m(paid)} differs from its applications "
                f"({m(real_paid)})."
            )
        if total != lines:
            problems.append(f"I7 {what}: total {m(total)} differs from its lines ({m(lines)}).")

    for app_id, number, pay_id, pay_patient, inv_patient, reversed_, inv_status in session.execute(
        queries.applications
    ):
        if pay_patient is None or inv_patient is None:
            problems.append(f"I4 Application {app_id}: refers to a missing payment or invoice.")
        elif pay_patient != inv_patient:
            problems.append(
                f"I4 Application {app_id}: payment {pay_id} of patient {pay_patient} is applied "
                f"to invoice #{number} of patient {inv_patient}."
            )
        elif reversed_:
            problems.append(
                f"I4 Application {app_id}: payment {pay_id} is reversed but still pays "
                f"invoice #{number}."
            )
        elif inv_status == InvoiceStatus.VOID:
            problems.append(f"I4 Application {app_id}: still applied to void invoice #{number}.")

    for request_id, count in session.execute(queries.request_ids):
        problems.append(f"I5 Request {request_id!r} recorded {count} payments instead of one.")

    for pay_id, kind, total, src, n_apps, money, expected, wrong in session.execute(
        queries.payments
    ):
        if total != src:
            problems.append(
                f"I6 Payment {pay_id}: total {m(total)} but its sources add up to {m(src)}."
            )
        if total == 0 and n_apps == 0:
            problems.append(f"I6 Payment {pay_id}: records no money and pays no invoice.")
        if kind == PaymentKind.REFUND and n_apps:
            problems.append(f"I6 Refund {pay_id}: pays invoices ({n_apps} application(s)).")
        if money != expected:
            problems.append(
                f"I6 Payment {pay_id}: {m(money)} of its own money applied to invoices, but a "
                f"payment of {m(total)} funds them with {m(expected)} before any credit."
            )
        if wrong:
            sign = "zero or negative" if kind == PaymentKind.PAYMENT else "zero or positive"
            problems.append(f"I6 {kind.capitalize()} {pay_id}: {wrong} {sign} source amount(s).")

    for number, note_patient, invoice_patient in session.execute(queries.credit_notes):
        problems.append(
            f"I4 Credit note CN-{number}: of patient {note_patient} but its invoice "
            + ("is missing." if invoice_patient is None else f"is patient {invoice_patient}'s.")
        )
    problems.extend(_unaudited(session))
    problems.extend(_merged(session))
    problems.extend(_payers(session))
    problems.extend(_email(session))
    return problems


def search_index_problems(engine: Engine) -> list[str]:
    """On SQLite, whether the patient search index (``db.search_index``) holds exactly the
    patients' search keys (FTS5's own integrity check against ``patients``): one that does not
    would leave patients out of searches. [] when it does, and on PostgreSQL.

    FTS5 takes the check as a write to the index, so it runs in a transaction of its own that
    waits its turn behind a save (it changes nothing).
    """
    if engine.dialect.name != "sqlite":
        return []
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as connection:
        try:
            with connection.begin():
                connection.exec_driver_sql(search_index.INTEGRITY_CHECK)
        except DatabaseError as error:
            if getattr(error.orig, "sqlite_errorcode", None) not in _DAMAGED:
                raise
            return [
                "The patient search index is out of step with the patients, so a search can "
                "miss some of them: the database file may be damaged. Restore the latest backup."
            ]
    return []


#: SQLite's codes for a damaged database and a damaged virtual table.
_DAMAGED = (11, 267)


def _merged(session: Session) -> list[str]:
    """I9: each patient merged into another is archived, holds nothing and owns no record (all
    moved to the patient kept, which exists and is another patient)."""
    kept = aliased(Patient)
    owned = [
        ("invoice", select(func.count()).where(Invoice.patient_id == Patient.id)),
        ("payment or refund", select(func.count()).where(Payment.patient_id == Patient.id)),
        (
            "invoice billed to a payer for them",
            select(func.count()).where(Invoice.for_patient_id == Patient.id),
        ),
        (
            "membership",
            select(func.count()).where(
                Membership.patient_id == Patient.id, Membership.removed_at.is_(None)
            ),
        ),
        ("credit note", select(func.count()).where(CreditNote.patient_id == Patient.id)),
        (
            "statement run item",
            select(func.count()).where(StatementRunItem.account_id == Patient.id),
        ),
        (
            "live credit transfer",
            select(func.count()).where(
                or_(
                    CreditTransfer.from_patient_id == Patient.id,
                    CreditTransfer.to_patient_id == Patient.id,
                ),
                CreditTransfer.reversed_at.is_(None),
            ),
        ),
    ]
    rows = session.execute(
        select(
            Patient.id,
            Patient.merged_into,
            Patient.archived_at,
            Patient.credit_minor,
            Patient.outstanding_minor,
            kept.id,
            *(query.scalar_subquery() for _, query in owned),
        )
        .outerjoin(kept, kept.id == Patient.merged_into)
        .where(Patient.merged_into.is_not(None))
        .order_by(Patient.id)
    )
    problems = []
    for pid, into, archived_at, credit, outstanding, kept_id, *counts in rows:
        who = f"Patient {pid} (merged into {into})"
        if kept_id is None or into == pid:
            problems.append(f"I9 {who}: the patient kept is missing or is the same patient.")
        if archived_at is None:
            problems.append(f"I9 {who}: is not archived.")
        if credit or outstanding:
            problems.append(f"I9 {who}: still holds credit or an outstanding balance.")
        for (what, _), count in zip(owned, counts, strict=True):
            if count:
                problems.append(f"I9 {who}: still owns {count} {what} record(s).")
    return problems


def _payers(session: Session) -> list[str]:
    """I10: invoices billed to payers name their patients, split pairs match, and what only a
    patient does (merging, transfers, memberships) never involves a payer's account."""
    payer_ids = select(Payer.id)
    partner = aliased(Invoice)
    for_patient = aliased(Patient)
    problems = [
        f"I10 Invoice #{number}: owed by payer {account} but names no patient it is for."
        for number, account in session.execute(
            select(Invoice.number, Invoice.patient_id).where(
                Invoice.patient_id.in_(payer_ids), Invoice.for_patient_id.is_(None)
            )
        )
    ]
    problems += [
        f"I10 Invoice #{number}: names patient {for_id} but is owed by patient {account}, "
        "not by a payer, or is for a payer or a missing patient."
        for number, account, for_id in session.execute(
            select(Invoice.number, Invoice.patient_id, Invoice.for_patient_id)
            .outerjoin(for_patient, for_patient.id == Invoice.for_patient_id)
            .where(
                Invoice.for_patient_id.is_not(None),
                or_(
                    Invoice.patient_id.not_in(payer_ids),
                    Invoice.for_patient_id.in_(payer_ids),
                    for_patient.id.is_(None),
                ),
            )
        )
    ]
    problems += [
        f"I10 Invoice #{number}: split from invoice {split_id}, which is missing, not billed to "
        "a payer or for another patient; or the gap invoice is not the patient's own."
        for number, split_id in session.execute(
            select(Invoice.number, Invoice.split_with_id)
            .outerjoin(partner, partner.id == Invoice.split_with_id)
            .where(
                Invoice.split_with_id.is_not(None),
                or_(
                    partner.id.is_(None),
                    partner.for_patient_id.is_(None),
                    partner.for_patient_id != Invoice.patient_id,
                    Invoice.for_patient_id.is_not(None),
                ),
            )
        )
    ]
    problems += [
        f"I10 Payer {pid}: its account is merged, or archived unlike the payer."
        for (pid,) in session.execute(
            select(Payer.id)
            .join(Patient, Patient.id == Payer.id)
            .where(
                or_(
                    Patient.merged_into.is_not(None),
                    Payer.archived_at.is_(None) != Patient.archived_at.is_(None),
                )
            )
        )
    ]
    problems += [
        f"I10 Patient {pid}: merged into payer {into}."
        for pid, into in session.execute(
            select(Patient.id, Patient.merged_into).where(Patient.merged_into.in_(payer_ids))
        )
    ]
    problems += [
        f"I10 Credit transfer {tid}: moves credit to or from a payer's account."
        for (tid,) in session.execute(
            select(CreditTransfer.id).where(
                or_(
                    CreditTransfer.from_patient_id.in_(payer_ids),
                    CreditTransfer.to_patient_id.in_(payer_ids),
                )
            )
        )
    ]
    problems += [
        f"I10 Membership {mid}: its patient {pid} is a payer."
        for mid, pid in session.execute(
            select(Membership.id, Membership.patient_id).where(Membership.patient_id.in_(payer_ids))
        )
    ]
    return problems


def _email(session: Session) -> list[str]:
    """I11: statement runs and reminders agree with the outbox, which is fully audited."""
    problems = [
        f"I11 Statement run {run}: patient {account} is marked {state} but "
        + (
            "has no message, or one that is not their statement."
            if state == "emailed"
            else "has a message."
        )
        for run, account, state in session.execute(
            select(StatementRunItem.run_id, StatementRunItem.account_id, StatementRunItem.state)
            .outerjoin(OutboxMessage, OutboxMessage.id == StatementRunItem.outbox_id)
            .where(
                or_(
                    and_(
                        StatementRunItem.state == "emailed",
                        or_(
                            OutboxMessage.id.is_(None),
                            OutboxMessage.kind != "statement",
                            OutboxMessage.account_id != StatementRunItem.account_id,
                        ),
                    ),
                    and_(
                        StatementRunItem.state != "emailed",
                        StatementRunItem.outbox_id.is_not(None),
                    ),
                )
            )
        )
    ]
    problems += [
        f"I11 Reminder {rid}: its message is not a reminder about invoice #{number}."
        for rid, number in session.execute(
            select(ReminderSent.id, Invoice.number)
            .join(Invoice, Invoice.id == ReminderSent.invoice_id)
            .join(OutboxMessage, OutboxMessage.id == ReminderSent.outbox_id)
            .where(
                or_(
                    OutboxMessage.kind != "reminder",
                    OutboxMessage.invoice_id != ReminderSent.invoice_id,
                    OutboxMessage.account_id != Invoice.patient_id,
                )
            )
        )
    ]
    queued = select(AuditEntry.id).where(
        AuditEntry.entity == AuditEntity.EMAIL.value,
        AuditEntry.entity_id == OutboxMessage.id,
        AuditEntry.action == AuditAction.QUEUE_EMAIL.value,
    )
    problems += [
        f"I11 Email {mid} to {to}: has no audit entry for being queued."
        for mid, to in session.execute(
            select(OutboxMessage.id, OutboxMessage.recipient).where(~queued.exists())
        )
    ]
    return problems


#: What each check makes sure of (the technical list behind Verify ledger's plain words).
CHECKS: dict[str, str] = {
    "I1": "Per patient: received - refunded + credit notes + transfers in - transfers out = "
    "applied to invoices + account credit.",
    "I2": "No patient's account credit is below zero.",
    "I3": "Per invoice: 0 <= paid + credited <= total, the status matches the balance, and its "
    "credit notes add up to no more than its total (none on a void invoice).",
    "I4": "Each payment applied, and each credit note, belongs to the same patient as its "
    "invoice; nothing refers to a missing record.",
    "I5": "One payment per request (a payment saved twice is caught).",
    "I6": "Each payment's sources add up to its total, it records money or pays invoices, and "
    "its own money pays its invoices before credit does.",
    "I7": "Every stored figure (patient credit and outstanding, invoice paid, credited and "
    "total) equals the figure worked out again from the records.",
    "I8": "Every invoice, payment, refund, credit note, transfer and correction has its audit "
    "log entry.",
    "I9": "Each patient merged into another is archived, holds no credit or balance and owns no "
    "invoice, payment, credit note, live transfer, membership or statement run item, nor is "
    "named by a payer's invoice (all moved to the patient kept).",
    "I10": "Each invoice billed to a payer names its patient, split invoices pair up, and a "
    "payer's account is never merged, transferred to or from, or a member of another payer.",
    "I11": "Each statement run emails an account at most one statement, its own, and each "
    "reminder is about its invoice; every email has its audit log entry.",
}

#: What a failed check means, in the words of the front desk.
_PLAIN: dict[str, str] = {
    "I1": "a patient's money in and money out do not add up",
    "I2": "a patient's account credit is below zero",
    "I3": "an invoice's payments or credit notes do not match its total or its status",
    "I4": "a payment or credit note is linked to the wrong patient or to a missing record",
    "I5": "a payment was saved twice",
    "I6": "a payment's parts do not add up",
    "I7": "a stored balance or total differs from the records it comes from",
    "I8": "something saved has no entry in the audit log",
    "I9": "a merged patient still holds records or money",
    "I10": "an invoice billed to a payer, or a payer's account, is linked the wrong way",
    "I11": "an email of a statement run or a reminder does not match what it was sent for",
}


@dataclass(frozen=True, slots=True)
class LedgerCheck:
    """Verify ledger's result in plain words, with the technical list behind it.

    ``problems`` are the sentences :func:`verify_ledger` returned (empty: all is in order).
    """

    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return not self.problems

    @property
    def headline(self) -> str:
        """One sentence for the front desk."""
        if self.ok:
            return "The ledger is in order: every balance, credit and payment adds up."
        count = len(self.problems)
        return f"The ledger check found {count} problem{'' if count == 1 else 's'}."

    @property
    def findings(self) -> tuple[str, ...]:
        """What is wrong, in plain words: one line per kind of problem, with how many."""
        counts: dict[str, int] = {}
        for problem in self.problems:
            code = problem.split(" ", 1)[0]
            key = code if code in _PLAIN else ""
            counts[key] = counts.get(key, 0) + 1
        lines = []
        for code, count in counts.items():
            what = _PLAIN.get(code, "something in the ledger does not add up")
            lines.append(
                f"{what[0].upper()}{what[1:]}" + (f" ({count} times)." if count > 1 else ".")
            )
        return tuple(lines)

    @property
    def advice(self) -> str:
        """What to do about it."""
        if self.ok:
            return "Nothing needs doing."
        return (
            "Nothing was changed. Keep taking payments as usual, make a backup (File > Back up…), "
            "and send the details below to whoever looks after Clinic Ledger for the clinic; "
            "hold off voids, reversals and refunds for the patients concerned until it is fixed."
        )

    @property
    def details(self) -> str:
        """The technical list: every check that ran and what each found."""
        found: dict[str, list[str]] = {}
        for problem in self.problems:
            code, _, text = problem.partition(" ")
            found.setdefault(code if code in CHECKS else "?", []).append(
                text if code in CHECKS else problem
            )
        lines = []
        for code, rule in CHECKS.items():
            mark = "FAILED" if code in found else "passed"
            lines.append(f"{code} {mark}: {rule}")
            lines.extend(f"    {text}" for text in found.get(code, []))
        lines.extend(f"?: {text}" for text in found.get("?", []))
        return "\n".join(lines)
