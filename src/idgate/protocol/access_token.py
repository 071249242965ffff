"""JWT access tokens: what goes in them (RFC 9068 §2).

idgate issues opaque access tokens by default; a client registered with the idgate extension
`"access_token_format": "jwt"` gets JWTs instead. Either kind is stored only as a hash, so
introspection, revocation, UserInfo and family revocation treat both alike. Signing happens in
the crypto layer; this module only says what goes in the header's `typ` and in the payload.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

AccessTokenFormat = Literal["opaque", "jwt"]
ACCESS_TOKEN_FORMATS: Final[tuple[AccessTokenFormat, ...]] = ("opaque", "jwt")
#: RFC 9068 §2.1: the media type of the JOSE header, so a JWT access token is never taken for
#: an ID Token or a Logout Token (and the reverse; RFC 8725 §3.11).
ACCESS_TOKEN_TYP: Final = "at+jwt"
#: RFC 9068 §2.1 and §4: resource servers MUST support RS256, so every JWT access token uses
#: it, whatever a client chose for its ID Tokens. idgate always keeps a current RS256 key.
ACCESS_TOKEN_ALG: Final = "RS256"


@dataclass(frozen=True, slots=True)
class Authentication:
    """How the End-User authenticated, when known (RFC 9068 §2.2.1; OIDC Core §2)."""

    auth_time: int | None = None
    acr: str | None = None
    amr: tuple[str, ...] = ()

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> Authentication:
        """From the context kept with a code or refresh token; malformed members are dropped."""
        auth_time = context.get("auth_time")
        acr = context.get("acr")
        amr = context.get("amr")
        return cls(
            auth_time=auth_time if isinstance(auth_time, int) else None,
            acr=acr if isinstance(acr, str) and acr else None,
            amr=tuple(v for v in amr if isinstance(v, str)) if isinstance(amr, list) else (),
        )


def jwt_access_token_claims(
    *,
    issuer: str,
    audience: str,
    subject: str,
    client_id: str,
    issued_at: int,
    expires_at: int,
    jti: str,
    scopes: Sequence[str],
    authentication: Authentication | None = None,
) -> dict[str, Any]:
    """The payload of a JWT access token (RFC 9068 §2.2).

    `subject` is the End-User's `sub` as this client knows it (public or pairwise, so a JWT
    the client can read tells it nothing an ID Token would not), or the `client_id` when no
    End-User is involved (client_credentials, §2.2). `scope` is left out when empty (§2.2.3).
    """
    claims: dict[str, Any] = {
        "iss": issuer,
        "exp": expires_at,
        "aud": audience,
        "sub": subject,
        "client_id": client_id,
        "iat": issued_at,
        "jti": jti,
    }
    if scopes:
        claims["scope"] = " ".join(scopes)
    if authentication is not None:
        if authentication.auth_time is not None:
            claims["auth_time"] = authentication.auth_time
        if authentication.acr is not None:
            claims["acr"] = authentication.acr
        if authentication.amr:
            claims["amr"] = list(authentication.amr)
    return claims
