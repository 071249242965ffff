"""Client public keys for private_key_jwt and signed request objects: registered inline
(`jwks`) or fetched (`jwks_uri`).

A fetched key set is kept for `ttl` seconds (60: OIDC Core §10.1.1 has RPs rotate by
publishing new keys there, so a removed key must not stay trusted long). A `kid` the kept set
lacks means the RP rotated: the set is fetched again at once, but never more often than every
`min_refetch` seconds per URI, and one fetch at a time per URI, whether it succeeds or fails,
so a flood of made-up `kid`s cannot make idgate hammer the RP (SECURITY.md TOK-07). A kid still
unknown after that fails the signature check: invalid_client. Fetches follow the one fetch
policy (provider/outbound.py): public addresses only, bounded in time and size.

The cache is per process: N processes fetch a URI at most N times per `min_refetch`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from idgate.clock import Clock
from idgate.protocol.clients import Client
from idgate.protocol.errors import InvalidClient
from idgate.provider.outbound import FetchFailed, fetch

MAX_JWKS_BYTES = 64 * 1024
_JWKS_TYPES = "application/jwk-set+json, application/json"
_UNREACHABLE = "the client's jwks_uri could not be fetched"


@dataclass
class _Fetched:
    attempted_at: int  # the last fetch, successful or not
    fetched_at: int = 0  # the last successful one
    jwks: Mapping[str, Any] | None = None

    def has(self, kid: str | None) -> bool:
        keys = self.jwks.get("keys", []) if self.jwks is not None else []
        return kid is None or any(isinstance(k, dict) and k.get("kid") == kid for k in keys)


class ClientKeyResolver:
    def __init__(
        self, http: httpx.AsyncClient, clock: Clock, *, ttl: int = 60, min_refetch: int = 10
    ) -> None:
        self._http = http
        self._clock = clock
        self._ttl = ttl
        self._min_refetch = min_refetch
        self._cache: dict[str, _Fetched] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def keys(self, client: Client, *, kid: str | None) -> Mapping[str, Any]:
        metadata = client.metadata
        if metadata.jwks is not None:
            return metadata.jwks
        uri = metadata.jwks_uri
        if uri is None:
            raise InvalidClient("the client has no registered keys")
        # Requests arriving while a fetch runs wait for it and use its result.
        async with self._locks.setdefault(uri, asyncio.Lock()):
            return await self._current(uri, kid)

    async def _current(self, uri: str, kid: str | None) -> Mapping[str, Any]:
        now = self._clock.now()
        cached = self._cache.get(uri)
        fresh = None
        if cached is not None and cached.jwks is not None and now - cached.fetched_at < self._ttl:
            fresh = cached.jwks
        if fresh is not None and cached is not None and cached.has(kid):
            return fresh
        if cached is not None and now - cached.attempted_at < self._min_refetch:
            # Asked too recently to ask again: the kept set (which lacks the kid, so the
            # signature check fails), or the failure of the last fetch.
            if fresh is not None:
                return fresh
            raise InvalidClient(_UNREACHABLE)
        entry = cached or _Fetched(attempted_at=now)
        entry.attempted_at = now
        self._cache[uri] = entry
        jwks = await self._fetch(uri)
        entry.fetched_at, entry.jwks = now, jwks
        return jwks

    async def _fetch(self, uri: str) -> Mapping[str, Any]:
        try:
            body = await fetch(self._http, uri, max_bytes=MAX_JWKS_BYTES, accept=_JWKS_TYPES)
        except FetchFailed:
            raise InvalidClient(_UNREACHABLE) from None
        try:
            jwks = json.loads(body)
        except ValueError:
            raise InvalidClient("the client's jwks_uri is not a JWK Set") from None
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise InvalidClient("the client's jwks_uri is not a JWK Set")
        return jwks
