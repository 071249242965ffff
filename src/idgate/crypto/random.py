"""Random secrets and how they are stored and compared.

Authorization codes, access and refresh tokens and client secrets are :func:`new_secret` values
(256 bits by default, RFC 6749 §10.10 asks for at least 128). Because they are high-entropy, a
plain SHA-256 (:func:`secret_hash`) is the right way to store them: unlike passwords there is
nothing to brute-force, so a slow KDF would only cost CPU on every request (RFC 6819 §5.1.4.1.3).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["MIN_SECRET_BYTES", "constant_time_equals", "new_secret", "secret_hash"]

#: The floor for :func:`new_secret`: 128 bits (RFC 6749 §10.10, RFC 6819 §5.1.4.2.2).
MIN_SECRET_BYTES = 16


def new_secret(nbytes: int = 32) -> str:
    """Return ``nbytes`` random bytes as URL-safe base64 without padding (RFC 4648 §5).

    The result uses only unreserved URI characters (RFC 3986 §2.3), so it can go into a query
    string or a fragment as is. ``nbytes`` below :data:`MIN_SECRET_BYTES` raises ``ValueError``.
    """
    if nbytes < MIN_SECRET_BYTES:
        raise ValueError(f"a secret needs at least {MIN_SECRET_BYTES} random bytes")
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).rstrip(b"=").decode("ascii")


def secret_hash(value: str) -> str:
    """Return the SHA-256 hex digest of ``value``: the stored form of a code, token or secret."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    """Compare two strings in time that does not depend on where they differ (no timing oracle)."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def derive_secret(key: str, label: str, value: str) -> str:
    """A secret derived from `value` under a server `key`: HMAC-SHA256, base64url (RFC 2104).

    Unpredictable without `key` even to whoever knows `value`; the same inputs give the same
    result on every process.
    """
    mac = hmac.new(key.encode("utf-8"), f"{label}:{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")
