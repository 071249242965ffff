"""Request objects: pure rules (OpenID Connect Core 1.0 §6; RFC 9101; RFC 9126 §4).

The provider fetches (`request_uri`) and verifies the signature; this module says which
algorithm is acceptable for a client, checks the claims about the object itself, and turns the
object into authorization request parameters that then go through the ordinary validation
(protocol/authorize.py), so nothing inside a request object escapes it.

idgate's choices, where the specs leave one:
- the object's members take precedence over the query's (Core §6.3.3); `client_id` and
  `response_type` must agree with the outer ones when both are present (Core §6.1,
  SECURITY.md JWT-03);
- `iss` must be the client and `aud` must name the issuer when present; `exp` must not have
  passed; `nbf` must not lie in the future beyond the leeway (RFC 9101 §6.3, JWT-03);
- `none` is accepted only from a client that registered `request_object_signing_alg=none`;
  any other client needs a signature with its registered alg (or one we support when it
  registered none) (JWT-01, JWT-02);
- a `request_uri` must be one the client registered in `request_uris` (compared without the
  fragment, which only tells versions apart), at most 512 characters, unless it is a pushed
  request's reference (SSRF-06).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from idgate.protocol.authorize import READ_PARAMETERS
from idgate.protocol.clients import Client
from idgate.protocol.errors import InvalidRequest, InvalidRequestObject, InvalidRequestUri
from idgate.protocol.registration import (
    MAX_REQUEST_URI_LENGTH,
    REQUEST_OBJECT_ALGS,
    UNSIGNED,
)

MAX_REQUEST_OBJECT_BYTES: Final = 64 * 1024
# RFC 9126 §2.2: the reference a pushed request gets.
PUSHED_REQUEST_PREFIX: Final = "urn:ietf:params:oauth:request_uri:"
_LEEWAY: Final = 60
_NESTED: Final = frozenset({"request", "request_uri"})
# Members with a JSON value other than a string, written back the way the query carries them.
_JSON_MEMBERS: Final = frozenset({"claims"})
_INTEGER_MEMBERS: Final = frozenset({"max_age"})
# JWT claims about the object itself, not authorization request parameters.
_OBJECT_CLAIMS: Final = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti"})


def has_request_object(params: Mapping[str, str]) -> bool:
    return bool(params.get("request") or params.get("request_uri"))


def acceptable_algs(client: Client, header_alg: object) -> tuple[str, ...] | None:
    """The algs to verify with, or None when the object is to be read unsigned."""
    registered = client.metadata.more.request_object_signing_alg
    if header_alg == UNSIGNED:
        if registered != UNSIGNED:
            raise InvalidRequestObject("the request object must be signed")
        return None
    if registered == UNSIGNED:
        # A client that registered `none` says its objects are unsigned; anything else is odd.
        raise InvalidRequestObject("the request object's alg is not the registered one")
    if registered is not None:
        return (registered,)
    return REQUEST_OBJECT_ALGS


def check_request_uri(uri: str, client: Client) -> None:
    """Before any fetch: the reference must be short and registered (SSRF-06)."""
    if len(uri) > MAX_REQUEST_URI_LENGTH:
        raise InvalidRequestUri("request_uri is too long")
    registered = {u.partition("#")[0] for u in client.metadata.more.request_uris}
    if uri.partition("#")[0] not in registered:
        raise InvalidRequestUri("request_uri is not registered for this client")


def check_object_claims(
    claims: Mapping[str, Any], *, client_id: str, issuer: str, now: int, signed: bool
) -> None:
    """RFC 9101 §4, §6.3; RFC 7519 §4.1. Unsigned objects carry no assurance, so their
    `iss`/`aud` are not read."""
    if signed:
        if "iss" in claims and claims["iss"] != client_id:
            raise InvalidRequestObject("the request object's iss is not the client")
        if "aud" in claims:
            aud = claims["aud"]
            audiences = aud if isinstance(aud, list) else [aud]
            if issuer not in audiences:
                raise InvalidRequestObject("the request object's aud does not name this OP")
    exp = claims.get("exp")
    if exp is not None and (not _is_number(exp) or exp + _LEEWAY <= now):
        raise InvalidRequestObject("the request object has expired")
    nbf = claims.get("nbf")
    if nbf is not None and (not _is_number(nbf) or nbf - _LEEWAY > now):
        raise InvalidRequestObject("the request object is not valid yet")


def merge_parameters(
    outer: Mapping[str, str], claims: Mapping[str, Any], *, client_id: str
) -> dict[str, str]:
    """The parameters to validate: the outer ones, overridden by the object's (Core §6.3.3).

    The object's `client_id` and `response_type` must equal the outer ones (Core §6.1: they
    stay outside so the request can be understood without the object).
    """
    if _NESTED & set(claims):
        raise InvalidRequestObject("a request object cannot hold request or request_uri")
    inner_client = claims.get("client_id")
    if inner_client is not None and inner_client != client_id:
        raise InvalidRequest("client_id inside the request object differs from the request's")
    outer_type = outer.get("response_type")
    inner_type = claims.get("response_type")
    if inner_type is not None and outer_type and inner_type != outer_type:
        raise InvalidRequest("response_type inside the request object differs from the request's")
    merged = {k: v for k, v in outer.items() if k not in _NESTED}
    for name, value in claims.items():
        if name in _OBJECT_CLAIMS:
            continue
        parameter = _as_parameter(name, value)
        if parameter is not None:
            merged[name] = parameter
        elif name in READ_PARAMETERS or name in ("client_id", "redirect_uri"):
            raise InvalidRequestObject(f"{name} in the request object has the wrong type")
        # Other members of other types belong to extensions we ignore (RFC 6749 §3.1).
    return merged


def _as_parameter(name: str, value: object) -> str | None:
    if name in _JSON_MEMBERS and isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    if name in _INTEGER_MEMBERS and type(value) is int:
        return str(value)
    if isinstance(value, str):
        return value
    return None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
