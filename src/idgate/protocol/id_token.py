"""ID Token claims (OpenID Connect Core 1.0 §2) and the hash claims that bind it to artifacts.

`at_hash` (Core §3.1.3.6, §3.2.2.9, §3.3.2.11), `c_hash` (Core §3.3.2.11) and `s_hash` (FAPI 1.0
Part 2 §5.1) are half hashes. Signing happens in the crypto layer; this module only says what
goes in the payload.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

# Claims that the protocol owns: registered JWT claims (RFC 7519 §4.1) and those of Core §2,
# §3.1.3.6, §3.3.2.11 and FAPI s_hash. `extra_claims` can neither set nor override them.
PROTOCOL_CLAIMS: Final[frozenset[str]] = frozenset(
    {
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nbf",
        "jti",
        "auth_time",
        "nonce",
        "acr",
        "amr",
        "azp",
        "sid",
        "at_hash",
        "c_hash",
        "s_hash",
    }
)


# RFC 7518 §3.1 names the SHA-2 size in the alg; ES256K (RFC 8812 §3.2) uses SHA-256.
_SHA2_ALG: Final = re.compile(r"(?:HS|RS|PS|ES)(256|384|512)")


def _hash_for(alg: str) -> str:
    """The hash of the JWS `alg` (RFC 7518 §3.1), as Core §3.1.3.6 requires.

    EdDSA leaves the hash to the curve (RFC 8037 §3.1). idgate signs EdDSA with Ed25519 only,
    whose hash is SHA-512 (RFC 8032 §5.1), as the OpenID Connect WG settled (connect issue
    #1125; OpenID Connect Token Hash Algorithms 1.0). Ed448 (SHAKE256) is not supported.
    """
    if alg in ("EdDSA", "Ed25519"):
        return "sha512"
    if alg == "ES256K":
        return "sha256"
    match = _SHA2_ALG.fullmatch(alg)
    if match is None:
        raise ValueError(f"no hash algorithm is defined for alg {alg!r}")
    return f"sha{match.group(1)}"


def half_hash(value: str, alg: str) -> str:
    """base64url(left half of hash(ASCII(value))), unpadded: at_hash, c_hash, s_hash.

    Codes and tokens are ASCII. A non-ASCII `state` (for s_hash) is hashed as its UTF-8
    octets, the superset of ASCII other implementations use too, rather than failing.
    """
    digest = hashlib.new(_hash_for(alg), value.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class IdTokenContext:
    """Who authenticated, when and how, for which client (Core §2).

    `issued_at` and `auth_time` are seconds since the epoch; `lifetime` is in seconds.
    `extra_claims` are End-User claims to include (e.g. for response_type=id_token, Core
    §5.4); they never replace a protocol claim.
    """

    issuer: str
    subject: str
    client_id: str
    auth_time: int
    issued_at: int
    lifetime: int
    nonce: str | None = None
    acr: str | None = None
    amr: tuple[str, ...] = ()
    sid: str | None = None
    extra_claims: Mapping[str, Any] = field(default_factory=dict)


def id_token_claims(
    ctx: IdTokenContext,
    *,
    alg: str,
    code: str | None = None,
    access_token: str | None = None,
    state: str | None = None,
    include_s_hash: bool = False,
) -> dict[str, Any]:
    """The ID Token payload (Core §2), with the hash claims for the artifacts it travels with.

    `aud` is the client_id as a string and `azp` repeats it (Core §2 allows azp with a single
    audience; RPs that require it find it). `auth_time` is always present, so `max_age` and
    `auth_time` requests (Core §3.1.2.1, §5.5.1.1) need no special case.
    """
    claims: dict[str, Any] = {
        name: value for name, value in ctx.extra_claims.items() if name not in PROTOCOL_CLAIMS
    }
    claims.update(
        iss=ctx.issuer,
        sub=ctx.subject,
        aud=ctx.client_id,
        exp=ctx.issued_at + ctx.lifetime,
        iat=ctx.issued_at,
        auth_time=ctx.auth_time,
        azp=ctx.client_id,
    )
    if ctx.nonce is not None:
        claims["nonce"] = ctx.nonce
    if ctx.acr is not None:
        claims["acr"] = ctx.acr
    if ctx.amr:
        claims["amr"] = list(ctx.amr)
    if ctx.sid is not None:
        claims["sid"] = ctx.sid
    if code is not None:
        claims["c_hash"] = half_hash(code, alg)  # Core §3.3.2.11
    if access_token is not None:
        claims["at_hash"] = half_hash(access_token, alg)  # Core §3.1.3.6, §3.2.2.9
    if include_s_hash and state is not None:
        claims["s_hash"] = half_hash(state, alg)  # FAPI 1.0 Part 2 §5.1
    return claims
