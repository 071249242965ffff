"""Request object rules (OIDC Core §6, RFC 9101), by plain calls."""

from __future__ import annotations

from typing import Any

import pytest

from idgate.protocol.clients import Client, parse_client_metadata
from idgate.protocol.errors import InvalidRequest, InvalidRequestObject, InvalidRequestUri
from idgate.protocol.request_object import (
    acceptable_algs,
    check_object_claims,
    check_request_uri,
    merge_parameters,
)

KEYS = {"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y"}]}
NOW = 1_700_000_000


def _client(**metadata: Any) -> Client:
    doc = {"redirect_uris": ["https://rp.example/cb"], **metadata}
    return Client(client_id="c1", metadata=parse_client_metadata(doc))


def test_inner_values_win_and_are_written_as_parameters() -> None:
    outer = {"client_id": "c1", "response_type": "code", "nonce": "out", "request": "x"}
    inner = {
        "iss": "c1",
        "aud": "https://op.example",
        "nonce": "in",
        "max_age": 60,
        "claims": {"id_token": {"email": None}},
        "x-extension": [1, 2],
    }
    merged = merge_parameters(outer, inner, client_id="c1")
    assert merged == {
        "client_id": "c1",
        "response_type": "code",
        "nonce": "in",
        "max_age": "60",
        "claims": '{"id_token":{"email":null}}',
    }


@pytest.mark.parametrize(
    ("inner", "error"),
    [
        ({"client_id": "c2"}, InvalidRequest),
        ({"response_type": "id_token"}, InvalidRequest),
        ({"request_uri": "https://rp.example/r"}, InvalidRequestObject),
        ({"request": "x.y.z"}, InvalidRequestObject),
        ({"nonce": 5}, InvalidRequestObject),
        ({"redirect_uri": ["https://rp.example/cb"]}, InvalidRequestObject),
        ({"max_age": "soon"}, None),  # a string goes on to the ordinary validation
    ],
)
def test_merge_refusals(inner: dict[str, Any], error: type[Exception] | None) -> None:
    outer = {"client_id": "c1", "response_type": "code"}
    if error is None:
        merge_parameters(outer, inner, client_id="c1")
        return
    with pytest.raises(error):
        merge_parameters(outer, inner, client_id="c1")


@pytest.mark.parametrize(
    ("claims", "ok"),
    [
        ({"iss": "c1", "aud": "https://op.example", "exp": NOW + 60}, True),
        ({"aud": ["https://op.example", "other"]}, True),
        ({}, True),
        ({"iss": "c2"}, False),
        ({"aud": "https://other.example"}, False),
        ({"exp": NOW - 61}, False),
        ({"exp": "tomorrow"}, False),
        ({"exp": True}, False),
        ({"nbf": NOW + 61}, False),
        ({"nbf": NOW + 30}, True),
    ],
)
def test_object_claims(claims: dict[str, Any], ok: bool) -> None:
    def check() -> None:
        check_object_claims(
            claims, client_id="c1", issuer="https://op.example", now=NOW, signed=True
        )

    if ok:
        check()
    else:
        with pytest.raises(InvalidRequestObject):
            check()


def test_algs_follow_the_registration() -> None:
    assert acceptable_algs(_client(), "RS256") == ("RS256", "PS256", "ES256", "EdDSA")
    pinned = _client(request_object_signing_alg="ES256", jwks=KEYS)
    assert acceptable_algs(pinned, "RS256") == ("ES256",)
    with pytest.raises(InvalidRequestObject):
        acceptable_algs(pinned, "none")
    with pytest.raises(InvalidRequestObject):
        acceptable_algs(_client(), "none")
    unsigned = _client(request_object_signing_alg="none")
    assert acceptable_algs(unsigned, "none") is None
    with pytest.raises(InvalidRequestObject):
        acceptable_algs(unsigned, "ES256")


def test_request_uri_must_be_registered() -> None:
    client = _client(request_uris=["https://rp.example/req#v1"])
    check_request_uri("https://rp.example/req", client)
    check_request_uri("https://rp.example/req#v2", client)
    for uri in (
        "https://rp.example/other",
        "https://rp.example/req?x",
        "https://rp.example/" + "r" * 600,
    ):
        with pytest.raises(InvalidRequestUri):
            check_request_uri(uri, client)
