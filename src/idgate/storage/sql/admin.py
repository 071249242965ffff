"""Server-level statements (CREATE/DROP DATABASE) for tests and tools, outside any schema."""

from __future__ import annotations

import asyncpg
from sqlalchemy import make_url

from idgate.storage.sql.engine import driver_dsn


def with_database(database_url: str, database: str) -> str:
    return make_url(database_url).set(database=database).render_as_string(hide_password=False)


async def run_admin_sql(database_url: str, statement: str) -> None:
    """Run one PostgreSQL statement outside a transaction (CREATE DATABASE needs that)."""
    conn = await asyncpg.connect(driver_dsn(database_url), timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()
