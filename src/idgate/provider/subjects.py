"""The `sub` each client sees (OpenID Connect Core 1.0 §8): public, or pairwise per sector.

The pairwise salt is made once per installation: the first process to start stores a random
256-bit value (sealed with `secret_key`, like private keys) in the database, and every process
reads that one back. It never changes, and it must not: a new salt would give every End-User a
new `sub` at every pairwise client. It is kept in the database rather than derived from
`secret_key`, so that changing or rotating the secret key can never change a `sub`.
"""

from __future__ import annotations

import secrets

from idgate.clock import Clock
from idgate.crypto.sealing import KeySealer
from idgate.protocol.clients import Client
from idgate.protocol.subjects import subject_for
from idgate.storage.base import ProviderSecretRepository

PAIRWISE_SALT = "pairwise-salt"
_SALT_BYTES = 32


class SubjectService:
    def __init__(self, repository: ProviderSecretRepository, sealer: KeySealer, clock: Clock):
        self._repository = repository
        self._sealer = sealer
        self._clock = clock
        self._salt: bytes | None = None

    async def load(self) -> None:
        """Read (or, on the very first start, make) the pairwise salt. Called by Provider.open."""
        fresh = self._sealer.seal(secrets.token_bytes(_SALT_BYTES))
        stored = await self._repository.get_or_add(PAIRWISE_SALT, fresh, now=self._clock.now())
        self._salt = self._sealer.open(stored)

    def for_client(self, client: Client, local_subject: str) -> str:
        """The `sub` of the End-User `local_subject` as `client` knows it: in ID Tokens from
        both endpoints, at UserInfo, and wherever an ID Token's `sub` is compared."""
        if self._salt is None:
            raise RuntimeError("SubjectService.load() was not called")
        metadata = client.metadata
        return subject_for(
            local_subject,
            subject_type=metadata.subject_type,
            sector_identifier_uri=metadata.sector_identifier_uri,
            redirect_uris=metadata.redirect_uris,
            salt=self._salt,
        )
