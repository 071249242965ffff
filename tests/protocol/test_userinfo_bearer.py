"""UserInfo as a protected resource: passing the token and checking it (RFC 6750 §2-§3)."""

from __future__ import annotations

import pytest

from idgate.protocol.errors import (
    InsufficientScope,
    InvalidRequest,
    InvalidToken,
    OAuthError,
    ServerError,
)
from idgate.protocol.userinfo import (
    MAX_ACCESS_TOKEN_LENGTH,
    NoAccessToken,
    bearer_challenge,
    check_access_token,
    extract_access_token,
)

TOKEN = "Zm9vYmFyYmF6cXV4LXRva2VuLXZhbHVlXzEyMzQ1Njc4OTA"


@pytest.mark.parametrize(
    ("authorization", "body", "query"),
    [
        (f"Bearer {TOKEN}", None, {}),
        (f"bearer {TOKEN}", None, {}),
        (f"BEARER  {TOKEN} ", None, {}),
        (f"Bearer {TOKEN}", {}, {"other": "x"}),
        (f"Bearer {TOKEN}", {"access_token": ""}, {}),  # empty counts as absent
        (None, {"access_token": TOKEN}, {}),
        ("Basic Zm9vOmJhcg==", {"access_token": TOKEN}, {}),  # not a bearer credential
    ],
)
def test_token_from_header_or_body(
    authorization: str | None, body: dict[str, str] | None, query: dict[str, str]
) -> None:
    assert extract_access_token(authorization, body, query) == TOKEN


@pytest.mark.parametrize(
    ("authorization", "body", "query", "error"),
    [
        (None, None, {}, NoAccessToken),
        (None, {}, {}, NoAccessToken),
        (None, {"access_token": ""}, {}, NoAccessToken),
        ("Basic Zm9vOmJhcg==", None, {}, NoAccessToken),
        ("Bearer", None, {}, InvalidRequest),
        ("Bearer ", None, {}, InvalidRequest),
        (f"Bearer {TOKEN} {TOKEN}", None, {}, InvalidRequest),
        (f"Bearer {TOKEN}", {"access_token": TOKEN}, {}, InvalidRequest),
        (None, None, {"access_token": TOKEN}, InvalidRequest),
        (f"Bearer {TOKEN}", None, {"access_token": TOKEN}, InvalidRequest),
        (None, {"access_token": TOKEN}, {"access_token": ""}, InvalidRequest),
        ('Bearer a"b', None, {}, InvalidToken),
        ("Bearer ab==c", None, {}, InvalidToken),
        (None, {"access_token": "tok en"}, {}, InvalidToken),
        (None, {"access_token": "x" * (MAX_ACCESS_TOKEN_LENGTH + 1)}, {}, InvalidToken),
    ],
)
def test_token_passing_errors(
    authorization: str | None,
    body: dict[str, str] | None,
    query: dict[str, str],
    error: type[OAuthError],
) -> None:
    with pytest.raises(error) as caught:
        extract_access_token(authorization, body, query)
    assert type(caught.value) is error


def test_error_statuses() -> None:
    assert NoAccessToken().status_code == 401
    assert InvalidToken().status_code == 401
    assert InsufficientScope().status_code == 403
    assert InvalidRequest().status_code == 400


LIVE = {
    "kind": "access",
    "subject": "local-sub",
    "scopes": ("openid", "email"),
    "expires_at": 2000,
    "revoked_at": None,
    "now": 1000,
}


def test_live_openid_token() -> None:
    assert check_access_token(**LIVE) == "local-sub"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"kind": "refresh"}, InvalidToken),
        ({"revoked_at": 999}, InvalidToken),
        ({"now": 2000}, InvalidToken),  # valid while now < expires_at
        ({"now": 5000}, InvalidToken),
        ({"subject": None, "scopes": ("api",)}, InvalidToken),  # client_credentials
        ({"scopes": ("email",)}, InsufficientScope),
        ({"scopes": ()}, InsufficientScope),
        ({"revoked_at": 999, "scopes": ()}, InvalidToken),  # invalid wins over scope
    ],
)
def test_unusable_tokens(change: dict[str, object], error: type[OAuthError]) -> None:
    with pytest.raises(error) as caught:
        check_access_token(**{**LIVE, **change})  # type: ignore[arg-type]
    assert type(caught.value) is error


@pytest.mark.parametrize(
    ("error", "challenge"),
    [
        (NoAccessToken("an access token is required"), 'Bearer realm="idgate"'),
        (
            InvalidToken("the access token is not valid"),
            'Bearer realm="idgate", error="invalid_token", '
            'error_description="the access token is not valid"',
        ),
        (InvalidToken(), 'Bearer realm="idgate", error="invalid_token"'),
        (
            InsufficientScope("no openid"),
            'Bearer realm="idgate", error="insufficient_scope", '
            'error_description="no openid", scope="openid"',
        ),
        (
            InvalidRequest('bad "quoted" \\ value'),
            'Bearer realm="idgate", error="invalid_request", '
            'error_description="bad ?quoted? ? value"',
        ),
        (ServerError("x"), 'Bearer realm="idgate", error="server_error", error_description="x"'),
    ],
)
def test_bearer_challenge(error: OAuthError, challenge: str) -> None:
    assert bearer_challenge(error, realm="idgate") == challenge
