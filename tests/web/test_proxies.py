"""Trusted proxies (web/proxies.py, SECURITY.md HTTP-08): forwarding headers are believed only
from configured proxies, and then they decide the client address that login rate limits and
the audit log use."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from observability_support import app_client, log_in, opened, register  # type: ignore[import-not-found]

from idgate.config import ConfigError, load_settings
from idgate.provider.audit import AUDIT_LOGGER
from idgate.web.proxies import TrustedProxies, parse_forwarded

PROXY = "10.0.0.2"


def scope_from(peer: str, *headers: tuple[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "scheme": "http",
        "client": (peer, 5555),
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers],
    }


def resolved(proxies: TrustedProxies, scope: dict[str, Any]) -> tuple[str, str, bool]:
    trusted = proxies.apply(scope)
    return scope["client"][0], scope["scheme"], trusted


X_FORWARDED = TrustedProxies(["10.0.0.0/8", "192.0.2.1"], "x-forwarded")
FORWARDED = TrustedProxies(["10.0.0.0/8"], "forwarded")


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        # An untrusted peer's headers change nothing.
        (
            "203.0.113.9",
            [("X-Forwarded-For", "198.51.100.1"), ("X-Forwarded-Proto", "https")],
            ("203.0.113.9", "http", False),
        ),
        (
            PROXY,
            [("X-Forwarded-For", "198.51.100.1"), ("X-Forwarded-Proto", "https")],
            ("198.51.100.1", "https", True),
        ),
        # The client wrote the left part itself: the first untrusted hop from the right wins.
        (
            PROXY,
            [("X-Forwarded-For", "6.6.6.6, 198.51.100.1, 10.1.1.1")],
            ("198.51.100.1", "http", True),
        ),
        # Several header lines are one list, in order.
        (
            PROXY,
            [("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "198.51.100.1")],
            ("198.51.100.1", "http", True),
        ),
        # Only proxies in the chain: the leftmost is the client.
        (PROXY, [("X-Forwarded-For", "192.0.2.1, 10.9.9.9")], ("192.0.2.1", "http", True)),
        # An unreadable hop stops the walk at the last trusted address.
        (PROXY, [("X-Forwarded-For", "6.6.6.6, unknown, 10.1.1.1")], ("10.1.1.1", "http", True)),
        (PROXY, [("X-Forwarded-For", "not an address")], (PROXY, "http", True)),
        # Ports and brackets as proxies write them.
        (PROXY, [("X-Forwarded-For", "198.51.100.1:1234")], ("198.51.100.1", "http", True)),
        (PROXY, [("X-Forwarded-For", "[2001:db8::7]:443")], ("2001:db8::7", "http", True)),
        # Only http and https are schemes; the nearest proxy's value (the last) counts.
        (PROXY, [("X-Forwarded-Proto", "javascript")], (PROXY, "http", True)),
        (PROXY, [("X-Forwarded-Proto", "http, https")], (PROXY, "https", True)),
        # The other header family is not read.
        (PROXY, [("Forwarded", "for=198.51.100.1;proto=https")], (PROXY, "http", True)),
        # An IPv4 proxy seen over an IPv6 socket.
        ("::ffff:10.0.0.2", [("X-Forwarded-For", "198.51.100.1")], ("198.51.100.1", "http", True)),
    ],
)
def test_x_forwarded_headers(
    peer: str, headers: list[tuple[str, str]], expected: tuple[str, str, bool]
) -> None:
    assert resolved(X_FORWARDED, scope_from(peer, *headers)) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            [("Forwarded", 'for="[2001:db8::1]:4711";proto=https, for=10.0.0.9')],
            ("2001:db8::1", "https"),
        ),
        (
            [
                ("Forwarded", "for=6.6.6.6;proto=http"),
                ("Forwarded", "for=198.51.100.1;proto=https"),
            ],
            ("198.51.100.1", "https"),
        ),
        ([("Forwarded", "for=_hidden, for=10.0.0.9;proto=https")], ("10.0.0.9", "https")),
        # Malformed: nothing is believed.
        ([("Forwarded", 'for="198.51.100.1')], (PROXY, "http")),
        ([("X-Forwarded-For", "198.51.100.1")], (PROXY, "http")),
    ],
)
def test_rfc_7239_forwarded(headers: list[tuple[str, str]], expected: tuple[str, str]) -> None:
    client, scheme, trusted = resolved(FORWARDED, scope_from(PROXY, *headers))
    assert (client, scheme) == expected
    assert trusted


def test_forwarded_parser() -> None:
    assert parse_forwarded('for=a;by=b, for="x\\"y";proto=https') == [
        {"for": "a", "by": "b"},
        {"for": 'x"y', "proto": "https"},
    ]
    assert parse_forwarded("for") is None
    assert parse_forwarded("") is None


def test_settings_take_lists_from_toml_and_environment(tmp_path: Any) -> None:
    env = {"IDGATE_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1 ::1"}
    assert load_settings(environ=env).trusted_proxies == ("10.0.0.0/8", "192.0.2.1", "::1")
    config = tmp_path / "idgate.toml"
    config.write_text('trusted_proxies = ["172.16.0.0/12"]\nforwarded_header = "forwarded"\n')
    settings = load_settings(config_file=config, environ={})
    assert settings.trusted_proxies == ("172.16.0.0/12",)
    assert settings.forwarded_header == "forwarded"
    assert load_settings(environ={}).trusted_proxies == ()
    with pytest.raises(ConfigError, match="trusted_proxies"):
        load_settings(environ={"IDGATE_TRUSTED_PROXIES": "10.0.0.0/8, example.com"})
    with pytest.raises(ConfigError, match="forwarded_header"):
        load_settings(environ={"IDGATE_FORWARDED_HEADER": "x-real-ip"})


# --- the client address where it matters: login rate limits and the audit log --------------


def audit_ips(caplog: pytest.LogCaptureFixture, event: str) -> list[str]:
    return [
        json.loads(r.getMessage())["ip"]
        for r in caplog.records
        if r.name == AUDIT_LOGGER and json.loads(r.getMessage())["event"] == event
    ]


@pytest.mark.anyio
async def test_login_rate_limit_counts_the_forwarded_client(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    async with opened(
        database_url, trusted_proxies=("10.0.0.0/8",), login_max_failures=1
    ) as provider:
        client = await register(provider)
        async with app_client(provider, peer=PROXY) as http:
            attacker = {"X-Forwarded-For": "198.51.100.66"}
            # An address may fail 4 x login_max_failures times.
            for username in ("u1", "u2", "u3", "u4"):
                await log_in(http, client, username=username, password="wrong", headers=attacker)
            # The attacker's address is locked out; alice, behind the same proxy, is not.
            blocked = await log_in(http, client, headers=attacker)
            assert blocked.status_code == 200  # the login page again, with an error
            allowed = await log_in(http, client, headers={"X-Forwarded-For": "198.51.100.7"})
            assert allowed.status_code == 303
    assert audit_ips(caplog, "login.failed") == ["198.51.100.66"] * 5
    assert audit_ips(caplog, "login.succeeded") == ["198.51.100.7"]


@pytest.mark.anyio
async def test_untrusted_peers_cannot_choose_their_address(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    async with opened(
        database_url, trusted_proxies=("10.0.0.0/8",), login_max_failures=1
    ) as provider:
        client = await register(provider)
        async with app_client(provider, peer="203.0.113.50") as http:
            for n, username in enumerate(("u1", "u2", "u3", "u4")):
                forged = {"X-Forwarded-For": f"198.51.100.{n}", "Forwarded": f"for=198.51.100.{n}"}
                await log_in(http, client, username=username, password="wrong", headers=forged)
            still_blocked = await log_in(http, client, headers={"X-Forwarded-For": "198.51.100.9"})
            assert still_blocked.status_code == 200
    assert set(audit_ips(caplog, "login.failed")) == {"203.0.113.50"}


@pytest.mark.anyio
async def test_forwarded_host_and_proto_never_change_urls(database_url: str) -> None:
    # HTTP-08: URLs and iss come from the configured issuer, even via a trusted proxy.
    async with (
        opened(database_url, trusted_proxies=("10.0.0.0/8",)) as provider,
        app_client(provider, peer=PROXY) as http,
    ):
        clean = (await http.get("/.well-known/openid-configuration")).json()
        forged = await http.get(
            "/.well-known/openid-configuration",
            headers={
                "Host": "evil.example",
                "X-Forwarded-Host": "evil.example",
                "X-Forwarded-Proto": "http",
                "Forwarded": "host=evil.example;proto=http",
            },
        )
        assert forged.json() == clean
        assert "evil.example" not in forged.text
