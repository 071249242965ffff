"""POST /introspect (RFC 7662) and POST /revoke (RFC 7009): client-authenticated, JSON out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idgate.protocol.errors import OAuthError
from idgate.provider import Provider
from idgate.web.params import form_parameters
from idgate.web.responses import client_endpoint_error, json_response


async def introspect(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    authorization = request.headers.get("authorization")
    try:
        form = (await form_parameters(request)).require_unique()
        client_ip = request.client.host if request.client else "unknown"
        body = await provider.introspection.introspect(authorization, form, client_ip=client_ip)
    except OAuthError as exc:
        return client_endpoint_error(exc, authorization)
    return json_response(body, no_store=True)


async def revoke(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    authorization = request.headers.get("authorization")
    try:
        form = (await form_parameters(request)).require_unique()
        await provider.introspection.revoke(authorization, form)
    except OAuthError as exc:
        return client_endpoint_error(exc, authorization)
    return Response(status_code=200, headers={"Cache-Control": "no-store"})
