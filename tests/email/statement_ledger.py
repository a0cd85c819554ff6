"""A small clinic for the statement run tests: who owed and held what last month, and a
stand-in renderer (most tests need no Qt)."""

from __future__ import annotations

from datetime import date, timedelta

from desktop_app.core import Clinic, PayerStatementDocument, StatementDocument

from .smtp_servers import SilentServer, SmtpServer

TODAY = date.today()
#: Last month: the period the runs cover.
END = TODAY.replace(day=1) - timedelta(days=1)
START = END.replace(day=1)


def fake_pdf(document: StatementDocument | PayerStatementDocument) -> bytes:
    """A stand-in PDF naming the account and its closing balance (most tests need no Qt)."""
    who = (
        document.payer.name
        if isinstance(document, PayerStatementDocument)
        else f"{document.patient.first_name} {document.patient.last_name}"
    )
    return f"%PDF-1.4\n% statement of {who}: {document.closing_balance}\n".encode()


def configure(clinic: Clinic, server: SmtpServer | SilentServer, timeout: int = 5) -> None:
    """Point the clinic at a plain loopback server (``timeout``: seconds it is waited for)."""
    clinic.set_email_settings(
        host="127.0.0.1",
        port=server.port,
        security="none",
        sender="Harbour Physio <desk@harbour.example>",
        timeout=timeout,
    )


def pay(clinic: Clinic, pid: int, amount: str, day: date, key: str) -> int:
    """A cash payment of ``amount`` on ``day``."""
    preview = clinic.preview_payment(pid, {"Cash": amount}, payment_date=day)
    return clinic.record_payment(preview, key)


def build_ledger(clinic: Clinic) -> dict[str, int]:
    """Last month: Ada (email) owed $80 and paid it this month; Bea (no email) owes $50;
    Cy (email) paid $30 ahead, held as credit; Dot (email) owed and paid in full; Eve's first
    invoice is this month's; Bupa (email) is owed $120 for Gus's visit."""
    day = END - timedelta(days=3)
    clinic.set_clinic_name("Harbour Physio")
    ada = clinic.add_patient("Ada", "Lovelace", email="ada@example.org")
    bea = clinic.add_patient("Bea", "Babbage")
    cy = clinic.add_patient("Cy", "Clarke", email="cy@example.org")
    dot = clinic.add_patient("Dot", "Dawes", email="dot@example.org")
    eve = clinic.add_patient("Eve", "Evans", email="eve@example.org")
    gus = clinic.add_patient("Gus", "Grant")
    bupa = clinic.add_payer("Bupa", kind="health fund", email="claims@bupa.example")
    clinic.add_membership(gus, bupa, member_number="77")
    clinic.create_invoice(ada, [("Consultation", "80", 1)], issue_date=day)
    pay(clinic, ada, "80", TODAY, "ada-pays-late")
    clinic.create_invoice(bea, [("Consultation", "50", 1)], issue_date=day)
    pay(clinic, cy, "30", day, "cy-ahead")
    clinic.create_invoice(dot, [("Consultation", "40", 1)], issue_date=day)
    pay(clinic, dot, "40", day, "dot-pays")
    clinic.create_invoice(eve, [("Consultation", "60", 1)], issue_date=TODAY)
    clinic.create_invoice(gus, [("Consultation", "120", 1)], issue_date=day, bill_to=bupa)
    return {"ada": ada, "bea": bea, "cy": cy, "dot": dot, "eve": eve, "gus": gus, "bupa": bupa}
