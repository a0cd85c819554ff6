"""Fixtures for the email tests: real SMTP servers on loopback (see :mod:`.smtp_servers`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .smtp_servers import ClosedPort, HangUpServer, SilentServer, SmtpServer


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[SmtpServer]:
    """A plain SMTP server: no TLS, no password, every message accepted."""
    with SmtpServer(folder=tmp_path) as server:
        yield server


@pytest.fixture
def make_smtp_server(tmp_path: Path) -> Iterator[Callable[..., SmtpServer]]:
    """Starts a server with :class:`SmtpServer`'s options (``make_smtp_server(starttls=True,
    auth={"desk": "secret"})``); every server made is stopped at the end of the test."""
    servers: list[SmtpServer] = []

    def make(**options: Any) -> SmtpServer:
        options.setdefault("folder", tmp_path)
        server = SmtpServer(**options)
        servers.append(server)
        return server.start()

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    """A loopback port that accepts connections and never answers."""
    with SilentServer() as server:
        yield server


@pytest.fixture
def hang_up_server() -> Iterator[HangUpServer]:
    """A loopback port that closes every connection as soon as it is made."""
    with HangUpServer() as server:
        yield server


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port where nothing listens (connecting is refused)."""
    with ClosedPort() as port:
        yield port.port
