"""Fixtures for the browser tests of the pages: Node packages, Debian's Chromium, the OP.

Tools are installed by the fixtures themselves, as in tests/interop (CI starts from a clean
clone): `npm ci` into tests/pages/node/ from its package-lock.json (axe-core, playwright-core),
and `apt-get install chromium` when /usr/bin/chromium is missing and we are root. When that is
impossible a local run skips loudly; under CI it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pages_support import (
    CHROMIUM,
    NODE_DIR,
    OP,
    serve,
    serve_then_lose_the_database,
    unavailable,
)

from idgate.web.pages import TEMPLATE_DIR as PACKAGED_TEMPLATES


def _run(
    argv: list[str], *, timeout: float, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a fixed argv of a well-known tool (npm, apt-get), never through a shell."""
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd, env=env
    )


@pytest.fixture(scope="session")
def node_modules() -> Path:
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        unavailable("Node.js and npm are needed (node and npm not on PATH)")
    modules = NODE_DIR / "node_modules"
    installed = modules / ".package-lock.json"  # npm writes it on every install
    lock = NODE_DIR / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        done = _run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
            cwd=NODE_DIR,
            timeout=600,
        )
        if done.returncode != 0:
            unavailable(f"npm ci in {NODE_DIR} failed: {(done.stderr or done.stdout)[-1500:]}")
    return modules


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium (never a browser that a test tool downloads)."""
    if not CHROMIUM.exists():
        apt = shutil.which("apt-get")
        if apt is None or os.geteuid() != 0:
            unavailable(f"{CHROMIUM} is missing and cannot be installed (needs root and apt-get)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        lock_wait = ["-o", "DPkg::Lock::Timeout=300"]
        for argv in (
            [apt, *lock_wait, "update", "-qq"],
            [apt, *lock_wait, "install", "-y", "-qq", "chromium"],
        ):
            done = _run(argv, timeout=900, env=env)
            if done.returncode != 0:
                unavailable(f"{' '.join(argv[-2:])} failed: {(done.stderr or done.stdout)[-1500:]}")
        if not CHROMIUM.exists():
            unavailable(f"apt-get install chromium left no {CHROMIUM}")
    return str(CHROMIUM)


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
