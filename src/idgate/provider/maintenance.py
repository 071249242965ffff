"""Background clean-up of expired codes, tokens, sessions and the like.

Every process runs it; the deletes are idempotent, batched, and spread out with jitter, so
several processes on one database do not pile up.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from typing import Protocol

from idgate.clock import Clock
from idgate.storage.base import DatabaseUnavailable

log = logging.getLogger("idgate.maintenance")

RETENTION = 24 * 3600


class Maintenance(Protocol):
    async def purge_expired(
        self, *, now: int, retention: int, batch: int = 500
    ) -> Mapping[str, int]: ...


class Janitor:
    def __init__(self, maintenance: Maintenance, clock: Clock, *, interval: int = 300) -> None:
        self._maintenance = maintenance
        self._clock = clock
        self._interval = interval

    async def sweep(self) -> Mapping[str, int]:
        """Purge until nothing expired is left (batch by batch); the totals."""
        totals: dict[str, int] = {}
        while True:
            counts = await self._maintenance.purge_expired(
                now=self._clock.now(), retention=RETENTION
            )
            for name, count in counts.items():
                totals[name] = totals.get(name, 0) + count
            if not any(counts.values()):
                return totals
            await asyncio.sleep(0)  # let requests in between batches

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval * random.uniform(0.5, 1.5))  # noqa: S311
            try:
                totals = await self.sweep()
            except DatabaseUnavailable:
                log.warning("clean-up skipped: the database is unavailable")
                continue
            purged = {name: count for name, count in totals.items() if count}
            if purged:
                log.info("purged expired rows: %s", purged)
