"""Prometheus metrics: requests and latencies per route, tokens, logins, database outages.

Labels are bounded by construction: a route is the template it matched (`/register/{client_id}`,
never the raw path), a method outside the usual few is `other`, a grant or token kind comes
from the audit events, which carry only the values idgate itself supports.

Under `idgate serve --workers N` every worker writes its values to files in one directory
(prometheus_client's multiprocess mode, see multiprocess.py) and a scrape of any worker adds
up all of them; in a single process the values live in this object's own registry.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from idgate.observability.multiprocess import MULTIPROCESS_DIR_ENV
from idgate.provider.audit import Event, Value

# The `_created` series double what a scrape carries and the multiprocess mode lacks them.
disable_created_metrics()  # type: ignore[no-untyped-call]

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED_ROUTE: Final = "unmatched"
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# idgate answers most requests in a few milliseconds; the default buckets start at 5 ms.
_LATENCY_BUCKETS: Final = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._requests = Counter(
            "idgate_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "idgate_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by route and method.",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._tokens_issued = Counter(
            "idgate_tokens_issued",
            "Codes and tokens handed out, by grant (grant_type or response_type) and kind.",
            ["grant", "kind"],
            registry=self.registry,
        )
        self._tokens_revoked = Counter(
            "idgate_tokens_revoked",
            "Tokens revoked, by kind and reason.",
            ["kind", "reason"],
            registry=self.registry,
        )
        self._logins = Counter("idgate_logins", "Successful logins.", registry=self.registry)
        self._login_failures = Counter(
            "idgate_login_failures",
            "Failed logins, by reason (bad_credentials, rate_limited).",
            ["reason"],
            registry=self.registry,
        )
        self._database_unavailable = Counter(
            "idgate_database_unavailable",
            "Requests that found the database unavailable (answered 503).",
            registry=self.registry,
        )
        # `labels()` takes a lock and builds a key on every call: keep the children instead.
        self._request_series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        if method not in _METHODS:
            method = "other"
        key = (route, method, status)
        series = self._request_series.get(key)
        if series is None:
            series = (
                self._requests.labels(route, method, str(status)),
                self._latency.labels(route, method),
            )
            self._request_series[key] = series
        series[0].inc()
        series[1].observe(seconds)

    def database_unavailable(self) -> None:
        self._database_unavailable.inc()

    def on_audit_event(self, event: Event, fields: Mapping[str, Value]) -> None:
        """An AuditLog observer: the audit events are where tokens and logins are counted."""
        if event == "token.issued":
            grant = str(fields.get("grant"))
            kinds = fields.get("issued")
            for kind in kinds if isinstance(kinds, list) else ():
                self._tokens_issued.labels(grant, kind).inc()
        elif event == "token.revoked":
            self._tokens_revoked.labels(str(fields.get("kind")), str(fields.get("reason"))).inc()
        elif event == "login.succeeded":
            self._logins.inc()
        elif event == "login.failed":
            self._login_failures.labels(str(fields.get("reason"))).inc()

    def exposition(self) -> bytes:
        """The text format; across all workers when they share a multiprocess directory."""
        directory = os.environ.get(MULTIPROCESS_DIR_ENV)
        if not directory:
            return generate_latest(self.registry)
        combined = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(combined, path=directory)  # type: ignore[no-untyped-call]
        return generate_latest(combined)
