"""GET and POST /userinfo (OpenID Connect Core 1.0 §5.3; RFC 6750 §2-§3).

Every answer, success or error, is `Cache-Control: no-store`. CORS for browser-based clients
(`Access-Control-Allow-Origin: *`, the preflight, `WWW-Authenticate` exposed) comes from
`web/cors.py`: the answer depends on the bearer token only, never on cookies.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idgate.protocol.errors import InsufficientScope, InvalidRequest, InvalidToken, OAuthError
from idgate.protocol.userinfo import bearer_challenge, extract_access_token
from idgate.provider import Provider
from idgate.web.params import FORM_TYPE, form_parameters, query_parameters
from idgate.web.responses import NO_STORE, json_response, oauth_error_response

REALM = "idgate"


async def userinfo(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    try:
        token = extract_access_token(
            _authorization(request), await _body(request), query_parameters(request).values
        )
        answer = await provider.userinfo.userinfo(token)
    except OAuthError as exc:
        return _error(exc)
    if answer.jwt is not None:
        return Response(answer.jwt, 200, dict(NO_STORE), media_type="application/jwt")
    return json_response(answer.claims, no_store=True)


def _authorization(request: Request) -> str | None:
    values = request.headers.getlist("authorization")
    if len(values) > 1:
        raise InvalidRequest("the Authorization header is repeated")
    return values[0] if values else None


async def _body(request: Request) -> dict[str, str] | None:
    """The form parameters of a POST (RFC 6750 §2.2); other bodies carry no token."""
    if request.method != "POST":
        return None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        return None
    params = await form_parameters(request)
    if "access_token" in params.repeated:
        raise InvalidRequest("parameter access_token is repeated")
    return params.values


def _error(error: OAuthError) -> Response:
    headers = {}
    if isinstance(error, InvalidRequest | InvalidToken | InsufficientScope):
        headers["WWW-Authenticate"] = bearer_challenge(error, realm=REALM)
    return oauth_error_response(error, headers=headers)
