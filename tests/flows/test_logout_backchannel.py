"""Back-Channel Logout 1.0 against a real local https listener playing the RP (SECURITY.md
LOG-09, LOG-10): the Logout Token each RP receives, validated with jwcrypto against /jwks;
RPs that fail, hang or redirect never slow the logout page, and the SINK stays silent."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from flows_support import PASSWORD, OPBrowser, RegisteredClient  # type: ignore[import-not-found]
from logout_support import (  # type: ignore[import-not-found]
    BYE,
    BackchannelRP,
    Sink,
    claims_of,
    logout_client,
    sign_in,
    validate_logout_token,
)

from idgate.provider import Provider
from idgate.testing import TEST_ISSUER, asgi_client, open_test_provider
from idgate.web.app import create_app

pytestmark = pytest.mark.anyio

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def sink() -> Iterator[Sink]:
    with Sink() as listener:
        yield listener


@pytest.fixture
def rp(tmp_path: Path, sink: Sink) -> Iterator[BackchannelRP]:
    with BackchannelRP(tmp_path, sink_url=sink.url) as listener:
        yield listener


@pytest.fixture
async def bc(database_url: str, rp: BackchannelRP) -> AsyncIterator[tuple[Provider, OPBrowser]]:
    provider = await open_test_provider(database_url, outbound_ca_file=str(rp.ca_file))
    await provider.accounts.add("alice", PASSWORD)
    try:
        async with asgi_client(create_app(provider)) as http:
            yield provider, OPBrowser(http)
    finally:
        await provider.close()


async def jwks(browser: OPBrowser) -> dict[str, Any]:
    keys: dict[str, Any] = (await browser.http.get("/jwks")).json()
    return keys


async def bc_client(provider: Provider, uri: str, **metadata: Any) -> RegisteredClient:
    return await logout_client(
        provider,
        backchannel_logout_uri=uri,
        backchannel_logout_session_required=True,
        **metadata,
    )


async def test_every_rp_of_the_session_gets_a_valid_logout_token(  # type: ignore[no-untyped-def]
    bc, rp: BackchannelRP
) -> None:
    provider, browser = bc
    await provider.keys.add("ES256")
    first = await bc_client(provider, rp.url("/bc?rp=1"))
    second = await bc_client(
        provider,
        rp.url("/bc?rp=2"),
        id_token_signed_response_alg="ES256",
        subject_type="pairwise",
    )
    quiet = await logout_client(provider)  # in the session, no back-channel URI
    unused = await bc_client(provider, rp.url("/bc?rp=unused"))  # not in the session
    front_1 = await sign_in(browser, first)
    front_2 = await sign_in(browser, second)
    await sign_in(browser, quiet)
    claims_1, claims_2 = claims_of(front_1["id_token"]), claims_of(front_2["id_token"])
    assert claims_1["sid"] == claims_2["sid"]
    assert claims_1["sub"] != claims_2["sub"]  # pairwise

    response = await browser.http.get("/logout", params={"id_token_hint": front_1["id_token"]})
    assert response.status_code == 200
    await provider.backchannel.drain()

    received = {r.path: r for r in rp.received}
    assert sorted(received) == ["/bc?rp=1", "/bc?rp=2"]
    keys = await jwks(browser)
    jtis = set()
    for path, client, id_claims, alg in (
        ("/bc?rp=1", first, claims_1, "RS256"),
        ("/bc?rp=2", second, claims_2, "ES256"),
    ):
        request = received[path]
        assert request.method == "POST"
        assert request.content_type == FORM
        assert list(request.form) == ["logout_token"]
        (token,) = request.form["logout_token"]
        claims = validate_logout_token(
            token, keys, issuer=TEST_ISSUER, client_id=client.client_id, alg=alg
        )
        assert claims["sid"] == id_claims["sid"]
        assert claims["sub"] == id_claims["sub"]  # the sub this RP knows (pairwise for rp=2)
        jtis.add(claims["jti"])
    assert len(jtis) == 2
    assert unused


async def test_one_delivery_per_rp_session(bc, rp: BackchannelRP) -> None:  # type: ignore[no-untyped-def]
    provider, browser = bc
    client = await bc_client(provider, rp.url("/bc"))
    front = await sign_in(browser, client)
    await browser.http.get("/logout", params={"id_token_hint": front["id_token"]})
    await provider.backchannel.drain()
    assert len(rp.received) == 1
    # Logging out again, by hint or by confirmation, sends nothing more.
    await browser.http.get("/logout", params={"id_token_hint": front["id_token"]})
    page = await browser.http.get("/logout", params={"client_id": client.client_id})
    assert page.status_code == 200
    await provider.backchannel.drain()
    assert len(rp.received) == 1
    # A new session is a new RP session: one more.
    second = await sign_in(browser, client)
    assert claims_of(second["id_token"])["sid"] != claims_of(front["id_token"])["sid"]
    await browser.http.get("/logout", params={"id_token_hint": second["id_token"]})
    await provider.backchannel.drain()
    assert len(rp.received) == 2


async def test_a_delivery_is_claimed_once_even_if_asked_twice(  # type: ignore[no-untyped-def]
    bc, rp: BackchannelRP
) -> None:
    """Gray-box: two deliveries of one (session, client) at once, as two processes would."""
    provider, browser = bc
    client = await bc_client(provider, rp.url("/bc"))
    front = await sign_in(browser, client)
    sid = claims_of(front["id_token"])["sid"]
    stored = await provider.storage.clients.get(client.client_id)
    session = await provider.storage.sessions.by_sid(sid)
    assert stored is not None
    assert session is not None
    for _ in range(3):
        provider.backchannel.notify(sid, session.subject, [stored])
    await provider.backchannel.drain()
    assert len(rp.received) == 1


@pytest.mark.parametrize(
    ("path", "attempts"),
    [("/bc500", 2), ("/bchang", 2), ("/bc302", 1)],
)
async def test_failing_rps_never_hold_up_logout(  # type: ignore[no-untyped-def]
    bc,
    rp: BackchannelRP,
    sink: Sink,
    caplog: pytest.LogCaptureFixture,
    path: str,
    attempts: int,
) -> None:
    provider, browser = bc
    provider.backchannel.timeout = 2.0
    provider.backchannel.attempts = 2
    provider.backchannel.backoff = 0.1
    client = await bc_client(provider, rp.url(path))
    front = await sign_in(browser, client)
    caplog.set_level(logging.INFO, logger="idgate.backchannel")

    started = time.monotonic()
    response = await browser.http.get(
        "/logout",
        params={"id_token_hint": front["id_token"], "post_logout_redirect_uri": BYE},
    )
    page_time = time.monotonic() - started
    assert response.status_code == 303
    assert page_time < 1.0, page_time
    assert provider.backchannel.pending == 1  # still trying, in the background

    started = time.monotonic()
    await provider.backchannel.drain()
    assert time.monotonic() - started < 2 * 2.0 + 0.1 + 2.0  # bounded: attempts x timeout
    assert len(rp.received) == attempts  # bounded retries; a redirect is not retried
    assert sink.received == []  # redirects are never followed
    messages = [r.getMessage() for r in caplog.records if r.name == "idgate.backchannel"]
    assert any(client.client_id in m and "giving up" in m for m in messages), messages
    token = rp.received[0].form["logout_token"][0]
    assert all(token not in m for m in messages)


async def test_an_rp_that_answers_is_logged(  # type: ignore[no-untyped-def]
    bc, rp: BackchannelRP, caplog: pytest.LogCaptureFixture
) -> None:
    provider, browser = bc
    client = await bc_client(provider, rp.url("/bc"))
    front = await sign_in(browser, client)
    caplog.set_level(logging.INFO, logger="idgate.backchannel")
    await browser.http.get("/logout", params={"id_token_hint": front["id_token"]})
    await provider.backchannel.drain()
    messages = [r.getMessage() for r in caplog.records if r.name == "idgate.backchannel"]
    assert any("delivered" in m and client.client_id in m for m in messages), messages


async def test_close_cancels_deliveries_still_waiting(  # type: ignore[no-untyped-def]
    bc, rp: BackchannelRP
) -> None:
    provider, browser = bc
    provider.backchannel.timeout = 30.0
    client = await bc_client(provider, rp.url("/bchang"))
    front = await sign_in(browser, client)
    await browser.http.get("/logout", params={"id_token_hint": front["id_token"]})
    for _ in range(200):  # the request reaches the RP, which never answers
        if rp.received:
            break
        await asyncio.sleep(0.05)
    assert rp.received
    started = time.monotonic()
    await provider.backchannel.close(grace=0.2)
    assert time.monotonic() - started < 2.0
    assert provider.backchannel.pending == 0
