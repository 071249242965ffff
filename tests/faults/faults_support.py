"""Real `idgate serve` processes and a scripted browser for the fault tests.

`Server` is `idgate.testing.ServerProcess` (which reads the server's output as it comes, so a
server logging an outage never blocks on a full pipe) that a successor can follow.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from idgate.testing import ServerProcess, open_test_provider, parse_forms, response_params

PASSWORD = "fault-test-password"
CALLBACK = "https://rp.example/cb"


class Server(ServerProcess):
    """A server process that can be followed by another on the same address."""

    def __init__(
        self, database_url: str, *, env: dict[str, str] | None = None, workers: int = 1
    ) -> None:
        super().__init__(database_url, env=env, workers=workers)
        self.workers = workers

    def start(self, timeout: float = 30.0) -> Server:
        super().start(timeout)
        return self

    def successor(self) -> Server:
        """A new process for the same address and settings (the same issuer), not started."""
        again = Server(self.env["IDGATE_DATABASE_URL"], workers=self.workers)
        again.port, again.url, again.env = self.port, self.url, dict(self.env)
        return again


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.client_id, self.secret)


def seed(database_url: str, issuer: str, **metadata: Any) -> Client:
    """An account `alice` and a confidential client that may ask for refresh tokens."""

    async def run() -> Client:
        provider = await open_test_provider(database_url, issuer=issuer)
        try:
            await provider.accounts.add("alice", PASSWORD, {"name": "Alice"})
            created = await provider.registration.register_trusted(
                {
                    "redirect_uris": [CALLBACK],
                    "response_types": ["code"],
                    "grant_types": ["authorization_code", "refresh_token"],
                    **metadata,
                }
            )
            assert created.client_secret is not None
            return Client(created.client.client_id, created.client_secret)
        finally:
            await provider.close()

    return asyncio.run(run())


def authorize_params(client: Client, **extra: str) -> dict[str, str]:
    return {
        "client_id": client.client_id,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid",
        "state": "s",
        **extra,
    }


def login_page(browser: httpx.Client, client: Client, **extra: str) -> httpx.Response:
    """Start an authorization request; the login page it leads to."""
    started = browser.get("/authorize", params=authorize_params(client, **extra))
    assert started.status_code in (302, 303), started.text
    return browser.get(started.headers["location"])


def sign_in(browser: httpx.Client, client: Client, **extra: str) -> str:
    """Log in (and approve consent when asked) unless the session suffices; the code."""
    done = browser.get("/authorize", params=authorize_params(client, **extra))
    if done.headers["location"].startswith("/"):
        (form, *_) = parse_forms(browser.get(done.headers["location"]).text)
        credentials = {"username": "alice", "password": PASSWORD}
        done = browser.post(form.action, data={**form.fields, **credentials})
    if done.status_code == 200 and 'name="decision"' in done.text:
        consent = next(f for f in parse_forms(done.text) if "approve" in f.buttons["decision"])
        done = browser.post(consent.action, data={**consent.fields, "decision": "approve"})
    assert done.status_code in (302, 303), done.text
    assert done.headers["location"].startswith(CALLBACK), done.headers
    return response_params(done.headers["location"])["code"]


def redeem(http: httpx.Client, client: Client, code: str) -> httpx.Response:
    return http.post(
        "/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
        auth=client.auth,
    )


def refresh(http: httpx.Client, client: Client, refresh_token: str) -> httpx.Response:
    return http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=client.auth,
    )


def browser(server: Server) -> httpx.Client:
    """A browser with a cookie jar; redirects are followed by hand."""
    return httpx.Client(base_url=server.url, follow_redirects=False, timeout=30)
