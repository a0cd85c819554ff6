"""Every refused call raises a BillingError with a reason and leaves the database unchanged."""

import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from desktop_app.core import BillingError, Clinic, NotFoundError, Refusal
from tests.helpers import STAFF_PASSWORD, snapshot


def fill(clinic: Clinic) -> dict[str, int]:
    """Ada: $30 credit, an open $50 invoice, a paid one, a void one. Grace: an open invoice."""
    pid = clinic.add_patient("Ada", "Lovelace")
    other = clinic.add_patient("Grace", "Hopper")
    clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "40"}), "prepay")
    paid = clinic.create_invoice(pid, [("Consult", "10", 1)], issue_date=date(2026, 11, 1))
    clinic.record_payment(
        clinic.preview_payment(pid, source_invoice=paid, applied={paid: "10"}), "pay-paid"
    )
    void = clinic.create_invoice(pid, [("Consult", "20", 1)], issue_date=date(2026, 11, 2))
    clinic.void_invoice(void)
    open_ = clinic.create_invoice(pid, [("Consult", "50", 1)], issue_date=date(2026, 11, 3))
    theirs = clinic.create_invoice(other, [("Consult", "50", 1)], issue_date=date(2026, 11, 3))
    return {
        "pid": pid,
        "other": other,
        "paid": paid,
        "void": void,
        "open": open_,
        "theirs": theirs,
    }


@pytest.fixture(scope="session")
def sqlite_ledger(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, int]]:
    """The ledger of :func:`fill` on SQLite, made once: each test gets a copy of the file (the
    grids below run hundreds of cases)."""
    path = tmp_path_factory.mktemp("ledger") / "clinic.db"
    shutil.copyfile(sqlite_template, path)
    with Clinic.open(f"sqlite:///{path}") as clinic:
        ids = fill(clinic)
    return path, ids


@pytest.fixture
def ledger(db_url: str, sqlite_ledger: tuple[Path, dict[str, int]]):
    """A clinic holding :func:`fill`'s ledger, and its record ids: a copy of the one made once on
    SQLite, made afresh on PostgreSQL."""
    if db_url.startswith("sqlite"):
        template, ids = sqlite_ledger
        shutil.copyfile(template, str(make_url(db_url).database))
        clinic = Clinic.open(db_url)
    else:
        clinic = Clinic.open(db_url)
        ids = fill(clinic)
    try:
        yield clinic, dict(ids)
    finally:
        clinic.close()


# The big grids of bad input run on SQLite in the quick run and on PostgreSQL too with the slow
# tests (hundreds of fresh server databases); the smaller tests below run on both every time.
GRID_BACKENDS = pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)], indirect=True
)


def preview_and_save(clinic, pid, **kwargs):
    clinic.record_payment(clinic.preview_payment(pid, **kwargs), "bad-input")


CASES = [
    # (name, call(clinic, ids), the refusal's code)
    (
        "malformed source",
        lambda c, i: preview_and_save(c, i["pid"], sources={"Cash": "12,34"}),
        Refusal.BAD_AMOUNT,
    ),
    (
        "negative source",
        lambda c, i: preview_and_save(c, i["pid"], sources={"Cash": "-5"}),
        Refusal.BAD_AMOUNT,
    ),
    (
        "NaN source",
        lambda c, i: preview_and_save(c, i["pid"], sources={"Cash": "NaN"}),
        Refusal.BAD_AMOUNT,
    ),
    (
        "infinite source",
        lambda c, i: preview_and_save(c, i["pid"], sources={"EFTPOS": "inf"}),
        Refusal.BAD_AMOUNT,
    ),
    (
        "too precise source",
        lambda c, i: preview_and_save(c, i["pid"], sources={"Cash": "10.005"}),
        Refusal.BAD_AMOUNT,
    ),
    (
        "huge source",
        lambda c, i: preview_and_save(c, i["pid"], sources={"Cash": "1e30"}),
        Refusal.BAD_AMOUNT,
    ),
    (
        "huge plain source",
        lambda c, i: preview_and_save(c, i["pid"], sources={"Cash": "10000000000"}),
        Refusal.AMOUNT_TOO_LARGE,
    ),
    (
        "float source",
        lambda c, i: preview_and_save(c, i["pid"], sources={"Cash": 10.0}),
        Refusal.BAD_AMOUNT,
    ),
    (
        "unknown payment type",
        lambda c, i: preview_and_save(c, i["pid"], sources={"Bitcoin": "5"}),
        Refusal.BAD_CHOICE,
    ),
    (
        "malformed applied",
        lambda c, i: preview_and_save(c, i["pid"], applied={i["open"]: "ten"}),
        Refusal.BAD_AMOUNT,
    ),
    (
        "negative applied",
        lambda c, i: preview_and_save(c, i["pid"], applied={i["open"]: "-1"}),
        Refusal.BAD_AMOUNT,
    ),
    (
        "too precise applied",
        lambda c, i: preview_and_save(c, i["pid"], applied={i["open"]: "1.001"}),
        Refusal.BAD_AMOUNT,
    ),
    (
        "apply to paid invoice",
        lambda c, i: preview_and_save(c, i["pid"], applied={i["paid"]: "1"}),
        Refusal.NOT_OPEN,
    ),
    (
        "apply to void invoice",
        lambda c, i: preview_and_save(c, i["pid"], applied={i["void"]: "1"}),
        Refusal.NOT_OPEN,
    ),
    (
        "apply to another patient's invoice",
        lambda c, i: preview_and_save(c, i["pid"], applied={i["theirs"]: "1"}),
        Refusal.OTHER_PATIENT,
    ),
    (
        "pay from another patient's invoice",
        lambda c, i: preview_and_save(c, i["pid"], source_invoice=i["theirs"]),
        Refusal.OTHER_PATIENT,
    ),
    (
        "apply to missing invoice",
        lambda c, i: preview_and_save(c, i["pid"], applied={99999: "1"}),
        Refusal.NOT_FOUND,
    ),
    (
        "more than the balance",
        lambda c, i: preview_and_save(
            c, i["pid"], sources={"Cash": "100"}, applied={i["open"]: "50.01"}
        ),
        Refusal.OVER_BALANCE,
    ),
    (
        "more credit than exists",
        lambda c, i: preview_and_save(c, i["pid"], applied={i["open"]: "30.01"}),
        Refusal.OVER_AVAILABLE,
    ),
    (
        "nothing to save",
        lambda c, i: preview_and_save(c, i["other"], applied={i["theirs"]: "0"}),
        Refusal.NOTHING_TO_SAVE,
    ),
    (
        "empty request id",
        lambda c, i: c.record_payment(c.preview_payment(i["pid"], sources={"Cash": "1"}), ""),
        Refusal.MISSING,
    ),
    (
        "refund more than credit",
        lambda c, i: c.refund_credit(i["pid"], "30.01", method="Cash", request_id="rf"),
        Refusal.OVER_CREDIT,
    ),
    (
        "refund unknown method",
        lambda c, i: c.refund_credit(i["pid"], "1", method="Gold", request_id="rf"),
        Refusal.BAD_CHOICE,
    ),
    (
        "refund zero",
        lambda c, i: c.refund_credit(i["pid"], "0", method="Cash", request_id="rf"),
        Refusal.BAD_AMOUNT,
    ),
    (
        "refund negative",
        lambda c, i: c.refund_credit(i["pid"], "-5", method="Cash", request_id="rf"),
        Refusal.BAD_AMOUNT,
    ),
    (
        "invoice bad price",
        lambda c, i: c.create_invoice(i["pid"], [("Consult", "abc", 1)]),
        Refusal.BAD_AMOUNT,
    ),
    ("invoice no lines", lambda c, i: c.create_invoice(i["pid"], []), Refusal.MISSING),
    ("patient without name", lambda c, i: c.add_patient("  ", "Smith"), Refusal.MISSING),
    ("patient name too long", lambda c, i: c.add_patient("A", "x" * 201), Refusal.TOO_LONG),
    (
        "reverse spent prepayment",
        lambda c, i: c.reverse_payment(c.payments(i["pid"])[0].id),
        Refusal.CREDIT_SPENT,
    ),
    ("void twice", lambda c, i: c.void_invoice(i["void"]), Refusal.ALREADY_DONE),
    (
        "request id reused for another patient",
        lambda c, i: c.record_payment(
            c.preview_payment(i["other"], sources={"Cash": "5"}), "prepay"
        ),
        Refusal.REQUEST_REUSED,
    ),
]


@GRID_BACKENDS
@pytest.mark.parametrize(("name", "call", "code"), CASES, ids=[c[0] for c in CASES])
def test_refusal_changes_nothing(ledger, name, call, code):
    clinic, ids = ledger
    before = snapshot(clinic)
    with pytest.raises(BillingError) as refused:
        call(clinic, ids)
    assert refused.value.code == code
    assert snapshot(clinic) == before
    assert clinic.verify() == []


# -- the second pass: the ledger never trusts its caller ---------------------------------------


@pytest.fixture
def records(ledger):
    """The ledger, plus a credit note and a credit transfer (so record 1 of every kind exists)."""
    clinic, ids = ledger
    clinic.credit_note(ids["theirs"], "10", reason="Discount", request_id="cn")
    clinic.transfer_credit(ids["pid"], ids["other"], "5", reason="Family", request_id="tr")
    return clinic, ids


LINE = [("Consult", "10", 1)]

DIGITS = [
    # Only ASCII 0-9 are digits: Python's Decimal and int read any script's digits.
    (
        "Arabic-Indic price",
        lambda c, i: c.create_invoice(i["pid"], [("Consult", "\u0661\u0662", 1)]),
    ),
    ("Devanagari price", lambda c, i: c.create_invoice(i["pid"], [("Consult", "\u0967\u0968", 1)])),
    ("full-width price", lambda c, i: c.create_invoice(i["pid"], [("Consult", "\uff11\uff12", 1)])),
    (
        "Arabic-Indic quantity",
        lambda c, i: c.create_invoice(i["pid"], [("Consult", "5", "\u0663")]),
    ),
    ("full-width quantity", lambda c, i: c.create_invoice(i["pid"], [("Consult", "5", "\uff13")])),
    ("exponent quantity", lambda c, i: c.create_invoice(i["pid"], [("Consult", "5", "1e2")])),
    ("underscore quantity", lambda c, i: c.create_invoice(i["pid"], [("Consult", "5", "1_000")])),
    ("plus quantity", lambda c, i: c.create_invoice(i["pid"], [("Consult", "5", "+5")])),
    ("trailing point quantity", lambda c, i: c.create_invoice(i["pid"], [("Consult", "5", "1.")])),
    ("Arabic-Indic tax", lambda c, i: c.create_invoice(i["pid"], [("C", "5", 1, "\u0661\u0660")])),
    ("Arabic-Indic cash", lambda c, i: preview_and_save(c, i["pid"], sources={"Cash": "\u0665"})),
    ("Devanagari cash", lambda c, i: preview_and_save(c, i["pid"], sources={"Cash": "\u096b"})),
    ("full-width cash", lambda c, i: preview_and_save(c, i["pid"], sources={"Cash": "$\uff15"})),
    (
        "Arabic-Indic applied",
        lambda c, i: preview_and_save(c, i["pid"], applied={i["open"]: "\u0665"}),
    ),
    (
        "Arabic-Indic refund",
        lambda c, i: c.refund_credit(i["pid"], "\u0665", method="Cash", request_id="rf"),
    ),
    (
        "full-width credit note",
        lambda c, i: c.credit_note(i["open"], "\uff15", reason="x", request_id="cn2"),
    ),
    (
        "Devanagari transfer",
        lambda c, i: c.transfer_credit(i["pid"], i["other"], "\u096b", reason="x", request_id="t"),
    ),
]


@GRID_BACKENDS
@pytest.mark.parametrize(("name", "call"), DIGITS, ids=[c[0] for c in DIGITS])
def test_digits_of_other_scripts_are_not_numbers(ledger, name, call):
    clinic, ids = ledger
    before = snapshot(clinic)
    with pytest.raises(BillingError) as refused:
        call(clinic, ids)
    assert refused.value.code == Refusal.BAD_AMOUNT
    assert snapshot(clinic) == before


def _days():
    from datetime import datetime

    return {
        "year 1": (date(1, 1, 1), Refusal.BAD_DATE),  # more than 20 years ago
        "1900": (date(1900, 1, 1), Refusal.BAD_DATE),
        "2200": (date(2200, 1, 1), Refusal.FUTURE_DATE),
        "9999-12-31": (date(9999, 12, 31), Refusal.FUTURE_DATE),
        "a datetime": (datetime.now(), Refusal.BAD_DATE),  # a date, without a time
    }


DATED = [
    ("invoice issue date", lambda c, i, d: c.create_invoice(i["pid"], LINE, issue_date=d)),
    (
        "payment date",
        lambda c, i, d: preview_and_save(c, i["pid"], sources={"Cash": "1"}, payment_date=d),
    ),
    ("payment draft", lambda c, i, d: c.payment_draft(i["pid"], payment_date=d)),
    (
        "refund date",
        lambda c, i, d: c.refund_credit(
            i["pid"], "1", method="Cash", request_id="r", refund_date=d
        ),
    ),
    (
        "credit note date",
        lambda c, i, d: c.credit_note(i["open"], "1", reason="x", request_id="n", note_date=d),
    ),
    (
        "transfer date",
        lambda c, i, d: c.transfer_credit(
            i["pid"], i["other"], "1", reason="x", request_id="t", transfer_date=d
        ),
    ),
]


@GRID_BACKENDS
@pytest.mark.parametrize("day", list(_days()))
@pytest.mark.parametrize(("name", "call"), DATED, ids=[c[0] for c in DATED])
def test_dates_no_clinic_could_mean_are_refused(ledger, name, call, day):
    clinic, ids = ledger
    value, code = _days()[day]
    if name == "invoice issue date" and code is Refusal.FUTURE_DATE:
        code = Refusal.BAD_DATE  # an invoice may be dated ahead, up to a year: beyond is no date
    before = snapshot(clinic)
    with pytest.raises(BillingError) as refused:
        call(clinic, ids, value)
    assert refused.value.code == code
    assert snapshot(clinic) == before


def _years_from(day, years):
    """The same day ``years`` later (or earlier); 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def test_due_dates_within_five_years_of_issue(ledger):
    from datetime import datetime, timedelta

    clinic, ids = ledger
    before = snapshot(clinic)
    today = date.today()
    last_due = _years_from(today, 5)  # docs/ledger-rules.md: due within 5 years of issue
    for due in [
        date(9999, 12, 31),  # more than 5 years after the issue date
        last_due + timedelta(days=1),
        datetime.now() + timedelta(days=3),  # not a date (a day, without a time)
        date(1, 1, 1),  # before the issue date
        "2026-12-31",
    ]:
        with pytest.raises(BillingError) as refused:
            clinic.create_invoice(ids["pid"], LINE, due_date=due)
        assert refused.value.code == Refusal.BAD_DATE, due
    assert snapshot(clinic) == before
    # The edges of the window are taken: history back to the limit, due dates up to it.
    oldest = _years_from(today, -20)  # docs/ledger-rules.md: dates from 20 years ago
    iid = clinic.create_invoice(ids["pid"], LINE, issue_date=oldest, due_date=oldest)
    assert clinic.invoice(iid).issue_date == oldest
    with pytest.raises(BillingError) as refused:
        clinic.create_invoice(ids["pid"], LINE, issue_date=oldest - timedelta(days=1))
    assert refused.value.code == Refusal.BAD_DATE
    clinic.create_invoice(ids["pid"], LINE, issue_date=today, due_date=last_due)
    ahead = today + timedelta(days=30)  # an invoice dated ahead (a treatment plan) is taken
    clinic.create_invoice(ids["pid"], LINE, issue_date=ahead, due_date=ahead)
    assert clinic.verify() == []


BAD_IDS = ["1", 1.0, True, [1], None, 2**70]
# The quick run (-m "not slow") tries a string, a bool and a list for every call; the slow run all.
QUICK_BAD_IDS = ("1", True, [1])
BAD_ID_PARAMS = [
    bad
    if any(bad is quick for quick in QUICK_BAD_IDS)
    else pytest.param(bad, marks=pytest.mark.slow)
    for bad in BAD_IDS
]

BY_ID = [
    ("patient", lambda c, i, x: c.patient(x)),
    ("credit", lambda c, i, x: c.credit(x)),
    ("invoices", lambda c, i, x: c.invoices(x)),
    ("payments", lambda c, i, x: c.payments(x)),
    ("credit history", lambda c, i, x: c.credit_history(x)),
    ("credit account", lambda c, i, x: c.credit_account(x)),
    ("credit sources", lambda c, i, x: c.credit_sources(x)),
    ("credit notes", lambda c, i, x: c.credit_notes(x)),
    ("transfers", lambda c, i, x: c.transfers(x)),
    ("statement", lambda c, i, x: c.statement(x)),
    ("patient practitioner", lambda c, i, x: c.patient_practitioner(x)),
    ("invoice", lambda c, i, x: c.invoice(x)),
    ("invoice document", lambda c, i, x: c.invoice_document(x)),
    ("payment", lambda c, i, x: c.payment(x)),
    ("receipt", lambda c, i, x: c.receipt(x)),
    ("create invoice", lambda c, i, x: c.create_invoice(x, LINE)),
    ("assign practitioner", lambda c, i, x: c.assign_practitioner(x, None)),
    ("payment draft", lambda c, i, x: c.payment_draft(x)),
    ("preview payment", lambda c, i, x: preview_and_save(c, x, sources={"Cash": "1"})),
    (
        "source invoice",
        lambda c, i, x: preview_and_save(c, i["pid"], sources={"Cash": "1"}, source_invoice=x),
    ),
    (
        "applied invoice",
        lambda c, i, x: (
            preview_and_save(c, i["pid"], applied={x: "1"})
            if not isinstance(x, list)
            else preview_and_save(c, i["pid"], applied={tuple(x): "1"})
        ),
    ),
    ("refund", lambda c, i, x: c.refund_credit(x, "1", method="Cash", request_id="rf")),
    ("void invoice", lambda c, i, x: c.void_invoice(x)),
    ("reverse payment", lambda c, i, x: c.reverse_payment(x)),
    ("remove application", lambda c, i, x: c.remove_application(x, "wrong invoice")),
    ("credit note", lambda c, i, x: c.credit_note(x, "1", reason="x", request_id="cn9")),
    ("reverse credit note", lambda c, i, x: c.reverse_credit_note(x)),
    ("reverse transfer", lambda c, i, x: c.reverse_transfer(x)),
    (
        "transfer to",
        lambda c, i, x: c.transfer_credit(i["pid"], x, "1", reason="x", request_id="t9"),
    ),
    (
        "transfer from",
        lambda c, i, x: c.transfer_credit(x, i["other"], "1", reason="x", request_id="t9"),
    ),
    ("patients by ids", lambda c, i, x: c.patients_by_ids([x])),
]


@GRID_BACKENDS
@pytest.mark.parametrize("bad", BAD_ID_PARAMS, ids=repr)
@pytest.mark.parametrize(("name", "call"), BY_ID, ids=[c[0] for c in BY_ID])
def test_ids_must_be_plain_ints(records, name, call, bad):
    """'1', 1.0 and True all look like record 1 to a database; [1] breaks the driver."""
    clinic, ids = records
    if bad is None and name == "source invoice":
        bad = "none"  # None there means "entered from no invoice"
    before = snapshot(clinic)
    with pytest.raises(NotFoundError) as refused:
        call(clinic, ids, bad)
    assert refused.value.code == Refusal.NOT_FOUND
    assert snapshot(clinic) == before


TEXTS = [
    # (name, call(clinic, ids, text), what a clinic would type)
    ("first name", lambda c, i, t: c.add_patient(t, "Lovelace")),
    ("last name", lambda c, i, t: c.add_patient("Ada", t)),
    ("description", lambda c, i, t: c.create_invoice(i["pid"], [(t, "10", 1)])),
    ("clinic name", lambda c, i, t: c.set_clinic_name(t)),
    ("clinic name in settings", lambda c, i, t: c.update_settings(clinic_name=t)),
    ("payment type", lambda c, i, t: c.add_payment_type(t)),
    ("payment types", lambda c, i, t: c.update_settings(payment_types=["Cash", t])),
    ("staff name", lambda c, i, t: c.add_staff("ada", t, "administrator", STAFF_PASSWORD)),
    (
        "contact line",
        lambda c, i, t: c.update_settings(letterhead={"clinic_contact": t}),
    ),
    (
        "tax number",
        lambda c, i, t: c.update_settings(letterhead={"clinic_tax_number": t}),
    ),
]

# Each refused text, and how its refusal names the character to remove (the message says which).
SINGLE_LINE_REFUSED = {
    "right-to-left override": ("Ada\u202eecalevoL", "U\\+202E"),
    "left-to-right override": ("Ada\u202dX", "U\\+202D"),
    "right-to-left embedding": ("Ada\u202bX", "U\\+202B"),
    "pop directional": ("Ada\u202cX", "U\\+202C"),
    "first strong isolate": ("Ada\u2068X", "U\\+2068"),
    "pop isolate": ("Ada\u2069X", "U\\+2069"),
    "new line": ("Ada\nLovelace", "line break"),
    "carriage return": ("Ada\rLovelace", "line break"),
    "tab": ("Ada\tLovelace", "tab"),
    "next line (C1)": ("Ada\u0085Lovelace", "U\\+0085"),
    "C1 control": ("Ada\u009bX", "U\\+009B"),
    "line separator": ("Ada\u2028Lovelace", "U\\+2028"),
    "paragraph separator": ("Ada\u2029Lovelace", "U\\+2029"),
    "DEL": ("Ada\x7f", "U\\+007F"),
}

# The quick run tries one of each kind (override, isolate, line break, tab, C1, separator, DEL).
QUICK_SINGLE_LINE = {
    "right-to-left override",
    "first strong isolate",
    "new line",
    "tab",
    "C1 control",
    "line separator",
    "DEL",
}
SINGLE_LINE_PARAMS = [
    text if text in QUICK_SINGLE_LINE else pytest.param(text, marks=pytest.mark.slow)
    for text in SINGLE_LINE_REFUSED
]


@GRID_BACKENDS
@pytest.mark.parametrize("text", SINGLE_LINE_PARAMS)
@pytest.mark.parametrize(("name", "call"), TEXTS, ids=[c[0] for c in TEXTS])
def test_single_line_text_refuses_controls_that_change_how_it_reads(ledger, name, call, text):
    clinic, ids = ledger
    value, names_it = SINGLE_LINE_REFUSED[text]
    before = snapshot(clinic)
    with pytest.raises(BillingError, match=names_it) as refused:
        call(clinic, ids, value)
    assert refused.value.code == Refusal.BAD_TEXT
    assert snapshot(clinic) == before


def test_marks_typed_in_arabic_and_hebrew_are_kept(ledger):
    clinic, _ = ledger
    for text in ("\u200fשרה כהן\u200e", "\u061cمحمد", "Zoë \u200e(ES)"):
        pid = clinic.add_patient(text, text)
        assert clinic.patient(pid).first_name == text
        iid = clinic.create_invoice(pid, [(text, "10", 1)])
        assert clinic.invoice(iid).lines[0].description == text
    clinic.update_settings(letterhead={"clinic_contact": "\u200f02 9000 0000"})


MULTI_LINE = [
    ("void reason", lambda c, i, t: c.void_invoice(i["open"], t)),
    ("credit note reason", lambda c, i, t: c.credit_note(i["open"], "1", reason=t, request_id="n")),
    (
        "refund reason",
        lambda c, i, t: c.refund_credit(i["pid"], "1", method="Cash", request_id="r", reason=t),
    ),
    (
        "transfer reason",
        lambda c, i, t: c.transfer_credit(i["pid"], i["other"], "1", reason=t, request_id="t"),
    ),
    ("address", lambda c, i, t: c.update_settings(letterhead={"clinic_address": t})),
    ("footer", lambda c, i, t: c.update_settings(letterhead={"document_footer": t})),
]


@pytest.mark.parametrize(("name", "call"), MULTI_LINE, ids=[c[0] for c in MULTI_LINE])
def test_multi_line_text_keeps_line_breaks_but_refuses_direction_overrides(ledger, name, call):
    clinic, ids = ledger
    before = snapshot(clinic)
    for bad, code_point in [
        ("Paid twice\u202e", "U\\+202E"),
        ("Paid \u2066twice", "U\\+2066"),
        ("Paid\u0085twice", "U\\+0085"),
        ("Paid\u2028twice", "U\\+2028"),
    ]:
        with pytest.raises(BillingError, match=code_point) as refused:  # named for the user
            call(clinic, ids, bad)
        assert refused.value.code == Refusal.BAD_TEXT
    assert snapshot(clinic) == before
    call(clinic, ids, "Paid twice:\n\tcard and cash")  # a line break and a tab are fine


SETTERS = [
    # (name, call(clinic), the refusal's code, or a message fragment where the code is in doubt)
    ("set_clinic_name(None)", lambda c: c.set_clinic_name(None), Refusal.MISSING),
    # A name that is not text is refused as MISSING ("Enter the clinic's name."), not BAD_TEXT
    # (Refusal: "not text"): the message is checked until the core gives it its code.
    ("set_clinic_name(42)", lambda c: c.set_clinic_name(42), "clinic's name"),
    ("set_currency(None)", lambda c: c.set_currency(None), Refusal.BAD_CHOICE),
    ("set_currency(36)", lambda c: c.set_currency(36), Refusal.BAD_CHOICE),
    ("set_allocation_mode(None)", lambda c: c.set_allocation_mode(None), Refusal.BAD_CHOICE),
    ("add_payment_type(None)", lambda c: c.add_payment_type(None), Refusal.MISSING),
    (
        "payment types as one text",
        lambda c: c.update_settings(payment_types="Cash"),
        Refusal.BAD_CHOICE,
    ),
    ("payment types None", lambda c: c.update_settings(payment_types=[None]), Refusal.MISSING),
    (
        "letterhead None",
        lambda c: c.update_settings(letterhead={"clinic_address": None}),
        Refusal.BAD_TEXT,
    ),
    (
        "letterhead not a mapping",
        lambda c: c.update_settings(letterhead=[("clinic_address", "x")]),
        Refusal.BAD_CHOICE,
    ),
]


@pytest.mark.parametrize(("name", "call", "expected"), SETTERS, ids=[c[0] for c in SETTERS])
def test_setters_refuse_nothing_rather_than_do_nothing(ledger, name, call, expected):
    clinic, _ = ledger
    before = snapshot(clinic)
    with pytest.raises(BillingError) as refused:
        call(clinic)
    if isinstance(expected, Refusal):
        assert refused.value.code == expected
    else:
        assert expected in str(refused.value)
    assert snapshot(clinic) == before
