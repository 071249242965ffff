"""Client metadata: one validation for `idgate client add` and the registration endpoint.

OpenID Connect Dynamic Client Registration 1.0 §2, RFC 7591 §2. The result is a frozen
`ClientMetadata`; a registered client is a `Client` (metadata plus identity and secret hash).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from idgate.protocol.access_token import ACCESS_TOKEN_FORMATS, AccessTokenFormat
from idgate.protocol.errors import InvalidClientMetadata, InvalidRedirectUriMetadata
from idgate.protocol.logout import check_logout_uri
from idgate.protocol.registration import (
    MAX_URIS,
    ExtendedMetadata,
    check_uri_shape,
    extended_to_dict,
    parse_extended_metadata,
)
from idgate.protocol.subjects import SUBJECT_TYPES, check_sector_identifier_uri, sector_identifier

RESPONSE_TYPES = (
    "code",
    "id_token",
    "code id_token",
    "code token",
    "id_token token",
    "code id_token token",
    "none",
)
GRANT_TYPES = ("authorization_code", "implicit", "refresh_token", "client_credentials")
AUTH_METHODS = (
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
)
SIGNING_ALGS = ("RS256", "PS256", "ES256", "EdDSA")
SECRET_AUTH_METHODS = frozenset({"client_secret_basic", "client_secret_post", "client_secret_jwt"})


def normalize_response_type(value: str) -> str:
    """`token id_token` and `id_token token` are the same response type: sort the words."""
    return " ".join(sorted(value.split()))


def grant_types_for(response_type: str) -> set[str]:
    """The grant types a response type needs (Dynamic Client Registration 1.0 §2)."""
    words = set(response_type.split())
    needed = set()
    if "code" in words:
        needed.add("authorization_code")
    if words & {"id_token", "token"}:
        needed.add("implicit")
    return needed


@dataclass(frozen=True, slots=True)
class ClientMetadata:
    redirect_uris: tuple[str, ...] = ()
    response_types: tuple[str, ...] = ("code",)
    grant_types: tuple[str, ...] = ("authorization_code",)
    token_endpoint_auth_method: str = "client_secret_basic"
    application_type: str = "web"
    client_name: str | None = None
    id_token_signed_response_alg: str = "RS256"
    scope: str | None = None
    jwks: Mapping[str, Any] | None = None
    jwks_uri: str | None = None
    post_logout_redirect_uris: tuple[str, ...] = ()
    first_party: bool = False
    # May introspect every token, not only its own (RFC 7662 §4): set by the operator only.
    resource_server: bool = False
    # An idgate extension (protocol/access_token.py): "jwt" for RFC 9068 JWT access tokens.
    access_token_format: AccessTokenFormat = "opaque"
    # OpenID Connect Core §8, Registration 1.0 §2 (protocol/subjects.py).
    subject_type: str = "public"
    sector_identifier_uri: str | None = None
    # Registration 1.0 §2: None means an unsigned JSON UserInfo response.
    userinfo_signed_response_alg: str | None = None
    # Front-Channel Logout 1.0 §2 and Back-Channel Logout 1.0 §2.2 (protocol/logout.py).
    frontchannel_logout_uri: str | None = None
    frontchannel_logout_session_required: bool = False
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = False
    # client_uri, logo_uri, default_max_age, request_object_signing_alg, … (registration.py).
    more: ExtendedMetadata = field(default_factory=ExtendedMetadata)

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = extended_to_dict(self.more)
        doc.update(
            redirect_uris=list(self.redirect_uris),
            response_types=list(self.response_types),
            grant_types=list(self.grant_types),
            token_endpoint_auth_method=self.token_endpoint_auth_method,
            application_type=self.application_type,
            id_token_signed_response_alg=self.id_token_signed_response_alg,
            subject_type=self.subject_type,
        )
        optional = {
            "client_name": self.client_name,
            "scope": self.scope,
            "jwks": dict(self.jwks) if self.jwks is not None else None,
            "jwks_uri": self.jwks_uri,
            "sector_identifier_uri": self.sector_identifier_uri,
            "userinfo_signed_response_alg": self.userinfo_signed_response_alg,
            "frontchannel_logout_uri": self.frontchannel_logout_uri,
            "backchannel_logout_uri": self.backchannel_logout_uri,
        }
        doc.update({k: v for k, v in optional.items() if v is not None})
        if self.post_logout_redirect_uris:
            doc["post_logout_redirect_uris"] = list(self.post_logout_redirect_uris)
        if self.first_party:
            doc["first_party"] = True
        if self.resource_server:
            doc["resource_server"] = True
        if self.access_token_format != "opaque":
            doc["access_token_format"] = self.access_token_format
        if self.frontchannel_logout_uri is not None:
            doc["frontchannel_logout_session_required"] = self.frontchannel_logout_session_required
        if self.backchannel_logout_uri is not None:
            doc["backchannel_logout_session_required"] = self.backchannel_logout_session_required
        return doc


@dataclass(frozen=True, slots=True)
class Client:
    """A registered client. `secret_hash` is None for public and private_key_jwt clients."""

    client_id: str
    metadata: ClientMetadata
    secret_hash: str | None = None
    # Only for client_secret_jwt, which needs the secret itself (sealed at rest).
    secret_sealed: str | None = None
    created_at: int = 0

    @property
    def is_public(self) -> bool:
        return self.metadata.is_public


def _string_list(doc: Mapping[str, Any], name: str) -> tuple[str, ...] | None:
    value = doc.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidClientMetadata(f"{name} must be an array of non-empty strings")
    if len(value) > MAX_URIS:
        raise InvalidClientMetadata(f"{name} has too many entries")
    return tuple(dict.fromkeys(value))


def _optional_string(doc: Mapping[str, Any], name: str) -> str | None:
    value = doc.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidClientMetadata(f"{name} must be a non-empty string")
    return value


def _choice(doc: Mapping[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = doc.get(name, default)
    if value not in allowed:
        raise InvalidClientMetadata(f"{name} must be one of {', '.join(allowed)}")
    return str(value)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_redirect_uri(
    uri: str, *, application_type: str, uses_implicit: bool, field_name: str
) -> None:
    try:
        scheme, host = check_uri_shape(uri, field_name)
    except InvalidClientMetadata as exc:
        raise InvalidRedirectUriMetadata(exc.description) from None
    if application_type == "web":
        if scheme not in ("http", "https"):
            raise InvalidRedirectUriMetadata(
                f"{field_name}: web clients use http(s) URIs, not {scheme}"
            )
        if uses_implicit and (scheme != "https" or host == "localhost"):
            raise InvalidRedirectUriMetadata(
                f"{field_name}: web clients using implicit or hybrid response types must "
                "use https and not localhost"
            )
    elif scheme == "http" and not _is_loopback(host):
        # Native clients (RFC 8252 §7): custom schemes, claimed https, or loopback http only.
        raise InvalidRedirectUriMetadata(
            f"{field_name}: native clients may use http only on a loopback IP address"
        )


def parse_client_metadata(doc: Mapping[str, Any]) -> ClientMetadata:
    """Validate and default an RFC 7591 client metadata document."""
    if not isinstance(doc, Mapping):
        raise InvalidClientMetadata("client metadata must be a JSON object")

    application_type = _choice(doc, "application_type", ("web", "native"), "web")
    raw_types = _string_list(doc, "response_types")
    if raw_types is None:
        # RFC 7591 §2: the default is "code", unless the grant types say no redirects at all.
        declared = _string_list(doc, "grant_types")
        redirecting = {"authorization_code", "implicit"}
        raw_types = () if declared is not None and not redirecting & set(declared) else ("code",)
    response_types = tuple(dict.fromkeys(normalize_response_type(t) for t in raw_types))
    for rt in response_types:
        if rt not in RESPONSE_TYPES:
            raise InvalidClientMetadata(f"unsupported response type {rt!r}")

    needed_grants: set[str] = set()
    for rt in response_types:
        needed_grants |= grant_types_for(rt)
    grant_types = _string_list(doc, "grant_types")
    if grant_types is None:
        grant_types = tuple(
            g for g in GRANT_TYPES if g in (needed_grants or {"authorization_code"})
        )
    for gt in grant_types:
        if gt not in GRANT_TYPES:
            raise InvalidClientMetadata(f"unsupported grant type {gt!r}")
    missing = needed_grants - set(grant_types)
    if missing:
        raise InvalidClientMetadata(f"response_types need grant_types {', '.join(sorted(missing))}")

    auth_method = _choice(doc, "token_endpoint_auth_method", AUTH_METHODS, "client_secret_basic")
    if auth_method == "none" and "client_credentials" in grant_types:
        raise InvalidClientMetadata("public clients cannot use client_credentials")

    redirect_uris = _string_list(doc, "redirect_uris") or ()
    uses_redirects = bool({"authorization_code", "implicit"} & set(grant_types))
    if uses_redirects and not redirect_uris:
        raise InvalidRedirectUriMetadata("redirect_uris is required")
    uses_implicit = "implicit" in grant_types
    for uri in redirect_uris:
        _check_redirect_uri(
            uri,
            application_type=application_type,
            uses_implicit=uses_implicit,
            field_name="redirect_uris",
        )
    post_logout = _string_list(doc, "post_logout_redirect_uris") or ()
    for uri in post_logout:
        _check_redirect_uri(
            uri,
            application_type=application_type,
            uses_implicit=False,
            field_name="post_logout_redirect_uris",
        )

    jwks = doc.get("jwks")
    jwks_uri = _optional_string(doc, "jwks_uri")
    if jwks is not None and (
        not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list)
    ):
        raise InvalidClientMetadata("jwks must be a JWK Set with a keys array")
    if jwks is not None and jwks_uri is not None:
        raise InvalidClientMetadata("jwks and jwks_uri must not both be present")
    if jwks_uri is not None and check_uri_shape(jwks_uri, "jwks_uri")[0] != "https":
        raise InvalidClientMetadata("jwks_uri must be an https URL")
    if jwks is not None:
        _check_public_jwks(jwks)
    if auth_method == "private_key_jwt" and jwks is None and jwks_uri is None:
        raise InvalidClientMetadata("private_key_jwt needs jwks or jwks_uri")

    scope = _optional_string(doc, "scope")
    first_party = doc.get("first_party", False)
    if not isinstance(first_party, bool):
        raise InvalidClientMetadata("first_party must be a boolean")
    resource_server = doc.get("resource_server", False)
    if not isinstance(resource_server, bool):
        raise InvalidClientMetadata("resource_server must be a boolean")

    subject_type = _choice(doc, "subject_type", SUBJECT_TYPES, "public")
    sector_uri = _optional_string(doc, "sector_identifier_uri")
    if sector_uri is not None:
        check_sector_identifier_uri(sector_uri)  # its document is fetched by the provider
    if subject_type == "pairwise":
        sector_identifier(sector_uri, redirect_uris)  # Core §8.1: one sector, or refused
    userinfo_alg = doc.get("userinfo_signed_response_alg")
    if userinfo_alg is not None and userinfo_alg not in SIGNING_ALGS:
        raise InvalidClientMetadata(
            f"userinfo_signed_response_alg must be one of {', '.join(SIGNING_ALGS)}"
        )

    frontchannel_uri, frontchannel_sid = _logout_metadata(doc, "frontchannel")
    backchannel_uri, backchannel_sid = _logout_metadata(doc, "backchannel")

    more = parse_extended_metadata(doc, auth_method=auth_method)
    if more.request_object_signing_alg not in (None, "none") and jwks is None and jwks_uri is None:
        raise InvalidClientMetadata("request_object_signing_alg needs jwks or jwks_uri")
    return ClientMetadata(
        redirect_uris=redirect_uris,
        response_types=response_types,
        grant_types=grant_types,
        token_endpoint_auth_method=auth_method,
        application_type=application_type,
        client_name=_optional_string(doc, "client_name"),
        id_token_signed_response_alg=_choice(
            doc, "id_token_signed_response_alg", SIGNING_ALGS, "RS256"
        ),
        scope=scope,
        jwks=dict(jwks) if jwks is not None else None,
        jwks_uri=jwks_uri,
        post_logout_redirect_uris=post_logout,
        first_party=first_party,
        resource_server=resource_server,
        access_token_format=cast(
            AccessTokenFormat,
            _choice(doc, "access_token_format", ACCESS_TOKEN_FORMATS, "opaque"),
        ),
        subject_type=subject_type,
        sector_identifier_uri=sector_uri,
        userinfo_signed_response_alg=userinfo_alg,
        frontchannel_logout_uri=frontchannel_uri,
        frontchannel_logout_session_required=frontchannel_sid,
        backchannel_logout_uri=backchannel_uri,
        backchannel_logout_session_required=backchannel_sid,
        more=more,
    )


def _logout_metadata(doc: Mapping[str, Any], channel: str) -> tuple[str | None, bool]:
    """`{channel}_logout_uri` and `…_session_required` (FCL §2, BCL §2.2), checked."""
    uri = _optional_string(doc, f"{channel}_logout_uri")
    if uri is not None:
        check_logout_uri(uri, f"{channel}_logout_uri")
    required = doc.get(f"{channel}_logout_session_required")
    if required is None:
        required = False
    if not isinstance(required, bool):
        raise InvalidClientMetadata(f"{channel}_logout_session_required must be a boolean")
    return uri, required


# Private or symmetric key members (RFC 7518 §6.2.2, §6.3.2, §6.4.1): a client registers public
# keys only (SECURITY.md DCR-06).
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


def _check_public_jwks(jwks: Mapping[str, Any]) -> None:
    keys = jwks.get("keys")
    if not isinstance(keys, list) or not keys or len(keys) > MAX_URIS:
        raise InvalidClientMetadata("jwks must hold between 1 and 32 keys")
    for key in keys:
        if not isinstance(key, Mapping) or not isinstance(key.get("kty"), str):
            raise InvalidClientMetadata("every key in jwks must be a JWK with a kty")
        if _PRIVATE_MEMBERS & set(key):
            raise InvalidClientMetadata("jwks must hold public keys only")
