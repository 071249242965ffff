"""The replay cache and login rate limits: shared by every process through the database."""

from __future__ import annotations

from sqlalchemy import case, delete, select

from idgate.storage.sql.errors import translate_errors
from idgate.storage.sql.repositories import Repository
from idgate.storage.sql.schema import rate_limits, replay_cache
from idgate.storage.sql.upsert import insert_for


class SqlReplayCache(Repository):
    async def first_use(self, key: str, *, expires_at: int, now: int) -> bool:
        # One statement: insert, or take over an expired entry; a live entry returns no row.
        async with translate_errors(), self._engine.begin() as conn:
            statement = insert_for(conn, replay_cache).values(key=key, expires_at=expires_at)
            statement = statement.on_conflict_do_update(
                index_elements=[replay_cache.c.key],
                set_={"expires_at": expires_at},
                where=replay_cache.c.expires_at <= now,
            ).returning(replay_cache.c.key)
            return (await conn.execute(statement)).first() is not None


class SqlRateLimitRepository(Repository):
    async def locked_until(self, key: str, *, now: int) -> int:
        query = select(rate_limits.c.locked_until).where(rate_limits.c.key == key)
        async with translate_errors(), self._engine.connect() as conn:
            until = (await conn.execute(query)).scalar_one_or_none()
        return until if until is not None and until > now else 0

    async def failure(self, key: str, *, now: int, limit: int, window: int, lockout: int) -> int:
        table = rate_limits
        async with translate_errors(), self._engine.begin() as conn:
            statement = insert_for(conn, table).values(
                key=key, failures=1, window_start=now, locked_until=0
            )
            # A failure outside the window starts a new count; reaching the limit locks out.
            in_window = table.c.window_start > now - window
            statement = statement.on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "failures": case((in_window, table.c.failures + 1), else_=1),
                    "window_start": case((in_window, table.c.window_start), else_=now),
                },
            ).returning(table.c.failures)
            count = (await conn.execute(statement)).scalar_one()
            if count < limit:
                return 0
            until = now + lockout
            await conn.execute(
                table.update().where(table.c.key == key).values(locked_until=until, failures=0)
            )
            return until

    async def reset(self, key: str) -> None:
        async with translate_errors(), self._engine.begin() as conn:
            await conn.execute(delete(rate_limits).where(rate_limits.c.key == key))
