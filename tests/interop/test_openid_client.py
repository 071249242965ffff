"""openid-client v6 (npm, panva) against a real idgate.

The library does discovery, PKCE, state and nonce, the token requests and every ID Token check
of its own; tests/interop/node/openid_client.mjs adds a few of its own checks and says which
step failed. Scenarios for endpoints still being built skip until discovery lists them.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from interop_support import (  # type: ignore[import-not-found]
    CALLBACK,
    CLAIMS,
    OP,
    RP,
    Browser,
    NodeRP,
    step,
)

from idgate.testing import parse_forms, response_params

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("node_modules")]

LIBRARY = "openid-client"


def run(op: OP, browser: Browser, scenario: str, **metadata: Any) -> dict[str, Any]:
    client = op.register(post_logout_redirect_uris=[f"{RP}/signed-out"], **metadata)
    result = NodeRP(LIBRARY, "openid_client.mjs", browser).run(
        scenario,
        issuer=op.issuer,
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        redirect_uri=CALLBACK,
        post_logout_redirect_uri=f"{RP}/signed-out",
    )
    return {**result, "client_id": client["client_id"]}


def check_code_flow(op: OP, browser: Browser) -> None:
    result = run(op, browser, "code")
    assert browser.seen == ["login", "consent"]
    claims = result["claims"]
    assert claims["iss"] == op.issuer
    assert claims["sub"]
    assert result["token_type"].lower() == "bearer"
    assert result["expires_in"] > 0
    assert set(result["scope"].split()) >= {"openid", "email", "profile"}
    refreshed = result["refreshed_claims"]
    assert refreshed is not None, f"{LIBRARY}: refreshTokenGrant: no ID Token on refresh"
    assert refreshed["sub"] == claims["sub"]
    assert refreshed["auth_time"] == claims["auth_time"]
    assert "nonce" not in refreshed  # Core §12.2


def test_code_pkce_id_token_and_refresh(op: OP, browser: Browser) -> None:
    check_code_flow(op, browser)


@pytest.mark.postgres
def test_code_pkce_and_refresh_on_postgresql(postgres_op: OP) -> None:
    """The one PostgreSQL smoke scenario: the same flow on idgate over PostgreSQL."""
    with Browser(postgres_op) as browser:
        check_code_flow(postgres_op, browser)


def test_hybrid_code_id_token(op: OP, browser: Browser) -> None:
    result = run(op, browser, "hybrid")
    assert result["response_in_fragment"]
    assert result["claims"]["iss"] == op.issuer


def test_userinfo(op: OP, browser: Browser) -> None:
    op.require("userinfo_endpoint", "UserInfo")
    result = run(op, browser, "userinfo")
    userinfo = result["userinfo"]
    assert userinfo["sub"] == result["sub"]
    assert userinfo["email"] == CLAIMS["email"]
    assert userinfo["name"] == CLAIMS["name"]


def test_introspection(op: OP, browser: Browser) -> None:
    op.require("introspection_endpoint", "Token introspection")
    result = run(op, browser, "introspection")
    with step(LIBRARY, "tokenIntrospection results"):
        assert result["access"]["active"] is True, result["access"]
        assert result["access"]["sub"] == result["sub"]
        assert result["refresh"]["active"] is True, result["refresh"]
        assert result["bogus"] == {"active": False}


def test_revocation(op: OP, browser: Browser) -> None:
    op.require("revocation_endpoint", "Token revocation")
    result = run(op, browser, "revocation")
    if result["introspected"] is not None:  # RFC 7009 §2.1: the family goes with it
        assert result["introspected"] == {"refresh": {"active": False}, "access": {"active": False}}


def test_end_session_url(op: OP, browser: Browser) -> None:
    """The URL openid-client builds ends the OP session and comes back with the state."""
    op.require("end_session_endpoint", "RP-Initiated Logout")
    result = run(op, browser, "end_session")
    with step(LIBRARY, "buildEndSessionUrl: following the URL at idgate"):
        response = browser.http.get(result["url"])
        for _ in range(3):  # a confirmation page: say yes
            if response.status_code != 200:
                break
            (form, *_) = parse_forms(response.text)
            fields = dict(form.fields)
            for name, values in form.buttons.items():
                yes = [
                    v for v in values if re.search(r"yes|log.?out|sign.?out|confirm|end", v, re.I)
                ]
                fields.setdefault(name, (yes or values)[0])
            response = browser.http.post(str(response.url.join(form.action)), data=fields)
        assert response.status_code in (302, 303), response.text[:500]
        location = response.headers["location"]
        assert location.startswith(f"{RP}/signed-out"), location
        assert response_params(location).get("state") == result["state"]
    with step(LIBRARY, "after logout, prompt=none finds no OP session"):
        again = browser.http.get(
            f"{op.url}/authorize",
            params={
                "client_id": result["client_id"],
                "redirect_uri": CALLBACK,
                "response_type": "code",
                "scope": "openid",
                "prompt": "none",
            },
        )
        assert again.status_code in (302, 303), again.text[:500]
        assert response_params(again.headers["location"])["error"] == "login_required"
