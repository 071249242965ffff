"""Encryption at rest of private signing keys.

A :class:`KeySealer` turns a private JWK (as bytes) into the string stored in the database and
back. With ``IDGATE_SECRET_KEY`` set, the value is encrypted with AES-256-GCM (NIST SP 800-38D)
under a key derived from the secret with HKDF-SHA256 (RFC 5869)::

    "aesgcm1:" + BASE64URL(nonce (96 bits) || ciphertext || tag (128 bits))

Without a secret the value is only encoded, so that a development setup works out of the box::

    "plain:" + BASE64URL(plaintext)

:meth:`KeySealer.open` reads both forms, so turning encryption on later keeps old keys readable.
HKDF is not a password hash: the secret key should be high-entropy, e.g. from
:func:`idgate.crypto.random.new_secret`.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from idgate.crypto.errors import SealingError

__all__ = ["KeySealer"]

_ENCRYPTED_PREFIX = "aesgcm1:"
_PLAIN_PREFIX = "plain:"
_HKDF_INFO = b"idgate key sealing v1"
#: Bound into every ciphertext as associated data, so a value cannot be replayed under another
#: format version.
_AAD = _ENCRYPTED_PREFIX.encode("ascii")
_NONCE_BYTES = 12  # 96-bit nonce, NIST SP 800-38D §8.2
_TAG_BYTES = 16


class KeySealer:
    """Seal and open private key material with an optional secret key.

    The secret itself is not kept: only the AES-GCM key derived from it.
    """

    __slots__ = ("_aead",)

    def __init__(self, secret_key: str | None) -> None:
        if secret_key is None:
            self._aead: AESGCM | None = None
            return
        if not secret_key:
            raise ValueError("IDGATE_SECRET_KEY is empty: unset it or give it a value")
        key = HKDF(algorithm=SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            secret_key.encode("utf-8")
        )
        self._aead = AESGCM(key)

    @property
    def is_encrypting(self) -> bool:
        """True when :meth:`seal` encrypts (a secret key was given)."""
        return self._aead is not None

    def seal(self, plaintext: bytes) -> str:
        """Return the storable form of ``plaintext`` (a fresh random nonce every call)."""
        if self._aead is None:
            return _PLAIN_PREFIX + _b64encode(plaintext)
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return _ENCRYPTED_PREFIX + _b64encode(nonce + self._aead.encrypt(nonce, plaintext, _AAD))

    def open(self, sealed: str) -> bytes:
        """Return the plaintext of a :meth:`seal` value of either form.

        Raises :class:`SealingError` when the value is encrypted and the secret key is missing or
        wrong, or when the value is malformed.
        """
        if sealed.startswith(_PLAIN_PREFIX):
            return _b64decode(sealed[len(_PLAIN_PREFIX) :])
        if not sealed.startswith(_ENCRYPTED_PREFIX):
            raise SealingError("sealed value has an unknown format")
        if self._aead is None:
            raise SealingError(
                "a private key is encrypted but IDGATE_SECRET_KEY is not set: "
                "start idgate with the secret key the key was sealed with"
            )
        data = _b64decode(sealed[len(_ENCRYPTED_PREFIX) :])
        if len(data) < _NONCE_BYTES + _TAG_BYTES:
            raise SealingError("sealed value is truncated")
        try:
            return self._aead.decrypt(data[:_NONCE_BYTES], data[_NONCE_BYTES:], _AAD)
        except InvalidTag:
            raise SealingError(
                "cannot decrypt a private key: IDGATE_SECRET_KEY is wrong "
                "(not the one the key was sealed with) or the stored value is corrupt"
            ) from None


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise SealingError("sealed value is not valid base64url") from None
