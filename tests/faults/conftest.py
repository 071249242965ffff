"""Fixtures of the fault tests: a PostgreSQL cluster of the test's own, to stop and start."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator

import pytest
from postgres_cluster import ClusterUnavailable, PostgresCluster  # type: ignore[import-not-found]

from idgate.testing import run_admin_sql

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
