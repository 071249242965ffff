"""Two real `idgate serve` processes on one database (PostgreSQL, and SQLite on one file)."""

from __future__ import annotations

import asyncio
import base64
import threading

import httpx
import pytest

from idgate.testing import ServerProcess, open_test_provider, parse_forms, response_params

pytestmark = pytest.mark.slow

PASSWORD = "two-process-password"


def seed(database_url: str, issuer: str) -> tuple[str, str]:
    async def run() -> tuple[str, str]:
        provider = await open_test_provider(database_url, issuer=issuer)
        try:
            await provider.accounts.add("alice", PASSWORD)
            created = await provider.registration.register_trusted(
                {
                    "redirect_uris": ["https://rp.example/cb"],
                    "response_types": ["code"],
                    "first_party": True,
                }
            )
            assert created.client_secret is not None
            return created.client.client_id, created.client_secret
        finally:
            await provider.close()

    return asyncio.run(run())


def get_code(server: str, client_id: str) -> str:
    with httpx.Client(base_url=server, follow_redirects=False) as browser:
        started = browser.get(
            "/authorize",
            params={
                "client_id": client_id,
                "redirect_uri": "https://rp.example/cb",
                "response_type": "code",
                "scope": "openid",
                "state": "s",
            },
        )
        page = browser.get(started.headers["location"])
        (form, *_) = parse_forms(page.text)
        done = browser.post(
            form.action, data={**form.fields, "username": "alice", "password": PASSWORD}
        )
        return response_params(done.headers["location"])["code"]


def race(servers: list[str], form: dict[str, str], auth: str) -> list[int]:
    """POST the same token request to each server at the same instant; the statuses."""
    barrier = threading.Barrier(len(servers))
    statuses: list[int] = []

    def post(server: str) -> None:
        with httpx.Client(base_url=server) as http:
            barrier.wait()
            response = http.post("/token", data=form, headers={"Authorization": auth}, timeout=30)
            statuses.append(response.status_code)

    threads = [threading.Thread(target=post, args=(server,)) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_a_code_redeemed_at_once_on_two_processes_has_one_winner(database_url: str) -> None:
    a = ServerProcess(database_url)
    # Both processes serve the same issuer, as behind one load balancer.
    a.env["IDGATE_ISSUER"] = a.url
    b = ServerProcess(database_url, env={"IDGATE_ISSUER": a.url})
    with a, b:
        client_id, secret = seed(database_url, a.url)
        auth = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        for _round in range(3):
            form = {
                "grant_type": "authorization_code",
                "code": get_code(a.url, client_id),
                "redirect_uri": "https://rp.example/cb",
            }
            statuses = race([a.url, b.url] * 4, form, auth)
            assert sorted(statuses) == [200] + [400] * 7


def test_a_revocation_on_one_process_is_seen_at_once_by_the_other(database_url: str) -> None:
    a = ServerProcess(database_url)
    a.env["IDGATE_ISSUER"] = a.url
    b = ServerProcess(database_url, env={"IDGATE_ISSUER": a.url})
    with a, b:
        client_id, secret = seed(database_url, a.url)
        auth = (client_id, secret)
        tokens = httpx.post(
            f"{a.url}/token",
            data={
                "grant_type": "authorization_code",
                "code": get_code(a.url, client_id),
                "redirect_uri": "https://rp.example/cb",
            },
            auth=auth,
        ).json()
        token = tokens["access_token"]
        assert httpx.post(f"{b.url}/introspect", data={"token": token}, auth=auth).json()["active"]
        assert httpx.post(f"{a.url}/revoke", data={"token": token}, auth=auth).status_code == 200
        seen = httpx.post(f"{b.url}/introspect", data={"token": token}, auth=auth).json()
        assert seen == {"active": False}
