"""JWS-signed JSON Web Tokens: the only module of idgate that imports the JOSE library (joserfc).

Signing (RFC 7515 §5.1, compact serialization §7.1) and verification (RFC 7515 §5.2) of JWTs
(RFC 7519 §7). Verification checks structure, ``alg`` and signature only; the claims (``exp``,
``aud``, ``iss``, ``nonce``…) are the caller's job (RFC 7519 §7.2 step 10, OIDC Core §3.1.3.7).

Parsed key objects are cached, since parsing a key costs far more than a signature:

- private keys by ``kid`` (our ``kid`` is the RFC 7638 thumbprint; the cached entry also
  remembers the private member ``d``, so a different key reusing a ``kid`` is never confused);
- public keys from a JWKS by their whole canonical JSON, never by ``kid`` alone: ``kid`` values
  come from clients and two clients may well both use ``"1"``.

The caches are bounded and can be lost at any time.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final, TypeVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc import jws
from joserfc.errors import JoseError, UnsupportedAlgorithmError
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import ECKey, JWKRegistry, Key, OctKey, OKPKey, RSAKey, thumbprint

from idgate import json_codec
from idgate.crypto.errors import CryptoError, InvalidJWT

if TYPE_CHECKING:
    from idgate.crypto.keys import SigningKey

__all__ = [
    "VerifiedJWT",
    "generate_private_jwk",
    "public_jwk_of",
    "public_jwk_thumbprint",
    "sign_hmac_jwt",
    "sign_jwt",
    "unsecured_jwt_claims",
    "unverified_claims",
    "unverified_header",
    "verify_hmac_jwt",
    "verify_jwt",
]

#: ``alg`` → (``kty``, allowed ``crv`` values or None) for asymmetric JWS algs (RFC 7518 §3.1,
#: RFC 8037 §3.1).
_ASYMMETRIC_ALGS: Final[Mapping[str, tuple[str, frozenset[str] | None]]] = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
    "ES256": ("EC", frozenset({"P-256"})),
    "ES384": ("EC", frozenset({"P-384"})),
    "ES512": ("EC", frozenset({"P-521"})),
    "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
}
#: HMAC ``alg`` → minimum key length in octets: the hash size (RFC 7518 §3.2, OIDC Core §16.19).
_HMAC_MIN_KEY_BYTES: Final[Mapping[str, int]] = {"HS256": 32, "HS384": 48, "HS512": 64}
#: RFC 7518 §3.3 and §3.5: RSA keys of 2048 bits or larger MUST be used.
_MIN_RSA_BITS: Final = 2048
#: JWK members that hold private key material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_KEY_TYPES: Final[Mapping[str, type[Key]]] = {
    "RSA": RSAKey,
    "EC": ECKey,
    "OKP": OKPKey,
}
_MAX_TOKEN_CHARS: Final = 131_072
_SEGMENT: Final = re.compile(r"[A-Za-z0-9_-]*")
_CACHE_SIZE: Final = 512

_V = TypeVar("_V")

_private_keys: dict[str, tuple[str, Key]] = {}
_public_keys: dict[str, Key] = {}


@dataclass(frozen=True)
class VerifiedJWT:
    """A JWT whose signature verified: its protected header and its claims (RFC 7519 §7.2)."""

    header: Mapping[str, Any]
    claims: Mapping[str, Any]


# --- signing ------------------------------------------------------------------------------------


def sign_jwt(claims: Mapping[str, Any], key: SigningKey, *, typ: str | None = "JWT") -> str:
    """Sign ``claims`` with ``key`` as a JWS compact serialization (RFC 7515 §7.1).

    The protected header carries ``alg``, ``kid`` and, unless ``typ`` is None, ``typ``
    (RFC 7515 §4.1.9; e.g. ``"at+jwt"`` per RFC 9068 §2.1, ``"logout+jwt"``).

    Our own signatures, on every ID Token and JWT access token, are made here with
    ``cryptography`` directly: the header is fixed per key and ``typ``, so it is encoded once,
    and joserfc's per-call header and key-operation checks (a tenth of a token response's
    cost, measured) guard nothing our own keys could get wrong. Verification of JWTs from
    others stays with joserfc.
    """
    signer = _signer(key)
    header = signer.headers.get(typ)
    if header is None:
        fields: dict[str, Any] = {"alg": key.alg, "kid": key.kid}
        if typ is not None:
            fields["typ"] = typ
        header = signer.headers[typ] = _b64encode(_json_bytes(fields)) + b"."
    signing_input = header + _b64encode(_json_bytes(dict(claims)))
    return (signing_input + b"." + _b64encode(signer.sign(signing_input))).decode("ascii")


def _json_bytes(value: Mapping[str, Any]) -> bytes:
    return json_codec.dumps(value)


def _b64encode(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@dataclass(frozen=True, slots=True)
class _Signer:
    """A private key ready to sign for one ``alg``, and its encoded headers by ``typ``."""

    d: str
    sign: Callable[[bytes], bytes]
    headers: dict[str | None, bytes]


_signers: dict[str, _Signer] = {}
_HASHES: Final[Mapping[str, type[hashes.HashAlgorithm]]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
# ECDSA signatures are R || S, each of the curve's size in octets (RFC 7518 §3.4).
_EC_OCTETS: Final[Mapping[str, int]] = {"ES256": 32, "ES384": 48, "ES512": 66}


def _signer(key: SigningKey) -> _Signer:
    d = str(key.private_jwk.get("d"))
    signer = _signers.get(key.kid)
    if signer is None or signer.d != d:
        signer = _Signer(d, _sign_function(key.alg, _private_key_object(key)), {})
        _remember(_signers, key.kid, signer)
    return signer


def _sign_function(alg: str, key: Key) -> Callable[[bytes], bytes]:
    """How ``alg`` signs with ``key`` (RFC 7518 §3.3-3.5, RFC 8037 §3.1); CryptoError when the
    key cannot make that alg's signatures."""
    native = key.private_key
    family, size = alg[:2], alg[2:]
    if family in ("RS", "PS") and isinstance(native, rsa.RSAPrivateKey) and size in _HASHES:
        digest = _HASHES[size]()
        pad: padding.AsymmetricPadding = (
            padding.PKCS1v15()
            if family == "RS"
            else padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
        )
        return lambda data: native.sign(data, pad, digest)
    if alg in _EC_OCTETS and isinstance(native, ec.EllipticCurvePrivateKey):
        octets = _EC_OCTETS[alg]
        if (native.curve.key_size + 7) // 8 != octets:
            raise CryptoError(f"cannot sign with alg {alg}: the key is on another curve")
        scheme = ec.ECDSA(_HASHES[alg[2:]]())

        def sign_ecdsa(data: bytes) -> bytes:
            r, s = decode_dss_signature(native.sign(data, scheme))
            return r.to_bytes(octets, "big") + s.to_bytes(octets, "big")

        return sign_ecdsa
    if alg == "EdDSA" and isinstance(native, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return native.sign
    raise CryptoError(f"cannot sign with alg {alg}: the key is of another type")


def sign_hmac_jwt(
    claims: Mapping[str, Any], secret: str, alg: str = "HS256", *, typ: str | None = "JWT"
) -> str:
    """Sign ``claims`` with HMAC using the UTF-8 octets of ``secret`` (OIDC Core §10.1).

    Used by clients of ``client_secret_jwt`` (OIDC Core §9). ``ValueError`` for an alg that is
    not HS256/384/512 or a secret shorter than the hash (RFC 7518 §3.2, OIDC Core §16.19).
    """
    if alg not in _HMAC_MIN_KEY_BYTES:
        raise ValueError(f"not an HMAC alg: {alg!r}")
    key = _oct_key(secret, alg)
    if key is None:
        raise ValueError(f"the secret is too short for {alg}, or is a public key")
    header: dict[str, Any] = {"alg": alg}
    if typ is not None:
        header["typ"] = typ
    return _serialize(header, claims, key)


def _serialize(header: dict[str, Any], claims: Mapping[str, Any], key: Key) -> str:
    payload = json.dumps(dict(claims), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        return jws.serialize_compact(
            header, payload.encode("utf-8"), key, registry=_registry((header["alg"],))
        )
    except (JoseError, ValueError) as exc:
        raise CryptoError(f"cannot sign with alg {header['alg']}: {type(exc).__name__}") from None


# --- verification -------------------------------------------------------------------------------


def verify_jwt(token: str, jwks: Mapping[str, Any], *, algs: Sequence[str]) -> VerifiedJWT:
    """Verify the signature of ``token`` with a key of the JWK Set ``jwks`` (RFC 7517 §5).

    The key is chosen by the header's ``kid`` when present, otherwise among the keys whose
    ``kty`` (and ``crv``) fit the ``alg``; keys marked for another ``use`` or ``alg`` are
    skipped (RFC 7517 §4.2, §4.4). Only the asymmetric algs named in ``algs`` are accepted:
    ``none`` and the HMAC algs never are (RFC 8725 §3.1, §3.2). Raises :class:`InvalidJWT`.
    """
    header = _verified_header(token, algs)
    alg = header["alg"]
    if alg not in _ASYMMETRIC_ALGS:
        raise InvalidJWT(f"alg {alg} is not accepted with a JWK Set")
    candidates = _candidate_jwks(jwks, alg, header.get("kid"))
    if not candidates:
        raise InvalidJWT("no key of the JWK Set fits the token's kid and alg")
    registry = _registry((alg,), strict_header=False)
    obj = _extract(token, registry)
    for jwk in candidates:
        key = _public_key_object(jwk)
        if key is not None and _validate(obj, key, registry):
            return VerifiedJWT(header=header, claims=_json_object(obj.payload, "payload"))
    raise InvalidJWT("signature does not verify")


def verify_hmac_jwt(token: str, secret: str, *, algs: Sequence[str] = ("HS256",)) -> VerifiedJWT:
    """Verify an HMAC-signed JWT with the UTF-8 octets of ``secret`` (OIDC Core §9, §10.1).

    Only HS256/384/512 named in ``algs`` are accepted. A secret shorter than the hash
    (RFC 7518 §3.2, OIDC Core §16.19) fails like a bad signature. Raises :class:`InvalidJWT`.
    """
    header = _verified_header(token, algs)
    alg = header["alg"]
    if alg not in _HMAC_MIN_KEY_BYTES:
        raise InvalidJWT(f"alg {alg} is not an HMAC alg")
    key = _oct_key(secret, alg)
    if key is None:
        raise InvalidJWT(f"the shared secret is too short for {alg}")
    registry = _registry((alg,), strict_header=False)
    obj = _extract(token, registry)
    if not _validate(obj, key, registry):
        raise InvalidJWT("signature does not verify")
    return VerifiedJWT(header=header, claims=_json_object(obj.payload, "payload"))


def unverified_header(token: str) -> Mapping[str, Any]:
    """The JOSE header of a compact JWS, NOT verified (RFC 7515 §5.2 steps 1-3).

    For choosing a key (``kid``, ``alg``) before verification. Raises :class:`InvalidJWT`.
    """
    return _json_object(_b64decode(_split(token)[0]), "header")


def unverified_claims(token: str) -> Mapping[str, Any]:
    """The claims of a compact JWS, NOT verified (e.g. to read ``iss`` before choosing keys).

    Raises :class:`InvalidJWT` when malformed (RFC 7519 §7.2 steps 1-10 without the signature).
    """
    segments = _split(token)
    _json_object(_b64decode(segments[0]), "header")
    return _json_object(_b64decode(segments[1]), "payload")


def unsecured_jwt_claims(token: str) -> Mapping[str, Any]:
    """The claims of an Unsecured JWT (RFC 7519 §6): header exactly ``alg: none``, no ``crit``,
    an empty signature. Only for request objects of clients that registered ``none``
    (OIDC Core §6.1); everything else refuses ``none``. Raises :class:`InvalidJWT`.
    """
    segments = _split(token)
    header = _json_object(_b64decode(segments[0]), "header")
    if header.get("alg") != "none" or "crit" in header or segments[2]:
        raise InvalidJWT("not an unsecured JWT")
    return _json_object(_b64decode(segments[1]), "payload")


def _verified_header(token: str, algs: Sequence[str]) -> dict[str, Any]:
    if isinstance(algs, str):
        raise TypeError("algs must be a sequence of alg names, not one string")
    header = _json_object(_b64decode(_split(token)[0]), "header")
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg:
        raise InvalidJWT("header has no alg")
    if alg.lower() == "none":
        raise InvalidJWT("alg none is never accepted")
    if alg not in algs:
        raise InvalidJWT(f"alg {alg} is not allowed here")
    if "kid" in header and not isinstance(header["kid"], str):
        raise InvalidJWT("kid is not a string")
    if "crit" in header:
        # RFC 7515 §4.1.11: we understand no extension, so any "crit" makes the JWS invalid.
        raise InvalidJWT("crit header extensions are not supported")
    if "b64" in header:
        # RFC 7797 §7: unencoded payloads are not for JWTs.
        raise InvalidJWT("b64 header is not allowed in a JWT")
    return header


def _candidate_jwks(jwks: Mapping[str, Any], alg: str, kid: str | None) -> list[Mapping[str, Any]]:
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list):
        return []
    kty, curves = _ASYMMETRIC_ALGS[alg]
    found: list[Mapping[str, Any]] = []
    for jwk in keys:
        if not isinstance(jwk, Mapping):
            continue
        if kid is not None and jwk.get("kid") != kid:
            continue
        if jwk.get("kty") != kty or (curves is not None and jwk.get("crv") not in curves):
            continue
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", alg) != alg:
            continue
        key_ops = jwk.get("key_ops")
        if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
            continue
        found.append(jwk)
    return found


def _extract(token: str, registry: jws.JWSRegistry) -> jws.CompactSignature:
    try:
        return jws.extract_compact(token.encode("ascii"), registry=registry)
    except (JoseError, ValueError, TypeError):
        raise InvalidJWT("malformed JWS") from None


def _validate(obj: jws.CompactSignature, key: Key, registry: jws.JWSRegistry) -> bool:
    try:
        return jws.validate_compact(obj, key, registry=registry)
    except (JoseError, ValueError, TypeError):
        return False


# --- parsing helpers ----------------------------------------------------------------------------


class _DuplicateMember(ValueError):
    pass


def _split(token: str) -> list[str]:
    if not isinstance(token, str):
        raise InvalidJWT("token is not a string")
    if len(token) > _MAX_TOKEN_CHARS:
        raise InvalidJWT("token is too large")
    segments = token.split(".")
    if len(segments) != 3:
        raise InvalidJWT("not a JWS compact serialization (RFC 7515 §7.1)")
    if not all(_SEGMENT.fullmatch(segment) for segment in segments):
        raise InvalidJWT("a segment is not base64url")
    return segments


def _b64decode(segment: str) -> bytes:
    """Base64url without padding (RFC 7515 §2); the caller checked the alphabet."""
    try:
        return base64.b64decode(segment + "=" * (-len(segment) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise InvalidJWT("a segment is not base64url") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _DuplicateMember
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(name)


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    """Parse a JSON object, rejecting duplicate member names (RFC 7515 §5.2, RFC 7519 §4)."""
    try:
        value = json.loads(
            data.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constants
        )
    except _DuplicateMember:
        raise InvalidJWT(f"{what} has duplicate member names") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidJWT(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidJWT(f"{what} is not a JSON object")
    return value


# --- keys ---------------------------------------------------------------------------------------


def public_jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 §3 JWK thumbprint (SHA-256, base64url) of a public or private JWK.

    Only the required public members of the key type take part (RFC 7638 §3.2), so a private
    JWK has the same thumbprint as its public half. ``ValueError`` for an unusable JWK.
    """
    kty = jwk.get("kty")
    key_class = JWKRegistry.key_types.get(kty) if isinstance(kty, str) else None
    if key_class is None:
        raise ValueError("unsupported or missing kty")
    members = [name for name, param in key_class.value_registry.items() if param.required]
    if not all(isinstance(jwk.get(name), str) for name in members):
        raise ValueError(f"JWK of kty {kty} lacks a required member")
    return thumbprint({"kty": kty, **{name: jwk[name] for name in members}})


def generate_private_jwk(kty: str, crv_or_size: str | int) -> dict[str, Any]:
    """Generate a private key and return its JWK key material (RFC 7517 §4, RFC 7518 §6).

    ``kty`` is ``RSA`` (with a size in bits), ``EC`` or ``OKP`` (with a curve name). The JWK has
    no ``kid``/``alg``/``use``: :mod:`idgate.crypto.keys` adds them.
    """
    key: Key
    if kty == "RSA" and isinstance(crv_or_size, int) and crv_or_size >= _MIN_RSA_BITS:
        key = RSAKey.generate_key(crv_or_size)
    elif kty == "EC" and crv_or_size in ("P-256", "P-384", "P-521"):
        key = ECKey.generate_key(str(crv_or_size))
    elif kty == "OKP" and crv_or_size == "Ed25519":
        key = OKPKey.generate_key("Ed25519")
    elif kty == "OKP" and crv_or_size == "Ed448":
        key = OKPKey.generate_key("Ed448")
    else:
        raise ValueError(f"cannot generate a {kty} signing key of {crv_or_size!r}")
    return dict(key.as_dict(private=True))


def public_jwk_of(private_jwk: Mapping[str, Any]) -> dict[str, Any]:
    """Parse a private signing JWK and return the key material of its public half.

    Raises ``ValueError`` when the JWK is not a usable private RSA (≥ 2048 bits), EC or OKP key.
    The parsed key is cached under its thumbprint, so the first signature costs no parse.
    """
    key = _import_private(private_jwk)
    material = _material(key.as_dict(private=False))
    _remember(_private_keys, public_jwk_thumbprint(material), (str(private_jwk["d"]), key))
    return material


def _material(jwk: Mapping[str, Any]) -> dict[str, Any]:
    """Only ``kty`` and the key-type members of a JWK (no kid, alg, use, key_ops…)."""
    key_class = _KEY_TYPES.get(jwk.get("kty", ""))
    if key_class is None:
        raise ValueError("unsupported or missing kty")
    return {
        name: value
        for name, value in jwk.items()
        if name == "kty" or name in key_class.value_registry
    }


def _rsa_modulus_ok(jwk: Mapping[str, Any]) -> bool:
    """False for an RSA JWK under 2048 bits, checked before joserfc parses (and warns about) it."""
    if jwk.get("kty") != "RSA":
        return True
    n = jwk.get("n")
    if not isinstance(n, str) or not _SEGMENT.fullmatch(n):
        return False
    try:
        modulus = int.from_bytes(_b64decode(n), "big")
    except InvalidJWT:
        return False
    return modulus.bit_length() >= _MIN_RSA_BITS


def _import_private(jwk: Mapping[str, Any]) -> Key:
    material = _material(jwk)
    if not isinstance(material.get("d"), str):
        raise ValueError("not a private JWK")
    if not _rsa_modulus_ok(material):
        raise ValueError("RSA keys must have at least 2048 bits (RFC 7518 §3.3)")
    try:
        key = JWKRegistry.import_key(material)
    except (JoseError, ValueError, TypeError):
        raise ValueError("the private JWK cannot be parsed") from None
    if not key.is_private:
        raise ValueError("not a private JWK")
    return key


def _private_key_object(signing_key: SigningKey) -> Key:
    d = str(signing_key.private_jwk.get("d"))
    entry = _private_keys.get(signing_key.kid)
    if entry is not None and entry[0] == d:
        return entry[1]
    key = _import_private(signing_key.private_jwk)
    _remember(_private_keys, signing_key.kid, (d, key))
    return key


def _public_key_object(jwk: Mapping[str, Any]) -> Key | None:
    """Parse (or find in the cache) the public key of a JWKS member; None when unusable."""
    try:
        public = {name: value for name, value in jwk.items() if name not in _PRIVATE_MEMBERS}
        material = _material(public)
        cache_key = json.dumps(material, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    cached = _public_keys.get(cache_key)
    if cached is not None:
        return cached
    if not _rsa_modulus_ok(material):
        return None
    try:
        key = JWKRegistry.import_key(material)
    except (JoseError, ValueError, TypeError):
        return None
    _remember(_public_keys, cache_key, key)
    return key


def _oct_key(secret: str, alg: str) -> OctKey | None:
    raw = secret.encode("utf-8")
    if len(raw) < _HMAC_MIN_KEY_BYTES[alg]:
        return None
    try:
        return OctKey.import_key(raw)
    except (JoseError, ValueError):
        # joserfc refuses secrets that parse as a public key (RFC 8725 §3.1 key confusion).
        return None


def _remember(cache: dict[str, _V], key: str, value: _V) -> None:
    while len(cache) >= _CACHE_SIZE:
        cache.pop(next(iter(cache)), None)
    cache[key] = value


# --- the joserfc registry -----------------------------------------------------------------------


class _Registry(jws.JWSRegistry):
    """A registry that allows exactly the given algs and never ``none``.

    It differs from joserfc's in one way: it does not emit joserfc's ``SecurityWarning`` for
    ``EdDSA`` on every call. RFC 9864 §2 deprecates that polymorphic name in favour of
    ``Ed25519``, but OpenID Connect deployments (and ``id_token_signing_alg_values_supported``
    of every RP library today) still use ``EdDSA``.
    """

    def get_alg(self, name: str) -> JWSAlgModel:
        if name == "none" or not self.allowed or name not in self.allowed:
            raise UnsupportedAlgorithmError(f"Algorithm of '{name}' is not allowed")
        if name not in self.algorithms:
            raise UnsupportedAlgorithmError(f"Algorithm of '{name}' is not supported")
        return self.algorithms[name]


@lru_cache(maxsize=64)
def _registry(algs: tuple[str, ...], *, strict_header: bool = True) -> _Registry:
    """A cached registry; ``strict_header=False`` ignores unknown header members (RFC 7515 §4)."""
    return _Registry(algorithms=algs, strict_check_header=strict_header)
