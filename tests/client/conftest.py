"""Fixtures of the client tests.

They exercise the RP library, not storage: the in-process OP runs on SQLite only (storage and
endpoints run on both databases in tests/storage, tests/web and tests/flows), while the
real-server tests of test_served.py keep the `database_url` fixture and so both databases.
"""

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from client_support import OP, attacker_key, open_op  # type: ignore[import-not-found]

from idgate.provider import Provider
from idgate.testing import open_test_provider

__all__ = ["attacker_key"]


@pytest.fixture
async def provider(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Provider]:
    path = tmp_path / "idgate.db"
    shutil.copyfile(sqlite_template, path)
    provider = await open_test_provider(f"sqlite:///{path}")
    try:
        yield provider
    finally:
        await provider.close()


@pytest.fixture
async def op(provider: Provider) -> AsyncIterator[OP]:
    async for value in open_op(provider):
        yield value
