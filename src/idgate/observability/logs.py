"""Logging set-up for `idgate serve`: plain text lines or one JSON object per line.

Every record carries the id of the request it was written for (`request_id`, `-` outside a
request). JSON lines hold `timestamp`, `level`, `logger`, `message` and `request_id`; an
access record adds its fields (method, route, status, duration_ms, client), an audit record
its event under `audit` (the event's name is the message).

What reaches a record is kept free of secrets where it is written (the audit log by its fixed
fields, the access log by logging route templates only); this module adds nothing from the
request itself.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Final

from idgate.config import LogFormat
from idgate.observability.context import request_id
from idgate.provider.audit import AUDIT_LOGGER

_TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


class RequestIdFilter(logging.Filter):
    """Puts the current request id on each record (a handler filter: it always passes)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            current = request_id.get()
            if current is not None:
                record.request_id = current
        return True


class TextFormatter(logging.Formatter):
    """`time LEVEL logger [request id]: message`, with `-` outside a request."""

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT, defaults={"request_id": "-"})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        audit = getattr(record, "audit", None)
        if isinstance(audit, dict):
            entry["message"] = audit.get("event")
            entry["audit"] = audit
        access = getattr(record, "access", None)
        if isinstance(access, dict):
            entry.update(access)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=True, separators=(",", ":"), default=str)


class OneLineWarnings(logging.Filter):
    """A library's warning that carries a traceback says what failed in one line instead.

    While the database is down, asyncpg retries its pool's connection floor with a growing
    pause and logs each failure with the whole stack of its connect call; the reason
    ("ConnectionRefusedError: …") is what an operator needs, the stack is noise in the log
    an outage is investigated from. Errors keep their traceback: those are bugs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None and record.levelno < logging.ERROR:
            failure = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({type(failure).__name__}: {failure})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def logging_config(level: str, log_format: LogFormat) -> dict[str, Any]:
    """A `logging.config.dictConfig` document for idgate's and uvicorn's loggers."""
    level = level.upper()
    if log_format == "json":
        formatters: dict[str, Any] = {"main": {"()": JsonFormatter}, "audit": {"()": JsonFormatter}}
    else:
        formatters = {
            "main": {"()": TextFormatter},
            # Audit records are JSON lines already (provider/audit.py): printed bare.
            "audit": {"format": "%(message)s"},
        }

    def handler(formatter: str, *filters: str) -> dict[str, Any]:
        return {
            "class": "logging.StreamHandler",
            "formatter": formatter,
            "filters": ["request_id", *filters],
            "stream": "ext://sys.stderr",
        }

    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": RequestIdFilter},
            "one_line_warnings": {"()": OneLineWarnings},
        },
        "formatters": formatters,
        # A handler's filters also see the records of child loggers (asyncpg.pool).
        "handlers": {
            "stderr": handler("main"),
            "audit": handler("audit"),
            "library": handler("main", "one_line_warnings"),
        },
        "loggers": {
            "idgate": {"handlers": ["stderr"], "level": level, "propagate": False},
            AUDIT_LOGGER: {"handlers": ["audit"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "asyncpg": {"handlers": ["library"], "level": level, "propagate": False},
        },
    }
