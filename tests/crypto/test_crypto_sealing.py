"""idgate.crypto.sealing: private keys encrypted at rest (AES-256-GCM, HKDF-SHA256)."""

from __future__ import annotations

import base64

import pytest

from idgate.crypto.errors import CryptoError, SealingError
from idgate.crypto.sealing import KeySealer

SECRET = "0123456789abcdef0123456789abcdef-test-only"
PLAINTEXT = b'{"kty":"OKP","crv":"Ed25519","d":"private-material"}'


def test_encrypting_round_trip() -> None:
    sealer = KeySealer(SECRET)
    sealed = sealer.seal(PLAINTEXT)
    assert sealer.is_encrypting
    assert sealed.startswith("aesgcm1:")
    assert b"private-material" not in sealed.encode()
    assert base64.urlsafe_b64encode(PLAINTEXT).decode().rstrip("=") not in sealed
    assert sealer.open(sealed) == PLAINTEXT
    # Another process with the same secret opens it too: nothing but the secret is needed.
    assert KeySealer(SECRET).open(sealed) == PLAINTEXT


def test_plain_round_trip_without_secret() -> None:
    sealer = KeySealer(None)
    sealed = sealer.seal(PLAINTEXT)
    assert not sealer.is_encrypting
    assert sealed.startswith("plain:")
    assert sealer.open(sealed) == PLAINTEXT


@pytest.mark.parametrize("plaintext", [b"", b"x", bytes(range(256)) * 20])
def test_round_trip_sizes(plaintext: bytes) -> None:
    for sealer in (KeySealer(SECRET), KeySealer(None)):
        assert sealer.open(sealer.seal(plaintext)) == plaintext


def test_ciphertext_differs_every_time() -> None:
    sealer = KeySealer(SECRET)
    sealed = {sealer.seal(PLAINTEXT) for _ in range(50)}
    assert len(sealed) == 50
    nonces = {base64.urlsafe_b64decode(s[len("aesgcm1:") :] + "==")[:12] for s in sealed}
    assert len(nonces) == 50


def test_keyed_sealer_still_opens_plain_values() -> None:
    assert KeySealer(SECRET).open(KeySealer(None).seal(PLAINTEXT)) == PLAINTEXT


def test_wrong_secret_raises_sealing_error_naming_the_setting() -> None:
    sealed = KeySealer(SECRET).seal(PLAINTEXT)
    with pytest.raises(SealingError, match="IDGATE_SECRET_KEY is wrong"):
        KeySealer(SECRET + "!").open(sealed)


def test_missing_secret_raises_sealing_error_naming_the_setting() -> None:
    sealed = KeySealer(SECRET).seal(PLAINTEXT)
    with pytest.raises(SealingError, match="IDGATE_SECRET_KEY is not set"):
        KeySealer(None).open(sealed)


def _flip_last_byte(sealed: str) -> str:
    body = bytearray(base64.urlsafe_b64decode(sealed[len("aesgcm1:") :] + "=="))
    body[-1] ^= 1
    return "aesgcm1:" + base64.urlsafe_b64encode(bytes(body)).decode().rstrip("=")


def test_tampered_ciphertext_raises() -> None:
    sealer = KeySealer(SECRET)
    with pytest.raises(SealingError):
        sealer.open(_flip_last_byte(sealer.seal(PLAINTEXT)))


@pytest.mark.parametrize(
    "sealed",
    [
        "",
        "PLAIN:AAAA",
        "rot13:abcd",
        "aesgcm1:",
        "aesgcm1:AAAA",  # shorter than nonce + tag
        "aesgcm1:not base64!",
        "plain:not base64!",
        "plain:A",
    ],
)
def test_malformed_values_raise(sealed: str) -> None:
    with pytest.raises(SealingError):
        KeySealer(SECRET).open(sealed)


def test_sealing_error_is_a_crypto_error() -> None:
    assert issubclass(SealingError, CryptoError)


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="IDGATE_SECRET_KEY is empty"):
        KeySealer("")


def test_sealer_does_not_show_its_secret() -> None:
    sealer = KeySealer(SECRET)
    assert SECRET not in repr(sealer)
    assert not hasattr(sealer, "__dict__")
