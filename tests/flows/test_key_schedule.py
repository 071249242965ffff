"""Scheduled key rotation over real storage (SQLite and PostgreSQL) with a frozen clock: the
rotation comes at the interval and once however many processes race for it, the next key is
published long enough before it signs, and a retired key stays published until what it signed
has expired."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest

from idgate.clock import FrozenClock
from idgate.config import ConfigError, Settings, load_settings
from idgate.crypto.jwt import sign_jwt, verify_jwt
from idgate.crypto.sealing import KeySealer
from idgate.protocol.logout import LOGOUT_TOKEN_LIFETIME
from idgate.provider.key_schedule import KeySchedule
from idgate.provider.key_timings import CLOCK_SKEW_MARGIN, KeyTimings, key_timings
from idgate.provider.keys import KeyManager
from idgate.storage.base import StoredKey
from idgate.storage.sql import SqlStorage, connect_storage
from idgate.testing import asgi_client, open_test_provider
from idgate.web.app import create_app

pytestmark = pytest.mark.anyio

TIMINGS = KeyTimings(
    rotation_interval=1000, reload_interval=10, jwks_max_age=100, longest_signed_lifetime=3600
)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def storages(database_url: str) -> AsyncIterator[list[SqlStorage]]:
    """Three storages on one database, each with its own connection(s): three processes."""
    opened = [await connect_storage(database_url, migrate_schema=False) for _ in range(3)]
    yield opened
    for storage in opened:
        await storage.close()


def manager(storage: SqlStorage, clock: FrozenClock, timings: KeyTimings = TIMINGS) -> KeyManager:
    return KeyManager(storage.keys, KeySealer(None), clock, timings=timings)


async def states(keys: KeyManager) -> dict[str, str]:
    return {k.kid: k.state for k in await keys.list()}


async def published(keys: KeyManager) -> set[str]:
    return {k["kid"] for k in (await keys.reload()).jwks()["keys"]}


async def signer(keys: KeyManager) -> str:
    return (await keys.keyring()).signing_key("RS256").kid


# --- the repository's compare-and-set --------------------------------------------------------


def _key(kid: str, state: str, created_at: int = 1) -> StoredKey:
    return StoredKey(
        kid=kid,
        alg="RS256",
        state=state,  # type: ignore[arg-type]
        private_sealed="sealed",
        public_jwk={"kty": "RSA", "kid": kid},
        created_at=created_at,
        activated_at=created_at if state == "current" else None,
    )


async def test_a_rotation_claimed_from_a_stale_view_changes_nothing(
    storages: list[SqlStorage],
) -> None:
    a, b, _ = (s.keys for s in storages)
    await a.add(_key("k0", "current"))
    await a.add(_key("k1", "next"))
    # Both read k0 as current and k1 as next; a claims first.
    assert await a.promote(
        alg="RS256", current_kid="k0", next_kid="k1", fresh_next=_key("k2", "next"), now=50
    )
    assert not await b.promote(
        alg="RS256", current_kid="k0", next_kid="k1", fresh_next=_key("k3", "next"), now=51
    )
    by_kid = {k.kid: k for k in await b.list()}
    assert {kid: k.state for kid, k in by_kid.items()} == {
        "k0": "retired",
        "k1": "current",
        "k2": "next",
    }
    assert by_kid["k0"].retired_at == 50
    assert by_kid["k1"].activated_at == 50


async def test_a_rotation_retires_every_current_key_of_its_alg(
    storages: list[SqlStorage],
) -> None:
    keys = storages[0].keys
    # Two processes racing on first start can each have made a current key.
    await keys.add(_key("k0", "current", created_at=1))
    await keys.add(_key("k0b", "current", created_at=2))
    await keys.add(_key("k1", "next"))
    assert await keys.promote(alg="RS256", current_kid="k0", next_kid="k1", fresh_next=None, now=9)
    assert {k.kid: k.state for k in await keys.list()} == {
        "k0": "retired",
        "k0b": "retired",
        "k1": "current",
    }


async def test_retired_keys_are_removed_by_retirement_time_only(
    storages: list[SqlStorage],
) -> None:
    keys = storages[0].keys
    for kid in ("old", "recent", "current"):
        await keys.add(_key(kid, "current"))
    await keys.set_state("old", "retired", now=100)
    await keys.set_state("recent", "retired", now=200)
    assert await keys.remove_retired(retired_before=150) == 1
    assert {k.kid for k in await keys.list()} == {"recent", "current"}


# --- the schedule --------------------------------------------------------------------------


async def test_off_by_default_the_schedule_does_nothing(
    storages: list[SqlStorage], clock: FrozenClock
) -> None:
    keys = manager(storages[0], clock, KeyTimings())
    await keys.ensure_signing_key()
    clock.advance(10 * 365 * 24 * 3600)
    assert await keys.rotate_due() == []
    assert list((await states(keys)).values()) == ["current"]


async def test_rotation_happens_at_the_interval(
    storages: list[SqlStorage], clock: FrozenClock
) -> None:
    keys = manager(storages[0], clock)
    await keys.ensure_signing_key()
    first = await signer(keys)
    assert await keys.rotate_due() == []  # publishes a next key
    (upcoming,) = [kid for kid, state in (await states(keys)).items() if state == "next"]

    clock.advance(TIMINGS.rotation_interval - 1)
    assert await keys.rotate_due() == []
    assert await signer(keys) == first

    clock.advance(1)
    (rotation,) = await keys.rotate_due()
    assert (rotation.retired, rotation.activated) == (first, upcoming)
    assert await signer(keys) == upcoming
    assert await states(keys) == {first: "retired", upcoming: "current", rotation.next: "next"}

    # The next rotation is one interval after this one, not after the first key's start.
    clock.advance(TIMINGS.rotation_interval - 1)
    assert await keys.rotate_due() == []
    clock.advance(1)
    (again,) = await keys.rotate_due()
    assert (again.retired, again.activated) == (upcoming, rotation.next)


async def test_the_next_key_is_published_for_the_lead_time_before_it_signs(
    storages: list[SqlStorage], clock: FrozenClock
) -> None:
    keys = manager(storages[0], clock)
    await keys.ensure_signing_key()
    first = await signer(keys)
    # The schedule is switched on long after the key started signing: the rotation is due,
    # but there is no next key yet. It is published first, and signs only after the lead.
    clock.advance(10 * TIMINGS.rotation_interval)
    assert await keys.rotate_due() == []
    (upcoming,) = [kid for kid, state in (await states(keys)).items() if state == "next"]
    assert upcoming in await published(keys)
    assert await signer(keys) == first

    clock.advance(TIMINGS.publish_lead - 1)
    assert await keys.rotate_due() == []
    assert await signer(keys) == first

    clock.advance(1)
    (rotation,) = await keys.rotate_due()
    assert rotation.activated == upcoming
    assert rotation.published_for == TIMINGS.publish_lead == 110
    assert await signer(keys) == upcoming
    assert rotation.next in await published(keys)


async def test_processes_racing_for_a_due_rotation_rotate_once(
    storages: list[SqlStorage], clock: FrozenClock
) -> None:
    processes = [manager(storage, clock) for storage in storages]
    await processes[0].ensure_signing_key()
    await processes[0].rotate_due()
    before = await states(processes[0])
    for _round in range(3):
        clock.advance(TIMINGS.rotation_interval)
        won = [r for rs in await asyncio.gather(*(p.rotate_due() for p in processes)) for r in rs]
        assert len(won) == 1
        after = await states(processes[0])
        # One more key (the fresh next of the one winner); one current, one next, always.
        assert len(after) == len(before) + 1
        assert sorted(after.values()).count("current") == 1
        assert sorted(after.values()).count("next") == 1
        assert after[won[0].activated] == "current"
        before = after
    # Every process signs with the winner's key once its ring is reloaded.
    for process in processes:
        assert {k["kid"] for k in (await process.reload()).jwks()["keys"]} == set(before)
        assert await signer(process) == won[0].activated


async def test_a_retired_key_stays_published_until_its_tokens_expired(
    storages: list[SqlStorage], clock: FrozenClock
) -> None:
    keys = manager(storages[0], clock)
    schedule = KeySchedule(keys)
    await keys.ensure_signing_key()
    await schedule.step()
    first = (await keys.keyring()).signing_key("RS256")
    clock.advance(TIMINGS.rotation_interval)
    # A token signed just before the rotation, and one signed by a process whose ring is as
    # old as the reload interval allows.
    last_exp = clock.now() + TIMINGS.reload_interval + TIMINGS.longest_signed_lifetime
    token = sign_jwt({"iss": "https://op.example", "exp": last_exp}, first)
    (rotation,) = await schedule.step()
    assert rotation.retired == first.kid

    # Later rotations come and go; the retired key stays until its tokens can have expired
    # (with the clock skew verifiers allow).
    clock.advance(TIMINGS.retire_after - 1)
    await schedule.step()
    assert first.kid in await published(keys)
    assert last_exp < clock.now() < last_exp + CLOCK_SKEW_MARGIN
    verify_jwt(token, (await keys.keyring()).jwks(), algs=["RS256"])

    clock.advance(2)
    await schedule.step()
    assert first.kid not in await published(keys)
    assert first.kid not in await states(keys)


async def test_a_manual_rotation_sets_the_schedule_back(
    storages: list[SqlStorage], clock: FrozenClock
) -> None:
    keys = manager(storages[0], clock)
    await keys.ensure_signing_key()
    await keys.rotate_due()
    clock.advance(TIMINGS.rotation_interval - 10)
    manual = await keys.rotate("RS256")
    assert manual.published_for == TIMINGS.rotation_interval - 10
    clock.advance(10)
    assert await keys.rotate_due() == []
    clock.advance(TIMINGS.rotation_interval - 10)
    (scheduled,) = await keys.rotate_due()
    assert scheduled.retired == manual.activated


# --- the timings come from the settings ----------------------------------------------------


def test_retire_after_follows_the_longest_signed_lifetime() -> None:
    timings = key_timings(Settings(id_token_ttl=600, access_token_ttl=7200, key_reload_interval=5))
    assert timings.retire_after == 5 + 7200 + CLOCK_SKEW_MARGIN
    timings = key_timings(Settings(id_token_ttl=9000, access_token_ttl=60))
    assert timings.retire_after == 30 + 9000 + CLOCK_SKEW_MARGIN
    # Logout Tokens count too, however short the others are.
    timings = key_timings(Settings(id_token_ttl=10, access_token_ttl=10))
    assert timings.longest_signed_lifetime == LOGOUT_TOKEN_LIFETIME


def test_the_defaults_keep_the_schedule_off() -> None:
    timings = key_timings(load_settings(environ={}))
    assert not timings.scheduled
    assert timings.publish_lead == 300 + 30


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"IDGATE_KEY_ROTATION_INTERVAL": "329"},
            r"at least jwks_max_age \+ key_reload_interval \(330 s\)",
        ),
        ({"IDGATE_KEY_ROTATION_INTERVAL": "-1"}, "key_rotation_interval"),
        ({"IDGATE_KEY_RELOAD_INTERVAL": "0"}, "key_reload_interval"),
        ({"IDGATE_JWKS_MAX_AGE": "-5"}, "jwks_max_age"),
        ({"IDGATE_KEY_ROTATION_INTERVAL": "daily"}, "not a valid value"),
    ],
)
def test_bad_key_timings_are_refused(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=environ)


def test_a_rotation_interval_that_fits_the_lead_is_accepted() -> None:
    settings = load_settings(
        environ={
            "IDGATE_KEY_ROTATION_INTERVAL": "3",
            "IDGATE_KEY_RELOAD_INTERVAL": "1",
            "IDGATE_JWKS_MAX_AGE": "2",
        }
    )
    assert key_timings(settings) == dataclasses.replace(
        KeyTimings(rotation_interval=3, reload_interval=1, jwks_max_age=2),
        longest_signed_lifetime=3600,
    )


async def test_jwks_is_cached_for_the_bound_the_timings_count_on(database_url: str) -> None:
    provider = await open_test_provider(database_url, jwks_max_age=42)
    try:
        async with asgi_client(create_app(provider)) as http:
            response = await http.get("/jwks")
        assert response.headers["cache-control"] == "public, max-age=42"
        assert provider.keys.timings.publish_lead == 42 + 30
    finally:
        await provider.close()
