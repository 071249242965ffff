"""The SQL implementation of the storage ports, on SQLite and PostgreSQL.

This is the only package that imports SQLAlchemy or a database driver.
"""

from idgate.storage.sql.engine import InvalidDatabaseUrl, UnknownSchema, create_engine, migrate
from idgate.storage.sql.storage import SqlStorage, connect_storage

__all__ = [
    "InvalidDatabaseUrl",
    "SqlStorage",
    "UnknownSchema",
    "connect_storage",
    "create_engine",
    "migrate",
]
