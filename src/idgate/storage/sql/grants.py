"""Repositories for authorization codes and tokens: single use by one atomic statement."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from idgate import json_codec
from idgate.storage.base import Redemption, StoredCode, StoredToken, TokenKind
from idgate.storage.sql.db import Row, Statement, sql
from idgate.storage.sql.repositories import StatementRepository, dump

_CODE_COLUMNS = "code_hash, client_id, data, created_at, expires_at, consumed_at"
_INSERT_CODE = sql(
    "INSERT INTO authorization_codes (code_hash, client_id, data, created_at, expires_at) "
    "VALUES (:code_hash, :client_id, :data, :created_at, :expires_at)"
)
_CONSUME_CODE = sql(
    "UPDATE authorization_codes SET consumed_at = :now "
    f"WHERE code_hash = :code_hash AND consumed_at IS NULL RETURNING {_CODE_COLUMNS}"
)
_CODE_SEEN = sql("SELECT 1 AS seen FROM authorization_codes WHERE code_hash = :code_hash")

_TOKEN_COLUMNS = (
    "token_hash, kind, client_id, subject, scope, family_id, data, created_at, "
    "expires_at, used_at, revoked_at"
)
_TOKEN_VALUES = (
    "(:token_hash{n}, :kind{n}, :client_id{n}, :subject{n}, :scope{n}, :family_id{n}, "
    ":data{n}, :created_at{n}, :expires_at{n}, :sid{n})"
)


def _insert_tokens(count: int) -> Statement:
    values = ", ".join(_TOKEN_VALUES.format(n=n) for n in range(count))
    return sql(
        "INSERT INTO tokens (token_hash, kind, client_id, subject, scope, family_id, data, "
        f"created_at, expires_at, sid) VALUES {values}"
    )


# A token response stores one or two tokens (access, and refresh): one statement each way.
_INSERT_TOKENS = {1: _insert_tokens(1), 2: _insert_tokens(2)}
_GET_TOKEN = sql(f"SELECT {_TOKEN_COLUMNS} FROM tokens WHERE token_hash = :token_hash")
_USE_REFRESH = sql(
    "UPDATE tokens SET used_at = :now WHERE token_hash = :token_hash AND kind = 'refresh' "
    "AND client_id = :client_id "
    "AND used_at IS NULL AND revoked_at IS NULL AND expires_at > :now "
    f"RETURNING {_TOKEN_COLUMNS}"
)
_REVOKE = "UPDATE tokens SET revoked_at = :now WHERE revoked_at IS NULL AND "
_REVOKE_TOKEN = sql(_REVOKE + "token_hash = :value")
_REVOKE_FAMILY = sql(_REVOKE + "family_id = :value")
# `scope` is space-separated: pad it so that the LIKE matches whole words only.
_REVOKE_SESSION_REFRESH = sql(
    _REVOKE + "sid = :value AND kind = 'refresh' "
    "AND ' ' || scope || ' ' NOT LIKE '% offline\\_access %' ESCAPE '\\'"
)


def _code(row: Row) -> StoredCode:
    return StoredCode(
        code_hash=row["code_hash"],
        client_id=row["client_id"],
        data=json_codec.loads(row["data"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        consumed_at=row["consumed_at"],
    )


def _token(row: Row) -> StoredToken:
    return StoredToken(
        token_hash=row["token_hash"],
        kind=cast(TokenKind, row["kind"]),
        client_id=row["client_id"],
        subject=row["subject"],
        scope=row["scope"],
        data=json_codec.loads(row["data"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        family_id=row["family_id"],
        used_at=row["used_at"],
        revoked_at=row["revoked_at"],
    )


def _sid_of(token: StoredToken) -> str | None:
    """The OP session a token belongs to, kept in a column so that logout can find it."""
    sid = token.data.get("sid")
    return sid if isinstance(sid, str) and len(sid) <= 64 else None


def _token_params(token: StoredToken, n: int) -> Mapping[str, Any]:
    return {
        f"token_hash{n}": token.token_hash,
        f"kind{n}": token.kind,
        f"client_id{n}": token.client_id,
        f"subject{n}": token.subject,
        f"scope{n}": token.scope,
        f"family_id{n}": token.family_id,
        f"data{n}": dump(dict(token.data)),
        f"created_at{n}": token.created_at,
        f"expires_at{n}": token.expires_at,
        f"sid{n}": _sid_of(token),
    }


class SqlCodeRepository(StatementRepository):
    async def add(self, code: StoredCode) -> None:
        await self._db.run(
            _INSERT_CODE,
            {
                "code_hash": code.code_hash,
                "client_id": code.client_id,
                "data": dump(dict(code.data)),
                "created_at": code.created_at,
                "expires_at": code.expires_at,
            },
        )

    async def redeem(self, code_hash: str, *, now: int) -> Redemption:
        row = await self._db.one(_CONSUME_CODE, {"code_hash": code_hash, "now": now})
        if row is not None:
            return Redemption(code=_code(row))
        seen = await self._db.one(_CODE_SEEN, {"code_hash": code_hash})
        return Redemption(code=None, replayed=seen is not None)


class SqlTokenRepository(StatementRepository):
    async def add(self, token: StoredToken) -> None:
        await self.add_all(token)

    async def add_all(self, *tokens: StoredToken) -> None:
        """Store the tokens of one response with one statement."""
        if not tokens:
            return
        params: dict[str, Any] = {}
        for n, token in enumerate(tokens):
            params.update(_token_params(token, n))
        statement = _INSERT_TOKENS.get(len(tokens)) or _insert_tokens(len(tokens))
        await self._db.run(statement, params)

    async def get(self, token_hash: str) -> StoredToken | None:
        row = await self._db.one(_GET_TOKEN, {"token_hash": token_hash})
        return None if row is None else _token(row)

    async def use_refresh(self, token_hash: str, *, client_id: str, now: int) -> StoredToken | None:
        row = await self._db.one(
            _USE_REFRESH, {"token_hash": token_hash, "client_id": client_id, "now": now}
        )
        return None if row is None else _token(row)

    async def revoke(self, token_hash: str, *, now: int) -> bool:
        return await self._db.run(_REVOKE_TOKEN, {"value": token_hash, "now": now}) == 1

    async def revoke_family(self, family_id: str, *, now: int) -> int:
        return await self._db.run(_REVOKE_FAMILY, {"value": family_id, "now": now})

    async def revoke_session_refresh_tokens(self, sid: str, *, now: int) -> int:
        return await self._db.run(_REVOKE_SESSION_REFRESH, {"value": sid, "now": now})
