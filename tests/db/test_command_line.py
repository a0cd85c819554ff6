"""The command line: info and verify, as a person runs them."""

import subprocess
import sys

from sqlalchemy import text

from desktop_app.app import main
from desktop_app.core import Clinic


def test_info_and_verify(new_sqlite_url, capsys):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        pid = clinic.add_patient("Ada", "Lovelace")
        clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "100"}), "p")
        clinic.create_invoice(pid, [("Consult", "50", 1)])
    assert main(["--database", url, "info"]) == 0
    out = capsys.readouterr().out
    assert "Patients:            1\n" in out and "Account credit held: $100.00\n" in out
    assert "Open invoices:       1 ($50.00 outstanding)" in out and "Oldest invoice first" in out
    assert main(["--database", url, "verify"]) == 0
    assert "every invariant holds" in capsys.readouterr().out
    with Clinic.open(url) as clinic, clinic.engine.begin() as conn:
        conn.execute(text("UPDATE patients SET credit_minor = 1"))
    assert main(["--database", url, "verify"]) == 1
    assert (
        "stored account credit $0.01 differs from the records ($100.00)" in capsys.readouterr().out
    )


def test_bad_database_url_is_a_clear_error(capsys):
    assert main(["--database", "mysql://nowhere/clinic", "info"]) == 2
    assert "Unsupported database" in capsys.readouterr().err
    unreachable = "postgresql+psycopg://nobody@127.0.0.1:9/clinic?connect_timeout=2"
    assert main(["--database", unreachable, "verify"]) == 2
    assert "could not be opened" in capsys.readouterr().err


def test_runs_as_a_module(new_sqlite_url):
    url = new_sqlite_url()
    done = subprocess.run(
        [sys.executable, "-m", "desktop_app", "--database", url, "verify"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "every invariant holds" in done.stdout


def test_demo_fills_only_an_empty_database(new_sqlite_url, capsys):
    url = new_sqlite_url()
    assert main(["--database", url, "--demo", "verify"]) == 0
    with Clinic.open(url) as clinic:
        summary = clinic.summary()
        assert summary.patients == 40 and summary.clinic_name == "Harbour Physiotherapy"
        assert summary.credit_held > 0 and summary.open_invoices > 0
        paid = [
            i for pid in clinic.patient_ids() for i in clinic.invoices(pid) if i.status == "paid"
        ]
        assert paid
    assert main(["--database", url, "--demo", "info"]) == 0
    assert "only an empty database" in capsys.readouterr().err
    with Clinic.open(url) as clinic:
        assert clinic.summary().patients == 40
