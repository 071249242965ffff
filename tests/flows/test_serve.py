"""`idgate serve` as a real process: it serves discovery and JWKS, and stops cleanly."""

from __future__ import annotations

import signal

import httpx
import pytest

from idgate.testing import ServerProcess

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serves_and_stops_cleanly(database_url: str, sig: int) -> None:
    server = ServerProcess(database_url).start()
    try:
        doc = httpx.get(f"{server.url}/.well-known/openid-configuration").json()
        assert doc["issuer"] == server.url
        jwks = httpx.get(doc["jwks_uri"]).json()
        assert jwks["keys"]
        assert all("d" not in key for key in jwks["keys"])
        assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    finally:
        code, output = server.stop(sig)
    assert code == 0, output
    assert "Traceback" not in output


def test_serve_on_an_empty_sqlite_file_migrates_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with ServerProcess(f"sqlite:///{tmp_path / 'fresh.db'}") as server:
        assert httpx.get(f"{server.url}/jwks").json()["keys"]


def test_access_log_has_no_query_strings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = ServerProcess(
        f"sqlite:///{tmp_path / 'log.db'}", env={"IDGATE_LOG_LEVEL": "info"}
    ).start()
    try:
        httpx.get(
            f"{server.url}/authorize", params={"client_id": "x", "id_token_hint": "SECRETHINT"}
        )
        httpx.post(f"{server.url}/token", data={"code": "SECRETCODE"})
    finally:
        code, output = server.stop()
    assert code == 0
    assert '"GET /authorize" 400' in output
    assert '"POST /token" 401' in output
    assert "SECRETHINT" not in output
    assert "SECRETCODE" not in output
