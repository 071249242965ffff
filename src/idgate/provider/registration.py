"""Client registration: by the operator (CLI) and by clients themselves (RFC 7591 §3,
OpenID Connect Dynamic Client Registration 1.0 §3). Both go through one validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from idgate.clock import Clock
from idgate.config import Settings
from idgate.crypto.random import constant_time_equals, new_secret, secret_hash
from idgate.protocol.clients import parse_client_metadata
from idgate.protocol.errors import InvalidClientMetadata, InvalidToken
from idgate.provider.clients import ClientService, NewClient
from idgate.provider.keys import KeyManager
from idgate.storage.base import InitialAccessTokenRepository

# Metadata a client may not grant itself, and values only the server assigns (RFC 7591 §3.2.1).
_OPERATOR_ONLY = frozenset(
    {
        "first_party",
        "resource_server",
        "client_id",
        "client_secret",
        "client_id_issued_at",
        "client_secret_expires_at",
    }
)


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
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._clients = clients
        self._keys = keys
        self._initial_tokens = initial_tokens

    async def register_trusted(
        self, document: Mapping[str, Any], *, client_id: str | None = None
    ) -> NewClient:
        """Register on the operator's behalf: every metadata field is allowed."""
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
        return await self._clients.register(document, client_id=client_id)

    async def register(self, document: Mapping[str, Any], *, bearer: str | None) -> NewClient:
        """Dynamic registration under the configured policy."""
        policy = self._settings.registration
        if policy == "off":
            raise RegistrationDisabled
        if policy == "token" and not await self._valid_initial_token(bearer):
            raise InvalidToken("a valid initial access token is required to register")
        if not isinstance(document, Mapping):
            raise InvalidClientMetadata("client metadata must be a JSON object")
        allowed = {k: v for k, v in document.items() if k not in _OPERATOR_ONLY}
        return await self.register_trusted(allowed)

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
