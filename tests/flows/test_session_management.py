"""Session Management 1.0: session_state in authorization responses, the OP browser state
cookie, and the check_session_iframe — its headers and its exact postMessage exchange, with
the page's own script run by Node."""

from __future__ import annotations

import hashlib
from http.cookies import SimpleCookie

import httpx
import pytest
from check_session_js import page_script, run_check_session  # type: ignore[import-not-found]
from flows_support import RP, OPBrowser, callback, register  # type: ignore[import-not-found]

from idgate.protocol.session_state import BROWSER_STATE_COOKIE, check_session_message
from idgate.provider import Provider

pytestmark = pytest.mark.anyio


def opbs_of(http: httpx.AsyncClient) -> str:
    return http.cookies.get(BROWSER_STATE_COOKIE) or ""


def rp_session_state(client_id: str, origin: str, opbs: str, salt: str) -> str:
    """What an RP (or the iframe) computes (§4.2): hex SHA-256 of the four values, ".", salt."""
    text = f"{client_id} {origin} {opbs} {salt}"
    return hashlib.sha256(text.encode()).hexdigest() + "." + salt


def set_cookie(response: httpx.Response, name: str) -> SimpleCookie:
    for header in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        if name in cookie:
            return cookie
    raise AssertionError(f"no Set-Cookie for {name}")


async def sign_in(browser: OPBrowser, client_id: str, **extra: str) -> dict[str, str]:
    params = {
        "client_id": client_id,
        "redirect_uri": f"{RP}/cb",
        "response_type": "code",
        "scope": "openid",
        "state": "s",
        **extra,
    }
    return await browser.sign_in(**params)


@pytest.mark.parametrize(
    ("response_type", "response_mode"),
    [("code", "query"), ("code id_token", "fragment"), ("id_token", "form_post")],
)
async def test_session_state_in_successful_responses(  # type: ignore[no-untyped-def]
    op: Provider, browser: OPBrowser, response_type: str, response_mode: str
) -> None:
    client = await register(op)
    result = await sign_in(
        browser,
        client.client_id,
        response_type=response_type,
        response_mode=response_mode,
        nonce="n",
    )
    opbs = opbs_of(browser.http)
    assert opbs
    value = result["session_state"]
    salt = value.rpartition(".")[2]
    assert value == rp_session_state(client.client_id, RP, opbs, salt)
    message = f"{client.client_id} {value}"
    assert check_session_message(message, RP, opbs) == "unchanged"
    assert check_session_message(message, "https://evil.example", opbs) == "changed"


async def test_session_state_uses_the_redirect_uri_origin_with_its_port(
    op: Provider, browser: OPBrowser
) -> None:
    client = await register(op, redirect_uris=["https://rp.example:8443/cb"])
    result = await sign_in(browser, client.client_id, redirect_uri="https://rp.example:8443/cb")
    response = result  # the callback parameters
    salt = response["session_state"].rpartition(".")[2]
    expected = rp_session_state(
        client.client_id, "https://rp.example:8443", opbs_of(browser.http), salt
    )
    assert response["session_state"] == expected


async def test_browser_state_cookie_is_readable_by_the_iframe(
    op: Provider, browser: OPBrowser
) -> None:
    client = await register(op)
    await sign_in(browser, client.client_id)
    response = await browser.authorize(
        client_id=client.client_id,
        redirect_uri=f"{RP}/cb",
        response_type="code",
        scope="openid",
        prompt="none",
    )
    cookie = set_cookie(response, BROWSER_STATE_COOKIE)[BROWSER_STATE_COOKIE]
    assert cookie.value == opbs_of(browser.http)
    assert not cookie["httponly"]  # the iframe's script reads it
    assert cookie["samesite"].lower() == "none"  # it is read inside a third-party frame
    assert cookie["secure"]  # https issuer (and SameSite=None needs it)
    assert cookie["path"] == "/"
    # The session cookie itself stays HttpOnly and Lax.
    session_cookies = [h for h in response.headers.get_list("set-cookie") if "idgate_session" in h]
    assert session_cookies == []


async def test_browser_state_changes_on_login_and_logout(op: Provider, browser: OPBrowser) -> None:
    client = await register(op)
    first = await sign_in(browser, client.client_id)
    before = opbs_of(browser.http)
    message = f"{client.client_id} {first['session_state']}"
    assert check_session_message(message, RP, before) == "unchanged"

    # A new login (prompt=login): a new session, a new browser state.
    await sign_in(browser, client.client_id, prompt="login")
    after_login = opbs_of(browser.http)
    assert after_login
    assert after_login != before
    assert check_session_message(message, RP, after_login) == "changed"

    # Logout: the cookie goes, and the iframe answers "changed" to the last session_state.
    latest = await sign_in(browser, client.client_id, prompt="none")
    message = f"{client.client_id} {latest['session_state']}"
    page = await browser.http.get("/logout")
    confirm = await browser.submit(page, button="logout")
    assert confirm.status_code == 200
    assert opbs_of(browser.http) == ""
    assert check_session_message(message, RP, opbs_of(browser.http)) == "changed"


async def test_login_required_carries_a_session_state_for_no_session(
    op: Provider, browser: OPBrowser
) -> None:
    client = await register(op)
    response = await browser.authorize(
        client_id=client.client_id,
        redirect_uri=f"{RP}/cb",
        response_type="code",
        scope="openid",
        prompt="none",
        state="s",
    )
    params = callback(response)
    assert params["error"] == "login_required"
    assert params["state"] == "s"
    # Session Management §4.1: on failure too, for the browser state "no session" (empty).
    message = f"{client.client_id} {params['session_state']}"
    assert check_session_message(message, RP, "") == "unchanged"
    assert check_session_message(message, RP, "someone-signed-in") == "changed"
    cookie = set_cookie(response, BROWSER_STATE_COOKIE)[BROWSER_STATE_COOKIE]
    assert cookie.value == ""  # removed: the iframe must see "no session" too


async def test_check_session_iframe_may_be_framed(http: httpx.AsyncClient) -> None:
    response = await http.get("/check_session")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "x-frame-options" not in response.headers
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors" not in csp
    assert "default-src 'none'" in csp
    nonce, _script = page_script(response.text)
    assert f"script-src 'nonce-{nonce}'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    # A fresh nonce each time.
    again = await http.get("/check_session")
    assert page_script(again.text)[0] != nonce
    # Every other page still refuses to be framed (SECURITY.md G6).
    other = await http.get("/logout")
    assert other.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in other.headers["content-security-policy"]


async def test_discovery_lists_the_iframe(http: httpx.AsyncClient) -> None:
    doc = (await http.get("/.well-known/openid-configuration")).json()
    assert doc["check_session_iframe"] == "https://op.example/check_session"


async def test_the_iframe_script_answers_like_the_spec(op: Provider, browser: OPBrowser) -> None:
    """The exact message exchange: the RP posts "client_id session_state"; the page's own
    script (run by Node) answers to the sender's origin, as the Python reference does."""
    client = await register(op)
    result = await sign_in(browser, client.client_id)
    opbs = opbs_of(browser.http)
    real = f"{client.client_id} {result['session_state']}"
    stale = rp_session_state(client.client_id, RP, "an-old-browser-state", "00ff")
    _nonce, script = page_script((await browser.http.get("/check_session")).text)
    vectors: list[dict[str, object]] = [
        {"data": real, "origin": RP},
        {"data": real, "origin": "https://evil.example"},
        {"data": f"{client.client_id} {stale}", "origin": RP},
        {"data": f"other-client {result['session_state']}", "origin": RP},
        {"data": result["session_state"], "origin": RP},
        {"data": f"{client.client_id} garbage", "origin": RP},
        {"data": {"not": "a string"}, "origin": RP},
        {"data": "x " * 3000 + result["session_state"], "origin": RP},
    ]
    cookie = f"other=1; {BROWSER_STATE_COOKIE}={opbs}; idgate_x=2"
    replies = run_check_session(script, cookie, vectors)
    expected = [check_session_message(v["data"], str(v["origin"]), opbs) for v in vectors]
    assert expected[:3] == ["unchanged", "changed", "changed"]
    assert {"error"} <= set(expected)
    assert replies == [[[answer, v["origin"]]] for answer, v in zip(expected, vectors, strict=True)]

    # Without the cookie (signed out, or third-party cookies blocked) the state has changed.
    signed_out = run_check_session(script, "other=1", [{"data": real, "origin": RP}])
    assert signed_out == [[["changed", RP]]]
    # An opaque origin cannot be answered at all.
    assert run_check_session(script, cookie, [{"data": real, "origin": "null"}]) == [[]]
