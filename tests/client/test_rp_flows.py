"""idgate.client against a real idgate, in-process: every response type and mode, the code
exchange, UserInfo, refresh, registration, client authentication methods, the JWKS cache."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from client_support import (  # type: ignore[import-not-found]
    ALL_RESPONSE_TYPES,
    OP,
    PASSWORD,
    REDIRECT_URI,
    sign_in,
)

from idgate.client import (
    AuthorizationError,
    AuthorizationResponse,
    ClientCredentials,
    ConfigurationError,
    EndpointNotAvailable,
    ErrorResponse,
    RelyingParty,
    fetch_provider_metadata,
    register_client,
)
from idgate.client._browser import Browser
from idgate.clock import FrozenClock
from idgate.crypto.keys import generate_signing_key
from idgate.testing import TEST_ISSUER, asgi_client, open_test_provider
from idgate.web.app import create_app

pytestmark = pytest.mark.anyio


def sha256_half(value: str) -> str:
    digest = hashlib.sha256(value.encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.mark.parametrize("response_type", ALL_RESPONSE_TYPES)
@pytest.mark.parametrize("response_mode", [None, "form_post"])
async def test_every_response_type(op: OP, response_type: str, response_mode: str | None) -> None:
    client = await op.register()
    async with op.rp(client) as rp:
        session, response = await sign_in(
            op, rp, response_type=response_type, response_mode=response_mode
        )
        words = set(response_type.split())
        expected = "form_post" if response_mode else ("query" if words == {"code"} else "fragment")
        assert response.location == expected
        result = await rp.handle_authorization_response(session, response)
        if "id_token" in words:
            assert result.id_token is not None
            assert result.id_token.nonce == session.nonce
            names = {check.name for check in result.id_token.checks}
            assert {"signature", "iss", "aud", "exp", "iat", "nonce"} <= names
            # c_hash with every code, at_hash with every access token (Core §3.3.2.11).
            assert ("c_hash" in names) == ("code" in words)
            assert ("at_hash" in names) == ("token" in words)
        else:
            assert result.id_token is None
        if "code" in words:
            tokens = await rp.exchange_code(session, result)
            assert tokens.id_token is not None
            assert tokens.id_token.claims["at_hash"] == sha256_half(tokens.access_token)
            assert tokens.id_token.check("at_hash") is not None
            if result.id_token is not None:
                assert [c.name for c in tokens.checks] == ["same End-User"]
                assert tokens.id_token.subject == result.id_token.subject


async def test_hybrid_flow_code_exchange_userinfo_refresh(op: OP) -> None:
    client = await op.register()
    async with op.rp(client) as rp:
        session, response = await sign_in(
            op, rp, scope="openid email profile offline_access", extra={"prompt": "consent"}
        )
        assert session.code_verifier is not None
        result = await rp.handle_authorization_response(session, response)
        assert result.id_token is not None
        c_hash = result.id_token.check("c_hash")
        assert c_hash is not None
        assert c_hash.detail == "matches the code"
        tokens = await rp.exchange_code(session, result)
        assert tokens.refresh_token
        assert tokens.id_token is not None

        metadata = await rp.provider_metadata()
        if metadata.userinfo_endpoint is None:
            with pytest.raises(EndpointNotAvailable):
                await rp.userinfo(tokens.access_token, id_token=tokens.id_token)
        else:
            info = await rp.userinfo(tokens.access_token, id_token=tokens.id_token)
            assert info.subject == tokens.id_token.subject
            assert info.claims["email"] == "alice@example.com"
            assert not info.signed

        refreshed = await rp.refresh(tokens.refresh_token, id_token=tokens.id_token)
        assert refreshed.access_token != tokens.access_token
        assert refreshed.refresh_token not in (None, tokens.refresh_token)
        assert refreshed.id_token is not None
        assert refreshed.id_token.subject == tokens.id_token.subject
        assert [c.name for c in refreshed.checks] == ["same authentication"]


async def test_the_denied_consent_is_an_authorization_error(op: OP) -> None:
    client = await op.register()
    async with op.rp(client) as rp:
        auth = await rp.authorization_request(redirect_uri=REDIRECT_URI)
        response = await op.browser().sign_in(
            auth.url, REDIRECT_URI, username="alice", password=PASSWORD, approve=False
        )
        with pytest.raises(AuthorizationError) as caught:
            await rp.handle_authorization_response(auth.session, response)
    assert caught.value.error == "access_denied"
    assert "access_denied" in str(caught.value)


async def test_pkce_verifier_is_needed(op: OP) -> None:
    client = await op.register()
    async with op.rp(client) as rp:
        session, response = await sign_in(op, rp, response_type="code")
        result = await rp.handle_authorization_response(session, response)
        without_verifier = type(session).from_dict({**session.to_dict(), "code_verifier": None})
        with pytest.raises(ErrorResponse) as caught:
            await rp.exchange_code(without_verifier, result)
    assert caught.value.error == "invalid_grant"
    assert caught.value.status == 400


@pytest.mark.parametrize("method", ["client_secret_post", "client_secret_jwt", "private_key_jwt"])
async def test_client_authentication_methods(op: OP, method: str) -> None:
    key = generate_signing_key("ES256")
    extra: dict[str, Any] = {"token_endpoint_auth_method": method}
    if method == "private_key_jwt":
        extra["jwks"] = {"keys": [dict(key.public_jwk)]}
    client = await op.register(private_key=key, **extra)
    async with op.rp(client) as rp:
        session, response = await sign_in(op, rp, response_type="code")
        tokens = await rp.exchange_code(
            session, await rp.handle_authorization_response(session, response)
        )
    assert tokens.id_token is not None


async def test_public_client_with_pkce(op: OP) -> None:
    client = await op.register(token_endpoint_auth_method="none")
    assert client.client_secret is None
    async with op.rp(client) as rp:
        session, response = await sign_in(op, rp, response_type="code")
        tokens = await rp.exchange_code(
            session, await rp.handle_authorization_response(session, response)
        )
    assert tokens.id_token is not None


@pytest.mark.parametrize("alg", ["ES256", "PS256", "EdDSA"])
async def test_other_signing_algs(op: OP, alg: str) -> None:
    await op.provider.keys.add(alg)
    client = await op.register(id_token_signed_response_alg=alg)
    async with op.rp(client) as rp:
        session, response = await sign_in(op, rp, response_type="code id_token token")
        result = await rp.handle_authorization_response(session, response)
        assert result.id_token is not None
        assert result.id_token.header["alg"] == alg
        assert result.id_token.check("at_hash") is not None
        tokens = await rp.exchange_code(session, result)
    assert tokens.id_token is not None


async def test_an_id_token_of_another_alg_is_refused(op: OP) -> None:
    from idgate.client import InvalidSignature

    client = await op.register()  # RS256
    other = ClientCredentials(
        client_id=client.client_id,
        client_secret=client.client_secret,
        id_token_signed_response_alg="ES256",
    )
    await op.provider.keys.add("ES256")
    async with op.rp(other) as rp:
        session, response = await sign_in(op, rp)
        with pytest.raises(InvalidSignature, match="RS256 is not allowed"):
            await rp.handle_authorization_response(session, response)


async def test_max_age_needs_a_recent_login(op: OP) -> None:
    client = await op.register()
    async with op.rp(client) as rp:
        session, response = await sign_in(op, rp, max_age=300)
        result = await rp.handle_authorization_response(session, response)
        assert result.id_token is not None
        assert result.id_token.check("auth_time") is not None


async def test_unknown_kid_refreshes_the_jwks_once(op: OP) -> None:
    clock = FrozenClock(op.provider.clock.now())
    client = await op.register()
    async with op.rp(client, clock=clock, jwks_refresh_interval=60) as rp:
        session, response = await sign_in(op, rp, response_type="code")
        await rp.exchange_code(session, await rp.handle_authorization_response(session, response))
        keys = await rp.key_set()
        assert keys.fetches == 1
        # The OP rotates: next → current. The first token with the new kid refetches the set.
        await op.provider.keys.rotate("RS256")
        await op.provider.keys.rotate("RS256")
        await op.provider.keys.reload()
        clock.advance(61)
        session, response = await sign_in(op, rp, response_type="code")
        result = await rp.handle_authorization_response(session, response)
        tokens = await rp.exchange_code(session, result)
        assert tokens.id_token is not None
        assert tokens.id_token.header["kid"] in keys.kids(await keys.get())
        assert keys.fetches == 2


async def test_unknown_kid_refetch_is_rate_limited(op: OP, attacker_key: Any) -> None:
    from client_support import resign  # type: ignore[import-not-found]

    from idgate.client import InvalidSignature

    clock = FrozenClock(op.provider.clock.now())
    client = await op.register()
    async with op.rp(client, clock=clock, jwks_refresh_interval=60) as rp:
        session, response = await sign_in(op, rp, response_type="code id_token")
        forged = resign(response.parameters["id_token"], attacker_key)
        for _ in range(5):
            with pytest.raises(InvalidSignature, match="no key"):
                await rp.validate_id_token(forged, rp.expectations(nonce=session.nonce))
        assert (await rp.key_set()).fetches == 1


async def test_registration_through_the_library(database_url: str) -> None:
    provider = await open_test_provider(database_url, registration="open")
    try:
        await provider.accounts.add("alice", PASSWORD)
        app = create_app(provider)
        async with asgi_client(app) as http, asgi_client(app) as browser_http:
            metadata = await fetch_provider_metadata(http, TEST_ISSUER)
            with pytest.raises(ErrorResponse) as caught:
                await register_client(http, metadata, {"redirect_uris": ["not a uri"]})
            assert caught.value.error in ("invalid_redirect_uri", "invalid_client_metadata")
            rp = await RelyingParty.register(
                TEST_ISSUER,
                {
                    "redirect_uris": [REDIRECT_URI],
                    "response_types": ["code id_token"],
                    "grant_types": ["authorization_code", "implicit"],
                },
                http=http,
            )
            async with rp:
                assert rp.registration is not None
                assert rp.client.client_id == rp.registration.client_id
                assert rp.client.client_secret
                auth = await rp.authorization_request(
                    redirect_uri=REDIRECT_URI, response_type="code id_token"
                )
                response = await Browser(browser_http).sign_in(
                    auth.url, REDIRECT_URI, username="alice", password=PASSWORD
                )
                result = await rp.handle_authorization_response(auth.session, response)
                tokens = await rp.exchange_code(auth.session, result)
        assert tokens.id_token is not None
    finally:
        await provider.close()


async def test_registration_endpoint_missing(op: OP) -> None:
    client = await op.register()
    async with op.rp(client) as rp:
        metadata = await rp.provider_metadata()
        with pytest.raises(EndpointNotAvailable, match="registration_endpoint"):
            await register_client(op.rp_http, metadata, {})


async def test_request_validation(op: OP) -> None:
    client = await op.register()
    async with op.rp(client) as rp:
        with pytest.raises(ConfigurationError, match="openid"):
            await rp.authorization_request(redirect_uri=REDIRECT_URI, scope="email")
        with pytest.raises(ConfigurationError, match="query is not allowed"):
            await rp.authorization_request(
                redirect_uri=REDIRECT_URI, response_type="code id_token", response_mode="query"
            )
        with pytest.raises(ConfigurationError, match="unknown response_type"):
            await rp.authorization_request(redirect_uri=REDIRECT_URI, response_type="code x")
        with pytest.raises(ConfigurationError, match="must not set"):
            await rp.authorization_request(redirect_uri=REDIRECT_URI, extra={"nonce": "mine"})
        auth = await rp.authorization_request(
            redirect_uri=REDIRECT_URI, response_type="token id_token", extra={"prompt": "login"}
        )
    params = auth.parameters
    assert params["response_type"] == "id_token token"
    assert "code_challenge" not in params  # no code, no PKCE
    assert params["prompt"] == "login"
    assert auth.session.state == params["state"] != params["nonce"] == auth.session.nonce
    assert len(params["state"]) >= 43


async def test_end_session_url() -> None:
    from idgate.client import ProviderMetadata, end_session_url

    doc = {
        "issuer": "https://op.example",
        "authorization_endpoint": "https://op.example/authorize",
        "jwks_uri": "https://op.example/jwks",
        "response_types_supported": ["code"],
        "end_session_endpoint": "https://op.example/logout?ui=1",
    }
    metadata = ProviderMetadata.from_document(doc, expected_issuer="https://op.example")
    url = end_session_url(
        metadata,
        client_id="c1",
        id_token_hint="eyJ.x.y",
        post_logout_redirect_uri="https://rp.example/bye",
        state="s 1",
    )
    response = AuthorizationResponse.from_url(url)
    assert url.startswith("https://op.example/logout?ui=1&")
    assert response.parameters == {
        "ui": "1",
        "id_token_hint": "eyJ.x.y",
        "client_id": "c1",
        "post_logout_redirect_uri": "https://rp.example/bye",
        "state": "s 1",
    }
    without = ProviderMetadata.from_document(
        {k: v for k, v in doc.items() if k != "end_session_endpoint"},
        expected_issuer="https://op.example",
    )
    with pytest.raises(EndpointNotAvailable, match="end_session_endpoint"):
        end_session_url(without, client_id="c1")


async def test_hs256_id_tokens_verify_with_the_client_secret(op: OP) -> None:
    from client_support import claims_of  # type: ignore[import-not-found]

    from idgate.client import InvalidSignature
    from idgate.crypto.jwt import sign_hmac_jwt

    client = await op.register()
    assert client.client_secret is not None
    hmac_client = ClientCredentials(
        client.client_id, client_secret=client.client_secret, id_token_signed_response_alg="HS256"
    )
    async with op.rp(client) as issuing:
        session, response = await sign_in(op, issuing)
    claims = dict(claims_of(response.parameters["id_token"]))
    async with op.rp(hmac_client) as rp:
        expect = rp.expectations(nonce=session.nonce)
        token = await rp.validate_id_token(sign_hmac_jwt(claims, client.client_secret), expect)
        assert token.check("signature") == token.checks[0]
        assert token.header["alg"] == "HS256"
        with pytest.raises(InvalidSignature):
            await rp.validate_id_token(sign_hmac_jwt(claims, "x" * 43), expect)
        # The RS256 token of the OP is refused: only the registered alg is accepted.
        with pytest.raises(InvalidSignature, match="RS256 is not allowed"):
            await rp.validate_id_token(response.parameters["id_token"], expect)
    with pytest.raises(ConfigurationError, match="verified with the client_secret"):
        ClientCredentials(client.client_id, token_endpoint_auth_method="none",
                          id_token_signed_response_alg="HS256")  # fmt: skip
    with pytest.raises(ConfigurationError, match="none is refused"):
        ClientCredentials(client.client_id, client_secret="s", id_token_signed_response_alg="none")
