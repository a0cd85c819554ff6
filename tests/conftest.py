"""Fixtures: a fresh clinic on SQLite and on a real PostgreSQL server for every test.

The PostgreSQL server comes from ``CLINIC_TEST_PG_URL`` (``.ci/run`` starts one and sets it) or,
when that is unset, from a throwaway cluster this suite starts itself. PostgreSQL tests never skip.
Under pytest-xdist (the README's quick run, ``-n 2``) each worker makes its own template database
on a shared server, or starts its own throwaway cluster.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import psycopg
import pytest
from hypothesis import HealthCheck, settings
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError
from sqlalchemy.engine import make_url

from desktop_app.core import Clinic
from tests.pg_server import start_cluster

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

settings.register_profile(
    "ci",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
    derandomize=True,
)
settings.register_profile(
    "long",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
    max_examples=2000,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

PG_ENV = "CLINIC_TEST_PG_URL"


def _template_name() -> str:
    """The template database's name: each test process has its own on a shared server (xdist's
    workers, and test runs side by side on one machine)."""
    return f"clinic_ledger_template_{os.getpid()}"


TEMPLATE_DB = _template_name()


def _libpq(url: str) -> str:
    """A psycopg connection string for an SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


class PgDatabases:
    """Makes a fresh, migrated database per test by copying a migrated template (fast)."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self._made: list[str] = []
        with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
            conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
        Clinic.open(_with_database(admin_url, TEMPLATE_DB)).close()

    def new(self) -> str:
        """A new database with the current schema and default settings; returns its URL."""
        name = f"clinic_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_libpq(self.admin_url), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
        self._made.append(name)
        return _with_database(self.admin_url, name)

    def drop(self, url: str) -> None:
        """Drop one database made by :meth:`new`."""
        name = make_url(url).database
        with psycopg.connect(_libpq(self.admin_url), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self._made.remove(str(name))

    def drop_all(self) -> None:
        with psycopg.connect(_libpq(self.admin_url), autocommit=True) as conn:
            for name in [*self._made, TEMPLATE_DB]:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self._made.clear()


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    """The PostgreSQL server for this run (never skipped: a missing server is an error)."""
    url = os.environ.get(PG_ENV)
    cluster = None
    if not url:
        cluster = start_cluster()
        url = cluster.url
    databases = PgDatabases(url)
    try:
        yield databases
    finally:
        if cluster is not None:
            cluster.stop()  # the whole throwaway server goes, its databases with it
        else:
            databases.drop_all()  # a server of the developer's: leave it as it was


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite clinic file to copy for each test."""
    path = tmp_path_factory.mktemp("template") / "clinic.db"
    Clinic.open(f"sqlite:///{path}").close()
    return path


@pytest.fixture
def new_sqlite_url(sqlite_template: Path, tmp_path: Path) -> Callable[[], str]:
    """Makes fresh SQLite clinic files in this test's folder."""
    counter = iter(range(1_000_000))

    def make() -> str:
        path = tmp_path / f"clinic{next(counter)}.db"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite:///{path}"

    return make


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The URL of a fresh clinic database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("new_sqlite_url")())
    return str(request.getfixturevalue("pg_databases").new())


@pytest.fixture
def clinic(db_url: str) -> Iterator[Clinic]:
    """A fresh clinic (default settings: oldest first, AUD, the five payment types)."""
    opened = Clinic.open(db_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with a small memory cost, so making accounts and signing in take milliseconds
    (the app's own settings are checked in tests/db/test_staff.py)."""
    from argon2 import PasswordHasher

    from desktop_app.core.access import staff as staff_rules

    monkeypatch.setattr(staff_rules, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def team(clinic: Clinic, quick_hashes: None) -> dict[str, Clinic]:
    """An administrator, a bookkeeper, a receptionist and a practitioner, each signed in, and the
    clinic itself as ``"owner"`` (:func:`tests.helpers.staff_team`)."""
    from tests.helpers import staff_team

    return staff_team(clinic)


class MemoryKeyring(KeyringBackend):
    """A keychain in memory (the test machine has none); like a real one, deleting an entry
    that is not there raises PasswordDeleteError."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.entries:
            raise PasswordDeleteError(username)
        del self.entries[(service, username)]


@pytest.fixture
def keychain() -> Iterator[MemoryKeyring]:
    """The keychain, in memory for the test."""
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    yield memory
    keyring.set_keyring(previous)
