"""Authorization responses: query, fragment, form_post (SECURITY.md RDR-03/09, AZ-01, G7, G8)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

import pytest

from idgate.protocol.errors import (
    AccessDenied,
    ConsentRequired,
    InvalidClient,
    InvalidRedirectUri,
    InvalidRequest,
    InvalidToken,
    LoginRequired,
    OAuthError,
    UnknownClient,
)
from idgate.protocol.response_modes import (
    FormPost,
    RedirectTo,
    ResponseMode,
    ResponseTarget,
    build_response,
    error_response,
)

RP = "https://rp.test"
ISSUER = "https://op.test"
ODD_STATES = [
    '"><script>alert(1)</script>',
    "a b  c",
    "&=#%+;?/",
    "a&state=forged",
    "x#y",
    "%41%0D%0A",
    "\r\nSet-Cookie: x=1",
    "é日本語🙂",
    "+",
    "~-._",
    "s" * 2048,
]


def _location(response: object) -> str:
    assert isinstance(response, RedirectTo)
    return response.location


def _query(location: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(location).query, keep_blank_values=True, strict_parsing=True)


def _fragment(location: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(location).fragment, keep_blank_values=True, strict_parsing=True)


def test_query_without_existing_query() -> None:
    target = ResponseTarget(f"{RP}/cb", "query", "st")
    location = _location(build_response(target, {"code": "abc", "iss": ISSUER}))
    assert location == f"{RP}/cb?code=abc&iss=https%3A%2F%2Fop.test&state=st"


@pytest.mark.parametrize(
    ("redirect_uri", "prefix"),
    [
        (f"{RP}/cbq?a=1", f"{RP}/cbq?a=1&"),
        (f"{RP}/cbq?a=%2F+b&c", f"{RP}/cbq?a=%2F+b&c&"),
        (f"{RP}/cbq?", f"{RP}/cbq?"),
        (f"{RP}/cbq?a=1&", f"{RP}/cbq?a=1&"),
    ],
)
def test_query_keeps_existing_query_byte_exact(redirect_uri: str, prefix: str) -> None:
    target = ResponseTarget(redirect_uri, "query", "st")
    location = _location(build_response(target, {"code": "abc", "iss": ISSUER}))
    assert location == f"{prefix}code=abc&iss=https%3A%2F%2Fop.test&state=st"


def test_query_existing_parameter_survives_parsing() -> None:
    target = ResponseTarget(f"{RP}/cbq?a=1", "query", None)
    location = _location(build_response(target, {"code": "abc"}))
    assert _query(location) == [("a", "1"), ("code", "abc")]


def test_fragment() -> None:
    target = ResponseTarget(f"{RP}/cb", "fragment", "st")
    location = _location(build_response(target, {"code": "c", "id_token": "h.p.s", "iss": ISSUER}))
    assert location == f"{RP}/cb#code=c&id_token=h.p.s&iss=https%3A%2F%2Fop.test&state=st"
    assert urlsplit(location).query == ""


def test_fragment_keeps_the_query_of_the_redirect_uri() -> None:
    target = ResponseTarget(f"{RP}/cbq?a=1", "fragment", None)
    location = _location(build_response(target, {"code": "c"}))
    assert location == f"{RP}/cbq?a=1#code=c"


def test_form_post() -> None:
    target = ResponseTarget(f"{RP}/cbq?a=1", "form_post", '"><script>')
    response = build_response(target, {"code": "c", "iss": ISSUER})
    assert response == FormPost(
        action=f"{RP}/cbq?a=1",
        fields=(("code", "c"), ("iss", ISSUER), ("state", '"><script>')),
    )


@pytest.mark.parametrize("mode", ["query", "fragment", "form_post"])
def test_no_state_when_none_was_sent(mode: ResponseMode) -> None:
    response = build_response(ResponseTarget(f"{RP}/cb", mode, None), {"code": "c"})
    if isinstance(response, FormPost):
        assert response.fields == (("code", "c"),)
    else:
        assert "state" not in response.location


def test_state_only_from_the_target() -> None:
    with pytest.raises(ValueError, match="state"):
        build_response(ResponseTarget(f"{RP}/cb", "query", "st"), {"state": "forged"})


@pytest.mark.parametrize("mode", ["query", "fragment"])
def test_fragment_in_redirect_uri_is_a_programming_error(mode: ResponseMode) -> None:
    with pytest.raises(ValueError, match="fragment"):
        build_response(ResponseTarget(f"{RP}/cb#x", mode, None), {"code": "c"})


@pytest.mark.parametrize("state", ODD_STATES)
@pytest.mark.parametrize("redirect_uri", [f"{RP}/cb", f"{RP}/cbq?a=1"])
def test_odd_state_round_trips_through_query(state: str, redirect_uri: str) -> None:
    location = _location(
        build_response(ResponseTarget(redirect_uri, "query", state), {"code": "c"})
    )
    params = _query(location)
    assert params[-2:] == [("code", "c"), ("state", state)]
    assert urlsplit(location).fragment == ""
    assert not any(ch in location for ch in ' "<>\r\n')  # AZ-01: CR LF stay encoded


@pytest.mark.parametrize("state", ODD_STATES)
def test_odd_state_round_trips_through_fragment(state: str) -> None:
    target = ResponseTarget(f"{RP}/cb", "fragment", state)
    location = _location(build_response(target, {"id_token": "h.p.s"}))
    assert _fragment(location) == [("id_token", "h.p.s"), ("state", state)]
    assert not any(ch in location for ch in ' "<>\r\n')


@pytest.mark.parametrize("state", ODD_STATES)
def test_odd_state_is_passed_unchanged_to_form_post(state: str) -> None:
    response = build_response(ResponseTarget(f"{RP}/cb", "form_post", state), {"code": "c"})
    assert isinstance(response, FormPost)
    assert dict(response.fields)["state"] == state


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "parse"),
    [("query", _query), ("fragment", _fragment)],
)
def test_error_response_carries_error_state_and_iss(
    mode: ResponseMode, parse: Callable[[str], list[tuple[str, str]]]
) -> None:
    target = ResponseTarget(f"{RP}/cb", mode, "a&b")
    location = _location(error_response(target, InvalidRequest("nonce is required"), issuer=ISSUER))
    assert parse(location) == [
        ("error", "invalid_request"),
        ("error_description", "nonce is required"),
        ("iss", ISSUER),
        ("state", "a&b"),
    ]


def test_error_response_form_post_without_description() -> None:
    target = ResponseTarget(f"{RP}/cb", "form_post", "st")
    response = error_response(target, AccessDenied(), issuer=ISSUER)
    assert response == FormPost(
        f"{RP}/cb", (("error", "access_denied"), ("iss", ISSUER), ("state", "st"))
    )


@pytest.mark.parametrize("error", [LoginRequired("x"), ConsentRequired("y")])
def test_oidc_errors_are_redirected(error: OAuthError) -> None:
    location = _location(error_response(ResponseTarget(f"{RP}/cb", "query"), error, issuer=ISSUER))
    assert ("error", error.error) in _query(location)


def test_error_description_cannot_inject() -> None:
    target = ResponseTarget(f"{RP}/cb", "query", None)
    error = InvalidRequest('bad "value"\r\n\\ é')
    params = dict(_query(_location(error_response(target, error, issuer=ISSUER))))
    # RFC 6749 §5.2 charset only (SECURITY.md G7).
    assert all(0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in params["error_description"])


@pytest.mark.parametrize(
    "error",
    [UnknownClient("x"), InvalidRedirectUri("x"), InvalidClient("x"), InvalidToken("x")],
)
def test_unredirectable_errors_are_refused(error: OAuthError) -> None:
    with pytest.raises(ValueError, match="must not be redirected"):
        error_response(ResponseTarget(f"{RP}/cb", "query", "st"), error, issuer=ISSUER)
