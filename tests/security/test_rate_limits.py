"""SECURITY.md DCR-11 and RES-03: registration and introspection floods end in 429.

The limits live in the database, so the tests also run two OPs (two processes' worth of
provider) over one database and check that the limit holds across them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from security_support import check_invariants  # type: ignore[import-not-found]

from idgate.clock import FrozenClock
from idgate.config import ConfigError, load_settings
from idgate.protocol.errors import TooManyRequests
from idgate.provider import Provider
from idgate.provider.rate_limits import Limit, RequestLimiter
from idgate.testing import TEST_ISSUER, open_test_provider
from idgate.web.app import create_app

pytestmark = pytest.mark.anyio

DOCUMENT = {"redirect_uris": ["https://rp.example/cb"], "client_name": "RP"}
OpenOP = Callable[..., Awaitable[Provider]]


async def _checked(response: httpx.Response) -> None:
    await response.aread()
    check_invariants(response)


def client_from(provider: Provider, ip: str = "192.0.2.1") -> httpx.AsyncClient:
    """A client of the in-process app whose requests come from `ip`."""
    transport = httpx.ASGITransport(app=create_app(provider), client=(ip, 40000))
    return httpx.AsyncClient(
        transport=transport,
        base_url=TEST_ISSUER,
        event_hooks={"response": [_checked]},
    )


@pytest.fixture
async def open_op(database_url: str) -> AsyncIterator[OpenOP]:
    """Opens OPs over the test's one database; all closed at the end."""
    opened: list[Provider] = []

    async def open_op(**settings: Any) -> Provider:
        provider = await open_test_provider(database_url, **settings)
        opened.append(provider)
        return provider

    yield open_op
    for provider in opened:
        await provider.close()


def assert_too_many(response: httpx.Response, window: int) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "temporarily_unavailable"
    assert 1 <= int(response.headers["retry-after"]) <= window
    assert "no-store" in response.headers["cache-control"]


async def test_registration_flood_from_one_ip(open_op: OpenOP) -> None:
    # DCR-11: 100 registrations at once from one IP → 429 past the default limit (30 a minute).
    clock = FrozenClock(int(time.time()))
    provider = await open_op(registration="open", clock=clock)
    async with client_from(provider) as flooder, client_from(provider, "192.0.2.2") as other:
        answers = await asyncio.gather(
            *(flooder.post("/register", json=DOCUMENT) for _ in range(100))
        )
        statuses = [answer.status_code for answer in answers]
        assert statuses.count(201) == 30
        for answer in answers:
            if answer.status_code != 201:
                assert_too_many(answer, 60)
        # A refused attempt is refused before its body is read: even garbage gets 429.
        garbage = await flooder.post("/register", content=b"{", headers={"content-type": "x"})
        assert_too_many(garbage, 60)
        # Another IP is not held up by the flood.
        assert (await other.post("/register", json=DOCUMENT)).status_code == 201
        clock.advance(60)
        assert (await flooder.post("/register", json=DOCUMENT)).status_code == 201


async def test_registration_limit_holds_across_processes(open_op: OpenOP) -> None:
    # DCR-11: the count is in the database, so two processes share one limit.
    first = await open_op(registration="open", registration_rate_limit=10)
    second = await open_op(registration="open", registration_rate_limit=10)
    statuses = []
    async with client_from(first) as one, client_from(second) as two:
        for _ in range(10):
            statuses.append((await one.post("/register", json=DOCUMENT)).status_code)
            statuses.append((await two.post("/register", json=DOCUMENT)).status_code)
    assert statuses.count(201) == 10
    assert statuses.count(429) == 10


async def test_registration_global_limit(open_op: OpenOP) -> None:
    # DCR-11: the optional limit over all IPs together stops a flood from many addresses.
    provider = await open_op(registration="open", registration_global_rate_limit=5)
    statuses = []
    for number in range(10):
        async with client_from(provider, f"198.51.100.{number}") as client:
            statuses.append((await client.post("/register", json=DOCUMENT)).status_code)
    assert statuses == [201] * 5 + [429] * 5


async def test_client_updates_count_like_registrations(open_op: OpenOP) -> None:
    # DCR-11: an update (RFC 7592 §2.2) is validated and may fetch like a registration.
    provider = await open_op(registration="open", registration_rate_limit=3)
    async with client_from(provider) as client:
        created = (await client.post("/register", json=DOCUMENT)).json()
        auth = {"authorization": f"Bearer {created['registration_access_token']}"}
        uri = created["registration_client_uri"].removeprefix(TEST_ISSUER)
        update = {**DOCUMENT, "client_id": created["client_id"]}
        first, second, third = [await client.put(uri, json=update, headers=auth) for _ in "123"]
    assert [first.status_code, second.status_code] == [200, 200]
    assert_too_many(third, 60)


async def _introspect(
    client: httpx.AsyncClient, basic: tuple[str, str] | None = None
) -> httpx.Response:
    return await client.post("/introspect", data={"token": "unknown"}, auth=basic)


async def _confidential(provider: Provider, name: str) -> tuple[str, str]:
    created = await provider.registration.register_trusted(
        {"redirect_uris": ["https://rp.example/cb"], "client_name": name}
    )
    assert created.client_secret is not None
    return created.client.client_id, created.client_secret


async def test_introspection_flood_per_client(open_op: OpenOP) -> None:
    # RES-03: introspection is rate-limited per authenticated client, with Retry-After.
    clock = FrozenClock(int(time.time()))
    provider = await open_op(clock=clock, introspection_rate_limit=5, introspection_rate_window=30)
    c1, c2 = await _confidential(provider, "C1"), await _confidential(provider, "C2")
    async with client_from(provider) as client:
        for _ in range(5):
            assert (await _introspect(client, c1)).json() == {"active": False}
        assert_too_many(await _introspect(client, c1), 30)
        # Another client behind the same IP has its own budget.
        assert (await _introspect(client, c2)).json() == {"active": False}
        clock.advance(30)
        assert (await _introspect(client, c1)).json() == {"active": False}


async def test_introspection_flood_per_ip(open_op: OpenOP) -> None:
    # RES-03: before authentication, per IP (four clients' worth): guessing costs 429s.
    provider = await open_op(introspection_rate_limit=2)
    async with client_from(provider) as client, client_from(provider, "192.0.2.9") as other:
        for _ in range(8):
            assert (await _introspect(client)).status_code == 401
        assert_too_many(await _introspect(client), 60)
        assert (await _introspect(other)).status_code == 401


async def test_busy_limits_count_in_batches_and_still_hold(open_op: OpenOP) -> None:
    # RES-03: a high limit is counted in batches per process (not a write per request), and
    # holds across two processes to within a batch each.
    clock = FrozenClock(int(time.time()))
    first, second = await open_op(clock=clock), await open_op(clock=clock)
    limiters = [RequestLimiter(p.storage.rate_limits, clock) for p in (first, second)]
    limit, batch = Limit(500, 60), 500 // 50

    async def counted(key: str) -> int:
        count, _started = await first.storage.rate_limits.count(
            key, hits=0, now=clock.now(), window=60
        )
        return count

    for _ in range(batch):
        await limiters[0].hit("introspect:client:quiet", limit)
    assert await counted("introspect:client:quiet") == 1  # the first hit, the rest pending
    await limiters[0].hit("introspect:client:quiet", limit)
    assert await counted("introspect:client:quiet") == batch + 1

    allowed = 0
    for _ in range(400):
        for limiter in limiters:
            try:
                await limiter.hit("introspect:client:busy", limit)
            except TooManyRequests:
                pass
            else:
                allowed += 1
    assert limit.requests <= allowed <= limit.requests + 2 * batch


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("registration_rate_limit", "-1"),
        ("introspection_rate_limit", "-5"),
        ("registration_rate_window", "0"),
        ("introspection_rate_window", "-60"),
    ],
)
def test_limit_settings_are_checked(name: str, value: str) -> None:
    # DCR-11, RES-03: a limit that cannot mean anything is refused at start, not ignored.
    with pytest.raises(ConfigError, match=name):
        load_settings(environ={f"IDGATE_{name.upper()}": value})
    assert getattr(load_settings(environ={f"IDGATE_{name.upper()}": "7"}), name) == 7
