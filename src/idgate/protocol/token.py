"""Token requests and responses (RFC 6749 §4.1.3, §4.4.2, §5.1, §6; OIDC Core §3.1.3, §12).

The steps after client authentication (`client_auth.py`), in order:

1. `parse_token_request` — which grant, with its parameters (RFC 6749 §4.1.3, §4.4.2, §6).
2. `check_grant_allowed` — the client is registered for that grant (RFC 6749 §5.2
   unauthorized_client).
3. Per grant: `check_code_redemption` for a redeemed code's bindings (RFC 6749 §4.1.3; RFC 7636
   §4.6), `narrow_scopes` for a refresh (RFC 6749 §6), `check_client_credentials_scopes` for
   client_credentials (RFC 6749 §4.4.2).
4. `refresh_allowed` and `token_response` — what to answer (RFC 6749 §5.1; OIDC Core §3.1.3.3).

Parameters sent without a value are treated as omitted (RFC 6749 §3.2); the web layer has
already refused repeated parameters. Descriptions never echo request values (SECURITY.md G7).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Literal, TypeAlias, get_args

from idgate.protocol.authorize import AuthorizationRequest
from idgate.protocol.clients import Client
from idgate.protocol.errors import (
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from idgate.protocol.pkce import PKCE_METHODS, PkceMethod, verify_code_verifier
from idgate.protocol.scopes import OFFLINE_ACCESS, OPENID

__all__ = [
    "GRANT_TYPES",
    "MAX_PARAMETER_LENGTH",
    "USER_ONLY_SCOPES",
    "AuthorizationCodeGrant",
    "ClientCredentialsGrant",
    "CodeGrantData",
    "GrantType",
    "RefreshTokenGrant",
    "TokenRequest",
    "check_client_credentials_scopes",
    "check_code_redemption",
    "check_grant_allowed",
    "narrow_scopes",
    "parse_token_request",
    "refresh_allowed",
    "token_response",
]

GrantType = Literal["authorization_code", "refresh_token", "client_credentials"]
GRANT_TYPES: Final[tuple[GrantType, ...]] = get_args(GrantType)

# Every value idgate reads is bounded; longer is refused, never truncated (SECURITY.md G10).
MAX_PARAMETER_LENGTH: Final = 4096
_READ_PARAMETERS: Final = (
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
)
# RFC 6749 §3.3: scope-token = 1*NQCHAR; NQCHAR = %x21 / %x23-5B / %x5D-7E.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
# Scope values that need an End-User (OIDC Core §3.1.2.1, §11): meaningless without one.
USER_ONLY_SCOPES: Final[frozenset[str]] = frozenset({OPENID, OFFLINE_ACCESS})
_FORMAT_VERSION: Final = 1  # of CodeGrantData.to_dict(), checked by from_dict()


# --- requests ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthorizationCodeGrant:
    """RFC 6749 §4.1.3; RFC 7636 §4.5 (`code_verifier`)."""

    grant_type: ClassVar[GrantType] = "authorization_code"
    code: str = field(repr=False)
    redirect_uri: str | None = None
    code_verifier: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class RefreshTokenGrant:
    """RFC 6749 §6. `scopes` is None when the request has no `scope` ("same as before")."""

    grant_type: ClassVar[GrantType] = "refresh_token"
    refresh_token: str = field(repr=False)
    scopes: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ClientCredentialsGrant:
    """RFC 6749 §4.4.2. `scopes` is empty when the request has no `scope`."""

    grant_type: ClassVar[GrantType] = "client_credentials"
    scopes: tuple[str, ...] = ()


TokenRequest: TypeAlias = AuthorizationCodeGrant | RefreshTokenGrant | ClientCredentialsGrant


def _param(form: Mapping[str, str], name: str) -> str | None:
    """RFC 6749 §3.2: a parameter sent without a value is treated as omitted."""
    value = form.get(name)
    return value if value else None


def _required(form: Mapping[str, str], name: str) -> str:
    value = _param(form, name)
    if value is None:
        raise InvalidRequest(f"{name} is required")
    return value


def _check_sizes(form: Mapping[str, str]) -> None:
    for name in _READ_PARAMETERS:
        value = form.get(name)
        if value is None:
            continue
        if len(value) > MAX_PARAMETER_LENGTH:
            raise InvalidRequest(f"{name} is too long")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates
            raise InvalidRequest(f"{name} is not valid text") from None


def _scopes(form: Mapping[str, str]) -> tuple[str, ...] | None:
    """RFC 6749 §3.3: space-delimited NQCHAR tokens, deduplicated, in request order.

    None when `scope` is absent or holds no token. A malformed token is `InvalidScope`
    (RFC 6749 §5.2: "invalid, unknown, malformed").
    """
    value = _param(form, "scope")
    if value is None:
        return None
    words = tuple(dict.fromkeys(w for w in value.split(" ") if w))
    if any(_SCOPE_TOKEN.fullmatch(w) is None for w in words):
        raise InvalidScope("scope is malformed")
    return words or None


def parse_token_request(form: Mapping[str, str]) -> TokenRequest:
    """Read the grant of a token request (RFC 6749 §4.1.3, §4.4.2, §6; §5.2 for the errors).

    Missing `grant_type`, `code` or `refresh_token` is `InvalidRequest`; a grant type idgate
    does not offer (`password`, `implicit`, any URN) is `UnsupportedGrantType` (SECURITY.md
    TOK-08); values over `MAX_PARAMETER_LENGTH` are `InvalidRequest`. Client authentication
    parameters are `client_auth.py`'s.
    """
    _check_sizes(form)
    grant_type = _required(form, "grant_type")
    if grant_type == "authorization_code":
        return AuthorizationCodeGrant(
            code=_required(form, "code"),
            redirect_uri=_param(form, "redirect_uri"),
            code_verifier=_param(form, "code_verifier"),
        )
    if grant_type == "refresh_token":
        return RefreshTokenGrant(
            refresh_token=_required(form, "refresh_token"), scopes=_scopes(form)
        )
    if grant_type == "client_credentials":
        return ClientCredentialsGrant(scopes=_scopes(form) or ())
    raise UnsupportedGrantType("grant_type is not supported")


def check_grant_allowed(grant: TokenRequest, client: Client) -> None:
    """The client must be registered for the grant type (RFC 6749 §5.2 unauthorized_client;
    OIDC Dynamic Client Registration §2 `grant_types`). client_credentials needs a client that
    can authenticate (RFC 6749 §4.4: "MUST only be used by confidential clients").
    """
    if grant.grant_type not in client.metadata.grant_types:
        raise UnauthorizedClient("the client is not registered for this grant_type")
    if isinstance(grant, ClientCredentialsGrant) and client.is_public:
        raise UnauthorizedClient("public clients cannot use client_credentials")


# --- authorization codes ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CodeGrantData:
    """What the authorization endpoint bound to a code, for its redemption (RFC 6749 §4.1.3).

    `redirect_uri` is the one of the authorization request (idgate always requires it there);
    `scopes` the granted ones; `nonce`, `auth_time`, `acr`, `amr` and `sid` go into the token
    endpoint's ID Token (OIDC Core §3.1.3.6, §2); `claims` is the `claims` request parameter as
    JSON (OIDC Core §5.5), None when absent; `claims_locales` the requested ones (§5.2). Times
    are seconds since the epoch. It round-trips through `to_dict()` / `from_dict()` as plain
    JSON.
    """

    client_id: str
    redirect_uri: str
    expires_at: int
    subject: str
    auth_time: int
    scopes: tuple[str, ...] = ()
    code_challenge: str | None = None
    code_challenge_method: PkceMethod | None = None
    nonce: str | None = None
    sid: str | None = None
    acr: str | None = None
    amr: tuple[str, ...] = ()
    claims: Mapping[str, Any] | None = None
    claims_locales: tuple[str, ...] = ()

    @classmethod
    def from_authorization(
        cls,
        request: AuthorizationRequest,
        *,
        subject: str,
        auth_time: int,
        expires_at: int,
        sid: str | None = None,
        acr: str | None = None,
        amr: tuple[str, ...] = (),
    ) -> CodeGrantData:
        """Bind what a validated authorization request and its sign-in decided to a code."""
        return cls(
            client_id=request.client_id,
            redirect_uri=request.redirect_uri,
            expires_at=expires_at,
            subject=subject,
            auth_time=auth_time,
            scopes=request.scopes,
            code_challenge=request.code_challenge,
            code_challenge_method=request.code_challenge_method,
            nonce=request.nonce,
            sid=sid,
            acr=acr,
            amr=amr,
            claims=request.claims.to_json() if request.claims is not None else None,
            claims_locales=request.claims_locales,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict; `from_dict` reads it back to an equal value."""
        return {
            "v": _FORMAT_VERSION,
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "expires_at": self.expires_at,
            "subject": self.subject,
            "auth_time": self.auth_time,
            "scopes": list(self.scopes),
            "code_challenge": self.code_challenge,
            "code_challenge_method": self.code_challenge_method,
            "nonce": self.nonce,
            "sid": self.sid,
            "acr": self.acr,
            "amr": list(self.amr),
            "claims": dict(self.claims) if self.claims is not None else None,
            "claims_locales": list(self.claims_locales),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> CodeGrantData:
        """Read back `to_dict()` output; raises ValueError for anything else (a storage fault,
        not a client error)."""
        if doc.get("v") != _FORMAT_VERSION:
            raise ValueError("unknown CodeGrantData format version")
        claims = doc.get("claims")
        if claims is not None and not isinstance(claims, dict):
            raise ValueError("claims must be an object")
        return cls(
            client_id=_get(doc, "client_id", str),
            redirect_uri=_get(doc, "redirect_uri", str),
            expires_at=_get(doc, "expires_at", int),
            subject=_get(doc, "subject", str),
            auth_time=_get(doc, "auth_time", int),
            scopes=_str_tuple(doc, "scopes"),
            code_challenge=_opt(doc, "code_challenge", str),
            code_challenge_method=_pkce_method(doc.get("code_challenge_method")),
            nonce=_opt(doc, "nonce", str),
            sid=_opt(doc, "sid", str),
            acr=_opt(doc, "acr", str),
            amr=_str_tuple(doc, "amr"),
            claims=claims,
            # Absent from codes issued before claims_locales was kept: none requested.
            claims_locales=_str_tuple(doc, "claims_locales") if "claims_locales" in doc else (),
        )


def _get(doc: Mapping[str, Any], name: str, kind: type[Any]) -> Any:
    value = doc.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"{name} must be of type {kind.__name__}")
    return value


def _opt(doc: Mapping[str, Any], name: str, kind: type[Any]) -> Any:
    return None if doc.get(name) is None else _get(doc, name, kind)


def _pkce_method(value: object) -> PkceMethod | None:
    if value is None:
        return None
    for method in PKCE_METHODS:
        if value == method:
            return method
    raise ValueError("code_challenge_method is not a PKCE method")


def _str_tuple(doc: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = doc.get(name)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name} must be a list of strings")
    return tuple(value)


def check_code_redemption(
    code_data: CodeGrantData, grant: AuthorizationCodeGrant, *, client_id: str, now: int
) -> None:
    """Check a redeemed code against the request (RFC 6749 §4.1.3; RFC 7636 §4.6).

    `client_id` is the authenticated client. Every failure is `InvalidGrant` (RFC 6749 §5.2:
    the grant "was issued to another client" or "does not match the redirection URI"):

    - issued to another client (SECURITY.md CODE-03);
    - expired: valid while `now < expires_at` (CODE-05);
    - `redirect_uri` absent or not identical, by plain string comparison (RFC 6749 §4.1.3;
      OIDC Core §3.1.3.2; CODE-04). An absent one is invalid_grant too, not invalid_request:
      idgate binds a redirect_uri to every code, so an absent one fails to match it, and
      the answer is the same whether it is missing or wrong;
    - PKCE: with a challenge bound, a verifier is required and must match (RFC 7636 §4.6;
      CODE-07, CODE-08); without one, a verifier is refused (RFC 9700 §4.8.2; CODE-09).
    """
    if code_data.client_id != client_id:
        raise InvalidGrant("the code was issued to another client")
    if now >= code_data.expires_at:
        raise InvalidGrant("the code has expired")
    if grant.redirect_uri != code_data.redirect_uri:  # None (absent) never matches
        raise InvalidGrant("redirect_uri must equal the one of the authorization request")
    _check_pkce(code_data, grant.code_verifier)


def _check_pkce(code_data: CodeGrantData, verifier: str | None) -> None:
    challenge, method = code_data.code_challenge, code_data.code_challenge_method
    if challenge is None:
        if verifier is not None:
            raise InvalidGrant("code_verifier sent for a code issued without code_challenge")
        return
    if verifier is None:
        raise InvalidGrant("code_verifier is required")
    # authorize.py always stores the method; a challenge without one is a corrupt record and
    # fails closed (never read as plain, never as S256).
    if method is None or not verify_code_verifier(verifier, challenge, method):
        raise InvalidGrant("code_verifier does not match the code_challenge")


# --- scopes -----------------------------------------------------------------------------------


def narrow_scopes(requested: tuple[str, ...] | None, granted: tuple[str, ...]) -> tuple[str, ...]:
    """The scope of a refreshed access token (RFC 6749 §6; OIDC Core §12.2).

    A refresh may narrow but never widen: any value not originally granted is `InvalidScope`
    (SECURITY.md RT-04). None, or empty, means "equal to the scope originally granted"
    (RFC 6749 §6, §3.2). The result is for the new access token only; the refresh token keeps
    `granted`.
    """
    if not requested:
        return granted
    allowed = set(granted)
    if any(scope not in allowed for scope in requested):
        raise InvalidScope("scope exceeds the scope originally granted")
    return tuple(dict.fromkeys(requested))


def check_client_credentials_scopes(
    requested: tuple[str, ...], allowed: str | None
) -> tuple[str, ...]:
    """The scope of a client_credentials access token (RFC 6749 §3.3, §4.4.2).

    `allowed` is the client's registered `scope` (space-separated), None for no restriction.
    `openid` and `offline_access` need an End-User (OIDC Core §3.1.2.1, §11) and are dropped
    silently (RFC 6749 §3.3 lets the server ignore requested scope); anything else outside
    `allowed` is `InvalidScope`. No scope requested means the registered scope (RFC 6749 §3.3:
    "a pre-defined default value"), or none without one.
    """
    if not requested:
        defaults = tuple(dict.fromkeys(allowed.split())) if allowed else ()
        return tuple(s for s in defaults if s not in USER_ONLY_SCOPES)
    wanted = tuple(s for s in dict.fromkeys(requested) if s not in USER_ONLY_SCOPES)
    if allowed is not None:
        permitted = set(allowed.split())
        if any(scope not in permitted for scope in wanted):
            raise InvalidScope("the client is not allowed to request this scope")
    return wanted


# --- responses --------------------------------------------------------------------------------


def refresh_allowed(
    client: Client, scopes: tuple[str, ...], *, grant_type: GrantType = "authorization_code"
) -> bool:
    """Whether to issue a refresh token with this response.

    The client must be registered for `refresh_token` (RFC 6749 §5.2, Registration §2); then a
    confidential client gets one always (RFC 6749 §1.5 leaves issuing to the server), a public
    client only with `offline_access` granted (OIDC Core §11: the End-User consented to access
    while absent; authorize.py keeps `offline_access` only with a code and consent). Never for
    client_credentials (RFC 6749 §4.4.3: "SHOULD NOT be included").
    """
    if grant_type == "client_credentials":
        return False
    if "refresh_token" not in client.metadata.grant_types:
        return False
    return OFFLINE_ACCESS in scopes or not client.is_public


def token_response(
    *,
    access_token: str,
    expires_in: int,
    scope: tuple[str, ...],
    id_token: str | None = None,
    refresh_token: str | None = None,
) -> dict[str, Any]:
    """The successful token response body (RFC 6749 §5.1; OIDC Core §3.1.3.3).

    `token_type` is `Bearer` (RFC 6750). `scope` is ALWAYS included when non-empty: RFC 6749
    §5.1 makes it optional only when identical to the request, and the server cannot always
    know what was requested (at the token endpoint of the code flow the request came earlier,
    and unsupported values were already dropped), so idgate states it every time. An empty
    scope is left out (scope = 1*scope-token, RFC 6749 §3.3). The web layer adds
    `Cache-Control: no-store` and `Pragma: no-cache` (SECURITY.md G5).
    """
    if expires_in <= 0:
        raise ValueError("expires_in must be positive")
    body: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": expires_in,
    }
    if scope:
        body["scope"] = " ".join(scope)
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    if id_token is not None:
        body["id_token"] = id_token
    return body
