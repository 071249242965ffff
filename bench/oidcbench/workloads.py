"""The workloads W1-W9: what each prepares through real traffic, and the wrk job it runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from oidcbench import flows
from oidcbench.servers import Server
from oidcbench.wrk import WrkJob


@dataclass
class Target:
    """A server ready to be measured: its endpoints and a signed-in session cookie."""

    label: str
    server: Server
    endpoints: flows.Endpoints
    cookie: str
    work_dir: Path
    connections: int
    duration_s: float
    # W7, W8 and W9's userinfo step run only once idgate's discovery lists the endpoint
    # (they are being built): decided from idgate, for every product alike.
    with_userinfo: bool = False
    with_introspection: bool = False
    # Authorize requests/s measured in this run (W3), to size the codes W5 needs.
    authorize_rate: float | None = None
    # Grows when a W5 run used up its codes (that run is then measured again).
    codes_factor: float = 1.3
    notes: list[str] = field(default_factory=list)


class Skip(Exception):
    """The workload does not apply to this target (the reason is the message)."""


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    prepare: Callable[[Target], WrkJob]
    unit: str = "req/s"


def _discovery(t: Target) -> WrkJob:
    return WrkJob("static.lua", {"path": "/.well-known/openid-configuration"})


def _jwks(t: Target) -> WrkJob:
    return WrkJob("static.lua", {"path": t.endpoints.jwks})


def _authorize_path(t: Target, response_type: str, **extra: str) -> str:
    return (
        f"{t.endpoints.authorize}?{flows.authorize_query(t.server.client, response_type, **extra)}"
    )


def _authorize_code(t: Target) -> WrkJob:
    return WrkJob("authorize.lua", {"path": _authorize_path(t, "code"), "cookie": t.cookie})


def _authorize_hybrid(t: Target) -> WrkJob:
    path = _authorize_path(t, "code id_token", nonce="bench-nonce")
    return WrkJob("authorize.lua", {"path": path, "cookie": t.cookie, "expect": "id_token"})


def _codes_needed(t: Target) -> int:
    # The token endpoint is slower than the authorization endpoint: W3's rate bounds W5's.
    rate = t.authorize_rate if t.authorize_rate else 2000.0
    return int(rate * t.duration_s * t.codes_factor) + 200


def _token(t: Target) -> WrkJob:
    count = _codes_needed(t)
    codes = asyncio.run(flows.mint_codes(t.server, t.endpoints, t.cookie, count))
    path = t.work_dir / f"{t.label}-codes.txt"
    path.write_text("\n".join(codes) + "\n")
    return WrkJob(
        "code_exchange.lua",
        {
            "path": t.endpoints.token,
            "authorization": flows.basic_auth(t.server.client),
            "redirect_uri": t.server.client.redirect_uri,
            "codes": str(path),
        },
    )


def _refresh(t: Target) -> WrkJob:
    # One token per connection, plus the one wrk spends checking its first request.
    responses = flows.token_responses(t.server, t.endpoints, t.cookie, t.connections + 1)
    path = t.work_dir / f"{t.label}-refresh.txt"
    path.write_text("\n".join(r["refresh_token"] for r in responses) + "\n")
    return WrkJob(
        "refresh.lua",
        {
            "path": t.endpoints.token,
            "authorization": flows.basic_auth(t.server.client),
            "tokens": str(path),
        },
    )


def _access_token(t: Target) -> str:
    token: str = flows.token_responses(t.server, t.endpoints, t.cookie, 1)[0]["access_token"]
    return token


def _userinfo(t: Target) -> WrkJob:
    if not t.with_userinfo or t.endpoints.userinfo is None:
        raise Skip("idgate's discovery document lists no userinfo_endpoint yet")
    return WrkJob(
        "static.lua",
        {
            "path": t.endpoints.userinfo,
            "authorization": f"Bearer {_access_token(t)}",
            "expect": '"sub"%s*:',
        },
    )


def _introspection(t: Target) -> WrkJob:
    if not t.with_introspection or t.endpoints.introspection is None:
        raise Skip("idgate's discovery document lists no introspection_endpoint yet")
    return WrkJob(
        "static.lua",
        {
            "method": "POST",
            "path": t.endpoints.introspection,
            "authorization": flows.basic_auth(t.server.client),
            "body": f"token={_access_token(t)}",
            "expect": '"active"%s*:%s*true',
        },
    )


def _flow(t: Target) -> WrkJob:
    return WrkJob(
        "flow.lua",
        {
            "authorize_path": _authorize_path(t, "code"),
            "cookie": t.cookie,
            "token_path": t.endpoints.token,
            "authorization": flows.basic_auth(t.server.client),
            "redirect_uri": t.server.client.redirect_uri,
            "userinfo_path": (t.endpoints.userinfo or "") if t.with_userinfo else "",
        },
        unit="flow",
    )


WORKLOADS: tuple[Workload, ...] = (
    Workload("W1", "discovery", _discovery),
    Workload("W2", "JWKS", _jwks),
    Workload("W3", "authorize `code` (session, consent)", _authorize_code),
    Workload("W4", "authorize `code id_token` (RS256)", _authorize_hybrid),
    Workload("W5", "token: code exchange, client_secret_basic", _token),
    Workload("W6", "token: refresh (rotating)", _refresh),
    Workload("W7", "userinfo", _userinfo),
    Workload("W8", "introspection", _introspection),
    Workload("W9", "complete flow: authorize + token (+ userinfo)", _flow, unit="flows/s"),
)
