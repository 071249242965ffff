"""Registration access tokens (RFC 7592 §3), one per client, stored as hashes."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table, delete, select

from idgate.storage.sql.errors import translate_errors
from idgate.storage.sql.repositories import Repository
from idgate.storage.sql.schema import HASH, metadata
from idgate.storage.sql.upsert import insert_for

registration_access_tokens = Table(
    "registration_access_tokens",
    metadata,
    Column("client_id", String(255), primary_key=True),
    Column("token_hash", HASH, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)


class SqlRegistrationAccessTokenRepository(Repository):
    async def put(self, client_id: str, token_hash: str, *, now: int) -> None:
        table = registration_access_tokens
        async with translate_errors(), self._engine.begin() as conn:
            await conn.execute(
                insert_for(conn, table)
                .values(client_id=client_id, token_hash=token_hash, created_at=now)
                .on_conflict_do_update(
                    index_elements=[table.c.client_id],
                    set_={"token_hash": token_hash, "created_at": now},
                )
            )

    async def hash_for(self, client_id: str) -> str | None:
        table = registration_access_tokens
        query = select(table.c.token_hash).where(table.c.client_id == client_id)
        async with translate_errors(), self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else str(row.token_hash)

    async def remove(self, client_id: str) -> bool:
        table = registration_access_tokens
        async with translate_errors(), self._engine.begin() as conn:
            result = await conn.execute(delete(table).where(table.c.client_id == client_id))
        return result.rowcount == 1
