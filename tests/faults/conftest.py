"""Fixtures of the fault tests: a PostgreSQL cluster of the test's own, to stop and start."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_cluster import ClusterUnavailable, PostgresCluster  # type: ignore[import-not-found]

from idgate.testing import postgres_database_url, run_admin_sql

UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A running throwaway cluster with an empty database `idgate`; removed afterwards."""
    cleanup = contextlib.ExitStack()
    try:
        cluster = cleanup.enter_context(PostgresCluster.running())
    except ClusterUnavailable as exc:
        # Only a missing or broken PostgreSQL install skips; a fault in a test never does.
        if UNDER_CI:
            pytest.fail(f"a throwaway PostgreSQL cluster is needed in CI: {exc}", pytrace=False)
        pytest.skip(f"no throwaway PostgreSQL cluster: {exc}")
    with cleanup:
        asyncio.run(run_admin_sql(cluster.url(), 'CREATE DATABASE "idgate"'))
        yield cluster


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_server_url: str
) -> Iterator[str]:
    """A database with no schema at all, of each kind (the suite's own are migrated)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    request.getfixturevalue("postgres_template")  # skips, or fails in CI, without PostgreSQL
    name = f"idgate_empty_{uuid.uuid4().hex[:12]}"
    asyncio.run(run_admin_sql(postgres_server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_database_url(postgres_server_url, name)
    finally:
        drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        asyncio.run(run_admin_sql(postgres_server_url, drop))
