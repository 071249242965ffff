"""Pushed authorization requests (RFC 9126): stored by the hash of their reference, consumed
by one atomic DELETE … RETURNING so that each is used once across processes."""

from __future__ import annotations

import json
from collections.abc import Mapping

from idgate.storage.sql.db import sql
from idgate.storage.sql.repositories import Repository, dump

_ADD = sql(
    "INSERT INTO pushed_requests (ref_hash, client_id, params, created_at, expires_at) "
    "VALUES (:ref_hash, :client_id, :params, :now, :expires_at)"
)
_CONSUME = sql(
    "DELETE FROM pushed_requests WHERE ref_hash = :ref_hash AND client_id = :client_id "
    "AND expires_at > :now RETURNING params"
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
        values = {
            "ref_hash": ref_hash,
            "client_id": client_id,
            "params": dump(dict(params)),
            "now": now,
            "expires_at": expires_at,
        }
        await self._db.run(_ADD, values)

    async def consume(self, ref_hash: str, *, client_id: str, now: int) -> Mapping[str, str] | None:
        values = {"ref_hash": ref_hash, "client_id": client_id, "now": now}
        row = await self._db.one(_CONSUME, values)
        if row is None:
            return None
        params: dict[str, str] = json.loads(row["params"])
        return params
