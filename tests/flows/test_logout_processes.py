"""Logout across two real `idgate serve` processes on one database (SECURITY.md LOG-08,
LOG-09): log out on A, and B knows at once; the RP's back-channel endpoint hears it once."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from jwcrypto import jwk, jwt
from logout_support import BackchannelRP, validate_logout_token  # type: ignore[import-not-found]

from idgate.testing import ServerProcess, open_test_provider, parse_forms, response_params

pytestmark = pytest.mark.slow

PASSWORD = "logout-process-password"
CALLBACK = "https://rp.example/cb"
BYE = "https://rp.example/bye"


def seed(database_url: str, issuer: str, backchannel_uri: str) -> tuple[str, str]:
    async def run() -> tuple[str, str]:
        provider = await open_test_provider(database_url, issuer=issuer)
        try:
            await provider.accounts.add("alice", PASSWORD)
            created = await provider.registration.register_trusted(
                {
                    "redirect_uris": [CALLBACK],
                    "post_logout_redirect_uris": [BYE],
                    "response_types": ["code"],
                    "grant_types": ["authorization_code", "refresh_token"],
                    "backchannel_logout_uri": backchannel_uri,
                    "first_party": True,
                }
            )
            assert created.client_secret is not None
            return created.client.client_id, created.client_secret
        finally:
            await provider.close()

    return asyncio.run(run())


def sign_in(browser: httpx.Client, server: str, client_id: str) -> str:
    started = browser.get(
        f"{server}/authorize",
        params={
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "scope": "openid",
            "state": "s",
        },
    )
    page = browser.get(f"{server}{started.headers['location']}")
    (form, *_) = parse_forms(page.text)
    done = browser.post(
        f"{server}{form.action}", data={**form.fields, "username": "alice", "password": PASSWORD}
    )
    return response_params(done.headers["location"])["code"]


def prompt_none(browser: httpx.Client, server: str, client_id: str) -> dict[str, str]:
    response = browser.get(
        f"{server}/authorize",
        params={
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "scope": "openid",
            "prompt": "none",
        },
    )
    return response_params(response.headers["location"])


def exchange(server: str, client: tuple[str, str], code: str) -> dict[str, Any]:
    response = httpx.post(
        f"{server}/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
        auth=client,
    )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def settle(rp: BackchannelRP, count: int) -> int:
    """Wait for `count` deliveries, then a little more for any that should not come."""
    rp.wait_for(count, timeout=20)
    time.sleep(1.5)
    return len(rp.received)


def test_logout_on_one_process_holds_on_the_other(database_url: str, tmp_path: Path) -> None:
    with BackchannelRP(tmp_path) as rp:
        env = {"IDGATE_OUTBOUND_CA_FILE": str(rp.ca_file)}
        a = ServerProcess(database_url, env=env)
        a.env["IDGATE_ISSUER"] = a.url
        b = ServerProcess(database_url, env={**env, "IDGATE_ISSUER": a.url})
        with a, b, httpx.Client(follow_redirects=False) as browser:
            client = seed(database_url, a.url, rp.url("/bc"))
            tokens = exchange(b.url, client, sign_in(browser, a.url, client[0]))
            old_cookie = browser.cookies.get("idgate_session")
            assert old_cookie
            assert "code" in prompt_none(browser, b.url, client[0])

            response = browser.get(
                f"{a.url}/logout",
                params={
                    "id_token_hint": tokens["id_token"],
                    "post_logout_redirect_uri": BYE,
                    "state": "a",
                },
            )
            assert response.status_code == 303
            assert response.headers["location"] == f"{BYE}?state=a"

            # B: no session, whatever cookie the browser still has (LOG-08).
            assert prompt_none(browser, b.url, client[0])["error"] == "login_required"
            browser.cookies.set("idgate_session", old_cookie)
            assert prompt_none(browser, b.url, client[0])["error"] == "login_required"
            refresh = httpx.post(
                f"{b.url}/token",
                data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                auth=client,
            )
            assert refresh.status_code == 400
            assert refresh.json()["error"] == "invalid_grant"
            # Logging out again, on B, is no error.
            again = browser.get(f"{b.url}/logout", params={"id_token_hint": tokens["id_token"]})
            assert again.status_code == 200

            # The RP heard it exactly once, in a token it can validate (LOG-09).
            assert settle(rp, 1) == 1
            jwks = httpx.get(f"{a.url}/jwks").json()
            (token,) = rp.received[0].form["logout_token"]
            claims = validate_logout_token(token, jwks, issuer=a.url, client_id=client[0])
            id_claims = validate_id_token(tokens["id_token"], jwks, a.url, client[0])
            assert claims["sid"] == id_claims["sid"]
            assert claims["sub"] == id_claims["sub"]


def test_logout_racing_on_two_processes_is_delivered_once(
    database_url: str, tmp_path: Path
) -> None:
    with BackchannelRP(tmp_path) as rp:
        env = {"IDGATE_OUTBOUND_CA_FILE": str(rp.ca_file)}
        a = ServerProcess(database_url, env=env)
        a.env["IDGATE_ISSUER"] = a.url
        b = ServerProcess(database_url, env={**env, "IDGATE_ISSUER": a.url})
        with a, b:
            client = seed(database_url, a.url, rp.url("/bc"))
            for round_ in range(3):
                with httpx.Client(follow_redirects=False) as browser:
                    tokens = exchange(a.url, client, sign_in(browser, a.url, client[0]))
                statuses = race_logout([a.url, b.url, a.url, b.url], tokens["id_token"])
                assert set(statuses) <= {200, 303}, statuses
                assert 303 in statuses
                assert settle(rp, round_ + 1) == round_ + 1


def race_logout(servers: list[str], hint: str) -> list[int]:
    """The same logout request to each server at the same instant; the statuses."""
    barrier = threading.Barrier(len(servers))
    statuses: list[int] = []

    def log_out(server: str) -> None:
        with httpx.Client(follow_redirects=False) as http:
            barrier.wait()
            response = http.get(
                f"{server}/logout",
                params={"id_token_hint": hint, "post_logout_redirect_uri": BYE},
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=log_out, args=(server,)) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def validate_id_token(token: str, jwks: dict[str, Any], issuer: str, client_id: str) -> Any:
    verified = jwt.JWT(
        jwt=token,
        key=jwk.JWKSet.from_json(json.dumps(jwks)),
        algs=["RS256"],
        check_claims={"iss": issuer, "aud": client_id},
    )
    return json.loads(verified.claims)
