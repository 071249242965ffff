"""SqlStorage: the repositories over one engine, and opening it from a URL."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from idgate.storage.base import (
    AccountRepository,
    ClientRepository,
    CodeRepository,
    ConsentRepository,
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
from idgate.storage.sql.engine import create_engine, migrate
from idgate.storage.sql.errors import translate_errors
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

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.clients = SqlClientRepository(engine)
        self.accounts = SqlAccountRepository(engine)
        self.keys = SqlKeyRepository(engine)
        self.sessions = SqlSessionRepository(engine)
        self.interactions = SqlInteractionRepository(engine)
        self.consents = SqlConsentRepository(engine)
        self.codes = SqlCodeRepository(engine)
        self.tokens = SqlTokenRepository(engine)
        self.replay = SqlReplayCache(engine)
        self.rate_limits = SqlRateLimitRepository(engine)
        self.initial_access_tokens = SqlInitialAccessTokenRepository(engine)
        self.registration_access_tokens = SqlRegistrationAccessTokenRepository(engine)
        self.pushed_requests = SqlPushedRequestRepository(engine)
        self.maintenance = SqlMaintenance(engine)
        self.provider_secrets = SqlProviderSecretRepository(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def ping(self) -> None:
        async with translate_errors(), self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()


async def connect_storage(database_url: str, *, migrate_schema: bool = True) -> SqlStorage:
    """Open the database, migrating it to the newest schema unless told not to."""
    engine = create_engine(database_url)
    try:
        if migrate_schema:
            await migrate(engine)
        storage = SqlStorage(engine)
        await storage.ping()
    except BaseException:
        await engine.dispose()
        raise
    return storage
