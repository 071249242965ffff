"""Per-installation values (the pairwise subject salt): made once, then only read."""

from __future__ import annotations

from idgate.storage.base import StorageError
from idgate.storage.sql.db import sql
from idgate.storage.sql.repositories import Repository

_INSERT_IF_ABSENT = sql(
    "INSERT INTO provider_secrets (name, value, created_at) VALUES (:name, :value, :now) "
    "ON CONFLICT (name) DO NOTHING"
)
_GET = sql("SELECT value FROM provider_secrets WHERE name = :name")


class SqlProviderSecretRepository(Repository):
    async def get_or_add(self, name: str, value: str, *, now: int) -> str:
        await self._db.run(_INSERT_IF_ABSENT, {"name": name, "value": value, "now": now})
        row = await self._db.one(_GET, {"name": name})
        if row is None:
            raise StorageError(f"provider secret {name!r} was not stored")
        stored: str = row["value"]
        return stored
