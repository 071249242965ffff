"""Races and shared state across real `idgate serve` processes on one database (issue #13).

Every burst is released by one barrier and split across the processes: two single-worker
processes A and B, and one `serve --workers 2`, on PostgreSQL and on one SQLite file. Of one
code, one refresh token, one client assertion `jti`, exactly one request wins. Then what one
process changes (a login, a consent, a client's metadata, a deletion, a revocation) holds at
once on the other: nothing of it lives in a process.

tests/flows/test_two_processes.py has the first code race and an access-token revocation;
test_logout_processes.py has logout and a prompt=none after a login on the other process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest
from jwcrypto import jwk
from process_support import (  # type: ignore[import-not-found]
    CALLBACK,
    JWT_BEARER,
    RP,
    TWO_PROCESSES,
    TWO_WORKERS,
    Cluster,
    Credentials,
    assertion_claims,
    browser,
    burst,
    hmac_key,
    introspect,
    outcomes,
    redeem,
    seed_client,
    shared_database_url,  # noqa: F401  (a fixture)
    sign_in,
    signed_assertion,
    start_cluster,
    stop_cluster,
)

pytestmark = pytest.mark.slow

BURST = 12


@pytest.fixture(scope="module")
def pair(shared_database_url: str) -> Iterator[Cluster]:  # noqa: F811
    """A and B: two processes, one issuer, one database, registration open."""
    cluster = start_cluster(shared_database_url, TWO_PROCESSES, {"IDGATE_REGISTRATION": "open"})
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


@pytest.fixture(scope="module")
def workers(shared_database_url: str) -> Iterator[Cluster]:  # noqa: F811
    """One `idgate serve --workers 2` on its own port, on the same database as `pair`."""
    cluster = start_cluster(shared_database_url, TWO_WORKERS)
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


@pytest.fixture(params=["pair", "workers"])
def cluster(request: pytest.FixtureRequest, shared_database_url: str) -> Cluster:  # noqa: F811
    """Each race runs on both topologies (on each database: hence the argument)."""
    chosen: Cluster = request.getfixturevalue(request.param)
    return chosen


def code_for(cluster: Cluster, credentials: Credentials, **params: str) -> str:
    with browser() as http:
        signed = sign_in(http, cluster.hops(), credentials.client_id, **params)
    return signed.params["code"]


def expect_family_revoked(
    cluster: Cluster, credentials: Credentials, winner: dict[str, str]
) -> None:
    """The winner's tokens are inactive on every process: the burn and the tokens it gave
    commit together, so a loser's revocation always finds them."""
    live = [
        kind
        for kind in ("access_token", "refresh_token")
        for server in cluster.urls
        if introspect(server, credentials, winner[kind])["active"]
    ]
    assert not live, f"the winner's {sorted(set(live))} escaped the family revocation"


# --- bursts: exactly one winner ----------------------------------------------------------------


def test_a_burst_on_one_code_has_one_winner_and_the_replay_revokes_it(cluster: Cluster) -> None:
    credentials = seed_client(cluster.database_url, cluster.issuer, first_party=True)
    code = code_for(cluster, credentials)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}

    responses = burst(
        cluster.urls, BURST, lambda http: http.post("/token", data=form, auth=credentials.basic)
    )

    assert outcomes(responses) == [(200, None)] + [(400, "invalid_grant")] * (BURST - 1)
    (winner,) = (r.json() for r in responses if r.status_code == 200)
    # The losers were replays of a used code: the winner's tokens are revoked too
    # (RFC 9700 §4.5), whichever process each request reached.
    expect_family_revoked(cluster, credentials, winner)


def test_a_burst_on_one_refresh_token_has_one_winner(cluster: Cluster) -> None:
    credentials = seed_client(cluster.database_url, cluster.issuer, first_party=True)
    first = redeem(cluster.urls[0], credentials, code_for(cluster, credentials))
    assert first.status_code == 200, first.text
    refresh_token = first.json()["refresh_token"]
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}

    responses = burst(
        cluster.urls, BURST, lambda http: http.post("/token", data=form, auth=credentials.basic)
    )

    # refresh_grace_period is 0 (the default): every other use of the rotated token is reuse.
    assert outcomes(responses) == [(200, None)] + [(400, "invalid_grant")] * (BURST - 1)
    (winner,) = (r.json() for r in responses if r.status_code == 200)
    assert winner["refresh_token"] != refresh_token
    # Reuse means a copy is in other hands: the family is revoked, the winner's pair with it.
    expect_family_revoked(cluster, credentials, winner)


def private_key_jwt_client(cluster: Cluster) -> tuple[Credentials, jwk.JWK, str]:
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid=f"rp-{uuid.uuid4().hex[:8]}")
    credentials = seed_client(
        cluster.database_url,
        cluster.issuer,
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [key.export_public(as_dict=True)]},
        grant_types=["client_credentials"],
        response_types=[],
        redirect_uris=[],
    )
    return credentials, key, "ES256"


def client_secret_jwt_client(cluster: Cluster) -> tuple[Credentials, jwk.JWK, str]:
    credentials = seed_client(
        cluster.database_url,
        cluster.issuer,
        token_endpoint_auth_method="client_secret_jwt",
        grant_types=["client_credentials"],
        response_types=[],
        redirect_uris=[],
    )
    assert credentials.client_secret is not None
    return credentials, hmac_key(credentials.client_secret), "HS256"


@pytest.mark.parametrize("make_client", [private_key_jwt_client, client_secret_jwt_client])
def test_a_burst_of_one_client_assertion_has_one_winner(cluster: Cluster, make_client) -> None:  # type: ignore[no-untyped-def]
    credentials, key, alg = make_client(cluster)
    assertion = signed_assertion(
        assertion_claims(credentials.client_id, cluster.token_url), key, alg
    )
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
    }

    responses = burst(cluster.urls, BURST, lambda http: http.post("/token", data=form))

    # RFC 7523 §3 item 7: a jti is used once; the replay cache is the database's.
    assert outcomes(responses) == [(200, None)] + [(401, "invalid_client")] * (BURST - 1)
    # A fresh jti from the same client still works: only the replayed one was refused.
    fresh = signed_assertion(assertion_claims(credentials.client_id, cluster.token_url), key, alg)
    again = httpx.post(
        f"{cluster.urls[1]}/token", data={**form, "client_assertion": fresh}, timeout=30
    )
    assert again.status_code == 200, again.text


# --- what one process does, the other sees at once ---------------------------------------------


def test_login_and_consent_hop_between_processes_and_hold_on_both(pair: Cluster) -> None:
    credentials = seed_client(pair.database_url, pair.issuer)
    a, b = pair.urls
    with browser() as http:
        # authorize on A, the login page from B, the login posted to A, consent posted to B.
        first = sign_in(http, pair.hops(), credentials.client_id, scope="openid profile")
        assert first.pages == ("login", "consent")
        tokens = redeem(a, credentials, first.params["code"])
        assert tokens.status_code == 200, tokens.text

        # The session made on A and the consent given on B: on either process, no page at all.
        for start in (0, 1):
            again = sign_in(http, pair.hops(start), credentials.client_id, scope="openid profile")
            assert again.pages == ()
            assert (
                redeem(pair.urls[1 - start], credentials, again.params["code"]).status_code == 200
            )

        # A wider scope is a new consent, asked wherever the request lands.
        wider = sign_in(http, pair.hops(1), credentials.client_id, scope="openid profile email")
        assert wider.pages == ("consent",)

        # prompt=login is honoured on B although the session was made on A.
        forced = sign_in(
            http, pair.hops(1), credentials.client_id, scope="openid profile", prompt="login"
        )
        assert forced.pages == ("login",)
    assert introspect(b, credentials, tokens.json()["access_token"])["active"] is True


def register(server: str, **metadata: object) -> dict[str, object]:
    response = httpx.post(
        f"{server}/register",
        json={
            "redirect_uris": [CALLBACK],
            "response_types": ["code"],
            "grant_types": ["authorization_code", "refresh_token"],
            "client_name": "Self-managed RP",
            **metadata,
        },
        timeout=30,
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def accepted(response: httpx.Response) -> bool:
    """The request was valid: on to the login page."""
    return response.status_code in (302, 303) and response.headers["location"].startswith(
        "/interaction/"
    )


def authorize_status(server: str, client_id: str, redirect_uri: str) -> httpx.Response:
    return httpx.get(
        f"{server}/authorize",
        params={
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "openid",
        },
        timeout=30,
    )


def test_a_client_update_on_one_process_holds_at_once_on_the_other(pair: Cluster) -> None:
    a, b = pair.urls
    created = register(a)
    client_id = str(created["client_id"])
    token = str(created["registration_access_token"])
    path = str(created["registration_client_uri"]).removeprefix(pair.issuer)
    # B parses and caches the client's metadata now, before the update.
    assert accepted(authorize_status(b, client_id, CALLBACK))

    updated = httpx.put(
        f"{a}{path}",
        json={
            "client_id": client_id,
            "redirect_uris": [f"{RP}/cb2"],
            "response_types": ["code"],
            "grant_types": ["authorization_code", "refresh_token"],
            "client_name": "Renamed RP",
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert updated.status_code == 200, updated.text

    old = authorize_status(b, client_id, CALLBACK)
    assert old.status_code == 400
    assert "location" not in old.headers  # an unregistered redirect_uri gets a page
    assert accepted(authorize_status(b, client_id, f"{RP}/cb2"))
    read = httpx.get(f"{b}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert read.json()["client_name"] == "Renamed RP"


def test_a_client_deleted_on_one_process_is_dead_at_once_on_the_other(pair: Cluster) -> None:
    a, b = pair.urls
    created = register(a)
    credentials = Credentials(str(created["client_id"]), str(created["client_secret"]))
    token = str(created["registration_access_token"])
    path = str(created["registration_client_uri"]).removeprefix(pair.issuer)
    with browser() as http:
        code = sign_in(http, pair.hops(), credentials.client_id).params["code"]
    tokens = redeem(b, credentials, code).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert httpx.get(f"{b}/userinfo", headers=bearer).status_code == 200

    deleted = httpx.delete(f"{a}{path}", headers={"Authorization": f"Bearer {token}"})
    assert deleted.status_code == 204

    assert httpx.get(f"{b}/userinfo", headers=bearer).status_code == 401
    refreshed = httpx.post(
        f"{b}/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=credentials.basic,
    )
    assert (refreshed.status_code, refreshed.json()["error"]) == (401, "invalid_client")
    page = authorize_status(b, credentials.client_id, CALLBACK)
    assert page.status_code == 400
    assert "location" not in page.headers
    gone = httpx.get(f"{b}{path}", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 401


def test_a_client_removed_by_the_operator_is_dead_at_once_on_both(pair: Cluster) -> None:
    credentials = seed_client(pair.database_url, pair.issuer, first_party=True)
    a, b = pair.urls
    tokens = redeem(a, credentials, code_for(pair, credentials)).json()
    for server in pair.urls:
        assert introspect(server, credentials, tokens["access_token"])["active"] is True

    # `idgate client remove`, a third process on the same database.
    removed = subprocess.run(
        [sys.executable, "-m", "idgate", "client", "remove", credentials.client_id],
        env={**os.environ, "IDGATE_DATABASE_URL": pair.database_url, "IDGATE_ISSUER": pair.issuer},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert removed.returncode == 0, removed.stderr

    for server in pair.urls:
        answer = httpx.post(
            f"{server}/token",
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            auth=credentials.basic,
        )
        assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert httpx.get(f"{server}/userinfo", headers=bearer).status_code == 401
    assert authorize_status(a, credentials.client_id, CALLBACK).status_code == 400
    assert authorize_status(b, credentials.client_id, CALLBACK).status_code == 400


def test_a_refresh_token_revoked_on_one_process_takes_its_family_on_the_other(
    pair: Cluster,
) -> None:
    credentials = seed_client(pair.database_url, pair.issuer, first_party=True)
    a, b = pair.urls
    first = redeem(a, credentials, code_for(pair, credentials)).json()
    # One rotation on B: the family now spans tokens issued by both processes.
    rotated = httpx.post(
        f"{b}/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=credentials.basic,
    ).json()

    revoked = httpx.post(
        f"{a}/revoke", data={"token": rotated["refresh_token"]}, auth=credentials.basic
    )
    assert revoked.status_code == 200

    for token in (first["access_token"], rotated["access_token"], rotated["refresh_token"]):
        assert introspect(b, credentials, token) == {"active": False}
    again = httpx.post(
        f"{b}/token",
        data={"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]},
        auth=credentials.basic,
    )
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
