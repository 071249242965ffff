"""POST /register: Dynamic Client Registration (RFC 7591 §3; OIDC Registration 1.0 §3), and
GET/PUT/DELETE /register/{client_id}: the client configuration endpoint (RFC 7592 §2)."""

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


def _disabled() -> Response:
    return json_response(
        {"error": "not_found", "error_description": "dynamic registration is not enabled"}, 404
    )


def _error(exc: OAuthError) -> Response:
    if isinstance(exc, InvalidToken):
        return oauth_error_response(
            exc, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    return oauth_error_response(exc)


async def _metadata_document(request: Request) -> dict[str, object]:
    document = await _json_body(request)
    if not isinstance(document, dict):
        raise InvalidClientMetadata("client metadata must be a JSON object")
    return document


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def register(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    try:
        await provider.registration.admit(_client_ip(request))
        document = await _metadata_document(request)
        created = await provider.registration.register(document, bearer=_bearer(request))
    except RegistrationDisabled:
        return _disabled()
    except OAuthError as exc:
        return _error(exc)
    return json_response(created.to_dict(), 201, no_store=True)


async def client_configuration(request: Request) -> Response:
    """RFC 7592 §2.1 (GET), §2.2 (PUT), §2.3 (DELETE), authorized by the client's
    registration access token."""
    provider: Provider = request.app.state.provider
    if provider.settings.registration == "off":
        return _disabled()
    client_id: str = request.path_params["client_id"]
    bearer = _bearer(request)
    registration = provider.registration
    try:
        if request.method == "DELETE":
            await registration.delete(client_id, bearer=bearer)
            return Response(status_code=204, headers={"Cache-Control": "no-store"})
        if request.method == "PUT":
            # Authorize before reading the body: a stranger's PUT costs nothing. An update is
            # validated (and may fetch) like a registration, so it counts like one.
            await registration.read(client_id, bearer=bearer)
            await registration.admit(_client_ip(request))
            shown = await registration.update(
                client_id, await _metadata_document(request), bearer=bearer
            )
        else:
            shown = await registration.read(client_id, bearer=bearer)
    except OAuthError as exc:
        return _error(exc)
    return json_response(shown.to_dict(), 200, no_store=True)
