"""The HTML pages people see: login, consent, error, message, and the form_post auto-submit page.

Each page is a Jinja2 template (autoescaped) rendered into a Starlette `HTMLResponse` that carries
its own security headers, so a page is safe even where the app's middleware is not in front of it:
`Cache-Control: no-store` and a strict Content-Security-Policy on every page, plus the framing,
sniffing and referrer headers of SECURITY.md G6 (WEB-01, WEB-02, WEB-08).

Text that comes from clients or requests (client names, user names, scopes, claims) is shown with
bidi controls and zero-width characters removed (WEB-09); client links are shown only for https.

The form_post page (OAuth 2.0 Form Post Response Mode; SECURITY.md RDR-09) carries a script: an
inline auto-submit with a fresh nonce, the only script its CSP allows (the logged-out page's
"continue" is the other). Both work without JavaScript.

Every page is rendered in a `Language` (web/i18n.py) chosen by the caller; templates translate
with `{% trans %}` and `_()`, and text from the provider is translated by its English msgid.
The look comes from a `Theme` (web/theme.py): product name, logo, colours, an override folder.

Templates are looked up by name in the theme's `templates/` folder first, then the packaged one:
`login.html`, `consent.html`, `error.html`, `message.html`, `form_post.html`, all of which extend
`base.html` except `form_post.html`; for logout and session management `logout_confirm.html`,
`logged_out.html` (both extend `base.html`) and `check_session.html` (the framed iframe page).
"""

from __future__ import annotations

import dataclasses
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
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from starlette.responses import HTMLResponse

from idgate.protocol.session_state import BROWSER_STATE_COOKIE
from idgate.web.i18n import Catalogs, Language
from idgate.web.texts import CLAIM_DESCRIPTIONS, Explanation
from idgate.web.theme import STATIC_DIR, STYLESHEET_NAME, Theme

__all__ = ["STATIC_DIR", "STYLESHEET_URL", "TEMPLATE_DIR", "Pages"]

_HERE = Path(__file__).resolve().parent
TEMPLATE_DIR: Path = _HERE / "templates"
STYLESHEET_URL = f"/static/{STYLESHEET_NAME}"
# Languages written right to left (none is shipped yet; a theme may add one).
_RTL_LANGUAGES = frozenset({"ar", "dv", "fa", "he", "ku", "ps", "sd", "ug", "ur", "yi"})

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

    def __init__(
        self,
        *,
        product_name: str | None = None,
        template_dir: str | None = None,
        theme: Theme | None = None,
        catalogs: Catalogs | None = None,
    ) -> None:
        theme = theme or Theme()
        if product_name is not None:
            theme = dataclasses.replace(theme, product_name=product_name)
        self.theme = theme
        self.catalogs = catalogs or Catalogs(
            extra_dirs=[theme.locale_dir] if theme.locale_dir else []
        )
        loaders: list[BaseLoader] = []
        for folder in (template_dir, theme.template_dir):
            if folder is not None:
                loaders.append(FileSystemLoader(folder))
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
            extensions=["jinja2.ext.i18n"],
        )
        # newstyle: placeholders are filled (and escaped) by gettext itself, so every message
        # is %-formatted; a literal percent sign in a message must be written `%%`.
        self._env.install_gettext_callables(  # type: ignore[attr-defined]
            _gettext, _ngettext, newstyle=True
        )
        self._env.globals.update(
            product_name=_plain(theme.product_name),
            logo_url=theme.logo_url,
            stylesheet_url=STYLESHEET_URL,
        )
        self._stylesheet = theme.stylesheet()

    def stylesheet(self) -> bytes:
        """The CSS every page links to (STYLESHEET_URL), with the theme's colours."""
        return self._stylesheet

    def language(
        self, ui_locales: Sequence[str] = (), accept_language: str | None = None
    ) -> Language:
        """The language of a page for this request (`Catalogs.choose`)."""
        return self.catalogs.choose(ui_locales, accept_language)

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
        language: Language | None = None,
    ) -> HTMLResponse:
        """The sign-in form: `username`, `password` and `csrf_token`, POSTed to `action`.

        With `cancel_action`, a second form POSTs only `csrf_token` there. `redirect_uri` (the
        client's validated one) is added to `form-action`, because Chrome and Safari apply that
        directive to the redirect a form submission ends in, too.
        """
        language = self._language(language)
        context = {
            "action": action,
            "csrf_token": csrf_token,
            "client_name": _plain(client_name),
            "login_hint": login_hint or "",
            "error": _plain(language.gettext(error)) if error else None,
            "cancel_action": cancel_action,
        }
        return self._page("login.html", context, status_code, language, redirect_uri=redirect_uri)

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
        language: Language | None = None,
    ) -> HTMLResponse:
        """Ask the signed-in user to approve or deny a client (WEB-10).

        The form POSTs `csrf_token` and `decision=approve` or `decision=deny`. `scopes` are
        (scope, plain-words description) pairs, the description an English msgid; `claims`
        are Claim names, described in plain words where OIDC Core §5.1 defines them. Client
        links and the client's logo are shown only when https; the logo's origin is added to
        `img-src`.
        `redirect_uri` (the validated one) names where the user is sent next and is added to
        `form-action`, as for `login`.
        """
        language = self._language(language)
        logo = _https_link(logo_uri)
        logo_source = _frame_source(logo) if logo else None
        if logo_source is None:
            logo = None  # an origin CSP cannot name would be blocked anyway
        context = {
            "action": action,
            "csrf_token": csrf_token,
            "client_name": _plain(client_name),
            "username": _plain(username),
            "scopes": [(_plain(scope), _plain(language.gettext(text))) for scope, text in scopes],
            "claims": [
                (_plain(claim), _plain(language.gettext(CLAIM_DESCRIPTIONS[claim])))
                if claim in CLAIM_DESCRIPTIONS
                else (_plain(claim), None)
                for claim in claims
            ],
            "client_uri": _https_link(client_uri),
            "policy_uri": _https_link(policy_uri),
            "tos_uri": _https_link(tos_uri),
            "client_logo": logo,
            "redirect_host": _plain(_display_host(redirect_uri)) if redirect_uri else None,
        }
        return self._page(
            "consent.html",
            context,
            200,
            language,
            redirect_uri=redirect_uri,
            image_source=logo_source,
        )

    def error(
        self,
        *,
        title: str,
        message: str,
        status_code: int = 400,
        next_step: str | None = None,
        details: str | None = None,
        language: Language | None = None,
    ) -> HTMLResponse:
        """A page that says what went wrong in plain words (never a stack trace).

        `title`, `message` and `next_step` (what to do now) are English msgids, translated
        when the catalog has them; `details` is technical text for the application's
        developers, shown as it is in a disclosure.
        """
        language = self._language(language)
        context = {
            "title": _plain(language.gettext(title)),
            "message": _plain(language.gettext(message)),
            "next_step": _plain(language.gettext(next_step)) if next_step else None,
            "details": _plain(details) if details else None,
        }
        return self._page("error.html", context, status_code, language)

    def explained_error(
        self, explanation: Explanation, *, status_code: int = 400, language: Language | None = None
    ) -> HTMLResponse:
        """`error` for an `Explanation` (web/texts.py)."""
        return self.error(
            title=explanation.title,
            message=explanation.message,
            next_step=explanation.next_step,
            details=explanation.details,
            status_code=status_code,
            language=language,
        )

    def message(
        self,
        *,
        title: str,
        message: str,
        status_code: int = 200,
        language: Language | None = None,
    ) -> HTMLResponse:
        """A generic information page, e.g. "You are signed out" (texts are msgids)."""
        language = self._language(language)
        context = {
            "title": _plain(language.gettext(title)),
            "message": _plain(language.gettext(message)),
        }
        return self._page("message.html", context, status_code, language)

    def logout_confirm(
        self,
        *,
        action: str,
        csrf_token: str,
        fields: Sequence[tuple[str, str]],
        client_name: str | None,
        signed_in: bool,
        redirect_uri: str | None = None,
        language: Language | None = None,
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
        return self._page(
            "logout_confirm.html", context, 200, self._language(language), redirect_uri=redirect_uri
        )

    def logged_out(
        self,
        *,
        frontchannel: Sequence[str],
        redirect_uri: str | None = None,
        language: Language | None = None,
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
        return self._render("logged_out.html", context, 200, headers, self._language(language))

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
        return self._render("check_session.html", context, 200, headers, self._language(None))

    def form_post(
        self,
        *,
        action: str,
        fields: Sequence[tuple[str, str]],
        language: Language | None = None,
    ) -> HTMLResponse:
        """OAuth 2.0 Form Post Response Mode: auto-submit `fields` to `action` (RDR-09).

        `action` must be the client's validated http(s) redirect_uri; anything else raises
        ValueError. Works with JavaScript off (a `<noscript>` button). The CSP allows only this
        response's nonce'd script (and the same-origin stylesheet), and `form-action` names the
        action's origin (left out when the origin cannot be written in CSP, e.g. an IPv6 literal).
        """
        scheme = urlsplit(action).scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError("form_post needs an http(s) action")
        form_action = _csp_source(action)
        nonce = secrets.token_urlsafe(16)
        # The stylesheet (and the theme's logo) make the brief no-JavaScript view look like the
        # other pages; both are same-origin.
        directives = [
            "default-src 'none'",
            f"script-src 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self'",
        ]
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
        return self._render("form_post.html", context, 200, headers, self._language(language))

    def _language(self, language: Language | None) -> Language:
        return language if language is not None else self.catalogs.choose()

    def _page(
        self,
        name: str,
        context: Mapping[str, object],
        status_code: int,
        language: Language,
        *,
        redirect_uri: str | None = None,
        image_source: str | None = None,
    ) -> HTMLResponse:
        form_action = "form-action 'self'"
        if redirect_uri is not None:
            source = _csp_source(redirect_uri)
            # A target CSP cannot name would be blocked after the POST: drop the directive.
            form_action = "" if source is None else f"{form_action} {source}"
        directives = [
            "default-src 'none'",
            "style-src 'self'",
            f"img-src 'self' {image_source}" if image_source else "img-src 'self'",
            form_action,
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
        headers = {
            **_FRAMING,
            "Content-Security-Policy": "; ".join(d for d in directives if d),
            "Cache-Control": "no-store",
        }
        return self._render(name, context, status_code, headers, language)

    def _render(
        self,
        name: str,
        context: Mapping[str, object],
        status_code: int,
        headers: Mapping[str, str],
        language: Language,
    ) -> HTMLResponse:
        body = self._env.get_template(name).render(
            {
                **context,
                "language": language,
                "lang": language.tag,
                "dir": "rtl" if language.tag.split("-")[0] in _RTL_LANGUAGES else "ltr",
            }
        )
        response = HTMLResponse(body, status_code=status_code, headers=dict(headers))
        # The page's language depends on Accept-Language too (RFC 9110 §12.5.5).
        response.headers["Content-Language"] = language.tag
        response.headers["Vary"] = "Accept-Language"
        return response


@pass_context
def _gettext(context: Context, message: str) -> str:
    language: Language = context["language"]
    return language.gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    language: Language = context["language"]
    return language.ngettext(singular, plural, n)


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
