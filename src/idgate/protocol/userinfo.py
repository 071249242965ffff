"""The UserInfo endpoint (OpenID Connect Core 1.0 §5.3) as a protected resource (RFC 6750).

The steps, in order:

1. `extract_access_token` — the bearer token from the `Authorization` header (RFC 6750 §2.1)
   or the form body (§2.2), never both (§2: "MUST NOT use more than one method") and never
   from the query (§2.3 is a MAY that RFC 9700 §2.4 and SECURITY.md RES-01 rule out).
2. `check_access_token` — live, an access token, for an End-User, with `openid` (Core §5.3.1).
3. `userinfo_claims` — `sub` and the Claims the scopes and the `claims` parameter ask for.
4. `signed_userinfo_claims` — for clients that registered `userinfo_signed_response_alg`
   (Core §5.3.2): the same Claims plus `iss` and `aud`.

Errors are `InvalidRequest` (400), `InvalidToken` (401) and `InsufficientScope` (403); the
edge turns each into a `WWW-Authenticate: Bearer` challenge with `bearer_challenge`.

idgate's choices: a request without any bearer credentials (including one that tried another
scheme, e.g. Basic) is `NoAccessToken`, whose challenge carries no error code (RFC 6750
§3.1); a token without an End-User (`client_credentials`) is `invalid_token`, because no scope
could ever make it good for UserInfo; a token without `openid` is `insufficient_scope`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from idgate.protocol.claims import release_claims
from idgate.protocol.errors import (
    InsufficientScope,
    InvalidRequest,
    InvalidToken,
    OAuthError,
)
from idgate.protocol.scopes import OPENID

__all__ = [
    "MAX_ACCESS_TOKEN_LENGTH",
    "NoAccessToken",
    "bearer_challenge",
    "check_access_token",
    "extract_access_token",
    "signed_userinfo_claims",
    "userinfo_claims",
]

# Opaque access tokens are 43 characters; JWT access tokens (RFC 9068) about 1 KB with a
# 2048-bit RSA key, and under 2 KB with a 4096-bit one. Anything longer is not one of ours.
MAX_ACCESS_TOKEN_LENGTH: Final = 4096
# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN: Final = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# Claims the protocol sets (Core §5.3.2; RFC 7519 §4.1): never copied from an account.
_PROTOCOL_CLAIMS: Final = frozenset({"iss", "aud", "sub", "exp", "iat", "nbf", "jti"})


class NoAccessToken(InvalidToken):
    """The request carries no bearer token at all (RFC 6750 §3.1: a 401 whose challenge has no
    error code, since the client may simply not have known that it needs one)."""


def extract_access_token(
    authorization: str | None,
    body: Mapping[str, str] | None,
    query: Mapping[str, str],
) -> str:
    """The bearer token of a UserInfo request.

    `authorization` is the `Authorization` header, `body` the parameters of a form-encoded POST
    body (None when the request has none), `query` the query parameters. The web layer has
    refused repeated parameters and headers already.
    """
    if "access_token" in query:
        raise InvalidRequest("the access token must not be sent in the query")
    from_header = _from_header(authorization)
    # An empty parameter counts as absent (RFC 6749 §3.1, as everywhere in idgate).
    from_body = (body.get("access_token") or None) if body is not None else None
    if from_header is not None and from_body is not None:
        raise InvalidRequest("the access token must be sent in one way only")
    token = from_header if from_header is not None else from_body
    if token is None:
        raise NoAccessToken("an access token is required")
    if len(token) > MAX_ACCESS_TOKEN_LENGTH or _B64TOKEN.fullmatch(token) is None:
        raise InvalidToken("the access token is not valid")
    return token


def _from_header(authorization: str | None) -> str | None:
    """The credentials of a `Bearer` Authorization header; None for none or another scheme.

    The scheme is case-insensitive (RFC 9110 §11.1); `Bearer` without exactly one b64token
    after one space is malformed (RFC 6750 §3.1 invalid_request).
    """
    if authorization is None:
        return None
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    credentials = credentials.strip(" ")
    if not credentials or " " in credentials:
        raise InvalidRequest("the Authorization header is malformed")
    return credentials


def check_access_token(
    *,
    kind: str,
    subject: str | None,
    scopes: Iterable[str],
    expires_at: int,
    revoked_at: int | None,
    now: int,
) -> str:
    """The End-User's local subject if the stored token may call UserInfo (Core §5.3.1).

    Unknown tokens never get here (the provider raises `InvalidToken` for them); refresh tokens
    (SECURITY.md RES-02), expired and revoked tokens are `InvalidToken` with one description,
    so the answer does not tell which.
    """
    if kind != "access" or revoked_at is not None or now >= expires_at:
        raise InvalidToken("the access token is not valid")
    if subject is None:
        raise InvalidToken("the access token was not issued for an End-User")
    if OPENID not in set(scopes):
        raise InsufficientScope("the access token was not granted the openid scope")
    return subject


def userinfo_claims(
    account_claims: Mapping[str, Any],
    *,
    subject: str,
    scopes: Iterable[str],
    requested: Iterable[str] = (),
    locales: Sequence[str] = (),
) -> dict[str, Any]:
    """The UserInfo Response (Core §5.3.2): `sub`, then the Claims released by the granted
    `scopes` (§5.4) and by the `claims` parameter's `userinfo` member (§5.5), in the
    `claims_locales` where the account has them (§5.2).

    `subject` is the `sub` this client knows (public or pairwise, §8); it always equals the
    ID Token's. Claims the account lacks are left out, essential or not (§5.5.1). A requested
    `value` or `values` asks for a Claim, it does not filter: the account's own value is
    returned whatever was asked for, as only the OP knows the truth.
    """
    released = release_claims(account_claims, scopes=scopes, requested=requested, locales=locales)
    claims: dict[str, Any] = {"sub": subject}
    claims.update((k, v) for k, v in released.items() if k not in _PROTOCOL_CLAIMS)
    return claims


def signed_userinfo_claims(
    claims: Mapping[str, Any], *, issuer: str, client_id: str
) -> dict[str, Any]:
    """The payload of a signed UserInfo Response (Core §5.3.2): the Claims plus `iss` and
    `aud`. No `exp`, so it can never pass for an ID Token (Core §3.1.3.7 requires one)."""
    payload = {k: v for k, v in claims.items() if k not in _PROTOCOL_CLAIMS}
    payload.update(iss=issuer, sub=claims["sub"], aud=client_id)
    return payload


def bearer_challenge(error: OAuthError, *, realm: str) -> str:
    """The `WWW-Authenticate` value for a failed protected-resource request (RFC 6750 §3).

    `NoAccessToken` gets the bare challenge (§3.1); `InsufficientScope` names the scope it
    needs (§3). Descriptions are already limited to characters that need no escaping inside
    a quoted-string (`errors.safe_description`: no `"` and no `\\`).
    """
    parts = [f'realm="{realm}"']
    if not isinstance(error, NoAccessToken):
        parts.append(f'error="{error.error}"')
        if error.description:
            parts.append(f'error_description="{error.description}"')
        if isinstance(error, InsufficientScope):
            parts.append(f'scope="{OPENID}"')
    return "Bearer " + ", ".join(parts)
