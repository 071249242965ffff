"""A server killed mid-flow loses nothing; a server told to stop finishes what it started
(issue #13). Everything durable is in the database, so a restart on the same address must
honour every cookie, code, token, consent and key handed out before."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from faults_support import (  # type: ignore[import-not-found]
    CALLBACK,
    PASSWORD,
    Client,
    Server,
    authorize_params,
    browser,
    login_page,
    redeem,
    refresh,
    seed,
    sign_in,
)

from idgate.testing import parse_forms, response_params

pytestmark = pytest.mark.slow


def jwt_header(token: str) -> dict[str, str]:
    head = token.split(".")[0]
    decoded: dict[str, str] = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    return decoded


@contextlib.contextmanager
def hammering(server: Server, client: Client, token: str) -> Iterator[None]:
    """Requests that write (each authorization request stores an interaction) and read, in
    a loop, so that the kill lands in the middle of some; their answers do not matter, only
    that nothing committed before is lost or damaged."""
    stop = threading.Event()

    def run() -> None:
        with httpx.Client(base_url=server.url, timeout=5) as http:
            while not stop.is_set():
                with contextlib.suppress(httpx.HTTPError):
                    http.get("/authorize", params=authorize_params(client))
                    http.post("/introspect", data={"token": token}, auth=client.auth)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def test_sigkill_mid_flow_and_restart_keeps_everything_valid(database_url: str) -> None:
    server = Server(database_url).start()
    try:
        client = seed(database_url, server.url)
        with browser(server) as person, browser(server) as newcomer:
            tokens = redeem(
                person, client, sign_in(person, client, scope="openid offline_access")
            ).json()
            # A second code, from the session cookie and the stored consent, left unredeemed.
            silent = person.get("/authorize", params=authorize_params(client, prompt="none"))
            unredeemed_code = response_params(silent.headers["location"])["code"]
            # A sign-in left half-way: its login page is shown, the form not yet sent.
            (login_form, *_) = parse_forms(login_page(newcomer, client).text)
            kids = {key["kid"] for key in person.get("/jwks").json()["keys"]}

            with hammering(server, client, tokens["access_token"]):
                time.sleep(0.3)
                code, _ = server.stop(signal.SIGKILL)
            assert code == -signal.SIGKILL

            server = server.successor().start()
            # The same signing keys: the ID Token issued before still verifies.
            assert {key["kid"] for key in person.get("/jwks").json()["keys"]} == kids
            assert jwt_header(tokens["id_token"])["kid"] in kids
            bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
            assert person.get("/userinfo", headers=bearer).status_code == 200
            assert person.post(
                "/introspect", data={"token": tokens["access_token"]}, auth=client.auth
            ).json()["active"]
            assert redeem(person, client, unredeemed_code).status_code == 200
            assert refresh(person, client, tokens["refresh_token"]).status_code == 200
            # The session cookie and the consent: prompt=none still answers with a code.
            silent = person.get("/authorize", params=authorize_params(client, prompt="none"))
            assert "code" in response_params(silent.headers["location"]), silent.headers
            # The half-way sign-in goes on where it stopped; alice's stored consent covers it.
            finished = newcomer.post(
                login_form.action,
                data={**login_form.fields, "username": "alice", "password": PASSWORD},
            )
            assert finished.status_code == 303, finished.text
            assert "code" in response_params(finished.headers["location"]), finished.headers
    finally:
        code, output = server.stop()
    assert code == 0, output
    assert "Traceback" not in output, output


class SlowRequest:
    """A POST whose headers are sent now and whose body is sent on `finish()`: a request
    the server has begun and cannot answer yet, as from a client on a slow link."""

    def __init__(self, server: Server, path: str, form: dict[str, str], auth: Client) -> None:
        import base64

        body = urlencode(form).encode()
        self._rest = body[len(body) // 2 :]
        self._conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        self._conn.putrequest("POST", path)
        credentials = base64.b64encode(f"{auth.client_id}:{auth.secret}".encode()).decode()
        self._conn.putheader("Authorization", f"Basic {credentials}")
        self._conn.putheader("Content-Type", "application/x-www-form-urlencoded")
        self._conn.putheader("Content-Length", str(len(body)))
        self._conn.endheaders(body[: len(body) // 2])

    def finish(self) -> tuple[int, dict[str, object]]:
        self._conn.send(self._rest)
        response = self._conn.getresponse()
        return response.status, json.loads(response.read())

    def close(self) -> None:
        self._conn.close()


def test_sigterm_lets_requests_in_flight_finish_and_exits_0(database_url: str) -> None:
    assert_sigterm_drains(database_url, workers=1)


def test_sigterm_drains_every_worker_and_exits_0(tmp_path: Path) -> None:
    # Several workers are uvicorn's supervisor and its children, each draining its own
    # requests; that is the same on either database, so one is enough here.
    assert_sigterm_drains(f"sqlite:///{tmp_path / 'workers.db'}", workers=2)


def assert_sigterm_drains(database_url: str, *, workers: int) -> None:
    server = Server(database_url, workers=workers).start()
    in_flight: list[SlowRequest] = []
    try:
        client = seed(database_url, server.url, first_party=True)
        with browser(server) as person:
            codes = [sign_in(person, client) for _ in range(2)]
            token = redeem(person, client, sign_in(person, client)).json()["access_token"]
        in_flight += [
            SlowRequest(
                server,
                "/token",
                {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
                client,
            )
            for code in codes
        ] + [SlowRequest(server, "/introspect", {"token": token}, client) for _ in range(3)]
        time.sleep(0.3)  # the server has read every request's head

        server.process.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert server.process.poll() is None, "exited with requests still in flight"
        # No new request is served: one worker closes its socket; with several, the
        # supervisor's socket still queues connections that no worker will take.
        with pytest.raises((httpx.ConnectError, httpx.ReadTimeout)):
            httpx.get(f"{server.url}/healthz", timeout=1)
        answers = [request.finish() for request in in_flight]
    finally:
        for request in in_flight:
            request.close()
        code, output = server.stop()
    assert [status for status, _ in answers] == [200] * len(in_flight), answers
    assert all("access_token" in body for _, body in answers[:2])
    assert all(body["active"] for _, body in answers[2:])
    assert code == 0, output
    assert "Traceback" not in output, output
