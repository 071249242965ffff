"""Theming: an operator's folder overrides templates, the stylesheet and static files; the
product name, logo and colours come from settings. Through the real app, in-process."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from idgate.config import ConfigError, load_settings
from idgate.provider import Provider
from idgate.testing import asgi_client
from idgate.web.app import create_app
from idgate.web.pages import STYLESHEET_URL
from idgate.web.theme import STATIC_DIR, Theme, text_colour_on

pytestmark = pytest.mark.anyio

LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1"/></svg>'
)


def _theme_folder(root: Path) -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "static").mkdir()
    # Any template may be replaced; this one keeps the packaged base and adds a help line.
    (root / "templates" / "error.html").write_text(
        '{% extends "base.html" %}{% block title %}{{ title }}{% endblock %}'
        '{% block content %}<h1>{{ title }}</h1><p class="message">{{ message }}</p>'
        '<p class="acme-help">{{ _("Call the ACME help desk.") }}</p>{% endblock %}',
        encoding="utf-8",
    )
    (root / "static" / "logo.svg").write_text(LOGO, encoding="utf-8")
    (root / "static" / "idgate.css").write_text("body { color: #123456; }\n", encoding="utf-8")
    return root


async def test_a_theme_folder_and_settings_change_the_pages(
    provider: Provider, tmp_path: Path
) -> None:
    folder = _theme_folder(tmp_path / "acme")
    settings = dataclasses.replace(
        provider.settings,
        theme_dir=str(folder),
        product_name="ACME Account",
        logo_url="/static/logo.svg",
        accent_color="#ffcc00",
        accent_color_dark="#224488",
    )
    themed = dataclasses.replace(provider, settings=settings)
    async with asgi_client(create_app(themed)) as http:
        page = await http.get("/interaction/unknown")
        assert page.status_code == 400
        assert '<p class="acme-help">Call the ACME help desk.</p>' in page.text
        assert '<p class="product">ACME Account</p>' in page.text
        assert '<img class="logo" src="/static/logo.svg" alt=""' in page.text
        assert "<title>This sign-in has expired · ACME Account</title>" in page.text

        logo = await http.get("/static/logo.svg")
        assert logo.status_code == 200
        assert logo.text == LOGO
        css = await http.get(STYLESHEET_URL)
        assert css.status_code == 200
        assert css.headers["content-type"].startswith("text/css")
        assert css.text.startswith("body { color: #123456; }")  # the theme's stylesheet
        # A light accent gets black text on buttons, a dark one white.
        assert ":root { --accent: #ffcc00; --focus: #ffcc00; --accent-text: #000000; }" in css.text
        assert "--accent: #224488; --focus: #224488; --accent-text: #ffffff;" in css.text
        # Files the theme does not have still come from the package.
        assert (await http.get("/static/nothing-here.css")).status_code == 404


async def test_without_a_theme_the_packaged_look(provider: Provider) -> None:
    async with asgi_client(create_app(provider)) as http:
        css = await http.get(STYLESHEET_URL)
        assert css.text == (STATIC_DIR / "idgate.css").read_text(encoding="utf-8")
        page = await http.get("/interaction/unknown")
        assert '<p class="product">idgate</p>' in page.text
        assert "<img" not in page.text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("accent_color", "red"),
        ("accent_color", "#12345"),
        ("accent_color_dark", "#123456; background: url(x)"),
        ("logo_url", "https://cdn.example/logo.svg"),
        ("logo_url", "//cdn.example/logo.svg"),
        ("theme_dir", "/no/such/folder"),
        ("product_name", "  "),
    ],
)
def test_bad_theme_settings_are_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings(environ={f"IDGATE_{name.upper()}": value})


def test_theme_settings_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(
        environ={
            "IDGATE_THEME_DIR": str(tmp_path),
            "IDGATE_PRODUCT_NAME": "ACME",
            "IDGATE_LOGO_URL": "/static/acme.svg",
            "IDGATE_ACCENT_COLOR": "#0a0",
        }
    )
    theme = Theme.from_settings(settings)
    assert theme.folder == tmp_path
    assert theme.product_name == "ACME"
    assert b"--accent: #0a0;" in theme.stylesheet()


@pytest.mark.parametrize(
    ("background", "text"),
    [("#ffffff", "#000000"), ("#000", "#ffffff"), ("#0b57d0", "#ffffff"), ("#ffcc00", "#000000")],
)
def test_text_colour_on_an_accent(background: str, text: str) -> None:
    assert text_colour_on(background) == text
