"""The id of the request being served, for every log and audit record written meanwhile.

A context variable rather than a parameter: the audit log, the access log and any library's
logging see it without each call site passing it on.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Final

request_id: Final[ContextVar[str | None]] = ContextVar("idgate_request_id", default=None)
