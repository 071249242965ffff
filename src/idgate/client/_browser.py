"""A scripted browser: follows an authorization request through the OP's pages over HTTP.

For `idgate selftest` and tests, not for applications: it fills in idgate's login page (a form
with a ``password`` field) and approves its consent page (a form with a ``decision=approve``
button), follows the OP's redirects, and stops at the ``redirect_uri``: a ``Location`` there,
or a form_post page whose form targets it. An OP whose interaction completes by itself (the
test set-up of node-oidc-provider) needs no forms at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser

import httpx

from idgate.client.callback import AuthorizationResponse
from idgate.client.errors import ClientError

_ALERT = re.compile(r'role="alert"[^>]*>(.*?)<', re.DOTALL)


class SignInFailed(ClientError):
    """The scripted sign-in did not reach the redirect_uri; the message says where it stopped."""

    default_hint = "the test account's username and password, and that it is enabled"


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: dict[str, list[str]] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = Form(a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._current)
        elif self._current is not None and tag in ("input", "button") and "name" in a:
            kind = a.get("type", "submit" if tag == "button" else "text").lower()
            if kind == "submit":
                self._current.buttons.setdefault(a["name"], []).append(a.get("value", ""))
            else:
                self._current.fields[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def parse_forms(html: str) -> list[Form]:
    """The forms of a page with their (hidden and text) fields and submit buttons."""
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


class Browser:
    """Follows one authorization request to the redirect_uri, like a person with a browser.

    ``steps`` records what happened (``"login"``, ``"consent"``) for the caller to report.
    """

    def __init__(self, http: httpx.AsyncClient, *, max_steps: int = 12) -> None:
        self.http = http
        self.max_steps = max_steps
        self.steps: list[str] = []

    async def sign_in(
        self,
        url: str,
        redirect_uri: str,
        *,
        username: str | None = None,
        password: str | None = None,
        approve: bool = True,
    ) -> AuthorizationResponse:
        """Run the request at ``url`` until the OP answers to ``redirect_uri``."""
        self.steps = []
        response = await self._send("GET", url)
        for _ in range(self.max_steps):
            if response.status_code in (301, 302, 303, 307, 308):
                location = str(response.url.join(response.headers.get("location", "")))
                if location.startswith(redirect_uri):
                    return AuthorizationResponse.from_url(location)
                response = await self._send("GET", location)
                continue
            if response.status_code != 200:
                raise SignInFailed(
                    f"the OP answered HTTP {response.status_code} at {response.url.path}",
                    hint="the OP's logs; the request or the client registration may be wrong",
                )
            forms = parse_forms(response.text)
            posted = next((f for f in forms if f.action.startswith(redirect_uri)), None)
            if posted is not None:
                return AuthorizationResponse.from_form_post(posted.fields)
            login = next((f for f in forms if "password" in f.fields), None)
            consent = next((f for f in forms if "approve" in f.buttons.get("decision", [])), None)
            if login is not None:
                if "login" in self.steps:
                    raise SignInFailed(f"the OP refused the login: {_alert(response.text)}")
                if username is None or password is None:
                    raise SignInFailed(
                        "the OP asks for a login and no test account was given",
                        hint="give --username and --password-stdin",
                    )
                self.steps.append("login")
                data = {**login.fields, "username": username, "password": password}
                response = await self._send("POST", str(response.url.join(login.action)), data)
            elif consent is not None:
                self.steps.append("consent")
                data = {**consent.fields, "decision": "approve" if approve else "deny"}
                response = await self._send("POST", str(response.url.join(consent.action)), data)
            else:
                raise SignInFailed(
                    f"the OP showed a page at {response.url.path} with neither a login, a "
                    f"consent nor a response form: {_alert(response.text)}",
                    hint="the OP's error page; the request or the client registration is wrong",
                )
        raise SignInFailed(f"no answer to the redirect_uri after {self.max_steps} steps")

    async def log_out(self, url: str, post_logout_redirect_uri: str | None) -> str:
        """Follow an RP-Initiated Logout request at ``url``, confirming on the OP's page (a
        form with a ``decision=logout`` button). Returns the URL the OP sends the browser back
        to, or ``""`` when it ends on its own page."""
        response = await self._send("GET", url)
        confirmed = False
        for _ in range(self.max_steps):
            if response.status_code in (301, 302, 303, 307, 308):
                location = str(response.url.join(response.headers.get("location", "")))
                if post_logout_redirect_uri and location.startswith(post_logout_redirect_uri):
                    return location
                response = await self._send("GET", location)
                continue
            if response.status_code != 200:
                raise SignInFailed(
                    f"the OP answered HTTP {response.status_code} at {response.url.path}: "
                    f"{_alert(response.text)}",
                    hint="the client's post_logout_redirect_uris and the id_token_hint",
                )
            form = next(
                (
                    f
                    for f in parse_forms(response.text)
                    if "logout" in f.buttons.get("decision", [])
                ),
                None,
            )
            if form is None or confirmed:
                return ""
            confirmed = True
            data = {**form.fields, "decision": "logout"}
            response = await self._send("POST", str(response.url.join(form.action)), data)
        raise SignInFailed(f"the logout did not end after {self.max_steps} steps")

    async def _send(
        self, method: str, url: str, data: dict[str, str] | None = None
    ) -> httpx.Response:
        try:
            return await self.http.request(method, url, data=data)
        except httpx.HTTPError as exc:
            raise SignInFailed(
                f"cannot reach {url.split('?')[0]}: {type(exc).__name__}",
                hint="that the OP is running and reachable at the issuer URL",
            ) from None


def _alert(html: str) -> str:
    match = _ALERT.search(html)
    if match is None:
        title = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.DOTALL)
        return unescape(re.sub(r"<[^>]+>", "", title.group(1))).strip() if title else "no reason"
    return unescape(match.group(1)).strip()
