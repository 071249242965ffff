"""Fixtures shared by the whole suite.

Storage and endpoint tests run on SQLite and on PostgreSQL. Each test gets its own freshly
migrated database, copied from a template made once per run (a file copy on SQLite,
`CREATE DATABASE … TEMPLATE` on PostgreSQL), so tests never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from idgate.testing import (
    cheap_password_hasher,
    postgres_database_url,
    run_admin_sql,
)

POSTGRES_URL = os.environ.get("IDGATE_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def _postgres_reachable() -> str | None:
    """None when reachable, else the reason."""
    try:
        asyncio.run(run_admin_sql(POSTGRES_URL, "SELECT 1"))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated template database on the PostgreSQL server; dropped at the end of the run."""
    reason = _postgres_reachable()
    if reason is not None:
        message = f"PostgreSQL at {POSTGRES_URL} is unreachable ({reason})"
        if UNDER_CI:
            pytest.fail(f"{message}; CI must run the PostgreSQL tests", pytrace=False)
        warnings.warn(f"SKIPPING POSTGRESQL TESTS: {message}", stacklevel=1)
        pytest.skip(message)
    name = f"idgate_tpl_{uuid.uuid4().hex[:12]}"
    asyncio.run(run_admin_sql(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
    from idgate.storage.sql import create_engine, migrate

    async def prepare() -> None:
        engine = create_engine(postgres_database_url(POSTGRES_URL, name))
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(prepare())
    yield name
    asyncio.run(run_admin_sql(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    from idgate.storage.sql import create_engine, migrate

    async def prepare() -> None:
        engine = create_engine(f"sqlite:///{path}")
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(prepare())
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """A fresh, migrated database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "idgate.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    template: str = request.getfixturevalue("postgres_template")
    name = f"idgate_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(run_admin_sql(POSTGRES_URL, f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield postgres_database_url(POSTGRES_URL, name)
    finally:
        asyncio.run(run_admin_sql(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def postgres_server_url() -> str:
    """The PostgreSQL server the suite makes its databases on."""
    return POSTGRES_URL


@pytest.fixture
def password_hasher():  # type: ignore[no-untyped-def]
    return cheap_password_hasher()


@pytest.fixture
async def provider(database_url: str) -> AsyncIterator[object]:
    from idgate.testing import open_test_provider

    provider = await open_test_provider(database_url)
    try:
        yield provider
    finally:
        await provider.close()
