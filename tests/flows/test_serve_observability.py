"""A real `idgate serve --workers 2`: /metrics adds up both workers (prometheus_client's
multiprocess mode, in a directory of the run's own, removed at the end); JSON log lines with
request ids; the client address from a trusted proxy; and no secret anywhere in the logs
across login, token, refresh, introspection and UserInfo (SECURITY.md G9)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from idgate.testing import ServerProcess, open_test_provider, parse_forms, response_params

pytestmark = pytest.mark.slow

PASSWORD = "served-observability-password-71c2"
CALLBACK = "https://rp.example/cb"


def seed(database_url: str, issuer: str) -> tuple[str, str]:
    async def run() -> tuple[str, str]:
        provider = await open_test_provider(database_url, issuer=issuer)
        try:
            await provider.accounts.add("alice", PASSWORD, {"email": "alice@example.com"})
            created = await provider.registration.register_trusted(
                {
                    "redirect_uris": [CALLBACK],
                    "response_types": ["code"],
                    "grant_types": ["authorization_code", "refresh_token"],
                    "first_party": True,
                }
            )
            assert created.client_secret is not None
            return created.client.client_id, created.client_secret
        finally:
            await provider.close()

    return asyncio.run(run())


def counter(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def fresh_get(url: str, **headers: str) -> httpx.Response:
    # A new connection each time, so that both workers get to answer.
    with httpx.Client(timeout=10) as http:
        return http.get(url, headers=headers)


def workers_seen(metrics_dir: Path) -> set[str]:
    """The processes that wrote values: prometheus_client names the files by pid."""
    return {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("*.db")}


def test_metrics_add_up_across_workers_and_logs_hold_no_secrets(
    database_url: str, tmp_path: Path
) -> None:
    server = ServerProcess(
        database_url,
        workers=2,
        env={
            "IDGATE_METRICS": "on",
            "IDGATE_LOG_FORMAT": "json",
            "IDGATE_LOG_LEVEL": "debug",
            "IDGATE_TRUSTED_PROXIES": "127.0.0.1",
            # The run's metrics directory is made under here, where the test can see it.
            "TMPDIR": str(tmp_path),
        },
    )
    client_id, client_secret = seed(database_url, server.url)
    with server:
        (metrics_dir,) = tmp_path.glob("idgate-metrics-*")
        # Spread requests until both workers have answered some.
        probes = 0
        while len(workers_seen(metrics_dir)) < 2 and probes < 400:
            assert fresh_get(f"{server.url}/healthz").status_code == 200
            probes += 1
        assert len(workers_seen(metrics_dir)) == 2, "one worker answered everything"
        # Every scrape, whichever worker answers it, counts every worker's requests.
        for _ in range(6):
            scraped = fresh_get(f"{server.url}/metrics")
            assert scraped.status_code == 200
            healthz = counter(
                scraped.text, "idgate_http_requests_total", route="/healthz", status="200"
            )
            assert healthz == probes

        secrets, request_ids = run_flow(server.url, client_id, client_secret)
        scraped = fresh_get(f"{server.url}/metrics").text
        assert counter(scraped, "idgate_logins_total") == 1
        assert counter(scraped, "idgate_login_failures_total", reason="bad_credentials") == 1
        assert (
            counter(
                scraped, "idgate_tokens_issued_total", grant="refresh_token", kind="refresh_token"
            )
            == 3
        )
        # Via the trusted proxy, /metrics judges the client it reports: not an allowed one.
        forwarded = fresh_get(f"{server.url}/metrics", **{"X-Forwarded-For": "203.0.113.1"})
        assert forwarded.status_code == 403
        code, output = server.stop()

    assert code == 0, output
    assert not metrics_dir.exists(), "the run's metrics directory was left behind"
    records = log_records(output)
    audit = [r for r in records if r["logger"] == "idgate.audit"]
    (login,) = [r for r in audit if r["message"] == "login.succeeded"]
    assert login["audit"]["ip"] == "198.51.100.23"
    assert login["request_id"] == request_ids["login"]
    assert any(r["request_id"] == "rp-trace-0001" for r in records)
    access_routes = {r["route"] for r in records if r["logger"] == "idgate.access"}
    assert {"/token", "/introspect", "/userinfo", "/interaction/{handle}/login"} <= access_routes
    for secret in secrets:
        assert secret not in output, f"a secret reached the logs: {secret[:6]}…"


def run_flow(url: str, client_id: str, client_secret: str) -> tuple[list[str], dict[str, str]]:
    """Login (one failure first), code, token, refresh, introspection, UserInfo; every secret
    the flow saw, and the request ids of some steps."""
    secrets = [PASSWORD, "a-wrong-password-3b9e", client_secret]
    request_ids: dict[str, str] = {}
    proxy = {"X-Forwarded-For": "198.51.100.23"}
    with httpx.Client(base_url=url, follow_redirects=False, headers=proxy, timeout=10) as browser:
        started = browser.get(
            "/authorize",
            params={
                "client_id": client_id,
                "redirect_uri": CALLBACK,
                "response_type": "code",
                "scope": "openid email",
                "state": "state-value-5d1e",
                "nonce": "nonce-value-8a0c",
            },
        )
        page = browser.get(started.headers["location"])
        (form, *_) = parse_forms(page.text)
        failed = browser.post(
            form.action,
            data={**form.fields, "username": "alice", "password": "a-wrong-password-3b9e"},
        )
        (form, *_) = parse_forms(failed.text)
        done = browser.post(
            form.action, data={**form.fields, "username": "alice", "password": PASSWORD}
        )
        request_ids["login"] = done.headers["x-request-id"]
        code = response_params(done.headers["location"])["code"]
        secrets += [code, *browser.cookies.values(), started.headers["location"].rsplit("/", 1)[-1]]

    auth = (client_id, client_secret)
    with httpx.Client(base_url=url, auth=auth, timeout=10) as rp:
        tokens = rp.post(
            "/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
            headers={"X-Request-Id": "rp-trace-0001"},
        ).json()
        secrets += [tokens["access_token"], tokens["refresh_token"], tokens["id_token"]]
        refresh = tokens["refresh_token"]
        for _ in range(3):
            refreshed = rp.post(
                "/token", data={"grant_type": "refresh_token", "refresh_token": refresh}
            )
            assert refreshed.status_code == 200, refreshed.text
            refresh = refreshed.json()["refresh_token"]
            secrets += [refresh, refreshed.json()["access_token"], refreshed.json()["id_token"]]
        introspected = rp.post("/introspect", data={"token": refreshed.json()["access_token"]})
        assert introspected.json()["active"] is True
    userinfo = httpx.get(
        f"{url}/userinfo",
        headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"},
        timeout=10,
    )
    assert userinfo.json()["email"] == "alice@example.com"
    return secrets, request_ids


def log_records(output: str) -> list[dict[str, Any]]:
    """Every line the server wrote is a JSON object, but for the CLI's own start-up line."""
    records = []
    for line in output.splitlines():
        if not line.strip() or line.startswith("idgate: serving"):
            continue
        record = json.loads(line)
        assert {"timestamp", "level", "logger", "message", "request_id"} <= record.keys(), line
        records.append(record)
    return records
