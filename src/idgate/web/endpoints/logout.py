"""The end_session_endpoint (RP-Initiated Logout 1.0) and its confirmation form.

- `GET|POST /logout`: the RP's request (§2: both methods). Parameters are parsed by hand
  (repeats and sizes checked), then `provider.logout` decides.
- `POST /logout/confirm`: the End-User's answer on the confirmation page. It must come from
  the OP's own page: the CSRF token is submitted twice (form field and a SameSite=Strict
  cookie), and a cross-site `Origin` or `Sec-Fetch-Site` refuses it outright (§6).

A person reads every answer here: errors and outages are HTML pages.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idgate.protocol.errors import InvalidRequest
from idgate.protocol.session_state import origin_of
from idgate.provider import Provider
from idgate.provider.authorization import ShowError
from idgate.provider.logout import ConfirmLogout, LoggedOut, LogoutOutcome, StillSignedIn
from idgate.web.cookies import (
    LOGOUT_CSRF_COOKIE,
    LOGOUT_PATH,
    browser_of,
    clear_session,
    set_logout_csrf,
)
from idgate.web.endpoints.authorize import error_page, language_of, pages_on_outage
from idgate.web.pages import Pages
from idgate.web.params import Parameters, form_parameters, query_parameters
from idgate.web.texts import explain

CONFIRM_PATH = f"{LOGOUT_PATH}/confirm"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _provider(request: Request) -> Provider:
    provider: Provider = request.app.state.provider
    return provider


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def _same_origin(request: Request, issuer: str) -> bool:
    """False when the browser says the form was sent from another site.

    Our pages send `Referrer-Policy: no-referrer`, under which Chromium sends `Origin: null`
    with the confirmation form's own POST; then only `Sec-Fetch-Site: same-origin` vouches
    for it (a browser that sends neither is refused, as for any opaque origin).
    """
    origin = request.headers.get("origin")
    fetch_site = request.headers.get("sec-fetch-site")
    if origin == "null":
        return fetch_site == "same-origin"
    if origin is not None and origin != origin_of(issuer):
        return False
    return fetch_site is None or fetch_site in ("same-origin", "none")


def _render(request: Request, outcome: LogoutOutcome, ui_locales: Sequence[str] = ()) -> Response:
    pages = _pages(request)
    settings = _provider(request).settings
    match outcome:
        case ShowError(title, message, status_code):
            return error_page(request, explain(title, message), status_code, ui_locales)
        case StillSignedIn():
            response = pages.message(
                title="You are still signed in",
                message="You chose not to sign out.",
                language=language_of(request, ui_locales),
            )
            return set_logout_csrf(response, None, settings)
        case ConfirmLogout() as confirm:
            fields = [
                (name, value)
                for name, value in (
                    ("client_id", confirm.client_id),
                    ("post_logout_redirect_uri", confirm.post_logout_redirect_uri),
                    ("state", confirm.state),
                    ("ui_locales", " ".join(confirm.ui_locales) or None),
                )
                if value is not None
            ]
            response = pages.logout_confirm(
                action=CONFIRM_PATH,
                csrf_token=confirm.csrf_token,
                fields=fields,
                client_name=confirm.client_name,
                signed_in=confirm.signed_in,
                redirect_uri=confirm.post_logout_redirect_uri,
                language=language_of(request, confirm.ui_locales),
            )
            return set_logout_csrf(response, confirm.csrf_token, settings)
        case LoggedOut(_ended, frontchannel, redirect):
            done: Response
            if frontchannel or redirect is None:
                done = pages.logged_out(
                    frontchannel=frontchannel,
                    redirect_uri=redirect,
                    language=language_of(request, ui_locales),
                )
            else:
                # 303: the browser must not re-POST anything to the RP.
                done = RedirectResponse(redirect, status_code=303, headers=_NO_STORE)
            set_logout_csrf(done, None, settings)
            return clear_session(done, settings)
    raise AssertionError(f"unhandled outcome {outcome!r}")


async def _form(request: Request) -> Parameters:
    """The POSTed parameters; a POST with no body at all has none (all are optional, §2)."""
    headers = request.headers
    if "content-type" not in headers and headers.get("content-length", "0") == "0":
        return Parameters({}, frozenset())
    return await form_parameters(request)


@pages_on_outage
async def end_session(request: Request) -> Response:
    """GET and POST /logout (RP-Initiated Logout 1.0 §2)."""
    try:
        params: Parameters = (
            query_parameters(request) if request.method == "GET" else await _form(request)
        )
    except InvalidRequest as exc:
        return error_page(request, explain("Invalid sign-out request", exc.description))
    outcome = await _provider(request).logout.end_session(
        params.values, params.repeated, browser_of(request)
    )
    return _render(request, outcome, _words(params.values.get("ui_locales")))


@pages_on_outage
async def confirm(request: Request) -> Response:
    """POST /logout/confirm: the End-User's answer on the confirmation page (§6: CSRF)."""
    try:
        form = (await form_parameters(request)).require_unique()
    except InvalidRequest as exc:
        return error_page(request, explain("Invalid form", exc.description))
    provider = _provider(request)
    outcome = await provider.logout.confirm(
        form,
        browser_of(request),
        csrf_cookie=request.cookies.get(LOGOUT_CSRF_COOKIE),
        same_origin=_same_origin(request, provider.settings.issuer),
    )
    return _render(request, outcome, _words(form.get("ui_locales")))


def _words(value: str | None) -> list[str]:
    """A space-separated list such as `ui_locales`, bounded: it only picks a page language."""
    return (value or "").split(" ")[:16]
