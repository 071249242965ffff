"""Who is calling the token endpoint: client authentication (RFC 6749 §2.3; OIDC Core §9).

Three steps, in this order; signature checking sits between the last two and is the crypto
package's job:

1. `extract_client_credentials` — which method the request uses and the values it carries
   (RFC 6749 §2.3.1 Basic and form post, RFC 7521 §4.2 / RFC 7523 §2.2 JWT assertions, or
   only a `client_id` for public clients).
2. `check_method` — the method is the client's registered `token_endpoint_auth_method`
   (OIDC Dynamic Client Registration §2).
3. `validate_assertion_claims` — the claims of a verified client assertion (RFC 7523 §3,
   OIDC Core §9).

Error choices (RFC 6749 §5.2, RFC 7521 §4.2.1):

- Anything wrong with the credentials themselves (malformed Basic header, unsupported scheme
  or `client_assertion_type`, bad assertion claims, method mismatch, nothing identifying a
  client) is `InvalidClient`, with `basic=True` whenever an Authorization header was used.
- A request that is malformed as a whole is `InvalidRequest`: more than one method at once
  (RFC 6749 §2.3 "MUST NOT use more than one", §5.2 lists it under invalid_request; SECURITY.md
  TOK-02), a body `client_id` naming another client than the Basic user, and a missing half of
  the `client_assertion` / `client_assertion_type` pair (RFC 7521 §4.2 makes both REQUIRED;
  RFC 6749 §5.2: "missing a required parameter"). RFC 7521 §4.2.1 would answer
  invalid_client for several methods; idgate follows RFC 6749 §5.2, as node-oidc-provider does.

Parameters sent without a value are treated as omitted (RFC 6749 §3.2). Descriptions never
contain a secret, an assertion or any other request value (SECURITY.md G7, G9).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Literal, TypeAlias
from urllib.parse import unquote_plus

from idgate.protocol.clients import Client
from idgate.protocol.errors import InvalidClient, InvalidRequest

__all__ = [
    "JWT_BEARER_ASSERTION_TYPE",
    "AssertionRules",
    "AuthMethod",
    "ClientCredentials",
    "JwtAssertion",
    "PublicClient",
    "SecretBasic",
    "SecretPost",
    "assertion_client_id",
    "check_method",
    "extract_client_credentials",
    "parse_basic_header",
    "validate_assertion_claims",
]

AuthMethod = Literal[
    "client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"
]

# RFC 7523 §2.2.
JWT_BEARER_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

# Bounds on what idgate reads; over them the credentials are refused, never truncated.
MAX_CLIENT_ID_LENGTH: Final = 255
MAX_CLIENT_SECRET_LENGTH: Final = 512
MAX_ASSERTION_LENGTH: Final = 16 * 1024
MAX_JTI_LENGTH: Final = 255

# RFC 9110 §11.1: auth-scheme = token (case-insensitive), then 1*SP and the credentials.
_AUTHORIZATION = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: +(.*))?", re.S)
# RFC 4648 §4 with padding; canonical form is re-checked after decoding.
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# C0 controls and DEL: never part of a client_id or secret (RFC 6749 Appendix A.1, A.2 allow
# only VSCHAR; idgate also admits non-ASCII text, but nothing a database or log might choke on).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class SecretBasic:
    """client_secret_basic: HTTP Basic with the form-urlencoded id and secret (RFC 6749 §2.3.1)."""

    methods: ClassVar[frozenset[AuthMethod]] = frozenset({"client_secret_basic"})
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class SecretPost:
    """client_secret_post: `client_id` and `client_secret` in the body (RFC 6749 §2.3.1)."""

    methods: ClassVar[frozenset[AuthMethod]] = frozenset({"client_secret_post"})
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class JwtAssertion:
    """client_secret_jwt or private_key_jwt (OIDC Core §9; RFC 7523 §2.2).

    Which of the two is decided by the client's registered method; the JWT verification tells
    HMAC from asymmetric apart. `client_id` is the optional body parameter (RFC 7523 §3: the
    `sub` identifies the client); when present it must equal `sub` (`assertion_client_id`).
    """

    methods: ClassVar[frozenset[AuthMethod]] = frozenset({"client_secret_jwt", "private_key_jwt"})
    client_id: str | None
    assertion: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class PublicClient:
    """Method `none`: only `client_id` in the body (OIDC Core §9; RFC 6749 §2.1)."""

    methods: ClassVar[frozenset[AuthMethod]] = frozenset({"none"})
    client_id: str


ClientCredentials: TypeAlias = SecretBasic | SecretPost | JwtAssertion | PublicClient


def _param(form: Mapping[str, str], name: str) -> str | None:
    """RFC 6749 §3.2: a parameter sent without a value is treated as omitted."""
    value = form.get(name)
    return value if value else None


def _is_clean_text(value: str) -> bool:
    if _CONTROL.search(value) is not None:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def _check_client_id(client_id: str, *, basic: bool = False) -> str:
    if len(client_id) > MAX_CLIENT_ID_LENGTH or not _is_clean_text(client_id):
        raise InvalidClient("client_id is malformed", basic=basic)
    return client_id


def _check_secret(secret: str, *, basic: bool = False) -> str:
    if len(secret) > MAX_CLIENT_SECRET_LENGTH or not _is_clean_text(secret):
        raise InvalidClient("client_secret is malformed", basic=basic)
    return secret


def _form_decode(part: str) -> str:
    """application/x-www-form-urlencoded decoding (RFC 6749 Appendix B), strictly."""
    if _BAD_PERCENT.search(part) is not None:
        raise InvalidClient("malformed Basic credentials", basic=True)
    try:
        return unquote_plus(part, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise InvalidClient("malformed Basic credentials", basic=True) from None


# A client sends the same header with every request: its parse is kept (the parse only; the
# secret is still checked against the stored hash each time). Malformed headers raise, and
# raising is never cached.
@functools.lru_cache(maxsize=1024)
def parse_basic_header(authorization: str) -> SecretBasic:
    """Read `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).

    The base64 must be canonical RFC 4648 §4 with padding; the octets are UTF-8; the user-pass
    splits at the FIRST colon (RFC 7617 §2: the user-id cannot contain one, the password may);
    each part is then form-urlencoded-decoded, so `+` is a space and `%3A` a colon. Any other
    scheme, an empty user or an empty secret is `InvalidClient(basic=True)`.
    """
    match = _AUTHORIZATION.fullmatch(authorization.strip(" \t"))
    if match is None:
        raise InvalidClient("malformed Authorization header", basic=True)
    scheme, token = match.groups()
    if scheme.lower() != "basic":
        raise InvalidClient("only the Basic authentication scheme is supported", basic=True)
    if token is None or _BASE64.fullmatch(token) is None:
        raise InvalidClient("malformed Basic credentials", basic=True)
    try:
        raw = base64.b64decode(token, validate=True)
        user_pass = raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient("malformed Basic credentials", basic=True) from None
    if base64.b64encode(raw).decode("ascii") != token:
        raise InvalidClient("malformed Basic credentials", basic=True)  # non-canonical bits
    user, colon, password = user_pass.partition(":")
    if not colon:
        raise InvalidClient("malformed Basic credentials", basic=True)
    client_id, secret = _form_decode(user), _form_decode(password)
    if not client_id or not secret:
        raise InvalidClient("malformed Basic credentials", basic=True)
    return SecretBasic(_check_client_id(client_id, basic=True), _check_secret(secret, basic=True))


def extract_client_credentials(
    authorization: str | None, form: Mapping[str, str]
) -> ClientCredentials:
    """The credentials a token request carries, and so the method it uses (RFC 6749 §2.3).

    `authorization` is the Authorization header (None when absent); `form` the body. Using
    more than one method at once is `InvalidRequest` (RFC 6749 §2.3, §5.2); an Authorization
    header of any scheme counts as a method. Nothing identifying a client is `InvalidClient`.
    """
    client_id = _param(form, "client_id")
    secret = _param(form, "client_secret")
    assertion = _param(form, "client_assertion")
    assertion_type = _param(form, "client_assertion_type")
    uses_assertion = assertion is not None or assertion_type is not None
    used = (authorization is not None) + (secret is not None) + uses_assertion
    if used > 1:
        raise InvalidRequest("more than one client authentication method was used")

    if authorization is not None:
        credentials = parse_basic_header(authorization)
        if client_id is not None and client_id != credentials.client_id:
            raise InvalidRequest("client_id does not match the Authorization header")
        return credentials
    if uses_assertion:
        return _jwt_assertion(client_id, assertion, assertion_type)
    if client_id is None:
        raise InvalidClient("client authentication is required")
    if secret is not None:
        return SecretPost(_check_client_id(client_id), _check_secret(secret))
    return PublicClient(_check_client_id(client_id))


def _jwt_assertion(
    client_id: str | None, assertion: str | None, assertion_type: str | None
) -> JwtAssertion:
    """RFC 7521 §4.2: both parameters REQUIRED; the type is RFC 7523 §2.2's URN."""
    if assertion_type is None:
        raise InvalidRequest("client_assertion_type is required with client_assertion")
    if assertion is None:
        raise InvalidRequest("client_assertion is required with client_assertion_type")
    if assertion_type != JWT_BEARER_ASSERTION_TYPE:
        raise InvalidClient("client_assertion_type is not supported")
    if len(assertion) > MAX_ASSERTION_LENGTH:
        raise InvalidClient("client_assertion is too long")
    return JwtAssertion(_check_client_id(client_id) if client_id is not None else None, assertion)


def assertion_client_id(credentials: JwtAssertion) -> str:
    """The client an assertion claims to be, to look up its keys (RFC 7523 §3; OIDC Core §9).

    Reads `sub` from the UNVERIFIED payload of a JWS compact serialization; nothing else may
    be trusted before the signature is checked and `validate_assertion_claims` has run. A
    body `client_id` must name the same client (SECURITY.md TOK-04), else `InvalidClient`.
    """
    parts = credentials.assertion.split(".")
    if len(parts) != 3 or not all(p and _BASE64URL.fullmatch(p) for p in parts):
        raise InvalidClient("client_assertion is not a signed JWT")
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        # RFC 7519 §7.2: the payload is UTF-8 JSON (json.loads(bytes) would also take UTF-16).
        claims = json.loads(payload.decode("utf-8"), object_pairs_hook=_unique_members)
    # ValueError covers JSONDecodeError, UnicodeDecodeError and binascii.Error; RecursionError
    # is deeply nested JSON, which must be a 4xx like any other garbage (SECURITY.md G1).
    except (ValueError, RecursionError):
        raise InvalidClient("client_assertion is not a signed JWT") from None
    subject = claims.get("sub") if isinstance(claims, dict) else None
    if not isinstance(subject, str) or not subject:
        raise InvalidClient("client_assertion has no sub")
    if credentials.client_id is not None and credentials.client_id != subject:
        raise InvalidClient("client_id does not match the client_assertion sub")
    return _check_client_id(subject)


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """RFC 7519 §4: duplicate claim names are rejected, so no two parsers can disagree."""
    doc = dict(pairs)
    if len(doc) != len(pairs):
        raise ValueError("duplicate member names")
    return doc


def check_method(credentials: ClientCredentials, client: Client) -> None:
    """The request's method must be the client's registered `token_endpoint_auth_method`.

    OIDC Dynamic Client Registration §2; SECURITY.md TOK-01/TOK-02: a confidential client
    sending only its `client_id`, or a secret where an assertion is registered, is refused.
    `client` must be the client the credentials name.
    """
    basic = isinstance(credentials, SecretBasic)
    if credentials.client_id is not None and credentials.client_id != client.client_id:
        raise InvalidClient("the credentials are for another client", basic=basic)
    if client.metadata.token_endpoint_auth_method not in credentials.methods:
        raise InvalidClient("client authentication failed", basic=basic)


# --- assertion claims (RFC 7523 §3; OIDC Core §9) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class AssertionRules:
    """The operator's choices for client assertions.

    - `audiences`: accepted `aud` values, the token endpoint URL and the issuer (RFC 7523 §3
      item 3; OIDC Core §9 names the token endpoint; SECURITY.md TOK-04 accepts both).
    - `max_lifetime`: the longest `exp - now` accepted, seconds; long-lived assertions are
      refused because replay protection must keep every `jti` until `exp` (RFC 7523 §3 item 4,
      item 7).
    - `leeway`: clock tolerance for `exp`, `nbf`, `iat`, seconds.
    """

    audiences: frozenset[str]
    max_lifetime: int = 600
    leeway: int = 30

    def validate(self, claims: Mapping[str, Any], *, client_id: str, now: int) -> tuple[str, int]:
        """`validate_assertion_claims` with these rules."""
        return validate_assertion_claims(
            claims,
            client_id=client_id,
            audiences=self.audiences,
            now=now,
            max_lifetime=self.max_lifetime,
            leeway=self.leeway,
        )


def validate_assertion_claims(
    claims: Mapping[str, Any],
    *,
    client_id: str,
    audiences: Collection[str],
    now: int,
    max_lifetime: int = 600,
    leeway: int = 30,
) -> tuple[str, int]:
    """Check a verified client assertion's claims; return `(jti, exp)` for the replay cache.

    RFC 7523 §3 and OIDC Core §9: `iss` and `sub` are the client_id; `aud` names this server;
    `exp` is present and not past; `nbf` and `iat`, when present, are not in the future; `jti`
    is present. idgate adds: `exp - now` at most `max_lifetime` (plus leeway); `jti` a
    non-empty string of at most 255 characters; and an `aud` array may hold only accepted
    audiences, none foreign (SECURITY.md TOK-04; draft-ietf-oauth-rfc7523bis). `exp` is
    rounded up to whole seconds. The caller keys the replay cache on (client_id, jti) until
    `exp` plus leeway (SECURITY.md TOK-05). Every failure is `InvalidClient`
    (RFC 7521 §4.2.1).
    """
    for name in ("iss", "sub"):
        if name not in claims:
            raise InvalidClient(f"client_assertion has no {name}")
        if claims[name] != client_id:
            raise InvalidClient(f"client_assertion {name} is not the client_id")
    _check_audience(claims.get("aud"), audiences)
    exp = _numeric_date(claims, "exp")
    if exp is None:
        raise InvalidClient("client_assertion has no exp")
    if exp <= now - leeway:
        raise InvalidClient("client_assertion has expired")
    if exp - now > max_lifetime + leeway:
        raise InvalidClient("client_assertion lives too long")
    for name in ("nbf", "iat"):
        value = _numeric_date(claims, name)
        if value is not None and value > now + leeway:
            raise InvalidClient(f"client_assertion {name} is in the future")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise InvalidClient("client_assertion has no jti")
    if len(jti) > MAX_JTI_LENGTH or not _is_clean_text(jti):
        raise InvalidClient("client_assertion jti is malformed")
    return jti, math.ceil(exp)


def _check_audience(aud: object, audiences: Collection[str]) -> None:
    """RFC 7523 §3 item 3: a string or an array of strings; see `validate_assertion_claims`."""
    values = [aud] if isinstance(aud, str) else aud
    if (
        not isinstance(values, list)
        or not values
        or not all(isinstance(v, str) and v in audiences for v in values)
    ):
        raise InvalidClient("client_assertion aud is not this server")


def _numeric_date(claims: Mapping[str, Any], name: str) -> float | None:
    """RFC 7519 §2 NumericDate: a finite JSON number (booleans are not numbers)."""
    if name not in claims:
        return None
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidClient(f"client_assertion {name} is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidClient(f"client_assertion {name} is not a number")
    return value
