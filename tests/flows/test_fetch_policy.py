"""The fetch policy for jwks_uri, sector_identifier_uri and request_uri (provider/outbound.py;
SECURITY.md SSRF-01…05), against a real https listener on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from https_peer import HttpsPeer, Route  # type: ignore[import-not-found]

from idgate.config import Settings
from idgate.provider.outbound import FetchFailed, fetch, is_public_address, outbound_client

pytestmark = pytest.mark.anyio

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[HttpsPeer]:
    with HttpsPeer(tmp_path) as server:
        server.routes["/doc.json"] = Route(json.dumps({"ok": True}).encode())
        yield server


async def _client(peer: HttpsPeer, *, allow_private: bool) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(outbound_ca_file=str(peer.ca_file), allow_private_fetch=allow_private)
    async with outbound_client(settings) as http:
        yield http


@pytest.fixture
async def guarded(peer: HttpsPeer) -> AsyncIterator[httpx.AsyncClient]:
    async for http in _client(peer, allow_private=False):
        yield http


@pytest.fixture
async def dev(peer: HttpsPeer) -> AsyncIterator[httpx.AsyncClient]:
    """IDGATE_ALLOW_PRIVATE_FETCH=1: what local development runs with."""
    async for http in _client(peer, allow_private=True):
        yield http


async def test_loopback_is_refused_however_it_is_spelled(
    guarded: httpx.AsyncClient, dev: httpx.AsyncClient, peer: HttpsPeer
) -> None:
    # The same document is fetched when private addresses are allowed ...
    assert json.loads(await fetch(dev, peer.url("/doc.json"), max_bytes=1024, accept="*/*"))
    assert peer.requests == ["/doc.json"]
    peer.requests.clear()
    # ... and refused, without a single request reaching the listener, when they are not.
    for host in (
        "127.0.0.1",
        "127.1",
        "2130706433",
        "0x7f000001",
        "localhost",
        "[::ffff:127.0.0.1]",
    ):
        with pytest.raises(FetchFailed):
            await fetch(
                guarded, f"https://{host}:{peer.port}/doc.json", max_bytes=1024, accept="*/*"
            )
    assert peer.requests == []


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fc00::1", False),
        ("fe80::1%eth0", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("not an address", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public_address(address) is public


async def test_other_schemes_are_refused(dev: httpx.AsyncClient, peer: HttpsPeer) -> None:
    for uri in (
        f"http://127.0.0.1:{peer.port}/doc.json",
        "file:///etc/passwd",
        "ftp://127.0.0.1/x",
        "gopher://127.0.0.1/x",
        "data:application/json,{}",
    ):
        with pytest.raises(FetchFailed):
            await fetch(dev, uri, max_bytes=1024, accept="*/*")
    assert peer.requests == []


async def test_redirects_are_not_followed(dev: httpx.AsyncClient, peer: HttpsPeer) -> None:
    peer.routes["/moved"] = Route(status=302, headers={"Location": "/doc.json"})
    with pytest.raises(FetchFailed):
        await fetch(dev, peer.url("/moved"), max_bytes=1024, accept="*/*")
    assert peer.requests == ["/moved"]


async def test_size_is_bounded(dev: httpx.AsyncClient, peer: HttpsPeer) -> None:
    peer.routes["/huge"] = Route(b"[" + b"0," * 5_000_000 + b"0]")
    started = time.monotonic()
    with pytest.raises(FetchFailed):
        await fetch(dev, peer.url("/huge"), max_bytes=64 * 1024, accept="*/*")
    assert time.monotonic() - started < 3
    peer.routes["/just"] = Route(b"x" * 1024)
    assert len(await fetch(dev, peer.url("/just"), max_bytes=1024, accept="*/*")) == 1024


@pytest.mark.parametrize(
    "route",
    [
        Route(b"{}", delay=3),  # silent
        Route(b"x" * 640, drip=0.1),  # never silent for long, but 4 s in all
    ],
)
async def test_time_is_bounded(dev: httpx.AsyncClient, peer: HttpsPeer, route: Route) -> None:
    peer.routes["/slow"] = route
    started = time.monotonic()
    with pytest.raises(FetchFailed):
        await fetch(dev, peer.url("/slow"), max_bytes=1024, accept="*/*", within=0.5)
    assert time.monotonic() - started < 2


async def test_failures_look_alike(
    dev: httpx.AsyncClient, guarded: httpx.AsyncClient, peer: HttpsPeer
) -> None:
    """Refused, missing and too large give one and the same exception (SSRF-05)."""
    peer.routes["/big"] = Route(b"x" * 4096)
    failures = []
    for http, path in ((guarded, "/doc.json"), (dev, "/missing"), (dev, "/big")):
        with pytest.raises(FetchFailed) as caught:
            await fetch(http, peer.url(path), max_bytes=1024, accept="*/*")
        failures.append((type(caught.value), str(caught.value)))
    assert len(set(failures)) == 1


async def test_registration_and_client_auth_obey_the_policy(
    database_url: str, peer: HttpsPeer
) -> None:
    """Wired in: a sector_identifier_uri and a jwks_uri on loopback are never fetched."""
    from idgate.testing import asgi_client, open_test_provider
    from idgate.web.app import create_app

    peer.routes["/sector.json"] = Route(json.dumps(["https://rp.example/cb"]).encode())
    provider = await open_test_provider(
        database_url, registration="open", outbound_ca_file=str(peer.ca_file)
    )
    try:
        async with asgi_client(create_app(provider)) as http:
            sector = await http.post(
                "/register",
                json={
                    "redirect_uris": ["https://rp.example/cb"],
                    "subject_type": "pairwise",
                    "sector_identifier_uri": peer.url("/sector.json"),
                },
            )
            assert sector.status_code == 400
            assert sector.json()["error"] == "invalid_client_metadata"
            keyed = await http.post(
                "/register",
                json={
                    "grant_types": ["client_credentials"],
                    "token_endpoint_auth_method": "private_key_jwt",
                    "jwks_uri": peer.url("/jwks.json"),
                },
            )
            assert keyed.status_code == 201, keyed.text
            token = await http.post(
                "/token",
                data={
                    "grant_type": "client_credentials",
                    "client_assertion_type": JWT_BEARER,
                    "client_assertion": "e30.e30.sig",
                    "client_id": keyed.json()["client_id"],
                },
            )
            assert token.status_code == 401
    finally:
        await provider.close()
    assert peer.requests == []
