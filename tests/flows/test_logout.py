"""RP-Initiated Logout 1.0 and Front-Channel Logout 1.0 over HTTP (in-process), on SQLite and
PostgreSQL: SECURITY.md LOG-01…LOG-08, LOG-11, LOG-12.

Back-channel delivery is in test_logout_backchannel.py; logout across two processes in
test_logout_processes.py.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from flows_support import (  # type: ignore[import-not-found]
    PASSWORD,
    RP,
    OPBrowser,
    RegisteredClient,
    callback,
    register,
)
from jwcrypto import jwk, jwt
from logout_support import (  # type: ignore[import-not-found]
    BYE,
    BYE_Q,
    claims_of,
    logout_client,
    sign_in,
)

from idgate.clock import FrozenClock
from idgate.crypto.jwt import sign_jwt
from idgate.provider import Provider
from idgate.testing import TEST_ISSUER, asgi_client, open_test_provider, parse_forms
from idgate.web.app import create_app

pytestmark = pytest.mark.anyio

SINK = "https://sink.example/x"


# --- helpers ----------------------------------------------------------------------------------


async def prompt_none(browser: OPBrowser, client: RegisteredClient) -> dict[str, str]:
    response = await browser.authorize(
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="code",
        scope="openid",
        prompt="none",
        state="p",
    )
    return callback(response)


async def assert_signed_in(browser: OPBrowser, client: RegisteredClient) -> None:
    result = await prompt_none(browser, client)
    assert "code" in result, result


async def assert_signed_out(browser: OPBrowser, client: RegisteredClient) -> None:
    result = await prompt_none(browser, client)
    assert result.get("error") == "login_required", result


def assert_page(response: httpx.Response, status: int) -> None:
    """An HTML page of the OP: no Location, nothing auto-submitted to a client."""
    assert response.status_code == status, response.text
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-frame-options"] == "DENY"
    for form in parse_forms(response.text):
        assert form.action.startswith("/"), form.action


def confirmation_form(response: httpx.Response) -> dict[str, str]:
    assert_page(response, 200)
    (form,) = parse_forms(response.text)
    assert form.action == "/logout/confirm"
    assert form.buttons["decision"][0] == "logout"
    return form.fields


async def confirm(
    http: httpx.AsyncClient, page: httpx.Response, decision: str = "logout", **headers: str
) -> httpx.Response:
    fields = confirmation_form(page)
    return await http.post(
        "/logout/confirm", data={**fields, "decision": decision}, headers=headers
    )


def session_cookie(http: httpx.AsyncClient) -> str:
    value = http.cookies.get("__Host-idgate_session")
    assert value
    return value


# --- the main path (LOG-07, LOG-08) -----------------------------------------------------------


async def test_logout_with_a_valid_hint_ends_the_session_and_redirects(
    op: Provider, browser: OPBrowser
) -> None:
    client = await logout_client(op)
    front = await sign_in(browser, client)
    old_cookie = session_cookie(browser.http)
    await assert_signed_in(browser, client)

    response = await browser.http.get(
        "/logout",
        params={
            "id_token_hint": front["id_token"],
            "post_logout_redirect_uri": BYE,
            "state": "st 1",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{BYE}?state=st+1"
    assert response.headers["cache-control"] == "no-store"
    assert browser.http.cookies.get("__Host-idgate_session") is None  # the cookie is removed …
    await assert_signed_out(browser, client)
    browser.http.cookies.set("__Host-idgate_session", old_cookie, domain="op.example")
    await assert_signed_out(browser, client)  # … and an old copy of it is dead (LOG-08)

    # Repeating the logout is no error: nothing is live, so the End-User is asked first.
    again = await browser.http.get(
        "/logout",
        params={"id_token_hint": front["id_token"], "post_logout_redirect_uri": BYE, "state": "x"},
    )
    done = await confirm(browser.http, again)
    assert done.status_code == 303
    assert done.headers["location"] == f"{BYE}?state=x"
    assert (await browser.http.get("/logout")).status_code == 200
    assert (await browser.http.post("/logout", data={})).status_code == 200


async def test_post_works_like_get(op: Provider, browser: OPBrowser) -> None:
    client = await logout_client(op)
    front = await sign_in(browser, client)
    response = await browser.http.post(
        "/logout",
        data={
            "id_token_hint": front["id_token"],
            "client_id": client.client_id,
            "post_logout_redirect_uri": BYE_Q,
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == BYE_Q  # registered query kept; no state sent
    await assert_signed_out(browser, client)


@pytest.mark.parametrize(
    ("case", "with_uri", "state", "location"),
    [
        ("oidcc-rp-initiated-logout", True, "s1", f"{BYE}?state=s1"),
        ("no-state", True, None, BYE),
        ("only-state", False, "s1", None),
        ("no-post-logout-redirect-uri", False, None, None),
    ],
)
async def test_parameter_combinations_with_a_hint(  # LOG-07
    op: Provider,
    browser: OPBrowser,
    case: str,
    with_uri: bool,
    state: str | None,
    location: str | None,
) -> None:
    client = await logout_client(op)
    front = await sign_in(browser, client)
    params = {"id_token_hint": front["id_token"]}
    if with_uri:
        params["post_logout_redirect_uri"] = BYE
    if state is not None:
        params["state"] = state
    response = await browser.http.get("/logout", params=params)
    if location is None:
        # Logged out, and shown the OP's own page (no state anywhere).
        assert_page(response, 200)
        assert "You are signed out" in response.text
        assert "s1" not in response.text
    else:
        assert response.status_code == 303
        assert response.headers["location"] == location
    await assert_signed_out(browser, client)


async def test_no_params_asks_first(op: Provider, browser: OPBrowser) -> None:  # LOG-07
    client = await logout_client(op)
    await sign_in(browser, client)
    page = await browser.http.get("/logout")
    assert "Sign out?" in page.text
    await assert_signed_in(browser, client)
    done = await confirm(browser.http, page)
    assert_page(done, 200)
    assert "You are signed out" in done.text
    await assert_signed_out(browser, client)


async def test_chromiums_confirmation_post_with_origin_null(
    op: Provider, browser: OPBrowser
) -> None:
    """Under `Referrer-Policy: no-referrer` Chromium sends `Origin: null` with the page's own
    POST; `Sec-Fetch-Site: same-origin` vouches for it (tests/pages drives a real one)."""
    client = await logout_client(op)
    await sign_in(browser, client)
    fields = confirmation_form(await browser.http.get("/logout"))
    done = await browser.http.post(
        "/logout/confirm",
        data={**fields, "decision": "logout"},
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    )
    assert_page(done, 200)
    await assert_signed_out(browser, client)


async def test_the_end_user_may_stay_signed_in(op: Provider, browser: OPBrowser) -> None:
    client = await logout_client(op)
    await sign_in(browser, client)
    page = await browser.http.get("/logout", params={"client_id": client.client_id})
    response = await confirm(browser.http, page, decision="cancel")
    assert_page(response, 200)
    assert "still signed in" in response.text
    await assert_signed_in(browser, client)


# --- LOG-01, LOG-02: post_logout_redirect_uri -------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        SINK,
        f"{BYE}?x=1",
        f"{BYE_Q}&b=2",
        "https://RP.example/bye",
        f"{BYE}/",
        "https://rp.example:443/bye",
        "https://rp.example:8443/bye",
        "http://rp.example/bye",
        f"{RP}/cb",
    ],
)
async def test_unregistered_post_logout_uri_is_an_error_page(
    op: Provider, browser: OPBrowser, uri: str
) -> None:
    client = await logout_client(op)
    front = await sign_in(browser, client)
    for params in (
        {"id_token_hint": front["id_token"], "post_logout_redirect_uri": uri},
        {"client_id": client.client_id, "post_logout_redirect_uri": uri},
    ):
        response = await browser.http.get("/logout", params=params)
        assert_page(response, 400)
        assert "not registered" in response.text
    await assert_signed_in(browser, client)


async def test_post_logout_uri_without_any_client_is_an_error_page(
    op: Provider, browser: OPBrowser
) -> None:
    client = await logout_client(op)
    await sign_in(browser, client)
    response = await browser.http.get("/logout", params={"post_logout_redirect_uri": BYE})
    assert_page(response, 400)
    await assert_signed_in(browser, client)


async def test_another_clients_post_logout_uri_is_refused(op: Provider, browser: OPBrowser) -> None:
    client = await logout_client(op)
    other = await register(op, post_logout_redirect_uris=[SINK])
    front = await sign_in(browser, client)
    response = await browser.http.get(
        "/logout", params={"id_token_hint": front["id_token"], "post_logout_redirect_uri": SINK}
    )
    assert_page(response, 400)
    response = await browser.http.get(
        "/logout",
        params={
            "id_token_hint": front["id_token"],
            "client_id": other.client_id,
            "post_logout_redirect_uri": SINK,
        },
    )
    assert_page(response, 400)  # client_id must be the hint's audience
    await assert_signed_in(browser, client)


async def test_native_loopback_post_logout_uri_may_change_port(
    op: Provider, browser: OPBrowser
) -> None:
    native = await register(
        op,
        application_type="native",
        token_endpoint_auth_method="none",
        redirect_uris=["http://127.0.0.1/cb"],
        response_types=["code"],
        grant_types=["authorization_code"],
        post_logout_redirect_uris=["http://127.0.0.1/bye"],
    )
    ok = await browser.http.get(
        "/logout",
        params={
            "client_id": native.client_id,
            "post_logout_redirect_uri": "http://127.0.0.1:5173/bye",
        },
    )
    done = await confirm(browser.http, ok)
    assert done.headers["location"] == "http://127.0.0.1:5173/bye"
    refused = await browser.http.get(
        "/logout",
        params={
            "client_id": native.client_id,
            "post_logout_redirect_uri": "http://localhost:5173/bye",
        },
    )
    assert_page(refused, 400)


# --- LOG-03: forged hints ---------------------------------------------------------------------


def foreign_key_token(claims: dict[str, Any], kid: str) -> str:
    key = jwk.JWK.generate(kty="RSA", size=2048)
    token = jwt.JWT(header={"alg": "RS256", "kid": kid}, claims=claims)
    token.make_signed_token(key)
    result: str = token.serialize()
    return result


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_forged_hints_never_log_out_or_redirect(op: Provider, browser: OPBrowser) -> None:
    client = await logout_client(op)
    front = await sign_in(browser, client)
    claims = claims_of(front["id_token"])
    header = json.loads(base64.urlsafe_b64decode(front["id_token"].split(".")[0] + "=="))
    keyring = await op.keys.keyring()
    our_key = keyring.signing_key("RS256")
    head, body, signature = front["id_token"].split(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    forged = {
        "foreign key": foreign_key_token(claims, header["kid"]),
        "alg none": f"{b64({'alg': 'none'})}.{b64(claims)}.",
        "alg none, two parts": f"{b64({'alg': 'none', 'kid': header['kid']})}.{b64(claims)}",
        "modified payload": f"{head}.{flipped}.{signature}",
        "modified claims, old signature": f"{head}.{b64({**claims, 'sub': 'bob'})}.{signature}",
        "other issuer (our key)": sign_jwt({**claims, "iss": "https://evil.example"}, our_key),
        "access token type (our key)": sign_jwt(claims, our_key, typ="at+jwt"),
        "logout token (our key)": sign_jwt(
            {**claims, "events": {"http://schemas.openid.net/event/backchannel-logout": {}}},
            our_key,
            typ=None,
        ),
        "HS256 with the public key": f"{b64({'alg': 'HS256'})}.{b64(claims)}.c2ln",
    }
    for name, hint in forged.items():
        response = await browser.http.get(
            "/logout", params={"id_token_hint": hint, "post_logout_redirect_uri": BYE, "state": "s"}
        )
        assert response.status_code == 400, name
        assert_page(response, 400)
        await assert_signed_in(browser, client)
    # Another client's valid ID Token with this client_id: aud ≠ client_id.
    other = await logout_client(op)
    response = await browser.http.get(
        "/logout",
        params={
            "id_token_hint": front["id_token"],
            "client_id": other.client_id,
            "post_logout_redirect_uri": BYE,
        },
    )
    assert_page(response, 400)
    await assert_signed_in(browser, client)


# --- LOG-04, LOG-05: no hint means the End-User confirms, on a CSRF-protected form --------------


async def test_redirect_without_hint_stops_at_confirmation(
    op: Provider, browser: OPBrowser
) -> None:
    client = await logout_client(op)
    await sign_in(browser, client)
    page = await browser.http.get(
        "/logout",
        params={"client_id": client.client_id, "post_logout_redirect_uri": BYE, "state": "z"},
    )
    fields = confirmation_form(page)
    assert fields["post_logout_redirect_uri"] == BYE
    assert "rp.example" in page.text  # where the End-User will be sent, said plainly
    # form-action allows the RP's origin: the confirm POST ends in a redirect there.
    assert "form-action 'self' https://rp.example" in page.headers["content-security-policy"]
    await assert_signed_in(browser, client)
    done = await confirm(browser.http, page)
    assert done.status_code == 303
    assert done.headers["location"] == f"{BYE}?state=z"
    await assert_signed_out(browser, client)


async def test_logout_requests_from_elsewhere_do_not_end_the_session(
    op: Provider, browser: OPBrowser
) -> None:
    client = await logout_client(op)
    await sign_in(browser, client)
    cross_site = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    # A GET from any page (an <img>, a link) and a cross-site POST only show the question.
    for response in (
        await browser.http.get("/logout", params={"client_id": client.client_id}),
        await browser.http.post(
            "/logout", data={"client_id": client.client_id}, headers=cross_site
        ),
    ):
        confirmation_form(response)
        await assert_signed_in(browser, client)

    page = await browser.http.get("/logout")
    fields = confirmation_form(page)
    cookie = page.headers.get_list("set-cookie")
    (csrf_cookie,) = [c for c in cookie if c.startswith("idgate_logout=")]
    lowered = csrf_cookie.lower()
    assert "samesite=strict" in lowered
    assert "httponly" in lowered
    assert "path=/logout" in lowered
    assert "secure" in lowered

    # The attacker's own form: a token of theirs, a token missing, the right token cross-site.
    attempts = [
        ({**fields, "csrf_token": "attacker", "decision": "logout"}, {}),
        ({k: v for k, v in fields.items() if k != "csrf_token"} | {"decision": "logout"}, {}),
        ({**fields, "decision": "logout"}, cross_site),
        ({**fields, "decision": "logout"}, {"Origin": "null"}),
        ({**fields, "decision": "logout"}, {"Sec-Fetch-Site": "same-site"}),
    ]
    for data, headers in attempts:
        response = await browser.http.post("/logout/confirm", data=data, headers=headers)
        assert_page(response, 403)
        await assert_signed_in(browser, client)
    # Without the cookie (a cross-site POST does not carry a SameSite=Strict cookie).
    async with asgi_client(create_app(op)) as stranger:
        stranger.cookies.set(
            "__Host-idgate_session", session_cookie(browser.http), domain="op.example"
        )
        response = await stranger.post("/logout/confirm", data={**fields, "decision": "logout"})
        assert_page(response, 403)
    await assert_signed_in(browser, client)

    done = await browser.http.post(
        "/logout/confirm",
        data={**fields, "decision": "logout"},
        headers={"Origin": TEST_ISSUER, "Sec-Fetch-Site": "same-origin"},
    )
    assert_page(done, 200)
    await assert_signed_out(browser, client)


async def test_the_confirmation_revalidates_what_it_carries(
    op: Provider, browser: OPBrowser
) -> None:
    client = await logout_client(op)
    await sign_in(browser, client)
    page = await browser.http.get("/logout", params={"client_id": client.client_id})
    fields = confirmation_form(page)
    response = await browser.http.post(
        "/logout/confirm",
        data={**fields, "post_logout_redirect_uri": SINK, "decision": "logout"},
    )
    assert_page(response, 400)
    await assert_signed_in(browser, client)


# --- LOG-06: an expired hint is fine while its session lives ----------------------------------


@pytest.fixture
async def clocked(database_url: str) -> AsyncIterator[tuple[Provider, OPBrowser, FrozenClock]]:
    clock = FrozenClock(int(time.time()))
    provider = await open_test_provider(database_url, clock=clock, id_token_ttl=60)
    await provider.accounts.add("alice", PASSWORD)
    try:
        async with asgi_client(create_app(provider)) as http:
            yield provider, OPBrowser(http), clock
    finally:
        await provider.close()


async def test_expired_hint_of_a_live_session_logs_out(clocked) -> None:  # type: ignore[no-untyped-def]
    provider, browser, clock = clocked
    client = await logout_client(provider)
    front = await sign_in(browser, client)
    clock.advance(3600)
    assert claims_of(front["id_token"])["exp"] < clock.now()
    response = await browser.http.get(
        "/logout",
        params={"id_token_hint": front["id_token"], "post_logout_redirect_uri": BYE, "state": "e"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{BYE}?state=e"
    await assert_signed_out(browser, client)


async def test_hint_of_a_session_no_longer_live_asks_first(clocked) -> None:  # type: ignore[no-untyped-def]
    provider, browser, clock = clocked
    client = await logout_client(provider)
    old = await sign_in(browser, client)
    old_rt = await _refresh_token(browser, client, old["code"])
    # A new login ends the old session; the old ID Token's sid is no longer live.
    await sign_in(browser, client, prompt="login")
    clock.advance(3600)
    response = await browser.http.get(
        "/logout",
        params={"id_token_hint": old["id_token"], "post_logout_redirect_uri": BYE},
    )
    confirmation_form(response)
    await assert_signed_in(browser, client)  # the current session is untouched …
    refreshed = await _refresh(browser, client, old_rt)
    assert refreshed.status_code == 200  # … and nothing was deleted silently


async def _refresh_token(browser: OPBrowser, client: RegisteredClient, code: str) -> str:
    response = await browser.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": client.redirect_uri,
        },
        auth=(client.client_id, client.client_secret or ""),
    )
    assert response.status_code == 200, response.text
    refresh: str = response.json()["refresh_token"]
    return refresh


async def _refresh(browser: OPBrowser, client: RegisteredClient, token: str) -> httpx.Response:
    return await browser.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        auth=(client.client_id, client.client_secret or ""),
    )


# --- LOG-08: refresh tokens of the session -----------------------------------------------------


async def test_logout_revokes_the_sessions_refresh_tokens_but_not_offline_ones(
    op: Provider, browser: OPBrowser
) -> None:
    online = await logout_client(op)
    offline = await logout_client(op)
    front = await sign_in(browser, online)
    online_rt = await _refresh_token(browser, online, front["code"])
    other = await sign_in(browser, offline, scope="openid offline_access", prompt="consent")
    offline_rt = await _refresh_token(browser, offline, other["code"])
    # Rotate once: the successor belongs to the session too.
    rotated = await _refresh(browser, online, online_rt)
    assert rotated.status_code == 200
    online_rt = rotated.json()["refresh_token"]

    response = await browser.http.get("/logout", params={"id_token_hint": front["id_token"]})
    assert_page(response, 200)
    refused = await _refresh(browser, online, online_rt)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    kept = await _refresh(browser, offline, offline_rt)
    assert kept.status_code == 200, kept.text


# --- LOG-11: the front-channel logout page -----------------------------------------------------


class _Frames(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.frames: list[str] = []
        self.scripts: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "iframe":
            self.frames.append(a.get("src") or "")
        elif tag == "script":
            self.scripts.append(a.get("nonce") or "")
        elif tag == "a":
            self.links.append(a.get("href") or "")


async def test_front_channel_iframes_one_per_rp_session(op: Provider, browser: OPBrowser) -> None:
    with_sid = await logout_client(
        op,
        frontchannel_logout_uri=f"{RP}/fc?tenant=a%20b",
        frontchannel_logout_session_required=True,
    )
    without_sid = await register(op, frontchannel_logout_uri="https://other-rp.example/fc")
    silent = await logout_client(op)  # no front-channel URI
    absent = await logout_client(op, frontchannel_logout_uri="https://absent.example/fc")
    front = await sign_in(browser, with_sid)
    await sign_in(browser, without_sid)
    await sign_in(browser, silent)
    assert absent  # registered, but never used in this session: no iframe
    sid = claims_of(front["id_token"])["sid"]

    response = await browser.http.get(
        "/logout",
        params={"id_token_hint": front["id_token"], "post_logout_redirect_uri": BYE, "state": "f"},
    )
    assert_page(response, 200)
    page = _Frames()
    page.feed(response.text)
    assert len(page.frames) == 2
    frames = sorted(page.frames, key=lambda url: urlsplit(url).netloc != "rp.example")
    first = urlsplit(frames[0])
    assert (first.scheme, first.netloc, first.path) == ("https", "rp.example", "/fc")
    assert parse_qsl(first.query) == [("tenant", "a b"), ("iss", TEST_ISSUER), ("sid", sid)]
    assert frames[1] == "https://other-rp.example/fc"  # neither iss nor sid
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert sorted(directives["frame-src"].split()) == [
        "https://other-rp.example",
        "https://rp.example",
    ]
    # Then on to the post-logout URI: a nonce'd script, and a link without JavaScript.
    assert page.links == [f"{BYE}?state=f"]
    (nonce,) = page.scripts
    assert directives["script-src"] == f"'nonce-{nonce}'"
    await assert_signed_out(browser, with_sid)

    # Once only: the session is over, a second logout shows no iframes.
    again = await browser.http.get("/logout", params={"id_token_hint": front["id_token"]})
    repeat = _Frames()
    repeat.feed(again.text)
    assert repeat.frames == []


async def test_uris_no_policy_can_name_still_work(op: Provider, browser: OPBrowser) -> None:
    odd = "https://rp_odd.example"  # an underscore: no CSP host-source can name it
    client = await register(
        op, frontchannel_logout_uri=f"{odd}/fc", post_logout_redirect_uris=[f"{odd}/bye"]
    )
    front = await sign_in(browser, client)
    response = await browser.http.get(
        "/logout",
        params={"id_token_hint": front["id_token"], "post_logout_redirect_uri": f"{odd}/bye"},
    )
    assert_page(response, 200)
    assert "frame-src https:" in response.headers["content-security-policy"]
    page = await browser.http.get(
        "/logout", params={"client_id": client.client_id, "post_logout_redirect_uri": f"{odd}/bye"}
    )
    assert_page(page, 200)
    assert "form-action 'self';" in page.headers["content-security-policy"]


# --- LOG-12: robustness -------------------------------------------------------------------------


async def test_garbage_never_breaks_the_endpoint(op: Provider, browser: OPBrowser) -> None:
    client = await logout_client(op)
    await sign_in(browser, client)
    huge = "e" * 60_000  # over every limit; httpx itself builds no URL over 64 KiB
    cases: list[dict[str, str]] = [
        {"id_token_hint": "garbage"},
        {"id_token_hint": "a.b.c"},
        {"id_token_hint": "...."},
        {"id_token_hint": "eyJhbGciOiJSUzI1NiJ9.e30.AAAA"},
        {"id_token_hint": "x" * 20_000},
        {"id_token_hint": huge},
        {"id_token_hint": "\u00e9\u2028\U0001f600.x.y"},
        {"client_id": "no-such-client"},
        {"client_id": "x" * 5000},
        {"client_id": "no-such-client", "post_logout_redirect_uri": BYE},
        {"post_logout_redirect_uri": "javascript:alert(1)", "client_id": client.client_id},
        {"state": "s" * 5000},
    ]
    for params in cases:
        for method in ("GET", "POST"):
            started = time.monotonic()
            if method == "GET":
                response = await browser.http.get("/logout", params=params)
            else:
                response = await browser.http.post("/logout", data=params)
            assert time.monotonic() - started < 1.0, (method, params)
            assert_page(response, 400)
    for params in ({"id_token_hint": "e" * 100_000}, {"state": "s" * 100_000}):
        assert_page(await browser.http.post("/logout", data=params), 400)
    raw_cases = [
        ("GET", "/logout?client_id=a&client_id=b", None, {}),
        ("GET", "/logout?id_token_hint=%ff%fe", None, {}),
        (
            "POST",
            "/logout",
            b"id_token_hint=%ff",
            {"Content-Type": "application/x-www-form-urlencoded"},
        ),
        ("POST", "/logout", b'{"id_token_hint": "x"}', {"Content-Type": "application/json"}),
        (
            "POST",
            "/logout/confirm",
            b"csrf_token=a&csrf_token=b",
            {"Content-Type": "application/x-www-form-urlencoded"},
        ),
    ]
    for method, url, body, headers in raw_cases:
        response = await browser.http.request(method, url, content=body, headers=headers)
        assert_page(response, 400)
    await assert_signed_in(browser, client)


async def test_discovery_lists_logout(http: httpx.AsyncClient) -> None:
    doc = (await http.get("/.well-known/openid-configuration")).json()
    assert doc["end_session_endpoint"] == f"{TEST_ISSUER}/logout"
    assert doc["frontchannel_logout_supported"] is True
    assert doc["frontchannel_logout_session_supported"] is True
    assert doc["backchannel_logout_supported"] is True
    assert doc["backchannel_logout_session_supported"] is True
    assert "sid" in doc["claims_supported"]


# --- LOG-11: registration refuses bad logout URIs ------------------------------------------------


@pytest.fixture
async def open_registration(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    provider = await open_test_provider(database_url, registration="open")
    try:
        async with asgi_client(create_app(provider)) as http:
            yield http
    finally:
        await provider.close()


@pytest.mark.parametrize(
    "uri",
    ["/logout", f"{RP}/logout#frag", "http://rp.example/logout", "ftp://rp.example/logout"],
)
@pytest.mark.parametrize("field", ["frontchannel_logout_uri", "backchannel_logout_uri"])
async def test_registration_refuses_bad_logout_uris(
    open_registration: httpx.AsyncClient, field: str, uri: str
) -> None:
    response = await open_registration.post(
        "/register", json={"redirect_uris": [f"{RP}/cb"], field: uri}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"


async def test_registration_keeps_logout_metadata(open_registration: httpx.AsyncClient) -> None:
    doc = {
        "redirect_uris": [f"{RP}/cb"],
        "post_logout_redirect_uris": [BYE],
        "frontchannel_logout_uri": f"{RP}/fc",
        "frontchannel_logout_session_required": True,
        "backchannel_logout_uri": f"{RP}/bc",
    }
    response = await open_registration.post("/register", json=doc)
    assert response.status_code == 201, response.text
    body = response.json()
    for name, value in doc.items():
        assert body[name] == value, name
    assert body["backchannel_logout_session_required"] is False
