"""Driver failures to reach the database become DatabaseUnavailable (answered as 503)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from idgate.storage.base import DatabaseUnavailable

# SQLSTATE classes that mean "cannot talk to the database", not "bad statement":
# 08 connection exception, 57P operator intervention (shutdown, cannot connect now),
# 28 invalid authorization, 3D000 the database does not exist (any more).
_UNAVAILABLE_SQLSTATES = ("08", "57P", "28", "3D000")


def _is_connection_state(exc: DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES)


@contextlib.asynccontextmanager
async def translate_errors() -> AsyncIterator[None]:
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise DatabaseUnavailable("the database is unavailable") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated or _is_connection_state(exc):
            raise DatabaseUnavailable("the database is unavailable") from exc
        raise
    except (TimeoutError, OSError) as exc:
        raise DatabaseUnavailable("the database is unavailable") from exc
