"""Repositories for clients, accounts and signing keys."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from idgate.protocol.clients import Client, ClientMetadata, parse_client_metadata
from idgate.storage.base import Account, AlreadyExists, KeyState, StoredKey
from idgate.storage.sql.errors import translate_errors
from idgate.storage.sql.schema import accounts, clients, signing_keys


def dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


class Repository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine


class SqlClientRepository(Repository):
    @staticmethod
    def _client(row: Row[Any]) -> Client:
        # Stored metadata passed validation when written; parsing again keeps one code path.
        return Client(
            client_id=row.client_id,
            metadata=parse_client_metadata(json.loads(row.metadata)),
            secret_hash=row.secret_hash,
            secret_sealed=row.secret_sealed,
            created_at=row.created_at,
        )

    async def add(self, client: Client) -> None:
        row = {
            "client_id": client.client_id,
            "secret_hash": client.secret_hash,
            "secret_sealed": client.secret_sealed,
            "metadata": dump(client.metadata.to_dict()),
            "created_at": client.created_at,
            "updated_at": client.created_at,
        }
        try:
            async with translate_errors(), self._engine.begin() as conn:
                await conn.execute(insert(clients).values(**row))
        except IntegrityError:
            raise AlreadyExists(f"client {client.client_id!r} exists") from None

    async def get(self, client_id: str) -> Client | None:
        async with translate_errors(), self._engine.connect() as conn:
            result = await conn.execute(select(clients).where(clients.c.client_id == client_id))
            row = result.first()
        return None if row is None else self._client(row)

    async def list(self) -> Sequence[Client]:
        async with translate_errors(), self._engine.connect() as conn:
            result = await conn.execute(select(clients).order_by(clients.c.created_at))
            return [self._client(row) for row in result]

    async def update(self, client_id: str, metadata: ClientMetadata, *, now: int) -> bool:
        async with translate_errors(), self._engine.begin() as conn:
            result = await conn.execute(
                update(clients)
                .where(clients.c.client_id == client_id)
                .values(metadata=dump(metadata.to_dict()), updated_at=now)
            )
        return result.rowcount == 1

    async def remove(self, client_id: str) -> bool:
        async with translate_errors(), self._engine.begin() as conn:
            result = await conn.execute(delete(clients).where(clients.c.client_id == client_id))
        return result.rowcount == 1


class SqlAccountRepository(Repository):
    @staticmethod
    def _account(row: Row[Any]) -> Account:
        return Account(
            subject=row.subject,
            username=row.username,
            password_hash=row.password_hash,
            claims=json.loads(row.claims),
            disabled=row.disabled,
            created_at=row.created_at,
        )

    async def add(self, account: Account) -> None:
        try:
            async with translate_errors(), self._engine.begin() as conn:
                await conn.execute(
                    insert(accounts).values(
                        subject=account.subject,
                        username=account.username,
                        password_hash=account.password_hash,
                        claims=dump(dict(account.claims)),
                        disabled=account.disabled,
                        created_at=account.created_at,
                    )
                )
        except IntegrityError:
            raise AlreadyExists(f"user {account.username!r} exists") from None

    async def _one(self, column: Any, value: str) -> Account | None:
        async with translate_errors(), self._engine.connect() as conn:
            row = (await conn.execute(select(accounts).where(column == value))).first()
        return None if row is None else self._account(row)

    async def by_username(self, username: str) -> Account | None:
        return await self._one(accounts.c.username, username)

    async def by_subject(self, subject: str) -> Account | None:
        return await self._one(accounts.c.subject, subject)

    async def list(self) -> Sequence[Account]:
        async with translate_errors(), self._engine.connect() as conn:
            result = await conn.execute(select(accounts).order_by(accounts.c.username))
            return [self._account(row) for row in result]

    async def _set(self, username: str, **values: Any) -> bool:
        async with translate_errors(), self._engine.begin() as conn:
            result = await conn.execute(
                update(accounts).where(accounts.c.username == username).values(**values)
            )
        return result.rowcount == 1

    async def set_password(self, username: str, password_hash: str) -> bool:
        return await self._set(username, password_hash=password_hash)

    async def set_disabled(self, username: str, disabled: bool) -> bool:
        return await self._set(username, disabled=disabled)

    async def set_claims(self, username: str, claims: Mapping[str, Any]) -> bool:
        return await self._set(username, claims=dump(dict(claims)))


class SqlKeyRepository(Repository):
    @staticmethod
    def _key(row: Row[Any]) -> StoredKey:
        return StoredKey(
            kid=row.kid,
            alg=row.alg,
            state=cast(KeyState, row.state),
            private_sealed=row.private_sealed,
            public_jwk=json.loads(row.public_jwk),
            created_at=row.created_at,
            activated_at=row.activated_at,
            retired_at=row.retired_at,
        )

    async def add(self, key: StoredKey) -> None:
        try:
            async with translate_errors(), self._engine.begin() as conn:
                await conn.execute(
                    insert(signing_keys).values(
                        kid=key.kid,
                        alg=key.alg,
                        state=key.state,
                        private_sealed=key.private_sealed,
                        public_jwk=dump(dict(key.public_jwk)),
                        created_at=key.created_at,
                        activated_at=key.activated_at,
                        retired_at=key.retired_at,
                    )
                )
        except IntegrityError:
            raise AlreadyExists(f"key {key.kid!r} exists") from None

    async def list(self) -> Sequence[StoredKey]:
        async with translate_errors(), self._engine.connect() as conn:
            result = await conn.execute(
                select(signing_keys).order_by(signing_keys.c.created_at, signing_keys.c.kid)
            )
            return [self._key(row) for row in result]

    async def set_state(self, kid: str, state: KeyState, *, now: int) -> bool:
        values: dict[str, Any] = {"state": state}
        if state == "current":
            values["activated_at"] = now
        elif state == "retired":
            values["retired_at"] = now
        async with translate_errors(), self._engine.begin() as conn:
            result = await conn.execute(
                update(signing_keys).where(signing_keys.c.kid == kid).values(**values)
            )
        return result.rowcount == 1

    async def remove(self, kid: str) -> bool:
        async with translate_errors(), self._engine.begin() as conn:
            result = await conn.execute(delete(signing_keys).where(signing_keys.c.kid == kid))
        return result.rowcount == 1
