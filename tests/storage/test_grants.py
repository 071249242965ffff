"""Sessions, interactions, consents, codes, tokens, replay cache and rate limits (both DBs)."""

from __future__ import annotations

import asyncio

import pytest

from idgate.storage.base import BrowserSession, PendingInteraction, StoredCode, StoredToken
from idgate.storage.sql import connect_storage

pytestmark = pytest.mark.anyio

NOW = 1_000_000


@pytest.fixture
async def storage(database_url: str):  # type: ignore[no-untyped-def]
    storage = await connect_storage(database_url, migrate_schema=False)
    yield storage
    await storage.close()


def _code(code_hash: str = "c" * 64, expires_at: int = NOW + 60) -> StoredCode:
    return StoredCode(
        code_hash=code_hash,
        client_id="rp",
        data={"nonce": "n", "scopes": ["openid"]},
        created_at=NOW,
        expires_at=expires_at,
    )


def _token(token_hash: str, kind: str = "refresh", **fields: object) -> StoredToken:
    values: dict[str, object] = {
        "token_hash": token_hash,
        "kind": kind,
        "client_id": "rp",
        "subject": "alice",
        "scope": "openid",
        "data": {},
        "created_at": NOW,
        "expires_at": NOW + 3600,
        **fields,
    }
    return StoredToken(**values)  # type: ignore[arg-type]


async def test_a_code_is_redeemed_once(storage) -> None:  # type: ignore[no-untyped-def]
    await storage.codes.add(_code())
    first = await storage.codes.redeem("c" * 64, now=NOW + 1)
    assert first.code is not None
    assert first.code.data == {"nonce": "n", "scopes": ["openid"]}
    assert first.code.consumed_at == NOW + 1
    second = await storage.codes.redeem("c" * 64, now=NOW + 2)
    assert second.code is None
    assert second.replayed
    unknown = await storage.codes.redeem("d" * 64, now=NOW)
    assert unknown.code is None
    assert not unknown.replayed


async def test_concurrent_redemptions_have_one_winner(database_url: str) -> None:
    """Many connections race for one code: the atomic UPDATE lets exactly one through."""
    stores = [await connect_storage(database_url, migrate_schema=False) for _ in range(4)]
    try:
        await stores[0].codes.add(_code())
        start = asyncio.Event()

        async def redeem(i: int) -> bool:
            await start.wait()
            result = await stores[i % len(stores)].codes.redeem("c" * 64, now=NOW + 1)
            return result.code is not None

        tasks = [asyncio.create_task(redeem(i)) for i in range(24)]
        start.set()
        assert sum(await asyncio.gather(*tasks)) == 1
    finally:
        for store in stores:
            await store.close()


async def test_refresh_rotation_and_revocation(storage) -> None:  # type: ignore[no-untyped-def]
    await storage.tokens.add(_token("r1", family_id="f1"))
    await storage.tokens.add(_token("a1", kind="access", family_id="f1"))
    await storage.tokens.add(_token("r2", family_id="f2"))
    assert await storage.tokens.use_refresh("r1", client_id="other", now=NOW + 5) is None
    used = await storage.tokens.use_refresh("r1", client_id="rp", now=NOW + 5)
    assert used is not None
    assert used.used_at == NOW + 5
    assert await storage.tokens.use_refresh("r1", client_id="rp", now=NOW + 6) is None
    not_a_refresh_token = await storage.tokens.use_refresh("a1", client_id="rp", now=NOW + 6)
    assert not_a_refresh_token is None
    assert await storage.tokens.revoke_family("f1", now=NOW + 7) == 2
    assert (await storage.tokens.get("a1")).revoked_at == NOW + 7
    assert (await storage.tokens.get("r2")).revoked_at is None
    assert await storage.tokens.revoke_family("f1", now=NOW + 8) == 0  # already revoked
    assert await storage.tokens.revoke("r2", now=NOW + 9)
    assert await storage.tokens.use_refresh("r2", client_id="rp", now=NOW + 10) is None


async def test_expired_refresh_token_is_not_usable(storage) -> None:  # type: ignore[no-untyped-def]
    await storage.tokens.add(_token("r1", expires_at=NOW))
    assert await storage.tokens.use_refresh("r1", client_id="rp", now=NOW) is None


async def test_replay_cache(storage) -> None:  # type: ignore[no-untyped-def]
    assert await storage.replay.first_use("jti:1", expires_at=NOW + 60, now=NOW)
    assert not await storage.replay.first_use("jti:1", expires_at=NOW + 60, now=NOW + 1)
    assert await storage.replay.first_use("jti:2", expires_at=NOW + 60, now=NOW)
    # After expiry the key may be used again (an expired assertion is rejected anyway).
    assert await storage.replay.first_use("jti:1", expires_at=NOW + 200, now=NOW + 61)


async def test_rate_limit_locks_out_after_the_limit(storage) -> None:  # type: ignore[no-untyped-def]
    args = {"limit": 3, "window": 60, "lockout": 300}
    assert await storage.rate_limits.failure("ip:1", now=NOW, **args) == 0
    assert await storage.rate_limits.failure("ip:1", now=NOW + 1, **args) == 0
    assert await storage.rate_limits.locked_until("ip:1", now=NOW + 1) == 0
    assert await storage.rate_limits.failure("ip:1", now=NOW + 2, **args) == NOW + 302
    assert await storage.rate_limits.locked_until("ip:1", now=NOW + 3) == NOW + 302
    assert await storage.rate_limits.locked_until("ip:1", now=NOW + 303) == 0
    # Failures spread wider than the window never add up to a lock-out.
    for i in range(5):
        assert await storage.rate_limits.failure("ip:2", now=NOW + i * 61, **args) == 0
    await storage.rate_limits.reset("ip:1")
    assert await storage.rate_limits.locked_until("ip:1", now=NOW + 3) == 0


async def test_sessions(storage) -> None:  # type: ignore[no-untyped-def]
    session = BrowserSession(
        id_hash="h" * 64,
        sid="sid1",
        subject="alice",
        auth_time=NOW,
        amr=("pwd",),
        created_at=NOW,
        expires_at=NOW + 100,
    )
    await storage.sessions.add(session)
    assert await storage.sessions.get("h" * 64, now=NOW + 1) == session
    assert await storage.sessions.get("h" * 64, now=NOW + 100) is None  # expired
    await storage.sessions.add_client("sid1", "rp2", now=NOW)
    await storage.sessions.add_client("sid1", "rp1", now=NOW + 1)
    await storage.sessions.add_client("sid1", "rp2", now=NOW + 2)
    assert await storage.sessions.clients("sid1") == ["rp2", "rp1"]
    assert await storage.sessions.end("sid1", now=NOW + 3)
    assert not await storage.sessions.end("sid1", now=NOW + 4)
    assert await storage.sessions.get("h" * 64, now=NOW + 5) is None
    assert (await storage.sessions.by_sid("sid1")).ended_at == NOW + 3


async def test_interactions(storage) -> None:  # type: ignore[no-untyped-def]
    pending = PendingInteraction(
        id_hash="i" * 64,
        request={"client_id": "rp", "scopes": ["openid"]},
        browser_hash="b" * 64,
        csrf_token="t",
        created_at=NOW,
        expires_at=NOW + 600,
    )
    await storage.interactions.add(pending)
    assert await storage.interactions.get("i" * 64, now=NOW) == pending
    assert await storage.interactions.get("i" * 64, now=NOW + 600) is None
    assert await storage.interactions.authenticated("i" * 64, "alice", now=NOW + 5)
    assert await storage.interactions.consented("i" * 64, "alice")
    found = await storage.interactions.get("i" * 64, now=NOW + 6)
    assert (found.subject, found.authenticated_at, found.consented) == ("alice", NOW + 5, True)
    assert await storage.interactions.consume("i" * 64)
    assert not await storage.interactions.consume("i" * 64)


async def test_consents_accumulate(storage) -> None:  # type: ignore[no-untyped-def]
    assert await storage.consents.scopes("alice", "rp") is None
    await storage.consents.grant("alice", "rp", frozenset({"openid", "email"}), now=NOW)
    await storage.consents.grant("alice", "rp", frozenset({"openid", "profile"}), now=NOW + 1)
    assert await storage.consents.scopes("alice", "rp") == {"openid", "email", "profile"}
    assert await storage.consents.revoke("alice", "rp")
    assert await storage.consents.scopes("alice", "rp") is None
