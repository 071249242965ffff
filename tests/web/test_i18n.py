"""The pages' languages: catalogs shipped complete, and the choice ui_locales > Accept-Language.

Endpoint tests run in-process (httpx ASGI transport) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from idgate.provider import Provider
from idgate.testing import asgi_client, parse_forms
from idgate.web.app import create_app
from idgate.web.i18n import LOCALE_DIR, Catalogs, parse_accept_language
from idgate.web.pages import Pages

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "src" / "idgate" / "web"
PROVIDER = ROOT / "src" / "idgate" / "provider"
SHIPPED = ["de"]
RP = "https://rp.example"


# --- the catalogs -----------------------------------------------------------------------------


def _extracted() -> set[str]:
    """Every msgid in the code and templates now, as scripts/translations extracts them."""
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}
    found = extract_from_dir(str(WEB), method_map, options_map=options)
    return {message if isinstance(message, str) else message[0] for _, _, message, *_ in found}


def _catalog(tag: str) -> dict[str, str]:
    with (LOCALE_DIR / tag / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=tag)
    return {m.id: m.string for m in catalog if m.id and not m.fuzzy}  # type: ignore[misc]


def test_the_template_is_up_to_date_with_the_code() -> None:
    with (LOCALE_DIR / "messages.pot").open("rb") as fh:
        template = {m.id for m in read_po(fh) if m.id}
    extracted = _extracted()
    assert extracted - template == set(), "run scripts/translations"
    assert template - extracted == set(), "run scripts/translations"


@pytest.mark.parametrize("tag", SHIPPED)
def test_every_shipped_language_translates_every_message(tag: str) -> None:
    catalog = _catalog(tag)
    missing = sorted(m for m in _extracted() if not catalog.get(m))
    assert missing == [], f"untranslated in {tag}: {missing}"
    for msgid, text in catalog.items():
        # Placeholders must survive translation, or formatting the page would fail.
        assert sorted(_placeholders(msgid)) == sorted(_placeholders(text)), msgid


def _placeholders(text: str) -> list[str]:
    return re.findall(r"%\((\w+)\)s", text)


def _provider_texts() -> set[str]:
    """String literals the provider puts on pages: ShowError(...) and the login messages."""
    texts: set[str] = set()
    for path in PROVIDER.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ShowError":
                for arg in node.args[:2]:
                    text = _literal(arg)
                    if text is not None:
                        texts.add(text)
    texts.add("The username or password is incorrect.")
    return texts


def _literal(node: ast.expr) -> str | None:
    """A plain string literal; f-strings carry protocol descriptions, shown as details."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def test_every_plain_words_text_of_the_provider_is_in_the_catalogs() -> None:
    texts = _provider_texts()
    assert "This sign-in has expired" in texts  # the scan does find them
    assert texts - _extracted() == set()


def test_german_pages_really_are_german() -> None:
    pages = Pages()
    de = pages.catalogs.get("de")
    body = bytes(pages.login(action="/l", csrf_token="c", client_name="X", language=de).body)
    assert '<html lang="de"' in body.decode()
    assert "Passwort" in body.decode()
    assert "Password<" not in body.decode()


# --- choosing the language --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de-DE,de;q=0.9,en;q=0.8", ["de-DE", "de", "en"]),
        ("en;q=0.5, de", ["de", "en"]),
        ("fr;q=0, de;q=0.1", ["de"]),
        ("*, de;q=0.5", ["de"]),
        ("de;q=abc, en", ["en"]),
        ("<script>, en", ["en"]),
        ("", []),
        (None, []),
        ("x" * 600, []),
    ],
)
def test_accept_language_parsing(header: str | None, expected: list[str]) -> None:
    assert parse_accept_language(header) == expected


@pytest.mark.parametrize(
    ("ui_locales", "accept", "expected"),
    [
        ((), None, "en"),
        ((), "de-CH, en;q=0.5", "de"),
        ((), "fr, es", "en"),
        (("de",), "en", "de"),  # ui_locales first
        (("en",), "de", "en"),
        (("fr-CA", "de"), "en", "de"),  # the first available of ui_locales
        (("fr",), "de", "de"),  # none available: Accept-Language
        (("DE-at",), None, "de"),
    ],
)
def test_language_choice(ui_locales: tuple[str, ...], accept: str | None, expected: str) -> None:
    assert Catalogs().choose(ui_locales, accept).tag == expected


def test_a_theme_catalog_overrides_and_adds(tmp_path: Path) -> None:
    (tmp_path / "de" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "de" / "LC_MESSAGES" / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "Sign in"\nmsgstr "Einloggen"\n',
        encoding="utf-8",
    )
    (tmp_path / "fr" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "fr" / "LC_MESSAGES" / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "Sign in"\nmsgstr "Se connecter"\n',
        encoding="utf-8",
    )
    catalogs = Catalogs(extra_dirs=[tmp_path])
    assert catalogs.tags == ("de", "en", "fr")
    de = catalogs.get("de")
    assert de.gettext("Sign in") == "Einloggen"  # the theme's entry wins
    assert de.gettext("Password") == "Passwort"  # the packaged catalog still answers
    assert catalogs.get("fr").gettext("Sign in") == "Se connecter"
    assert catalogs.get("fr").gettext("Password") == "Password"  # falls back to English


# --- through the endpoints --------------------------------------------------------------------


async def _client(provider: Provider) -> str:
    created = await provider.registration.register_trusted(
        {
            "client_name": "Photo Printer",
            "redirect_uris": [f"{RP}/cb"],
            "response_types": ["code"],
            "grant_types": ["authorization_code"],
        }
    )
    return created.client.client_id


def _authorize(client_id: str, **extra: str) -> str:
    params = {
        "client_id": client_id,
        "redirect_uri": f"{RP}/cb",
        "response_type": "code",
        "scope": "openid",
        "claims_locales": "fr",
        **extra,
    }
    return f"/authorize?{urlencode(params)}"


async def _login_page(http: httpx.AsyncClient, url: str, **headers: str) -> httpx.Response:
    response = await http.get(url, headers=headers)
    assert response.status_code == 303
    return await http.get(response.headers["location"], headers=headers)


async def test_ui_locales_picks_the_login_language_before_accept_language(
    provider: Provider,
) -> None:
    client_id = await _client(provider)
    async with asgi_client(create_app(provider)) as http:
        page = await _login_page(
            http, _authorize(client_id, ui_locales="de en"), **{"accept-language": "en"}
        )
        assert page.status_code == 200
        assert '<html lang="de"' in page.text
        assert page.headers["content-language"] == "de"
        assert "Benutzername" in page.text

        # The wrong password's page keeps the request's language (and translates the error).
        (form,) = [f for f in parse_forms(page.text) if "password" in f.fields]
        wrong = await http.post(
            form.action, data={**form.fields, "username": "nobody", "password": "x"}
        )
        assert "Benutzername oder Passwort ist falsch." in wrong.text

    async with asgi_client(create_app(provider)) as http:
        page = await _login_page(
            http, _authorize(client_id, ui_locales="en"), **{"accept-language": "de"}
        )
        assert '<html lang="en"' in page.text


async def test_accept_language_when_ui_locales_is_absent_and_claims_locales_is_ignored(
    provider: Provider,
) -> None:
    client_id = await _client(provider)
    async with asgi_client(create_app(provider)) as http:
        page = await _login_page(http, _authorize(client_id), **{"accept-language": "de-DE"})
        assert '<html lang="de"' in page.text
    async with asgi_client(create_app(provider)) as http:
        # claims_locales=fr, ui_locales=de: the page is German, never chosen by claims_locales.
        page = await _login_page(http, _authorize(client_id, claims_locales="de"))
        assert '<html lang="en"' in page.text


async def test_error_pages_speak_the_browsers_language(provider: Provider) -> None:
    async with asgi_client(create_app(provider)) as http:
        response = await http.get(
            _authorize("nobody", ui_locales="de"), headers={"accept-language": "en"}
        )
        assert response.status_code == 400
        assert "location" not in response.headers
        assert "Unbekannte Anwendung" in response.text
        assert "unknown client_id" in response.text  # the developers' detail, as it is
        response = await http.get("/interaction/gone", headers={"accept-language": "de"})
        assert "Diese Anmeldung ist abgelaufen" in response.text
