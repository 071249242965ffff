"""The authorization endpoint and its interaction pages (login, consent, cancel).

Handlers parse, call `provider.authorization`, and render what it decided.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idgate.protocol.errors import InvalidRequest
from idgate.protocol.response_modes import FormPost, RedirectTo
from idgate.protocol.scopes import claims_for_scopes
from idgate.provider import Provider
from idgate.provider.authorization import (
    ConsentPage,
    CookieUpdates,
    Interact,
    LoginPage,
    PageOutcome,
    Respond,
    ShowError,
)
from idgate.storage.base import DatabaseUnavailable
from idgate.web.cookies import apply_cookies, browser_of, set_browser_state
from idgate.web.pages import Pages
from idgate.web.params import Parameters, form_parameters, query_parameters

SCOPE_DESCRIPTIONS = {
    "openid": "Know who you are (your account identifier)",
    "profile": "Your name and basic profile (picture, locale, birthdate…)",
    "email": "Your email address",
    "address": "Your postal address",
    "phone": "Your phone number",
    "offline_access": "Keep access while you are not using it",
}
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _provider(request: Request) -> Provider:
    provider: Provider = request.app.state.provider
    return provider


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def _redirect(location: str) -> Response:
    # 303 so that a browser never re-POSTs a form (a password!) to the target (RFC 9700 §4.12).
    return RedirectResponse(location, status_code=303, headers=_NO_STORE)


Handler = Callable[[Request], Awaitable[Response]]


def pages_on_outage(handler: Handler) -> Handler:
    """A person, not a program, reads these endpoints: an outage is a page, with Retry-After."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except DatabaseUnavailable:
            response = _pages(request).error(
                title="Temporarily unavailable",
                message="Sign-in is unavailable for a moment. Wait a little and try again.",
                status_code=503,
            )
            response.headers["Retry-After"] = "5"
            return response

    return wrapped


def render(request: Request, outcome: PageOutcome | Interact) -> Response:
    pages = _pages(request)
    match outcome:
        case ShowError(title, message, status_code):
            return pages.error(title=title, message=message, status_code=status_code)
        case Respond(RedirectTo(location), opbs):
            return set_browser_state(_redirect(location), opbs, _provider(request).settings)
        case Respond(FormPost(action, fields), opbs):
            response = pages.form_post(action=action, fields=fields)
            return set_browser_state(response, opbs, _provider(request).settings)
        case Interact(handle):
            return _redirect(f"/interaction/{handle}")
        case LoginPage(handle, csrf_token, client, redirect_uri, login_hint, error):
            return pages.login(
                action=f"/interaction/{handle}/login",
                csrf_token=csrf_token,
                client_name=client.metadata.client_name or client.client_id,
                login_hint=login_hint,
                error=error,
                cancel_action=f"/interaction/{handle}/cancel",
                # The login POST may be answered by a redirect to the client: CSP form-action
                # must allow its origin (browsers apply form-action to redirects too).
                redirect_uri=redirect_uri,
            )
        case ConsentPage(handle, csrf_token, client, account, auth_request):
            scopes = [(s, SCOPE_DESCRIPTIONS.get(s, s)) for s in auth_request.scopes]
            requested = claims_for_scopes(auth_request.scopes) - {"sub"}
            if auth_request.claims:
                requested |= {name for name, _ in auth_request.claims.id_token}
                requested |= {name for name, _ in auth_request.claims.userinfo}
            more = client.metadata.more
            return pages.consent(
                action=f"/interaction/{handle}/consent",
                csrf_token=csrf_token,
                client_name=client.metadata.client_name or client.client_id,
                username=account.username,
                scopes=scopes,
                claims=sorted(requested - {"sub"}),
                client_uri=more.client_uri,
                policy_uri=more.policy_uri,
                tos_uri=more.tos_uri,
                logo_uri=more.logo_uri,
                redirect_uri=auth_request.redirect_uri,
            )
    raise AssertionError(f"unhandled outcome {outcome!r}")


@pages_on_outage
async def authorize(request: Request) -> Response:
    """GET and POST /authorize (Core §3.1.2.1: both must be supported)."""
    provider = _provider(request)
    try:
        params: Parameters = (
            query_parameters(request) if request.method == "GET" else await form_parameters(request)
        )
    except InvalidRequest as exc:
        return _pages(request).error(title="Invalid request", message=exc.description)
    cookies = CookieUpdates()
    outcome = await provider.authorization.authorize(
        params.values, params.repeated, browser_of(request), cookies
    )
    return apply_cookies(render(request, outcome), cookies, provider.settings)


@pages_on_outage
async def interaction(request: Request) -> Response:
    """GET /interaction/{handle}: the login or consent page this request needs now."""
    outcome = await _provider(request).authorization.page(
        request.path_params["handle"], browser_of(request)
    )
    return render(request, outcome)


async def _form(request: Request) -> dict[str, str] | Response:
    try:
        return (await form_parameters(request)).require_unique()
    except InvalidRequest as exc:
        return _pages(request).error(title="Invalid form", message=exc.description)


@pages_on_outage
async def login(request: Request) -> Response:
    form = await _form(request)
    if isinstance(form, Response):
        return form
    provider = _provider(request)
    cookies = CookieUpdates()
    outcome = await provider.authorization.login(
        request.path_params["handle"],
        browser_of(request),
        cookies,
        csrf_token=form.get("csrf_token", ""),
        username=form.get("username", "")[:255],
        password=form.get("password", "")[:1024],
    )
    return apply_cookies(render(request, outcome), cookies, provider.settings)


@pages_on_outage
async def consent(request: Request) -> Response:
    form = await _form(request)
    if isinstance(form, Response):
        return form
    decision = form.get("decision")
    if decision not in ("approve", "deny"):
        return _pages(request).error(title="Invalid form", message="Choose Allow or Deny.")
    outcome = await _provider(request).authorization.consent(
        request.path_params["handle"],
        browser_of(request),
        csrf_token=form.get("csrf_token", ""),
        approve=decision == "approve",
    )
    return render(request, outcome)


@pages_on_outage
async def cancel(request: Request) -> Response:
    form = await _form(request)
    if isinstance(form, Response):
        return form
    outcome = await _provider(request).authorization.cancel(
        request.path_params["handle"], browser_of(request), csrf_token=form.get("csrf_token", "")
    )
    return render(request, outcome)
