"""Subject identifier types (OIDC Core §8): pairwise computation, sectors, client metadata."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re

import pytest

from idgate.protocol.clients import parse_client_metadata
from idgate.protocol.errors import InvalidClientMetadata
from idgate.protocol.subjects import (
    MAX_SECTOR_DOCUMENT_BYTES,
    check_sector_document,
    check_sector_identifier_uri,
    pairwise_subject,
    sector_identifier,
    subject_for,
)

SALT = b"\x01" * 32
LOCAL = "3f9a0c6e5b1d4e2fa7c8d9e0f1a2b3c4"
BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


def independent_pairwise(local: str, sector: str, salt: bytes) -> str:
    """The documented formula, written out again: HMAC-SHA-256(salt, JSON([sector, local]))."""
    message = json.dumps([sector, local], separators=(",", ":")).encode()
    mac = hmac.new(salt, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def test_pairwise_known_answer() -> None:
    expected = "QNf0jsPx2G-ezJRRQdDrfUUtGUmYYYxQVD5xeSqj_3A"
    assert pairwise_subject(LOCAL, "rp.example", SALT) == expected
    assert independent_pairwise(LOCAL, "rp.example", SALT) == expected


def test_pairwise_is_stable_and_differs_per_sector_subject_and_salt() -> None:
    sub = pairwise_subject(LOCAL, "rp.example", SALT)
    assert pairwise_subject(LOCAL, "rp.example", SALT) == sub
    others = {
        pairwise_subject(LOCAL, "other.example", SALT),
        pairwise_subject("another-local-subject", "rp.example", SALT),
        pairwise_subject(LOCAL, "rp.example", b"\x02" * 32),
    }
    assert sub not in others
    assert len(others) == 3
    assert sub != LOCAL
    # Core §2: at most 255 ASCII characters; base64url without padding.
    assert len(sub) == 43
    assert BASE64URL.fullmatch(sub)


def test_pairwise_parts_cannot_run_into_each_other() -> None:
    # With plain concatenation "ab" + "c" would equal "a" + "bc".
    assert pairwise_subject("c", "ab", SALT) != pairwise_subject("bc", "a", SALT)


def test_pairwise_needs_a_real_salt() -> None:
    with pytest.raises(ValueError, match="salt"):
        pairwise_subject(LOCAL, "rp.example", b"short")


@pytest.mark.parametrize(
    ("sector_uri", "redirect_uris", "sector"),
    [
        (None, ["https://rp.example/cb"], "rp.example"),
        (None, ["https://rp.example/cb", "https://rp.example:8443/cb2?x=1"], "rp.example"),
        (None, ["https://RP.Example/cb"], "rp.example"),
        (None, ["http://127.0.0.1:9000/cb", "http://127.0.0.1/cb"], "127.0.0.1"),
        (
            "https://sector.example/ids.json",
            ["https://a.example/cb", "https://b.example/cb"],
            "sector.example",
        ),
        ("https://Sector.Example:444/x", [], "sector.example"),
    ],
)
def test_sector_identifier(sector_uri: str | None, redirect_uris: list[str], sector: str) -> None:
    assert sector_identifier(sector_uri, redirect_uris) == sector


@pytest.mark.parametrize(
    "redirect_uris",
    [
        ["https://a.example/cb", "https://b.example/cb"],
        ["com.example.app:/cb"],  # a native app's custom scheme has no host
        ["https://a.example/cb", "com.example.app:/cb"],
        [],
    ],
)
def test_no_sector_without_one_host(redirect_uris: list[str]) -> None:
    with pytest.raises(InvalidClientMetadata, match="sector_identifier_uri"):
        sector_identifier(None, redirect_uris)


def test_subject_for() -> None:
    common = {"sector_identifier_uri": None, "redirect_uris": ["https://rp.example/cb"]}
    assert subject_for(LOCAL, subject_type="public", salt=SALT, **common) == LOCAL  # type: ignore[arg-type]
    pairwise = subject_for(LOCAL, subject_type="pairwise", salt=SALT, **common)  # type: ignore[arg-type]
    assert pairwise == independent_pairwise(LOCAL, "rp.example", SALT)
    with pytest.raises(ValueError, match="subject_type"):
        subject_for(LOCAL, subject_type="other", salt=SALT, **common)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "uri",
    [
        "http://sector.example/ids.json",
        "ftp://sector.example/ids.json",
        "file:///etc/passwd",
        "https:///ids.json",
        "https://sector.example/ids.json#frag",
        "https://user:pw@sector.example/ids.json",
        "sector.example/ids.json",
    ],
)
def test_sector_identifier_uri_must_be_https(uri: str) -> None:
    with pytest.raises(InvalidClientMetadata):
        check_sector_identifier_uri(uri)


def test_good_sector_identifier_uri() -> None:
    check_sector_identifier_uri("https://sector.example/ids.json?v=1")


REDIRECTS = ["https://a.example/cb", "https://b.example/cb?x=1"]


def test_sector_document_listing_every_redirect_uri() -> None:
    doc = json.dumps([*REDIRECTS, "https://c.example/other"]).encode()
    check_sector_document(doc, REDIRECTS)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (json.dumps(REDIRECTS[:1]).encode(), "every redirect_uri"),
        (json.dumps(["https://a.example/cb/", "https://b.example/cb?x=1"]).encode(), "every"),
        (json.dumps({"redirect_uris": REDIRECTS}).encode(), "JSON array"),
        (json.dumps([*REDIRECTS, 7]).encode(), "JSON array"),
        (b"not json", "JSON array"),
        (b"[" * 100_000, "too large"),
        (b"[" * 10_000, "JSON array"),
        (b"", "JSON array"),
    ],
)
def test_bad_sector_documents(body: bytes, message: str) -> None:
    with pytest.raises(InvalidClientMetadata, match=message):
        check_sector_document(body, REDIRECTS)


def test_sector_document_size_bound() -> None:
    padding = ["https://x.example/" + "p" * 100] * (MAX_SECTOR_DOCUMENT_BYTES // 100)
    with pytest.raises(InvalidClientMetadata, match="too large"):
        check_sector_document(json.dumps([*REDIRECTS, *padding]).encode(), REDIRECTS)


# --- client metadata -------------------------------------------------------------------------


def test_metadata_defaults_to_public_and_round_trips() -> None:
    metadata = parse_client_metadata({"redirect_uris": ["https://rp.example/cb"]})
    assert metadata.subject_type == "public"
    assert metadata.sector_identifier_uri is None
    assert metadata.userinfo_signed_response_alg is None
    doc = metadata.to_dict()
    assert doc["subject_type"] == "public"
    assert "userinfo_signed_response_alg" not in doc
    assert parse_client_metadata(doc) == metadata


def test_pairwise_metadata_round_trips() -> None:
    metadata = parse_client_metadata(
        {
            "redirect_uris": ["https://a.example/cb", "https://b.example/cb"],
            "subject_type": "pairwise",
            "sector_identifier_uri": "https://sector.example/ids.json",
            "userinfo_signed_response_alg": "ES256",
        }
    )
    assert metadata.subject_type == "pairwise"
    assert metadata.sector_identifier_uri == "https://sector.example/ids.json"
    assert metadata.userinfo_signed_response_alg == "ES256"
    assert parse_client_metadata(metadata.to_dict()) == metadata


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"subject_type": "secret"}, "subject_type"),
        ({"subject_type": "pairwise"}, "sector_identifier_uri"),  # two hosts, no sector URI
        ({"sector_identifier_uri": "http://sector.example/ids.json"}, "https"),
        ({"sector_identifier_uri": ""}, "non-empty"),
        ({"userinfo_signed_response_alg": "none"}, "userinfo_signed_response_alg"),
        ({"userinfo_signed_response_alg": "HS256"}, "userinfo_signed_response_alg"),
        ({"userinfo_signed_response_alg": ["RS256"]}, "userinfo_signed_response_alg"),
    ],
)
def test_bad_subject_metadata(extra: dict[str, object], message: str) -> None:
    doc = {"redirect_uris": ["https://a.example/cb", "https://b.example/cb"], **extra}
    with pytest.raises(InvalidClientMetadata, match=message):
        parse_client_metadata(doc)


def test_pairwise_with_one_redirect_host_needs_no_sector_uri() -> None:
    doc = {
        "redirect_uris": ["https://a.example/cb", "https://a.example/cb2"],
        "subject_type": "pairwise",
    }
    assert parse_client_metadata(doc).subject_type == "pairwise"
