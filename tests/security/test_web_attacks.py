"""SECURITY.md §3.8: login, consent and user sessions (WEB-01 … WEB-11)."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie

import httpx
import pytest
from security_support import (  # type: ignore[import-not-found]
    PASSWORD,
    TEST_ISSUER,
    Browser,
    RegisteredClient,
    callback,
    code_request,
    is_page,
    redirect_error,
    register,
)

from idgate.clock import FrozenClock
from idgate.protocol.session_state import BROWSER_STATE_COOKIE
from idgate.provider import Provider
from idgate.testing import asgi_client, open_test_provider, parse_forms
from idgate.web.app import create_app

pytestmark = pytest.mark.anyio


async def every_page(browser: Browser, client: RegisteredClient) -> dict[str, httpx.Response]:
    """One answer of each kind of page the OP shows."""
    pages = {"error": await browser.authorize(client_id="nobody")}
    login = await browser.login_page(**code_request(client))
    pages["login"] = login
    pages["consent"] = await browser.submit(login, {"username": "alice", "password": PASSWORD})
    pages["form_post"] = await browser.sign_in(**code_request(client, response_mode="form_post"))
    pages["logout_confirm"] = await browser.http.get("/logout")
    pages["logged_out"] = await browser.submit(pages["logout_confirm"], button="logout")
    return pages


async def test_every_page_refuses_framing(browser: Browser, c1: RegisteredClient) -> None:
    # WEB-01: clickjacking (G6 on every page type, form_post included).
    for kind, page in (await every_page(browser, c1)).items():
        assert page.headers["content-type"].startswith("text/html"), kind
        assert page.headers["x-frame-options"] == "DENY", kind
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"], kind
    framed = await browser.http.get("/check_session")
    assert "x-frame-options" not in framed.headers


async def test_no_third_party_content_and_no_referrer(
    browser: Browser, c1: RegisteredClient
) -> None:
    # WEB-02: codes leaked via Referer or third-party content.
    for kind, page in (await every_page(browser, c1)).items():
        assert page.headers["referrer-policy"] == "no-referrer", kind
        for url in re.findall(r'(?:src|href)="([^"]*)"', page.text):
            assert url.startswith(("/", "#", TEST_ISSUER)), (kind, url)
        assert "code=" not in str(page.url)


async def test_csrf_on_login_and_consent(
    browser: Browser, c1: RegisteredClient, second_http: httpx.AsyncClient
) -> None:
    # WEB-03: CSRF on login, consent, logout.
    page = await browser.login_page(**code_request(c1))
    (form,) = [f for f in parse_forms(page.text) if "password" in f.fields]
    credentials = {"username": "alice", "password": PASSWORD}
    stripped = await browser.http.post(form.action, data=credentials)
    assert stripped.status_code in (400, 403)
    assert "__Host-idgate_session" not in stripped.headers.get("set-cookie", "")
    other = await browser.login_page(**code_request(c1, state="other"))
    (other_form,) = [f for f in parse_forms(other.text) if "password" in f.fields]
    crossed = await browser.http.post(
        form.action, data={**credentials, "csrf_token": other_form.fields["csrf_token"]}
    )
    assert crossed.status_code in (400, 403)
    replayed = await second_http.post(form.action, data={**form.fields, **credentials})
    assert replayed.status_code in (400, 403)
    assert "csrf_token" not in str(page.url)
    # Logout confirmation without its token ends nothing.
    await browser.callback(**code_request(c1))
    confirm = await browser.http.get("/logout")
    (logout_form,) = parse_forms(confirm.text)
    forged = {k: v for k, v in logout_form.fields.items() if k != "csrf_token"}
    await browser.http.post(logout_form.action, data={**forged, "decision": "logout"})
    silent = await browser.authorize(**code_request(c1, prompt="none"))
    assert "code" in callback(silent)


@pytest.fixture
async def clocked(database_url: str) -> AsyncIterator[tuple[Provider, FrozenClock]]:
    clock = FrozenClock(int(time.time()))
    provider = await open_test_provider(database_url, clock=clock)
    await provider.accounts.add("carol", PASSWORD)
    try:
        yield provider, clock
    finally:
        await provider.close()


async def test_password_brute_force_is_locked_out(
    clocked: tuple[Provider, FrozenClock],
) -> None:
    # WEB-04: password brute force (a lock holds for the right password too, then expires).
    provider, clock = clocked
    client = await register(provider)
    async with asgi_client(create_app(provider)) as http:
        browser = Browser(http)
        for _ in range(provider.settings.login_max_failures):
            page = await browser.login_page(**code_request(client))
            await browser.submit(page, {"username": "carol", "password": "wrong"})
        page = await browser.login_page(**code_request(client))
        locked = await browser.submit(page, {"username": "carol", "password": PASSWORD})
        assert 'name="password"' in locked.text
        assert "Too many" in locked.text
        clock.advance(provider.settings.login_lockout_seconds + 1)
        page = await browser.login_page(**code_request(client))
        done = await browser.submit(page, {"username": "carol", "password": PASSWORD})
        assert 'name="password"' not in done.text


def _masked(response: httpx.Response) -> str:
    masked = re.sub(r'name="csrf_token" value="[^"]*"', "", response.text)
    return re.sub(r"/interaction/[A-Za-z0-9_-]+/", "/interaction/HANDLE/", masked)


async def test_unknown_user_and_wrong_password_look_alike(
    browser: Browser, c1: RegisteredClient
) -> None:
    # WEB-05: account enumeration (same status, body and cookies).
    page = await browser.login_page(**code_request(c1))
    wrong = await browser.submit(page, {"username": "alice", "password": "wrong"})
    page = await browser.login_page(**code_request(c1))
    unknown = await browser.submit(page, {"username": "alise", "password": "wrong"})
    assert wrong.status_code == unknown.status_code
    assert _masked(wrong).replace("alice", "USER") == _masked(unknown).replace("alise", "USER")
    assert wrong.headers.get("set-cookie") == unknown.headers.get("set-cookie")


async def test_session_fixation_and_shared_browsers(browser: Browser, c1: RegisteredClient) -> None:
    # WEB-06: session fixation; reuse on a shared browser.
    planted = "attacker-chosen-session-value"
    browser.http.cookies.set("__Host-idgate_session", planted, domain="op.example")
    silent = await browser.authorize(**code_request(c1, prompt="none"))
    assert redirect_error(silent)["error"] == "login_required"
    alice = await browser.callback(**code_request(c1, response_type="id_token", nonce="n"))
    assert browser.http.cookies.get("__Host-idgate_session") != planted
    old_cookie = browser.http.cookies.get("__Host-idgate_session")
    confirm = await browser.http.get("/logout")
    await browser.submit(confirm, button="logout")
    browser.http.cookies.set("__Host-idgate_session", old_cookie or "", domain="op.example")
    silent = await browser.authorize(**code_request(c1, prompt="none"))
    assert redirect_error(silent)["error"] == "login_required"
    bob = await browser.callback("bob", **code_request(c1, response_type="id_token", nonce="n"))
    assert bob["id_token"] != alice["id_token"]


async def test_cookie_flags(browser: Browser, c1: RegisteredClient) -> None:
    # WEB-07: weak cookie flags.
    seen: list[str] = []

    async def record(response: httpx.Response) -> None:
        seen.extend(response.headers.get_list("set-cookie"))

    browser.http.event_hooks["response"].append(record)
    await every_page(browser, c1)
    assert seen
    for header in seen:
        cookie = SimpleCookie()
        cookie.load(header)
        (morsel,) = cookie.values()
        assert morsel["secure"], header
        assert morsel["path"].startswith("/"), header
        assert not morsel["domain"], header
        assert morsel["samesite"].lower() in ("lax", "strict", "none"), header
        if (
            morsel.key != BROWSER_STATE_COOKIE
        ):  # the browser-state cookie is read by the iframe's script
            assert morsel["httponly"], header
    # The session and browser-binding cookies carry the __Host- prefix on an https issuer.
    names = {header.split("=", 1)[0] for header in seen}
    assert {"__Host-idgate_session", "__Host-idgate_browser"} <= names, names
    assert not names & {"idgate_session", "idgate_browser"}, names


async def test_pages_and_redirects_are_not_cached(browser: Browser, c1: RegisteredClient) -> None:
    # WEB-08: cacheable or unguarded pages.
    for kind, page in (await every_page(browser, c1)).items():
        assert "no-store" in page.headers.get("cache-control", ""), kind
        assert "server" not in page.headers or "/" not in page.headers["server"], kind
    redirect = await browser.sign_in(**code_request(c1))
    assert "no-store" in redirect.headers["cache-control"]
    policy = redirect.headers.get("content-security-policy", "")
    assert "default-src 'none'" in policy or not policy


async def test_consent_replayed_on_another_interaction(
    browser: Browser, c1: RegisteredClient
) -> None:
    # WEB-10: consent forged, replayed or skipped.
    page = await browser.login_page(**code_request(c1, scope="openid"))
    consent = await browser.submit(page, {"username": "alice", "password": PASSWORD})
    (old,) = [f for f in parse_forms(consent.text) if "decision" in f.buttons]
    await browser.submit(consent, button="approve")
    wider = await browser.follow(await browser.authorize(**code_request(c1, scope="openid email")))
    assert 'name="decision"' in wider.text  # new scopes ask again
    (new,) = [f for f in parse_forms(wider.text) if "decision" in f.buttons]
    replay = await browser.http.post(new.action, data={**old.fields, "decision": "approve"})
    assert replay.status_code == 403
    assert is_page(replay, 403)


async def test_interaction_opened_in_another_browser(
    browser: Browser, c1: RegisteredClient, second_http: httpx.AsyncClient
) -> None:
    # WEB-11: interaction hijack.
    started = await browser.authorize(**code_request(c1))
    hijacked = await second_http.get(started.headers["location"])
    assert is_page(hijacked)
    handle = started.headers["location"].rsplit("/", 1)[1]
    assert len(handle) >= 22


async def test_hostile_metadata_and_parameters_are_escaped(browser: Browser, op: Provider) -> None:
    # WEB-09: stored and reflected XSS (client metadata, login_hint, scopes, state).
    payload = '"><script>alert(1)</script><img src=x onerror=1>'
    client = await register(op, client_name=f"\u202e{payload}\u200b")
    login = await browser.login_page(
        **code_request(client, login_hint=payload, scope=f"openid {payload}", state=payload)
    )
    consent = await browser.submit(login, {"username": "alice", "password": PASSWORD})
    for page in (login, consent):
        assert "<script>alert" not in page.text
        assert "onerror=1>" not in page.text
        assert "\u202e" not in page.text
        for url in re.findall(r'(?:href|src|action)="([^"]*)"', page.text):
            assert not url.lower().startswith("javascript:"), url
