"""SECURITY.md §3.10: Dynamic Client Registration (DCR-01 … DCR-09), on an open /register."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.anyio

GOOD: dict[str, Any] = {"redirect_uris": ["https://rp.example/cb"], "client_name": "RP"}


async def refused(http: httpx.AsyncClient, document: Any, *errors: str) -> None:
    response = await http.post("/register", json=document)
    assert response.status_code == 400, (document, response.text)
    assert response.json()["error"] in (errors or ("invalid_client_metadata",)), document


async def test_no_redirect_uris(open_http: httpx.AsyncClient) -> None:
    # DCR-01: a code client without redirect_uris.
    await refused(
        open_http, {"client_name": "x"}, "invalid_redirect_uri", "invalid_client_metadata"
    )


async def test_dangerous_schemes(open_http: httpx.AsyncClient) -> None:
    # DCR-02: javascript:, data:, vbscript:, file:, blob: in any URI field.
    for uri in (
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:x",
        "java\tscript:x",
        "data:text/html,x",
        "vbscript:x",
        "file:///etc/passwd",
        "blob:https://x/1",
    ):
        await refused(
            open_http, {"redirect_uris": [uri]}, "invalid_redirect_uri", "invalid_client_metadata"
        )
        for field in ("post_logout_redirect_uris",):
            await refused(
                open_http, {**GOOD, field: [uri]}, "invalid_client_metadata", "invalid_redirect_uri"
            )
        for field in (
            "client_uri",
            "logo_uri",
            "policy_uri",
            "tos_uri",
            "jwks_uri",
            "backchannel_logout_uri",
            "frontchannel_logout_uri",
        ):
            await refused(open_http, {**GOOD, field: uri})


async def test_fragments_relative_wildcards_userinfo(open_http: httpx.AsyncClient) -> None:
    # DCR-03: fragments, relative URIs, wildcards, userinfo.
    for uri in (
        "https://rp.example/cb#x",
        "https://rp.example/cb#",
        "/cb",
        "cb",
        "https://*.rp.example/cb",
        "https://rp.example/*",
        "https://user@rp.example/cb",
    ):
        await refused(
            open_http, {"redirect_uris": [uri]}, "invalid_redirect_uri", "invalid_client_metadata"
        )


async def test_http_redirect_uris(open_http: httpx.AsyncClient) -> None:
    # DCR-04: http redirect URIs (idgate: web clients of the implicit and hybrid flows use
    # https and never localhost; code-only web clients may use http, as OIDC allows).
    implicit = {
        "response_types": ["code id_token"],
        "grant_types": ["authorization_code", "implicit"],
    }
    for uri in ("http://rp.example/cb", "http://localhost/cb", "https://localhost/cb"):
        document = {"redirect_uris": [uri], **implicit}
        await refused(open_http, document, "invalid_redirect_uri", "invalid_client_metadata")
    native = {"application_type": "native", "redirect_uris": ["http://127.0.0.1/cb"]}
    assert (await open_http.post("/register", json=native)).status_code == 201


async def test_bad_key_material(open_http: httpx.AsyncClient) -> None:
    # DCR-06: jwks + jwks_uri, private members, malformed JWKS, non-https jwks_uri.
    private = {"kty": "oct", "k": "c2VjcmV0"}
    rsa_private = {"kty": "RSA", "n": "AQAB", "e": "AQAB", "d": "AQAB"}
    method = {"token_endpoint_auth_method": "private_key_jwt"}
    for extra in (
        {"jwks": {"keys": []}, "jwks_uri": "https://rp.example/jwks"},
        {"jwks": {"keys": [private]}},
        {"jwks": {"keys": [rsa_private]}},
        {"jwks": {"keys": "nope"}},
        {"jwks": [1]},
        {"jwks_uri": "http://rp.example/jwks"},
    ):
        await refused(open_http, {**GOOD, **method, **extra})


async def test_inconsistent_metadata(open_http: httpx.AsyncClient) -> None:
    # DCR-07: inconsistent metadata; unknown fields ignored and not echoed.
    for extra in (
        {"token_endpoint_auth_method": "magic"},
        {"id_token_signed_response_alg": "none", "response_types": ["id_token"]},
        {"response_types": ["code id_token"], "grant_types": ["authorization_code"]},
    ):
        response = await open_http.post("/register", json={**GOOD, **extra})
        if response.status_code == 201:
            body = response.json()
            # Filled in consistently instead of refused (RFC 7591 §2.1 allows either).
            assert "implicit" in body.get("grant_types", []), extra
        else:
            assert response.json()["error"] == "invalid_client_metadata", extra
    created = await open_http.post("/register", json={**GOOD, "x_unknown": "<b>"})
    assert created.status_code == 201
    assert "x_unknown" not in created.json()


async def test_client_chosen_identifiers_are_ignored(open_http: httpx.AsyncClient) -> None:
    # DCR-08: client-chosen identifiers.
    chosen = {**GOOD, "client_id": "alice", "client_secret": "s", "registration_access_token": "t"}
    response = await open_http.post("/register", json=chosen)
    assert response.status_code == 201
    body = response.json()
    assert body["client_id"] != "alice"
    assert body["client_secret"] != "s"
    assert len(body["client_secret"]) >= 43
    assert "no-store" in response.headers["cache-control"]
    ids = set()
    for _ in range(5):
        ids.add((await open_http.post("/register", json=GOOD)).json()["client_id"])
    assert len(ids) == 5
    assert all(len(i) >= 22 for i in ids)


async def test_registration_errors_are_not_reflected(open_http: httpx.AsyncClient) -> None:
    # DCR-09: reflected registration errors.
    hostile = "<img src=x onerror=1>"
    for document in ({hostile: 1, "redirect_uris": [hostile]}, {"redirect_uris": hostile}):
        response = await open_http.post("/register", json=document)
        assert response.headers["content-type"].startswith("application/json")
        assert hostile not in response.text


async def test_malformed_uris_are_bad_metadata(open_http: httpx.AsyncClient) -> None:
    # HTTP-07 (peer #28): a crafted IPv6 URI crashed another OP's validation.
    for field in ("redirect_uris", "post_logout_redirect_uris"):
        document = {**GOOD, field: ["https://[x/cb"]}
        await refused(open_http, document, "invalid_redirect_uri", "invalid_client_metadata")
    for field in ("sector_identifier_uri", "client_uri", "jwks_uri", "backchannel_logout_uri"):
        await refused(open_http, {**GOOD, field: "https://[x/cb"})
