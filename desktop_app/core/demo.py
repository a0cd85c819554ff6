"""A realistic demo clinic, so a newcomer sees the product working at once (``--demo``).

Everything is made through the public API, so the demo ledger is as sound as a real one. The same
seed gives the same clinic.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from .clinic import Clinic

FIRST = [
    "Olivia",
    "Jack",
    "Charlotte",
    "William",
    "Amelia",
    "Noah",
    "Isla",
    "Thomas",
    "Mia",
    "Oliver",
    "Ava",
    "James",
    "Grace",
    "Lucas",
    "Chloe",
    "Henry",
    "Zoe",
    "Liam",
    "Ruby",
    "Ethan",
    "Harper",
    "Leo",
    "Sophie",
    "Archie",
    "Ella",
    "Hamish",
    "Aroha",
    "Mei",
    "Priya",
    "Mateo",
]
LAST = [
    "Nguyen",
    "Smith",
    "Wilson",
    "Brown",
    "Taylor",
    "Johnson",
    "White",
    "Martin",
    "Anderson",
    "Thompson",
    "Walker",
    "Harris",
    "Lee",
    "Ryan",
    "Robinson",
    "Kelly",
    "King",
    "Davies",
    "Wright",
    "Patel",
    "Campbell",
    "Chen",
    "O'Brien",
    "Murphy",
    "Singh",
    "Kaur",
    "Ngata",
    "Rossi",
    "Papadopoulos",
    "García",
]
SERVICES = [
    ("Initial consultation", "95.00", None),
    ("Standard consultation", "75.00", None),
    ("Extended consultation", "110.00", None),
    ("Dry needling", "30.00", None),
    ("Strapping tape", "12.50", "10"),
    ("Resistance band", "18.00", "10"),
]


def _details(first: str, last: str, rng: random.Random) -> dict[str, object]:
    """A demo patient's date of birth, mobile and email (from their own generator, so the
    demo's money stays what it was)."""
    born = date(rng.randint(1940, 2015), rng.randint(1, 12), rng.randint(1, 28))
    mobile = f"04{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}"
    email = f"{first}.{last}".lower().replace("'", "") + "@example.org"
    return {"date_of_birth": born, "mobile": mobile, "email": email}


def populate(clinic: Clinic, patients: int = 40, seed: int = 7, today: date | None = None) -> None:
    """Fill an empty clinic with patients, invoices, prepayments, payments and credit."""
    rng = random.Random(seed)
    today = today or date.today()
    clinic.set_up_clinic(clinic_name="Harbour Physiotherapy", country="Australia")
    names = {(f, last) for f in FIRST for last in LAST}
    chosen = rng.sample(sorted(names), patients)
    for n, (first, last) in enumerate(chosen):
        pid = clinic.add_patient(
            first, last, **_details(first, last, random.Random(seed * 1000 + n))
        )
        start = today - timedelta(days=rng.randint(20, 120))
        if rng.random() < 0.35:  # prepaid a block of treatments: account credit
            amount = rng.choice(["150.00", "200.00", "300.00", "375.00"])
            clinic.record_payment(
                clinic.preview_payment(pid, sources={"EFTPOS": amount}, payment_date=start),
                f"demo-{n}-prepay",
            )
        visits = rng.randint(1, 5)
        for v in range(visits):
            day = min(today, start + timedelta(days=7 * v + rng.randint(0, 3)))
            lines = [SERVICES[0] if v == 0 else rng.choice(SERVICES[1:3])]
            if rng.random() < 0.3:
                lines.append(rng.choice(SERVICES[3:]))
            invoice = clinic.create_invoice(
                pid,
                [(d, p, 1, t) if t else (d, p, 1) for d, p, t in lines],
                issue_date=day,
                due_date=day + timedelta(days=14),
            )
            if v == visits - 1 and rng.random() < 0.5:
                continue  # the latest visit is still to be paid
            how = rng.random()
            if clinic.credit(pid) > 0 or how < 0.15:
                sources: dict[str, str] = {}  # paid from account credit where there is some
            else:
                total = clinic.invoice(invoice).balance
                extra = rng.choice(["0", "0", "0", "20.00"])  # now and then an overpayment
                kind = rng.choice(["EFTPOS", "Credit card", "Cash", "Health fund"])
                sources = {kind: str(total + type(total)(extra))}
            preview = clinic.preview_payment(
                pid, sources=sources, source_invoice=invoice, payment_date=day
            )
            if not preview.is_empty:
                clinic.record_payment(preview, f"demo-{n}-{v}")
    _payers(clinic, sorted(clinic.patient_ids()), random.Random(seed + 1), today)


def _payers(clinic: Clinic, patients: list[int], rng: random.Random, today: date) -> None:
    """A health fund and a workers' compensation insurer: members billed for their visits (a
    split with the gap to the patient now and then) and a remittance that paid most of it
    (from their own generator, so the patients' own money stays what it was)."""
    fund = clinic.add_payer(
        "HCF Health", kind="health fund", email="claims@hcf.example.org", phone="13 13 34"
    )
    insurer = clinic.add_payer(
        "icare Workers Insurance",
        kind="workers compensation",
        email="remittance@icare.example.org",
        address="Locked Bag 2099\nNorth Ryde NSW 1670",
    )
    members = rng.sample(patients, 8)
    for n, pid in enumerate(members):
        payer = insurer if n < 3 else fund
        clinic.add_membership(
            pid,
            payer,
            member_number=f"{rng.randint(10_000_000, 99_999_999)}",
            valid_from=today - timedelta(days=365),
            default_for_invoices=payer == insurer,
        )
        claim = f"WC-{rng.randint(100_000, 999_999)}" if payer == insurer else None
        for _ in range(rng.randint(1, 3)):
            day = today - timedelta(days=rng.randint(5, 60))
            lines = [(SERVICES[1][0], SERVICES[1][1], 1)]
            if payer == fund:
                clinic.create_split_invoice(
                    pid, lines, payer=fund, payer_share="55.00", issue_date=day
                )
            else:
                clinic.create_invoice(
                    pid,
                    lines,
                    bill_to=insurer,
                    claim_reference=claim,
                    issue_date=day,
                    due_date=day + timedelta(days=30),
                )
    for payer, reference in ((fund, "HCF-REM-0412"), (insurer, "ICARE-88231")):
        open_total = sum(i.balance for i in clinic.payer_open_invoices(payer))
        paid = open_total - open_total % 100 if open_total > 100 else open_total
        preview = clinic.preview_payer_payment(
            payer,
            sources={"Bank transfer": str(paid)},
            reference=reference,
            payment_date=today - timedelta(days=3),
        )
        clinic.record_payer_payment(preview, f"demo-{reference}")
