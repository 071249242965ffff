"""`create_app`: the ASGI application, wired explicitly from a Provider."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from idgate.config import Settings
from idgate.observability.metrics import Metrics
from idgate.observability.tracing import RequestTracer
from idgate.protocol.errors import OAuthError, ServerError, TemporarilyUnavailable
from idgate.provider import Provider
from idgate.provider.key_schedule import KeySchedule
from idgate.provider.maintenance import Janitor
from idgate.storage.base import DatabaseUnavailable
from idgate.web.cors import Cors
from idgate.web.endpoints import (
    authorize,
    health,
    introspection,
    logout,
    metadata,
    metrics,
    par,
    register,
    session,
    token,
    userinfo,
)
from idgate.web.observe import ObservedRequests, count_database_unavailable
from idgate.web.pages import STATIC_DIR, STYLESHEET_URL, Pages
from idgate.web.proxies import TrustedProxies
from idgate.web.request_id import SCOPE_KEY
from idgate.web.responses import json_response, oauth_error_response
from idgate.web.security import SecurityHeaders
from idgate.web.theme import Theme

log = logging.getLogger("idgate.web")

# `idgate serve` hands resolved settings to worker processes through this variable.
SETTINGS_ENV = "IDGATE_RESOLVED_SETTINGS"


def _routes(settings: Settings) -> list[BaseRoute]:
    optional: list[BaseRoute] = []
    if settings.metrics:
        optional.append(Route("/metrics", metrics.metrics))
    return [
        # The router tries routes in order: the busiest first.
        Route("/token", token.token, methods=["POST"]),
        Route("/authorize", authorize.authorize, methods=["GET", "POST"]),
        Route("/userinfo", userinfo.userinfo, methods=["GET", "POST"]),
        Route("/introspect", introspection.introspect, methods=["POST"]),
        Route("/.well-known/openid-configuration", metadata.openid_configuration),
        Route("/jwks", metadata.jwks),
        Route("/healthz", health.healthz),
        Route("/readyz", health.readyz),
        Route("/interaction/{handle}", authorize.interaction),
        Route("/interaction/{handle}/login", authorize.login, methods=["POST"]),
        Route("/interaction/{handle}/consent", authorize.consent, methods=["POST"]),
        Route("/interaction/{handle}/cancel", authorize.cancel, methods=["POST"]),
        Route("/par", par.push, methods=["POST"]),
        Route("/register", register.register, methods=["POST"]),
        Route(
            "/register/{client_id}",
            register.client_configuration,
            methods=["GET", "PUT", "DELETE"],
        ),
        Route("/revoke", introspection.revoke, methods=["POST"]),
        Route("/logout", logout.end_session, methods=["GET", "POST"]),
        Route(logout.CONFIRM_PATH, logout.confirm, methods=["POST"]),
        Route("/check_session", session.check_session_iframe),
        Route(STYLESHEET_URL, _stylesheet),
        *optional,
        Mount("/static", _static_files(settings), name="static"),
    ]


def _static_files(settings: Settings) -> StaticFiles:
    """/static: the theme's `static/` folder first, then the packaged files."""
    files = StaticFiles(directory=STATIC_DIR)
    theme_static = Theme.from_settings(settings).static_dir
    if theme_static is not None:
        # StaticFiles looks a path up in each of these folders in turn.
        files.all_directories = [theme_static, *files.all_directories]
    return files


async def _stylesheet(request: Request) -> Response:
    """The one stylesheet, with the theme's colours (built once, at start-up)."""
    pages: Pages = request.app.state.pages
    return Response(
        pages.stylesheet(),
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return json_response({"error": "not_found", "error_description": "no such endpoint"}, 404)
    if exc.status_code == 405:
        return json_response(
            {"error": "method_not_allowed", "error_description": "method not allowed here"},
            405,
            headers=dict(exc.headers or {}),
        )
    return json_response({"error": "invalid_request"}, exc.status_code)


async def _oauth_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OAuthError)
    return oauth_error_response(exc)


async def _unavailable(request: Request, exc: Exception) -> Response:
    count_database_unavailable(request)
    return oauth_error_response(TemporarilyUnavailable("the database is unavailable, try again"))


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Answered outside the request's middleware, after its context has ended: hand the
    # request id over by hand.
    log.error(
        "unexpected error on %s %s",
        request.method,
        request.url.path,
        exc_info=exc,
        extra={"request_id": request.scope.get(SCOPE_KEY)},
    )
    return oauth_error_response(ServerError("an unexpected error occurred"))


def _build(provider: Provider | None, settings: Settings, lifespan: object = None) -> Starlette:
    registry = Metrics() if settings.metrics else None
    app = Starlette(
        routes=_routes(settings),
        middleware=[
            Middleware(
                ObservedRequests,
                proxies=(
                    TrustedProxies(settings.trusted_proxies, settings.forwarded_header)
                    if settings.trusted_proxies
                    else None
                ),
                metrics=registry,
                tracer=RequestTracer.start() if settings.tracing else None,
            ),
            Middleware(Cors),
            Middleware(SecurityHeaders, https=settings.issuer_is_https),
        ],
        exception_handlers={
            HTTPException: _http_error,
            OAuthError: _oauth_error,
            DatabaseUnavailable: _unavailable,
            Exception: _unexpected,
        },
        lifespan=lifespan,  # type: ignore[arg-type]
    )
    app.state.provider = provider
    app.state.pages = Pages(theme=Theme.from_settings(settings))
    app.state.metrics = registry
    if registry is not None:
        app.state.metrics_gate = metrics.MetricsGate(settings)
        if provider is not None:
            provider.audit.add_observer(registry.on_audit_event)
    return app


def create_app(provider: Provider) -> Starlette:
    """The app over an open Provider; the caller owns the Provider's life cycle."""
    return _build(provider, provider.settings)


def create_served_app() -> Starlette:
    """The app as `idgate serve` runs it: it opens and closes its own Provider."""
    settings = Settings(**json.loads(os.environ[SETTINGS_ENV]))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        provider = await Provider.open(settings)
        app.state.provider = provider
        if app.state.metrics is not None:
            provider.audit.add_observer(app.state.metrics.on_audit_event)
        janitor = asyncio.create_task(
            Janitor(
                provider.storage.maintenance,
                provider.clock,
                interval=settings.cleanup_interval,
            ).run_forever()
        )
        background = [janitor]
        if provider.keys.timings.scheduled:
            background.append(asyncio.create_task(KeySchedule(provider.keys).run_forever()))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await provider.close()

    return _build(None, settings, lifespan)
