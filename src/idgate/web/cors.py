"""CORS for the endpoints browser-based clients call directly (a single-page app using code +
PKCE fetches discovery, the JWKS, the token endpoint and revocation).

`Access-Control-Allow-Origin: *` without credentials: these endpoints never read cookies, the
answer depends only on what the request itself carries (a code with its verifier, a token), so
allowing any origin exposes nothing a caller could not get without a browser.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from idgate.web.security import CORS_HEADERS

CORS_PATHS = frozenset(
    {"/.well-known/openid-configuration", "/jwks", "/token", "/revoke", "/userinfo"}
)
_PREFLIGHT = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}
# Added to the answer by `SecurityHeaders`, which wraps every response's headers once.
_ANSWER_HEADERS = (
    (b"access-control-allow-origin", b"*"),
    (b"access-control-expose-headers", b"WWW-Authenticate"),
)


class Cors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in CORS_PATHS:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and any(
            name.lower() == b"access-control-request-method" for name, _ in scope["headers"]
        ):
            await Response(status_code=204, headers=_PREFLIGHT)(scope, receive, send)
            return
        scope[CORS_HEADERS] = _ANSWER_HEADERS
        await self.app(scope, receive, send)
