"""Pure rules for client metadata beyond the redirect URIs (OpenID Connect Dynamic Client
Registration 1.0 §2, RFC 7591 §2, RFC 9101 §10.5, RFC 9126 §6) and for the client
configuration endpoint (RFC 7592 §2).

`parse_client_metadata` (protocol/clients.py) calls these; every failure raises
`InvalidClientMetadata` with a description that never echoes the offending value raw.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from idgate.protocol.errors import InvalidClientMetadata

# Algorithms a client may sign its request objects with (Registration 1.0 §2
# request_object_signing_alg). `none` is accepted only when a client registers it explicitly.
REQUEST_OBJECT_ALGS: Final = ("RS256", "PS256", "ES256", "EdDSA")
UNSIGNED = "none"
# token_endpoint_auth_signing_alg per method (Registration 1.0 §2; never `none`).
ASSERTION_ALGS: Final[Mapping[str, tuple[str, ...]]] = {
    "private_key_jwt": ("RS256", "PS256", "ES256", "EdDSA"),
    "client_secret_jwt": ("HS256", "HS384", "HS512"),
}
# Bounds that keep one registration cheap to store and to check (SECURITY.md DCR-11).
MAX_URIS: Final = 32
MAX_URI_LENGTH: Final = 2048
# OIDC Core §6.2 and SECURITY.md SSRF-06: a request_uri is at most 512 ASCII characters.
MAX_REQUEST_URI_LENGTH: Final = 512
MAX_CONTACTS: Final = 16
MAX_TEXT_LENGTH: Final = 512
MAX_AGE_LIMIT: Final = 10 * 365 * 24 * 3600
# Schemes that run code or read local data where a browser or the OP would follow them
# (RFC 7591 §5; SECURITY.md DCR-02), refused whatever the application type.
DANGEROUS_SCHEMES: Final = frozenset({"javascript", "data", "vbscript", "file", "blob"})
_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
# Whitespace, controls and the characters a wildcard or a lax parser would act on.
_UNSAFE_CHARS: Final = re.compile(r"[\x00-\x20\x7f\\*<>\"{}|^`]")
# A contact is an e-mail address (Registration 1.0 §2); kept plain.
_CONTACT: Final = re.compile(r"[^@\s<>\"]{1,64}@[^@\s<>\"]{1,255}")
# Members only the server sets; a client sending them has them ignored (RFC 7591 §3.2.1,
# RFC 7592 §2.2).
SERVER_ASSIGNED: Final = frozenset(
    {
        "client_id",
        "client_secret",
        "client_id_issued_at",
        "client_secret_expires_at",
        "registration_access_token",
        "registration_client_uri",
    }
)


def check_uri_shape(uri: str, field_name: str) -> tuple[str, str]:
    """An absolute URI without whitespace, wildcards, a dangerous scheme, userinfo or a
    fragment: (scheme lower-cased, host). Raises InvalidClientMetadata.

    Callers that need `invalid_redirect_uri` catch and re-raise; the message names the field
    only, never the value (SECURITY.md DCR-09).
    """
    if len(uri) > MAX_URI_LENGTH:
        raise InvalidClientMetadata(f"{field_name}: a URI is too long")
    if _UNSAFE_CHARS.search(uri):
        raise InvalidClientMetadata(f"{field_name}: a URI has whitespace or unsafe characters")
    scheme, sep, _rest = uri.partition(":")
    if not sep or not _SCHEME.fullmatch(scheme):
        raise InvalidClientMetadata(f"{field_name}: a URI is not absolute")
    scheme = scheme.lower()
    if scheme in DANGEROUS_SCHEMES:
        raise InvalidClientMetadata(f"{field_name}: the {scheme} scheme is not allowed")
    if "#" in uri:
        raise InvalidClientMetadata(f"{field_name}: a URI must not contain a fragment")
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        raise InvalidClientMetadata(f"{field_name}: a URI is malformed") from None
    if scheme in ("http", "https") and not host:
        raise InvalidClientMetadata(f"{field_name}: a URI has no host")
    if "@" in parts.netloc:
        raise InvalidClientMetadata(f"{field_name}: a URI must not contain userinfo")
    return scheme, host


def https_url(doc: Mapping[str, Any], name: str) -> str | None:
    """An optional https URL member (logo_uri, tos_uri, initiate_login_uri, …)."""
    value = doc.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidClientMetadata(f"{name} must be a non-empty string")
    scheme, _host = check_uri_shape(value, name)
    if scheme != "https":
        raise InvalidClientMetadata(f"{name} must be an https URL")
    return value


def _text(doc: Mapping[str, Any], name: str) -> str | None:
    value = doc.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT_LENGTH:
        raise InvalidClientMetadata(f"{name} must be a non-empty string of at most 512 characters")
    return value


def _bool(doc: Mapping[str, Any], name: str) -> bool:
    value = doc.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidClientMetadata(f"{name} must be a boolean")
    return value


def _strings(doc: Mapping[str, Any], name: str, limit: int) -> tuple[str, ...]:
    value = doc.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidClientMetadata(f"{name} must be an array of non-empty strings")
    if len(value) > limit:
        raise InvalidClientMetadata(f"{name} has too many entries")
    return tuple(dict.fromkeys(value))


@dataclass(frozen=True, slots=True)
class ExtendedMetadata:
    """The members parsed here, for `ClientMetadata`."""

    client_uri: str | None = None
    logo_uri: str | None = None
    policy_uri: str | None = None
    tos_uri: str | None = None
    contacts: tuple[str, ...] = ()
    initiate_login_uri: str | None = None
    default_max_age: int | None = None
    require_auth_time: bool = False
    default_acr_values: tuple[str, ...] = ()
    token_endpoint_auth_signing_alg: str | None = None
    request_object_signing_alg: str | None = None
    request_uris: tuple[str, ...] = ()
    require_pushed_authorization_requests: bool = False
    software_id: str | None = None
    software_version: str | None = None


def parse_extended_metadata(doc: Mapping[str, Any], *, auth_method: str) -> ExtendedMetadata:
    """Registration 1.0 §2 members other than redirect URIs, types, keys and logout."""
    contacts = _strings(doc, "contacts", MAX_CONTACTS)
    if not all(_CONTACT.fullmatch(c) for c in contacts):
        raise InvalidClientMetadata("contacts must be e-mail addresses")

    max_age = doc.get("default_max_age")
    if max_age is not None and (type(max_age) is not int or not 0 <= max_age <= MAX_AGE_LIMIT):
        raise InvalidClientMetadata("default_max_age must be a non-negative integer")

    acr_values = _strings(doc, "default_acr_values", MAX_CONTACTS)
    if any(_UNSAFE_CHARS.search(v) for v in acr_values):
        raise InvalidClientMetadata("default_acr_values must not contain spaces")

    signing_alg = doc.get("token_endpoint_auth_signing_alg")
    if signing_alg is not None:
        allowed = ASSERTION_ALGS.get(auth_method)
        if allowed is None:
            raise InvalidClientMetadata(
                "token_endpoint_auth_signing_alg applies only to private_key_jwt and "
                "client_secret_jwt"
            )
        if signing_alg not in allowed:
            raise InvalidClientMetadata(
                f"token_endpoint_auth_signing_alg must be one of {', '.join(allowed)}"
            )

    request_alg = doc.get("request_object_signing_alg")
    if request_alg is not None and request_alg not in (*REQUEST_OBJECT_ALGS, UNSIGNED):
        raise InvalidClientMetadata(
            f"request_object_signing_alg must be one of {', '.join(REQUEST_OBJECT_ALGS)} or none"
        )

    request_uris = _strings(doc, "request_uris", MAX_URIS)
    for uri in request_uris:
        scheme, _host = check_uri_shape(uri.partition("#")[0], "request_uris")
        if scheme != "https":
            raise InvalidClientMetadata("request_uris must be https URLs")
        if len(uri) > MAX_REQUEST_URI_LENGTH:
            raise InvalidClientMetadata("request_uris must be at most 512 characters")

    return ExtendedMetadata(
        client_uri=https_url(doc, "client_uri"),
        logo_uri=https_url(doc, "logo_uri"),
        policy_uri=https_url(doc, "policy_uri"),
        tos_uri=https_url(doc, "tos_uri"),
        contacts=contacts,
        initiate_login_uri=https_url(doc, "initiate_login_uri"),
        default_max_age=max_age,
        require_auth_time=_bool(doc, "require_auth_time"),
        default_acr_values=acr_values,
        token_endpoint_auth_signing_alg=signing_alg,
        request_object_signing_alg=request_alg,
        request_uris=request_uris,
        require_pushed_authorization_requests=_bool(doc, "require_pushed_authorization_requests"),
        software_id=_text(doc, "software_id"),
        software_version=_text(doc, "software_version"),
    )


def extended_to_dict(meta: ExtendedMetadata) -> dict[str, Any]:
    """The members set, as registered (RFC 7591 §3.2.1 echoes them back)."""
    doc: dict[str, Any] = {}
    for name in (
        "client_uri",
        "logo_uri",
        "policy_uri",
        "tos_uri",
        "initiate_login_uri",
        "default_max_age",
        "token_endpoint_auth_signing_alg",
        "request_object_signing_alg",
        "software_id",
        "software_version",
    ):
        value = getattr(meta, name)
        if value is not None:
            doc[name] = value
    for name in ("contacts", "default_acr_values", "request_uris"):
        values = getattr(meta, name)
        if values:
            doc[name] = list(values)
    if meta.require_auth_time:
        doc["require_auth_time"] = True
    if meta.require_pushed_authorization_requests:
        doc["require_pushed_authorization_requests"] = True
    return doc


def update_document(
    document: Mapping[str, Any], *, client_id: str, current: Mapping[str, Any]
) -> dict[str, Any]:
    """The metadata an RFC 7592 §2.2 update registers: the request replaces every member;
    `client_id` must be present and equal; members only the operator sets (`first_party`,
    `resource_server`, …: `operator_only`) keep their current values.
    """
    if document.get("client_id") != client_id:
        raise InvalidClientMetadata("client_id must be present and match the client")
    replaced = {k: v for k, v in document.items() if k not in SERVER_ASSIGNED}
    for name in OPERATOR_ONLY:
        replaced.pop(name, None)
        if name in current:
            replaced[name] = current[name]
    return replaced


# Metadata a client may not grant itself (WEB-10: DCR clients are never trusted more).
OPERATOR_ONLY: Final = frozenset({"first_party", "resource_server"})
