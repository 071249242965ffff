"""The HTML pages people see: login, consent, error, message, and the form_post auto-submit page.

Each page is a Jinja2 template (autoescaped) rendered into a Starlette `HTMLResponse` that carries
its own security headers, so a page is safe even where the app's middleware is not in front of it:
`Cache-Control: no-store` and a strict Content-Security-Policy on every page, plus the framing,
sniffing and referrer headers of SECURITY.md G6 (WEB-01, WEB-02, WEB-08).

Text that comes from clients or requests (client names, user names, scopes, claims) is shown with
bidi controls and zero-width characters removed (WEB-09); client links are shown only for https.

The form_post page (OAuth 2.0 Form Post Response Mode; SECURITY.md RDR-09) is the one page with a
script: an inline auto-submit carrying a fresh nonce, the only script its CSP allows.

Templates are looked up by name in the operator's folder first, then in the packaged one:
`login.html`, `consent.html`, `error.html`, `message.html`, `form_post.html`, all of which extend
`base.html` except `form_post.html`; for logout and session management `logout_confirm.html`,
`logged_out.html` (both extend `base.html`) and `check_session.html` (the framed iframe page).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    select_autoescape,
)
from starlette.responses import HTMLResponse

from idgate.protocol.session_state import BROWSER_STATE_COOKIE

__all__ = ["STATIC_DIR", "STYLESHEET_URL", "TEMPLATE_DIR", "Pages"]

_HERE = Path(__file__).resolve().parent
TEMPLATE_DIR: Path = _HERE / "templates"
STATIC_DIR: Path = _HERE / "static"
STYLESHEET_URL = "/static/idgate.css"

# G6 headers, the same values the SecurityHeaders middleware would fill in.
_FRAMING = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

# Schemes that must never become a navigation target, whatever validated them upstream.
_NEVER_SCHEMES = frozenset(
    {"javascript", "data", "vbscript", "file", "blob", "filesystem", "about"}
)
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
# CSP3 host-part: dot-separated runs of ALPHA / DIGIT / "-" (IPv6 literals cannot be named).
_CSP_HOST = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*\.?")
# Text that is not shown as-is: control characters and line/paragraph separators become a space.
_SPACE_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


class Pages:
    """Renders idgate's pages. Build one at start-up; it is safe to share between requests."""

    def __init__(self, *, product_name: str = "idgate", template_dir: str | None = None) -> None:
        loaders: list[BaseLoader] = []
        if template_dir is not None:
            loaders.append(FileSystemLoader(template_dir))
        loaders.append(FileSystemLoader(TEMPLATE_DIR))
        self._env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(
                enabled_extensions=("html", "htm", "xml"), default_for_string=True, default=True
            ),
            undefined=StrictUndefined,
            auto_reload=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.globals.update(product_name=_plain(product_name), stylesheet_url=STYLESHEET_URL)

    def login(
        self,
        *,
        action: str,
        csrf_token: str,
        client_name: str,
        login_hint: str | None = None,
        error: str | None = None,
        cancel_action: str | None = None,
        status_code: int = 200,
        redirect_uri: str | None = None,
    ) -> HTMLResponse:
        """The sign-in form: `username`, `password` and `csrf_token`, POSTed to `action`.

        With `cancel_action`, a second form POSTs only `csrf_token` there. `redirect_uri` (the
        client's validated one) is added to `form-action`, because Chrome and Safari apply that
        directive to the redirect a form submission ends in, too.
        """
        context = {
            "action": action,
            "csrf_token": csrf_token,
            "client_name": _plain(client_name),
            "login_hint": login_hint or "",
            "error": _plain(error) if error else None,
            "cancel_action": cancel_action,
        }
        return self._page("login.html", context, status_code, redirect_uri=redirect_uri)

    def consent(
        self,
        *,
        action: str,
        csrf_token: str,
        client_name: str,
        username: str,
        scopes: Sequence[tuple[str, str]],
        claims: Sequence[str] = (),
        client_uri: str | None = None,
        policy_uri: str | None = None,
        tos_uri: str | None = None,
        logo_uri: str | None = None,
        redirect_uri: str | None = None,
    ) -> HTMLResponse:
        """Ask the signed-in user to approve or deny a client (WEB-10).

        The form POSTs `csrf_token` and `decision=approve` or `decision=deny`. `scopes` are
        (scope, plain-words description) pairs. Client links are shown only when https.
        `redirect_uri` (the validated one) names where the user is sent next and is added to
        `form-action`, as for `login`.
        """
        context = {
            "action": action,
            "csrf_token": csrf_token,
            "client_name": _plain(client_name),
            "username": _plain(username),
            "scopes": [(_plain(scope), _plain(text)) for scope, text in scopes],
            "claims": [_plain(claim) for claim in claims],
            "client_uri": _https_link(client_uri),
            "policy_uri": _https_link(policy_uri),
            "tos_uri": _https_link(tos_uri),
            "logo_uri": None,
            "redirect_host": _plain(_display_host(redirect_uri)) if redirect_uri else None,
        }
        # The logo is the one third-party resource a page loads: `img-src` names its origin,
        # and Referrer-Policy no-referrer keeps the page's URL from it (SECURITY.md WEB-02).
        logo = _https_link(logo_uri)
        logo_source = _frame_source(logo) if logo else None
        if logo_source is not None:
            context["logo_uri"] = logo
        return self._page(
            "consent.html", context, 200, redirect_uri=redirect_uri, img_source=logo_source
        )

    def error(self, *, title: str, message: str, status_code: int = 400) -> HTMLResponse:
        """A page that says what went wrong in plain words (never a stack trace)."""
        context = {"title": _plain(title), "message": _plain(message)}
        return self._page("error.html", context, status_code)

    def message(self, *, title: str, message: str, status_code: int = 200) -> HTMLResponse:
        """A generic information page, e.g. "You are signed out"."""
        context = {"title": _plain(title), "message": _plain(message)}
        return self._page("message.html", context, status_code)

    def logout_confirm(
        self,
        *,
        action: str,
        csrf_token: str,
        fields: Sequence[tuple[str, str]],
        client_name: str | None,
        signed_in: bool,
        redirect_uri: str | None = None,
    ) -> HTMLResponse:
        """Ask before signing out (RP-Initiated Logout 1.0 §2, §6; SECURITY.md LOG-04/05).

        The form POSTs `csrf_token` (also in a SameSite=Strict cookie: double submit), the
        hidden `fields`, and `decision=logout` or `decision=cancel`. `redirect_uri` is the
        validated post-logout URI the answer may redirect to: named on the page and in
        `form-action`, as for `login`.
        """
        context = {
            "action": action,
            "csrf_token": csrf_token,
            "fields": list(fields),
            "client_name": _plain(client_name) if client_name else None,
            "signed_in": signed_in,
            "redirect_host": _plain(_display_host(redirect_uri)) if redirect_uri else None,
        }
        if redirect_uri is not None:
            try:
                _csp_source(redirect_uri)
            except ValueError:
                redirect_uri = None  # not a navigation target a policy can name: 'self' only
        return self._page("logout_confirm.html", context, 200, redirect_uri=redirect_uri)

    def logged_out(
        self, *, frontchannel: Sequence[str], redirect_uri: str | None = None
    ) -> HTMLResponse:
        """The "you are signed out" page, loading each RP's front-channel logout URL in a
        hidden iframe (Front-Channel Logout 1.0 §3; SECURITY.md LOG-11), then, with
        `redirect_uri` (the validated post-logout location), going there once the iframes have
        loaded (at most a few seconds; a link does the same without JavaScript).

        The page itself is never framed (`frame-ancestors 'none'`); `frame-src` names exactly
        the origins of the iframes; the one script carries this response's nonce.
        """
        sources = sorted({_frame_source(url) or "https:" for url in frontchannel})
        nonce = secrets.token_urlsafe(16)
        directives = [
            "default-src 'none'",
            "style-src 'self'",
            "img-src 'self'",
            f"frame-src {' '.join(sources)}" if sources else "",
            f"script-src 'nonce-{nonce}'" if redirect_uri else "",
            "form-action 'none'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
        headers = {
            **_FRAMING,
            "Content-Security-Policy": "; ".join(d for d in directives if d),
            "Cache-Control": "no-store",
        }
        context = {
            "frontchannel": list(frontchannel),
            "redirect_uri": redirect_uri,
            "redirect_host": _plain(_display_host(redirect_uri)) if redirect_uri else None,
            "nonce": nonce,
        }
        return self._render("logged_out.html", context, 200, headers)

    def check_session(self) -> HTMLResponse:
        """The check_session_iframe (Session Management 1.0 §3.3, §4.2): the one page RPs may
        frame, so it has no X-Frame-Options and no `frame-ancestors` (the caller marks the
        request FRAMEABLE for the middleware). Its only script carries this response's nonce
        and reads the OP browser state cookie."""
        nonce = secrets.token_urlsafe(16)
        headers = {
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": (
                f"default-src 'none'; script-src 'nonce-{nonce}'; form-action 'none'; "
                "base-uri 'none'"
            ),
            "Cache-Control": "no-store",
        }
        context = {"nonce": nonce, "cookie_name": BROWSER_STATE_COOKIE}
        return self._render("check_session.html", context, 200, headers)

    def form_post(self, *, action: str, fields: Sequence[tuple[str, str]]) -> HTMLResponse:
        """OAuth 2.0 Form Post Response Mode: auto-submit `fields` to `action` (RDR-09).

        `action` must be the client's validated http(s) redirect_uri; anything else raises
        ValueError. Works with JavaScript off (a `<noscript>` button). The CSP allows only this
        response's nonce'd script, and `form-action` names the action's origin (left out when the
        origin cannot be written in CSP, e.g. an IPv6 literal).
        """
        scheme = urlsplit(action).scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError("form_post needs an http(s) action")
        form_action = _csp_source(action)
        nonce = secrets.token_urlsafe(16)
        directives = ["default-src 'none'", f"script-src 'nonce-{nonce}'"]
        if form_action is not None:
            directives.append(f"form-action {form_action}")
        directives += ["frame-ancestors 'none'", "base-uri 'none'"]
        headers = {
            **_FRAMING,
            "Content-Security-Policy": "; ".join(directives),
            "Cache-Control": "no-store",
            "Pragma": "no-cache",
        }
        context = {"action": action, "fields": list(fields), "nonce": nonce}
        return self._render("form_post.html", context, 200, headers)

    def _page(
        self,
        name: str,
        context: Mapping[str, object],
        status_code: int,
        *,
        redirect_uri: str | None = None,
        img_source: str | None = None,
    ) -> HTMLResponse:
        form_action = "form-action 'self'"
        if redirect_uri is not None:
            source = _csp_source(redirect_uri)
            # A target CSP cannot name would be blocked after the POST: drop the directive.
            form_action = "" if source is None else f"{form_action} {source}"
        directives = [
            "default-src 'none'",
            "style-src 'self'",
            f"img-src 'self' {img_source}" if img_source else "img-src 'self'",
            form_action,
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
        headers = {
            **_FRAMING,
            "Content-Security-Policy": "; ".join(d for d in directives if d),
            "Cache-Control": "no-store",
        }
        return self._render(name, context, status_code, headers)

    def _render(
        self,
        name: str,
        context: Mapping[str, object],
        status_code: int,
        headers: Mapping[str, str],
    ) -> HTMLResponse:
        body = self._env.get_template(name).render(context)
        return HTMLResponse(body, status_code=status_code, headers=dict(headers))


def _plain(text: str) -> str:
    """`text` fit to show: bidi and zero-width characters removed, control characters spaced."""
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Cf":
            continue
        kept.append(" " if category in _SPACE_CATEGORIES else char)
    return "".join(kept)


def _https_link(uri: str | None) -> str | None:
    """`uri` when it may be shown as a link: absolute https, with a host, no spaces or controls."""
    if not uri or uri[:8].lower() != "https://":
        return None
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in uri):
        return None
    try:
        host = urlsplit(uri).hostname
    except ValueError:
        return None
    return uri if host else None


def _display_host(uri: str) -> str:
    """Where `uri` leads, for people: `host[:port]`, or `scheme:` for a private-use scheme."""
    parts = urlsplit(uri)
    return parts.netloc.rpartition("@")[2] or f"{parts.scheme}:"


def _frame_source(uri: str) -> str | None:
    """`_csp_source`, or None when the URI cannot be named in a policy at all."""
    try:
        return _csp_source(uri)
    except ValueError:
        return None


def _csp_source(uri: str) -> str | None:
    """The CSP source expression matching `uri`'s origin, or None when CSP cannot express it.

    http(s) gives `scheme://host[:port]` (IDN hosts in their ASCII form); another scheme (a native
    app's private-use scheme) gives `scheme:`. Raises ValueError for a URI that is no navigation
    target (no scheme, no host, a bad port, `javascript:` and the like).
    """
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if not _SCHEME.fullmatch(scheme) or scheme in _NEVER_SCHEMES:
        raise ValueError(f"not a usable redirect target scheme: {scheme!r}")
    if scheme not in ("http", "https"):
        return f"{scheme}:"
    host = parts.hostname
    port = parts.port  # raises ValueError for a port that is not a number in range
    if not host:
        raise ValueError("redirect target has no host")
    if host.startswith("[") or ":" in host:
        return None  # an IPv6 literal: CSP host-source has no syntax for it
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError("redirect target host is not a valid domain name") from exc
    if not _CSP_HOST.fullmatch(host):
        raise ValueError("redirect target host cannot be used in a policy")
    return f"{scheme}://{host}" if port is None else f"{scheme}://{host}:{port}"
