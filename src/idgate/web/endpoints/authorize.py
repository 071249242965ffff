"""The authorization endpoint and its interaction pages (login, consent, cancel).

Handlers parse, call `provider.authorization`, and render what it decided.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence

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
from idgate.web.i18n import Language
from idgate.web.observe import count_database_unavailable
from idgate.web.pages import Pages
from idgate.web.params import Parameters, form_parameters, query_parameters
from idgate.web.texts import SCOPE_DESCRIPTIONS, Explanation, explain, outage

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _provider(request: Request) -> Provider:
    provider: Provider = request.app.state.provider
    return provider


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def language_of(request: Request, ui_locales: Sequence[str] = ()) -> Language:
    """The page language: the request's `ui_locales`, then the browser's Accept-Language."""
    return _pages(request).language(ui_locales, request.headers.get("accept-language"))


def error_page(
    request: Request,
    explanation: Explanation,
    status_code: int = 400,
    ui_locales: Sequence[str] = (),
) -> Response:
    """An error page for a person, in their language."""
    return _pages(request).explained_error(
        explanation, status_code=status_code, language=language_of(request, ui_locales)
    )


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
            count_database_unavailable(request)
            response = error_page(request, outage(), 503)
            response.headers["Retry-After"] = "5"
            return response

    return wrapped


def render(
    request: Request, outcome: PageOutcome | Interact, ui_locales: Sequence[str] = ()
) -> Response:
    """The response for `outcome`; `ui_locales` is the request's, when there is one."""
    pages = _pages(request)
    match outcome:
        case ShowError(title, message, status_code):
            return error_page(request, explain(title, message), status_code, ui_locales)
        case Respond(RedirectTo(location), opbs):
            return set_browser_state(_redirect(location), opbs, _provider(request).settings)
        case Respond(FormPost(action, fields), opbs):
            language = language_of(request, ui_locales)
            response = pages.form_post(action=action, fields=fields, language=language)
            return set_browser_state(response, opbs, _provider(request).settings)
        case Interact(handle):
            return _redirect(f"/interaction/{handle}")
        case LoginPage(handle, csrf_token, client, redirect_uri, login_hint, error, ui_locales):
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
                language=language_of(request, ui_locales),
            )
        case ConsentPage(handle, csrf_token, client, account, auth_request):
            scopes = [(s, SCOPE_DESCRIPTIONS.get(s, s)) for s in auth_request.scopes]
            # The scopes' descriptions cover their own Claims; list only the ones asked for
            # one by one (the `claims` parameter, Core §5.5) beyond those.
            requested: set[str] = set()
            if auth_request.claims:
                requested |= {name for name, _ in auth_request.claims.id_token}
                requested |= {name for name, _ in auth_request.claims.userinfo}
            requested -= claims_for_scopes(auth_request.scopes)
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
                language=language_of(request, auth_request.ui_locales),
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
        return error_page(request, explain("Invalid request", exc.description))
    cookies = CookieUpdates()
    outcome = await provider.authorization.authorize(
        params.values, params.repeated, browser_of(request), cookies
    )
    # Only to pick the language of a page shown before the request is parsed (an error).
    ui_locales = params.values.get("ui_locales", "").split(" ")[:16]
    return apply_cookies(render(request, outcome, ui_locales), cookies, provider.settings)


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
        return error_page(request, explain("Invalid form", exc.description))


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
        return error_page(request, explain("Invalid form", "Choose Allow or Deny."))
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
