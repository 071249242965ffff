"""POST /register: Dynamic Client Registration (RFC 7591 §3; OIDC Registration 1.0 §3)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from idgate.protocol.errors import InvalidClientMetadata, InvalidToken, OAuthError
from idgate.provider import Provider
from idgate.provider.registration import RegistrationDisabled
from idgate.web.responses import json_response, oauth_error_response

MAX_BODY = 64 * 1024


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


async def _json_body(request: Request) -> object:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise InvalidClientMetadata("the request body must be application/json")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY:
            raise InvalidClientMetadata("the client metadata document is too large")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidClientMetadata("the request body is not valid JSON") from None


async def register(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    try:
        document = await _json_body(request)
        if not isinstance(document, dict):
            raise InvalidClientMetadata("client metadata must be a JSON object")
        created = await provider.registration.register(document, bearer=_bearer(request))
    except RegistrationDisabled:
        return json_response(
            {"error": "not_found", "error_description": "dynamic registration is not enabled"},
            404,
        )
    except InvalidToken as exc:
        return oauth_error_response(
            exc, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    except OAuthError as exc:
        return oauth_error_response(exc)
    return json_response(created.to_dict(), 201, no_store=True)
