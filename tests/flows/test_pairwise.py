"""Pairwise subjects (OIDC Core §8.1) and sector_identifier_uri (Registration 1.0 §5) over HTTP.

The `sub` a pairwise client sees must be the same in front-channel and token-endpoint ID
Tokens, after a refresh, at UserInfo and in `id_token_hint`; the same for every client of one
sector, different across sectors, and stable across processes. Sector documents are served by
a real https server with its own CA (tests/flows/https_peer.py). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from flows_support import (  # type: ignore[import-not-found]
    PASSWORD,
    RP,
    OPBrowser,
    RegisteredClient,
    register,
    verify_id_token,
)
from https_peer import HttpsPeer, Route  # type: ignore[import-not-found]
from userinfo_support import basic, sign_in, userinfo_ok  # type: ignore[import-not-found]

from idgate.config import Settings
from idgate.protocol.clients import Client, ClientMetadata, parse_client_metadata
from idgate.protocol.errors import InvalidClientMetadata
from idgate.protocol.subjects import pairwise_subject
from idgate.provider import Provider
from idgate.provider.outbound import outbound_client
from idgate.provider.sectors import SectorDocuments
from idgate.storage.sql.db import sql
from idgate.testing import asgi_client, open_test_provider, response_params
from idgate.web.app import create_app

pytestmark = pytest.mark.anyio

OTHER = "https://other.example"


async def subjects_seen(browser: OPBrowser, client: RegisteredClient) -> set[str]:
    """Every `sub` the client is given for the signed-in End-User, by every path."""
    front = await sign_in(
        browser,
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="code id_token token",
        scope="openid",
        nonce="n",
    )
    tokens = await browser.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": front["code"],
            "redirect_uri": client.redirect_uri,
        },
        headers=basic(client),
    )
    assert tokens.status_code == 200, tokens.text
    refreshed = await browser.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"]},
        headers=basic(client),
    )
    assert refreshed.status_code == 200, refreshed.text
    seen = set()
    for id_token in (front["id_token"], tokens.json()["id_token"], refreshed.json()["id_token"]):
        seen.add((await verify_id_token(browser.http, id_token, client.client_id))["sub"])
    for access_token in (
        front["access_token"],
        tokens.json()["access_token"],
        refreshed.json()["access_token"],
    ):
        seen.add((await userinfo_ok(browser.http, access_token))["sub"])
    return seen


async def test_pairwise_sub_is_per_sector(op: Provider, browser: OPBrowser) -> None:
    first = await register(op, subject_type="pairwise")
    same_sector = await register(
        op, subject_type="pairwise", redirect_uris=[f"{RP}/other", f"{RP}:8443/cb"]
    )
    same_sector.redirect_uri = f"{RP}/other"
    other_sector = await register(op, subject_type="pairwise", redirect_uris=[f"{OTHER}/cb"])
    other_sector.redirect_uri = f"{OTHER}/cb"
    public = await register(op)

    (alice_first,) = await subjects_seen(browser, first)
    (alice_same,) = await subjects_seen(browser, same_sector)
    (alice_other,) = await subjects_seen(browser, other_sector)
    (alice_public,) = await subjects_seen(browser, public)
    local = (await op.accounts.get("alice")).subject
    assert alice_first == alice_same  # one sector: one sub
    assert alice_first != alice_other
    assert alice_public == local
    assert local not in {alice_first, alice_other}
    assert len(alice_first) == 43

    # Another End-User at the same client gets another sub.
    browser.http.cookies.clear()
    (bob_first,) = await bobs_subjects(browser, first)
    assert bob_first != alice_first


async def bobs_subjects(browser: OPBrowser, client: RegisteredClient) -> set[str]:
    params = await sign_in(
        browser,
        "bob",
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="id_token token",
        scope="openid",
        nonce="n",
    )
    claims = await verify_id_token(browser.http, params["id_token"], client.client_id)
    info = await userinfo_ok(browser.http, params["access_token"])
    return {claims["sub"], info["sub"]}


async def test_pairwise_sub_is_stable_across_processes(
    op: Provider, browser: OPBrowser, database_url: str
) -> None:
    client = await register(op, subject_type="pairwise")
    (sub,) = await subjects_seen(browser, client)
    # A second provider on the same database (another process) computes the same sub.
    other = await open_test_provider(database_url)
    try:
        stored = await other.clients.get(client.client_id)
        assert stored is not None
        local = (await other.accounts.get("alice")).subject
        assert other.subjects.for_client(stored, local) == sub
    finally:
        await other.close()


async def test_salt_is_made_once_and_sealed(database_url: str) -> None:
    first = await open_test_provider(database_url, secret_key="k" * 43)
    second = await open_test_provider(database_url, secret_key="k" * 43)
    try:
        client = Client("c", ClientMetadata(redirect_uris=(f"{RP}/cb",), subject_type="pairwise"))
        sub = first.subjects.for_client(client, "local")
        assert sub == second.subjects.for_client(client, "local")
        assert sub != "local"
        rows = await first.storage.db.all(sql("SELECT value FROM provider_secrets"))
        assert len(rows) == 1
        assert rows[0]["value"].startswith("aesgcm1:")  # encrypted at rest with the secret key
    finally:
        await first.close()
        await second.close()


async def test_id_token_hint_compares_pairwise_subjects(op: Provider, browser: OPBrowser) -> None:
    client = await register(op, subject_type="pairwise", first_party=True)
    request = {
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "response_type": "id_token",
        "scope": "openid",
        "nonce": "n",
    }
    alices = await browser.sign_in(**request)
    silent = callback_params(
        await browser.authorize(**request, prompt="none", id_token_hint=alices["id_token"])
    )
    assert "id_token" in silent, silent  # the hint names the signed-in End-User
    browser.http.cookies.clear()
    bobs = await browser.sign_in("bob", **request)
    hinted = callback_params(
        await browser.authorize(**request, prompt="none", id_token_hint=alices["id_token"])
    )
    assert hinted["error"] == "login_required"
    assert bobs["id_token"] != alices["id_token"]


def callback_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code in (302, 303), response.text
    return response_params(response.headers["location"])


async def test_pairwise_registration_needs_one_sector(op: Provider) -> None:
    with pytest.raises(InvalidClientMetadata, match="sector_identifier_uri"):
        await register(op, subject_type="pairwise", redirect_uris=[f"{RP}/cb", f"{OTHER}/cb"])
    async for provider, http in _open_registration(op.settings.database_url):
        response = await http.post(
            "/register",
            json={"redirect_uris": [f"{RP}/cb", f"{OTHER}/cb"], "subject_type": "pairwise"},
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_client_metadata"
        assert await provider.clients.list() == []


async def _open_registration(
    database_url: str,
) -> AsyncIterator[tuple[Provider, httpx.AsyncClient]]:
    provider = await open_test_provider(database_url, registration="open")
    try:
        async with asgi_client(create_app(provider)) as http:
            yield provider, http
    finally:
        await provider.close()


# --- sector_identifier_uri, fetched from a real https server --------------------------------


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[HttpsPeer]:
    with HttpsPeer(tmp_path) as server:
        yield server


@pytest.fixture
async def sector_op(database_url: str, peer: HttpsPeer) -> AsyncIterator[Provider]:
    # The peer listens on loopback, which the fetch policy refuses unless told otherwise.
    provider = await open_test_provider(
        database_url, outbound_ca_file=str(peer.ca_file), allow_private_fetch=True
    )
    await provider.accounts.add("alice", PASSWORD)
    try:
        yield provider
    finally:
        await provider.close()


SPREAD = [f"{RP}/cb", f"{OTHER}/cb"]


def sector_doc(*uris: str) -> Route:
    return Route(json.dumps(list(uris)).encode())


async def test_sector_identifier_uri_sets_the_sector(sector_op: Provider, peer: HttpsPeer) -> None:
    peer.routes["/sector.json"] = sector_doc(*SPREAD, "https://third.example/cb")
    peer.routes["/other-sector.json"] = sector_doc("https://third.example/cb")
    spread = await register(
        sector_op,
        subject_type="pairwise",
        redirect_uris=SPREAD,
        sector_identifier_uri=peer.url("/sector.json"),
    )
    assert peer.requests == ["/sector.json"]
    third = await register(
        sector_op,
        subject_type="pairwise",
        redirect_uris=["https://third.example/cb"],
        sector_identifier_uri=peer.url("/other-sector.json"),
    )
    alone = await register(sector_op, subject_type="pairwise", redirect_uris=[f"{RP}/cb"])

    async with asgi_client(create_app(sector_op)) as http:
        browser = OPBrowser(http)
        (spread_sub,) = await subjects_seen(browser, spread)
        third.redirect_uri = "https://third.example/cb"
        (third_sub,) = await subjects_seen(browser, third)
        (alone_sub,) = await subjects_seen(browser, alone)
    # Both sector documents are on one host: the sector is that host, 127.0.0.1.
    assert spread_sub == third_sub
    assert spread_sub != alone_sub
    local = (await sector_op.accounts.get("alice")).subject
    salt = sector_op.subjects._salt  # gray-box: the documented formula, recomputed
    assert salt is not None
    assert spread_sub == pairwise_subject(local, "127.0.0.1", salt)
    assert alone_sub == pairwise_subject(local, "rp.example", salt)


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (sector_doc(SPREAD[0]), "every redirect_uri"),
        (sector_doc(), "every redirect_uri"),
        (Route(json.dumps({"redirect_uris": SPREAD}).encode()), "JSON array"),
        (Route(b"<html>not json</html>"), "JSON array"),
        (Route(json.dumps(SPREAD).encode(), status=404), "could not be fetched"),
        (Route(json.dumps(SPREAD).encode(), status=500), "could not be fetched"),
        # A redirect is not followed, even to a good document on the same server.
        (Route(b"", status=302, headers={"Location": "/moved.json"}), "could not be fetched"),
        (Route(json.dumps([*SPREAD, "x" * 70_000]).encode()), "could not be fetched"),
    ],
)
async def test_bad_sector_documents_are_refused(
    sector_op: Provider, peer: HttpsPeer, route: Route, message: str
) -> None:
    peer.routes["/sector.json"] = route
    peer.routes["/moved.json"] = sector_doc(*SPREAD)
    with pytest.raises(InvalidClientMetadata, match=message):
        await register(
            sector_op,
            subject_type="pairwise",
            redirect_uris=SPREAD,
            sector_identifier_uri=peer.url("/sector.json"),
        )
    assert peer.requests == ["/sector.json"]  # fetched once, no redirect followed
    assert await sector_op.clients.list() == []


async def test_sector_document_is_checked_for_public_clients_too(
    sector_op: Provider, peer: HttpsPeer
) -> None:
    peer.routes["/sector.json"] = sector_doc(f"{OTHER}/cb")
    with pytest.raises(InvalidClientMetadata, match="every redirect_uri"):
        await register(sector_op, sector_identifier_uri=peer.url("/sector.json"))


async def test_http_sector_uri_is_refused_without_fetching(
    sector_op: Provider, peer: HttpsPeer
) -> None:
    peer.routes["/sector.json"] = sector_doc(*SPREAD)
    http_url = peer.url("/sector.json").replace("https://", "http://")
    with pytest.raises(InvalidClientMetadata, match="https"):
        await register(
            sector_op, subject_type="pairwise", redirect_uris=SPREAD, sector_identifier_uri=http_url
        )
    assert peer.requests == []


async def test_sector_fetch_verifies_tls(peer: HttpsPeer) -> None:
    """Without the test CA in `outbound_ca_file`, the peer's certificate is not trusted."""
    peer.routes["/sector.json"] = sector_doc(*SPREAD)
    metadata = parse_client_metadata(
        {
            "redirect_uris": SPREAD,
            "subject_type": "pairwise",
            "sector_identifier_uri": peer.url("/sector.json"),
        }
    )
    async with outbound_client(Settings(allow_private_fetch=True)) as http:
        with pytest.raises(InvalidClientMetadata, match="could not be fetched"):
            await SectorDocuments(http).verify(metadata)
    assert peer.requests == []  # the TLS handshake failed before any request


@pytest.mark.parametrize(
    "route",
    [
        Route(json.dumps(SPREAD).encode(), delay=3),  # silent
        # Every read is quick, the whole is not: 16 bytes each 0.1 s, for about 4 s.
        Route(json.dumps([*SPREAD, *(f"{RP}/{i:02}" for i in range(20))]).encode(), drip=0.1),
    ],
)
async def test_sector_fetch_is_bounded_in_time(
    sector_op: Provider, peer: HttpsPeer, route: Route
) -> None:
    peer.routes["/slow.json"] = route
    # The wired check allows 5 s in all; the same class with 0.5 s keeps this test fast.
    documents = SectorDocuments(sector_op.http, timeout=0.5)
    slow = parse_client_metadata(
        {
            "redirect_uris": SPREAD,
            "subject_type": "pairwise",
            "sector_identifier_uri": peer.url("/slow.json"),
        }
    )
    started = time.monotonic()
    with pytest.raises(InvalidClientMetadata, match="could not be fetched"):
        await documents.verify(slow)
    assert time.monotonic() - started < 2
