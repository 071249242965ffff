"""/metrics (observability/metrics.py, web/endpoints/metrics.py): the Prometheus text format,
off by default, served only to allowed addresses (and the token when one is set), counting
requests by route template, tokens and logins from the audit events, and database outages."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from observability_support import (  # type: ignore[import-not-found]
    app_client,
    client_from,
    code_of,
    log_in,
    opened,
    register,
)
from prometheus_client.parser import text_string_to_metric_families

from idgate.config import ConfigError, load_settings
from idgate.testing import open_test_provider, postgres_database_url, run_admin_sql
from idgate.web.app import create_app

pytestmark = pytest.mark.anyio
TOKEN = "scrape-token-0123456789abcdef"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(http: httpx.AsyncClient, **headers: str) -> Samples:
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert response.headers["cache-control"] == "no-store"
    return parse(response.text)


async def test_metrics_are_off_unless_turned_on(database_url: str) -> None:
    async with opened(database_url) as provider, app_client(provider) as http:
        response = await http.get("/metrics")
        assert response.status_code == 404
        assert "idgate_" not in response.text


async def test_requests_tokens_and_logins_are_counted(database_url: str) -> None:
    async with opened(database_url, metrics=True) as provider, app_client(provider) as http:
        client = await register(provider)
        failed = await log_in(http, client, password="wrong")
        assert failed.status_code == 200
        code = code_of(await log_in(http, client))
        tokens = await http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": "https://rp.example/cb",
            },
            auth=(client.client_id, client.client_secret),
        )
        assert tokens.status_code == 200
        refreshed = await http.post(
            "/token",
            data={"grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"]},
            auth=(client.client_id, client.client_secret),
        )
        assert refreshed.status_code == 200
        await http.get("/no/such/path/with-a-secret-looking-segment")
        await http.request("PROPFIND", "/jwks")
        await http.post(
            "/revoke",
            data={"token": refreshed.json()["refresh_token"]},
            auth=(client.client_id, client.client_secret),
        )

        samples = await scrape(http)

    requests = "idgate_http_requests_total"
    assert value(samples, requests, route="/token", method="POST", status="200") == 2
    # A route template, never the raw path: handles and ids stay out of the labels.
    assert value(samples, requests, route="/interaction/{handle}", method="GET", status="200") == 2
    assert (
        value(samples, requests, route="/interaction/{handle}/login", method="POST", status="303")
        == 1
    )
    assert value(samples, requests, route="unmatched", method="GET", status="404") == 1
    assert value(samples, requests, route="/jwks", method="other", status="405") == 1
    templates = {getattr(route, "path", None) for route in create_app(provider).routes}
    labelled = {dict(labels)["route"] for _, labels in samples if "route" in dict(labels)}
    assert labelled <= templates | {"unmatched"}, labelled - templates
    latency = "idgate_http_request_duration_seconds_count"
    assert value(samples, latency, route="/token", method="POST") == 2
    assert (
        value(
            samples,
            "idgate_http_request_duration_seconds_bucket",
            route="/token",
            method="POST",
            le="+Inf",
        )
        == 2
    )

    issued = "idgate_tokens_issued_total"
    assert value(samples, issued, grant="code", kind="code") == 1
    assert value(samples, issued, grant="authorization_code", kind="access_token") == 1
    assert value(samples, issued, grant="authorization_code", kind="id_token") == 1
    assert value(samples, issued, grant="refresh_token", kind="refresh_token") == 1
    assert (
        value(
            samples,
            "idgate_tokens_revoked_total",
            kind="refresh",
            reason="revocation_request",
        )
        == 1
    )
    assert value(samples, "idgate_logins_total") == 1
    assert value(samples, "idgate_login_failures_total", reason="bad_credentials") == 1


async def test_metrics_only_for_allowed_addresses(database_url: str) -> None:
    async with opened(
        database_url, metrics=True, trusted_proxies=("10.0.0.0/8",), metrics_allow=("192.0.2.0/24",)
    ) as provider:
        app = create_app(provider)
        async with client_from(app, "192.0.2.10") as scraper:
            await scrape(scraper)
        async with client_from(app, "127.0.0.1") as local:
            # Loopback is no longer allowed once the operator names the scrapers.
            assert (await local.get("/metrics")).status_code == 403
        async with client_from(app, "10.0.0.2") as proxy:
            # Judged by the client the trusted proxy reports, not by the proxy.
            outside = await proxy.get("/metrics", headers={"X-Forwarded-For": "203.0.113.1"})
            assert outside.status_code == 403
            inside = await proxy.get("/metrics", headers={"X-Forwarded-For": "192.0.2.99"})
            assert inside.status_code == 200


async def test_an_unknown_proxy_on_loopback_does_not_open_metrics(database_url: str) -> None:
    # A reverse proxy on the same machine that idgate was not told about: its requests come
    # from loopback, but carry the forwarding headers it adds.
    async with opened(database_url, metrics=True) as provider, app_client(provider) as http:
        await scrape(http)
        for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
            forwarded = await http.get("/metrics", headers={header: "for=203.0.113.1"})
            assert forwarded.status_code == 403, header
            assert "idgate_" not in forwarded.text


async def test_metrics_token(database_url: str) -> None:
    async with (
        opened(
            database_url, metrics=True, metrics_token=TOKEN, metrics_allow=("0.0.0.0/0", "::/0")
        ) as provider,
        client_from(create_app(provider), "203.0.113.5") as http,
    ):
        missing = await http.get("/metrics")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
        assert wrong.status_code == 401
        basic = await http.get("/metrics", auth=("prometheus", TOKEN))
        assert basic.status_code == 401
        await scrape(http, Authorization=f"Bearer {TOKEN}")


def test_metrics_settings() -> None:
    settings = load_settings(
        environ={"IDGATE_METRICS": "on", "IDGATE_METRICS_ALLOW": "10.1.0.0/16"}
    )
    assert settings.metrics is True
    assert settings.metrics_allow == ("10.1.0.0/16",)
    defaults = load_settings(environ={})
    assert defaults.metrics is False
    assert defaults.metrics_allow == ("127.0.0.1", "::1")
    assert "metrics_token" not in repr(load_settings(environ={"IDGATE_METRICS_TOKEN": TOKEN}))
    with pytest.raises(ConfigError, match="metrics_token"):
        load_settings(environ={"IDGATE_METRICS_TOKEN": "short"})
    with pytest.raises(ConfigError, match="metrics_allow"):
        load_settings(environ={"IDGATE_METRICS_ALLOW": "everyone"})


@pytest.mark.postgres
async def test_database_outages_are_counted(
    postgres_template: str, postgres_server_url: str
) -> None:
    name = f"idgate_metrics_{uuid.uuid4().hex[:10]}"
    await run_admin_sql(
        postgres_server_url, f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"'
    )
    provider = await open_test_provider(
        postgres_database_url(postgres_server_url, name), metrics=True
    )
    try:
        async with client_from(create_app(provider), "127.0.0.1") as http:
            assert value(await scrape(http), "idgate_database_unavailable_total") == 0
            await run_admin_sql(postgres_server_url, f'DROP DATABASE "{name}" WITH (FORCE)')
            assert (await http.get("/readyz")).status_code == 503
            page = await http.get("/authorize?client_id=x&redirect_uri=https://rp.example/cb")
            assert page.status_code == 503
            token = await http.post(
                "/token", data={"grant_type": "client_credentials"}, auth=("some-client", "secret")
            )
            assert token.status_code == 503
            samples: dict[Any, float] = await scrape(http)
            assert value(samples, "idgate_database_unavailable_total") == 3
            assert (
                value(
                    samples,
                    "idgate_http_requests_total",
                    route="/token",
                    method="POST",
                    status="503",
                )
                == 1
            )
    finally:
        await provider.close()
        await run_admin_sql(postgres_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
