"""Cryptography for idgate: signing keys and JWKS, JWTs, sealing keys at rest, passwords, secrets.

Only :mod:`idgate.crypto.jwt` imports the JOSE library (joserfc). Every error raised on purpose
is a :class:`CryptoError` (see :mod:`idgate.crypto.errors`); bad arguments raise ``ValueError``.
"""

from __future__ import annotations

from idgate.crypto.errors import CryptoError, InvalidJWT, NoSigningKey, SealingError
from idgate.crypto.jwt import (
    VerifiedJWT,
    public_jwk_thumbprint,
    sign_hmac_jwt,
    sign_jwt,
    unverified_claims,
    unverified_header,
    verify_hmac_jwt,
    verify_jwt,
)
from idgate.crypto.keys import (
    SIGNING_ALGS,
    KeyRing,
    SigningKey,
    generate_signing_key,
    signing_key_from_private_jwk,
)
from idgate.crypto.passwords import FAST_TEST_PARAMS, PasswordHasher
from idgate.crypto.random import constant_time_equals, new_secret, secret_hash
from idgate.crypto.sealing import KeySealer

__all__ = [
    "FAST_TEST_PARAMS",
    "SIGNING_ALGS",
    "CryptoError",
    "InvalidJWT",
    "KeyRing",
    "KeySealer",
    "NoSigningKey",
    "PasswordHasher",
    "SealingError",
    "SigningKey",
    "VerifiedJWT",
    "constant_time_equals",
    "generate_signing_key",
    "new_secret",
    "public_jwk_thumbprint",
    "secret_hash",
    "sign_hmac_jwt",
    "sign_jwt",
    "signing_key_from_private_jwk",
    "unverified_claims",
    "unverified_header",
    "verify_hmac_jwt",
    "verify_jwt",
]
