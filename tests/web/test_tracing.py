"""Optional OpenTelemetry tracing (observability/tracing.py): one server span per request,
named by its route template; a caller's trace is followed only from a trusted proxy."""

from __future__ import annotations

import pytest
from observability_support import app_client, opened  # type: ignore[import-not-found]
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

pytestmark = pytest.mark.anyio
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture
def spans() -> InMemorySpanExporter:
    # The global provider can be set once per process; each test adds its own exporter.
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(TracerProvider())
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def by_route(exporter: InMemorySpanExporter, route: str) -> ReadableSpan:
    (span,) = [
        s for s in exporter.get_finished_spans() if (s.attributes or {}).get("http.route") == route
    ]
    return span


async def test_a_span_per_request(database_url: str, spans: InMemorySpanExporter) -> None:
    async with opened(database_url, tracing=True) as provider, app_client(provider) as http:
        await http.get("/register/some-client", headers={"traceparent": TRACEPARENT})
        await http.get("/jwks")
    span = by_route(spans, "/register/{client_id}")
    assert span.name == "GET /register/{client_id}"
    assert span.kind is SpanKind.SERVER
    assert span.attributes is not None
    assert span.attributes["http.request.method"] == "GET"
    assert span.attributes["http.response.status_code"] in (401, 404)
    # Not from a trusted proxy: the caller's trace is not joined.
    assert span.parent is None
    assert f"{span.context.trace_id:032x}" != TRACE_ID
    assert by_route(spans, "/jwks").status.status_code is not StatusCode.ERROR


async def test_a_trusted_proxy_s_trace_is_followed(
    database_url: str, spans: InMemorySpanExporter
) -> None:
    async with (
        opened(database_url, tracing=True, trusted_proxies=("10.0.0.0/8",)) as provider,
        app_client(provider, peer="10.0.0.2") as http,
    ):
        await http.get("/healthz", headers={"traceparent": TRACEPARENT})
    span = by_route(spans, "/healthz")
    assert f"{span.context.trace_id:032x}" == TRACE_ID
    assert span.parent is not None


async def test_no_spans_unless_tracing_is_on(
    database_url: str, spans: InMemorySpanExporter
) -> None:
    async with opened(database_url) as provider, app_client(provider) as http:
        await http.get("/healthz")
    assert spans.get_finished_spans() == ()
