"""A throwaway PostgreSQL cluster for the test suite, on loopback, in a temporary folder.

Used when ``CLINIC_TEST_PG_URL`` is not set. ``initdb`` refuses to run as root, so as root the
cluster runs as the ``postgres`` user. Missing PostgreSQL is an error, never a silent skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def _bindir() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        raise RuntimeError(
            "PostgreSQL is needed for the database tests: install it (Debian: "
            "apt-get install postgresql) or set CLINIC_TEST_PG_URL to a server of your own."
        )
    return Path(candidates[-1]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalCluster:
    """A running cluster; ``stop()`` removes it."""

    folder: Path
    port: int
    bindir: Path
    as_postgres: bool

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=60)

    def stop(self) -> None:
        try:
            self._run(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.folder / "data"),
                "-m",
                "immediate",
                "-w",
                "stop",
            )
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def start_cluster() -> LocalCluster:
    """initdb and start a cluster with fsync off (tests only)."""
    bindir = _bindir()
    as_postgres = os.geteuid() == 0
    folder = Path(tempfile.mkdtemp(prefix="clinic-pg-"))
    if as_postgres:
        shutil.chown(folder, "postgres", "postgres")
    cluster = LocalCluster(folder, _free_port(), bindir, as_postgres)
    cluster._run(
        str(bindir / "initdb"),
        "-D",
        str(folder / "data"),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -p {cluster.port} -k {folder} -c fsync=off "
        "-c max_connections=100"
    )
    cluster._run(
        str(bindir / "pg_ctl"),
        "-D",
        str(folder / "data"),
        "-l",
        str(folder / "pg.log"),
        "-w",
        "-t",
        "30",
        "-o",
        options,
        "start",
    )
    return cluster
