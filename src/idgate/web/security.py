"""Security headers on every answer (SECURITY.md G6), as a pure ASGI middleware.

It is also the one place that adds response headers for others: the CORS headers of the
endpoints `Cors` marks. One wrapper of `send` instead of one per concern, and the headers are
appended as ready-made bytes, each only where the endpoint did not set its own (pages set their
own Content-Security-Policy with a nonce).
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Pages that may be framed by RPs (Session Management 1.0 §3.3) mark themselves with this
# request-scope flag instead of receiving the deny-framing headers.
FRAMEABLE: Final = "idgate.frameable"
# Set by `Cors` on requests to the endpoints browsers call across origins.
CORS_HEADERS: Final = "idgate.cors_headers"

_Headers = tuple[tuple[bytes, bytes], ...]

_ALWAYS: Final[_Headers] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
_DENY_FRAMING: Final[_Headers] = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
)
_HSTS: Final[_Headers] = ((b"strict-transport-security", b"max-age=31536000; includeSubDomains"),)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self._framed = _ALWAYS + (_HSTS if https else ())
        self._unframed = self._framed + _DENY_FRAMING

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = self._framed if scope.get(FRAMEABLE) else self._unframed
                cors: _Headers | None = scope.get(CORS_HEADERS)
                if cors:
                    extra = extra + cors
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in extra if header[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
