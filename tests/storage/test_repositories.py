"""The SQL repositories, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from idgate.protocol.clients import Client, parse_client_metadata
from idgate.storage.base import Account, AlreadyExists, StoredKey
from idgate.storage.sql import connect_storage, create_engine, migrate

pytestmark = pytest.mark.anyio


@pytest.fixture
async def storage(database_url: str):  # type: ignore[no-untyped-def]
    storage = await connect_storage(database_url, migrate_schema=False)
    yield storage
    await storage.close()


def _client(client_id: str = "c1", **metadata: object) -> Client:
    doc = {"redirect_uris": ["https://rp.example/cb"], "client_name": "RP", **metadata}
    return Client(client_id=client_id, metadata=parse_client_metadata(doc), created_at=10)


async def test_client_round_trip(storage) -> None:  # type: ignore[no-untyped-def]
    client = _client(response_types=["code id_token"], secret_hash=None)
    await storage.clients.add(client)
    found = await storage.clients.get("c1")
    assert found == client
    assert found.metadata.response_types == ("code id_token",)
    assert found.metadata.grant_types == ("authorization_code", "implicit")
    assert await storage.clients.get("nope") is None


async def test_client_ids_are_unique(storage) -> None:  # type: ignore[no-untyped-def]
    await storage.clients.add(_client())
    with pytest.raises(AlreadyExists):
        await storage.clients.add(_client())


async def test_client_update_list_remove(storage) -> None:  # type: ignore[no-untyped-def]
    await storage.clients.add(_client("a"))
    await storage.clients.add(_client("b"))
    assert [c.client_id for c in await storage.clients.list()] == ["a", "b"]
    renamed = parse_client_metadata({"redirect_uris": ["https://rp.example/x"], "client_name": "X"})
    assert await storage.clients.update("a", renamed, now=20)
    assert (await storage.clients.get("a")).metadata.client_name == "X"  # type: ignore[union-attr]
    assert await storage.clients.remove("a")
    assert not await storage.clients.remove("a")
    assert [c.client_id for c in await storage.clients.list()] == ["b"]


async def test_accounts(storage) -> None:  # type: ignore[no-untyped-def]
    alice = Account(subject="s1", username="alice", password_hash="h", claims={"email": "a@x"})
    await storage.accounts.add(alice)
    with pytest.raises(AlreadyExists):
        await storage.accounts.add(Account(subject="s2", username="alice", password_hash="h"))
    assert await storage.accounts.by_username("alice") == alice
    assert await storage.accounts.by_subject("s1") == alice
    assert await storage.accounts.set_claims("alice", {"address": {"country": "NL"}})
    assert await storage.accounts.set_disabled("alice", True)
    assert await storage.accounts.set_password("alice", "h2")
    changed = await storage.accounts.by_username("alice")
    assert changed.claims == {"address": {"country": "NL"}}
    assert changed.disabled
    assert changed.password_hash == "h2"
    assert not await storage.accounts.set_password("bob", "x")
    assert [a.username for a in await storage.accounts.list()] == ["alice"]


async def test_keys(storage) -> None:  # type: ignore[no-untyped-def]
    key = StoredKey(
        kid="k1",
        alg="RS256",
        state="next",
        private_sealed="plain:xx",
        public_jwk={"kty": "RSA", "kid": "k1"},
        created_at=5,
    )
    await storage.keys.add(key)
    assert await storage.keys.list() == [key]
    assert await storage.keys.set_state("k1", "current", now=7)
    (current,) = await storage.keys.list()
    assert current.state == "current"
    assert current.activated_at == 7
    assert await storage.keys.set_state("k1", "retired", now=9)
    assert (await storage.keys.list())[0].retired_at == 9
    assert await storage.keys.remove("k1")
    assert await storage.keys.list() == []


async def test_migrate_is_idempotent(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert await migrate(engine) is False  # the fixture's database is already migrated
    finally:
        await engine.dispose()


async def test_migrations_match_the_schema(database_url: str) -> None:
    """The tables the migrations make are the tables the code queries."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from idgate.storage.sql.schema import metadata

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await engine.dispose()
    assert diff == []
