"""HTTP helpers: every request of the RP goes through these, so every failure is a ClientError."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import httpx

from idgate.client.errors import ErrorResponse, InvalidProviderResponse, ProviderUnreachable

#: Discovery documents, JWK Sets and token responses are small; anything bigger is refused.
MAX_BODY_BYTES: Final = 1024 * 1024
DEFAULT_TIMEOUT: Final = 10.0


def new_http_client() -> httpx.AsyncClient:
    """The client the RP makes when none is given: no redirects, a time-out, no proxies."""
    return httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, follow_redirects=False, trust_env=False)


async def send(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    what: str,
    data: Mapping[str, str] | None = None,
    json_body: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """Send one request; network failures become :class:`ProviderUnreachable`."""
    try:
        response = await http.request(
            method, url, data=data, json=json_body, headers=dict(headers or {})
        )
    except httpx.TimeoutException:
        raise ProviderUnreachable(f"the {what} at {url} did not answer in time") from None
    except httpx.HTTPError as exc:
        raise ProviderUnreachable(
            f"cannot reach the {what} at {url}: {type(exc).__name__}"
        ) from None
    if len(response.content) > MAX_BODY_BYTES:
        raise InvalidProviderResponse(
            f"the {what} answered with more than {MAX_BODY_BYTES} bytes",
            status=response.status_code,
        )
    return response


def media_type(response: httpx.Response) -> str:
    value: str = response.headers.get("content-type", "")
    return value.split(";")[0].strip().lower()


def json_object(response: httpx.Response, *, what: str) -> dict[str, Any]:
    """The body as a JSON object, or :class:`InvalidProviderResponse`."""
    try:
        value = json.loads(response.content)
    except (ValueError, RecursionError):
        raise InvalidProviderResponse(
            f"the {what} did not answer with JSON (HTTP {response.status_code}, "
            f"content type {media_type(response) or 'none'})",
            status=response.status_code,
        ) from None
    if not isinstance(value, dict):
        raise InvalidProviderResponse(
            f"the {what} answered with JSON that is not an object", status=response.status_code
        )
    return value


def raise_for_error(response: httpx.Response, *, what: str, expected: tuple[int, ...]) -> None:
    """An OAuth error body (RFC 6749 §5.2) becomes :class:`ErrorResponse`; another unexpected
    status becomes :class:`InvalidProviderResponse`."""
    if response.status_code in expected:
        return
    error: str | None = None
    description: str | None = None
    if media_type(response) == "application/json":
        try:
            body = json.loads(response.content)
        except (ValueError, RecursionError):
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            error = body["error"]
            raw_description = body.get("error_description")
            description = raw_description if isinstance(raw_description, str) else None
    if error is None:
        # RFC 6750 §3: a protected resource puts the error in WWW-Authenticate.
        error, description = _bearer_error(response.headers.get("www-authenticate", ""))
    if error is not None:
        raise ErrorResponse(what, error, description, status=response.status_code)
    raise InvalidProviderResponse(
        f"the {what} answered HTTP {response.status_code}", status=response.status_code
    )


def _bearer_error(header: str) -> tuple[str | None, str | None]:
    """``error`` and ``error_description`` of a ``WWW-Authenticate: Bearer …`` challenge."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None, None
    values: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            values[name.strip().lower()] = value.strip().strip('"')
    return values.get("error"), values.get("error_description")
