"""Pushed authorization requests (RFC 9126): stored by the hash of their reference, consumed
by one atomic DELETE … RETURNING so that each is used once across processes."""

from __future__ import annotations

import json
from collections.abc import Mapping

from sqlalchemy import BigInteger, Column, Index, String, Table, Text, delete, insert

from idgate.storage.sql.errors import translate_errors
from idgate.storage.sql.repositories import Repository, dump
from idgate.storage.sql.schema import HASH, metadata

pushed_requests = Table(
    "pushed_requests",
    metadata,
    Column("ref_hash", HASH, primary_key=True),
    Column("client_id", String(255), nullable=False),
    Column("params", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_pushed_requests_expires_at", "expires_at"),
)


class SqlPushedRequestRepository(Repository):
    async def add(
        self,
        ref_hash: str,
        *,
        client_id: str,
        params: Mapping[str, str],
        now: int,
        expires_at: int,
    ) -> None:
        async with translate_errors(), self._engine.begin() as conn:
            await conn.execute(
                insert(pushed_requests).values(
                    ref_hash=ref_hash,
                    client_id=client_id,
                    params=dump(dict(params)),
                    created_at=now,
                    expires_at=expires_at,
                )
            )

    async def consume(self, ref_hash: str, *, client_id: str, now: int) -> Mapping[str, str] | None:
        table = pushed_requests
        statement = (
            delete(table)
            .where(
                table.c.ref_hash == ref_hash,
                table.c.client_id == client_id,
                table.c.expires_at > now,
            )
            .returning(table.c.params)
        )
        async with translate_errors(), self._engine.begin() as conn:
            row = (await conn.execute(statement)).first()
        if row is None:
            return None
        params: dict[str, str] = json.loads(row.params)
        return params
