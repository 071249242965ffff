"""Fixtures for the interoperability tests: the OP process, Node packages, Debian's Chromium.

Every tool is installed here by the project's own files, once per run and only when an interop
test asks for it: `npm ci` into tests/interop/node/ when its node_modules is missing or older
than package-lock.json, and `apt-get install chromium` when /usr/bin/chromium is missing and we
are root. If that is impossible, a local run skips loudly (a banner at the end) and CI fails.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from interop_support import (  # type: ignore[import-not-found]
    CLAIMS,
    NODE_DIR,
    NOT_RUN,
    OP,
    PASSWORD,
    USERNAME,
    Browser,
    unavailable,
)

from idgate.testing import ServerProcess, open_test_provider, postgres_database_url, run_admin_sql
from tooling import debian_chromium, npm_ci


def _seed(database_url: str) -> None:
    async def run() -> None:
        provider = await open_test_provider(database_url)
        try:
            await provider.accounts.add(USERNAME, PASSWORD, CLAIMS)
        finally:
            await provider.close()

    asyncio.run(run())


def _serve(database_url: str) -> Iterator[OP]:
    _seed(database_url)
    server = ServerProcess(database_url, env={"IDGATE_REGISTRATION": "open"}).start()
    try:
        yield OP(server.url)
    finally:
        code, output = server.stop()
    assert code == 0, f"idgate serve exited {code}:\n{output}"
    assert "Traceback" not in output, f"idgate serve logged a traceback:\n{output}"


@pytest.fixture(scope="session")
def op(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OP]:
    """One idgate process on SQLite for all interop scenarios (open dynamic registration)."""
    path = tmp_path_factory.mktemp("interop") / "idgate.db"
    shutil.copyfile(sqlite_template, path)
    yield from _serve(f"sqlite:///{path}")


@pytest.fixture
def postgres_op(request: pytest.FixtureRequest, postgres_server_url: str) -> Iterator[OP]:
    """An idgate process on a fresh PostgreSQL database, for the one PostgreSQL smoke test."""
    template: str = request.getfixturevalue("postgres_template")
    name = f"idgate_interop_{uuid.uuid4().hex[:12]}"
    asyncio.run(
        run_admin_sql(postgres_server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    )
    try:
        yield from _serve(postgres_database_url(postgres_server_url, name))
    finally:
        asyncio.run(
            run_admin_sql(postgres_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        )


@pytest.fixture
def browser(op: OP) -> Iterator[Browser]:
    with Browser(op) as scripted:
        yield scripted


@pytest.fixture(scope="session")
def node_modules() -> Path:
    return npm_ci(NODE_DIR, unavailable)


@pytest.fixture(scope="session")
def chromium() -> str:
    return debian_chromium(unavailable)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if NOT_RUN:
        terminalreporter.section("INTEROP TESTS NOT RUN", sep="!", red=True, bold=True)
        for reason in dict.fromkeys(NOT_RUN):
            terminalreporter.line(f"  {reason}", red=True)
