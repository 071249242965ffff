"""URLs, the request-path database, and migrations (SQLAlchemy + Alembic, at start-up only)."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, make_url, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from idgate.storage.base import StorageError
from idgate.storage.sql.db import Database, PostgresDatabase, SqliteDatabase
from idgate.storage.sql.errors import translate_errors
from idgate.storage.sql.url_parameters import postgres_url_problem

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: all idgate processes serialise their migrations on this advisory lock.
_MIGRATION_LOCK_ID = 0x1D6A7E


class UnknownSchema(StorageError):
    """The database's schema is of a revision this idgate does not know (a newer release
    migrated it): serving it could corrupt data, so nothing runs on it."""


class InvalidDatabaseUrl(StorageError):
    """The database URL is malformed or names a database idgate does not support."""


def async_url(database_url: str) -> str:
    """Map the URLs operators write to SQLAlchemy's async driver URLs."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise InvalidDatabaseUrl(
            f"database URL {database_url!r} is malformed; use sqlite:///path.db "
            "or postgresql://user@host:port/db"
        ) from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise InvalidDatabaseUrl("SQLite needs a file: sqlite:///path.db")
        return url.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        if not url.database:
            raise InvalidDatabaseUrl("PostgreSQL URL needs a database name: postgresql://host/db")
        problem = postgres_url_problem(url.query)
        if problem is not None:
            raise InvalidDatabaseUrl(problem)
        return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise InvalidDatabaseUrl(
        f"unsupported database {backend!r}: idgate runs on sqlite:// and postgresql://"
    )


def driver_dsn(database_url: str) -> str:
    """What the raw driver takes: a file path for SQLite, a libpq URL for PostgreSQL."""
    url = make_url(async_url(database_url))
    if url.get_backend_name() == "sqlite":
        return url.database or ""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def open_database(database_url: str) -> Database:
    """The database the repositories run their statements on."""
    dsn = driver_dsn(database_url)
    if async_url(database_url).startswith("sqlite"):
        sqlite = SqliteDatabase(dsn)
        sqlite.start_checkpoints()
        return sqlite
    return await PostgresDatabase.connect(dsn)


def create_engine(database_url: str) -> AsyncEngine:
    """A SQLAlchemy engine, for migrations."""
    url = async_url(database_url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    dsn = driver_dsn(database_url)

    async def connect() -> Any:
        # The dialect would pass the URL's parameters to asyncpg as keywords, which it does
        # not take for sslmode & co.; given as a DSN, asyncpg reads them as libpq does, the
        # same way as the request path's pool (db.py).
        return await asyncpg.connect(dsn, timeout=5, command_timeout=30)

    return create_async_engine(
        make_url(url).set(query={}),
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        async_creator=connect,
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers and one writer work side by side (several workers on one file);
    # busy_timeout makes a writer wait for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _pending(connection: Connection) -> bool:
    script = ScriptDirectory.from_config(_alembic_config(connection))
    current = MigrationContext.configure(connection).get_current_heads()
    known = {revision.revision for revision in script.walk_revisions()}
    unknown = sorted(set(current) - known)
    if unknown:
        raise UnknownSchema(
            f"the database schema is at revision {unknown[0]}, which this idgate does not know "
            "(a newer idgate migrated it); run that version, or restore a backup"
        )
    return set(current) != set(script.get_heads())


@contextlib.contextmanager
def _sqlite_file_lock(database: str) -> Iterator[None]:
    # SQLite runs DDL outside transactions, so two processes migrating one file at once would
    # interleave: serialise them on a lock file beside the database instead.
    with open(f"{database}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def migrate(engine: AsyncEngine) -> bool:
    """Bring the schema to the newest revision; idempotent. True if anything was applied."""
    if engine.dialect.name == "sqlite":
        # A file that cannot be opened fails here, cleanly: inside aiosqlite's worker thread
        # the same failure can print a traceback as the process exits.
        await SqliteDatabase(engine.url.database or "").close()
    async with translate_errors(), engine.connect() as conn:
        if not await conn.run_sync(_pending):
            return False
        await conn.rollback()
        if conn.dialect.name == "postgresql":
            async with conn.begin():
                await conn.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_ID})"))
                return await conn.run_sync(_upgrade_if_pending)
        database = engine.url.database or ""
        with _sqlite_file_lock(database):
            applied = await conn.run_sync(_upgrade_if_pending)
            await conn.commit()
            return applied


def _upgrade_if_pending(connection: Connection) -> bool:
    if not _pending(connection):
        return False
    command.upgrade(_alembic_config(connection), "head")
    return True


async def schema_is_current(engine: AsyncEngine) -> bool:
    async with translate_errors(), engine.connect() as conn:
        return not await conn.run_sync(_pending)
