"""Expired rows are purged, live ones kept (both databases)."""

from __future__ import annotations

import pytest

from idgate.clock import FrozenClock
from idgate.provider.maintenance import RETENTION, Janitor
from idgate.storage.base import BrowserSession, PendingInteraction, StoredCode, StoredToken
from idgate.storage.sql import connect_storage

pytestmark = pytest.mark.anyio

NOW = 2_000_000_000


@pytest.fixture
async def storage(database_url: str):  # type: ignore[no-untyped-def]
    storage = await connect_storage(database_url, migrate_schema=False)
    yield storage
    await storage.close()


def _token(token_hash: str, expires_at: int, **extra: object) -> StoredToken:
    return StoredToken(  # type: ignore[arg-type]
        token_hash=token_hash,
        kind="refresh",
        client_id="rp",
        subject="s",
        scope="openid",
        data={},
        created_at=NOW - 10,
        expires_at=expires_at,
        **extra,
    )


async def test_purge_expired(storage) -> None:  # type: ignore[no-untyped-def]
    for name, expires in (("old", NOW - RETENTION - 1), ("recent", NOW - 5), ("live", NOW + 60)):
        await storage.codes.add(
            StoredCode(
                code_hash=name.ljust(64, "x"),
                client_id="rp",
                data={},
                created_at=NOW,
                expires_at=expires,
            )
        )
    await storage.tokens.add(_token("expired", NOW - 1))
    await storage.tokens.add(_token("rotated-live", NOW + 600, family_id="f"))
    await storage.tokens.use_refresh("rotated-live", client_id="rp", now=NOW)
    for name, expires in (("gone", NOW - 1), ("live", NOW + 60)):
        await storage.interactions.add(
            PendingInteraction(
                id_hash=name,
                request={},
                browser_hash="b",
                csrf_token="c",
                created_at=NOW - 100,
                expires_at=expires,
            )
        )
    await storage.replay.first_use("jti:old", expires_at=NOW - 1, now=NOW - 100)
    await storage.replay.first_use("jti:live", expires_at=NOW + 60, now=NOW)
    for sid, expires in (("s-old", NOW - RETENTION - 1), ("s-live", NOW + 60)):
        await storage.sessions.add(
            BrowserSession(
                id_hash=sid.ljust(64, "h"),
                sid=sid,
                subject="alice",
                auth_time=NOW,
                amr=("pwd",),
                created_at=NOW - 10,
                expires_at=expires,
            )
        )
        await storage.sessions.add_client(sid, "rp", now=NOW)

    for ref, expires in (("p-old", NOW - 1), ("p-live", NOW + 60)):
        await storage.pushed_requests.add(
            ref.ljust(64, "p"), client_id="rp", params={}, now=NOW - 10, expires_at=expires
        )

    counts = await storage.maintenance.purge_expired(now=NOW, retention=RETENTION)
    assert counts["pushed_requests"] == 1
    live = await storage.pushed_requests.consume("p-live".ljust(64, "p"), client_id="rp", now=NOW)
    assert live == {}
    assert counts["authorization_codes"] == 1
    assert counts["tokens"] == 1
    assert counts["interactions"] == 1
    assert counts["replay_cache"] == 1
    assert counts["sessions"] == 1

    # A recently expired code is kept, so a replay is still recognised as one.
    assert (await storage.codes.redeem("recent".ljust(64, "x"), now=NOW)).code is not None
    assert (await storage.codes.redeem("old".ljust(64, "x"), now=NOW)).replayed is False
    # A rotated refresh token stays until its family expires: reuse detection needs it.
    assert await storage.tokens.get("rotated-live") is not None
    assert await storage.tokens.get("expired") is None
    assert await storage.interactions.get("live", now=NOW) is not None
    assert not await storage.replay.first_use("jti:live", expires_at=NOW + 60, now=NOW)
    assert await storage.sessions.by_sid("s-old") is None
    assert await storage.sessions.clients("s-old") == []
    assert await storage.sessions.clients("s-live") == ["rp"]


async def test_janitor_sweeps_every_batch(storage) -> None:  # type: ignore[no-untyped-def]
    for i in range(7):
        await storage.tokens.add(_token(f"t{i}", NOW - 1))
    janitor = Janitor(storage.maintenance, FrozenClock(NOW))
    original = storage.maintenance.purge_expired

    async def small_batches(**kwargs: int):  # type: ignore[no-untyped-def]
        return await original(**{**kwargs, "batch": 3})

    storage.maintenance.purge_expired = small_batches
    totals = await janitor.sweep()
    assert totals["tokens"] == 7
