"""Repositories for authorization codes and tokens: single use by one atomic statement."""

from __future__ import annotations

import json
from typing import Any, cast

from sqlalchemy import Row, insert, literal, select, update

from idgate.storage.base import Redemption, StoredCode, StoredToken, TokenKind
from idgate.storage.sql.errors import translate_errors
from idgate.storage.sql.repositories import Repository, dump
from idgate.storage.sql.schema import authorization_codes, tokens


def _code(row: Row[Any]) -> StoredCode:
    return StoredCode(
        code_hash=row.code_hash,
        client_id=row.client_id,
        data=json.loads(row.data),
        created_at=row.created_at,
        expires_at=row.expires_at,
        consumed_at=row.consumed_at,
    )


def _token(row: Row[Any]) -> StoredToken:
    return StoredToken(
        token_hash=row.token_hash,
        kind=cast(TokenKind, row.kind),
        client_id=row.client_id,
        subject=row.subject,
        scope=row.scope,
        data=json.loads(row.data),
        created_at=row.created_at,
        expires_at=row.expires_at,
        family_id=row.family_id,
        code_hash=row.code_hash,
        used_at=row.used_at,
        revoked_at=row.revoked_at,
    )


def _sid_of(token: StoredToken) -> str | None:
    """The OP session a token belongs to, kept in a column so that logout can find it."""
    sid = token.data.get("sid")
    return sid if isinstance(sid, str) and len(sid) <= 64 else None


class SqlCodeRepository(Repository):
    async def add(self, code: StoredCode) -> None:
        async with translate_errors(), self._engine.begin() as conn:
            await conn.execute(
                insert(authorization_codes).values(
                    code_hash=code.code_hash,
                    client_id=code.client_id,
                    data=dump(dict(code.data)),
                    created_at=code.created_at,
                    expires_at=code.expires_at,
                )
            )

    async def redeem(self, code_hash: str, *, now: int) -> Redemption:
        consume = (
            update(authorization_codes)
            .where(
                authorization_codes.c.code_hash == code_hash,
                authorization_codes.c.consumed_at.is_(None),
            )
            .values(consumed_at=now)
            .returning(*authorization_codes.c)
        )
        async with translate_errors(), self._engine.begin() as conn:
            row = (await conn.execute(consume)).first()
            if row is not None:
                return Redemption(code=_code(row))
            seen = await conn.execute(
                select(authorization_codes.c.code_hash).where(
                    authorization_codes.c.code_hash == code_hash
                )
            )
            return Redemption(code=None, replayed=seen.first() is not None)


class SqlTokenRepository(Repository):
    async def add(self, token: StoredToken) -> None:
        async with translate_errors(), self._engine.begin() as conn:
            await conn.execute(
                insert(tokens).values(
                    token_hash=token.token_hash,
                    kind=token.kind,
                    client_id=token.client_id,
                    subject=token.subject,
                    scope=token.scope,
                    family_id=token.family_id,
                    code_hash=token.code_hash,
                    data=dump(dict(token.data)),
                    created_at=token.created_at,
                    expires_at=token.expires_at,
                    sid=_sid_of(token),
                )
            )

    async def get(self, token_hash: str) -> StoredToken | None:
        async with translate_errors(), self._engine.connect() as conn:
            row = (
                await conn.execute(select(tokens).where(tokens.c.token_hash == token_hash))
            ).first()
        return None if row is None else _token(row)

    async def use_refresh(self, token_hash: str, *, now: int) -> StoredToken | None:
        statement = (
            update(tokens)
            .where(
                tokens.c.token_hash == token_hash,
                tokens.c.kind == "refresh",
                tokens.c.used_at.is_(None),
                tokens.c.revoked_at.is_(None),
                tokens.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(*tokens.c)
        )
        async with translate_errors(), self._engine.begin() as conn:
            row = (await conn.execute(statement)).first()
        return None if row is None else _token(row)

    async def _revoke_where(self, condition: Any, now: int) -> int:
        statement = (
            update(tokens).where(condition, tokens.c.revoked_at.is_(None)).values(revoked_at=now)
        )
        async with translate_errors(), self._engine.begin() as conn:
            return (await conn.execute(statement)).rowcount

    async def revoke(self, token_hash: str, *, now: int) -> bool:
        return await self._revoke_where(tokens.c.token_hash == token_hash, now) == 1

    async def revoke_family(self, family_id: str, *, now: int) -> int:
        return await self._revoke_where(tokens.c.family_id == family_id, now)

    async def revoke_from_code(self, code_hash: str, *, now: int) -> int:
        return await self._revoke_where(tokens.c.code_hash == code_hash, now)

    async def revoke_session_refresh_tokens(self, sid: str, *, now: int) -> int:
        # `scope` is space-separated: pad it so that the LIKE matches whole words only.
        words = literal(" ") + tokens.c.scope + literal(" ")
        return await self._revoke_where(
            (tokens.c.sid == sid)
            & (tokens.c.kind == "refresh")
            & words.not_like("% offline\\_access %", escape="\\"),
            now,
        )
