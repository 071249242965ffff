"""CORS for the endpoints browser-based clients call directly (a single-page app using code +
PKCE fetches discovery, the JWKS, the token endpoint and revocation).

`Access-Control-Allow-Origin: *` without credentials: these endpoints never read cookies, the
answer depends only on what the request itself carries (a code with its verifier, a token), so
allowing any origin exposes nothing a caller could not get without a browser.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CORS_PATHS = frozenset(
    {"/.well-known/openid-configuration", "/jwks", "/token", "/revoke", "/userinfo"}
)
_PREFLIGHT = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}


class Cors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in CORS_PATHS:
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            await Response(status_code=204, headers=_PREFLIGHT)(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                response_headers.setdefault("Access-Control-Allow-Origin", "*")
                response_headers.setdefault("Access-Control-Expose-Headers", "WWW-Authenticate")
            await send(message)

        await self.app(scope, receive, send_with_cors)
