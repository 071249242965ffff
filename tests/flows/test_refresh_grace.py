"""The refresh grace period: a lost response can be retried, reuse beyond it still revokes."""

from __future__ import annotations

import base64

import pytest
from flows_support import PASSWORD, OPBrowser, register  # type: ignore[import-not-found]

from idgate.clock import FrozenClock
from idgate.config import ConfigError, load_settings
from idgate.testing import asgi_client, open_test_provider
from idgate.web.app import create_app

pytestmark = pytest.mark.anyio


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


async def test_retry_within_grace_gets_the_same_pair(database_url: str) -> None:
    clock = FrozenClock(1_900_000_000)
    provider = await open_test_provider(
        database_url, clock=clock, refresh_grace_period=10, secret_key="s" * 40
    )
    try:
        await provider.accounts.add("alice", PASSWORD)
        client = await register(provider, first_party=True)
        auth = basic(client.client_id, client.client_secret)
        async with asgi_client(create_app(provider)) as http:
            params = await OPBrowser(http).sign_in(
                client_id=client.client_id,
                redirect_uri=client.redirect_uri,
                response_type="code",
                scope="openid offline_access",
            )
            first = (
                await http.post(
                    "/token",
                    data={
                        "grant_type": "authorization_code",
                        "code": params["code"],
                        "redirect_uri": client.redirect_uri,
                    },
                    headers=auth,
                )
            ).json()

            async def refresh(token: str) -> dict[str, str]:
                response = await http.post(
                    "/token",
                    data={"grant_type": "refresh_token", "refresh_token": token},
                    headers=auth,
                )
                return response.json()  # type: ignore[no-any-return]

            second = await refresh(first["refresh_token"])
            clock.advance(5)
            retried = await refresh(first["refresh_token"])
            assert retried["access_token"] == second["access_token"]
            assert retried["refresh_token"] == second["refresh_token"]
            assert retried["id_token"]

            # Beyond the grace period the old token is reuse: the family is revoked.
            clock.advance(10)
            late = await refresh(first["refresh_token"])
            assert late["error"] == "invalid_grant"
            assert (await refresh(second["refresh_token"]))["error"] == "invalid_grant"
    finally:
        await provider.close()


async def test_retry_after_the_successor_was_used_is_reuse(database_url: str) -> None:
    clock = FrozenClock(1_900_000_000)
    provider = await open_test_provider(
        database_url, clock=clock, refresh_grace_period=30, secret_key="k" * 40
    )
    try:
        await provider.accounts.add("alice", PASSWORD)
        client = await register(provider, first_party=True)
        auth = basic(client.client_id, client.client_secret)
        async with asgi_client(create_app(provider)) as http:
            params = await OPBrowser(http).sign_in(
                client_id=client.client_id,
                redirect_uri=client.redirect_uri,
                response_type="code",
                scope="openid offline_access",
            )
            tokens = (
                await http.post(
                    "/token",
                    data={
                        "grant_type": "authorization_code",
                        "code": params["code"],
                        "redirect_uri": client.redirect_uri,
                    },
                    headers=auth,
                )
            ).json()
            old = tokens["refresh_token"]
            for _ in range(2):
                tokens = (
                    await http.post(
                        "/token",
                        data={
                            "grant_type": "refresh_token",
                            "refresh_token": tokens["refresh_token"],
                        },
                        headers=auth,
                    )
                ).json()
            reuse = await http.post(
                "/token", data={"grant_type": "refresh_token", "refresh_token": old}, headers=auth
            )
            assert reuse.json()["error"] == "invalid_grant"
            newest = await http.post(
                "/token",
                data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                headers=auth,
            )
            assert newest.json()["error"] == "invalid_grant"
    finally:
        await provider.close()


def test_grace_period_needs_a_secret_key() -> None:
    with pytest.raises(ConfigError, match="secret_key"):
        load_settings(environ={"IDGATE_REFRESH_GRACE_PERIOD": "5"})
    settings = load_settings(
        environ={"IDGATE_REFRESH_GRACE_PERIOD": "5", "IDGATE_SECRET_KEY": "x" * 40}
    )
    assert settings.refresh_grace_period == 5
