"""The audit log (provider/audit.py): one JSON line per security event, and never a secret.

SECURITY.md G9: every code, token, secret, password and ID Token a flow produced is searched
for in everything idgate logged during it (every logger, every level): zero hits.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from security_support import (  # type: ignore[import-not-found]
    PASSWORD,
    Browser,
    RegisteredClient,
    callback,
    code_request,
    exchange,
)

from idgate.provider import Provider
from idgate.provider.audit import AUDIT_LOGGER

pytestmark = pytest.mark.anyio


def audit_events(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    events = []
    for record in caplog.records:
        if record.name == AUDIT_LOGGER:
            event = json.loads(record.getMessage())
            assert event == record.audit  # type: ignore[attr-defined]
            events.append(event)
    return events


async def test_a_whole_flow_is_audited_without_secrets(
    caplog: pytest.LogCaptureFixture,
    op: Provider,
    browser: Browser,
    http: httpx.AsyncClient,
    c1: RegisteredClient,
) -> None:
    # G9: no secrets in logs; and the audit trail names each step.
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="idgate")
    typed_as_username = "hunter2-typed-into-the-username-field"
    page = await browser.login_page(**code_request(c1, scope="openid offline_access"))
    await browser.submit(page, {"username": typed_as_username, "password": "x"})
    await browser.submit(page, {"username": "alice", "password": "wrong password"})
    consent = await browser.submit(page, {"username": "alice", "password": PASSWORD})
    code = callback(await browser.submit(consent, button="approve"))["code"]
    tokens = (await exchange(http, c1, code)).json()
    refreshed = await http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=c1.basic,
    )
    assert refreshed.status_code == 200
    await exchange(http, c1, code)  # a replay: revokes what the code issued
    await http.post("/revoke", data={"token": refreshed.json()["refresh_token"]}, auth=c1.basic)
    await op.clients.remove(c1.client_id)

    alice = await op.accounts.get("alice")
    events = audit_events(caplog)
    by_name = {event["event"]: event for event in events}
    failures = [e for e in events if e["event"] == "login.failed"]
    assert [f.get("subject") for f in failures] == [None, alice.subject]
    assert {f["reason"] for f in failures} == {"bad_credentials"}
    assert by_name["login.succeeded"]["subject"] == alice.subject
    assert by_name["login.succeeded"]["client_id"] == c1.client_id
    assert by_name["consent.granted"]["scopes"] == ["offline_access", "openid"]
    issued = [e for e in events if e["event"] == "token.issued"]
    assert [e["grant"] for e in issued] == ["code", "authorization_code", "refresh_token"]
    assert issued[1]["issued"] == ["access_token", "id_token", "refresh_token"]
    revoked = [e for e in events if e["event"] == "token.revoked"]
    assert [e["reason"] for e in revoked] == ["code_replay", "revocation_request"]
    assert by_name["client.removed"]["client_id"] == c1.client_id

    secrets = [
        PASSWORD,
        "wrong password",
        typed_as_username,
        code,
        c1.client_secret,
        *(tokens[name] for name in ("access_token", "refresh_token", "id_token")),
        *(refreshed.json()[name] for name in ("access_token", "refresh_token", "id_token")),
    ]
    everything = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    for secret in secrets:
        assert secret not in everything


async def test_consent_denied_rate_limits_and_registration_are_audited(
    caplog: pytest.LogCaptureFixture, op: Provider, browser: Browser, c1: RegisteredClient
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    for _ in range(op.settings.login_max_failures + 1):
        page = await browser.login_page(**code_request(c1))
        await browser.submit(page, {"username": "bob", "password": "wrong"})
    page = await browser.login_page(**code_request(c1))
    consent = await browser.submit(page, {"username": "alice", "password": PASSWORD})
    denied = callback(await browser.submit(consent, button="deny"))
    assert denied["error"] == "access_denied"
    created = await op.registration.register_trusted(
        {"redirect_uris": ["https://rp.example/cb"], "client_name": "New\nline"}
    )

    events = audit_events(caplog)
    reasons = [e["reason"] for e in events if e["event"] == "login.failed"]
    assert reasons[-1] == "rate_limited"
    assert any(e["event"] == "consent.denied" for e in events)
    (made,) = [e for e in events if e["event"] == "client.created"]
    assert made["client_id"] == created.client.client_id
    # One line per event: a newline in client metadata cannot forge another line.
    lines = [r.getMessage() for r in caplog.records if r.name == AUDIT_LOGGER]
    assert all("\n" not in line for line in lines)
    assert made["client_name"] == "New\nline"


async def test_logout_is_audited(
    caplog: pytest.LogCaptureFixture, browser: Browser, c1: RegisteredClient
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    await browser.callback(**code_request(c1))
    page = await browser.http.get("/logout")
    await browser.submit(page, button="logout")
    (ended,) = [e for e in audit_events(caplog) if e["event"] == "session.ended"]
    assert ended["clients"] == 1
