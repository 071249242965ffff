"""The pure logout rules: request parsing, post-logout matching, front-channel URLs, Logout
Token claims, and registration of the logout URIs (RP-Initiated, Front- and Back-Channel
Logout 1.0; SECURITY.md LOG-02, LOG-07, LOG-09, LOG-11, LOG-12)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from idgate.protocol.clients import parse_client_metadata
from idgate.protocol.errors import InvalidClientMetadata, InvalidRequest
from idgate.protocol.logout import (
    BACKCHANNEL_LOGOUT_EVENT,
    LOGOUT_TOKEN_LIFETIME,
    check_logout_uri,
    frontchannel_logout_url,
    hint_audience,
    logout_token_claims,
    parse_end_session_request,
    post_logout_location,
    post_logout_redirect_allowed,
)

RP = "https://rp.example"
WEB = parse_client_metadata(
    {
        "redirect_uris": [f"{RP}/cb"],
        "post_logout_redirect_uris": [f"{RP}/bye", f"{RP}/byeq?a=1"],
    }
)
NATIVE = parse_client_metadata(
    {
        "application_type": "native",
        "token_endpoint_auth_method": "none",
        "redirect_uris": ["http://127.0.0.1/cb"],
        "post_logout_redirect_uris": ["http://127.0.0.1/bye"],
    }
)


# --- the request (§2) -------------------------------------------------------------------------


def test_parse_reads_every_parameter_and_ignores_others() -> None:
    request = parse_end_session_request(
        {
            "id_token_hint": "a.b.c",
            "logout_hint": "alice",
            "client_id": "c1",
            "post_logout_redirect_uri": f"{RP}/bye",
            "state": "s 1",
            "ui_locales": "fr  en",
            "extra": "ignored",
        }
    )
    assert request.id_token_hint == "a.b.c"
    assert request.logout_hint == "alice"
    assert request.client_id == "c1"
    assert request.post_logout_redirect_uri == f"{RP}/bye"
    assert request.state == "s 1"
    assert request.ui_locales == ("fr", "en")


def test_empty_values_are_absent() -> None:
    request = parse_end_session_request({"state": "", "client_id": ""})
    assert request.state is None
    assert request.client_id is None


@pytest.mark.parametrize(
    ("params", "repeated", "message"),
    [
        ({"state": "x"}, frozenset({"state"}), "repeated"),
        ({"id_token_hint": "x" * 16_385}, frozenset(), "too long"),
        ({"post_logout_redirect_uri": "https://a/" + "x" * 2048}, frozenset(), "too long"),
        ({"state": "s" * 1025}, frozenset(), "too long"),
        ({"client_id": "\ud800"}, frozenset(), "not valid text"),
    ],
)
def test_bad_requests(params: dict[str, str], repeated: frozenset[str], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        parse_end_session_request(params, repeated)


def test_repeated_unknown_parameters_do_not_matter() -> None:
    assert parse_end_session_request({"x": "1"}, frozenset({"x"})).state is None


@pytest.mark.parametrize(
    ("claims", "audience"),
    [
        ({"aud": "c1"}, "c1"),
        ({"aud": ["c1"]}, "c1"),
        ({"aud": ["c1", "c2"], "azp": "c2"}, "c2"),
    ],
)
def test_hint_audience(claims: dict[str, Any], audience: str) -> None:
    assert hint_audience(claims) == audience


@pytest.mark.parametrize(
    "claims",
    [
        {},
        {"aud": ""},
        {"aud": []},
        {"aud": ["c1", "c2"]},
        {"aud": ["c1", "c2"], "azp": "c3"},
        {"aud": 7},
    ],
)
def test_hint_without_a_usable_audience(claims: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest):
        hint_audience(claims)


# --- post_logout_redirect_uri (§3; LOG-02) ----------------------------------------------------


@pytest.mark.parametrize("uri", [f"{RP}/bye", f"{RP}/byeq?a=1"])
def test_registered_post_logout_uris_match(uri: str) -> None:
    assert post_logout_redirect_allowed(uri, WEB)


@pytest.mark.parametrize(
    "uri",
    [
        f"{RP}/bye?x=1",  # added query
        f"{RP}/byeq?a=1&b=2",
        f"{RP}/byeq",
        "https://RP.example/bye",  # case
        f"{RP}/Bye",
        f"{RP}/bye/",  # trailing slash
        f"{RP}:443/bye",  # explicit default port
        f"{RP}:8443/bye",  # another port
        "http://rp.example/bye",  # scheme
        f"{RP}/bye#x",
        f"{RP}/cb",  # a redirect_uri, not a post-logout one
        "https://rp.example.evil/bye",
    ],
)
def test_anything_else_does_not(uri: str) -> None:
    assert not post_logout_redirect_allowed(uri, WEB)


def test_native_loopback_may_vary_the_port_only() -> None:
    assert post_logout_redirect_allowed("http://127.0.0.1:5173/bye", NATIVE)
    assert not post_logout_redirect_allowed("http://127.0.0.1:5173/bye2", NATIVE)
    assert not post_logout_redirect_allowed("http://localhost:5173/bye", NATIVE)
    assert not post_logout_redirect_allowed("http://127.0.0.1:5173/bye", WEB)


@pytest.mark.parametrize(
    ("uri", "state", "location"),
    [
        (f"{RP}/bye", None, f"{RP}/bye"),
        (f"{RP}/bye", "s", f"{RP}/bye?state=s"),
        (f"{RP}/byeq?a=1", "a b&c", f"{RP}/byeq?a=1&state=a+b%26c"),
        (f"{RP}/byeq?", "s", f"{RP}/byeq?state=s"),
    ],
)
def test_post_logout_location_has_state_iff_sent(
    uri: str, state: str | None, location: str
) -> None:
    assert post_logout_location(uri, state) == location


# --- Front-Channel Logout (§2, §3; LOG-11) ----------------------------------------------------


def test_frontchannel_url_with_session_gets_iss_and_sid_and_keeps_its_query() -> None:
    url = frontchannel_logout_url(
        f"{RP}/fc?tenant=a%20b", issuer="https://op.example", sid="s1", session_required=True
    )
    parts = urlsplit(url)
    assert parts.path == "/fc"
    assert parse_qsl(parts.query) == [
        ("tenant", "a b"),
        ("iss", "https://op.example"),
        ("sid", "s1"),
    ]


def test_frontchannel_url_without_session_gets_neither() -> None:
    url = frontchannel_logout_url(
        f"{RP}/fc?x=1", issuer="https://op.example", sid="s1", session_required=False
    )
    assert url == f"{RP}/fc?x=1"


# --- Logout Token claims (BCL §2.4; LOG-09) ----------------------------------------------------


def test_logout_token_claims() -> None:
    claims = logout_token_claims(
        issuer="https://op.example",
        client_id="c1",
        subject="sub-1",
        sid="sid-1",
        issued_at=1000,
        jti="j1",
    )
    assert claims == {
        "iss": "https://op.example",
        "aud": "c1",
        "iat": 1000,
        "exp": 1000 + LOGOUT_TOKEN_LIFETIME,
        "jti": "j1",
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
        "sub": "sub-1",
        "sid": "sid-1",
    }
    assert LOGOUT_TOKEN_LIFETIME <= 300
    assert "nonce" not in claims


def test_logout_token_needs_sub_or_sid() -> None:
    only_sid = logout_token_claims(
        issuer="i", client_id="c", subject=None, sid="s", issued_at=1, jti="j"
    )
    assert "sub" not in only_sid
    assert only_sid["sid"] == "s"
    with pytest.raises(ValueError, match="sub or sid"):
        logout_token_claims(issuer="i", client_id="c", subject=None, sid=None, issued_at=1, jti="j")


# --- registering the logout URIs (FCL §2, BCL §2.2; LOG-11) ------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "/relative/logout",
        "rp.example/logout",
        f"{RP}/logout#fragment",
        f"{RP}/logout#",
        "http://rp.example/logout",
        "http://127.0.0.1/logout",
        "javascript:alert(1)",
        "https:///nohost",
        "https://user:pw@rp.example/logout",
        f"{RP}/log out",
        f"{RP}:99999/logout",
    ],
)
@pytest.mark.parametrize("field", ["frontchannel_logout_uri", "backchannel_logout_uri"])
def test_bad_logout_uris_are_refused(field: str, uri: str) -> None:
    with pytest.raises(InvalidClientMetadata, match=field):
        parse_client_metadata({"redirect_uris": [f"{RP}/cb"], field: uri})
    with pytest.raises(InvalidClientMetadata):
        check_logout_uri(uri, field)


@pytest.mark.parametrize("channel", ["frontchannel", "backchannel"])
def test_logout_metadata_round_trip(channel: str) -> None:
    doc = {
        "redirect_uris": [f"{RP}/cb"],
        f"{channel}_logout_uri": f"{RP}/{channel}?x=1",
        f"{channel}_logout_session_required": True,
    }
    metadata = parse_client_metadata(doc)
    assert getattr(metadata, f"{channel}_logout_uri") == f"{RP}/{channel}?x=1"
    assert getattr(metadata, f"{channel}_logout_session_required") is True
    again = parse_client_metadata(metadata.to_dict())
    assert again == metadata


@pytest.mark.parametrize("value", ["true", 1, None, []])
def test_session_required_must_be_a_boolean(value: object) -> None:
    doc = {
        "redirect_uris": [f"{RP}/cb"],
        "backchannel_logout_uri": f"{RP}/bc",
        "backchannel_logout_session_required": value,
    }
    if value is None:
        assert parse_client_metadata(doc).backchannel_logout_session_required is False
        return
    with pytest.raises(InvalidClientMetadata, match="boolean"):
        parse_client_metadata(doc)


def test_no_logout_uris_by_default() -> None:
    doc = parse_client_metadata({"redirect_uris": [f"{RP}/cb"]}).to_dict()
    assert not {k for k in doc if "channel_logout" in k}
