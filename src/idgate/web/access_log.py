"""The access log: one line per request with the route template, never the path's values nor
a query string (codes, tokens and ID Token hints travel there, SECURITY.md G9), and no
header (Authorization, cookies).

The text line reads `ip "METHOD /route/{template}" status duration`; the JSON formatter
(observability/logs.py) takes the same fields from `record.access`.
"""

from __future__ import annotations

import logging
from typing import Final

ACCESS_LOGGER: Final = "idgate.access"

log = logging.getLogger(ACCESS_LOGGER)


def log_access(client: str, method: str, route: str, status: int, seconds: float) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    milliseconds = round(seconds * 1000, 1)
    log.info(
        '%s "%s %s" %d %.1fms',
        client,
        method,
        route,
        status,
        milliseconds,
        extra={
            "access": {
                "client": client,
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": milliseconds,
            }
        },
    )
