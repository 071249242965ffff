"""SECURITY.md §3.3-§3.6: codes and PKCE, the token endpoint and client authentication,
refresh tokens, UserInfo, introspection and revocation."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwcrypto import jwk, jwt
from security_support import (  # type: ignore[import-not-found]
    PASSWORD,
    RP,
    TEST_ISSUER,
    Browser,
    RegisteredClient,
    code_request,
    exchange,
    pkce_pair,
    redirect_error,
    register,
)

from idgate.clock import FrozenClock
from idgate.crypto.random import secret_hash
from idgate.provider import Provider
from idgate.testing import asgi_client, open_test_provider
from idgate.web.app import create_app

pytestmark = pytest.mark.anyio


def error_of(response: httpx.Response, status: int = 400) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    error: str = response.json()["error"]
    return error


async def tokens_for(
    browser: Browser, client: RegisteredClient, scope: str = "openid offline_access"
) -> dict[str, Any]:
    code = (await browser.callback(**code_request(client, scope=scope)))["code"]
    response = await exchange(browser.http, client, code)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return {**body, "code": code}


async def test_code_reuse_is_refused_and_revokes(browser: Browser, c1: RegisteredClient) -> None:
    # CODE-01: code reuse.
    issued = await tokens_for(browser, c1)
    assert error_of(await exchange(browser.http, c1, issued["code"])) == "invalid_grant"
    bearer = {"authorization": f"Bearer {issued['access_token']}"}
    assert (await browser.http.get("/userinfo", headers=bearer)).status_code == 401
    refresh = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
    assert error_of(await browser.http.post("/token", data=refresh, auth=c1.basic)) == (
        "invalid_grant"
    )


async def test_concurrent_redemptions_have_one_winner(
    browser: Browser, c1: RegisteredClient
) -> None:
    # CODE-02: concurrent double redemption.
    code = (await browser.callback(**code_request(c1)))["code"]
    answers = await asyncio.gather(*(exchange(browser.http, c1, code) for _ in range(5)))
    assert sorted(a.status_code for a in answers) == [200, 400, 400, 400, 400]


async def test_code_of_another_client_is_refused_and_burnt(
    browser: Browser, c1: RegisteredClient, c2: RegisteredClient
) -> None:
    # CODE-03: code redeemed by another client.
    code = (await browser.callback(**code_request(c1)))["code"]
    stolen = await exchange(browser.http, RegisteredClient(*c2.basic, c1.redirect_uri), code)
    assert error_of(stolen) == "invalid_grant"
    assert error_of(await exchange(browser.http, c1, code)) == "invalid_grant"


async def test_other_or_missing_redirect_uri_at_the_token_endpoint(
    browser: Browser, c1: RegisteredClient
) -> None:
    # CODE-04: different redirect_uri at the token endpoint.
    for redirect_uri in (f"{RP}/cb2", None):
        code = (await browser.callback(**code_request(c1)))["code"]
        data = {"grant_type": "authorization_code", "code": code}
        if redirect_uri:
            data["redirect_uri"] = redirect_uri
        response = await browser.http.post("/token", data=data, auth=c1.basic)
        assert error_of(response) in ("invalid_grant", "invalid_request"), redirect_uri


async def test_forged_codes(http: httpx.AsyncClient, c1: RegisteredClient) -> None:
    # CODE-06: forged or guessed codes.
    for code in ("x" * 43, "x" * 10_000, "a\x00b", "é" * 20, "*"):
        assert error_of(await exchange(http, c1, code)) in ("invalid_grant", "invalid_request")
    assert error_of(await exchange(http, c1, "")) == "invalid_request"


async def test_code_injection_with_another_transactions_verifier(
    browser: Browser, p1: RegisteredClient
) -> None:
    # CODE-07: code injection into another session (PKCE binds the code to its transaction).
    verifier1, challenge1 = pkce_pair("1" * 43)
    verifier2, _ = pkce_pair("2" * 43)
    params = code_request(p1, code_challenge=challenge1, code_challenge_method="S256")
    code = (await browser.callback(**params))["code"]
    response = await exchange(
        browser.http, p1, code, client_id=p1.client_id, code_verifier=verifier2
    )
    assert error_of(response) == "invalid_grant"
    assert verifier1 != verifier2


async def test_pkce_is_enforced_for_public_clients(browser: Browser, p1: RegisteredClient) -> None:
    # CODE-08: PKCE not enforced.
    response = await browser.authorize(**code_request(p1))
    assert (
        "code_challenge" in response.headers["location"]
        or "error=invalid_request" in (response.headers["location"])
    )
    _, challenge = pkce_pair()
    for verifier in (None, "w" * 43, "v" * 42, "v" * 129, "v" * 42 + "!"):
        params = code_request(p1, code_challenge=challenge, code_challenge_method="S256")
        code = (await browser.callback(**params))["code"]
        extra = {"client_id": p1.client_id}
        if verifier is not None:
            extra["code_verifier"] = verifier
        response = await exchange(browser.http, p1, code, **extra)
        assert error_of(response) in ("invalid_grant", "invalid_request"), verifier


async def test_pkce_downgrade(browser: Browser, c1: RegisteredClient) -> None:
    # CODE-09: PKCE downgrade (a code issued without a challenge, redeemed with a verifier).
    code = (await browser.callback(**code_request(c1)))["code"]
    response = await exchange(browser.http, c1, code, code_verifier=pkce_pair()[0])
    assert error_of(response) == "invalid_grant"


async def test_plain_and_bad_pkce_methods(
    browser: Browser, p1: RegisteredClient, http: httpx.AsyncClient
) -> None:
    # CODE-10: plain PKCE (and a missing method, never taken as S256).
    _, challenge = pkce_pair()
    for extra in (
        {"code_challenge": challenge, "code_challenge_method": "plain"},
        {"code_challenge": challenge},
        {"code_challenge": challenge, "code_challenge_method": "S512"},
        {"code_challenge": "short", "code_challenge_method": "S256"},
    ):
        response = await browser.authorize(**code_request(p1, **extra))
        assert "error=invalid_request" in response.headers["location"], extra
    discovery = (await http.get("/.well-known/openid-configuration")).json()
    assert discovery["code_challenge_methods_supported"] == ["S256"]


async def test_artifact_type_confusion(browser: Browser, c1: RegisteredClient) -> None:
    # CODE-11: artifact type confusion (each artifact in each other slot).
    issued = await tokens_for(browser, c1)
    for artifact in ("access_token", "refresh_token", "id_token"):
        assert error_of(await exchange(browser.http, c1, issued[artifact])) == "invalid_grant"
    for artifact in ("code", "access_token", "id_token"):
        data = {"grant_type": "refresh_token", "refresh_token": issued[artifact]}
        response = await browser.http.post("/token", data=data, auth=c1.basic)
        assert error_of(response) == "invalid_grant", artifact
    # RES-02: other artifacts used as access tokens.
    for artifact in ("code", "refresh_token", "id_token"):
        bearer = {"authorization": f"Bearer {issued[artifact]}"}
        response = await browser.http.get("/userinfo", headers=bearer)
        assert response.status_code == 401, artifact
        assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_unauthenticated_and_unknown_clients_look_alike(
    http: httpx.AsyncClient, c1: RegisteredClient
) -> None:
    # TOK-01: unauthenticated or guessed client; unknown client looks like a wrong secret.
    grant = {"grant_type": "client_credentials"}
    only_id = await http.post("/token", data={**grant, "client_id": c1.client_id})
    assert error_of(only_id, 401) == "invalid_client"
    wrong = await http.post("/token", data=grant, auth=(c1.client_id, "wrong"))
    unknown = await http.post("/token", data=grant, auth=("nobody", "wrong"))
    assert error_of(wrong, 401) == error_of(unknown, 401) == "invalid_client"
    assert wrong.json() == unknown.json()
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"]


async def test_mixed_or_wrong_auth_methods(http: httpx.AsyncClient, c1: RegisteredClient) -> None:
    # TOK-02: wrong or multiple auth methods.
    grant = {"grant_type": "client_credentials"}
    secret = c1.client_secret or ""
    as_post = {**grant, "client_id": c1.client_id, "client_secret": secret}
    assert error_of(await http.post("/token", data=as_post), 401) == "invalid_client"
    both = await http.post("/token", data=as_post, auth=c1.basic)
    assert error_of(both, both.status_code) in ("invalid_request", "invalid_client")
    other_id = await http.post("/token", data={**grant, "client_id": "other"}, auth=c1.basic)
    assert error_of(other_id, other_id.status_code) in ("invalid_request", "invalid_client")
    in_query = await http.post(f"/token?client_secret={secret}", data=grant, auth=c1.basic)
    assert in_query.status_code == 400
    assert "access_token" not in in_query.text


async def test_lenient_basic_decoding(http: httpx.AsyncClient, c1: RegisteredClient) -> None:
    # TOK-03: lenient Basic decoding.
    for header in (
        "Basic !!!",
        "Basic " + base64.b64encode(b"nocolon").decode(),
        "Basic " + base64.b64encode(b":secret").decode(),
        "Basic",
        "Basic a b",
    ):
        response = await http.post(
            "/token", data={"grant_type": "client_credentials"}, headers={"authorization": header}
        )
        assert response.status_code in (400, 401), header
        assert "access_token" not in response.text


def _b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def test_forged_client_assertions(http: httpx.AsyncClient, op: Provider) -> None:
    # TOK-04: forged client assertion (alg none, key confusion, header keys, crit, claims).
    key = jwk.JWK.generate(kty="RSA", size=2048, kid="k1")
    public = json.loads(key.export_public())
    client = await register(
        op,
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [public]},
        grant_types=["client_credentials"],
        response_types=[],
        redirect_uris=[],
    )
    cid = client.client_id
    now = int(time.time())

    def claims(**changes: Any) -> dict[str, Any]:
        base = {
            "iss": cid,
            "sub": cid,
            "aud": f"{TEST_ISSUER}/token",
            "exp": now + 60,
            "iat": now,
            "jti": uuid.uuid4().hex,
        }
        base.update(changes)
        return {k: v for k, v in base.items() if v is not None}

    def signed(
        payload: dict[str, Any], header: dict[str, Any] | None = None, signer: jwk.JWK = key
    ) -> str:
        token = jwt.JWT(header={"alg": "RS256", "kid": "k1", **(header or {})}, claims=payload)
        token.make_signed_token(signer)
        return str(token.serialize())

    def by_hand(header: dict[str, Any], payload: dict[str, Any]) -> str:
        # What a signing library would refuse to make (an unknown `crit`), made by hand.
        private = serialization.load_pem_private_key(
            key.export_to_pem(private_key=True, password=None), password=None
        )
        assert isinstance(private, rsa.RSAPrivateKey)
        signing_input = f"{_b64(header)}.{_b64(payload)}"
        signature = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"

    other = jwk.JWK.generate(kty="RSA", size=2048, kid="k1")
    hmac_with_public = jwk.JWK(kty="oct", k=_b64(key.export_to_pem()))
    forged = [
        f"{_b64({'alg': 'none'})}.{_b64(claims())}.",
        signed(claims(), signer=other),
        signed(claims(), {"alg": "HS256"}, signer=hmac_with_public),
        signed(claims(), {"jwk": json.loads(other.export_public()), "kid": "x"}, signer=other),
        by_hand({"alg": "RS256", "kid": "k1", "crit": ["x-unknown"], "x-unknown": 1}, claims()),
        signed(claims(aud="https://elsewhere.example/token")),
        signed(claims(aud=[f"{TEST_ISSUER}/token", "https://elsewhere.example"])),
        signed(claims(iss="someone-else")),
        signed(claims(sub=None)),
        signed(claims(exp=None)),
        signed(claims(jti=None)),
        signed(claims(exp=now - 300)),
        signed(claims(nbf=now + 61)),
    ]
    assertion_type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    for number, assertion in enumerate(forged):
        data = {
            "grant_type": "client_credentials",
            "client_assertion_type": assertion_type,
            "client_assertion": assertion,
        }
        response = await http.post("/token", data=data)
        assert response.status_code in (400, 401), number
        assert error_of(response, response.status_code) in ("invalid_client", "invalid_request")
    ok = {
        "grant_type": "client_credentials",
        "client_assertion_type": assertion_type,
        "client_assertion": signed(claims(nbf=now + 8)),
    }
    assert (await http.post("/token", data=ok)).status_code == 200
    wrong_type = {**ok, "client_assertion": signed(claims()), "client_assertion_type": "x"}
    assert (await http.post("/token", data=wrong_type)).status_code in (400, 401)
    # TOK-05: assertion replay, also when sent K times at once.
    replayed = await http.post("/token", data=ok)
    assert error_of(replayed, 401) == "invalid_client"
    fresh = {**ok, "client_assertion": signed(claims())}
    answers = await asyncio.gather(*(http.post("/token", data=fresh) for _ in range(5)))
    assert sorted(a.status_code for a in answers) == [200, 401, 401, 401, 401]


async def test_bad_grant_types(http: httpx.AsyncClient, c1: RegisteredClient) -> None:
    # TOK-08: bad grant_type; password grant.
    assert error_of(await http.post("/token", data={}, auth=c1.basic)) == "invalid_request"
    for grant_type in ("password", "urn:x"):
        response = await http.post("/token", data={"grant_type": grant_type}, auth=c1.basic)
        assert error_of(response) == "unsupported_grant_type"
    response = await http.post("/token", data={"grant_type": "client_credentials"}, auth=c1.basic)
    assert error_of(response) == "unauthorized_client"


async def test_no_raw_code_or_token_in_the_database(
    browser: Browser, c1: RegisteredClient, op: Provider
) -> None:
    # TOK-10 (gray-box, through the repository ports): tokens stored only as hashes.
    issued = await tokens_for(browser, c1)
    for name in ("access_token", "refresh_token"):
        raw = issued[name]
        assert await op.storage.tokens.get(raw) is None
        stored = await op.storage.tokens.get(secret_hash(raw))
        assert stored is not None
        assert raw not in repr(stored)
        assert issued["code"] not in repr(stored)


async def test_stolen_refresh_token_replay_revokes_the_family(
    browser: Browser, c1: RegisteredClient
) -> None:
    # RT-01: stolen RT replayed.
    first = await tokens_for(browser, c1)
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = (await browser.http.post("/token", data=refresh, auth=c1.basic)).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert error_of(await browser.http.post("/token", data=refresh, auth=c1.basic)) == (
        "invalid_grant"
    )
    again = {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
    assert error_of(await browser.http.post("/token", data=again, auth=c1.basic)) == (
        "invalid_grant"
    )
    active = await browser.http.post(
        "/introspect", data={"token": second["access_token"]}, auth=c1.basic
    )
    assert active.json() == {"active": False}


async def test_concurrent_refreshes_have_at_most_one_winner(
    browser: Browser, c1: RegisteredClient
) -> None:
    # RT-02: concurrent refresh race.
    issued = await tokens_for(browser, c1)
    refresh = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
    answers = await asyncio.gather(
        *(browser.http.post("/token", data=refresh, auth=c1.basic) for _ in range(5))
    )
    assert [a.status_code for a in answers].count(200) <= 1
    assert all(a.status_code in (200, 400) for a in answers)


async def test_refresh_token_of_another_client(
    browser: Browser, c1: RegisteredClient, c2: RegisteredClient
) -> None:
    # RT-03: RT used by another client.
    issued = await tokens_for(browser, c1)
    refresh = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
    assert error_of(await browser.http.post("/token", data=refresh, auth=c2.basic)) == (
        "invalid_grant"
    )


async def test_refresh_scope_escalation(browser: Browser, c1: RegisteredClient) -> None:
    # RT-04: scope escalation at refresh.
    issued = await tokens_for(browser, c1)
    refresh = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
    wider = await browser.http.post(
        "/token", data={**refresh, "scope": "openid offline_access email"}, auth=c1.basic
    )
    assert error_of(wider) == "invalid_scope"


async def test_refresh_token_format(browser: Browser, c1: RegisteredClient) -> None:
    # RT-07 / CODE-06: codes and refresh tokens are long, URL-safe and distinct.
    seen = set()
    for _ in range(3):
        issued = await tokens_for(browser, c1)
        for name in ("code", "refresh_token", "access_token"):
            value = issued[name]
            assert len(value) >= 22
            assert all(c.isalnum() or c in "-_" for c in value)
            seen.add(value)
    assert len(seen) == 9


async def test_bearer_handling_at_userinfo(browser: Browser, c1: RegisteredClient) -> None:
    # RES-01: bearer handling.
    issued = await tokens_for(browser, c1, scope="openid")
    http = browser.http
    none = await http.get("/userinfo")
    assert none.status_code == 401
    assert "error=" not in none.headers["www-authenticate"]
    bad = await http.get("/userinfo", headers={"authorization": "Bearer nope"})
    assert 'error="invalid_token"' in bad.headers["www-authenticate"]
    both = await http.post(
        "/userinfo",
        data={"access_token": issued["access_token"]},
        headers={"authorization": f"Bearer {issued['access_token']}"},
    )
    assert both.status_code == 400
    in_query = await http.get("/userinfo", params={"access_token": issued["access_token"]})
    assert in_query.status_code in (400, 401)
    assert "sub" not in in_query.text
    plain = await tokens_for(browser, c1, scope="profile")
    forbidden = await http.get(
        "/userinfo", headers={"authorization": f"Bearer {plain['access_token']}"}
    )
    assert forbidden.status_code == 403


async def test_introspection_does_not_leak(
    browser: Browser, c1: RegisteredClient, c2: RegisteredClient
) -> None:
    # RES-03: introspection leaks or lags.
    issued = await tokens_for(browser, c1)
    http = browser.http
    assert error_of(await http.post("/introspect", data={"token": issued["access_token"]}), 401)
    for token in ("unknown", issued["code"]):
        answer = await http.post("/introspect", data={"token": token}, auth=c1.basic)
        assert answer.json() == {"active": False}
    foreign = await http.post("/introspect", data={"token": issued["access_token"]}, auth=c2.basic)
    assert foreign.json() == {"active": False}


async def test_revocation_is_real(
    browser: Browser, c1: RegisteredClient, c2: RegisteredClient
) -> None:
    # RES-04: revocation that silently fails.
    issued = await tokens_for(browser, c1)
    http = browser.http
    token = issued["access_token"]
    assert error_of(await http.post("/revoke", data={"token": token}), 401) == "invalid_client"
    assert (await http.post("/revoke", data={"token": token}, auth=c2.basic)).status_code == 200
    active = await http.post("/introspect", data={"token": token}, auth=c1.basic)
    assert active.json()["active"] is True
    assert (await http.post("/revoke", data={"token": "unknown"}, auth=c1.basic)).status_code == 200
    hinted = {"token": token, "token_type_hint": "refresh_token"}
    assert (await http.post("/revoke", data=hinted, auth=c1.basic)).status_code == 200
    active = await http.post("/introspect", data={"token": token}, auth=c1.basic)
    assert active.json() == {"active": False}


@pytest.fixture
async def clocked(
    database_url: str,
) -> AsyncIterator[tuple[httpx.AsyncClient, Provider, FrozenClock]]:
    """An OP on a clock the test moves, with short code and refresh token lifetimes."""
    clock = FrozenClock(int(time.time()))
    provider = await open_test_provider(database_url, clock=clock, code_ttl=5, refresh_token_ttl=15)
    await provider.accounts.add("alice", PASSWORD)
    try:
        async with asgi_client(create_app(provider)) as http:
            yield http, provider, clock
    finally:
        await provider.close()


async def test_stale_codes_and_refresh_tokens(
    clocked: tuple[httpx.AsyncClient, Provider, FrozenClock],
) -> None:
    # CODE-05 and RT-05: stale code; immortal refresh tokens (absolute lifetime kept on rotation).
    http, provider, clock = clocked
    client = await register(provider)
    browser = Browser(http)
    code = (await browser.callback(**code_request(client)))["code"]
    clock.advance(7)
    assert error_of(await exchange(http, client, code)) == "invalid_grant"
    code = (await browser.callback(**code_request(client, scope="openid offline_access")))["code"]
    refresh_token = (await exchange(http, client, code)).json()["refresh_token"]
    for _ in range(3):
        clock.advance(4)
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        response = await http.post("/token", data=data, auth=client.basic)
        if response.status_code != 200:
            break
        refresh_token = response.json()["refresh_token"]
    clock.advance(4)
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    assert error_of(await http.post("/token", data=data, auth=client.basic)) == "invalid_grant"


async def test_revocation_cascades_to_users_and_clients(
    browser: Browser, op: Provider, c1: RegisteredClient
) -> None:
    # RT-06: revocation that does not cascade (disabled user, removed client).
    issued = await tokens_for(browser, c1)
    await op.accounts.set_disabled("alice")
    data = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
    assert error_of(await browser.http.post("/token", data=data, auth=c1.basic)) == (
        "invalid_grant"
    )
    bearer = {"authorization": f"Bearer {issued['access_token']}"}
    assert (await browser.http.get("/userinfo", headers=bearer)).status_code == 401
    await op.accounts.set_disabled("alice", False)
    issued = await tokens_for(browser, c1)
    await op.clients.remove(c1.client_id)
    data = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
    response = await browser.http.post("/token", data=data, auth=c1.basic)
    assert response.status_code in (400, 401)
    assert (
        await browser.http.get(
            "/userinfo", headers={"authorization": f"Bearer {issued['access_token']}"}
        )
    ).status_code == 401


async def test_client_secret_jwt_misuse(http: httpx.AsyncClient, op: Provider) -> None:
    # TOK-06: client_secret_jwt with a wrong secret or an asymmetric alg.
    client = await register(
        op,
        token_endpoint_auth_method="client_secret_jwt",
        grant_types=["client_credentials"],
        response_types=[],
        redirect_uris=[],
    )
    now = int(time.time())

    def assertion(key: jwk.JWK, alg: str) -> str:
        claims = {
            "iss": client.client_id,
            "sub": client.client_id,
            "aud": f"{TEST_ISSUER}/token",
            "exp": now + 60,
            "iat": now,
            "jti": uuid.uuid4().hex,
        }
        token = jwt.JWT(header={"alg": alg}, claims=claims)
        token.make_signed_token(key)
        return str(token.serialize())

    secret = client.client_secret or ""
    right = jwk.JWK(kty="oct", k=_b64(secret.encode()))
    wrong = jwk.JWK(kty="oct", k=_b64(b"w" * 64))
    rsa_key = jwk.JWK.generate(kty="RSA", size=2048)
    kind = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    for value in (assertion(wrong, "HS256"), assertion(rsa_key, "RS256")):
        data = {
            "grant_type": "client_credentials",
            "client_assertion_type": kind,
            "client_assertion": value,
        }
        assert error_of(await http.post("/token", data=data), 401) == "invalid_client"
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": kind,
        "client_assertion": assertion(right, "HS256"),
    }
    assert (await http.post("/token", data=data)).status_code == 200


async def test_what_idgate_signs_and_publishes(browser: Browser, c1: RegisteredClient) -> None:
    # JWT-07: what idgate signs and publishes (kid in JWKS, no private members, never none).
    jwks = (await browser.http.get("/jwks")).json()
    for key in jwks["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & key.keys()
    kids = {key["kid"] for key in jwks["keys"]}
    issued = await tokens_for(browser, c1)
    header = json.loads(base64.urlsafe_b64decode(issued["id_token"].split(".")[0] + "=="))
    assert header["kid"] in kids
    assert header["alg"] == "RS256"


async def test_bad_input_is_cheap(http: httpx.AsyncClient, c1: RegisteredClient) -> None:
    # G10: every 4xx comes back fast, even for 1 MB of input.
    for path in ("/token", "/introspect", "/register", "/authorize", "/logout", "/userinfo"):
        started = time.perf_counter()
        response = await http.post(
            path,
            content=b"a=" + b"x" * 1_000_000,
            headers={"content-type": "application/x-www-form-urlencoded"},
            auth=c1.basic,
        )
        assert 400 <= response.status_code < 500, path
        assert time.perf_counter() - started < 1.0, path


async def test_token_responses_are_spec_shaped(browser: Browser, c1: RegisteredClient) -> None:
    # TOK-09: sloppy token responses (the hook checks G4/G5/G7 on every other one too).
    code = (await browser.callback(**code_request(c1)))["code"]
    for response in (
        await exchange(browser.http, c1, code),
        await exchange(browser.http, c1, code),
    ):
        assert response.headers["content-type"].startswith("application/json")
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["pragma"] == "no-cache"
    success = await exchange(browser.http, c1, (await browser.callback(**code_request(c1)))["code"])
    assert success.json()["token_type"] == "Bearer"


JOSE_GARBAGE = [
    "a" * 20_000,
    "a.b",
    "a.b.c.d",
    "!!!.@@@.###",
    f"{_b64(b'not json')}.{_b64(b'{}')}.",
    f"{_b64({'alg': 'RS256'})}.{_b64(b'[1]')}.sig",
    f"{_b64({'alg': 'RS256'})}.{'A' * 30_000}.sig",
    f"{_b64({'alg': 'RS256', 'zip': 'DEF', 'enc': 'A128GCM'})}.e30.x.y.z",
    _b64(b'{"alg":"RS256","alg":"none"}') + "." + _b64({"sub": "x"}) + ".",
]


async def test_jose_parser_garbage(
    browser: Browser, c1: RegisteredClient, http: httpx.AsyncClient
) -> None:
    # JWT-06: JOSE parser DoS and oracles, in every JWT idgate parses today
    # (id_token_hint at authorize and logout, client assertions at the token endpoint).
    kind = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    for garbage in JOSE_GARBAGE:
        started = time.perf_counter()
        response = await browser.authorize(**code_request(c1, prompt="none", id_token_hint=garbage))
        assert response.status_code in (303, 400)
        logout = await http.post("/logout", data={"id_token_hint": garbage})
        assert logout.status_code in (200, 400)
        assertion = await http.post(
            "/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": kind,
                "client_assertion": garbage,
            },
        )
        assert assertion.status_code in (400, 401)
        assert time.perf_counter() - started < 2.0


async def test_unsigned_request_object_and_unregistered_request_uri(
    browser: Browser, c1: RegisteredClient, http: httpx.AsyncClient
) -> None:
    # JWT-01/JWT-04: an unsigned object from a client that registered no `none`, carrying a
    # smuggled redirect_uri, and an unregistered request_uri: errors at the outer redirect_uri.
    unsigned = f"{_b64({'alg': 'none'})}.{_b64({'redirect_uri': 'https://sink.example/cb'})}."
    response = await browser.authorize(**code_request(c1, request=unsigned))
    assert redirect_error(response)["error"] == "invalid_request_object"
    assert response.headers["location"].startswith(c1.redirect_uri)
    response = await browser.authorize(**code_request(c1, request_uri="https://sink.example/r"))
    assert redirect_error(response)["error"] == "invalid_request_uri"
    discovery = (await http.get("/.well-known/openid-configuration")).json()
    assert discovery["request_parameter_supported"] is True
    assert discovery["require_request_uri_registration"] is True
