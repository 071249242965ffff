"""Client management: one path for `idgate client add` and the registration endpoint."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from idgate.clock import Clock
from idgate.crypto.random import new_secret, secret_hash
from idgate.crypto.sealing import KeySealer
from idgate.protocol.clients import (
    SECRET_AUTH_METHODS,
    Client,
    ClientMetadata,
    parse_client_metadata,
)
from idgate.protocol.errors import InvalidClientMetadata
from idgate.provider.audit import AuditLog
from idgate.storage.base import ClientRepository


@dataclass(frozen=True)
class NewClient:
    client: Client
    # Shown once, at creation; only its hash is stored.
    client_secret: str | None

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "client_id": self.client.client_id,
            "client_id_issued_at": self.client.created_at,
        }
        if self.client_secret is not None:
            doc["client_secret"] = self.client_secret
            doc["client_secret_expires_at"] = 0
        doc.update(self.client.metadata.to_dict())
        return doc


class ClientService:
    def __init__(
        self,
        repository: ClientRepository,
        clock: Clock,
        sealer: KeySealer,
        *,
        verify_metadata: Callable[[ClientMetadata], Awaitable[None]] | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self._repository = repository
        self._audit = audit or AuditLog(clock)
        self._clock = clock
        self._sealer = sealer
        # Checks that need the network (the sector_identifier_uri document, provider/sectors.py).
        self._verify_metadata = verify_metadata

    async def register(
        self, metadata_document: Mapping[str, Any], *, client_id: str | None = None
    ) -> NewClient:
        metadata = parse_client_metadata(metadata_document)
        if self._verify_metadata is not None:
            await self._verify_metadata(metadata)
        return await self.add(metadata, client_id=client_id)

    async def add(self, metadata: ClientMetadata, *, client_id: str | None = None) -> NewClient:
        secret = (
            new_secret(48) if metadata.token_endpoint_auth_method in SECRET_AUTH_METHODS else None
        )
        client = Client(
            # Hex, so an id never starts with "-" (which a command line would take as an option).
            client_id=client_id or secrets.token_hex(16),
            metadata=metadata,
            secret_hash=secret_hash(secret) if secret else None,
            secret_sealed=(
                self._sealer.seal(secret.encode())
                if secret and metadata.token_endpoint_auth_method == "client_secret_jwt"
                else None
            ),
            created_at=self._clock.now(),
        )
        await self._repository.add(client)
        self._audit.client_created(client_id=client.client_id, client_name=metadata.client_name)
        return NewClient(client=client, client_secret=secret)

    async def replace(self, client: Client, metadata_document: Mapping[str, Any]) -> Client:
        """Register new metadata for an existing client (RFC 7592 §2.2): validated and checked
        like a new registration. The secret stays: a method that needs a secret the client
        does not have is refused."""
        metadata = parse_client_metadata(metadata_document)
        method = metadata.token_endpoint_auth_method
        if method in SECRET_AUTH_METHODS and (
            client.secret_hash is None
            or (method == "client_secret_jwt" and client.secret_sealed is None)
        ):
            raise InvalidClientMetadata(
                "token_endpoint_auth_method cannot change to one needing a secret the client "
                "was not issued; register a new client instead"
            )
        if self._verify_metadata is not None:
            await self._verify_metadata(metadata)
        if not await self._repository.update(client.client_id, metadata, now=self._clock.now()):
            raise InvalidClientMetadata("the client no longer exists")
        return Client(
            client_id=client.client_id,
            metadata=metadata,
            secret_hash=client.secret_hash,
            secret_sealed=client.secret_sealed,
            created_at=client.created_at,
        )

    async def get(self, client_id: str) -> Client | None:
        return await self._repository.get(client_id)

    async def list(self) -> Sequence[Client]:
        return await self._repository.list()

    async def remove(self, client_id: str) -> bool:
        removed = await self._repository.remove(client_id)
        if removed:
            self._audit.client_removed(client_id=client_id)
        return removed
