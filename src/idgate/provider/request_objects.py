"""Resolving `request` and `request_uri` into authorization request parameters (OpenID
Connect Core 1.0 §6; RFC 9101), before the ordinary validation runs on the result.

The rules are pure (protocol/request_object.py); this module fetches a `request_uri` under
the fetch policy (provider/outbound.py) and checks signatures with the client's registered
keys (crypto/jwt.py). Every failure is an OAuthError that the authorization endpoint may
redirect to the request's validated outer redirect_uri, never to one from inside the object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from idgate.clock import Clock
from idgate.config import Settings
from idgate.crypto.errors import CryptoError
from idgate.crypto.jwt import unsecured_jwt_claims, unverified_header, verify_jwt
from idgate.crypto.random import secret_hash
from idgate.protocol.clients import Client
from idgate.protocol.errors import (
    InvalidClient,
    InvalidRequest,
    InvalidRequestObject,
    InvalidRequestUri,
)
from idgate.protocol.request_object import (
    MAX_REQUEST_OBJECT_BYTES,
    PUSHED_REQUEST_PREFIX,
    acceptable_algs,
    check_object_claims,
    check_request_uri,
    merge_parameters,
)
from idgate.provider.client_keys import ClientKeyResolver
from idgate.provider.outbound import FetchFailed, fetch
from idgate.storage.base import PushedRequestRepository

_REQUEST_OBJECT_TYPES = "application/oauth-authz-req+jwt, application/jwt"


class RequestObjects:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        http: httpx.AsyncClient,
        keys: ClientKeyResolver,
        pushed: PushedRequestRepository,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._http = http
        self._keys = keys
        self._pushed = pushed

    async def resolve(self, params: Mapping[str, str], client: Client) -> dict[str, str]:
        """The parameters the request means: `params` with the object's members merged in."""
        request = params.get("request") or None
        request_uri = params.get("request_uri") or None
        if request and request_uri:
            raise InvalidRequest("request and request_uri cannot both be sent")  # Core §6.1
        if request_uri is not None and request_uri.startswith(PUSHED_REQUEST_PREFIX):
            return await self._pushed_request(request_uri, client)
        if request_uri is not None:
            check_request_uri(request_uri, client)
            try:
                body = await fetch(
                    self._http,
                    request_uri,
                    max_bytes=MAX_REQUEST_OBJECT_BYTES,
                    accept=_REQUEST_OBJECT_TYPES,
                )
            except FetchFailed:
                raise InvalidRequestUri("the request_uri could not be fetched") from None
            try:
                request = body.decode("ascii").strip()
            except UnicodeDecodeError:
                raise InvalidRequestUri("the request_uri did not hold a request object") from None
        if not request:
            return dict(params)
        if len(request) > MAX_REQUEST_OBJECT_BYTES:
            raise InvalidRequestObject("the request object is too large")
        claims = await self.decode(request, client)
        return merge_parameters(params, claims, client_id=client.client_id)

    async def _pushed_request(self, request_uri: str, client: Client) -> dict[str, str]:
        """RFC 9126 §4: only the pushed parameters count; the reference works once, for the
        client that pushed it, until it expires."""
        reference = request_uri.removeprefix(PUSHED_REQUEST_PREFIX)
        stored = await self._pushed.consume(
            secret_hash(reference), client_id=client.client_id, now=self._clock.now()
        )
        if stored is None:
            raise InvalidRequestUri("the pushed request is unknown, used or expired")
        return dict(stored)

    async def decode(self, token: str, client: Client) -> Mapping[str, Any]:
        """Verify (or, for a client that registered `none`, read) the object and check its
        own claims."""
        try:
            header = unverified_header(token)
            algs = acceptable_algs(client, header.get("alg"))
            if algs is None:
                claims = unsecured_jwt_claims(token)
            else:
                kid = header.get("kid")
                jwks = await self._keys.keys(client, kid=kid if isinstance(kid, str) else None)
                claims = verify_jwt(token, jwks, algs=algs).claims
        except (CryptoError, InvalidClient):
            raise InvalidRequestObject("the request object could not be verified") from None
        check_object_claims(
            claims,
            client_id=client.client_id,
            issuer=self._settings.issuer,
            now=self._clock.now(),
            signed=algs is not None,
        )
        return claims
