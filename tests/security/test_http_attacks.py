"""SECURITY.md §3.9: HTTP and parser hygiene (HTTP-01 … HTTP-10)."""

from __future__ import annotations

import json

import httpx
import pytest
from security_support import (  # type: ignore[import-not-found]
    SINK,
    Browser,
    RegisteredClient,
    code_request,
    is_page,
    redirect_error,
)

pytestmark = pytest.mark.anyio

POST_ONLY = ["/token", "/revoke", "/introspect", "/register"]


async def test_wrong_methods_get_405_with_allow(http: httpx.AsyncClient) -> None:
    # HTTP-01: wrong methods processed.
    for path in POST_ONLY:
        for method in ("GET", "PUT", "DELETE", "PATCH"):
            response = await http.request(method, path)
            assert response.status_code == 405, (method, path)
            assert "POST" in response.headers["allow"]
            assert response.json()["error"]
    for path in ("/authorize", "/userinfo", "/logout"):
        response = await http.request("PUT", path)
        assert response.status_code == 405
        assert {"GET", "POST"} <= set(response.headers["allow"].replace(" ", "").split(","))
    for path in ("/.well-known/openid-configuration", "/jwks"):
        assert (await http.post(path)).status_code == 405
        assert (await http.head(path)).status_code == 200


async def test_no_cors_with_credentials(http: httpx.AsyncClient) -> None:
    # HTTP-02: CORS on the wrong endpoints.
    origin = {"Origin": SINK, "Access-Control-Request-Method": "POST"}
    for path in ("/authorize", "/interaction/x", "/logout", "/introspect", "/register"):
        response = await http.options(path, headers=origin)
        assert "access-control-allow-origin" not in response.headers, path
    for path in ("/token", "/userinfo", "/jwks"):
        response = await http.options(path, headers=origin)
        assert response.headers.get("access-control-allow-origin") in ("*", None)
        assert "access-control-allow-credentials" not in response.headers


async def test_wrong_content_types(http: httpx.AsyncClient, c1: RegisteredClient) -> None:
    # HTTP-03: wrong content types.
    body = "grant_type=client_credentials"
    for headers in ({"content-type": "application/json"}, {}, {"content-type": "text/plain"}):
        for path in ("/token", "/revoke", "/introspect"):
            response = await http.post(path, content=body, headers=headers, auth=c1.basic)
            assert response.status_code == 400, (path, headers)
            assert response.json()["error"] == "invalid_request"
    charset = {"content-type": "application/x-www-form-urlencoded; charset=UTF-8"}
    response = await http.post("/token", content=body, headers=charset, auth=c1.basic)
    assert response.json()["error"] != "invalid_request"
    form = await http.post("/register", data={"redirect_uris": "https://rp.example/cb"})
    assert form.status_code in (400, 404, 415)


async def test_duplicate_parameters(
    http: httpx.AsyncClient, browser: Browser, c1: RegisteredClient
) -> None:
    # HTTP-04: duplicate and empty parameters.
    base = f"client_id={c1.client_id}&redirect_uri={c1.redirect_uri}&response_type=code"
    for method in ("GET", "POST"):
        for extra, paged in (
            (f"&client_id={c1.client_id}", True),
            ("&scope=openid&scope=openid", False),
            ("&scope=openid&state=a&state=b", False),
        ):
            query = base + extra
            response = await (
                http.get(f"/authorize?{query}")
                if method == "GET"
                else http.post(
                    "/authorize",
                    content=query,
                    headers={"content-type": "application/x-www-form-urlencoded"},
                )
            )
            if paged:
                assert is_page(response), (method, extra)
            else:
                assert redirect_error(response)["error"] == "invalid_request", (method, extra)
    repeated = await http.post(
        "/token",
        content="grant_type=client_credentials&grant_type=client_credentials",
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=c1.basic,
    )
    assert repeated.json()["error"] == "invalid_request"
    both = await http.post(
        "/token?grant_type=client_credentials", data={"grant_type": "x"}, auth=c1.basic
    )
    assert both.status_code == 400
    empty = await browser.authorize(**code_request(c1, state="", nonce=""))
    assert empty.headers["location"].startswith("/interaction/")


async def test_oversized_input_is_refused_quickly(
    http: httpx.AsyncClient, browser: Browser, c1: RegisteredClient
) -> None:
    # HTTP-05: oversized input (URL, body, parameter count, JSON depth, over-cap values).
    huge_url = await http.get("/authorize?" + "a=" + "x" * 17_000)
    assert is_page(huge_url)
    for path in ("/token", "/revoke", "/introspect", "/logout"):
        response = await http.post(path, data={"x": "y" * 1_000_000}, auth=c1.basic)
        assert response.status_code in (400, 413), path
    many = "&".join(f"p{i}=1" for i in range(1_000))
    response = await http.post(
        "/token", content=many, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 400
    assert "too many parameters" in response.json()["error_description"]
    deep = "[" * 10_000 + "]" * 10_000
    response = await http.post(
        "/register", content=deep, headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 404)
    uris = json.dumps({"redirect_uris": [f"https://rp.example/{i}" for i in range(10_000)]})
    response = await http.post(
        "/register", content=uris, headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 404)
    for name, size in (("state", 2049), ("nonce", 2049), ("login_hint", 5000)):
        params = code_request(c1, **{name: "x" * size})
        response = await browser.authorize(**params)
        error = redirect_error(response)
        assert error["error"] == "invalid_request", name
        assert error.get("state", "") in ("", "x" * size) or name != "state"


async def test_malformed_bodies(http: httpx.AsyncClient, c1: RegisteredClient) -> None:
    # HTTP-06: malformed bodies (bad JSON, %ZZ, lone %, invalid UTF-8).
    form = {"content-type": "application/x-www-form-urlencoded"}
    for body in (b"%ZZ", b"%", b"grant_type=\xff\xfe", b"a=%C0%AF", b"\x00=\x00"):
        response = await http.post("/token", content=body, headers=form, auth=c1.basic)
        assert response.status_code in (400, 401), body
    as_json = {"content-type": "application/json"}
    for doc in (b"{", b"[]", b'"x"', b'{"a":1,"a":2}', b"\xff"):
        response = await http.post("/register", content=doc, headers=as_json)
        assert response.status_code in (400, 404), doc


async def test_nul_and_unicode_tricks(
    http: httpx.AsyncClient, browser: Browser, c1: RegisteredClient
) -> None:
    # HTTP-07: NUL, Unicode, control characters (never a truncated or normalised match).
    for client_id in (f"{c1.client_id}%00x", f"{c1.client_id}%00", f"{c1.client_id.upper()}"):
        query = f"client_id={client_id}&redirect_uri={c1.redirect_uri}&response_type=code"
        assert is_page(await http.get(f"/authorize?{query}")), client_id
    for redirect_uri in (
        "https://rp.example/cb%ED%A0%80",
        "https://[::1%25eth0]/cb",
        "https://[v1.x]/cb",
        "https://rp.example/\u202ecb",
    ):
        assert is_page(await browser.authorize(**code_request(c1, redirect_uri=redirect_uri)))
    nul = await http.post(
        "/token",
        content=f"grant_type=client_credentials&client_id={c1.client_id}%00",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert nul.status_code == 400


async def test_host_and_forwarded_headers_change_nothing(
    http: httpx.AsyncClient, browser: Browser, c1: RegisteredClient
) -> None:
    # HTTP-08: Host / forwarded-header injection.
    clean = (await http.get("/.well-known/openid-configuration")).text
    forged = {
        "host": "sink.example",
        "x-forwarded-host": "sink.example",
        "x-forwarded-proto": "http",
    }
    assert (await http.get("/.well-known/openid-configuration", headers=forged)).text == clean
    response = await http.get("/authorize", params=code_request(c1), headers=forged)
    assert "sink.example" not in response.headers.get("location", "")


async def test_errors_reveal_no_internals(http: httpx.AsyncClient) -> None:
    # HTTP-10: information leaks in errors (the hook checks G2 on every answer).
    for path in ("/nope", "/interaction/../../etc/passwd", "/static/../app.py", "/debug"):
        response = await http.get(path)
        assert response.status_code in (400, 404), path
