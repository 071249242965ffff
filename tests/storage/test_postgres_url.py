"""libpq's TLS parameters in a PostgreSQL `database_url`, on both connection paths: the
migration engine (SQLAlchemy over asyncpg) and the request path's asyncpg pool.

The local test server has no TLS: `disable` and `prefer` connect in plain text there, and
`require` must fail as an unreachable database, not as a crash.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from idgate.storage.base import DatabaseUnavailable
from idgate.storage.sql import InvalidDatabaseUrl, create_engine, migrate
from idgate.storage.sql.engine import async_url, driver_dsn, open_database
from idgate.testing import open_test_provider, postgres_database_url, run_admin_sql

pytestmark = pytest.mark.anyio

_SERVER = "postgresql://idgate@db.internal:5432/idgate"


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("foo=bar", "'foo' is not supported"),
        ("ssl=require", "sslmode=require, not ssl="),
        ("application_name=x", "takes sslmode, sslrootcert, sslcert, sslkey, host"),
        ("sslmode=always", "not one of disable, allow, prefer, require, verify-ca, verify-full"),
        ("sslmode=require&sslmode=disable", "more than once"),
        ("sslmode=verify-full&sslrootcert=/nonexistent/ca.pem", "'/nonexistent/ca.pem'"),
        ("sslcert=/nonexistent/client.crt", "sslcert file"),
    ],
)
def test_unsupported_parameters_are_refused_before_connecting(query: str, needle: str) -> None:
    with pytest.raises(InvalidDatabaseUrl, match=re.escape(needle)):
        async_url(f"{_SERVER}?{query}")
    with pytest.raises(InvalidDatabaseUrl):
        create_engine(f"{_SERVER}?{query}")


def test_tls_parameters_reach_the_driver_unchanged(tmp_path: Path) -> None:
    ca = tmp_path / "db-ca.pem"
    ca.write_text("not read before connecting\n")
    url = f"{_SERVER}?sslmode=verify-full&sslrootcert={ca}"
    dsn = driver_dsn(url)
    assert dsn.startswith("postgresql://idgate@db.internal:5432/idgate?")
    assert "sslmode=verify-full" in dsn
    assert "sslrootcert=" in dsn
    # A Unix socket directory, libpq's way, keeps working too.
    assert "host=" in driver_dsn("postgresql://idgate@/idgate?host=/var/run/postgresql")


@pytest.fixture
async def empty_postgres(postgres_template: str, postgres_server_url: str) -> AsyncIterator[str]:
    """A database with no schema yet, so that the migration itself runs through the URL."""
    name = f"idgate_ssl_{uuid.uuid4().hex[:12]}"
    await run_admin_sql(postgres_server_url, f'CREATE DATABASE "{name}"')
    try:
        yield postgres_database_url(postgres_server_url, name)
    finally:
        await run_admin_sql(postgres_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
@pytest.mark.parametrize("sslmode", ["disable", "prefer"])
async def test_sslmode_works_for_migrations_and_requests(empty_postgres: str, sslmode: str) -> None:
    url = f"{empty_postgres}?sslmode={sslmode}"
    engine = create_engine(url)
    try:
        assert await migrate(engine) is True
    finally:
        await engine.dispose()
    provider = await open_test_provider(url)
    try:
        keys = await provider.keys.list()
        assert [k.state for k in keys] == ["current"]
        assert await provider.accounts.list() == []
    finally:
        await provider.close()


@pytest.mark.postgres
async def test_sslmode_require_without_tls_on_the_server_is_an_outage(
    empty_postgres: str,
) -> None:
    url = f"{empty_postgres}?sslmode=require"
    engine = create_engine(url)
    try:
        with pytest.raises(DatabaseUnavailable) as migrating:
            await migrate(engine)
    finally:
        await engine.dispose()
    with pytest.raises(DatabaseUnavailable) as serving:
        await open_database(url)
    for failure in (migrating, serving):
        assert "SSL" in str(failure.value.__cause__)
