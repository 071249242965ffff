"""Several real `idgate serve` processes on one database, and the browser and client moves the
multi-process tests make against them (tests/flows/test_process_races.py, test_soak.py).

A `Cluster` is what sits behind a load balancer: processes serving one issuer over one
database. `hops` hands out its processes in turn, so each request of a flow can land on a
different one; with one `serve --workers 2` both entries are the same port and the kernel
picks the worker.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from jwcrypto import jwk, jwt

from idgate.testing import (
    ServerProcess,
    open_test_provider,
    parse_forms,
    postgres_database_url,
    response_params,
    run_admin_sql,
)

PASSWORD = "multi-process-password"
RP = "https://rp.example"
CALLBACK = f"{RP}/cb"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def shared_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database of each kind, with the account `alice`, for a whole module:
    starting processes is the slow part, so a module's tests share them (each test seeds
    clients of its own)."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path_factory.mktemp("shared") / "idgate.db"
        shutil.copyfile(template, path)
        seed_accounts(f"sqlite:///{path}", ["alice"])
        yield f"sqlite:///{path}"
        return
    template_name: str = request.getfixturevalue("postgres_template")
    server = os.environ.get("IDGATE_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
    name = f"idgate_m_{uuid.uuid4().hex[:12]}"
    asyncio.run(run_admin_sql(server, f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
    try:
        seed_accounts(postgres_database_url(server, name), ["alice"])
        yield postgres_database_url(server, name)
    finally:
        asyncio.run(run_admin_sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass(frozen=True)
class Cluster:
    database_url: str
    issuer: str
    urls: tuple[str, ...]
    processes: tuple[ServerProcess, ...]

    def hops(self, start: int = 0) -> Iterator[str]:
        """The processes in turn, from `start` on, for ever."""
        return itertools.islice(itertools.cycle(self.urls), start % len(self.urls), None)

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/token"

    def output(self) -> str:
        return "".join(process.output for process in self.processes)


@dataclass(frozen=True)
class Topology:
    processes: int
    workers: int


# Two single-worker processes (A and B); or one `serve --workers 2`, where it is the kernel
# that spreads the connections.
TWO_PROCESSES = Topology(processes=2, workers=1)
TWO_WORKERS = Topology(processes=1, workers=2)


def start_cluster(
    database_url: str, topology: Topology, env: Mapping[str, str] | None = None
) -> Cluster:
    first = ServerProcess(database_url, env=dict(env or {}), workers=topology.workers)
    # Every process serves the same issuer, as behind one load balancer.
    first.env["IDGATE_ISSUER"] = first.url
    others = [
        ServerProcess(
            database_url, env={**(env or {}), "IDGATE_ISSUER": first.url}, workers=topology.workers
        )
        for _ in range(topology.processes - 1)
    ]
    started: list[ServerProcess] = []
    try:
        for process in (first, *others):
            started.append(process.start())
    except BaseException:
        for process in started:
            process.stop()
        raise
    urls = tuple(p.url for p in started)
    if len(urls) == 1:
        urls = urls * 2
    return Cluster(database_url, first.url, urls, tuple(started))


def stop_cluster(cluster: Cluster) -> str:
    """Stop every process; what they printed, checked for tracebacks."""
    outputs = []
    for process in cluster.processes:
        code, output = process.stop()
        assert code == 0, output
        outputs.append(output)
    printed = "".join(outputs)
    assert "Traceback" not in printed, printed
    return printed


# --- seeding the shared database --------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str | None

    @property
    def basic(self) -> tuple[str, str]:
        assert self.client_secret is not None
        return (self.client_id, self.client_secret)


def seed_accounts(database_url: str, usernames: Sequence[str]) -> None:
    async def run() -> None:
        provider = await open_test_provider(database_url)
        try:
            for username in usernames:
                await provider.accounts.add(
                    username, PASSWORD, {"name": username.title(), "email": f"{username}@x.test"}
                )
        finally:
            await provider.close()

    asyncio.run(run())


def seed_client(database_url: str, issuer: str, **metadata: Any) -> Credentials:
    """A client registered by the operator (`register_trusted`); defaults: a confidential
    client of the code flow with refresh tokens, not first-party (so it is asked consent)."""

    async def run() -> Credentials:
        provider = await open_test_provider(database_url, issuer=issuer)
        try:
            created = await provider.registration.register_trusted(
                {
                    "redirect_uris": [CALLBACK],
                    "response_types": ["code"],
                    "grant_types": ["authorization_code", "refresh_token"],
                    "client_name": "Multi-process RP",
                    **metadata,
                }
            )
            return Credentials(created.client.client_id, created.client_secret)
        finally:
            await provider.close()

    return asyncio.run(run())


# --- a browser walking the pages, one request per hop ----------------------------------------


def browser(**hooks: list[Callable[[httpx.Response], None]]) -> httpx.Client:
    """A browser with a cookie jar and no automatic redirects. Its cookies are per host, not
    per port, so every process of a cluster on 127.0.0.1 gets them, as behind one name."""
    return httpx.Client(follow_redirects=False, timeout=30, event_hooks=dict(hooks))


@dataclass(frozen=True)
class SignedIn:
    params: dict[str, str]
    pages: tuple[str, ...]  # "login", "consent": the pages the End-User saw


def sign_in(
    client: httpx.Client,
    hops: Iterator[str],
    client_id: str,
    *,
    username: str = "alice",
    **params: str,
) -> SignedIn:
    """Authorize, log in and consent when asked, each request to the next process of `hops`;
    the parameters the RP gets back."""
    query = {
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid",
        "state": uuid.uuid4().hex,
        **params,
    }
    pages: list[str] = []
    response = client.get(f"{next(hops)}/authorize", params=query)
    location = response.headers.get("location", "")
    if location.startswith("/interaction/"):
        response = client.get(f"{next(hops)}{location}")
        if 'name="password"' in response.text:
            pages.append("login")
            (form, *_) = parse_forms(response.text)
            response = client.post(
                f"{next(hops)}{form.action}",
                data={**form.fields, "username": username, "password": PASSWORD},
            )
        if response.status_code == 200 and 'name="decision"' in response.text:
            pages.append("consent")
            form = next(
                f for f in parse_forms(response.text) if "approve" in f.buttons.get("decision", [])
            )
            response = client.post(
                f"{next(hops)}{form.action}", data={**form.fields, "decision": "approve"}
            )
    assert response.status_code in (302, 303), (response.status_code, response.text[:500])
    location = response.headers["location"]
    assert location.startswith(CALLBACK), location
    returned = response_params(location)
    assert returned.get("state") == query["state"], returned
    return SignedIn(returned, tuple(pages))


def redeem(server: str, credentials: Credentials, code: str) -> httpx.Response:
    return httpx.post(
        f"{server}/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
        auth=credentials.basic,
        timeout=30,
    )


def introspect(server: str, credentials: Credentials, token: str) -> dict[str, Any]:
    response = httpx.post(
        f"{server}/introspect", data={"token": token}, auth=credentials.basic, timeout=30
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- bursts -----------------------------------------------------------------------------------


def burst(
    urls: Sequence[str], size: int, send: Callable[[httpx.Client], httpx.Response]
) -> list[httpx.Response]:
    """`size` requests at once, split across `urls` in turn: each thread opens its connection
    first, then all are released by one barrier, so the requests meet in the database."""
    barrier = threading.Barrier(size)
    responses: list[httpx.Response] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def run(server: str) -> None:
        try:
            with httpx.Client(base_url=server, timeout=30) as http:
                http.get("/healthz")  # connected and kept alive before the barrier
                barrier.wait(timeout=30)
                response = send(http)
            with lock:
                responses.append(response)
        except BaseException as exc:  # reported below, in the test's thread
            barrier.abort()
            with lock:
                failures.append(exc)

    threads = [
        threading.Thread(target=run, args=(urls[i % len(urls)],), daemon=True) for i in range(size)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if failures:
        raise failures[0]
    assert len(responses) == size
    return responses


def outcomes(responses: Sequence[httpx.Response]) -> list[tuple[int, str | None]]:
    """(status, OAuth error) of each response, sorted: the successes first."""
    return sorted((r.status_code, r.json().get("error")) for r in responses)


# --- client assertions (RFC 7523 §3) with an independent JOSE library ------------------------


def assertion_claims(client_id: str, audience: str, jti: str | None = None) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": jti or uuid.uuid4().hex,
        "iat": now,
        "exp": now + 60,
    }


def signed_assertion(claims: Mapping[str, Any], key: jwk.JWK, alg: str) -> str:
    header: dict[str, Any] = {"alg": alg}
    if key.get("kid"):
        header["kid"] = key["kid"]
    token = jwt.JWT(header=header, claims=dict(claims))
    token.make_signed_token(key)
    serialized: str = token.serialize()
    return serialized


def hmac_key(secret: str) -> jwk.JWK:
    """The client_secret as the HMAC key of client_secret_jwt (its UTF-8 octets)."""
    return jwk.JWK.from_password(secret)


def verify_id_token(
    token: str, jwks: Mapping[str, Any], *, issuer: str, client_id: str, nonce: str | None
) -> dict[str, Any]:
    """Check an ID Token's signature against the published JWKS, and iss, aud, exp, nonce."""
    import json

    checks: dict[str, Any] = {"iss": issuer, "aud": client_id, "exp": None, "iat": None}
    if nonce is not None:
        checks["nonce"] = nonce
    verified = jwt.JWT(
        jwt=token,
        key=jwk.JWKSet.from_json(json.dumps(dict(jwks))),
        algs=["RS256", "PS256", "ES256", "EdDSA"],
        check_claims=checks,
    )
    claims: dict[str, Any] = json.loads(verified.claims)
    return claims
