"""Key rotation across two real `idgate serve` processes on one PostgreSQL: a key rotated by the
schedule or the CLI is published by the other process within the key reload interval, tokens
signed by the new key on one verify against the other's JWKS, and the schedule rotates once per
interval for the whole cluster."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from jwcrypto import jwk, jws  # an independent JOSE implementation

from idgate.storage.base import StoredKey
from idgate.storage.sql import connect_storage
from idgate.testing import ServerProcess, open_test_provider, parse_forms, response_params

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize(
        "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    ),
]

PASSWORD = "key-schedule-password"
CALLBACK = "https://rp.example/cb"
ROTATION_INTERVAL = 2
# Short, so that what the test waits for comes within seconds: RPs may cache the JWKS for 1 s,
# each process reloads its keys at least every second.
TIMINGS = {
    "IDGATE_KEY_RELOAD_INTERVAL": "1",
    "IDGATE_JWKS_MAX_AGE": "1",
}
# How long after a rotation the other process may still lack the key: its reload interval,
# plus a second for the whole-second clock, plus a second for a slow machine.
PUBLISH_BOUND = 3.0


def seed(database_url: str, issuer: str) -> tuple[str, str]:
    async def run() -> tuple[str, str]:
        provider = await open_test_provider(database_url, issuer=issuer)
        try:
            await provider.accounts.add("alice", PASSWORD)
            created = await provider.registration.register_trusted(
                {"redirect_uris": [CALLBACK], "response_types": ["code"], "first_party": True}
            )
            assert created.client_secret is not None
            return created.client.client_id, created.client_secret
        finally:
            await provider.close()

    return asyncio.run(run())


def stored_keys(database_url: str) -> list[StoredKey]:
    async def run() -> list[StoredKey]:
        storage = await connect_storage(database_url, migrate_schema=False)
        try:
            return list(await storage.keys.list())
        finally:
            await storage.close()

    return asyncio.run(run())


def current_kid(database_url: str) -> str:
    (current,) = [k for k in stored_keys(database_url) if k.state == "current"]
    return current.kid


def servers(database_url: str, env: dict[str, str]) -> tuple[ServerProcess, ServerProcess]:
    a = ServerProcess(database_url, env=env)
    # Both processes serve one issuer, as behind one load balancer.
    a.env["IDGATE_ISSUER"] = a.url
    b = ServerProcess(database_url, env={**env, "IDGATE_ISSUER": a.url})
    return a, b


def sign_in(browser: httpx.Client, server: str, client_id: str, **extra: str) -> str:
    started = browser.get(
        f"{server}/authorize",
        params={
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "scope": "openid",
            **extra,
        },
    )
    location = started.headers["location"]
    if location.startswith(CALLBACK):  # an existing session: no login page
        return response_params(location)["code"]
    page = browser.get(f"{server}{location}")
    (form, *_) = parse_forms(page.text)
    done = browser.post(
        f"{server}{form.action}", data={**form.fields, "username": "alice", "password": PASSWORD}
    )
    return response_params(done.headers["location"])["code"]


def id_token(server: str, client: tuple[str, str], code: str) -> str:
    response = httpx.post(
        f"{server}/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
        auth=client,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["id_token"]
    return token


def jwks_kids(server: str) -> set[str]:
    response = httpx.get(f"{server}/jwks")
    assert response.headers["cache-control"] == "public, max-age=1"
    return {key["kid"] for key in response.json()["keys"]}


def wait_until_published(server: str, kid: str, bound: float = PUBLISH_BOUND) -> float:
    """Seconds until `server`'s JWKS lists `kid`; fails past `bound`."""
    started = time.monotonic()
    while kid not in jwks_kids(server):
        assert time.monotonic() - started < bound, f"{kid} not published by {server} in time"
        time.sleep(0.1)
    return time.monotonic() - started


def kid_of(token: str) -> str:
    parsed = jws.JWS()
    parsed.deserialize(token)
    header: dict[str, Any] = parsed.jose_header
    return str(header["kid"])


def verify_against(server: str, token: str) -> None:
    """The token's signature verifies with the key of `server`'s JWKS its kid names."""
    keys = jwk.JWKSet.from_json(httpx.get(f"{server}/jwks").text)
    key = keys.get_key(kid_of(token))
    assert key is not None, "the token's kid is not in the JWKS"
    parsed = jws.JWS()
    parsed.deserialize(token)
    parsed.verify(key, alg="RS256")


def test_the_schedule_rotates_once_per_interval_and_both_processes_follow(
    database_url: str,
) -> None:
    env = {**TIMINGS, "IDGATE_KEY_ROTATION_INTERVAL": str(ROTATION_INTERVAL)}
    a, b = servers(database_url, env)
    with a, b, httpx.Client(follow_redirects=False) as browser:
        client = seed(database_url, a.url)
        first = current_kid(database_url)
        sign_in(browser, a.url, client[0])  # the session, made on A

        # Wait for the schedule (whichever process wins) to rotate, twice.
        deadline = time.monotonic() + 6 * ROTATION_INTERVAL + 5
        seen = [first]
        while len(seen) < 3:
            assert time.monotonic() < deadline, f"the schedule rotated only {seen}"
            kid = current_kid(database_url)
            if kid != seen[-1]:
                seen.append(kid)
                # The new key is in both processes' JWKS within the bound.
                wait_until_published(a.url, kid)
                wait_until_published(b.url, kid)
            time.sleep(0.1)

        # A session made on A is used on B (no login page), and B's ID Token, signed by a
        # rotated key, verifies against A's JWKS; and the other way round.
        time.sleep(1.1)  # both key rings reloaded since the last rotation we saw
        from_b = id_token(b.url, client, sign_in(browser, b.url, client[0], prompt="none"))
        from_a = id_token(a.url, client, sign_in(browser, a.url, client[0], prompt="none"))
        assert kid_of(from_b) != first
        assert kid_of(from_a) != first
        verify_against(a.url, from_b)
        verify_against(b.url, from_a)

    # Cluster-wide, once per interval: no two activations closer than the interval. The
    # first key keeps signing while the next one is published for its lead time (2 s).
    activations = sorted(k.activated_at for k in stored_keys(database_url) if k.activated_at)
    assert len(activations) >= 3
    gaps = [later - earlier for earlier, later in itertools.pairwise(activations)]
    assert min(gaps) >= ROTATION_INTERVAL, activations
    # Every rotation made exactly one fresh next key, and retired the key it replaced.
    states = sorted(k.state for k in stored_keys(database_url))
    assert states.count("current") == 1
    assert states.count("next") == 1
    assert states.count("retired") == len(activations) - 1


def test_a_cli_rotation_is_published_by_both_processes_before_it_signs(
    database_url: str,
) -> None:
    a, b = servers(database_url, TIMINGS)
    with a, b, httpx.Client(follow_redirects=False) as browser:
        client = seed(database_url, a.url)
        first = current_kid(database_url)
        before = id_token(a.url, client, sign_in(browser, a.url, client[0]))
        assert kid_of(before) == first

        def rotate() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "idgate", "keys", "rotate"],
                env={**os.environ, **TIMINGS, "IDGATE_DATABASE_URL": database_url},
                capture_output=True,
                text=True,
                check=False,
            )

        # No next key was published yet: the CLI publishes one and does not rotate until it
        # has been published for the lead time; meanwhile both processes serve it.
        refused = rotate()
        assert refused.returncode != 0
        assert "may sign in" in refused.stderr
        (upcoming,) = [k.kid for k in stored_keys(database_url) if k.state == "next"]
        wait_until_published(a.url, upcoming)
        wait_until_published(b.url, upcoming)
        assert current_kid(database_url) == first

        deadline = time.monotonic() + 10
        while (rotated := rotate()).returncode != 0:
            assert time.monotonic() < deadline, rotated.stderr
            time.sleep(0.5)
        assert "warning" not in rotated.stderr
        activated = current_kid(database_url)
        assert activated == upcoming

        wait_until_published(b.url, activated)
        wait_until_published(a.url, activated)
        time.sleep(1.1)  # A's key ring is reloaded by its next request
        after = id_token(a.url, client, sign_in(browser, a.url, client[0], prompt="none"))
        assert kid_of(after) == activated
        verify_against(b.url, after)
        # The retired key stays published: what it signed still verifies on either process.
        verify_against(b.url, before)
        verify_against(a.url, before)
