"""Initial access tokens for dynamic registration (stored as hashes)."""

from __future__ import annotations

from sqlalchemy import insert, or_, select

from idgate.storage.sql.errors import translate_errors
from idgate.storage.sql.repositories import Repository
from idgate.storage.sql.schema import initial_access_tokens


class SqlInitialAccessTokenRepository(Repository):
    async def add(self, token_hash: str, *, now: int, expires_at: int | None) -> None:
        async with translate_errors(), self._engine.begin() as conn:
            await conn.execute(
                insert(initial_access_tokens).values(
                    token_hash=token_hash, created_at=now, expires_at=expires_at
                )
            )

    async def is_valid(self, token_hash: str, *, now: int) -> bool:
        table = initial_access_tokens
        query = select(table.c.token_hash).where(
            table.c.token_hash == token_hash,
            or_(table.c.expires_at.is_(None), table.c.expires_at > now),
        )
        async with translate_errors(), self._engine.connect() as conn:
            return (await conn.execute(query)).first() is not None
