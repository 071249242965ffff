"""Every page a person sees, in a real headless Chromium: both languages, phone and desktop.

The browser walks the real flow on a real `idgate serve` (login, a wrong password, consent,
form_post, logout confirmation, signed out, the error pages), once with JavaScript and once
without. Screenshots go to build/screenshots/ for a person to look at (the path is printed);
axe-core, run in the same browser, must report no serious or critical violation, the page must
be in the language asked for, fit the phone's width, and have its stylesheet applied.

The outage page is real too: a second `idgate serve` on PostgreSQL whose database is dropped
under it (so this test needs the PostgreSQL server, like the storage tests).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from pages_support import NODE_DIR, OP, PASSWORD, RP_ORIGIN, USERNAME, unavailable

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
LANGUAGES = [{"tag": "en", "locale": "en-US"}, {"tag": "de", "locale": "de-DE"}]
WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48"><rect width="48" height="48" '
    'rx="10" fill="#e8590c"/><circle cx="24" cy="22" r="9" fill="#fff"/>'
    '<rect x="12" y="34" width="24" height="5" rx="2" fill="#fff"/></svg>'
)
PAGES = [
    "login",
    "login-error",
    "consent",
    "form-post",
    "logout-confirm",
    "logged-out",
    "error-unknown-client",
    "error-unregistered-redirect-uri",
    "error-expired-interaction",
    "error-database-unavailable",
    "form-post-no-javascript",
]
# What each page's main heading says, per language: the catalog was really used.
HEADINGS = {
    ("login", "en"): "Sign in to continue to Photo Printer",
    ("login", "de"): "Melden Sie sich an, um mit Photo Printer fortzufahren",
    ("consent", "en"): "Photo Printer wants to use your account",
    ("consent", "de"): "Photo Printer möchte Ihr Konto verwenden",
    ("logout-confirm", "en"): "Sign out?",
    ("logout-confirm", "de"): "Abmelden?",
    ("logged-out", "en"): "You are signed out",
    ("logged-out", "de"): "Sie sind abgemeldet",
    ("error-unknown-client", "en"): "Unknown application",
    ("error-unknown-client", "de"): "Unbekannte Anwendung",
    ("error-expired-interaction", "de"): "Diese Anmeldung ist abgelaufen",
    ("error-database-unavailable", "en"): "Temporarily unavailable",
    ("error-database-unavailable", "de"): "Vorübergehend nicht verfügbar",
    (
        "error-unregistered-redirect-uri",
        "en",
    ): "This application's return address is not registered",
}
SERIOUS = frozenset({"serious", "critical"})


def _config(op: OP, down: str, chromium: str) -> dict[str, Any]:
    authorize = {
        "client_id": op.client_id,
        "redirect_uri": f"{RP_ORIGIN}/cb",
        "response_type": "code",
        "response_mode": "form_post",
        "scope": "openid profile email",
        "state": "s1",
        "nonce": "n1",
        "prompt": "consent",  # ask every variant again, though alice approved before
    }
    unregistered = {**authorize, "redirect_uri": "https://elsewhere.example/cb"}
    return {
        "chromium": chromium,
        "out": str(SCREENSHOTS),
        "languages": LANGUAGES,
        "widths": WIDTHS,
        "username": USERNAME,
        "password": PASSWORD,
        "rp_origin": RP_ORIGIN,
        "client_logo": {"path": "/logo.svg", "svg": LOGO_SVG},
        "authorize_url": f"{op.url}/authorize?{urlencode(authorize)}",
        "logout_url": f"{op.url}/logout?{urlencode({'client_id': op.client_id})}",
        "errors": [
            {
                "name": "unknown-client",
                "url": f"{op.url}/authorize?{urlencode({**authorize, 'client_id': 'nobody'})}",
            },
            {
                "name": "unregistered-redirect-uri",
                "url": f"{op.url}/authorize?{urlencode(unregistered)}",
            },
            {"name": "expired-interaction", "url": f"{op.url}/interaction/no-such-sign-in"},
        ],
        "outage_url": f"{down}/authorize?{urlencode(authorize)}",
    }


def run_browser(config: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        unavailable("node is not on PATH")
    out = Path(config["out"])
    if out.exists():
        shutil.rmtree(out)
    done = subprocess.run(
        [node, str(NODE_DIR / "pages.mjs"), json.dumps(config)],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"pages.mjs printed nothing (exit {done.returncode}):\n{done.stderr[-3000:]}"
    result: dict[str, Any] = json.loads(lines[-1])
    log = "\n".join(result.get("log", []))
    assert "error" not in result, f"{result['error']}\nbrowser log:\n{log}\n{done.stderr[-2000:]}"
    return result


@pytest.mark.timeout(600)
def test_every_page_in_both_languages_at_both_widths(
    op: OP, op_without_database: str, chromium: str, node_modules: Path
) -> None:
    result = run_browser(_config(op, op_without_database, chromium))
    print(f"\nscreenshots of the pages: {SCREENSHOTS}")
    shown = {(p["name"], p["language"], p["width"]): p for p in result["pages"]}
    expected = {
        (name, language["tag"], width)
        for name in PAGES
        for language in LANGUAGES
        for width in WIDTHS
    }
    assert set(shown) == expected

    problems = []
    for (name, language, width), page in sorted(shown.items()):
        where = f"{language}-{width}-{name}"
        assert Path(page["file"]).stat().st_size > 1000, where
        if page["lang"] != language:
            problems.append(f"{where}: <html lang={page['lang']!r}>")
        if not page["stylesheet"]:
            problems.append(f"{where}: the stylesheet was not applied")
        if page["overflow"]:
            problems.append(f"{where}: wider than the viewport")
        heading = HEADINGS.get((name, language))
        if heading is not None and page["h1"] != heading:
            problems.append(f"{where}: heading {page['h1']!r}, expected {heading!r}")
        for violation in page["violations"] or []:
            if violation["impact"] in SERIOUS:
                problems.append(f"{where}: axe {violation['id']} ({violation['help']})")
    # The CSP must never have had to block anything the pages themselves load.
    blocked = [line for line in result["log"] if "Content Security Policy" in line]
    assert not problems, "\n".join(problems)
    assert not blocked, "\n".join(blocked)


@pytest.mark.timeout(300)
def test_an_operators_theme_in_the_browser(
    themed_op: OP, chromium: str, node_modules: Path
) -> None:
    """The themed login page: the operator's name, logo, colour and template, still clean."""
    config = {**_config(themed_op, "http://unused.invalid", chromium), "themed": True}
    config["out"] = str(SCREENSHOTS.parent / "screenshots-theme")
    result = run_browser(config)
    print(f"\nscreenshots of the themed pages: {config['out']}")
    assert len(result["pages"]) == len(LANGUAGES) * len(WIDTHS)
    for page in result["pages"]:
        where = f"{page['language']}-{page['width']}"
        assert page["product"] == "ACME Account", where
        assert page["logo"] > 0, f"{where}: the theme's logo did not load"
        assert page["accent"] == "rgb(123, 44, 191)", where  # #7b2cbf
        assert page["title"].endswith(" · ACME Account"), where
        assert page["footer"] == "Need help? Call ACME support.", where  # its base.html
        serious = [v for v in page["violations"] if v["impact"] in SERIOUS]
        assert serious == [], f"{where}: {serious}"
