"""idgate.client against another certified OP: node-oidc-provider (npm `oidc-provider`, pinned in
tests/client/node/package-lock.json), started by this module from tests/client/node/server.mjs.

`npm ci` runs here when node_modules is missing. Without node and npm the tests are skipped,
loudly; under CI (`CI=true`) that is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from idgate.client import ClientCredentials, RelyingParty
from idgate.client._browser import Browser

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

NODE_DIR = Path(__file__).parent / "node"
UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REDIRECT_URI = "https://rp.example/cb"
CLIENT = ClientCredentials(
    "idgate-client-tests", client_secret="a-client-secret-of-at-least-32-characters"
)


def _unavailable(message: str) -> None:
    if UNDER_CI:
        pytest.fail(f"{message}; CI must run the node-oidc-provider tests", pytrace=False)
    print(f"\nSKIPPING NODE-OIDC-PROVIDER TESTS: {message}", file=sys.__stderr__)
    pytest.skip(f"SKIPPING NODE-OIDC-PROVIDER TESTS: {message}")


@pytest.fixture(scope="module")
def node_op() -> Iterator[str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _unavailable("node and npm are not installed")
    assert node is not None
    assert npm is not None
    if not (NODE_DIR / "node_modules" / "oidc-provider").is_dir():
        installed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if installed.returncode != 0:
            _unavailable(f"npm ci failed:\n{installed.stdout}{installed.stderr}")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [node, "server.mjs"],
        cwd=NODE_DIR,
        env={**os.environ, "PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 30
        line = ""
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.startswith("ready ") or process.poll() is not None:
                break
        assert line.startswith("ready "), f"node-oidc-provider did not start: {line}"
        yield line.split()[1]
    finally:
        process.terminate()
        process.communicate(timeout=10)  # also closes the pipe


async def test_discovery(node_op: str) -> None:
    async with RelyingParty(node_op, CLIENT) as rp:
        metadata = await rp.provider_metadata()
        assert metadata.issuer == node_op
        assert metadata.authorization_response_iss_parameter_supported
        assert "code id_token" in metadata.response_types_supported
        assert metadata.userinfo_endpoint is not None
        keys = await (await rp.key_set()).get()
        assert [k["kid"] for k in keys["keys"]] == ["node-rs256"]


@pytest.mark.parametrize(
    ("response_type", "response_mode"),
    [("code", None), ("code id_token", None), ("code id_token", "form_post")],
)
async def test_sign_in_exchange_userinfo_refresh(
    node_op: str, response_type: str, response_mode: str | None
) -> None:
    async with RelyingParty(node_op, CLIENT) as rp, httpx.AsyncClient() as browser:
        auth = await rp.authorization_request(
            redirect_uri=REDIRECT_URI,
            response_type=response_type,
            response_mode=response_mode,  # type: ignore[arg-type]
            scope="openid email",
        )
        assert auth.parameters["code_challenge_method"] == "S256"
        response = await Browser(browser).sign_in(auth.url, REDIRECT_URI)
        # RFC 9207 iss, which node-oidc-provider leaves out when an ID Token names the issuer.
        assert ("iss" in response.parameters) == ("id_token" not in response_type)
        result = await rp.handle_authorization_response(auth.session, response)
        if "id_token" in response_type:
            assert result.id_token is not None
            assert result.id_token.check("c_hash") is not None
            assert result.id_token.subject == "alice"
        tokens = await rp.exchange_code(auth.session, result)
        assert tokens.id_token is not None
        assert tokens.id_token.subject == "alice"
        assert tokens.id_token.check("nonce") is not None
        if result.id_token is not None:
            assert [c.name for c in tokens.checks] == ["same End-User"]
        info = await rp.userinfo(tokens.access_token, id_token=tokens.id_token)
        assert info.claims["email"] == "alice@example.com"
        assert tokens.refresh_token is not None
        refreshed = await rp.refresh(tokens.refresh_token, id_token=tokens.id_token)
        assert refreshed.access_token != tokens.access_token
        if refreshed.id_token is not None:
            assert refreshed.id_token.subject == "alice"


async def test_a_tampered_node_response_is_refused(node_op: str) -> None:
    import dataclasses

    from idgate.client import HashMismatch

    async with RelyingParty(node_op, CLIENT) as rp, httpx.AsyncClient() as browser:
        first = await rp.authorization_request(
            redirect_uri=REDIRECT_URI, response_type="code id_token"
        )
        response = await Browser(browser).sign_in(first.url, REDIRECT_URI)
        second = await rp.authorization_request(
            redirect_uri=REDIRECT_URI, response_type="code id_token"
        )
        other = await Browser(browser).sign_in(second.url, REDIRECT_URI)
        swapped = dataclasses.replace(
            response, parameters={**response.parameters, "code": other.parameters["code"]}
        )
        with pytest.raises(HashMismatch, match="c_hash"):
            await rp.handle_authorization_response(first.session, swapped)
