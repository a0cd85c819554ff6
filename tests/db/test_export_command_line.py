"""``clinic-ledger export KIND PATH``: exit status 0 with the row count, 1 with the reason, 2 for a
command line that makes no sense."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

from desktop_app.app import main
from desktop_app.core import Clinic


def rows(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_export_each_kind(new_sqlite_url, tmp_path, capsys):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        pid = clinic.add_patient("=Ada", "Lovelace")
        clinic.create_invoice(pid, [("Consult", "50", 1), ("Tape", "5", 2)])
        clinic.record_payment(clinic.preview_payment(pid, sources={"Cash": "80"}), "p")
        clinic.refund_credit(pid, "20", method="Cash", request_id="r")
    expected = {
        "patients": "1 patient",
        "invoices": "1 invoice",
        "invoice_lines": "2 invoice lines",
        "payments": "2 payments and refunds",
    }
    for kind, count in expected.items():
        path = tmp_path / f"{kind}.csv"
        assert main(["--database", url, "export", kind, str(path)]) == 0
        assert capsys.readouterr().out == f"Exported {count} to {path}.\n"
        assert len(rows(path)) == int(count.split()[0])
    assert rows(tmp_path / "patients.csv")[0]["first_name"] == "'=Ada"
    assert [r["total"] for r in rows(tmp_path / "payments.csv")] == ["80.00", "-20.00"]


def test_export_failures_exit_1_with_the_reason(new_sqlite_url, tmp_path, capsys):
    url = new_sqlite_url()
    target = tmp_path / "missing" / "patients.csv"
    assert main(["--database", url, "export", "patients", str(target)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("clinic-ledger: ")
    assert "no folder" in captured.err and not target.exists()


def test_export_needs_a_kind_and_a_path(new_sqlite_url, capsys):
    url = new_sqlite_url()
    for argv in (["export"], ["export", "patients"], ["export", "appointments", "x.csv"]):
        with pytest.raises(SystemExit) as usage:
            main(["--database", url, *argv])
        assert usage.value.code == 2
    err = capsys.readouterr().err
    assert "export needs a KIND (patients, invoices, invoice_lines, payments) and a PATH" in err
    assert main(["--database", url, "info"]) == 0  # the other commands still work


def test_export_runs_as_a_module(new_sqlite_url, tmp_path):
    url = new_sqlite_url()
    with Clinic.open(url) as clinic:
        clinic.add_patient("Ada", "Lovelace")
    path = tmp_path / "p.csv"
    done = subprocess.run(
        [sys.executable, "-m", "desktop_app", "--database", url, "export", "patients", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Exported 1 patient to" in done.stdout and len(rows(path)) == 1


def test_accounting_export_command(new_sqlite_url, tmp_path, capsys):
    url = new_sqlite_url()
    out = tmp_path / "exports"
    out.mkdir()
    with Clinic.open(url) as clinic:
        pid = clinic.add_patient("Ada", "Lovelace")
        clinic.create_invoice(pid, [("Consult", "50", 1)])
        clinic.record_payment(clinic.preview_payment(pid, sources={"EFTPOS": "80"}), "p")
    assert main(["--database", url, "accounting-export", str(out), "--preview"]) == 0
    preview = capsys.readouterr().out
    assert "preview (nothing written)" in preview and "EFTPOS: $80.00" in preview
    assert not list(out.iterdir())
    assert main(["--database", url, "accounting-export", str(out)]) == 0
    written = capsys.readouterr().out
    assert "Accounting export 1 written to" in written and "Invoices $50.00" in written
    (folder,) = out.iterdir()
    assert len(rows(folder / "xero-allocations.csv")) == 1
    assert main(["--database", url, "accounting-export", str(out)]) == 1
    assert "Nothing to export" in capsys.readouterr().err
    assert main(["--database", url, "accounting-export", str(out), "--through", "25/11"]) == 1
    assert "is not a date" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--database", url, "verify", "--preview"])
