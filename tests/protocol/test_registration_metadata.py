"""Client metadata rules (Registration 1.0 §2, RFC 7591 §2; SECURITY.md DCR-01…08), by plain
calls."""

from __future__ import annotations

from typing import Any

import pytest

from idgate.protocol.clients import parse_client_metadata
from idgate.protocol.errors import InvalidClientMetadata, InvalidRedirectUriMetadata
from idgate.protocol.registration import update_document

WEB = {"redirect_uris": ["https://rp.example/cb"]}
KEYS = {"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y"}]}


@pytest.mark.parametrize(
    "uri",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,x",
        "vbscript:x",
        "file:///etc/passwd",
        "blob:https://rp.example/x",
        "https://rp.example/cb#x",
        "https://rp.example/cb#",
        "/cb",
        "https://*.rp.example/cb",
        "https://user@rp.example/cb",
        "https://rp.example:99999/cb",
        "https://rp.example/cb\n",
        "https:///cb",
    ],
)
@pytest.mark.parametrize("application_type", ["web", "native"])
def test_bad_redirect_uris(uri: str, application_type: str) -> None:
    with pytest.raises(InvalidRedirectUriMetadata) as caught:
        parse_client_metadata({"redirect_uris": [uri], "application_type": application_type})
    # The description names the field, never the value (SECURITY.md DCR-09).
    assert uri.strip() not in caught.value.description or not uri.strip()


@pytest.mark.parametrize(
    ("doc", "ok"),
    [
        # code only: OIDC allows http
        ({"redirect_uris": ["http://rp.example/cb"], "response_types": ["code"]}, True),
        ({"redirect_uris": ["http://rp.example/cb"], "response_types": ["code id_token"]}, False),
        ({"redirect_uris": ["https://localhost/cb"], "response_types": ["id_token"]}, False),
        ({"redirect_uris": ["com.example.app:/cb"], "application_type": "native"}, True),
        ({"redirect_uris": ["http://127.0.0.1/cb"], "application_type": "native"}, True),
        ({"redirect_uris": ["http://[::1]/cb"], "application_type": "native"}, True),
        ({"redirect_uris": ["http://rp.example/cb"], "application_type": "native"}, False),
        ({"redirect_uris": ["com.example.app:/cb"], "application_type": "web"}, False),
    ],
)
def test_application_type_rules(doc: dict[str, Any], ok: bool) -> None:
    full = {"response_types": ["code", "code id_token"], **doc}
    if ok:
        parse_client_metadata(full)
    else:
        with pytest.raises(InvalidRedirectUriMetadata):
            parse_client_metadata(full)


@pytest.mark.parametrize(
    "extra",
    [
        {"logo_uri": "http://rp.example/logo.png"},
        {"client_uri": "javascript:alert(1)"},
        {"policy_uri": "data:text/html,x"},
        {"tos_uri": 7},
        {"initiate_login_uri": "http://rp.example/login"},
        {"contacts": ["not an address"]},
        {"contacts": "ops@rp.example"},
        {"default_max_age": -1},
        {"default_max_age": "60"},
        {"default_max_age": True},
        {"require_auth_time": "yes"},
        {"default_acr_values": ["a b"]},
        {"token_endpoint_auth_signing_alg": "RS256"},  # client_secret_basic has no assertion
        {
            "token_endpoint_auth_method": "client_secret_jwt",
            "token_endpoint_auth_signing_alg": "RS256",
        },
        {
            "token_endpoint_auth_method": "client_secret_jwt",
            "token_endpoint_auth_signing_alg": "none",
        },
        {"request_object_signing_alg": "HS256", "jwks": KEYS},
        {"request_object_signing_alg": "RS256"},  # no keys to verify with
        {"request_uris": ["http://rp.example/req"]},
        {"request_uris": ["https://rp.example/" + "x" * 600]},
        {"require_pushed_authorization_requests": 1},
        {"jwks": KEYS, "jwks_uri": "https://rp.example/jwks"},
        {"jwks": {"keys": [{"kty": "RSA", "n": "n", "e": "AQAB", "d": "secret"}]}},
        {"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}},
        {"jwks": {"keys": []}},
        {"jwks": {"keys": ["x"]}},
        {"jwks_uri": "http://rp.example/jwks"},
        {"sector_identifier_uri": "http://rp.example/sector"},
        {"redirect_uris": [f"https://rp.example/{i}" for i in range(40)]},
    ],
)
def test_bad_metadata(extra: dict[str, Any]) -> None:
    with pytest.raises(InvalidClientMetadata):
        parse_client_metadata({**WEB, **extra})


def test_good_metadata_round_trips() -> None:
    doc = {
        **WEB,
        "client_uri": "https://rp.example/",
        "logo_uri": "https://rp.example/logo.png",
        "policy_uri": "https://rp.example/privacy",
        "tos_uri": "https://rp.example/terms",
        "initiate_login_uri": "https://rp.example/login",
        "contacts": ["ops@rp.example"],
        "default_max_age": 300,
        "require_auth_time": True,
        "default_acr_values": ["1"],
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_signing_alg": "ES256",
        "request_object_signing_alg": "ES256",
        "request_uris": ["https://rp.example/req#abc"],
        "require_pushed_authorization_requests": True,
        "jwks": KEYS,
    }
    metadata = parse_client_metadata(doc)
    assert metadata.more.default_max_age == 300
    assert metadata.more.request_uris == ("https://rp.example/req#abc",)
    assert parse_client_metadata(metadata.to_dict()) == metadata
    shown = metadata.to_dict()
    for name, value in doc.items():
        assert shown[name] == value, name


def test_update_document_rules() -> None:
    current = {"first_party": True, "client_name": "Old"}
    replaced = update_document(
        {"client_id": "c1", "client_name": "New", "resource_server": True, "client_secret": "s"},
        client_id="c1",
        current=current,
    )
    assert replaced == {"client_name": "New", "first_party": True}
    with pytest.raises(InvalidClientMetadata):
        update_document({"client_name": "New"}, client_id="c1", current=current)
    with pytest.raises(InvalidClientMetadata):
        update_document({"client_id": "c2"}, client_id="c1", current=current)
