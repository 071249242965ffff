"""Optional OpenTelemetry tracing: one server span per request, when `tracing` is on.

The opentelemetry packages are not a dependency of idgate (`pip install idgate[tracing]`).
Spans go to the global tracer provider: the one `opentelemetry-instrument` or the host
application set up, or else one idgate makes from the standard `OTEL_*` environment (the
OTLP exporter and its endpoint) when `opentelemetry-sdk` and the OTLP exporter are there.

A caller's `traceparent` is followed only from a trusted proxy, like its request id.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator, Mapping
from typing import Any

Scope = Mapping[str, Any]

_API = "opentelemetry.trace"


class TracingUnavailable(RuntimeError):
    """`tracing` is on but the opentelemetry API is not installed."""


def tracing_available() -> bool:
    return importlib.util.find_spec("opentelemetry") is not None and (
        importlib.util.find_spec(_API) is not None
    )


class RequestSpan:
    def __init__(self, span: Any, method: str) -> None:
        self._span = span
        self._method = method

    def finish(self, route: str, status: int) -> None:
        from opentelemetry.trace import Status, StatusCode

        self._span.update_name(f"{self._method} {route}")
        self._span.set_attribute("http.route", route)
        self._span.set_attribute("http.response.status_code", status)
        if status >= 500:
            self._span.set_status(Status(StatusCode.ERROR))


class RequestTracer:
    def __init__(self, tracer: Any) -> None:
        self._tracer = tracer

    @classmethod
    def start(cls) -> RequestTracer:
        """The tracer idgate's spans go to; raises TracingUnavailable without the API."""
        if not tracing_available():
            raise TracingUnavailable(
                "tracing is on but opentelemetry is not installed: pip install 'idgate[tracing]'"
            )
        from opentelemetry import trace

        _configure_provider_from_environment(trace)
        return cls(trace.get_tracer("idgate"))

    @contextlib.contextmanager
    def span(self, scope: Scope, follow_caller: bool) -> Iterator[RequestSpan]:
        from opentelemetry.propagate import extract
        from opentelemetry.trace import SpanKind

        method: str = scope["method"]
        parent = None
        if follow_caller:
            carrier = {
                name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
            }
            parent = extract(carrier)
        with self._tracer.start_as_current_span(
            method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.scheme": scope.get("scheme", "")},
        ) as span:
            yield RequestSpan(span, method)


def _configure_provider_from_environment(trace: Any) -> None:
    """Without a configured provider, spans would go nowhere: make one from `OTEL_*` when the
    SDK and the OTLP exporter are installed (each worker process makes its own)."""
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return
    if importlib.util.find_spec("opentelemetry.sdk") is None:
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "idgate"}))
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        return
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
