"""Purging what has expired, in small batches so serving is never held up by a long lock."""

from __future__ import annotations

from collections.abc import Mapping

from idgate.storage.sql.db import Statement, sql
from idgate.storage.sql.repositories import Repository, dump


def _purge(table: str, key: str, condition: str) -> Statement:
    return sql(
        f"DELETE FROM {table} WHERE {key} IN "
        f"(SELECT {key} FROM {table} WHERE {condition} LIMIT :batch)"
    )


# What each kind of row may be deleted after (see purge_expired for `:old`).
_PURGES = {
    "authorization_codes": _purge("authorization_codes", "code_hash", "expires_at <= :old"),
    "tokens": _purge("tokens", "token_hash", "expires_at <= :now"),
    "interactions": _purge("interactions", "id_hash", "expires_at <= :now"),
    "replay_cache": _purge("replay_cache", "key", "expires_at <= :now"),
    "rate_limits": _purge("rate_limits", "key", "locked_until <= :now AND window_start <= :old"),
    "initial_access_tokens": _purge("initial_access_tokens", "token_hash", "expires_at <= :now"),
    "pushed_requests": _purge("pushed_requests", "ref_hash", "expires_at <= :now"),
}
_GONE_SESSION_IDS = sql(
    "SELECT sid FROM sessions WHERE expires_at <= :old OR ended_at <= :old LIMIT :batch"
)


def _delete_sids(table: str) -> Statement:
    # The sids travel as one JSON array, which both databases can unpack.
    return sql(
        f"DELETE FROM {table} WHERE sid IN (SELECT value FROM json_each(:sids))",
        postgres=(
            f"DELETE FROM {table} WHERE sid IN "
            "(SELECT json_array_elements_text(CAST(:sids AS json)))"
        ),
    )


_DELETE_SESSION_CLIENTS = _delete_sids("session_clients")
_DELETE_SESSIONS = _delete_sids("sessions")


class SqlMaintenance(Repository):
    async def purge_expired(
        self, *, now: int, retention: int, batch: int = 500
    ) -> Mapping[str, int]:
        """Delete one batch of each kind of expired row; the counts deleted.

        `retention` keeps expired codes and ended sessions a while longer: a code replayed
        soon after expiry is still recognised as a replay (and revokes its tokens).
        Rotated refresh tokens are kept until the family expires, for reuse detection.
        """
        params = {"now": now, "old": now - retention, "batch": batch}
        counts = {name: await self._db.run(purge, params) for name, purge in _PURGES.items()}
        async with self._db.transaction() as tx:
            sids = [row["sid"] for row in await tx.all(_GONE_SESSION_IDS, params)]
            if sids:
                await tx.run(_DELETE_SESSION_CLIENTS, {"sids": dump(sids)})
                await tx.run(_DELETE_SESSIONS, {"sids": dump(sids)})
        counts["sessions"] = len(sids)
        return counts
