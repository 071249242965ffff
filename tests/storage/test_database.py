"""The database seam itself: statements, transactions, and SQLite's write lock."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import pytest

from idgate.storage.base import DatabaseUnavailable
from idgate.storage.sql.db import Conflict, Executor, SqliteDatabase, _checkpoint, sql
from idgate.storage.sql.engine import open_database

pytestmark = pytest.mark.anyio

_INSERT = sql("INSERT INTO replay_cache (key, expires_at) VALUES (:key, :at)")
_COUNT = sql("SELECT COUNT(*) AS n FROM replay_cache WHERE key LIKE :prefix")


@pytest.fixture
def sqlite_file(sqlite_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "db.sqlite"
    shutil.copyfile(sqlite_template, path)
    return path


async def _count(db: Executor, prefix: str) -> int:
    row = await db.one(_COUNT, {"prefix": prefix})
    assert row is not None
    count: int = row["n"]
    return count


def test_parameters_are_numbered_once_for_postgres() -> None:
    statement = sql("UPDATE t SET a = :x, b = :y WHERE c = :x AND d = 'x:y' AND e = :y")
    assert statement.postgres == "UPDATE t SET a = $1, b = $2 WHERE c = $1 AND d = 'x:y' AND e = $2"
    assert statement.positional({"y": 2, "x": 1, "unused": 3}) == [1, 2]
    assert statement.sqlite.count(":x") == 2


async def test_statements_and_conflicts(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        assert await db.run(_INSERT, {"key": "k1", "at": 5}) == 1
        with pytest.raises(Conflict):
            await db.run(_INSERT, {"key": "k1", "at": 6})
        assert await _count(db, "k%") == 1
    finally:
        await db.close()


async def test_a_failed_transaction_leaves_nothing(database_url: str) -> None:
    db = await open_database(database_url)
    try:

        async def insert_twice() -> None:
            async with db.transaction() as tx:
                await tx.run(_INSERT, {"key": "t1", "at": 1})
                await tx.run(_INSERT, {"key": "t1", "at": 1})

        with pytest.raises(Conflict):
            await insert_twice()
        assert await _count(db, "t%") == 0
    finally:
        await db.close()


async def test_statements_of_other_tasks_wait_for_an_open_sqlite_transaction(
    sqlite_file: Path,
) -> None:
    path = sqlite_file
    db = SqliteDatabase(str(path))
    try:
        inside = asyncio.Event()
        release = asyncio.Event()

        async def abandoned() -> None:
            async with db.transaction() as tx:
                await tx.run(_INSERT, {"key": "a-inside", "at": 1})
                inside.set()
                await release.wait()
                raise RuntimeError("abandon")

        task = asyncio.create_task(abandoned())
        await inside.wait()
        # Run while the other task's transaction is open: it must not join (and be rolled
        # back with) that transaction.
        outside = asyncio.create_task(db.run(_INSERT, {"key": "a-outside", "at": 1}))
        await asyncio.sleep(0.01)
        assert not outside.done()
        release.set()
        with pytest.raises(RuntimeError):
            await task
        await outside
        assert await _count(db, "a-%") == 1
    finally:
        await db.close()


async def test_a_write_locked_by_another_process_waits_without_stalling_the_loop(
    sqlite_file: Path,
) -> None:
    path = sqlite_file
    db = SqliteDatabase(str(path))
    other = sqlite3.connect(path, isolation_level=None)  # another process's connection
    try:
        other.execute("BEGIN IMMEDIATE")
        write = asyncio.create_task(db.run(_INSERT, {"key": "w1", "at": 1}))
        ticks = 0
        for _ in range(20):
            await asyncio.sleep(0.005)
            ticks += 1
        assert not write.done()
        assert ticks == 20  # the loop kept running while the write waited for the lock
        other.execute("COMMIT")
        assert await asyncio.wait_for(write, 5) == 1
    finally:
        other.close()
        await db.close()


async def test_a_lock_held_too_long_is_an_outage_not_a_hang(
    sqlite_file: Path,
) -> None:
    path = sqlite_file
    db = SqliteDatabase(str(path), lock_wait_seconds=0.2)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(DatabaseUnavailable):
            await db.run(_INSERT, {"key": "w2", "at": 1})
        other.execute("ROLLBACK")
        assert await db.run(_INSERT, {"key": "w2", "at": 1}) == 1
    finally:
        other.close()
        await db.close()


def _wal_size(sqlite_file: Path) -> int:
    return Path(f"{sqlite_file}-wal").stat().st_size


async def test_the_wal_stays_small_under_writes_without_a_pause(sqlite_file: Path) -> None:
    # Each insert appends at least one frame (a 4 KiB page and its header) to the WAL: never
    # restarted, the WAL would end larger than 4 KiB per insert. Restarted, its size follows
    # what is written between two checkpoints, not how much was written in all.
    inserts = 100_000
    db = SqliteDatabase(str(sqlite_file))
    db.start_checkpoints(every_seconds=0.02, restart_frames=1024)
    largest = 0
    try:
        for i in range(inserts):
            await db.run(_INSERT, {"key": f"steady-{i:06d}-{'x' * 400}", "at": i})
            if i % 100 == 0:
                largest = max(largest, _wal_size(sqlite_file))
                await asyncio.sleep(0)  # the checkpointer's turn on the loop, as in a server
        assert await _count(db, "steady-%") == inserts
    finally:
        await db.close()
    assert largest < inserts * 4096 / 2


async def test_a_wal_started_afresh_is_cut_back_to_what_was_just_written(
    sqlite_file: Path,
) -> None:
    db = SqliteDatabase(str(sqlite_file))
    try:
        for i in range(500):
            await db.run(_INSERT, {"key": f"burst-{i:04d}-{'x' * 400}", "at": i})
        assert _wal_size(sqlite_file) > 500 * 4096
        # A pause: the background checkpoint folds every frame back, and the next write
        # starts the WAL afresh.
        frames = await asyncio.to_thread(_checkpoint, str(sqlite_file), "PASSIVE")
        assert frames > 500
        await db.run(_INSERT, {"key": "after-the-pause", "at": 0})
        assert _wal_size(sqlite_file) < 16 * 4096
        assert await _count(db, "burst-%") == 500
    finally:
        await db.close()
