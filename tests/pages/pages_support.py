"""Helpers for the browser tests of the pages: the OP under test and its seeded data."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from idgate.testing import ServerProcess, open_test_provider, postgres_database_url, run_admin_sql

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

USERNAME = "alice"
PASSWORD = "pages correct horse battery staple"
RP_ORIGIN = "https://photos.example"
CLIENT_METADATA = {
    "client_name": "Photo Printer",
    "redirect_uris": [f"{RP_ORIGIN}/cb"],
    "response_types": ["code"],
    "grant_types": ["authorization_code"],
    "logo_uri": f"{RP_ORIGIN}/logo.svg",
    "client_uri": f"{RP_ORIGIN}/",
    "policy_uri": f"{RP_ORIGIN}/privacy",
    "tos_uri": f"{RP_ORIGIN}/terms",
    "post_logout_redirect_uris": [f"{RP_ORIGIN}/bye"],
}


def unavailable(message: str) -> NoReturn:
    if UNDER_CI:
        pytest.fail(f"pages: {message}; CI must run the browser tests", pytrace=False)
    pytest.skip(f"BROWSER PAGE TESTS NOT RUN: {message}")


@dataclass(frozen=True)
class OP:
    url: str
    client_id: str


def _seed(database_url: str) -> str:
    async def run() -> str:
        provider = await open_test_provider(database_url)
        try:
            await provider.accounts.add(USERNAME, PASSWORD, {"name": "Alice Example"})
            created = await provider.registration.register_trusted(CLIENT_METADATA)
            return created.client.client_id
        finally:
            await provider.close()

    return asyncio.run(run())


def serve(database_url: str, env: dict[str, str] | None = None) -> Iterator[OP]:
    """A real `idgate serve` over a seeded database (alice, and the Photo Printer client)."""
    client_id = _seed(database_url)
    # Each variant of the run types one wrong password on purpose.
    settings = {"IDGATE_LOGIN_MAX_FAILURES": "100", **(env or {})}
    server = ServerProcess(database_url, env=settings).start()
    try:
        yield OP(server.url, client_id)
    finally:
        code, output = server.stop()
    assert code == 0, f"idgate serve exited {code}:\n{output}"
    assert "Traceback" not in output, f"idgate serve logged a traceback:\n{output}"


def serve_then_lose_the_database(server_url: str, template: str) -> Iterator[str]:
    """A real `idgate serve` on PostgreSQL whose database is dropped under it: a real outage.

    Yields the server's URL. Its log is not checked for tracebacks: the background janitor may
    well complain about the missing database, which is the point.
    """
    name = f"idgate_pages_down_{uuid.uuid4().hex[:10]}"
    asyncio.run(run_admin_sql(server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        server = ServerProcess(postgres_database_url(server_url, name)).start()
        try:
            asyncio.run(run_admin_sql(server_url, f'DROP DATABASE "{name}" WITH (FORCE)'))
            yield server.url
        finally:
            server.stop()
    finally:
        asyncio.run(run_admin_sql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
