"""The sync: make Xero hold what :mod:`.desired` says, remembering each document in
``xero_links``, then read back what it touched and list every difference.

Steps, each a few calls of up to :data:`~.client.BATCH` documents: taking out what ended here
(allocations and payments deleted); contacts (new, or renamed); invoices (new, or corrected);
credit notes; prepayments (money held as credit, credit received by transfer); credit notes'
own allocations; money on invoices; each use of credit drawn from the credit documents
(allocations, refunds, transfers); voiding what was voided or reversed here; the read-back.

Safe to stop at any point: before a call its documents are saved ``pending`` with the call's
``Idempotency-Key``; a sync that finds them pending sends the same call again with the same key,
so Xero answers it without doing it twice. A document Xero refuses is saved with Xero's message
and tried again by the next sync; what depends on it waits, and is listed.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from . import documents as body
from .client import BATCH, XeroClient, XeroRefusedError, dumps, validation_errors
from .desired import CreditUse, Desired, DocKey, digest
from .documents import Shape

#: Kinds of link that are pieces of a use of credit.
PIECES = ("alloc", "refund", "transfer_out", "cn_move")
#: The field that names a record on its own, by the list of a call (Xero's answer echoes it):
#: each record's element is found by it, not only by its place in the answer.
_NATURAL_KEY = {
    "Contacts": "ContactNumber",
    "Items": "Code",
    "Invoices": "InvoiceNumber",
    "CreditNotes": "CreditNoteNumber",
}
#: What a credit document is called in Xero's API.
_XERO_KIND = {
    "prepay": "Prepayment",
    "transfer_in": "Prepayment",
    "cn_credit": "Prepayment",
    "credit_note": "CreditNote",
}


@dataclass(slots=True)
class Link:
    """What the sync remembers of one document (a ``xero_links`` row)."""

    key: DocKey
    patient_id: int
    amount: int
    state: str
    xero_id: str | None = None
    other_id: str | None = None
    call_key: str | None = None
    message: str | None = None
    content: str | None = None
    #: Its ``xero_links`` row, once saved.
    row_id: int | None = None
    #: The Idempotency-Key of the last write Xero did for it.
    last_key: str | None = None

    @property
    def sent(self) -> bool:
        """Xero holds it."""
        return self.state == "sent"


@dataclass(frozen=True, slots=True)
class Difference:
    """Something Xero does not hold as the ledger does: which document or contact, what each
    side says, why, and what fixes it."""

    what: str
    here: str
    there: str
    reason: str


@dataclass(slots=True)
class SyncReport:
    """What a sync did (or, with ``dry_run``, would do): counts per step, Xero's refusals,
    the documents waiting on them, and the differences left after the read-back."""

    dry_run: bool = False
    steps: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    refused: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    calls: int = 0
    writes: int = 0

    @property
    def tied_out(self) -> bool:
        """Xero holds what the ledger does: nothing refused, waiting or different."""
        return not (self.refused or self.waiting or self.differences)

    @property
    def sent(self) -> int:
        """Documents created, changed or removed in Xero."""
        return sum(self.steps.values())


Save = Callable[[list[Link]], None]


class Sync:
    """One sync of the ledger (``want``) to Xero through ``client``; ``links`` are the saved
    ones (changed in place), ``save`` writes changed links at once (each call's before and
    after)."""

    def __init__(
        self,
        want: Desired,
        links: dict[DocKey, Link],
        shape: Shape,
        client: XeroClient | None,
        save: Save,
        credit: dict[int, int],
    ) -> None:
        self.want, self.links, self.shape, self.client = want, links, shape, client
        self.save, self.credit = save, credit
        self.report = SyncReport(dry_run=client is None)
        self.touched_invoices: set[int] = set()
        self.touched_credit: set[DocKey] = set()
        self.touched_patients: set[int] = set()

    # -- helpers -----------------------------------------------------------------------------

    def sent(self, key: DocKey) -> Link | None:
        """The link of a document Xero holds (in a dry run, or one it would hold)."""
        link = self.links.get(key)
        if link is not None and link.sent:
            return link
        if self.client is None and self._planned(key):
            return Link(key, 0, 0, "sent", xero_id="(new)", other_id="(new)")
        return None

    def _planned(self, key: DocKey) -> bool:
        kind, record_id, _ = key
        if kind == "contact":
            return self.want.has_contact(record_id)
        if kind == "invoice":
            return self.want.invoices[record_id].live
        if kind == "credit_note" and key[2] == "":
            return self.want.credit_notes[record_id].live
        return key in self.want.credits and self.want.credits[key].live

    def contact_id(self, patient_id: int) -> str | None:
        link = self.sent(("contact", patient_id, ""))
        return link.xero_id if link else None

    def _batches(
        self, todo: list[tuple[DocKey, int, int]], step: str
    ) -> Iterable[list[tuple[DocKey, int, int]]]:
        """``todo`` (key, patient, amount) in calls: first any left pending by an interrupted
        sync, grouped as they were sent, then the rest in batches of :data:`BATCH`."""
        pending: dict[str, list[tuple[DocKey, int, int]]] = defaultdict(list)
        rest = []
        for item in todo:
            link = self.links.get(item[0])
            if link is not None and link.state == "pending" and link.call_key:
                pending[link.call_key].append(item)
            else:
                rest.append(item)
        yield from pending.values()
        for first in range(0, len(rest), BATCH):
            yield rest[first : first + BATCH]

    def _call(
        self,
        step: str,
        method: str,
        path: str,
        payload: dict[str, Any],
        items: list[tuple[DocKey, int, int]],
        name: str | None,
    ) -> list[dict[str, Any] | str] | None:
        """Send one call for ``items`` (their links saved pending first); returns each item's
        element of Xero's answer, or its refusal as text; None in a dry run."""
        if self.client is None:
            self.report.steps[step] += len(items)
            return None
        pending = {
            link.call_key
            for k, _, _ in items
            if (link := self.links.get(k)) is not None and link.state == "pending"
        }
        if (
            len(pending) == 1
            and None not in pending
            and all(
                (link := self.links.get(k)) is not None and link.state == "pending"
                for k, _, _ in items
            )
        ):
            key = str(next(iter(pending)))  # an interrupted call, sent again as it was
        else:
            # The key names the records and the last write Xero did for each, not only the
            # request: the same request made again later (credit applied again to the same
            # invoice after it was taken off, an invoice corrected back and forth) is a new
            # write, which an earlier key would have Xero answer without doing.
            before = sorted(
                (k, link.last_key if (link := self.links.get(k)) else None) for k, _, _ in items
            )
            key = hashlib.sha256(
                f"{method} {path} {before!r} {dumps(payload)}".encode()
            ).hexdigest()
        marked = []
        for doc_key, patient_id, amount in items:
            link = self.links.get(doc_key)
            if link is None:
                link = self.links[doc_key] = Link(doc_key, patient_id, amount, "pending")
            elif link.state != "sent":
                link.state = "pending"
            link.call_key = key
            marked.append(link)
        self.save(marked)
        params = {"summarizeErrors": "false"} if name else None
        try:
            answer = self.client.write(method, path, payload, key=key, params=params)
        except XeroRefusedError as exc:
            return [str(exc)] * len(items)
        if name is None:
            return [answer] * len(items)
        elements = answer.get(name) or []
        records = payload.get(name)
        out: list[dict[str, Any] | str] = []
        for i in range(len(items)):
            element = elements[i] if i < len(elements) else {}
            if isinstance(records, list) and len(records) == len(items):
                element = _own_element(name, records[i], element, elements)
            errors = validation_errors(element)
            out.append("; ".join(errors) if errors or not element else element)
            if not element:
                out[-1] = "Xero's answer left this record out."
        return out

    def _settle(
        self,
        step: str,
        items: list[tuple[DocKey, int, int]],
        answers: list[dict[str, Any] | str] | None,
        ids: Callable[[dict[str, Any]], tuple[str | None, str | None]],
        describe: Callable[[DocKey], str],
        state: str = "sent",
        contents: list[str] | None = None,
    ) -> None:
        """Save what Xero answered for each item: its ids, ``state`` and the digest of what was
        sent (``contents``), or its refusal."""
        if answers is None:
            return
        changed = []
        for i, ((doc_key, _, amount), answer) in enumerate(zip(items, answers, strict=True)):
            link = self.links[doc_key]
            done, link.call_key = link.call_key, None
            if isinstance(answer, str):
                if link.state != "sent":
                    link.state = "refused"
                link.message = answer
                link.last_key = done or link.last_key  # tried again later under a new key
                self.report.refused.append(f"{describe(doc_key)}: {answer}")
            else:
                xero_id, other_id = ids(answer)
                link.state, link.message, link.amount = state, None, amount
                link.last_key = done
                if state == "sent":
                    link.xero_id = xero_id or link.xero_id
                    link.other_id = other_id or link.other_id
                if contents is not None:
                    link.content = contents[i]
                self.report.steps[step] += 1
            changed.append(link)
        self.save(changed)

    def _describe(self, key: DocKey) -> str:
        kind, record_id, part = key
        want = self.want
        if kind == "contact":
            return f"Contact {want.contact_name(record_id)}"
        if kind == "invoice":
            return f"Invoice {self.shape.invoice_number(want.invoices[record_id].number)}"
        if kind == "item":
            return f"Item {part}"
        if kind in ("credit_note", "cn_apply") and not part:
            label = self.shape.credit_note_number(want.credit_notes[record_id].number)
            return f"Credit note {label}" + (" (its allocation)" if kind == "cn_apply" else "")
        if kind == "money":
            doc = want.money[key]
            number = self.shape.invoice_number(want.invoices[doc.invoice_id].number)
            return f"Payment {doc.reference} on {number}"
        if kind in ("prepay", "transfer_in", "credit_note", "cn_credit"):
            return f"Credit {want.credits[key].reference}"
        use = want.uses.get((kind, record_id, ""))
        return f"{use.reference if use else kind} (from {part})"

    # -- the steps ---------------------------------------------------------------------------

    def run(self) -> SyncReport:
        """Every step in turn, then the read-back (a dry run counts what it would send)."""
        self._take_out()
        self._contacts()
        self._items()
        self._invoices()
        self._credit_notes()
        self._credits()
        self._credit_note_allocations()
        self._money()
        self._uses()
        self._voids()
        if self.client is not None:
            self._read_back()
            self.report.calls, self.report.writes = self.client.calls, self.client.writes
            self._differences()
        return self.report

    def _push(
        self,
        step: str,
        method: str,
        path: str,
        name: str,
        todo: list[tuple[DocKey, int, int]],
        record_of: Callable[[DocKey], dict[str, Any]],
        ids: tuple[str, str | None],
        content: Callable[[DocKey], str],
    ) -> None:
        """Send ``todo`` in batches to ``path`` (records made by ``record_of``; a document Xero
        holds already is sent with its id, as a change), saving Xero's ids ``ids`` (the
        field of the document's id, and of its second id) or its refusal of each."""
        id_field, other_field = ids

        def found(answer: dict[str, Any]) -> tuple[str | None, str | None]:
            return answer.get(id_field), answer.get(other_field) if other_field else None

        for batch in self._batches(todo, step):
            records = []
            for key, _, _ in batch:
                record = record_of(key)
                link = self.links.get(key)
                if link is not None and link.sent and link.xero_id:
                    record = {id_field: link.xero_id} | record
                records.append(record)
            contents = [content(key) for key, _, _ in batch]
            answers = self._call(step, method, path, {name: records}, batch, name)
            if name == "Contacts":
                answers = self._adopt_existing(batch, answers, {name: records})
            self._settle(step, batch, answers, found, self._describe, contents=contents)

    def _new_or_changed(self, key: DocKey, content: Callable[[DocKey], str]) -> str | None:
        """``"new"`` when Xero does not hold the document, ``"changed"`` when the ledger's
        document differs from what was sent (a patient renamed, an invoice corrected)."""
        link = self.links.get(key)
        if link is None or not link.sent:
            return "new"
        if link.content is not None and link.content != content(key):
            return "changed"
        return None

    def _names_digest(self, key: DocKey) -> str:
        return digest(self.want.contact_said(key[1]))

    def _invoice_digest(self, key: DocKey) -> str:
        return digest(self.want.invoices[key[1]])

    def _contacts(self) -> None:
        def record(key: DocKey) -> dict[str, Any]:
            payer = self.want.payers.get(key[1])
            if payer is not None:
                return body.payer_contact(key[1], *payer)
            return body.contact(key[1], *self.want.names[key[1]])

        # A contact is made for an account with a live document, and kept up to date once made
        # (renamed with its patient or payer), live documents or not.
        made = {k[1] for k, link in self.links.items() if k[0] == "contact" and link.sent}
        todo = []
        for pid in sorted(p for p in self._live_patients() | made if self.want.has_contact(p)):
            key = ("contact", pid, "")
            if self._new_or_changed(key, self._names_digest) is not None:
                todo.append((key, pid, 0))
        self._push(
            "contacts",
            "POST",
            "/Contacts",
            "Contacts",
            todo,
            record,
            ("ContactID", None),
            self._names_digest,
        )

    def _adopt_existing(
        self,
        batch: list[tuple[DocKey, int, int]],
        answers: list[dict[str, Any] | str] | None,
        payload: dict[str, Any],
    ) -> list[dict[str, Any] | str] | None:
        """A contact Xero already has by its exact name (made by a sync whose answer was lost
        after Xero's idempotency window): use it rather than make a second."""
        if answers is None or self.client is None:
            return answers
        out = list(answers)
        for i, answer in enumerate(answers):
            if isinstance(answer, str) and "already" in answer.lower():
                name = payload["Contacts"][i]["Name"]
                quoted = name.replace('"', '\\"')
                found = self.client.get("/Contacts", {"where": f'Name=="{quoted}"'})
                for existing in found.get("Contacts") or []:
                    if existing.get("Name") == name:
                        out[i] = existing
                        break
        return out

    def _is_sent(self, key: DocKey) -> bool:
        link = self.links.get(key)
        return link is not None and link.sent

    def _live_patients(self) -> set[int]:
        """Accounts (patients' and payers') with any live document (a contact is made only for
        them)."""
        w = self.want
        found = {d.patient_id for d in w.invoices.values() if d.live}
        found |= {d.patient_id for d in w.credit_notes.values() if d.live}
        found |= {d.patient_id for d in w.credits.values() if d.live}
        return found | {u.patient_id for u in w.uses.values() if u.live}

    def _items(self) -> None:
        """The billable items whose codes invoice lines carry, as Xero items (an item Xero has
        already by its code is used, not made again)."""

        def record(key: DocKey) -> dict[str, Any]:
            return body.item(self.shape, key[2], self.want.items[key[2]])

        def content(key: DocKey) -> str:
            return digest((key[2], self.want.items[key[2]]))

        keys: list[DocKey] = [("item", 0, code) for code in sorted(self.want.items)]
        todo = [(k, 0, 0) for k in keys if self._new_or_changed(k, content) is not None]
        if todo and self.client is not None:
            held = {
                str(i.get("Code", "")).upper(): str(i.get("ItemID"))
                for i in self.client.get("/Items").get("Items") or []
            }
            adopted = []
            for key, _, _ in todo:
                if key not in self.links and key[2].upper() in held:
                    link = Link(key, 0, 0, "sent", xero_id=held[key[2].upper()])
                    self.links[key] = link
                    adopted.append(link)
            if adopted:
                self.save(adopted)
                todo = [t for t in todo if t[0] not in {link.key for link in adopted}]
        self._push("items", "POST", "/Items", "Items", todo, record, ("ItemID", None), content)

    def _invoices(self) -> None:
        codes = {key[2] for key, link in self.links.items() if key[0] == "item" and link.sent}
        if self.client is None:
            codes |= set(self.want.items)

        def record(key: DocKey) -> dict[str, Any]:
            doc = self.want.invoices[key[1]]
            return body.invoice(self.shape, doc, self.contact_id(doc.patient_id) or "", codes)

        todo: dict[str, list[tuple[DocKey, int, int]]] = {"new": [], "changed": []}
        for iid, doc in sorted(self.want.invoices.items(), key=lambda kv: kv[1].number):
            key = ("invoice", iid, "")
            if not doc.live:
                continue
            if self.contact_id(doc.patient_id) is None:
                if not self._is_sent(key):
                    self._wait(key, self._whose_contact(doc.patient_id))
                continue
            state = self._new_or_changed(key, self._invoice_digest)
            if state is not None:
                todo[state].append((key, doc.patient_id, doc.total))
                self.touched_invoices.add(iid)
        ids = ("InvoiceID", None)
        content = self._invoice_digest
        self._push("invoices", "PUT", "/Invoices", "Invoices", todo["new"], record, ids, content)
        self._push(
            "corrected invoices",
            "POST",
            "/Invoices",
            "Invoices",
            todo["changed"],
            record,
            ids,
            content,
        )

    def _whose_contact(self, account_id: int) -> str:
        return "its payer's contact" if account_id in self.want.payers else "its patient's contact"

    def _wait(self, key: DocKey, on: str) -> None:
        self.report.waiting.append(f"{self._describe(key)} waits for {on} to reach Xero.")

    def _credit_notes(self) -> None:
        todo = []
        for cid, doc in sorted(self.want.credit_notes.items(), key=lambda kv: kv[1].number):
            key = ("credit_note", cid, "")
            if not doc.live or self._is_sent(key):
                continue
            if self.contact_id(doc.patient_id) is None:
                self._wait(key, self._whose_contact(doc.patient_id))
                continue
            todo.append((key, doc.patient_id, doc.amount))
        for batch in self._batches(todo, "credit notes"):
            payload = {
                "CreditNotes": [
                    body.credit_note(
                        self.shape,
                        self.want.credit_notes[k[1]],
                        self.contact_id(p) or "",
                        self.want.invoices[self.want.credit_notes[k[1]].invoice_id].number,
                    )
                    for k, p, _ in batch
                ]
            }
            answers = self._call(
                "credit notes", "PUT", "/CreditNotes", payload, batch, "CreditNotes"
            )
            self._settle(
                "credit notes",
                batch,
                answers,
                lambda a: (a.get("CreditNoteID"), None),
                self._describe,
            )
            for k, p, _ in batch:
                self.touched_credit.add(k)
                self.touched_patients.add(p)

    def _account(self, type_id: int | None) -> str:
        if type_id is None:
            return self.shape.transfer_account
        return self.shape.mapping.clearing_account(self.want.type_names[type_id])

    def _credits(self) -> None:
        todo = []
        for key, doc in sorted(self.want.credits.items()):
            if key[0] == "credit_note" or not doc.live or self._is_sent(key):
                continue
            if self.contact_id(doc.patient_id) is None:
                self._wait(key, self._whose_contact(doc.patient_id))
                continue
            todo.append((key, doc.patient_id, doc.capacity))
        for batch in self._batches(todo, "prepayments"):
            payload = {"BankTransactions": [self._prepayment(k) for k, _, _ in batch]}
            answers = self._call(
                "prepayments", "PUT", "/BankTransactions", payload, batch, "BankTransactions"
            )
            self._settle(
                "prepayments",
                batch,
                answers,
                lambda a: (a.get("BankTransactionID"), a.get("PrepaymentID")),
                self._describe,
            )
            for k, p, _ in batch:
                self.touched_credit.add(k)
                self.touched_patients.add(p)

    def _prepayment(self, key: DocKey) -> dict[str, Any]:
        doc = self.want.credits[key]
        what = {
            "transfer_in": f"Account credit received from another patient ({doc.reference})",
            "cn_credit": f"Account credit from credit note {doc.reference}",
        }.get(key[0], f"Account credit from payment {doc.reference}")
        return body.prepayment(
            self.shape, doc, self.contact_id(doc.patient_id) or "", self._account(doc.type_id), what
        )

    # -- taking out what ended here ------------------------------------------------------------

    def _take_out(self) -> None:
        """Delete from Xero the uses of credit, money on invoices and credit notes' allocations
        that ended here (or whose credit document ended), before anything new is drawn."""
        for key, link in sorted(self.links.items()):
            if not link.sent:
                continue
            kind, record_id, part = key
            if kind in PIECES:
                use = self.want.uses.get((kind, record_id, ""))
                doc = self.want.credits.get(_doc_key(part))
                if use is not None and use.live and doc is not None and doc.live:
                    continue
                self._remove_piece(key, link)
            elif kind == "money" and not self.want.money[key].live:
                self._delete_payment("removed payments", key, link)
                self.touched_invoices.add(self.want.money[key].invoice_id)
            elif kind == "cn_apply" and not self.want.credit_notes[record_id].live:
                source = self.links[("credit_note", record_id, "")]
                self._delete_allocation(key, link, f"/CreditNotes/{source.xero_id}")
                self.touched_invoices.add(self.want.credit_notes[record_id].invoice_id)

    def _remove_piece(self, key: DocKey, link: Link) -> None:
        kind, record_id, part = key
        doc_key = _doc_key(part)
        self.touched_credit.add(doc_key)
        self.touched_patients.add(link.patient_id)
        if kind == "alloc":
            source = self.links[doc_key]
            what = "Prepayments" if doc_key[0] != "credit_note" else "CreditNotes"
            xero_source = source.other_id if what == "Prepayments" else source.xero_id
            self._delete_allocation(key, link, f"/{what}/{xero_source}")
            use = self.want.uses.get((kind, record_id, ""))
            if use is not None and use.invoice_id is not None:
                self.touched_invoices.add(use.invoice_id)
        else:
            self._delete_payment("removed payouts", key, link)

    def _delete_allocation(self, key: DocKey, link: Link, source_path: str) -> None:
        if self.client is None:
            self.report.steps["removed allocations"] += 1
            return
        call_key = hashlib.sha256(f"DELETE {source_path} {link.xero_id}".encode()).hexdigest()
        try:
            self.client.delete(f"{source_path}/Allocations/{link.xero_id}", key=call_key)
        except XeroRefusedError as exc:
            if exc.status == 404:  # deleted already (an interrupted sync's call was done)
                link.state, link.message = "removed", None
                self.save([link])
                return
            link.message = str(exc)
            self.report.refused.append(f"Removing {self._describe(key)}: {exc}")
            self.save([link])
            return
        link.state, link.message = "removed", None
        self.report.steps["removed allocations"] += 1
        self.save([link])

    def _delete_payment(self, step: str, key: DocKey, link: Link) -> None:
        payload = {"Status": "DELETED"}
        path = f"/Payments/{link.xero_id}"
        answers = self._call(step, "POST", path, payload, [(key, link.patient_id, 0)], None)
        self._settle(
            step, [(key, link.patient_id, link.amount)], answers, _no_ids, self._describe, "removed"
        )

    # -- credit notes' allocations and money on invoices ---------------------------------------

    def _credit_note_allocations(self) -> None:
        for cid, doc in sorted(self.want.credit_notes.items()):
            key = ("cn_apply", cid, "")
            if not doc.live or not doc.applied or self._is_sent(key):
                continue
            note = self.sent(("credit_note", cid, ""))
            invoice = self.sent(("invoice", doc.invoice_id, ""))
            if note is None or invoice is None:
                self._wait(key, "the credit note and its invoice")
                continue
            payload = {
                "Allocations": [
                    body.allocation(self.shape, doc.applied, invoice.xero_id or "", doc.day)
                ]
            }
            items = [(key, doc.patient_id, doc.applied)]
            answers = self._call(
                "credit note allocations",
                "PUT",
                f"/CreditNotes/{note.xero_id}/Allocations",
                payload,
                items,
                "Allocations",
            )
            self._settle(
                "credit note allocations",
                items,
                answers,
                lambda a: (a.get("AllocationID"), None),
                self._describe,
            )
            self.touched_invoices.add(doc.invoice_id)
            self.touched_credit.add(("credit_note", cid, ""))

    def _money(self) -> None:
        todo = []
        for key, doc in sorted(self.want.money.items()):
            if not doc.live or self._is_sent(key):
                continue
            if self.sent(("invoice", doc.invoice_id, "")) is None:
                self._wait(key, "its invoice")
                continue
            todo.append((key, doc.patient_id, doc.amount))
        for batch in self._batches(todo, "payments"):
            payload = {
                "Payments": [
                    body.money(
                        self.shape,
                        self.want.money[k],
                        self._xero_id(("invoice", self.want.money[k].invoice_id, "")),
                        self._account(self.want.money[k].type_id),
                    )
                    for k, _, _ in batch
                ]
            }
            answers = self._call("payments", "PUT", "/Payments", payload, batch, "Payments")
            self._settle(
                "payments", batch, answers, lambda a: (a.get("PaymentID"), None), self._describe
            )
            self.touched_invoices.update(self.want.money[k].invoice_id for k, _, _ in batch)

    def _xero_id(self, key: DocKey) -> str:
        link = self.sent(key)
        return (link.xero_id if link else None) or ""

    # -- uses of credit ------------------------------------------------------------------------

    def _uses(self) -> None:
        """Draw each live use of credit that Xero does not fully hold from the patient's credit
        documents: those the credit trace names first, then the oldest with credit left."""
        free = self._free_credit()
        allocations: dict[DocKey, list[tuple[DocKey, int, int, CreditUse]]] = defaultdict(list)
        payouts: list[tuple[DocKey, int, int, CreditUse, DocKey]] = []
        by_patient: dict[int, list[DocKey]] = defaultdict(list)
        for doc_key, doc in sorted(self.want.credits.items(), key=lambda kv: (kv[1].day, kv[0])):
            if doc.live:
                by_patient[doc.patient_id].append(doc_key)
        held = self._held_pieces()
        self._resend_pending(free, held)
        for use_key, use in sorted(self.want.uses.items()):
            if not use.live:
                continue
            need = use.amount - held.get(use_key, 0)
            if need <= 0:
                continue
            kind, record_id, _ = use_key
            if kind == "alloc" and self.sent(("invoice", use.invoice_id or 0, "")) is None:
                self._wait(use_key, "its invoice")
                continue
            order = self._sources(use, by_patient[use.patient_id])
            contact = (
                self._contact_of(("invoice", use.invoice_id or 0, "")) if kind == "alloc" else None
            )
            elsewhere = 0
            for doc_key in order:
                if need == 0:
                    break
                room = free.get(doc_key, 0)
                if room <= 0 or self.sent(doc_key) is None:
                    continue
                reserved = self.want.credits[doc_key].reserved
                if reserved is not None and reserved != use_key:
                    continue
                if contact is not None and self._contact_of(doc_key) != contact:
                    elsewhere += room  # Xero allocates only within one contact
                    continue
                part = min(room, need)
                free[doc_key] = room - part
                need -= part
                piece = (kind, record_id, _part(doc_key))
                if kind == "alloc":
                    allocations[doc_key].append((piece, use.patient_id, part, use))
                else:
                    payouts.append((piece, use.patient_id, part, use, doc_key))
            if need and elsewhere:
                self.report.waiting.append(
                    f"{use.reference}: {self.shape.amount(need)} of credit is held on another "
                    "Xero contact of this patient (patients merged since they were sent): merge "
                    "the two contacts in Xero, then allocate it there."
                )
            elif need:
                self.report.waiting.append(
                    f"{use.reference}: {self.shape.amount(need)} of credit has no document in "
                    "Xero to come from yet (a prepayment or credit note not sent)."
                )
        for doc_key, pieces in sorted(allocations.items()):
            self._allocate(doc_key, pieces)
        self._payouts(payouts)

    def _contact_of(self, key: DocKey) -> int:
        """The patient whose Xero contact holds (or will hold) a document: the one it was sent
        for, which a later merge of patients does not change in Xero."""
        link = self.links.get(key)
        if link is not None and link.sent:
            return link.patient_id
        if key[0] == "invoice":
            return self.want.invoices[key[1]].patient_id
        return self.want.credits[key].patient_id

    def _resend_pending(self, free: dict[DocKey, int], held: dict[DocKey, int]) -> None:
        """Send again, exactly as before, the pieces of a call an interrupted sync left
        pending (same records, same Idempotency-Key: Xero answers without doing it twice), and
        count them as held before anything new is drawn."""
        groups: dict[str, list[tuple[DocKey, Link]]] = defaultdict(list)
        for key, link in sorted(self.links.items()):
            if key[0] in PIECES and link.state == "pending" and link.call_key:
                groups[link.call_key].append((key, link))
        for group in groups.values():
            allocations: dict[DocKey, list[tuple[DocKey, int, int, CreditUse]]] = defaultdict(list)
            payouts: list[tuple[DocKey, int, int, CreditUse, DocKey]] = []
            for key, link in group:
                use = self.want.uses[(key[0], key[1], "")]
                doc_key = _doc_key(key[2])
                if self.sent(doc_key) is None:  # its credit document is gone from Xero
                    link.state, link.call_key = "refused", None
                    link.message = "Its credit document is no longer in Xero."
                    self.save([link])
                    continue
                held[(key[0], key[1], "")] += link.amount
                free[doc_key] = free.get(doc_key, 0) - link.amount
                if key[0] == "alloc":
                    allocations[doc_key].append((key, link.patient_id, link.amount, use))
                else:
                    payouts.append((key, link.patient_id, link.amount, use, doc_key))
            for doc_key, pieces in allocations.items():
                self._allocate(doc_key, pieces)
            self._payouts(payouts)

    def _free_credit(self) -> dict[DocKey, int]:
        free = {k: d.capacity for k, d in self.want.credits.items() if d.live}
        for key, link in self.links.items():
            if key[0] in PIECES and link.sent:
                doc_key = _doc_key(key[2])
                if doc_key in free:
                    free[doc_key] -= link.amount
        return free

    def _held_pieces(self) -> dict[DocKey, int]:
        held: dict[DocKey, int] = defaultdict(int)
        for key, link in self.links.items():
            if key[0] in PIECES and link.sent:
                doc = self.want.credits.get(_doc_key(key[2]))
                if doc is not None and doc.live:
                    held[(key[0], key[1], "")] += link.amount
        return held

    def _sources(self, use: CreditUse, docs: list[DocKey]) -> list[DocKey]:
        """The patient's credit documents in the order to draw from: the trace's first."""
        first: list[DocKey] = []
        for origin, _ in use.origins:
            first.extend(
                k for k in docs if self.want.credits[k].origin == origin and k not in first
            )
        return first + [k for k in docs if k not in first]

    def _allocate(self, doc_key: DocKey, pieces: list[tuple[DocKey, int, int, CreditUse]]) -> None:
        source = self.sent(doc_key)
        assert source is not None
        is_note = doc_key[0] == "credit_note"
        path = f"/{'CreditNotes' if is_note else 'Prepayments'}/"
        path += f"{source.xero_id if is_note else source.other_id}/Allocations"
        pieces = sorted(pieces, key=lambda piece: piece[0])  # the same calls when sent again
        for first in range(0, len(pieces), BATCH):
            chunk = pieces[first : first + BATCH]
            items = [(k, p, amount) for k, p, amount, _ in chunk]
            payload = {
                "Allocations": [
                    body.allocation(
                        self.shape,
                        amount,
                        self._xero_id(("invoice", use.invoice_id or 0, "")),
                        use.day,
                    )
                    for _, _, amount, use in chunk
                ]
            }
            answers = self._call("allocations", "PUT", path, payload, items, "Allocations")
            self._settle(
                "allocations",
                items,
                answers,
                lambda a: (a.get("AllocationID"), None),
                self._describe,
            )
            self.touched_credit.add(doc_key)
            for _, p, _, use in chunk:
                self.touched_patients.add(p)
                if use.invoice_id is not None:
                    self.touched_invoices.add(use.invoice_id)

    def _payouts(self, payouts: list[tuple[DocKey, int, int, CreditUse, DocKey]]) -> None:
        payouts = sorted(payouts, key=lambda payout: payout[0])  # the same calls sent again
        for first in range(0, len(payouts), BATCH):
            chunk = payouts[first : first + BATCH]
            items = [(k, p, amount) for k, p, amount, _, _ in chunk]
            records = []
            for _, _, amount, use, doc_key in chunk:
                source = self.sent(doc_key)
                assert source is not None
                kind = _XERO_KIND[doc_key[0]]
                xero = source.xero_id if kind == "CreditNote" else source.other_id
                records.append(
                    body.payout(
                        self.shape,
                        amount,
                        (kind, xero or ""),
                        self._account(use.type_id),
                        use.day,
                        use.reference,
                    )
                )
                self.touched_credit.add(doc_key)
                self.touched_patients.add(use.patient_id)
            answers = self._call(
                "refunds and transfers",
                "PUT",
                "/Payments",
                {"Payments": records},
                items,
                "Payments",
            )
            self._settle(
                "refunds and transfers",
                items,
                answers,
                lambda a: (a.get("PaymentID"), None),
                self._describe,
            )

    # -- voids ---------------------------------------------------------------------------------

    def _voids(self) -> None:
        """Void in Xero what was voided or reversed here, once nothing is applied to it."""
        for iid, doc in sorted(self.want.invoices.items()):
            key = ("invoice", iid, "")
            link = self.links.get(key)
            if doc.live or link is None or not link.sent:
                continue
            payload = {"Invoices": [{"InvoiceID": link.xero_id, "Status": "VOIDED"}]}
            self._update(
                "voided invoices", key, link, f"/Invoices/{link.xero_id}", payload, "Invoices"
            )
            self.touched_invoices.add(iid)
        for cid, note in sorted(self.want.credit_notes.items()):
            key = ("credit_note", cid, "")
            link = self.links.get(key)
            if note.live or link is None or not link.sent:
                continue
            payload = {"CreditNotes": [{"CreditNoteID": link.xero_id, "Status": "VOIDED"}]}
            self._update(
                "voided credit notes",
                key,
                link,
                f"/CreditNotes/{link.xero_id}",
                payload,
                "CreditNotes",
            )
        for key, credit in sorted(self.want.credits.items()):
            link = self.links.get(key)
            if key[0] == "credit_note" or credit.live or link is None or not link.sent:
                continue
            record = self._prepayment(key) | {
                "BankTransactionID": link.xero_id,
                "Status": "DELETED",
            }
            self._update(
                "removed prepayments",
                key,
                link,
                f"/BankTransactions/{link.xero_id}",
                {"BankTransactions": [record]},
                "BankTransactions",
            )
            self.touched_patients.add(credit.patient_id)

    def _update(
        self, step: str, key: DocKey, link: Link, path: str, payload: dict[str, Any], name: str
    ) -> None:
        items = [(key, link.patient_id, link.amount)]
        answers = self._call(step, "POST", path, payload, items, name)
        self._settle(step, items, answers, _no_ids, self._describe, "removed")

    # -- the read-back -------------------------------------------------------------------------

    def _read_back(self) -> None:
        """Read what this sync touched back from Xero and compare it with the ledger."""
        assert self.client is not None
        ids = {}
        for iid in sorted(self.touched_invoices):
            link = self.links.get(("invoice", iid, ""))
            if link is not None and link.xero_id and link.state in ("sent", "removed"):
                ids[link.xero_id] = iid
        xero_ids = sorted(ids)
        for first in range(0, len(xero_ids), BATCH):
            chunk = xero_ids[first : first + BATCH]
            found = self.client.get("/Invoices", {"IDs": ",".join(chunk)}).get("Invoices") or []
            for element in found:
                found_id = ids.get(str(element.get("InvoiceID")))
                if found_id is not None:
                    self._compare_invoice(found_id, element)
        self._read_credit()

    def _compare_invoice(self, iid: int, element: dict[str, Any]) -> None:
        doc = self.want.invoices[iid]
        label = self.shape.invoice_number(doc.number)
        status = str(element.get("Status", ""))
        due = self._minor(element.get("AmountDue", 0))
        if not doc.live:
            if status not in ("VOIDED", "DELETED"):
                self.report.differences.append(
                    Difference(label, "void", status.lower(), "voided here, not in Xero")
                )
            return
        paid_there = status == "PAID"
        if due != doc.owed or paid_there != (doc.owed == 0):
            self.report.differences.append(
                Difference(
                    label,
                    f"owes {self.shape.amount(doc.owed)}",
                    f"{status.lower()}, owes {self.shape.amount(due)}",
                    "closed here, open there" if doc.owed == 0 else "amount due differs",
                )
            )

    def _minor(self, value: Any) -> int:
        from decimal import Decimal

        return int(Decimal(str(value)).scaleb(self.shape.places))

    def _read_credit(self) -> None:
        """Each touched credit document's remaining credit, then each touched patient's credit
        in Xero (read, or as saved for documents not touched) against their account credit."""
        assert self.client is not None
        remaining: dict[DocKey, int] = {}
        for what, id_field, kinds in (
            ("Prepayments", "PrepaymentID", ("prepay", "transfer_in", "cn_credit")),
            ("CreditNotes", "CreditNoteID", ("credit_note",)),
        ):
            wanted: dict[str, DocKey] = {}
            for key in sorted(self.touched_credit):
                link = self.links.get(key)
                if key[0] in kinds and link is not None and link.sent:
                    xero = link.other_id if what == "Prepayments" else link.xero_id
                    if xero:
                        wanted[xero] = key
            listed = sorted(wanted)
            for first in range(0, len(listed), 25):
                chunk = listed[first : first + 25]
                where = " OR ".join(f'{id_field}==guid("{x}")' for x in chunk)
                for element in self.client.get(f"/{what}", {"where": where}).get(what) or []:
                    found_key = wanted.get(str(element.get(id_field)))
                    if found_key is not None:
                        remaining[found_key] = self._minor(element.get("RemainingCredit", 0))
        expected = self._expected_remaining()
        for pid in sorted(self.touched_patients):
            there = sum(
                remaining.get(k, left)
                for k, left in expected.items()
                if self.want.credits[k].patient_id == pid
            )
            here = self.credit.get(pid, 0)
            if there != here:
                self.report.differences.append(
                    Difference(
                        self.want.contact_name(pid),
                        f"account credit {self.shape.amount(here)}",
                        f"unallocated credit {self.shape.amount(there)}",
                        "the contact's credit differs",
                    )
                )

    def _expected_remaining(self) -> dict[DocKey, int]:
        """What each credit document Xero holds should have left, by the saved links."""
        left = {}
        for key, doc in self.want.credits.items():
            link = self.links.get(key)
            if doc.live and link is not None and link.sent:
                left[key] = doc.capacity
        for key, link in self.links.items():
            if key[0] in PIECES and link.sent:
                doc_key = _doc_key(key[2])
                if doc_key in left:
                    left[doc_key] -= link.amount
        return left

    def _differences(self) -> None:
        """Invoices whose balance Xero cannot match yet, by what the sync holds there (every
        invoice, read or not): the "closed here, open there" list."""
        expected_due: dict[int, int] = {}
        for iid, doc in self.want.invoices.items():
            if doc.live and self._is_sent(("invoice", iid, "")):
                expected_due[iid] = doc.total
        for key, link in self.links.items():
            if not link.sent:
                continue
            kind, record_id, _ = key
            if kind == "money":
                iid = self.want.money[key].invoice_id
            elif kind == "alloc":
                use = self.want.uses.get(("alloc", record_id, ""))
                iid = use.invoice_id if use and use.invoice_id else 0
            elif kind == "cn_apply":
                iid = self.want.credit_notes[record_id].invoice_id
            else:
                continue
            if iid in expected_due:
                expected_due[iid] -= link.amount
        seen = {d.what for d in self.report.differences}
        for iid, doc in sorted(self.want.invoices.items(), key=lambda kv: kv[1].number):
            if not doc.live:
                continue
            label = self.shape.invoice_number(doc.number)
            if label in seen:
                continue
            if iid not in expected_due:
                if self.client is not None:
                    self.report.differences.append(
                        Difference(
                            label,
                            f"owes {self.shape.amount(doc.owed)}",
                            "not in Xero",
                            "not sent: see the refusals",
                        )
                    )
                continue
            if expected_due[iid] != doc.owed:
                self.report.differences.append(
                    Difference(
                        label,
                        f"owes {self.shape.amount(doc.owed)}",
                        f"owes {self.shape.amount(expected_due[iid])}",
                        "closed here, open there"
                        if doc.owed == 0
                        else "a payment or allocation has not reached Xero",
                    )
                )


def _part(doc_key: DocKey) -> str:
    """A credit document's key as a piece's ``part``: ``prepay:12:left:3``."""
    return f"{doc_key[0]}:{doc_key[1]}:{doc_key[2]}"


def _doc_key(part: str) -> DocKey:
    kind, record_id, rest = part.split(":", 2)
    return (kind, int(record_id), rest)


def _own_element(
    name: str, record: dict[str, Any], element: dict[str, Any], elements: list[dict[str, Any]]
) -> dict[str, Any]:
    """The element of Xero's answer that is ``record``'s: the one in its place (``element``)
    unless the record has a number of its own (:data:`_NATURAL_KEY`) that another element
    carries. An interrupted call sent again is answered with the first call's elements, which
    held other records too when the first call did (a contact renamed beside a new one)."""
    field_ = _NATURAL_KEY.get(name)
    number = record.get(field_) if field_ else None
    if field_ is None or number is None:
        return element

    def same(found: dict[str, Any]) -> bool:
        return str(found.get(field_, "")).upper() == str(number).upper()

    if same(element):
        return element
    return next((found for found in elements if same(found)), {})


def _no_ids(answer: dict[str, Any]) -> tuple[str | None, str | None]:
    return None, None
