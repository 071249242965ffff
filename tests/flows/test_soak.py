"""Nothing lost under load (issue #13): a bounded soak of complete flows against two processes.

`IDGATE_SOAK_SECONDS` (default 45) is how long the load runs, on each database;
`IDGATE_SOAK_WORKERS` (default 6) how many End-Users' browsers run it at once. Each browser
loops through whole flows, every request to the next process of A and B: authorize with login
and consent (or on its existing session), the code at the token endpoint, UserInfo, then
sometimes a refresh, a revocation of the access or the refresh token, or a replay of the code.
Browsers share accounts in pairs, so their consents and sessions meet in the database.

Every code, token and ID Token is recorded; afterwards:
- every ID Token verifies against the JWKS, with its iss, aud, nonce, and the sub UserInfo gave;
- every access token introspects active until its expiry (the TTL is short, so many expire
  during the run) unless it was revoked, or its family was; then inactive;
- every code was redeemed exactly once: a second redemption fails with invalid_grant (the code
  TTL outlasts the run, so that proves single use, not expiry), and it revokes the family;
- no answer was a 5xx, and the processes printed no traceback or error.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from process_support import (  # type: ignore[import-not-found]
    CALLBACK,
    TWO_PROCESSES,
    Cluster,
    Credentials,
    browser,
    seed_accounts,
    seed_client,
    sign_in,
    start_cluster,
    stop_cluster,
    verify_id_token,
)

SOAK_SECONDS = float(os.environ.get("IDGATE_SOAK_SECONDS", "45"))
SOAK_WORKERS = int(os.environ.get("IDGATE_SOAK_WORKERS", "6"))
# Short enough that the run sees tokens expire, long enough that most are checked live.
ACCESS_TOKEN_TTL = max(15, int(SOAK_SECONDS // 2))
# Expiry is decided by whole seconds on the server: a token this close to it is not judged.
EXPIRY_SLACK = 2.0
SCOPES = ("openid", "openid profile", "openid email", "openid profile email")

# The checks afterwards take about as long again as the load (one request per token).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2 * SOAK_SECONDS + 240)]


@dataclasses.dataclass
class AccessToken:
    value: str
    issued_after: float  # wall clock just before the request
    issued_before: float  # and just after the answer
    expires_in: int
    revoked: bool = False


@dataclasses.dataclass
class Flow:
    """One authorization code and everything issued from it (one token family)."""

    client: Credentials
    code: str
    nonce: str
    access_tokens: list[AccessToken] = dataclasses.field(default_factory=list)
    id_tokens: list[str] = dataclasses.field(default_factory=list)
    refresh_token: str | None = None
    userinfo_sub: str | None = None
    family_revoked: bool = False


class Record:
    """What the browsers saw, shared by their threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.server_errors: list[str] = []
        self.failures: list[str] = []
        self.failure_count = 0
        self.flows: list[Flow] = []
        self.logins = 0
        self.consents = 0

    def response(self, response: httpx.Response) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code >= 500:
                request = response.request
                self.server_errors.append(f"{request.method} {request.url.path}: {response}")

    def failure(self, what: str) -> None:
        with self.lock:
            self.failure_count += 1
            if len(self.failures) < 20:
                self.failures.append(what)


def expect(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url.path}: "
        f"{response.status_code} {response.text[:300]}"
    )
    body: dict[str, Any] = response.json() if response.content else {}
    return body


def claims_of(jwt: str) -> dict[str, Any]:
    """A JWT's claims, unverified (verification comes after the run, against the JWKS)."""
    payload = jwt.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


class Browser:
    """One End-User's browser in a loop of complete flows, each request to the next process."""

    def __init__(
        self, index: int, cluster: Cluster, clients: list[Credentials], record: Record
    ) -> None:
        self.rng = random.Random(index)
        self.hops = cluster.hops(index)
        self.username = f"soak{index // 2}"
        self.clients = clients
        self.record = record
        self.http = self._new_browser()

    def _new_browser(self) -> httpx.Client:
        return browser(response=[self.record.response])

    def run(self, deadline: float) -> None:
        try:
            while time.monotonic() < deadline:
                try:
                    self.one_flow()
                except AssertionError as exc:
                    self.record.failure(str(exc))
        finally:
            self.http.close()

    def tokens(self, flow: Flow, form: dict[str, str]) -> dict[str, Any]:
        before = time.time()
        body = expect(
            self.http.post(f"{next(self.hops)}/token", data=form, auth=flow.client.basic), 200
        )
        after = time.time()
        flow.access_tokens.append(
            AccessToken(body["access_token"], before, after, int(body["expires_in"]))
        )
        if "id_token" in body:
            flow.id_tokens.append(body["id_token"])
        flow.refresh_token = body.get("refresh_token", flow.refresh_token)
        return body

    def one_flow(self) -> None:
        if self.rng.random() < 0.15:
            # A new browser: no session, so a login (and a consent where none is remembered).
            self.http.close()
            self.http = self._new_browser()
        client = self.rng.choice(self.clients)
        nonce = uuid.uuid4().hex
        signed = sign_in(
            self.http,
            self.hops,
            client.client_id,
            username=self.username,
            scope=self.rng.choice(SCOPES),
            nonce=nonce,
        )
        flow = Flow(client, signed.params["code"], nonce)
        with self.record.lock:
            self.record.flows.append(flow)
            self.record.logins += "login" in signed.pages
            self.record.consents += "consent" in signed.pages

        body = self.tokens(
            flow,
            {"grant_type": "authorization_code", "code": flow.code, "redirect_uri": CALLBACK},
        )
        info = expect(
            self.http.get(
                f"{next(self.hops)}/userinfo",
                headers={"Authorization": f"Bearer {body['access_token']}"},
            ),
            200,
        )
        flow.userinfo_sub = info["sub"]

        roll = self.rng.random()
        if roll < 0.35 and flow.refresh_token:
            for _ in range(self.rng.randint(1, 2)):
                self.tokens(
                    flow, {"grant_type": "refresh_token", "refresh_token": flow.refresh_token}
                )
        elif roll < 0.5:
            self.revoke(flow, flow.access_tokens[-1].value)
            flow.access_tokens[-1].revoked = True
        elif roll < 0.6 and flow.refresh_token:
            self.revoke(flow, flow.refresh_token)  # takes the family with it
            flow.family_revoked = True
        elif roll < 0.67:
            replay = self.http.post(
                f"{next(self.hops)}/token",
                data={
                    "grant_type": "authorization_code",
                    "code": flow.code,
                    "redirect_uri": CALLBACK,
                },
                auth=flow.client.basic,
            )
            assert expect(replay, 400)["error"] == "invalid_grant"
            flow.family_revoked = True

    def revoke(self, flow: Flow, token: str) -> None:
        expect(
            self.http.post(
                f"{next(self.hops)}/revoke", data={"token": token}, auth=flow.client.basic
            ),
            200,
        )


@pytest.fixture
def soaked(database_url: str) -> Iterator[tuple[Cluster, list[Credentials]]]:
    env = {
        "IDGATE_ACCESS_TOKEN_TTL": str(ACCESS_TOKEN_TTL),
        "IDGATE_CODE_TTL": str(int(SOAK_SECONDS) + 600),
    }
    cluster = start_cluster(database_url, TWO_PROCESSES, env)
    try:
        seed_accounts(database_url, [f"soak{i}" for i in range((SOAK_WORKERS + 1) // 2)])
        clients = [
            seed_client(database_url, cluster.issuer),  # asks consent, once per scope set
            seed_client(database_url, cluster.issuer, first_party=True),
        ]
        yield cluster, clients
    finally:
        stop_cluster(cluster)


def test_nothing_is_lost_under_load(soaked: tuple[Cluster, list[Credentials]]) -> None:
    cluster, clients = soaked
    record = Record()
    deadline = time.monotonic() + SOAK_SECONDS
    browsers = [Browser(i, cluster, clients, record) for i in range(SOAK_WORKERS)]
    threads = [threading.Thread(target=b.run, args=(deadline,)) for b in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SOAK_SECONDS + 120)
    assert not any(thread.is_alive() for thread in threads), "a browser hung"

    with browser(response=[record.response]) as http:
        check_afterwards(http, cluster, record)

    tokens = sum(len(flow.access_tokens) for flow in record.flows)
    print(  # the run's size, for whoever reads the log (pytest -s or -rA)
        f"soak: {len(record.flows)} flows, {tokens} access tokens, {record.logins} logins, "
        f"{record.consents} consents, statuses {dict(sorted(record.statuses.items()))}"
    )
    assert not record.server_errors, record.server_errors[:20]
    assert record.failure_count == 0, (record.failure_count, record.failures)
    assert len(record.flows) >= SOAK_WORKERS, "the load hardly ran"
    # A swallowed failure shows in the logs only (stop_cluster checks for tracebacks).
    assert " ERROR " not in cluster.output(), cluster.output()


def check_afterwards(http: httpx.Client, cluster: Cluster, record: Record) -> None:
    jwks = [expect(http.get(f"{url}/jwks"), 200) for url in cluster.urls]
    assert jwks[0] == jwks[1]
    hops = cluster.hops()
    problems: list[str] = []

    for flow in record.flows:
        for rotation, id_token in enumerate(flow.id_tokens):
            # Only the code's ID Token carries the nonce; refreshed ones may leave it out.
            claims = verify_id_token(
                id_token,
                jwks[0],
                issuer=cluster.issuer,
                client_id=flow.client.client_id,
                nonce=None if rotation else flow.nonce,
            )
            if claims.get("nonce", flow.nonce) != flow.nonce:
                problems.append(f"a refreshed ID Token's nonce {claims['nonce']}")
            if claims["sub"] != flow.userinfo_sub:
                problems.append(f"ID Token sub {claims['sub']} != UserInfo {flow.userinfo_sub}")

    for flow in record.flows:
        for token in flow.access_tokens:
            now = time.time()
            expiry_from, expiry_to = (
                token.issued_after + token.expires_in,
                token.issued_before + token.expires_in,
            )
            if token.revoked or flow.family_revoked or now > expiry_to + EXPIRY_SLACK:
                expected: bool | None = False
            elif now < expiry_from - EXPIRY_SLACK:
                expected = True
            else:
                expected = None  # at its expiry second: either answer is right
            answer = expect(
                http.post(
                    f"{next(hops)}/introspect", data={"token": token.value}, auth=flow.client.basic
                ),
                200,
            )
            if expected is not None and answer["active"] is not expected:
                problems.append(
                    f"an access token introspects {answer} ({token}, {flow.family_revoked=})"
                )
            if answer["active"] and not expiry_from - 1 <= answer["exp"] <= expiry_to + 1:
                problems.append(f"exp {answer['exp']} outside [{expiry_from}, {expiry_to}]")

    for flow in record.flows:
        again = http.post(
            f"{next(hops)}/token",
            data={"grant_type": "authorization_code", "code": flow.code, "redirect_uri": CALLBACK},
            auth=flow.client.basic,
        )
        if (again.status_code, again.json().get("error")) != (400, "invalid_grant"):
            problems.append(f"a code redeemed twice: {again.status_code} {again.text[:200]}")
        # The second redemption is a replay: the code's family is revoked, rotations included.
        if flow.refresh_token is not None:
            answer = expect(
                http.post(
                    f"{next(hops)}/introspect",
                    data={"token": flow.refresh_token},
                    auth=flow.client.basic,
                ),
                200,
            )
            if answer["active"]:
                problems.append("a replayed code left its refresh token active")

    assert not problems, (len(problems), problems[:20])
