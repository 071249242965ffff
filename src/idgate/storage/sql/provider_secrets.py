"""Per-installation values (the pairwise subject salt): made once, then only read."""

from __future__ import annotations

from sqlalchemy import select

from idgate.storage.base import StorageError
from idgate.storage.sql.errors import translate_errors
from idgate.storage.sql.repositories import Repository
from idgate.storage.sql.schema import provider_secrets
from idgate.storage.sql.upsert import insert_for


class SqlProviderSecretRepository(Repository):
    async def get_or_add(self, name: str, value: str, *, now: int) -> str:
        table = provider_secrets
        async with translate_errors(), self._engine.begin() as conn:
            await conn.execute(
                insert_for(conn, table)
                .values(name=name, value=value, created_at=now)
                .on_conflict_do_nothing(index_elements=[table.c.name])
            )
            row = (await conn.execute(select(table.c.value).where(table.c.name == name))).first()
        if row is None:
            raise StorageError(f"provider secret {name!r} was not stored")
        stored: str = row.value
        return stored
