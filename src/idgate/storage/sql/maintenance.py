"""Purging what has expired, in small batches so serving is never held up by a long lock."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import ColumnElement, Table, delete, or_, select

from idgate.storage.sql.errors import translate_errors
from idgate.storage.sql.repositories import Repository
from idgate.storage.sql.schema import (
    authorization_codes,
    initial_access_tokens,
    interactions,
    rate_limits,
    replay_cache,
    session_clients,
    sessions,
    tokens,
)


class SqlMaintenance(Repository):
    async def _purge(
        self, table: Table, key: str, condition: ColumnElement[bool], batch: int
    ) -> int:
        column = table.c[key]
        doomed = select(column).where(condition).limit(batch).scalar_subquery()
        async with translate_errors(), self._engine.begin() as conn:
            return (await conn.execute(delete(table).where(column.in_(doomed)))).rowcount

    async def purge_expired(
        self, *, now: int, retention: int, batch: int = 500
    ) -> Mapping[str, int]:
        """Delete one batch of each kind of expired row; the counts deleted.

        `retention` keeps expired codes and ended sessions a while longer: a code replayed
        soon after expiry is still recognised as a replay (and revokes its tokens).
        Rotated refresh tokens are kept until the family expires, for reuse detection.
        """
        old = now - retention
        ended = or_(sessions.c.expires_at <= old, sessions.c.ended_at <= old)
        counts = {
            "authorization_codes": await self._purge(
                authorization_codes, "code_hash", authorization_codes.c.expires_at <= old, batch
            ),
            "tokens": await self._purge(tokens, "token_hash", tokens.c.expires_at <= now, batch),
            "interactions": await self._purge(
                interactions, "id_hash", interactions.c.expires_at <= now, batch
            ),
            "replay_cache": await self._purge(
                replay_cache, "key", replay_cache.c.expires_at <= now, batch
            ),
            "rate_limits": await self._purge(
                rate_limits,
                "key",
                (rate_limits.c.locked_until <= now) & (rate_limits.c.window_start <= old),
                batch,
            ),
            "initial_access_tokens": await self._purge(
                initial_access_tokens,
                "token_hash",
                initial_access_tokens.c.expires_at <= now,
                batch,
            ),
        }
        gone_sessions = select(sessions.c.sid).where(ended).limit(batch)
        async with translate_errors(), self._engine.begin() as conn:
            sids = list((await conn.execute(gone_sessions)).scalars())
            if sids:
                await conn.execute(delete(session_clients).where(session_clients.c.sid.in_(sids)))
                await conn.execute(delete(sessions).where(sessions.c.sid.in_(sids)))
        counts["sessions"] = len(sids)
        return counts
