"""Fixtures for the browser tests of the pages: Node packages, Debian's Chromium, the OP.

Tools are installed by the fixtures themselves, as in tests/interop (CI starts from a clean
clone): `npm ci` into tests/pages/node/ from its package-lock.json (axe-core, playwright-core),
and `apt-get install chromium` when /usr/bin/chromium is missing and we are root. When that is
impossible a local run skips loudly; under CI it fails.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pages_support import (
    NODE_DIR,
    OP,
    serve,
    serve_then_lose_the_database,
    unavailable,
)

from idgate.web.pages import TEMPLATE_DIR as PACKAGED_TEMPLATES
from tooling import debian_chromium, npm_ci


@pytest.fixture(scope="session")
def node_modules() -> Path:
    return npm_ci(NODE_DIR, unavailable)


@pytest.fixture(scope="session")
def chromium() -> str:
    return debian_chromium(unavailable)


@pytest.fixture(scope="module")
def op(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OP]:
    path = tmp_path_factory.mktemp("pages") / "idgate.db"
    shutil.copyfile(sqlite_template, path)
    yield from serve(f"sqlite:///{path}")


@pytest.fixture
def op_without_database(request: pytest.FixtureRequest, postgres_server_url: str) -> Iterator[str]:
    """The URL of an idgate whose PostgreSQL database has just been dropped."""
    template: str = request.getfixturevalue("postgres_template")
    yield from serve_then_lose_the_database(postgres_server_url, template)


THEME_LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><path d="M16 2 30 30H2z" '
    'fill="#7b2cbf"/></svg>'
)


@pytest.fixture(scope="module")
def themed_op(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OP]:
    """An idgate with an operator's theme: settings, a logo and a template of its own."""
    root = tmp_path_factory.mktemp("themed")
    theme = root / "theme"
    (theme / "static").mkdir(parents=True)
    (theme / "templates").mkdir()
    (theme / "static" / "acme.svg").write_text(THEME_LOGO, encoding="utf-8")
    # The operator's base.html: the packaged one plus a footer of theirs.
    base = (PACKAGED_TEMPLATES / "base.html").read_text(encoding="utf-8")
    (theme / "templates" / "base.html").write_text(
        base.replace(
            "</main>",
            '</main>\n<footer class="card acme-footer"><p>{{ _("Need help? Call ACME support.") }}'
            "</p></footer>",
        ),
        encoding="utf-8",
    )
    path = root / "idgate.db"
    shutil.copyfile(sqlite_template, path)
    yield from serve(
        f"sqlite:///{path}",
        {
            "IDGATE_THEME_DIR": str(theme),
            "IDGATE_PRODUCT_NAME": "ACME Account",
            "IDGATE_LOGO_URL": "/static/acme.svg",
            "IDGATE_ACCENT_COLOR": "#7b2cbf",
            "IDGATE_ACCENT_COLOR_DARK": "#d0a8ff",
        },
    )
