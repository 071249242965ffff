"""Proof Key for Code Exchange (RFC 7636).

The authorization endpoint checks the challenge syntax (§4.2, §4.3); the token endpoint checks
the verifier against it (§4.6). Comparisons are constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Final, Literal

PkceMethod = Literal["S256", "plain"]
PKCE_METHODS: Final[tuple[PkceMethod, ...]] = ("S256", "plain")

# RFC 7636 §4.1: code-verifier = 43*128unreserved; unreserved = ALPHA / DIGIT / "-" / "." /
# "_" / "~" (RFC 3986 §2.3). Explicit ASCII classes: `\w` and `\d` would admit Unicode.
_UNRESERVED_43_128 = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
# RFC 7636 §4.2: an S256 challenge is BASE64URL(SHA256(...)), 32 octets = 43 characters.
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9_\-]{43}")


def is_valid_verifier(verifier: str) -> bool:
    """RFC 7636 §4.1: 43 to 128 characters from the unreserved set."""
    return _UNRESERVED_43_128.fullmatch(verifier) is not None


def is_valid_challenge(challenge: str, method: PkceMethod) -> bool:
    """RFC 7636 §4.2: S256 challenges are 43 base64url characters, plain ones are verifiers."""
    if method == "S256":
        return _S256_CHALLENGE.fullmatch(challenge) is not None
    return is_valid_verifier(challenge)


def s256_challenge(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))), without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify_code_verifier(verifier: str, challenge: str, method: str) -> bool:
    """RFC 7636 §4.6: does `verifier` match the `challenge` stored with the code?

    A verifier outside the §4.1 syntax, or an unknown method, never matches.
    """
    if not is_valid_verifier(verifier):
        return False
    if method == "S256":
        expected = s256_challenge(verifier)
    elif method == "plain":
        expected = verifier
    else:
        return False
    # Bytes, so a stored challenge with non-ASCII characters cannot raise in compare_digest.
    return hmac.compare_digest(expected.encode("utf-8"), challenge.encode("utf-8", "replace"))
