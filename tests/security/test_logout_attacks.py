"""SECURITY.md §3.12: logout (LOG-01 … LOG-08, LOG-12)."""

from __future__ import annotations

import base64

import httpx
import pytest
from jwcrypto import jwk, jwt
from security_support import (  # type: ignore[import-not-found]
    RP,
    SINK,
    Browser,
    RegisteredClient,
    callback,
    code_request,
    redirect_error,
    register,
)

from idgate.provider import Provider
from idgate.testing import parse_forms

pytestmark = pytest.mark.anyio


@pytest.fixture
async def rp(op: Provider) -> RegisteredClient:
    return await register(op, post_logout_redirect_uris=[f"{RP}/bye"])


async def hint(browser: Browser, client: RegisteredClient) -> str:
    params = code_request(client, response_type="id_token", nonce="n")
    return callback(await browser.sign_in(**params))["id_token"]


async def still_signed_in(browser: Browser, client: RegisteredClient) -> bool:
    response = await browser.authorize(**code_request(client, prompt="none"))
    return "code" in callback(response)


async def test_unregistered_or_lax_post_logout_uris_never_redirect(
    browser: Browser, rp: RegisteredClient
) -> None:
    # LOG-01 and LOG-02: unregistered or lax-matched post_logout_redirect_uri.
    for target in (f"{SINK}/x", f"{RP}/bye?x=1", f"{RP}/BYE", f"{RP}/bye/", f"{RP}:8443/bye"):
        id_token = await hint(browser, rp)
        response = await browser.http.get(
            "/logout", params={"id_token_hint": id_token, "post_logout_redirect_uri": target}
        )
        assert "location" not in response.headers, target
        assert "sink.example" not in response.text


async def test_forged_hints_never_log_out_silently(
    browser: Browser, rp: RegisteredClient, c2: RegisteredClient
) -> None:
    # LOG-03: forged id_token_hint (foreign key, alg none, other audience).
    genuine = await hint(browser, rp)
    _header, payload, _signature = genuine.split(".")
    foreign = jwk.JWK.generate(kty="RSA", size=2048)
    resigned = jwt.JWT(
        header={"alg": "RS256"},
        claims=base64.urlsafe_b64decode(payload + "==").decode(),
    )
    resigned.make_signed_token(foreign)
    none = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    for forged, client_id in (
        (str(resigned.serialize()), None),
        (f"{none}.{payload}.", None),
        (genuine, c2.client_id),  # aud != client_id
    ):
        params = {"id_token_hint": forged, "post_logout_redirect_uri": f"{RP}/bye"}
        if client_id:
            params["client_id"] = client_id
        response = await browser.http.get("/logout", params=params)
        assert "location" not in response.headers
        assert await still_signed_in(browser, rp)


async def test_no_silent_redirect_without_a_hint(browser: Browser, rp: RegisteredClient) -> None:
    # LOG-04: redirect without a hint stops at the confirmation page.
    await hint(browser, rp)
    response = await browser.http.get(
        "/logout", params={"client_id": rp.client_id, "post_logout_redirect_uri": f"{RP}/bye"}
    )
    assert response.status_code == 200
    assert "location" not in response.headers
    assert 'name="decision"' in response.text
    assert await still_signed_in(browser, rp)


async def test_cross_site_logout_posts_are_refused(browser: Browser, rp: RegisteredClient) -> None:
    # LOG-05: forced logout (CSRF), even with the page's own fields.
    await hint(browser, rp)
    page = await browser.http.get("/logout")
    for headers in ({"origin": SINK}, {"sec-fetch-site": "cross-site"}):
        (form,) = parse_forms(page.text)
        await browser.http.post(
            form.action, data={**form.fields, "decision": "logout"}, headers=headers
        )
        assert await still_signed_in(browser, rp)


async def test_state_and_combinations(browser: Browser, rp: RegisteredClient) -> None:
    # LOG-07: state echoed iff sent.
    for state in ("s1", None):
        params = {"id_token_hint": await hint(browser, rp), "post_logout_redirect_uri": f"{RP}/bye"}
        if state:
            params["state"] = state
        response = await browser.http.get("/logout", params=params)
        location = response.headers["location"]
        assert location.startswith(f"{RP}/bye")
        assert ("state=s1" in location) == (state is not None)


async def test_logout_sticks(
    browser: Browser, rp: RegisteredClient, http: httpx.AsyncClient
) -> None:
    # LOG-08: logout that does not stick (old cookie dead, refresh tokens revoked, repeatable).
    code = callback(await browser.sign_in(**code_request(rp)))["code"]
    tokens = (
        await http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": rp.redirect_uri,
            },
            auth=rp.basic,
        )
    ).json()
    old = browser.http.cookies.get("__Host-idgate_session")
    page = await browser.http.get("/logout")
    await browser.submit(page, button="logout")
    browser.http.cookies.set("__Host-idgate_session", old or "", domain="op.example")
    silent = await browser.authorize(**code_request(rp, prompt="none"))
    assert redirect_error(silent)["error"] == "login_required"
    if "refresh_token" in tokens:
        refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        assert (await http.post("/token", data=refresh, auth=rp.basic)).status_code == 400
    again = await browser.http.get("/logout")
    assert again.status_code == 200


async def test_huge_and_garbage_hints(browser: Browser, rp: RegisteredClient) -> None:
    # LOG-12: end_session robustness.
    for params in (
        {"id_token_hint": "x" * 60_000},
        {"id_token_hint": "a.b.c"},
        {"client_id": "nobody", "post_logout_redirect_uri": f"{RP}/bye"},
    ):
        for method in ("GET", "POST"):
            response = await (
                browser.http.get("/logout", params=params)
                if method == "GET"
                else browser.http.post("/logout", data=params)
            )
            assert response.status_code in (200, 400), (params.keys(), method)
            assert "location" not in response.headers
