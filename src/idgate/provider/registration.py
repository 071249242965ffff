"""Client registration: by the operator (CLI) and by clients themselves (RFC 7591 §3,
OpenID Connect Dynamic Client Registration 1.0 §3). Both go through one validation.

A dynamically registered client gets a registration access token (stored as a hash) for its
client configuration endpoint, `/register/{client_id}` (RFC 7592 §2): read, update, delete.
Every failure to present the right token for an existing client gets the same 401, so the
endpoint does not reveal which client_ids exist (SECURITY.md DCR-10).

Registrations and configuration updates are rate-limited per client IP, and optionally over all
IPs together (`registration_rate_limit`, `registration_global_rate_limit`; SECURITY.md DCR-11):
each may fetch a `sector_identifier_uri` and adds a client row, so a flood must stop early.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from idgate.clock import Clock
from idgate.config import Settings
from idgate.crypto.random import constant_time_equals, new_secret, secret_hash
from idgate.protocol.clients import Client, parse_client_metadata
from idgate.protocol.errors import InvalidClientMetadata, InvalidToken
from idgate.protocol.registration import OPERATOR_ONLY, SERVER_ASSIGNED, update_document
from idgate.provider.clients import ClientService, NewClient
from idgate.provider.keys import KeyManager
from idgate.provider.rate_limits import Limit, RequestLimiter
from idgate.storage.base import InitialAccessTokenRepository, RegistrationAccessTokenRepository

# Metadata a client may not grant itself, and values only the server assigns (RFC 7591 §3.2.1).
_NOT_FROM_CLIENTS = OPERATOR_ONLY | SERVER_ASSIGNED
# client_ids are made by ClientService (32 hex digits) or the operator; bound what we look up.
MAX_CLIENT_ID_LENGTH = 255


@dataclass(frozen=True)
class Registered:
    """A client as its configuration endpoint shows it (RFC 7591 §3.2.1, RFC 7592 §3)."""

    client: Client
    registration_access_token: str
    registration_client_uri: str
    # Only in the answer to the registration itself: shown once.
    client_secret: str | None = None

    def to_dict(self) -> dict[str, Any]:
        doc = NewClient(self.client, self.client_secret).to_dict()
        doc["registration_access_token"] = self.registration_access_token
        doc["registration_client_uri"] = self.registration_client_uri
        return doc


class RegistrationDisabled(Exception):
    """Dynamic registration is off (`registration = "off"`)."""


class RegistrationService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        clients: ClientService,
        keys: KeyManager,
        initial_tokens: InitialAccessTokenRepository,
        access_tokens: RegistrationAccessTokenRepository,
        limiter: RequestLimiter,
    ) -> None:
        self._settings = settings
        self._limiter = limiter
        self._clock = clock
        self._clients = clients
        self._keys = keys
        self._initial_tokens = initial_tokens
        self._access_tokens = access_tokens

    async def register_trusted(
        self, document: Mapping[str, Any], *, client_id: str | None = None
    ) -> NewClient:
        """Register on the operator's behalf: every metadata field is allowed."""
        await self._check_signing_algs(document)
        return await self._clients.register(document, client_id=client_id)

    async def _check_signing_algs(self, document: Mapping[str, Any]) -> None:
        """The algs the client asks us to sign with must have a key here."""
        metadata = parse_client_metadata(document)
        algs = (await self._keys.keyring()).algs()
        if metadata.id_token_signed_response_alg not in algs:
            raise InvalidClientMetadata(
                f"id_token_signed_response_alg {metadata.id_token_signed_response_alg} has no "
                f"signing key here (available: {', '.join(algs)}); add one with "
                "`idgate keys add`"
            )
        userinfo_alg = metadata.userinfo_signed_response_alg
        if userinfo_alg is not None and userinfo_alg not in algs:
            raise InvalidClientMetadata(
                f"userinfo_signed_response_alg {userinfo_alg} has no signing key here "
                f"(available: {', '.join(algs)}); add one with `idgate keys add`"
            )

    async def admit(self, client_ip: str) -> None:
        """Count one registration or update from `client_ip`: RegistrationDisabled when
        registration is off, TooManyRequests over a limit. Called before the body is read,
        so a refused flood costs no parsing, no validation and no fetch."""
        settings = self._settings
        if settings.registration == "off":
            raise RegistrationDisabled
        window = settings.registration_rate_window
        # Per IP first: a flood refused there does not eat into everyone's shared budget.
        for key, requests in (
            (f"register:ip:{client_ip}", settings.registration_rate_limit),
            ("register:all", settings.registration_global_rate_limit),
        ):
            await self._limiter.hit(
                key, Limit(requests, window), description="too many registrations"
            )

    async def register(self, document: Mapping[str, Any], *, bearer: str | None) -> Registered:
        """Dynamic registration under the configured policy (after `admit`)."""
        policy = self._settings.registration
        if policy == "off":
            raise RegistrationDisabled
        if policy == "token" and not await self._valid_initial_token(bearer):
            raise InvalidToken("a valid initial access token is required to register")
        if not isinstance(document, Mapping):
            raise InvalidClientMetadata("client metadata must be a JSON object")
        allowed = {k: v for k, v in document.items() if k not in _NOT_FROM_CLIENTS}
        created = await self.register_trusted(allowed)
        token = new_secret(32)
        client_id = created.client.client_id
        await self._access_tokens.put(client_id, secret_hash(token), now=self._clock.now())
        return Registered(
            created.client, token, self.configuration_uri(client_id), created.client_secret
        )

    def configuration_uri(self, client_id: str) -> str:
        return self._settings.endpoint(f"/register/{quote(client_id, safe='')}")

    # --- the client configuration endpoint (RFC 7592 §2) ----------------------------------

    async def read(self, client_id: str, *, bearer: str | None) -> Registered:
        """RFC 7592 §2.1. The answer carries the token the client presented: only its hash
        is stored, and it stays valid (no rotation, so a lost answer loses nothing)."""
        client, token = await self._authorized(client_id, bearer)
        return Registered(client, token, self.configuration_uri(client.client_id))

    async def update(
        self, client_id: str, document: Mapping[str, Any], *, bearer: str | None
    ) -> Registered:
        """RFC 7592 §2.2: the document replaces the client's metadata as a whole."""
        client, token = await self._authorized(client_id, bearer)
        if not isinstance(document, Mapping):
            raise InvalidClientMetadata("client metadata must be a JSON object")
        secret = document.get("client_secret")
        if secret is not None and (
            not isinstance(secret, str)
            or client.secret_hash is None
            or not constant_time_equals(secret_hash(secret), client.secret_hash)
        ):
            # RFC 7592 §2.2: a client_secret sent must match the current one.
            raise InvalidClientMetadata("client_secret does not match")
        replaced = update_document(
            document, client_id=client.client_id, current=client.metadata.to_dict()
        )
        await self._check_signing_algs(replaced)
        updated = await self._clients.replace(client, replaced)
        return Registered(updated, token, self.configuration_uri(client.client_id))

    async def delete(self, client_id: str, *, bearer: str | None) -> None:
        """RFC 7592 §2.3: the client, and with it every grant and token, is gone (token use
        looks the client up each time)."""
        client, _token = await self._authorized(client_id, bearer)
        await self._clients.remove(client.client_id)
        await self._access_tokens.remove(client.client_id)

    async def _authorized(self, client_id: str, bearer: str | None) -> tuple[Client, str]:
        denied = InvalidToken("the registration access token is not valid for this client")
        if not bearer or not client_id or len(client_id) > MAX_CLIENT_ID_LENGTH:
            raise denied
        stored = await self._access_tokens.hash_for(client_id)
        if stored is None or not constant_time_equals(secret_hash(bearer), stored):
            raise denied
        client = await self._clients.get(client_id)
        if client is None:
            # RFC 7592 §2.1: a token for a client that is gone is revoked.
            await self._access_tokens.remove(client_id)
            raise denied
        return client, bearer

    async def _valid_initial_token(self, bearer: str | None) -> bool:
        if not bearer:
            return False
        hashed = secret_hash(bearer)
        valid = await self._initial_tokens.is_valid(hashed, now=self._clock.now())
        # The lookup is by hash; compare again in constant time for good measure.
        return valid and constant_time_equals(hashed, secret_hash(bearer))

    async def issue_initial_access_token(self, ttl: int | None = None) -> str:
        token = new_secret(32)
        now = self._clock.now()
        await self._initial_tokens.add(
            secret_hash(token), now=now, expires_at=now + ttl if ttl else None
        )
        return token
