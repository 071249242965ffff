"""A real browser: headless Chromium (Debian's) runs a single-page app built on oidc-client-ts.

Playwright (playwright-core from npm, driving /usr/bin/chromium) clicks the SPA's sign-in
button, types into idgate's real login page, clicks its real buttons, and reads the profile the
SPA shows. Screenshots of the login, consent and final pages land in tests/interop/screenshots/.

A browser-based client needs CORS on the OP endpoints it calls with fetch (discovery, token,
UserInfo). Where idgate does not answer with CORS yet, the SPA gets the discovery document
inline (oidc-client-ts's `metadata` setting) so the pages are still exercised, and the test is
marked xfail(strict) for the steps the browser must refuse; it turns green by itself when
idgate sends the headers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from interop_support import (  # type: ignore[import-not-found]
    CLAIMS,
    OP,
    PASSWORD,
    SCREENSHOTS,
    USERNAME,
    NodeRP,
    SPAServer,
)

pytestmark = pytest.mark.slow

LIBRARY = "oidc-client-ts in Chromium"


@pytest.fixture
def spa(node_modules: Path) -> Iterator[SPAServer]:
    with SPAServer(node_modules) as server:
        yield server


def cors_gaps(doc: dict[str, Any], origin: str, client_id: str) -> list[str]:
    """The endpoints this SPA calls whose answers a browser would withhold from it."""

    def readable(response: httpx.Response) -> bool:
        return response.headers.get("access-control-allow-origin") in (origin, "*")

    headers = {"Origin": origin}
    gaps = []
    discovery = httpx.get(
        f"{doc['issuer']}/.well-known/openid-configuration", headers=headers, timeout=10
    )
    if not readable(discovery):
        gaps.append("discovery")
    token = httpx.post(
        doc["token_endpoint"],
        headers=headers,
        data={"grant_type": "authorization_code", "code": "probe", "client_id": client_id},
        timeout=10,
    )
    if not readable(token):
        gaps.append("token_endpoint")
    if doc.get("userinfo_endpoint"):  # oidc-client-ts sends the token in a header: preflight
        preflight = httpx.options(
            doc["userinfo_endpoint"],
            headers={
                **headers,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
            timeout=10,
        )
        allowed = preflight.headers.get("access-control-allow-headers", "").lower()
        if not readable(preflight) or "authorization" not in allowed:
            gaps.append("userinfo_endpoint")
    return gaps


# The first run on a new machine installs Chromium from Debian in the `chromium` fixture.
@pytest.mark.timeout(900)
def test_spa_code_pkce_in_chromium(
    op: OP, chromium: str, spa: SPAServer, request: pytest.FixtureRequest
) -> None:
    redirect_uri = f"{spa.origin}/callback"
    client = op.register(
        client_name="Interop SPA",
        redirect_uris=[redirect_uri],
        response_types=["code"],
        grant_types=["authorization_code"],
        token_endpoint_auth_method="none",
    )
    doc = op.discovery()
    gaps = cors_gaps(doc, spa.origin, client["client_id"])
    spa.config = {
        "authority": op.issuer,
        "client_id": client["client_id"],
        "redirect_uri": redirect_uri,
        "load_userinfo": bool(doc.get("userinfo_endpoint")),
        # Without CORS on discovery the library cannot fetch it: hand it over inline.
        "metadata": doc if "discovery" in gaps else None,
    }
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()

    result = NodeRP("playwright", "browser.mjs").run(
        "signin",
        timeout=90,
        chromium=chromium,
        spa_url=f"{spa.origin}/",
        username=USERNAME,
        password=PASSWORD,
        screenshots=str(SCREENSHOTS),
    )

    # idgate's own pages, seen and used by a real browser.
    assert result["login_url"].startswith(f"{op.url}/interaction/"), result["login_url"]
    assert result["consent_url"].startswith(f"{op.url}/"), result["consent_url"]
    for name in ("login", "consent", "final"):
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 0
    violations = [line for line in result["log"] if "Content Security Policy" in line]
    assert not violations, violations

    # What only works once idgate answers the SPA's fetches with CORS headers.
    blocking = [gap for gap in gaps if gap != "discovery"]
    if blocking:
        request.applymarker(
            pytest.mark.xfail(
                strict=True,
                reason=(
                    f"idgate gap: no CORS headers on {', '.join(gaps)}: Chromium withholds "
                    "the answers from a browser-based client (token_endpoint_auth_method=none), "
                    "which therefore cannot redeem its code"
                ),
            )
        )
    assert result["error"] is None, f"{LIBRARY}: {result['error']}\n" + "\n".join(result["log"])
    profile = result["profile"]["profile"]
    assert profile["iss"] == op.issuer
    assert profile["aud"] == client["client_id"]
    assert profile["sub"]
    assert result["profile"]["has_access_token"]
    if doc.get("userinfo_endpoint"):
        assert profile["email"] == CLAIMS["email"]
        assert result["name"] == CLAIMS["name"]
