"""Registration access tokens (RFC 7592 §3), one per client, stored as hashes."""

from __future__ import annotations

from idgate.storage.sql.db import sql
from idgate.storage.sql.repositories import Repository

_PUT = sql(
    "INSERT INTO registration_access_tokens (client_id, token_hash, created_at) "
    "VALUES (:client_id, :token_hash, :now) "
    "ON CONFLICT (client_id) DO UPDATE SET token_hash = excluded.token_hash, "
    "created_at = excluded.created_at"
)
_GET = sql("SELECT token_hash FROM registration_access_tokens WHERE client_id = :client_id")
_REMOVE = sql("DELETE FROM registration_access_tokens WHERE client_id = :client_id")


class SqlRegistrationAccessTokenRepository(Repository):
    async def put(self, client_id: str, token_hash: str, *, now: int) -> None:
        await self._db.run(_PUT, {"client_id": client_id, "token_hash": token_hash, "now": now})

    async def hash_for(self, client_id: str) -> str | None:
        row = await self._db.one(_GET, {"client_id": client_id})
        return None if row is None else str(row["token_hash"])

    async def remove(self, client_id: str) -> bool:
        return await self._db.run(_REMOVE, {"client_id": client_id}) == 1
