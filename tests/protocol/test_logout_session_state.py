"""Session State (Session Management 1.0 §3, §4.1, §4.2): origins, the value, the iframe's
answer in Python."""

from __future__ import annotations

import hashlib

import pytest

from idgate.protocol.session_state import (
    browser_state,
    check_session_message,
    origin_of,
    session_state,
)


@pytest.mark.parametrize(
    ("uri", "origin"),
    [
        ("https://rp.example/cb", "https://rp.example"),
        ("https://RP.Example/cb?x=1", "https://rp.example"),
        ("HTTPS://rp.example:443/cb", "https://rp.example"),
        ("https://rp.example:8443/cb", "https://rp.example:8443"),
        ("http://127.0.0.1:80/cb", "http://127.0.0.1"),
        ("http://127.0.0.1:5173/cb", "http://127.0.0.1:5173"),
        ("http://[::1]:5173/cb", "http://[::1]:5173"),
        ("https://bücher.example/cb", "https://xn--bcher-kva.example"),
    ],
)
def test_origin_of(uri: str, origin: str) -> None:
    assert origin_of(uri) == origin


@pytest.mark.parametrize(
    "uri", ["com.example.app:/cb", "https:///cb", "https://rp.example:99999/cb", "/relative"]
)
def test_no_origin(uri: str) -> None:
    assert origin_of(uri) is None


def test_session_state_is_the_spec_computation() -> None:
    value = session_state("c1", "https://rp.example", "opbs", salt="abc")
    text = "c1 https://rp.example opbs abc"
    assert value == hashlib.sha256(text.encode()).hexdigest() + ".abc"


def test_session_state_has_a_fresh_salt_each_time() -> None:
    first = session_state("c1", "https://rp.example", "opbs")
    second = session_state("c1", "https://rp.example", "opbs")
    assert first != second
    assert check_session_message(f"c1 {first}", "https://rp.example", "opbs") == "unchanged"
    assert check_session_message(f"c1 {second}", "https://rp.example", "opbs") == "unchanged"


def test_browser_state() -> None:
    assert browser_state(None) == ""
    assert browser_state("") == ""
    one, two = browser_state("a" * 64), browser_state("b" * 64)
    assert one != two
    assert one == browser_state("a" * 64)
    assert "a" * 64 not in one
    assert one.isascii()
    assert all(c.isalnum() or c in "-_" for c in one)  # a valid cookie value


STATE = session_state("client 1", "https://rp.example", "opbs", salt="5a17")


@pytest.mark.parametrize(
    ("message", "origin", "opbs", "answer"),
    [
        (f"client 1 {STATE}", "https://rp.example", "opbs", "unchanged"),
        (f"client 1 {STATE}", "https://rp.example", "other", "changed"),
        (f"client 1 {STATE}", "https://rp.example", "", "changed"),
        (f"client 1 {STATE}", "https://evil.example", "opbs", "changed"),
        (f"client 2 {STATE}", "https://rp.example", "opbs", "changed"),
        (f"client 1 {STATE[:-1]}0", "https://rp.example", "opbs", "changed"),
        (STATE, "https://rp.example", "opbs", "error"),
        (f" {STATE}", "https://rp.example", "opbs", "error"),
        ("client 1 not-a-state", "https://rp.example", "opbs", "error"),
        (f"client 1 {STATE.upper()}", "https://rp.example", "opbs", "error"),
        ("", "https://rp.example", "opbs", "error"),
        ("x " * 3000 + STATE, "https://rp.example", "opbs", "error"),
        (None, "https://rp.example", "opbs", "error"),
        ({"client_id": "client 1"}, "https://rp.example", "opbs", "error"),
    ],
)
def test_check_session_message(message: object, origin: str, opbs: str, answer: str) -> None:
    assert check_session_message(message, origin, opbs) == answer
