"""SECURITY.md TOK-07: an RP's key rotation is followed, and made-up `kid`s cannot make idgate
hammer the RP's jwks_uri. Against a real https listener on loopback (tests/flows/https_peer.py).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from jwcrypto import jwk, jwt

from flows.https_peer import HttpsPeer, Route  # type: ignore[import-not-found]
from idgate.clock import FrozenClock
from idgate.testing import TEST_ISSUER, asgi_client, open_test_provider
from idgate.web.app import create_app

pytestmark = pytest.mark.anyio

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWKS = "/jwks.json"


@dataclass
class KeyedClient:
    http: httpx.AsyncClient
    client_id: str
    clock: FrozenClock
    peer: HttpsPeer

    def publish(self, *keys: jwk.JWK, status: int = 200) -> None:
        document = {"keys": [json.loads(key.export_public()) for key in keys]}
        self.peer.routes[JWKS] = Route(json.dumps(document).encode(), status)

    def fetches(self) -> int:
        return self.peer.requests.count(JWKS)

    async def token(self, key: jwk.JWK) -> httpx.Response:
        now = self.clock.now()
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": f"{TEST_ISSUER}/token",
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
        }
        assertion = jwt.JWT(header={"alg": "RS256", "kid": key.kid}, claims=claims)
        assertion.make_signed_token(key)
        return await self.http.post(
            "/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": JWT_BEARER,
                "client_assertion": assertion.serialize(),
            },
        )


def rsa_key(kid: str) -> jwk.JWK:
    return jwk.JWK.generate(kty="RSA", size=2048, kid=kid)


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[HttpsPeer]:
    with HttpsPeer(tmp_path) as server:
        yield server


@pytest.fixture
async def keyed(database_url: str, peer: HttpsPeer) -> AsyncIterator[KeyedClient]:
    """A private_key_jwt client whose keys are at the peer's jwks_uri."""
    clock = FrozenClock(int(time.time()))
    provider = await open_test_provider(
        database_url,
        clock=clock,
        outbound_ca_file=str(peer.ca_file),
        allow_private_fetch=True,  # the peer is on loopback
    )
    try:
        created = await provider.registration.register_trusted(
            {
                "grant_types": ["client_credentials"],
                "response_types": [],
                "redirect_uris": [],
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks_uri": peer.url(JWKS),
            }
        )
        async with asgi_client(create_app(provider)) as http:
            yield KeyedClient(http, created.client.client_id, clock, peer)
    finally:
        await provider.close()


async def test_rotated_keys_are_followed(keyed: KeyedClient) -> None:
    # TOK-07: a new kid at the RP → re-fetch → accepted; a removed key stops working.
    old, new = rsa_key("k1"), rsa_key("k2")
    keyed.publish(old)
    assert (await keyed.token(old)).status_code == 200
    keyed.publish(old, new)  # the RP rotates: both keys for a while
    keyed.clock.advance(10)
    assert (await keyed.token(new)).status_code == 200
    assert keyed.fetches() == 2
    # Then it retires the old key: the set is kept at most a minute, so it is refused then.
    keyed.publish(new)
    assert (await keyed.token(old)).status_code == 200
    keyed.clock.advance(60)
    refused = await keyed.token(old)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    assert keyed.fetches() == 3


async def test_unknown_kid_flood_fetches_once_per_window(keyed: KeyedClient) -> None:
    # TOK-07: a flood of made-up kids → at most one fetch per 10 s, none in parallel.
    known, made_up = rsa_key("k1"), rsa_key("made-up")
    keyed.publish(known)
    assert (await keyed.token(known)).status_code == 200
    keyed.clock.advance(10)
    for _round in range(3):
        answers = await asyncio.gather(*(keyed.token(made_up) for _ in range(20)))
        assert {answer.status_code for answer in answers} == {401}
        assert {answer.json()["error"] for answer in answers} == {"invalid_client"}
        keyed.clock.advance(5)
    # Three rounds 5 s apart, starting 10 s after the first fetch: two re-fetches (at 10 s
    # and 20 s), not sixty.
    assert keyed.fetches() == 1 + 2
    # The known key keeps working throughout.
    assert (await keyed.token(known)).status_code == 200


async def test_failing_jwks_uri_is_not_hammered(keyed: KeyedClient) -> None:
    # TOK-07: failed fetches count too; a jwks_uri that answers 404 is asked once per 10 s.
    key = rsa_key("k1")
    keyed.publish(key, status=404)
    answers = await asyncio.gather(*(keyed.token(key) for _ in range(20)))
    assert {answer.status_code for answer in answers} == {401}
    assert keyed.fetches() == 1
    keyed.clock.advance(10)
    keyed.publish(key)
    assert (await keyed.token(key)).status_code == 200
    assert keyed.fetches() == 2


async def test_parallel_first_requests_share_one_fetch(keyed: KeyedClient) -> None:
    # TOK-07: requests arriving while the key set is being fetched wait for that one fetch.
    key = rsa_key("k1")
    keyed.publish(key)
    answers = await asyncio.gather(*(keyed.token(key) for _ in range(10)))
    assert [answer.status_code for answer in answers] == [200] * 10
    assert keyed.fetches() == 1
