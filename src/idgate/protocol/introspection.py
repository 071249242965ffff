"""Token introspection (RFC 7662) and revocation (RFC 7009) rules.

Who may see what: a client sees its own tokens; a client the operator marked as a resource
server sees every token. Anything else — unknown, expired, revoked, rotated out, or not the
caller's — is `{"active": false}` and nothing more (RFC 7662 §2.2, §4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from idgate.protocol.errors import InvalidRequest

TokenTypeHint = Literal["access_token", "refresh_token"]
INACTIVE: Mapping[str, Any] = {"active": False}
MAX_TOKEN_LENGTH = 16 * 1024


@dataclass(frozen=True, slots=True)
class TokenView:
    """What introspection may say about a stored token."""

    kind: Literal["access", "refresh"]
    client_id: str
    subject: str | None
    scope: str
    issued_at: int
    expires_at: int
    revoked: bool
    rotated: bool
    # The audience a JWT access token names (RFC 9068 §3); None for opaque tokens.
    audience: str | None = None


@dataclass(frozen=True, slots=True)
class TokenRequest:
    token: str
    hint: TokenTypeHint | None


def parse_token_parameter(form: Mapping[str, str]) -> TokenRequest:
    """`token` and the optional `token_type_hint` (RFC 7662 §2.1, RFC 7009 §2.1).

    An unknown hint is ignored: the server searches all its token types anyway (RFC 7009 §2.1
    allows `unsupported_token_type`, but honouring the hint only as a hint is simpler and safe).
    """
    token = form.get("token", "")
    if not token:
        raise InvalidRequest("token is required")
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidRequest("token is too long")
    hint = form.get("token_type_hint")
    return TokenRequest(token, hint if hint in ("access_token", "refresh_token") else None)  # type: ignore[arg-type]


def is_active(token: TokenView, *, now: int) -> bool:
    return not token.revoked and not token.rotated and token.expires_at > now


def may_see(token: TokenView, *, caller: str, caller_is_resource_server: bool) -> bool:
    return caller_is_resource_server or token.client_id == caller


def introspection_response(
    token: TokenView | None,
    *,
    caller: str,
    caller_is_resource_server: bool,
    now: int,
    issuer: str,
    subject: str | None = None,
) -> Mapping[str, Any]:
    """RFC 7662 §2.2. `subject` is the `sub` as the token's client knows it (pairwise)."""
    if token is None or not is_active(token, now=now):
        return INACTIVE
    if not may_see(token, caller=caller, caller_is_resource_server=caller_is_resource_server):
        return INACTIVE
    body: dict[str, Any] = {
        "active": True,
        "scope": token.scope,
        "client_id": token.client_id,
        "token_type": "Bearer" if token.kind == "access" else "refresh_token",
        "exp": token.expires_at,
        "iat": token.issued_at,
        "iss": issuer,
        "aud": token.audience or token.client_id,
    }
    if token.subject is not None:
        body["sub"] = subject or token.subject
    return body


def may_revoke(token: TokenView, *, caller: str) -> bool:
    """RFC 7009 §2.1: only the client the token was issued to may revoke it."""
    return token.client_id == caller
