"""PKCE verification (RFC 7636 §4.6; SECURITY.md CODE-07, CODE-08)."""

from __future__ import annotations

import pytest

from idgate.protocol.pkce import (
    PkceMethod,
    is_valid_challenge,
    is_valid_verifier,
    s256_challenge,
    verify_code_verifier,
)

# RFC 7636 Appendix B.
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_rfc7636_appendix_b() -> None:
    assert s256_challenge(RFC_VERIFIER) == RFC_CHALLENGE
    assert verify_code_verifier(RFC_VERIFIER, RFC_CHALLENGE, "S256")


@pytest.mark.parametrize(
    ("verifier", "challenge", "method", "ok"),
    [
        ("a" * 43, "a" * 43, "plain", True),
        ("~._-" * 32, "~._-" * 32, "plain", True),
        ("a" * 43, s256_challenge("a" * 43), "S256", True),
        ("b" * 43, RFC_CHALLENGE, "S256", False),  # another transaction's verifier (CODE-07)
        (RFC_VERIFIER, RFC_VERIFIER, "S256", False),
        (RFC_VERIFIER, RFC_CHALLENGE, "plain", False),
        (RFC_VERIFIER, RFC_CHALLENGE, "s256", False),
        (RFC_VERIFIER, RFC_CHALLENGE, "S512", False),
        (RFC_VERIFIER, RFC_CHALLENGE, "", False),
        ("a" * 42, "a" * 42, "plain", False),
        ("a" * 129, "a" * 129, "plain", False),
        ("a" * 42, s256_challenge("a" * 42), "S256", False),
        ("a" * 129, s256_challenge("a" * 129), "S256", False),
        ("a" * 42 + "+", s256_challenge("a" * 42 + "+"), "S256", False),
        ("a" * 42 + "é", "a" * 42 + "é", "plain", False),
        ("a" * 42 + "\n", "a" * 42 + "\n", "plain", False),
        ("a" * 43 + "\n", "a" * 43 + "\n", "plain", False),
        ("", "", "plain", False),
        ("a" * 43, "a" * 42 + "é", "plain", False),  # odd stored challenge: False, no raise
    ],
)
def test_verify_code_verifier(verifier: str, challenge: str, method: str, ok: bool) -> None:
    assert verify_code_verifier(verifier, challenge, method) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [("a" * 43, True), ("Z9-._~" * 21 + "ab", True), ("a" * 42, False), ("a" * 129, False)],
)
def test_is_valid_verifier(value: str, ok: bool) -> None:
    assert is_valid_verifier(value) is ok


@pytest.mark.parametrize(
    ("challenge", "method", "ok"),
    [
        (RFC_CHALLENGE, "S256", True),
        (RFC_CHALLENGE + "A", "S256", False),
        (RFC_CHALLENGE[:-1] + ".", "S256", False),
        (RFC_CHALLENGE[:-1] + "=", "S256", False),
        ("a" * 128, "plain", True),
        ("a" * 128, "S256", False),
    ],
)
def test_is_valid_challenge(challenge: str, method: PkceMethod, ok: bool) -> None:
    assert is_valid_challenge(challenge, method) is ok
