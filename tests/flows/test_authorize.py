"""The authorization endpoint over HTTP through the real login and consent pages.

Every ID Token is checked with an independent JOSE library (jwcrypto) against the JWKS.
Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlsplit

import pytest
from flows_support import OPBrowser, callback, register, verify_id_token  # type: ignore[import-not-found]

from idgate.protocol.pkce import s256_challenge
from idgate.testing import TEST_ISSUER, parse_forms, response_params

pytestmark = pytest.mark.anyio

VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

ALL_TYPES_AND_MODES = [
    ("code", "query"),
    ("code", "fragment"),
    ("code", "form_post"),
    ("none", "query"),
    ("none", "form_post"),
    ("id_token", "fragment"),
    ("id_token", "form_post"),
    ("id_token token", "fragment"),
    ("id_token token", "form_post"),
    ("code id_token", "fragment"),
    ("code id_token", "form_post"),
    ("code token", "fragment"),
    ("code token", "form_post"),
    ("code id_token token", "fragment"),
    ("code id_token token", "form_post"),
]


def half_hash(value: str) -> str:
    digest = hashlib.sha256(value.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


async def test_code_flow_through_login_and_consent(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op)
    response = await browser.authorize(
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="code",
        scope="openid email",
        state="xyz",
        nonce="n-0S6",
        code_challenge=s256_challenge(VERIFIER),
        code_challenge_method="S256",
    )
    assert response.status_code == 303
    login_page = await browser.follow(response)
    assert login_page.status_code == 200
    assert "Test RP" in login_page.text
    assert login_page.headers["cache-control"] == "no-store"

    consent_page = await browser.login(login_page, "alice")
    assert consent_page.status_code == 200
    assert "See your email address" in consent_page.text
    assert browser.http.cookies.get("__Host-idgate_session")

    done = await browser.submit(consent_page, button="approve")
    assert done.status_code == 303
    location = done.headers["location"]
    assert location.startswith("https://rp.example/cb?")
    params = response_params(location)
    assert params["state"] == "xyz"
    assert params["iss"] == TEST_ISSUER
    assert len(params["code"]) >= 43  # at least 128 bits, base64url
    assert "id_token" not in params
    assert "access_token" not in params
    assert done.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(("response_type", "mode"), ALL_TYPES_AND_MODES)
async def test_every_response_type_and_mode(op, browser: OPBrowser, response_type, mode) -> None:  # type: ignore[no-untyped-def]
    client = await register(op)  # not first-party: the login and the consent page both show
    params = await browser.sign_in(
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type=response_type,
        response_mode=mode,
        scope="openid email profile",
        state="st@te =&#",
        nonce="nonce-123",
        code_challenge=s256_challenge(VERIFIER),
        code_challenge_method="S256",
    )
    assert browser.seen == ["login", "consent"]
    words = set(response_type.split())
    assert params["state"] == "st@te =&#"
    assert params["iss"] == TEST_ISSUER
    assert ("code" in params) == ("code" in words)
    assert ("access_token" in params) == ("token" in words)
    assert ("id_token" in params) == ("id_token" in words)
    if "token" in words:
        assert params["token_type"] == "Bearer"
        assert int(params["expires_in"]) > 0
    if "id_token" in words:
        claims = await verify_id_token(browser.http, params["id_token"], client.client_id)
        assert claims["nonce"] == "nonce-123"
        assert claims["azp"] == client.client_id
        assert isinstance(claims["auth_time"], int)
        assert claims["sid"]
        assert claims["acr"]
        assert claims["amr"] == ["pwd"]
        assert claims["exp"] > claims["iat"]
        assert claims.get("c_hash") == (half_hash(params["code"]) if "code" in words else None)
        assert claims["s_hash"] == half_hash("st@te =&#")
        assert claims.get("at_hash") == (
            half_hash(params["access_token"]) if "token" in words else None
        )
        # Claims travel in the ID Token only when no access token is issued (Core §5.4).
        if response_type == "id_token":
            assert claims["email"] == "alice@example.com"
            assert claims["name"] == "Alice"
        else:
            assert "email" not in claims


async def test_query_mode_is_refused_for_token_types(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, first_party=True)
    await browser.sign_in(
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="code",
        scope="openid",
        nonce="n",
        code_challenge=s256_challenge(VERIFIER),
        code_challenge_method="S256",
    )
    response = await browser.authorize(
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="code id_token",
        response_mode="query",
        scope="openid",
        nonce="n",
        state="s1",
    )
    location = response.headers["location"]
    assert "#" in location  # the error goes back in the fragment, the default for this type
    params = response_params(location)
    assert params == {
        "error": "invalid_request",
        "error_description": params["error_description"],
        "state": "s1",
        "iss": TEST_ISSUER,
    }


async def test_post_authorization_request(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, first_party=True)
    response = await browser.authorize(
        "POST",
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="code id_token",
        scope="openid",
        nonce="n",
        state="post",
    )
    assert response.status_code == 303
    page = await browser.follow(response)
    params = callback(await browser.login(page, "alice"))
    assert params["state"] == "post"
    assert params["code"]
    assert params["id_token"]


async def test_form_post_page(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, first_party=True)
    await browser.sign_in(
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="id_token",
        scope="openid",
        nonce="n",
    )
    response = await browser.authorize(
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="code id_token",
        response_mode="form_post",
        scope="openid",
        nonce="n",
        state='"><script>alert(1)</script>',
    )
    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("no-store")
    assert "<script>alert(1)" not in response.text
    (form,) = parse_forms(response.text)
    assert form.action == client.redirect_uri
    assert form.method.lower() == "post"
    assert form.fields["state"] == '"><script>alert(1)</script>'
    csp = response.headers["content-security-policy"]
    assert "form-action https://rp.example" in csp


async def test_redirect_uri_with_query_keeps_it(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, first_party=True)
    response = await browser.authorize(
        client_id=client.client_id,
        redirect_uri="https://rp.example/cbq?a=1",
        response_type="code",
        scope="openid",
        state="q",
        code_challenge=s256_challenge(VERIFIER),
        code_challenge_method="S256",
    )
    page = await browser.follow(response)
    done = await browser.login(page, "alice")
    location = done.headers["location"]
    assert location.startswith("https://rp.example/cbq?a=1&code=")


async def test_consent_is_remembered(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op)
    request = {
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "response_type": "code id_token",
        "scope": "openid email",
        "nonce": "n",
    }
    assert "code" in await browser.sign_in(**request)
    again = await browser.authorize(**request)
    assert again.status_code == 303
    assert again.headers["location"].startswith("https://rp.example/cb#")
    # A wider scope asks again.
    wider = await browser.authorize(**{**request, "scope": "openid email phone"})
    consent_page = await browser.follow(wider)
    assert "See your phone number" in consent_page.text


async def test_deny_gives_access_denied(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op)
    response = await browser.authorize(
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="code id_token",
        scope="openid",
        nonce="n",
        state="d",
    )
    consent_page = await browser.login(await browser.follow(response), "alice")
    denied = await browser.submit(consent_page, button="deny")
    params = response_params(denied.headers["location"])
    assert params["error"] == "access_denied"
    assert params["state"] == "d"
    assert params["iss"] == TEST_ISSUER
    assert "code" not in params


async def test_cancel_at_login_gives_access_denied(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op)
    response = await browser.authorize(
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="code",
        scope="openid",
        state="c",
        code_challenge=s256_challenge(VERIFIER),
        code_challenge_method="S256",
    )
    page = await browser.follow(response)
    cancel_form = next(f for f in parse_forms(page.text) if f.action.endswith("/cancel"))
    cancelled = await browser.http.post(cancel_form.action, data=cancel_form.fields)
    assert response_params(cancelled.headers["location"])["error"] == "access_denied"


async def test_prompt_none(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op)
    request = {
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "response_type": "code id_token",
        "scope": "openid",
        "nonce": "n",
        "state": "pn",
    }
    no_session = await browser.authorize(**request, prompt="none")
    assert response_params(no_session.headers["location"])["error"] == "login_required"
    # Logged in but never consented: consent_required, no page.
    login_only = await browser.authorize(**request)
    page = await browser.login(await browser.follow(login_only), "alice")
    assert "decision" in page.text
    no_consent = await browser.authorize(**request, prompt="none")
    assert response_params(no_consent.headers["location"])["error"] == "consent_required"
    await browser.submit(page, button="approve")
    silent = await browser.authorize(**request, prompt="none")
    params = response_params(silent.headers["location"])
    assert params["code"]
    assert params["id_token"]


async def test_prompt_login_and_max_age_force_login(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, first_party=True)
    request = {
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "response_type": "id_token",
        "scope": "openid",
        "nonce": "n",
    }
    first = await browser.sign_in(**request)
    first_claims = await verify_id_token(browser.http, first["id_token"], client.client_id)
    cookie_before = browser.http.cookies.get("__Host-idgate_session")
    for extra in ({"prompt": "login"}, {"max_age": "0"}):
        response = await browser.authorize(**request, **extra)
        assert response.headers["location"].startswith("/interaction/")
        page = await browser.follow(response)
        assert 'name="password"' in page.text
        params = callback(await browser.login(page, "alice"))
        claims = await verify_id_token(browser.http, params["id_token"], client.client_id)
        assert claims["sub"] == first_claims["sub"]
        assert claims["auth_time"] >= first_claims["auth_time"]
        # A new session id on every login: no session fixation.
        assert browser.http.cookies.get("__Host-idgate_session") != cookie_before
        cookie_before = browser.http.cookies.get("__Host-idgate_session")


async def test_id_token_hint_for_another_user(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, first_party=True)
    request = {
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "response_type": "id_token",
        "scope": "openid",
        "nonce": "n",
    }
    bobs = await browser.sign_in("bob", **request)
    # Alice logs in on the same browser; bob's ID Token as hint with prompt=none must fail.
    response = await browser.authorize(**request, prompt="login")
    await browser.login(await browser.follow(response), "alice")
    hinted = await browser.authorize(**request, prompt="none", id_token_hint=bobs["id_token"])
    assert response_params(hinted.headers["location"])["error"] == "login_required"
    forged = await browser.authorize(**request, prompt="none", id_token_hint="e30.e30.")
    assert response_params(forged.headers["location"])["error"] == "invalid_request"


async def test_wrong_password_is_generic_and_rate_limited(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op)
    response = await browser.authorize(
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="id_token",
        scope="openid",
        nonce="n",
    )
    page = await browser.follow(response)
    wrong = await browser.login(page, "alice", "nope")
    unknown = await browser.login(page, "mallory", "nope")
    assert "The username or password is incorrect." in wrong.text
    assert "The username or password is incorrect." in unknown.text
    assert 'role="alert"' in wrong.text
    for _ in range(op.settings.login_max_failures):
        await browser.login(page, "alice", "nope")
    locked = await browser.login(page, "alice")  # even the right password, while locked out
    assert "Too many failed attempts" in locked.text
    assert "__Host-idgate_session" not in browser.http.cookies


async def test_login_form_is_bound_to_browser_and_csrf(op, browser: OPBrowser, http) -> None:  # type: ignore[no-untyped-def]
    client = await register(op)
    response = await browser.authorize(
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="id_token",
        scope="openid",
        nonce="n",
    )
    page = await browser.follow(response)
    (form, *_) = parse_forms(page.text)
    bad_csrf = await browser.http.post(
        form.action, data={**form.fields, "csrf_token": "x", "username": "alice", "password": "p"}
    )
    assert bad_csrf.status_code == 403
    # Another browser (no cookie binding) posting the same form: an error page, no session.
    from idgate.testing import asgi_client
    from idgate.web.app import create_app

    async with asgi_client(create_app(op)) as other:
        stolen = await other.post(
            form.action, data={**form.fields, "username": "alice", "password": "x"}
        )
        assert stolen.status_code == 400
        assert "__Host-idgate_session" not in other.cookies


@pytest.mark.parametrize(
    "params",
    [
        {"client_id": "unknown", "redirect_uri": "https://rp.example/cb"},
        {"redirect_uri": "https://rp.example/cb"},
        {"client_id": "CLIENT", "redirect_uri": "https://evil.example/cb"},
        {"client_id": "CLIENT", "redirect_uri": "https://rp.example/cb/"},
        {"client_id": "CLIENT", "redirect_uri": "https://rp.example/cb?x=1"},
        {"client_id": "CLIENT"},
    ],
)
async def test_untrusted_client_or_redirect_gets_a_page(op, browser: OPBrowser, params) -> None:  # type: ignore[no-untyped-def]
    client = await register(op)
    params = {k: v.replace("CLIENT", client.client_id) for k, v in params.items()}
    response = await browser.authorize(
        **params, response_type="code", scope="openid", state="s", prompt="bogus"
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")


async def test_repeated_parameters(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op)
    base = (
        f"/authorize?client_id={client.client_id}&redirect_uri=https%3A%2F%2Frp.example%2Fcb"
        "&response_type=code&scope=openid&state=r"
    )
    repeated_scope = await browser.http.get(base + "&scope=email")
    params = response_params(repeated_scope.headers["location"])
    assert params["error"] == "invalid_request"
    assert params["state"] == "r"
    repeated_client = await browser.http.get(base + f"&client_id={client.client_id}")
    assert repeated_client.status_code == 400
    assert "location" not in repeated_client.headers


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"request": "eyJ"}, "invalid_request_object"),
        ({"request_uri": "https://rp.example/r"}, "invalid_request_uri"),  # not registered
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code", "scope": "email"}, None),
        ({"response_type": "id_token", "scope": "email"}, "invalid_scope"),
        ({"response_type": "id_token", "nonce": ""}, "invalid_request"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"code_challenge_method": "plain", "code_challenge": "a" * 43}, "invalid_request"),
        ({"response_mode": "bogus"}, "invalid_request"),
        ({"claims": "not json"}, "invalid_request"),
    ],
)
async def test_request_errors_are_redirected(op, browser: OPBrowser, extra, error) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, first_party=True, response_types=["code", "id_token"])
    params = {
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "response_type": "code",
        "scope": "openid",
        "state": "e",
        "nonce": "n",
        "code_challenge": s256_challenge(VERIFIER),
        "code_challenge_method": "S256",
        **extra,
    }
    response = await browser.authorize(**{k: v for k, v in params.items() if v != ""})
    assert response.status_code == 303
    location = response.headers["location"]
    if error is None:  # plain OAuth 2.0 (no openid) is allowed: it goes on to the login page
        assert location.startswith("/interaction/")
        return
    assert urlsplit(location).netloc == "rp.example"
    result = response_params(location)
    assert result["error"] == error
    assert result["state"] == "e"
    assert result["iss"] == TEST_ISSUER


async def test_unregistered_response_type_is_unauthorized_client(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, response_types=["code"], grant_types=["authorization_code"])
    response = await browser.authorize(
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="code id_token",
        scope="openid",
        nonce="n",
    )
    assert response_params(response.headers["location"])["error"] == "unauthorized_client"


async def test_discovery_lists_the_authorization_endpoint(http) -> None:  # type: ignore[no-untyped-def]
    doc = (await http.get("/.well-known/openid-configuration")).json()
    assert doc["authorization_endpoint"] == f"{TEST_ISSUER}/authorize"
    assert set(doc["response_types_supported"]) == {
        "code",
        "id_token",
        "id_token token",
        "code id_token",
        "code token",
        "code id_token token",
        "none",
    }
    assert doc["response_modes_supported"] == ["query", "fragment", "form_post"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    # Request objects by reference are built (docs/registration.md, test_request_objects.py).
    assert doc["request_uri_parameter_supported"] is True
