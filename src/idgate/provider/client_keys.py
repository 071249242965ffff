"""Client public keys for private_key_jwt: registered inline (`jwks`) or fetched (`jwks_uri`).

Fetched key sets are cached per URI and refetched when a token names a `kid` the cached set
lacks (key rotation at the RP), at most once per `min_refetch` seconds per URI. Fetches follow
the one fetch policy (provider/outbound.py): public addresses only, bounded in time and size.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from idgate.clock import Clock
from idgate.protocol.clients import Client
from idgate.protocol.errors import InvalidClient
from idgate.provider.outbound import FetchFailed, fetch

MAX_JWKS_BYTES = 64 * 1024
_JWKS_TYPES = "application/jwk-set+json, application/json"


class ClientKeyResolver:
    def __init__(
        self, http: httpx.AsyncClient, clock: Clock, *, ttl: int = 300, min_refetch: int = 10
    ) -> None:
        self._http = http
        self._clock = clock
        self._ttl = ttl
        self._min_refetch = min_refetch
        self._cache: dict[str, tuple[int, Mapping[str, Any]]] = {}

    async def keys(self, client: Client, *, kid: str | None) -> Mapping[str, Any]:
        metadata = client.metadata
        if metadata.jwks is not None:
            return metadata.jwks
        if metadata.jwks_uri is None:
            raise InvalidClient("the client has no registered keys")
        now = self._clock.now()
        cached = self._cache.get(metadata.jwks_uri)
        if cached is not None:
            fetched_at, jwks = cached
            fresh = now - fetched_at < self._ttl
            knows_kid = kid is None or any(k.get("kid") == kid for k in jwks.get("keys", []))
            if fresh and (knows_kid or now - fetched_at < self._min_refetch):
                return jwks
        jwks = await self._fetch(metadata.jwks_uri)
        self._cache[metadata.jwks_uri] = (now, jwks)
        return jwks

    async def _fetch(self, uri: str) -> Mapping[str, Any]:
        try:
            body = await fetch(self._http, uri, max_bytes=MAX_JWKS_BYTES, accept=_JWKS_TYPES)
        except FetchFailed:
            raise InvalidClient("the client's jwks_uri could not be fetched") from None
        try:
            jwks = json.loads(body)
        except ValueError:
            raise InvalidClient("the client's jwks_uri is not a JWK Set") from None
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise InvalidClient("the client's jwks_uri is not a JWK Set")
        return jwks
