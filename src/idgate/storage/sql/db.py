"""The database seam: plain SQL statements, prepared once, run on the raw drivers.

Statements are written once with `:name` parameters and run unchanged on SQLite (stdlib
`sqlite3`, which takes named parameters) and PostgreSQL (`asyncpg`, which takes `$1`…; the
translation is made once, when the statement is defined). SQLAlchemy stays for what it is good
at here, the schema and Alembic migrations; on the request path its statement building and the
aiosqlite thread hops cost ten times the SQL itself (docs/benchmark.md).

SQLite runs on the event-loop thread: a statement on a local file takes microseconds, far less
than handing it to a thread and back. One connection per process, in autocommit mode, so that
every statement is its own transaction unless `transaction()` groups some. SQLite's own busy
handler would sleep on the loop thread while another process holds the write lock, stalling
every request of this one; so the connection never waits itself (busy_timeout 0) and a busy
statement is retried after an asynchronous sleep instead. For the same reason the WAL is not
checkpointed by the committing statement (its fsync would stall the loop) but once a second
by a worker thread with a connection of its own.

That checkpoint (PASSIVE) never blocks writers, and so under writes without a pause it never
catches up: SQLite starts the WAL afresh only when it finds every frame folded back, and the
file grew by the gigabyte in minutes of steady load. Past 64 MiB the worker therefore
restarts the WAL, holding this process's statements off for the moment that takes (a sync
of the database file). Whenever the WAL starts afresh, its file is truncated (see
`journal_size_limit` below): overwriting its old pages stalled the loop thread on disk I/O.

The connection's page cache is 64 MiB (SQLite's default: 2 MiB) for the same reason: the
pages of recent codes and tokens stay in the process rather than in the kernel's cache,
which may evict what has not been touched for a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Literal, Protocol, TypeVar

import asyncpg

from idgate.storage.base import DatabaseUnavailable

Params = Mapping[str, Any]

_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class Row(Protocol):
    """A result row: sqlite3.Row and asyncpg.Record both read by column name."""

    def __getitem__(self, key: str, /) -> Any: ...


class Conflict(Exception):
    """A unique or primary key is already taken."""


class Statement:
    """One SQL statement, translated once for each driver."""

    __slots__ = ("names", "postgres", "sqlite")

    def __init__(self, sql: str, *, postgres: str | None = None) -> None:
        self.sqlite = sql
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"

        self.postgres = _PARAMETER.sub(number, postgres or sql)
        self.names = tuple(names)

    def positional(self, params: Params) -> list[Any]:
        return [params[name] for name in self.names]


def sql(text: str, *, postgres: str | None = None) -> Statement:
    """A statement; `postgres` spells it differently there, with the same parameters."""
    return Statement(text, postgres=postgres)


class Executor(Protocol):
    async def one(self, statement: Statement, params: Params = ...) -> Row | None: ...
    async def all(self, statement: Statement, params: Params = ...) -> Sequence[Row]: ...
    async def run(self, statement: Statement, params: Params = ...) -> int:
        """Run a statement that returns no rows; the number of rows it changed."""
        ...


class Database(Executor, Protocol):
    dialect: str

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Executor]:
        """Group statements into one transaction (committed at the end, rolled back on error)."""
        ...

    async def close(self) -> None: ...


_NO_PARAMS: Params = {}
_T = TypeVar("_T")
_SQLITE_BUSY = 5


class _Busy(Exception):
    """Another connection holds the lock this statement needs; nothing was done."""


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    # Extended codes (SQLITE_BUSY_SNAPSHOT…) keep the primary code in the low byte.
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == _SQLITE_BUSY


# --- SQLite ---------------------------------------------------------------------------------


# The loop connection's page cache (SQLite's default is 2 MiB); see the module text.
CACHE_KIB = 64 * 1024
# WAL frames (a page each, 4 KiB by default) past which the checkpoint restarts the WAL: a
# restart holds statements off for a sync of the database file, so not every second.
WAL_RESTART_FRAMES = 16384

_Mode = Literal["PASSIVE", "RESTART"]


class SqliteDatabase:
    dialect = "sqlite"

    def __init__(self, path: str, *, lock_wait_seconds: float = 10.0) -> None:
        self._lock_wait_seconds = lock_wait_seconds
        try:
            self._conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, cached_statements=512
            )
            self._conn.row_factory = sqlite3.Row
            # WAL lets readers and one writer work side by side (several processes on one
            # file). The lock is waited for in `_retrying`, off the loop thread's sleep.
            self._conn.execute("PRAGMA busy_timeout=10000")
            self._conn.execute("PRAGMA journal_mode=WAL")
            for pragma in (
                "PRAGMA busy_timeout=0",
                "PRAGMA wal_autocheckpoint=0",
                "PRAGMA synchronous=NORMAL",
                f"PRAGMA cache_size=-{CACHE_KIB}",
                # Each time the WAL starts afresh, its file is cut back to what was just
                # written: later frames are appended to new pages, never written over old
                # ones that the kernel may be writing out (the write waits) or may have
                # evicted (the write first reads them back from disk).
                "PRAGMA journal_size_limit=0",
                "PRAGMA foreign_keys=ON",
            ):
                self._conn.execute(pragma)
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(f"cannot open SQLite database {path!r}: {exc}") from exc
        # The connection is shared by every task of the process: while one task holds a
        # transaction open across awaits, the others wait for it rather than join it.
        self._transaction_lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._path = path
        self._checkpointer: asyncio.Task[None] | None = None

    def start_checkpoints(
        self, every_seconds: float = 1.0, *, restart_frames: int = WAL_RESTART_FRAMES
    ) -> None:
        """Checkpoint the WAL in the background (needs a running event loop)."""
        self._checkpointer = asyncio.create_task(
            self._checkpoint_forever(every_seconds, restart_frames)
        )

    async def _checkpoint_forever(self, every_seconds: float, restart_frames: int) -> None:
        while True:
            await asyncio.sleep(every_seconds)
            frames = await asyncio.to_thread(_checkpoint, self._path, "PASSIVE")
            if frames >= restart_frames:
                # This process's statements wait on the loop meanwhile: the checkpoint gets
                # the write lock at once instead of racing them for it.
                async with self._transaction_lock:
                    await asyncio.to_thread(_checkpoint, self._path, "RESTART")

    async def _wait_for_transaction(self) -> None:
        if self._transaction_lock.locked() and self._owner is not asyncio.current_task():
            async with self._transaction_lock:
                pass

    def _fetch(self, statement: Statement, params: Params) -> list[Row]:
        try:
            # fetchall: a statement with RETURNING is only complete once stepped to its end.
            rows: list[Row] = self._conn.execute(statement.sqlite, params).fetchall()
        except sqlite3.IntegrityError as exc:
            raise Conflict(str(exc)) from exc
        except sqlite3.OperationalError as exc:
            raise _translated_sqlite(exc) from exc
        return rows

    def _change(self, statement: Statement, params: Params) -> int:
        try:
            return self._conn.execute(statement.sqlite, params).rowcount
        except sqlite3.IntegrityError as exc:
            raise Conflict(str(exc)) from exc
        except sqlite3.OperationalError as exc:
            raise _translated_sqlite(exc) from exc

    async def _retrying(self, work: Callable[[], _T]) -> _T:
        """Run `work` now; while the database is locked by another process, try again after
        a short asynchronous sleep (growing to 50 ms), so this process keeps serving."""
        deadline: float | None = None
        pause = 0.0005
        while True:
            # Never between another task's BEGIN and COMMIT: its transaction is not ours.
            if self._transaction_lock.locked():
                await self._wait_for_transaction()
            try:
                return work()
            except _Busy:
                now = time.monotonic()
                deadline = deadline or now + self._lock_wait_seconds
                if now > deadline:
                    raise DatabaseUnavailable("the database stayed locked") from None
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    async def one(self, statement: Statement, params: Params = _NO_PARAMS) -> Row | None:
        rows = await self._retrying(lambda: self._fetch(statement, params))
        return rows[0] if rows else None

    async def all(self, statement: Statement, params: Params = _NO_PARAMS) -> Sequence[Row]:
        return await self._retrying(lambda: self._fetch(statement, params))

    async def run(self, statement: Statement, params: Params = _NO_PARAMS) -> int:
        return await self._retrying(lambda: self._change(statement, params))

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Executor]:
        return _SqliteTransaction(self)

    def _statement(self, text: str) -> None:
        try:
            self._conn.execute(text)
        except sqlite3.OperationalError as exc:
            raise _translated_sqlite(exc) from exc

    def _commit(self) -> None:
        try:
            self._conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            self._conn.execute("ROLLBACK")
            raise DatabaseUnavailable(f"the database is unavailable: {exc}") from exc

    async def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
        with contextlib.suppress(sqlite3.Error):
            # The last connection out folds the WAL back into the database file.
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        self._conn.close()


class _SqliteTransaction:
    """BEGIN IMMEDIATE … COMMIT on the process's one connection. A class, not a generator
    context manager: it is on the token endpoint's path. IMMEDIATE takes the write lock first
    (waiting for it like any statement), so the transaction never fails half-way with
    SQLITE_BUSY when it first writes."""

    __slots__ = ("_db",)

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def __aenter__(self) -> SqliteDatabase:
        db = self._db
        await db._transaction_lock.acquire()
        db._owner = asyncio.current_task()
        try:
            await db._retrying(lambda: db._statement("BEGIN IMMEDIATE"))
        except BaseException:
            db._owner = None
            db._transaction_lock.release()
            raise
        return db

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        db = self._db
        try:
            if exc_type is None:
                db._commit()
            else:
                db._conn.execute("ROLLBACK")
        finally:
            db._owner = None
            db._transaction_lock.release()


def _translated_sqlite(exc: sqlite3.OperationalError) -> Exception:
    if _is_busy(exc):
        return _Busy()
    return DatabaseUnavailable(f"the database is unavailable: {exc}")


def _checkpoint(path: str, mode: _Mode) -> int:
    """Fold the WAL into the database file, on a connection of this thread's own (opened
    each time, so that nothing is shared with the loop thread or outlives a cancelled task):
    the WAL's size in frames, 0 when the checkpoint failed.

    PASSIVE copies what no reader still needs and never waits for or blocks writers;
    RESTART takes the write lock to copy the rest (what was written since), so that the
    next writer starts the WAL afresh."""
    with contextlib.suppress(sqlite3.Error):
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            # A RESTART holds this process's statements off while it waits for the lock: so
            # only briefly (another process's writes may keep it; the next second may not).
            conn.execute(f"PRAGMA busy_timeout={1000 if mode == 'PASSIVE' else 50}")
            _, frames, _ = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
            return int(frames)
        finally:
            conn.close()
    return 0


# --- PostgreSQL -----------------------------------------------------------------------------

# SQLSTATE classes that mean "cannot talk to the database", not "bad statement":
# 08 connection exception, 57P operator intervention (shutdown, cannot connect now),
# 28 invalid authorization, 3D000 the database does not exist (any more).
_UNAVAILABLE_SQLSTATES = ("08", "57P", "28", "3D000")


def _is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.PostgresError):
        sqlstate = getattr(exc, "sqlstate", None)
        return isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES)
    # InternalClientError is asyncpg's protocol state machine refusing a statement. A server
    # that shuts down ends its idle sessions with an unsolicited FATAL (57P01); the connection
    # that got it sits in an error state until its socket's close is seen, and the pool can
    # hand it out in between ("cannot switch to state 12; another operation (2) is in
    # progress", seen under load on uvloop). The connection is dying, not the statement wrong.
    return isinstance(
        exc,
        (
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,
            OSError,
            TimeoutError,
            ConnectionError,
        ),
    )


@contextlib.contextmanager
def _translated() -> Any:
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(str(exc)) from exc
    except Exception as exc:
        if _is_unavailable(exc):
            raise DatabaseUnavailable("the database is unavailable") from exc
        raise


def _rowcount(status: str) -> int:
    # asyncpg answers a command with its tag: "UPDATE 3", "DELETE 0", "INSERT 0 1".
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _PostgresConnection:
    """Statements on one connection (inside a transaction)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def one(self, statement: Statement, params: Params = _NO_PARAMS) -> Row | None:
        with _translated():
            row: Row | None = await self._conn.fetchrow(
                statement.postgres, *statement.positional(params)
            )
        return row

    async def all(self, statement: Statement, params: Params = _NO_PARAMS) -> Sequence[Row]:
        with _translated():
            rows: list[Row] = await self._conn.fetch(
                statement.postgres, *statement.positional(params)
            )
        return rows

    async def run(self, statement: Statement, params: Params = _NO_PARAMS) -> int:
        with _translated():
            status: str = await self._conn.execute(
                statement.postgres, *statement.positional(params)
            )
        return _rowcount(status)


async def _no_session_state_to_reset(_conn: Any) -> None:
    """idgate sets no session state (no SET, LISTEN or advisory locks on pooled connections):
    skip asyncpg's reset query, a round trip on every release. An open transaction is still
    rolled back by asyncpg itself."""


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        # The pool's own fetch/execute run each statement in autocommit on a connection it
        # takes and gives back: one round trip, no BEGIN/COMMIT around a single statement.
        self._autocommit = _PostgresConnection(pool)

    @classmethod
    async def connect(cls, dsn: str, *, min_size: int = 1, max_size: int = 10) -> PostgresDatabase:
        with _translated():
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                timeout=5,
                command_timeout=30,
                max_inactive_connection_lifetime=300,
                statement_cache_size=256,
                reset=_no_session_state_to_reset,
            )
        return cls(pool)

    async def one(self, statement: Statement, params: Params = _NO_PARAMS) -> Row | None:
        return await self._autocommit.one(statement, params)

    async def all(self, statement: Statement, params: Params = _NO_PARAMS) -> Sequence[Row]:
        return await self._autocommit.all(statement, params)

    async def run(self, statement: Statement, params: Params = _NO_PARAMS) -> int:
        return await self._autocommit.run(statement, params)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        with _translated():
            async with self._pool.acquire() as conn, conn.transaction():
                yield _PostgresConnection(conn)

    async def close(self) -> None:
        # terminate(), not close(): close() waits for every borrowed connection to come back.
        self._pool.terminate()
