"""POST /par: Pushed Authorization Requests (RFC 9126 §2), client-authenticated, JSON out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idgate.protocol.errors import OAuthError
from idgate.provider import Provider
from idgate.web.params import form_parameters
from idgate.web.responses import client_endpoint_error, json_response


async def push(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    authorization = request.headers.get("authorization")
    try:
        form = (await form_parameters(request)).require_unique()
        body = await provider.pushed_requests.push(authorization, form)
    except OAuthError as exc:
        return client_endpoint_error(exc, authorization)
    return json_response(body, 201, no_store=True)
