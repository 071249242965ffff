"""The replay cache and the rate limits (login failures, request rates): shared by every
process through the database."""

from __future__ import annotations

from idgate.storage.sql.db import sql
from idgate.storage.sql.repositories import Repository

# One statement: insert, or take over an expired entry; a live entry returns no row.
_FIRST_USE = sql(
    "INSERT INTO replay_cache (key, expires_at) VALUES (:key, :expires_at) "
    "ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at "
    "WHERE replay_cache.expires_at <= :now RETURNING key"
)
_LOCKED_UNTIL = sql("SELECT locked_until FROM rate_limits WHERE key = :key")
# Counts `hits` (failures, or requests) in the key's window; one outside the window starts a
# new count. The `failures` column holds either kind of count.
_COUNT = sql(
    "INSERT INTO rate_limits (key, failures, window_start, locked_until) "
    "VALUES (:key, :hits, :now, 0) "
    "ON CONFLICT (key) DO UPDATE SET "
    "failures = CASE WHEN rate_limits.window_start > :since "
    "THEN rate_limits.failures + excluded.failures ELSE excluded.failures END, "
    "window_start = CASE WHEN rate_limits.window_start > :since "
    "THEN rate_limits.window_start ELSE excluded.window_start END "
    "RETURNING failures, window_start"
)
_LOCK_OUT = sql("UPDATE rate_limits SET locked_until = :until, failures = 0 WHERE key = :key")
_RESET = sql("DELETE FROM rate_limits WHERE key = :key")


class SqlReplayCache(Repository):
    async def first_use(self, key: str, *, expires_at: int, now: int) -> bool:
        row = await self._db.one(_FIRST_USE, {"key": key, "expires_at": expires_at, "now": now})
        return row is not None


class SqlRateLimitRepository(Repository):
    async def locked_until(self, key: str, *, now: int) -> int:
        row = await self._db.one(_LOCKED_UNTIL, {"key": key})
        until: int = row["locked_until"] if row is not None else 0
        return until if until > now else 0

    async def failure(self, key: str, *, now: int, limit: int, window: int, lockout: int) -> int:
        async with self._db.transaction() as tx:
            row = await tx.one(_COUNT, {"key": key, "hits": 1, "now": now, "since": now - window})
            assert row is not None  # an upsert with RETURNING always returns its row
            if row["failures"] < limit:
                return 0
            until = now + lockout
            await tx.run(_LOCK_OUT, {"key": key, "until": until})
            return until

    async def count(self, key: str, *, hits: int, now: int, window: int) -> tuple[int, int]:
        row = await self._db.one(
            _COUNT, {"key": key, "hits": hits, "now": now, "since": now - window}
        )
        assert row is not None  # an upsert with RETURNING always returns its row
        return int(row["failures"]), int(row["window_start"])

    async def reset(self, key: str) -> None:
        await self._db.run(_RESET, {"key": key})
