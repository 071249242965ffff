"""POST /token (RFC 6749 §3.2): JSON in, JSON out, never cached."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idgate.protocol.errors import InvalidClient, OAuthError
from idgate.provider import Provider
from idgate.web.params import form_parameters
from idgate.web.responses import json_response, oauth_error_response


async def token(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    authorization = request.headers.get("authorization")
    try:
        form = (await form_parameters(request)).require_unique()
        body = await provider.token_endpoint.token(authorization, form)
    except InvalidClient as exc:
        # RFC 6749 §5.2: 401 with a challenge matching the scheme the client tried.
        if authorization is not None and authorization[:6].lower() == "basic ":
            exc.basic = True
        return oauth_error_response(exc)
    except OAuthError as exc:
        return oauth_error_response(exc)
    return json_response(body, no_store=True)
