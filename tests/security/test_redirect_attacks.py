"""SECURITY.md §3.1: redirect_uri and open redirects (RDR-01 … RDR-09)."""

from __future__ import annotations

import httpx
import pytest
from security_support import (  # type: ignore[import-not-found]
    ALL_TYPES,
    PASSWORD,
    RP,
    SINK,
    Browser,
    RegisteredClient,
    callback,
    code_request,
    is_page,
    register,
)

from idgate.provider import Provider

pytestmark = pytest.mark.anyio
MODES = ["query", "fragment", "form_post"]


async def test_unregistered_redirect_uri_gets_a_page(
    browser: Browser, c1: RegisteredClient
) -> None:
    # RDR-01: code sent to an unregistered redirect_uri, for every response type and mode.
    for response_type in ALL_TYPES:
        for mode in MODES:
            params = code_request(
                c1, redirect_uri=f"{SINK}/cb", response_type=response_type, response_mode=mode
            )
            response = await browser.authorize(**params, nonce="n")
            assert is_page(response), (response_type, mode)
            assert "<form" not in response.text


LOOK_ALIKES = [
    f"{RP}/CB",
    "https://RP.example/cb",
    f"{RP}/cb/",
    f"{RP}/cb/x",
    f"{RP}/cb/../x",
    f"{RP}/cb/%2e%2e/x",
    f"{RP}/%63b",
    "https://rp.example:443/cb",
    "http://rp.example/cb",
    "https://rp.example./cb",
    "https://rp.example@sink.example/cb",
    "https://sink.example#@rp.example/cb",
    "https://rp.example\\@sink.example/cb",
    "https://rp.example%2F@sink.example/cb",
    f"{RP}/cb#frag",
    f"{RP}/cb;x",
    f"{RP}/cb%00",
    "https://ｒｐ.example/cb",
    "https://xn--rp-example/cb",
]


async def test_look_alike_redirect_uris_get_a_page(browser: Browser, c1: RegisteredClient) -> None:
    # RDR-02: lax matching ("equal" to the matcher, elsewhere for the browser).
    for redirect_uri in LOOK_ALIKES:
        response = await browser.authorize(**code_request(c1, redirect_uri=redirect_uri))
        assert is_page(response), redirect_uri


async def test_query_added_or_changed_gets_a_page(browser: Browser, c1: RegisteredClient) -> None:
    # RDR-03: query added or changed; the exact registered query succeeds and keeps `a=1`.
    for redirect_uri in (
        f"{RP}/cb?foo=bar",
        f"{RP}/cbq?a=2",
        f"{RP}/cbq?a=1&b=2",
        f"{RP}/cbq?b=2&a=1",
    ):
        response = await browser.authorize(**code_request(c1, redirect_uri=redirect_uri))
        assert is_page(response), redirect_uri
    response = await browser.sign_in(**code_request(c1, redirect_uri=f"{RP}/cbq?a=1"))
    assert response.headers["location"].startswith(f"{RP}/cbq?a=1&")
    assert "code" in callback(response)


async def test_missing_redirect_uri_gets_a_page(browser: Browser, op: Provider) -> None:
    # RDR-04: missing redirect_uri, even with only one registered.
    single = await register(op, redirect_uris=[f"{RP}/cb"])
    params = code_request(single)
    del params["redirect_uri"]
    assert is_page(await browser.authorize(**params))


async def test_loopback_leniency_is_for_native_clients_and_the_port_only(
    browser: Browser, op: Provider
) -> None:
    # RDR-05: loopback leniency abused.
    native = await register(op, application_type="native", redirect_uris=["http://127.0.0.1/cb"])
    accepted = await browser.authorize(
        **code_request(native, redirect_uri="http://127.0.0.1:53211/cb")
    )
    assert accepted.headers["location"].startswith("/interaction/")
    for redirect_uri in (
        "http://127.0.0.1:53211/cb?x=1",
        "http://127.0.0.1:53211/other",
        "http://localhost:53211/cb",
        "http://[::1]:53211/cb",
        "https://127.0.0.1/cb",
    ):
        response = await browser.authorize(**code_request(native, redirect_uri=redirect_uri))
        assert is_page(response), redirect_uri
    web = await register(op, redirect_uris=[f"{RP}/cb"])
    assert is_page(await browser.authorize(**code_request(web, redirect_uri=f"{RP}:8443/cb")))


OTHER_FAULTS = [
    {"response_type": "bogus"},
    {"response_mode": "bogus"},
    {"prompt": "bogus none"},
    {"code_challenge": "x", "code_challenge_method": "plain"},
    {"request": "eyJhbGciOiJub25lIn0.e30."},
    {"scope": "profile", "response_type": "code id_token"},
    {"state": "s" * 5000},
]


async def test_no_redirect_before_the_client_and_redirect_uri_are_validated(
    browser: Browser, c1: RegisteredClient
) -> None:
    # RDR-06: another error used to get a redirect before client validation.
    for fault in OTHER_FAULTS:
        for target in ("unknown client", "no client", "sink"):
            params = code_request(c1, redirect_uri=f"{SINK}/cb", **fault)
            if target == "unknown client":
                params["client_id"] = "nobody"
            elif target == "no client":
                del params["client_id"]
            assert is_page(await browser.authorize(**params)), (fault, target)


async def test_duplicated_target_parameters_get_a_page(
    http: httpx.AsyncClient, c1: RegisteredClient
) -> None:
    # RDR-06: duplicates of client_id or redirect_uri are never trusted with a redirect.
    query = (
        f"client_id={c1.client_id}&redirect_uri={RP}/cb&redirect_uri={SINK}/cb"
        "&response_type=code&scope=openid"
    )
    assert is_page(await http.get(f"/authorize?{query}"))


OFF_ORIGIN = [
    f"{SINK}/",
    "//sink.example",
    "/\\sink.example",
    "https:sink.example",
    "javascript:alert(1)",
    "%2F%2Fsink.example",
]


async def test_op_pages_never_redirect_off_origin(browser: Browser, c1: RegisteredClient) -> None:
    # RDR-07: open redirector on OP pages (no next-style parameter is honoured anywhere).
    page = await browser.login_page(**code_request(c1))
    for target in OFF_ORIGIN:
        for name in ("next", "return_to", "continue"):
            response = await browser.http.get(page.url.path, params={name: target})
            assert "location" not in response.headers
            fields = {"username": "alice", "password": "x", name: target}
            assert "location" not in (await browser.submit(page, fields)).headers
        response = await browser.http.get(
            "/logout", params={"next": target, "post_logout_redirect_uri": target}
        )
        assert "location" not in response.headers


async def test_form_posts_are_answered_without_307_or_308(
    browser: Browser, c1: RegisteredClient
) -> None:
    # RDR-08: a 307/308 would make the browser re-POST the password to the client.
    page = await browser.login_page(**code_request(c1))
    wrong = await browser.submit(page, {"username": "alice", "password": "wrong"})
    right = await browser.submit(page, {"username": "alice", "password": PASSWORD})
    consent = await browser.submit(right, button="approve")
    logout = await browser.http.get("/logout")
    confirmed = await browser.submit(logout, button="logout")
    for response in (wrong, right, consent, confirmed):
        assert response.status_code in (200, 302, 303), response.status_code


async def test_form_post_carries_a_hostile_state_byte_exact(
    browser: Browser, c1: RegisteredClient
) -> None:
    # RDR-09: XSS or leaks via the form_post page.
    hostile = '"><script>alert(1)</script>&x=<img src=x>'
    response = await browser.sign_in(**code_request(c1, response_mode="form_post", state=hostile))
    assert "<script>alert" not in response.text
    assert callback(response)["state"] == hostile
    assert "no-store" in response.headers["cache-control"]
    policy = response.headers["content-security-policy"]
    assert "form-action https://rp.example" in policy
    assert "'unsafe-inline'" not in policy
