"""Initial access tokens for dynamic registration (stored as hashes)."""

from __future__ import annotations

from idgate.storage.sql.db import sql
from idgate.storage.sql.repositories import Repository

_INSERT = sql(
    "INSERT INTO initial_access_tokens (token_hash, created_at, expires_at) "
    "VALUES (:token_hash, :now, :expires_at)"
)
_VALID = sql(
    "SELECT 1 AS valid FROM initial_access_tokens WHERE token_hash = :token_hash "
    "AND (expires_at IS NULL OR expires_at > :now)"
)


class SqlInitialAccessTokenRepository(Repository):
    async def add(self, token_hash: str, *, now: int, expires_at: int | None) -> None:
        params = {"token_hash": token_hash, "now": now, "expires_at": expires_at}
        await self._db.run(_INSERT, params)

    async def is_valid(self, token_hash: str, *, now: int) -> bool:
        return await self._db.one(_VALID, {"token_hash": token_hash, "now": now}) is not None
