"""The query parameters a PostgreSQL `database_url` may carry: libpq's TLS ones and `host`.

Both connection paths hand the URL, parameters and all, to asyncpg, which reads them as libpq
does (docs/deployment.md#postgresql). Anything else would reach the server as a run-time setting
(`?ssl=…` fails there, on the first request) or SQLAlchemy's dialect as a keyword asyncpg does
not take, so it is refused with one line before anything connects.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_FILE_PARAMETERS = ("sslrootcert", "sslcert", "sslkey")
# `host` names a Unix socket directory: postgresql://idgate@/idgate?host=/var/run/postgresql
SUPPORTED = ("sslmode", *_FILE_PARAMETERS, "host")


def postgres_url_problem(query: Mapping[str, str | tuple[str, ...]]) -> str | None:
    """What is wrong with these query parameters of a PostgreSQL URL; None if nothing."""
    for name, value in query.items():
        if name not in SUPPORTED:
            hint = " (for TLS write sslmode=require, not ssl=…)" if name == "ssl" else ""
            return (
                f"the database URL parameter {name!r} is not supported{hint}; "
                f"idgate takes {', '.join(SUPPORTED)}"
            )
        if not isinstance(value, str):
            return f"the database URL gives {name!r} more than once"
        if name == "sslmode" and value not in SSL_MODES:
            return f"sslmode={value!r} in the database URL is not one of {', '.join(SSL_MODES)}"
        if name in _FILE_PARAMETERS:
            # The driver would only say "No such file or directory", without the name.
            path = Path(value).expanduser()
            if not path.is_file():
                return f"{name} file {value!r} in the database URL does not exist"
            if not os.access(path, os.R_OK):
                return f"{name} file {value!r} in the database URL cannot be read"
    return None
