"""idgate.crypto.jwt: signing and verifying JWTs, and every way a token must be refused.

Attack tokens are built by hand here (stdlib base64/hmac, ``cryptography``), never with the
code under test, so that a bug in signing cannot hide a bug in verification.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from idgate.crypto import jwt as jwt_module
from idgate.crypto.errors import CryptoError, InvalidJWT
from idgate.crypto.jwt import (
    VerifiedJWT,
    sign_hmac_jwt,
    sign_jwt,
    unverified_claims,
    unverified_header,
    verify_hmac_jwt,
    verify_jwt,
)
from idgate.crypto.keys import (
    SIGNING_ALGS,
    KeyRing,
    SigningKey,
    generate_signing_key,
    signing_key_from_private_jwk,
)

CLAIMS = {"iss": "https://op.example", "sub": "248289761001", "aud": "client", "exp": 1, "n": "é"}
HMAC_SECRET = "s" * 64


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {alg: generate_signing_key(alg) for alg in SIGNING_ALGS}


@pytest.fixture(scope="module")
def jwks(keys: dict[str, SigningKey]) -> dict[str, Any]:
    return KeyRing(list(keys.values())).jwks()


# --- hand-made tokens ---------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64_json(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def b64_int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def segments(token: str) -> list[str]:
    return token.split(".")


def ed25519_token(key: SigningKey, header: Mapping[str, Any], payload: bytes) -> str:
    """A JWS signed with Ed25519 by ``cryptography`` directly (RFC 8037 §3.1)."""
    raw = base64.urlsafe_b64decode(key.private_jwk["d"] + "=")
    private = ed25519.Ed25519PrivateKey.from_private_bytes(raw)
    signing_input = f"{b64_json(dict(header))}.{b64(payload)}"
    return f"{signing_input}.{b64(private.sign(signing_input.encode()))}"


def hs256_token(secret: bytes, header: Mapping[str, Any], claims: Mapping[str, Any]) -> str:
    signing_input = f"{b64_json(dict(header))}.{b64_json(dict(claims))}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def rsa_public_pem(jwk: Mapping[str, Any]) -> bytes:
    numbers = rsa.RSAPublicNumbers(b64_int(jwk["e"]), b64_int(jwk["n"]))
    return numbers.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# --- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", SIGNING_ALGS)
def test_sign_and_verify_round_trip(
    keys: dict[str, SigningKey], jwks: dict[str, Any], alg: str
) -> None:
    token = sign_jwt(CLAIMS, keys[alg])
    verified = verify_jwt(token, jwks, algs=[alg])
    assert verified == VerifiedJWT(
        header={"alg": alg, "kid": keys[alg].kid, "typ": "JWT"}, claims=CLAIMS
    )


@pytest.mark.parametrize("alg", SIGNING_ALGS)
def test_signature_is_over_header_and_payload(keys: dict[str, SigningKey], alg: str) -> None:
    """Check the signature independently of joserfc for the algs we can check simply."""
    token = sign_jwt(CLAIMS, keys[alg])
    header_b64, payload_b64, signature_b64 = segments(token)
    signing_input = f"{header_b64}.{payload_b64}".encode()
    signature = base64.urlsafe_b64decode(signature_b64 + "==")
    public = keys[alg].public_jwk
    if alg == "EdDSA":
        raw = base64.urlsafe_b64decode(public["x"] + "=")
        ed25519.Ed25519PublicKey.from_public_bytes(raw).verify(signature, signing_input)
    elif alg in ("RS256", "PS256"):
        pem = serialization.load_pem_public_key(rsa_public_pem(public))
        assert isinstance(pem, rsa.RSAPublicKey)
        pad: padding.AsymmetricPadding = (
            padding.PKCS1v15()
            if alg == "RS256"
            else padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        )
        pem.verify(signature, signing_input, pad, hashes.SHA256())
    else:
        assert len(signature) == 64  # ES256: R || S, 32 octets each (RFC 7518 §3.4)
        point = ec.EllipticCurvePublicNumbers(
            int.from_bytes(base64.urlsafe_b64decode(public["x"] + "="), "big"),
            int.from_bytes(base64.urlsafe_b64decode(public["y"] + "="), "big"),
            ec.SECP256R1(),
        ).public_key()
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        point.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    assert json.loads(base64.urlsafe_b64decode(payload_b64 + "==")) == CLAIMS


@pytest.mark.parametrize(
    ("typ", "expected"),
    [("JWT", {"typ": "JWT"}), ("logout+jwt", {"typ": "logout+jwt"}), (None, {})],
)
def test_typ_header(keys: dict[str, SigningKey], typ: str | None, expected: dict[str, str]) -> None:
    key = keys["ES256"]
    header = unverified_header(sign_jwt({"a": 1}, key, typ=typ))
    assert header == {"alg": "ES256", "kid": key.kid, **expected}


def test_verify_picks_the_key_by_kid_among_many(keys: dict[str, SigningKey]) -> None:
    others = [generate_signing_key("ES256") for _ in range(3)]
    key = generate_signing_key("ES256")
    jwks = KeyRing([others[0]], published=[*others[1:], key]).jwks()
    assert verify_jwt(sign_jwt(CLAIMS, key), jwks, algs=["ES256"]).claims == CLAIMS


def test_verify_without_kid_tries_keys_of_the_right_type(keys: dict[str, SigningKey]) -> None:
    key = keys["EdDSA"]
    other = generate_signing_key("EdDSA")
    jwks = KeyRing([keys["RS256"], other], published=[key]).jwks()
    token = ed25519_token(key, {"alg": "EdDSA"}, json.dumps(CLAIMS).encode())
    assert verify_jwt(token, jwks, algs=["EdDSA"]).claims == CLAIMS


def test_verify_rebuilt_key_verifies_old_tokens(keys: dict[str, SigningKey]) -> None:
    token = sign_jwt(CLAIMS, keys["PS256"])
    rebuilt = signing_key_from_private_jwk(
        json.loads(json.dumps(dict(keys["PS256"].private_jwk))), "PS256"
    )
    assert verify_jwt(token, KeyRing([rebuilt]).jwks(), algs=["PS256"]).claims == CLAIMS


def test_unverified_header_and_claims(keys: dict[str, SigningKey]) -> None:
    token = sign_jwt(CLAIMS, keys["RS256"])
    assert unverified_header(token)["kid"] == keys["RS256"].kid
    assert unverified_claims(token) == CLAIMS


# --- refusals -----------------------------------------------------------------------------------


def test_tampered_payload_is_refused(keys: dict[str, SigningKey], jwks: dict[str, Any]) -> None:
    for alg in SIGNING_ALGS:
        header_b64, _, signature_b64 = segments(sign_jwt(CLAIMS, keys[alg]))
        forged = f"{header_b64}.{b64_json({**CLAIMS, 'sub': 'admin'})}.{signature_b64}"
        with pytest.raises(InvalidJWT, match="signature does not verify"):
            verify_jwt(forged, jwks, algs=[alg])


def test_tampered_header_is_refused(keys: dict[str, SigningKey], jwks: dict[str, Any]) -> None:
    _, payload_b64, signature_b64 = segments(sign_jwt(CLAIMS, keys["ES256"]))
    header = {"alg": "ES256", "kid": keys["ES256"].kid, "typ": "at+jwt"}
    with pytest.raises(InvalidJWT, match="signature does not verify"):
        verify_jwt(f"{b64_json(header)}.{payload_b64}.{signature_b64}", jwks, algs=["ES256"])


def test_tampered_signature_is_refused(keys: dict[str, SigningKey], jwks: dict[str, Any]) -> None:
    header_b64, payload_b64, signature_b64 = segments(sign_jwt(CLAIMS, keys["RS256"]))
    signature = bytearray(base64.urlsafe_b64decode(signature_b64 + "=="))
    signature[10] ^= 0x40
    with pytest.raises(InvalidJWT):
        verify_jwt(f"{header_b64}.{payload_b64}.{b64(bytes(signature))}", jwks, algs=["RS256"])


@pytest.mark.parametrize("alg", SIGNING_ALGS)
def test_wrong_key_is_refused(keys: dict[str, SigningKey], alg: str) -> None:
    token = sign_jwt(CLAIMS, keys[alg])
    impostor = dict(generate_signing_key(alg).public_jwk)
    impostor["kid"] = keys[alg].kid  # same kid, other key
    with pytest.raises(InvalidJWT, match="signature does not verify"):
        verify_jwt(token, {"keys": [impostor]}, algs=[alg])


def test_unknown_kid_is_refused(keys: dict[str, SigningKey]) -> None:
    token = sign_jwt(CLAIMS, keys["ES256"])
    jwks = KeyRing([generate_signing_key("ES256")]).jwks()
    with pytest.raises(InvalidJWT, match="no key"):
        verify_jwt(token, jwks, algs=["ES256"])


@pytest.mark.parametrize("none", ["none", "None", "NONE"])
def test_alg_none_is_refused_even_when_listed(
    keys: dict[str, SigningKey], jwks: dict[str, Any], none: str
) -> None:
    unsigned = f"{b64_json({'alg': none, 'kid': keys['RS256'].kid})}.{b64_json(CLAIMS)}."
    for algs in (["RS256"], ["none", "None", "NONE", "RS256"]):
        with pytest.raises(InvalidJWT, match="none"):
            verify_jwt(unsigned, jwks, algs=algs)
    with pytest.raises(InvalidJWT):
        verify_hmac_jwt(unsigned, HMAC_SECRET, algs=["none", "HS256"])


def test_alg_not_allowed_is_refused(keys: dict[str, SigningKey], jwks: dict[str, Any]) -> None:
    token = sign_jwt(CLAIMS, keys["RS256"])
    with pytest.raises(InvalidJWT, match="not allowed"):
        verify_jwt(token, jwks, algs=["ES256", "PS256"])
    with pytest.raises(InvalidJWT, match="not allowed"):
        verify_jwt(token, jwks, algs=[])


def test_algs_given_as_one_string_is_a_type_error(keys: dict[str, SigningKey]) -> None:
    """``"ES256" in "PS256,ES256"`` would be a substring test: refuse the mistake outright."""
    token = sign_jwt(CLAIMS, keys["ES256"])
    with pytest.raises(TypeError):
        verify_jwt(token, {"keys": []}, algs="PS256,ES256")


def test_hs256_signed_with_the_rsa_public_key_is_refused(
    keys: dict[str, SigningKey], jwks: dict[str, Any]
) -> None:
    """RFC 8725 §2.1: the attacker MACs with the public key, hoping it is used as an HMAC secret."""
    public = keys["RS256"].public_jwk
    header = {"alg": "HS256", "kid": public["kid"], "typ": "JWT"}
    secrets = [
        rsa_public_pem(public),
        rsa_public_pem(public).strip(),
        json.dumps(dict(public)).encode(),
        json.dumps(dict(public), separators=(",", ":")).encode(),
        base64.urlsafe_b64decode(public["n"] + "=="),
    ]
    for secret in secrets:
        forged = hs256_token(secret, header, {**CLAIMS, "sub": "admin"})
        for algs in (["RS256"], ["RS256", "HS256"], ["HS256"]):
            with pytest.raises(InvalidJWT):
                verify_jwt(forged, jwks, algs=algs)
    # Nor may a public key ever serve as the HMAC secret itself.
    pem = rsa_public_pem(public).decode()
    forged = hs256_token(pem.encode(), header, CLAIMS)
    with pytest.raises(InvalidJWT):
        verify_hmac_jwt(forged, pem)


def test_key_marked_for_encryption_or_another_alg_is_not_used(keys: dict[str, SigningKey]) -> None:
    token = sign_jwt(CLAIMS, keys["RS256"])
    public = dict(keys["RS256"].public_jwk)
    for change in ({"use": "enc"}, {"alg": "PS256"}, {"key_ops": ["encrypt"]}):
        with pytest.raises(InvalidJWT, match="no key"):
            verify_jwt(token, {"keys": [{**public, **change}]}, algs=["RS256"])


def test_small_rsa_keys_are_refused() -> None:
    """RFC 7518 §3.3: 2048 bits or larger MUST be used."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    numbers = private.public_key().public_numbers()
    jwk = {
        "kty": "RSA",
        "kid": "small",
        "n": b64(numbers.n.to_bytes(128, "big")),
        "e": b64(numbers.e.to_bytes(3, "big")),
    }
    signing_input = f"{b64_json({'alg': 'RS256', 'kid': 'small'})}.{b64_json(CLAIMS)}"
    signature = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidJWT, match="signature does not verify"):
        verify_jwt(f"{signing_input}.{b64(signature)}", {"keys": [jwk]}, algs=["RS256"])


def test_public_key_cache_is_not_keyed_by_kid_alone(keys: dict[str, SigningKey]) -> None:
    """Two clients may both call their key "1": one's key must never verify the other's token."""
    alice, mallory = generate_signing_key("EdDSA"), generate_signing_key("EdDSA")
    alice_jwks = {"keys": [{**alice.public_jwk, "kid": "1"}]}
    mallory_jwks = {"keys": [{**mallory.public_jwk, "kid": "1"}]}
    token = ed25519_token(mallory, {"alg": "EdDSA", "kid": "1"}, b'{"sub":"mallory"}')
    assert verify_jwt(token, mallory_jwks, algs=["EdDSA"]).claims == {"sub": "mallory"}
    with pytest.raises(InvalidJWT):
        verify_jwt(token, alice_jwks, algs=["EdDSA"])


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"[1, 2]", "not a JSON object"),
        (b'"sub"', "not a JSON object"),
        (b"null", "not a JSON object"),
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b'{"exp": NaN}', "not JSON"),
        (b'{"sub": "a", "sub": "admin"}', "duplicate"),
    ],
)
def test_signed_but_unusable_payload_is_refused(
    keys: dict[str, SigningKey], jwks: dict[str, Any], payload: bytes, reason: str
) -> None:
    token = ed25519_token(keys["EdDSA"], {"alg": "EdDSA", "kid": keys["EdDSA"].kid}, payload)
    with pytest.raises(InvalidJWT, match=reason):
        verify_jwt(token, jwks, algs=["EdDSA"])
    with pytest.raises(InvalidJWT, match=reason):
        unverified_claims(token)


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"crit": ["exp"], "exp": 1}, "crit"),
        ({"b64": False, "crit": ["b64"]}, "crit"),
        ({"b64": True}, "b64"),
        ({"kid": 7}, "kid"),
    ],
)
def test_refused_header_members(
    keys: dict[str, SigningKey], jwks: dict[str, Any], extra: dict[str, Any], reason: str
) -> None:
    header = {"alg": "EdDSA", "kid": keys["EdDSA"].kid, **extra}
    token = ed25519_token(keys["EdDSA"], header, json.dumps(CLAIMS).encode())
    with pytest.raises(InvalidJWT, match=reason):
        verify_jwt(token, jwks, algs=["EdDSA"])


def test_unknown_header_members_are_ignored(
    keys: dict[str, SigningKey], jwks: dict[str, Any]
) -> None:
    """RFC 7515 §4: header parameters that are not understood are ignored (unless in crit)."""
    header = {"alg": "EdDSA", "kid": keys["EdDSA"].kid, "x-custom": {"a": 1}}
    token = ed25519_token(keys["EdDSA"], header, json.dumps(CLAIMS).encode())
    assert verify_jwt(token, jwks, algs=["EdDSA"]).header == header


MALFORMED = [
    "",
    "abc",
    "a.b",
    "a.b.c.d",
    "a.b.c.d.e",
    f"{b64(b'not json')}.{b64_json({})}.",
    f"{b64_json([1])}.{b64_json({})}.",
    f"{b64_json({'alg': 'RS256'})}.{b64_json({})}.sig=",
    f"{b64_json({'alg': 'RS256'})}.{b64_json({})}.si+g",
    f"{b64_json({'alg': 'RS256'})}.{b64_json({})}.s/g",
    f"{b64_json({'alg': 'RS256'})} .{b64_json({})}.sig",
    f"{b64_json({'alg': 'RS256'})}.{b64_json({})}.a",
    f"{b64_json({'alg': 'RS256'})}.{b64_json({'a': 'x' * 200_000})}.sig",
    f"{b64_json({'alg': 'RS256'})}.{b64_json({})}.{'é' * 10}",
]


@pytest.mark.parametrize("token", MALFORMED)
def test_malformed_tokens_are_refused(jwks: dict[str, Any], token: str) -> None:
    with pytest.raises(InvalidJWT):
        verify_jwt(token, jwks, algs=["RS256"])
    with pytest.raises(InvalidJWT):
        verify_hmac_jwt(token, HMAC_SECRET, algs=["RS256", "HS256"])


@pytest.mark.parametrize("token", [*MALFORMED[:7], f"{b64_json({'alg': 'RS256'})}.{b64(b'[1]')}."])
def test_unverified_claims_of_malformed_tokens(token: str) -> None:
    with pytest.raises(InvalidJWT):
        unverified_claims(token)


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", f"{b64_json([1])}.e30.", "@@@.e30."])
def test_unverified_header_of_malformed_tokens(token: str) -> None:
    with pytest.raises(InvalidJWT):
        unverified_header(token)


@pytest.mark.parametrize(
    "jwks", [{}, {"keys": []}, {"keys": "x"}, {"keys": [1, "a", None]}, {"keys": [{"kty": "RSA"}]}]
)
def test_unusable_jwks_is_refused(keys: dict[str, SigningKey], jwks: dict[str, Any]) -> None:
    token = sign_jwt(CLAIMS, keys["RS256"])
    with pytest.raises(InvalidJWT):
        verify_jwt(token, jwks, algs=["RS256"])


def test_broken_key_in_jwks_is_skipped(keys: dict[str, SigningKey]) -> None:
    key = keys["RS256"]
    broken = {**key.public_jwk, "n": "AAAA"}
    token = sign_jwt(CLAIMS, key)
    with pytest.raises(InvalidJWT):
        verify_jwt(token, {"keys": [broken]}, algs=["RS256"])
    assert verify_jwt(token, {"keys": [broken, dict(key.public_jwk)]}, algs=["RS256"])


def test_invalid_jwt_is_a_crypto_error() -> None:
    assert issubclass(InvalidJWT, CryptoError)


# --- HMAC (client_secret_jwt) -------------------------------------------------------------------


@pytest.mark.parametrize(("alg", "length"), [("HS256", 32), ("HS384", 48), ("HS512", 64)])
def test_hmac_round_trip(alg: str, length: int) -> None:
    secret = "k" * length
    token = sign_hmac_jwt(CLAIMS, secret, alg)
    verified = verify_hmac_jwt(token, secret, algs=[alg])
    assert verified.claims == CLAIMS
    assert verified.header == {"alg": alg, "typ": "JWT"}


def test_hmac_signature_matches_hand_computation() -> None:
    token = sign_hmac_jwt({"a": 1}, HMAC_SECRET, typ=None)
    header_b64, payload_b64, signature_b64 = segments(token)
    expected = hmac.new(
        HMAC_SECRET.encode(), f"{header_b64}.{payload_b64}".encode(), hashlib.sha256
    )
    assert signature_b64 == b64(expected.digest())
    assert unverified_header(token) == {"alg": "HS256"}


def test_hmac_wrong_secret_is_refused() -> None:
    token = sign_hmac_jwt(CLAIMS, HMAC_SECRET)
    with pytest.raises(InvalidJWT, match="signature does not verify"):
        verify_hmac_jwt(token, HMAC_SECRET[:-1] + "t")


def test_hmac_alg_not_allowed_is_refused() -> None:
    token = sign_hmac_jwt(CLAIMS, HMAC_SECRET, "HS512")
    with pytest.raises(InvalidJWT, match="not allowed"):
        verify_hmac_jwt(token, HMAC_SECRET)


def test_hmac_and_asymmetric_verification_do_not_mix(
    keys: dict[str, SigningKey], jwks: dict[str, Any]
) -> None:
    with pytest.raises(InvalidJWT, match="not an HMAC alg"):
        verify_hmac_jwt(sign_jwt(CLAIMS, keys["RS256"]), HMAC_SECRET, algs=["RS256"])
    with pytest.raises(InvalidJWT, match="not accepted with a JWK Set"):
        verify_jwt(sign_hmac_jwt(CLAIMS, HMAC_SECRET), jwks, algs=["HS256"])


@pytest.mark.parametrize(("alg", "length"), [("HS256", 31), ("HS384", 47), ("HS512", 63)])
def test_hmac_secret_shorter_than_the_hash_is_refused(alg: str, length: int) -> None:
    """RFC 7518 §3.2 and OIDC Core §16.19."""
    short = "k" * length
    with pytest.raises(ValueError, match="too short"):
        sign_hmac_jwt(CLAIMS, short, alg)
    token = sign_hmac_jwt(CLAIMS, "k" * (length + 1), alg)
    assert verify_hmac_jwt(token, "k" * (length + 1), algs=[alg]).claims == CLAIMS
    with pytest.raises(InvalidJWT, match="too short"):
        verify_hmac_jwt(token, short, algs=[alg])


def test_sign_hmac_refuses_asymmetric_alg() -> None:
    with pytest.raises(ValueError, match="not an HMAC alg"):
        sign_hmac_jwt(CLAIMS, HMAC_SECRET, "RS256")


# --- caching of parsed keys ---------------------------------------------------------------------


def test_private_key_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    key = generate_signing_key("RS256")  # generating parses and caches the key
    calls: list[str] = []
    original = jwt_module._import_private

    def counting(jwk: Mapping[str, Any]) -> Any:
        calls.append(jwk["kty"])
        return original(jwk)

    monkeypatch.setattr(jwt_module, "_import_private", counting)
    for _ in range(5):
        sign_jwt(CLAIMS, key)
    assert calls == []
    jwt_module._private_keys.clear()  # lost caches are only slower
    jwt_module._signers.clear()
    for _ in range(5):
        sign_jwt(CLAIMS, key)
    assert calls == ["RSA"]


def test_private_key_cache_never_mixes_keys_sharing_a_kid(keys: dict[str, SigningKey]) -> None:
    real = keys["EdDSA"]
    other = generate_signing_key("EdDSA")
    jwks = KeyRing([real]).jwks()
    sign_jwt(CLAIMS, real)  # cached under real.kid
    liar = SigningKey(real.kid, "EdDSA", other.private_jwk, real.public_jwk)
    with pytest.raises(InvalidJWT, match="signature does not verify"):
        verify_jwt(sign_jwt(CLAIMS, liar), jwks, algs=["EdDSA"])


def test_signing_with_a_mismatched_alg_raises_crypto_error(keys: dict[str, SigningKey]) -> None:
    key = keys["ES256"]
    odd = SigningKey(key.kid, "RS256", key.private_jwk, key.public_jwk)
    with pytest.raises(CryptoError, match="cannot sign"):
        sign_jwt(CLAIMS, odd)
