"""Pushed Authorization Requests (RFC 9126): the client sends its authorization request
straight to the OP, authenticated as at the token endpoint, and gets a one-time reference
(`request_uri`) to send the browser with.

A pushed request is validated in full when it is pushed (RFC 9126 §2.1), request object
included, and answered with JSON errors (§2.3); what is stored is the resolved parameters,
keyed by the hash of the reference, for `PUSHED_REQUEST_TTL` seconds and one use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from idgate.clock import Clock
from idgate.config import Settings
from idgate.crypto.random import new_secret, secret_hash
from idgate.protocol.authorize import (
    AuthorizePolicy,
    check_client_and_redirect_uri,
    parse_authorization_request,
)
from idgate.protocol.errors import InvalidRequest
from idgate.protocol.request_object import PUSHED_REQUEST_PREFIX
from idgate.provider.request_objects import RequestObjects
from idgate.provider.token_service import TokenService
from idgate.storage.base import PushedRequestRepository

PUSHED_REQUEST_TTL: Final = 60
# Client authentication travels with the request; it is not part of it.
_CLIENT_AUTH: Final = frozenset({"client_secret", "client_assertion", "client_assertion_type"})


class PushedRequests:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        repository: PushedRequestRepository,
        token_endpoint: TokenService,
        request_objects: RequestObjects,
    ) -> None:
        self._clock = clock
        self._repository = repository
        self._token_endpoint = token_endpoint
        self._request_objects = request_objects
        self._policy = AuthorizePolicy(allow_plain_pkce=settings.allow_plain_pkce)

    async def push(self, authorization: str | None, form: Mapping[str, str]) -> dict[str, Any]:
        client = await self._token_endpoint.authenticate_client(authorization, form)
        params = {k: v for k, v in form.items() if k not in _CLIENT_AUTH}
        if params.get("request_uri"):
            raise InvalidRequest("request_uri cannot be pushed")  # RFC 9126 §2.1
        params["client_id"] = client.client_id
        params = await self._request_objects.resolve(params, client)
        # The same validation the authorization endpoint runs; its errors are JSON here.
        target = check_client_and_redirect_uri(params, client)
        parse_authorization_request(params, client, target, self._policy)
        reference = new_secret(32)
        now = self._clock.now()
        await self._repository.add(
            secret_hash(reference),
            client_id=client.client_id,
            params=params,
            now=now,
            expires_at=now + PUSHED_REQUEST_TTL,
        )
        return {"request_uri": PUSHED_REQUEST_PREFIX + reference, "expires_in": PUSHED_REQUEST_TTL}
