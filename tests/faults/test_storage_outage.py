"""The database seam under a stopping PostgreSQL: every failure is DatabaseUnavailable (the
503 of the web layer), never a driver error that would become a 500; and the pool heals."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
import uvloop
from postgres_cluster import PostgresCluster  # type: ignore[import-not-found]

from idgate.storage.base import DatabaseUnavailable
from idgate.storage.sql.db import sql
from idgate.storage.sql.engine import open_database

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

_PROBE = sql("SELECT 1 AS one")
_WORKERS = 12
_OUTAGES = 3


@pytest.mark.parametrize("mode", ["immediate", "fast"])
def test_a_stopping_database_only_ever_raises_database_unavailable(
    postgres_cluster: PostgresCluster, mode: str
) -> None:
    async def scenario() -> tuple[int, int, list[BaseException]]:
        db = await open_database(postgres_cluster.url("idgate"))
        unavailable = 0
        answered_after = 0
        other: list[BaseException] = []
        restarted = False
        done = False
        healed = asyncio.Event()

        async def work() -> None:
            nonlocal unavailable, answered_after
            while not done:
                try:
                    async with db.transaction() as tx:
                        await tx.one(_PROBE)
                    await db.one(_PROBE)
                    answered_after += restarted
                    if answered_after >= 50:
                        healed.set()
                except DatabaseUnavailable:
                    unavailable += 1
                except Exception as exc:
                    other.append(exc)
                await asyncio.sleep(0.001)

        # idgate serves on uvloop, where a session ended by the server can be handed out by
        # the pool before its close is seen: the race this test exists for.
        workers = [asyncio.create_task(work()) for _ in range(_WORKERS)]
        # The race is at the instant of the shutdown: a few of them, to meet it.
        for _ in range(_OUTAGES):
            restarted = False
            await asyncio.sleep(0.2)
            await asyncio.to_thread(postgres_cluster.stop, mode)
            await asyncio.sleep(0.2)
            await asyncio.to_thread(postgres_cluster.start)
        restarted = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(healed.wait(), timeout=10)
        done = True
        await asyncio.gather(*workers)
        await db.close()
        return unavailable, answered_after, other

    unavailable, answered_after, other = uvloop.run(scenario())
    assert other == []
    assert unavailable > 0, "the workers never saw the outage"
    assert answered_after >= 50, "the pool did not reconnect"
