"""Dynamic Client Registration (RFC 7591 §3, OpenID Connect Dynamic Client Registration 1.0 §3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from idgate.client._http import json_object, raise_for_error, send
from idgate.client.credentials import AuthMethod, ClientCredentials
from idgate.client.discovery import ProviderMetadata
from idgate.client.errors import ErrorResponse, InvalidProviderResponse
from idgate.crypto.keys import SigningKey

__all__ = ["RegisteredClient", "register_client"]


@dataclass(frozen=True)
class RegisteredClient:
    """The OP's answer to a registration: the client_id, the secret (once) and the metadata."""

    client_id: str
    client_secret: str | None = field(repr=False)
    metadata: Mapping[str, Any] = field(repr=False)

    def credentials(self, *, private_key: SigningKey | None = None) -> ClientCredentials:
        """:class:`ClientCredentials` from the registered metadata (auth method, algs)."""
        method: AuthMethod = self.metadata.get("token_endpoint_auth_method", "client_secret_basic")
        return ClientCredentials(
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_endpoint_auth_method=method,
            id_token_signed_response_alg=self.metadata.get("id_token_signed_response_alg", "RS256"),
            userinfo_signed_response_alg=self.metadata.get("userinfo_signed_response_alg"),
            private_key=private_key,
        )


async def register_client(
    http: httpx.AsyncClient,
    metadata: ProviderMetadata,
    document: Mapping[str, Any],
    *,
    initial_access_token: str | None = None,
) -> RegisteredClient:
    """POST ``document`` (RFC 7591 §2 client metadata) to the OP's registration endpoint.

    ``initial_access_token`` is sent as a Bearer token when the OP requires one (RFC 7591
    §3). An OAuth error (``invalid_redirect_uri``, ``invalid_client_metadata``, RFC 7591
    §3.2.2) becomes :class:`~idgate.client.errors.ErrorResponse`.
    """
    endpoint = metadata.endpoint("registration_endpoint")
    headers = {"Accept": "application/json"}
    if initial_access_token:
        headers["Authorization"] = f"Bearer {initial_access_token}"
    response = await send(
        http, "POST", endpoint, what="registration endpoint", json_body=document, headers=headers
    )
    try:
        raise_for_error(response, what="registration endpoint", expected=(201, 200))
    except ErrorResponse as exc:
        if exc.error == "invalid_token" or exc.status == 401:
            exc.hint = "the OP requires an initial access token (idgate: `idgate client token`)"
        raise
    body = json_object(response, what="registration endpoint")
    client_id = body.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise InvalidProviderResponse(
            "the registration response has no client_id (RFC 7591 §3.2.1)"
        )
    secret = body.get("client_secret")
    return RegisteredClient(
        client_id=client_id,
        client_secret=secret if isinstance(secret, str) else None,
        metadata=body,
    )
