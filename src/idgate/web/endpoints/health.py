"""Liveness and readiness probes for process managers and load balancers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idgate.storage.base import DatabaseUnavailable
from idgate.web.observe import count_database_unavailable
from idgate.web.responses import json_response


async def healthz(request: Request) -> Response:
    """The process is alive and serving."""
    return json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})


async def readyz(request: Request) -> Response:
    """The database answers: this process can do useful work."""
    try:
        await request.app.state.provider.storage.ping()
    except DatabaseUnavailable:
        count_database_unavailable(request)
        return json_response(
            {"status": "unavailable", "database": "unreachable"},
            503,
            headers={"Cache-Control": "no-store", "Retry-After": "5"},
        )
    return json_response({"status": "ready"}, headers={"Cache-Control": "no-store"})
