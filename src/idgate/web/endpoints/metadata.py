"""Discovery (OpenID Connect Discovery 1.0 §4) and the JWK Set (RFC 7517 §5)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idgate.protocol.discovery import provider_metadata
from idgate.provider import Provider
from idgate.web.capabilities import capabilities
from idgate.web.responses import json_bytes

_DISCOVERY_CACHE = {"Cache-Control": "public, max-age=300"}


def _provider(request: Request) -> Provider:
    provider: Provider = request.app.state.provider
    return provider


async def openid_configuration(request: Request) -> Response:
    state = request.app.state
    if getattr(state, "discovery_body", None) is None:
        keyring = await _provider(request).keys.keyring()
        caps = capabilities(_provider(request).settings, keyring.algs())
        state.discovery_body = json_bytes(provider_metadata(caps))
    return Response(state.discovery_body, headers=_DISCOVERY_CACHE, media_type="application/json")


async def jwks(request: Request) -> Response:
    # Serialised once per key ring: the ring is replaced, never mutated, when keys change.
    keys = _provider(request).keys
    keyring = await keys.keyring()
    state = request.app.state
    cached = getattr(state, "jwks_cache", None)
    if cached is None or cached[0] is not keyring:
        cached = (keyring, json_bytes(keyring.jwks()))
        state.jwks_cache = cached
    # The bound the key timings count on: a next key is published at least this long (plus
    # the key reload interval) before it signs, so no RP's cached set can lack it.
    cache = {"Cache-Control": f"public, max-age={keys.timings.jwks_max_age}"}
    return Response(cached[1], headers=cache, media_type="application/json")
