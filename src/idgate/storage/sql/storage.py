"""SqlStorage: the repositories over one database, and opening it from a URL."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from idgate.storage.base import (
    AccountRepository,
    ClientRepository,
    CodeRepository,
    ConsentRepository,
    GrantWrites,
    InitialAccessTokenRepository,
    InteractionRepository,
    KeyRepository,
    ProviderSecretRepository,
    PushedRequestRepository,
    RateLimitRepository,
    RegistrationAccessTokenRepository,
    ReplayCache,
    SessionRepository,
    TokenRepository,
)
from idgate.storage.sql.db import Database, sql
from idgate.storage.sql.engine import create_engine, migrate, open_database
from idgate.storage.sql.grants import SqlCodeRepository, SqlTokenRepository
from idgate.storage.sql.limits import SqlRateLimitRepository, SqlReplayCache
from idgate.storage.sql.maintenance import SqlMaintenance
from idgate.storage.sql.provider_secrets import SqlProviderSecretRepository
from idgate.storage.sql.pushed_requests import SqlPushedRequestRepository
from idgate.storage.sql.registration import SqlInitialAccessTokenRepository
from idgate.storage.sql.registration_access import SqlRegistrationAccessTokenRepository
from idgate.storage.sql.repositories import (
    SqlAccountRepository,
    SqlClientRepository,
    SqlKeyRepository,
)
from idgate.storage.sql.sessions import (
    SqlConsentRepository,
    SqlInteractionRepository,
    SqlSessionRepository,
)

_PING = sql("SELECT 1 AS alive")


@dataclass(frozen=True, slots=True)
class _GrantWrites:
    codes: CodeRepository
    tokens: TokenRepository
    accounts: AccountRepository


class _GrantTransaction:
    """`SqlStorage.grant_transaction`: the repositories over the transaction's executor (on
    SQLite that is the database itself, so the storage's own repositories serve)."""

    __slots__ = ("_db", "_own", "_tx")

    def __init__(self, db: Database, own: _GrantWrites) -> None:
        self._db = db
        self._own = own
        self._tx = db.transaction()

    async def __aenter__(self) -> _GrantWrites:
        executor = await self._tx.__aenter__()
        if executor is self._db:
            return self._own
        return _GrantWrites(
            SqlCodeRepository(executor),
            SqlTokenRepository(executor),
            SqlAccountRepository(executor),
        )

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> bool | None:
        return await self._tx.__aexit__(exc_type, exc, tb)


class SqlStorage:
    clients: ClientRepository
    accounts: AccountRepository
    keys: KeyRepository
    sessions: SessionRepository
    interactions: InteractionRepository
    consents: ConsentRepository
    codes: CodeRepository
    tokens: TokenRepository
    replay: ReplayCache
    rate_limits: RateLimitRepository
    initial_access_tokens: InitialAccessTokenRepository
    registration_access_tokens: RegistrationAccessTokenRepository
    pushed_requests: PushedRequestRepository
    provider_secrets: ProviderSecretRepository

    def __init__(self, db: Database) -> None:
        self.db = db
        self.clients = SqlClientRepository(db)
        self.accounts = SqlAccountRepository(db)
        self.keys = SqlKeyRepository(db)
        self.sessions = SqlSessionRepository(db)
        self.interactions = SqlInteractionRepository(db)
        self.consents = SqlConsentRepository(db)
        self.codes = SqlCodeRepository(db)
        self.tokens = SqlTokenRepository(db)
        self.replay = SqlReplayCache(db)
        self.rate_limits = SqlRateLimitRepository(db)
        self.initial_access_tokens = SqlInitialAccessTokenRepository(db)
        self.registration_access_tokens = SqlRegistrationAccessTokenRepository(db)
        self.pushed_requests = SqlPushedRequestRepository(db)
        self.maintenance = SqlMaintenance(db)
        self.provider_secrets = SqlProviderSecretRepository(db)
        self._own_grant_writes = _GrantWrites(self.codes, self.tokens, self.accounts)

    @property
    def dialect(self) -> str:
        return self.db.dialect

    def grant_transaction(self) -> contextlib.AbstractAsyncContextManager[GrantWrites]:
        return _GrantTransaction(self.db, self._own_grant_writes)

    async def ping(self) -> None:
        await self.db.one(_PING)

    async def close(self) -> None:
        await self.db.close()


async def connect_storage(database_url: str, *, migrate_schema: bool = True) -> SqlStorage:
    """Open the database, migrating it to the newest schema unless told not to."""
    if migrate_schema:
        engine = create_engine(database_url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()
    storage = SqlStorage(await open_database(database_url))
    try:
        await storage.ping()
    except BaseException:
        await storage.close()
        raise
    return storage
