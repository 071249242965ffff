"""The OP's cookies: HttpOnly, SameSite=Lax, Secure whenever the issuer is https."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idgate.config import Settings
from idgate.provider.authorization import Browser, CookieUpdates

SESSION_COOKIE = "idgate_session"
BROWSER_COOKIE = "idgate_browser"
_BROWSER_MAX_AGE = 365 * 24 * 3600


def browser_of(request: Request) -> Browser:
    return Browser(
        session_cookie=request.cookies.get(SESSION_COOKIE),
        browser_cookie=request.cookies.get(BROWSER_COOKIE),
        client_ip=request.client.host if request.client else "unknown",
    )


def apply_cookies(response: Response, updates: CookieUpdates, settings: Settings) -> Response:
    secure = settings.issuer_is_https
    if updates.session is not None:
        response.set_cookie(
            SESSION_COOKIE,
            updates.session,
            max_age=settings.session_ttl,
            path="/",
            secure=secure,
            httponly=True,
            samesite="lax",
        )
    if updates.browser is not None:
        response.set_cookie(
            BROWSER_COOKIE,
            updates.browser,
            max_age=_BROWSER_MAX_AGE,
            path="/",
            secure=secure,
            httponly=True,
            samesite="lax",
        )
    return response
