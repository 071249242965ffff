"""Tampered responses the RP must reject, each its own case.

The OP is a real idgate; the lies are told by swapping artifacts between two real responses, by
editing parameters, by moving the RP's clock, or by re-signing a real token with a key slipped
into the OP's JWK Set by the `Tamper` transport (so the forged token fails on its claims).
"""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest
from client_support import (  # type: ignore[import-not-found]
    OP,
    REDIRECT_URI,
    claims_of,
    replace_params,
    resign,
    sign_in,
)

from idgate.client import (
    AudienceMismatch,
    AuthorizedPartyMismatch,
    AuthTimeError,
    ClientCredentials,
    HashMismatch,
    InvalidSignature,
    IssuedInTheFuture,
    IssuerMismatch,
    IssuerParameterMismatch,
    MalformedAuthorizationResponse,
    NonceMismatch,
    RelyingParty,
    StateMismatch,
    SubjectMismatch,
    TokenExpired,
)
from idgate.client.callback import AuthorizationResponse
from idgate.clock import FrozenClock
from idgate.crypto.jwt import sign_hmac_jwt
from idgate.crypto.keys import SigningKey

pytestmark = pytest.mark.anyio


async def hybrid(op: OP, rp: RelyingParty, response_type: str = "code id_token") -> Any:
    return await sign_in(op, rp, response_type=response_type)


@pytest.fixture
async def rp(op: OP) -> Any:
    client = await op.register()
    async with op.rp(client) as party:
        yield party


@pytest.fixture
def forger(op: OP, attacker_key: SigningKey) -> SigningKey:
    """The attacker's key, published in the OP's JWK Set as the RP sees it."""
    op.tamper.add_key(attacker_key)
    return attacker_key


# --- the hash claims --------------------------------------------------------------------------


async def test_wrong_c_hash_a_swapped_code(op: OP, rp: RelyingParty) -> None:
    session, response = await hybrid(op, rp)
    _, other = await hybrid(op, rp)
    swapped = replace_params(response, code=other.parameters["code"])
    with pytest.raises(HashMismatch) as caught:
        await rp.handle_authorization_response(session, swapped)
    assert caught.value.claim == "c_hash"
    assert "c_hash does not match the code" in str(caught.value)
    # The untouched response passes: the test fails for the right reason.
    await rp.handle_authorization_response(session, response)


async def test_wrong_at_hash_a_swapped_access_token(op: OP, rp: RelyingParty) -> None:
    session, response = await hybrid(op, rp, "code id_token token")
    _, other = await hybrid(op, rp, "code id_token token")
    swapped = replace_params(response, access_token=other.parameters["access_token"])
    with pytest.raises(HashMismatch) as caught:
        await rp.handle_authorization_response(session, swapped)
    assert caught.value.claim == "at_hash"
    await rp.handle_authorization_response(session, response)


async def test_implicit_id_token_token_without_at_hash(
    op: OP, rp: RelyingParty, forger: SigningKey
) -> None:
    session, response = await hybrid(op, rp, "id_token token")
    forged = replace_params(
        response, id_token=resign(response.parameters["id_token"], forger, at_hash=None)
    )
    with pytest.raises(HashMismatch, match="has no at_hash"):
        await rp.handle_authorization_response(session, forged)


async def test_hybrid_without_c_hash(op: OP, rp: RelyingParty, forger: SigningKey) -> None:
    session, response = await hybrid(op, rp)
    forged = replace_params(
        response, id_token=resign(response.parameters["id_token"], forger, c_hash=None)
    )
    with pytest.raises(HashMismatch, match="has no c_hash"):
        await rp.handle_authorization_response(session, forged)
    # The same token signed by the attacker, but with all claims intact, is accepted: the
    # rejection above is about c_hash, not about the key.
    intact = replace_params(response, id_token=resign(response.parameters["id_token"], forger))
    await rp.handle_authorization_response(session, intact)


async def test_wrong_s_hash(op: OP, rp: RelyingParty, forger: SigningKey) -> None:
    session, response = await hybrid(op, rp)
    forged = replace_params(
        response, id_token=resign(response.parameters["id_token"], forger, s_hash="AAAAAAAAAAAA")
    )
    with pytest.raises(HashMismatch) as caught:
        await rp.handle_authorization_response(session, forged)
    assert caught.value.claim == "s_hash"


# --- the ID Token's claims and signature -----------------------------------------------------


async def test_wrong_nonce(op: OP, rp: RelyingParty) -> None:
    session, response = await hybrid(op, rp)
    replayed_into = dataclasses.replace(session, nonce="another-requests-nonce")
    with pytest.raises(NonceMismatch) as caught:
        await rp.handle_authorization_response(replayed_into, response)
    assert caught.value.claim == "nonce"


async def test_missing_nonce(op: OP, rp: RelyingParty, forger: SigningKey) -> None:
    session, response = await hybrid(op, rp)
    forged = replace_params(
        response, id_token=resign(response.parameters["id_token"], forger, nonce=None)
    )
    with pytest.raises(NonceMismatch, match="has no nonce"):
        await rp.handle_authorization_response(session, forged)


async def test_wrong_audience(op: OP, rp: RelyingParty, forger: SigningKey) -> None:
    session, response = await hybrid(op, rp)
    forged = replace_params(
        response,
        id_token=resign(response.parameters["id_token"], forger, aud="another-client", azp=None),
    )
    with pytest.raises(AudienceMismatch) as caught:
        await rp.handle_authorization_response(session, forged)
    assert caught.value.claim == "aud"
    assert rp.client.client_id in str(caught.value)


async def test_an_id_token_issued_to_another_client(op: OP) -> None:
    # No forgery at all: a real ID Token of client A, presented to client B.
    a = await op.register()
    b = await op.register()
    async with op.rp(a) as rp_a, op.rp(b) as rp_b:
        session, response = await hybrid(op, rp_a)
        victim_session = dataclasses.replace(session, client_id=b.client_id)
        with pytest.raises(AudienceMismatch):
            await rp_b.handle_authorization_response(victim_session, response)


async def test_bad_signature_one_flipped_byte(op: OP, rp: RelyingParty) -> None:
    session, response = await hybrid(op, rp)
    header, payload, signature = response.parameters["id_token"].split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[len(raw) // 2] ^= 0x01
    flipped = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    tampered = replace_params(response, id_token=f"{header}.{payload}.{flipped}")
    with pytest.raises(InvalidSignature, match="signature does not verify"):
        await rp.handle_authorization_response(session, tampered)


async def test_payload_changed_under_the_real_signature(op: OP, rp: RelyingParty) -> None:
    session, response = await hybrid(op, rp)
    header, _payload, signature = response.parameters["id_token"].split(".")
    claims = {**claims_of(response.parameters["id_token"]), "sub": "someone-else"}
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    tampered = replace_params(response, id_token=f"{header}.{body}.{signature}")
    with pytest.raises(InvalidSignature):
        await rp.handle_authorization_response(session, tampered)


async def test_alg_none_and_hmac_confusion_are_refused(op: OP, rp: RelyingParty) -> None:
    session, response = await hybrid(op, rp)
    claims = dict(claims_of(response.parameters["id_token"]))

    def b64(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    with pytest.raises(InvalidSignature, match="none"):
        await rp.handle_authorization_response(session, replace_params(response, id_token=unsigned))
    # HS256 with the client's own secret, while the client registered RS256.
    assert rp.client.client_secret is not None
    hmac_signed = sign_hmac_jwt(claims, rp.client.client_secret)
    with pytest.raises(InvalidSignature, match="HS256 is not allowed"):
        await rp.handle_authorization_response(
            session, replace_params(response, id_token=hmac_signed)
        )


async def test_expired_token(op: OP) -> None:
    client = await op.register()
    now = op.provider.clock.now()
    lifetime = op.provider.settings.id_token_ttl
    async with op.rp(client) as issuing:
        session, response = await hybrid(op, issuing)
    # Within the allowed skew (60 s) past exp, the token is still accepted ...
    async with op.rp(client, clock=FrozenClock(now + lifetime + 30)) as late:
        await late.handle_authorization_response(session, response)
    # ... beyond it, it is not.
    async with op.rp(client, clock=FrozenClock(now + lifetime + 61)) as too_late:
        with pytest.raises(TokenExpired) as caught:
            await too_late.handle_authorization_response(session, response)
    assert caught.value.claim == "exp"
    assert "allowed clock skew 60 s" in str(caught.value)


async def test_iat_far_in_the_future(op: OP) -> None:
    client = await op.register()
    now = op.provider.clock.now()
    async with op.rp(client) as issuing:
        session, response = await hybrid(op, issuing)
    async with op.rp(client, clock=FrozenClock(now - 300)) as behind:
        with pytest.raises(IssuedInTheFuture) as caught:
            await behind.handle_authorization_response(session, response)
    assert caught.value.claim == "iat"
    # A larger configured skew accepts the same clock difference.
    async with op.rp(client, clock=FrozenClock(now - 300), max_clock_skew=310) as lenient:
        await lenient.handle_authorization_response(session, response)


async def test_wrong_iss(op: OP, rp: RelyingParty, forger: SigningKey) -> None:
    session, response = await hybrid(op, rp)
    forged = replace_params(
        response,
        id_token=resign(response.parameters["id_token"], forger, iss="https://evil.example"),
    )
    with pytest.raises(IssuerMismatch) as caught:
        await rp.handle_authorization_response(session, forged)
    assert caught.value.claim == "iss"


async def test_missing_azp_with_multiple_audiences(
    op: OP, rp: RelyingParty, forger: SigningKey
) -> None:
    session, response = await hybrid(op, rp)
    token = response.parameters["id_token"]
    two = [rp.client.client_id, "other-party"]
    forged = replace_params(response, id_token=resign(token, forger, aud=two, azp=None))
    with pytest.raises(AuthorizedPartyMismatch, match="several audiences and no azp"):
        await rp.handle_authorization_response(session, forged)
    # With azp, the other audience must still be trusted.
    with_azp = replace_params(response, id_token=resign(token, forger, aud=two))
    with pytest.raises(AudienceMismatch, match="this RP does not trust"):
        await rp.handle_authorization_response(session, with_azp)
    async with op.rp(rp.client, trusted_audiences=["other-party"]) as trusting:
        await trusting.handle_authorization_response(session, with_azp)


async def test_azp_of_another_client(op: OP, rp: RelyingParty, forger: SigningKey) -> None:
    session, response = await hybrid(op, rp)
    forged = replace_params(
        response, id_token=resign(response.parameters["id_token"], forger, azp="other-party")
    )
    with pytest.raises(AuthorizedPartyMismatch, match="azp is 'other-party'"):
        await rp.handle_authorization_response(session, forged)


async def test_max_age_exceeded(op: OP) -> None:
    client = await op.register()
    now = op.provider.clock.now()
    async with op.rp(client) as issuing:
        session, response = await sign_in(op, issuing, max_age=60)
    async with op.rp(client, clock=FrozenClock(now + 200)) as later:
        with pytest.raises(AuthTimeError, match="more than max_age 60 s"):
            await later.handle_authorization_response(session, response)


# --- the authorization response's parameters -------------------------------------------------


async def test_state_mismatch(op: OP, rp: RelyingParty) -> None:
    session, response = await hybrid(op, rp)
    with pytest.raises(StateMismatch):
        await rp.handle_authorization_response(session, replace_params(response, state="forged"))
    with pytest.raises(StateMismatch, match="no state"):
        await rp.handle_authorization_response(session, replace_params(response, state=None))


async def test_iss_parameter_mismatch_mix_up(op: OP, rp: RelyingParty) -> None:
    session, response = await hybrid(op, rp)
    with pytest.raises(IssuerParameterMismatch, match="RFC 9207"):
        await rp.handle_authorization_response(
            session, replace_params(response, iss="https://honest-op.example")
        )
    # The OP advertises authorization_response_iss_parameter_supported: iss is then required
    # (unless an ID Token, whose iss claim is checked, comes with the response).
    assert (await rp.provider_metadata()).authorization_response_iss_parameter_supported
    session, response = await hybrid(op, rp, "code")
    with pytest.raises(IssuerParameterMismatch, match="no iss parameter"):
        await rp.handle_authorization_response(session, replace_params(response, iss=None))
    with pytest.raises(IssuerParameterMismatch, match="RFC 9207"):
        await rp.handle_authorization_response(
            session, replace_params(response, iss="https://honest-op.example")
        )
    await rp.handle_authorization_response(session, response)


async def test_tokens_in_the_query_and_repeated_parameters(op: OP, rp: RelyingParty) -> None:
    session, response = await hybrid(op, rp)
    from urllib.parse import urlencode

    as_query = AuthorizationResponse.from_query(urlencode(response.parameters))
    with pytest.raises(MalformedAuthorizationResponse, match="query"):
        await rp.handle_authorization_response(session, as_query)
    with pytest.raises(MalformedAuthorizationResponse, match="repeated"):
        AuthorizationResponse.from_fragment("code=a&state=b&code=c")
    with pytest.raises(MalformedAuthorizationResponse, match="repeated"):
        AuthorizationResponse.from_form_post([("state", "a"), ("state", "b")])
    with pytest.raises(MalformedAuthorizationResponse, match="needs id_token"):
        await rp.handle_authorization_response(session, replace_params(response, id_token=None))


# --- the token endpoint, UserInfo, refresh ---------------------------------------------------


async def test_token_endpoint_id_token_with_different_sub(
    op: OP, rp: RelyingParty, forger: SigningKey
) -> None:
    op.tamper.edit(
        "/token",
        lambda body: {**body, "id_token": resign(body["id_token"], forger, sub="someone-else")},
    )
    session, response = await hybrid(op, rp)
    result = await rp.handle_authorization_response(session, response)
    with pytest.raises(SubjectMismatch, match=r"Core §3\.3\.3\.6") as caught:
        await rp.exchange_code(session, result)
    assert caught.value.claim == "sub"


async def test_token_endpoint_id_token_with_wrong_at_hash(
    op: OP, rp: RelyingParty, forger: SigningKey
) -> None:
    op.tamper.edit(
        "/token",
        lambda body: {**body, "id_token": resign(body["id_token"], forger, at_hash="A" * 22)},
    )
    session, response = await hybrid(op, rp)
    result = await rp.handle_authorization_response(session, response)
    with pytest.raises(HashMismatch, match="at_hash"):
        await rp.exchange_code(session, result)


async def test_token_endpoint_id_token_with_another_nonce(
    op: OP, rp: RelyingParty, forger: SigningKey
) -> None:
    op.tamper.edit(
        "/token", lambda body: {**body, "id_token": resign(body["id_token"], forger, nonce="n2")}
    )
    session, response = await hybrid(op, rp)
    result = await rp.handle_authorization_response(session, response)
    with pytest.raises(NonceMismatch):
        await rp.exchange_code(session, result)


async def test_userinfo_sub_mismatch(op: OP, rp: RelyingParty) -> None:
    op.tamper.edit("/userinfo", lambda body: {**body, "sub": "someone-else"})
    session, response = await hybrid(op, rp)
    tokens = await rp.exchange_code(
        session, await rp.handle_authorization_response(session, response)
    )
    assert tokens.id_token is not None
    with pytest.raises(SubjectMismatch, match=r"Core §5\.3\.2") as caught:
        await rp.userinfo(tokens.access_token, id_token=tokens.id_token)
    assert caught.value.claim == "sub"


async def test_signed_userinfo(op: OP) -> None:
    client = await op.register(userinfo_signed_response_alg="RS256")
    assert client.userinfo_signed_response_alg == "RS256"
    async with op.rp(client) as rp:
        session, response = await hybrid(op, rp)
        tokens = await rp.exchange_code(
            session, await rp.handle_authorization_response(session, response)
        )
        assert tokens.id_token is not None
        info = await rp.userinfo(tokens.access_token, id_token=tokens.id_token)
        assert info.signed
        assert {c.name for c in info.checks} >= {"signature", "sub"}
        # Without userinfo_signed_response_alg the RP refuses a JWT it did not ask for.
        plain = ClientCredentials(client.client_id, client_secret=client.client_secret)
        async with op.rp(plain) as unaware:
            from idgate.client import InvalidProviderResponse

            with pytest.raises(InvalidProviderResponse, match="userinfo_signed_response_alg"):
                await unaware.userinfo(tokens.access_token, id_token=tokens.id_token)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"sub": "someone-else"}, SubjectMismatch),
        ({"auth_time": 1}, AuthTimeError),
        ({"aud": ["x", "y"], "azp": "x"}, AudienceMismatch),
        ({"iss": "https://evil.example"}, IssuerMismatch),
    ],
)
async def test_refreshed_id_token_must_keep_the_authentication(
    op: OP, rp: RelyingParty, forger: SigningKey, change: dict[str, Any], error: type[Exception]
) -> None:
    session, response = await hybrid(op, rp)
    tokens = await rp.exchange_code(
        session, await rp.handle_authorization_response(session, response)
    )
    assert tokens.refresh_token is not None
    op.tamper.edit(
        "/token", lambda body: {**body, "id_token": resign(body["id_token"], forger, **change)}
    )
    with pytest.raises(error):
        await rp.refresh(tokens.refresh_token, id_token=tokens.id_token)


async def test_a_redirect_uri_mismatch_is_not_hidden(op: OP, rp: RelyingParty) -> None:
    # The session's redirect_uri is what the RP sends to the token endpoint (RFC 6749 §4.1.3).
    session, response = await hybrid(op, rp)
    result = await rp.handle_authorization_response(session, response)
    from idgate.client import ErrorResponse

    moved = dataclasses.replace(session, redirect_uri=REDIRECT_URI + "2")
    with pytest.raises(ErrorResponse, match="invalid_grant"):
        await rp.exchange_code(moved, result)
