"""Request ids, the access log and JSON log lines (web/observe.py, web/request_id.py,
web/access_log.py, observability/logs.py)."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from observability_support import (  # type: ignore[import-not-found]
    PASSWORD,
    app_client,
    code_of,
    log_in,
    opened,
    register,
)

from idgate.observability.logs import JsonFormatter, RequestIdFilter, TextFormatter, logging_config
from idgate.provider.audit import AUDIT_LOGGER

pytestmark = pytest.mark.anyio
GENERATED = re.compile(r"[0-9a-f]{16}")


@pytest.fixture
def json_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Everything idgate logged so far, through the JSON formatter `idgate serve` uses."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("idgate")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


async def test_every_answer_carries_a_fresh_request_id(database_url: str) -> None:
    async with opened(database_url) as provider, app_client(provider) as http:
        first = await http.get("/healthz")
        second = await http.get("/no-such-endpoint")
        ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
        assert all(GENERATED.fullmatch(value) for value in ids)
        assert ids[0] != ids[1]


@pytest.mark.parametrize(
    ("peer", "sent", "kept"),
    [
        ("10.0.0.2", "edge-4f2a:trace=7", True),
        # From anyone but a trusted proxy the header is not believed.
        ("203.0.113.9", "edge-4f2a", False),
        # Unsafe or oversized ids are replaced, even from a trusted proxy.
        ("10.0.0.2", "two words", False),
        ("10.0.0.2", "x" * 129, False),
        ("10.0.0.2", "id\u00e9", False),
    ],
)
async def test_incoming_request_ids(database_url: str, peer: str, sent: str, kept: bool) -> None:
    async with (
        opened(database_url, trusted_proxies=("10.0.0.0/8",)) as provider,
        app_client(provider, peer=peer) as http,
    ):
        sent_bytes = sent.encode("latin-1")
        answered = (await http.get("/healthz", headers={"X-Request-Id": sent_bytes})).headers[
            "x-request-id"
        ]
    if kept:
        assert answered == sent
    else:
        assert GENERATED.fullmatch(answered)


async def test_audit_and_access_records_name_the_request(
    database_url: str, json_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    async with opened(database_url) as provider, app_client(provider) as http:
        client = await register(provider)
        login = await log_in(http, client, headers={"X-Request-Id": "ignored-from-anyone"})
        code = code_of(login)
        token = await http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": "https://rp.example/cb",
            },
            auth=(client.client_id, client.client_secret),
        )
    lines = json_lines()
    assert lines, "nothing was logged"
    for line in lines:
        assert {"timestamp", "level", "logger", "message", "request_id"} <= line.keys()
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["timestamp"])

    audit = [line for line in lines if line["logger"] == AUDIT_LOGGER]
    (succeeded,) = [line for line in audit if line["message"] == "login.succeeded"]
    assert succeeded["request_id"] == login.headers["x-request-id"]
    assert succeeded["audit"]["request_id"] == login.headers["x-request-id"]
    issued = [line for line in audit if line["message"] == "token.issued"]
    assert issued[-1]["request_id"] == token.headers["x-request-id"]

    access = [line for line in lines if line["logger"] == "idgate.access"]
    (token_line,) = [line for line in access if line.get("route") == "/token"]
    assert token_line["request_id"] == token.headers["x-request-id"]
    assert token_line["method"] == "POST"
    assert token_line["status"] == 200
    assert token_line["duration_ms"] >= 0
    assert token_line["client"] == "127.0.0.1"
    routes = {line["route"] for line in access}
    assert "/interaction/{handle}/login" in routes
    # No query string, no path values, no credentials anywhere.
    everything = json.dumps(lines)
    for secret in (code, PASSWORD, client.client_secret, token.json()["access_token"]):
        assert secret not in everything


async def test_the_text_access_line_has_the_route_template_only(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="idgate.access")
    async with opened(database_url) as provider, app_client(provider) as http:
        await http.get("/register/some-client-id?access_token=secret-in-query")
        await http.get("/authorize?code=abc&id_token_hint=eyJhbGciOi")
    lines = [r.getMessage() for r in caplog.records if r.name == "idgate.access"]
    assert lines[0].startswith('127.0.0.1 "GET /register/{client_id}" 4')
    assert lines[1].startswith('127.0.0.1 "GET /authorize" ')
    assert not any("secret-in-query" in line or "eyJ" in line for line in lines)


def test_logging_config_for_both_formats() -> None:
    record = logging.LogRecord("idgate.web", logging.WARNING, __file__, 1, "hello %s", ("x",), None)
    RequestIdFilter().filter(record)
    text = logging_config("info", "text")
    assert text["formatters"]["main"]["()"] is TextFormatter
    assert TextFormatter().format(record).endswith(" WARNING idgate.web [-]: hello x")
    assert text["formatters"]["audit"]["format"] == "%(message)s"
    as_json = logging_config("debug", "json")
    assert as_json["formatters"]["main"]["()"] is JsonFormatter
    assert as_json["loggers"]["idgate"]["level"] == "DEBUG"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello x"
    assert line["level"] == "warning"
    assert line["logger"] == "idgate.web"
    assert line["request_id"] is None
