"""A fake Xero for the tests: an HTTP server on 127.0.0.1 that answers the Accounting API calls
the app makes, checks every request against Xero's own OpenAPI description, and keeps Xero's
rules where the ledger's tie-out depends on them.

* Every request is validated (path, query, headers, body) with openapi-core against
  ``xero_accounting.yaml``; one that does not conform is answered 400 and recorded in
  :attr:`FakeXero.invalid`, so a test fails on any request real Xero would not understand.
* The access token and tenant must match (401 and 403 otherwise); a write's ``Idempotency-Key``
  seen before returns the first answer without doing the write again.
* Rules: an invoice's ``AmountDue`` is its total less payments, prepayment and credit note
  allocations; no payment above ``AmountDue``, or into an account that is neither a bank
  account nor open to payments; no allocation above the credit remaining or the amount due;
  invoice numbers and contact names are unique.
* Faults on demand: :meth:`FakeXero.fail` answers a chosen call with a status (429 with a
  ``Retry-After``, 500...) once.

The description's ``servers`` entry is ``https://api.xero.com/api.xro/2.0``; requests are matched
against it by their path below ``/api.xro/2.0``. Two flaws of the published description are
mended in memory before use: string ``"false"``/``"true"`` defaults on boolean fields, and
defaults on read-only fields (both would otherwise fail every request).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from desktop_app.core.xero.client import dumps

SPEC = Path(__file__).resolve().parent / "reference" / "xero_accounting.yaml"
PREFIX = "/api.xro/2.0"
CENT = Decimal("0.01")


@cache
def openapi() -> Any:
    """Xero's Accounting API description, mended, loaded once per test process."""
    import yaml
    from jsonschema_path import SchemaPath
    from openapi_core import Config, OpenAPI

    with SPEC.open(encoding="utf-8") as handle:
        spec = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))

    def mend(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("readOnly") and "default" in node:
                del node["default"]
            if node.get("type") == "boolean":
                for key in ("default", "example"):
                    if isinstance(node.get(key), str):
                        node[key] = node[key] == "true"
            for value in node.values():
                mend(value)
        elif isinstance(node, list):
            for value in node:
                mend(value)

    mend(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Unsupported scheme type": Xero's OAuth2 scheme
        return OpenAPI(SchemaPath.from_dict(spec), config=Config(spec_validator_cls=None))


def validate(method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> str:
    """'' when the request conforms to Xero's description; otherwise what does not."""
    from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    environ = EnvironBuilder(
        method=method,
        base_url="https://api.xero.com/api.xro/2.0",
        path=path,
        query_string=query,
        data=body or None,
        headers=headers,
    ).get_environ()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = openapi().unmarshal_request(WerkzeugOpenAPIRequest(Request(environ)))
    return "; ".join(f"{e!r}: {e.__cause__ or ''}" for e in result.errors)


#: A new clinic's payment types and their default clearing accounts (``CLR-EFTPOS``...).
CLINIC_CLEARING = {
    "Cash": "CLR-CASH",
    "EFTPOS": "CLR-EFTPOS",
    "Credit card": "CLR-CREDIT",
    "Bank transfer": "CLR-BANKTR",
    "Health fund": "CLR-HEALTH",
}


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def new_id() -> str:
    return str(uuid.uuid4())


class FakeXero:
    """One Xero organisation behind an HTTP server on 127.0.0.1 (:meth:`start`, :attr:`url`)."""

    def __init__(
        self,
        token: str = "access-token",
        tenant: str = "tenant-1",
        accept: Callable[[str], bool] = lambda token: False,
        *,
        check: bool = True,
    ) -> None:
        """``accept`` admits other access tokens too (those a fake sign-in issued). Without
        ``check`` requests are not validated against the description (the sync benchmark, so
        it times the sync, not openapi-core; the tests validate every request the sync makes)."""
        self.token, self.tenant, self.accept = token, tenant, accept
        self.check = check
        #: Seconds spent answering requests (the benchmark takes it out of the sync's own time).
        self.busy = 0.0
        self.lock = threading.Lock()
        self.accounts: dict[str, dict[str, Any]] = {}
        self.contacts: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.prepayments: dict[str, dict[str, Any]] = {}
        self.credit_notes: dict[str, dict[str, Any]] = {}
        self.allocations: dict[str, dict[str, Any]] = {}
        self.bank_prepayments: dict[str, str] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.seen_keys: dict[str, tuple[int, dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []
        self.invalid: list[str] = []
        self.faults: list[tuple[Callable[[str, str], bool], int, dict[str, str]]] = []
        self.server: ThreadingHTTPServer | None = None
        #: An Australian organisation's standard sales tax rates.
        self.tax_rates: list[dict[str, Any]] = [
            {"Name": "GST on Income", "TaxType": "OUTPUT", "Status": "ACTIVE"}
            | {"EffectiveRate": Decimal("10.0000"), "CanApplyToRevenue": True},
            {"Name": "GST Free Income", "TaxType": "EXEMPTOUTPUT", "Status": "ACTIVE"}
            | {"EffectiveRate": Decimal("0.0000"), "CanApplyToRevenue": True},
            {"Name": "BAS Excluded", "TaxType": "BASEXCLUDED", "Status": "ACTIVE"}
            | {"EffectiveRate": Decimal("0.0000"), "CanApplyToRevenue": True},
        ]
        for code, name, kind, payments in (
            ("200", "Sales", "REVENUE", False),
            ("2400", "Customer credit", "CURRLIAB", True),
            ("CLR-CASH", "Cash clearing", "BANK", True),
            ("CLR-EFTPOS", "EFTPOS clearing", "BANK", True),
            ("880", "Owner A Drawings", "EQUITY", False),
        ):
            self.add_account(code, name, kind, payments)

    # -- set-up ----------------------------------------------------------------------------

    def add_account(self, code: str, name: str, kind: str, payments: bool) -> None:
        self.accounts[code] = {
            "AccountID": new_id(),
            "Code": code,
            "Name": name,
            "Type": kind,
            "EnablePaymentsToAccount": payments,
            "Status": "ACTIVE",
        }

    def with_clinic_clearing(self) -> FakeXero:
        """Add a bank account for each of a new clinic's default clearing accounts (the ones
        the organisation lacks); returns the fake."""
        for name, code in CLINIC_CLEARING.items():
            if code not in self.accounts:
                self.add_account(code, f"{name} clearing", "BANK", True)
        return self

    def fail(
        self,
        status: int,
        method: str = "",
        path: str = "",
        headers: dict[str, str] | None = None,
        *,
        after: bool = False,
    ) -> None:
        """Answer the next call matching ``method`` and the start of ``path`` with ``status``;
        with ``after``, do the call first and lose its answer (the line dropped on the way
        back), as Xero does when a connection breaks after a write."""
        self.faults.append(
            (
                lambda m, p: (not method or m == method) and p.startswith(path),
                status,
                {**(headers or {}), **({"X-After": "1"} if after else {})},
            )
        )

    def start(self) -> FakeXero:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _any(self) -> None:
                fake.handle(self)

            do_GET = do_PUT = do_POST = do_DELETE = _any  # noqa: N815 (http.server names)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}{PREFIX}"

    @property
    def writes(self) -> int:
        return sum(1 for method, _ in self.requests if method != "GET")

    # -- the exchange ----------------------------------------------------------------------

    def handle(self, http: BaseHTTPRequestHandler) -> None:
        method = http.command
        parts = urlsplit(http.path)
        path = parts.path.removeprefix(PREFIX)
        length = int(http.headers.get("Content-Length") or 0)
        raw = http.rfile.read(length) if length else b""
        headers = {k: v for k, v in http.headers.items()}
        started = time.perf_counter()
        with self.lock:
            self.requests.append((method, path))
            status, body, extra = self._answer(method, path, parts.query, headers, raw)
        data = dumps(body).encode()  # amounts as JSON numbers, as Xero writes them
        self.busy += time.perf_counter() - started
        http.send_response(status)
        http.send_header("Content-Type", "application/json")
        http.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            http.send_header(name, value)
        http.end_headers()
        http.wfile.write(data)

    def _answer(
        self, method: str, path: str, query: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        lower = {k.lower(): v for k, v in headers.items()}
        bearer = lower.get("authorization", "").removeprefix("Bearer ")
        if not (bearer == self.token or self.accept(bearer)):
            return 401, {"Title": "Unauthorized", "Detail": "TokenExpired: token expired"}, {}
        if lower.get("xero-tenant-id") != self.tenant:
            return 403, {"Title": "Forbidden", "Detail": "AuthenticationUnsuccessful"}, {}
        # Matched against Xero's own server (the Host header names this fake's port).
        problem = self.check and validate(
            method, path, query, {k: v for k, v in headers.items() if k.lower() != "host"}, raw
        )
        if problem:
            self.invalid.append(f"{method} {path}: {problem}")
            return 400, {"Message": f"Request does not match Xero's API: {problem}"}, {}
        fault = None
        for i, (matches, status, extra) in enumerate(self.faults):
            if matches(method, path):
                del self.faults[i]
                fault = (status, {"Message": f"injected {status}"}, extra)
                break
        if fault is not None and not fault[2].get("X-After"):
            return fault
        key = lower.get("idempotency-key")
        if method != "GET" and key and key in self.seen_keys:
            status, body = self.seen_keys[key]
            return status, body, {}
        body = json.loads(raw, parse_float=Decimal) if raw else {}
        params = {k: v[0] for k, v in parse_qs(query).items()}
        status, answer = self._route(method, path, params, body)
        if method != "GET" and key:
            self.seen_keys[key] = (status, answer)
        if fault is not None:  # done, and the answer lost on its way back
            return fault[0], fault[1], {}
        return status, answer, {}

    def _route(
        self, method: str, path: str, params: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        bits = path.strip("/").split("/")
        if bits == ["Accounts"] and method == "GET":
            return 200, {"Accounts": list(self.accounts.values())}
        if bits == ["TaxRates"] and method == "GET":
            return 200, {"TaxRates": self.tax_rates}
        if bits == ["Contacts"]:
            if method == "GET":
                return 200, {"Contacts": list(self.contacts.values())}
            return self._batch(body, "Contacts", self._contact)
        if bits == ["Items"]:
            if method == "GET":
                return 200, {"Items": list(self.items.values())}
            return self._batch(body, "Items", self._item)
        if bits == ["Invoices"]:
            if method == "GET":
                wanted = params.get("IDs", "")
                ids = wanted.split(",") if wanted else list(self.invoices)
                return 200, {"Invoices": [self._invoice_view(i) for i in ids if i in self.invoices]}
            return self._batch(body, "Invoices", self._invoice)
        if bits == ["Payments"] and method in ("PUT", "POST"):
            return self._batch(body, "Payments", self._payment)
        if len(bits) == 2 and bits[0] == "Payments" and method == "POST":
            return self._delete_payment(bits[1], body)
        if bits == ["BankTransactions"] and method in ("PUT", "POST"):
            return self._batch(body, "BankTransactions", self._bank_transaction)
        if len(bits) == 2 and bits[0] == "BankTransactions" and method == "POST":
            return self._batch(body, "BankTransactions", lambda r: self._delete_bank(bits[1], r))
        if bits == ["Prepayments"] and method == "GET":
            return 200, {"Prepayments": self._where(self.prepayments, params)}
        if bits == ["CreditNotes"]:
            if method == "GET":
                return 200, {"CreditNotes": self._where(self.credit_notes, params)}
            return self._batch(body, "CreditNotes", self._credit_note)
        if len(bits) == 2 and bits[0] in ("Invoices", "CreditNotes") and method == "POST":
            store = self.invoices if bits[0] == "Invoices" else self.credit_notes
            return self._batch(body, bits[0], lambda r: self._void(store, bits[1], r))
        if (
            len(bits) == 4
            and bits[0] in ("Prepayments", "CreditNotes")
            and bits[2] == "Allocations"
            and method == "DELETE"
        ):
            return self._delete_allocation(bits[3])
        if (
            len(bits) == 3
            and bits[0] in ("Prepayments", "CreditNotes")
            and bits[2] == "Allocations"
        ):
            store = self.prepayments if bits[0] == "Prepayments" else self.credit_notes
            source = store.get(bits[1])
            if source is None:
                return 404, {"Message": f"{bits[0][:-1]} {bits[1]} not found"}
            return self._batch(body, "Allocations", lambda a: self._allocate(source, bits[0], a))
        return 404, {"Message": f"The fake has no {method} {path}"}

    def _batch(
        self, body: dict[str, Any], name: str, make: Callable[[dict[str, Any]], list[str]]
    ) -> tuple[int, dict[str, Any]]:
        """Xero's summarizeErrors=false answer: 200, each record with its own errors."""
        out = []
        for record in body.get(name, []):
            errors = make(record)
            if errors:
                record = {**record, "HasErrors": True}
                record["ValidationErrors"] = [{"Message": e} for e in errors]
            out.append(record)
        return 200, {name: out}

    # -- records ---------------------------------------------------------------------------

    def _contact(self, record: dict[str, Any]) -> list[str]:
        name = record.get("Name", "")
        mine = record.get("ContactID")
        if mine is not None and mine not in self.contacts:
            return ["The contact could not be found."]
        if any(
            c["Name"].lower() == name.lower() and cid != mine for cid, c in self.contacts.items()
        ):
            return [f"The contact name {name} is already assigned to another contact."]
        record["ContactID"] = mine or new_id()
        record["ContactStatus"] = "ACTIVE"
        self.contacts[record["ContactID"]] = dict(record)
        return []

    def _item(self, record: dict[str, Any]) -> list[str]:
        code = str(record.get("Code", ""))
        mine = record.get("ItemID")
        if any(i["Code"].upper() == code.upper() and iid != mine for iid, i in self.items.items()):
            return [f"Item code '{code}' already exists"]
        record["ItemID"] = mine or new_id()
        self.items[record["ItemID"]] = dict(record)
        return []

    def _invoice(self, record: dict[str, Any]) -> list[str]:
        for line in record.get("LineItems", []):
            code = line.get("ItemCode")
            if code and not any(i["Code"] == code for i in self.items.values()):
                return [f"Item code '{code}' is not valid"]
        contact = (record.get("Contact") or {}).get("ContactID")
        if contact not in self.contacts:
            return ["The contact is not valid."]
        number = record.get("InvoiceNumber")
        mine = record.get("InvoiceID")
        if mine is not None:
            held = self.invoices.get(mine)
            if held is None:
                return ["The invoice could not be found."]
            if held["AmountPaid"] or held["AmountCredited"]:
                return ["Invoice not of valid status for modification (it has payments)."]
        if any(i["InvoiceNumber"] == number and iid != mine for iid, i in self.invoices.items()):
            return [f"Invoice # must be unique ({number})."]
        total, tax = self._totals(record)
        record.update(
            InvoiceID=mine or new_id(),
            SubTotal=total - tax,
            TotalTax=tax,
            Total=total,
            AmountPaid=Decimal(0),
            AmountCredited=Decimal(0),
            AmountDue=total,
        )
        self.invoices[record["InvoiceID"]] = dict(record)
        return []

    def _totals(self, record: dict[str, Any]) -> tuple[Decimal, Decimal]:
        """A document's total and tax as Xero works them out: each line's amount is quantity x
        unit amount less its discount percentage, rounded to the cent; its tax is the one given."""
        lines = total = tax = Decimal(0)
        for line in record.get("LineItems", []):
            amount = Decimal(str(line.get("Quantity", 1))) * Decimal(str(line["UnitAmount"]))
            amount = money(amount * (100 - Decimal(str(line.get("DiscountRate", 0)))) / 100)
            line["LineAmount"] = amount
            lines += amount
            tax += money(line.get("TaxAmount", 0))
        inclusive = record.get("LineAmountTypes") == "Inclusive"
        total = lines if inclusive else lines + tax
        return total, tax

    def _invoice_view(self, invoice_id: str) -> dict[str, Any]:
        invoice = self.invoices[invoice_id]
        due = invoice["AmountDue"]
        status = invoice["Status"]
        if status == "AUTHORISED" and due == 0:
            status = "PAID"
        return {**invoice, "Status": status}

    def _payment(self, record: dict[str, Any]) -> list[str]:
        account = self.accounts.get((record.get("Account") or {}).get("Code", ""))
        if account is None or not (account["Type"] == "BANK" or account["EnablePaymentsToAccount"]):
            return [
                "Payments can only be made to a bank account or an account with payments enabled."
            ]
        amount = money(record["Amount"])
        for kind, store in (("Prepayment", self.prepayments), ("CreditNote", self.credit_notes)):
            if record.get(kind):  # a refund of credit
                source = store.get(record[kind].get(f"{kind}ID", ""))
                if source is None:
                    return [f"The {kind} could not be found."]
                if amount <= 0 or amount > source["RemainingCredit"]:
                    return [f"The refund of {amount} is more than the credit remaining."]
                source["RemainingCredit"] -= amount
                record["PaymentID"] = new_id()
                self.payments[record["PaymentID"]] = {**record, "Target": source}
                return []
        invoice = self.invoices.get((record.get("Invoice") or {}).get("InvoiceID", ""))
        if invoice is None:
            return ["Invoice could not be found."]
        if amount <= 0 or amount > invoice["AmountDue"]:
            return [f"Payment amount exceeds the amount outstanding on this document ({amount})."]
        invoice["AmountPaid"] += amount
        invoice["AmountDue"] -= amount
        record["PaymentID"] = new_id()
        self.payments[record["PaymentID"]] = dict(record)
        return []

    def _bank_transaction(self, record: dict[str, Any]) -> list[str]:
        kind = record.get("Type")
        if kind != "RECEIVE-PREPAYMENT":
            return [f"The fake takes only RECEIVE-PREPAYMENT bank transactions, not {kind}."]
        contact = (record.get("Contact") or {}).get("ContactID")
        if contact not in self.contacts:
            return ["The contact is not valid."]
        bank = self.accounts.get((record.get("BankAccount") or {}).get("Code", ""))
        if bank is None or bank["Type"] != "BANK":
            return ["The bank account is not a bank account."]
        total, _ = self._totals(record)
        prepayment = {
            "PrepaymentID": new_id(),
            "Type": "RECEIVE-PREPAYMENT",
            "Contact": {"ContactID": contact},
            "Total": total,
            "RemainingCredit": total,
            "Status": "AUTHORISED",
            "Reference": record.get("Reference", ""),
        }
        self.prepayments[prepayment["PrepaymentID"]] = prepayment
        record["BankTransactionID"] = new_id()
        self.bank_prepayments[record["BankTransactionID"]] = prepayment["PrepaymentID"]
        record["PrepaymentID"] = prepayment["PrepaymentID"]
        return []

    def _credit_note(self, record: dict[str, Any]) -> list[str]:
        contact = (record.get("Contact") or {}).get("ContactID")
        if contact not in self.contacts:
            return ["The contact is not valid."]
        total, tax = self._totals(record)
        record.update(CreditNoteID=new_id(), Total=total, TotalTax=tax, RemainingCredit=total)
        self.credit_notes[record["CreditNoteID"]] = dict(record)
        return []

    def _allocate(self, source: dict[str, Any], kind: str, record: dict[str, Any]) -> list[str]:
        invoice = self.invoices.get((record.get("Invoice") or {}).get("InvoiceID", ""))
        if invoice is None:
            return ["Invoice could not be found."]
        if invoice["Contact"]["ContactID"] != source["Contact"]["ContactID"]:
            return ["The invoice and the credit belong to different contacts."]
        amount = money(record["Amount"])
        if amount <= 0 or amount > source["RemainingCredit"]:
            return [f"The allocation of {amount} is more than the credit remaining."]
        if amount > invoice["AmountDue"]:
            return [f"The allocation of {amount} is more than the invoice's amount due."]
        source["RemainingCredit"] -= amount
        invoice["AmountCredited"] += amount
        invoice["AmountDue"] -= amount
        record["AllocationID"] = new_id()
        self.allocations[record["AllocationID"]] = {**record, "SourceDoc": source}
        return []

    def _where(self, store: dict[str, dict[str, Any]], params: dict[str, str]) -> list[Any]:
        """A list, narrowed to the ids a ``where`` filter names with ``guid("...")``."""
        wanted = re.findall(r'guid\("([0-9a-f-]+)"\)', params.get("where", ""))
        if not wanted:
            return list(store.values())
        return [store[i] for i in wanted if i in store]

    def _void(
        self, store: dict[str, dict[str, Any]], doc_id: str, record: dict[str, Any]
    ) -> list[str]:
        """Void an invoice or credit note: Xero refuses while anything is applied to it."""
        doc = store.get(doc_id)
        if doc is None:
            return ["The document could not be found."]
        if record.get("Status") != "VOIDED":
            return ["The fake changes only a document's status to VOIDED."]
        applied = (
            doc["AmountPaid"] + doc["AmountCredited"]
            if "AmountDue" in doc
            else (doc["Total"] - doc["RemainingCredit"])
        )
        if applied:
            return ["This document cannot be voided as it has payments or allocations applied."]
        doc["Status"] = "VOIDED"
        if "AmountDue" in doc:
            doc["AmountDue"] = Decimal(0)
        else:
            doc["RemainingCredit"] = Decimal(0)
        return []

    def _delete_bank(self, bank_id: str, record: dict[str, Any]) -> list[str]:
        prepayment = self.prepayments.get(self.bank_prepayments.get(bank_id, ""))
        if prepayment is None:
            return ["The bank transaction could not be found."]
        if record.get("Status") != "DELETED":
            return ["The fake changes only a bank transaction's status to DELETED."]
        if prepayment["RemainingCredit"] != prepayment["Total"]:
            return ["This prepayment has allocations or refunds and cannot be deleted."]
        prepayment["Status"] = "DELETED"
        prepayment["RemainingCredit"] = Decimal(0)
        return []

    def _delete_allocation(self, allocation_id: str) -> tuple[int, dict[str, Any]]:
        allocation = self.allocations.pop(allocation_id, None)
        if allocation is None:
            return 404, {"Message": f"Allocation {allocation_id} not found"}
        source = allocation["SourceDoc"]
        amount = money(allocation["Amount"])
        source["RemainingCredit"] += amount
        invoice = self.invoices[allocation["Invoice"]["InvoiceID"]]
        invoice["AmountCredited"] -= amount
        invoice["AmountDue"] += amount
        return 200, {"AllocationID": allocation_id, "Amount": amount, "IsDeleted": True}

    def _delete_payment(self, payment_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        payment = self.payments.pop(payment_id, None)
        if payment is None:
            return 404, {"Message": f"Payment {payment_id} not found"}
        if body.get("Status") != "DELETED":
            return 400, {"Message": "The fake changes only a payment's status to DELETED."}
        amount = money(payment["Amount"])
        target = payment.get("Target")
        if target is not None:  # a refund out of credit
            target["RemainingCredit"] += amount
        else:
            invoice = self.invoices[payment["Invoice"]["InvoiceID"]]
            invoice["AmountPaid"] -= amount
            invoice["AmountDue"] += amount
        return 200, {"Payments": [{"PaymentID": payment_id, "Status": "DELETED"}]}

    # -- what tests read -------------------------------------------------------------------

    def credit_by_contact(self) -> dict[str, Decimal]:
        """Each contact's unallocated credit: prepayments' and credit notes' remaining."""
        held: dict[str, Decimal] = {}
        for source in (*self.prepayments.values(), *self.credit_notes.values()):
            contact = source["Contact"]["ContactID"]
            held[contact] = held.get(contact, Decimal(0)) + source["RemainingCredit"]
        return held
