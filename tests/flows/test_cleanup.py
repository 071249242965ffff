"""Background clean-up in a real `idgate serve`: expired rows go, serving goes on meanwhile.

Gray-box: the rows are written and checked through the storage ports; what the server does is
seen over HTTP (introspection of a live token, answered fast the whole time).
"""

from __future__ import annotations

import base64
import time

import httpx
import pytest

from idgate.crypto.random import new_secret, secret_hash
from idgate.provider.maintenance import RETENTION
from idgate.storage.base import BrowserSession, Redemption, StoredCode, StoredToken
from idgate.testing import ServerProcess, open_test_provider

pytestmark = pytest.mark.anyio

EXPIRED_TOKENS = 1200  # more than two of the janitor's batches of 500
SLOW = 2.0  # seconds: a loose bound, the machine is shared; a blocked server takes far longer


def _token(value: str, client_id: str, *, expires_at: int, now: int) -> StoredToken:
    return StoredToken(
        token_hash=secret_hash(value),
        kind="access",
        client_id=client_id,
        subject=None,
        scope="api",
        data={},
        created_at=now - 100,
        expires_at=expires_at,
    )


async def test_expired_rows_are_purged_while_serving(database_url: str) -> None:
    now = int(time.time())
    provider = await open_test_provider(database_url)
    try:
        created = await provider.registration.register_trusted(
            {
                "grant_types": ["client_credentials"],
                "response_types": [],
                "client_name": "Clean-up RS",
            }
        )
        client_id, secret = created.client.client_id, created.client_secret
        storage = provider.storage
        expired = [new_secret(16) for _ in range(EXPIRED_TOKENS)]
        for value in expired:
            await storage.tokens.add(_token(value, client_id, expires_at=now - 1, now=now))
        live = new_secret(32)
        await storage.tokens.add(_token(live, client_id, expires_at=now + 3600, now=now))
        old_code, fresh_code = secret_hash("old code"), secret_hash("recent code")
        for code_hash, expires_at in ((old_code, now - RETENTION - 5), (fresh_code, now - 5)):
            await storage.codes.add(
                StoredCode(
                    code_hash=code_hash,
                    client_id=client_id,
                    data={},
                    created_at=now - RETENTION - 100,
                    expires_at=expires_at,
                )
            )
        await storage.sessions.add(
            BrowserSession(
                id_hash=secret_hash("ended session"),
                sid="sid-ended",
                subject="alice",
                auth_time=now - RETENTION - 100,
                amr=("pwd",),
                created_at=now - RETENTION - 100,
                expires_at=now - RETENTION - 5,
            )
        )

        raw = f"{client_id}:{secret}".encode()
        auth = {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        with ServerProcess(database_url, env={"IDGATE_CLEANUP_INTERVAL": "1"}) as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                deadline = time.monotonic() + 60
                slowest = 0.0
                while True:
                    started = time.monotonic()
                    answer = await http.post("/introspect", data={"token": live}, headers=auth)
                    slowest = max(slowest, time.monotonic() - started)
                    assert answer.status_code == 200, answer.text
                    assert answer.json()["active"] is True
                    gone = await storage.tokens.get(secret_hash(expired[-1])) is None
                    if gone and await storage.tokens.get(secret_hash(expired[0])) is None:
                        break
                    assert time.monotonic() < deadline, "expired tokens were never purged"
                expired_answer = await http.post(
                    "/introspect", data={"token": expired[0]}, headers=auth
                )
                assert expired_answer.json() == {"active": False}
        assert slowest < SLOW, f"introspection took {slowest:.2f}s during the clean-up"

        remaining = [v for v in expired if await storage.tokens.get(secret_hash(v)) is not None]
        assert remaining == []
        assert await storage.tokens.get(secret_hash(live)) is not None
        # Codes are kept a day past expiry, so a late replay is still recognised.
        assert await storage.codes.redeem(old_code, now=now) == Redemption(code=None)
        assert (await storage.codes.redeem(fresh_code, now=now)).code is not None
        assert await storage.sessions.by_sid("sid-ended") is None
    finally:
        await provider.close()
