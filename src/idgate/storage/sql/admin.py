"""Server-level statements (CREATE/DROP DATABASE) for tests and tools, outside any schema."""

from __future__ import annotations

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from idgate.storage.sql.engine import async_url


def with_database(database_url: str, database: str) -> str:
    return make_url(database_url).set(database=database).render_as_string(hide_password=False)


async def run_admin_sql(database_url: str, statement: str) -> None:
    """Run one statement outside a transaction (CREATE DATABASE cannot run inside one)."""
    engine = create_async_engine(async_url(database_url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()
