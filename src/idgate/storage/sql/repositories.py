"""Repositories for clients, accounts and signing keys."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from idgate import json_codec
from idgate.protocol.clients import Client, ClientMetadata, parse_client_metadata
from idgate.storage.base import Account, AlreadyExists, KeyState, StoredKey
from idgate.storage.sql.db import Conflict, Database, Executor, Row, sql


def dump(value: Any) -> str:
    return json_codec.dumps_sorted(value)


class Repository:
    def __init__(self, db: Database) -> None:
        self._db = db


class StatementRepository:
    """A repository that only runs statements, so it works inside a transaction too."""

    def __init__(self, db: Executor) -> None:
        self._db = db


_CLIENT_COLUMNS = "client_id, secret_hash, secret_sealed, metadata, created_at"
_INSERT_CLIENT = sql(
    "INSERT INTO clients (client_id, secret_hash, secret_sealed, metadata, created_at, "
    "updated_at) VALUES (:client_id, :secret_hash, :secret_sealed, :metadata, :created_at, "
    ":created_at)"
)
_GET_CLIENT = sql(f"SELECT {_CLIENT_COLUMNS} FROM clients WHERE client_id = :client_id")
_LIST_CLIENTS = sql(f"SELECT {_CLIENT_COLUMNS} FROM clients ORDER BY created_at, client_id")
_UPDATE_CLIENT = sql(
    "UPDATE clients SET metadata = :metadata, updated_at = :now WHERE client_id = :client_id"
)
_DELETE_CLIENT = sql("DELETE FROM clients WHERE client_id = :client_id")


# Parsed metadata by its stored text: a client is read on nearly every request, and parsing
# its metadata costs more than reading the row. Keyed by the text, so a change is never missed.
_PARSED_METADATA_MAX = 10_000


class SqlClientRepository(Repository):
    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._parsed: dict[str, ClientMetadata] = {}

    def _metadata(self, text: str) -> ClientMetadata:
        metadata = self._parsed.get(text)
        if metadata is None:
            # Stored metadata passed validation when written; parsing again keeps one path.
            metadata = parse_client_metadata(json_codec.loads(text))
            if len(self._parsed) >= _PARSED_METADATA_MAX:
                self._parsed.clear()
            self._parsed[text] = metadata
        return metadata

    def _client(self, row: Row) -> Client:
        return Client(
            client_id=row["client_id"],
            metadata=self._metadata(row["metadata"]),
            secret_hash=row["secret_hash"],
            secret_sealed=row["secret_sealed"],
            created_at=row["created_at"],
        )

    async def add(self, client: Client) -> None:
        try:
            await self._db.run(
                _INSERT_CLIENT,
                {
                    "client_id": client.client_id,
                    "secret_hash": client.secret_hash,
                    "secret_sealed": client.secret_sealed,
                    "metadata": dump(client.metadata.to_dict()),
                    "created_at": client.created_at,
                },
            )
        except Conflict:
            raise AlreadyExists(f"client {client.client_id!r} exists") from None

    async def get(self, client_id: str) -> Client | None:
        row = await self._db.one(_GET_CLIENT, {"client_id": client_id})
        return None if row is None else self._client(row)

    async def list(self) -> Sequence[Client]:
        return [self._client(row) for row in await self._db.all(_LIST_CLIENTS)]

    async def update(self, client_id: str, metadata: ClientMetadata, *, now: int) -> bool:
        changed = await self._db.run(
            _UPDATE_CLIENT,
            {"client_id": client_id, "metadata": dump(metadata.to_dict()), "now": now},
        )
        return changed == 1

    async def remove(self, client_id: str) -> bool:
        return await self._db.run(_DELETE_CLIENT, {"client_id": client_id}) == 1


_ACCOUNT_COLUMNS = "subject, username, password_hash, claims, disabled, created_at"
_INSERT_ACCOUNT = sql(
    f"INSERT INTO accounts ({_ACCOUNT_COLUMNS}) VALUES (:subject, :username, :password_hash, "
    ":claims, :disabled, :created_at)"
)
_ACCOUNT_BY_USERNAME = sql(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE username = :value")
_ACCOUNT_BY_SUBJECT = sql(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE subject = :value")
_LIST_ACCOUNTS = sql(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY username")
_SET_PASSWORD = sql("UPDATE accounts SET password_hash = :value WHERE username = :username")
_SET_DISABLED = sql("UPDATE accounts SET disabled = :value WHERE username = :username")
_SET_CLAIMS = sql("UPDATE accounts SET claims = :value WHERE username = :username")


class SqlAccountRepository(StatementRepository):
    @staticmethod
    def _account(row: Row) -> Account:
        return Account(
            subject=row["subject"],
            username=row["username"],
            password_hash=row["password_hash"],
            claims=json_codec.loads(row["claims"]),
            disabled=bool(row["disabled"]),
            created_at=row["created_at"],
        )

    async def add(self, account: Account) -> None:
        try:
            await self._db.run(
                _INSERT_ACCOUNT,
                {
                    "subject": account.subject,
                    "username": account.username,
                    "password_hash": account.password_hash,
                    "claims": dump(dict(account.claims)),
                    "disabled": account.disabled,
                    "created_at": account.created_at,
                },
            )
        except Conflict:
            raise AlreadyExists(f"user {account.username!r} exists") from None

    async def by_username(self, username: str) -> Account | None:
        row = await self._db.one(_ACCOUNT_BY_USERNAME, {"value": username})
        return None if row is None else self._account(row)

    async def by_subject(self, subject: str) -> Account | None:
        row = await self._db.one(_ACCOUNT_BY_SUBJECT, {"value": subject})
        return None if row is None else self._account(row)

    async def list(self) -> Sequence[Account]:
        return [self._account(row) for row in await self._db.all(_LIST_ACCOUNTS)]

    async def set_password(self, username: str, password_hash: str) -> bool:
        params = {"username": username, "value": password_hash}
        return await self._db.run(_SET_PASSWORD, params) == 1

    async def set_disabled(self, username: str, disabled: bool) -> bool:
        return await self._db.run(_SET_DISABLED, {"username": username, "value": disabled}) == 1

    async def set_claims(self, username: str, claims: Mapping[str, Any]) -> bool:
        params = {"username": username, "value": dump(dict(claims))}
        return await self._db.run(_SET_CLAIMS, params) == 1


_KEY_COLUMNS = "kid, alg, state, private_sealed, public_jwk, created_at, activated_at, retired_at"
_INSERT_KEY = sql(
    f"INSERT INTO signing_keys ({_KEY_COLUMNS}) VALUES (:kid, :alg, :state, :private_sealed, "
    ":public_jwk, :created_at, :activated_at, :retired_at)"
)
_LIST_KEYS = sql(f"SELECT {_KEY_COLUMNS} FROM signing_keys ORDER BY created_at, kid")
_SET_KEY_STATE = sql(
    "UPDATE signing_keys SET state = :state, "
    "activated_at = CASE WHEN CAST(:state AS VARCHAR(16)) = 'current' "
    "THEN CAST(:now AS BIGINT) ELSE activated_at END, "
    "retired_at = CASE WHEN CAST(:state AS VARCHAR(16)) = 'retired' "
    "THEN CAST(:now AS BIGINT) ELSE retired_at END "
    "WHERE kid = :kid"
)
_DELETE_KEY = sql("DELETE FROM signing_keys WHERE kid = :kid")
# The claim of a rotation: of the processes that read the same current key, one changes it.
_RETIRE_CURRENT_KEY = sql(
    "UPDATE signing_keys SET state = 'retired', retired_at = :now "
    "WHERE kid = :kid AND state = 'current'"
)
# Processes that raced on first start may have left more than one current key of an alg.
_RETIRE_OTHER_CURRENT_KEYS = sql(
    "UPDATE signing_keys SET state = 'retired', retired_at = :now "
    "WHERE alg = :alg AND state = 'current'"
)
_ACTIVATE_NEXT_KEY = sql(
    "UPDATE signing_keys SET state = 'current', activated_at = :now "
    "WHERE kid = :kid AND state = 'next'"
)
_DELETE_RETIRED_KEYS = sql(
    "DELETE FROM signing_keys WHERE state = 'retired' AND retired_at < :retired_before"
)


class _LostRotation(Exception):
    """Another process rotated first; the transaction is rolled back."""


def _key_params(key: StoredKey) -> dict[str, Any]:
    return {
        "kid": key.kid,
        "alg": key.alg,
        "state": key.state,
        "private_sealed": key.private_sealed,
        "public_jwk": dump(dict(key.public_jwk)),
        "created_at": key.created_at,
        "activated_at": key.activated_at,
        "retired_at": key.retired_at,
    }


class SqlKeyRepository(Repository):
    @staticmethod
    def _key(row: Row) -> StoredKey:
        return StoredKey(
            kid=row["kid"],
            alg=row["alg"],
            state=cast(KeyState, row["state"]),
            private_sealed=row["private_sealed"],
            public_jwk=json.loads(row["public_jwk"]),
            created_at=row["created_at"],
            activated_at=row["activated_at"],
            retired_at=row["retired_at"],
        )

    async def add(self, key: StoredKey) -> None:
        try:
            await self._db.run(_INSERT_KEY, _key_params(key))
        except Conflict:
            raise AlreadyExists(f"key {key.kid!r} exists") from None

    async def list(self) -> Sequence[StoredKey]:
        return [self._key(row) for row in await self._db.all(_LIST_KEYS)]

    async def set_state(self, kid: str, state: KeyState, *, now: int) -> bool:
        return await self._db.run(_SET_KEY_STATE, {"kid": kid, "state": state, "now": now}) == 1

    async def remove(self, kid: str) -> bool:
        return await self._db.run(_DELETE_KEY, {"kid": kid}) == 1

    async def promote(
        self,
        *,
        alg: str,
        current_kid: str | None,
        next_kid: str,
        fresh_next: StoredKey | None,
        now: int,
    ) -> bool:
        try:
            async with self._db.transaction() as tx:
                if current_kid is not None:
                    claimed = await tx.run(_RETIRE_CURRENT_KEY, {"kid": current_kid, "now": now})
                    if claimed != 1:
                        raise _LostRotation
                await tx.run(_RETIRE_OTHER_CURRENT_KEYS, {"alg": alg, "now": now})
                if await tx.run(_ACTIVATE_NEXT_KEY, {"kid": next_kid, "now": now}) != 1:
                    raise _LostRotation
                if fresh_next is not None:
                    await tx.run(_INSERT_KEY, _key_params(fresh_next))
        except _LostRotation:
            return False
        except Conflict:
            raise AlreadyExists("the fresh next key exists") from None
        return True

    async def remove_retired(self, *, retired_before: int) -> int:
        return await self._db.run(_DELETE_RETIRED_KEYS, {"retired_before": retired_before})
