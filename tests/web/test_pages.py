"""The HTML pages (`idgate.web.pages.Pages`), rendered directly and read back with an HTML parser.

SECURITY.md G2, G5, G6, RDR-09, WEB-01, WEB-02, WEB-08, WEB-09, WEB-10.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.responses import HTMLResponse

from idgate.web.pages import STATIC_DIR, STYLESHEET_URL, TEMPLATE_DIR, Pages

HOSTILE = '"><script>alert(1)</script>'
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# SECURITY.md G2: what must never show up in a body.
INTERNALS = re.compile(
    r'Traceback|File ".*", line \d+|site-packages|sqlalchemy|psycopg|asyncpg|sqlite3\.'
    r"|jinja2\.exceptions|KeyError|TypeError"
)
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"})


# --- a small DOM over html.parser -------------------------------------------------------------


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    parent: Element | None = None
    children: list[Element | str] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        return self.attrs.get(name)

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def iter(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def find_all(self, tag: str, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.iter()
            if e.tag == tag and all(e.get(k.rstrip("_")) == v for k, v in attrs.items())
        ]

    def find(self, tag: str, **attrs: str) -> Element:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]

    def ancestor(self, tag: str) -> Element | None:
        node = self.parent
        while node is not None and node.tag != tag:
            node = node.parent
        return node


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs), parent=self.current)
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Element(tag, dict(attrs), parent=self.current))

    def handle_endtag(self, tag: str) -> None:
        node: Element | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        assert node is not None, f"stray </{tag}>"
        assert node.parent is not None, f"stray </{tag}>"
        self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse(response: HTMLResponse) -> Element:
    builder = _TreeBuilder()
    builder.feed(bytes(response.body).decode("utf-8"))
    builder.close()
    assert builder.current is builder.root, "unclosed elements"
    return builder.root


def body_text(response: HTMLResponse) -> str:
    return bytes(response.body).decode("utf-8")


def csp(response: HTMLResponse) -> dict[str, str]:
    directives = (d.strip() for d in response.headers["content-security-policy"].split(";"))
    return dict(tuple(d.split(" ", 1)) for d in directives if d)  # type: ignore[misc]


def urls_in(doc: Element) -> list[str]:
    return [
        value
        for e in doc.iter()
        for name, value in e.attrs.items()
        if name in ("href", "src", "action", "srcset", "poster", "data") and value is not None
    ]


# --- every page type ------------------------------------------------------------------------

PAGES = Pages()

PAGE_MAKERS: dict[str, Callable[[], HTMLResponse]] = {
    "login": lambda: PAGES.login(action="/login", csrf_token="c", client_name="Demo"),
    "consent": lambda: PAGES.consent(
        action="/consent",
        csrf_token="c",
        client_name="Demo",
        username="alice",
        scopes=[("openid", "Know who you are")],
    ),
    "error": lambda: PAGES.error(title="Oops", message="Something is wrong."),
    "message": lambda: PAGES.message(title="Signed out", message="You are signed out."),
}


@pytest.mark.parametrize("page", sorted(PAGE_MAKERS))
def test_every_page_has_the_headers_and_head_it_must(page: str) -> None:
    response = PAGE_MAKERS[page]()
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-security-policy"] == PAGE_CSP
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-type"] == "text/html; charset=utf-8"

    doc = parse(response)
    assert doc.find("html").get("lang") == "en"
    assert "width=device-width" in (doc.find("meta", name="viewport").get("content") or "")
    assert doc.find("meta", name="referrer").get("content") == "no-referrer"
    assert doc.find("link", rel="stylesheet").get("href") == STYLESHEET_URL
    assert doc.find_all("script") == []
    assert doc.find_all("style") == []
    assert all(e.get("style") is None for e in doc.iter())
    # WEB-02: nothing off-origin is loaded (links to client pages are checked with consent).
    assert all(url.startswith("/") and not url.startswith("//") for url in urls_in(doc))


def test_stylesheet_is_packaged_where_the_pages_point() -> None:
    assert STYLESHEET_URL == "/static/idgate.css"
    css = (STATIC_DIR / "idgate.css").read_text()
    assert ":focus-visible" in css
    assert "@import" not in css
    assert "url(" not in css
    assert (TEMPLATE_DIR / "login.html").is_file()


# --- login ----------------------------------------------------------------------------------


def test_login_form_fields_labels_and_autocomplete() -> None:
    doc = parse(
        PAGES.login(
            action="/authorize/login?i=1",
            csrf_token="tok-123",
            client_name="Demo",
            login_hint="bob",
        )
    )
    form = doc.find("form", action="/authorize/login?i=1")
    assert (form.get("method") or "").lower() == "post"

    username = form.find("input", name="username")
    assert username.get("autocomplete") == "username"
    assert username.get("value") == "bob"
    password = form.find("input", name="password")
    assert password.get("type") == "password"
    assert password.get("autocomplete") == "current-password"
    assert password.get("value") is None
    assert form.find("input", name="csrf_token").attrs == {
        "type": "hidden",
        "name": "csrf_token",
        "value": "tok-123",
    }

    labels = {label.get("for"): label.text.strip() for label in doc.find_all("label")}
    visible = [i for i in form.find_all("input") if i.get("type") != "hidden"]
    assert len(visible) == 2
    for element in visible:
        assert element.get("id"), "a labelled input needs an id"
        assert labels.get(element.get("id")), f"no label for {element.get('name')}"
    assert [b.get("type") for b in form.find_all("button")] == ["submit"]
    assert "Sign in to continue to Demo" in doc.find("title").text
    assert doc.find("h1").text == "Sign in to continue to Demo"


def test_login_escapes_client_name_and_login_hint() -> None:
    response = PAGES.login(
        action="/login", csrf_token="c", client_name=HOSTILE, login_hint=HOSTILE, error=HOSTILE
    )
    assert HOSTILE not in body_text(response)
    doc = parse(response)
    assert doc.find_all("script") == []
    # The payload arrives as text and as an attribute value, byte for byte.
    assert doc.find("h1").text == f"Sign in to continue to {HOSTILE}"
    assert doc.find("input", name="username").get("value") == HOSTILE
    assert doc.find("p", role="alert").text == HOSTILE


def test_login_error_is_announced_only_when_there_is_one() -> None:
    quiet = parse(PAGES.login(action="/login", csrf_token="c", client_name="Demo"))
    assert quiet.find_all("p", role="alert") == []
    assert all(e.get("role") != "alert" for e in quiet.iter())

    loud = parse(
        PAGES.login(action="/login", csrf_token="c", client_name="Demo", error="Wrong password.")
    )
    alert = loud.find("p", role="alert")
    assert alert.text.strip() == "Wrong password."
    assert loud.find("input", name="password").get("aria-describedby") == alert.get("id")


def test_login_status_code_is_the_callers() -> None:
    response = PAGES.login(
        action="/login", csrf_token="c", client_name="Demo", error="No.", status_code=401
    )
    assert response.status_code == 401
    assert PAGES.login(action="/login", csrf_token="c", client_name="Demo").status_code == 200


def test_login_cancel_is_a_separate_form_with_the_csrf_token() -> None:
    without = parse(PAGES.login(action="/login", csrf_token="c", client_name="Demo"))
    assert len(without.find_all("form")) == 1

    doc = parse(
        PAGES.login(action="/login", csrf_token="tok", client_name="Demo", cancel_action="/cancel")
    )
    cancel = doc.find("form", action="/cancel")
    assert (cancel.get("method") or "").lower() == "post"
    assert [(i.get("type"), i.get("name"), i.get("value")) for i in cancel.find_all("input")] == [
        ("hidden", "csrf_token", "tok")
    ]
    assert [b.get("type") for b in cancel.find_all("button")] == ["submit"]
    assert cancel.ancestor("form") is None, "forms must not nest"


def test_login_with_a_redirect_uri_allows_the_redirect_that_follows_the_post() -> None:
    response = PAGES.login(
        action="/login",
        csrf_token="c",
        client_name="Demo",
        redirect_uri="https://RP.example:8443/cb?x=1",
    )
    assert csp(response)["form-action"] == "'self' https://rp.example:8443"


# --- consent --------------------------------------------------------------------------------


def consent(**overrides: object) -> HTMLResponse:
    arguments: dict[str, object] = {
        "action": "/consent?i=7",
        "csrf_token": "tok-9",
        "client_name": "Photo Printer",
        "username": "alice",
        "scopes": [("openid", "Know who you are"), ("email", "See your email address")],
        "claims": ["email", "email_verified"],
    }
    arguments.update(overrides)
    return PAGES.consent(**arguments)  # type: ignore[arg-type]


def test_consent_has_approve_and_deny_buttons_in_one_csrf_form() -> None:
    doc = parse(consent())
    form = doc.find("form", action="/consent?i=7")
    assert (form.get("method") or "").lower() == "post"
    assert form.find("input", name="csrf_token").get("value") == "tok-9"
    assert form.find("input", name="csrf_token").get("type") == "hidden"
    buttons = [(b.get("type"), b.get("name"), b.get("value")) for b in form.find_all("button")]
    assert sorted(buttons) == [("submit", "decision", "approve"), ("submit", "decision", "deny")]
    assert len(doc.find_all("button")) == 2


def test_consent_names_client_user_scopes_and_claims() -> None:
    doc = parse(consent(redirect_uri="https://print.example/cb"))
    text = " ".join(doc.find("main").text.split())
    assert "Photo Printer" in doc.find("h1").text
    assert "alice" in text
    assert "Know who you are" in text
    assert "See your email address" in text
    items = [" ".join(li.text.split()) for li in doc.find("ul", class_="scopes").find_all("li")]
    assert items == ["Know who you are openid", "See your email address email"]
    claims = [" ".join(li.text.split()) for li in doc.find("ul", class_="claims").find_all("li")]
    assert claims == [
        "Your email address email",
        "Whether your email address is verified email_verified",
    ]
    assert "print.example" in text  # WEB-10: the page names where the user is sent


def test_consent_escapes_everything_from_the_request_and_the_client() -> None:
    response = consent(
        client_name=HOSTILE,
        username=HOSTILE,
        scopes=[(HOSTILE, HOSTILE)],
        claims=[HOSTILE],
        redirect_uri="https://rp.example/cb",
    )
    assert HOSTILE not in body_text(response)
    doc = parse(response)
    assert doc.find_all("script") == []
    assert HOSTILE in doc.find("h1").text
    assert doc.find("ul", class_="claims").find("li").text == HOSTILE


def test_consent_links_only_https_with_noopener_noreferrer() -> None:
    doc = parse(
        consent(
            client_uri="https://print.example/",
            policy_uri="https://print.example/privacy",
            tos_uri="https://print.example/terms",
        )
    )
    links = doc.find_all("a")
    assert [a.get("href") for a in links] == [
        "https://print.example/",
        "https://print.example/privacy",
        "https://print.example/terms",
    ]
    for link in links:
        assert set((link.get("rel") or "").split()) == {"noopener", "noreferrer"}

    unsafe = parse(
        consent(
            client_uri="javascript:alert(1)",
            policy_uri="http://print.example/privacy",
            tos_uri=" https://print.example/terms",
        )
    )
    assert unsafe.find_all("a") == []
    assert "javascript:" not in body_text(consent(client_uri="javascript:alert(1)"))


def test_consent_neutralises_bidi_and_zero_width_characters_in_names() -> None:
    # U+202E RIGHT-TO-LEFT OVERRIDE and U+200B ZERO WIDTH SPACE would disguise the name.
    doc = parse(consent(client_name="Good\u202eelgooG\u200b App", username="al\u2066ice"))
    assert doc.find("h1").text.startswith("GoodelgooG App")
    body = body_text(consent(client_name="Good\u202eelgooG\u200b App"))
    assert "\u202e" not in body
    assert "\u200b" not in body


def test_consent_with_a_redirect_uri_allows_the_redirect_that_follows_the_post() -> None:
    assert csp(consent(redirect_uri="https://rp.example/cb"))["form-action"] == (
        "'self' https://rp.example"
    )
    assert csp(consent(redirect_uri="com.example.app:/cb"))["form-action"] == (
        "'self' com.example.app:"
    )
    # An IPv6 literal cannot be named in CSP: the directive is left out rather than break login.
    assert "form-action" not in csp(consent(redirect_uri="http://[::1]:5000/cb"))
    with pytest.raises(ValueError, match="scheme"):
        consent(redirect_uri="javascript:alert(1)")


# --- error and message pages ----------------------------------------------------------------


def test_error_page_has_status_plain_words_and_no_internals() -> None:
    response = PAGES.error(
        title="This link does not work",
        message="The application sent an unknown client_id.",
        status_code=400,
    )
    assert response.status_code == 400
    body = body_text(response)
    assert not INTERNALS.search(body)
    doc = parse(response)
    assert doc.find("h1").text == "This link does not work"
    assert doc.find("p", class_="message").text == "The application sent an unknown client_id."
    assert PAGES.error(title="Busy", message="Try again.", status_code=503).status_code == 503


def test_error_page_escapes_reflected_values() -> None:
    response = PAGES.error(title=HOSTILE, message=f"unknown redirect_uri {HOSTILE}")
    assert HOSTILE not in body_text(response)
    doc = parse(response)
    assert doc.find_all("script") == []
    assert doc.find("h1").text == HOSTILE


def test_message_page() -> None:
    response = PAGES.message(title="You are signed out", message="You can close this window.")
    assert response.status_code == 200
    doc = parse(response)
    assert doc.find("h1").text == "You are signed out"
    assert doc.find("p", class_="message").text == "You can close this window."
    assert PAGES.message(title="Gone", message="Gone.", status_code=410).status_code == 410


# --- form_post ------------------------------------------------------------------------------

FIELDS = [
    ("code", "SplxlOBeZQQYbYS6WxSbIA"),
    ("state", HOSTILE),
    ("iss", "https://op.example"),
    ("odd", "&amp; &=#%+ \t'\"<>` ünïcødé 🗝 \\"),
    ("long", "x" * 1000),
    ("empty", ""),
]


def form_post(action: str = "https://rp.example/cb", fields: object = FIELDS) -> HTMLResponse:
    return PAGES.form_post(action=action, fields=fields)  # type: ignore[arg-type]


def test_form_post_fields_round_trip_exactly() -> None:
    response = form_post()
    assert HOSTILE not in body_text(response)
    doc = parse(response)
    form = doc.find("form")
    assert (form.get("method") or "").lower() == "post"
    assert form.get("action") == "https://rp.example/cb"
    inputs = form.find_all("input")
    assert all(i.get("type") == "hidden" for i in inputs)
    assert [(i.get("name"), i.get("value")) for i in inputs] == FIELDS


def test_form_post_escapes_a_hostile_action_and_field_names() -> None:
    action = 'https://rp.example/cb?a="><script>alert(1)</script>'
    response = form_post(action=action, fields=[(HOSTILE, "v")])
    assert "<script>alert" not in body_text(response)
    doc = parse(response)
    assert doc.find("form").get("action") == action
    assert doc.find("input").get("name") == HOSTILE
    assert len(doc.find_all("script")) == 1


def test_form_post_script_nonce_matches_the_policy_and_is_fresh() -> None:
    first, second = form_post(), form_post()
    nonces = []
    for response in (first, second):
        (script,) = parse(response).find_all("script")
        nonce = script.get("nonce")
        assert nonce
        assert len(nonce) >= 22
        assert script.get("src") is None
        assert "submit" in script.text
        assert csp(response)["script-src"] == f"'nonce-{nonce}'"
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_form_post_policy_and_cache_headers() -> None:
    response = form_post()
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    policy = csp(response)
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'none'"
    # Same-origin style and images only: the page looks like the others with JavaScript off.
    assert policy["style-src"] == "'self'"
    assert policy["img-src"] == "'self'"
    assert set(policy) == {
        "default-src",
        "script-src",
        "style-src",
        "img-src",
        "form-action",
        "frame-ancestors",
        "base-uri",
    }


@pytest.mark.parametrize(
    ("action", "origin"),
    [
        ("https://rp.example/cb", "https://rp.example"),
        ("https://RP.Example:8443/cb/x?y=1#z", "https://rp.example:8443"),
        ("http://127.0.0.1:51234/callback", "http://127.0.0.1:51234"),
        ("https://user@rp.example/cb", "https://rp.example"),
        ("https://bücher.example/cb", "https://xn--bcher-kva.example"),
    ],
)
def test_form_post_form_action_is_the_action_origin(action: str, origin: str) -> None:
    assert csp(form_post(action=action))["form-action"] == origin


def test_form_post_to_an_ipv6_literal_leaves_form_action_out() -> None:
    response = form_post(action="http://[::1]:5000/cb")
    assert "form-action" not in csp(response)
    assert parse(response).find("form").get("action") == "http://[::1]:5000/cb"


@pytest.mark.parametrize(
    "action",
    [
        "javascript:alert(1)",
        "data:text/html,hi",
        "com.example.app:/cb",
        "/relative/cb",
        "https:///no-host",
        "https://rp.example:99999/cb",
        "https://rp.example;script-src *;/cb",
        "https://rp example/cb",
    ],
)
def test_form_post_refuses_actions_it_cannot_lock_down(action: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        form_post(action=action)


def test_form_post_works_without_javascript_and_loads_only_the_stylesheet() -> None:
    doc = parse(form_post())
    noscript = doc.find("noscript")
    assert noscript.ancestor("form") is doc.find("form")
    assert [b.get("type") for b in noscript.find_all("button")] == ["submit"]
    assert doc.find("html").get("lang") == "en"
    assert doc.find("meta", name="referrer").get("content") == "no-referrer"
    assert [link.get("href") for link in doc.find_all("link")] == [STYLESHEET_URL]
    assert doc.find_all("style") == []
    # The same-origin stylesheet, the form's action, and nothing else.
    assert urls_in(doc) == [STYLESHEET_URL, "https://rp.example/cb"]


# --- operator templates ---------------------------------------------------------------------


def test_template_dir_overrides_by_name_and_keeps_autoescape(tmp_path: Path) -> None:
    (tmp_path / "login.html").write_text(
        '{% extends "base.html" %}{% block title %}Custom{% endblock %}'
        '{% block content %}<h1 class="acme">ACME sign-in for {{ client_name }}</h1>'
        '<form method="post" action="{{ action }}"></form>{% endblock %}',
        encoding="utf-8",
    )
    pages = Pages(product_name="ACME ID", template_dir=str(tmp_path))
    response = pages.login(action="/login", csrf_token="c", client_name=HOSTILE)
    assert HOSTILE not in body_text(response)
    doc = parse(response)
    assert doc.find("h1", class_="acme").text == f"ACME sign-in for {HOSTILE}"
    assert doc.find("p", class_="product").text == "ACME ID"  # the packaged base.html
    assert response.headers["content-security-policy"] == PAGE_CSP

    # Templates the operator did not replace still come from the package.
    error = parse(pages.error(title="Oops", message="No."))
    assert error.find("h1").text == "Oops"
    assert (
        parse(PAGES.login(action="/l", csrf_token="c", client_name="x")).find_all(
            "h1", class_="acme"
        )
        == []
    )
