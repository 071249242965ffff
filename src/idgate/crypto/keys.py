"""Signing keys and the key ring that publishes them as a JWK Set.

A :class:`SigningKey` is one private key for one JWS ``alg`` (RS256 by default, as OIDC Core
§15.1 requires; PS256, ES256 and EdDSA besides). Its ``kid`` is the RFC 7638 JWK thumbprint of
its public key, so the same key always gets the same ``kid`` on every process.

A :class:`KeyRing` holds the *current* keys (at most one per alg, used to sign) and the
*published* ones: the next keys, announced ahead of use, and the retired keys, kept in the JWKS
until the tokens they signed have expired. Rotation (next → current → retired) is a new ring
built from storage; a ring itself never changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from idgate.crypto.errors import NoSigningKey
from idgate.crypto.jwt import generate_private_jwk, public_jwk_of, public_jwk_thumbprint

__all__ = [
    "SIGNING_ALGS",
    "KeyRing",
    "SigningKey",
    "generate_signing_key",
    "signing_key_from_private_jwk",
]

#: The JWS algs idgate signs with, in order of preference (RS256 first: OIDC Core §15.1).
SIGNING_ALGS: tuple[str, ...] = ("RS256", "PS256", "ES256", "EdDSA")

#: ``alg`` → (``kty``, curve name or RSA size in bits) of the keys we generate and accept
#: (RFC 7518 §3.1, §3.3, §3.4, §3.5; RFC 8037 §3.1).
_KEY_SHAPES: Final[Mapping[str, tuple[str, str | int]]] = {
    "RS256": ("RSA", 2048),
    "PS256": ("RSA", 2048),
    "ES256": ("EC", "P-256"),
    "EdDSA": ("OKP", "Ed25519"),
}
#: JWK members holding private key material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


@dataclass(frozen=True)
class SigningKey:
    """A private signing key for one ``alg``, with its public JWK (RFC 7517 §4).

    ``public_jwk`` carries ``kid``, ``alg`` and ``use: "sig"`` and no private member.
    ``private_jwk`` is left out of ``repr`` so that a key never ends up in a log line.
    """

    kid: str
    alg: str
    private_jwk: Mapping[str, Any] = field(repr=False)
    public_jwk: Mapping[str, Any]

    def __post_init__(self) -> None:
        leaked = _PRIVATE_MEMBERS.intersection(self.public_jwk)
        if leaked:
            raise ValueError(f"public_jwk holds private members: {sorted(leaked)}")


def generate_signing_key(alg: str) -> SigningKey:
    """Generate a new key for ``alg``: RSA 2048 for RS256/PS256, P-256 for ES256, Ed25519 for
    EdDSA (RFC 8037 §3.1). ``ValueError`` for any other alg."""
    kty, crv_or_size = _shape(alg)
    return signing_key_from_private_jwk(generate_private_jwk(kty, crv_or_size), alg)


def signing_key_from_private_jwk(jwk: Mapping[str, Any], alg: str) -> SigningKey:
    """Rebuild a :class:`SigningKey` from a stored private JWK.

    The public half and the ``kid`` (RFC 7638 thumbprint) are recomputed; any ``kid``, ``alg``
    or ``use`` in ``jwk`` is ignored. ``ValueError`` when ``alg`` is not one of
    :data:`SIGNING_ALGS` or the JWK is not a private key of the shape ``alg`` needs.
    """
    kty, crv_or_size = _shape(alg)
    if jwk.get("kty") != kty or (isinstance(crv_or_size, str) and jwk.get("crv") != crv_or_size):
        raise ValueError(
            f"{alg} needs a {kty} key" + (f" on {crv_or_size}" if kty != "RSA" else "")
        )
    public_material = public_jwk_of(jwk)
    kid = public_jwk_thumbprint(public_material)
    params = {"kid": kid, "alg": alg, "use": "sig"}
    private_material = {
        name: value
        for name, value in jwk.items()
        if name in public_material or name in _PRIVATE_MEMBERS
    }
    return SigningKey(
        kid=kid,
        alg=alg,
        private_jwk={**private_material, **params},
        public_jwk={**public_material, **params},
    )


def _shape(alg: str) -> tuple[str, str | int]:
    try:
        return _KEY_SHAPES[alg]
    except KeyError:
        raise ValueError(f"unsupported signing alg {alg!r}; use one of {SIGNING_ALGS}") from None


class KeyRing:
    """The signing keys of a provider at one moment (RFC 7517 §5 for the JWK Set).

    ``current`` holds at most one key per alg: the keys that sign. ``published`` holds further
    keys whose public half is still advertised (next and retired keys). A key present in both is
    listed once. ``ValueError`` for two current keys of one alg, an alg outside
    :data:`SIGNING_ALGS`, or two different keys with the same ``kid``.
    """

    __slots__ = ("_by_kid", "_current", "_jwks_keys")

    def __init__(self, current: Sequence[SigningKey], published: Sequence[SigningKey] = ()) -> None:
        self._current: dict[str, SigningKey] = {}
        for key in current:
            _shape(key.alg)
            if key.alg in self._current:
                raise ValueError(f"two current signing keys for {key.alg}")
            self._current[key.alg] = key
        self._by_kid: dict[str, Mapping[str, Any]] = {}
        for key in (*current, *published):
            _shape(key.alg)
            known = self._by_kid.get(key.kid)
            if known is not None:
                if known != key.public_jwk:
                    raise ValueError(f"two different keys share the kid {key.kid}")
                continue
            self._by_kid[key.kid] = {
                name: value
                for name, value in key.public_jwk.items()
                if name not in _PRIVATE_MEMBERS
            }
        self._jwks_keys = tuple(self._by_kid.values())

    def signing_key(self, alg: str) -> SigningKey:
        """The current key for ``alg``; :class:`NoSigningKey` when there is none."""
        try:
            return self._current[alg]
        except KeyError:
            raise NoSigningKey(f"no current signing key for {alg}") from None

    def algs(self) -> tuple[str, ...]:
        """The algs we can sign with, in the order of :data:`SIGNING_ALGS` (RS256 first)."""
        return tuple(alg for alg in SIGNING_ALGS if alg in self._current)

    def jwks(self) -> dict[str, Any]:
        """The JWK Set to publish at ``jwks_uri`` (OIDC Discovery §3): public keys only.

        A fresh copy every call, so callers may change it freely.
        """
        return {"keys": [dict(jwk) for jwk in self._jwks_keys]}

    def find_public(self, kid: str) -> Mapping[str, Any] | None:
        """The public JWK with this ``kid`` among current and published keys, or None."""
        return self._by_kid.get(kid)
