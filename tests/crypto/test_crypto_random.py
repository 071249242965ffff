"""idgate.crypto.random: secrets, their stored hash, constant-time comparison."""

from __future__ import annotations

import base64
import re

import pytest

from idgate.crypto.random import constant_time_equals, new_secret, secret_hash

URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")


def _decoded_length(secret: str) -> int:
    return len(base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4)))


def test_new_secret_default_is_256_bits_of_url_safe_text() -> None:
    secret = new_secret()
    assert URL_SAFE.fullmatch(secret)
    assert "=" not in secret
    assert _decoded_length(secret) == 32


@pytest.mark.parametrize(("nbytes", "chars"), [(16, 22), (32, 43), (48, 64), (64, 86)])
def test_new_secret_length(nbytes: int, chars: int) -> None:
    secret = new_secret(nbytes)
    assert len(secret) == chars
    assert _decoded_length(secret) == nbytes


def test_new_secret_refuses_less_than_128_bits() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        new_secret(15)


def test_new_secrets_are_distinct() -> None:
    secrets = {new_secret() for _ in range(2000)}
    assert len(secrets) == 2000


def test_secret_hash_is_sha256_hex() -> None:
    # FIPS 180-2 Appendix B.1 test vector.
    assert secret_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_secret_hash_differs_per_value_and_hides_it() -> None:
    value = new_secret()
    digest = secret_hash(value)
    assert digest != secret_hash(value + "x")
    assert value not in digest
    assert re.fullmatch(r"[0-9a-f]{64}", digest)


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("same", "same", True),
        ("", "", True),
        ("é", "é", True),
        ("abc", "abd", False),
        ("abc", "ABC", False),
        ("abc", "abcd", False),
        ("abc", "", False),
        ("e\u0301", "é", False),  # no Unicode normalisation: bytes must match
    ],
)
def test_constant_time_equals(a: str, b: str, equal: bool) -> None:
    assert constant_time_equals(a, b) is equal
