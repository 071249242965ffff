"""The Provider: everything a request handler needs, built once by `Provider.open`."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from idgate.clock import Clock, SystemClock
from idgate.config import Settings
from idgate.crypto.passwords import PasswordHasher
from idgate.crypto.sealing import KeySealer
from idgate.provider.accounts import AccountService
from idgate.provider.audit import AuditLog
from idgate.provider.authorization import AuthorizationService
from idgate.provider.backchannel import BackchannelLogout
from idgate.provider.client_keys import ClientKeyResolver
from idgate.provider.clients import ClientService
from idgate.provider.introspection import IntrospectionService
from idgate.provider.key_timings import key_timings
from idgate.provider.keys import KeyManager
from idgate.provider.logout import LogoutService
from idgate.provider.outbound import outbound_client
from idgate.provider.par import PushedRequests
from idgate.provider.rate_limits import RequestLimiter
from idgate.provider.registration import RegistrationService
from idgate.provider.request_objects import RequestObjects
from idgate.provider.sectors import SectorDocuments
from idgate.provider.subjects import SubjectService
from idgate.provider.token_service import TokenService
from idgate.provider.tokens import TokenIssuer
from idgate.provider.userinfo import UserInfoService
from idgate.storage.sql import SqlStorage, connect_storage


@dataclass
class Provider:
    settings: Settings
    storage: SqlStorage
    clock: Clock
    keys: KeyManager
    passwords: PasswordHasher
    accounts: AccountService
    clients: ClientService
    tokens: TokenIssuer
    authorization: AuthorizationService
    pushed_requests: PushedRequests
    token_endpoint: TokenService
    registration: RegistrationService
    introspection: IntrospectionService
    subjects: SubjectService
    userinfo: UserInfoService
    http: httpx.AsyncClient
    logout_http: httpx.AsyncClient
    backchannel: BackchannelLogout
    logout: LogoutService
    audit: AuditLog

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        passwords: PasswordHasher | None = None,
        migrate: bool = True,
    ) -> Provider:
        """Connect to the database (migrating it), and make a signing key if there is none."""
        clock = clock or SystemClock()
        storage = await connect_storage(settings.database_url, migrate_schema=migrate)
        try:
            passwords = passwords or PasswordHasher()
            audit = AuditLog(clock)
            sealer = KeySealer(settings.secret_key)
            keys = KeyManager(storage.keys, sealer, clock, timings=key_timings(settings))
            accounts = AccountService(storage.accounts, passwords, clock)
            # Documents idgate fetches (jwks_uri, sector_identifier_uri, request_uri) follow
            # one fetch policy: see outbound.py.
            http = outbound_client(settings)
            # Back-Channel Logout posts to RPs keep the unguarded client they had (their
            # own issue decides whether the address rule applies to them too).
            logout_http = outbound_client(settings, guard_addresses=False)
            clients = ClientService(
                storage.clients,
                clock,
                sealer,
                verify_metadata=SectorDocuments(http).verify,
                audit=audit,
            )
            subjects = SubjectService(storage.provider_secrets, sealer, clock)
            tokens = TokenIssuer(settings, clock, keys, storage.codes, storage.tokens, subjects)
            client_keys = ClientKeyResolver(http, clock)
            # Request rates (registration, introspection), counted in the shared database.
            limiter = RequestLimiter(storage.rate_limits, clock)
            request_objects = RequestObjects(
                settings, clock, http, client_keys, storage.pushed_requests
            )
            token_endpoint = TokenService(
                settings, clock, storage, tokens, sealer, client_keys, audit=audit
            )
            # Back-Channel Logout deliveries: background tasks over the same outbound client.
            backchannel = BackchannelLogout(
                settings, clock, storage.sessions, keys, logout_http, tokens.subject
            )
            provider = cls(
                settings=settings,
                storage=storage,
                clock=clock,
                keys=keys,
                passwords=passwords,
                accounts=accounts,
                clients=clients,
                tokens=tokens,
                authorization=AuthorizationService(
                    settings,
                    clock,
                    storage,
                    keys,
                    accounts,
                    tokens,
                    request_objects,
                    audit=audit,
                ),
                pushed_requests=PushedRequests(
                    settings, clock, storage.pushed_requests, token_endpoint, request_objects
                ),
                token_endpoint=token_endpoint,
                introspection=IntrospectionService(
                    settings, clock, storage, token_endpoint, subjects, limiter, audit=audit
                ),
                subjects=subjects,
                userinfo=UserInfoService(settings, clock, storage, keys, subjects),
                backchannel=backchannel,
                logout=LogoutService(
                    settings, clock, storage, keys, tokens, backchannel, audit=audit
                ),
                audit=audit,
                http=http,
                logout_http=logout_http,
                registration=RegistrationService(
                    settings,
                    clock,
                    clients,
                    keys,
                    storage.initial_access_tokens,
                    storage.registration_access_tokens,
                    limiter,
                ),
            )
            await keys.ensure_signing_key()
            await keys.keyring()
            await subjects.load()
        except BaseException:
            await storage.close()
            raise
        return provider

    async def close(self) -> None:
        await self.backchannel.close()
        await self.http.aclose()
        await self.logout_http.aclose()
        await self.storage.close()
