"""ID Token validation (OpenID Connect Core 1.0 §3.1.3.7, §3.2.2.11, §3.3.2.12, §3.3.3.7, §12.2).

Every check is a plain function over parsed values; the signature is verified by
:mod:`idgate.crypto.jwt` (the only JOSE user of idgate) with a key of the OP's JWK Set, or with
the client_secret for the HMAC algs (Core §10.1). A passed check is recorded as a :class:`Check`
in :attr:`IDToken.checks`, so an application can show what was verified (the demo app does).

What is checked, in order:

1. signature, with exactly the alg the client registered; ``none`` never (steps 6-8);
2. ``iss`` is the OP's issuer (step 2);
3. ``aud`` contains the client_id, and no audience the RP does not trust (step 3);
4. several audiences need ``azp`` (step 4); ``azp``, when present, is the client_id (step 5);
5. ``exp`` is not past and ``iat`` not in the future, with bounded clock skew (steps 9-10);
6. ``nonce`` is the one of the request (step 11);
7. ``auth_time`` is there and recent enough when ``max_age`` was asked (step 13);
8. ``c_hash`` binds the code (§3.3.2.11, required in the hybrid front channel), ``at_hash`` the
   access token (§3.1.3.8, §3.2.2.9; required for ``id_token token`` and
   ``code id_token token``), ``s_hash`` the state when present (FAPI 1.0 Part 2 §5.1).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from idgate.client.errors import (
    AudienceMismatch,
    AuthorizedPartyMismatch,
    AuthTimeError,
    HashMismatch,
    InvalidClaims,
    InvalidSignature,
    IssuedInTheFuture,
    IssuerMismatch,
    NonceMismatch,
    SubjectMismatch,
    TokenExpired,
)
from idgate.crypto.errors import InvalidJWT
from idgate.crypto.jwt import VerifiedJWT, verify_hmac_jwt, verify_jwt
from idgate.protocol.id_token import half_hash

__all__ = [
    "Check",
    "IDToken",
    "IDTokenExpectations",
    "check_refreshed_id_token",
    "check_same_end_user",
    "validate_id_token_claims",
    "verify_signature",
]

_HMAC_ALGS = frozenset({"HS256", "HS384", "HS512"})


@dataclass(frozen=True)
class Check:
    """One passed check: its name (a claim, or ``signature``) and what it established."""

    name: str
    detail: str


@dataclass(frozen=True)
class IDToken:
    """A validated ID Token: the compact JWS, its header, its claims, and the checks passed."""

    raw: str = field(repr=False)
    header: Mapping[str, Any]
    claims: Mapping[str, Any]
    checks: tuple[Check, ...] = ()

    @property
    def issuer(self) -> str:
        return str(self.claims["iss"])

    @property
    def subject(self) -> str:
        return str(self.claims["sub"])

    @property
    def audiences(self) -> tuple[str, ...]:
        return audiences_of(self.claims)

    @property
    def nonce(self) -> str | None:
        value = self.claims.get("nonce")
        return value if isinstance(value, str) else None

    @property
    def auth_time(self) -> int | None:
        value = self.claims.get("auth_time")
        return int(value) if isinstance(value, int | float) and _is_number(value) else None

    @property
    def sid(self) -> str | None:
        value = self.claims.get("sid")
        return value if isinstance(value, str) else None

    @property
    def expires_at(self) -> int:
        return int(self.claims["exp"])

    def check(self, name: str) -> Check | None:
        """The passed check called ``name`` (``"c_hash"``, ``"signature"``…), if it ran."""
        return next((c for c in self.checks if c.name == name), None)


@dataclass(frozen=True)
class IDTokenExpectations:
    """What the ID Token must say, from the request and the artifacts that came with it.

    - ``nonce``: the request's nonce. When set, the claim must equal it; it must also be
      present unless ``nonce_required`` is False (a refreshed ID Token may leave it out,
      Core §12.2).
    - ``code`` / ``access_token``: the artifacts that came with the token, for ``c_hash`` /
      ``at_hash``; the ``*_required`` flags make the claim mandatory.
    - ``state``: checked against ``s_hash`` when that claim is present.
    - ``trusted_audiences``: other audiences the RP accepts beside its client_id (step 3).
    """

    issuer: str
    client_id: str
    nonce: str | None = None
    nonce_required: bool = True
    max_age: int | None = None
    code: str | None = None
    c_hash_required: bool = False
    access_token: str | None = None
    at_hash_required: bool = False
    state: str | None = None
    trusted_audiences: frozenset[str] = frozenset()
    max_clock_skew: int = 60


def verify_signature(
    token: str, jwks: Mapping[str, Any], *, alg: str, client_secret: str | None = None
) -> tuple[VerifiedJWT, Check]:
    """Verify the JWS with exactly ``alg`` (Core §3.1.3.7 steps 6-8).

    Asymmetric algs use a key of ``jwks`` chosen by ``kid``; HS256/384/512 use the UTF-8
    octets of ``client_secret`` (Core §10.1). ``none`` is never accepted.
    """
    try:
        if alg in _HMAC_ALGS:
            if not client_secret:
                raise InvalidSignature(
                    f"{alg} tokens are verified with the client_secret, and there is none"
                )
            verified = verify_hmac_jwt(token, client_secret, algs=(alg,))
        else:
            verified = verify_jwt(token, jwks, algs=(alg,))
    except InvalidJWT as exc:
        raise InvalidSignature(f"the JWS does not verify: {exc}", claim="signature") from None
    kid = verified.header.get("kid")
    detail = f"{alg}" + (f", key {kid}" if isinstance(kid, str) else "")
    return verified, Check("signature", f"verified with {detail}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def audiences_of(claims: Mapping[str, Any]) -> tuple[str, ...]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return (aud,)
    if isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
        return tuple(aud)
    raise InvalidClaims("aud is missing or is not a string or an array of strings", claim="aud")


def require_types(
    claims: Mapping[str, Any], strings: Sequence[str], numbers: Sequence[str]
) -> None:
    """Required claims of the right JSON type (Core §2, RFC 7519 §4.1)."""
    for name in strings:
        if not isinstance(claims.get(name), str) or not claims[name]:
            raise InvalidClaims(f"the {name} claim is missing or not a string", claim=name)
    for name in numbers:
        if not _is_number(claims.get(name)):
            raise InvalidClaims(f"the {name} claim is missing or not a number", claim=name)


def check_issuer(claims: Mapping[str, Any], issuer: str) -> Check:
    """Core §3.1.3.7 step 2: ``iss`` exactly the OP's issuer identifier."""
    if claims["iss"] != issuer:
        raise IssuerMismatch(
            f"the token's iss is {claims['iss']!r}, not the OP's issuer {issuer!r}", claim="iss"
        )
    return Check("iss", f"is {issuer}")


def check_audience(
    claims: Mapping[str, Any], client_id: str, trusted: frozenset[str] = frozenset()
) -> list[Check]:
    """Core §3.1.3.7 steps 3-5: ``aud`` and ``azp``."""
    audiences = audiences_of(claims)
    if client_id not in audiences:
        raise AudienceMismatch(
            f"the token's aud {list(audiences)} does not contain this client_id {client_id!r}",
            claim="aud",
        )
    azp = claims.get("azp")
    if len(set(audiences)) > 1 and azp is None:
        raise AuthorizedPartyMismatch(
            "the token has several audiences and no azp claim (Core §3.1.3.7 step 4)", claim="azp"
        )
    untrusted = set(audiences) - {client_id} - trusted
    if untrusted:
        raise AudienceMismatch(
            f"the token has audiences this RP does not trust: {sorted(untrusted)}",
            claim="aud",
            hint="pass trusted_audiences to the RP if those parties are meant to share tokens",
        )
    checks = [Check("aud", f"contains {client_id}")]
    if azp is not None:
        if azp != client_id:
            raise AuthorizedPartyMismatch(
                f"the token's azp is {azp!r}, not this client_id {client_id!r}", claim="azp"
            )
        checks.append(Check("azp", f"is {client_id}"))
    return checks


def check_times(claims: Mapping[str, Any], now: int, skew: int) -> list[Check]:
    """Core §3.1.3.7 steps 9-10: ``exp`` not past, ``iat`` not in the future (± ``skew``)."""
    checks = []
    if "exp" in claims:
        exp = claims["exp"]
        if now >= exp + skew:
            raise TokenExpired(
                f"the token expired {int(now - exp)} s ago (allowed clock skew {skew} s)",
                claim="exp",
            )
        checks.append(Check("exp", f"{int(exp - now)} s from now"))
    iat = claims["iat"]
    if iat > now + skew:
        raise IssuedInTheFuture(
            f"the token was issued {int(iat - now)} s in the future (allowed clock skew {skew} s)",
            claim="iat",
        )
    checks.append(Check("iat", f"{int(now - iat)} s ago"))
    return checks


def _check_hash(
    claims: Mapping[str, Any], name: str, value: str | None, what: str, alg: str, required: bool
) -> Check | None:
    claimed = claims.get(name)
    if claimed is None:
        if required:
            raise HashMismatch(
                f"the ID Token has no {name}, which is required when it comes with {what}",
                claim=name,
            )
        return None
    if value is None:
        return None
    if not isinstance(claimed, str):
        raise InvalidClaims(f"{name} is not a string", claim=name)
    try:
        expected = half_hash(value, alg)
    except ValueError:
        raise HashMismatch(
            f"no hash is defined for alg {alg}, so {name} cannot be checked"
        ) from None
    if not _same(claimed, expected):
        raise HashMismatch(f"{name} does not match {what}", claim=name)
    return Check(name, f"matches {what}")


def validate_id_token_claims(
    verified: VerifiedJWT,
    raw: str,
    expect: IDTokenExpectations,
    *,
    now: int,
    signature: Check,
) -> IDToken:
    """Check the claims of a verified ID Token against ``expect`` (see the module doc)."""
    claims = verified.claims
    alg = str(verified.header["alg"])
    require_types(claims, ("iss", "sub"), ("exp", "iat"))
    checks: list[Check] = [signature, check_issuer(claims, expect.issuer)]
    checks.append(Check("sub", f"is {claims['sub']}"))
    checks += check_audience(claims, expect.client_id, expect.trusted_audiences)
    checks += check_times(claims, now, expect.max_clock_skew)

    nonce = claims.get("nonce")
    if expect.nonce is not None:
        if nonce is None and expect.nonce_required:
            raise NonceMismatch(
                "the ID Token has no nonce, but the request sent one", claim="nonce"
            )
        if nonce is not None:
            if not isinstance(nonce, str) or not _same(nonce, expect.nonce):
                raise NonceMismatch(
                    "the ID Token's nonce is not the one of this request (Core §3.1.3.7 step 11)",
                    claim="nonce",
                )
            checks.append(Check("nonce", "matches the request's nonce"))

    if "auth_time" in claims and not _is_number(claims["auth_time"]):
        raise InvalidClaims("auth_time is not a number", claim="auth_time")
    if expect.max_age is not None:
        auth_time = claims.get("auth_time")
        if auth_time is None:
            raise AuthTimeError(
                "the ID Token has no auth_time, though max_age was requested (Core §3.1.2.1)",
                claim="auth_time",
            )
        age = now - auth_time
        if age > expect.max_age + expect.max_clock_skew:
            raise AuthTimeError(
                f"the End-User authenticated {int(age)} s ago, more than max_age "
                f"{expect.max_age} s (Core §3.1.3.7 step 13)",
                claim="auth_time",
                hint="send the End-User to log in again (prompt=login)",
            )
        checks.append(Check("auth_time", f"{int(age)} s ago, within max_age {expect.max_age}"))

    for check in (
        _check_hash(claims, "c_hash", expect.code, "the code", alg, expect.c_hash_required),
        _check_hash(
            claims,
            "at_hash",
            expect.access_token,
            "the access token",
            alg,
            expect.at_hash_required,
        ),
        _check_hash(claims, "s_hash", expect.state, "the state", alg, False),
    ):
        if check is not None:
            checks.append(check)
    return IDToken(raw=raw, header=verified.header, claims=claims, checks=tuple(checks))


def check_same_end_user(front: IDToken, back: IDToken) -> Check:
    """Core §3.3.3.6: the token endpoint's ID Token has the same ``iss`` and ``sub`` as the
    authorization endpoint's, and the same ``nonce`` when both have one."""
    if front.issuer != back.issuer:
        raise IssuerMismatch(
            "the token endpoint's ID Token has another iss than the front channel's",
            claim="iss",
        )
    if not _same(front.subject, back.subject):
        raise SubjectMismatch(
            "the token endpoint's ID Token is about another End-User (sub) than the front "
            "channel's (Core §3.3.3.6)",
            claim="sub",
        )
    if front.nonce is not None and back.nonce is not None and not _same(front.nonce, back.nonce):
        raise NonceMismatch(
            "the token endpoint's ID Token has another nonce than the front channel's",
            claim="nonce",
        )
    return Check("same End-User", "iss and sub equal the front-channel ID Token's")


def check_refreshed_id_token(original: IDToken, refreshed: IDToken) -> Check:
    """Core §12.2: a refreshed ID Token keeps ``iss``, ``sub``, ``aud``, ``auth_time`` and
    ``azp`` of the ID Token of the original authentication."""
    if original.issuer != refreshed.issuer:
        raise IssuerMismatch("the refreshed ID Token has another iss (Core §12.2)", claim="iss")
    if not _same(original.subject, refreshed.subject):
        raise SubjectMismatch(
            "the refreshed ID Token is about another End-User (Core §12.2)", claim="sub"
        )
    if set(original.audiences) != set(refreshed.audiences):
        raise AudienceMismatch("the refreshed ID Token has another aud (Core §12.2)", claim="aud")
    if refreshed.auth_time is not None and refreshed.auth_time != original.auth_time:
        raise AuthTimeError(
            "the refreshed ID Token has another auth_time: it must keep the time of the "
            "original authentication (Core §12.2)",
            claim="auth_time",
        )
    if original.claims.get("azp") != refreshed.claims.get("azp"):
        raise AuthorizedPartyMismatch(
            "the refreshed ID Token has another azp (Core §12.2)", claim="azp"
        )
    return Check("same authentication", "iss, sub, aud, auth_time and azp are unchanged")
