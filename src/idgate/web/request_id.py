"""The request id: answered in `X-Request-Id`, written into every log and audit record.

An incoming `X-Request-Id` is kept only from a trusted proxy (which made it, so that its logs
and idgate's meet) and only when it is short and made of safe characters; anyone else's would
let a client plant text in the logs or pass itself off as another request.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
from typing import Final

from starlette.types import Scope

HEADER: Final = b"x-request-id"
SCOPE_KEY: Final = "idgate.request_id"
_ACCEPTABLE = re.compile(rb"[A-Za-z0-9._:=+/-]{1,128}")


class _Sequence:
    """Ids unique across processes without a system call per request: a random prefix per
    process and a counter. They are labels for correlation, not secrets."""

    def __init__(self) -> None:
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self._prefix = secrets.token_hex(4)
        self._counter = itertools.count(secrets.randbelow(1 << 32))

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFF:08x}"


_ids = _Sequence()


def request_id_for(scope: Scope, *, from_trusted_proxy: bool) -> str:
    if from_trusted_proxy:
        for name, value in scope["headers"]:
            if name == HEADER:
                if _ACCEPTABLE.fullmatch(value):
                    accepted: bytes = value
                    return accepted.decode("ascii")
                break
    return _ids.next()
