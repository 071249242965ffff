"""The database stops under load and comes back: idgate answers 503 meanwhile, in OAuth shape
for programs and as a page for people, and serves again by itself (issue #13)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest
from faults_support import (  # type: ignore[import-not-found]
    PASSWORD,
    Client,
    Server,
    browser,
    login_page,
    redeem,
    refresh,
    seed,
    sign_in,
)
from postgres_cluster import PostgresCluster  # type: ignore[import-not-found]

from idgate.testing import parse_forms

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@dataclass
class Answer:
    path: str
    status: int
    content_type: str
    body: str


@dataclass
class Load:
    """Requests in a loop from a thread, each answer kept, until stopped."""

    server: Server
    client: Client
    access_token: str
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> list[Answer]:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=30)
        return self.answers

    def _run(self) -> None:
        bearer = {"Authorization": f"Bearer {self.access_token}"}
        with httpx.Client(base_url=self.server.url, timeout=30) as http:
            requests = (
                lambda: http.get("/userinfo", headers=bearer),
                lambda: http.post(
                    "/introspect", data={"token": self.access_token}, auth=self.client.auth
                ),
                lambda: http.get("/authorize", params={"client_id": self.client.client_id}),
                lambda: http.get("/.well-known/openid-configuration"),
            )
            while not self._stop.is_set():
                for send in requests:
                    self.answers.append(self._answer(send))
                time.sleep(0.02)

    @staticmethod
    def _answer(send: Callable[[], httpx.Response]) -> Answer:
        try:
            response = send()
        except httpx.HTTPError as exc:  # idgate dropped the connection: status 0 fails the test
            return Answer(str(exc.request.url.path), 0, "", repr(exc))
        return Answer(
            response.request.url.path,
            response.status_code,
            response.headers.get("content-type", ""),
            response.text,
        )


def assert_unavailable_json(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == "temporarily_unavailable"
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["cache-control"] == "no-store"


def assert_unavailable_page(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "Temporarily unavailable" in response.text
    assert int(response.headers["retry-after"]) > 0


def wait_until_ready(server: Server, timeout: float = 20.0) -> float:
    """Seconds until /readyz turned green again."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"not ready {timeout}s after the database came back")


def test_a_database_outage_is_503_and_service_recovers_without_a_restart(
    postgres_cluster: PostgresCluster,
) -> None:
    database_url = postgres_cluster.url("idgate")
    answers: list[Answer] = []
    with Server(database_url) as server:
        client = seed(database_url, server.url, first_party=True)
        # A crash (connections reset) and an operator's shutdown (sessions ended by the server,
        # SQLSTATE 57P01), one after the other on the same idgate process.
        for mode in ("immediate", "fast"):
            answers += outage_and_recovery(server, client, postgres_cluster, mode)

    statuses = {answer.status for answer in answers}
    assert 503 in statuses, "the load never saw the outage"
    assert statuses <= {200, 302, 303, 400, 503}, (
        [a for a in answers if a.status == 500],
        server.output,
    )
    for answer in answers:
        assert "Traceback" not in answer.body, answer
        if answer.status == 503 and answer.path in ("/userinfo", "/introspect"):
            assert '"temporarily_unavailable"' in answer.body, answer
        if answer.status == 503 and answer.path == "/authorize":
            assert answer.content_type.startswith("text/html"), answer
    assert server.process.returncode == 0, server.output
    assert "Traceback" not in server.output, server.output


def outage_and_recovery(
    server: Server, client: Client, cluster: PostgresCluster, mode: str
) -> list[Answer]:
    """Stop the database under load (`pg_ctl stop -m mode`), probe every kind of endpoint,
    start it again; the answers the load got."""
    with browser(server) as person, browser(server) as stranger:
        tokens = redeem(person, client, sign_in(person, client)).json()
        unredeemed_code = sign_in(person, client, prompt="login")
        login_form = parse_forms(login_page(stranger, client).text)[0]
        load = Load(server, client, tokens["access_token"])
        load.start()
        time.sleep(0.5)

        cluster.stop(mode=mode)
        # Whatever the pool held is dead now; every endpoint that needs the database says so.
        assert_unavailable_json(redeem(person, client, unredeemed_code))
        assert_unavailable_json(refresh(person, client, tokens["refresh_token"]))
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert_unavailable_json(person.get("/userinfo", headers=bearer))
        assert_unavailable_json(
            person.post("/introspect", data={"token": tokens["access_token"]}, auth=client.auth)
        )
        assert_unavailable_json(
            person.post("/revoke", data={"token": tokens["access_token"]}, auth=client.auth)
        )
        assert_unavailable_page(person.get("/authorize", params={"client_id": client.client_id}))
        assert_unavailable_page(person.get("/logout", params={"id_token_hint": tokens["id_token"]}))
        assert_unavailable_page(stranger.get(login_form.action.removesuffix("/login")))
        assert_unavailable_page(
            stranger.post(
                login_form.action,
                data={**login_form.fields, "username": "alice", "password": PASSWORD},
            )
        )
        ready = person.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "unavailable"
        assert person.get("/healthz").json() == {"status": "ok"}
        # Served from memory: relying parties keep validating tokens during the outage.
        assert person.get("/jwks").json()["keys"]
        time.sleep(0.5)

        cluster.start()
        wait_until_ready(server)
        answers = load.stop()

        # Nothing the outage refused was spent: the code and the refresh token still work.
        assert redeem(person, client, unredeemed_code).status_code == 200
        assert refresh(person, client, tokens["refresh_token"]).status_code == 200
        # And a whole new sign-in works, on the same process.
        fresh = redeem(stranger, client, sign_in(stranger, client, scope="openid profile")).json()
        again = {"Authorization": f"Bearer {fresh['access_token']}"}
        assert person.get("/userinfo", headers=again).json()["name"] == "Alice"
    return answers
