"""Build a clinic database of a given size, reproducibly, for the benchmarks.

The same ``--invoices``, ``--patients`` and ``--seed`` always give the same rows (ids, names,
amounts, dates and timestamps included), on SQLite or PostgreSQL. The schema comes from
``Clinic.open`` (the app's own migrations); the rows are then bulk-inserted with the raw driver
(``sqlite3`` ``executemany`` / psycopg ``COPY``) in one transaction, with every cached figure
(patients' credit and outstanding balance, invoices' paid amount and status) consistent, so
``Clinic.verify()`` returns no problem.

What is in it (``N`` invoices over ``M`` patients, ``M`` = N / 50 by default):

* patients with an ``external_id`` (``P0000001``...) as if imported, a quarter of them with a
  prepayment left as account credit;
* invoices numbered 1..N in issue-date order from 2019 to 2026, one line (a fifth have two, some
  taxed at 10%); about 76% paid by one payment, 4% overpaid (the rest becomes credit), 4% paid
  from account credit, 6% part-paid, 1% void and the rest open;
* from 5,000 invoices up, the last patient (the "busy" patient) has exactly 1,000 open invoices
  and $500 of credit: the allocation-preview scenario;
* every patient has front-desk details drawn from a generator of their own (so the invoices and
  payments are the same rows they were before patients had details): most a mobile number in
  local spacing (``0412 345 678``), some another phone (``(02) 9123 4567``), most an email, and
  a date of birth from 1930 to 2020; the search key is ``patient_search_key`` of all of them;
* with ``pair`` (from 2,000 invoices), the patient before the busy one has 1,000 invoices too,
  paid, part-paid, open and void as anyone's: the two to merge in the merge scenario;
* with ``archived`` (a share, such as 0.03), about that share of the patients who owe nothing and
  hold no credit are archived (out of lists and searches), as on a clinic years old;
* five third-party payers (a health fund, an insurer, a workers' compensation insurer, a
  government scheme and an employer), each with an account of its own (a row of ``patients``
  with the payer's id, after the patients' ids, and its row of ``payers``); about one patient in
  six has a membership (three in four of them the default for new invoices), and about a tenth of
  the invoices are billed to the patient's payer with a claim reference, a quarter of those as
  split visits (the payer's share, 60 to 85%, on one invoice, the patient's gap on the next,
  linked, both priced tax included by the ledger's own split arithmetic). Payers pay by
  remittance: one payment per payer per week of invoices (paid, part-paid or left open as a
  patient's are), by bank transfer (a health fund: "Health fund"), one in twenty with a little
  more than it applies, kept as the payer's credit;
* from 5,000 invoices up, the health fund also has exactly 500 open invoices for up to 300 of
  its members (its first ones), their claims ``RA-0001`` to ``RA-0500``: the remittance
  scenario (one remittance advice paying them all);
* the invoices and payments belong to two import batches (as if brought in from another system by
  CSV import), each with its audit entry, and each void invoice has its own, so Verify ledger's I8
  (every money record audited) holds as on a real clinic.

Run: ``python benchmarks/generate.py --invoices N [--patients M] [--seed S] [--pair]
[--archived SHARE] [--database URL] [OUT]``. Without ``OUT`` or ``--database``, the file is cached
under ``benchmarks/.data/`` by size, seed, options, schema revision and generator version, and
reused when it is already there.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from desktop_app.core import Clinic  # noqa: E402
from desktop_app.core.db.migrate import HEAD_REVISION, MIGRATIONS  # noqa: E402
from desktop_app.core.domain.invoicing import LineInput, line_amounts  # noqa: E402
from desktop_app.core.domain.patient_details import patient_search_key  # noqa: E402
from desktop_app.core.domain.payers import DEFAULT_REFERENCE_LABEL, PayerKind, split_lines  # noqa: E402
from desktop_app.core.domain.text import search_form  # noqa: E402

#: Bump when the generated content changes, so cached files are rebuilt.
GENERATOR_VERSION = 5
DATA = Path(__file__).resolve().parent / ".data"
DEFAULT_SEED = 5
BUSY_INVOICES = 1000
BUSY_FROM = 5000  # a busy patient only from this many invoices up
VOID_AFTER = json.dumps({"reason": "Entered twice", "status": "void"})
CHUNK = 50_000
FIRST_DAY = date(2019, 1, 2)
LAST_DAY = date(2026, 9, 30)

FIRST = (
    "Olivia Jack Charlotte William Amelia Noah Isla Thomas Mia Oliver Ava James Grace Lucas "
    "Chloe Henry Zoe Liam Ruby Ethan Harper Leo Sophie Archie Ella Hamish Aroha Mei Priya Mateo"
).split()
LAST = (
    "Nguyen Smith Wilson Brown Taylor Johnson White Martin Anderson Thompson Walker Harris Lee "
    "Ryan Robinson Kelly King Davies Wright Patel Campbell Chen O'Brien Murphy Singh Kaur Ngata "
    "Rossi Papadopoulos García"
).split()
#: (description, unit price in cents, taxed at 10%, catalogue item id): the clinic's catalogue
#: (generator version 4), a standard consultation listed twice for how often it is billed.
SERVICES = (
    ("Initial consultation", 9500, False, 1),
    ("Standard consultation", 7500, False, 2),
    ("Standard consultation", 7500, False, 2),
    ("Extended consultation", 11000, False, 3),
    ("Dry needling", 3000, False, 4),
    ("Strapping tape", 1250, True, 5),
    ("Resistance band", 1800, True, 6),
)
#: The catalogue items, in id order: (code, name, price in cents, tax %, kind).
CATALOGUE = (
    ("IC", "Initial consultation", 9500, "0", "service"),
    ("SC", "Standard consultation", 7500, "0", "service"),
    ("EC", "Extended consultation", 11000, "0", "service"),
    ("DN", "Dry needling", 3000, "0", "service"),
    ("TAPE", "Strapping tape", 1250, "10", "product"),
    ("BAND", "Resistance band", 1800, "10", "product"),
)
#: Shares of lines: half an hour (a quantity of 0.5), a 10% discount, typed by hand (no item);
#: and of invoices with tax-inclusive prices.
HALF_SHARE, DISCOUNT_SHARE, FREE_TEXT_SHARE, INCLUSIVE_SHARE = 0.05, 0.05, 0.1, 0.3
#: Email providers and how often patients use them (the rest: a workplace or school domain).
EMAIL_DOMAINS = (
    ("gmail.com", 34),
    ("outlook.com", 10),
    ("hotmail.com", 9),
    ("bigpond.com", 7),
    ("icloud.com", 7),
    ("yahoo.com.au", 6),
    ("optusnet.com.au", 3),
    ("live.com.au", 3),
)
OTHER_DOMAINS = ("health.nsw.gov.au", "education.vic.gov.au", "unimelb.edu.au", "bhp.com")
TITLES = ("Mr", "Ms", "Mrs", "Miss", "Dr")
FIRST_BIRTH = date(1930, 1, 1)
LAST_BIRTH = date(2020, 12, 31)
ARCHIVE_REASON = "Moved away"
PAYMENT_TYPES = 5  # ids 1..5: the payment types every new clinic starts with
INVOICE_BATCH, PAYMENT_BATCH = 1, 2  # the import batches the invoices and payments came in
ACTOR = "benchmark generator"
ARCHIVE_SQL = "UPDATE patients SET archived_at = ?, archive_reason = ? WHERE id = ?"
#: The payers (generator version 5), in id order after the patients: (name, kind, the share of
#: the patients' memberships that are with it).
PAYERS = (
    ("Coastal Health Fund", PayerKind.HEALTH_FUND, 40),
    ("Meridian Insurance", PayerKind.INSURER, 20),
    ("Workers Cover Mutual", PayerKind.WORKERS_COMPENSATION, 15),
    ("Community Care Scheme", PayerKind.GOVERNMENT_SCHEME, 15),
    ("Ironbark Mining", PayerKind.EMPLOYER, 10),
)
MEMBER_SHARE, DEFAULT_SHARE = 0.16, 0.75  # patients with a membership; of those, the default
#: How often an invoice of a member goes to the payer: with a default membership, without one.
BILLED_DEFAULT, BILLED_OTHER = 0.8, 0.1
SPLIT_SHARE = 0.25  # of the invoices billed to a payer: split visits
SPLIT_PERCENTS = (6000, 7000, 7500, 8000, 8500)  # the payer's share, hundredths of a percent
EXTRA_SHARE = 0.05  # remittances paying a little more than they apply (the payer's credit)
BANK_TRANSFER, HEALTH_FUND_TYPE = 4, 5  # payment type ids
REMIT_OPEN, REMIT_PATIENTS = 500, 300  # the remittance scenario's open invoices and patients

PATIENT_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "created_at",
    "credit_minor",
    "outstanding_minor",
    "external_id",
    "search_key",
    "title",
    "date_of_birth",
    "mobile",
    "phone",
    "email",
)
INVOICE_COLUMNS = (
    "id",
    "number",
    "patient_id",
    "for_patient_id",
    "claim_reference",
    "split_with_id",
    "issue_date",
    "due_date",
    "total_minor",
    "paid_minor",
    "credited_minor",
    "status",
    "created_at",
    "voided_at",
    "void_reason",
    "import_batch_id",
    "tax_inclusive",
)
LINE_COLUMNS = (
    "id",
    "invoice_id",
    "position",
    "description",
    "unit_price_minor",
    "quantity_centi",
    "tax_rate_bp",
    "tax_minor",
    "net_minor",
    "amount_minor",
    "discount_minor",
    "discount_bp",
    "item_id",
    "item_code",
)
PAYMENT_COLUMNS = (
    "id",
    "patient_id",
    "kind",
    "payment_date",
    "total_minor",
    "request_id",
    "note",
    "created_at",
    "import_batch_id",
    "reference",
)
SOURCE_COLUMNS = ("id", "payment_id", "payment_type_id", "amount_minor")
APPLICATION_COLUMNS = (
    "id",
    "payment_id",
    "invoice_id",
    "amount_minor",
    "from_money_minor",
    "from_credit_minor",
    "created_at",
)
PAYER_COLUMNS = ("id", "name", "kind", "reference_label", "email", "phone", "created_at")
MEMBERSHIP_COLUMNS = (
    "id",
    "patient_id",
    "payer_id",
    "member_number",
    "valid_from",
    "valid_to",
    "default_for_invoices",
    "created_at",
)
AUDIT_COLUMNS = ("at", "actor", "action", "entity", "entity_id", "before", "after")
BATCH_COLUMNS = ("id", "kind", "file_name", "sha256", "rows", "imported_at", "actor")
TABLES = (
    ("invoices", INVOICE_COLUMNS),
    ("invoice_lines", LINE_COLUMNS),
    ("payments", PAYMENT_COLUMNS),
    ("payment_sources", SOURCE_COLUMNS),
    ("applications", APPLICATION_COLUMNS),
    ("audit_log", AUDIT_COLUMNS),
)


@dataclass
class Meta:
    """What a generated database holds (saved next to a cached file as JSON)."""

    invoices: int
    patients: int
    seed: int
    busy_patient: int | None
    rows: dict[str, int] = field(default_factory=dict)
    build_seconds: float = 0.0
    verify_seconds: float | None = None
    generator_version: int = GENERATOR_VERSION
    schema: str = field(default_factory=lambda: schema_key())
    #: With ``pair``: the patient with 1,000 invoices of every kind (merged into the busy one).
    pair_patient: int | None = None
    archived: int = 0
    #: The payers' ids (their accounts'), in the order of :data:`PAYERS`.
    payers: list[int] = field(default_factory=list)
    #: The remittance scenario: the payer with :data:`REMIT_OPEN` open invoices, and the
    #: patients they are for (None below 5,000 invoices).
    remit_payer: int | None = None
    remit_patients: int = 0


def default_patients(invoices: int) -> int:
    """50 invoices per patient on average (1M invoices: 20,000 patients), at least 20."""
    return max(20, invoices // 50)


def schema_key() -> str:
    """The schema revision and a digest of the migration scripts (a changed script, same name,
    still makes cached files stale)."""
    digest = hashlib.sha1()
    for script in sorted((MIGRATIONS / "versions").glob("*.py")):
        digest.update(script.name.encode() + script.read_bytes())
    return f"{HEAD_REVISION}-{digest.hexdigest()[:8]}"


def cache_path(
    invoices: int,
    patients: int | None = None,
    seed: int = DEFAULT_SEED,
    *,
    pair: bool = False,
    archived: float = 0.0,
) -> Path:
    """Where the cached SQLite file of this size, seed and options lives."""
    m = default_patients(invoices) if patients is None else patients
    options = ("-pair" if pair else "") + (f"-a{round(archived * 1000)}" if archived else "")
    return DATA / f"clinic-n{invoices}-p{m}-s{seed}{options}-{schema_key()}-g{GENERATOR_VERSION}.db"


def read_meta(path: Path) -> Meta:
    """The sidecar description of a cached file."""
    return Meta(**json.loads(path.with_suffix(".json").read_text()))


# -- the rows ------------------------------------------------------------------------------------


class _Days:
    """ISO strings of dates, made once per day."""

    def __init__(self) -> None:
        self._cache: dict[int, str] = {}

    def __call__(self, ordinal: int) -> str:
        text = self._cache.get(ordinal)
        if text is None:
            text = self._cache[ordinal] = date.fromordinal(ordinal).isoformat()
        return text


def _stamp(day: str, second: int) -> str:
    """A timestamp on ``day`` (UTC), in the form SQLAlchemy stores on SQLite."""
    second %= 36_000
    return f"{day} {8 + second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.000000"


class Ledger:
    """Generates the rows, patients first, then invoices and their payments in chunks.

    Running credit and outstanding balance are tracked per patient as rows are made, so the
    patients' cached figures (:meth:`patient_figures`) match the records exactly.
    """

    def __init__(
        self,
        invoices: int,
        patients: int,
        seed: int,
        *,
        pair: bool = False,
        archived: float = 0.0,
    ) -> None:
        if invoices < 0 or patients < 1:
            raise ValueError("need invoices >= 0 and patients >= 1")
        if pair and (invoices < max(BUSY_FROM, 2 * BUSY_INVOICES) or patients < 3):
            raise ValueError(f"a pair needs {BUSY_FROM} invoices or more and 3 patients")
        self.n = invoices
        self.m = patients
        self.rng = random.Random(seed)
        # The details come from a generator of their own: the invoices stay the same rows.
        self.detail_rng = random.Random(seed * 1_000_003 + 17)
        self.seed = seed
        self.busy = patients if invoices >= BUSY_FROM and patients >= 2 else None
        self.busy_step = invoices // BUSY_INVOICES if self.busy else 0
        self.pair = patients - 1 if pair else None
        self.archive_share = archived
        self.archive_candidates: list[int] = []
        self.regular = patients - (1 if self.busy else 0) - (1 if pair else 0)
        self.credit = [0] * (patients + 1 + len(PAYERS))
        self.outstanding = [0] * (patients + 1 + len(PAYERS))
        # Payers (generator version 5) come from a generator of their own too, so the other
        # draws (and with them most rows) are the ones they were.
        self.payer_rng = random.Random(seed * 7_919 + 3)
        self.payer_ids = [patients + 1 + n for n in range(len(PAYERS))]
        self.member_of: dict[int, tuple[int, bool]] = {}  # patient -> (payer, default)
        self.remit = self.payer_ids[0] if self.busy else None
        self.remit_patients: list[int] = []  # set by memberships(): the fund's first members
        self.remit_made = 0
        # Each payer's remittance being made: [payment id, week, total, day]
        self.remitting: dict[int, list[Any]] = {}
        self.remittances = 0
        self.day = _Days()
        self.next_line = 1
        self.next_payment = 1
        self.next_source = 1
        self.next_application = 1
        self.counts = {name: 0 for name, _ in TABLES} | {
            "patients": patients + len(PAYERS),
            "payers": len(PAYERS),
            "import_batches": 2,
        }

    # patients and their prepayments ------------------------------------------------------------

    def patients(self) -> list[tuple[Any, ...]]:
        rng = self.rng
        start = FIRST_DAY.toordinal() - 30
        rows: list[tuple[Any, ...]] = []
        for pid in range(1, self.m + 1):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            stamp = _stamp(self.day(start + pid % 30), pid * 37)
            title, born, mobile, phone, email = self._details(first, last)
            # Drawn whatever the option, so the details are the same with it or without.
            if self.detail_rng.random() < self.archive_share:
                self.archive_candidates.append(pid)
            key = patient_search_key(
                first, last, email=email, mobile=mobile, phone=phone, date_of_birth=born
            )
            birth = born.isoformat() if born else None
            details = (title, birth, mobile, phone, email)
            rows.append((pid, first, last, stamp, 0, 0, f"P{pid:07d}", key, *details))
        return rows

    def _details(
        self, first: str, last: str
    ) -> tuple[str | None, date | None, str | None, str | None, str | None]:
        """A patient's title, date of birth, mobile, other phone and email (each may be None)."""
        rng = self.detail_rng
        title = rng.choice(TITLES) if rng.random() < 0.4 else None
        born = None
        if rng.random() < 0.9:
            born = date.fromordinal(rng.randint(FIRST_BIRTH.toordinal(), LAST_BIRTH.toordinal()))
        mobile = None
        if rng.random() < 0.85:
            mobile = (
                f"04{rng.randrange(100):02d} {rng.randrange(1000):03d} {rng.randrange(1000):03d}"
            )
        phone = None
        if rng.random() < 0.25:
            area, local = (
                rng.choice("2378"),
                f"{rng.randint(4000, 9999)} {rng.randrange(10_000):04d}",
            )
            phone = f"(0{area}) {local}" if rng.random() < 0.5 else f"0{area} {local}"
        email = None
        if rng.random() < 0.7:
            a, b = search_form(first).replace(" ", ""), search_form(last).replace(" ", "")
            local_part = rng.choice(
                (
                    f"{a}.{b}",
                    f"{a}{b}",
                    f"{a[0]}{b}",
                    f"{a}_{b}",
                    f"{b}.{a}",
                    f"{a}.{b}{rng.randint(1, 99)}",
                    f"{a}{rng.randint(60, 99)}",
                )
            )
            if rng.random() < 0.9:
                names, weights = zip(*EMAIL_DOMAINS, strict=True)
                domain = rng.choices(names, weights)[0]
            else:
                domain = rng.choice(OTHER_DOMAINS)
            email = f"{local_part}@{domain}"
        return title, born, mobile, phone, email

    def prepayments(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """A quarter of the patients (and always the busy one) prepaid: account credit."""
        rng = self.rng
        payments, sources = [], []
        start = FIRST_DAY.toordinal() - 30
        for pid in range(1, self.m + 1):
            if pid == self.busy:
                amount = 50_000
            elif rng.random() < 0.25:
                amount = rng.choice((5_000, 15_000, 20_000, 30_000, 37_500))
            else:
                continue
            day = self.day(start + pid % 30)
            payments.append(self._payment(pid, day, amount, pid * 41))
            sources.append(self._source(payments[-1][0], rng.randint(1, PAYMENT_TYPES), amount))
            self.credit[pid] += amount
        self.counts["payments"] += len(payments)
        self.counts["payment_sources"] += len(sources)
        return payments, sources

    def _payment(
        self,
        pid: int,
        day: str,
        total: int,
        second: int,
        *,
        pay_id: int | None = None,
        reference: str | None = None,
    ) -> tuple[Any, ...]:
        if pay_id is None:
            pay_id = self.next_payment
            self.next_payment += 1
        return (
            pay_id,
            pid,
            "payment",
            day,
            total,
            f"gen-{pay_id}",
            None,
            _stamp(day, second),
            PAYMENT_BATCH,
            reference,
        )

    # payers and memberships --------------------------------------------------------------------

    def payers(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The payers' accounts (rows of ``patients``) and their rows of ``payers``."""
        made = _stamp(self.day(FIRST_DAY.toordinal() - 30), 0)
        accounts, payers = [], []
        for payer_id, (name, kind, _) in zip(self.payer_ids, PAYERS, strict=True):
            accounts.append((payer_id, name, "", made, 0, 0, None, "", *([None] * 5)))
            domain = search_form(name).split()[0]
            payers.append(
                (
                    payer_id,
                    name,
                    kind.value,
                    DEFAULT_REFERENCE_LABEL[kind],
                    f"claims@{domain}.example.org",
                    f"1300 {payer_id % 1000:03d} {payer_id % 997:03d}",
                    made,
                )
            )
        return accounts, payers

    def memberships(self) -> list[tuple[Any, ...]]:
        """About one patient in six a member of one payer; the busy and pair patients none.
        The health fund's first :data:`REMIT_PATIENTS` members are the remittance scenario's."""
        rng = self.payer_rng
        weights = [share for _, _, share in PAYERS]
        rows = []
        for pid in range(1, self.m + 1):
            member = rng.random() < MEMBER_SHARE
            payer = rng.choices(self.payer_ids, weights)[0]
            default = rng.random() < DEFAULT_SHARE
            if not member or pid in (self.busy, self.pair):
                continue
            self.member_of[pid] = (payer, default)
            made = _stamp(self.day(FIRST_DAY.toordinal() - 30 + pid % 30), pid * 11)
            number = f"{rng.randrange(10**8):08d}"
            rows.append((len(rows) + 1, pid, payer, number, None, None, default, made))
        self.counts["memberships"] = len(rows)
        fund = self.payer_ids[0]
        members = [pid for pid, (payer, _) in sorted(self.member_of.items()) if payer == fund]
        self.remit_patients = members[:REMIT_PATIENTS]
        if not self.remit_patients:
            self.remit = None
        return rows

    def _source(self, pay_id: int, type_id: int, amount: int) -> tuple[Any, ...]:
        sid = self.next_source
        self.next_source += 1
        return (sid, pay_id, type_id, amount)

    # invoices ----------------------------------------------------------------------------------

    def chunks(self) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
        """The invoices with their lines, payments, sources and applications, ``CHUNK`` at a
        time, in invoice-number order."""
        for first in range(0, self.n, CHUNK):
            yield self._chunk(first, min(self.n, first + CHUNK))

    def _lines(self, iid: int, inclusive: bool) -> tuple[list[tuple[Any, ...]], int]:
        rng = self.rng
        count = 2 if rng.random() < 0.2 else 1
        lines, total = [], 0
        for position in range(count):
            description, price, taxed, item = SERVICES[rng.randrange(len(SERVICES))]
            roll = rng.random()
            centi = 200 if roll < 0.1 else (50 if roll < 0.1 + HALF_SHARE else 100)
            discount_bp = 1000 if rng.random() < DISCOUNT_SHARE else None
            item_id: int | None = None if rng.random() < FREE_TEXT_SHARE else item
            rate = 1000 if taxed else 0
            discount, net, tax = line_amounts(
                price, centi, rate, tax_inclusive=inclusive, discount_bp=discount_bp
            )
            amount = net + tax
            lines.append(
                (
                    self.next_line,
                    iid,
                    position,
                    description,
                    price,
                    centi,  # hundredths
                    rate,
                    tax,
                    net,
                    amount,
                    discount,
                    discount_bp,
                    item_id,
                    None if item_id is None else CATALOGUE[item_id - 1][0],
                )
            )
            self.next_line += 1
            total += amount
        return lines, total

    def _chunk(self, first: int, last: int) -> dict[str, list[tuple[Any, ...]]]:
        rng = self.rng
        out: dict[str, list[tuple[Any, ...]]] = {name: [] for name, _ in TABLES}
        lines_out = out["invoice_lines"]
        start, span = FIRST_DAY.toordinal(), LAST_DAY.toordinal() - FIRST_DAY.toordinal()
        n = self.n
        i = first
        while i < last:
            ordinal = start + i * span // n
            inclusive = rng.random() < INCLUSIVE_SHARE
            lines, total = self._lines(i + 1, inclusive)
            step = self.busy_step
            busy = self.busy is not None and i % step == step - 1
            pair = self.pair is not None and i % step == step // 2 - 1
            remit = (
                self.remit is not None
                and i % step == step - 2
                and (i // step) % 2 == 0
                and self.remit_made < REMIT_OPEN
            )
            if busy:
                pid, how = self.busy, 1.0  # open, nothing paid
            elif pair:
                pid, how = self.pair, rng.random()
            else:
                pid, how = rng.randint(1, self.regular), rng.random()
            payer = self._payer_for(pid) if not (busy or pair) else None
            if remit:  # the remittance scenario: a claim of the health fund's, still open
                pid = self.remit_patients[self.remit_made % len(self.remit_patients)]
                payer, how = self.remit, 1.0
                self.remit_made += 1
            split = None
            if payer is not None and not remit and i + 1 < last and self._plain(i + 1):
                split = self._split(lines, total)
            if split is None:
                lines_out.extend(lines)
                claim = f"RA-{self.remit_made:04d}" if remit else None
                self._invoice(out, i, ordinal, pid, payer, total, how, inclusive, claim=claim)
                i += 1
                continue
            # A split visit: the payer's part on this invoice, the patient's gap on the next.
            payer_lines, gap_lines = split
            self.next_line -= len(lines)  # the visit's lines become the two invoices' parts
            lines_out.extend(self._line_rows(i + 1, payer_lines))
            lines_out.extend(self._line_rows(i + 2, gap_lines))
            paid_total = sum(line.amount_minor for line in payer_lines)
            self._invoice(out, i, ordinal, pid, payer, paid_total, how, True)
            gap_total = total - paid_total
            gap_how = rng.random()
            self._invoice(out, i + 1, ordinal, pid, None, gap_total, gap_how, True, split=i + 1)
            i += 2
        for payer in sorted(self.remitting):  # a remittance never spans two chunks
            self._close_remittance(out, payer)
        for name, _ in TABLES:
            self.counts[name] += len(out[name])
        return out

    def _plain(self, i: int) -> bool:
        """Whether invoice slot ``i`` is an ordinary patient's (not the busy, pair or
        remittance scenario's), so a split visit may take it for its gap invoice."""
        step = self.busy_step
        if not step:
            return True
        return i % step not in (step - 1, step // 2 - 1, step - 2)

    def _payer_for(self, pid: int) -> int | None:
        """The payer an invoice of ``pid`` is billed to (None: the patient)."""
        member = self.member_of.get(pid)
        if member is None:
            return None
        payer, default = member
        return (
            payer
            if self.payer_rng.random() < (BILLED_DEFAULT if default else BILLED_OTHER)
            else None
        )

    def _split(
        self, lines: list[tuple[Any, ...]], total: int
    ) -> tuple[list[LineInput], list[LineInput]] | None:
        """A quarter of the visits billed to a payer split: the payer's lines and the
        patient's (None: billed whole, or a side would owe nothing)."""
        if self.payer_rng.random() >= SPLIT_SHARE:
            return None
        bp = self.payer_rng.choice(SPLIT_PERCENTS)
        payer_minor = (2 * total * bp + 10_000) // 20_000  # rounded half up
        if not 0 < payer_minor < total:
            return None
        visit = [
            LineInput(
                description=row[3],
                unit_price_minor=row[4],
                quantity_centi=row[5],
                tax_rate_bp=row[6],
                discount_minor=row[10],
                discount_bp=row[11],
                net_minor=row[8],
                tax_minor=row[7],
                item_id=row[12],
                item_code=row[13],
            )
            for row in lines
        ]
        return split_lines(visit, payer_minor)

    def _line_rows(self, iid: int, lines: list[LineInput]) -> list[tuple[Any, ...]]:
        rows = []
        for position, line in enumerate(lines):
            rows.append(
                (
                    self.next_line,
                    iid,
                    position,
                    line.description,
                    line.unit_price_minor,
                    line.quantity_centi,
                    line.tax_rate_bp,
                    line.tax_minor,
                    line.net_minor,
                    line.amount_minor,
                    line.discount_minor,
                    line.discount_bp,
                    line.item_id,
                    line.item_code,
                )
            )
            self.next_line += 1
        return rows

    def _invoice(
        self,
        out: dict[str, list[tuple[Any, ...]]],
        i: int,
        ordinal: int,
        pid: int,
        payer: int | None,
        total: int,
        how: float,
        inclusive: bool,
        *,
        split: int | None = None,
        claim: str | None = None,
    ) -> None:
        """Invoice slot ``i`` (id and number ``i + 1``) of ``total`` for ``pid``, billed to
        ``payer`` or to the patient, settled as ``how`` says: void, paid (by the patient's
        payment, their credit or the payer's remittance), part-paid or open."""
        rng = self.rng
        credit, outstanding = self.credit, self.outstanding
        payments, sources, apps = out["payments"], out["payment_sources"], out["applications"]
        iid = i + 1
        issue = self.day(ordinal)
        due = self.day(ordinal + 14)
        created = _stamp(issue, i * 7)
        account = pid if payer is None else payer
        paid, status, voided, reason = 0, "open", None, None
        if how < 0.01:
            status, voided, reason = "void", _stamp(issue, i * 7 + 600), "Entered twice"
            out["audit_log"].append(
                (voided, ACTOR, "void invoice", "invoice", iid, None, VOID_AFTER)
            )
        elif payer is not None and how < 0.90:  # paid, or part-paid, by the week's remittance
            paid = total if how < 0.84 else max(1, total // 2)
            if how < 0.84:
                status = "paid"
            pay_id, stamp = self._remit(out, payer, ordinal, paid)
            apps.append((self.next_application, pay_id, iid, paid, paid, 0, stamp))
            self.next_application += 1
        elif how < 0.84:
            pay_day = self.day(min(ordinal + rng.randrange(21), LAST_DAY.toordinal()))
            from_credit = how >= 0.80 and credit[pid] >= total
            if from_credit:
                money = 0
            elif how < 0.76 or how >= 0.80:
                money = total
            else:  # overpaid: rounded up to the next $10 and $10 more; the rest is credit
                money = (total // 1000 + 2) * 1000
            payment = self._payment(pid, pay_day, money, i * 7 + 900)
            payments.append(payment)
            if money:
                sources.append(self._source(payment[0], rng.randint(1, PAYMENT_TYPES), money))
            used = 0 if money else total
            apps.append(
                (self.next_application, payment[0], iid, total, total - used, used, payment[7])
            )
            self.next_application += 1
            credit[pid] += money - total
            paid, status = total, "paid"
        elif how < 0.90:
            part = max(1, total // 2)
            pay_day = self.day(min(ordinal + rng.randrange(21), LAST_DAY.toordinal()))
            payment = self._payment(pid, pay_day, part, i * 7 + 900)
            payments.append(payment)
            sources.append(self._source(payment[0], rng.randint(1, PAYMENT_TYPES), part))
            apps.append((self.next_application, payment[0], iid, part, part, 0, payment[7]))
            self.next_application += 1
            paid = part
        if status == "open":
            outstanding[account] += total - paid
        out["invoices"].append(
            (
                iid,
                iid,
                account,
                None if payer is None else pid,
                None if payer is None else claim or f"CLM-{iid:07d}",
                split,
                issue,
                due,
                total,
                paid,
                0,
                status,
                created,
                voided,
                reason,
                INVOICE_BATCH,
                inclusive,
            )
        )

    def _remit(
        self, out: dict[str, list[tuple[Any, ...]]], payer: int, ordinal: int, amount: int
    ) -> tuple[int, str]:
        """The payer's remittance for the week of ``ordinal`` (started, or the one being made),
        ``amount`` more applied by it; its id and its time."""
        week = ordinal // 7
        making = self.remitting.get(payer)
        if making is not None and making[1] != week:
            self._close_remittance(out, payer)
            making = None
        if making is None:
            day = self.day(min(week * 7 + 6 + 14, LAST_DAY.toordinal()))
            making = self.remitting[payer] = [self.next_payment, week, 0, day]
            self.next_payment += 1
        making[2] += amount
        return making[0], _stamp(making[3], payer * 97 + week)

    def _close_remittance(self, out: dict[str, list[tuple[Any, ...]]], payer: int) -> None:
        """The payer's remittance being made, written (a few pay a little more: its credit)."""
        pay_id, week, applied, day = self.remitting.pop(payer)
        extra = 0
        if self.payer_rng.random() < EXTRA_SHARE:
            extra = self.payer_rng.choice((500, 1000, 2500, 5000))
        self.credit[payer] += extra
        self.remittances += 1
        reference = f"REM-{payer}-{week}"
        out["payments"].append(
            self._payment(
                payer, day, applied + extra, payer * 97 + week, pay_id=pay_id, reference=reference
            )
        )
        kind = HEALTH_FUND_TYPE if payer == self.payer_ids[0] else BANK_TRANSFER
        out["payment_sources"].append(self._source(pay_id, kind, applied + extra))

    def batches(self) -> list[tuple[Any, ...]]:
        """The two import batches (their row counts are set by :meth:`batch_audit` at the end)."""
        day = self.day(FIRST_DAY.toordinal() - 31)
        return [
            (
                batch,
                kind,
                f"{kind}.csv",
                hashlib.sha256(f"{kind}-{self.n}-{self.m}-{self.seed}".encode()).hexdigest(),
                0,
                _stamp(day, batch),
                ACTOR,
            )
            for batch, kind in ((INVOICE_BATCH, "invoices"), (PAYMENT_BATCH, "payments"))
        ]

    def batch_audit(self) -> tuple[list[tuple[int, int]], list[tuple[Any, ...]]]:
        """Once every chunk is made: the batches' ``(rows, id)`` and their audit entries."""
        day = self.day(FIRST_DAY.toordinal() - 31)
        counts = [
            (INVOICE_BATCH, "invoices", self.counts["invoices"]),
            (PAYMENT_BATCH, "payments", self.counts["payments"]),
        ]
        entries = [
            (
                _stamp(day, batch),
                ACTOR,
                f"import {kind}",
                "import_batch",
                batch,
                None,
                json.dumps({"created": {kind: rows}, "file": f"{kind}.csv", "rows": rows}),
            )
            for batch, kind, rows in counts
        ]
        self.counts["audit_log"] += len(entries)
        return [(rows, batch) for batch, _, rows in counts], entries

    def archived(self) -> list[tuple[str, str, int]]:
        """``(archived_at, reason, id)`` of the patients archived, once all chunks are made: the
        candidates who owe nothing and hold no credit (never the busy or pair patient)."""
        last = LAST_DAY.toordinal()
        return [
            (_stamp(self.day(last - pid % 700), pid * 13), ARCHIVE_REASON, pid)
            for pid in self.archive_candidates
            if self.credit[pid] == 0
            and self.outstanding[pid] == 0
            and pid not in (self.busy, self.pair)
        ]

    def patient_figures(self) -> list[tuple[int, int, int]]:
        """``(credit, outstanding, id)`` of every patient's and payer's account, once all
        chunks are made."""
        last = self.m + len(PAYERS)
        return [(self.credit[p], self.outstanding[p], p) for p in range(1, last + 1)]


# -- writing -------------------------------------------------------------------------------------


ITEM_COLUMNS = ("id", "code", "name", "kind", "price_minor", "tax_rate_bp", "created_at")


def catalogue_rows() -> list[tuple[Any, ...]]:
    """The catalogue's items (ids 1 to 6, as the lines name them), made the day before the
    first invoice."""
    made = _stamp(FIRST_DAY.isoformat(), 0)
    return [
        (n, code, name, kind, price, int(rate) * 100, made)
        for n, (code, name, price, rate, kind) in enumerate(CATALOGUE, start=1)
    ]


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def build_sqlite(
    path: Path,
    invoices: int,
    patients: int,
    seed: int,
    *,
    pair: bool = False,
    archived: float = 0.0,
) -> Meta:
    """Create ``path`` (it must not exist) with the schema and the generated rows."""
    started = time.perf_counter()
    if path.exists():
        raise FileExistsError(path)
    Clinic.open(f"sqlite:///{path}").close()
    ledger = Ledger(invoices, patients, seed, pair=pair, archived=archived)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = DELETE")
        db.execute("PRAGMA journal_mode = OFF")  # a half-built file is thrown away anyway
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -400000")
        tables = {name for name, _ in TABLES} | {"patients"}
        indexes = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({', '.join('?' * len(tables))})",
            sorted(tables),
        ).fetchall()
        db.execute("BEGIN")
        for name, _ in indexes:  # rebuilt after the load: faster than random-order inserts
            db.execute(f"DROP INDEX {name}")
        db.executemany(_insert_sql("billable_items", ITEM_COLUMNS), catalogue_rows())
        db.executemany(_insert_sql("patients", PATIENT_COLUMNS), ledger.patients())
        accounts, payers = ledger.payers()
        db.executemany(_insert_sql("patients", PATIENT_COLUMNS), accounts)
        db.executemany(_insert_sql("payers", PAYER_COLUMNS), payers)
        db.executemany(_insert_sql("memberships", MEMBERSHIP_COLUMNS), ledger.memberships())
        db.executemany(_insert_sql("import_batches", BATCH_COLUMNS), ledger.batches())
        payments, sources = ledger.prepayments()
        db.executemany(_insert_sql("payments", PAYMENT_COLUMNS), payments)
        db.executemany(_insert_sql("payment_sources", SOURCE_COLUMNS), sources)
        for chunk in ledger.chunks():
            for name, columns in TABLES:
                db.executemany(_insert_sql(name, columns), chunk[name])
        db.executemany(
            "UPDATE patients SET credit_minor = ?, outstanding_minor = ? WHERE id = ?",
            ledger.patient_figures(),
        )
        archived_rows = ledger.archived()
        db.executemany(ARCHIVE_SQL, archived_rows)
        batch_rows, batch_entries = ledger.batch_audit()
        db.executemany("UPDATE import_batches SET rows = ? WHERE id = ?", batch_rows)
        db.executemany(_insert_sql("audit_log", AUDIT_COLUMNS), batch_entries)
        db.execute("UPDATE counters SET value = ? WHERE name = 'invoice_number'", (invoices,))
        for _, sql in indexes:
            db.execute(sql)
        db.execute("COMMIT")
        db.execute("PRAGMA journal_mode = WAL")
    finally:
        db.close()
    return Meta(
        invoices,
        patients,
        seed,
        ledger.busy,
        dict(ledger.counts),
        round(time.perf_counter() - started, 2),
        pair_patient=ledger.pair,
        archived=len(archived_rows),
        payers=ledger.payer_ids,
        remit_payer=ledger.remit,
        remit_patients=len(ledger.remit_patients),
    )


def _libpq(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def fresh_pg_database(admin_url: str, name: str) -> str:
    """Drop (if there) and create database ``name`` on the server of ``admin_url``; its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    if not name.replace("_", "").isalnum():
        raise ValueError(f"bad database name {name!r}")
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def build_postgres(
    url: str,
    invoices: int,
    patients: int,
    seed: int,
    *,
    pair: bool = False,
    archived: float = 0.0,
) -> Meta:
    """Fill the (new, empty) PostgreSQL database at ``url`` with the generated rows (COPY)."""
    import psycopg

    started = time.perf_counter()
    Clinic.open(url).close()
    ledger = Ledger(invoices, patients, seed, pair=pair, archived=archived)
    with psycopg.connect(_libpq(url)) as conn:
        if conn.execute("SELECT count(*) FROM patients").fetchone() != (0,):
            raise RuntimeError(f"{url} already holds patients: give an empty database")
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute("SET synchronous_commit = off")

        def copy(table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
            with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as out:
                for row in rows:
                    out.write_row(row)

        copy("billable_items", ITEM_COLUMNS, catalogue_rows())
        copy("patients", PATIENT_COLUMNS, ledger.patients())
        accounts, payers = ledger.payers()
        copy("patients", PATIENT_COLUMNS, accounts)
        copy("payers", PAYER_COLUMNS, payers)
        copy("memberships", MEMBERSHIP_COLUMNS, ledger.memberships())
        copy("import_batches", BATCH_COLUMNS, ledger.batches())
        payments, sources = ledger.prepayments()
        copy("payments", PAYMENT_COLUMNS, payments)
        copy("payment_sources", SOURCE_COLUMNS, sources)
        for chunk in ledger.chunks():
            for name, columns in TABLES:
                copy(name, columns, chunk[name])
        conn.execute(
            "CREATE TEMP TABLE figures (credit bigint, owed bigint, pid int) ON COMMIT DROP"
        )
        copy("figures", ("credit", "owed", "pid"), ledger.patient_figures())
        conn.execute(
            "UPDATE patients p SET credit_minor = f.credit, outstanding_minor = f.owed "
            "FROM figures f WHERE p.id = f.pid"
        )
        archived_rows = ledger.archived()
        conn.cursor().executemany(ARCHIVE_SQL.replace("?", "%s"), archived_rows)
        conn.execute("UPDATE counters SET value = %s WHERE name = 'invoice_number'", (invoices,))
        batch_rows, batch_entries = ledger.batch_audit()
        conn.cursor().executemany("UPDATE import_batches SET rows = %s WHERE id = %s", batch_rows)
        copy("audit_log", AUDIT_COLUMNS, batch_entries)
        tables = ("billable_items", "patients", "memberships", "import_batches")
        for table in (*tables, *(n for n, _ in TABLES)):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")  # what autovacuum does on a server soon after a load
    return Meta(
        invoices,
        patients,
        seed,
        ledger.busy,
        dict(ledger.counts),
        round(time.perf_counter() - started, 2),
        pair_patient=ledger.pair,
        archived=len(archived_rows),
        payers=ledger.payer_ids,
        remit_payer=ledger.remit,
        remit_patients=len(ledger.remit_patients),
    )


def verify(url: str) -> tuple[list[str], float]:
    """``Clinic.verify()`` and its time in seconds."""
    with Clinic.open(url) as clinic:
        started = time.perf_counter()
        problems = clinic.verify()
        return problems, time.perf_counter() - started


def cached(
    invoices: int,
    patients: int | None = None,
    seed: int = DEFAULT_SEED,
    *,
    check: bool | None = None,
    quiet: bool = False,
    pair: bool = False,
    archived: float = 0.0,
) -> Path:
    """The cached SQLite file of this size, seed and options, built (and verified up to 100k
    invoices, or when ``check``) if it is not there yet."""
    m = default_patients(invoices) if patients is None else patients
    path = cache_path(invoices, m, seed, pair=pair, archived=archived)
    if path.exists() and path.with_suffix(".json").exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.stem + f".partial-{os.getpid()}.db")
    partial.unlink(missing_ok=True)
    try:
        meta = build_sqlite(partial, invoices, m, seed, pair=pair, archived=archived)
        if check if check is not None else invoices <= 100_000:
            problems, meta.verify_seconds = verify(f"sqlite:///{partial}")
            if problems:
                raise RuntimeError(f"generated ledger fails verify: {problems[:5]}")
        os.replace(partial, path)
    finally:
        for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
            leftover.unlink(missing_ok=True)
    path.with_suffix(".json").write_text(json.dumps(asdict(meta), indent=1))
    base = path.name.split(f"-{HEAD_REVISION}-", 1)[0]  # the same size, seed and options
    for stale in DATA.glob(f"{base}-*"):  # older schema or generator (a revision: digits)
        revision = stale.name[len(base) + 1 :]
        current = stale.name.startswith(path.stem) or ".partial-" in stale.name
        if revision[:1].isdigit() and not current:
            stale.unlink(missing_ok=True)
    if not quiet:
        _report(meta, str(path))
    return path


def _report(meta: Meta, where: str) -> None:
    rows = ", ".join(f"{v:,} {k}" for k, v in meta.rows.items())
    checked = (
        f"; verify() found nothing in {meta.verify_seconds:.1f} s"
        if meta.verify_seconds is not None
        else "; not verified"
    )
    print(f"{where}: {rows}; built in {meta.build_seconds:.1f} s{checked}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, required=True)
    parser.add_argument("--patients", type=int, help="default: invoices / 50, at least 20")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--pair", action="store_true", help="a second patient with 1,000 invoices (to merge)"
    )
    parser.add_argument(
        "--archived", type=float, default=0.0, help="share of settled patients archived"
    )
    parser.add_argument("--database", help="a PostgreSQL URL (an empty database) instead")
    parser.add_argument(
        "--verify",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run verify() at the end (default: up to 100,000 invoices)",
    )
    parser.add_argument("out", nargs="?", type=Path, help="SQLite file to create")
    args = parser.parse_args(argv)
    m = args.patients or default_patients(args.invoices)
    check = args.verify if args.verify is not None else args.invoices <= 100_000
    if args.database:
        meta = build_postgres(
            args.database, args.invoices, m, args.seed, pair=args.pair, archived=args.archived
        )
        url = args.database
    elif args.out is None:
        path = cached(
            args.invoices,
            m,
            args.seed,
            check=check,
            quiet=True,
            pair=args.pair,
            archived=args.archived,
        )
        meta = read_meta(path)
        print(path)
        _report(meta, str(path))
        return 0
    else:
        if args.out.exists():
            parser.error(f"{args.out} already exists")
        meta = build_sqlite(
            args.out, args.invoices, m, args.seed, pair=args.pair, archived=args.archived
        )
        url = f"sqlite:///{args.out}"
    if check:
        problems, meta.verify_seconds = verify(url)
        if problems:
            print("\n".join(problems[:20]), file=sys.stderr)
            return 1
    _report(meta, url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
