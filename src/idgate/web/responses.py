"""JSON answers and OAuth error answers, shaped as the specs say."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from idgate import json_codec
from idgate.protocol.errors import InvalidClient, OAuthError, TooManyRequests

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def json_bytes(data: Any) -> bytes:
    return json_codec.dumps(data)


def json_response(
    data: Any,
    status_code: int = 200,
    *,
    no_store: bool = False,
    headers: dict[str, str] | None = None,
    media_type: str = "application/json",
) -> Response:
    all_headers = dict(NO_STORE) if no_store else {}
    all_headers.update(headers or {})
    return Response(json_bytes(data), status_code, all_headers, media_type=media_type)


def oauth_error_response(error: OAuthError, *, headers: dict[str, str] | None = None) -> Response:
    """RFC 6749 §5.2: a JSON error body, never cached."""
    extra = dict(headers or {})
    if isinstance(error, InvalidClient) and error.basic:
        extra["WWW-Authenticate"] = 'Basic realm="idgate", charset="UTF-8"'
    if error.status_code == 503:
        extra.setdefault("Retry-After", "5")
    if isinstance(error, TooManyRequests):
        extra["Retry-After"] = str(error.retry_after)
    return json_response(error.to_dict(), error.status_code, no_store=True, headers=extra)


def client_endpoint_error(error: OAuthError, authorization: str | None) -> Response:
    """An error at a client-authenticated endpoint: a failed Basic attempt gets a Basic
    challenge with its 401 (RFC 6749 §5.2)."""
    if isinstance(error, InvalidClient) and (authorization or "")[:6].lower() == "basic ":
        error.basic = True
    return oauth_error_response(error)
