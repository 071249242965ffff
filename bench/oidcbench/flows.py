"""Real protocol traffic through httpx: one login per server (through its own login and
consent pages), then what the workloads consume: codes, refresh tokens, an access token."""

from __future__ import annotations

import asyncio
import base64
import re
from dataclasses import dataclass
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

from oidcbench.servers import USERNAME, Client, Server

SCOPE = "openid email"
_FORM = re.compile(r"<form[^>]*\baction=\"([^\"]*)\"[^>]*>(.*?)</form>", re.S | re.I)
_INPUT = re.compile(r"<input\b([^>]*)>", re.I)
_ATTR = re.compile(r"([\w-]+)=\"([^\"]*)\"")


class FlowError(RuntimeError):
    """A server did not answer a step of the set-up flows as expected."""


@dataclass(frozen=True)
class Endpoints:
    """Paths (not URLs) from the server's discovery document."""

    authorize: str
    token: str
    jwks: str
    userinfo: str | None
    introspection: str | None

    @classmethod
    def discover(cls, base_url: str) -> Endpoints:
        doc = httpx.get(f"{base_url}/.well-known/openid-configuration", timeout=10).json()

        def path(name: str) -> str | None:
            url = doc.get(name)
            return urlsplit(url).path if isinstance(url, str) else None

        authorize, token, jwks = (
            path("authorization_endpoint"),
            path("token_endpoint"),
            path("jwks_uri"),
        )
        if not (authorize and token and jwks):
            raise FlowError(f"{base_url}: discovery lacks authorization/token/jwks endpoints")
        return cls(
            authorize, token, jwks, path("userinfo_endpoint"), path("introspection_endpoint")
        )


def basic_auth(client: Client) -> str:
    raw = f"{client.client_id}:{client.client_secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def authorize_query(client: Client, response_type: str = "code", **extra: str) -> str:
    params = {
        "response_type": response_type,
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "scope": SCOPE,
        "state": "bench-state",
        **extra,
    }
    return urlencode(params)


def response_param(location: str, name: str) -> str | None:
    parts = urlsplit(location)
    for part in (parts.query, parts.fragment):
        values = parse_qs(part).get(name)
        if values:
            return values[0]
    return None


def _fill_form(html: str, password: str) -> tuple[str, dict[str, str]]:
    """The first form's action and fields: hidden inputs kept, credentials and the consent
    decision filled in. Works for idgate's pages and node-oidc-provider's dev interactions."""
    match = _FORM.search(html)
    if match is None:
        raise FlowError("expected a login or consent form")
    action, body = unescape(match.group(1)), match.group(2)
    fields: dict[str, str] = {}
    for tag in _INPUT.finditer(body):
        attrs = {k.lower(): unescape(v) for k, v in _ATTR.findall(tag.group(1))}
        name = attrs.get("name")
        if not name:
            continue
        if attrs.get("type") == "hidden":
            fields[name] = attrs.get("value", "")
        elif attrs.get("type") == "password":
            fields[name] = password
        else:
            fields[name] = USERNAME  # idgate: username; node-oidc-provider: login
    if "consent" in action and "decision" not in fields:
        fields["decision"] = "approve"
    return action, fields


def login(server: Server, endpoints: Endpoints, password: str) -> str:
    """Sign in once through the server's own pages; return the Cookie header for `/`."""
    start = f"{server.base_url}{endpoints.authorize}?{authorize_query(server.client)}"
    with httpx.Client(follow_redirects=False, timeout=30) as http:
        response = http.get(start)
        for _ in range(20):
            if response.is_redirect:
                location = response.headers["location"]
                if location.startswith(server.client.redirect_uri):
                    if response_param(location, "code") is None:
                        raise FlowError(f"{server.name}: login ended without a code: {location}")
                    cookies = [
                        f"{c.name}={c.value}" for c in http.cookies.jar if c.path in ("/", "")
                    ]
                    return "; ".join(cookies)
                response = http.get(urljoin(str(response.url), location))
            elif response.status_code == 200 and "<form" in response.text:
                action, fields = _fill_form(response.text, password)
                response = http.post(urljoin(str(response.url), action), data=fields)
            else:
                raise FlowError(f"{server.name}: unexpected {response.status_code} in login")
    raise FlowError(f"{server.name}: login did not finish")


async def mint_codes(
    server: Server, endpoints: Endpoints, cookie: str, count: int, concurrency: int = 8
) -> list[str]:
    """`count` fresh codes from the real authorization endpoint, with the session cookie."""
    url = f"{server.base_url}{endpoints.authorize}?{authorize_query(server.client)}"
    codes: list[str] = []
    left = count

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            response = await http.get(url, headers={"Cookie": cookie})
            code = response_param(response.headers.get("location", ""), "code")
            if code is None:
                raise FlowError(f"{server.name}: authorize gave no code ({response.status_code})")
            codes.append(code)

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(follow_redirects=False, timeout=30, limits=limits) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    return codes


def exchange_codes(server: Server, endpoints: Endpoints, codes: list[str]) -> list[dict[str, Any]]:
    """Redeem codes at the token endpoint (client_secret_basic); the token responses."""
    out: list[dict[str, Any]] = []
    headers = {"Authorization": basic_auth(server.client)}
    with httpx.Client(timeout=30) as http:
        for code in codes:
            response = http.post(
                f"{server.base_url}{endpoints.token}",
                headers=headers,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": server.client.redirect_uri,
                },
            )
            if response.status_code != 200:
                raise FlowError(
                    f"{server.name}: code exchange {response.status_code}: {response.text}"
                )
            out.append(response.json())
    return out


def token_responses(
    server: Server, endpoints: Endpoints, cookie: str, count: int
) -> list[dict[str, Any]]:
    codes = asyncio.run(mint_codes(server, endpoints, cookie, count, concurrency=min(count, 8)))
    responses = exchange_codes(server, endpoints, codes)
    if any("refresh_token" not in r for r in responses):
        raise FlowError(f"{server.name}: the token response carries no refresh_token")
    return responses
