"""Client authentication at the token endpoint (RFC 6749 §2.3; RFC 7523; OIDC Core §9).

SECURITY.md TOK-01 (no credentials), TOK-02 (wrong or several methods), TOK-03 (Basic
decoding), TOK-04 (assertion claims), TOK-05 (the jti and exp handed to the replay cache).
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any
from urllib.parse import quote_plus

import pytest

from idgate.protocol.client_auth import (
    JWT_BEARER_ASSERTION_TYPE,
    AssertionRules,
    ClientCredentials,
    JwtAssertion,
    PublicClient,
    SecretBasic,
    SecretPost,
    assertion_client_id,
    check_method,
    extract_client_credentials,
    parse_basic_header,
    validate_assertion_claims,
)
from idgate.protocol.clients import Client, ClientMetadata
from idgate.protocol.errors import InvalidClient, InvalidRequest, OAuthError

NOW = 1_700_000_000
ISSUER = "https://op.test"
TOKEN_URL = "https://op.test/token"
AUDIENCES = frozenset({ISSUER, TOKEN_URL})
ASSERTION = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjMSJ9.c2ln"  # shape only; never verified here
SAML_TYPE = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"


def b64(raw: bytes | str) -> str:
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    return base64.b64encode(data).decode("ascii")


def basic(client_id: str, secret: str) -> str:
    """Authorization header exactly as RFC 6749 §2.3.1 says: form-urlencode, then Basic."""
    return "Basic " + b64(f"{quote_plus(client_id)}:{quote_plus(secret)}")


def raw_basic(user_pass: bytes | str) -> str:
    return "Basic " + b64(user_pass)


def assertion_form(**extra: str) -> dict[str, str]:
    form = {"client_assertion_type": JWT_BEARER_ASSERTION_TYPE, "client_assertion": ASSERTION}
    form.update(extra)
    return form


# --- extract_client_credentials: success ------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "form", "expected"),
    [
        pytest.param(basic("c1", "s1"), {}, SecretBasic("c1", "s1"), id="basic"),
        pytest.param(
            basic("id:with:colons", "p:a:ss"),
            {},
            SecretBasic("id:with:colons", "p:a:ss"),
            id="basic-encoded-colons",
        ),
        pytest.param(
            basic("a+b c", "x+y z%20"),
            {},
            SecretBasic("a+b c", "x+y z%20"),
            id="basic-encoded-plus-space-percent",
        ),
        pytest.param(
            basic("clïent-ü", "sécret-☃"),
            {},
            SecretBasic("clïent-ü", "sécret-☃"),
            id="basic-encoded-unicode",
        ),
        pytest.param(raw_basic("c1:a+b"), {}, SecretBasic("c1", "a b"), id="raw-plus-is-space"),
        pytest.param(raw_basic("c1:a%3Ab"), {}, SecretBasic("c1", "a:b"), id="percent-3A-colon"),
        pytest.param(raw_basic("c1:a:b"), {}, SecretBasic("c1", "a:b"), id="split-first-colon"),
        pytest.param(raw_basic("c%3A1:s"), {}, SecretBasic("c:1", "s"), id="id-encoded-colon"),
        pytest.param(
            raw_basic("clïent:sécret"), {}, SecretBasic("clïent", "sécret"), id="raw-utf8"
        ),
        pytest.param(
            "basic " + b64("c1:s1"), {}, SecretBasic("c1", "s1"), id="scheme-case-insensitive"
        ),
        pytest.param(
            "Basic   " + b64("c1:s1") + " ", {}, SecretBasic("c1", "s1"), id="extra-spaces"
        ),
        pytest.param(
            basic("c1", "s1"),
            {"client_id": "c1", "grant_type": "authorization_code"},
            SecretBasic("c1", "s1"),
            id="basic-with-same-body-client-id",
        ),
        pytest.param(
            basic("c1", "s1"),
            {"client_secret": "", "client_assertion": ""},
            SecretBasic("c1", "s1"),
            id="basic-with-empty-body-params",
        ),
        pytest.param(
            None,
            {"client_id": "c1", "client_secret": "s 1+%"},
            SecretPost("c1", "s 1+%"),
            id="post",
        ),
        pytest.param(None, assertion_form(), JwtAssertion(None, ASSERTION), id="assertion"),
        pytest.param(
            None,
            assertion_form(client_id="j1"),
            JwtAssertion("j1", ASSERTION),
            id="assertion-with-client-id",
        ),
        pytest.param(None, {"client_id": "p1"}, PublicClient("p1"), id="public"),
        pytest.param(
            None,
            {"client_id": "p1", "client_secret": ""},
            PublicClient("p1"),
            id="empty-secret-is-absent",
        ),
    ],
)
def test_extract_credentials(
    authorization: str | None, form: dict[str, str], expected: ClientCredentials
) -> None:
    assert extract_client_credentials(authorization, form) == expected


def test_secrets_stay_out_of_repr() -> None:
    text = repr(SecretBasic("c1", "s3cr3t")) + repr(SecretPost("c1", "s3cr3t"))
    text += repr(JwtAssertion("c1", ASSERTION))
    assert "s3cr3t" not in text
    assert ASSERTION not in text
    assert "c1" in text


# --- extract_client_credentials: failures -----------------------------------------------------

MALFORMED_BASIC = [
    pytest.param("Basic !!!", id="bang"),
    pytest.param("Basic", id="no-credentials"),
    pytest.param("Basic ", id="empty-credentials"),
    pytest.param("", id="empty-header"),
    pytest.param("Basic abc", id="bad-padding-length"),
    pytest.param("Basic YzE6cw", id="missing-padding"),
    pytest.param("Basic YzE6cx==", id="non-canonical-bits"),
    pytest.param("Basic YzE6 czE=", id="inner-space"),
    pytest.param("Basic YzE6czE=YzE=", id="padding-inside"),
    pytest.param("Basic " + b64("c1s1"), id="no-colon"),
    pytest.param("Basic " + b64(":s1"), id="empty-user"),
    pytest.param("Basic " + b64("c1:"), id="empty-secret"),
    pytest.param("Basic " + b64(b"c1:\xff\xfe"), id="not-utf8"),
    pytest.param("Basic " + b64("c1:%zz"), id="bad-percent"),
    pytest.param("Basic " + b64("c1:50%"), id="trailing-percent"),
    pytest.param("Basic " + b64("c1:%ff"), id="percent-not-utf8"),
    pytest.param("Basic " + b64("c%001:s1"), id="nul-in-id"),
    pytest.param("Basic " + b64("c1:s%0A1"), id="newline-in-secret"),
    pytest.param("Basic " + b64("c" * 256 + ":s1"), id="id-too-long"),
    pytest.param("Basic " + b64("c1:" + "s" * 513), id="secret-too-long"),
    pytest.param("Bearer abc", id="bearer"),
    pytest.param("Digest username=c1", id="digest"),
    pytest.param("Basic\t" + b64("c1:s1"), id="tab-separator"),
]


@pytest.mark.parametrize("authorization", MALFORMED_BASIC)
def test_malformed_authorization_header(authorization: str) -> None:
    with pytest.raises(InvalidClient) as caught:
        extract_client_credentials(authorization, {"grant_type": "client_credentials"})
    assert caught.value.basic is True
    assert type(caught.value) is InvalidClient


def test_parse_basic_header_limits_are_inclusive() -> None:
    header = basic("c" * 255, "s" * 512)
    assert parse_basic_header(header) == SecretBasic("c" * 255, "s" * 512)


@pytest.mark.parametrize(
    ("authorization", "form", "error", "basic_flag"),
    [
        # TOK-02: more than one method (RFC 6749 §2.3) -> invalid_request.
        pytest.param(
            basic("c1", "s1"),
            {"client_id": "c1", "client_secret": "s1"},
            InvalidRequest,
            None,
            id="basic+post",
        ),
        pytest.param(basic("c1", "s1"), assertion_form(), InvalidRequest, None, id="basic+jwt"),
        pytest.param(
            basic("c1", "s1"),
            {"client_assertion_type": JWT_BEARER_ASSERTION_TYPE},
            InvalidRequest,
            None,
            id="basic+assertion-type",
        ),
        pytest.param(
            None,
            assertion_form(client_id="c1", client_secret="s1"),
            InvalidRequest,
            None,
            id="post+jwt",
        ),
        pytest.param(
            "Bearer abc",
            {"client_id": "c1", "client_secret": "s1"},
            InvalidRequest,
            None,
            id="bearer+post",
        ),
        pytest.param(
            "Basic !!!",
            {"client_id": "c1", "client_secret": "s1"},
            InvalidRequest,
            None,
            id="bad-basic+post",
        ),
        pytest.param(
            basic("c1", "s1"),
            {"client_id": "c2"},
            InvalidRequest,
            None,
            id="body-client-id-differs-from-basic",
        ),
        # RFC 7521 §4.2: both assertion parameters are REQUIRED.
        pytest.param(
            None, {"client_assertion": ASSERTION}, InvalidRequest, None, id="assertion-no-type"
        ),
        pytest.param(
            None,
            {"client_assertion": ASSERTION, "client_assertion_type": ""},
            InvalidRequest,
            None,
            id="assertion-empty-type",
        ),
        pytest.param(
            None,
            {"client_assertion_type": JWT_BEARER_ASSERTION_TYPE, "client_id": "c1"},
            InvalidRequest,
            None,
            id="type-no-assertion",
        ),
        # RFC 7521 §4.2.1 / TOK-04: an unsupported assertion type is invalid_client.
        pytest.param(
            None,
            assertion_form(client_assertion_type=SAML_TYPE),
            InvalidClient,
            False,
            id="saml-type",
        ),
        pytest.param(
            None,
            assertion_form(client_assertion_type=JWT_BEARER_ASSERTION_TYPE.upper()),
            InvalidClient,
            False,
            id="type-wrong-case",
        ),
        pytest.param(
            None,
            assertion_form(client_assertion="a" * (16 * 1024 + 1)),
            InvalidClient,
            False,
            id="assertion-too-long",
        ),
        pytest.param(
            None,
            assertion_form(client_id="c\x001"),
            InvalidClient,
            False,
            id="assertion-client-id-nul",
        ),
        # TOK-01: nothing identifies a client.
        pytest.param(None, {}, InvalidClient, False, id="nothing"),
        pytest.param(None, {"client_id": ""}, InvalidClient, False, id="empty-client-id"),
        pytest.param(
            None, {"client_secret": "s1"}, InvalidClient, False, id="secret-without-client-id"
        ),
        pytest.param(None, {"client_id": "c" * 256}, InvalidClient, False, id="client-id-too-long"),
        pytest.param(None, {"client_id": "c\n1"}, InvalidClient, False, id="client-id-newline"),
        pytest.param(
            None, {"client_id": "c\ud8001"}, InvalidClient, False, id="client-id-surrogate"
        ),
        pytest.param(
            None,
            {"client_id": "c1", "client_secret": "s" * 513},
            InvalidClient,
            False,
            id="secret-too-long",
        ),
        pytest.param(
            None,
            {"client_id": "c1", "client_secret": "s\x7f"},
            InvalidClient,
            False,
            id="secret-del",
        ),
    ],
)
def test_extract_credentials_refused(
    authorization: str | None,
    form: dict[str, str],
    error: type[OAuthError],
    basic_flag: bool | None,
) -> None:
    with pytest.raises(OAuthError) as caught:
        extract_client_credentials(authorization, form)
    assert type(caught.value) is error
    if basic_flag is not None:
        assert isinstance(caught.value, InvalidClient)
        assert caught.value.basic is basic_flag


def test_descriptions_echo_no_credentials() -> None:
    for authorization, form in [
        (basic("c1", "topsecret"), {"client_secret": "topsecret"}),
        (None, assertion_form(client_assertion_type="topsecret")),
        ("Basic " + b64("c1:topsecret%zz"), {}),
    ]:
        with pytest.raises(OAuthError) as caught:
            extract_client_credentials(authorization, form)
        assert "topsecret" not in str(caught.value)


# --- assertion_client_id ----------------------------------------------------------------------


def segment(doc: Any) -> str:
    raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def jwt(payload: Any, signature: str = "c2ln") -> str:
    return f"{segment({'alg': 'RS256'})}.{segment(payload)}.{signature}"


@pytest.mark.parametrize(
    ("credentials", "expected"),
    [
        (JwtAssertion(None, jwt({"sub": "j1", "iss": "j1"})), "j1"),
        (JwtAssertion("j1", jwt({"sub": "j1"})), "j1"),
        (JwtAssertion(None, jwt({"sub": "clïent"})), "clïent"),
    ],
)
def test_assertion_client_id(credentials: JwtAssertion, expected: str) -> None:
    assert assertion_client_id(credentials) == expected


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param(JwtAssertion("c2", jwt({"sub": "j1"})), id="body-client-id-differs"),
        pytest.param(JwtAssertion(None, jwt({"iss": "j1"})), id="no-sub"),
        pytest.param(JwtAssertion(None, jwt({"sub": ""})), id="empty-sub"),
        pytest.param(JwtAssertion(None, jwt({"sub": 7})), id="numeric-sub"),
        pytest.param(JwtAssertion(None, jwt({"sub": "j\x001"})), id="nul-sub"),
        pytest.param(JwtAssertion(None, jwt(["j1"])), id="payload-not-object"),
        pytest.param(JwtAssertion(None, jwt({"sub": "j1"}, signature="")), id="no-signature"),
        pytest.param(JwtAssertion(None, "a.b"), id="two-parts"),
        pytest.param(JwtAssertion(None, "a.b.c.d.e"), id="jwe"),
        pytest.param(JwtAssertion(None, "a.!!.c"), id="bad-charset"),
        pytest.param(JwtAssertion(None, "a.abcde.c"), id="bad-base64-length"),
        pytest.param(JwtAssertion(None, jwt(b"{not json")), id="not-json"),
        pytest.param(JwtAssertion(None, jwt(b"\xff\xfe")), id="utf16-bom"),
        pytest.param(JwtAssertion(None, jwt(b'{"sub":"j1\xc3"}')), id="not-utf8"),
        pytest.param(JwtAssertion(None, jwt('{"sub":"j1"}'.encode("utf-16"))), id="utf16-json"),
        pytest.param(JwtAssertion(None, jwt(b'{"sub":"j1","sub":"c2"}')), id="duplicate-sub"),
        pytest.param(
            JwtAssertion(None, jwt(b'{"sub":"j1","x":' + b"[" * 5000 + b"]" * 5000 + b"}")),
            id="deep-nesting",
        ),
    ],
)
def test_assertion_client_id_refused(credentials: JwtAssertion) -> None:
    with pytest.raises(InvalidClient):
        assertion_client_id(credentials)


# --- check_method -----------------------------------------------------------------------------


def client_with(method: str, client_id: str = "c1") -> Client:
    return Client(
        client_id,
        ClientMetadata(redirect_uris=("https://rp.test/cb",), token_endpoint_auth_method=method),
    )


BASIC = SecretBasic("c1", "s1")
POST = SecretPost("c1", "s1")
JWT = JwtAssertion("c1", ASSERTION)
JWT_NO_ID = JwtAssertion(None, ASSERTION)
PUBLIC = PublicClient("c1")
ALL_CREDENTIALS: dict[str, ClientCredentials] = {
    "basic": BASIC,
    "post": POST,
    "jwt": JWT,
    "jwt-no-id": JWT_NO_ID,
    "none": PUBLIC,
}
FITS = {
    "client_secret_basic": {"basic"},
    "client_secret_post": {"post"},
    "client_secret_jwt": {"jwt", "jwt-no-id"},
    "private_key_jwt": {"jwt", "jwt-no-id"},
    "none": {"none"},
}


@pytest.mark.parametrize("method", sorted(FITS))
@pytest.mark.parametrize("used", sorted(ALL_CREDENTIALS))
def test_check_method(method: str, used: str) -> None:
    credentials = ALL_CREDENTIALS[used]
    client = client_with(method)
    if used in FITS[method]:
        check_method(credentials, client)
        return
    with pytest.raises(InvalidClient) as caught:
        check_method(credentials, client)
    assert caught.value.basic is (used == "basic")


@pytest.mark.parametrize(
    "credentials",
    [SecretBasic("c2", "s1"), SecretPost("c2", "s1"), JwtAssertion("c2", ASSERTION)],
)
def test_check_method_refuses_credentials_of_another_client(
    credentials: ClientCredentials,
) -> None:
    method = next(iter(credentials.methods))
    with pytest.raises(InvalidClient):
        check_method(credentials, client_with(method, "c1"))
    check_method(credentials, client_with(method, "c2"))


# --- validate_assertion_claims ------------------------------------------------------------------


def claims(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "iss": "c1",
        "sub": "c1",
        "aud": TOKEN_URL,
        "exp": NOW + 60,
        "iat": NOW,
        "jti": "jti-1",
    }
    for name, value in changes.items():
        if value is ...:
            doc.pop(name, None)
        else:
            doc[name] = value
    return doc


def validate(doc: dict[str, Any], **options: Any) -> tuple[str, int]:
    return validate_assertion_claims(doc, client_id="c1", audiences=AUDIENCES, now=NOW, **options)


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        pytest.param(claims(), ("jti-1", NOW + 60), id="token-endpoint-aud"),
        pytest.param(claims(aud=ISSUER), ("jti-1", NOW + 60), id="issuer-aud"),
        pytest.param(claims(aud=[TOKEN_URL]), ("jti-1", NOW + 60), id="aud-list"),
        pytest.param(claims(aud=[ISSUER, TOKEN_URL]), ("jti-1", NOW + 60), id="aud-list-both"),
        pytest.param(claims(iat=...), ("jti-1", NOW + 60), id="no-iat"),
        pytest.param(claims(nbf=NOW + 8), ("jti-1", NOW + 60), id="nbf-8s-ahead"),
        pytest.param(claims(nbf=NOW + 30), ("jti-1", NOW + 60), id="nbf-at-leeway"),
        pytest.param(claims(iat=NOW + 30), ("jti-1", NOW + 60), id="iat-at-leeway"),
        pytest.param(claims(exp=NOW - 29), ("jti-1", NOW - 29), id="exp-within-leeway"),
        pytest.param(claims(exp=NOW + 630), ("jti-1", NOW + 630), id="exp-at-max-lifetime"),
        pytest.param(claims(exp=NOW + 59.2), ("jti-1", NOW + 60), id="exp-float-rounded-up"),
        pytest.param(claims(jti="j" * 255), ("j" * 255, NOW + 60), id="jti-255"),
    ],
)
def test_assertion_claims_accepted(doc: dict[str, Any], expected: tuple[str, int]) -> None:
    result = validate(doc)
    assert result == expected
    assert type(result[1]) is int


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param(claims(aud="https://other.test/token"), id="foreign-aud"),
        pytest.param(claims(aud=[TOKEN_URL, "https://other.test"]), id="aud-list-foreign"),
        pytest.param(claims(aud=["https://other.test"]), id="aud-list-only-foreign"),
        pytest.param(claims(aud=[]), id="aud-empty-list"),
        pytest.param(claims(aud=...), id="no-aud"),
        pytest.param(claims(aud=""), id="aud-empty"),
        pytest.param(claims(aud={"x": TOKEN_URL}), id="aud-object"),
        pytest.param(claims(aud=[TOKEN_URL, 1]), id="aud-list-number"),
        pytest.param(claims(aud=TOKEN_URL + "/"), id="aud-trailing-slash"),
        pytest.param(claims(iss="c2"), id="iss-not-client"),
        pytest.param(claims(sub="c2"), id="sub-not-client"),
        pytest.param(claims(iss="c2", sub="c2"), id="other-client"),
        pytest.param(claims(iss=...), id="no-iss"),
        pytest.param(claims(sub=...), id="no-sub"),
        pytest.param(claims(iss=None), id="null-iss"),
        pytest.param(claims(exp=...), id="no-exp"),
        pytest.param(claims(exp=NOW - 300), id="exp-5-min-past"),
        pytest.param(claims(exp=NOW - 30), id="exp-at-leeway"),
        pytest.param(claims(exp=NOW + 631), id="too-long-lived"),
        pytest.param(claims(exp=NOW + 10**9), id="exp-far-future"),
        pytest.param(claims(exp=str(NOW + 60)), id="exp-string"),
        pytest.param(claims(exp=True), id="exp-bool"),
        pytest.param(claims(exp=math.nan), id="exp-nan"),
        pytest.param(claims(exp=math.inf), id="exp-inf"),
        pytest.param(claims(exp=None), id="exp-null"),
        pytest.param(claims(nbf=NOW + 61), id="nbf-61s-ahead"),
        pytest.param(claims(nbf=NOW + 31), id="nbf-past-leeway"),
        pytest.param(claims(nbf="soon"), id="nbf-string"),
        pytest.param(claims(iat=NOW + 31), id="iat-future"),
        pytest.param(claims(iat=[NOW]), id="iat-list"),
        pytest.param(claims(jti=...), id="no-jti"),
        pytest.param(claims(jti=""), id="empty-jti"),
        pytest.param(claims(jti=42), id="numeric-jti"),
        pytest.param(claims(jti="j" * 256), id="jti-too-long"),
        pytest.param(claims(jti="j\x00"), id="jti-nul"),
    ],
)
def test_assertion_claims_refused(doc: dict[str, Any]) -> None:
    with pytest.raises(InvalidClient) as caught:
        validate(doc)
    assert caught.value.basic is False


def test_assertion_rules_carry_the_options() -> None:
    rules = AssertionRules(audiences=AUDIENCES, max_lifetime=60, leeway=0)
    assert rules.validate(claims(), client_id="c1", now=NOW) == ("jti-1", NOW + 60)
    with pytest.raises(InvalidClient):
        rules.validate(claims(exp=NOW + 61), client_id="c1", now=NOW)
    with pytest.raises(InvalidClient):
        rules.validate(claims(nbf=NOW + 1), client_id="c1", now=NOW)
    with pytest.raises(InvalidClient):
        rules.validate(claims(), client_id="c2", now=NOW)
    assert AssertionRules(audiences=AUDIENCES).validate(
        claims(exp=NOW + 630), client_id="c1", now=NOW
    )


def test_assertion_claim_options_are_honoured() -> None:
    assert validate(claims(exp=NOW + 3600), max_lifetime=3600) == ("jti-1", NOW + 3600)
    with pytest.raises(InvalidClient):
        validate(claims(exp=NOW - 1), leeway=0)
    with pytest.raises(InvalidClient):
        validate_assertion_claims(claims(), client_id="c1", audiences={ISSUER}, now=NOW)
