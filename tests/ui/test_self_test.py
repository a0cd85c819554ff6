"""``clinic-ledger --self-test``: passes on a working installation, names the step that fails."""

from __future__ import annotations

import subprocess
import sys

import pytest

from desktop_app import __version__, self_test
from desktop_app.app import main


@pytest.mark.slow  # the whole self-test
def test_the_self_test_passes_in_process(qapp, capsys):
    assert self_test.run() == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert out[0].startswith(f"Clinic Ledger {__version__} self-test passed: payment, upgrade")
    assert (
        out[0]
        .split(": ", 1)[1]
        .startswith(
            "payment, upgrade, data folder, postgresql driver, resources, window, printing, "
            "email, staff in "
        )
    )


def test_a_failing_step_is_named_and_exits_1(qapp, capsys, monkeypatch):
    def no_driver() -> None:
        raise ImportError("No module named 'psycopg'")

    monkeypatch.setattr(self_test, "_postgresql_driver", no_driver)
    assert self_test.run() == 1
    out = capsys.readouterr().out.strip()
    assert out == (
        f"Clinic Ledger {__version__} self-test FAILED at postgresql driver: "
        "ImportError: No module named 'psycopg'"
    )


def test_a_wrong_answer_fails_the_payment_step(qapp, capsys, monkeypatch):
    from desktop_app.core import Clinic

    real = Clinic.credit
    monkeypatch.setattr(Clinic, "credit", lambda self, pid: real(self, pid) + 1)
    assert self_test.run() == 1
    assert "FAILED at payment: SelfTestError: the prepayment is not account credit" in (
        capsys.readouterr().out
    )


def test_the_self_test_takes_no_other_arguments(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--self-test", "verify"])
    assert exited.value.code == 2
    assert "--self-test takes no other arguments" in capsys.readouterr().err


@pytest.mark.slow  # a fresh interpreter
def test_the_command_line_self_test_in_a_fresh_process(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "desktop_app", "--self-test"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},  # no screen, no QT_QPA_PLATFORM
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("\n") == 1 and "self-test passed" in done.stdout
    assert list(tmp_path.iterdir()) == [], "nothing is written outside the temporary folder"


@pytest.mark.slow  # a fresh interpreter
def test_the_start_up_probe_shows_the_window_lists_the_patients_and_exits(tmp_path):
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "desktop_app", "--database", url, "--demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "QT_QPA_PLATFORM": "offscreen",
            "CLINIC_LEDGER_STARTUP_PROBE": "1",
        },
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["shown", "ready"]
