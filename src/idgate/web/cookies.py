"""The OP's cookies: HttpOnly, SameSite=Lax, Secure whenever the issuer is https.

Two exceptions, both for logout and session management:

- the OP browser state (Session Management 1.0 §3) must be readable by the
  check_session_iframe's script while it is framed by an RP's page, a third-party context: it
  is not HttpOnly and, on https, `SameSite=None; Secure` (on an http issuer, a development
  set-up, browsers refuse SameSite=None without Secure, so it stays Lax there). It holds no
  secret: a one-way value that changes on login and logout.
- the logout confirmation's CSRF cookie is `SameSite=Strict` and limited to `/logout`.

On an https issuer the session and browser cookies carry the `__Host-` prefix (RFC 6265bis
§4.1.3.2): a browser then takes them only Secure, for `/` and this host alone, so neither a
sibling subdomain nor a plain-http page can plant or shadow them (SECURITY.md WEB-07).
Browsers refuse the prefix without https, so a development issuer on http goes without.
"""

from __future__ import annotations

import re
from typing import Literal

from starlette.requests import Request
from starlette.responses import Response

from idgate.config import Settings
from idgate.protocol.session_state import BROWSER_STATE_COOKIE
from idgate.provider.authorization import Browser, CookieUpdates

SESSION_COOKIE = "idgate_session"
BROWSER_COOKIE = "idgate_browser"
LOGOUT_CSRF_COOKIE = "idgate_logout"
LOGOUT_PATH = "/logout"
_LOGOUT_CSRF_MAX_AGE = 600
_BROWSER_MAX_AGE = 365 * 24 * 3600


# The characters `http.cookies` writes unquoted (its `_LegalChars`), which our values are made
# of (random base64url, hex digests); anything else goes through Starlette's own quoting.
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~:]+")

Samesite = Literal["lax", "strict", "none"]


def _name(base: str, settings: Settings) -> str:
    return f"__Host-{base}" if settings.issuer_is_https else base


def _set_cookie(
    response: Response,
    name: str,
    value: str,
    *,
    max_age: int,
    path: str,
    secure: bool,
    httponly: bool,
    samesite: Samesite,
) -> None:
    """The header Starlette's `set_cookie` writes, byte for byte, without building a
    `http.cookies.SimpleCookie` (a tenth of an authorization response's time)."""
    if not _PLAIN_VALUE.fullmatch(value):
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=path,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
        )
        return
    header = (
        f"{name}={value}{'; HttpOnly' if httponly else ''}; Max-Age={max_age}; Path={path}; "
        f"SameSite={samesite}{'; Secure' if secure else ''}"
    )
    response.raw_headers.append((b"set-cookie", header.encode("latin-1")))


def session_cookie_name(settings: Settings) -> str:
    return _name(SESSION_COOKIE, settings)


def browser_cookie_name(settings: Settings) -> str:
    return _name(BROWSER_COOKIE, settings)


def browser_of(request: Request) -> Browser:
    settings: Settings = request.app.state.provider.settings
    return Browser(
        session_cookie=request.cookies.get(session_cookie_name(settings)),
        browser_cookie=request.cookies.get(browser_cookie_name(settings)),
        client_ip=request.client.host if request.client else "unknown",
    )


def apply_cookies(response: Response, updates: CookieUpdates, settings: Settings) -> Response:
    secure = settings.issuer_is_https
    if updates.session is not None:
        _set_cookie(
            response,
            session_cookie_name(settings),
            updates.session,
            max_age=settings.session_ttl,
            path="/",
            secure=secure,
            httponly=True,
            samesite="lax",
        )
    if updates.browser is not None:
        _set_cookie(
            response,
            browser_cookie_name(settings),
            updates.browser,
            max_age=_BROWSER_MAX_AGE,
            path="/",
            secure=secure,
            httponly=True,
            samesite="lax",
        )
    return response


def set_browser_state(response: Response, value: str | None, settings: Settings) -> Response:
    """Set the OP browser state cookie the check_session_iframe reads; "" removes it, None
    leaves it as it is."""
    if value is None:
        return response
    secure = settings.issuer_is_https
    samesite: Samesite = "none" if secure else "lax"
    if value == "":
        response.delete_cookie(
            BROWSER_STATE_COOKIE, path="/", secure=secure, httponly=False, samesite=samesite
        )
        return response
    _set_cookie(
        response,
        BROWSER_STATE_COOKIE,
        value,
        max_age=settings.session_ttl,
        path="/",
        secure=secure,
        httponly=False,
        samesite=samesite,
    )
    return response


def clear_session(response: Response, settings: Settings) -> Response:
    """Remove the session cookie and the browser state after logout (the session itself is
    ended in the database, so an old copy of the cookie is dead anyway)."""
    response.delete_cookie(
        session_cookie_name(settings),
        path="/",
        secure=settings.issuer_is_https,
        httponly=True,
        samesite="lax",
    )
    return set_browser_state(response, "", settings)


def set_logout_csrf(response: Response, token: str | None, settings: Settings) -> Response:
    """The double-submit cookie of the logout confirmation form (None removes it)."""
    secure = settings.issuer_is_https
    if token is None:
        response.delete_cookie(
            LOGOUT_CSRF_COOKIE, path=LOGOUT_PATH, secure=secure, httponly=True, samesite="strict"
        )
        return response
    _set_cookie(
        response,
        LOGOUT_CSRF_COOKIE,
        token,
        max_age=_LOGOUT_CSRF_MAX_AGE,
        path=LOGOUT_PATH,
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    return response
