"""Subject Identifier Types (OpenID Connect Core 1.0 §8): `public` and `pairwise`.

A `public` client sees the account's local subject. A `pairwise` client sees a different,
unlinkable `sub` per Sector Identifier (Core §8.1): the host of the client's
`sector_identifier_uri` when it registered one, otherwise the one host of its `redirect_uris`
(several hosts without a `sector_identifier_uri` are refused at registration).

idgate computes a pairwise `sub` as `BASE64URL(HMAC-SHA-256(salt, JSON([sector, local sub])))`,
the keyed form of Core §8.1's `SHA-256(sector_identifier || local_account_id || salt)`: the JSON
array keeps the two parts apart (no `"ab" + "c"` = `"a" + "bc"`), and keying the hash with the
salt means nobody without it can map a local subject to its pairwise ones. The salt is made once
per installation and kept in the database (`provider/subjects.py`), so every process computes
the same value and it never changes. The result is 43 ASCII characters (Core §2: at most 255).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Final, Literal, get_args
from urllib.parse import urlsplit

from idgate.protocol.errors import InvalidClientMetadata

__all__ = [
    "MAX_SECTOR_DOCUMENT_BYTES",
    "SUBJECT_TYPES",
    "SubjectType",
    "check_sector_document",
    "check_sector_identifier_uri",
    "pairwise_subject",
    "sector_identifier",
    "subject_for",
]

SubjectType = Literal["public", "pairwise"]
SUBJECT_TYPES: Final[tuple[SubjectType, ...]] = get_args(SubjectType)

# A sector document lists redirect URIs; 64 KiB holds hundreds of them.
MAX_SECTOR_DOCUMENT_BYTES: Final = 64 * 1024
MIN_SALT_BYTES: Final = 16


def check_sector_identifier_uri(uri: str) -> None:
    """Registration 1.0 §2: an `https` URL (with a host, without a fragment)."""
    try:
        parts = urlsplit(uri)
    except ValueError:  # an unclosed IPv6 bracket, say: bad input, not a crash
        raise InvalidClientMetadata("sector_identifier_uri must be an https URL") from None
    if parts.scheme != "https" or not parts.hostname or parts.fragment or "#" in uri:
        raise InvalidClientMetadata("sector_identifier_uri must be an https URL")
    if parts.username is not None or parts.password is not None:
        raise InvalidClientMetadata("sector_identifier_uri must not contain user information")


def sector_identifier(sector_identifier_uri: str | None, redirect_uris: Sequence[str]) -> str:
    """The Sector Identifier of a client (Core §8.1): a host name, lower case.

    `InvalidClientMetadata` when there is none: no `sector_identifier_uri` and the redirect
    URIs have several hosts, or none (custom-scheme URIs of native apps, or no URIs at all).
    """
    if sector_identifier_uri is not None:
        host = urlsplit(sector_identifier_uri).hostname
        if not host:
            raise InvalidClientMetadata("sector_identifier_uri must be an https URL")
        return host
    hosts = {urlsplit(uri).hostname for uri in redirect_uris}
    if len(hosts) != 1 or None in hosts or "" in hosts:
        raise InvalidClientMetadata(
            "pairwise clients whose redirect_uris do not share one host need a "
            "sector_identifier_uri"
        )
    (host,) = hosts
    assert host is not None
    return host


def check_sector_document(body: bytes, redirect_uris: Sequence[str]) -> None:
    """The fetched `sector_identifier_uri` document (Registration 1.0 §5): a JSON array of
    URIs that contains every one of the client's `redirect_uris`, compared as strings.
    """
    if len(body) > MAX_SECTOR_DOCUMENT_BYTES:
        raise InvalidClientMetadata("the sector_identifier_uri document is too large")
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidClientMetadata(
            "the sector_identifier_uri document is not a JSON array of URIs"
        ) from None
    if not isinstance(doc, list) or not all(isinstance(uri, str) for uri in doc):
        raise InvalidClientMetadata(
            "the sector_identifier_uri document is not a JSON array of URIs"
        )
    listed = set(doc)
    if any(uri not in listed for uri in redirect_uris):
        raise InvalidClientMetadata(
            "the sector_identifier_uri document does not list every redirect_uri"
        )


def pairwise_subject(local_subject: str, sector: str, salt: bytes) -> str:
    """The pairwise `sub` of `local_subject` in `sector` (Core §8.1), see the module doc."""
    if len(salt) < MIN_SALT_BYTES:
        raise ValueError(f"the pairwise salt needs at least {MIN_SALT_BYTES} bytes")
    message = json.dumps([sector, local_subject], separators=(",", ":")).encode("utf-8")
    digest = hmac.new(salt, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def subject_for(
    local_subject: str,
    *,
    subject_type: str,
    sector_identifier_uri: str | None,
    redirect_uris: Sequence[str],
    salt: bytes,
) -> str:
    """The `sub` a client sees for the End-User `local_subject` (Core §8)."""
    if subject_type == "pairwise":
        sector = sector_identifier(sector_identifier_uri, redirect_uris)
        return pairwise_subject(local_subject, sector, salt)
    if subject_type != "public":
        raise ValueError(f"unknown subject_type {subject_type!r}")
    return local_subject
