"""Registration access tokens and pushed requests (both DBs)."""

from __future__ import annotations

import asyncio

import pytest

from idgate.storage.sql import connect_storage

pytestmark = pytest.mark.anyio

NOW = 1_000_000


@pytest.fixture
async def storage(database_url: str):  # type: ignore[no-untyped-def]
    storage = await connect_storage(database_url, migrate_schema=False)
    yield storage
    await storage.close()


async def test_registration_access_tokens(storage) -> None:  # type: ignore[no-untyped-def]
    tokens = storage.registration_access_tokens
    assert await tokens.hash_for("c1") is None
    await tokens.put("c1", "a" * 64, now=NOW)
    await tokens.put("c1", "b" * 64, now=NOW + 1)  # replaces
    assert await tokens.hash_for("c1") == "b" * 64
    assert await tokens.remove("c1") is True
    assert await tokens.remove("c1") is False
    assert await tokens.hash_for("c1") is None


async def test_pushed_requests_are_bound_expiring_and_single_use(storage) -> None:  # type: ignore[no-untyped-def]
    pushed = storage.pushed_requests
    params = {"client_id": "c1", "nonce": "n"}
    await pushed.add("p" * 64, client_id="c1", params=params, now=NOW, expires_at=NOW + 60)
    assert await pushed.consume("p" * 64, client_id="c2", now=NOW) is None
    assert await pushed.consume("p" * 64, client_id="c1", now=NOW + 60) is None  # expired
    assert await pushed.consume("p" * 64, client_id="c1", now=NOW + 1) == params
    assert await pushed.consume("p" * 64, client_id="c1", now=NOW + 1) is None  # used


async def test_concurrent_uses_of_a_pushed_request_have_one_winner(database_url: str) -> None:
    stores = [await connect_storage(database_url, migrate_schema=False) for _ in range(4)]
    try:
        await stores[0].pushed_requests.add(
            "p" * 64, client_id="c1", params={"a": "b"}, now=NOW, expires_at=NOW + 60
        )
        start = asyncio.Event()

        async def use(i: int) -> bool:
            await start.wait()
            store = stores[i % len(stores)]
            return (
                await store.pushed_requests.consume("p" * 64, client_id="c1", now=NOW) is not None
            )

        tasks = [asyncio.create_task(use(i)) for i in range(24)]
        start.set()
        assert sum(await asyncio.gather(*tasks)) == 1
    finally:
        for store in stores:
            await store.close()
