"""Phase 2 of the authorization endpoint: the redirectable checks (SECURITY.md AZ-*, CODE-08/10)."""

from __future__ import annotations

import itertools
import json
from typing import Any, get_args

import pytest

from idgate.protocol.authorize import (
    AuthorizationRequest,
    AuthorizePolicy,
    ClaimRequest,
    ClaimsRequest,
    ResponseType,
    check_client_and_redirect_uri,
    parse_authorization_request,
)
from idgate.protocol.clients import RESPONSE_TYPES, Client, ClientMetadata
from idgate.protocol.errors import (
    InvalidRequest,
    InvalidScope,
    OAuthError,
    RequestNotSupported,
    RequestUriNotSupported,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from idgate.protocol.pkce import s256_challenge
from idgate.protocol.response_modes import RedirectTo, error_response

RP = "https://rp.test"
ISSUER = "https://op.test"
CHALLENGE = s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
C1 = Client(
    "c1",
    ClientMetadata(
        redirect_uris=(f"{RP}/cb", f"{RP}/cbq?a=1"),
        response_types=RESPONSE_TYPES,
        grant_types=("authorization_code", "implicit", "refresh_token"),
    ),
)
CODE_ONLY = Client("c2", ClientMetadata(redirect_uris=(f"{RP}/cb",)))
P1 = Client(
    "p1",
    ClientMetadata(
        redirect_uris=(f"{RP}/cb",),
        response_types=("code", "code id_token", "none"),
        grant_types=("authorization_code", "implicit"),
        token_endpoint_auth_method="none",
    ),
)
SCOPED = Client(
    "s1", ClientMetadata(redirect_uris=(f"{RP}/cb",), scope="openid profile offline_access")
)
ID_TOKEN_TYPES = ["id_token", "id_token token", "code id_token", "code id_token token"]
NO_ID_TOKEN_TYPES = ["code", "code token", "none"]


def params_for(client: Client = C1, /, **extra: str) -> dict[str, str]:
    params = {
        "client_id": client.client_id,
        "redirect_uri": client.metadata.redirect_uris[0],
        "response_type": "code",
        "scope": "openid",
        "state": "st",
        "nonce": "n-0S6_WzA2Mj",
    }
    params.update(extra)
    return {name: value for name, value in params.items() if value != "<absent>"}


def parse(
    client: Client = C1, policy: AuthorizePolicy | None = None, /, **extra: str
) -> AuthorizationRequest:
    params = params_for(client, **extra)
    target = check_client_and_redirect_uri(params, client)
    return parse_authorization_request(params, client, target, policy or AuthorizePolicy())


def parse_error(
    client: Client = C1, policy: AuthorizePolicy | None = None, /, **extra: str
) -> OAuthError:
    with pytest.raises(OAuthError) as info:
        parse(client, policy, **extra)
    assert info.value.redirectable
    return info.value


def test_response_type_literal_matches_client_metadata_vocabulary() -> None:
    assert set(get_args(ResponseType)) == set(RESPONSE_TYPES)


# --- a plain valid request --------------------------------------------------------------------


def test_valid_code_request() -> None:
    request = parse(scope="openid profile", code_challenge=CHALLENGE, code_challenge_method="S256")
    assert request == AuthorizationRequest(
        client_id="c1",
        redirect_uri=f"{RP}/cb",
        response_type="code",
        response_mode="query",
        scopes=("openid", "profile"),
        state="st",
        nonce="n-0S6_WzA2Mj",
        code_challenge=CHALLENGE,
        code_challenge_method="S256",
    )
    assert request.returns_code
    assert not request.returns_id_token
    assert not request.returns_token
    assert request.is_openid
    assert request.target.redirect_uri == f"{RP}/cb"


def test_unknown_parameters_are_ignored() -> None:
    assert parse(foo="bar") == parse()


# --- request objects --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "error"),
    [("request", RequestNotSupported), ("request_uri", RequestUriNotSupported)],
)
def test_request_objects_are_not_supported(name: str, error: type[OAuthError]) -> None:
    assert isinstance(parse_error(**{name: "eyJhbGciOiJub25lIn0.e30."}), error)


# --- response_type (AZ-04) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("<absent>", InvalidRequest),
        ("", InvalidRequest),
        ("token", UnsupportedResponseType),
        ("code foo", UnsupportedResponseType),
        ("code code", UnsupportedResponseType),
        ("CODE", UnsupportedResponseType),
        ("code_id_token", UnsupportedResponseType),
        ("code,id_token", UnsupportedResponseType),
    ],
)
def test_bad_response_type(value: str, error: type[OAuthError]) -> None:
    assert type(parse_error(response_type=value)) is error


@pytest.mark.parametrize("value", ["code  id_token", " code id_token ", "id_token\tcode"])
def test_response_type_whitespace_is_lenient(value: str) -> None:
    # normalize_response_type splits on any whitespace; harmless, and the result is exact.
    assert parse(response_type=value).response_type == "code id_token"


@pytest.mark.parametrize("response_type", ["code id_token", "id_token", "none", "code token"])
def test_unregistered_response_type(response_type: str) -> None:
    assert isinstance(parse_error(CODE_ONLY, response_type=response_type), UnauthorizedClient)


def test_response_type_disabled_by_policy() -> None:
    policy = AuthorizePolicy(response_types=frozenset({"code", "code id_token"}))
    assert parse(C1, policy, response_type="id_token code").response_type == "code id_token"
    error = parse_error(C1, policy, response_type="id_token")
    assert isinstance(error, UnsupportedResponseType)


@pytest.mark.parametrize(
    "words", [p for t in RESPONSE_TYPES for p in itertools.permutations(t.split())]
)
def test_response_type_word_order_does_not_matter(words: tuple[str, ...]) -> None:
    request = parse(response_type=" ".join(words))
    assert request.response_type == " ".join(sorted(words))
    assert request.returns_code == ("code" in words)
    assert request.returns_id_token == ("id_token" in words)
    assert request.returns_token == ("token" in words)


# --- response_mode (AZ-05) --------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["xyz", "query.jwt", "Query", "form-post"])
def test_unknown_response_mode(mode: str) -> None:
    assert isinstance(parse_error(response_mode=mode), InvalidRequest)


@pytest.mark.parametrize("response_type", [*ID_TOKEN_TYPES, "code token"])
def test_query_is_refused_for_tokens(response_type: str) -> None:
    params = params_for(response_type=response_type, response_mode="query")
    target = check_client_and_redirect_uri(params, C1)
    with pytest.raises(InvalidRequest) as info:
        parse_authorization_request(params, C1, target, AuthorizePolicy())
    # ... and the error itself goes back in the fragment.
    response = error_response(target, info.value, issuer=ISSUER)
    assert isinstance(response, RedirectTo)
    assert response.location.startswith(f"{RP}/cb#error=invalid_request")


@pytest.mark.parametrize(
    ("response_type", "mode"),
    [(t, m) for t in RESPONSE_TYPES for m in ("fragment", "form_post")]
    + [(t, "query") for t in ("code", "none")],
)
def test_allowed_response_modes(response_type: str, mode: str) -> None:
    assert parse(response_type=response_type, response_mode=mode).response_mode == mode


# --- scope (AZ-03, AZ-11) ---------------------------------------------------------------------


@pytest.mark.parametrize("response_type", ID_TOKEN_TYPES)
@pytest.mark.parametrize("scope", ["profile", "<absent>", "openidx profile", "OPENID"])
def test_id_token_needs_openid(response_type: str, scope: str) -> None:
    assert isinstance(parse_error(response_type=response_type, scope=scope), InvalidScope)


@pytest.mark.parametrize("response_type", NO_ID_TOKEN_TYPES)
def test_without_openid_is_plain_oauth(response_type: str) -> None:
    request = parse(response_type=response_type, scope="profile")
    assert not request.is_openid
    assert request.scopes == ("profile",)
    assert parse(response_type=response_type, scope="<absent>").scopes == ()


@pytest.mark.parametrize(
    ("scope", "granted"),
    [
        ("openid profile email", ("openid", "profile", "email")),
        ("email openid", ("email", "openid")),
        ("openid unknown profile", ("openid", "profile")),
        ("openid profile openid profile", ("openid", "profile")),
        ("openid  profile ", ("openid", "profile")),
        ("openid\tprofile", ()),
        ("openid address phone offline_access", ("openid", "address", "phone", "offline_access")),
    ],
)
def test_granted_scopes(scope: str, granted: tuple[str, ...]) -> None:
    assert parse(scope=scope).scopes == granted


def test_policy_limits_granted_scopes_but_openid_stays() -> None:
    policy = AuthorizePolicy(supported_scopes=frozenset({"email"}))
    assert parse(C1, policy, scope="openid profile email").scopes == ("openid", "email")


@pytest.mark.parametrize("scope", ["openid email", "email", "openid unknown"])
def test_client_scope_allowlist(scope: str) -> None:
    assert isinstance(parse_error(SCOPED, scope=scope), InvalidScope)


def test_client_scope_allowlist_allows_its_scopes() -> None:
    assert parse(SCOPED, scope="profile openid").scopes == ("profile", "openid")


@pytest.mark.parametrize(
    ("response_type", "prompt", "kept"),
    [
        ("code", "<absent>", True),
        ("code", "consent", True),
        ("code id_token", "<absent>", True),
        ("code token", "login", True),
        ("code", "none", False),
        ("id_token", "<absent>", False),
        ("id_token token", "consent", False),
        ("none", "<absent>", False),
    ],
)
def test_offline_access_needs_a_code(response_type: str, prompt: str, kept: bool) -> None:
    request = parse(response_type=response_type, scope="openid offline_access", prompt=prompt)
    assert ("offline_access" in request.scopes) is kept
    assert "openid" in request.scopes


# --- nonce (AZ-02) ----------------------------------------------------------------------------


@pytest.mark.parametrize("response_type", ID_TOKEN_TYPES)
@pytest.mark.parametrize("nonce", ["<absent>", ""])
def test_nonce_required_when_an_id_token_comes_from_this_endpoint(
    response_type: str, nonce: str
) -> None:
    assert isinstance(parse_error(response_type=response_type, nonce=nonce), InvalidRequest)


@pytest.mark.parametrize("response_type", NO_ID_TOKEN_TYPES)
def test_nonce_optional_otherwise(response_type: str) -> None:
    assert parse(response_type=response_type, nonce="<absent>").nonce is None


@pytest.mark.parametrize("length", [1, 384, 2048])
def test_long_nonce_round_trips(length: int) -> None:
    nonce = "n" * length
    assert parse(response_type="code id_token", nonce=nonce).nonce == nonce


# --- prompt (AZ-06) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "parsed"),
    [
        ("<absent>", frozenset()),
        ("none", frozenset({"none"})),
        ("login", frozenset({"login"})),
        ("consent login", frozenset({"login", "consent"})),
        ("select_account consent login", frozenset({"select_account", "consent", "login"})),
        ("login login", frozenset({"login"})),
    ],
)
def test_prompt(prompt: str, parsed: frozenset[str]) -> None:
    assert parse(prompt=prompt).prompt == parsed


@pytest.mark.parametrize("prompt", ["none login", "consent none", "bogus", "login bogus", "LOGIN"])
def test_bad_prompt(prompt: str) -> None:
    assert isinstance(parse_error(prompt=prompt), InvalidRequest)


# --- max_age (AZ-07) and display ----------------------------------------------------------------


@pytest.mark.parametrize(("raw", "value"), [("0", 0), ("1", 1), ("3600", 3600), ("007", 7)])
def test_max_age(raw: str, value: int) -> None:
    assert parse(max_age=raw).max_age == value


@pytest.mark.parametrize("raw", ["-1", "abc", "1.5", "1e3", " 1", "+1", "²", "١", "12345678901"])
def test_bad_max_age(raw: str) -> None:
    assert isinstance(parse_error(max_age=raw), InvalidRequest)


@pytest.mark.parametrize("display", ["page", "popup", "touch", "wap"])
def test_display(display: str) -> None:
    assert parse(display=display).display == display


@pytest.mark.parametrize("display", ["Page", "native", "page popup"])
def test_bad_display(display: str) -> None:
    assert isinstance(parse_error(display=display), InvalidRequest)


# --- claims (AZ-12) ---------------------------------------------------------------------------


def test_claims_parsed() -> None:
    claims = {
        "userinfo": {
            "given_name": {"essential": True},
            "email": None,
            "picture": {},
            "http://example.info/claims/groups": None,
        },
        "id_token": {
            "auth_time": {"essential": True},
            "acr": {"values": ["urn:mace:incommon:iap:silver", 2]},
            "sub": {"value": "248289761001", "purpose": "ignored"},
        },
        "unknown_member": [1, 2, 3],
    }
    request = parse(claims=json.dumps(claims))
    assert request.claims == ClaimsRequest(
        id_token=(
            ("auth_time", ClaimRequest(essential=True)),
            ("acr", ClaimRequest(values=("urn:mace:incommon:iap:silver", 2))),
            ("sub", ClaimRequest(value="248289761001")),
        ),
        userinfo=(
            ("given_name", ClaimRequest(essential=True)),
            ("email", ClaimRequest()),
            ("picture", ClaimRequest()),
            ("http://example.info/claims/groups", ClaimRequest()),
        ),
    )


def _deep(levels: int) -> str:
    """Nesting inside a member §5.5 says to ignore, so only the depth bound refuses it."""
    return '{"userinfo": {"email": null}, "ext": ' + "[" * levels + "]" * levels + "}"


def test_shallow_nesting_in_ignored_members_is_fine() -> None:
    request = parse(claims=_deep(10))
    assert request.claims == ClaimsRequest(userinfo=(("email", ClaimRequest()),))


@pytest.mark.parametrize(
    "claims",
    [
        "not-json",
        "[]",
        "null",
        '"string"',
        "{",
        '{"userinfo": []}',
        '{"userinfo": null}',
        '{"id_token": "x"}',
        '{"userinfo": {"email": "yes"}}',
        '{"userinfo": {"email": true}}',
        '{"userinfo": {"email": {"essential": "true"}}}',
        '{"userinfo": {"email": {"essential": 1}}}',
        '{"userinfo": {"email": {"values": "a"}}}',
        '{"userinfo": {"email": {"values": [{"a": 1}]}}}',
        '{"userinfo": {"email": {"value": {"a": 1}}}}',
        '{"userinfo": {"email": {"value": NaN}}}',
        '{"userinfo": {"email": {"value": Infinity}}}',
        '{"userinfo": {"email": null, "email": {}}}',
        _deep(100),
        _deep(5_000),  # 10 KB; json.loads alone would hit RecursionError
        json.dumps({"userinfo": {f"c{i}": None for i in range(20_000)}}),  # > 16 KiB
    ],
)
def test_bad_claims(claims: str) -> None:
    assert isinstance(parse_error(claims=claims), InvalidRequest)


def test_claims_brackets_inside_strings_do_not_count_as_depth() -> None:
    value = "[{" * 100
    request = parse(claims=json.dumps({"id_token": {"sub": {"value": value}}}))
    assert request.claims is not None
    assert dict(request.claims.id_token)["sub"].value == value


# --- PKCE (CODE-08, CODE-10) ------------------------------------------------------------------

PLAIN_OK = "a" * 43


@pytest.mark.parametrize(
    ("client", "policy", "extra", "expected"),
    [
        (C1, AuthorizePolicy(), {}, (None, None)),
        (
            C1,
            AuthorizePolicy(),
            {"code_challenge": CHALLENGE, "code_challenge_method": "S256"},
            (CHALLENGE, "S256"),
        ),
        (
            P1,
            AuthorizePolicy(),
            {"code_challenge": CHALLENGE, "code_challenge_method": "S256"},
            (CHALLENGE, "S256"),
        ),
        (P1, AuthorizePolicy(), {"response_type": "none"}, (None, None)),
        (P1, AuthorizePolicy(require_pkce_for_public_clients=False), {}, (None, None)),
        (
            C1,
            AuthorizePolicy(allow_plain_pkce=True),
            {"code_challenge": PLAIN_OK},
            (PLAIN_OK, "plain"),
        ),
        (
            C1,
            AuthorizePolicy(allow_plain_pkce=True),
            {"code_challenge": "~._-" * 32, "code_challenge_method": "plain"},
            ("~._-" * 32, "plain"),
        ),
    ],
)
def test_pkce_accepted(
    client: Client,
    policy: AuthorizePolicy,
    extra: dict[str, str],
    expected: tuple[str | None, str | None],
) -> None:
    request = parse(client, policy, **extra)
    assert (request.code_challenge, request.code_challenge_method) == expected


@pytest.mark.parametrize(
    ("client", "policy", "extra"),
    [
        pytest.param(P1, AuthorizePolicy(), {}, id="public client without challenge"),
        pytest.param(P1, AuthorizePolicy(), {"response_type": "code id_token"}, id="public hybrid"),
        pytest.param(C1, AuthorizePolicy(require_pkce=True), {}, id="policy requires pkce"),
        pytest.param(C1, AuthorizePolicy(), {"code_challenge_method": "S256"}, id="method alone"),
        pytest.param(
            C1, AuthorizePolicy(), {"code_challenge": CHALLENGE}, id="missing method=plain"
        ),
        pytest.param(
            C1,
            AuthorizePolicy(),
            {"code_challenge": CHALLENGE, "code_challenge_method": "plain"},
            id="plain",
        ),
        pytest.param(
            C1,
            AuthorizePolicy(),
            {"code_challenge": CHALLENGE, "code_challenge_method": "S512"},
            id="S512",
        ),
        pytest.param(
            C1,
            AuthorizePolicy(),
            {"code_challenge": CHALLENGE, "code_challenge_method": "s256"},
            id="s256",
        ),
        pytest.param(
            C1,
            AuthorizePolicy(),
            {"code_challenge": CHALLENGE[:42], "code_challenge_method": "S256"},
            id="S256 42",
        ),
        pytest.param(
            C1,
            AuthorizePolicy(),
            {"code_challenge": CHALLENGE + "A", "code_challenge_method": "S256"},
            id="S256 44",
        ),
        pytest.param(
            C1,
            AuthorizePolicy(),
            {"code_challenge": CHALLENGE[:42] + "=", "code_challenge_method": "S256"},
            id="S256 padding",
        ),
        pytest.param(
            C1,
            AuthorizePolicy(),
            {"code_challenge": CHALLENGE[:42] + "+", "code_challenge_method": "S256"},
            id="S256 base64 not base64url",
        ),
        pytest.param(
            C1, AuthorizePolicy(allow_plain_pkce=True), {"code_challenge": "a" * 42}, id="plain 42"
        ),
        pytest.param(
            C1,
            AuthorizePolicy(allow_plain_pkce=True),
            {"code_challenge": "a" * 129},
            id="plain 129",
        ),
        pytest.param(
            C1,
            AuthorizePolicy(allow_plain_pkce=True),
            {"code_challenge": "a" * 42 + "é"},
            id="plain non-ascii",
        ),
        pytest.param(
            C1,
            AuthorizePolicy(allow_plain_pkce=True),
            {"code_challenge": "a" * 42 + "+"},
            id="plain bad char",
        ),
    ],
)
def test_pkce_refused(client: Client, policy: AuthorizePolicy, extra: dict[str, str]) -> None:
    assert isinstance(parse_error(client, policy, **extra), InvalidRequest)


def test_code_challenge_methods_for_discovery() -> None:
    assert AuthorizePolicy().code_challenge_methods == ("S256",)
    assert AuthorizePolicy(allow_plain_pkce=True).code_challenge_methods == ("S256", "plain")


# --- sizes (AZ-01, G10) and kept values -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "length"),
    [
        ("state", 2049),
        ("nonce", 2049),
        ("login_hint", 2049),
        ("scope", 2049),
        ("acr_values", 2049),
        ("ui_locales", 2049),
        ("id_token_hint", 8 * 1024 + 1),
        ("claims", 16 * 1024 + 1),
    ],
)
def test_oversized_values_are_refused(name: str, length: int) -> None:
    assert isinstance(parse_error(**{name: "x" * length}), InvalidRequest)


@pytest.mark.parametrize("name", ["state", "nonce", "login_hint"])
def test_lone_surrogates_are_refused(name: str) -> None:
    assert isinstance(parse_error(**{name: "a\udc80"}), InvalidRequest)


@pytest.mark.parametrize("state", ["s" * 1000, "s" * 2048, '&=#%+ é\r\n"><script>'])
def test_state_round_trips_unchanged(state: str) -> None:
    assert parse(state=state).state == state


def test_empty_state_is_absent() -> None:
    assert parse(state="").state is None


def test_hints_and_locales_are_kept() -> None:
    request = parse(
        id_token_hint="h" * 8000,
        login_hint="alice@example.test",
        acr_values="urn:a urn:b urn:a",
        ui_locales="fr-CA fr en",
        claims_locales="de",
    )
    assert request.id_token_hint == "h" * 8000
    assert request.login_hint == "alice@example.test"
    assert request.acr_values == ("urn:a", "urn:b")
    assert request.ui_locales == ("fr-CA", "fr", "en")
    assert request.claims_locales == ("de",)


# --- storage round trip -----------------------------------------------------------------------


def _full_request() -> AuthorizationRequest:
    return parse(
        response_type="id_token code token",
        response_mode="form_post",
        scope="openid profile offline_access",
        prompt="login consent",
        max_age="0",
        display="popup",
        claims=json.dumps(
            {
                "id_token": {"acr": {"essential": True, "values": ["a", 1, 2.5, False]}},
                "userinfo": {"email": None, "sub": {"value": "alice"}},
            }
        ),
        code_challenge=CHALLENGE,
        code_challenge_method="S256",
        id_token_hint="eyJ.x.y",
        login_hint="alice",
        acr_values="urn:a",
        ui_locales="fr",
        claims_locales="de en",
        state='"><script> é',
    )


@pytest.mark.parametrize("request_", [_full_request(), parse(response_type="code", state="")])
def test_round_trip_through_json(request_: AuthorizationRequest) -> None:
    stored = json.dumps(request_.to_dict())
    assert AuthorizationRequest.from_dict(json.loads(stored)) == request_


@pytest.mark.parametrize(
    "change",
    [
        {"v": 2},
        {"v": None},
        {"client_id": None},
        {"redirect_uri": 1},
        {"response_type": "token"},
        {"response_mode": "xyz"},
        {"scopes": "openid"},
        {"scopes": [1]},
        {"prompt": ["never"]},
        {"max_age": -1},
        {"max_age": "10"},
        {"max_age": True},
        {"display": "tv"},
        {"claims": []},
        {"code_challenge_method": "S512"},
        {"acr_values": None},
        {"state": 5},
    ],
)
def test_from_dict_rejects_malformed(change: dict[str, Any]) -> None:
    doc = _full_request().to_dict()
    doc.update(change)
    with pytest.raises(ValueError):  # noqa: PT011 - any ValueError: the message is not API
        AuthorizationRequest.from_dict(doc)
