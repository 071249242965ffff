"""The demo client app end to end, in-process: a scripted browser goes demo → OP login →
consent → the OP's form_post → the demo's callback → the result page with every step."""

from __future__ import annotations

import html as html_module
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from client_support import OP, PASSWORD  # type: ignore[import-not-found]

from idgate.client import ClientCredentials, RelyingParty
from idgate.client._browser import Browser, parse_forms
from idgate.client.demo import DEMO_CLIENT_ID, create_demo_app, demo_client_document
from idgate.client.demo.setup import obtain_credentials
from idgate.testing import TEST_ISSUER

pytestmark = pytest.mark.anyio

DEMO = "http://127.0.0.1:9090"


class Router(httpx.AsyncBaseTransport):
    """One browser, two sites: requests go to the app serving their host."""

    def __init__(self, routes: dict[str, httpx.AsyncBaseTransport]) -> None:
        self.routes = routes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.routes[request.url.netloc.decode()].handle_async_request(request)


async def _demo_client(op: OP) -> ClientCredentials:
    created = await op.provider.registration.register_trusted(
        demo_client_document(DEMO), client_id=DEMO_CLIENT_ID
    )
    return ClientCredentials(created.client.client_id, client_secret=created.client_secret)


@pytest.fixture
async def demo(op: OP) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    rp = RelyingParty(TEST_ISSUER, await _demo_client(op), http=op.rp_http)
    app = create_demo_app(rp, base_url=DEMO)
    router = Router(
        {
            "op.example": op.browser_http._transport,
            "127.0.0.1:9090": httpx.ASGITransport(app=app),
        }
    )
    async with httpx.AsyncClient(transport=router) as browser:
        yield app, browser


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:pre|ul|p)>', html, re.DOTALL)
    assert match is not None, element_id
    return html_module.unescape(re.sub(r"<[^>]+>", "", match.group(1)))


async def test_the_demo_end_to_end(demo: tuple[Any, httpx.AsyncClient]) -> None:
    app, browser = demo
    home = await browser.get(f"{DEMO}/")
    assert home.status_code == 200
    assert "Start the hybrid flow" in home.text

    # 1. The authorization request, shown with its parameters.
    start = await browser.post(f"{DEMO}/start")
    assert start.status_code == 200
    assert "idgate_demo" in start.cookies
    assert "<th>response_type</th><td><code>code id_token</code>" in start.text
    assert "<th>response_mode</th><td><code>form_post</code>" in start.text
    assert "<th>code_challenge_method</th><td><code>S256</code>" in start.text
    url = re.search(r'href="([^"]+)" id="go"', start.text)
    assert url is not None
    authorization_url = url.group(1).replace("&amp;", "&")
    assert authorization_url.startswith(f"{TEST_ISSUER}/authorize?")

    # 2. The OP's login and consent pages, then its form_post page aimed at /callback.
    scripted = Browser(browser)
    posted = await scripted.sign_in(
        authorization_url, f"{DEMO}/callback", username="alice", password=PASSWORD
    )
    assert scripted.steps == ["login", "consent"]
    assert posted.location == "form_post"
    callback = await browser.post(f"{DEMO}/callback", data=dict(posted.parameters))
    assert callback.status_code == 303, callback.text
    assert callback.headers["location"] == "/result"

    # 3. Every step on the result page.
    page = await browser.get(f"{DEMO}/result")
    assert page.status_code == 200
    html = page.text
    assert "c_hash ✓" in text_of(html, "c-hash")
    front_checks = text_of(html, "front-checks")
    for name in ("signature", "iss", "aud", "nonce", "c_hash"):
        assert name in front_checks
    front_claims = text_of(html, "front-claims")
    assert '"c_hash"' in front_claims
    assert '"nonce"' in front_claims
    assert "same End-User" in text_of(html, "token-checks")
    assert '"at_hash"' in text_of(html, "token-claims")
    assert "alice@example.com" in text_of(html, "userinfo-claims")
    assert "characters)" in html  # tokens are shortened ...
    (state,) = app.state.demo.sessions._states.values()
    assert state.tokens.access_token not in html  # ... never shown whole
    assert state.tokens.refresh_token not in html

    # 4. Refresh.
    refreshed = await browser.post(f"{DEMO}/refresh")
    assert refreshed.status_code == 303
    again = await browser.get(f"{DEMO}/result")
    assert "same authentication" in text_of(again.text, "refresh-checks")

    # 5. Logout: RP-Initiated Logout when the OP offers it, otherwise said plainly.
    metadata = (await browser.get(f"{TEST_ISSUER}/.well-known/openid-configuration")).json()
    logout = await browser.post(f"{DEMO}/logout")
    if "end_session_endpoint" in metadata:
        assert logout.status_code == 303
        assert logout.headers["location"].startswith(metadata["end_session_endpoint"])
        back = await Browser(browser).log_out(logout.headers["location"], f"{DEMO}/logged-out")
        assert back.startswith(f"{DEMO}/logged-out?")
        done = await browser.get(back)
        assert "Logged out" in done.text
        assert "state ✓" in done.text
        assert (await browser.get(f"{DEMO}/result")).status_code == 303  # session forgotten
    else:
        assert "not available yet" in text_of(html, "logout-note")
        assert logout.status_code == 200
        assert "Logout is not available yet" in logout.text


async def test_the_demo_refuses_a_tampered_response(demo: tuple[Any, httpx.AsyncClient]) -> None:
    _, browser = demo
    start = await browser.post(f"{DEMO}/start")
    url = re.search(r'href="([^"]+)" id="go"', start.text)
    assert url is not None
    posted = await Browser(browser).sign_in(
        url.group(1).replace("&amp;", "&"), f"{DEMO}/callback", username="alice", password=PASSWORD
    )
    forged = {**posted.parameters, "state": "not-the-one-sent"}
    refused = await browser.post(f"{DEMO}/callback", data=forged)
    assert refused.status_code == 400
    assert "StateMismatch" in refused.text
    assert "Check:" in refused.text


async def test_the_demo_callback_without_a_session(demo: tuple[Any, httpx.AsyncClient]) -> None:
    _, browser = demo
    response = await browser.post(f"{DEMO}/callback", data={"code": "x", "state": "y"})
    assert response.status_code == 400
    assert "No sign-in in progress" in response.text
    assert (await browser.get(f"{DEMO}/result")).status_code == 303


async def test_demo_credentials_in_order_of_preference(op: OP) -> None:
    given, how = await obtain_credentials(
        op.rp_http, TEST_ISSUER, DEMO, client_id="c1", client_secret="s1"
    )
    assert (given.client_id, how) == ("c1", "using the given client c1")

    async def local(document: dict[str, Any]) -> tuple[str, str | None]:
        created = await op.provider.registration.register_trusted(document)
        return created.client.client_id, created.client_secret

    registered, how = await obtain_credentials(
        op.rp_http, TEST_ISSUER, DEMO, register_locally=local
    )
    assert how.endswith("in the OP's database")
    stored = await op.provider.clients.get(registered.client_id)
    assert stored is not None
    assert stored.metadata.application_type == "native"
    assert stored.metadata.redirect_uris == (f"{DEMO}/callback",)

    from idgate.client import ConfigurationError

    with pytest.raises(ConfigurationError, match="no open dynamic registration"):
        await obtain_credentials(op.rp_http, TEST_ISSUER, DEMO)


def test_forms_parser_sees_the_demo_start_button() -> None:
    (form,) = parse_forms('<form method="post" action="/start"><button>Go</button></form>')
    assert (form.action, form.method) == ("/start", "post")
