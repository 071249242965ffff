"""idgate.crypto.keys: signing keys, RFC 7638 kids, the key ring and its JWKS."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pytest

from idgate.crypto.errors import CryptoError, NoSigningKey
from idgate.crypto.jwt import public_jwk_thumbprint
from idgate.crypto.keys import (
    SIGNING_ALGS,
    KeyRing,
    SigningKey,
    generate_signing_key,
    signing_key_from_private_jwk,
)

PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")

# RFC 7517 Appendix A.2: the private half of the RSA key of RFC 7638 §3.1 (n, e, d are enough).
RFC7517_RSA_PRIVATE = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
    "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
    "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4v"
    "MQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "d": "X4cTteJY_gn4FYPsXB8rdXix5vwsg1FLN5E3EaG6RJoVH-HLLKD9M7dx5oo7GURknchnrRweUkC7hT5fJLM0Wb"
    "FAKNLWY2vv7B6NqXSzUvxT0_YSfqijwp3RTzlBaCxWp4doFk5N2o8Gy_nHNKroADIkJ46pRUohsXywbReAdYaMwFs9"
    "tv8d_cPVY3i07a3t8MN6TNwm0dSawm9v47UiCl3Sk5ZiG7xojPLu4sbg1U2jx4IBTNBznbJSzFHK66jT8bgkuqsk0G"
    "jskDJk19Z4qwjwbsnn4j2WBii3RL-Us2lGVkY8fkFzme1z0HbIkfz0Y6mqnOYtqc0X4jfcKoAC8Q",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

# RFC 7638 §3.2: the required members of each key type, in the order the hash input uses.
REQUIRED_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}
EXPECTED_SHAPE = {
    "RS256": ("RSA", None),
    "PS256": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "EdDSA": ("OKP", "Ed25519"),
}


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {alg: generate_signing_key(alg) for alg in SIGNING_ALGS}


def rfc7638_by_hand(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 §3.1 computed independently: sorted required members, no whitespace, SHA-256."""
    members = REQUIRED_MEMBERS[jwk["kty"]]
    text = "{" + ",".join(f'"{name}":"{jwk[name]}"' for name in members) + "}"
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def b64_int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def test_rfc7638_example_thumbprint() -> None:
    public = {k: v for k, v in RFC7517_RSA_PRIVATE.items() if k != "d"}
    assert public_jwk_thumbprint(public) == RFC7638_THUMBPRINT
    assert rfc7638_by_hand(public) == RFC7638_THUMBPRINT


def test_kid_of_the_rfc_example_key_is_its_rfc7638_thumbprint() -> None:
    key = signing_key_from_private_jwk(RFC7517_RSA_PRIVATE, "RS256")
    assert key.kid == RFC7638_THUMBPRINT  # and not the "2011-04-29" of the stored JWK
    assert key.public_jwk == {
        "kty": "RSA",
        "n": RFC7517_RSA_PRIVATE["n"],
        "e": "AQAB",
        "kid": RFC7638_THUMBPRINT,
        "alg": "RS256",
        "use": "sig",
    }


@pytest.mark.parametrize("alg", SIGNING_ALGS)
def test_generated_key_shape(keys: dict[str, SigningKey], alg: str) -> None:
    key = keys[alg]
    kty, crv = EXPECTED_SHAPE[alg]
    assert key.alg == alg
    assert key.public_jwk["kty"] == kty
    assert key.public_jwk.get("crv") == crv
    assert key.public_jwk["alg"] == alg
    assert key.public_jwk["use"] == "sig"
    assert key.public_jwk["kid"] == key.kid
    assert isinstance(key.private_jwk["d"], str)
    assert not set(PRIVATE_MEMBERS) & set(key.public_jwk)
    if kty == "RSA":
        assert b64_int(key.public_jwk["n"]).bit_length() == 2048
        assert b64_int(key.public_jwk["e"]) == 65537


@pytest.mark.parametrize("alg", SIGNING_ALGS)
def test_kid_is_rfc7638_thumbprint(keys: dict[str, SigningKey], alg: str) -> None:
    key = keys[alg]
    assert key.kid == rfc7638_by_hand(key.public_jwk)
    assert key.kid == public_jwk_thumbprint(key.private_jwk)


def test_generated_keys_are_distinct() -> None:
    assert generate_signing_key("ES256").kid != generate_signing_key("ES256").kid


@pytest.mark.parametrize("alg", ["HS256", "none", "RS384", "ES384", "Ed25519", "rs256", ""])
def test_generate_unknown_alg_raises(alg: str) -> None:
    with pytest.raises(ValueError, match="unsupported signing alg"):
        generate_signing_key(alg)


@pytest.mark.parametrize("alg", SIGNING_ALGS)
def test_rebuild_from_stored_private_jwk(keys: dict[str, SigningKey], alg: str) -> None:
    stored = json.loads(json.dumps(dict(keys[alg].private_jwk)))
    stored["kid"] = "tampered"
    rebuilt = signing_key_from_private_jwk(stored, alg)
    assert rebuilt.kid == keys[alg].kid
    assert rebuilt.public_jwk == keys[alg].public_jwk
    assert rebuilt.private_jwk == keys[alg].private_jwk


@pytest.mark.parametrize(
    ("source_alg", "target_alg"),
    [("ES256", "RS256"), ("RS256", "ES256"), ("EdDSA", "ES256"), ("ES256", "EdDSA")],
)
def test_rebuild_with_a_key_of_the_wrong_type_raises(
    keys: dict[str, SigningKey], source_alg: str, target_alg: str
) -> None:
    with pytest.raises(ValueError, match="needs"):
        signing_key_from_private_jwk(keys[source_alg].private_jwk, target_alg)


@pytest.mark.parametrize("alg", SIGNING_ALGS)
def test_rebuild_from_a_public_jwk_raises(keys: dict[str, SigningKey], alg: str) -> None:
    with pytest.raises(ValueError, match="private"):
        signing_key_from_private_jwk(keys[alg].public_jwk, alg)


def test_rebuild_from_a_small_rsa_key_raises() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    numbers = rsa.generate_private_key(public_exponent=65537, key_size=1024).private_numbers()

    def enc(i: int) -> str:
        return (
            base64.urlsafe_b64encode(i.to_bytes((i.bit_length() + 7) // 8, "big"))
            .decode()
            .rstrip("=")
        )

    small = {
        "kty": "RSA",
        "n": enc(numbers.public_numbers.n),
        "e": enc(numbers.public_numbers.e),
        "d": enc(numbers.d),
    }
    with pytest.raises(ValueError, match="2048"):
        signing_key_from_private_jwk(small, "RS256")


def test_repr_never_shows_private_material(keys: dict[str, SigningKey]) -> None:
    for key in keys.values():
        assert key.private_jwk["d"] not in repr(key)
        assert key.kid in repr(key)


def test_signing_key_refuses_private_members_in_public_jwk(keys: dict[str, SigningKey]) -> None:
    key = keys["ES256"]
    with pytest.raises(ValueError, match="private members"):
        SigningKey(key.kid, key.alg, key.private_jwk, key.private_jwk)


def test_key_ring_signing_key_per_alg(keys: dict[str, SigningKey]) -> None:
    ring = KeyRing(list(keys.values()))
    for alg in SIGNING_ALGS:
        assert ring.signing_key(alg) is keys[alg]


def test_key_ring_without_key_for_alg_raises(keys: dict[str, SigningKey]) -> None:
    ring = KeyRing([keys["ES256"]], published=[keys["RS256"]])
    with pytest.raises(NoSigningKey, match="RS256"):
        ring.signing_key("RS256")  # published only: advertised, never used to sign
    with pytest.raises(NoSigningKey):
        ring.signing_key("HS256")
    assert issubclass(NoSigningKey, CryptoError)


def test_key_ring_algs_put_rs256_first(keys: dict[str, SigningKey]) -> None:
    ring = KeyRing([keys["EdDSA"], keys["ES256"], keys["RS256"]])
    assert ring.algs() == ("RS256", "ES256", "EdDSA")
    assert KeyRing([]).algs() == ()


def test_key_ring_refuses_two_current_keys_for_one_alg(keys: dict[str, SigningKey]) -> None:
    with pytest.raises(ValueError, match="two current"):
        KeyRing([keys["ES256"], generate_signing_key("ES256")])


def test_key_ring_refuses_unknown_alg(keys: dict[str, SigningKey]) -> None:
    key = keys["ES256"]
    odd = SigningKey(key.kid, "ES384", key.private_jwk, key.public_jwk)
    with pytest.raises(ValueError, match="unsupported signing alg"):
        KeyRing([odd])


def test_jwks_lists_current_and_published_public_keys(keys: dict[str, SigningKey]) -> None:
    retired = generate_signing_key("ES256")
    upcoming = generate_signing_key("RS256")
    ring = KeyRing([keys["RS256"], keys["ES256"]], published=[upcoming, retired, keys["RS256"]])
    jwks = ring.jwks()
    kids = [jwk["kid"] for jwk in jwks["keys"]]
    assert kids == [keys["RS256"].kid, keys["ES256"].kid, upcoming.kid, retired.kid]
    assert set(jwks) == {"keys"}
    assert json.loads(json.dumps(jwks)) == jwks


def test_jwks_never_contains_private_members(keys: dict[str, SigningKey]) -> None:
    ring = KeyRing(list(keys.values()), published=[generate_signing_key("PS256")])
    text = json.dumps(ring.jwks())
    for jwk in ring.jwks()["keys"]:
        assert not set(PRIVATE_MEMBERS) & set(jwk), jwk["kty"]
    for key in keys.values():
        assert key.private_jwk["d"] not in text


def test_jwks_filters_private_members_added_after_validation(keys: dict[str, SigningKey]) -> None:
    key = keys["ES256"]
    public = dict(key.public_jwk)
    late = SigningKey(key.kid, key.alg, key.private_jwk, public)
    public["d"] = key.private_jwk["d"]  # the mapping was mutable: SigningKey checked it too early
    jwks = KeyRing([late]).jwks()
    assert "d" not in jwks["keys"][0]
    assert "d" not in (KeyRing([late]).find_public(key.kid) or {})


def test_jwks_is_a_fresh_copy(keys: dict[str, SigningKey]) -> None:
    ring = KeyRing([keys["EdDSA"]])
    jwks = ring.jwks()
    jwks["keys"][0]["d"] = "oops"
    jwks["keys"].append({"kty": "oct"})
    assert ring.jwks() == {"keys": [dict(keys["EdDSA"].public_jwk)]}


def test_find_public(keys: dict[str, SigningKey]) -> None:
    retired = generate_signing_key("EdDSA")
    ring = KeyRing([keys["RS256"]], published=[retired])
    assert ring.find_public(keys["RS256"].kid) == keys["RS256"].public_jwk
    assert ring.find_public(retired.kid) == retired.public_jwk
    assert ring.find_public(keys["ES256"].kid) is None
    assert ring.find_public("") is None


def test_key_ring_refuses_two_keys_with_one_kid(keys: dict[str, SigningKey]) -> None:
    key = keys["RS256"]
    clash = SigningKey(key.kid, "RS256", keys["PS256"].private_jwk, keys["PS256"].public_jwk)
    with pytest.raises(ValueError, match="share the kid"):
        KeyRing([key], published=[clash])
