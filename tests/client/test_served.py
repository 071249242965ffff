"""The library, `idgate selftest` and `idgate demo` against real `idgate serve` processes."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from client_support import PASSWORD  # type: ignore[import-not-found]

from idgate.client import ClientCredentials, RelyingParty
from idgate.client._browser import Browser
from idgate.client.selftest import DEFAULT_REDIRECT_URI
from idgate.testing import ServerProcess, open_test_provider

pytestmark = pytest.mark.slow


async def _prepare(database_url: str) -> ClientCredentials:
    """alice, and a client registered the way an operator would, for the selftest's URI."""
    provider = await open_test_provider(database_url)
    try:
        await provider.accounts.add("alice", PASSWORD, {"email": "alice@example.com"})
        created = await provider.registration.register_trusted(
            {
                "redirect_uris": [DEFAULT_REDIRECT_URI],
                "response_types": ["code id_token"],
                "grant_types": ["authorization_code", "implicit", "refresh_token"],
            }
        )
    finally:
        await provider.close()
    return ClientCredentials(created.client.client_id, client_secret=created.client_secret)


@pytest.fixture
def served(database_url: str) -> Iterator[tuple[ServerProcess, ClientCredentials]]:
    client = asyncio.run(_prepare(database_url))
    with ServerProcess(database_url, env={"IDGATE_REGISTRATION": "open"}) as server:
        yield server, client


def selftest(server: ServerProcess, *args: str, password: str = PASSWORD) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "idgate", "selftest", "--issuer", server.url, *args],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        env=server.env,
    )
    return result.returncode, result.stdout + result.stderr


def test_the_library_over_real_http(served: tuple[ServerProcess, ClientCredentials]) -> None:
    server, client = served

    async def flow() -> None:
        async with (
            RelyingParty(server.url, client) as rp,
            httpx.AsyncClient() as browser_http,
        ):
            auth = await rp.authorization_request(
                redirect_uri=DEFAULT_REDIRECT_URI,
                response_type="code id_token",
                scope="openid email",
            )
            response = await Browser(browser_http).sign_in(
                auth.url, DEFAULT_REDIRECT_URI, username="alice", password=PASSWORD
            )
            assert response.location == "fragment"
            result = await rp.handle_authorization_response(auth.session, response)
            assert result.id_token is not None
            assert result.id_token.check("c_hash")
            tokens = await rp.exchange_code(auth.session, result)
            assert tokens.id_token is not None
            assert tokens.refresh_token is not None
            info = await rp.userinfo(tokens.access_token, id_token=tokens.id_token)
            assert info.claims["email"] == "alice@example.com"
            refreshed = await rp.refresh(tokens.refresh_token, id_token=tokens.id_token)
            assert refreshed.id_token is not None

    asyncio.run(flow())


def test_selftest_passes_and_fails_clearly(
    served: tuple[ServerProcess, ClientCredentials],
) -> None:
    server, client = served
    code, output = selftest(server, "--username", "alice", "--password-stdin")
    assert code == 0, output
    for item in ("discovery", "JWKS", "client", "sign-in", "authorization response"):
        assert f"✓ {item}:" in output, output
    assert "✓ token exchange:" in output
    assert "✓ UserInfo:" in output
    assert "✓ refresh:" in output
    assert "registered client" in output  # registration is open
    assert "c_hash ✓" in output
    # Logout, once the OP lists end_session_endpoint: confirmed, and the OP session is over.
    assert (
        "✓ logout: end_session_endpoint logged out, sent back with the state; prompt=none → "
        "login_required"
        in output
        or "– logout: the OP has no end_session_endpoint" in output
    ), output
    assert "all checks passed" in output

    # A wrong password: a failure, named on its line, and a non-zero exit.
    code, output = selftest(server, "--username", "alice", "--password-stdin", password="wrong")
    assert code == 1, output
    assert "✗ sign-in: the OP refused the login" in output
    assert "– token exchange: the sign-in failed" in output
    assert "1 check(s) failed" in output

    # A given client (for an OP without open registration).
    code, output = selftest(
        server,
        "--username",
        "alice",
        "--password-stdin",
        "--client-id",
        client.client_id,
        "--client-secret",
        client.client_secret or "",
    )
    assert code == 0, output
    assert f"✓ client: using the given client {client.client_id}" in output
    code, output = selftest(
        server, "--username", "alice", "--password-stdin", "--client-id", client.client_id,
        "--client-secret", "not-the-secret",
    )  # fmt: skip
    assert code == 1
    assert "✗ token exchange: the token endpoint answered invalid_client" in output


def test_selftest_without_registration_or_account(database_url: str) -> None:
    with ServerProcess(database_url) as server:
        code, output = selftest(server)
    assert code == 1, output
    assert "✓ discovery:" in output
    assert "✗ client: the OP has no open registration; give --client-id" in output
    code_unreachable = subprocess.run(
        [sys.executable, "-m", "idgate", "selftest", "--issuer", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert code_unreachable.returncode == 1
    assert "✗ discovery: cannot reach the discovery endpoint" in code_unreachable.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_idgate_demo_registers_itself_next_to_a_local_idgate(database_url: str) -> None:
    asyncio.run(_prepare(database_url))
    with ServerProcess(database_url) as server:
        port = _free_port()
        demo = subprocess.Popen(
            [sys.executable, "-m", "idgate", "demo", "--port", str(port)],
            env={**server.env, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            home = None
            while time.monotonic() < deadline and demo.poll() is None:
                try:
                    home = httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            assert home is not None, demo.stdout.read() if demo.stdout else ""
            assert home.status_code == 200
            assert "<code>idgate-demo</code>" in home.text
            start = httpx.post(f"http://127.0.0.1:{port}/start")
            assert "redirect_uri</th><td><code>http://127.0.0.1:" in start.text
        finally:
            demo.terminate()
            output, _ = demo.communicate(timeout=20)
    assert "registered client idgate-demo in the OP's database" in output
    assert "Traceback" not in output


@pytest.mark.skipif(os.name != "posix", reason="uses POSIX signals")
def test_idgate_demo_without_an_op_fails_in_one_line(tmp_path: object) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "idgate", "demo", "--issuer", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.startswith("idgate: error: cannot reach the discovery endpoint")
    assert "Traceback" not in result.stderr
