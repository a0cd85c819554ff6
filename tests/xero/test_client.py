"""The Xero client against the fake Xero: requests Xero's description accepts, Xero's limits
kept (60 calls a minute, 5,000 a day, 429 with Retry-After), writes never done twice when a
call is retried, and each failure told apart (expired token, refusal, Xero unreachable)."""

from __future__ import annotations

import json
import socket
from decimal import Decimal

import pytest

from desktop_app.core.xero.client import (
    ATTEMPTS,
    CallLimiter,
    XeroAuthError,
    XeroClient,
    XeroRefusedError,
    XeroUnavailableError,
    dumps,
    validation_errors,
)
from tests.xero_fake import FakeXero


@pytest.fixture
def xero():
    fake = FakeXero().start()
    yield fake
    fake.stop()
    assert fake.invalid == []  # every request conformed to Xero's description


class Clock:
    """A clock that moves only when the client sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def client_of(fake: FakeXero, clock: Clock | None = None, **kw) -> XeroClient:
    clock = clock or Clock()
    return XeroClient(
        fake.token,
        fake.tenant,
        base_url=fake.url,
        limiter=CallLimiter(clock=clock, sleep=clock.sleep, **kw),
        sleep=clock.sleep,
    )


def contact(client: XeroClient, name: str, key: str) -> dict:
    (made,) = client.write(
        "PUT",
        "/Contacts",
        {"Contacts": [{"Name": name}]},
        key=key,
        params={"summarizeErrors": "false"},
    )["Contacts"]
    return made


def invoice_body(contact_id: str, number: str, amount: str) -> dict:
    return {
        "Invoices": [
            {
                "Type": "ACCREC",
                "Contact": {"ContactID": contact_id},
                "InvoiceNumber": number,
                "Date": "2026-12-01",
                "DueDate": "2026-12-15",
                "Status": "AUTHORISED",
                "LineAmountTypes": "Exclusive",
                "LineItems": [
                    {
                        "Description": "Standard consultation",
                        "Quantity": Decimal("1"),
                        "UnitAmount": Decimal(amount),
                        "AccountCode": "200",
                        "TaxType": "OUTPUT",
                        "TaxAmount": Decimal("0.00"),
                    }
                ],
            }
        ]
    }


def test_a_record_is_created_once_and_read_back(xero):
    client = client_of(xero)
    ada = contact(client, "Ada Lovelace (1)", "c-1")
    made = client.write(
        "PUT",
        "/Invoices",
        invoice_body(ada["ContactID"], "INV-1", "95.20"),
        key="i-1",
        params={"summarizeErrors": "false"},
    )["Invoices"][0]
    assert validation_errors(made) == []
    (back,) = client.get("/Invoices", {"IDs": made["InvoiceID"]})["Invoices"]
    assert back["AmountDue"] == Decimal("95.20") and back["Status"] == "AUTHORISED"
    assert isinstance(back["AmountDue"], Decimal)  # read as Decimal, never a float
    assert (client.calls, client.writes) == (3, 2)


def test_amounts_are_written_as_exact_json_numbers():
    text = dumps({"Amount": Decimal("95.20"), "Lines": [Decimal("-0.05")], "Name": "x"})
    assert text == '{"Amount": 95.20, "Lines": [-0.05], "Name": "x"}'
    assert json.loads(text, parse_float=Decimal)["Amount"] == Decimal("95.20")


def test_a_429_waits_the_retry_after_then_asks_again(xero):
    clock = Clock()
    client = client_of(xero, clock)
    xero.fail(429, "PUT", "/Contacts", {"Retry-After": "7"})
    contact(client, "Ada Lovelace (1)", "c-1")
    assert 7 in clock.slept
    assert len(xero.contacts) == 1 and client.calls == 2


def test_a_write_whose_answer_was_lost_is_not_done_twice(xero):
    """Xero saved the contact but the answer never arrived (a 500 after the write): the retry
    carries the same Idempotency-Key, so Xero answers it without a second contact."""
    client = client_of(xero)
    xero.fail(500, "PUT", "/Contacts", after=True)
    made = contact(client, "Ada Lovelace (1)", "c-1")
    assert list(xero.contacts) == [made["ContactID"]]
    assert client.calls == 2


def test_xero_failing_every_time_says_so_after_a_few_tries(xero):
    clock = Clock()
    client = client_of(xero, clock)
    for _ in range(ATTEMPTS):
        xero.fail(503, "GET", "/Invoices")
    with pytest.raises(XeroUnavailableError, match=r"after 4 tries; nothing is lost"):
        client.get("/Invoices")
    assert clock.slept == [2, 4, 8]


def test_no_answer_at_all_is_xero_unavailable():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clock = Clock()
    client = XeroClient(
        "t",
        "x",
        base_url=f"http://127.0.0.1:{port}/api.xro/2.0",
        limiter=CallLimiter(clock=clock, sleep=clock.sleep),
        sleep=clock.sleep,
        timeout=2,
    )
    with pytest.raises(XeroUnavailableError, match="did not answer GET /Accounts") as failed:
        client.get("/Accounts")
    assert failed.value.status == 0 and client.calls == ATTEMPTS


def test_an_expired_token_and_a_wrong_organisation_are_told_apart(xero):
    expired = client_of(xero)
    expired.access_token = "old"
    with pytest.raises(XeroAuthError, match=r"HTTP 401.*connect to Xero again"):
        expired.get("/Accounts")
    elsewhere = client_of(xero)
    elsewhere.tenant_id = "another"
    with pytest.raises(XeroAuthError, match="HTTP 403"):
        elsewhere.get("/Accounts")


def test_a_request_xero_would_not_understand_is_refused_with_the_reason(xero):
    client = client_of(xero)
    body = {"Invoices": [{"Type": "PATIENT", "Contact": {"ContactID": "x"}}]}
    with pytest.raises(XeroRefusedError, match="HTTP 400: Request does not match Xero's API"):
        client.write("PUT", "/Invoices", body, key="bad")
    assert len(xero.invalid) == 1 and "PATIENT" in xero.invalid[0]
    xero.invalid.clear()


def test_xero_rules_on_payments_and_allocations(xero):
    """The fake keeps the rules the tie-out depends on: no payment above the amount due or into
    an account closed to payments, no allocation above the credit left; AmountDue and PAID
    follow."""
    client = client_of(xero)
    ada = contact(client, "Ada Lovelace (1)", "c-1")["ContactID"]
    inv = client.write(
        "PUT",
        "/Invoices",
        invoice_body(ada, "INV-1", "100.00"),
        key="i",
        params={"summarizeErrors": "false"},
    )["Invoices"][0]["InvoiceID"]

    def pay(amount: str, account: str, key: str) -> list[str]:
        body = {
            "Payments": [
                {
                    "Invoice": {"InvoiceID": inv},
                    "Account": {"Code": account},
                    "Amount": Decimal(amount),
                    "Date": "2026-12-02",
                }
            ]
        }
        made = client.write("PUT", "/Payments", body, key=key, params={"summarizeErrors": "false"})
        return validation_errors(made["Payments"][0])

    assert pay("150.00", "CLR-CASH", "p1") == [
        "Payment amount exceeds the amount outstanding on this document (150.00)."
    ]
    assert "payments enabled" in pay("10.00", "880", "p2")[0]
    assert pay("60.00", "CLR-CASH", "p3") == []
    prepay = client.write(
        "PUT",
        "/BankTransactions",
        {
            "BankTransactions": [
                {
                    "Type": "RECEIVE-PREPAYMENT",
                    "Contact": {"ContactID": ada},
                    "BankAccount": {"Code": "CLR-EFTPOS"},
                    "LineAmountTypes": "NoTax",
                    "LineItems": [
                        {
                            "Description": "Prepayment",
                            "Quantity": Decimal(1),
                            "UnitAmount": Decimal("50.00"),
                            "AccountCode": "2400",
                        }
                    ],
                    "Date": "2026-12-02",
                }
            ]
        },
        key="b1",
    )["BankTransactions"][0]["PrepaymentID"]

    def allocate(amount: str, key: str) -> list[str]:
        body = {
            "Allocations": [
                {"Invoice": {"InvoiceID": inv}, "Amount": Decimal(amount), "Date": "2026-12-02"}
            ]
        }
        made = client.write("PUT", f"/Prepayments/{prepay}/Allocations", body, key=key)
        return validation_errors(made["Allocations"][0])

    assert "more than the invoice's amount due" in allocate("45.00", "a1")[0]
    assert allocate("40.00", "a2") == []
    assert "more than the credit remaining" in allocate("20.00", "a3")[0]
    (back,) = client.get("/Invoices", {"IDs": inv})["Invoices"]
    assert (back["AmountDue"], back["Status"]) == (Decimal("0.00"), "PAID")
    assert xero.credit_by_contact() == {ada: Decimal("10.00")}


def test_the_minute_and_the_day_limits_are_kept():
    clock = Clock()
    limiter = CallLimiter(per_minute=60, per_day=100, clock=clock, sleep=clock.sleep)
    for _ in range(60):
        limiter.wait()
    assert clock.slept == []
    limiter.wait()  # the 61st call waits until the first is a minute old
    assert clock.slept == [60]
    for _ in range(39):
        limiter.wait()
    with pytest.raises(XeroUnavailableError, match="100 calls a day"):
        limiter.wait()
    clock.now += 86_400  # the next day
    limiter.wait()
