"""Phase 1 of the authorization endpoint: client and redirect_uri (SECURITY.md RDR-01…06)."""

from __future__ import annotations

import itertools

import pytest

from idgate.protocol.authorize import (
    check_client_and_redirect_uri,
    default_response_mode,
    redirect_uri_allowed,
)
from idgate.protocol.clients import RESPONSE_TYPES, Client, ClientMetadata
from idgate.protocol.errors import InvalidRedirectUri, UnknownClient
from idgate.protocol.response_modes import ResponseTarget

RP = "https://rp.test"
C1 = Client(
    "c1",
    ClientMetadata(
        redirect_uris=(f"{RP}/cb", f"{RP}/cb2", f"{RP}/cbq?a=1"),
        response_types=RESPONSE_TYPES,
        grant_types=("authorization_code", "implicit", "refresh_token"),
    ),
)
ONE_URI = Client("one", ClientMetadata(redirect_uris=(f"{RP}/cb",)))
N1 = Client(
    "n1",
    ClientMetadata(
        redirect_uris=("http://127.0.0.1/cb",),
        application_type="native",
        token_endpoint_auth_method="none",
    ),
)
N_V6_PORT = Client(
    "n2",
    ClientMetadata(
        redirect_uris=("http://[::1]:8080/cb?x=1", "com.example.app:/cb"),
        application_type="native",
        token_endpoint_auth_method="none",
    ),
)
WEB_LOOPBACK = Client("w1", ClientMetadata(redirect_uris=("http://127.0.0.1/cb",)))


def check(client: Client | None, **params: str) -> ResponseTarget:
    return check_client_and_redirect_uri(params, client)


# --- client_id (RDR-06) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "client"),
    [
        pytest.param({"redirect_uri": f"{RP}/cb"}, C1, id="no client_id"),
        pytest.param({"client_id": "", "redirect_uri": f"{RP}/cb"}, C1, id="empty client_id"),
        pytest.param({"client_id": "nobody", "redirect_uri": f"{RP}/cb"}, None, id="unknown"),
        pytest.param({"client_id": "c2", "redirect_uri": f"{RP}/cb"}, C1, id="storage mismatch"),
        pytest.param(
            {"client_id": "nobody", "redirect_uri": "https://sink.test/cb", "response_type": "x"},
            None,
            id="unknown with other errors",
        ),
    ],
)
def test_unknown_client_is_never_redirected(params: dict[str, str], client: Client | None) -> None:
    with pytest.raises(UnknownClient) as info:
        check_client_and_redirect_uri(params, client)
    assert not info.value.redirectable


# --- exact matching (RDR-01, RDR-02, RDR-03) -------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "https://sink.test/cb",
        f"{RP}/CB",
        "https://RP.test/cb",
        "HTTPS://rp.test/cb",
        f"{RP}/cb/",
        f"{RP}/cb/x",
        f"{RP}/cb/../x",
        f"{RP}/cb/%2e%2e/x",
        f"{RP}/%63b",
        "https://rp.test:443/cb",
        "https://rp.test:8443/cb",
        "http://rp.test/cb",
        "https://rp.test./cb",
        "https://rp.test@sink.test/cb",
        "https://sink.test#@rp.test/cb",
        "https://rp.test\\@sink.test/cb",
        "https://rp.test%2F@sink.test/cb",
        f"{RP}/cb#frag",
        f"{RP}/cb;x",
        f"{RP}/cb%00",
        f"{RP}/cb\x00",
        f"{RP}/cb ",
        f" {RP}/cb",
        "https://rp.tеst/cb",  # CYRILLIC SMALL LETTER IE for the "e"
        "https://ｒｐ.test/cb",  # fullwidth
        "https://xn--rp-test.test/cb",
        f"{RP}/cb?",
        f"{RP}/cb?foo=bar",
        f"{RP}/cbq",
        f"{RP}/cbq?a=2",
        f"{RP}/cbq?a=1&b=2",
        f"{RP}/cbq?b=2&a=1",
        f"{RP}/cbq?A=1",
        f"{RP}/cbq?a=%31",
        f"{RP}/cbq?a=1#",
    ],
)
def test_redirect_uri_must_match_exactly(uri: str) -> None:
    with pytest.raises(InvalidRedirectUri) as info:
        check(C1, client_id="c1", redirect_uri=uri, response_type="code")
    assert not info.value.redirectable


@pytest.mark.parametrize("uri", [f"{RP}/cb", f"{RP}/cb2", f"{RP}/cbq?a=1"])
def test_registered_redirect_uri_is_accepted_byte_exact(uri: str) -> None:
    target = check(C1, client_id="c1", redirect_uri=uri, response_type="code")
    assert target.redirect_uri == uri


@pytest.mark.parametrize("client", [C1, ONE_URI])
@pytest.mark.parametrize("value", [None, ""])
def test_missing_redirect_uri_is_a_page_even_with_one_registered(
    client: Client, value: str | None
) -> None:
    params = {"client_id": client.client_id, "response_type": "code", "scope": "openid"}
    if value is not None:
        params["redirect_uri"] = value
    with pytest.raises(InvalidRedirectUri):
        check_client_and_redirect_uri(params, client)


# --- loopback leniency (RDR-05) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "uri"),
    [
        (N1, "http://127.0.0.1/cb"),
        (N1, "http://127.0.0.1:53211/cb"),
        (N1, "http://127.0.0.1:1/cb"),
        (N1, "http://127.0.0.1:65535/cb"),
        (N_V6_PORT, "http://[::1]:8080/cb?x=1"),
        (N_V6_PORT, "http://[::1]:1234/cb?x=1"),
        (N_V6_PORT, "http://[::1]/cb?x=1"),
        (N_V6_PORT, "com.example.app:/cb"),
    ],
)
def test_native_loopback_may_vary_the_port(client: Client, uri: str) -> None:
    target = check(client, client_id=client.client_id, redirect_uri=uri, response_type="code")
    assert target.redirect_uri == uri  # the port the app listens on, not the registered one


@pytest.mark.parametrize(
    ("client", "uri"),
    [
        (N1, "http://127.0.0.1:53211/cb?x=1"),
        (N1, "http://127.0.0.1:53211/other"),
        (N1, "http://127.0.0.1:53211/cb/"),
        (N1, "http://127.0.0.1:53211/CB"),
        (N1, "http://127.0.0.1:53211/cb#x"),
        (N1, "http://localhost:53211/cb"),
        (N1, "http://localhost/cb"),
        (N1, "http://[::1]:53211/cb"),
        (N1, "https://127.0.0.1/cb"),
        (N1, "https://127.0.0.1:53211/cb"),
        (N1, "http://127.0.0.2:53211/cb"),
        (N1, "http://127.0.0.1:0/cb"),
        (N1, "http://127.0.0.1:65536/cb"),
        (N1, "http://127.0.0.1:053211/cb"),
        (N1, "http://127.0.0.1:123456/cb"),
        (N1, "http://127.0.0.1:/cb"),
        (N1, "http://127.0.0.1:５３/cb"),  # fullwidth digits
        (N1, "http://127.0.0.1:53211@sink.test/cb"),
        (N1, "http://127.0.0.1.sink.test/cb"),
        (N1, "http://127.0.0.1:80:80/cb"),
        (N_V6_PORT, "http://[::1]:8080/cb"),
        (N_V6_PORT, "http://[::1]:8080/cb?x=2"),
        (N_V6_PORT, "http://[0:0:0:0:0:0:0:1]:8080/cb?x=1"),
        (N_V6_PORT, "http://127.0.0.1:8080/cb?x=1"),
        (N_V6_PORT, "com.example.app:/cb/"),
        (WEB_LOOPBACK, "http://127.0.0.1:8080/cb"),
    ],
)
def test_loopback_leniency_is_narrow(client: Client, uri: str) -> None:
    with pytest.raises(InvalidRedirectUri):
        check(client, client_id=client.client_id, redirect_uri=uri, response_type="code")


def test_web_client_with_loopback_uri_still_matches_exactly() -> None:
    assert redirect_uri_allowed("http://127.0.0.1/cb", WEB_LOOPBACK.metadata)


# --- the response target --------------------------------------------------------------------

_FRAGMENT_TYPES = [
    "id_token",
    "id_token token",
    "code id_token",
    "code token",
    "code id_token token",
]


def _permutations(response_type: str) -> list[str]:
    return [" ".join(p) for p in itertools.permutations(response_type.split())]


@pytest.mark.parametrize(
    ("response_type", "mode"),
    [("code", "query"), ("none", "query")]
    + [(p, "fragment") for t in _FRAGMENT_TYPES for p in _permutations(t)],
)
def test_default_response_mode_per_response_type(response_type: str, mode: str) -> None:
    assert default_response_mode(response_type) == mode
    target = check(C1, client_id="c1", redirect_uri=f"{RP}/cb", response_type=response_type)
    assert target.response_mode == mode


@pytest.mark.parametrize("response_type", ["", "token", "code foo", "id_token id_token", "CODE"])
def test_missing_or_unknown_response_type_defaults_to_query(response_type: str) -> None:
    target = check(C1, client_id="c1", redirect_uri=f"{RP}/cb", response_type=response_type)
    assert target.response_mode == "query"
    assert check(C1, client_id="c1", redirect_uri=f"{RP}/cb").response_mode == "query"


@pytest.mark.parametrize(
    ("response_type", "requested", "expected"),
    [
        ("code", "form_post", "form_post"),
        ("code", "fragment", "fragment"),
        ("code", "query", "query"),
        ("none", "form_post", "form_post"),
        ("code id_token", "form_post", "form_post"),
        ("id_token", "fragment", "fragment"),
        # Invalid for the type: errors go back in the default mode (SECURITY.md AZ-05).
        ("code id_token", "query", "fragment"),
        ("id_token token", "query", "fragment"),
        ("code token", "query", "fragment"),
        ("code", "xyz", "query"),
        ("id_token", "xyz", "fragment"),
        ("code", "query.jwt", "query"),
        ("code", "FORM_POST", "query"),
        ("code", "", "query"),
        ("token", "form_post", "form_post"),
    ],
)
def test_requested_response_mode_when_valid(
    response_type: str, requested: str, expected: str
) -> None:
    target = check(
        C1,
        client_id="c1",
        redirect_uri=f"{RP}/cb",
        response_type=response_type,
        response_mode=requested,
    )
    assert target.response_mode == expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("xyz", "xyz"),
        ("", None),
        ('"><script>&=#%+ é\r\n', '"><script>&=#%+ é\r\n'),
        ("s" * 2048, "s" * 2048),
        ("s" * 2049, None),
        ("\ud800", None),
    ],
)
def test_target_state(state: str, expected: str | None) -> None:
    target = check(C1, client_id="c1", redirect_uri=f"{RP}/cb", response_type="code", state=state)
    assert target.state == expected


def test_target_without_state() -> None:
    target = check(C1, client_id="c1", redirect_uri=f"{RP}/cb", response_type="code")
    assert target == ResponseTarget(f"{RP}/cb", "query", None)
