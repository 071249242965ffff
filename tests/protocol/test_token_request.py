"""Token requests and responses (RFC 6749 §4.1.3, §4.4.2, §5.1, §6; RFC 7636 §4.6).

SECURITY.md CODE-03/04/05/06/07/08/09 (code redemption), TOK-08 (grant types), TOK-09 (response
shape), RT-04 (scope escalation).
"""

from __future__ import annotations

from typing import Any

import pytest

from idgate.protocol.authorize import AuthorizationRequest, ClaimRequest, ClaimsRequest
from idgate.protocol.clients import Client, ClientMetadata
from idgate.protocol.errors import (
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from idgate.protocol.pkce import s256_challenge
from idgate.protocol.token import (
    MAX_PARAMETER_LENGTH,
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    CodeGrantData,
    RefreshTokenGrant,
    TokenRequest,
    check_client_credentials_scopes,
    check_code_redemption,
    check_grant_allowed,
    narrow_scopes,
    parse_token_request,
    refresh_allowed,
    token_response,
)

NOW = 1_700_000_000
RP = "https://rp.test"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 Appendix B
OTHER_VERIFIER = "x" * 43
CHALLENGE = s256_challenge(VERIFIER)

# --- parse_token_request ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        pytest.param(
            {"grant_type": "authorization_code", "code": "abc"},
            AuthorizationCodeGrant("abc"),
            id="code",
        ),
        pytest.param(
            {
                "grant_type": "authorization_code",
                "code": "abc",
                "redirect_uri": f"{RP}/cb",
                "code_verifier": VERIFIER,
                "scope": "ignored",
            },
            AuthorizationCodeGrant("abc", f"{RP}/cb", VERIFIER),
            id="code-full",
        ),
        pytest.param(
            {"grant_type": "authorization_code", "code": "abc", "redirect_uri": ""},
            AuthorizationCodeGrant("abc", None, None),
            id="code-empty-redirect-uri-is-absent",
        ),
        pytest.param(
            {"grant_type": "refresh_token", "refresh_token": "rt"},
            RefreshTokenGrant("rt", None),
            id="refresh",
        ),
        pytest.param(
            {"grant_type": "refresh_token", "refresh_token": "rt", "scope": ""},
            RefreshTokenGrant("rt", None),
            id="refresh-empty-scope",
        ),
        pytest.param(
            {"grant_type": "refresh_token", "refresh_token": "rt", "scope": "   "},
            RefreshTokenGrant("rt", None),
            id="refresh-blank-scope",
        ),
        pytest.param(
            {
                "grant_type": "refresh_token",
                "refresh_token": "rt",
                "scope": "openid  profile openid",
            },
            RefreshTokenGrant("rt", ("openid", "profile")),
            id="refresh-scope-deduplicated",
        ),
        pytest.param(
            {"grant_type": "client_credentials"},
            ClientCredentialsGrant(()),
            id="client-credentials",
        ),
        pytest.param(
            {"grant_type": "client_credentials", "scope": "api:read api:write"},
            ClientCredentialsGrant(("api:read", "api:write")),
            id="client-credentials-scope",
        ),
        pytest.param(
            {"grant_type": "authorization_code", "code": "c" * MAX_PARAMETER_LENGTH},
            AuthorizationCodeGrant("c" * MAX_PARAMETER_LENGTH),
            id="code-at-size-bound",
        ),
        pytest.param(
            {"grant_type": "client_credentials", "client_assertion": "a" * 10_000},
            ClientCredentialsGrant(()),
            id="client-auth-params-not-bounded-here",
        ),
    ],
)
def test_parse_token_request(form: dict[str, str], expected: TokenRequest) -> None:
    assert parse_token_request(form) == expected


@pytest.mark.parametrize(
    ("form", "error"),
    [
        pytest.param({}, InvalidRequest, id="no-grant-type"),
        pytest.param({"grant_type": "", "code": "abc"}, InvalidRequest, id="empty-grant-type"),
        pytest.param({"grant_type": "password"}, UnsupportedGrantType, id="password"),
        pytest.param({"grant_type": "implicit"}, UnsupportedGrantType, id="implicit"),
        pytest.param({"grant_type": "urn:x"}, UnsupportedGrantType, id="urn"),
        pytest.param(
            {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"},
            UnsupportedGrantType,
            id="jwt-bearer-grant",
        ),
        pytest.param(
            {"grant_type": "Authorization_Code", "code": "abc"},
            UnsupportedGrantType,
            id="case-differs",
        ),
        pytest.param(
            {"grant_type": "authorization_code "}, UnsupportedGrantType, id="trailing-space"
        ),
        pytest.param({"grant_type": "authorization_code"}, InvalidRequest, id="no-code"),
        pytest.param(
            {"grant_type": "authorization_code", "code": ""}, InvalidRequest, id="empty-code"
        ),
        pytest.param({"grant_type": "refresh_token"}, InvalidRequest, id="no-refresh-token"),
        pytest.param(
            {"grant_type": "refresh_token", "refresh_token": ""},
            InvalidRequest,
            id="empty-refresh-token",
        ),
        pytest.param(
            {"grant_type": "authorization_code", "code": "c" * (MAX_PARAMETER_LENGTH + 1)},
            InvalidRequest,
            id="code-too-long",
        ),
        pytest.param(
            {
                "grant_type": "authorization_code",
                "code": "abc",
                "redirect_uri": "x" * (MAX_PARAMETER_LENGTH + 1),
            },
            InvalidRequest,
            id="redirect-uri-too-long",
        ),
        pytest.param(
            {"grant_type": "refresh_token", "refresh_token": "r" * (MAX_PARAMETER_LENGTH + 1)},
            InvalidRequest,
            id="refresh-token-too-long",
        ),
        pytest.param(
            {"grant_type": "x" * (MAX_PARAMETER_LENGTH + 1)},
            InvalidRequest,
            id="grant-type-too-long",
        ),
        pytest.param(
            {"grant_type": "client_credentials", "scope": "a " * MAX_PARAMETER_LENGTH},
            InvalidRequest,
            id="scope-too-long",
        ),
        pytest.param(
            {"grant_type": "authorization_code", "code": "abc\udc80"},
            InvalidRequest,
            id="lone-surrogate",
        ),
        pytest.param(
            {"grant_type": "client_credentials", "scope": "api\tread"},
            InvalidScope,
            id="scope-tab",
        ),
        pytest.param(
            {"grant_type": "refresh_token", "refresh_token": "rt", "scope": 'a"b'},
            InvalidScope,
            id="scope-quote",
        ),
        pytest.param(
            {"grant_type": "client_credentials", "scope": "a\\b"},
            InvalidScope,
            id="scope-backslash",
        ),
        pytest.param(
            {"grant_type": "client_credentials", "scope": "api\x00"},
            InvalidScope,
            id="scope-nul",
        ),
        pytest.param(
            {"grant_type": "client_credentials", "scope": "ápi"},
            InvalidScope,
            id="scope-non-ascii",
        ),
    ],
)
def test_parse_token_request_refused(form: dict[str, str], error: type[OAuthError]) -> None:
    with pytest.raises(OAuthError) as caught:
        parse_token_request(form)
    assert type(caught.value) is error


def test_grants_keep_secrets_out_of_repr() -> None:
    text = repr(AuthorizationCodeGrant("the-code", f"{RP}/cb", VERIFIER))
    text += repr(RefreshTokenGrant("the-refresh-token"))
    assert "the-code" not in text
    assert VERIFIER not in text
    assert "the-refresh-token" not in text


# --- check_grant_allowed ----------------------------------------------------------------------


def client(
    grant_types: tuple[str, ...] = ("authorization_code",),
    method: str = "client_secret_basic",
    client_id: str = "c1",
    scope: str | None = None,
) -> Client:
    return Client(
        client_id,
        ClientMetadata(
            redirect_uris=(f"{RP}/cb",),
            grant_types=grant_types,
            token_endpoint_auth_method=method,
            scope=scope,
        ),
    )


CODE_GRANT = AuthorizationCodeGrant("abc", f"{RP}/cb")
REFRESH_GRANT = RefreshTokenGrant("rt")
CC_GRANT = ClientCredentialsGrant()
EVERY_GRANT = ("authorization_code", "refresh_token", "client_credentials")


@pytest.mark.parametrize(
    ("grant", "registered", "method", "allowed"),
    [
        (CODE_GRANT, ("authorization_code",), "client_secret_basic", True),
        (CODE_GRANT, ("authorization_code",), "none", True),
        (CODE_GRANT, ("refresh_token", "client_credentials"), "client_secret_basic", False),
        (CODE_GRANT, ("implicit",), "client_secret_basic", False),
        (REFRESH_GRANT, ("authorization_code", "refresh_token"), "none", True),
        (REFRESH_GRANT, ("authorization_code",), "client_secret_basic", False),
        (CC_GRANT, ("client_credentials",), "client_secret_basic", True),
        (CC_GRANT, ("client_credentials",), "private_key_jwt", True),
        (CC_GRANT, ("authorization_code",), "client_secret_basic", False),
        # A public client registered for client_credentials anyway (e.g. an old row).
        (CC_GRANT, EVERY_GRANT, "none", False),
    ],
)
def test_check_grant_allowed(
    grant: TokenRequest, registered: tuple[str, ...], method: str, allowed: bool
) -> None:
    subject = client(registered, method)
    if allowed:
        check_grant_allowed(grant, subject)
        return
    with pytest.raises(UnauthorizedClient):
        check_grant_allowed(grant, subject)


# --- check_code_redemption --------------------------------------------------------------------


def code_data(**changes: Any) -> CodeGrantData:
    values: dict[str, Any] = {
        "client_id": "c1",
        "redirect_uri": f"{RP}/cb",
        "expires_at": NOW + 60,
        "subject": "alice",
        "auth_time": NOW - 5,
        "scopes": ("openid", "profile"),
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        "nonce": "n-0S6_WzA2Mj",
    }
    values.update(changes)
    return CodeGrantData(**values)


def redeem(data: CodeGrantData, client_id: str = "c1", now: int = NOW, **grant: Any) -> None:
    params: dict[str, Any] = {"code": "abc", "redirect_uri": f"{RP}/cb", "code_verifier": VERIFIER}
    params.update(grant)
    check_code_redemption(data, AuthorizationCodeGrant(**params), client_id=client_id, now=now)


@pytest.mark.parametrize(
    ("data", "client_id", "now", "grant"),
    [
        pytest.param(code_data(), "c1", NOW, {}, id="s256"),
        pytest.param(code_data(), "c1", NOW + 59, {}, id="last-second"),
        pytest.param(
            code_data(code_challenge=VERIFIER, code_challenge_method="plain"),
            "c1",
            NOW,
            {},
            id="plain",
        ),
        pytest.param(
            code_data(code_challenge=None, code_challenge_method=None),
            "c1",
            NOW,
            {"code_verifier": None},
            id="no-pkce",
        ),
        pytest.param(
            code_data(redirect_uri=f"{RP}/cb?a=1&b=2"),
            "c1",
            NOW,
            {"redirect_uri": f"{RP}/cb?a=1&b=2"},
            id="redirect-uri-with-query",
        ),
    ],
)
def test_code_redemption_accepted(
    data: CodeGrantData, client_id: str, now: int, grant: dict[str, Any]
) -> None:
    redeem(data, client_id, now, **grant)


@pytest.mark.parametrize(
    ("data", "client_id", "now", "grant"),
    [
        # CODE-03
        pytest.param(code_data(), "c2", NOW, {}, id="another-client"),
        pytest.param(code_data(), "C1", NOW, {}, id="client-id-case"),
        # CODE-05
        pytest.param(code_data(), "c1", NOW + 60, {}, id="expired-at-expiry"),
        pytest.param(code_data(), "c1", NOW + 3600, {}, id="expired-long-ago"),
        # CODE-04
        pytest.param(code_data(), "c1", NOW, {"redirect_uri": None}, id="redirect-uri-omitted"),
        pytest.param(code_data(), "c1", NOW, {"redirect_uri": f"{RP}/cb2"}, id="other-uri"),
        pytest.param(code_data(), "c1", NOW, {"redirect_uri": f"{RP}/cb/"}, id="trailing-slash"),
        pytest.param(code_data(), "c1", NOW, {"redirect_uri": f"{RP}/CB"}, id="case"),
        pytest.param(
            code_data(), "c1", NOW, {"redirect_uri": "https://RP.test/cb"}, id="host-case"
        ),
        pytest.param(code_data(), "c1", NOW, {"redirect_uri": f"{RP}:443/cb"}, id="explicit-port"),
        pytest.param(code_data(), "c1", NOW, {"redirect_uri": f"{RP}/cb?"}, id="empty-query"),
        # CODE-07, CODE-08
        pytest.param(code_data(), "c1", NOW, {"code_verifier": None}, id="verifier-missing"),
        pytest.param(
            code_data(), "c1", NOW, {"code_verifier": OTHER_VERIFIER}, id="other-verifier"
        ),
        pytest.param(
            code_data(), "c1", NOW, {"code_verifier": VERIFIER[:-1]}, id="verifier-42-chars"
        ),
        pytest.param(
            code_data(), "c1", NOW, {"code_verifier": VERIFIER + "a" * 86}, id="verifier-129"
        ),
        pytest.param(
            code_data(), "c1", NOW, {"code_verifier": VERIFIER[:-1] + "+"}, id="verifier-charset"
        ),
        pytest.param(code_data(), "c1", NOW, {"code_verifier": CHALLENGE}, id="challenge-sent"),
        pytest.param(
            code_data(code_challenge=VERIFIER, code_challenge_method="plain"),
            "c1",
            NOW,
            {"code_verifier": OTHER_VERIFIER},
            id="plain-mismatch",
        ),
        pytest.param(
            code_data(code_challenge=VERIFIER, code_challenge_method=None),
            "c1",
            NOW,
            {"code_verifier": VERIFIER},
            id="challenge-without-method-fails-closed",
        ),
        # CODE-09: PKCE downgrade
        pytest.param(
            code_data(code_challenge=None, code_challenge_method=None),
            "c1",
            NOW,
            {},
            id="downgrade",
        ),
    ],
)
def test_code_redemption_refused(
    data: CodeGrantData, client_id: str, now: int, grant: dict[str, Any]
) -> None:
    with pytest.raises(OAuthError) as caught:
        redeem(data, client_id, now, **grant)
    assert type(caught.value) is InvalidGrant


def test_code_grant_data_round_trip() -> None:
    claims = {"id_token": {"acr": {"essential": True}}}
    data = code_data(sid="sid-1", acr="urn:acr:1", amr=("pwd", "otp"), claims=claims)
    assert CodeGrantData.from_dict(data.to_dict()) == data
    bare = code_data(code_challenge=None, code_challenge_method=None, nonce=None, scopes=())
    assert CodeGrantData.from_dict(bare.to_dict()) == bare
    assert data.to_dict()["amr"] == ["pwd", "otp"]


@pytest.mark.parametrize(
    "change",
    [
        {"v": 2},
        {"v": None},
        {"client_id": None},
        {"expires_at": "1700000060"},
        {"expires_at": True},
        {"auth_time": 1.5},
        {"scopes": "openid"},
        {"scopes": ["openid", 1]},
        {"amr": None},
        {"code_challenge_method": "S512"},
        {"code_challenge_method": "s256"},
        {"claims": ["acr"]},
        {"nonce": 7},
    ],
)
def test_code_grant_data_from_dict_refuses_garbage(change: dict[str, Any]) -> None:
    doc = code_data().to_dict()
    doc.update(change)
    with pytest.raises(ValueError, match=r"."):
        CodeGrantData.from_dict(doc)


def test_code_grant_data_from_authorization() -> None:
    request = AuthorizationRequest(
        client_id="c1",
        redirect_uri=f"{RP}/cb",
        response_type="code",
        response_mode="query",
        scopes=("openid", "email"),
        nonce="n1",
        claims=ClaimsRequest(id_token=(("acr", ClaimRequest(essential=True)),)),
        code_challenge=CHALLENGE,
        code_challenge_method="S256",
    )
    data = CodeGrantData.from_authorization(
        request, subject="alice", auth_time=NOW - 5, expires_at=NOW + 60, sid="s1", amr=("pwd",)
    )
    assert data == CodeGrantData(
        client_id="c1",
        redirect_uri=f"{RP}/cb",
        expires_at=NOW + 60,
        subject="alice",
        auth_time=NOW - 5,
        scopes=("openid", "email"),
        code_challenge=CHALLENGE,
        code_challenge_method="S256",
        nonce="n1",
        sid="s1",
        amr=("pwd",),
        claims={"id_token": {"acr": {"essential": True}}},
    )
    redeem(data)


# --- scopes -----------------------------------------------------------------------------------

GRANTED = ("openid", "profile", "email", "offline_access")


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        (None, GRANTED),
        ((), GRANTED),
        (("openid",), ("openid",)),
        (("email", "openid"), ("email", "openid")),
        (("email", "email"), ("email",)),
        (GRANTED, GRANTED),
    ],
)
def test_narrow_scopes(requested: tuple[str, ...] | None, expected: tuple[str, ...]) -> None:
    assert narrow_scopes(requested, GRANTED) == expected


@pytest.mark.parametrize(
    "requested",
    [("openid", "phone"), ("address",), ("Openid",), ("openid profile",)],
)
def test_narrow_scopes_never_widens(requested: tuple[str, ...]) -> None:
    with pytest.raises(InvalidScope):
        narrow_scopes(requested, GRANTED)


@pytest.mark.parametrize(
    ("requested", "allowed", "expected"),
    [
        ((), None, ()),
        ((), "api:read api:write", ("api:read", "api:write")),
        ((), "openid api:read offline_access", ("api:read",)),
        (("api:read",), None, ("api:read",)),
        (("anything",), None, ("anything",)),
        (("api:read",), "api:read api:write", ("api:read",)),
        (("api:write", "api:read", "api:write"), "api:read  api:write", ("api:write", "api:read")),
        (("openid", "offline_access", "api:read"), None, ("api:read",)),
        (("openid", "api:read"), "api:read", ("api:read",)),
        (("openid",), None, ()),
    ],
)
def test_client_credentials_scopes(
    requested: tuple[str, ...], allowed: str | None, expected: tuple[str, ...]
) -> None:
    assert check_client_credentials_scopes(requested, allowed) == expected


@pytest.mark.parametrize(
    ("requested", "allowed"),
    [
        (("api:admin",), "api:read api:write"),
        (("api:read", "api:admin"), "api:read"),
        (("api:read",), ""),
        (("API:READ",), "api:read"),
    ],
)
def test_client_credentials_scopes_refused(requested: tuple[str, ...], allowed: str) -> None:
    with pytest.raises(InvalidScope):
        check_client_credentials_scopes(requested, allowed)


# --- refresh_allowed, token_response ----------------------------------------------------------


@pytest.mark.parametrize(
    ("grants", "method", "scopes", "grant_type", "expected"),
    [
        (("authorization_code", "refresh_token"), "client_secret_basic", ("openid",), None, True),
        (
            ("authorization_code", "refresh_token"),
            "private_key_jwt",
            ("openid", "offline_access"),
            None,
            True,
        ),
        (("authorization_code", "refresh_token"), "none", ("openid", "offline_access"), None, True),
        (("authorization_code", "refresh_token"), "none", ("openid",), None, False),
        (("authorization_code",), "client_secret_basic", ("openid", "offline_access"), None, False),
        (("authorization_code",), "none", ("offline_access",), None, False),
        (("authorization_code", "refresh_token"), "client_secret_basic", (), "refresh_token", True),
        (EVERY_GRANT, "client_secret_basic", ("api",), "client_credentials", False),
        (EVERY_GRANT, "client_secret_basic", ("offline_access",), "client_credentials", False),
    ],
)
def test_refresh_allowed(
    grants: tuple[str, ...],
    method: str,
    scopes: tuple[str, ...],
    grant_type: Any,
    expected: bool,
) -> None:
    subject = client(grants, method)
    if grant_type is None:
        assert refresh_allowed(subject, scopes) is expected
    else:
        assert refresh_allowed(subject, scopes, grant_type=grant_type) is expected


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"access_token": "at", "expires_in": 300, "scope": ("openid", "profile")},
            {
                "access_token": "at",
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "openid profile",
            },
        ),
        (
            {
                "access_token": "at",
                "expires_in": 60,
                "scope": ("openid", "offline_access"),
                "id_token": "idt",
                "refresh_token": "rt",
            },
            {
                "access_token": "at",
                "token_type": "Bearer",
                "expires_in": 60,
                "scope": "openid offline_access",
                "refresh_token": "rt",
                "id_token": "idt",
            },
        ),
        (
            {"access_token": "at", "expires_in": 60, "scope": ()},
            {"access_token": "at", "token_type": "Bearer", "expires_in": 60},
        ),
    ],
)
def test_token_response(kwargs: dict[str, Any], expected: dict[str, Any]) -> None:
    assert token_response(**kwargs) == expected


@pytest.mark.parametrize("expires_in", [0, -1])
def test_token_response_needs_a_lifetime(expires_in: int) -> None:
    with pytest.raises(ValueError, match="expires_in"):
        token_response(access_token="at", expires_in=expires_in, scope=("openid",))
