"""The edge every request passes first: who sent it (trusted proxies), its request id, and
what it cost (the access log line, the metrics, a span when tracing is on).

One pure ASGI middleware for all of it, so that a request pays for one wrapper: with no
trusted proxies, metrics or tracing configured, it adds an id, two clock reads and a log line.
"""

from __future__ import annotations

from time import perf_counter
from typing import Final

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idgate.observability.context import request_id
from idgate.observability.metrics import UNMATCHED_ROUTE, Metrics
from idgate.observability.tracing import RequestTracer
from idgate.web.access_log import log_access
from idgate.web.proxies import TrustedProxies
from idgate.web.request_id import HEADER, SCOPE_KEY, request_id_for

# Set on the scope when the direct peer is a trusted proxy (its headers were believed).
VIA_TRUSTED_PROXY: Final = "idgate.via_trusted_proxy"


def route_of(scope: Scope) -> str:
    """The template of the route the router matched, a bounded label."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class ObservedRequests:
    def __init__(
        self,
        app: ASGIApp,
        *,
        proxies: TrustedProxies | None = None,
        metrics: Metrics | None = None,
        tracer: RequestTracer | None = None,
    ) -> None:
        self.app = app
        self.proxies = proxies
        self.metrics = metrics
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        trusted = self.proxies is not None and self.proxies.apply(scope)
        scope[VIA_TRUSTED_PROXY] = trusted
        this_request = request_id_for(scope, from_trusted_proxy=trusted)
        scope[SCOPE_KEY] = this_request
        id_header = (HEADER, this_request.encode("ascii"))
        context = request_id.set(this_request)
        started = perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            if self.tracer is None:
                await self.app(scope, receive, send_with_id)
            else:
                with self.tracer.span(scope, trusted) as span:
                    await self.app(scope, receive, send_with_id)
                    span.finish(route_of(scope), status)
        finally:
            seconds = perf_counter() - started
            route = route_of(scope)
            if self.metrics is not None:
                self.metrics.observe_request(route, scope["method"], status, seconds)
            client = scope.get("client")
            log_access(client[0] if client else "-", scope["method"], route, status, seconds)
            request_id.reset(context)


def count_database_unavailable(request: Request) -> None:
    """For the handlers that answer an outage themselves (503 JSON, page, readiness)."""
    metrics: Metrics | None = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.database_unavailable()
