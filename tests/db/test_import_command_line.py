"""``clinic-ledger import KIND CSV``: the summary and exit 0, each problem and exit 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app import app
from desktop_app.app import main
from desktop_app.core import Clinic
from desktop_app.core.interchange.importing import template


def test_import_prints_the_summary_and_a_second_run_changes_nothing(new_sqlite_url, capsys):
    url = new_sqlite_url()
    for kind in ("patients", "invoices"):
        assert main(["--database", url, "import", kind, str(template(kind))]) == 0
    out = capsys.readouterr().out
    assert "Imported 3 patients from patients.csv." in out
    assert "Imported 3 invoices (4 lines) from invoices.csv." in out
    assert main(["--database", url, "import", "patients", str(template("patients"))]) == 0
    assert "patients.csv was already imported on" in capsys.readouterr().out
    with Clinic.open(url) as clinic:
        assert clinic.summary().patients == 3 and clinic.verify() == []
    assert main(["--database", url, "info"]) == 0  # the other commands still work


def test_a_refused_file_prints_each_problem_and_exits_1(new_sqlite_url, tmp_path, capsys):
    url = new_sqlite_url()
    main(["--database", url, "import", "patients", str(template("patients"))])
    capsys.readouterr()
    bad = tmp_path / "payments.csv"
    bad.write_text(
        "payment_ref,patient_external_id,payment_date,amount,method\n"
        "A,P-1001,2026-10-01,12.345,Cash\n"
        "B,P-9999,2026-10-01,10,Cash\n",
        encoding="utf-8",
    )
    assert main(["--database", url, "import", "payments", str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[0] == (
        "clinic-ledger: payments.csv was not imported: 2 problems found, nothing was saved."
    )
    assert lines[1].startswith("  row 2, column amount: Amount: 12.345 has more than 2 decimals")
    assert lines[2].startswith("  row 3, column patient_external_id: There is no active patient")
    with Clinic.open(url) as clinic:
        assert clinic.payments(clinic.patient_ids()[0]) == []
    assert main(["--database", url, "import", "patients", str(tmp_path / "nowhere.csv")]) == 1
    assert "There is no file" in capsys.readouterr().err


def test_usage_errors(new_sqlite_url, capsys):
    url = new_sqlite_url()
    for argv in (["import"], ["import", "patients"], ["import", "doctors", "x.csv"]):
        with pytest.raises(SystemExit) as usage:
            main(["--database", url, *argv])
        assert usage.value.code == 2
    err = capsys.readouterr().err
    assert "import needs a KIND (patients, invoices, payments, credit) and the CSV file" in err
    for argv in (["backup", "a.db", "b.csv"], ["info", "x", "y"]):
        with pytest.raises(SystemExit):
            main(["--database", url, *argv])
    assert "unrecognized arguments" in capsys.readouterr().err


def test_progress_goes_to_stderr(new_sqlite_url, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(app, "IMPORT_PROGRESS_EVERY", 0.0)
    url = new_sqlite_url()
    rows = "".join(f"X{i},First{i},Last{i}\n" for i in range(2500))
    big = tmp_path / "many.csv"
    big.write_text("external_id,first_name,last_name\n" + rows, encoding="utf-8")
    assert main(["--database", url, "import", "patients", str(big)]) == 0
    captured = capsys.readouterr()
    for step in ("checked 2,500", "saved 1,000", "saved 2,500"):
        assert f"Importing patients: {step} of 2,500 rows\n" in captured.err
    assert captured.out == "Imported 2,500 patients from many.csv.\n"


def test_runs_as_a_module(new_sqlite_url):
    url = new_sqlite_url()
    csv = str(Path(str(template("patients"))))
    done = subprocess.run(
        [sys.executable, "-m", "desktop_app", "--database", url, "import", "patients", csv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Imported 3 patients" in done.stdout


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_file_is_refused_at_the_size_limit(new_sqlite_url):
    """``import patients /dev/zero`` used to read until memory ran out (a MemoryError
    traceback). It stops at the limit with a message. The child's address space is capped at
    2 GB, so the test stays safe on a machine without the fix."""
    import time

    capped = (
        "import resource, runpy, sys; "
        "resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3)); "
        "sys.argv = ['clinic-ledger', *sys.argv[1:]]; "
        "runpy.run_module('desktop_app', run_name='__main__')"
    )
    url = new_sqlite_url()
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", capped, "--database", url, "import", "patients", "/dev/zero"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "zero was not imported" in done.stderr and "larger than 50 MB" in done.stderr
    assert done.stdout == ""
    assert time.monotonic() - started < 30
    with Clinic.open(url) as clinic:
        assert clinic.summary().patients == 0


SAMPLE = Path(__file__).parents[2] / "docs" / "samples" / "previous-system-patients.csv"


def test_map_and_a_saved_mapping_import_another_systems_export(new_sqlite_url, capsys):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        clinic.save_import_mapping("patients", "Previous system", {"Alert Notes": "notes"})
    argv = ["--database", url, "import", "patients", str(SAMPLE), "--mapping", "Previous system"]
    argv += ["--map", "Pension/Concession=concession", "--map", "Referral Source=ignore"]
    assert main(argv) == 0
    assert capsys.readouterr().out == (
        "Imported 14 patients (7 opening balances) from previous-system-patients.csv. "
        "Ignored columns: Referral Source.\n"
    )
    with Clinic.open(url) as clinic:
        (pid,) = clinic.patient_ids("O'Brien")
        margaret = clinic.patient(pid)
        assert (margaret.notes, margaret.concession) == (
            "Hard of hearing: speak clearly",
            "Pensioner",
        )
        assert clinic.verify() == []


def test_a_wrong_mapping_is_refused(new_sqlite_url, capsys):
    url = new_sqlite_url()
    base = ["--database", url, "import", "patients", str(SAMPLE)]
    assert main([*base, "--map", "Alert Notes=alerts"]) == 1
    assert "'alerts', which is not a field of the patients import" in capsys.readouterr().err
    assert main([*base, "--map", "Alert Notes=notes", "--map", "Referral Source=notes"]) == 1
    assert "sends both 'Alert Notes' and 'Referral Source' to notes" in capsys.readouterr().err
    assert main([*base, "--mapping", "Nothing"]) == 1
    assert "no saved patients mapping called 'Nothing' (saved: none yet)" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main([*base, "--map", "Alert Notes"])
    assert usage.value.code == 2
    assert '--map takes "SOURCE=FIELD"' in capsys.readouterr().err
    with Clinic.open(url) as clinic:
        assert clinic.summary().patients == 0
