"""`/metrics`, the Prometheus text format, for the operator's scraper only.

Off unless `metrics` is on. Then a scrape must come from an address in `metrics_allow`
(loopback by default) and, when `metrics_token` is set, carry it as a Bearer token. The
address is the client's as the trusted proxies report it: a request from the internet that
a trusted proxy forwards is judged by the internet address, not by the proxy's. A request
that carries forwarding headers from a peer that is not a trusted proxy is refused: that is
a proxy idgate was not told about (often on this very machine, so loopback), and the client
behind it could be anyone.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from idgate.config import Settings
from idgate.observability.metrics import CONTENT_TYPE, Metrics
from idgate.web.observe import VIA_TRUSTED_PROXY
from idgate.web.proxies import IPNetwork, parse_address
from idgate.web.responses import json_response

_FORWARDING_HEADERS: Final = frozenset({b"x-forwarded-for", b"forwarded", b"x-real-ip"})


class MetricsGate:
    def __init__(self, settings: Settings) -> None:
        self._allowed: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(network, strict=False) for network in settings.metrics_allow
        )
        self._token = (
            None if settings.metrics_token is None else settings.metrics_token.encode("utf-8")
        )

    def address_allowed(self, request: Request) -> bool:
        if not request.scope.get(VIA_TRUSTED_PROXY) and any(
            name in _FORWARDING_HEADERS for name, _ in request.scope["headers"]
        ):
            return False
        client = request.scope.get("client")
        address = parse_address(client[0]) if client else None
        if address is None:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self._allowed)

    def token_accepted(self, request: Request) -> bool:
        if self._token is None:
            return True
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(presented.strip().encode("utf-8"), self._token)


async def metrics(request: Request) -> Response:
    gate: MetricsGate = request.app.state.metrics_gate
    if not gate.address_allowed(request):
        return json_response(
            {"error": "forbidden", "error_description": "metrics are not served to this address"},
            403,
            no_store=True,
        )
    if not gate.token_accepted(request):
        return json_response(
            {"error": "invalid_token", "error_description": "the metrics token is required"},
            401,
            no_store=True,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    registry: Metrics = request.app.state.metrics
    return Response(
        registry.exposition(), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"}
    )
