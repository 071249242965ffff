"""The demo client: a small Starlette app on idgate.client that shows the hybrid flow step by step.

Routes: ``GET /`` (start page) → ``POST /start`` (shows the authorization request, with a link
to the OP) → the OP's login and consent pages → ``POST /callback`` (the OP's form_post: the
code and ID Token are checked, the code redeemed, UserInfo called) → ``GET /result`` (every
step, with the decoded claims and each check) → ``POST /refresh``, ``POST /logout``.

Why ``response_mode=form_post``: with ``code id_token`` the default mode is the fragment,
which only the browser sees, so the demo would need a page script that reads
``location.hash`` and posts it back. form_post has the OP's page post the parameters
straight to ``/callback``: nothing to write in JavaScript, and the code and ID Token stay out
of URLs, browser history and Referer headers (Form Post Response Mode §2).

Why server-side sessions: the pending request's ``state``, ``nonce`` and PKCE
``code_verifier``, and later the tokens, live in this process's memory under a random,
HttpOnly cookie. Nothing secret reaches the browser (a signed cookie would hand the
``code_verifier`` and tokens to it, readable though not forgeable), and a restart simply
forgets every sign-in. It suits a one-process demo; an application with several processes
would keep the same values in its own database or an encrypted cookie.

The cookie is ``SameSite=Lax`` over http: the OP's form_post page is on 127.0.0.1 too, the
same site, so the browser sends the cookie with its POST. Over https the cookie is
``SameSite=None; Secure``, since an OP on another site makes that POST cross-site, where a
Lax cookie is left out.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from idgate.client.callback import AuthorizationResponse
from idgate.client.errors import (
    ClientError,
    EndpointNotAvailable,
    MalformedAuthorizationResponse,
)
from idgate.client.requests import AuthorizationRequest
from idgate.client.rp import AuthorizationResult, RelyingParty, TokenSet, UserInfo

__all__ = ["SCOPE", "DemoSessions", "create_demo_app"]

TEMPLATE_DIR: Final = Path(__file__).parent / "templates"
COOKIE: Final = "idgate_demo"
SCOPE: Final = "openid profile email"
_SESSION_TTL: Final = 3600
_MAX_SESSIONS: Final = 1000
_NO_STORE: Final = {"Cache-Control": "no-store"}
_MAX_FORM_BYTES: Final = 64 * 1024


@dataclass
class DemoState:
    """One browser's walk through the flow. Kept in server memory only."""

    created: float
    request: AuthorizationRequest | None = None
    result: AuthorizationResult | None = None
    tokens: TokenSet | None = None
    userinfo: UserInfo | None = None
    userinfo_note: str | None = None
    refreshed: TokenSet | None = None
    logout_state: str | None = None
    history: list[str] = field(default_factory=list)


class DemoSessions:
    """Server-side sessions keyed by a random cookie value; bounded in number and age."""

    def __init__(self) -> None:
        self._states: dict[str, DemoState] = {}

    def get(self, key: str | None) -> DemoState | None:
        state = self._states.get(key) if key else None
        if state is not None and time.monotonic() - state.created > _SESSION_TTL:
            self._states.pop(key or "", None)
            return None
        return state

    def new(self) -> tuple[str, DemoState]:
        if len(self._states) >= _MAX_SESSIONS:
            self._states.pop(next(iter(self._states)))
        key = secrets.token_urlsafe(32)
        state = DemoState(created=time.monotonic())
        self._states[key] = state
        return key, state

    def drop(self, key: str | None) -> None:
        self._states.pop(key or "", None)


def short(value: str | None, keep: int = 10) -> str:
    """A token shortened for display: its start and end, and its length."""
    if value is None:
        return "–"
    if len(value) <= 2 * keep + 3:
        return value
    return f"{value[:keep]}…{value[-6:]} ({len(value)} characters)"


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


class _Demo:
    def __init__(self, rp: RelyingParty, base_url: str) -> None:
        self.rp = rp
        self.base_url = base_url.rstrip("/")
        self.sessions = DemoSessions()
        self.secure = self.base_url.startswith("https://")
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATE_DIR),
            autoescape=select_autoescape(("html",), default=True),
        )
        self.env.filters["short"] = short
        self.env.filters["pretty"] = pretty

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/callback"

    def page(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(
            issuer=self.rp.issuer, client_id=self.rp.client.client_id, **context
        )
        return HTMLResponse(html, status_code=status, headers=_NO_STORE)

    def error(self, exc: ClientError, *, step: str, status: int = 400) -> HTMLResponse:
        return self.page(
            "error.html",
            status,
            step=step,
            kind=type(exc).__name__,
            message=exc.message,
            hint=exc.hint,
        )

    def state_of(self, request: Request) -> DemoState | None:
        return self.sessions.get(request.cookies.get(COOKIE))

    def set_cookie(self, response: Response, key: str) -> None:
        response.set_cookie(
            COOKIE,
            key,
            max_age=_SESSION_TTL,
            httponly=True,
            secure=self.secure,
            samesite="none" if self.secure else "lax",
        )

    # --- routes -------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        try:
            metadata = await self.rp.provider_metadata()
        except ClientError as exc:
            return self.error(exc, step="discovery", status=502)
        return self.page("home.html", metadata=metadata, state=self.state_of(request))

    async def start(self, request: Request) -> Response:
        try:
            auth = await self.rp.authorization_request(
                redirect_uri=self.redirect_uri,
                response_type="code id_token",
                response_mode="form_post",
                scope=SCOPE,
            )
        except ClientError as exc:
            return self.error(exc, step="the authorization request", status=502)
        self.sessions.drop(request.cookies.get(COOKIE))
        key, state = self.sessions.new()
        state.request = auth
        response = self.page("request.html", auth=auth)
        self.set_cookie(response, key)
        return response

    async def callback(self, request: Request) -> Response:
        state = self.state_of(request)
        if state is None or state.request is None:
            return self.page(
                "message.html",
                400,
                title="No sign-in in progress",
                message="This browser has no pending request (the demo restarted, or the "
                "cookie was lost). Start again.",
            )
        session = state.request.session
        try:
            response = await _authorization_response(request)
            state.result = await self.rp.handle_authorization_response(session, response)
        except ClientError as exc:
            return self.error(exc, step="the authorization response")
        try:
            state.tokens = await self.rp.exchange_code(session, state.result)
        except ClientError as exc:
            return self.error(exc, step="the token request")
        assert state.tokens.id_token is not None
        try:
            state.userinfo = await self.rp.userinfo(
                state.tokens.access_token, id_token=state.tokens.id_token
            )
        except EndpointNotAvailable:
            state.userinfo_note = "The OP has no UserInfo endpoint."
        except ClientError as exc:
            state.userinfo_note = f"{type(exc).__name__}: {exc}"
        return RedirectResponse("/result", status_code=303, headers=_NO_STORE)

    async def result(self, request: Request) -> Response:
        state = self.state_of(request)
        if state is None or state.tokens is None:
            return RedirectResponse("/", status_code=303)
        metadata = await self.rp.provider_metadata()
        return self.page("result.html", s=state, metadata=metadata)

    async def refresh(self, request: Request) -> Response:
        state = self.state_of(request)
        if state is None or state.tokens is None:
            return RedirectResponse("/", status_code=303)
        current = state.refreshed or state.tokens
        if current.refresh_token is None:
            return self.page(
                "message.html", 400, title="No refresh token", message="None was issued."
            )
        try:
            state.refreshed = await self.rp.refresh(
                current.refresh_token, id_token=state.tokens.id_token
            )
        except ClientError as exc:
            return self.error(exc, step="the refresh")
        return RedirectResponse("/result#refresh", status_code=303, headers=_NO_STORE)

    async def logout(self, request: Request) -> Response:
        state = self.state_of(request)
        if state is None or state.tokens is None or state.tokens.id_token is None:
            return RedirectResponse("/", status_code=303)
        state.logout_state = secrets.token_urlsafe(16)
        try:
            url = await self.rp.end_session_url(
                id_token_hint=state.tokens.id_token.raw,
                post_logout_redirect_uri=f"{self.base_url}/logged-out",
                state=state.logout_state,
            )
        except EndpointNotAvailable:
            self.sessions.drop(request.cookies.get(COOKIE))
            return self.page(
                "message.html",
                title="Logout is not available yet",
                message="The OP's discovery document has no end_session_endpoint, so there is "
                "no RP-Initiated Logout to send you to. The demo forgot your session here.",
            )
        return RedirectResponse(url, status_code=303, headers=_NO_STORE)

    async def logged_out(self, request: Request) -> Response:
        state = self.state_of(request)
        expected = state.logout_state if state is not None else None
        returned = request.query_params.get("state")
        self.sessions.drop(request.cookies.get(COOKIE))
        return self.page(
            "message.html",
            title="Logged out",
            message="The OP logged you out and sent you back here"
            + (" (state ✓)." if expected is not None and returned == expected else "."),
        )


async def _authorization_response(request: Request) -> AuthorizationResponse:
    """The response from the form_post body (urlencoded, parsed here so that a repeated
    parameter is seen), or from the query of a GET."""
    if request.method != "POST":
        return AuthorizationResponse.from_query(request.url.query)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if content_type != "application/x-www-form-urlencoded" or len(body) > _MAX_FORM_BYTES:
        raise MalformedAuthorizationResponse("the callback expects a form_post response")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise MalformedAuthorizationResponse("the form_post body is not UTF-8") from None
    return AuthorizationResponse.from_form_post(pairs)


def create_demo_app(rp: RelyingParty, *, base_url: str) -> Starlette:
    """The demo app for the registered client of ``rp``, served at ``base_url`` (its
    ``/callback`` must be a registered redirect URI, ``/logged-out`` a post-logout one)."""
    demo = _Demo(rp, base_url)
    app = Starlette(
        routes=[
            Route("/", demo.home),
            Route("/start", demo.start, methods=["POST"]),
            Route("/callback", demo.callback, methods=["GET", "POST"]),
            Route("/result", demo.result),
            Route("/refresh", demo.refresh, methods=["POST"]),
            Route("/logout", demo.logout, methods=["POST"]),
            Route("/logged-out", demo.logged_out),
        ]
    )
    app.state.demo = demo
    return app
