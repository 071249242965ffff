"""The exceptions raised by :mod:`idgate.crypto`.

::

    CryptoError
    ├── SealingError   a sealed private key cannot be opened (IDGATE_SECRET_KEY missing or wrong)
    ├── InvalidJWT     a JWS is malformed, uses a refused ``alg``, or its signature does not verify
    └── NoSigningKey   the key ring holds no current key for the requested ``alg``

Messages are short and never contain key material, tokens or secrets, so they may be logged.
"""

from __future__ import annotations

__all__ = ["CryptoError", "InvalidJWT", "NoSigningKey", "SealingError"]


class CryptoError(Exception):
    """Base class of every error raised by :mod:`idgate.crypto`."""


class SealingError(CryptoError):
    """A sealed value cannot be opened: the secret key is missing, wrong, or the data is corrupt."""


class InvalidJWT(CryptoError):
    """A JWT fails parsing or signature verification (RFC 7515 §5.2, RFC 7519 §7.2).

    The message is a short reason meant for logs and ``error_description``; it never echoes the
    token.
    """


class NoSigningKey(CryptoError):
    """No current signing key exists for the requested JWS ``alg``."""
